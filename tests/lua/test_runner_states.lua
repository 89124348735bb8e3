-- test_runner_states.lua - saved training states of a task's runs that its
-- plan does not hold (a run interrupted, then its config edited: audit Z7)
-- are said when the task plans, with their size and names, and kept (a run
-- planned again resumes from its state); a planned run's state is not
-- named, nor another task's.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local task = dir .. "/st_task.lua"
util.write_file(task, [[
return wb.task{name = "st_task", title = "states",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    seeds = {1}},
  report = function(task, runs) task:text("runs: " .. #runs.records) end}
]])

T.test("a state of a run not in the plan is named with its size; the planned run's and "
  .. "another task's are not; nothing is deleted", function()
  local root = dir .. "/r"
  local st, out, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root) .. " --list-runs")
  T.eq(st, 0, err)
  local planned = out:match("%-%-run (%x+)")
  T.ok(planned, out)
  st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root))
  T.eq(st, 0, err)
  T.ok(not err:find("saved training state", 1, true), err)
  local runs = root .. "/runs/"
  local other = runs .. "st_task-0123456789abcdef.state.safetensors"
  util.write_file(other, string.rep("x", 2500000))
  util.write_file(runs .. "st_task-" .. planned .. ".state.safetensors", "planned")
  util.write_file(runs .. "st_task2-fedcba9876543210.state.safetensors", "another task")
  st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root))
  T.eq(st, 0, err)
  T.ok(err:find("[st_task] 1 saved training state (2.5 MB) of runs this plan does not hold",
    1, true), err)
  T.ok(err:find("st_task-0123456789abcdef.state.safetensors", 1, true), err)
  T.ok(not err:find(planned .. ".state", 1, true), err)
  T.ok(not err:find("st_task2", 1, true), err)
  T.ok(wb.sys.exists(other), "kept")
end)

T.done()
