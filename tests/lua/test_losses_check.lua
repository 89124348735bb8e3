-- test_losses_check.lua: fit checks a loss function's hand-written gradient
-- on its first batch against central differences of its value
-- (wb/losses_check.lua). Wrong ones (a missing 1 / n, a flipped sign,
-- zeros) are errors naming the slopes; right ones pass under softmax,
-- linear and tanh heads, at batch 1 and a whole small set, also a gradient
-- that differs by a constant per row under a softmax (which drops it) and
-- the built-in losses given as functions (hinge's kinks); loss_check =
-- false skips the check; the check changes nothing of the training.
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
    .. "batch: along the gradient's direction u", fit, "softmax", ce(32))
  T.check_error("the gradient is 32 (the batch size) times too large: a mean over rows needs "
    .. "its 1 / n", fit, "softmax", ce(32))
  T.check_error("the gradient is 32 (the batch size) times too large", fit, "linear", mse(32))
  T.check_error("the gradient's sign is flipped", fit, "tanh", mse(-1))
  T.check_error("along a random direction u, .* but sum%(grad_output %* u%) = 0 ", fit,
    "softmax", function(o, y) local v = ce(1)(o, y); return v, o * 0 end)
  T.check_error("(a gradient that is a surrogate on purpose: fit{loss_check = false})", fit,
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

T.test("loss_check = false trains a surrogate gradient; the check changes no number", function()
  local h = fit("softmax", ce(-1), {loss_check = false}) -- a surrogate, on purpose
  T.eq(#h.loss, 1)
  T.check_error("fit: loss_check must be true or false, got no", fit, "softmax", ce(1),
    {loss_check = "no"})
  -- the check draws its random direction from a generator it puts back
  local h1, m1 = fit("softmax", ce(1), {epochs = 2, seed = 3})
  local after1 = wb.rand(4)
  local h2, m2 = fit("softmax", ce(1), {epochs = 2, seed = 3, loss_check = false})
  local after2 = wb.rand(4)
  T.eq(h1.loss[2], h2.loss[2])
  T.eq(h1.accuracy[2], h2.accuracy[2])
  T.eq(wb.io._hash(m1[2].weight), wb.io._hash(m2[2].weight), "weights bit for bit")
  T.eq(wb.io._hash(after1), wb.io._hash(after2), "the global generator where it was")
end)

T.done()
