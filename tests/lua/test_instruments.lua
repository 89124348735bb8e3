-- test_instruments.lua: wb.instruments (per-sample statistics in C,
-- Cockpit's instruments in fit). Per-sample results are compared with B
-- single-row backward passes; the statistics with their definitions from
-- explicit per-sample gradients; fit with and without instruments must
-- train identically.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local ACTS = {"linear", "relu", "tanh", "softsign", "gelu", "gelu_tanh", "sigmoid", "elu",
  "selu", "swish"}

local function labels(n, c)
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 7) % c) end
  return y
end

-- A small model: Dense (act, L2) -> Dropout -> Dense (no bias) -> softmax.
local function small(act, seed, rate)
  wb.seed(seed or 3)
  return wb.nn.Sequential{wb.nn.Dense(12, 6, {activation = act, l2 = 1e-2}),
    wb.nn.Dropout(rate or 0.5), wb.nn.Dense(6, 5, {activation = "tanh", bias = false}),
    wb.nn.Dense(5, 3, {activation = "softmax"})}
end

-- Flat per-sample gradients of each row's own loss (dropout off, L2 term
-- removed), as Lua arrays: g[i][p].
local function explicit(m, x, y)
  local ce, B = wb.nn.SparseCrossEntropy(), x:size(1)
  local ps, gs = m:parameters()
  local g = {}
  for i = 1, B do
    local xi = x:rows(i, i):clone()
    local yi = wb.new_tensor({1}, "uint8")
    yi:set(1, y:get(i))
    m:forward(xi, false)
    ce:forward(m[#m]:logits(), yi)
    m:zero_grad()
    m:backward_logits(xi, ce:backward(), false)
    local row = {}
    for k = 1, #gs do
      local t = gs[k]
      if k == 1 then t = t - ps[1] * (2 * m[1].l2) end
      local v = t:reshape(t:numel()):totable()
      for _, e in ipairs(v) do row[#row + 1] = e end
    end
    g[i] = row
  end
  return g
end

local function dot(a, b)
  local s = 0
  for k = 1, #a do s = s + a[k] * b[k] end
  return s
end

local function close(a, b, scale, tol, what)
  T.ok(math.abs(a - b) <= tol * scale, string.format("%s: %.9g vs %.9g (scale %g)", what,
    a, b, scale))
end

T.test("per_sample equals single-row backward passes for every activation", function()
  for _, act in ipairs(ACTS) do
    local m = small(act)
    local x, y = wb.randn(7, 12), labels(7, 3)
    local s = wb.instruments.per_sample(m, x, y)
    local g = explicit(m, x, y)
    local B = 7
    T.eq(#s.sum_sq, #select(1, m:parameters()), act .. ": sum_sq count")
    local big = 0
    for i = 1, B do big = math.max(big, dot(g[i], g[i])) end
    for i = 1, B do
      close(s.norms:get(i), math.sqrt(dot(g[i], g[i])), math.sqrt(big), 1e-5, act .. " norm")
      for j = 1, B do
        close(s.gram:get(i, j), dot(g[i], g[j]), big, 1e-5, act .. " gram")
      end
    end
    local flat = {}
    for _, t in ipairs(s.sum_sq) do
      for _, e in ipairs(t:reshape(t:numel()):totable()) do flat[#flat + 1] = e end
    end
    local P, top = #g[1], 0
    for p = 1, P do
      local want = 0
      for i = 1, B do want = want + g[i][p] ^ 2 end
      top = math.max(top, want)
      g.want = g.want or {}
      g.want[p] = want
    end
    for p = 1, P do close(flat[p], g.want[p], top, 1e-5, act .. " sum_sq") end
  end
end)

T.test("the mean of per-sample gradients is the batch gradient (L2 excluded)", function()
  local m = small("relu")
  local x, y = wb.randn(9, 12), labels(9, 3)
  local g = explicit(m, x, y)
  local ce = wb.nn.SparseCrossEntropy()
  m:forward(x, false)
  ce:forward(m[#m]:logits(), y)
  m:zero_grad()
  m:backward_logits(x, ce:backward(), false)
  local ps, gs = m:parameters()
  local flat = {}
  for k = 1, #gs do
    local t = k == 1 and gs[1] - ps[1] * (2 * m[1].l2) or gs[k]
    for _, e in ipairs(t:reshape(t:numel()):totable()) do flat[#flat + 1] = e end
  end
  for p = 1, #flat do
    local mean = 0
    for i = 1, 9 do mean = mean + g[i][p] / 9 end
    close(mean, flat[p], 1, 1e-6, "component " .. p)
  end
end)

T.test("per_sample restores the gradients and checks its arguments", function()
  local m = small("tanh")
  local x, y = wb.randn(4, 12), labels(4, 3)
  local _, gs = m:parameters()
  gs[1]:fill(0.25)
  wb.instruments.per_sample(m, x, y)
  T.eq(gs[1]:min(), 0.25); T.eq(gs[1]:max(), 0.25)
  T.ok(not pcall(wb.instruments.per_sample, m, x))
  local ok, e = pcall(wb.instruments.per_sample, {}, x, y)
  T.ok(not ok and tostring(e):find("wb.Sequential"), tostring(e))
end)

-- {==================== the statistics ====================

-- Cockpit's statistics from explicit per-sample gradients (its __run_check
-- forms: sample variances of the gradients and of their projections).
local function reference(g)
  local B, P = #g, #g[1]
  local mean = {}
  for p = 1, P do
    local s = 0
    for i = 1, B do s = s + g[i][p] end
    mean[p] = s / B
  end
  local g2 = dot(mean, mean)
  local var_l1, proj, orth = 0, {}, 0
  for i = 1, B do
    for p = 1, P do var_l1 = var_l1 + (g[i][p] - mean[p]) ^ 2 end
    proj[i] = dot(g[i], mean)
  end
  var_l1 = var_l1 / (B - 1)
  local pv = 0
  for i = 1, B do pv = pv + (proj[i] - g2) ^ 2 end
  pv = pv / (B - 1)
  for i = 1, B do -- squared norm of g_i's part orthogonal to the mean
    orth = orth + dot(g[i], g[i]) - proj[i] ^ 2 / g2
  end
  orth = orth / (B - 1)
  local gsnr = 0
  for p = 1, P do
    local m2 = 0
    for i = 1, B do m2 = m2 + g[i][p] ^ 2 / B end
    gsnr = gsnr + mean[p] ^ 2 / (m2 - mean[p] ^ 2 + 1e-5)
  end
  return {norm_test = math.sqrt(var_l1 / B / g2), inner_test = math.sqrt(pv / B / g2 ^ 2),
    ortho_test = math.sqrt(orth / B / g2), gsnr = gsnr / P}
end

T.test("fit's test statistics equal their definitions at step 1", function()
  local m = small("tanh", 3, 0) -- the definitions are for dropout off
  local n, bs = 24, 8
  local x, y = wb.rand(n, 12), labels(n, 3)
  local theta0 = m:get_weights()
  local h = m:fit(x, y, {batch_size = bs, shuffle = false, verbose = false, seed = 1,
    optimizer = wb.optim.SGD{lr = 0.1}, every = 100,
    instruments = {"norm_test", "inner_test", "ortho_test", "gsnr", "grad_norm"}})
  local after = m:get_weights()
  m:set_weights(theta0)
  local want = reference(explicit(m, x:rows(1, bs):clone(), (function()
    local yb = wb.new_tensor({bs}, "uint8")
    for i = 1, bs do yb:set(i, y:get(i)) end
    return yb
  end)()))
  m:set_weights(after)
  local st = h.steps
  T.eq(st.step[1], 1)
  T.eq(#st.step, 1, "every = 100 over 3 steps records step 1 only")
  for _, k in ipairs{"norm_test", "inner_test", "ortho_test", "gsnr"} do
    close(st[k][1], want[k], math.abs(want[k]), 1e-4, k)
  end
  T.ok(st.grad_norm[1] > 0 and st.grad_norm_1[1] > 0 and st.grad_norm_3[1] > 0)
  T.ok(h.instruments.seconds.norm_test >= 0 and h.instruments.calls.norm_test == 1)
end)

-- }====================
-- {==================== fit ====================

-- Train a fresh small model (dropout on: the RNG matters) with opts.
local function run(opts)
  local m = small("relu", 5, 0.3)
  local x, y = wb.rand(40, 12), labels(40, 3)
  local o = {batch_size = 8, epochs = 2, verbose = false, seed = 9, log_every = 1,
    optimizer = wb.optim.SGD{lr = 0.2, momentum = 0.9}}
  for k, v in pairs(opts) do o[k] = v end
  if o.log_every == false then o.log_every = nil end
  local h = m:fit(x, y, o)
  return h, m:get_weights()
end

-- the full preset, tic_trace for tic (it needs the exact diagonal: small has tanh)
local FULL = {}
for i, n in ipairs(wb.instruments.full) do FULL[i] = n == "tic" and "tic_trace" or n end
T.test("instruments never change training (bit-identical history and weights)", function()
  local h0, w0 = run{}
  for _, every in ipairs{1, 3, "log"} do
    local h1, w1 = run{instruments = FULL, every = every}
    for _, k in ipairs{"loss", "accuracy"} do
      for e = 1, #h0[k] do T.eq(h1[k][e], h0[k][e], k .. " epoch " .. e) end
      for s = 1, #h0.steps[k] do T.eq(h1.steps[k][s], h0.steps[k][s], k .. " step " .. s) end
    end
    for i = 1, #w0 do
      T.eq((w1[i] - w0[i]):abs():max(), 0, "weights " .. i .. " every " .. tostring(every))
    end
    T.eq(wb.rand(1):get(1), (function() run{}; return wb.rand(1):get(1) end)(),
      "the global generator is left where training leaves it")
  end
end)

T.test("full instruments record every series at the scheduled steps", function()
  local h = run{instruments = FULL, every = 4, log_every = false}
  local st = h.steps
  T.eq(table.concat(st.step, ","), "1,5,9")
  for _, k in ipairs{"grad_norm", "grad_norm_1", "grad_norm_3", "distance", "update_size",
    "norm_test", "inner_test", "ortho_test", "tic_trace", "hess_max", "hess_trace", "alpha"} do
    T.ok(st[k], "series " .. k)
    for r = 1, 3 do T.ok(st[k][r] == st[k][r], k .. " row " .. r .. " is NaN") end
  end
  T.eq(st.distance[1], 0, "no distance at the first step")
  T.ok(st.update_size[1] > 0)
  local gh = h.instruments.grad_hist
  T.eq(#gh.counts, 3)
  local total = 0
  for _, c in ipairs(gh.counts[1]) do total = total + c end
  T.eq(total, 8 * (12 * 6 + 6 + 6 * 5 + 5 * 3 + 3), "every per-sample entry counted once")
  for _, n in ipairs(FULL) do
    if n ~= "loss" then T.ok(h.instruments.seconds[n], "seconds of " .. n) end
  end
end)

T.test("the log schedule and option errors", function()
  local h = run{instruments = {"grad_norm"}, every = "log", log_every = false}
  T.eq(table.concat(h.steps.step, ","), "1,2,3,4,5,6,7,8,9,10")
  local function err(o)
    local ok, e = pcall(run, o)
    T.ok(not ok)
    return tostring(e)
  end
  T.ok(err{instruments = {"grad_nrom"}}:find(
    "unknown instrument grad_nrom (did you mean grad_norm?)", 1, true))
  T.ok(err{every = 2}:find("give instruments too"))
  T.ok(err{instruments = {"loss"}, every = 0}:find("every must be"))
  T.ok(err{instruments = {"alpha"}, loss = "mse"}:find("alpha needs"))
end)

T.test("alpha is 0 at the minimum of a quadratic and 1 on its other side", function()
  -- f(s) = (s - 1)^2: slope -2 at 0; at t = 1 the minimum, at t = 2 the mirror
  T.eq(wb.instruments.alpha(1, 1, 0, -2, 0, 1, 1, 1, 1), 0)
  T.eq(wb.instruments.alpha(2, 1, 1, -2, 2, 1, 1, 1, 1), 1)
  T.eq(wb.instruments.alpha(1, 0, -1, -1, -3, 1, 1, 1, 1), -1, "concave")
end)

T.test("experiment configs take instruments and every", function()
  local keys = require("wb.spec_keys").train
  T.eq(keys.instruments("economy"), nil)
  T.eq(keys.instruments({"gsnr", "alpha"}), nil)
  T.ok(keys.instruments({"gsnr", "bogus"}):find("economy"))
  T.ok(keys.instruments(3))
  T.eq(keys.every("log"), nil); T.eq(keys.every(16), nil)
  T.ok(keys.every(0)); T.ok(keys.every("lin"))
end)

-- {==================== the Hessian instruments ====================

-- A relu chain whose first layer takes the sparse path (n_in >= 256, n_out
-- >= 16, mostly zero inputs), L2 on; P = 300*16 + 16 + 16*3 + 3 = 4867.
local function chain(last)
  wb.seed(4)
  local m = wb.nn.Sequential{wb.nn.Dense(300, 16, {activation = "relu", l2 = 1e-3}),
    wb.nn.Dense(16, 3, {activation = last or "softmax"})}
  local x = wb.rand(10, 300)
  for i = 1, 10 do
    for k = 1, 300 do
      if (i * 31 + k * 7) % 5 ~= 0 then x:set(i, k, 0) end
    end
  end
  return m, x, labels(10, 3)
end

T.test("hess_diag is the exact Hessian diagonal (relu chain, softmax or linear last)",
  function()
  for _, last in ipairs{"softmax", "linear"} do
    local m, x, y = chain(last)
    local H = wb.hessian.full(m, {x = x, y = y}, {precision = "float64"})
    m:forward(x, false)
    local ps, out = wb.instruments.Scratch(), m:get_weights()
    ps:begin(10)
    local tr = ps:hess_diag({m[1], m[2]}, {x, m._h[2]}, out)
    local p, top, want = 0, 0, 0
    for p2 = 1, 4867 do
      top, want = math.max(top, math.abs(H:get(p2, p2))), want + H:get(p2, p2)
    end
    close(tr, want, want, 1e-5, last .. " trace")
    ps:begin(10)
    close(ps:hess_diag({m[1], m[2]}, {x, m._h[2]}), want, want, 1e-5,
      last .. " trace alone (no out)")
    for _, t in ipairs(out) do
      for _, v in ipairs(t:reshape(t:numel()):totable()) do
        p = p + 1
        close(v, H:get(p, p), top, 1e-4, last .. " diagonal " .. p)
      end
    end
    T.eq(p, 4867)
  end
  local m = small("tanh", 3, 0)
  local ps = wb.instruments.Scratch()
  ps:begin(4)
  local x = wb.randn(4, 12)
  m:forward(x, false)
  local ok, e = pcall(ps.hess_diag, ps, {m[1], m[3], m[4]}, {x, m._h[3], m._h[4]},
    m:get_weights())
  T.ok(not ok and tostring(e):find("relu or linear"), tostring(e))
end)

T.test("fit's hess_trace sums the exact diagonal and agrees with Hutchinson", function()
  local m, x, y = chain()
  local w0 = m:get_weights()
  local h = m:fit(x, y, {batch_size = 10, epochs = 1, shuffle = false, verbose = false,
    optimizer = wb.optim.SGD{lr = 0.1}, instruments = {"hess_trace", "tic"}})
  T.eq(h.instruments.hess_trace_method, "exact")
  T.eq(h.steps.hess_trace_se[1], 0)
  m:set_weights(w0)
  local H = wb.hessian.full(m, {x = x, y = y}, {precision = "float64"})
  local tr = 0
  for p = 1, 4867 do tr = tr + H:get(p, p) end
  close(h.steps.hess_trace[1], tr, tr, 1e-4, "trace")
  local r = wb.hessian.trace(m, {x = x, y = y}, {probes = 400, seed = 3})
  T.ok(math.abs(r.mean - tr) <= 4 * r.stderr, string.format("Hutchinson %g +- %g vs "
    .. "exact %g", r.mean, r.stderr, tr))
  local h2 = run{instruments = {"hess_trace"}, every = 4}
  T.eq(h2.instruments.hess_trace_method, "hutchinson", "dropout in the model")
  T.ok(h2.steps.hess_trace_se[1] > 0)
end)

T.test("a Hessian operator reset to new data and weights equals a fresh one", function()
  local m, x, y = chain()
  local layers = {m[1], m[2]}
  local y5 = wb.new_tensor({5}, "uint8")
  for i = 1, 5 do y5:set(i, y:get(i + 5)) end
  local op <close> = wb.hessian.Operator(layers, x:rows(6, 10):clone(), y5, "cross_entropy",
    false, 10)
  local v = m:get_weights()
  op:eigs(1, 1e-3, 30) -- grows the Lanczos work space; later calls reuse it
  local w = m:get_weights()
  w[1]:copy(w[1] * 1.5)
  m:set_weights(w)
  op:reset(x, y)
  local fresh <close> = wb.hessian.Operator(layers, x, y, "cross_entropy", false, 10)
  local a, b = op:hvp(v), fresh:hvp(v)
  for k = 1, #a do T.eq((a[k] - b[k]):abs():max(), 0, "tensor " .. k) end
  local ea, eb = op:eigs(1, 1e-6, 12, v), fresh:eigs(1, 1e-6, 12, v)
  T.eq(ea[1], eb[1], "the same Lanczos from the reused work space")
  T.ok(not pcall(op.reset, op, x, wb.zeros(3)), "reset checks the data")
end)

T.test("warm-started hess_max matches a cold Lanczos within its recorded residual",
  function()
  local m, x, y = chain()
  local thetas = {}
  local keep = wb.callbacks.Lambda{on_train_batch_begin = function(step)
    thetas[step] = m:get_weights()
  end}
  local h = m:fit(x, y, {batch_size = 5, epochs = 3, shuffle = false, verbose = false,
    optimizer = wb.optim.SGD{lr = 0.2}, instruments = {"hess_max"}, callbacks = {keep}})
  local rec = h.instruments.hess_max
  T.eq(#h.steps.step, 6)
  T.ok(rec.products <= 30 + 1 + 5 * (8 + 1), "products capped: " .. rec.products)
  for s = 1, 6 do
    m:set_weights(thetas[s])
    local r0 = (s - 1) % 2 * 5
    local xb = x:rows(r0 + 1, r0 + 5):clone()
    local yb = wb.new_tensor({5}, "uint8")
    for i = 1, 5 do yb:set(i, y:get(r0 + i)) end
    local cold = wb.hessian.eigs(m, {x = xb, y = yb}, {tol = 1e-9, max_iter = 300})
    local lam, res = h.steps.hess_max[s], h.steps.hess_max_residual[s]
    T.ok(res >= 0 and res <= rec.max_residual)
    T.ok(math.abs(lam - cold.values[1]) <= math.max(res * math.abs(lam) * 1.01,
      1e-4 * cold.values[1]), string.format("step %d: %g vs cold %g (residual %.2e)", s,
      lam, cold.values[1], res))
  end
end)

-- }====================
T.done()
