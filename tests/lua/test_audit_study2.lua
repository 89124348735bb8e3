-- test_audit_study2.lua: the task scripts' findings read their numbers and
-- directions from the runs (an audit of scripts/task*.lua; the claims and
-- task 11 are test_audit_study.lua's). Synthetic records or --quick runs.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local B = require "study.beyond"

-- {==================== per-task numbers ====================

T.test("late val-loss jitter needs two changes: none from two epochs (was sd 0)", function()
  local S = require "study"
  local h = {val_accuracy = {0.9, 0.95}, epoch_time = {1, 1}, val_loss = {0.5, 0.4}}
  local m = S.convergence_measure(nil, {dataset = "mnist"}, nil, h)
  T.eq(m.late_val_loss_jitter, nil, "one epoch-to-epoch change has no sd")
  h = {val_accuracy = {0.9, 0.95, 0.96}, epoch_time = {1, 1, 1}, val_loss = {0.5, 0.4, 0.4}}
  m = S.convergence_measure(nil, {dataset = "mnist"}, nil, h)
  T.near(m.late_val_loss_jitter, math.sqrt(0.005), 1e-12, "sd of -0.1 and 0")
end)

T.test("clean_gap: val_loss minus the trained rows' loss, in inference mode", function()
  -- Dataset:split is fit's validation_split: the same rows trained on (the
  -- histories are bit-identical), so clean_gap reads exactly those rows
  local S = require "study"
  local d = wb.data.mnist()
  local rows = d.train:subset(1, 1000)
  local function model()
    wb.seed(3)
    return wb.nn.Sequential{wb.nn.Dense(784, 32, {activation = "relu"}), wb.nn.Dropout(0.5),
      wb.nn.Dense(32, 10, {activation = "softmax"})}
  end
  local m1, m2 = model(), model()
  local o = {epochs = 2, seed = 3, verbose = false}
  o.validation_split = 0.1
  local h1 = m1:fit(rows, o)
  local head, tail = rows:split(0.1)
  T.eq(#head, 900); T.eq(#tail, 100)
  o.validation_split, o.validation = nil, tail
  local h2 = m2:fit(head, o)
  T.eq(h2.val_loss[2], h1.val_loss[2], "fit's split is Dataset:split")
  T.eq(h2.loss[2], h1.loss[2])
  local g = S.clean_gap(m1, {validation = 0.1}, {train = rows}, h1)
  local ev = m1:evaluate(head).loss
  T.eq(g, h1.val_loss[2] - ev)
  -- the running mean with dropout active is another number
  T.ok(math.abs((h1.val_loss[2] - h1.loss[2]) - g) > 1e-3, "Keras's gap differs")
  T.check_error("validation_split must be a number in (0, 1), got 1", rows.split, rows, 1)
end)

T.test("task 13 over one seed: alpha without a '± 0.00' spread", function()
  local root = T.tmpdir()
  local st, _, err = T.run_wb("scripts/task13_weight_spectra.lua --quick --seeds 1 --jobs 1 "
    .. "--root " .. T.quote(root))
  T.eq(st, 0, err)
  local row = T.ok(B.read(root .. "/quick/task13_weight_spectra/beyond.json"))
  T.ok(row.ours:match("^alpha %d+%.%d+ over 1 seed;"), row.ours)
end)

T.test("task 14: a B_crit at the end of the fit's search is no 'B_crit ~ B_simple'", function()
  local R = require "study.noise_report"
  -- at the search's end the fit has not found B_crit; its value near
  -- B_simple had counted toward 'agree'
  T.eq(R.close({b_crit = 100, at_edge = true}, 65), false)
  local close, ratio = R.close({b_crit = 100, at_edge = false}, 65)
  T.eq(close, true); T.near(ratio, 100 / 65, 1e-12)
  T.eq(R.close({b_crit = 1000, at_edge = false}, 65), false, "a factor 15 apart")
end)

T.test("task 14's figure: each B_noise measurement has its standard error drawn", function()
  -- (three points joined by a line, no uncertainty, though their standard
  -- errors were half their values)
  local R = require "study.noise_report"
  local n = 6
  local s = {step = {}, ps_trace = {}, ps_g2 = {}, tb_trace = {}, tb_g2 = {}, loss = {},
    val_accuracy = {}, noise_step = {1, 211, 844}, trace_h = {30, 100, 120},
    trace_h_se = {3, 50, 60}, ghg = {1, 1, 1.2}, hvps = {10, 10, 10}}
  for k = 1, n do
    s.step[k], s.ps_trace[k], s.ps_g2[k] = 50 * (k - 1) + 1, 50 * k, 1
    s.tb_trace[k], s.tb_g2[k], s.loss[k], s.val_accuracy[k] = 45 * k, 1, 1 / k, 0.9
  end
  local rec = {seed = 1, config = {batch_size = 128, lr = 0.8}, callback_series = {s}}
  local plot, caption
  local task = {figure = function(_, _, p, cap) plot, caption = p, cap end}
  local tr = R.track_figure(task, {rec})
  T.near(tr.noise[2].se, 50, 1e-12)
  local series = plot.d.plots[1].d.series
  local k
  for i, sr in ipairs(series) do if sr.label and sr.label:find("^B_noise") then k = i end end
  T.ok(k, "a B_noise series")
  local bars = {}
  for _, sr in ipairs(series) do
    if sr.like == k then
      bars[#bars + 1] = string.format("%g: %g-%g", sr.x[1], sr.y[1], sr.y[2])
    end
  end
  T.eq(table.concat(bars, ", "), "1: 27-33, 211: 50-150, 844: 50-150",
    "one bar per measurement, +- its standard error, in B_noise's colour")
  T.ok(caption:find("standard error", 1, true), caption)
end)

T.test("task 8 says how far each batch size trained from its runs, not typed", function()
  -- "batch 6,000 for 50 (450 steps): its final training loss stays above
  -- the small batches'" was typed: wrong under --quick or --epochs
  local root = T.tmpdir()
  local st, _, err = T.sh(string.format("timeout 1200 %s scripts/task08_batch_size.lua "
    .. "--quick --seeds 1 --jobs 1 --root %s", T.quote(T.wb), T.quote(root)))
  T.eq(st, 0, err)
  local md = T.ok(require("wb.util").read_file(root .. "/quick/task08_batch_size/README.md"))
  T.ok(not md:find("450 steps", 1, true), "no typed step count")
  T.ok(md:find("Batch 8 trained 2 epochs, batch 32 2 and batch 6,000 2%. Batch 6,000's final "
    .. "training loss %(`loss`%) is %d%.%d+ against batch 32's %d%.%d+: "), md)
end)

T.test("task 7c tunes on task 7b's grid under its own options, not every record", function()
  -- a root keeps 7b's records of other options (--epochs 5, say): their
  -- lowest validation loss (less overfitting in fewer epochs) chose 7c's rate
  local S = require "study"
  local util = require "wb.util"
  local root = T.tmpdir()
  local argv = {"--quick", "--root", root}
  local opts = wb.runner.options(argv)
  local task = dofile("scripts/task07b_lr_grid.lua")
  local ex = wb.experiment.new(task.experiment, {name = task.name, options = opts,
    root = wb.runner.root_of(opts)})
  local spec
  for _, sp in ipairs(ex.specs) do
    if sp.config.optimizer == "adam" and sp.config.lr == 0.01 then spec = sp end
  end
  local function put(hash, lr, epochs, val_loss)
    local cfg = {}
    for k, v in pairs(spec.config) do cfg[k] = v end
    cfg.lr, cfg.epochs = lr, epochs
    util.write_json(wb.record.path(root .. "/quick", "task07b_lr_grid", hash, "json"),
      {hash = hash, task = "task07b_lr_grid", variant = string.format("Adam lr=%g", lr),
        seed = 1, config = cfg, status = "ok", metrics = {val_loss = val_loss}})
  end
  wb.sys.mkdir_p(root .. "/quick/runs")
  put(spec.hash, 0.01, spec.config.epochs, 0.3)
  put("0123456789abcdef", 1, 5, 0.1) -- another invocation's grid
  local saved = rawget(_G, "arg")
  _G.arg = argv
  local ok, grid = pcall(S.grid_runs)
  _G.arg = saved
  T.ok(ok, grid)
  T.eq(#grid.records, 1, "this grid's runs only")
  T.eq(S.best_lr(grid, S.OPTIMIZERS[3]), 0.01)
end)

T.test("task 10: whether the hidden kernel's norm grows is read from the runs", function()
  -- "grows" was typed: a norm falling from 50 to 30 (L2, say) "grew"
  local texts = {}
  local fake = {name = "task10_weights", text = function(_, s) texts[#texts + 1] = s end,
    section = function() end, figure = function() end}
  local model = {{weight = wb.randn(784, 128)}, {weight = wb.randn(128, 10)}}
  local recs = {}
  for s = 1, 2 do
    recs[s] = {task = "task10_weights", variant = "base", seed = s, status = "ok",
      hash = "h" .. s, config = {seed = s}, metrics = {dead_units = 3},
      measures = {weight_norm_1 = {50, 40, 30}, weight_norm_2 = {5, 5, 5}},
      history = {loss = {1, 0.5, 0.3}}}
  end
  local runs = wb.runs.Runs(recs)
  for _, r in ipairs(runs.records) do r.model = function() return model end end
  dofile("scripts/task10_weights.lua").report(fake, runs)
  local md = table.concat(texts, "\n")
  -- the norm is the mean curve over the seeds; the kernel line is the shown seed's
  T.ok(md:find("norm (mean over 2 seeds) shrinks from 50.00 after epoch 1 to 30.00 after "
    .. "epoch 3", 1, true), md)
  T.ok(md:find("- Hidden kernel (seed 1): mean ", 1, true), md)
end)

T.test("task 3: the mean curve's minimum is read at its own epoch", function()
  -- it was read at the epoch of the per-seed minima's mean (round(7.0)) and
  -- called the minimum: 0.0814 there, while the mean curve was 0.0803 at epoch 6
  local texts = {}
  local fake = {name = "task03_epochs", text = function(_, s) texts[#texts + 1] = s end,
    section = function() end, figure = function() end}
  local curves = { -- per-seed minima at epochs 5 and 9 (mean 7); the mean's at epoch 6
    {0.9, 0.5, 0.3, 0.2, 0.10, 0.11, 0.30, 0.30, 0.30, 0.40},
    {0.9, 0.5, 0.3, 0.2, 0.30, 0.21, 0.30, 0.30, 0.20, 0.40}}
  local recs = {}
  for s, vl in ipairs(curves) do
    local h = {loss = {}, accuracy = {}, val_accuracy = {}, val_loss = vl}
    for e = 1, #vl do h.loss[e], h.accuracy[e], h.val_accuracy[e] = 0.1, 0.9, 0.9 end
    recs[s] = {task = "task03_epochs", variant = "base", seed = s, status = "ok",
      hash = "h" .. s, config = {seed = s}, metrics = {best_epoch = ({5, 9})[s]},
      history = h}
  end
  dofile("scripts/task03_epochs.lua").report(fake, wb.runs.Runs(recs))
  local md = table.concat(texts, "\n")
  T.ok(md:find("lowest at epoch 7.0 ± ", 1, true), md)
  T.ok(md:find("the mean curve's minimum is 0.1600, at epoch 6, and it then rises: 0.4000 "
    .. "at epoch 10.", 1, true), md)
end)

T.test("task 8: no typed measurements; lambda_max's caption says the epochs were unequal",
  function()
  -- it printed "seed 1 measured 8.0 at epoch 5, 3.4 at 50 and 2.5 at 100" (a literal, of no
  -- run of this report, in every README), and the bars compared 5, 10 and 50 epochs unsaid
  local function report(epochs)
    local texts, caps = {}, {}
    local fake = {name = "task08_batch_size", text = function(_, s) texts[#texts + 1] = s end,
      section = function() end, figure = function(_, name, _, cap) caps[name] = cap end,
      compare = function() end}
    local recs = {}
    for i, v in ipairs{{8, epochs[1], 0.05}, {32, epochs[2], 0.04}, {128, epochs[3], 0.05},
        {6000, epochs[4], 0.2}} do
      for s = 1, 2 do
        local h = {loss = {}, val_loss = {}, accuracy = {}, val_accuracy = {}}
        for e = 1, v[2] do
          h.loss[e], h.val_loss[e], h.accuracy[e], h.val_accuracy[e] = v[3], 0.1, 0.9, 0.9
        end
        recs[#recs + 1] = {task = "task08_batch_size", variant = "batch_size=" .. v[1],
          seed = s, status = "ok", hash = "h" .. i .. s, history = h,
          config = {seed = s, batch_size = v[1], epochs = v[2]},
          metrics = {test_accuracy = 0.9, sec_per_epoch = 1, test_loss = 0.1,
            epochs_run = v[2]},
          measures = {grad_noise = 1, grad_noise_32 = 1, lambda_max = 2 + s, hessian_trace = 3,
            sharpness = 0.1}}
      end
    end
    dofile("scripts/task08_batch_size.lua").report(fake, wb.runs.Runs(recs))
    return table.concat(texts, "\n"), caps
  end
  local md, caps = report{5, 10, 10, 50}
  T.ok(md:find("Batch 8 trained 5 epochs, batch 32 10 and batch 6,000 50", 1, true), md)
  T.ok(not md:find("8.0 at epoch 5", 1, true), md)
  T.eq(caps.lambda_max, "Each at the end of its own training: the batch sizes trained "
    .. "unequal epochs (mean over seeds: batch_size=8: 5, batch_size=32: 10, "
    .. "batch_size=128: 10, batch_size=6000: 50), so they were not stopped at equal training.")
  _, caps = report{10, 10, 10, 10}
  T.eq(caps.lambda_max, nil, "equal epochs: nothing to say")
end)

T.test("the report's 'Seeds:' keeps task 11's own three apart from the claims' seeds",
  function()
  -- with --seeds 1 the header said "Seeds: 1, 2, 3": task 11's seeds, read
  -- as the claims'
  local proc = require "study.report_proc"
  local recs = {{task = "task03_epochs", seed = 1}, {task = "task11_cockpit", seed = 1},
    {task = "task11_cockpit", seed = 2}, {task = "task11_cockpit", seed = 3}}
  T.eq(proc.seeds_text(recs, {"task03_epochs", "task11_cockpit"}, {task11_cockpit = true}),
    "1 (tasks with their own seeds: task11_cockpit 1, 2, 3)")
  -- only such tasks run: it said "Seeds:  (tasks with their own seeds: ...)"
  T.eq(proc.seeds_text({recs[2], recs[3]}, {"task11_cockpit"}, {task11_cockpit = true}),
    "task11_cockpit 1, 2")
  -- a claim of a task the report did not run: "not tested", no link to a missing figure
  local sec = require("study.claims").claims_section({task03_epochs = {}}, "mnist", true)
  T.ok(sec:find("| C2 | early stopping keeps the best generalising weights | **not tested** | "
    .. "task04_early_stopping was not run in this report | |", 1, true), sec)
  local c1 = sec:match("\n(| C1 |[^\n]*)")
  T.ok(c1 and c1:find("**undecided", 1, true) and c1:find("task03_epochs/", 1, true), c1)
  T.ok(not sec:find("task04_early_stopping/", 1, true), sec)
  local src = require("wb.util").read_file("scripts/report.lua")
  T.ok(src:find("proc.seeds_text(every, tasks, own_seeds)", 1, true), "report.lua uses it")
end)

T.test("task 3 names the lengths its runs have, not a typed 5, 10 and 20", function()
  local root = T.tmpdir()
  local st, _, err = T.sh(string.format("timeout 1200 %s scripts/task03_epochs.lua --quick "
    .. "--seeds 1 --jobs 1 --root %s", T.quote(T.wb), T.quote(root)))
  T.eq(st, 0, err)
  local md = T.ok(require("wb.util").read_file(root .. "/quick/task03_epochs/README.md"))
  T.ok(md:find("The 1-epoch models are the first epochs of the 2-epoch runs", 1, true), md)
  T.ok(md:match("lowest at epoch %d%.%d ± %d%.%d %(per seed: %d%)"), "whole epochs per seed")
end)

-- }====================

T.done()
