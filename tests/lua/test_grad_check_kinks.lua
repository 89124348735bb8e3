-- test_grad_check_kinks.lua: tryD 3 and 4. fit's check of a hand-written
-- loss gradient (wb/grad_check.lua) refused right ones: a mean absolute
-- error or a hinge (piecewise linear) along its random directions, where a
-- kink crossed within the step moved the central difference past 5 % (12
-- of 36 fits, most on a short last batch of 2 rows after an epoch, as "2
-- (the batch size) times too large"); and a gradient returned in a buffer
-- the loss reuses, which the check's own calls overwrote. Both pass now,
-- the buffer trains as the built-in loss does, and a wrong gradient of a
-- piecewise-linear loss (a missing 1 / n, 3 % off, a flipped sign) is
-- still an error on the first batch.
local T = dofile("tests/lua/harness.lua")

local function onehot(y, n, c)
  local t = wb.zeros(n, c)
  for i = 1, n do t:set(i, y:get(i) + 1, 1) end
  return t
end

-- Keras's mae on one-hot targets (the report's); the gradient times k,
-- over C alone when per_batch is false (a missing 1 / n)
local function mae(k, per_batch)
  return function(o, y)
    local n, c = o:size(1), o:size(2)
    local d = o - onehot(y, n, c)
    return d:abs():sum() / (n * c), d:sign() * (k / ((per_batch == false and 1 or n) * c))
  end
end

-- Keras's hinge on targets t = +-1: mean of max(1 - t o, 0); gradient -t
-- where 1 - t o >= 0 (TensorFlow's maximum at the tie), times k
local function hinge(k, per_batch)
  return function(o, y)
    local n, c = o:size(1), o:size(2)
    local t = onehot(y, n, c) * 2 - 1
    local m = (t * o) * -1 + 1
    local active = (m:sign() + 1):clamp(0, 1)
    return m:clamp(0, math.huge):sum() / (n * c),
      t * active * (-k / ((per_batch == false and 1 or n) * c))
  end
end

-- 1986 rows: batches of 32 and 64 end with 2 rows, of 100 with 86
local MNIST = wb.data.mnist().train:subset(1, 1986)

local function mnist_fit(loss, seed, bs, epochs)
  wb.seed(seed)
  local m = wb.nn.Sequential{wb.nn.Dense(784, 32, {activation = "relu"}), wb.nn.Dense(32, 10)}
  return m:fit(MNIST, {epochs = epochs, batch_size = bs, loss = loss, verbose = false,
    optimizer = wb.optim.SGD{lr = 0.5}})
end

T.test("right mean absolute error and hinge fits train: MNIST 784-32-10, seeds 1-6, batches "
  .. "32, 64, 100 (short last ones of 2 and 86 rows), 3 epochs", function()
  -- (before: 13 of the 18 mae fits and 3 of the 18 hinge fits refused)
  for _, loss in ipairs{mae(1), hinge(1)} do
    for seed = 1, 6 do
      for _, bs in ipairs{32, 64, 100} do
        T.eq(mnist_fit(loss, seed, bs, 3).epochs, 3, "seed " .. seed .. ", batch " .. bs)
      end
    end
  end
end)

T.test("every entry within the step of its kink, 2 rows: a right gradient passes", function()
  -- the short batch of 2 rows after an mae epoch, at its worst: each of
  -- the 20 entries crossed along any direction
  local gc = require "wb.grad_check"
  local y = wb.new_tensor({2}, "uint8")
  y:set(1, 3); y:set(2, 7)
  local shift = {}
  for i = 1, 2 do
    shift[i] = {}
    for j = 1, 10 do shift[i][j] = ((i * 10 + j) * 37 % 19 - 9) * 1e-4 end
  end
  local kinks = {mae = {mae(1), onehot(y, 2, 10)}, hinge = {hinge(1), onehot(y, 2, 10) * 2 - 1}}
  for name, k in pairs(kinks) do
    local out = k[2] + wb.tensor(shift)
    local v, g = k[1](out, y)
    local ok, err = pcall(gc.loss, "fit", k[1], out, y, v, g, false, "a test batch")
    T.ok(ok, name .. ": " .. tostring(err))
  end
end)

T.test("a wrong gradient of mae or hinge is still an error on the first batch: a missing 1 / n, "
  .. "3 % off, a flipped sign", function()
  local WHERE = "fit: the loss function's gradient does not match its value on the first batch "
  for _, make in ipairs{mae, hinge} do
    for _, bs in ipairs{32, 100} do
      local rows = "%(" .. bs .. " rows%)"
      T.check_error(WHERE .. rows .. ": .* entries checked disagree .*the gradient is " .. bs
        .. " %(the batch size%) times too large", mnist_fit, make(1, false), 1, bs, 1)
      for _, k in ipairs{1.03, 0.97} do
        T.check_error(WHERE .. rows .. ": along the gradient's own direction .*: the gradient is "
          .. k, mnist_fit, make(k), 2, bs, 1)
      end
      T.check_error(WHERE .. rows .. ": .*the gradient's sign is flipped", mnist_fit, make(-1),
        3, bs, 1)
    end
  end
end)

-- {==================== a gradient in a reused buffer ====================

-- mse whose gradient is written into a buffer kept between calls: resized
-- when n changes (the report's), or rows 1..n of one of capacity 64 (the
-- check's calls on the short batch's size overwrite the first batch's)
local function mse_buffered(capacity)
  local buf
  return function(o, y)
    local n, c = o:size(1), o:size(2)
    local d = o - onehot(y, n, c)
    if capacity then
      buf = buf or wb.zeros(capacity, c)
    elseif not buf or buf:size(1) ~= n then
      buf = wb.zeros(n, c)
    end
    local g = capacity and buf:rows(1, n) or buf
    g:copy(d * (2 / (n * c)))
    return (d * d):sum() / (n * c), g
  end
end

T.test("a gradient in a buffer the loss reuses passes, and trains as the built-in loss does",
  function()
  -- (before: "along a random direction u ... but sum(gradient * u) = ...":
  -- the check compared the slopes with its last perturbed call's gradient)
  local train = T.tiny_data() -- 70 rows: batches of 32 end with 6
  local function run(loss, check, head)
    wb.seed(4)
    local m = wb.nn.Sequential{wb.nn.Dense(8, 12, {activation = "relu"}),
      wb.nn.Dense(12, 3, head and {activation = head} or nil)}
    local h = m:fit(train, {epochs = 2, batch_size = 32, seed = 6, verbose = false, loss = loss,
      grad_check = check, optimizer = wb.optim.SGD{lr = 0.3}})
    return h.loss[2], wb.io._hash(m[1].weight), wb.io._hash(m[2].weight)
  end
  for _, head in ipairs{false, "softmax"} do
    local l0, a0, b0 = run("mse", nil, head)
    for _, capacity in ipairs{false, 64} do
      local what = (head or "linear") .. ", capacity " .. tostring(capacity)
      local l1, a1, b1 = run(mse_buffered(capacity), nil, head)
      local l2, a2, b2 = run(mse_buffered(capacity), false, head)
      -- the step after a check trains with what the loss returned
      T.eq(l1, l2, what .. ": loss with and without the check")
      T.eq(a1 .. b1, a2 .. b2, what .. ": weights with and without the check")
      T.eq(l1, l0, what .. ": loss as the built-in mse's")
      T.eq(a1 .. b1, a0 .. b0, what .. ": weights as the built-in mse's")
    end
  end
end)

-- }====================

T.done()
