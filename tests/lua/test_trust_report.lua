-- REPORT.md gathers only what its own invocation made: a task that fails
-- before writing its README leaves an earlier invocation's README, runs.json
-- and beyond.json in its folder, which the report once gathered as if they
-- were this run's (other seeds, options or code), with only "Failed tasks"
-- at the top. Found by the new-user audit.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
-- report.lua beside a task of ours (T.report_sandbox)
local dir = T.report_sandbox()
util.write_file(dir .. "/t1.lua", [[
if os.getenv("T1_FAIL") then error("t1: planned failure") end
return wb.task{name = "t1", title = "T1 " .. (os.getenv("T1_MARK") or ""),
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

local function report(env)
  return T.sh(string.format("%s WB_ECHO=0 %s %s/report.lua --root %s/r --seeds 1 t1", env or "",
    T.wb, dir, dir))
end

T.test("a task that fails leaves no earlier README, runs or rows in REPORT.md", function()
  local st1, _, err1 = report("T1_MARK=first")
  T.eq(st1, 0, err1)
  local md = util.read_file(dir .. "/r/REPORT.md") or ""
  T.ok(md:find("T1 first", 1, true), "the task's README is gathered: " .. md)
  T.ok(md:find("| t1 | base | 1 |", 1, true), "its runs are summed up: " .. md)
  local st2, _, err2 = report("T1_FAIL=1")
  T.eq(st2, 1, err2)
  md = util.read_file(dir .. "/r/REPORT.md") or ""
  T.ok(md:find("**Failed tasks:** t1", 1, true), md)
  T.ok(not md:find("T1 first", 1, true), "the earlier README is not gathered: " .. md)
  T.ok(not md:find("| t1 | base |", 1, true), "nor its runs: " .. md)
  T.ok(md:find("is an earlier invocation's and is not used here", 1, true), md)
  -- a task that fails with a README of its own (a run failed) is still gathered
  T.ok(util.read_file(dir .. "/r/t1/README.md"):find("T1 first", 1, true),
    "the earlier README stays where it was (never deleted)")
end)

T.done()
