-- A child that fails without a "workbench:" line (exit 64: "<task>: no run
-- with hash ...", when a hook closes over a value other in every process)
-- was said as `started` in the console and the task's README: the runner's
-- shell marks a child's start with that line, and it was taken for the
-- child's first line. The failure names the child's own message now.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

T.test("a run that fails in its child is said with the child's message, not 'started'",
  function()
  local script = dir .. "/f1.lua"
  util.write_file(script, [[
local jitter = math.random() -- another value in every process
return wb.task{name = "f1", title = "top-level random",
  experiment = {base = {epochs = 1, hidden = 4, subset = {train = 100, test = 50}}, seeds = {1},
    measure = function() return {jitter = jitter} end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
  local root = dir .. "/r"
  local st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(root) .. " --jobs 1")
  T.eq(st, 1, out .. err)
  T.ok(err:find("FAILED (exit 64): f1: no run with hash", 1, true), err)
  T.ok(not err:find("): started", 1, true), err)
  local readme = util.read_file(root .. "/f1/README.md")
  T.ok(readme:find("- base seed 1: `f1: no run with hash", 1, true), readme)
end)

T.done()
