-- test_noise_scale.lua: wb.noise_scale against known answers. A linear-
-- Gaussian model (per-example loss 1/2 (w - x)^T A (w - x), x ~ N(mu, C):
-- g_i = A (w - x_i), so G = A (w - mu), Sigma = A C A, H = A in closed
-- form): every estimator's mean over 1,000 draws lies within 2 standard
-- errors of the truth, and the naive |mean g|^2 is caught as biased (the
-- check has power). On a small MLP: the per-sample and two-batch B_simple
-- agree, and B_noise matches a brute force with the full Hessian. The
-- generator is a fixed LCG: the test is deterministic.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local N = wb.noise_scale

local function lcg(seed)
  local s = seed
  return function()
    s = (s * 1103515245 + 12345) % 2147483648
    return (s + 0.5) / 2147483648
  end
end

-- standard normals by Box-Muller
local function normals(rnd)
  return function()
    return math.sqrt(-2 * math.log(rnd())) * math.cos(2 * math.pi * rnd())
  end
end

-- {==================== small dense linear algebra ====================
local function matvec(A, v)
  local out = {}
  for i = 1, #A do
    local s = 0
    for j = 1, #v do s = s + A[i][j] * v[j] end
    out[i] = s
  end
  return out
end
local function matmul(A, B)
  local out = {}
  for i = 1, #A do
    out[i] = {}
    for j = 1, #B[1] do
      local s = 0
      for k = 1, #B do s = s + A[i][k] * B[k][j] end
      out[i][j] = s
    end
  end
  return out
end
local function vdot(a, b)
  local s = 0
  for i = 1, #a do s = s + a[i] * b[i] end
  return s
end
local function trace(A)
  local s = 0
  for i = 1, #A do s = s + A[i][i] end
  return s
end
-- }====================

-- The model: d = 3, A symmetric positive definite, C = L L^T.
local A = {{2, 0.5, 0}, {0.5, 1, 0.3}, {0, 0.3, 0.5}}
local L = {{1, 0, 0}, {0.4, 0.8, 0}, {-0.3, 0.2, 0.6}}
local C = matmul(L, {{1, 0.4, -0.3}, {0, 0.8, 0.2}, {0, 0, 0.6}})
local w, mu = {0.6, -0.2, 0.4}, {0, 0, 0}
local truth = {}
do
  local G = matvec(A, {w[1] - mu[1], w[2] - mu[2], w[3] - mu[3]})
  local Sigma = matmul(matmul(A, C), A)
  truth.g2, truth.trace = vdot(G, G), trace(Sigma)
  truth.ghg, truth.trace_h = vdot(G, matvec(A, G)), trace(matmul(A, Sigma))
end

-- one example's gradient g = A (w - x), x = mu + L z
local function example(z)
  local x = matvec(L, {z(), z(), z()})
  return matvec(A, {w[1] - mu[1] - x[1], w[2] - mu[2] - x[2], w[3] - mu[3] - x[3]})
end

local function mean_se(list)
  local m = 0
  for _, v in ipairs(list) do m = m + v / #list end
  local var = 0
  for _, v in ipairs(list) do var = var + (v - m) ^ 2 / (#list - 1) end
  return m, math.sqrt(var / #list)
end

local function within(list, want, what)
  local m, se = mean_se(list)
  T.ok(math.abs(m - want) <= 2 * se, string.format("%s: mean %.5g over %d draws, truth "
    .. "%.5g, 2 standard errors %.3g", what, m, #list, want, 2 * se))
end

T.test("linear-Gaussian: per-sample, two-batch and B_noise parts unbiased (1,000 draws)",
  function()
  local z = normals(lcg(7))
  local n, small, big = 8, 2, 16
  local est = {ps_g2 = {}, ps_tr = {}, tb_g2 = {}, tb_tr = {}, th = {}, ghg = {},
    ghg_self = {}, naive = {}}
  for draw = 1, 1000 do
    local g, mean, sum_sq = {}, {0, 0, 0}, 0
    for i = 1, n do
      g[i] = example(z)
      sum_sq = sum_sq + vdot(g[i], g[i])
      for k = 1, 3 do mean[k] = mean[k] + g[i][k] / n end
    end
    local ps = N.per_sample(n, sum_sq, vdot(mean, mean))
    est.ps_g2[draw], est.ps_tr[draw] = ps.g2, ps.trace
    est.naive[draw] = vdot(mean, mean)
    -- two batch sizes: the n examples as n / small small batches, and whole
    local g2_small = 0
    for b = 1, n // small do
      local s = {0, 0, 0}
      for i = (b - 1) * small + 1, b * small do
        for k = 1, 3 do s[k] = s[k] + g[i][k] / small end
      end
      g2_small = g2_small + vdot(s, s) / (n // small)
    end
    local tb = N.two_batch(small, g2_small, n, vdot(mean, mean))
    est.tb_g2[draw], est.tb_tr[draw] = tb.g2, tb.trace
    -- B_noise: H = A exactly; G from a separate batch of `big` examples
    local sum_q = 0
    for i = 1, n do sum_q = sum_q + vdot(g[i], matvec(A, g[i])) end
    local gb = {0, 0, 0}
    for _ = 1, big do
      local e = example(z)
      for k = 1, 3 do gb[k] = gb[k] + e[k] / big end
    end
    local mean_q = vdot(mean, matvec(A, mean))
    local bn = N.b_noise(n, sum_q, mean_q, big, vdot(gb, matvec(A, gb)))
    est.th[draw], est.ghg[draw] = bn.trace_h, bn.ghg
    est.ghg_self[draw] = N.b_noise(n, sum_q, mean_q).ghg
  end
  within(est.ps_g2, truth.g2, "per-sample |G|^2")
  within(est.ps_tr, truth.trace, "per-sample tr(Sigma)")
  within(est.tb_g2, truth.g2, "two-batch |G|^2")
  within(est.tb_tr, truth.trace, "two-batch tr(Sigma)")
  within(est.th, truth.trace_h, "tr(H Sigma)")
  within(est.ghg, truth.ghg, "G^T H G (separate batch)")
  within(est.ghg_self, truth.ghg, "G^T H G (same samples)")
  -- the naive |gbar|^2 is biased by tr(Sigma)/n: the check catches it
  local m, se = mean_se(est.naive)
  T.ok(math.abs(m - truth.g2) > 2 * se, string.format("naive |gbar|^2 mean %.4g vs %.4g "
    .. "(2 se %.3g) should be caught as biased", m, truth.g2, 2 * se))
  T.near(m - truth.g2, truth.trace / n, 6 * se, "the naive bias is tr(Sigma)/n")
end)

T.test("estimators on numbers: exact values and the identity two_batch(1, n) = per_sample",
  function()
  local tb = N.two_batch(1, 11, 10, 2)
  T.near(tb.g2, 1, 1e-12); T.near(tb.trace, 10, 1e-12); T.near(tb.b_simple, 10, 1e-12)
  local ps = N.per_sample(10, 110, 2) -- mean over 10 single examples of |g_i|^2 is 11
  T.near(ps.g2, tb.g2, 1e-12); T.near(ps.trace, tb.trace, 1e-12)
  T.eq(N.per_sample(2, 4, 0).b_simple, math.huge, "g2 <= 0 gives math.huge")
  local f = N.fit_tradeoff({110, 20, 11}, {110, 200, 1100})
  T.near(f.b_crit, 10, 1e-4); T.near(f.s_min, 10, 1e-4); T.near(f.e_min, 100, 1e-3)
  T.ok(f.rmse < 1e-6 and not f.at_edge)
  T.near(f.steps(10), 20, 1e-3); T.near(f.examples(10), 200, 1e-2)
end)

T.test("errors name the argument and what was expected", function()
  T.check_error("expected b_small < b_big", N.two_batch, 8, 1, 8, 1)
  T.check_error("bad argument #2 to 'two_batch' (number expected, got nil)", N.two_batch, 1)
  T.check_error("per_sample: argument #1: expected a whole number >= 2, got 1",
    N.per_sample, 1, 1, 1)
  T.check_error("b_big and q_big go together", N.b_noise, 4, 1, 1, 8)
  T.check_error("expected as many E as S", N.fit_tradeoff, {1, 2}, {1})
  T.check_error("run 2: expected S > 0 and E > 0", N.fit_tradeoff, {1, -2}, {1, 2})
  T.check_error("at >= 2 distinct batch sizes", N.fit_tradeoff, {1, 2}, {8, 16})
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
  local x, y = wb.zeros(8, 4), wb.zeros(8)
  T.check_error("x has 8 rows, expected at least 2 x small = 64", N.simple, m, x, y)
  T.check_error("unknown option 'smal' (valid: small)", N.simple, m, x, y, {smal = 2})
  T.check_error("expected {x = tensor, y = labels}", N.noise, m, {x = x}, {x = x, y = y},
    {x = x, y = y})
end)

-- a small softmax MLP on random data: 6 inputs, 5 relu units, 4 classes
local function small_case(seed, rows)
  wb.seed(seed)
  local m = wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = "relu"}),
    wb.nn.Dense(5, 4, {activation = "softmax"})}
  local rnd = lcg(seed)
  local x, y = wb.zeros(rows, 6), wb.zeros(rows)
  for i = 1, rows do
    for j = 1, 6 do x:set(i, j, 2 * rnd() - 1) end
    y:set(i, math.floor(4 * rnd()))
  end
  return m, x, y
end

-- per-example gradients as flat Lua lists, by 1-row backward passes
local function flat_grads(m, x, y)
  local out = {}
  for i = 1, x:size(1) do
    wb.measures.loss_and_grads(m, x:rows(i, i), y:rows(i, i), true)
    local _, gs = m:parameters()
    local f = {}
    for _, g in ipairs(gs) do
      for _, v in ipairs(g:reshape(g:numel()):totable()) do f[#f + 1] = v end
    end
    out[i] = f
  end
  return out
end

T.test("a small MLP: per-sample and two-batch B_simple agree, and match brute force",
  function()
  local m, x, y = small_case(3, 32)
  local before = m:get_weights()
  local s1 = N.simple(m, x, y, {small = 1})
  T.near(s1.two_batch.trace / s1.per_sample.trace, 1, 1e-4, "small = 1: the same estimator")
  T.near(s1.two_batch.g2 / s1.per_sample.g2, 1, 1e-3)
  local g = flat_grads(m, x, y)
  local n, sum_sq, mean = #g, 0, {}
  for k = 1, #g[1] do mean[k] = 0 end
  for i = 1, n do
    sum_sq = sum_sq + vdot(g[i], g[i])
    for k = 1, #g[i] do mean[k] = mean[k] + g[i][k] / n end
  end
  local bf = N.per_sample(n, sum_sq, vdot(mean, mean))
  T.near(s1.per_sample.trace / bf.trace, 1, 1e-4, "per-sample trace vs brute force")
  T.near(s1.per_sample.g2 / bf.g2, 1, 1e-3, "per-sample |G|^2 vs brute force")
  -- small batches of 4: a different (noisier) estimate of the same quantities
  local s4 = N.simple(m, x, y, {small = 4})
  T.ok(math.abs(s4.two_batch.trace / bf.trace - 1) < 0.5, "small = 4 trace near: "
    .. s4.two_batch.trace .. " vs " .. bf.trace)
  for k, t in ipairs(m:get_weights()) do T.eq((t - before[k]):abs():max(), 0) end
end)

T.test("a small MLP: B_noise equals the brute force with the full Hessian (n + 1 HVPs)",
  function()
  local m, x, y = small_case(5, 40)
  local samples = {x = x:rows(1, 8), y = y:rows(1, 8)}
  local hdata = {x = x:rows(9, 24), y = y:rows(9, 24)}
  local big = {x = x:rows(25, 40), y = y:rows(25, 40)}
  local r = N.noise(m, samples, hdata, big)
  T.eq(r.hvps, 9)
  local H = wb.hessian.full(m, hdata):totable()
  local g = flat_grads(m, samples.x, samples.y)
  local gb = flat_grads(m, big.x, big.y)
  local G = {}
  for k = 1, #gb[1] do
    G[k] = 0
    for i = 1, #gb do G[k] = G[k] + gb[i][k] / #gb end
  end
  local mean, sum_q = {}, 0
  for k = 1, #g[1] do mean[k] = 0 end
  for i = 1, #g do
    sum_q = sum_q + vdot(g[i], matvec(H, g[i]))
    for k = 1, #g[i] do mean[k] = mean[k] + g[i][k] / #g end
  end
  local bf = N.b_noise(#g, sum_q, vdot(mean, matvec(H, mean)), #gb, vdot(G, matvec(H, G)))
  T.near(r.trace_h / bf.trace_h, 1, 1e-3, "tr(H Sigma)")
  T.near(r.ghg / bf.ghg, 1, 1e-2, "G^T H G")
  T.ok(r.stderr > 0 and r.stderr < math.abs(r.trace_h) * 5, "stderr " .. r.stderr)
end)

T.test("B_noise of a model with L2: H of the data loss, as its gradients (L2 left out)",
  function()
  -- before: the g_i were the data loss's but H (wb.hessian) had L2's
  -- 2 l2 I in it, so q_i grew by 2 l2 |g_i|^2 and B_noise moved with l2
  local m0, x, y = small_case(5, 40) -- G^T H G > 0: a finite B_noise
  wb.seed(1)
  local m2 = wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = "relu", l2 = 0.05}),
    wb.nn.Dense(5, 4, {activation = "softmax", l2 = 0.02})}
  m2:set_weights(m0:get_weights())
  local samples = {x = x:rows(1, 8), y = y:rows(1, 8)}
  local hdata = {x = x:rows(9, 24), y = y:rows(9, 24)}
  local big = {x = x:rows(25, 40), y = y:rows(25, 40)}
  local r0, r2 = N.noise(m0, samples, hdata, big), N.noise(m2, samples, hdata, big)
  -- the same up to the float rounding of the gradients (the data loss's
  -- is the Dense backward's less 2 l2 W: wb.measures.loss_and_grads)
  for _, k in ipairs{"trace_h", "ghg", "b_noise", "stderr"} do
    T.near(r2[k] / r0[k], 1, 1e-6, k .. ": the same as without L2")
  end
  -- the brute force with the float64 Hessian of the l2 = 0 model
  local H = wb.hessian.full(m0, hdata, {precision = "float64"}):totable()
  local g, sum_q, mean = flat_grads(m2, samples.x, samples.y), 0, {}
  for k = 1, #g[1] do mean[k] = 0 end
  for i = 1, #g do
    sum_q = sum_q + vdot(g[i], matvec(H, g[i]))
    for k = 1, #g[i] do mean[k] = mean[k] + g[i][k] / #g end
  end
  local bf = N.b_noise(#g, sum_q, vdot(mean, matvec(H, mean)))
  T.near(r2.trace_h / bf.trace_h, 1, 1e-3, "tr(H Sigma) of the data loss")
end)

T.done()
