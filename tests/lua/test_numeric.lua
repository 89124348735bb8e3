-- test_numeric.lua - extreme numbers give finite results or a clear stop.
--
--   - logits of +-1000: the fused softmax cross-entropy gives a finite loss
--     and gradient with the exact values;
--   - lr = 1e300: fit stops with the divergence error object
--     ({kind = "diverged"}) in the first epoch, and no checkpoint holding a
--     non-finite weight is written (ModelCheckpoint at every epoch end);
--   - lr NaN / infinite / negative, momentum outside [0, 1], betas outside
--     [0, 1): refused when the optimizer is built, naming the option.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()
local nan, inf = 0 / 0, math.huge

local function finite(x) return x == x and x ~= inf and x ~= -inf end

local function all_finite(t)
  return finite(t:min()) and finite(t:max()) and finite(t:sum())
end

T.test("logits of +-1000: finite loss and gradient, exact values", function()
  local ce = wb.nn.SparseCrossEntropy()
  local z = wb.tensor{{1000, -1000, 0}, {-1000, 1000, 0}, {1000, 1000, -1000}}
  local y = wb.new_tensor({3}, "uint8")
  y:set(1, 0); y:set(2, 0); y:set(3, 2)
  local loss, correct = ce:forward(z, y)
  T.ok(finite(loss), "loss " .. tostring(loss))
  -- row 1: 0; row 2: 2000; row 3: 2000 + log 2
  T.near(loss, (0 + 2000 + 2000 + math.log(2)) / 3, 1e-3)
  T.eq(correct, 1)
  local g = ce:backward()
  T.ok(all_finite(g), "gradient not finite")
  T.near(g:get(2, 1), -1 / 3, 1e-6)
  T.near(g:get(2, 2), 1 / 3, 1e-6)
  T.near(g:get(3, 1), 0.5 / 3, 1e-6)
  T.near(g:get(3, 3), -1 / 3, 1e-6)
end)

T.test("a model with huge weights evaluates to a finite loss", function()
  wb.seed(3)
  local x, y = wb.randn(32, 8), wb.new_tensor({32}, "uint8")
  for i = 1, 32 do y:set(i, i % 3) end
  local m = wb.nn.Sequential{wb.nn.Dense(8, 3, {activation = "softmax"})}
  m[1].weight:copy(m[1].weight * 1e4)
  local r = m:evaluate(wb.data.Dataset(x, y))
  T.ok(finite(r.loss), "loss " .. tostring(r.loss))
  T.ok(r.loss > 100, "loss " .. r.loss .. " should be large")
  local p = m:predict(x)
  T.ok(all_finite(p), "probabilities not finite")
end)

local function toy(n)
  wb.seed(1)
  local x, y = wb.randn(n, 8), wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, i % 3) end
  local m = wb.nn.Sequential{wb.nn.Dense(8, 16, {activation = "relu"}),
                             wb.nn.Dense(16, 3, {activation = "softmax"})}
  return m, wb.data.Dataset(x, y)
end

T.test("lr = 1e300 stops training with the diverged error in the first epoch", function()
  local m, ds = toy(64)
  local ok, e = pcall(m.fit, m, ds, {epochs = 3, batch_size = 8, verbose = false,
    optimizer = wb.optim.SGD{lr = 1e300}})
  T.ok(not ok, "fit returned")
  T.eq(type(e), "table", tostring(e))
  T.eq(e.kind, "diverged")
  T.eq(e.epoch, 1)
  -- the first update overflows the weights; the loss shows it one step on
  T.ok(e.step <= 2, "diverged only at step " .. tostring(e.step))
  T.ok(tostring(e):find("diverged"), tostring(e))
end)

T.test("lr = 1e300: no checkpoint with a non-finite weight is written", function()
  -- one batch per epoch: the first step's update overflows the weights
  -- before the first epoch ends, where ModelCheckpoint saves
  local m, ds = toy(16)
  local path = dir .. "/ck.safetensors"
  local ok, e = pcall(m.fit, m, ds, {epochs = 3, batch_size = 16, verbose = false,
    optimizer = wb.optim.SGD{lr = 1e300},
    callbacks = {wb.callbacks.ModelCheckpoint{filepath = path}}})
  T.ok(not ok and type(e) == "table" and e.kind == "diverged", tostring(e))
  if wb.sys.exists(path) then
    local saved = wb.load(path)
    for i = 1, 2 do
      T.ok(all_finite(saved[i].weight) and all_finite(saved[i].bias), string.format(
        "%s holds non-finite weights (layer %d: %g..%g), saved at the end of epoch 1; "
        .. "fit reported the divergence at epoch %s, step %s", path, i,
        saved[i].weight:min(), saved[i].weight:max(), tostring(e.epoch), tostring(e.step)))
    end
  end
end)

T.test("optimizers refuse bad hyper-parameters when built", function()
  local bad = {
    {wb.optim.SGD, {lr = nan}, "lr"}, {wb.optim.SGD, {lr = -0.1}, "lr"},
    {wb.optim.SGD, {lr = inf}, "lr"}, {wb.optim.SGD, {momentum = 1.01}, "momentum"},
    {wb.optim.SGD, {momentum = -0.1}, "momentum"}, {wb.optim.SGD, {momentum = nan}, "momentum"},
    {wb.optim.Adam, {lr = nan}, "lr"}, {wb.optim.Adam, {lr = -1}, "lr"},
    {wb.optim.Adam, {beta1 = 1}, "beta1"}, {wb.optim.Adam, {beta2 = -0.5}, "beta2"},
    {wb.optim.Adam, {eps = nan}, "eps"}, {wb.optim.AdamW, {weight_decay = nan}, "weight_decay"},
    {wb.optim.RMSprop, {rho = 1}, "rho"}, {wb.optim.RMSprop, {lr = -inf}, "lr"},
  }
  for _, c in ipairs(bad) do
    local ok, err = pcall(c[1], c[2])
    local k, v = next(c[2])
    T.ok(not ok, string.format("%s = %s accepted", k, tostring(v)))
    T.ok(tostring(err):find(c[3], 1, true), "error does not name " .. c[3] .. ": "
      .. tostring(err))
  end
  -- the edges that are valid
  for _, o in ipairs{{lr = 0}, {momentum = 0}, {momentum = 0.999}} do
    T.ok(pcall(wb.optim.SGD, o), "refused a valid option")
  end
end)

T.done()
