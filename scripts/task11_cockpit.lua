-- Task 11: watching SGD from the inside with Cockpit's instruments
-- (Schneider, Dangel, Hennig, NeurIPS 2021): the baseline MLP (hidden 128,
-- batch 32) trained with plain SGD at three learning rates (too small
-- 1e-3, good 0.1, too large 1) for 3 epochs. Each rate is trained twice
-- with identical training (instruments change nothing, a tested property):
-- economy every step, and full (plus the Hessian: lambda_max, trace, TIC)
-- every 16 steps. Figures: the instruments against steps, seed bands; the
-- findings are computed from the records. Not part of scripts/report.lua.
local S = require "study"

local RATES = {{name = "too small", lr = 1e-3}, {name = "good", lr = 0.1},
  {name = "too large", lr = 1}}
local function eco(lr) return string.format("lr=%g", lr) end
local function full(lr) return string.format("lr=%g full/16", lr) end

local variants = {}
for _, r in ipairs(RATES) do
  variants[#variants + 1] = {label = eco(r.lr), lr = r.lr, instruments = "economy", every = 1}
  variants[#variants + 1] = {label = full(r.lr), lr = r.lr, instruments = "full", every = 16}
end

-- The finite values of step series `name` over the runs of a variant.
local function values(runs, variant, name, from)
  local out = {}
  for _, r in ipairs(runs:of(variant)) do
    local st = r.history and r.history.steps or {}
    for i, v in ipairs(st[name] or {}) do
      if type(v) == "number" and v == v and math.abs(v) < math.huge
        and (st.step[i] or 0) >= (from or 0) then out[#out + 1] = v end
    end
  end
  table.sort(out)
  return out
end

local function median(t) return #t > 0 and (t[(#t + 1) // 2] + t[#t // 2 + 1]) / 2 or 0 / 0 end
local function share_above(t, x)
  local n = 0
  for _, v in ipairs(t) do if v > x then n = n + 1 end end
  return #t > 0 and n / #t or 0 / 0
end

local function subset(runs, label_of)
  local keep = {}
  for _, r in ipairs(RATES) do keep[label_of(r.lr)] = true end
  local recs = {}
  for _, rec in ipairs(runs.records) do if keep[rec.variant] then recs[#recs + 1] = rec end end
  return wb.runs.Runs(recs, runs.experiment)
end

local function report(task, runs)
  local economy, fulls = subset(runs, eco), subset(runs, full)
  task:section("The instruments against steps (economy, every step)")
  local function curves(names, logy)
    local plots = {}
    for _, n in ipairs(names) do
      plots[#plots + 1] = economy:plot_curves(n, {x = "step", logy = logy and logy[n]})
    end
    return wb.plot.panels{cols = 2, plots = plots}
  end
  task:figure("training", curves({"loss", "grad_norm", "distance", "update_size"},
    {grad_norm = true, update_size = true}))
  task:figure("tests", curves({"alpha", "norm_test", "inner_test", "ortho_test"},
    {norm_test = true, inner_test = true}))
  task:section("Curvature (full, every 16 steps)")
  task:figure("curvature", wb.plot.panels{cols = 2, plots = {
    fulls:plot_curves("hess_max", {x = "step", logy = true}),
    fulls:plot_curves("hess_trace", {x = "step", logy = true})}},
    "lambda_max is stable for SGD below 2/lr: 2000, 20 and 2 for the three rates.")

  task:section("Findings (computed)")
  local best, best_loss
  local rows = {"| rate | lr | final train loss | median alpha (epoch 2 on) | alpha > 0 | "
    .. "median lambda_max | 2/lr | runs diverged |", "|---|---|---|---|---|---|---|---|"}
  for _, r in ipairs(RATES) do
    local rs = economy:of(eco(r.lr))
    local losses, diverged, steps_per_epoch = {}, 0, 0
    for _, rec in ipairs(rs) do
      if rec.status ~= "ok" then diverged = diverged + 1 end
      local h = rec.history or {}
      if h.loss and #h.loss > 0 then losses[#losses + 1] = h.loss[#h.loss] end
      local st = h.steps or {epoch = {}}
      for i, e in ipairs(st.epoch or {}) do if e == 1 then steps_per_epoch = i end end
    end
    table.sort(losses)
    local final = median(losses)
    if final == final and (not best_loss or final < best_loss) then best, best_loss = r, final end
    local alpha = values(economy, eco(r.lr), "alpha", steps_per_epoch + 1)
    r.alpha, r.alpha_up = median(alpha), share_above(alpha, 0)
    local hmax = values(fulls, full(r.lr), "hess_max")
    local hm = median(hmax)
    r.unstable = share_above(hmax, 2 / r.lr)
    rows[#rows + 1] = string.format("| %s | %g | %.4f | %.3f | %.0f %% | %.3g | %g | %d of %d |",
      r.name, r.lr, final, r.alpha, 100 * r.alpha_up, hm, 2 / r.lr, diverged, #rs)
  end
  task:text(table.concat(rows, "\n"))
  if best then
    local above = best.alpha > 0
    task:text(string.format("- The best of the three rates by final training loss is lr = %g "
      .. "(%s). Its median alpha after the first epoch is %.3f, with %.0f %% of the steps "
      .. "above 0. Cockpit's paper reports that with the best learning rate alpha sits above "
      .. "0 (the step overshoots the minimum along its direction), not at 0; ours %s.",
      best.lr, best.name, best.alpha, 100 * best.alpha_up, above and "agrees" or "does not"))
  end
  local small, large = RATES[1], RATES[3]
  task:text(string.format("- Median alpha: %.3f at lr = %g (steps too short: Cockpit expects "
    .. "alpha near -1) and %.3f at lr = %g (steps too long: alpha above 0).", small.alpha,
    small.lr, large.alpha, large.lr))
  local parts = {}
  for _, r in ipairs(RATES) do
    parts[#parts + 1] = string.format("%.0f %% at lr = %g", 100 * r.unstable, r.lr)
  end
  task:text("- Share of the lambda_max measurements above 2/lr (where a quadratic model says "
    .. "plain SGD is unstable along the top eigenvector): " .. table.concat(parts, ", ") .. ".")
end

return wb.task{name = "task11_cockpit", title = "Task 11: SGD through Cockpit's instruments",
  experiment = S.experiment{base = {epochs = 3, optimizer = "sgd"}, variants = variants},
  report = report}
