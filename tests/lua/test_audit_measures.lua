-- test_audit_measures.lua: what an experiment's measure hook returns that a
-- run record cannot hold was left out without a word (util.plain): a tensor
-- vanished (the table read n/a, or "unknown column"), inf and NaN vanished,
-- and a list named like a history series (lr) was recorded but never shown
-- (tables and curves read the history's). Now: an error naming the value,
-- a warning naming the non-finite numbers (wb/train_measures.lua).
local T = dofile("tests/lua/harness.lua")

local function run(name, measure, epochs)
  local root = T.tmpdir()
  local ex = wb.experiment({name = name, base = {hidden = 4, epochs = epochs or 1,
    subset = {train = 100, test = 50}}, seeds = {1}, measure = measure}, {root = root})
  return pcall(ex.run, ex, {verbose = false})
end

T.test("measure returning a tensor: an error naming it and what to give instead", function()
  local ok, e = run("mt", function(model) return {w = model[1].weight:abs(), fine = 1} end)
  T.ok(not ok, "refused")
  T.ok(tostring(e):find("mt: measure: 'w' is a wb.Tensor, which a run record cannot hold: "
    .. "give numbers, strings, booleans or lists of them (a tensor: t:item() or t:totable())",
    1, true), tostring(e))
  ok, e = run("mt2", function(model) return {per = {a = 1, b = model[1].weight}} end)
  T.ok(not ok and tostring(e):find("'per.b' is a wb.Tensor", 1, true), tostring(e))
  ok, e = run("mt3", function() return 3 end)
  T.ok(not ok and tostring(e):find("measure must return a table {name = number, ...} (or "
    .. "nothing), got number", 1, true), tostring(e))
end)

T.test("measure named like a history series: an error (the history's would be shown)",
    function()
  local ok, e = run("ms", function() return {lr = {111, 222}} end, 2)
  T.ok(not ok, "refused")
  T.ok(tostring(e):find("ms: measure: 'lr' is a series the run's history records", 1, true),
    tostring(e))
end)

T.test("measure's non-finite numbers: recorded as missing, warned naming each; lists' NaN "
    .. "are holes, not warned", function()
  local ok, runs
  local _, err = T.stderr_of(function()
    ok, runs = run("mn", function() return {big = math.huge, nan = 0 / 0, fine = 2,
      list = {1, 0 / 0}} end, 2)
  end)
  T.ok(ok, tostring(runs))
  T.ok(err:find("mn: measure: big = inf, nan = nan: not finite, recorded as missing", 1, true),
    err)
  T.ok(not err:find("list", 1, true), err)
  local r = runs.records[1]
  T.eq(r.metrics.fine, 2)
  T.eq(r.metrics.big, nil) -- recorded missing: a name the run knows
  -- a misspelt name was a silent nil (a new user's run.metrics.tset_accuracy)
  T.check_error("wb.Run's metrics has no field 'tset_accuracy'; did you mean test_accuracy?",
    function() return r.metrics.tset_accuracy end)
  T.check_error("did you mean fine?", function() return r.metrics.fien end)
  T.eq(r.measures.list[1], 1)
end)

T.done()
