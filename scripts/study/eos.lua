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

-- The reading tests Cohen et al.'s picture in three parts, each on its own:
-- (a) progressive sharpening: lambda_max starts below 2/lr and rises to it;
-- it "reaches" 2/lr at the first measurement >= REACH * 2/lr (Cohen et al.
-- take the crossing itself; ours measures every EVERY steps, so a crossing
-- between measurements is caught by the 5 % band). A run whose first
-- measurement is already there has no sharpening phase.
M.REACH = 0.95
-- (b) hovering: in their Figures 1-2 lambda_max, once at 2/lr, oscillates
-- at (just above) 2/lr for the rest of training. Read on the last half of
-- the measurements after the crossing (so that the crossing's overshoot,
-- a catapult's spike, does not count), the median of lambda_max / (2/lr)
-- lies within HOVER of 1, and the last TAIL measurements are not all below
-- FLOOR (a sustained fall off the edge: the stable regime, not a dip of an
-- oscillation). 10 %: their curves sit on the 2/lr line to within a few per
-- cent; the rest is room for our sparse measurements.
M.HOVER = 0.1
M.FLOOR = 0.8
M.TAIL = 3
-- measurements in that last half a verdict on hovering needs
M.MIN_LATE = 3
-- (c) the loss keeps falling non-monotonically: over the same late window
-- the loss falls overall and rises on at least one step (one burst of rises
-- at the crossing, then a monotone fall, is a catapult into the stable
-- regime; Lewkowycz et al. 2020).
-- A run that reached 2/lr and neither hovers nor rises late is a catapult
-- when lambda_max is below 2/lr for good within CATAPULT steps of the
-- crossing (Lewkowycz et al.'s spike); a longer spell above 2/lr before
-- the fall is said as one (tryH 2: lr 0.5 sat at 1.01-1.18x 2/lr for 50
-- steps, its loss rising, and was read as a catapult).
M.CATAPULT = 30

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
  -- the warm start and step 1's measurement: an interrupted run resumes
  -- from its last epoch (one step) with the same Lanczos start, not from
  -- step 1 (the report said "restarts from epoch 1" for each run)
  function cb:get_state()
    return {v = self.v, initial = self.initial, initial_hvps = self.initial_hvps}
  end
  function cb:set_state(s)
    self.v, self.initial, self.initial_hvps = s.v, s.initial, s.initial_hvps
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
---lambda_max), ratio0 (lam0 / edge), peak, steps, and per part:
---(a) reach_step (first measurement >= REACH * 2/lr, nil when never),
---began_above (the first measurement is there already), sharpened
---(lambda_max at reach_step, else the peak, over lam0), sharpens (began
---below and reached); (b) after (measurements after reach_step), late (the
---last half of them, floor(after / 2)), late_from (the first late
---measurement's step), late_median (median of lambda_max / (2/lr) over
---them), late_falls (how many of the late - 1 steps between them fall),
---ratio_last, fell_below (the last TAIL measurements all below FLOOR),
---falling_from (the step from which every measurement is below the one
---before it, nil when the last one is not), below_from (after the
---crossing, the step from which every measurement is below 2/lr),
---hovers (late >= MIN_LATE, |late_median - 1| <= HOVER and not fell_below;
---nil when too few measurements to say); (c) rise_steps (the steps whose
---loss is above the previous step's), rises_before / rises_after (before /
---from reach_step), rises_late (after late_from), loss_late (the loss at
---late_from), loss_at_reach, loss_final, nonmonotone (rises_late > 0 and
---loss_final < loss_late); and eos (sharpens, hovers and nonmonotone:
---Cohen et al.'s picture) with regime: "stable" (never reached 2/lr),
---"undecided" (too few late measurements), "edge of stability",
---"catapult, then stable" (reached, then neither hovers nor rises late, and
---below 2/lr for good within CATAPULT steps of the crossing), "above 2/lr,
---then stable" (the same after a longer spell above 2/lr: spell_to, the
---last measurement before below_from, spell_lo / spell_hi, lambda_max /
---(2/lr) over the crossing to spell_to, and spell_rises, the loss's rises
---from the crossing to below_from) or "mixed" (the parts disagree: the
---text names them).
---Example: local x, lam = E.series(r); local f = E.read(r.config.lr, x, lam, r.history.loss)
function M.read(lr, ls, lam, loss)
  local edge = 2 / lr
  local f = {edge = edge, lam0 = lam[1], ratio0 = lam[1] and lam[1] / edge,
    peak = -math.huge, steps = #loss}
  local at_reach
  for i, v in ipairs(lam) do
    if v > f.peak then f.peak = v end
    if not f.reach_step and v >= M.REACH * edge then f.reach_step, at_reach = ls[i], v end
  end
  f.began_above = f.reach_step ~= nil and f.reach_step == ls[1]
  f.sharpened = lam[1] and (at_reach or f.peak) / lam[1]
  f.sharpens = f.reach_step ~= nil and not f.began_above
  -- (b) on the last half of the measurements after the crossing
  local after = {}
  for i, v in ipairs(lam) do
    if f.reach_step and ls[i] > f.reach_step then after[#after + 1] = i end
  end
  f.after = #after
  local late = {}
  for j = #after - #after // 2 + 1, #after do late[#late + 1] = after[j] end
  f.late = #late
  local ratios = {}
  for j, i in ipairs(late) do ratios[j] = lam[i] / edge end
  f.late_from = late[1] and ls[late[1]]
  f.late_median = median(ratios)
  f.late_falls = 0
  for j = 2, #ratios do
    if ratios[j] < ratios[j - 1] then f.late_falls = f.late_falls + 1 end
  end
  f.ratio_last = lam[#lam] and lam[#lam] / edge
  f.fell_below = #lam >= M.TAIL
  for i = #lam - M.TAIL + 1, #lam do
    if i >= 1 and lam[i] / edge >= M.FLOOR then f.fell_below = false end
  end
  -- where a final fall begins (every later measurement lower than the one
  -- before it) and the step from which every measurement is below 2/lr
  local k = #lam
  while k > 1 and lam[k - 1] > lam[k] do k = k - 1 end
  f.falling_from = k < #lam and ls[k] or nil
  k = #lam
  while k >= 1 and lam[k] < edge do k = k - 1 end
  f.below_from = f.reach_step and k < #lam and ls[k + 1] or nil
  if f.reach_step and #late >= M.MIN_LATE then
    f.hovers = math.abs(f.late_median - 1) <= M.HOVER and not f.fell_below
  end
  -- (c) the loss's rises: all, before / from the crossing, in the late window
  f.rise_steps, f.rises_before, f.rises_after, f.rises_late = {}, 0, 0, 0
  for i = 2, #loss do
    if loss[i] > loss[i - 1] then
      f.rise_steps[#f.rise_steps + 1] = i
      if f.reach_step and i >= f.reach_step then f.rises_after = f.rises_after + 1
      else f.rises_before = f.rises_before + 1 end
      if f.late_from and i > f.late_from then f.rises_late = f.rises_late + 1 end
    end
  end
  f.loss_at_reach = f.reach_step and loss[f.reach_step]
  f.loss_late = f.late_from and loss[f.late_from]
  f.loss_final = loss[#loss]
  f.nonmonotone = f.loss_late ~= nil and f.rises_late > 0 and f.loss_final < f.loss_late
  -- the spell above 2/lr from the crossing to the fall below it for good
  if f.below_from then
    f.spell_lo, f.spell_hi, f.spell_rises = math.huge, -math.huge, {}
    for i, v in ipairs(lam) do
      if ls[i] >= f.reach_step and ls[i] < f.below_from then
        f.spell_to = ls[i]
        f.spell_lo, f.spell_hi = math.min(f.spell_lo, v / edge), math.max(f.spell_hi, v / edge)
      end
    end
    for _, s in ipairs(f.rise_steps) do
      if s >= f.reach_step and s < f.below_from then f.spell_rises[#f.spell_rises + 1] = s end
    end
  end
  f.eos = f.sharpens and f.hovers == true and f.nonmonotone
  local fell = not f.hovers and f.rises_late == 0 and f.below_from
  f.regime = not f.reach_step and "stable" or f.hovers == nil and "undecided"
    or f.eos and "edge of stability"
    or fell and f.below_from - f.reach_step <= M.CATAPULT and "catapult, then stable"
    or fell and "above 2/lr, then stable" or "mixed"
  return f
end

---E.ranges(steps) -> string
---Sorted integers as runs: {6, 7, 12, 13, 14, 26} -> "6-7, 12-14, 26"; "none"
---when empty.
---Example: print(E.ranges(f.rise_steps))
function M.ranges(t)
  local out, i = {}, 1
  while i <= #t do
    local j = i
    while t[j + 1] == t[j] + 1 do j = j + 1 end
    out[#out + 1] = j > i and (t[i] .. "-" .. t[j]) or tostring(t[i])
    i = j + 1
  end
  return #out > 0 and table.concat(out, ", ") or "none"
end

return M
