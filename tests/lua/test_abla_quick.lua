-- --quick never trains or tests on more rows than the task's own subset
-- (audit A4: a task of 1000 / 300 rows ran its smoke test on 2000 / 500,
-- and said it had replaced the task's subset). Each side is the smaller of
-- the two; only a side it cut is said.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local function task(subset)
  local path = dir .. "/q.lua"
  util.write_file(path, string.format([[
return wb.task{name = "q", title = "q",
  experiment = {base = {epochs = 1, hidden = 8, subset = %s}, seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], subset))
  local root = T.tmpdir()
  local st, _, err = T.run_wb(T.quote(path) .. " --quick --jobs 1 --root " .. T.quote(root))
  T.eq(st, 0, err)
  local rs = wb.runs.find{root = root .. "/quick", task = "q"}
  return rs[1].config.subset, err
end

T.test("a task's own smaller subset is kept under --quick, and not said replaced", function()
  local sub, err = task("{train = 300, test = 100}")
  T.eq(sub.train, 300); T.eq(sub.test, 100)
  T.ok(not err:find("--quick replaced what the experiment sets: subset", 1, true), err)
end)

T.test("a side larger than --quick's is cut, and said", function()
  local sub, err = task("{train = 300, test = 5000}")
  T.eq(sub.train, 300); T.eq(sub.test, 500)
  T.ok(err:find("subset = {test=5000,train=300} (base)", 1, true), err)
  sub = task("{train = 300}") -- no test side: the whole test set, cut to 500
  T.eq(sub.train, 300); T.eq(sub.test, 500)
end)

T.done()
