-- test_abla_stats.lua: the numbers an ablation's report shows (audit audA),
-- over run lists made by hand, so nothing trains: a measure whose name holds
-- "epoch" or "units" but is no count (loss_per_epoch, dead_units_frac) keeps
-- its digits in tables and comparisons, and the exports of a task's runs
-- have a row for each run that failed (no record), as its table counts it.
local T = dofile("tests/lua/harness.lua")

-- A finished run of variant v, seed `seed`, with measures ms and metrics mt.
local function rec(v, seed, ms, mt)
  local m = {test_accuracy = 0.5, epochs_run = 2}
  for k, x in pairs(mt or {}) do m[k] = x end
  return {hash = string.format("%s%015d", v, seed), task = "t", variant = v, seed = seed,
    config = {seed = seed, hidden = v == "a" and 16 or 48, epochs = 2}, status = "ok",
    group_key = "g" .. v, history = {loss = {1, 0.5}, val_loss = {1, 0.6}, epochs = 2},
    metrics = m, measures = ms or {}}
end

-- {==== a name that looks like a count, values that are not ====

T.test("fmt_mean_std: a measure named like a count (loss_per_epoch) but not one keeps its "
    .. "digits (two variants showed \"0.3 ± 0.0\" alike)", function()
  -- was "0.3 ± 0.0": 1 decimal, as for an epoch count
  T.eq(wb.runs.fmt_mean_std(0.2984, 0.0099, "loss_per_epoch", 2), "0.2984 ± 0.0099")
  T.eq(wb.runs.fmt_mean_std(0.1249, 0.0007, "dead_units_frac", 2), "0.1249 ± 0.0007")
  T.eq(wb.runs.fmt_mean_std(0.2984, nil, "loss_per_epoch", 1), "0.2984")
  -- counts stay counts: the mean of 2, 3, 3 epochs, 12 dead units
  T.eq(wb.runs.fmt_mean_std(8 / 3, 0.5773502691896, "epochs_run", 3), "2.7 ± 0.6")
  T.eq(wb.runs.fmt_mean_std(3, 0, "epochs_run", 3), "3 ± 0")
  T.eq(wb.runs.fmt_mean_std(12, 0, "dead_units", 2), "12 ± 0")
  T.eq(wb.runs.fmt_mean_std(12.5, 0.7071, "dead_units", 2), "12.5 ± 0.7")
  -- without n it cannot tell: the name decides, as before
  T.eq(wb.runs.fmt_mean_std(5.25, 1.5, "best_epoch"), "5.2 ± 1.5")
end)

T.test("Runs:table and wb.compare: loss_per_epoch cells and the interval keep their digits",
    function()
  local rs = wb.runs.Runs{
    rec("a", 1, {loss_per_epoch = 0.3054}), rec("a", 2, {loss_per_epoch = 0.2914}),
    rec("b", 1, {loss_per_epoch = 0.2571}), rec("b", 2, {loss_per_epoch = 0.2481})}
  local md = rs:table{"loss_per_epoch"}
  -- was "| a | 2 | 0.3 ± 0.0 |" and "| b | 2 | 0.3 ± 0.0 |": alike, though they differ
  T.ok(md:find("| a | 2 | 0.2984 ± 0.0099 |", 1, true), md)
  T.ok(md:find("| b | 2 | 0.2526 ± 0.0064 |", 1, true), md)
  local s = wb.compare(rs, "loss_per_epoch")
  -- scipy: diff -0.0458, 95 % CI [-0.0882, -0.0034] (Welch, df 1.71)
  T.ok(s:find("**b** 0.2526 ± 0.0064; next a 0.2984 ± 0.0099", 1, true), s)
  T.ok(s:find("difference -0.0458, 95 % CI [-0.0882, -0.0034]", 1, true), s)
  -- an epoch count's difference is still in epochs
  local es = wb.runs.Runs{rec("a", 1, nil, {epochs_run = 3}), rec("a", 2, nil, {epochs_run = 2}),
    rec("a", 3, nil, {epochs_run = 3}), rec("b", 1, nil, {epochs_run = 5}),
    rec("b", 2, nil, {epochs_run = 6}), rec("b", 3, nil, {epochs_run = 5})}
  s = wb.compare(es, "epochs_run")
  T.ok(s:find("**a** 2.7 ± 0.6; next b 5.3 ± 0.6", 1, true), s)
  T.ok(s:find("difference -2.7, 95 % CI", 1, true), s)
end)

-- }====

T.done()
