-- test_runs_copies.lua: seeds of one variant that trained the same, to the
-- bit, are copies, no independent samples. wb.seed(123) in a build hook with
-- shuffle = false made 5 seeds one training, and wb.compare said "Better
-- beyond the seeds' uncertainty ... p = 0.0079 (n = 5 and 5)" of one run a
-- side (tryX 2): the runner warns, the table marks the row, and wb.compare
-- decides nothing from copies. Distinct seeds are untouched.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

-- A record of variant v, seed s, losses ls and test accuracy acc.
local function rec(v, s, ls, acc)
  return {task = "t", variant = v, seed = s, hash = v .. s, status = "ok",
    config = {seed = s, lr = v}, history = {loss = ls, val_loss = {ls[#ls] + 1}},
    metrics = {test_loss = ls[#ls], test_accuracy = acc, epochs_run = #ls}}
end

T.test("copies: the table counts distinct trainings, compare refuses with n effective",
    function()
  local rs = {}
  for s = 1, 5 do
    rs[#rs + 1] = rec("a", s, {2, 1}, 0.38)
    rs[#rs + 1] = rec("b", s, {2, 0.5}, 0.6)
  end
  local runs = wb.runs.Runs(rs)
  local t = runs:table{"test_accuracy"}
  T.ok(t:find("| a | 5 (1 distinct training) |", 1, true), t)
  T.ok(t:find("Seeds that trained the same, to the bit (copies: their ± is no spread over "
    .. "independent seeds): a seeds 1, 2, 3, 4, 5; b seeds 1, 2, 3, 4, 5.", 1, true), t)
  local s = wb.compare(runs, "test_accuracy")
  T.ok(s:find("Not decided: difference +22.00 points, but the seeds are not independent "
    .. "samples (b's seeds 1, 2, 3, 4, 5; a's seeds 1, 2, 3, 4, 5 trained the same, to the "
    .. "bit; n effective = 1 and 1 distinct trainings)", 1, true), s)
  T.ok(not s:find("p =", 1, true) and not s:find("beyond", 1, true), s)
end)

T.test("some copies: n effective counts the distinct trainings; distinct seeds unchanged",
    function()
  local runs = wb.runs.Runs{rec("a", 1, {2, 1}, 0.38), rec("a", 2, {2, 1}, 0.38),
    rec("a", 3, {2, 1.1}, 0.37), rec("b", 1, {2, 0.5}, 0.6), rec("b", 2, {2, 0.51}, 0.61),
    rec("b", 3, {2, 0.52}, 0.62)}
  T.ok(runs:table{"test_accuracy"}:find("| a | 3 (2 distinct trainings) |", 1, true))
  T.ok(runs:table{"test_accuracy"}:find("| b | 3 |", 1, true))
  local s = wb.compare(runs, "test_accuracy")
  T.ok(s:find("(a's seeds 1, 2 trained the same, to the bit; n effective = 3 and 2 distinct "
    .. "trainings)", 1, true), s)
  -- every seed its own training: decided as before, nothing marked
  local fine = wb.runs.Runs{rec("a", 1, {2, 1}, 0.38), rec("a", 2, {2, 1.01}, 0.381),
    rec("a", 3, {2, 1.1}, 0.379), rec("b", 1, {2, 0.5}, 0.6), rec("b", 2, {2, 0.51}, 0.61),
    rec("b", 3, {2, 0.52}, 0.62)}
  s = wb.compare(fine, "test_accuracy")
  T.ok(s:find("Better beyond the seeds' uncertainty", 1, true), s)
  T.ok(not fine:table{"test_accuracy"}:find("distinct", 1, true))
end)

T.test("wb.compare.distinct counts trainings; a claim's part over copies is undecided",
    function()
  local ga, gb = {}, {}
  for s = 1, 5 do ga[s] = rec("a", s, {2, 1}, 0.38); gb[s] = rec("b", s, {2, 0.5}, 0.6) end
  ga[5] = rec("a", 5, {2, 1.2}, 0.36)
  local n, groups = wb.compare.distinct(ga)
  T.eq(n, 2)
  T.eq(#groups, 1)
  T.eq(table.concat(groups[1], ","), "1,2,3,4")
  package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
  local P = require "study.claim_parts"
  local part = P.part("test accuracy", gb, ga, "test_accuracy", false, "b", "a")
  P.decide({part}, "C9")
  T.ok(part.text:find("; b seeds trained the same, to the bit: 1 distinct training of 5, not "
    .. "independent samples; a seeds trained the same, to the bit: 2 distinct trainings of 5",
    1, true), part.text)
  T.ok(part.text:find("(undecided: the copies of one training are no independent seeds)", 1,
    true), part.text)
  T.eq(part.ok, nil, "neither holds nor fails")
end)

-- tryX's t4b, smaller: a fixed seed in the build hook, shuffle off
local SCRIPT = [[
return wb.task{name = "cp", experiment = {base = {epochs = 1, shuffle = %s,
    subset = {train = 1000, test = 500}}, seeds = {1, 2, 3, 4, 5}, vary = {lr = {1e-3, 3e-3}},
    build = function(cfg, data)
      %s
      return wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
        wb.nn.Dense(16, 10, {activation = "softmax"})}
    end},
  report = function(task, runs)
    task:text(runs:table{"test_accuracy"})
    task:compare(runs, "test_accuracy")
  end}
]]

local function run(shuffle, seed_line)
  local dir = T.tmpdir()
  util.write_file(dir .. "/cp.lua", string.format(SCRIPT, shuffle, seed_line))
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s", T.quote(T.wb),
    T.quote(dir .. "/cp.lua"), T.quote(dir .. "/root")))
  T.eq(st, 0, err)
  return err, util.read_file(dir .. "/root/cp/README.md")
end

T.test("a fixed seed in the build hook: stderr warns, the README decides nothing", function()
  local err, md = run("false", "wb.seed(123)")
  T.ok(err:find("[cp] warning: lr=0.001: seeds 1, 2, 3, 4, 5 trained the same, to the bit "
    .. "(losses of every epoch and the test loss): 1 distinct training of 5 seeds, not 5 "
    .. "independent samples", 1, true), err)
  T.ok(err:find("Likely cause: a fixed seed in a hook", 1, true), err)
  T.ok(md:find("**Seeds that trained the same:**", 1, true), md)
  T.ok(md:find("| lr=0.003 | 5 (1 distinct training) |", 1, true), md)
  T.ok(md:find("n effective = 1 and 1 distinct trainings", 1, true), md)
  T.ok(not md:find("beyond the seeds' uncertainty", 1, true), md)
end)

T.test("seeds that train apart: no warning, no mark", function()
  local err, md = run("true", "")
  T.ok(not err:find("trained the same", 1, true), err)
  T.ok(not md:find("distinct training", 1, true) and not md:find("n effective", 1, true), md)
  T.ok(md:find("| lr=0.003 | 5 |", 1, true), md)
  T.ok(not err:find("same initial weights", 1, true), err)
end)

T.test("a fixed seed in the build hook, shuffle on: same start said, no copies (tryX t4c)",
    function()
  local err, md = run("true", "wb.seed(123)")
  T.ok(not err:find("trained the same", 1, true), err)
  T.ok(err:find("[cp] warning: lr=0.001: seeds 1, 2, 3, 4, 5 started from the same initial "
    .. "weights (no copies: they trained apart): its ± and any test over its seeds measure "
    .. "the data order and dropout only, not the initialisation", 1, true), err)
  T.ok(md:find("**Seeds that started from the same weights:**", 1, true), md)
  T.ok(md:find("Seeds that started from the same initial weights (their ± is not the "
    .. "initialisation's spread): lr=0.001 seeds 1, 2, 3, 4, 5; lr=0.003 seeds 1, 2, 3, 4, 5",
    1, true), md)
end)

T.done()
