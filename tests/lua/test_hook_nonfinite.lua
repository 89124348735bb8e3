-- test_hook_nonfinite.lua: a NaN a hook of the user's writes into a weight is
-- an error at that step naming the hook, not "training diverged" an epoch
-- later (tryS F2: pixel 1 is 0 in every MNIST image, so no loss ever saw the
-- NaN its weight held, and the end-of-epoch check blamed the optimisation).
-- Fits without batch hooks of the user's make no check in their steps.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local finite = require "wb.fit_finite"

local d = wb.data.mnist()
local train = d.train:subset(1, 320) -- 10 steps of 32

local function model()
  wb.seed(1)
  return wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
end

-- fit with one Lambda hook `name` that sets weight (1, 1) of layer 1 to v at
-- step 2; returns pcall's result and the Lambda's line
local function poisoned(name, v)
  local m = model()
  local line = debug.getinfo(1, "l").currentline + 1
  local lam = wb.callbacks.Lambda{[name] = function(s) if s == 2 then
    m[1].weight:set(1, 1, v) end end}
  local ok, e = pcall(m.fit, m, train, {epochs = 1, verbose = false, callbacks = {lam}})
  return ok, e, line
end

for _, name in ipairs{"on_train_batch_end", "on_train_batch_begin"} do
  T.test(name .. ": a NaN written into an always-zero pixel's weight at step 2 is an error "
    .. "at step 2 naming the hook and the parameter, not a divergence", function()
    local ok, e, line = poisoned(name, 0 / 0)
    local msg = tostring(e)
    T.ok(not ok and not wb.fit.is_diverged(e), msg)
    T.ok(wb.is_error(e) and e.code == "ENONFINITE", msg) -- as fit's start refuses NaN weights
    T.ok(msg:find("fit: epoch 1, step 2 (batch 2 of 10), " .. name .. ": callbacks[1] "
      .. "(Lambda at tests/lua/test_hook_nonfinite.lua:" .. line .. ") wrote a non-finite "
      .. "weight: parameter 1 (layers.1.weight of layer 1 (Dense 784->16)): row 1, column 1 "
      .. "is NaN", 1, true), msg)
  end)
end

T.test("a NaN a Lua layer's forward writes into another layer's weight is named at its step",
  function()
  wb.seed(1)
  local d1 = wb.nn.Dense(784, 16, {activation = "relu"})
  local l = {n = 0}
  function l:forward(x, training)
    if training then
      self.n = self.n + 1
      if self.n == 5 then d1.weight:set(1, 1, 0 / 0) end
    end
    return x
  end
  function l:backward(_, grad_y) return grad_y end
  local m = wb.nn.Sequential{d1, l, wb.nn.Dense(16, 10, {activation = "softmax"})}
  local ok, e = pcall(m.fit, m, train, {epochs = 1, verbose = false, grad_check = false})
  local msg = tostring(e)
  T.ok(not ok and wb.is_error(e) and e.code == "ENONFINITE", msg)
  T.ok(msg:find("fit: epoch 1, step 5 (batch 5 of 10), the forward or backward pass: a Lua "
    .. "layer: layer 2 (a Lua layer) wrote a non-finite weight: parameter 1 (layers.1.weight "
    .. "of layer 1 (Dense 784->16)): row 1, column 1 is NaN", 1, true), msg)
end)

T.test("an infinity an on_epoch_end hook writes is named at its epoch", function()
  local m = model()
  local lam = wb.callbacks.Lambda{on_epoch_end = function() m[2].bias:set(3, 1 / 0) end}
  local ok, e = pcall(m.fit, m, train, {epochs = 2, verbose = false, callbacks = {lam}})
  local msg = tostring(e)
  T.ok(not ok and wb.is_error(e) and e.code == "ENONFINITE", msg)
  T.ok(msg:find("fit: epoch 1, on_epoch_end: callbacks[1] (Lambda at ", 1, true)
    and msg:find("parameter 4 (layers.2.bias of layer 2 (Dense 16->10)): element 3 is inf",
      1, true), msg)
end)

T.test("an update that overflows in a fit with a batch hook is a divergence at its step, "
  .. "not the hook's", function()
  local m = model()
  local lam = wb.callbacks.Lambda{on_train_batch_end = function() end}
  local ok, e = pcall(m.fit, m, train, {epochs = 1, verbose = false, callbacks = {lam},
    optimizer = wb.optim.SGD{lr = 1e300}})
  T.ok(not ok and wb.fit.is_diverged(e) and not tostring(e):find("Lambda"), tostring(e))
end)

T.test("a plain fit (or one with wb's own callbacks) makes no per-step check; a fit with a "
  .. "batch hook makes two a step", function()
  local before = finite.passes()
  model():fit(train, {epochs = 2, verbose = false, log_every = 1, instruments = {"loss"},
    callbacks = {wb.callbacks.EarlyStopping{monitor = "loss"},
      wb.callbacks.Lambda{on_epoch_end = function() end}}})
  T.eq(finite.passes() - before, 0, "per-step checks in a fit without batch hooks")
  before = finite.passes()
  model():fit(train, {epochs = 2, verbose = false,
    callbacks = {wb.callbacks.Lambda{on_train_batch_end = function() end}}})
  T.eq(finite.passes() - before, 2 * 10 * 2, "after the update and after the hook, 20 steps")
end)

T.test("a harmless batch hook trains bit-identically to no hook", function()
  local a, b = model(), nil
  local ha = a:fit(train, {epochs = 2, verbose = false, seed = 3})
  b = model()
  local hb = b:fit(train, {epochs = 2, verbose = false, seed = 3, callbacks = {
    wb.callbacks.Lambda{on_train_batch_begin = function() end,
      on_train_batch_end = function() end}}})
  T.eq(#T.history_diff(ha, hb, "h", {}), 0, "histories")
  local pa, pb = a:parameters(), b:parameters()
  for i = 1, #pa do T.eq(wb.io._hash(pa[i]), wb.io._hash(pb[i]), "parameter " .. i) end
end)

T.done()
