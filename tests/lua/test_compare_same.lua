-- test_compare_same.lua - wb.compare does not compare two variants whose runs
-- are the same trainings, seed for seed (audit A6): --quick's 2 epochs over
-- a task varying epochs = 3 and 5 trains both labels alike, and the finding
-- read "epochs=3 40.00 %; next epochs=5 40.00 %. Not decided by the seeds:
-- difference +0.00 %", a finding about epochs that is none. Without --quick
-- the variants differ and are compared as before.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local task = dir .. "/same_task.lua"
util.write_file(task, [[
return wb.task{name = "same_task", title = "same",
  experiment = {base = {hidden = 8, subset = {train = 300, test = 100}},
    vary = {epochs = {3, 4}}, seeds = {1, 2}},
  report = function(task, runs)
    task:compare(runs, "test_accuracy", {better = "higher"})
  end}
]])

T.test("--quick makes epochs 3 and 4 one training: the finding says they are not compared",
  function()
  local st, _, err = T.run_wb(T.quote(task) .. " --quick --root " .. T.quote(dir .. "/r"))
  T.eq(st, 0, err)
  local readme = util.read_file(dir .. "/r/quick/same_task/README.md") or ""
  T.ok(readme:find("are not compared: their runs are the same trainings, seed for seed",
    1, true), readme)
  T.ok(not readme:find("Not decided by the seeds", 1, true), readme)
end)

T.test("at their own epochs the variants are compared (--epochs over a varied epochs is "
  .. "refused before any work)", function()
  local root = dir .. "/r2"
  local st, _, err = T.run_wb(T.quote(task) .. " --epochs 1 --root " .. T.quote(root))
  T.ok(st ~= 0 and err:find("--epochs 1 would replace the epochs the experiment varies", 1,
    true), err)
  st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root))
  T.eq(st, 0, err)
  local readme = util.read_file(root .. "/same_task/README.md") or ""
  T.ok(not readme:find("are not compared", 1, true), readme)
  T.ok(readme:find("test_accuracy (higher is better): **epochs=", 1, true), readme)
end)

T.done()
