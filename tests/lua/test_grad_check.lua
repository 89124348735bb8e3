-- test_grad_check.lua: fit checks a loss function's hand-written gradient
-- on its first batch against central differences of its value, and a Lua
-- layer's backward against its forward (wb/grad_check.lua). Wrong ones (a missing 1 / n, a flipped sign,
-- zeros) are errors naming the slopes; right ones pass under softmax,
-- linear and tanh heads, at batch 1 and a whole small set, also a gradient
-- that differs by a constant per row under a softmax (which drops it) and
-- the built-in losses given as functions (hinge's kinks); grad_check =
-- false skips the check; the check changes nothing of the training. Lua
-- layers: a wrong input or parameter gradient is an error, right ones (with
-- a dropout of their own, a running mean they update) pass and are left as
-- they were.
local T = dofile("tests/lua/harness.lua")

wb.seed(5)
local X = wb.rand(64, 20)
local Y = wb.new_tensor({64}, "uint8")
for i = 1, 64 do Y:set(i, (i * 7) % 10) end

local function model(act)
  wb.seed(1)
  return wb.nn.Sequential{wb.nn.Dense(20, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = act or "softmax"})}
end

local function onehot(y, n)
  local t = wb.zeros(n, 10)
  for i = 1, n do t:set(i, y:get(i) + 1, 1) end
  return t
end

-- cross-entropy of probabilities, its gradient times k (1: right)
local function ce(k)
  return function(o, y)
    local n = o:shape()[1]
    local t, p = onehot(y, n), o:clamp(1e-7, 1)
    return -(t * p:log()):sum() / n, (t / p) * (-k / n)
  end
end

local function mse(k)
  return function(o, y)
    local n = o:shape()[1]
    local e = o - onehot(y, n)
    return (e * e):sum() / (n * 10), e * (2 * k / (n * 10))
  end
end

local function fit(act, loss, o)
  local m = model(act)
  o = o or {}
  o.loss, o.epochs, o.verbose = loss, o.epochs or 1, false
  return m:fit(X, Y, o), m
end

T.test("a gradient n times too large, of flipped sign or zero: an error naming why", function()
  -- (before: each trained without a word; 32 times the gradient is another
  -- learning rate, a flipped sign climbs the loss)
  T.check_error("fit: the loss function's gradient does not match its value on the first "
    .. "batch (32 rows): 250 of the 250 entries checked disagree", fit, "softmax", ce(32))
  T.check_error("the gradient is 32 (the batch size) times too large: a mean over rows needs "
    .. "its 1 / n", fit, "softmax", ce(32))
  T.check_error("the gradient is 32 (the batch size) times too large", fit, "linear", mse(32))
  T.check_error("the gradient's sign is flipped", fit, "tanh", mse(-1))
  T.check_error("entries checked disagree .* but the gradient is 0;", fit,
    "softmax", function(o, y) local v = ce(1)(o, y); return v, o * 0 end)
  T.check_error("(a gradient that is a surrogate on purpose: fit{grad_check = false})", fit,
    "softmax", ce(-1))
end)

T.test("right gradients pass: heads, batch sizes, a per-row constant under softmax, built-ins",
  function()
  for _, bs in ipairs{1, 32, 64} do
    fit("softmax", ce(1), {batch_size = bs})
    fit("linear", mse(1), {batch_size = bs})
    fit("tanh", mse(1), {batch_size = bs})
    fit("linear", wb.losses.hinge, {batch_size = bs})
    fit("linear", wb.losses.squared_hinge, {batch_size = bs})
    fit("softmax", wb.losses.categorical_crossentropy, {batch_size = bs})
  end
  -- the value divides each row by its sum, the gradient ignores it: they
  -- differ by a constant per row, which the softmax's backward drops
  local function normalised(o, y)
    local n = o:shape()[1]
    local t = onehot(y, n)
    local p = (o:t() / o:t():sum(1)):t():clamp(1e-7, 1)
    return -(t * p:log()):sum() / n, (t / o:clamp(1e-7, 1)) * (-1 / n)
  end
  fit("softmax", normalised)
  T.check_error("does not match its value", fit, "sigmoid", normalised) -- not dropped there
end)

T.test("grad_check = false trains a surrogate gradient; the check changes no number", function()
  local h = fit("softmax", ce(-1), {grad_check = false}) -- a surrogate, on purpose
  T.eq(#h.loss, 1)
  T.check_error("fit: grad_check must be true or false, got no", fit, "softmax", ce(1),
    {grad_check = "no"})
  -- the check draws its random direction from a generator it puts back
  local h1, m1 = fit("softmax", ce(1), {epochs = 2, seed = 3})
  local after1 = wb.rand(4)
  local h2, m2 = fit("softmax", ce(1), {epochs = 2, seed = 3, grad_check = false})
  local after2 = wb.rand(4)
  T.eq(h1.loss[2], h2.loss[2])
  T.eq(h1.accuracy[2], h2.accuracy[2])
  T.eq(wb.io._hash(m1[2].weight), wb.io._hash(m2[2].weight), "weights bit for bit")
  T.eq(wb.io._hash(after1), wb.io._hash(after2), "the global generator where it was")
end)

-- {==================== Lua layers ====================

-- y = x W + b, a Lua layer; wrong: which gradient it gets wrong.
local function Affine(n_in, n_out, wrong)
  local L = {W = wb.randn(n_in, n_out) * 0.3, b = wb.zeros(n_out), calls = 0}
  L.gW, L.gb = wb.zeros(n_in, n_out), wb.zeros(n_out)
  function L:forward(x) self.calls = self.calls + 1; return wb.matmul(x, self.W) + self.b end
  function L:backward(x, g, need)
    local gW = wb.matmul(x:t(), g)
    self.gW:copy(self.gW + (wrong == "W" and gW * 2 or gW))
    self.gb:copy(self.gb + g:sum(1))
    if need then return wrong == "x" and wb.matmul(g, self.W) * -1 or wb.matmul(g, self.W:t()) end
  end
  function L:parameters() return {self.W, self.b}, {self.gW, self.gb} end
  function L:zero_grad() self.gW:fill(0); self.gb:fill(0) end
  return L
end

-- A dropout of its own (draws from wb's generator) with a running mean of
-- its inputs (state forward changes).
local function MyDropout(p)
  local L = {p = p, running = {mean = wb.zeros(1)}}
  function L:forward(x, training)
    if not training then return x end
    local u = wb.rand(x:numel())
    local keep = {}
    for i = 1, x:numel() do keep[i] = u:get(i) >= self.p and 1 / (1 - self.p) or 0 end
    self.mask = wb.tensor(keep):reshape(table.unpack(x:shape()))
    self.running.mean:copy(self.running.mean * 0.9 + wb.tensor({x:mean() * 0.1}))
    return x * self.mask
  end
  function L:backward(_, g, need) if need then return g * self.mask end end
  function L:parameters() return {}, {} end
  function L:zero_grad() end
  return L
end

local function lua_model(layer)
  wb.seed(2)
  return wb.nn.Sequential{wb.nn.Dense(20, 12, {activation = "tanh"}), layer,
    wb.nn.Dense(12, 10, {activation = "softmax"})}
end

T.test("a Lua layer whose backward is wrong: an error naming the layer and the gradient",
  function()
  -- (before: it trained, to other numbers than the model's)
  local m = lua_model(Affine(12, 12, "x"))
  T.check_error("fit: layer 2 (a Lua layer): its backward does not match its forward on the "
    .. "first batch (32 rows): the gradient w.r.t. its input, 252 of the 252 entries checked "
    .. "disagree",
    m.fit, m, X, Y, {epochs = 1, verbose = false})
  m = lua_model(Affine(12, 12, "W"))
  T.check_error("the gradient of its parameter 1 (W), 144 of the 144 entries checked", m.fit, m,
    X, Y, {epochs = 1, verbose = false})
  T.eq(#m:fit(X, Y, {epochs = 1, verbose = false, grad_check = false}).loss, 1)
end)

T.test("right Lua layers pass and are left as they were: parameters, fields, generator",
  function()
  local a = Affine(12, 12)
  local m = lua_model(a)
  local W0 = wb.io._hash(a.W)
  local r0 = wb.rng_state()
  require("wb.grad_check").layers(m, wb.data.Dataset(X, Y), 32)
  T.eq(wb.io._hash(a.W), W0, "weights put back")
  T.eq(a.calls, 0, "its fields as they were")
  T.eq(wb.io._hash(a.gW), wb.io._hash(wb.zeros(12, 12)), "gradients zero")
  T.eq(wb.io._hash(wb.rand(3)), (function() wb.set_rng_state(r0); return wb.io._hash(wb.rand(3)) end)())
  local d = MyDropout(0.3)
  m = lua_model(d)
  local before = wb.io._hash(d.running.mean)
  require("wb.grad_check").layers(m, wb.data.Dataset(X, Y), 16)
  T.eq(wb.io._hash(d.running.mean), before, "a nested running mean put back")
  T.eq(d.mask, nil, "a field forward set is gone again")
  -- and training with the check is training without it, bit for bit
  local function run(check)
    wb.seed(9)
    local mm = lua_model(Affine(12, 12))
    local h = mm:fit(X, Y, {epochs = 2, seed = 4, verbose = false, grad_check = check})
    return h.loss[2], wb.io._hash(mm[2].W)
  end
  -- a layer with forward and backward alone (parameters, zero_grad optional)
  local Bare = {forward = function(_, x) return x * 2 end, backward = function(_, _, g)
    return g * 2 end}
  T.eq(#lua_model(Bare):fit(X, Y, {epochs = 1, verbose = false}).loss, 1)
  -- a model inside a model (a Lua table too), Dropout within: checked, left as it was
  local function nested(check)
    wb.seed(1)
    local inner = wb.nn.Sequential{wb.nn.Dense(20, 8, {activation = "tanh"}),
      wb.nn.Dropout(0.2), wb.nn.Dense(8, 6, {activation = "relu"})}
    local mm = wb.nn.Sequential{inner, wb.nn.Dense(6, 10, {activation = "softmax"})}
    local h = mm:fit(X, Y, {epochs = 2, seed = 5, verbose = false, grad_check = check})
    return h.loss[2], wb.io._hash(inner[1].weight)
  end
  local n1, v1 = nested(true)
  local n2, v2 = nested(false)
  T.eq(n1, n2)
  T.eq(v1, v2)
  local l1, w1 = run(true)
  local l2, w2 = run(false)
  T.eq(l1, l2)
  T.eq(w1, w2)
end)

-- }====================

T.done()
