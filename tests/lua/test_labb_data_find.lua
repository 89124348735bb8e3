-- test_labb_data_find.lua: the lab bench hands out what a run trained on
-- (audit audB). Each test failed before its fix:
-- B1 run:data().train was the config's training rows for a run whose hook
--    chose others (record.train_data): a validation loss recomputed on it was
--    not the recorded one, without a word;
-- B2 wb.runs.find never matched a config value false (validation = false):
--    `x and y or nil` read it as nil;
-- B3 a list in a query list, {{32, 16}}, matched hidden = 32 runs, and
--    hidden = {32, 16} pooled the two-layer runs with the hidden = 32 ones;
-- B11 a query for --quick runs in the full root did not point at quick/;
-- B12 run:evaluate() of a run trained with loss = "mse" gave the cross-entropy
--    as its loss, beside the record's mse test_loss.
local T = dofile("tests/lua/harness.lua")

local root = T.tmpdir()
local sub = {train = 400, test = 100}
local function run(ex) ex:run{verbose = false} end

-- training rows a hook chose: rows of the config's set (found again), or a
-- transform of them (not recoverable: reading train is an error)
run(wb.experiment({name = "rows", seeds = {1},
  base = {hidden = 8, epochs = 2, subset = sub},
  callbacks = function(_, _, d) d.train = d.train:subset(101, 300); return {} end},
  {root = root}))
run(wb.experiment({name = "flip", seeds = {1},
  base = {hidden = 8, epochs = 1, subset = sub},
  callbacks = function(_, _, d)
    local x = d.train:float_images()
    d.train = wb.data.Dataset(x * -1 + 1, d.train.labels, "flipped")
    return {}
  end}, {root = root}))
run(wb.experiment({name = "relabel", seeds = {1}, -- same rows, labels changed in place
  base = {hidden = 8, epochs = 1, subset = sub},
  callbacks = function(_, _, d)
    local y = d.train.labels
    for i = 1, 50 do y:set(i, (y:get(i) + 1) % 10) end
    return {}
  end}, {root = root}))
run(wb.experiment({name = "flags", seeds = {1}, vary = {validation = {"test", false}},
  base = {hidden = 8, epochs = 1, subset = sub}}, {root = root}))
run(wb.experiment({name = "widths", seeds = {1}, vary = {hidden = {8, {8, 4}}},
  base = {epochs = 1, subset = sub}}, {root = root}))

local function find(q)
  q.root = root
  local rs = T.stderr_of(function() return wb.runs.find(q) end)
  return rs
end

T.test("B1: run:data().train is the rows a hook chose, found again by their content id",
  function()
  local r = find{task = "rows"}[1]
  T.eq(r.train_data.rows, 200)
  local d = r:data()
  T.eq(#d.train, 200) -- was 400: the config's rows
  T.eq(#d.test, 100)
  local _, va = d.train:split(r.config.validation)
  local e = r:model():evaluate(va) -- the last epoch is the weights' epoch
  T.eq(e.loss, r.history.val_loss[r.metrics.epochs_run])
  T.eq(e.accuracy, r.history.val_accuracy[r.metrics.epochs_run])
end)

T.test("B1: rows a hook transformed: train is an error naming the hook, test is there",
  function()
  local r = find{task = "flip"}[1]
  local d = r:data()
  T.eq(r:model():evaluate(d.test).accuracy, r.metrics.test_accuracy)
  local err = T.check_error("trained on 400 rows chosen by the callbacks hook", function()
    return d.train end)
  T.ok(err:find("not on its config's 400 training rows", 1, true), err)
  T.ok(err:find(r.train_data.id, 1, true), err)
  -- the config's rows by name, other labels: not found again either
  local rl = find{task = "relabel"}[1]
  T.check_error("(its labels changed in place; ", function() return rl:data().train end)
end)

T.test("B2: find matches a config value false, and a function query sees false", function()
  T.eq(#find{task = "flags", validation = false}, 1)
  T.eq(find{task = "flags", validation = false}[1].variant, "validation=false")
  T.eq(#find{task = "flags", validation = function(v) return v == false end}, 1)
  T.eq(#find{task = "flags", validation = {false, "test"}}, 2)
  T.check_error("have false, test", find, {task = "flags", validation = 0.2})
end)

T.test("B3: a list in a query list is the value; a list matching both ways is an error",
  function()
  local two = find{task = "widths", hidden = {{8, 4}}}
  T.eq(#two, 1) -- was 2: the hidden = 8 run too
  T.eq(table.concat(two[1].config.hidden, ","), "8,4")
  T.eq(#find{task = "widths", hidden = {8, 16}, allow_empty = true}, 1)
  T.check_error("matches 1 run whose hidden is {8, 4} and 1 whose hidden is one of its "
    .. "values (8)", find, {task = "widths", hidden = {8, 4}})
  -- a list no run has as a whole is still a set of values
  T.eq(#find{task = "widths", hidden = {8}}, 1)
end)

T.test("B11: a query that quick/ answers, asked of the full root, points there", function()
  local r2 = T.tmpdir()
  run(wb.experiment({name = "qa", seeds = {1}, base = {hidden = 8, epochs = 1,
    subset = {train = 200, test = 50}}}, {root = r2}))
  run(wb.experiment({name = "qb", seeds = {1, 2}, base = {hidden = 8, epochs = 2,
    subset = {train = 200, test = 50}}}, {root = r2 .. "/quick"}))
  local function fails(q) return T.check_error("wb.runs.find", function()
    return T.stderr_of(function() return wb.runs.find(q) end) end) end
  local note = string.format('(2 --quick runs under %s/quick match: root = "%s/quick")', r2, r2)
  local err = fails{root = r2, task = "qb"}
  T.ok(err:find(note, 1, true), err)
  err = fails{root = r2, epochs = 2}
  T.ok(err:find(note, 1, true), err)
  err = fails{root = r2, epochs = 3} -- quick/ has none either: nothing said of it
  T.ok(not err:find("--quick", 1, true), err)
  err = fails{dir = r2 .. "/runs", task = "qb"} -- a runs folder named: no root to look beside
  T.ok(not err:find("--quick", 1, true), err)
end)

T.test("B12: run:evaluate() uses the run's loss: its test_loss comes back", function()
  local r3 = T.tmpdir()
  run(wb.experiment({name = "lossy", seeds = {1}, vary = {loss = {"mse", "hinge"}},
    base = {hidden = 8, epochs = 1, subset = {train = 200, test = 50}}}, {root = r3}))
  local rs = T.stderr_of(function() return wb.runs.find{root = r3, task = "lossy"} end)
  T.eq(#rs, 2)
  for _, r in ipairs(rs) do
    local e = r:evaluate()
    T.eq(e.loss, r.metrics.test_loss, r.variant) -- was the cross-entropy
    T.eq(e.accuracy, r.metrics.test_accuracy, r.variant)
  end
end)

T.done()
