-- A report that fails after training leaves a README that says so on top
-- (audit I, item 4): before, the previous README (and its "Epochs: 1", its
-- table) stood as if it were the current runs'. The exit status is not 0.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local script = dir .. "/boom.lua"
util.write_file(script, [[
return wb.task{name = "boom", title = "Boom",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 200, test = 100}},
    seeds = {1}},
  report = function(task, runs)
    task:text(runs:table{"test_accuracy"})
    if os.getenv("TRACE_BOOM") then error("boom in the report") end
  end}
]])
local root = dir .. "/r"
local function run(env, extra, at)
  return T.sh(string.format("%s WB_ECHO=0 %s %s --root %s %s", env or "", T.wb, script,
    at or root, extra or ""))
end
local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

T.test("a failed report marks the README; the earlier one follows, said to be", function()
  local st, _, err = run(nil, "--epochs 1")
  T.eq(st, 0, err)
  local before = util.read_file(root .. "/boom/README.md")
  T.ok(before:find("Epochs: 1.", 1, true), before)
  st, _, err = run("TRACE_BOOM=1", "--epochs 2")
  T.ok(st ~= 0, "a failed report is a failure")
  T.ok(err:find("boom in the report", 1, true), err)
  local md = util.read_file(root .. "/boom/README.md")
  T.ok(md:find("^# Boom\n\n%*%*The last report of this task failed%*%* %(%d+%-%d+%-%d+ [%d:]+ "
    .. "UTC, `workbench [^`]*boom.lua %-%-root [^`]* %-%-epochs 2`%): `[^`]*boom in the report`"),
    md)
  T.ok(md:find("What follows is the README of an earlier report**, kept as it was", 1, true), md)
  T.ok(md:find(before, 1, true), "the earlier README follows whole")
  -- failing again: one notice, the same earlier README under it
  st = run("TRACE_BOOM=1", "--epochs 2")
  T.ok(st ~= 0)
  md = util.read_file(root .. "/boom/README.md")
  T.eq(count(md, "The last report of this task failed"), 1, md)
  T.ok(md:find(before, 1, true), md)
  -- a report that works writes a README of its own, no notice
  st, _, err = run(nil, "--epochs 2")
  T.eq(st, 0, err)
  md = util.read_file(root .. "/boom/README.md")
  T.ok(not md:find("failed", 1, true) and md:find("Epochs: 2.", 1, true), md)
end)

T.test("a first report that fails says there is no earlier README", function()
  local st = run("TRACE_BOOM=1", "--epochs 1", dir .. "/fresh")
  T.ok(st ~= 0)
  local md = util.read_file(dir .. "/fresh/boom/README.md")
  T.ok(md and md:find("There is no earlier README.", 1, true), tostring(md))
end)

T.done()
