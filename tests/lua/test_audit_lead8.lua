-- test_audit_lead8.lua: papercuts met writing a first ablation from README
-- ("Writing an ablation"): a key of the experiment put in its base config,
-- Keras's Dense(64, "relu"), and a report whose runs all failed.
local T = dofile("tests/lua/harness.lua")

T.test("seeds (or vary, build) in base: said to be the experiment's, not 'did you mean eps'",
  function()
  -- (before: "unknown config key 'seeds' (did you mean 'eps'?) ... (a build
  -- hook reads only the keys it declares)")
  T.check_error("x.lua:1: t: experiment.base.seeds: a key of the experiment itself, beside "
    .. "base, not a config's", wb.spec.check_experiment,
    {base = {hidden = 4, seeds = {1, 2}}}, "x.lua:1: t")
  T.check_error("experiment.variants[1].vary: a key of the experiment itself",
    wb.spec.check_experiment, {base = {hidden = 4}, variants = {{label = "a", vary = 1}}},
    "x.lua:1: t")
  T.check_error("experiment.base.seed: seeds are set by the experiment's `seeds` list",
    wb.spec.check_experiment, {base = {hidden = 4, seed = 1}}, "x.lua:1: t")
end)

T.test("Dense's options given as Keras's positional string: said how to write them", function()
  -- (before: "bad argument #3 to 'wb.nn.Dense' (table expected, got string)")
  T.check_error([[bad argument #3 to 'wb.nn.Dense' (options go in a table: {activation = "relu"})]],
    wb.nn.Dense, 784, 64, "relu")
  T.check_error("bad argument #3 to 'wb.nn.Dense' (expected a table of options {activation, bias, "
    .. "init, l2}, got number)", wb.nn.Dense, 784, 64, 5)
  T.eq(wb.nn.Dense(4, 2, {activation = "relu"}).activation, "relu")
end)

T.test("plot_curves of runs that all failed: says so, not 'expected a non-empty array'",
  function()
  local rs = wb.runs.Runs{}
  rs.failures = {{spec = {variant = "depth=1", seed = 1}}, {spec = {variant = "depth=1",
    seed = 2}}}
  T.check_error("wb.Runs:plot_curves: no run to draw 'val_loss' from (2 failed, none "
    .. "recorded: their logs say why)", function() return rs:plot_curves("val_loss") end)
  T.check_error("wb.Runs:plot_curves: no run to draw 'loss' from",
    function() return wb.runs.Runs{}:plot_curves("loss") end)
end)

T.done()
