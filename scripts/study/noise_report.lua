-- scripts/study/noise_report.lua (`local R = require "study.noise_report"`):
-- task 14's figures and readings of its records (the runs and hooks are
-- study/noise.lua's): the noise scales through the tracked run, the sweep's
-- table and the steps / examples tradeoff with its fit.
local Z = require "study.noise"

local M = {}

-- measurements whose parts are summed for the smoothed curves
M.SMOOTH = 4

---R.averaged(series, trace_key, g2_key, keep) -> number|nil, integer
---A tracked run's B_simple with numerator and denominator averaged
---separately (as the paper averages) over the measurements k with keep(k)
---(nil when none or the denominator is not positive), and how many.
---Example: local b = R.averaged(s, "ps_trace", "ps_g2", function(k) return k <= 3 end)
function M.averaged(s, tr, g2, keep)
  local a, b, n = 0, 0, 0
  for k = 1, #s.step do
    if keep(k) then a, b, n = a + s[tr][k], b + s[g2][k], n + 1 end
  end
  if n == 0 or b <= 0 then return nil, n end
  return a / b, n
end

-- B_simple series of one tracked run against s[xkey]: each measurement, or
-- (window > 1) numerator and denominator summed over the `window`
-- measurements ending there, as the paper smooths them; positive finite
-- values only (a log axis)
local function series_of(s, tr, g2, xkey, window)
  local x, y = {}, {}
  for k = 1, #s.step do
    local a, b = 0, 0
    for j = math.max(1, k - (window or 1) + 1), k do a, b = a + s[tr][j], b + s[g2][j] end
    if b > 0 and a > 0 then x[#x + 1], y[#y + 1] = s[xkey][k], a / b end
  end
  return x, y
end

---R.track_figure(task, tracks) -> table
---The figure of B_simple and B_noise through the first tracked run
---(records of variant "track", seed order) and its reading (track_reading): first, early,
---late (B_simple over the first / last SMOOTH measurements), to_target and
---tb_to_target (averaged up to the held-out target, or over the whole run),
---reach (that step), n, last_step, noise ({step, b, se, hvps} per B_noise measurement).
---Example: local tr = R.track_figure(task, tracks); print(tr.late / tr.early)
function M.track_figure(task, tracks)
  local s = tracks[1].callback_series[1]
  local series = {}
  local x, y = series_of(s, "ps_trace", "ps_g2", "step")
  series[#series + 1] = {label = "B_simple, per-example (exact), each measurement", x = x,
    y = y}
  x, y = series_of(s, "ps_trace", "ps_g2", "step", M.SMOOTH)
  series[#series + 1] = {label = "the same, parts summed over " .. M.SMOOTH .. " measurements",
    x = x, y = y}
  x, y = series_of(s, "tb_trace", "tb_g2", "step", M.SMOOTH)
  series[#series + 1] = {label = "B_simple, two-batch (B = " .. Z.SMALL .. " and "
    .. Z.MEASURE_ROWS .. "), summed over " .. M.SMOOTH, x = x, y = y}
  local nx, ny, bars = {}, {}, {}
  for j = 1, #s.noise_step do
    if s.ghg[j] > 0 and s.trace_h[j] > 0 then
      local b, se = s.trace_h[j] / s.ghg[j], s.trace_h_se[j] / s.ghg[j]
      nx[#nx + 1], ny[#ny + 1] = s.noise_step[j], b
      -- its error bar, +- one standard error (trace_h's, as track_reading):
      -- a vertical segment in B_noise's colour (wb.plot.lines draws bands,
      -- which would join the few measurements' errors as if known between)
      bars[#bars + 1] = {x = {s.noise_step[j], s.noise_step[j]},
        y = {b - se, b + se}}
    end
  end
  if #nx > 0 then
    series[#series + 1] = {label = "B_noise (HVPs), ± one standard error", x = nx, y = ny}
    local k = #series
    for _, bar in ipairs(bars) do bar.like = k; series[#series + 1] = bar end
  end
  x, y = series_of(s, "ps_trace", "ps_g2", "loss", M.SMOOTH)
  task:figure("noise_scale", wb.plot.panels{cols = 1, size = {1000, 1000}, plots = {
    wb.plot.lines{title = string.format("Noise scales through training (SGD, batch %d, lr "
      .. "%g, seed %d)", tracks[1].config.batch_size, tracks[1].config.lr, tracks[1].seed),
      xlabel = "step", ylabel = "batch size", logy = true, series = series},
    wb.plot.lines{title = "B_simple against the mean loss on the measured rows",
      xlabel = "training loss", ylabel = "B_simple (batch size)", logx = true, logy = true,
      series = {{label = "B_simple, per-example, summed over " .. M.SMOOTH, x = x, y = y}}}}},
    string.format("Each B_simple measurement uses %d training rows (a different block each "
      .. "time) at the weights the step starts from; B_noise uses %d per-example gradients "
      .. "with H on %d other rows; B_noise's vertical dashes are ± one standard error (of its "
      .. "tr(H Sigma)), and the line between its few measurements is no measurement.",
      Z.MEASURE_ROWS, Z.NOISE_SAMPLES, Z.MEASURE_ROWS))
  return M.track_reading(tracks[1])
end

---R.track_reading(record) -> table
---The numbers of one tracked run (see R.track_figure).
---Example: local tr = R.track_reading(tracks[2]); print(tr.to_target)
function M.track_reading(rec)
  local s = rec.callback_series[1]
  -- the step the tracked run first reached the target (held-out accuracy)
  local reach
  for k = 1, #s.step do
    if not reach and s.val_accuracy[k] >= Z.TARGET then reach = k end
  end
  -- early and late: parts summed over the first and the last SMOOTH
  -- measurements (single ones are noisy: the figure)
  local n = #s.step
  local w = math.min(M.SMOOTH, n)
  local r = {first = s.ps_trace[1] / s.ps_g2[1], reach = reach and s.step[reach], n = n,
    early = M.averaged(s, "ps_trace", "ps_g2", function(k) return k <= w end),
    late = M.averaged(s, "ps_trace", "ps_g2", function(k) return k > n - w end),
    late_from = s.step[n - w + 1], early_to = s.step[w]}
  local function upto(k) return k <= (reach or n) end
  r.to_target = M.averaged(s, "ps_trace", "ps_g2", upto)
  -- which measurements that is: 3 (steps 1, 50, 100) made it mostly the
  -- untrained network's at step 1 (tryH 3), which the findings now say
  local at = {}
  for k = 1, reach or n do at[k] = s.step[k] end
  r.to_target_steps = #at <= 6 and "steps " .. table.concat(at, ", ")
    or string.format("%d measurements, steps %d-%d", #at, at[1], at[#at])
  r.tb_to_target = M.averaged(s, "tb_trace", "tb_g2", upto)
  r.last_step = s.step[n]
  r.noise = {} -- B_noise's +- is trace_h's standard error only
  for j = 1, #s.noise_step do
    r.noise[j] = {step = s.noise_step[j], b = s.trace_h[j] / s.ghg[j],
      se = s.trace_h_se[j] / math.abs(s.ghg[j]), hvps = s.hvps[j]}
  end
  return r
end

---R.close(fit, b_simple) -> boolean, number
---Whether the fitted B_crit (wb.noise_scale.fit_tradeoff) is of the order
---of B_simple (within a factor 3, the paper's "B_crit ~ B_simple"), and
---their ratio. A B_crit at the end of the fit's search (at_edge) is not
---identified by the runs: never close.
---Example: local close, ratio = R.close(fit, tr.to_target)
M.CLOSE = 3 -- "of the order": within this factor either way (the verdict's rule says it)
function M.close(fit, b_simple)
  local ratio = fit.b_crit / (b_simple or math.huge)
  return not fit.at_edge and ratio > 1 / M.CLOSE and ratio < M.CLOSE, ratio
end

---R.sweep_figure(task, records) -> table|nil, integer, integer
---The sweep's table (per batch size: the learning rates tried and the
---best) and its figure, S against E with the fitted tradeoff; returns the
---fit (wb.noise_scale.fit_tradeoff, nil when fewer than two batch sizes
---reached the target), the batch sizes that reached it and those run.
---Example: local fit, reached, sizes = R.sweep_figure(task, sweep_records)
function M.sweep_figure(task, recs)
  local rows = Z.best(recs)
  local t = {"| batch | learning rates tried: steps to target (why a run stopped) | best lr | "
    .. "steps S | examples E |", "|---|---|---|---|---|"}
  local Sv, Ev, by_rank = {}, {}, {}
  for _, b in ipairs(rows) do
    local tried = {}
    for i, r in ipairs(b.runs) do
      tried[#tried + 1] = string.format("%g: %s", r.lr, r.steps and string.format("%.0f%s",
        r.steps, r.reached < r.seeds and " (" .. r.stop .. ")" or "") or r.stop)
      -- the i-th smallest learning rate of every batch size's grid: one curve
      by_rank[i] = by_rank[i] or {x = {}, y = {}}
      if r.steps then
        by_rank[i].x[#by_rank[i].x + 1], by_rank[i].y[#by_rank[i].y + 1] = r.examples, r.steps
      end
    end
    local best = b.best
    t[#t + 1] = string.format("| %d | %s | %s%s | %s | %s |", b.B, table.concat(tried, "; "),
      best and string.format("%g", best.lr) or "none", b.edge and " (grid end)" or "",
      best and string.format("%.0f", best.steps) or "-",
      best and string.format("%.0f", best.examples) or "-")
    if best then Sv[#Sv + 1], Ev[#Ev + 1] = best.steps, best.examples end
  end
  task:text(table.concat(t, "\n") .. "\n")
  -- no batch size reached the target (Fashion-MNIST's --quick): nothing to draw,
  -- no fit (the findings say so); wb.plot.lines refuses an empty series
  if #Sv == 0 then return nil, 0, #rows end
  local ok, fit = pcall(wb.noise_scale.fit_tradeoff, Sv, Ev)
  fit = ok and fit or nil
  -- the rates tried, then the best of them, and the fit dashed in its
  -- colour. A rate that won at every batch size is the best line itself:
  -- named in its label, not drawn twice (drawn first, the best line lay
  -- under 1 x lr(B) in the full report, not seen); the fit, with markers
  -- in a colour of its own, looked like a measurement
  local series, best_label = {}, "best lr per batch size"
  for i, c in ipairs(by_rank) do
    local same = #c.x == #Ev
    for k = 1, #c.x do same = same and c.x[k] == Ev[k] and c.y[k] == Sv[k] end
    if same and #by_rank > 1 then
      best_label = string.format("best lr per batch size (%g x lr(B) at each)",
        Z.LR_FACTORS[i])
    elseif #by_rank > 1 and #c.x > 0 then
      series[#series + 1] = {label = string.format("lr = %g x lr(B)", Z.LR_FACTORS[i]),
        x = c.x, y = c.y}
    end
  end
  series[#series + 1] = {label = best_label, x = Ev, y = Sv}
  local best = #series
  if fit then
    local fx, fy = {}, {}
    for k = 0, 29 do
      local B = 2 * 10 ^ (k / 29 * 4.3)
      fx[#fx + 1], fy[#fy + 1] = fit.examples(B), fit.steps(B)
    end
    series[#series + 1] = {label = string.format("fit: S_min %.3g, E_min %.3g", fit.s_min,
      fit.e_min), x = fx, y = fy, like = best}
  end
  task:figure("tradeoff", wb.plot.lines{title = string.format("Steps and examples to %.0f %% "
    .. "held-out accuracy", 100 * Z.TARGET), xlabel = "examples E", ylabel = "steps S",
    logx = true, logy = true, series = series},
    "(S/S_min - 1)(E/E_min - 1) = 1 fitted to the best learning rate of each batch size "
    .. "(McCandlish et al.); B_crit = E_min / S_min is where the curve bends.")
  return fit, #Sv, #rows
end

return M
