-- test_eos.lua: the edge of stability's known answer (gradient descent on a
-- quadratic 1/2 x^T A x diverges exactly when lambda_max(A) > 2/lr) through
-- fit and wb.hessian, and task 12's helpers (scripts/study/eos.lua): the
-- per-step sharpness hook and the reading of a run's series.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local E = require "study.eos"
local nn = wb.nn

-- N rows of n features from an own LCG (values in [-1, 1]), and labels in
-- 0..C-1.
local function make(N, n, C, seed)
  local s = seed
  local function rnd()
    s = (s * 1103515245 + 12345) % 2147483648
    return 2 * s / 2147483648 - 1
  end
  local rows, labels = {}, wb.new_tensor({N}, "uint8")
  for i = 1, N do
    local r = {}
    for j = 1, n do r[j] = rnd() end
    rows[i] = r
    labels:set(i, i % C)
  end
  return rows, labels
end

-- lambda_max of a small symmetric matrix (Lua tables), by power iteration in
-- double precision from a fixed start (the test's own reference).
local function power_max(A)
  local n = #A
  local v = {}
  for i = 1, n do v[i] = 1 + i / n end
  local lam = 0
  for _ = 1, 2000 do
    local w, norm = {}, 0
    for i = 1, n do
      local s = 0
      for j = 1, n do s = s + A[i][j] * v[j] end
      w[i], norm = s, norm + s * s
    end
    norm = math.sqrt(norm)
    lam = norm
    for i = 1, n do v[i] = w[i] / norm end
  end
  return lam
end

local N, n, C = 40, 4, 2
local rows, labels = make(N, n, C, 7)
local x = wb.tensor(rows)
local data = wb.data.Dataset(x, labels, "quadratic")

-- The loss of fit's mse on a linear Dense (Keras: one-hot targets, mean over
-- the C outputs and N rows) is quadratic in the weights; its Hessian is C
-- copies of 2 [X 1]^T [X 1] / (N C), whatever the targets.
local function lambda_reference()
  local A = {}
  for a = 1, n + 1 do
    A[a] = {}
    for b = 1, n + 1 do
      local s = 0
      for i = 1, N do
        s = s + (rows[i][a] or 1) * (rows[i][b] or 1)
      end
      A[a][b] = 2 * s / (N * C)
    end
  end
  return power_max(A)
end

local function linear_model()
  wb.seed(3)
  return nn.Sequential{nn.Dense(n, C, {activation = "linear"})}
end

T.test("wb.hessian gives the quadratic's lambda_max(A)", function()
  local lam = lambda_reference()
  local onehot = wb.zeros(N, C)
  for i = 1, N do onehot:set(i, labels:get(i) + 1, 1) end
  local e = wb.hessian.eigs(linear_model(), {x = x, y = onehot}, {loss = "mse", k = 1,
    tol = 1e-8, precision = "float64"})
  T.near(e.values[1], lam, 1e-6 * lam)
end)

-- Gradient descent (fit, SGD, the full batch) at lr = factor * 2 / lambda_max:
-- the final loss over the first one.
local STEPS = 400
local function gd(factor)
  local lr = factor * 2 / lambda_reference()
  local m = linear_model()
  local ok, h = pcall(m.fit, m, data, {loss = "mse", epochs = STEPS, batch_size = N,
    shuffle = false, verbose = false, optimizer = wb.optim.SGD{lr = lr}, log_every = 1})
  if not ok then
    T.ok(wb.fit.is_diverged(h), tostring(h))
    return math.huge, h
  end
  return h.steps.loss[#h.steps.loss] / h.steps.loss[1], h
end

T.test("GD diverges exactly when lambda_max(A) > 2/lr", function()
  -- the top mode's error is multiplied by |1 - lr lambda_max| each step:
  -- 0.96 and 0.8 contract, 1.04 and 1.2 grow (1.04^800 ~ 4e13 in the loss)
  for _, f in ipairs{0.9, 0.98} do
    local r = gd(f)
    T.ok(r <= 1, string.format("lr = %.2f x 2/lambda_max: loss ratio %.3g, expected <= 1",
      f, r))
  end
  for _, f in ipairs{1.02, 1.1} do
    local r = gd(f)
    T.ok(r > 1e6, string.format("lr = %.2f x 2/lambda_max: loss ratio %.3g, expected to "
      .. "blow up", f, r))
  end
end)

T.test("on the stable side of a quadratic the loss never rises", function()
  -- a sum of decaying squares: the rises of the edge of stability need a
  -- non-quadratic loss
  local _, h = gd(0.98)
  local rises = 0
  for i = 2, #h.steps.loss do
    if h.steps.loss[i] > h.steps.loss[i - 1] * (1 + 1e-6) then rises = rises + 1 end
  end
  T.eq(rises, 0)
end)

-- {==================== the sharpness hook and its reading ====================

local function softmax_model()
  wb.seed(5)
  return nn.Sequential{nn.Dense(n, 8, {activation = "tanh"}),
    nn.Dense(8, C, {activation = "softmax"})}
end

T.test("E.sharpness: lambda_max at step 1 and every EVERY steps, at the step's "
  .. "starting weights, training unchanged", function()
  local m = softmax_model()
  local before = wb.hessian.eigs(m, data, {k = 1, tol = E.TOL}).values[1]
  local cbs = E.sharpness({}, m, {train = data})
  local fit_opts = {epochs = 25, batch_size = N, shuffle = false, verbose = false,
    log_every = E.EVERY}
  fit_opts.optimizer, fit_opts.callbacks = wb.optim.SGD{lr = 0.5}, cbs
  local h = m:fit(data, fit_opts)
  local r = {history = h, measures = E.measure(m, {}, {}, h, cbs)}
  local xs, lam = E.series(r)
  T.eq(table.concat(xs, ","), "1,10,20")
  T.eq(lam[1], before, "step 1: the initial weights")
  T.eq(#h.steps.lambda_max, 2, "recorded at every logged step")
  T.ok(lam[2] ~= lam[1] and lam[3] ~= lam[2], "measured again")
  T.ok(r.measures.lambda_initial_hvps >= 1)
  local m2 = softmax_model()
  fit_opts.optimizer, fit_opts.callbacks = wb.optim.SGD{lr = 0.5}, nil
  local h2 = m2:fit(data, fit_opts)
  T.eq(table.concat(h2.loss, ","), table.concat(h.loss, ","),
    "the Hessian has its own generator: the same training")
  -- resumable: a fit stopped after epoch 12 and resumed gives the same
  -- series (the warm start restored); without get_state task 12's runs
  -- restarted from epoch 1 ("has no get_state")
  local path, m3 = T.tmpdir() .. "/s.safetensors", softmax_model()
  local cb3 = E.sharpness({}, m3, {train = data})
  fit_opts.optimizer, fit_opts.callbacks, fit_opts.epochs = wb.optim.SGD{lr = 0.5}, cb3, 12
  m3:fit(data, fit_opts)
  m3:save_state(path)
  local m4 = softmax_model()
  local cb4 = E.sharpness({}, m4, {train = data})
  fit_opts.optimizer, fit_opts.callbacks, fit_opts.epochs = wb.optim.SGD{lr = 0.5}, cb4, 25
  fit_opts.resume = path
  local h4 = m4:fit(data, fit_opts)
  fit_opts.resume = nil
  T.eq(table.concat(h4.steps.lambda_max, ","), table.concat(h.steps.lambda_max, ","))
  T.eq(cb4[1].initial, cbs[1].initial, "step 1's measurement kept")
end)

-- Synthetic series at lr = 0.5 (2/lr = 4), measured at steps 1, 10, ..., 200
-- like task 12's: lambda_max from ratios r(step) of 2/lr, and a loss of 200
-- steps falling by 1 % a step but rising by 2 % on the steps in `rises`.
local function series(ratio)
  local ls, lam = {1}, {4 * ratio(1)}
  for s = 10, 200, 10 do ls[#ls + 1], lam[#lam + 1] = s, 4 * ratio(s) end
  return ls, lam
end
local function losses(rises)
  local up, loss = {}, {2.3}
  for _, s in ipairs(rises) do up[s] = true end
  for s = 2, 200 do loss[s] = loss[s - 1] * (up[s] and 1.02 or 0.99) end
  return loss
end
-- task 12's lr = 0.3 record, as ratios to 2/lr: the crossing's overshoot to
-- 1.50 at step 30, then a fall at every measurement to 0.74
local CATAPULT = {0.90, 1.09, 1.24, 1.50, 0.95, 0.91, 0.90, 0.88, 0.87, 0.86, 0.85, 0.83,
  0.82, 0.81, 0.80, 0.79, 0.78, 0.77, 0.76, 0.75, 0.74}
local function catapult(s) return CATAPULT[s == 1 and 1 or s // 10 + 1] end
-- Cohen et al.'s picture: sharpening from a quarter of 2/lr to it by step 60,
-- then oscillating at 2/lr (0.97 .. 1.06) to the end, the loss rising every
-- 20 steps or so throughout
local function eos(s)
  if s <= 60 then return 0.25 + 0.75 * s / 60 end
  return 1 + 0.045 * math.sin(s) + 0.015
end
local EOS_RISES = {}
for s = 45, 200, 19 do EOS_RISES[#EOS_RISES + 1] = s end

T.test("E.read: a true edge-of-stability series passes (a), (b) and (c)", function()
  local ls, lam = series(eos)
  local f = E.read(0.5, ls, lam, losses(EOS_RISES))
  T.eq(f.edge, 4)
  T.eq(f.reach_step, 60)
  T.eq(f.began_above, false)
  T.near(f.sharpened, 1 / eos(1), 1e-12)
  T.ok(f.sharpens, "(a)")
  T.eq(f.after, 14)
  T.eq(f.late, 7)
  T.eq(f.late_from, 140)
  T.ok(math.abs(f.late_median - 1) < 0.06, f.late_median)
  T.eq(f.fell_below, false)
  T.eq(f.hovers, true, "(b)")
  T.ok(f.rises_late >= 3, f.rises_late)
  T.eq(f.nonmonotone, true, "(c)")
  T.eq(f.eos, true)
  T.eq(f.regime, "edge of stability")
end)

T.test("E.read: a catapult, then the stable regime, does not count as hovering", function()
  -- (the old reading took the median from the crossing on, overshoot
  -- included, in a 20 % band: 0.84, "hovers", and counted the one burst of
  -- loss rises at the crossing as the edge's non-monotone fall)
  local ls, lam = series(catapult)
  local f = E.read(0.5, ls, lam, losses{26, 27, 28, 29, 30})
  T.eq(f.reach_step, 10)
  T.ok(f.sharpens, "it rose from 0.90 of 2/lr to it")
  T.eq(f.late_from, 120)
  T.near(f.late_median, 0.78, 1e-12)
  T.eq(f.late_falls, f.late - 1, "falling at every late measurement")
  T.eq(f.falling_from, 30)
  T.eq(f.below_from, 40)
  T.eq(f.fell_below, true, "0.76, 0.75, 0.74 at the end")
  T.eq(f.hovers, false)
  T.eq(f.rises_after, 5)
  T.eq(f.rises_late, 0)
  T.eq(f.nonmonotone, false)
  T.eq(f.eos, false)
  T.eq(f.regime, "catapult, then stable")
  T.eq(E.ranges(f.rise_steps), "26-30")
end)

T.test("E.read: a long spell above 2/lr before the fall is not read as a catapult",
  function()
  -- task 12's lr 0.5 record (tryH 2): above 2/lr from step 1 to 70, at
  -- 1.01-1.18x from step 20, the loss rising on steps 6-26, then below for
  -- good from step 80: read as "catapult, then stable" before
  local R = {1.50, 1.52, 1.17, 1.18, 1.06, 1.09, 1.06, 1.006, 0.97, 0.95, 0.93, 0.92, 0.91,
    0.90, 0.89, 0.88, 0.86, 0.85, 0.83, 0.82, 0.80}
  local ls, lam = series(function(s) return R[s == 1 and 1 or s // 10 + 1] end)
  local f = E.read(0.5, ls, lam, losses{6, 7, 12, 13, 14, 22, 24, 26})
  T.eq(f.reach_step, 1)
  T.eq(f.below_from, 80)
  T.eq(f.hovers, false)
  T.eq(f.rises_late, 0)
  T.eq(f.regime, "above 2/lr, then stable")
  T.eq(f.spell_to, 70)
  T.near(f.spell_lo, 1.006, 1e-12)
  T.near(f.spell_hi, 1.52, 1e-12)
  T.eq(E.ranges(f.spell_rises), "6-7, 12-14, 22, 24, 26")
  T.eq(f.eos, false)
  -- the same fall within CATAPULT steps of the crossing is a catapult
  local R2 = {1.50, 1.52, 1.17, 0.97}
  local ls2, lam2 = series(function(s) return R2[s == 1 and 1 or s // 10 + 1] or 0.8 end)
  local g = E.read(0.5, ls2, lam2, losses{6, 7})
  T.eq(g.below_from, 30)
  T.eq(g.regime, "catapult, then stable")
end)

T.test("E.read: a run that begins above 2/lr has no sharpening phase", function()
  -- at the edge from step 1 on, hovering and rising late: not Cohen et al.'s
  -- picture, which begins with the sharpening
  local ls, lam = series(function(s) return s == 1 and 1.5 or eos(100 + s) end)
  local f = E.read(0.5, ls, lam, losses(EOS_RISES))
  T.eq(f.reach_step, 1)
  T.eq(f.began_above, true)
  T.eq(f.sharpens, false)
  T.eq(f.hovers, true)
  T.eq(f.nonmonotone, true)
  T.eq(f.eos, false)
  T.eq(f.regime, "mixed")
end)

T.test("E.read: never reaching 2/lr, and too few measurements after it", function()
  local ls, lam = series(eos)
  local g = E.read(0.1, ls, lam, losses{})
  T.eq(g.reach_step, nil)
  T.eq(g.hovers, nil)
  T.eq(g.eos, false)
  T.eq(g.regime, "stable")
  T.near(g.sharpened, g.peak / lam[1], 1e-12, "growth to the peak")
  -- crossing at step 170: three measurements after it, one in their last half
  local h = E.read(0.5, ls, (function()
    local t = {}
    for i, v in ipairs(lam) do t[i] = ls[i] < 170 and 0.5 or v end
    return t
  end)(), losses(EOS_RISES))
  T.eq(h.reach_step, 170)
  T.eq(h.after, 3)
  T.eq(h.late, 1)
  T.eq(h.hovers, nil)
  T.eq(h.eos, false)
  T.eq(h.regime, "undecided")
end)

T.test("E.ranges: sorted steps as runs", function()
  T.eq(E.ranges{6, 7, 12, 13, 14, 22, 24, 26}, "6-7, 12-14, 22, 24, 26")
  T.eq(E.ranges{}, "none")
  T.eq(E.ranges{5}, "5")
end)

-- A task 12 record at lr from ratios of 2/lr and the steps its loss rises on.
local function record(lr, ratio, rises)
  local ls, lam = series(ratio)
  for i = 1, #lam do lam[i] = lam[i] / 4 * 2 / lr end
  local steps = {step = {}, lambda_max = {}, lambda_hvps = {}}
  for i = 2, #ls do
    steps.step[i - 1], steps.lambda_max[i - 1], steps.lambda_hvps[i - 1] = ls[i], lam[i], 5
  end
  return {config = {lr = lr}, seed = 1, measures = {lambda_initial = lam[1],
    lambda_initial_hvps = 5}, history = {loss = losses(rises), steps = steps}}
end

-- Task 12's report on records, into a stand-in task: its text and beyond.json.
local function task12_report(recs)
  local dir = T.tmpdir()
  local task = dofile("scripts/task12_edge_of_stability.lua")
  local out, fake = {}, {name = "task12_edge_of_stability"}
  function fake.section(_, t) out[#out + 1] = t end
  function fake.text(_, t) out[#out + 1] = t end
  function fake.figure() end
  function fake.path(_, p) return dir .. "/" .. p end
  task.report(fake, {records = recs})
  return table.concat(out, "\n"), T.ok(require("study.beyond").read(dir .. "/beyond.json"))
end

T.test("task 12: catapults into the stable regime are not the edge of stability", function()
  -- task 12's records' shapes: lr 0.1 never reaches 2/lr, lr 0.3 overshoots
  -- and falls, lr 0.5 begins above 2/lr and falls (the old reading: "hovers
  -- at 2/lr, as Cohen et al. report" for both, verdict partly)
  local text, row = task12_report{record(0.1, function() return 0.35 end, {}),
    record(0.3, catapult, {26, 27, 28, 29, 30}),
    record(0.5, function(s) return catapult(s + 30) or 0.74 end, {6, 7, 12, 22, 26})}
  T.eq(row.verdict, "differ", row.ours)
  T.ok(row.ours:find("none of the 3 learning rates shows the edge of stability", 1, true),
    row.ours)
  T.ok(row.ours:find("lr 0.3: catapult, then stable (reached 2/lr", 1, true), row.ours)
  T.ok(row.ours:find("lr 0.5: catapult, then stable (began above 2/lr", 1, true), row.ours)
  T.ok(text:find("None of the 3 learning rates shows the edge of stability", 1, true), text)
  T.ok(not text:find("as Cohen et al. report", 1, true), text)
  T.ok(text:find("within 10 % of 1", 1, true), "the rule is stated")
  T.ok(text:find("below 2/lr for good within 30 steps of the crossing", 1, true),
    "the catapult's rule is stated")
  -- the same report on Cohen et al.'s picture at every rate agrees
  local text2, row2 = task12_report{record(0.1, eos, EOS_RISES),
    record(0.3, eos, EOS_RISES), record(0.5, eos, EOS_RISES)}
  T.eq(row2.verdict, "agree", row2.ours)
  T.ok(text2:find("3 of the 3 learning rates show the edge of stability", 1, true), text2)
end)

-- }====================

T.done()
