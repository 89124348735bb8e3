-- test_hessian.lua: wb.hessian against PyTorch float64 (committed fixtures,
-- tests/fixtures/gen_hvp.py), closed forms and the full matrix; errors.
-- Tolerances: float64 mode vs PyTorch 1e-5 relative (the fixture's H v is
-- rounded to float32), float32 mode 1e-4; eigenpairs' residual
-- |H u - l u| <= 1e-6 |l| (float64); Hutchinson within 3 standard errors.
local T = dofile("tests/lua/harness.lua")

local fx, meta = wb.io.load_safetensors("tests/fixtures/hvp.safetensors")

local function flat(list)
  local out = {}
  for _, t in ipairs(list) do
    for _, v in ipairs(t:reshape(t:numel()):totable()) do out[#out + 1] = v end
  end
  return out
end

local function rel_err(a, b)
  local d, s = 0, 0
  for i = 1, #b do d, s = d + (a[i] - b[i]) ^ 2, s + b[i] ^ 2 end
  return math.sqrt(d / s)
end

-- The fixture's model `name` (weights set from the file) and data.
local function fixture_model(name)
  local act, loss = meta[name]:match("([^,]+),([^,]+)")
  local x = fx[name .. ".x"]
  local i, o = x:shape()[2], fx[name .. ".p4"]:numel()
  local h = fx[name .. ".p2"]:numel()
  local m = wb.nn.Sequential{wb.nn.Dense(i, h, {activation = act, l2 = 0.01}),
    wb.nn.Dropout(0.5),
    wb.nn.Dense(h, o, {activation = loss == "mse" and "linear" or "softmax"})}
  m:set_weights{fx[name .. ".p1"], fx[name .. ".p2"], fx[name .. ".p3"], fx[name .. ".p4"]}
  local v = {fx[name .. ".v1"], fx[name .. ".v2"], fx[name .. ".v3"], fx[name .. ".v4"]}
  local want = flat{fx[name .. ".hv1"], fx[name .. ".hv2"], fx[name .. ".hv3"],
    fx[name .. ".hv4"]}
  return m, {x = x, y = fx[name .. ".y"]}, v, want, loss
end

for name in meta.models:gmatch("[^,]+") do
  T.test("hvp equals PyTorch float64: " .. name, function()
    local m, data, v, want, loss = fixture_model(name)
    local before = flat(m:get_weights())
    local e64 = rel_err(flat(wb.hessian.hvp(m, data, v, {loss = loss,
      precision = "float64"})), want)
    local e32 = rel_err(flat(wb.hessian.hvp(m, data, v, {loss = loss})), want)
    T.ok(e64 < 1e-5, string.format("float64: relative error %.3g", e64))
    T.ok(e32 < 1e-4, string.format("float32: relative error %.3g", e32))
    T.eq(rel_err(flat(m:get_weights()), before), 0, "weights unchanged")
  end)
end

-- A small model and data for the instruments.
local function small()
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Flatten(), wb.nn.Dense(12, 6, {activation = "tanh",
    l2 = 1e-3}), wb.nn.Dense(6, 3, {activation = "softmax"})}
  local x = wb.rand(40, 3, 4)
  local y = wb.new_tensor({40}, "uint8")
  for i = 1, 40 do y:set(i, (i * 7) % 3) end
  return m, {x = x, y = y}
end

local function matvec(H, u)
  local P, out = #u, {}
  for i = 1, P do
    local s = 0
    for j = 1, P do s = s + H[i][j] * u[j] end
    out[i] = s
  end
  return out
end

T.test("full is symmetric and its columns are hvp", function()
  local m, data = small()
  local H = wb.hessian.full(m, data, {precision = "float64"}):totable()
  local P = m:num_params()
  T.eq(#H, P)
  local asym, hmax = 0, 0
  for i = 1, P do
    for j = 1, i - 1 do
      asym = math.max(asym, math.abs(H[i][j] - H[j][i]))
      hmax = math.max(hmax, math.abs(H[i][j]))
    end
  end
  T.ok(asym <= 1e-6 * hmax, "asymmetry " .. asym)
  local v = m:get_weights()
  local hv = flat(wb.hessian.hvp(m, data, v, {precision = "float64"}))
  T.ok(rel_err(hv, matvec(H, flat(v))) < 1e-6, "H v vs full")
end)

T.test("op:top: the top eigenvalue, its honest residual, a warm start kept across reset",
  function()
  local m, data = small()
  local H = wb.hessian.full(m, data, {precision = "float64"}):totable()
  local e = wb.hessian.eigs(m, data, {tol = 1e-10, precision = "float64"})
  local layers = {m[1], m[2], m[3]}
  local op <close> = wb.hessian.Operator(layers, data.x, data.y, "cross_entropy", true, 40)
  T.eq(op:top_vector(), nil, "no vector before the first top")
  local lam, res, n = op:top(2, 0, m:get_weights()) -- capped: 2 products
  T.eq(n, 2)
  local u, r = flat(op:top_vector()), 0
  local hu = matvec(H, u)
  for j = 1, #u do r = r + (hu[j] - lam * u[j]) ^ 2 end
  T.near(res, math.sqrt(r) / lam, 1e-3 * res, "residual from the recurrence vs explicit")
  T.ok(lam <= e.values[1] * (1 + 1e-12), "a Ritz value is below the top")
  lam, res, n = op:top(40, 1e-12) -- warm from the kept vector, to convergence
  T.near(lam, e.values[1], 1e-7 * e.values[1])
  -- new data, the same weights: the kept vector starts the next run
  local x2 = data.x * 1.1
  op:reset(x2, data.y)
  local e2 = wb.hessian.eigs(m, {x = x2, y = data.y}, {tol = 1e-10, precision = "float64"})
  lam, res, n = op:top(30, 1e-12)
  T.near(lam, e2.values[1], 1e-7 * e2.values[1])
  T.ok(n < e2.hvps, string.format("warm %d products, cold %d", n, e2.hvps))
  T.ok(not pcall(op.top, op, 0, 0), "max_iter 0")
  T.ok(not pcall(op.top, op, 3, -1), "negative tol")
end)

T.test("op:reset(x, y, params): those weights, not the layers', the model untouched",
  function()
  local m, data = small()
  local layers = {m[1], m[2], m[3]}
  for _, f64 in ipairs{false, true} do
    local op <close> = wb.hessian.Operator(layers, data.x, data.y, "cross_entropy", f64, 40)
    local w, v = m:get_weights(), m:get_weights()
    local w2 = {}
    for k, t in ipairs(w) do w2[k] = t * 0.9 end
    op:reset(data.x, data.y, w2)
    local hv = flat(op:hvp(v))
    T.eq(rel_err(flat(m:get_weights()), flat(w)), 0, "the model's weights unchanged")
    m:set_weights(w2)
    op:reset(data.x, data.y) -- the layers' weights: now w2 too
    T.eq(rel_err(hv, flat(op:hvp(v))), 0, "the same product as with the layers at w2")
    m:set_weights(w)
    local ok, err = pcall(op.reset, op, data.x, data.y, {w2[1]})
    T.ok(not ok and err:find("params: expected a list of 4 tensors"), tostring(err))
    ok, err = pcall(op.reset, op, data.x, data.y, {w2[2], w2[1], w2[3], w2[4]})
    T.ok(not ok and err:find("params: tensor 1: expected float32 %[12, 6%]"), tostring(err))
  end
end)

T.test("op:top on a float32 operator: the gradient list read in place, a unit kept vector",
  function()
  local m, data = small()
  local H = wb.hessian.full(m, data, {precision = "float64"}):totable()
  local layers = {m[1], m[2], m[3]}
  local op <close> = wb.hessian.Operator(layers, data.x, data.y, "cross_entropy", false, 40)
  local op2 <close> = wb.hessian.Operator(layers, data.x, data.y, "cross_entropy", false, 40)
  local _, g = op2:loss_grad()
  local a, ra, na = op:top(4, 0, nil, 1) -- from the gradient, computed
  local b, rb, nb = op2:top(4, 0, nil, 1, g) -- given (its pieces' sums round apart)
  T.eq(na, 4)
  T.eq(nb, 4)
  T.near(b, a, 1e-6 * a, "given gradient vs computed")
  local u, r, n2 = flat(op:top_vector()), 0, 0
  local hu = matvec(H, u)
  for j = 1, #u do r, n2 = r + (hu[j] - a * u[j]) ^ 2, n2 + u[j] ^ 2 end
  T.near(n2, 1, 1e-5, "the kept vector is unit")
  T.near(ra, math.sqrt(r) / a, 1e-2 * ra + 1e-5, "residual from the recurrence vs explicit")
  local c = op:top(8, 1e-3, nil, 1, g) -- warm, from the kept vector
  T.ok(c >= a * (1 - 1e-6), string.format("warm %.9g from %.9g", c, a))
  T.ok(not pcall(op.top, op, 3, 0, nil, 1, {g[1]}), "a short gradient list")
end)

T.test("eigs: top eigenpairs, per layer, warm start", function()
  local m, data = small()
  local H = wb.hessian.full(m, data, {precision = "float64"}):totable()
  local e = wb.hessian.eigs(m, data, {k = 3, tol = 1e-8, precision = "float64"})
  T.ok(e.converged and #e.values == 3 and e.hvps >= 3, "converged in " .. e.hvps)
  T.ok(e.values[1] >= e.values[2] and e.values[2] >= e.values[3], "largest first")
  for i = 1, 3 do
    local u = flat(e.vectors[i])
    local hu = matvec(H, u)
    local r = 0
    for j = 1, #u do r = r + (hu[j] - e.values[i] * u[j]) ^ 2 end
    T.ok(math.sqrt(r) <= 1e-5 * math.abs(e.values[1]), "residual " .. math.sqrt(r))
  end
  local warm = wb.hessian.eigs(m, data, {v0 = e.vectors[1], tol = 1e-6,
    precision = "float64"})
  -- k + 7 products before any stop (a start near a lower eigenvector met tol
  -- after one and returned it: test_eigs_warm_floor), fewer than cold
  T.eq(warm.hvps, 8, "warm start's products")
  T.near(warm.values[1], e.values[1], 1e-6 * e.values[1])
  -- layer 3's block: W2 and b2 are the last 21 parameters
  local b = wb.hessian.eigs(m, data, {layer = 3, tol = 1e-8, precision = "float64"})
  local u = flat(b.vectors[1])
  for j = 1, 78 do T.eq(u[j], 0, "outside the block") end
  local hu, P = matvec(H, u), #u
  local lam = 0
  for j = P - 20, P do lam = lam + u[j] * hu[j] end
  T.near(lam, b.values[1], 1e-6 * math.abs(b.values[1]))
end)

T.test("trace: Hutchinson within 3 standard errors of the exact trace", function()
  local m, data = small()
  local H = wb.hessian.full(m, data, {precision = "float64"}):totable()
  local tr = 0
  for i = 1, #H do tr = tr + H[i][i] end
  wb.seed(5)
  local t = wb.hessian.trace(m, data, {probes = 1000, precision = "float64"})
  T.eq(t.hvps, 1000)
  T.ok(math.abs(t.mean - tr) <= 3 * t.stderr,
    string.format("%.6g +- %.3g vs %.6g", t.mean, t.stderr, tr))
end)

T.test("density: weights sum to 1, integrates to 1, mean is tr(H)/P", function()
  local m, data = small()
  local H = wb.hessian.full(m, data, {precision = "float64"}):totable()
  local tr = 0
  for i = 1, #H do tr = tr + H[i][i] end
  local d = wb.hessian.density(m, data, {steps = 40, probes = 300, grid = 2000})
  local m1 = {}
  for p, w in ipairs(d.weights) do
    local s, mu = 0, 0
    for i = 1, #w do s, mu = s + w[i], mu + w[i] * d.nodes[p][i] end
    T.near(s, 1, 1e-9, "probe weights")
    m1[p] = mu
  end
  local area = 0
  for g = 2, #d.x do area = area + (d.x[g] - d.x[g - 1]) * (d.y[g] + d.y[g - 1]) / 2 end
  T.near(area, 1, 1e-3, "area")
  local mean, sq = 0, 0
  for _, v in ipairs(m1) do mean = mean + v / #m1 end
  for _, v in ipairs(m1) do sq = sq + (v - mean) ^ 2 end
  local se = math.sqrt(sq / (#m1 - 1) / #m1)
  T.ok(math.abs(mean - tr / #H) <= 4 * se, string.format("%.6g +- %.2g vs %.6g", mean,
    se, tr / #H))
end)

T.test("least squares: H = 2 [X 1]^T [X 1] / N", function()
  local m = wb.nn.Sequential{wb.nn.Dense(2, 1)}
  local x = wb.tensor{{1, 2}, {3, -1}, {0.5, 0.25}}
  local y = wb.tensor{{1}, {0}, {2}}
  local H = wb.hessian.full(m, {x = x, y = y}, {loss = "mse", precision = "float64"})
  local X = {{1, 2, 1}, {3, -1, 1}, {0.5, 0.25, 1}}
  for a = 1, 3 do
    for b = 1, 3 do
      local s = 0
      for i = 1, 3 do s = s + X[i][a] * X[i][b] end
      T.near(H:get(a, b), 2 * s / 3, 1e-6)
    end
  end
end)

T.test("a dataset as data", function()
  local ds = wb.data.Dataset(wb.new_tensor({5, 2, 2}, "uint8"), wb.new_tensor({5}, "uint8"))
  local m = wb.nn.Sequential{wb.nn.Flatten(), wb.nn.Dense(4, 2, {activation = "softmax"})}
  local hv = wb.hessian.hvp(m, ds, m:get_weights())
  T.eq(#hv, 2)
  T.eq(hv[1]:shape()[1], 4)
end)

T.test("l2 = false: the Hessian of the data loss, the same model's without L2, bit for bit",
    function()
  local m, data = small()
  wb.seed(4) -- the same layers without L2 (another init, then the same weights)
  local m0 = wb.nn.Sequential{wb.nn.Flatten(), wb.nn.Dense(12, 6, {activation = "tanh"}),
    wb.nn.Dense(6, 3, {activation = "softmax"})}
  m0:set_weights(m:get_weights())
  for _, p in ipairs{"float32", "float64"} do
    local H = wb.hessian.full(m, data, {precision = p}):totable()
    local D = wb.hessian.full(m, data, {precision = p, l2 = false}):totable()
    local H0 = wb.hessian.full(m0, data, {precision = p}):totable()
    local kernel = 12 * 6 -- the first Dense's kernel: its l2 (1e-3) only
    for i = 1, #H do
      for j = 1, #H do
        T.eq(D[i][j], H0[i][j], p .. ": l2 = false is the model without L2")
        local l2 = (i == j and i <= kernel) and 2e-3 or 0
        T.near(H[i][j] - D[i][j], l2, 1e-6, p .. ": the L2 term 2 l2 I on the kernel")
      end
    end
  end
  local v = m:get_weights()
  local a, b = wb.hessian.hvp(m, data, v, {l2 = false}), wb.hessian.hvp(m0, data, v)
  for k = 1, #a do T.eq((a[k] - b[k]):abs():max(), 0, "hvp") end
  T.eq(wb.hessian.trace(m, data, {l2 = false, seed = 3}).mean,
    wb.hessian.trace(m0, data, {seed = 3}).mean, "trace")
  T.eq(wb.hessian.eigs(m, data, {l2 = false}).values[1], wb.hessian.eigs(m0, data).values[1])
  T.eq(m[2].l2, 1e-3, "the model keeps its L2")
  -- its copies of the L2 layers draw nothing from training's generator
  wb.seed(42); local r1 = wb.rand(1, 3):totable()[1]
  wb.seed(42); wb.hessian.hvp(m, data, v, {l2 = false}); local r2 = wb.rand(1, 3):totable()[1]
  for i = 1, 3 do T.eq(r2[i], r1[i], "the global generator is where it was") end
end)

T.test("errors", function()
  local m, data = small()
  local v = m:get_weights()
  T.check_error("unknown option 'probe' (valid: l2, layer, loss, max_rows, precision, "
    .. "probes, seed)", wb.hessian.trace, m, data, {probe = 3})
  T.check_error("option 'l2': expected boolean, got number", wb.hessian.hvp, m, data, v,
    {l2 = 0})
  T.check_error("precision: expected 'float32' or 'float64', got 'half'",
    wb.hessian.hvp, m, data, v, {precision = "half"})
  T.check_error("data: unknown key 'labels'", wb.hessian.hvp, m, {x = data.x,
    labels = data.y}, v)
  T.check_error("layer: expected the position of a Dense layer (2 or 3), got 1 (Flatten())",
    wb.hessian.eigs, m, data, {layer = 1})
  T.check_error("hvp: v: expected a list of 4 tensors", wb.hessian.hvp, m, data, {v[1]})
  T.check_error("hvp: v: tensor 2: expected float32 [6], got float32 [12, 6]",
    wb.hessian.hvp, m, data, {v[1], v[1], v[3], v[4]})
  T.check_error("eigs: max_iter: expected >= k (3), got 2", wb.hessian.eigs, m, data,
    {k = 3, max_iter = 2})
  local bad = wb.nn.Sequential{wb.nn.Dense(12, 3, {activation = "relu"})}
  local ok, err = pcall(wb.hessian.hvp, bad, {x = wb.rand(2, 12), y = data.y:rows(1, 2)},
    bad:get_weights())
  T.ok(not ok and wb.is_error(err) and err.code == "EINVAL", tostring(err))
  T.ok(tostring(err):find("hvp: layer 1: cross%-entropy needs the last Dense to be "
    .. "softmax or linear, got relu"), tostring(err))
  T.check_error("y: label 1 (1-based position) is 7", wb.hessian.hvp, m,
    {x = data.x, y = data.y:clone():fill(7)}, v)
  local big = wb.nn.Sequential{wb.nn.Dense(100, 60, {activation = "softmax"})}
  T.check_error("full: the model has 6060 parameters, more than 5000", wb.hessian.full,
    big, {x = wb.rand(2, 100), y = wb.new_tensor({2}, "uint8")})
  local lua_layer = {forward = function(_, x) return x end}
  T.check_error("layer 1: table is not supported by wb.hessian", wb.hessian.hvp,
    wb.nn.Sequential{lua_layer, wb.nn.Dense(12, 3)}, data, v)
end)

T.test("curvature measurements never draw from the global generator (training unchanged)",
  function()
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "tanh"}),
    wb.nn.Dense(3, 2, {activation = "softmax"})}
  local x, y = wb.rand(16, 4), wb.tensor({0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0})
  wb.seed(42); local a = wb.rand(1, 5):totable()[1]
  wb.seed(42)
  wb.hessian.eigs(m, {x = x, y = y}, {k = 2})
  wb.hessian.trace(m, {x = x, y = y}, {probes = 10})
  wb.hessian.density(m, {x = x, y = y}, {steps = 5, probes = 2})
  local b = wb.rand(1, 5):totable()[1]
  for i = 1, 5 do T.eq(b[i], a[i], "the global generator is where it was") end
  local t1 = wb.hessian.trace(m, {x = x, y = y}, {probes = 10, seed = 7}).mean
  local t2 = wb.hessian.trace(m, {x = x, y = y}, {probes = 10, seed = 7}).mean
  T.eq(t1, t2, "the same seed gives the same probes")
end)

T.test("Dense then Activation('softmax') is the fused softmax head's Hessian (audit H)", function()
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = "tanh"}), wb.nn.Dense(5, 3),
    wb.nn.Activation("softmax")}
  local f = wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = "tanh"}),
    wb.nn.Dense(5, 3, {activation = "softmax"})}
  f:set_weights(m:get_weights())
  local d = {x = wb.randn(7, 6), y = wb.tensor({0, 1, 2, 0, 1, 2, 1})}
  local a = wb.hessian.full(m, d, {precision = "float64"})
  local b = wb.hessian.full(f, d, {precision = "float64"})
  T.eq((a - b):abs():max(), 0, "the same matrix, bit for bit")
  T.eq(wb.hessian.eigs(m, d, {k = 1}).values[1], wb.hessian.eigs(f, d, {k = 1}).values[1],
    "the same top eigenvalue")
  -- under mse it is still refused (the core has no softmax followed by mse)
  T.check_error("full: layer 3: a last Activation softmax is supported with cross-entropy "
    .. "only", wb.hessian.full, m, {x = d.x, y = wb.randn(7, 3)}, {loss = "mse"})
end)

T.done()
