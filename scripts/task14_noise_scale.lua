-- Task 14: the gradient noise scale and the critical batch size (McCandlish,
-- Kaplan and Amodei 2018, "An Empirical Model of Large-Batch Training"):
-- B_simple = tr(Sigma)/|G|^2 through training (their two-batch estimator and
-- exactly from per-example gradients), B_noise = tr(H Sigma)/(G^T H G) from
-- Hessian-vector products, and a batch-size sweep whose steps and examples
-- to a held-out accuracy target are fitted to (S/S_min - 1)(E/E_min - 1) = 1,
-- giving B_crit = E_min/S_min. Plain SGD throughout: the paper's model of
-- the optimal step and of the tradeoff is derived for SGD.
local S = require "study"
local Z = require "study.noise"
local util = require "wb.util"

local QUICK = wb.runner.options(rawget(_G, "arg") or {}).quick == true

local function fmt(x) return x and x == x and string.format("%.3g", x) or "-" end

-- parts averaged over the measurements k with keep(k), then divided (the
-- paper averages numerator and denominator separately)
local function averaged(s, tr, g2, keep)
  local a, b, n = 0, 0, 0
  for k = 1, #s.step do
    if keep(k) then a, b, n = a + s[tr][k], b + s[g2][k], n + 1 end
  end
  if n == 0 or b <= 0 then return nil, n end
  return a / b, n
end

-- B_simple series of one tracked run (positive finite values only: a log axis)
local function series_of(s, tr, g2, xkey)
  local x, y = {}, {}
  for k = 1, #s.step do
    local v = s[tr][k] / s[g2][k]
    if s[g2][k] > 0 and v > 0 then x[#x + 1], y[#y + 1] = s[xkey][k], v end
  end
  return x, y
end

local function tracked_section(task, tracks)
  local s = tracks[1].callback_series[1]
  local series, by_loss = {}, {}
  local x, y = series_of(s, "ps_trace", "ps_g2", "step")
  series[#series + 1] = {label = "B_simple, per-example (exact)", x = x, y = y}
  x, y = series_of(s, "tb_trace", "tb_g2", "step")
  series[#series + 1] = {label = "B_simple, two-batch (B = " .. Z.SMALL .. " and "
    .. Z.MEASURE_ROWS .. ")", x = x, y = y}
  local nx, ny = {}, {}
  for j = 1, #s.noise_step do
    if s.ghg[j] > 0 and s.trace_h[j] > 0 then
      nx[#nx + 1], ny[#ny + 1] = s.noise_step[j], s.trace_h[j] / s.ghg[j]
    end
  end
  if #nx > 0 then series[#series + 1] = {label = "B_noise (HVPs)", x = nx, y = ny} end
  x, y = series_of(s, "ps_trace", "ps_g2", "loss")
  by_loss[1] = {label = "B_simple, per-example", x = x, y = y}
  task:figure("noise_scale", wb.plot.panels{cols = 2, plots = {
    wb.plot.lines{title = string.format("Noise scales through training (SGD, batch %d, lr "
      .. "%g, seed %d)", tracks[1].config.batch_size, tracks[1].config.lr, tracks[1].seed),
      xlabel = "step", ylabel = "batch size", logy = true, series = series},
    wb.plot.lines{title = "B_simple against the loss on the measured rows",
      xlabel = "training loss", ylabel = "B_simple", logx = true, logy = true,
      series = by_loss}}},
    string.format("Each B_simple point is measured on %d training rows (a different block "
      .. "each time) at the weights the step starts from; B_noise on %d per-example "
      .. "gradients with H on %d other rows. Single measurements, not smoothed.",
      Z.MEASURE_ROWS, Z.NOISE_SAMPLES, Z.MEASURE_ROWS))
  -- the step the tracked run first reached the target (held-out accuracy)
  local reach
  for k = 1, #s.step do
    if not reach and s.val_accuracy[k] >= Z.TARGET then reach = k end
  end
  local r = {first = s.ps_trace[1] / s.ps_g2[1], reach = reach and s.step[reach],
    n = #s.step, last = s.ps_trace[#s.step] / s.ps_g2[#s.step]}
  r.to_target = averaged(s, "ps_trace", "ps_g2", function(k) return k <= (reach or #s.step) end)
  r.tb_to_target = averaged(s, "tb_trace", "tb_g2", function(k) return k <= (reach or #s.step) end)
  r.whole = averaged(s, "ps_trace", "ps_g2", function() return true end)
  r.noise = {}
  for j = 1, #s.noise_step do
    r.noise[j] = {step = s.noise_step[j], b = s.trace_h[j] / s.ghg[j],
      se = s.trace_h_se[j] / math.abs(s.ghg[j]), hvps = s.hvps[j]}
  end
  return r
end

local function sweep_section(task, recs)
  local rows = Z.best(recs)
  local t = {"| batch | learning rates tried: steps to target (why a run stopped) | best lr | "
    .. "steps S | examples E |", "|---|---|---|---|---|"}
  local Sv, Ev, pts, others = {}, {}, {x = {}, y = {}}, {x = {}, y = {}}
  for _, b in ipairs(rows) do
    local tried = {}
    for _, r in ipairs(b.runs) do
      tried[#tried + 1] = string.format("%g: %s", r.lr, r.steps and string.format("%.0f",
        r.steps) or r.stop)
      if r.steps and r ~= b.best then
        others.x[#others.x + 1], others.y[#others.y + 1] = r.examples, r.steps
      end
    end
    local best = b.best
    t[#t + 1] = string.format("| %d | %s | %s%s | %s | %s |", b.B, table.concat(tried, "; "),
      best and string.format("%g", best.lr) or "none", b.edge and " (grid end)" or "",
      best and string.format("%.0f", best.steps) or "-",
      best and string.format("%.0f", best.examples) or "-")
    if best then
      Sv[#Sv + 1], Ev[#Ev + 1] = best.steps, best.examples
      pts.x[#pts.x + 1], pts.y[#pts.y + 1] = best.examples, best.steps
    end
  end
  task:text(table.concat(t, "\n") .. "\n")
  local ok, fit = pcall(wb.noise_scale.fit_tradeoff, Sv, Ev)
  if not ok then fit = nil end
  local series = {{label = "best lr per batch size", x = pts.x, y = pts.y}}
  if #others.x > 0 then
    series[#series + 1] = {label = "other learning rates", x = others.x, y = others.y}
  end
  if fit then
    local fx, fy = {}, {}
    for k = 0, 29 do
      local B = 2 * 10 ^ (k / 29 * 4.3)
      fx[#fx + 1], fy[#fy + 1] = fit.examples(B), fit.steps(B)
    end
    series[#series + 1] = {label = string.format("fit: S_min %.3g, E_min %.3g", fit.s_min,
      fit.e_min), x = fx, y = fy}
  end
  task:figure("tradeoff", wb.plot.lines{title = string.format("Steps and examples to %.0f %% "
    .. "held-out accuracy", 100 * Z.TARGET), xlabel = "examples E", ylabel = "steps S",
    logx = true, logy = true, series = series},
    "(S/S_min - 1)(E/E_min - 1) = 1 fitted to the best learning rate of each batch size "
    .. "(McCandlish et al., eq. 2.11); B_crit = E_min / S_min is where the curve bends.")
  return fit, #Sv, #rows
end

local function report(task, runs)
  local tracks, sweep = {}, {}
  for _, r in ipairs(runs.records) do
    if r.variant == "track" then
      if r.status == "ok" and r.callback_series then tracks[#tracks + 1] = r end
    else sweep[#sweep + 1] = r end
  end
  table.sort(tracks, function(a, b) return a.seed < b.seed end)
  if #tracks == 0 then task:text("The tracked run did not finish."); return end
  task:section("B_simple and B_noise through training")
  local tr = tracked_section(task, tracks)
  task:section(string.format("Batch-size sweep to %.0f %% held-out accuracy", 100 * Z.TARGET))
  local fit, reached, sizes = sweep_section(task, sweep)

  local cost = {train = 0, runs = #runs.records, measure = 0, hvps = 0}
  for _, r in ipairs(runs.records) do
    cost.train = cost.train + (r.metrics and r.metrics.train_seconds or 0)
    if r.variant == "track" and r.measures then
      cost.measure = cost.measure + (r.measures.measure_seconds_track or 0)
      cost.hvps = cost.hvps + (r.measures.hvps or 0)
    end
  end
  task:section("Findings (computed)")
  local f = {}
  f[#f + 1] = string.format("- B_simple (exact, per-example) is %s at the first step and "
    .. "%s at the last of %d measurements; averaged (numerator and denominator separately, "
    .. "as McCandlish et al. average) up to the tracked run's reaching %.0f %% (%s) it is %s "
    .. "(two-batch estimator: %s).", fmt(tr.first), fmt(tr.last), tr.n, 100 * Z.TARGET,
    tr.reach and string.format("step %d", tr.reach) or "never reached: over the whole run",
    fmt(tr.to_target), fmt(tr.tb_to_target))
  local grows = tr.n > 1 and tr.last > 1.5 * tr.first
  if tr.n > 1 then
    f[#f + 1] = string.format("- It %s as the loss falls (%.1fx from first to last): %s.",
      grows and "grows" or "does not grow", tr.last / tr.first, grows and "as McCandlish "
      .. "et al. report (\"the noise scale increases as the loss decreases\")" or "unlike "
      .. "McCandlish et al.'s finding that it increases as the loss decreases")
  end
  local nb = {}
  for _, n in ipairs(tr.noise) do
    nb[#nb + 1] = string.format("%s ± %s at step %d", fmt(n.b), fmt(n.se), n.step)
  end
  f[#f + 1] = string.format("- B_noise = tr(H Sigma)/(G^T H G): %s (± from the spread of "
    .. "the per-example terms of tr(H Sigma) only, not from G^T H G, which is a small "
    .. "difference late in training; %d Hessian-vector products each, H on %d rows, G on up "
    .. "to %d). B_noise equals B_simple when H is a multiple of the identity, the paper's "
    .. "simplification; B_noise / B_simple at the first step is %s.", table.concat(nb, "; "),
    Z.NOISE_SAMPLES + 1, Z.MEASURE_ROWS, Z.G_ROWS,
    fmt(tr.noise[1] and tr.noise[1].b / tr.first))
  local verdict, ours = "partly", string.format("B_simple %s -> %s", fmt(tr.first),
    fmt(tr.last))
  if fit then
    local ratio = fit.b_crit / (tr.to_target or tr.whole)
    f[#f + 1] = string.format("- The fit over %d batch sizes (of %d) gives S_min = %.3g "
      .. "steps, E_min = %.3g examples and B_crit = %.3g%s (rms error of log S %.2f). "
      .. "B_crit / B_simple (averaged to the target) = %.2f: %s.", reached, sizes, fit.s_min,
      fit.e_min, fit.b_crit, fit.at_edge and " (at the end of the search: not identified)"
      or "", fit.rmse, ratio, (ratio > 1 / 3 and ratio < 3)
      and "the same order, as the paper's B_crit ~ B_simple predicts"
      or "not the same order (the paper finds B_crit ~ B_simple within a small factor)")
    ours = string.format("B_crit %.3g (S_min %.3g, E_min %.3g) vs B_simple %s averaged to "
      .. "%.0f %%; B_simple %s -> %s over training", fit.b_crit, fit.s_min, fit.e_min,
      fmt(tr.to_target), 100 * Z.TARGET, fmt(tr.first), fmt(tr.last))
    local close = ratio > 1 / 3 and ratio < 3
    verdict = (close and grows) and "agree" or (close or grows) and "partly" or "differ"
  else
    f[#f + 1] = "- Fewer than two batch sizes reached the target: no tradeoff fit."
    verdict = grows and "partly" or "differ"
  end
  f[#f + 1] = "- Published: McCandlish et al. state that the noise scale grows as the loss "
    .. "falls and that B_simple, averaged over training, predicts B_crit across tasks "
    .. "(their R^2 = 80 % over six orders of magnitude). Their MNIST numbers (B_simple "
    .. "said to be of order 10^3, and MNIST's B_crit) were not verified: the paper's "
    .. "figures could not be read here, so no sentence above rests on them."
  f[#f + 1] = string.format("- Setup and cost: SGD without momentum on the full training "
    .. "set's first 90 %%, target judged on %d held-out rows at growing intervals (steps "
    .. "interpolated between checks); learning rates %s x lr(B) with lr(B) = %g / (1 + %g / "
    .. "B); runs capped at %d examples or %d steps; one seed unless --seeds. The tracked "
    .. "run is %d epochs. Training took %.0f s in all (wall clock, %d runs), of which %.0f s "
    .. "were the tracked run's measurements (%d Hessian-vector products). %s", Z.VAL_ROWS,
    table.concat(Z.LR_FACTORS, ", "), Z.LR_MAX, Z.B_LR, Z.CAP_EXAMPLES, Z.MAX_STEPS,
    Z.TRACK_EPOCHS, cost.train, cost.runs, cost.measure, cost.hvps, QUICK and "This is --quick: "
    .. "2,000 rows, at most 2 epochs, three batch sizes at one learning rate; its numbers "
    .. "are a smoke test." or "")
  task:text(table.concat(f, "\n"))
  util.write_json(task:path("beyond.json"), {experiment = "gradient noise scale "
    .. "(McCandlish et al. 2018)", ours = ours, published = "noise scale grows as the "
    .. "loss falls; B_crit ~ B_simple averaged over training (R^2 = 80 % across tasks); "
    .. "MNIST's B_simple of order 10^3: not verified", source = "McCandlish, Kaplan, "
    .. "Amodei, An Empirical Model of Large-Batch Training, arXiv:1812.06162 (abstract; "
    .. "OpenAI's summary)", verdict = verdict})
end

return wb.task{name = "task14_noise_scale", title = "Task 14: gradient noise scale and "
  .. "critical batch size",
  intro = "The study's MLP (784 -> 128 relu -> 10 softmax) under plain SGD. B_simple = "
    .. "tr(Sigma)/|G|^2 through one tracked run, by McCandlish et al.'s two-batch "
    .. "estimator and exactly from per-example gradients; B_noise = tr(H Sigma)/(G^T H G) "
    .. "from Hessian-vector products; a batch-size sweep (8 to 6,000) to a fixed held-out "
    .. "accuracy, fitted to (S/S_min - 1)(E/E_min - 1) = 1 for B_crit = E_min/S_min.",
  experiment = S.experiment{base = {optimizer = "sgd", validation = Z.VALIDATION},
    variants = Z.variants(QUICK), seeds = {1}, callbacks = Z.callbacks,
    measure = Z.measure},
  report = report}
