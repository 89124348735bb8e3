-- The fit instruments on runs whose numbers pass float32's range: the
-- per-sample gradient entries reach about 1e26 (an exploding run), where
-- float32 block sums of their squares overflow (past about 1.8e19), or
-- 3e17, where the gradients' do not but the Hessian's eigenvalue, 5e34,
-- overflows Lanczos's float32 norms. Every recorded number must be either
-- not finite (NaN or inf: visibly no number) or the float64 value computed
-- here from explicit per-sample gradients. Before the fix norm_test,
-- inner_test and ortho_test recorded 0, gsnr a number 50 times too small,
-- hess_max a fifth to a third of the eigenvalue, tic could add 0 for a term, and
-- Lanczos's error on a non-finite product stopped fit.
--
-- The model is one softmax Dense layer (I inputs, C classes, a bias), so
-- that everything has a closed form: row i's gradient is G_i = xt_i (p_i -
-- e_{y_i})^T with xt_i = (x_i, 1), and the Hessian of the mean loss is
-- (1/B) sum_i (xt_i xt_i^T) (x) (diag(p_i) - p_i p_i^T). Inputs of about
-- SCALE against weights of about 1 / SCALE keep the first step's logits
-- near 1; plain SGD at lr 1e-30 moves the weights by about 1e-30 SCALE, so
-- at 1e26 the second step's logits are about 1e22 (saturated, finite).
local T = dofile("tests/lua/harness.lua")

local C = 3
local N, I, P, SCALE -- rows, inputs, parameters (the kernel's I C, the bias's C)
local function dims(n, i, scale) N, I, P, SCALE = n, i, (i + 1) * C, scale end

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

-- {==================== the float64 reference ====================

-- theta {W = [I][C], b = [C]} read from the layer (its float32 values)
local function snapshot(layer)
  local W, b = {}, {}
  for k = 1, I do
    W[k] = {}
    for c = 1, C do W[k][c] = layer.weight:get(k, c) end
  end
  for c = 1, C do b[c] = layer.bias:get(c) end
  return {W = W, b = b}
end

-- theta as a flat list of P numbers, kernel row by row, then the bias
local function flat(th)
  local v = {}
  for k = 1, I do for c = 1, C do v[#v + 1] = th.W[k][c] end end
  for c = 1, C do v[#v + 1] = th.b[c] end
  return v
end

-- Per-sample losses, probabilities and gradients (flat, P entries) at
-- theta on rows xs (lists of I numbers) with labels ys (0-based).
local function per_sample(th, xs, ys)
  local loss, prob, G = {}, {}, {}
  for i = 1, #xs do
    local z, m = {}, -math.huge
    for c = 1, C do
      local s = th.b[c]
      for k = 1, I do s = s + xs[i][k] * th.W[k][c] end
      z[c], m = s, math.max(m, s)
    end
    local sum = 0
    for c = 1, C do sum = sum + math.exp(z[c] - m) end
    local p = {}
    for c = 1, C do p[c] = math.exp(z[c] - m) / sum end
    loss[i], prob[i] = m + math.log(sum) - z[ys[i] + 1], p
    local g = {}
    for k = 1, I + 1 do
      local xk = k <= I and xs[i][k] or 1
      for c = 1, C do g[#g + 1] = xk * (p[c] - (c == ys[i] + 1 and 1 or 0)) end
    end
    G[i] = g
  end
  return loss, prob, G
end

local function dot(a, b)
  local s = 0
  for j = 1, #a do s = s + a[j] * b[j] end
  return s
end

-- The Hessian of the mean loss, [P][P], parameters ordered as flat's.
local function hessian(xs, prob)
  local H, B = {}, #xs
  for r = 1, P do H[r] = {} for s = 1, P do H[r][s] = 0 end end
  for i = 1, B do
    local p = prob[i]
    for k = 1, I + 1 do for l = 1, I + 1 do
      local xx = (k <= I and xs[i][k] or 1) * (l <= I and xs[i][l] or 1) / B
      for c = 1, C do for d = 1, C do
        local r, s = (k - 1) * C + c, (l - 1) * C + d
        H[r][s] = H[r][s] + xx * ((c == d and p[c] or 0) - p[c] * p[d])
      end end
    end end
  end
  return H
end

-- The largest eigenvalue of the symmetric H (cyclic Jacobi rotations).
local function top_eigenvalue(H)
  local n, A, big = #H, {}, 0
  for r = 1, n do for s = 1, n do big = math.max(big, math.abs(H[r][s])) end end
  if big == 0 then return 0 end
  for r = 1, n do A[r] = {} for s = 1, n do A[r][s] = H[r][s] / big end end
  for _ = 1, 30 do
    for p = 1, n - 1 do for q = p + 1, n do
      if math.abs(A[p][q]) > 1e-300 then
        local th = (A[q][q] - A[p][p]) / (2 * A[p][q])
        local t = (th >= 0 and 1 or -1) / (math.abs(th) + math.sqrt(th * th + 1))
        local c = 1 / math.sqrt(t * t + 1)
        local s = t * c
        for k = 1, n do -- columns p and q, then rows p and q
          local akp, akq = A[k][p], A[k][q]
          A[k][p], A[k][q] = c * akp - s * akq, s * akp + c * akq
        end
        for k = 1, n do
          local apk, aqk = A[p][k], A[q][k]
          A[p][k], A[q][k] = c * apk - s * aqk, s * apk + c * aqk
        end
      end
    end end
  end
  local top = -math.huge
  for r = 1, n do top = math.max(top, A[r][r]) end
  return top * big
end

local function bin(v, lo, hi, nb)
  if v ~= v then return 0 end
  local b = math.floor((v - lo) / (hi - lo) * nb)
  return math.max(0, math.min(nb - 1, b))
end

-- Moments of a list: sum and sum of squares.
local function moments(v)
  local s, s2 = 0, 0
  for i = 1, #v do s, s2 = s + v[i], s2 + v[i] * v[i] end
  return s, s2
end

-- The step's instruments from theta (before), theta1 (after) on rows xs.
local function reference(th, th1, th0, xs, ys)
  local B, wi = #xs, wb.instruments
  local loss, prob, G = per_sample(th, xs, ys)
  local gbar, u, v, v0, v1 = {}, {}, flat(th), flat(th0), flat(th1)
  for j = 1, P do
    local s = 0
    for i = 1, B do s = s + G[i][j] end
    gbar[j], u[j] = s / B, v1[j] - v[j]
  end
  local r = {}
  local g2 = dot(gbar, gbar)
  local sq, p2 = 0, 0
  for i = 1, B do
    sq = sq + dot(G[i], G[i])
    p2 = p2 + dot(G[i], gbar) ^ 2
  end
  local d = {}
  for j = 1, P do d[j] = v[j] - v0[j] end
  r.loss = select(1, moments(loss)) / B
  r.grad_norm, r.grad_norm_1 = math.sqrt(g2), math.sqrt(g2)
  r.distance = math.sqrt(dot(d, d))
  r.update_size = math.sqrt(dot(u, u))
  r.distance_1, r.update_size_1 = r.distance, r.update_size
  r.norm_test, r.inner_test = wi.norm_test(B, sq, g2), wi.inner_test(B, p2, g2)
  r.ortho_test = wi.ortho_test(B, sq, p2, g2)
  local H = hessian(xs, prob)
  local gsnr, tic, trace = 0, 0, 0
  for j = 1, P do
    local m, q = gbar[j], 0
    for i = 1, B do q = q + G[i][j] ^ 2 / B end
    gsnr = gsnr + m * m / (math.max(q - m * m, 0) + 1e-5)
    tic, trace = tic + q / (H[j][j] + 1e-7), trace + H[j][j]
  end
  r.gsnr, r.tic, r.hess_trace, r.tic_trace = gsnr / P, tic, trace, (sq / B) / (trace + 1e-7)
  r.hess_max = top_eigenvalue(H)
  r.hess_trace_se, r.tic_trace_se = 0, 0
  local hist, h2 = {}, {}
  for b = 1, 64 do hist[b] = 0 end
  for b = 1, 40 * 50 do h2[b] = 0 end
  for i = 1, B do
    for j = 1, P do
      local bx = bin(G[i][j], -1, 1, 40)
      hist[bin(G[i][j], -1, 1, 64) + 1] = hist[bin(G[i][j], -1, 1, 64) + 1] + 1
      h2[bx * 50 + bin(v[j], -2, 2, 50) + 1] = h2[bx * 50 + bin(v[j], -2, 2, 50) + 1] + 1
    end
  end
  r.grad_hist, r.grad_hist_2d = hist, h2
  -- alpha's start: the losses, and the projections on the update
  local len, proj = r.update_size, {}
  for i = 1, B do proj[i] = dot(G[i], u) end
  local fs, fs2 = moments(loss)
  local es, es2 = moments(proj)
  r.start = {f = fs / B, vf = (fs2 - fs * fs / B) / (B - 1), df = es / B / len,
    vd = (es2 - es * es / B) / (B - 1) / (len * len), t = len, u = u}
  return r
end

-- alpha of the step that started at s (reference's r.start) and ended on
-- the next step's rows at theta1
local function alpha_end(s, th1, xs, ys)
  local B = #xs
  local loss, _, G = per_sample(th1, xs, ys)
  local proj = {}
  for i = 1, B do proj[i] = dot(G[i], s.u) end
  local fs, fs2 = moments(loss)
  local es, es2 = moments(proj)
  local f1, vf1 = fs / B, (fs2 - fs * fs / B) / (B - 1)
  local df1, vd1 = es / B / s.t, (es2 - es * es / B) / (B - 1) / (s.t * s.t)
  return wb.instruments.alpha(s.t, s.f, f1, s.df, df1, s.vf, vf1, s.vd, vd1)
end

-- }====================

-- The model, its data (rows as Lua lists too) and an optimizer's fit of
-- `steps` full batches with every instrument at every step; the weights
-- before each step and after the last.
local function run(opt, steps)
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(I, C, {activation = "softmax"})}
  for k = 1, I do for c = 1, C do
    m[1].weight:set(k, c, ((k * 7 + c * 3) % 5 - 2) * 0.4 / SCALE / math.sqrt(I))
  end end
  local x, xs, ys = wb.new_tensor({N, I}), {}, {}
  for i = 1, N do
    ys[i] = (i - 1) % C
    for k = 1, I do x:set(i, k, ((i * 5 + k * 3) % 7 - 3) * 0.5 * SCALE) end
    xs[i] = {}
    for k = 1, I do xs[i][k] = x:get(i, k) end
  end
  local thetas = {}
  local snap = wb.callbacks.Lambda{on_train_batch_begin = function(step)
    thetas[step] = snapshot(m[1])
  end}
  local h = m:fit(x, wb.tensor(ys, "uint8"), {batch_size = N, epochs = steps, verbose = false,
    shuffle = false, optimizer = opt, instruments = wb.instruments.NAMES, every = 1,
    callbacks = {snap}})
  thetas[steps + 1] = snapshot(m[1])
  return h, thetas, xs, ys
end

-- recorded r against the reference e: not finite, or within rel of it
local function check(what, r, e, rel)
  T.ok(type(r) == "number", what .. ": not recorded")
  if not finite(r) then return false end
  T.ok(math.abs(r - e) <= rel * math.abs(e) + 1e-300,
    string.format("%s: recorded %.9g, float64 reference %.9g", what, r, e))
  return true
end

-- Lanczos stops at a relative 1e-4; inner_test's variance p2 - B g2^2 of
-- two rows cancels to 4e-4 of it in float32 products (at any scale: 1 too)
local TOL = {hess_max = 1e-3, alpha = 1e-3, inner_test = 1e-3}
local SKIP = {step = true, epoch = true, batch_size = true, lr = true, accuracy = true,
  alpha = true, hess_max_residual = true}

-- fit steps steps with opt; exact: the instruments that must be finite
-- (and right) at step t (a list per step)
local function check_fit(opt, label, steps, exact)
  local h, thetas, xs, ys = run(opt, steps)
  T.eq(#h.steps.step, steps, label .. ": steps")
  local gh, g2d = h.instruments.grad_hist, h.instruments.grad_hist_2d
  local last
  for t = 1, steps do
    local e = reference(thetas[t], thetas[t + 1], thetas[1], xs, ys)
    for name, col in pairs(h.steps) do
      if not SKIP[name] then
        check(string.format("%s step %d %s", label, t, name), col[t], e[name],
          TOL[name] or 1e-4)
      end
    end
    for _, name in ipairs(exact[t]) do
      T.ok(finite(h.steps[name][t]), string.format("%s step %d %s: %s, expected %.9g", label,
        t, name, tostring(h.steps[name][t]), e[name]))
    end
    for b = 1, 64 do T.eq(gh.counts[t][b], e.grad_hist[b], "grad_hist bin " .. b) end
    for b = 1, 2000 do T.eq(g2d.counts[t][b], e.grad_hist_2d[b], "grad_hist_2d bin " .. b) end
    if last then
      check(string.format("%s step %d alpha", label, t - 1), h.steps.alpha[t - 1],
        alpha_end(last, thetas[t], xs, ys), TOL.alpha)
    end
    last = e.start
  end
  return h
end

-- at 1e26 the first step's are, the second step's (saturated: a Hessian of
-- 0, gradients of whole rows 0) some; the rest may be NaN or inf
local AT_1E26 = {{"loss", "grad_norm", "grad_norm_1", "distance", "update_size",
  "norm_test", "gsnr", "hess_trace", "tic_trace"}, {"loss", "grad_norm", "distance",
  "update_size", "norm_test", "gsnr", "hess_trace", "tic_trace"}}

T.test("instruments at gradient entries of 1e26: each recorded number is NaN, inf or the "
  .. "float64 one (plain SGD)", function()
  dims(8, 3, 1e26)
  local h = check_fit(wb.optim.SGD{lr = 1e-30}, "sgd", 2, AT_1E26)
  -- the per-sample gradient entries do pass the histogram's end
  T.ok(h.instruments.grad_hist.counts[1][64] > 0, "no entry past the histogram's end")
end)

T.test("instruments at gradient entries of 1e26, with momentum (the update measured)",
  function()
  dims(8, 3, 1e26)
  check_fit(wb.optim.SGD{lr = 1e-30, momentum = 0.5}, "momentum", 2, AT_1E26)
end)

-- at 3e17 every instrument but hess_max is finite
local ALL = {"loss", "grad_norm", "grad_norm_1", "distance", "update_size", "norm_test",
  "inner_test", "ortho_test", "gsnr", "tic", "hess_trace", "tic_trace"}

T.test("the reference itself: at inputs of 1 every instrument is finite and agrees", function()
  dims(8, 3, 1)
  local all = {"hess_max", table.unpack(ALL)}
  check_fit(wb.optim.SGD{lr = 0.1}, "1", 2, {all, all})
end)

T.test("hess_max past float32's range is NaN, not a third of it, the rest right",
  function()
  -- the Hessian whole, then in the row space (one step: the second's two
  -- rows are saturated and right, a gradient of 0 where the tests are NaN)
  for _, d in ipairs{{8, 3, 2}, {2, 20, 1}} do
    dims(d[1], d[2], 3e17)
    local h = check_fit(wb.optim.SGD{lr = 1e-30}, "3e17 " .. d[2], d[3], {ALL, ALL})
    T.ok(h.steps.hess_max[1] ~= h.steps.hess_max[1], "hess_max: " .. h.steps.hess_max[1])
    T.eq(h.instruments.hess_max.row_space, d[2] == 20 and 1 or 0, "row_space")
  end
end)

T.test("Hutchinson's trace past float32's range is NaN, and fit goes on", function()
  dims(8, 3, 1e26) -- loss mse: no exact diagonal, the trace is estimated
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(I, C, {activation = "linear"})}
  local x = wb.new_tensor({N, I})
  for i = 1, N do for k = 1, I do x:set(i, k, ((i * 5 + k * 3) % 7 - 3) * 0.5 * SCALE) end end
  m[1].weight:copy(m[1].weight / SCALE)
  local h = m:fit(x, wb.tensor({0, 1, 2, 0, 1, 2, 0, 1}, "uint8"), {batch_size = N,
    epochs = 2, verbose = false, loss = "mse", optimizer = wb.optim.SGD{lr = 1e-40},
    instruments = {"hess_trace", "tic_trace", "hess_max"}})
  T.eq(h.instruments.hess_trace_method, "hutchinson")
  T.eq(#h.steps.step, 2, "steps")
  for _, n in ipairs{"hess_trace", "hess_trace_se", "tic_trace", "tic_trace_se", "hess_max"} do
    for t = 1, 2 do T.ok(not finite(h.steps[n][t]), n .. ": " .. h.steps[n][t]) end
  end
end)

T.test("tic: a term over a diagonal entry that overflowed is NaN, not 0", function()
  local S, D = wb.tensor{1, 2}, wb.tensor{math.huge, 1}
  local v = wb.instruments._tic_diag(S, D, 1, 1e-7)
  T.ok(v ~= v, "tic_diag: " .. tostring(v))
end)

T.test("the tests and alpha from an inf or NaN sum are NaN, not 0 or -1", function()
  local wi, inf, nan = wb.instruments, math.huge, 0 / 0
  for _, v in ipairs{wi.norm_test(8, 1, inf), wi.norm_test(8, nan, 1),
      wi.inner_test(8, nan, 1), wi.inner_test(8, 1, inf), wi.ortho_test(8, 1, nan, 1),
      wi.ortho_test(8, 1, 1, inf), wi.alpha(1, nan, 1, -1, 1, 1, 1, 1, 1),
      wi.alpha(inf, 1, 1, 0, 0, 1, 1, 0, 0), wi.alpha(1, 1, 1, -inf, 1, 1, 1, 1, 1)} do
    T.ok(v ~= v, "got " .. tostring(v))
  end
  T.eq(wi.alpha(0, nan, 1, 1, 1, 1, 1, 1, 1), -1) -- no step: -1 first, as before
end)

T.done()
