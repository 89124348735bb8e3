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
  -- (a bound below 0.01 has 3 significant digits: -0.00338, tryE 3)
  T.ok(s:find("difference -0.0458, 95 % CI [-0.0882, -0.00338]", 1, true), s)
  -- an epoch count's difference is still in epochs
  local es = wb.runs.Runs{rec("a", 1, nil, {epochs_run = 3}), rec("a", 2, nil, {epochs_run = 2}),
    rec("a", 3, nil, {epochs_run = 3}), rec("b", 1, nil, {epochs_run = 5}),
    rec("b", 2, nil, {epochs_run = 6}), rec("b", 3, nil, {epochs_run = 5})}
  s = wb.compare(es, "epochs_run")
  T.ok(s:find("**a** 2.7 ± 0.6; next b 5.3 ± 0.6", 1, true), s)
  T.ok(s:find("difference -2.7, 95 % CI", 1, true), s)
end)

-- }====

-- {==== the exports of a task's runs count the failed ones ====

T.test("export_csv, export_history: a run of the task that failed (no record) is a row of "
    .. "status failed, not left out", function()
  local rs = wb.runs.Runs{rec("a", 1), rec("a", 2), rec("b", 1), rec("b", 3)}
  rawset(rs, "experiment", {name = "t"})
  rawset(rs, "failures", {{spec = {variant = "b", seed = 2, hash = "f000000000000002",
    group_key = "gb", config = {seed = 2, hidden = 48, epochs = 2}}, error = "boom"}})
  -- the table counts it; the files did not have it (4 rows: b looked like 2 seeds of 2)
  T.ok(rs:table{"test_accuracy"}:find("| b | 2 of 3 (1 failed) |", 1, true))
  local dir = os.tmpname(); os.remove(dir); os.execute("mkdir -p " .. dir)
  T.eq(wb.runs.export_csv(dir .. "/runs.csv", rs), 5)
  local rows = T.csv_rows(dir .. "/runs.csv")
  T.eq(#rows, 6)
  local col = {}
  for i, k in ipairs(rows[1]) do col[k] = i end
  local last = rows[6]
  T.eq(last[col.hash], "f000000000000002"); T.eq(last[col.task], "t")
  T.eq(last[col.variant], "b"); T.eq(last[col.seed], "2"); T.eq(last[col.status], "failed")
  T.eq(last[col.group_key], "gb"); T.eq(last[col["config.hidden"]], "48")
  T.eq(last[col.test_accuracy], "")
  -- the history: one row for it, no epoch, metric or value
  wb.runs.export_history(dir .. "/history.csv", rs)
  rows = T.csv_rows(dir .. "/history.csv")
  col = {}
  for i, k in ipairs(rows[1]) do col[k] = i end
  local seen = 0
  for _, r in ipairs(rows) do
    if r[col.status] == "failed" then
      seen = seen + 1
      T.eq(r[col.seed], "2"); T.eq(r[col.epoch], ""); T.eq(r[col.metric], "")
    end
  end
  T.eq(seen, 1)
  -- every run failed: the rows say so (was "no runs in the run list; nothing written")
  local none = wb.runs.Runs{}
  rawset(none, "experiment", {name = "t"})
  rawset(none, "failures", rs.failures)
  T.eq(wb.runs.export_csv(dir .. "/none.csv", none), 1)
  T.eq(T.csv_rows(dir .. "/none.csv")[2][7], "failed")
  T.check_error("no runs in the run list; nothing written",
    function() return wb.runs.export_csv(dir .. "/empty.csv", wb.runs.Runs{}) end)
  -- a list without failures (wb.runs.find's) writes its records only, as before
  T.eq(wb.runs.export_csv(dir .. "/plain.csv", wb.runs.Runs{rec("a", 1)}), 1)
  os.execute("rm -rf " .. dir)
end)

-- }====

-- {==== a task's README counts its failed runs where it counts the others ====

T.test("task README: the runs line counts the failed runs (9 runs: 8 trained, 0 from "
    .. "records left one unsaid)", function()
  local util = require "wb.util"
  local root = T.tmpdir() .. "/root"
  local sc = T.tmpdir() .. "/fails.lua"
  util.write_file(sc, [[
return wb.task{name = "fails", title = "fails",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 200, test = 100}},
    seeds = {1, 2},
    measure = function(model, cfg)
      if cfg.seed == 2 then error("seed 2 fails") end
      return {}
    end},
  report = function(task, runs)
    task:text(runs:table{"test_accuracy"})
    wb.runs.export_csv(task.dir .. "/runs.csv", runs)
  end}
]])
  local st, out, err = T.run_wb(T.quote(sc) .. " --root " .. T.quote(root) .. " --jobs 1")
  T.eq(st, 1, err)
  T.ok(out:find("| base | 1 of 2 (1 failed) |", 1, true), out)
  local md = util.read_file(root .. "/fails/README.md")
  T.ok(md:find("2 runs: 1 trained by this command, 0 from records, 1 failed (no record)",
    1, true), md)
  -- and the report's own export has its row
  local csv = util.read_file(root .. "/fails/runs.csv")
  T.ok(csv:find(",2,[0-9a-f]+,failed,"), csv)
end)

-- }====

-- {==== --quick's line names every run's epochs ====

T.test("--quick: the plan line names the epochs of every run, not the first variant's",
    function()
  local ex = wb.experiment({name = "qe", base = {hidden = 8, subset = {train = 300,
    test = 100}}, vary = {epochs = {1, 2}}, seeds = {1}}, {options = {quick = true},
    root = T.tmpdir()})
  local text = require("wb.runner_overrides").text(ex)
  -- was "every run trains 1 epoch(s)": variant epochs=2 trained 2
  T.ok(text:find("--quick: runs train 1 to 2 epochs on the first rows", 1, true), text)
  T.eq(ex.specs[1].config.epochs, 1); T.eq(ex.specs[2].config.epochs, 2)
  ex = wb.experiment({name = "qe", base = {hidden = 8, epochs = 5}}, {options = {quick = true},
    root = T.tmpdir()})
  text = require("wb.runner_overrides").text(ex)
  T.ok(text:find("--quick: every run trains 2 epoch(s) on the first rows", 1, true), text)
end)

-- }====

-- {==== --epochs over a variant's own epochs: the reason given is true ====

T.test("--epochs over a derived variant that sets epochs and lr: refused, not said to make "
    .. "the variants train the same (they would not)", function()
  local spec = {name = "de", base = {hidden = 8, epochs = 1}, seeds = {1},
    variants = {{label = "base"}, {label = "long-lowlr", epochs = 3, lr = 1e-4}}}
  local ok, err = pcall(wb.experiment, spec, {options = {epochs = 2}, root = T.tmpdir()})
  T.ok(not ok)
  T.ok(tostring(err):find("--epochs 2 would replace the epochs the experiment varies (variant "
    .. "long-lowlr: 3), so its variants would not differ as declared", 1, true), err)
  -- a grid over epochs alone: they would train the same, as before
  ok, err = pcall(wb.experiment, {name = "de", base = {hidden = 8}, seeds = {1},
    vary = {epochs = {1, 2}}}, {options = {epochs = 3}, root = T.tmpdir()})
  T.ok(not ok and tostring(err):find("so its variants would train the same", 1, true), err)
end)

-- }====

-- {==== wb.compare over runs that are not seeds of one configuration ====

T.test("wb.compare: runs of one label that differ in more than the seed: its error, at the "
    .. "caller's line", function()
  local a3 = rec("a", 3)
  a3.group_key, a3.config.epochs = "ga3", 3
  local rs = wb.runs.Runs{rec("a", 1), rec("a", 2), a3, rec("b", 1), rec("b", 2)}
  -- was "wb/compare.lua:163: wb.Runs:values: variant 'a': ..."
  local ok, err = pcall(function() local s = wb.compare(rs, "test_accuracy"); return s end)
  T.ok(not ok)
  T.ok(tostring(err):find("^tests/lua/test_abla_stats%.lua:%d+: wb%.compare: variant 'a': 3 "
    .. "runs are not seeds of one configuration: config%.epochs 2 vs 3"), err)
end)

-- }====

-- {==== an export an earlier report wrote, which this one does not ====

T.test("task report: a file an earlier report exported into its folder and this one does "
    .. "not is removed, as an old figure is (a runs.csv of 3 seeds beside a README of 2)",
    function()
  local util = require "wb.util"
  local root = T.tmpdir() .. "/root"
  local sc = T.tmpdir() .. "/exp.lua"
  util.write_file(sc, [[
return wb.task{name = "exp", title = "exp",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 200, test = 100}},
    seeds = {1}},
  report = function(task, runs)
    task:text(runs:table{"test_accuracy"})
    if os.getenv("EXPORT") then wb.runs.export_csv(task.dir .. "/runs.csv", runs) end
  end}
]])
  local cmd = T.quote(sc) .. " --root " .. T.quote(root) .. " --jobs 1"
  local st, _, err = T.sh("EXPORT=1 " .. T.quote(T.wb) .. " " .. cmd .. " </dev/null")
  T.eq(st, 0, err)
  T.ok(wb.sys.exists(root .. "/exp/runs.csv"))
  T.ok(util.read_file(root .. "/exp/runs.json"):find('"exports":["runs.csv"]', 1, true))
  st, _, err = T.sh(T.quote(T.wb) .. " " .. cmd .. " </dev/null")
  T.eq(st, 0, err)
  -- was left as it was, its rows of the earlier report's runs
  T.ok(not wb.sys.exists(root .. "/exp/runs.csv"), "removed")
  T.ok(err:find("removed " .. root .. "/exp/runs.csv: an earlier report exported it", 1, true),
    err)
end)

-- }====

-- {==== labels of groups: a fit option that mirrors its config key is said once ====

T.test("wb.runs.find labels: epochs set apart once, not as epochs and fit_options.epochs "
    .. "(the pair took 2 of the 4 differences a label shows)", function()
  local function r(seed, ep, lr)
    local x = rec("a", seed)
    x.hash = string.format("%d%d%015d", ep, lr * 1000, seed)
    x.config.epochs, x.config.lr = ep, lr
    x.fit_options = {epochs = ep, seed = seed, batch_size = 32}
    x.group_key = "g" .. ep .. lr
    return x
  end
  local dir = T.tmpdir() .. "/runs"
  os.execute("mkdir -p " .. dir)
  for _, x in ipairs{r(1, 2, 0.001), r(2, 2, 0.001), r(1, 3, 0.001), r(1, 3, 0.01)} do
    x.task = "t"
    wb.record.write(string.format("%s/t-%s.json", dir, x.hash), x)
  end
  local text = tostring(wb.runs.find{task = "t", dir = dir})
  -- was "a [epochs=2, fit_options.epochs=2, lr=0.001]"
  T.ok(text:find("a [epochs=2, lr=0.001] seed 1", 1, true), text)
  T.ok(text:find("a [epochs=3, lr=0.01] seed 1", 1, true), text)
  T.ok(not text:find("fit_options.epochs", 1, true), text)
end)

-- }====

T.done()
