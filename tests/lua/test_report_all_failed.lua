-- test_report_all_failed.lua - when every run of a task failed and none is
-- recorded, the task's report function is not run on no data: it failed
-- with a traceback ("wb.Runs:plot_curves: no run to draw 'val_loss' from
-- (15 failed, none recorded: their logs say why)" under ulimit -n 12, where
-- no log was written: sigX's leftover). The README lists the failures and
-- says nothing is drawn; status 1 as for any failed run.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local task = dir .. "/fail_task.lua"
util.write_file(task, [[
return wb.task{name = "fail_task", title = "all fail",
  experiment = {base = {epochs = 1, subset = {train = 300, test = 100}},
    seeds = {1, 2},
    build = function(cfg) error("build refuses on purpose") end},
  report = function(task, runs)
    task:figure("val_loss", runs:plot_curves("val_loss", {title = "v"}))
  end}
]])

T.test("every run failed: no traceback from the report, its README says why", function()
  local st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(dir .. "/r"))
  T.eq(st, 1, err)
  T.ok(not err:find("stack traceback", 1, true), err)
  T.ok(not err:find("the report failed", 1, true), err)
  local readme = util.read_file(dir .. "/r/fail_task/README.md") or ""
  T.ok(readme:find("**2 run(s) failed**", 1, true), readme)
  T.ok(readme:find("build refuses on purpose", 1, true), readme)
  T.ok(readme:find("No run has a record (2 failed, listed above): the report stopped there (", 1, true), readme)
end)

T.done()
