-- test_sigx_runner.lua - a run whose start fails in the runner's shell step
-- is said as such (audit X21): its log cannot be created (a folder in its
-- place), or the shell that starts it fails (too few file descriptors,
-- `ulimit -n 12`). Both were said as "<record> was removed while the task
-- ran (another runner on this root?)" after a raw shell line ("cannot
-- create ...: Is a directory", "xargs: sh: exited with status 255;
-- aborting"). Now one FAILED line per run naming what failed; status 1, as
-- for any failed run (README, Exit status).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local task = dir .. "/start_task.lua"
util.write_file(task, [[
return wb.task{name = "start_task", title = "start",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    seeds = {1, 2}},
  report = function(task, runs) task:text("runs recorded: " .. #runs.records) end}
]])

local function hashes(root)
  local st, out, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root) .. " --list-runs")
  T.eq(st, 0, err)
  local hs = {}
  for h in out:gmatch("%-%-run (%x+)") do hs[#hs + 1] = h end
  T.eq(#hs, 2, out)
  return hs
end

local function no_misdiagnosis(err)
  T.ok(not err:find("removed while the task ran", 1, true), err)
  T.ok(not err:find("another runner", 1, true), err)
  T.ok(not err:find("stack traceback", 1, true), err)
  -- no raw line of sh's or xargs's of its own
  T.ok(not err:find("\nxargs:") and not err:find("^xargs:"), err)
  T.ok(not err:find(": %d+: cannot create"), err)
end

T.test("a run whose log path is a folder: could not start, its log and why named; the "
  .. "other run trains", function()
  local root = dir .. "/r1"
  local hs = hashes(root)
  local log = root .. "/runs/logs/start_task-" .. hs[1] .. ".log"
  T.eq(os.execute("mkdir -p " .. T.quote(log)), true)
  local st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root))
  T.eq(st, 1, err)
  T.ok(err:find("FAILED: could not start: cannot create its log " .. log .. ": Is a directory",
    1, true), err)
  no_misdiagnosis(err)
  T.ok(wb.sys.exists(root .. "/runs/start_task-" .. hs[2] .. ".json"), "the other run: " .. err)
  T.ok(not wb.sys.exists(root .. "/runs/start_task-" .. hs[1] .. ".json"))
  local readme = util.read_file(root .. "/start_task/README.md") or ""
  T.ok(readme:find("**1 run(s) failed**", 1, true) and readme:find("could not start: cannot "
    .. "create its log", 1, true), readme)
end)

T.test("too few file descriptors (ulimit -n 12): each run could not start, the limit named",
  function()
  local root = dir .. "/r2"
  hashes(root)
  -- the limit set inside: the redirections T.sh adds are opened before it
  local st, _, err = T.sh("sh -c " .. T.quote("ulimit -n 12 && exec " .. T.quote(T.wb) .. " "
    .. T.quote(task) .. " --root " .. T.quote(root)) .. " </dev/null")
  T.eq(st, 1, err)
  -- where the shell first fails under the limit varies from run to run (before
  -- its "started" line, or at a later printf: ci of stop 48); either way
  -- each run could not start and its line names the limit
  local n = 0
  for line in err:gmatch("[^\n]+") do
    if line:find("FAILED: could not start: ", 1, true) then
      n = n + 1
      T.ok(line:find("(ulimit -n 12): too few to start a run", 1, true), line)
    end
  end
  T.eq(n, 2, err)
  no_misdiagnosis(err)
  -- and at a usual limit the same root trains both
  st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root))
  T.eq(st, 0, err)
end)

T.done()
