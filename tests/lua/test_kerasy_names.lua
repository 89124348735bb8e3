-- test_kerasy_names.lua: Keras's names where the history has another
-- (audit Y6): h.learning_rate (Keras 3's LearningRateScheduler and
-- ReduceLROnPlateau log it) names h.lr, as h.val_acc names h.val_accuracy.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

T.test("Y6: h.learning_rate says h.lr", function()
  local h = wb.fit.new_history()
  T.check_error("learning rate is h.lr", function() return h.learning_rate end)
  T.check_error("learning rate is h.lr", function() return h:last("learning_rate") end)
  -- a hook's own series of that name is its own
  local train = T.tiny_data()
  local m = T.tiny_mlp(1)
  local got = m:fit(train, {epochs = 2, verbose = false, callbacks = {wb.callbacks.Lambda{
    on_epoch_end = function(_, logs) logs.learning_rate = m.optimizer.lr end}}})
  T.eq(#got.learning_rate, 2)
  T.eq(got.learning_rate[2], got.lr[2])
end)

T.done()
