-- The plan's lines say what will happen (wb/runner_plan.lua), a task's and
-- ex:run()'s alike (tryZ C3, C4):
--   C3: after an edit of only the measure hook the first line said
--       "4 runs: 0 cached, 4 to train" when nothing trained (each run was
--       measured again on its recorded training); it counts those apart, and
--       a re-measure refused as it runs is counted as trained at the end;
--   C4: ex:run() at the REPL, after `SCALE = 3` (a global its build hook
--       reads), said only "4 runs: 0 cached, 4 to train (1 job)", where a
--       task named what had changed since the runs were recorded.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local SMALL = "epochs = 1, hidden = 8, subset = {train = 500, test = 200}"

-- Task `name` at dir/name.lua, its measure hook's body `measure`; run once
-- on a root of its own (another task's equal training is adopted too).
local function task(name, measure)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
return wb.task{name = %q, title = "t",
  experiment = {base = {%s}, seeds = {1}, vary = {hidden = {8, 16}},
    measure = function(model, cfg) %s end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], name, SMALL, measure))
  return T.sh(string.format("WB_ECHO=0 %s %s --root %s/%s --jobs 2", T.wb, path, dir,
    name))
end

local function first_line(err) return err:match("^[^\n]*") end
local function readme(name) return T.slurp(dir .. "/" .. name .. "/" .. name .. "/README.md") end

T.test("a measure edit: the plan counts the runs to measure apart from those to train",
  function()
  local st, _, err = task("meas", "return {answer = 1}")
  T.eq(st, 0, err)
  T.eq(first_line(err), "[meas] 2 runs: 0 cached, 2 to train (2 jobs)", err)
  st, _, err = task("meas", "return {answer = 2}")
  T.eq(st, 0, err)
  T.eq(first_line(err), "[meas] 2 runs: 0 cached, 2 to measure on a recorded training, "
    .. "0 to train (2 jobs)", err)
  T.ok(err:find("\n[meas] the 2 to measure have an equal recorded training (only what "
    .. "comes after training changed): measured on it, not trained again, unless the "
    .. "measure hook reads what the record does not keep (then trained, said)\n", 1, true), err)
  T.ok(err:find("\n[meas] 2 of the runs not cached were recorded under another identity "
    .. "(same variant and seed): the measure hook", 1, true), err)
  T.ok(readme("meas"):find("2 runs: 2 trained by this command (2 of them copies of an "
    .. "identical training in meas", 1, true), readme("meas"))
  st, _, err = task("meas", "return {answer = 2}")
  T.eq(st, 0, err)
  T.eq(first_line(err), "[meas] 2 runs: 2 cached, 0 to train", err)
end)

T.test("a re-measure refused as it runs is trained, and counted as trained at the end",
  function()
  local st, _, err = task("refuse", "return {answer = 1}")
  T.eq(st, 0, err)
  -- hidden = 16's measure hook reads what the record does not keep: only its run
  -- can find that out, so the plan counts both as to measure
  st, _, err = task("refuse", "return {answer = cfg.hidden == 16 and model.optimizer.lr or 1}")
  T.eq(st, 0, err)
  T.eq(first_line(err), "[refuse] 2 runs: 0 cached, 2 to measure on a recorded training, "
    .. "0 to train (2 jobs)", err)
  T.ok(err:find("%(hidden=16 seed 1%): not measured on the recorded training refuse%-%x+: "
    .. "its measure hook read model%.optimizer%.lr, which the record does not keep; "
    .. "trained again\n"), err)
  T.ok(err:find("hidden=8 seed 1: test accuracy [%d.]+ %% %(same training as refuse%-"), err)
  T.ok(not err:find("hidden=16 seed 1: test accuracy [%d.]+ %% %(same training"), err)
  -- one measured on its training (a copy), one trained: 2 trained by this command
  T.ok(readme("refuse"):find("2 runs: 2 trained by this command (1 of them a copy of an "
    .. "identical training in refuse", 1, true), readme("refuse"))
end)

-- REPL lines: an experiment whose build hook reads the global SCALE, its
-- measure hook returning `answer`.
local function repl_ex(answer)
  return string.format("ex = wb.experiment({name = 'repl_plan', base = {%s}, seeds = {1, 2}, "
    .. "build = function(cfg) return wb.nn.Sequential{wb.nn.Dense(784, 4 * SCALE, "
    .. "{activation = 'relu'}), wb.nn.Dense(4 * SCALE, 10, {activation = 'softmax'})} end, "
    .. "measure = function() return {answer = %d} end}, {root = %q})\n",
    "epochs = 1, subset = {train = 500, test = 200}", answer, dir .. "/repl")
end

T.test("ex:run() at the REPL says why its runs are not cached, as a task does", function()
  local st, out, err = T.run_wb("-i", "SCALE = 2\n" .. repl_ex(1) .. "rs = ex:run()\n"
    .. "SCALE = 3\nrs = ex:run()\n" -- the build hook reads another SCALE: trained again
    .. repl_ex(2) .. "rs = ex:run()\n" -- a measure edit: measured on that training
    .. "rs = ex:run()\n")
  T.eq(st, 0, out .. err)
  local heads = {}
  for line in err:gmatch("[^\n]+") do
    if line:find("^%[repl_plan%] 2 runs: ") then heads[#heads + 1] = line end
  end
  T.eq(table.concat(heads, "\n"), table.concat({"[repl_plan] 2 runs: 0 cached, 2 to train "
    .. "(1 job)", "[repl_plan] 2 runs: 0 cached, 2 to train (1 job)",
    "[repl_plan] 2 runs: 0 cached, 2 to measure on a recorded training, 0 to train (1 job)",
    "[repl_plan] 2 runs: 2 cached, 0 to train"}, "\n"), err)
  -- after SCALE = 3: the build hook named, as a task names it
  local after = err:match("0 cached, 2 to train %(1 job%)\n(.*)$"):match("0 cached, 2 to "
    .. "train %(1 job%)\n(.*)$")
  T.ok(after and after:find("^%[repl_plan%] 2 of the runs not cached were recorded under "
    .. "another identity %(same variant and seed%): the build hook"), err)
  T.ok(err:find("\n[repl_plan] the 2 to measure have an equal recorded training", 1, true),
    err)
  T.ok(err:find("2 of the runs not cached were recorded under another identity (same "
    .. "variant and seed): the measure hook", 1, true), err)
end)

T.done()
