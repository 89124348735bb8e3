-- test_train_mnist.lua: the slow real-data test (skipped when WB_FAST=1).
-- The study's baseline, 784 -> Dense 128 relu -> Dense 10 softmax, trained
-- on the 60,000 MNIST training images and scored on the 10,000 test images:
--   Adam (Keras defaults), batch 32, 5 epochs, seeds 1..3: mean >= 97.5%
--   SGD lr 0.01, batch 32, 5 epochs, seed 1:               >= 93%
-- The measured numbers and seconds per epoch are printed in the test names.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

if os.getenv("WB_FAST") == "1" then
  T.skip("MNIST baseline accuracy (Adam, 3 seeds)", "WB_FAST=1")
  T.skip("MNIST baseline accuracy (SGD lr 0.01)", "WB_FAST=1")
  T.done()
end

local ok, d = pcall(wb.data.mnist)
if not ok then
  T.skip("MNIST baseline accuracy (Adam, 3 seeds)", "no MNIST data: " .. tostring(d))
  T.skip("MNIST baseline accuracy (SGD lr 0.01)", "no MNIST data")
  T.done()
end

local function baseline(seed)
  wb.seed(seed) -- fixes the initial weights
  return wb.nn.Sequential{
    wb.nn.Dense(784, 128, {activation = "relu"}),
    wb.nn.Dense(128, 10, {activation = "softmax"}),
  }
end

-- Train and score; returns test accuracy and mean seconds per epoch.
local function run(seed, optimizer)
  local m = baseline(seed)
  local h = m:fit(d.train, {epochs = 5, batch_size = 32, optimizer = optimizer,
    seed = seed, verbose = false})
  local secs = 0
  for _, s in ipairs(h.epoch_time) do secs = secs + s end
  return m:evaluate(d.test).accuracy, secs / #h.epoch_time, h
end

do
  local accs, secs = {}, 0
  for seed = 1, 3 do
    local acc, s = run(seed, wb.optim.Adam{})
    accs[seed], secs = acc, secs + s
  end
  local mean = (accs[1] + accs[2] + accs[3]) / 3
  T.test(string.format("MNIST baseline accuracy (Adam, 3 seeds): mean %.4f "
    .. "(%.4f %.4f %.4f), %.2f s/epoch", mean, accs[1], accs[2], accs[3], secs / 3),
    function() T.ok(mean >= 0.975, "mean test accuracy " .. mean) end)
end

do
  local acc, s = run(1, wb.optim.SGD{lr = 0.01})
  T.test(string.format("MNIST baseline accuracy (SGD lr 0.01): %.4f, %.2f s/epoch",
    acc, s), function() T.ok(acc >= 0.93, "test accuracy " .. acc) end)
end

T.done()
