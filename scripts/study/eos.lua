-- scripts/study/eos.lua (`local E = require "study.eos"`): the edge of
-- stability (Cohen et al. 2021) on full-batch gradient descent: a per-step
-- hook that records the sharpness lambda_max of the training loss as a step
-- series, and the computed reading of one run's series (does lambda_max
-- rise, reach 2/lr and hover there while the loss falls non-monotonically).

local M = {}

-- lambda_max is measured every EVERY steps (and at step 1): each
-- measurement is a warm-started Lanczos of a few Hessian-vector products,
-- each about two training steps' work on the full batch.
M.EVERY = 10
M.TOL = 1e-3

-- Sharpness counts as "at 2/lr" from the first measurement >= this fraction
-- of 2/lr (Cohen et al. take the crossing of 2/lr itself; ours measures every
-- EVERY steps, so a crossing between two measurements is caught by the
-- band); "hovering" means the median of lambda_max * lr / 2 after that
-- step lies within HOVER of 1.
M.REACH = 0.9
M.HOVER = 0.2
-- measurements from reach_step on that a verdict on hovering needs
M.MIN_AFTER = 3
-- progressive sharpening: lambda_max grows by at least this factor from
-- its first measurement before it reaches 2/lr
M.SHARPEN = 1.5

---E.sharpness(cfg, model, data) -> table
---The callbacks hook: lambda_max, the top Hessian eigenvalue of the
---training loss on the whole training set (the full batch), at the weights
---steps 1, EVERY, 2 EVERY, ... start from, so that it pairs with the
---step's loss. At multiples of EVERY it is written into the step's logs
---(logs.lambda_max, logs.lambda_hvps: the products used), recorded as a
---step series when the config sets log_every = EVERY (a series measured
---more sparsely than it is logged would be mostly NaN, which the record's
---JSON cannot hold); step 1's is kept as the callback's `initial`. The
---Lanczos is warm-started from the previous eigenvector; the Hessian has
---its own generator: training is the same with and without it.
---Example: experiment = {callbacks = E.sharpness, base = {log_every = E.EVERY, ...}}
function M.sharpness(_, model, d)
  local cb = {}
  function cb:on_train_batch_begin(step, logs)
    if step ~= 1 and step % M.EVERY ~= 0 then return end
    local e = wb.hessian.eigs(model, d.train, {k = 1, tol = M.TOL, v0 = self.v})
    self.v = e.vectors[1]
    if step == 1 then self.initial, self.initial_hvps = e.values[1], e.hvps end
    if step % M.EVERY == 0 then logs.lambda_max, logs.lambda_hvps = e.values[1], e.hvps end
  end
  return {cb}
end

---E.measure(model, cfg, data, history, callbacks) -> table
---The measure hook paired with E.sharpness: lambda_initial (at step 1) and
---its Hessian-vector products.
---Example: experiment = {callbacks = E.sharpness, measure = E.measure}
function M.measure(_, _, _, _, cbs)
  return {lambda_initial = cbs[1].initial, lambda_initial_hvps = cbs[1].initial_hvps}
end

---E.series(record) -> table, table
---lambda_max of a run record by step: step 1 (measures.lambda_initial)
---then the step series history.steps.lambda_max.
---Example: local x, lam = E.series(r)
function M.series(r)
  local xs, ys = {}, {}
  local m = r.measures or {}
  if m.lambda_initial then xs[1], ys[1] = 1, m.lambda_initial end
  local st = r.history and r.history.steps or {}
  for i, v in ipairs(st.lambda_max or {}) do
    if v == v then xs[#xs + 1], ys[#ys + 1] = st.step[i], v end
  end
  return xs, ys
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

---E.read(lr, steps, lambda, loss) -> table
---The edge-of-stability reading of one run: lambda_max measured at the
---given steps (E.series), loss[i] the full-batch loss at step i (with
---one step an epoch, history.loss). Returns edge (2/lr), lam0 (first
---lambda_max), peak, reach_step (first measurement >= REACH * 2/lr, nil
---when never), sharpened (lambda_max at reach_step, else the peak, over
---lam0), ratio_median (median of lambda_max * lr / 2 from reach_step on,
---over `after` measurements), hovers (|ratio_median - 1| <= HOVER over at
---least MIN_AFTER measurements), ratio_last (the last lambda_max * lr / 2),
---rises_before / rises_after (steps whose
---loss is above the previous step's, before / from reach_step),
---loss_at_reach, loss_final, steps.
---Example: local x, lam = E.series(r); local f = E.read(r.config.lr, x, lam, r.history.loss)
function M.read(lr, ls, lam, loss)
  local edge = 2 / lr
  local f = {edge = edge, lam0 = lam[1], peak = -math.huge, steps = #loss}
  for i, v in ipairs(lam) do
    if v > f.peak then f.peak = v end
    if not f.reach_step and v >= M.REACH * edge then f.reach_step = ls[i] end
  end
  local after, at_reach = {}, nil
  for i, v in ipairs(lam) do
    if f.reach_step and ls[i] >= f.reach_step then
      after[#after + 1] = v * lr / 2
      at_reach = at_reach or v
    end
  end
  f.sharpened = lam[1] and (at_reach or f.peak) / lam[1]
  f.ratio_median = median(after)
  f.ratio_last = lam[#lam] and lam[#lam] * lr / 2
  f.after = #after
  f.hovers = #after >= M.MIN_AFTER and math.abs(f.ratio_median - 1) <= M.HOVER
  f.rises_before, f.rises_after = 0, 0
  for i = 2, #loss do
    if loss[i] > loss[i - 1] then
      if f.reach_step and i >= f.reach_step then f.rises_after = f.rises_after + 1
      else f.rises_before = f.rises_before + 1 end
    end
  end
  f.loss_at_reach = f.reach_step and loss[f.reach_step]
  f.loss_final = loss[#loss]
  return f
end

return M
