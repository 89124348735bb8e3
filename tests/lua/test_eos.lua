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
end)

T.test("E.read: sharpening, reaching 2/lr, hovering, loss rises", function()
  -- lr = 0.5: 2/lr = 4. lambda: 1, 2, 3, 3.8 (reached: >= 3.6), 4.2, 3.9, 4.1
  local steps = {1, 2, 3, 4, 5, 6, 7}
  local lam = {1, 2, 3, 3.8, 4.2, 3.9, 4.1}
  local loss = {5, 4, 3, 2.5, 2.6, 2.2, 2.3, 1.9}
  local f = E.read(0.5, steps, lam, loss)
  T.eq(f.edge, 4)
  T.eq(f.lam0, 1)
  T.eq(f.peak, 4.2)
  T.eq(f.reach_step, 4)
  T.near(f.sharpened, 3.8, 1e-12)
  T.eq(f.after, 4)
  T.near(f.ratio_median, 1, 1e-12) -- of 0.95, 1.05, 0.975, 1.025
  T.ok(f.hovers)
  T.eq(f.rises_before, 0)
  T.eq(f.rises_after, 2)
  T.eq(f.loss_at_reach, 2.5)
  T.eq(f.loss_final, 1.9)
  -- never reaching 2/lr at lr = 0.1 (2/lr = 20)
  local g = E.read(0.1, steps, lam, loss)
  T.eq(g.reach_step, nil)
  T.eq(g.hovers, false)
  T.near(g.sharpened, 4.2, 1e-12)
  T.eq(g.rises_before, 2)
end)

-- }====================

T.done()
