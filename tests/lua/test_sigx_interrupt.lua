-- test_sigx_interrupt.lua - a SIGINT or SIGTERM sent to the workbench while
-- gnuplot renders stops the script as one anywhere else does (audit X17).
-- gnuplot ran through os.execute, C's system(), which ignores SIGINT in the
-- caller while the child runs: `kill -INT <pid>` during a render was lost,
-- and the script or task ran on and exited 0. Now wb.sys._spawn
-- (bindings/spawn.c) waits with the handlers in place, stops gnuplot and
-- raises the interrupt; the figure is not left half-written.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local WB = T.wb
local dir = T.tmpdir()

local function write(path, s)
  local fh = assert(io.open(path, "wb"))
  fh:write(s)
  fh:close()
end

local st, gp = T.sh("command -v gnuplot")
if st ~= 0 then T.missing("gnuplot-nox") end
local real = gp:match("[^\n]+")

-- A gnuplot that says it started (a line in `mark`), then hangs 30 s on a
-- sleep found again by its length (T.sleep_mark), then renders: with the
-- signal lost, the render ends after 30 s and the script exits 0.
local SLEEP = T.sleep_mark(30)
local function fake_gnuplot(mark)
  local path = dir .. "/gnuplot-" .. mark:match("[^/]*$")
  write(path, string.format("#!/bin/sh\necho started >> %s\nsleep %s\nexec %s \"$@\"\n",
    T.quote(mark), SLEEP, T.quote(real)))
  assert(os.execute("chmod +x " .. T.quote(path)))
  return path
end

local function sleeping()
  local _, ps = T.sh("ps -eo args")
  return ps:find("sleep " .. SLEEP, 1, true) ~= nil
end

-- Runs `workbench args` in the background with the fake gnuplot, sends sig
-- to it once the render started, and returns its exit status, stdout and
-- stderr.
local n = 0
local function interrupted(args, sig)
  n = n + 1
  local base = string.format("%s/r%d", dir, n)
  local mark = base .. ".started"
  local prog = fake_gnuplot(mark)
  os.execute(string.format("sh -c 'WB_GNUPLOT=%s %s %s </dev/null >%s.out 2>%s.err & "
    .. "echo $! >%s.pid; wait $!; echo $? >%s.st' >/dev/null 2>&1 &", prog, WB, args, base,
    base, base, base))
  local pid = T.wait_line(base .. ".pid", 600):match("%d+")
  T.wait_until("the render to begin (" .. mark .. ")", 600, function() -- or the run to end
    return wb.sys.exists(mark) or T.wait_status(base .. ".st", 0)
  end)
  if not wb.sys.exists(mark) then
    error("ended before its render: " .. (util.read_file(base .. ".err") or ""))
  end
  os.execute("kill -" .. sig .. " " .. pid)
  local status = T.wait_status(base .. ".st", 600)
  -- timeout(1) passed the SIGTERM to gnuplot's whole process group
  T.wait_until("the fake gnuplot's sleep to end", 600, function() return not sleeping() end)
  return status, util.read_file(base .. ".out") or "", util.read_file(base .. ".err") or ""
end

-- the files of a folder but the plot's own .csv / .gp (a temporary PNG left
-- there, the figure)
local function pngs(d)
  local out = {}
  for _, f in ipairs(wb.sys.listdir(d)) do
    if f:find("png") then out[#out + 1] = f end
  end
  table.sort(out)
  return table.concat(out, " ")
end

for _, c in ipairs{{"INT", 130}, {"TERM", 143}} do
  T.test("wb.plot save: SIG" .. c[1] .. " during the render ends the script (" .. c[2]
    .. "), no figure, no temporary file", function()
    local figs = dir .. "/figs" .. c[1]
    local script = dir .. "/plot" .. c[1] .. ".lua"
    write(script, string.format("for i = 1, 2 do wb.plot.lines{series = {{label = 'l', y = "
      .. "{1, 0.5}}}}:save(%q .. '/f' .. i .. '.png') end print('after the figures')", figs))
    local status, out, err = interrupted(T.quote(script), c[1])
    T.eq(status, c[2], "exit status (stderr: " .. err .. ")")
    T.ok(err:find("interrupted!", 1, true), err)
    T.ok(not out:find("after the figures", 1, true), "the script went on: " .. out)
    T.eq(pngs(figs), "", "PNG files in " .. figs)
  end)
end

T.test("a task's report interrupted while drawing a figure: 130, one line, README marked",
  function()
  local task = dir .. "/sigx_task.lua"
  write(task, [[
return wb.task{name = "sigx_task", title = "Interrupted report",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 500, test = 100}}},
  report = function(task, runs)
    task:figure("f", wb.plot.lines{series = {{label = "l", y = {1, 0.5}}}})
    task:text("after the figure")
  end}
]])
  local root = dir .. "/root"
  -- the run trained and recorded once, so that the signal finds the report
  local s0, _, e0 = T.run_wb(T.quote(task) .. " --root " .. T.quote(root) .. " --seeds 1")
  T.eq(s0, 0, e0)
  os.remove(root .. "/sigx_task/f.png") -- else the figure is as drawn: no render
  local status, _, err = interrupted(T.quote(task) .. " --root " .. T.quote(root)
    .. " --seeds 1", "INT")
  T.eq(status, 130, "exit status (stderr: " .. err .. ")")
  T.ok(err:find("[sigx_task] interrupted: the report was stopped", 1, true), err)
  T.ok(not err:find("not drawn", 1, true), "said as a figure's failure: " .. err)
  T.ok(not err:find("stack traceback", 1, true), err)
  local readme = util.read_file(root .. "/sigx_task/README.md") or ""
  T.ok(readme:find("The last report of this task was interrupted", 1, true), readme)
  T.eq(pngs(root .. "/sigx_task"), "", "PNG files")
end)

T.test("fit's cockpit figure at the end of training: SIGINT stops the script (130)", function()
  local script = dir .. "/cockpit.lua"
  write(script, string.format([[
local x, y = wb.zeros(64, 4), wb.new_tensor({64}, "uint8")
local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
m:fit(wb.data.Dataset(x, y), {epochs = 1, verbose = 0, optimizer = "sgd",
  cockpit = {every = 2, save = %q}})
print("after the fit")
]], dir .. "/ck/c.png"))
  local status, out, err = interrupted(T.quote(script), "INT")
  T.eq(status, 130, "exit status (stderr: " .. err .. ")")
  T.ok(not err:find("not drawn", 1, true), "said as a figure's failure: " .. err)
  T.ok(not out:find("after the fit", 1, true), out)
  T.eq(pngs(dir .. "/ck"), "", "PNG files")
end)

T.test("wb.sys._spawn: status as os.execute's, files, folder; bad input named", function()
  local o, e = dir .. "/sp.out", dir .. "/sp.err"
  local how, code = wb.sys._spawn({"sh", "-c", "pwd; echo oops >&2; exit 3"},
    {dir = "/", stdout = o, stderr = e, stdin = "/dev/null"})
  T.eq(how .. " " .. code, "exit 3")
  T.eq(util.read_file(o), "/\n")
  T.eq(util.read_file(e), "oops\n")
  how, code = wb.sys._spawn({"sh", "-c", "kill -KILL $$"})
  T.eq(how .. " " .. code, "signal 9")
  T.check_error("cannot start no-such-program-sigx: No such file or directory",
    wb.sys._spawn, {"no-such-program-sigx"})
  T.check_error("cannot open " .. dir .. "/nope/x (its stdout)", wb.sys._spawn, {"true"},
    {stdout = dir .. "/nope/x"})
  T.check_error("unknown option stdot, expected dir, stdin, stdout or stderr", wb.sys._spawn,
    {"true"}, {stdot = o})
  T.check_error("argv[2] is a number, expected a string", wb.sys._spawn, {"echo", 1})
end)

T.test("wb.sys._spawn after a caught SIGTERM (a cleanup) runs its child to the end", function()
  local script, done = dir .. "/cleanup.lua", dir .. "/cleanup.done"
  write(script, string.format([[
print("ready") io.stdout:flush()
pcall(function() while true do end end)
local how, code = wb.sys._spawn({"sh", "-c", "sleep 0.3; echo whole > %s"})
print(how, code) io.stdout:flush()
wb.sys.check_interrupt() -- the cleanup done, the signal ends the script
]], done))
  local base = dir .. "/cl"
  os.execute(string.format("sh -c '%s %s </dev/null >%s.out 2>%s.err & echo $! >%s.pid; "
    .. "wait $!; echo $? >%s.st' >/dev/null 2>&1 &", WB, script, base, base, base, base))
  local pid = T.wait_line(base .. ".pid", 600):match("%d+")
  T.wait_until("'ready'", 600, function() return (util.read_file(base .. ".out") or "")
    :find("ready\n") end)
  os.execute("kill -TERM " .. pid)
  T.eq(T.wait_status(base .. ".st", 600), 143, util.read_file(base .. ".err"))
  T.eq(util.read_file(done), "whole\n")
  T.ok((util.read_file(base .. ".out") or ""):find("exit\t0", 1, true))
end)

T.done()
