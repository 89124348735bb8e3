-- A model whose last layer is wb.nn.Activation (Keras's Dense then
-- Activation("softmax")): fit and evaluate train it as the Dense with that
-- activation, bit for bit (the fused cross-entropy's p - y on the
-- Activation's input; other activations and mse through the generic
-- backward). Before, fit and evaluate stopped in a traceback ("wb.nn.Activation
-- has no field 'backward_logits'"). The instruments, which read a last
-- Dense's logits, refuse it naming the layer and the alternative.
local T = dofile("tests/lua/harness.lua")

local data = T.synthetic(4242, 90, 8)
local train, val = data:subset(1, 70), data:subset(71, 90)

-- The same network twice from one seed: the head fused into the last Dense
-- (activation act), and a linear Dense followed by Activation(act).
local function pair(act, dropout)
  local ms = {}
  for k = 1, 2 do
    wb.seed(5)
    local layers = {wb.nn.Dense(8, 12, {activation = "relu", l2 = 1e-3})}
    if dropout then layers[#layers + 1] = wb.nn.Dropout(0.2) end
    if k == 1 then
      layers[#layers + 1] = wb.nn.Dense(12, 3, {activation = act})
    else
      layers[#layers + 1] = wb.nn.Dense(12, 3)
      layers[#layers + 1] = wb.nn.Activation(act)
    end
    ms[k] = wb.nn.Sequential(layers)
  end
  return ms[1], ms[2]
end

local function trains_the_same(act, loss)
  local what = string.format("Activation('%s'), loss %s", act, tostring(loss))
  local a, b = pair(act, true)
  local opts = {epochs = 3, batch_size = 16, verbose = false, seed = 2, loss = loss,
    validation_data = val}
  local ha, hb = a:fit(train, opts), b:fit(train, opts)
  for _, k in ipairs{"loss", "accuracy", "val_loss", "val_accuracy"} do
    for e = 1, 3 do T.eq(hb[k][e], ha[k][e], what .. ": history." .. k .. "[" .. e .. "]") end
  end
  local same, where = T.same_weights(a, b)
  T.ok(same, what .. ": " .. tostring(where))
  local ea, eb = a:evaluate(val, {loss = loss}), b:evaluate(val, {loss = loss})
  T.eq(eb.loss, ea.loss, what .. ": evaluate's loss")
  T.eq(eb.accuracy, ea.accuracy, what .. ": evaluate's accuracy")
  T.eq((a:predict(val) - b:predict(val)):abs():max(), 0, what .. ": predict")
end

T.test("Dense then Activation('softmax') trains bit-identically to Dense(softmax)", function()
  trains_the_same("softmax", nil)
  trains_the_same("softmax", "categorical_crossentropy")
  trains_the_same("softmax", "mse")
end)

T.test("Activation('linear') as logits and Activation('relu') under mse train as the Dense",
  function()
  trains_the_same("linear", nil)
  trains_the_same("relu", "mse")
end)

T.test("the cross-entropy refuses an Activation head it cannot fuse, naming it", function()
  local _, b = pair("relu")
  T.check_error("fit: the last layer must be Dense(..., {activation = 'softmax'}) or "
    .. "Activation('softmax')", b.fit, b, train, {epochs = 1, verbose = false})
  T.check_error("got Activation(relu)", b.evaluate, b, val)
  -- a Sequential nested last is no head either (its strict names are not probed raw)
  local m = wb.nn.Sequential{wb.nn.Dense(8, 8), wb.nn.Sequential{wb.nn.Dense(8, 3)}}
  T.check_error("or Activation('softmax') (cross-entropy is fused with it; 'linear': its "
    .. "output taken as logits), got Sequential", m.fit, m, train, {epochs = 1, verbose = false})
end)

T.test("a last Dropout under mse trains (it had no backward_logits either)", function()
  wb.seed(5)
  local m = wb.nn.Sequential{wb.nn.Dense(8, 3), wb.nn.Dropout(0.1)}
  local h = m:fit(train, {epochs = 1, verbose = false, loss = "mse"})
  T.ok(h.loss[1] > 0)
end)

T.test("measures take an Activation head's input as the logits", function()
  local a, b = pair("softmax")
  local x, y = data:batch(wb.measures.iota(64), 1, 64)
  local la, acc_a = wb.measures.loss_and_grads(a, x, y, true)
  local lb, acc_b = wb.measures.loss_and_grads(b, x, y, true)
  T.eq(lb, la)
  T.eq(acc_b, acc_a)
  local _, ga = a:parameters()
  local _, gb = b:parameters()
  for i = 1, #ga do T.eq((ga[i] - gb[i]):abs():max(), 0, "gradient " .. i) end
  T.eq(wb.measures.grad_noise(b, data, 8, 64), wb.measures.grad_noise(a, data, 8, 64))
end)

T.test("the instruments refuse an Activation head, naming it; the Hessian takes it", function()
  local _, b = pair("softmax")
  local x, y = data:batch(wb.measures.iota(32), 1, 32)
  local want = "the last layer must be the Dense whose logits the statistics read, got "
    .. "layer 3 Activation(softmax): for Dense then Activation('softmax'), use Dense(..., "
    .. "{activation = 'softmax'})"
  T.check_error("per_sample: " .. want, wb.instruments.per_sample, b, x, y)
  T.check_error("simple: " .. want, wb.noise_scale.simple, b, x, y, {small = 8})
  T.check_error("fit: instruments: " .. want, b.fit, b, train,
    {epochs = 1, verbose = false, cockpit = true})
  -- under cross-entropy wb.hessian takes Dense then Activation('softmax') as
  -- the fused head (the same function; test_hessian compares the matrices)
  local a = pair("softmax")
  T.eq(wb.hessian.trace(b, data, {probes = 2, seed = 5}).mean,
    wb.hessian.trace(a, data, {probes = 2, seed = 5}).mean, "the fused head's trace")
end)

T.test("the landscape reads float class ids under an Activation head", function()
  local _, b = pair("softmax")
  local x, y = data:batch(wb.measures.iota(20), 1, 20)
  local fy = wb.zeros(20):copy(y) -- float class ids: checked against the head's width
  local r = wb.landscape.interpolate(b, {x = x, y = fy}, b:get_weights(), b:get_weights(),
    {points = 3})
  T.ok(r ~= nil)
end)
