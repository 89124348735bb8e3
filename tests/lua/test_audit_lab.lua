-- test_audit_lab.lua: a trust audit of the lab bench (wb.stats, wb.lab),
-- wb.measures, wb.landscape and wb.noise_scale as a new researcher uses
-- them. First the defects it found (each test failed before its fix):
-- silenced_accuracy left a layer's rows zeroed when evaluate raised, and it
-- and sharpness moved the global generator (a measure in a callback changed
-- the training); empty data counted every unit dead; NaN weights gave NaN or
-- a plausible wrong accuracy silently; a model without a Dense, or not
-- ending in one, gave "attempt to index a nil value"; dead_units fed the raw
-- input to a first Dense that had a layer before it; landscape's errors
-- carried a library file's line. Then agreement with numpy (/usr/bin/python3
-- at test time; skipped with a notice without it).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

-- Every parameter and gradient entry of m, and the generator's state.
local function snap(m)
  local s = {}
  local ps, gs = m:parameters()
  for _, t in ipairs(ps) do s[#s + 1] = t:clone():reshape(t:numel()):totable() end
  for _, t in ipairs(gs) do s[#s + 1] = t:clone():reshape(t:numel()):totable() end
  s.rng = wb.rng_state()
  return s
end

-- a and b (snap) are bit-for-bit equal, else an error naming what moved
local function unchanged(a, b, what)
  for i = 1, #a do
    for j = 1, #a[i] do
      if a[i][j] ~= b[i][j] then
        error(string.format("%s: tensor %d entry %d: %.9g became %.9g", what, i, j, a[i][j],
          b[i][j]), 2)
      end
    end
  end
  T.eq(b.rng, a.rng, what .. ": the generator's state")
end

-- A trained dropout model on T.linear_data (gradients left non-zero).
local function trained()
  local data = T.linear_data(120, 20, 3)
  local m = T.linear_mlp(1, {dropout = 0.3})
  m:fit(data, {epochs = 2, batch_size = 16, verbose = false})
  local x, y = data:batch(wb.measures.iota(32), 1, 32)
  wb.measures.loss_and_grads(m, x:clone(), y:clone(), true)
  return m, data
end

-- {==================== defects ====================

T.test("silenced_accuracy puts the weights back when evaluate raises", function()
  local m = trained()
  local s0 = snap(m)
  T.check_error("expected [*, 20]", wb.measures.silenced_accuracy, m,
    T.linear_data(30, 10, 3), 0.5)
  unchanged(s0, snap(m), "after the error")
end)

T.test("silenced_accuracy and sharpness leave the generator's stream as it was", function()
  local m, data = trained()
  local s0 = snap(m)
  local a = wb.measures.silenced_accuracy(m, data, 0.5, 3)
  unchanged(s0, snap(m), "silenced_accuracy")
  T.eq(wb.measures.silenced_accuracy(m, data, 0.5, 3), a, "a second call repeats the draws")
  local r = wb.measures.sharpness(m, data, 0.05, 2, 64)
  unchanged(s0, snap(m), "sharpness")
  T.eq(wb.measures.sharpness(m, data, 0.05, 2, 64), r, "sharpness again")
  wb.measures.grad_noise(m, data, 16, 64)
  unchanged(s0, snap(m), "grad_noise (its gradients too)")
end)

T.test("a measure in a training callback does not change the training", function()
  local data = T.linear_data(120, 20, 3)
  local function run(measure)
    local m = T.linear_mlp(1, {dropout = 0.3})
    local cb = {on_epoch_end = function()
      if measure then wb.measures.silenced_accuracy(m, data, 0.5, 2) end
    end}
    m:fit(data, {epochs = 3, batch_size = 16, verbose = false, seed = 4, callbacks = {cb}})
    return m.history.loss
  end
  local a, b = run(false), run(true)
  for e = 1, #a do T.eq(b[e], a[e], "epoch " .. e .. "'s loss") end
end)

T.test("empty data is refused, never 'every unit dead'", function()
  local m, data = trained()
  local empty = data:subset(1, 0)
  T.check_error("dead_units: ds: expected at least 1 row", wb.measures.dead_units, m, empty)
  T.check_error("wb.lab.dead_units: ds: expected at least 1 row", wb.lab.dead_units, m, empty)
  T.check_error("wb.lab.dead_units: n: expected an integer >= 1, got 0", wb.lab.dead_units,
    m, data, 1, 0)
  T.check_error("wb.stats: opts.data: expected at least 1 row", wb.stats, m, {data = empty})
  T.check_error("silenced_accuracy: ds: expected at least 1 row",
    wb.measures.silenced_accuracy, m, empty, 0.5)
  T.check_error("sharpness: ds: expected at least 1 row", wb.measures.sharpness, m, empty)
  T.check_error("grad_noise: ds: expected at least 1 row", wb.measures.grad_noise, m, empty, 1)
end)

T.test("NaN weights are refused by the measures; wb.stats shows them, counts no dead", function()
  local m, data = trained()
  m[1].weight:set(1, 1, 0 / 0)
  for name, f in pairs{dead_units = function() return wb.measures.dead_units(m, data) end,
      silenced_accuracy = function() return wb.measures.silenced_accuracy(m, data, 0.5) end,
      sharpness = function() return wb.measures.sharpness(m, data) end,
      grad_noise = function() return wb.measures.grad_noise(m, data, 16) end} do
    T.check_error(name .. ": the model's parameter 1: row 1, column 1 is NaN", f)
  end
  local s = wb.stats(m, {data = data})
  T.ok(s[1].mean ~= s[1].mean, "the weight row's mean is NaN")
  T.eq(s[1].dead, nil, "dead units through a NaN layer")
  T.check_error("sharpness: eps: expected a finite number >= 0, got",
    wb.measures.sharpness, trained(), data, 0 / 0)
end)

T.test("a model without a Dense, or not ending in one, gets an error naming it", function()
  local data = T.linear_data(20, 20, 3)
  local nod = wb.nn.Sequential{wb.nn.Dropout(0.2)}
  T.check_error("dead_units: model: expected at least 1 Dense layer, got 0",
    wb.measures.dead_units, nod, data)
  local tail = wb.nn.Sequential{wb.nn.Dense(20, 3), wb.nn.Dropout(0.2)}
  T.check_error("sharpness: model: expected a Dense last layer", wb.measures.sharpness,
    tail, data)
  T.check_error("grad_noise: model: expected a Dense last layer", wb.measures.grad_noise,
    tail, data, 4)
end)

T.test("dead_units passes the input through the layers before the first Dense", function()
  -- sigmoid(0) = 0.5: unit 1 (w = 1, b = -0.25) is alive after it, dead on the
  -- raw zeros; unit 2 (w = -1, b = -0.25) is dead either way
  local m = wb.nn.Sequential{wb.nn.Activation("sigmoid"),
    wb.nn.Dense(1, 2, {activation = "relu"}), wb.nn.Dense(2, 2, {activation = "softmax"})}
  m[1 + 1].weight:copy(wb.tensor{{1, -1}})
  m[2].bias:copy(wb.tensor{-0.25, -0.25})
  local y = wb.new_tensor({4}, "uint8")
  local ds = wb.data.Dataset(wb.zeros(4, 1), y, "zeros")
  T.eq(wb.measures.dead_units(m, ds), 1)
  T.eq(wb.lab.dead_units(m, ds, 1), 1)
end)

T.test("landscape's data errors name the data, not a library file's line", function()
  local m, data = trained()
  local d = wb.landscape.direction(m:get_weights())
  local err = T.check_error("slice: data: expected at least 1 row", wb.landscape.slice, m,
    data:subset(1, 0), {dirs = {d}, points = 3})
  T.ok(not err:find("%.lua:%d+: [^\n]*%.lua:%d+:"), err)
  local x, y = data:batch(wb.measures.iota(10), 1, 10)
  err = T.check_error("slice: data.y: expected 10 labels (one per row of x), got 9",
    wb.landscape.slice, m, {x = x:clone(), y = y:rows(1, 9):clone()}, {dirs = {d}, points = 3})
  T.ok(not err:find("landscape_eval"), err)
end)

T.test("noise_scale: labels not one per row, an infinite run: errors naming them", function()
  local m, data = trained()
  local x, y = data.images, data.labels
  T.check_error("noise: argument #2: expected one label per row of x (4), got 3",
    wb.noise_scale.noise, m, {x = x:rows(1, 4), y = y:rows(1, 3)}, data,
    {x = x:rows(21, 40), y = y:rows(21, 40)})
  T.check_error("noise: argument #3: expected one label per row of x (16), got 15",
    wb.noise_scale.noise, m, {x = x:rows(1, 4), y = y:rows(1, 4)},
    {x = x:rows(5, 20), y = y:rows(5, 19)}, {x = x:rows(21, 40), y = y:rows(21, 40)})
  T.check_error("simple: argument #3: expected one label per row of x (40), got 39",
    wb.noise_scale.simple, m, x:rows(1, 40), y:rows(1, 39), {small = 10})
  T.check_error("fit_tradeoff: run 1: expected S > 0 and E > 0 (finite), got inf",
    wb.noise_scale.fit_tradeoff, {math.huge, 20, 11}, {110, 200, 1100})
end)

T.test("direction's seed and track's data are checked where they are given", function()
  local m, data = trained()
  T.check_error("direction: opts.seed: expected an integer, got 1.5", wb.landscape.direction,
    m:get_weights(), {seed = 1.5})
  T.check_error("direction: opts.seed: expected an integer, got string",
    wb.landscape.direction, m:get_weights(), {seed = "a"})
  T.eq(#wb.landscape.direction(m:get_weights(), {seed = 2.0}), 4, "2.0 is 2")
  T.check_error("track: data: expected at least 1 row", wb.measures.track,
    {data = data:subset(1, 0)})
end)

T.test("a whole float is its integer in the lab's options (layer = 1.0, units = n / 2)",
  function()
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(784, 32, {activation = "relu"}),
    wb.nn.Dense(32, 10, {activation = "softmax"})}
  T.eq(tostring(wb.lab.weight_grid(m, {layer = 1.0, units = 32 / 2, cols = 4.0})),
    tostring(wb.lab.weight_grid(m, {layer = 1, units = 16, cols = 4})))
  T.eq(tostring(wb.lab.compare_weights({m}, 2.0)), tostring(wb.lab.compare_weights({m}, 2)))
  local d = wb.data.mnist().test:subset(1, 20) -- n counts its rows (alone: an error, audB B6)
  T.eq(wb.stats(m, {data = d, n = 2.0})[1].dead, wb.stats(m, {data = d, n = 2})[1].dead)
  T.check_error("opts.layer: a positive integer expected, got number 1.5",
    wb.lab.weight_grid, m, {layer = 1.5})
end)

T.test("uint8 pixels are divided by 255 as evaluate does, not refused or taken raw", function()
  local m = T.linear_mlp(2)
  local xu, y = wb.new_tensor({40, 20}, "uint8"), wb.new_tensor({40}, "uint8")
  for i = 1, 40 do
    y:set(i, i % 3)
    for j = 1, 20 do xu:set(i, j, (i * 37 + j * 11) % 256) end
  end
  local xf = wb.data.Dataset(xu, y, "u"):batch(wb.measures.iota(40), 1, 40):clone()
  T.eq(wb.noise_scale.simple(m, xu, y, {small = 8}).per_sample.b_simple,
    wb.noise_scale.simple(m, xf, y, {small = 8}).per_sample.b_simple, "B_simple")
  local function noise(x)
    return wb.noise_scale.noise(m, {x = x:rows(1, 8), y = y:rows(1, 8)},
      {x = x:rows(9, 24), y = y:rows(9, 24)}, {x = x:rows(25, 40), y = y:rows(25, 40)}).b_noise
  end
  T.eq(noise(xu), noise(xf), "B_noise")
  T.eq(wb.measures.loss_and_grads(m, xu, y), wb.measures.loss_and_grads(m, xf, y), "loss")
end)

-- }====================

-- {==================== against numpy ====================

local numpy_py = T.python_with("numpy")

-- Float32 weights and data rounded to 14 digits by JSON, which numpy casts
-- back to the same float32 values, then computes in float64.
T.test("numpy: stats, dead units, grad_noise, B_simple, a slice's loss, trajectory", function()
  if not numpy_py then T.missing("python3-numpy") end
  local m, data = trained()
  local x, y = data:batch(wb.measures.iota(64), 1, 64)
  x, y = x:clone(), y:clone()
  local ws = {}
  for i, w in ipairs(m:get_weights()) do ws[i] = w:totable() end
  local d = wb.landscape.direction(m:get_weights(), {seed = 3})
  local dt = {}
  for i, t in ipairs(d) do dt[i] = t:totable() end
  local got = {stats = {}, dead = wb.measures.dead_units(m, data, 64),
    noise = wb.measures.grad_noise(m, data, 16, 64),
    simple = wb.noise_scale.simple(m, x, y, {small = 16}).per_sample,
    slice = wb.landscape.slice(m, {x = x, y = y}, {dirs = {d}, points = 3, range = {-0.5, 0.5}})}
  for i, r in ipairs(wb.stats(m)) do
    got.stats[i] = {r.mean, r.std, r.min, r.max, r.norm, r.near_zero}
  end
  local pts = {}
  for k = 1, 4 do
    local w = m:get_weights()
    for i = 1, #w do w[i] = w[i] + d[i] * (k * k * 0.1) + w[i] * (0.05 * k) end
    pts[k] = w
  end
  local tr = wb.landscape.trajectory(pts)
  local ptab = {}
  for k, w in ipairs(pts) do
    ptab[k] = {}
    for i, t in ipairs(w) do ptab[k][i] = t:totable() end
  end
  local dir = T.tmpdir()
  util.write_file(dir .. "/in.json", util.encode_json{w = ws, x = x:totable(), y = y:totable(),
    d = dt, pts = ptab})
  util.write_file(dir .. "/p.py", [==[
import sys, json
import numpy as np
j = json.load(open(sys.argv[1]))
f = lambda a: np.array(a, np.float32).astype(np.float64)
W1, b1, W2, b2 = [f(a) for a in j["w"]]
X, Y = f(j["x"]), np.array(j["y"], int)
def fwd(ps, X):
    h = np.maximum(X @ ps[0] + ps[1], 0)
    z = h @ ps[2] + ps[3]
    z = z - z.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return h, p
def loss(ps, X, Y):
    return -np.log(fwd(ps, X)[1][np.arange(len(Y)), Y]).mean()
def grads(ps, X, Y):  # per-example gradients, flattened: [n, P]
    h, p = fwd(ps, X)
    dz = p.copy(); dz[np.arange(len(Y)), Y] -= 1
    dh = (dz @ ps[2].T) * (h > 0)
    return np.concatenate([np.einsum("ni,nj->nij", X, dh).reshape(len(Y), -1), dh,
                           np.einsum("ni,nj->nij", h, dz).reshape(len(Y), -1), dz], 1)
ps = [W1, b1, W2, b2]
out = {"stats": [[a.mean(), a.std(), a.min(), a.max(), np.sqrt((a * a).sum()),
                  (np.abs(a) < 1e-3).mean()] for a in ps]}
out["dead"] = int(((np.maximum(X @ W1 + b1, 0) > 0).sum(0) == 0).sum())
g = grads(ps, X, Y)
full = g.mean(0)
out["noise"] = np.mean([((g[b*16:(b+1)*16].mean(0) - full) ** 2).sum() for b in range(4)])
n = len(Y)
sum_sq, mean_sq = (g * g).sum(), (full * full).sum()
trace = (sum_sq - n * mean_sq) / (n - 1)
out["trace"], out["g2"] = trace, mean_sq - trace / n
D = [f(a) for a in j["d"]]
out["slice"] = [loss([p + a * dd for p, dd in zip(ps, D)], X, Y) for a in (-0.5, 0, 0.5)]
P = np.array([np.concatenate([f(a).ravel() for a in pt]) for pt in j["pts"]])
C = P[:-1] - P[-1]
C = C - C.mean(0)
s = np.linalg.svd(C, compute_uv=False) ** 2
out["explained"] = list(s / s.sum())
print(json.dumps(out))
]==])
  local st, o, err = T.sh(numpy_py .. " " .. dir .. "/p.py " .. dir .. "/in.json")
  T.eq(st, 0, err)
  local want = require("cjson").decode(o)
  for i, r in ipairs(want.stats) do
    for k, v in ipairs(r) do T.near(got.stats[i][k], v, 1e-6 * (1 + math.abs(v)), "stats " .. i) end
  end
  T.eq(got.dead, want.dead, "dead units")
  T.near(got.noise, want.noise, 1e-5 * want.noise, "grad_noise")
  T.near(got.simple.trace, want.trace, 1e-4 * math.abs(want.trace), "tr(Sigma)")
  T.near(got.simple.g2, want.g2, 1e-4 * math.abs(want.trace), "|G|^2")
  for i = 1, 3 do T.near(got.slice.loss[i], want.slice[i], 1e-5, "slice point " .. i) end
  for i = 1, 3 do T.near(tr.explained[i], want.explained[i], 1e-5, "explained " .. i) end
end)

-- }====================

T.done()
