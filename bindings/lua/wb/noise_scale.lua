-- wb/noise_scale.lua: the gradient noise scale of McCandlish, Kaplan and
-- Amodei, "An Empirical Model of Large-Batch Training" (2018), and the
-- steps / examples tradeoff it predicts.
--
--   wb.noise_scale.two_batch(b_small, g2_small, b_big, g2_big)  their Appendix A
--   wb.noise_scale.per_sample(n, sum_sq, mean_sq)               exact, from g_i
--   wb.noise_scale.b_noise(n, sum_q, mean_q, b_big, q_big)      tr(H S) / G^T H G
--   wb.noise_scale.simple(model, x, y, opts)     B_simple of a model, both ways
--   wb.noise_scale.noise(model, samples, hdata, big)  B_noise of a model (HVPs)
--   wb.noise_scale.fit_tradeoff(S, E)            (S/S_min - 1)(E/E_min - 1) = 1
--
-- Notation: g_i is the gradient of example i's loss, G = E[g_i] the true
-- gradient, Sigma = Cov[g_i] the per-example covariance, H the Hessian;
-- a batch of B examples has gradient G_B with E|G_B|^2 = |G|^2 + tr(Sigma)/B.
-- The estimators of |G|^2, tr(Sigma), G^T H G and tr(H Sigma) are unbiased;
-- their ratios (the noise scales) are not, as in the paper, which averages
-- numerator and denominator separately before dividing. This module knows
-- models only through the public wb API (wb.instruments.per_sample,
-- wb.measures.loss_and_grads, wb.hessian.hvps); nothing in it is specific to
-- a data set.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"

---wb.noise_scale
---The gradient noise scale (McCandlish et al. 2018): B_simple =
---tr(Sigma)/|G|^2 by the paper's two-batch-size estimator and exactly from
---per-example gradients, B_noise = tr(H Sigma)/(G^T H G) from
---per-example gradients and Hessian-vector products, and the fit of the
---steps / examples tradeoff (S/S_min - 1)(E/E_min - 1) = 1 that gives the
---critical batch size B_crit = E_min / S_min. Estimators of the parts are
---unbiased; a ratio is a ratio of unbiased parts (NaN when a part is NaN,
---math.huge when the signal part is <= 0).
---Example: print(wb.noise_scale.per_sample(4, 10, 1).b_simple)
local M = {}
wb.noise_scale = M

-- trace / g2, or math.huge when the signal estimate is not positive (a
-- noise-dominated batch: the unbiased |G|^2 can come out <= 0)
local function ratio(trace, g2)
  -- NaN parts (NaN or infinite inputs) are not a noise-dominated batch
  if trace ~= trace or g2 ~= g2 then return 0 / 0 end
  if g2 > 0 then return trace / g2 end
  return math.huge
end

local function check_count(fname, pos, n, min)
  args.check(fname, pos, n, "number", 4)
  if not (n >= min and n == math.floor(n)) then
    args.input_fail(string.format("%s: argument #%d: expected a whole number >= %d, got %s", fname,
      pos, min, tostring(n)), 3)
  end
end

-- A squared norm: a number >= 0, else "fname: name (argument #pos):
-- expected a finite number >= 0, got v" (a negative or infinite sum of
-- squares gave a negative or infinite b_simple without a word). NaN passes:
-- a diverged run's NaN norm gives a NaN estimate (test_audit_curv.lua), not
-- a plausible one.
local function check_sq(fname, pos, v, name)
  args.check(fname, pos, v, "number", 4)
  if v < 0 or v == math.huge then
    args.input_fail(string.format("%s: %s (argument #%d): expected a finite number >= 0 (a squared "
      .. "norm), got %s", fname, name, pos, tostring(v)), 3)
  end
end

-- {==================== estimators on numbers ====================

---wb.noise_scale.two_batch(b_small, g2_small, b_big, g2_big) -> table
---McCandlish et al.'s Appendix A estimator from squared norms of batch
---gradients at two batch sizes (g2_small may be the mean over several
---small batches, which lowers its variance and keeps it unbiased):
---g2 = (b_big g2_big - b_small g2_small) / (b_big - b_small), an unbiased
---|G|^2; trace = (g2_small - g2_big) / (1/b_small - 1/b_big), an unbiased
---tr(Sigma); b_simple = trace / g2 (math.huge when g2 <= 0). Raises unless
---1 <= b_small < b_big.
---@param b_small number
---@param g2_small number
---@param b_big number
---@param g2_big number
---@return table
---Example: print(wb.noise_scale.two_batch(1, 11, 10, 2).b_simple) --> 10
function M.two_batch(b_small, g2_small, b_big, g2_big)
  check_count("two_batch", 1, b_small, 1)
  check_sq("two_batch", 2, g2_small, "g2_small")
  check_count("two_batch", 3, b_big, 2)
  check_sq("two_batch", 4, g2_big, "g2_big")
  if b_big <= b_small then
    args.input_fail(string.format("two_batch: expected b_small < b_big, got %d and %d", b_small,
      b_big), 2)
  end
  local g2 = (b_big * g2_big - b_small * g2_small) / (b_big - b_small)
  local trace = (g2_small - g2_big) / (1 / b_small - 1 / b_big)
  return {g2 = g2, trace = trace, b_simple = ratio(trace, g2)}
end

---wb.noise_scale.per_sample(n, sum_sq, mean_sq) -> table
---The exact estimator from n >= 2 per-example gradients g_i: sum_sq =
---sum_i |g_i|^2, mean_sq = |mean_i g_i|^2. trace = (sum_sq - n mean_sq) /
---(n - 1), the unbiased sample estimate of tr(Sigma); g2 = mean_sq -
---trace / n, an unbiased |G|^2; b_simple = trace / g2 (math.huge when
---g2 <= 0). It equals two_batch with b_small = 1, b_big = n.
---@param n integer
---@param sum_sq number
---@param mean_sq number
---@return table
---Example: print(wb.noise_scale.per_sample(2, 2, 0).trace) --> 2
function M.per_sample(n, sum_sq, mean_sq)
  check_count("per_sample", 1, n, 2)
  check_sq("per_sample", 2, sum_sq, "sum_sq")
  check_sq("per_sample", 3, mean_sq, "mean_sq")
  local trace = (sum_sq - n * mean_sq) / (n - 1)
  local g2 = mean_sq - trace / n
  return {g2 = g2, trace = trace, b_simple = ratio(trace, g2)}
end

---wb.noise_scale.b_noise(n, sum_q, mean_q, b_big, q_big) -> table
---B_noise = tr(H Sigma) / (G^T H G) from n >= 2 per-example gradients g_i
---and an H independent of them: sum_q = sum_i g_i^T H g_i, mean_q =
---gbar^T H gbar (gbar = their mean). trace_h = (sum_q - n mean_q) / (n - 1)
---is unbiased for tr(H Sigma). G^T H G is debiased as ghg = mean_q -
---trace_h / n, or, given a separate batch of b_big examples whose gradient
---G_big has q_big = G_big^T H G_big, as q_big - trace_h / b_big (lower
---variance for a large batch). b_noise = trace_h / ghg (math.huge when
---ghg <= 0).
---@param n integer
---@param sum_q number
---@param mean_q number
---@param b_big? integer
---@param q_big? number
---@return table
---Example: print(wb.noise_scale.b_noise(2, 4, 1).trace_h) --> 2
function M.b_noise(n, sum_q, mean_q, b_big, q_big)
  check_count("b_noise", 1, n, 2)
  args.check("b_noise", 2, sum_q, "number")
  args.check("b_noise", 3, mean_q, "number")
  if (b_big == nil) ~= (q_big == nil) then
    args.input_fail("b_noise: b_big and q_big go together (give both or neither)", 2)
  end
  local trace_h = (sum_q - n * mean_q) / (n - 1)
  local ghg = mean_q - trace_h / n
  if b_big then
    check_count("b_noise", 4, b_big, 1)
    args.check("b_noise", 5, q_big, "number")
    ghg = q_big - trace_h / b_big
  end
  return {trace_h = trace_h, ghg = ghg, b_noise = ratio(trace_h, ghg)}
end

-- }====================
-- {==================== on a model ====================

-- sum_k <a_k, b_k> over two lists of tensors of equal shapes
local function dot(a, b)
  local s = 0
  for k = 1, #a do s = s + (a[k] * b[k]):sum() end
  return s
end

-- x [B, ...] and y [B] (argument #pos of fname) have one label per row of
-- x, else an error at fname's caller (a row index past y otherwise fails in
-- here, "rows 4..4 out of range 1..3", naming this file)
local function check_rows(fname, pos, x, y)
  local nx, ny = x:dim() >= 1 and x:size(1) or 0, y:dim() >= 1 and y:size(1) or 0
  if nx ~= ny then
    args.input_fail(string.format("%s: argument #%d: expected one label per row of x (%d), got %d",
      fname, pos, nx, ny), 4)
  end
end

local function check_xy(fname, pos, t)
  args.check(fname, pos, t, "table", 4)
  if args.typename(t.x) ~= "wb.Tensor" or args.typename(t.y) ~= "wb.Tensor" then
    args.input_fail(string.format("%s: argument #%d: expected {x = tensor, y = labels}, got x = "
      .. "%s, y = %s", fname, pos, args.typename(t.x), args.typename(t.y)), 3)
  end
  check_rows(fname, pos, t.x, t.y)
end

-- The data-loss gradient of rows i..j of x, y (copies), with the model's
-- gradient tensors overwritten.
local function batch_grad(model, x, y, i, j)
  wb.measures.loss_and_grads(model, x:rows(i, j), y:rows(i, j), true)
  local _, gs = model:parameters()
  local out = {}
  for k, g in ipairs(gs) do out[k] = g:clone() end
  return out
end

-- f() with the model's gradient tensors restored afterwards, also on error
local function keeping_grads(model, f)
  local _, gs = model:parameters()
  local saved = {}
  for k, g in ipairs(gs) do saved[k] = g:clone() end
  local res = table.pack(pcall(f))
  for k, g in ipairs(gs) do g:copy(saved[k]) end
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

---wb.noise_scale.simple(model, x, y, opts) -> table
---B_simple of a model's mean data loss (softmax cross-entropy, L2 and
---Dropout left out) on the B rows x [B, features] (uint8 pixels are divided
---by 255, as evaluate does), y [B], both ways:
---per_sample (exact: wb.instruments.per_sample's norms and Gram matrix,
---then wb.noise_scale.per_sample) and two_batch (the paper's estimator
---with b_small = opts.small rows (32), g2_small the mean over the B /
---small disjoint small batches, b_big = B: batch gradients only). Returns
---{per_sample = {g2, trace, b_simple}, two_batch = {...}, loss (the mean
---loss on the rows), rows = B}. The model's weights and gradients are
---left as they were. Raises unless small >= 1 and B >= 2 small.
---@param model wb.Sequential
---@param x wb.Tensor
---@param y wb.Tensor
---@param opts? table
---@return table
---Example: local s = wb.noise_scale.simple(m, x, y, {small = 16}); print(s.per_sample.b_simple)
function M.simple(model, x, y, opts)
  args.check("simple", 1, model, "wb.Sequential")
  args.check("simple", 2, x, "wb.Tensor")
  args.check("simple", 3, y, "wb.Tensor")
  opts = args.options("simple", 4, opts, {"small"})
  check_rows("simple", 3, x, y)
  wb.instruments._dense_positions(model, "simple") -- per_sample's model, refused here
  x = wb.measures._rows(x) -- uint8 pixels divided by 255, as in training
  local small, B = opts.small or 32, x:size(1)
  check_count("simple", 4, small, 1)
  if B < 2 * small then
    args.input_fail(string.format("simple: x has %d rows, expected at least 2 x small = %d", B,
      2 * small), 2)
  end
  return keeping_grads(model, function()
    local ps = wb.instruments.per_sample(model, x, y)
    local sum_sq = (ps.norms * ps.norms):sum()
    local mean_sq = ps.gram:sum() / (B * B)
    local loss = wb.measures.loss_and_grads(model, x, y, true)
    local _, gs = model:parameters()
    local g2_big = dot(gs, gs)
    local nb, g2_small = B // small, 0
    for b = 1, nb do
      local g = batch_grad(model, x, y, (b - 1) * small + 1, b * small)
      g2_small = g2_small + dot(g, g) / nb
    end
    return {per_sample = M.per_sample(B, sum_sq, mean_sq),
      two_batch = M.two_batch(small, g2_small, B, g2_big), loss = loss, rows = B}
  end)
end

---wb.noise_scale.noise(model, samples, hdata, big) -> table
---B_noise of a model's mean data loss, exactly up to sampling: the
---per-example gradients g_i of the n rows of samples = {x, y} (one
---backward pass each), H = the Hessian of the mean data loss over hdata (a
---dataset or {x, y}: wb.hessian with l2 = false, L2 left out as it is from
---the gradients, so a model with L2 gives what the same weights without it
---give; keep hdata's rows apart from
---the samples' so that H is independent of them), and G from the batch big
---= {x, y} (rows apart from both). Uses n + 1 Hessian-vector products
---(H g_i, H G_big): {trace_h, ghg, b_noise} of wb.noise_scale.b_noise
---plus stderr (of trace_h, from the variance of the per-example terms),
---hvps = n + 1, n, b_big. The model's weights and gradients are left as
---they were.
---@param model wb.Sequential
---@param samples table
---@param hdata wb.Dataset|table
---@param big table
---@return table
---Example: local r = wb.noise_scale.noise(m, {x = xs, y = ys}, {x = xh, y = yh}, {x = xb, y = yb})
function M.noise(model, samples, hdata, big)
  args.check("noise", 1, model, "wb.Sequential")
  check_xy("noise", 2, samples)
  args.check("noise", 3, hdata, "wb.Dataset|table")
  check_xy("noise", 4, big)
  -- uint8 pixels divided by 255, as in training
  samples, big = {x = wb.measures._rows(samples.x), y = samples.y},
    {x = wb.measures._rows(big.x), y = big.y}
  if args.typename(hdata) ~= "wb.Dataset" and args.typename(hdata.x) == "wb.Tensor" then
    if args.typename(hdata.y) == "wb.Tensor" then check_rows("noise", 3, hdata.x, hdata.y) end
    hdata = {x = wb.measures._rows(hdata.x), y = hdata.y}
  end
  local n, nb = samples.x:size(1), big.x:size(1)
  if n < 2 then args.input_fail("noise: samples: expected at least 2 rows, got " .. n, 2) end
  return keeping_grads(model, function()
    local g, mean = {}, nil
    for i = 1, n do
      g[i] = batch_grad(model, samples.x, samples.y, i, i)
      if not mean then
        mean = {}
        for k, t in ipairs(g[i]) do mean[k] = t * (1 / n) end
      else
        for k, t in ipairs(g[i]) do mean[k] = mean[k] + t * (1 / n) end
      end
    end
    -- all n + 1 products through one operator (one forward pass over hdata)
    local gbig = batch_grad(model, big.x, big.y, 1, nb)
    g[n + 1] = gbig
    -- H of the data loss, as the g_i are (L2's 2 l2 W is not in them, so
    -- its 2 l2 I must not be in H: it added 2 l2 |g_i|^2 to each q_i); cross-entropy's,
    -- as the g_i are (not the model's training loss, wb.hessian's default)
    local hg = wb.hessian.hvps(model, hdata, g, {l2 = false, loss = "cross_entropy"})
    g[n + 1] = nil
    -- q_i = g_i^T H g_i; r_i = gbar^T H g_i, so gbar^T H gbar = mean of r_i
    local q, r, sum_q, mean_q = {}, {}, 0, 0
    for i = 1, n do
      q[i], r[i] = dot(g[i], hg[i]), dot(mean, hg[i])
      sum_q, mean_q = sum_q + q[i], mean_q + r[i] / n
    end
    local q_big = dot(gbig, hg[n + 1])
    local res = M.b_noise(n, sum_q, mean_q, nb, q_big)
    -- (g_i - gbar)^T H (g_i - gbar) = q_i - 2 r_i + mean_q: the terms whose
    -- sum / (n - 1) is trace_h; its standard error from their spread
    local u, um = {}, 0
    for i = 1, n do u[i] = (q[i] - 2 * r[i] + mean_q) * n / (n - 1); um = um + u[i] / n end
    local var = 0
    for i = 1, n do var = var + (u[i] - um) ^ 2 / (n - 1) end
    res.stderr, res.hvps, res.n, res.b_big = math.sqrt(var / n), n + 1, n, nb
    return res
  end)
end

-- }====================
-- {==================== the steps / examples tradeoff ====================

---wb.noise_scale.fit_tradeoff(S, E) -> table
---Fits McCandlish et al.'s (S/S_min - 1)(E/E_min - 1) = 1 to runs that
---reached one target: S[i] steps, E[i] examples (batch
---B_i = E[i]/S[i]). On the curve S = S_min (1 + B_crit/B) and E = E_min
---(1 + B/B_crit), B_crit = E_min/S_min; the fit minimises the squared
---error of log S (equal to that of log E at given B) over B_crit (a
---search on a log grid from min B / 100 to max B x 100, then refined),
---S_min in closed form for each. Returns {s_min, e_min, b_crit, rmse (of
---log S), n, at_edge (B_crit at the search's end: not identified by the
---runs), steps(B), examples(B) (the fitted curve)}. Needs >= 2 runs with
---distinct batch sizes.
---@param S number[]
---@param E number[]
---@return table
---Example: local f = wb.noise_scale.fit_tradeoff({110, 20, 11}, {110, 200, 1100}); print(f.b_crit)
function M.fit_tradeoff(S, E)
  args.check("fit_tradeoff", 1, S, "table")
  args.check("fit_tradeoff", 2, E, "table")
  if #S ~= #E then
    args.input_fail(string.format("fit_tradeoff: expected as many E as S, got %d and %d", #E,
      #S), 2)
  end
  local lb, ls, distinct = {}, {}, {}
  for i = 1, #S do
    if not (type(S[i]) == "number" and S[i] > 0 and type(E[i]) == "number" and E[i] > 0
        and args.finite(S[i]) and args.finite(E[i])) then -- inf: a NaN fit, silently
      args.input_fail(string.format("fit_tradeoff: run %d: expected S > 0 and E > 0 (finite), got "
        .. "%s and %s", i,
        tostring(S[i]), tostring(E[i])), 2)
    end
    lb[i], ls[i] = math.log(E[i] / S[i]), math.log(S[i])
    distinct[string.format("%.6g", E[i] / S[i])] = true
  end
  local nd = 0
  for _ in pairs(distinct) do nd = nd + 1 end
  if nd < 2 then args.input_fail("fit_tradeoff: expected runs at >= 2 distinct batch sizes", 2) end
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(lb) do lo, hi = math.min(lo, v), math.max(hi, v) end
  lo, hi = lo - math.log(100), hi + math.log(100)
  -- for log B_crit = c: the best log S_min and the residual sum of squares
  local function rss(c)
    local bc, m = math.exp(c), 0
    for i = 1, #ls do m = m + (ls[i] - math.log(1 + bc / math.exp(lb[i]))) / #ls end
    local r = 0
    for i = 1, #ls do r = r + (ls[i] - m - math.log(1 + bc / math.exp(lb[i]))) ^ 2 end
    return r, m
  end
  local N, best, bi = 400, math.huge, 0
  for k = 0, N do
    local r = rss(lo + (hi - lo) * k / N)
    if r < best then best, bi = r, k end
  end
  local a, b = lo + (hi - lo) * math.max(bi - 1, 0) / N, lo + (hi - lo) * math.min(bi + 1, N) / N
  for _ = 1, 60 do -- golden section inside the bracket around the grid's best
    local c1, c2 = b - 0.618034 * (b - a), a + 0.618034 * (b - a)
    if rss(c1) < rss(c2) then b = c2 else a = c1 end
  end
  local c = (a + b) / 2
  local r, m = rss(c)
  local f = {b_crit = math.exp(c), s_min = math.exp(m), rmse = math.sqrt(r / #ls), n = #ls,
    at_edge = bi == 0 or bi == N}
  f.e_min = f.s_min * f.b_crit
  function f.steps(B) return f.s_min * (1 + f.b_crit / B) end
  function f.examples(B) return f.e_min * (1 + B / f.b_crit) end
  return f
end

-- }====================

return M
