-- test_audit_curv.lua: an audit of wb.hessian, wb.instruments (per_sample,
-- Cockpit's statistics, fit's instruments) on what test_hessian.lua and
-- test_instruments*.lua leave out. First the defects it found (each test
-- failed before its fix): non-finite data, vectors or weights gave NaN
-- silently; mse refused a dataset's labels; out-of-range counts were
-- wrapped or misnamed; per_sample's errors named forward and a library
-- file, or ignored options. Then agreement with PyTorch in float64
-- (/usr/bin/python3 with torch, Debian's python3-torch, at test time; skipped
-- with a notice without it): H v, the explicit Hessian's eigenvalues
-- (numpy's eigh) and trace, per-sample norms, Gram matrix and sums of
-- squares, and fit's instruments at step 1, on deeper chains, layers
-- without bias, L2 on every layer, Activation layers, every activation,
-- a batch of one row, rows mixing zeros (the sparse path) and dense ones,
-- mse with a non-linear last layer.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"

local function small()
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "tanh"}),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  local x = wb.randn(6, 5)
  local y = wb.new_tensor({6}, "uint8")
  for i = 1, 6 do y:set(i, i % 3) end
  return m, x, y
end

-- pcall(f, ...) must fail with a wb.Error of code ENONFINITE whose message
-- contains text
local function nonfinite(text, f, ...)
  local ok, err = pcall(f, ...)
  T.ok(not ok, "expected an error naming " .. text .. ", got none")
  T.ok(wb.is_error(err) and err.code == "ENONFINITE", "code: " .. tostring(err))
  T.ok(tostring(err):find(text, 1, true), tostring(err))
end

-- {==================== defects ====================

T.test("non-finite x, y, v or weights are refused naming where, not NaN products", function()
  local m, x, y = small()
  local v = m:get_weights()
  local xn = x:clone(); xn:set(2, 3, 0 / 0)
  nonfinite("hvp: x: row 2, column 3 is NaN", wb.hessian.hvp, m, {x = xn, y = y}, v)
  local xi = x:clone(); xi:set(4, 1, 1 / 0)
  nonfinite("eigs: x: row 4, column 1 is inf", wb.hessian.eigs, m, {x = xi, y = y})
  nonfinite("trace: x: row 4", wb.hessian.trace, m, {x = xi, y = y})
  nonfinite("density: x: row 4", wb.hessian.density, m, {x = xi, y = y})
  nonfinite("full: x: row 4", wb.hessian.full, m, {x = xi, y = y})
  local bad = v[3]:clone(); bad:set(1, 2, 0 / 0)
  nonfinite("hvp: v: tensor 3: row 1, column 2 is NaN", wb.hessian.hvp, m, {x = x, y = y},
    {v[1], v[2], bad, v[4]})
  nonfinite("hvps: vs[2]: tensor 3", wb.hessian.hvps, m, {x = x, y = y}, {v, {v[1], v[2],
    bad, v[4]}})
  nonfinite("eigs: v0: tensor 3", wb.hessian.eigs, m, {x = x, y = y}, {v0 = {v[1], v[2],
    bad, v[4]}})
  local t = wb.randn(6, 3); t:set(5, 2, -1 / 0)
  nonfinite("hvp: y: row 5, column 2 is -inf", wb.hessian.hvp,
    wb.nn.Sequential{wb.nn.Dense(5, 3)}, {x = x, y = t}, {wb.zeros(5, 3), wb.zeros(3)},
    {loss = "mse"})
  nonfinite("per_sample: x: row 2, column 3 is NaN", wb.instruments.per_sample, m, xn, y)
  -- huge but finite inputs are data (saturated units), not refused
  T.ok(wb.hessian.hvp(m, {x = x * 1e30, y = y}, v))
  -- finite inputs whose loss overflows: an error, not NaN or infinite results
  local lin = wb.nn.Sequential{wb.nn.Dense(5, 3, {activation = "softmax"})}
  lin:set_weights{wb.ones(5, 3), wb.zeros(3)} -- logits 5 * 3e38: infinite
  nonfinite("hvp: the result is not finite", wb.hessian.hvp, lin, {x = x:clone():fill(3e38),
    y = y}, lin:get_weights())
  nonfinite("per_sample: the statistics are not finite", wb.instruments.per_sample, lin,
    x:clone():fill(1e19), y) -- finite logits, squared norms past float32
  local w = m:get_weights(); w[1]:set(1, 1, 0 / 0); m:set_weights(w)
  nonfinite("hvp: the model's parameter 1: row 1, column 1 is NaN", wb.hessian.hvp, m,
    {x = x, y = y}, v)
  nonfinite("per_sample: the model's parameter 1", wb.instruments.per_sample, m, x, y)
end)

T.test("mse takes class ids (a dataset's labels) as fit does: one-hot targets", function()
  wb.seed(4)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "sigmoid"}), wb.nn.Dense(4, 3)}
  local x, ids = wb.randn(7, 5), wb.tensor{0, 2, 1, 1, 0, 2, 2}
  local hot = wb.zeros(7, 3)
  for i = 1, 7 do hot:set(i, math.tointeger(ids:get(i)) + 1, 1) end
  local v = m:get_weights()
  local a = wb.hessian.hvp(m, {x = x, y = ids}, v, {loss = "mse"})
  local b = wb.hessian.hvp(m, {x = x, y = hot}, v, {loss = "mse"})
  for k = 1, #b do T.eq((a[k] - b[k]):norm(), 0, "tensor " .. k) end
  local ds = wb.data.mnist().test:subset(1, 6)
  local lm = wb.nn.Sequential{wb.nn.Dense(784, 10)}
  local tr = wb.hessian.trace(lm, ds, {loss = "mse", probes = 4})
  T.ok(tr.mean > 0, "a linear model's mse Hessian is positive semi-definite")
  T.check_error("hvp: y: label 3 (1-based position) is 5, expected an integer in 0..2",
    wb.hessian.hvp, m, {x = x, y = wb.tensor{0, 2, 5, 1, 0, 2, 2}}, v, {loss = "mse"})
end)

T.test("counts: k above the parameters, C int overflow, no rows, no layers", function()
  local m, x, y = small()
  local d = {x = x, y = y}
  T.check_error("eigs: k: expected at most 39 (the model's parameters), got 40",
    wb.hessian.eigs, m, d, {k = 40})
  -- a k over 100 was blamed on the max_iter the user never gave
  T.check_error("eigs: k: expected at most 39 (the model's parameters), got 101",
    wb.hessian.eigs, m, d, {k = 101})
  local big = wb.nn.Sequential{wb.nn.Dense(5, 24, {activation = "tanh"}), wb.nn.Dense(24, 3)}
  T.eq(#wb.hessian.eigs(big, d, {k = 110, loss = "mse"}).values, 110, "k > 100 without max_iter")
  T.check_error("eigs: k: expected at most 15 (the parameters of layer 2), got 16",
    wb.hessian.eigs, m, d, {k = 16, layer = 2, max_iter = 20})
  -- 2^32 + 2 probes were 2 in C: a trace from two probes, silently
  T.check_error("trace: probes: expected at most 2147483647, got 4294967298",
    wb.hessian.trace, m, d, {probes = 2 ^ 32 + 2})
  T.check_error("eigs: k: expected at most 2147483647", wb.hessian.eigs, m, d,
    {k = 2 ^ 32 + 1, max_iter = 2 ^ 31 - 1})
  T.check_error("hvp: x: expected [n, ...] with n >= 1", wb.hessian.hvp, m,
    {x = wb.zeros(0, 5), y = wb.new_tensor({0}, "uint8")}, m:get_weights())
  T.check_error("hvp: model: expected at least one layer", wb.hessian.hvp,
    wb.nn.Sequential{}, d, {})
  T.check_error("eigs: v0: expected a list of 4 tensors", wb.hessian.eigs, m, d,
    {v0 = {wb.zeros(2)}})
end)

T.test("per_sample: errors name it and the argument, before any work; no options", function()
  local m, x, y = small()
  local ps = wb.instruments.per_sample
  T.check_error("per_sample: y: expected labels [6] (one per row of x), got [5]", ps, m, x,
    y:rows(1, 5))
  T.check_error("per_sample: y: label 6 (1-based position) is 7, expected an integer in 0..2",
    ps, m, x, wb.tensor{0, 1, 2, 0, 1, 7})
  T.check_error("per_sample: x: expected a float32 tensor [B, features] with B >= 1, got "
    .. "float32 [0, 5]", ps, m, wb.zeros(0, 5), wb.new_tensor({0}, "uint8"))
  local err = T.check_error("per_sample: layer 1 (Dense 5->4): input: expected [*, 5]", ps,
    m, wb.randn(6, 7), y)
  T.ok(not err:find("losses.lua", 1, true), err)
  -- loss = "mse" was ignored: cross-entropy statistics came back
  T.check_error("bad argument #4 to 'per_sample' (no options", ps, m, x, y, {loss = "mse"})
  local _, g = m:parameters()
  T.eq(g[1]:norm(), 0, "the gradients untouched")
end)

T.test("Cockpit's statistics check their arguments (were 'attempt to compare')", function()
  local I = wb.instruments
  T.check_error("bad argument #1 to 'norm_test' (number expected, got string)", I.norm_test,
    "32", 1, 1)
  T.check_error("bad argument #3 to 'inner_test' (number expected, got nil)", I.inner_test,
    32, 1)
  T.check_error("bad argument #4 to 'ortho_test' (number expected, got nil)", I.ortho_test,
    32, 1, 1)
  T.check_error("bad argument #2 to 'alpha' (number expected, got nil)", I.alpha, 1)
  T.check_error("bad argument #9 to 'alpha' (number expected, got nil)", I.alpha, 1, 1, 0,
    -2, 0, 1, 1, 1)
  T.eq(I.alpha(1, 1, 0, -2, 0, 1, 1, 1, 1), 0, "the documented example")
end)

T.test("landscape and noise_scale: a nil model, NaN directions, NaN parts are named", function()
  local m, x, y = small()
  local d1 = wb.landscape.direction(m:get_weights())
  -- was "attempt to index a nil value (local 'model')"
  T.check_error("bad argument #1 to 'slice' (wb.Sequential expected, got nil)",
    wb.landscape.slice, nil, {x = x, y = y}, {dirs = {d1}})
  -- was the walker's SGD step refusing "gradient 1" with "no parameter was updated"
  local bad = d1[1]:clone(); bad:set(2, 1, 0 / 0)
  nonfinite("slice: direction 1: argument #3: tensor 1: row 2, column 1 is NaN",
    wb.landscape.slice, m, {x = x, y = y}, {dirs = {{bad, d1[2], d1[3], d1[4]}}, points = 3})
  nonfinite("interpolate: argument #4: tensor 1", wb.landscape.interpolate, m, {x = x, y = y},
    m:get_weights(), {bad, d1[2], d1[3], d1[4]})
  -- a NaN norm gave b_simple = math.huge, the mark of a noise-dominated batch
  local r = wb.noise_scale.two_batch(1, 0 / 0, 10, 2)
  T.ok(r.b_simple ~= r.b_simple, "b_simple NaN, got " .. tostring(r.b_simple))
  r = wb.noise_scale.b_noise(4, 0 / 0, 1)
  T.ok(r.b_noise ~= r.b_noise, "b_noise NaN, got " .. tostring(r.b_noise))
  T.eq(wb.noise_scale.two_batch(1, 11, 10, 2).b_simple, 10, "the documented example")
end)

T.test("fit's every takes a whole float (1e3), as integer arguments do elsewhere", function()
  local m, x, y = small()
  local h = m:fit(x, y, {batch_size = 2, verbose = false, instruments = {"grad_norm"},
    every = 2e0, optimizer = wb.optim.SGD{}})
  T.eq(#h.steps.step, 2, "steps 1 and 3 of 3")
  T.eq(h.steps.step[2], 3)
  T.check_error('fit: every must be a positive integer or "log", got 1.5', m.fit, m, x, y,
    {verbose = false, instruments = {"grad_norm"}, every = 1.5})
end)

T.test("measures: counts out of range are named, not NaN, 'divide by zero' or 'all dead'",
  function()
  wb.seed(2)
  local m = wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
    wb.nn.Dense(8, 10, {activation = "softmax"})}
  local ds = wb.data.mnist().test:subset(1, 64)
  local Me = wb.measures
  T.check_error("grad_noise: batch (rows per minibatch, of n rows): expected an integer in "
    .. "1..32, got 64", Me.grad_noise, m, ds, 64, 32) -- was NaN
  T.check_error("grad_noise: batch (rows per minibatch, of n rows): expected an integer in "
    .. "1..32, got 0", Me.grad_noise, m, ds, 0, 32)   -- was 'attempt to divide by zero'
  T.check_error("sharpness: draws: expected an integer >= 1, got 0", Me.sharpness, m, ds,
    0.05, 0, 32)                                        -- was NaN
  T.check_error("silenced_accuracy: frac: expected a number in 0..1, got -1",
    Me.silenced_accuracy, m, ds, -1, 1)                 -- was an accuracy
  T.check_error("silenced_accuracy: draws: expected an integer >= 1, got 0",
    Me.silenced_accuracy, m, ds, 0.5, 0)                -- was NaN
  T.check_error("dead_units: n: expected an integer >= 1, got 0", Me.dead_units, m, ds, 0)
  T.ok(Me.grad_noise(m, ds, 32, 32) == 0, "batch = n: no noise")
end)

-- }====================
-- {==================== against PyTorch in float64 ====================

local PY = "/usr/bin/python3"
local function flat(t) return t:reshape(t:numel()):totable() end
local function tlist(ts)
  local r = {}
  for i, t in ipairs(ts) do r[i] = {shape = t:shape(), v = flat(t)} end
  return r
end
local function build(spec)
  local layers = {}
  for i, s in ipairs(spec) do
    layers[i] = s[1] == "dense" and wb.nn.Dense(s[2], s[3], {activation = s[4], bias = s[5],
      l2 = s[6]}) or s[1] == "act" and wb.nn.Activation(s[2]) or wb.nn.Dropout(s[2])
  end
  return wb.nn.Sequential(layers)
end
-- a model of spec with N(0, 0.49) weights, B rows (sparse: odd rows mostly
-- zeros), labels or N(0, 1) targets, and a random v
local function setup(spec, B, loss, sparse, seed)
  wb.seed(seed)
  local m = build(spec)
  local ws = m:get_weights()
  for _, w in ipairs(ws) do w:copy(wb.randn(table.unpack(w:shape())) * 0.7) end
  m:set_weights(ws)
  local n_in, C = spec[1][2], nil
  for i = #spec, 1, -1 do if spec[i][1] == "dense" then C = spec[i][3]; break end end
  local x = wb.randn(B, n_in)
  for i = 1, sparse and B or 0, 2 do
    for j = 1, n_in do if (i + j) % 3 ~= 0 then x:set(i, j, 0) end end
  end
  local y = loss == "mse" and wb.randn(B, C) or wb.new_tensor({B}, "uint8")
  for i = 1, loss == "mse" and 0 or B do y:set(i, (i * 5 + 1) % C) end
  return m, x, y
end

local REF = [==[
import sys, json, torch, numpy as np
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
A = {"relu": F.relu, "tanh": torch.tanh, "softsign": F.softsign, "gelu": F.gelu,
  "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"), "sigmoid": torch.sigmoid,
  "elu": F.elu, "selu": F.selu, "swish": F.silu, "linear": lambda z: z}
T = lambda t: torch.tensor(t["v"]).reshape(t["shape"])
def rows(c, p, x, y):
    k, h, spec = 0, x, c["spec"]
    for n, s in enumerate(spec):
        if s[0] == "dense":
            h = h @ p[k] + (p[k + 1] if s[4] else 0); k += 2 if s[4] else 1
            if s[3] != "softmax": h = A[s[3]](h)
        elif s[0] == "act": h = A[s[1]](h)
    if c["loss"] == "mse": return ((h - y) ** 2).mean(1)
    return F.cross_entropy(h, y.long(), reduction="none")
def l2(c, p):
    k, s_ = 0, 0
    for s in c["spec"]:
        if s[0] == "dense":
            s_ = s_ + s[5] * (p[k] ** 2).sum(); k += 2 if s[4] else 1
    return s_
cat = lambda ts: torch.cat([t.reshape(-1) for t in ts])
for line in open(sys.argv[1]):
    c = json.loads(line)
    p = [T(w).requires_grad_() for w in c["w"]]
    x = torch.tensor(c["x"]).reshape(c["xshape"]); y = torch.tensor(c["y"])
    if c["loss"] == "mse": y = y.reshape(x.shape[0], -1)
    r = rows(c, p, x, y)
    g = cat(torch.autograd.grad(r.mean() + l2(c, p), p, create_graph=True))
    H = torch.stack([cat(torch.autograd.grad(g[i], p, retain_graph=True)) for i in
        range(g.numel())]).detach().numpy()
    G = np.stack([cat(torch.autograd.grad(r[i], p, retain_graph=True)).detach().numpy()
        for i in range(x.shape[0])])
    out = {"hv": (H @ np.concatenate([t["v"] for t in c["v"]])).tolist(),
      "H": H.ravel().tolist(), "eig": np.linalg.eigvalsh((H + H.T) / 2)[::-1][:3].tolist(),
      "norms": np.linalg.norm(G, axis=1).tolist(), "gram": (G @ G.T).ravel().tolist(),
      "sum_sq": (G ** 2).sum(0).tolist()}
    gm = G.mean(0); B = x.shape[0]; g2 = gm @ gm; sq = (G ** 2).sum(); p2 = ((G @ gm) ** 2).sum()
    if B > 1:
        out["norm_test"] = ((sq - B * g2) / (B - 1) / B / g2) ** 0.5
        out["inner_test"] = ((p2 - B * g2 * g2) / (B - 1) / B / g2 ** 2) ** 0.5
        out["ortho_test"] = ((sq - p2 / g2) / (B - 1) / B / g2) ** 0.5
    out["gsnr"] = float(np.mean(gm ** 2 / ((G ** 2).mean(0) - gm ** 2 + 1e-5)))
    out["tic_trace"] = (sq / B) / (np.trace(H) + 1e-7)
    print(json.dumps(out))
]==]

-- relative error |a - b| / |b| of two lists of numbers
local function rel(a, b)
  local d, s = 0, 0
  for i = 1, #b do d, s = d + (a[i] - b[i]) ^ 2, s + b[i] ^ 2 end
  return math.sqrt(d / math.max(s, 1e-300))
end
local function cat(list)
  local out = {}
  for _, t in ipairs(list) do for _, v in ipairs(flat(t)) do out[#out + 1] = v end end
  return out
end

local CASES = {}
for i, a in ipairs{"relu", "tanh", "softsign", "gelu", "gelu_tanh", "sigmoid", "elu", "selu",
    "swish", "linear"} do
  -- three Dense, the middle one without bias, L2 on all; then mse, a non-linear last
  CASES[#CASES + 1] = {name = "deep " .. a, B = 6, seed = i, spec = {{"dense", 5, 4, a, true,
    0.01}, {"dense", 4, 3, a, false, 0.02}, {"dense", 3, 3, "softmax", true, 0.005}}}
  CASES[#CASES + 1] = {name = "mse " .. a, B = 5, seed = i, loss = "mse", spec = {{"dense", 4,
    3, a, true, 0}, {"dense", 3, 2, a, true, 0.01}}}
end
CASES[#CASES + 1] = {name = "Activation layers, a Dropout", B = 7, seed = 11, dropout = true,
  spec = {
  {"dense", 5, 4, "linear", false, 0}, {"act", "tanh"}, {"dropout", 0.5},
  {"dense", 4, 4, "linear", true, 0}, {"act", "elu"}, {"dense", 4, 3, "linear", true, 0}}}
CASES[#CASES + 1] = {name = "one row", B = 1, seed = 12, spec = {{"dense", 5, 4, "tanh", true,
  0.01}, {"dense", 4, 3, "softmax", true, 0}}}
CASES[#CASES + 1] = {name = "rows of zeros and dense rows", B = 9, seed = 13, sparse = true,
  spec = {{"dense", 6, 4, "tanh", false, 0.01}, {"dense", 4, 3, "softmax", true, 0}}}

local function against_torch()
  local lines, got = {}, {}
  for k, c in ipairs(CASES) do
    local loss = c.loss or "cross_entropy"
    local m, x, y = setup(c.spec, c.B, loss, c.sparse, c.seed)
    local v = {}
    for i, w in ipairs(m:get_weights()) do v[i] = wb.randn(table.unpack(w:shape())) end
    local d, o = {x = x, y = y}, {loss = loss, precision = "float64"}
    local r = {hv32 = cat(wb.hessian.hvp(m, d, v, {loss = loss})), hv64 = cat(wb.hessian.hvp(m,
      d, v, o)), H = flat(wb.hessian.full(m, d, o)), eig = wb.hessian.eigs(m, d, {k = 3,
      loss = loss, precision = "float64", tol = 1e-9, max_iter = 200}).values}
    if loss ~= "mse" then
      local s = wb.instruments.per_sample(m, x, y)
      r.norms, r.gram, r.sum_sq = flat(s.norms), flat(s.gram), cat(s.sum_sq)
    end
    if loss ~= "mse" and not c.dropout then -- fit's step is with the dropout masks
      local h = m:fit(x, y, {batch_size = c.B, shuffle = false, verbose = false,
        optimizer = wb.optim.SGD{lr = 0.1}, instruments = {"norm_test", "inner_test",
          "ortho_test", "gsnr", "tic_trace"}, every = 1})
      for _, n in ipairs{"norm_test", "inner_test", "ortho_test", "gsnr", "tic_trace"} do
        r[n] = h.steps[n][1]
      end
      r.method = h.instruments.hess_trace_method
    end
    got[k] = r
    lines[k] = cjson.encode{spec = c.spec, loss = loss, x = flat(x), xshape = x:shape(),
      y = flat(y:float()), w = tlist(setup(c.spec, c.B, loss, c.sparse, c.seed):get_weights()),
      v = tlist(v)}
  end
  local f = os.tmpname()
  local fh = assert(io.open(f, "w")); fh:write(table.concat(lines, "\n"), "\n"); fh:close()
  local pf = os.tmpname()
  fh = assert(io.open(pf, "w")); fh:write(REF); fh:close()
  local p = io.popen(PY .. " " .. pf .. " " .. f .. " 2>&1")
  local text = p:read("a"); p:close(); os.remove(f); os.remove(pf)
  local n = 0
  for line in text:gmatch("[^\n]+") do
    n = n + 1
    local ok, want = pcall(cjson.decode, line)
    T.ok(ok and CASES[n], "python: " .. line)
    local c, r = CASES[n], got[n]
    local function close(key, a, b, tol)
      local e = rel(type(a) == "table" and a or {a}, type(b) == "table" and b or {b})
      T.ok(e <= tol, string.format("%s, %s: relative error %.3g > %g", c.name, key, e, tol))
    end
    close("H v float32", r.hv32, want.hv, 1e-5)
    close("H v float64", r.hv64, want.hv, 1e-6)
    close("full", r.H, want.H, 1e-6)
    close("top 3 eigenvalues", r.eig, want.eig, 1e-6)
    if r.norms then
      close("norms", r.norms, want.norms, 1e-5)
      close("gram", r.gram, want.gram, 1e-5)
      close("sum_sq", r.sum_sq, want.sum_sq, 1e-5)
    end
    if r.method then
      -- one row: gsnr is g^2 / (g^2 - g^2 + 1e-5), rounding over 1e-5 (ill-posed)
      for _, k in ipairs{"norm_test", "inner_test", "ortho_test", c.B > 1 and "gsnr" or nil} do
        if want[k] then close(k, r[k], want[k], 1e-4) else T.ok(r[k] ~= r[k], k .. " NaN") end
      end
      -- tic_trace divides by the trace: exact for relu/linear chains, else Hutchinson's
      if r.method == "exact" then close("tic_trace", r.tic_trace, want.tic_trace, 1e-4) end
    end
  end
  T.eq(n, #CASES, text)
end

local TORCH_TEST = "H v, eigenvalues, per-sample statistics and fit's instruments equal "
  .. "PyTorch's (float64) on the cases the other tests leave out"
if os.execute(PY .. " -c 'import torch, numpy' 2>/dev/null") then
  T.test(TORCH_TEST, against_torch)
else
  T.test(TORCH_TEST, function() T.missing("python3-torch") end)
end

-- }====================

T.done()
