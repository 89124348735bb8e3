-- test_kerasy_initial_epoch.lua: a fit with initial_epoch = k numbers its
-- epochs k+1.. (Keras's absolute numbers: callbacks, best_epoch,
-- stopped_epoch) while its history holds only those epochs; what needs the
-- last epoch read history.epochs, the count (audit Y1): save_state wrote
-- the count, so a resume trained epochs again under numbers already used;
-- weights_epoch was the count; a last-epoch hook's weight change went unseen.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local function fit(model, train, o)
  o.verbose, o.batch_size = false, o.batch_size or 16
  o.optimizer = o.optimizer or wb.optim.SGD{lr = 0.2, momentum = 0.5}
  return model:fit(train, o)
end

T.test("Y1a: save_state after fit{initial_epoch} resumes at the last epoch, as one fit",
  function()
  local train, val = T.tiny_data()
  local dir = T.tmpdir()
  local path = dir .. "/s.safetensors"
  -- uninterrupted: epochs 2..4
  local a = T.tiny_mlp(1)
  local ha = fit(a, train, {epochs = 4, initial_epoch = 1, seed = 3, validation = val})
  -- 2..3, a state, then 4
  local b = T.tiny_mlp(1)
  fit(b, train, {epochs = 3, initial_epoch = 1, seed = 3, validation = val})
  b:save_state(path)
  local csv = dir .. "/log.csv"
  local hb = fit(b, train, {epochs = 4, resume = path, validation = val,
    optimizer = b.optimizer, callbacks = {wb.callbacks.CSVLogger(csv)}})
  T.eq(#hb.loss, 3, "epochs 2, 3, 4: three entries")
  T.eq(hb.epochs, ha.epochs)
  T.eq(hb.initial_epoch, 1)
  for i = 1, 3 do
    T.eq(hb.loss[i], ha.loss[i], "loss of entry " .. i)
    T.eq(hb.val_loss[i], ha.val_loss[i], "val_loss of entry " .. i)
  end
  T.eq(hb.weights_epoch, 4)
  -- the CSV's rows are the epochs' numbers, the saved ones' too
  local rows = T.csv_rows(csv)
  T.eq(#rows, 4, "the header and three rows")
  T.eq(rows[1][1], "epoch")
  T.eq(rows[2][1], "2"); T.eq(rows[3][1], "3"); T.eq(rows[4][1], "4")
  -- a resume that would train nothing is refused by the epoch numbers
  T.check_error("epochs = 3 equals the 3 epochs already done", function()
    fit(T.tiny_mlp(1), train, {epochs = 3, resume = path, validation = val})
  end)
end)

T.test("Y1a: a state saved inside an epoch of fit{initial_epoch} resumes bit for bit",
  function()
  local train, val = T.tiny_data()
  local dir = T.tmpdir()
  local ha = fit(T.tiny_mlp(1), train, {epochs = 4, initial_epoch = 1, seed = 3,
    validation = val})
  -- 5 steps an epoch: step 7 is inside epoch 3
  fit(T.tiny_mlp(1), train, {epochs = 3, initial_epoch = 1, seed = 3, validation = val,
    callbacks = {wb.callbacks.ModelCheckpoint{dir .. "/s{step}.safetensors",
      save_state = true, save_freq = 7}}})
  local hc = fit(T.tiny_mlp(1), train, {epochs = 4, resume = dir .. "/s7.safetensors",
    validation = val, callbacks = {wb.callbacks.ModelCheckpoint{dir .. "/t{step}.safetensors",
      save_state = true, save_freq = 7}}})
  T.eq(#hc.loss, #ha.loss)
  for i = 1, #ha.loss do T.eq(hc.loss[i], ha.loss[i], "loss of entry " .. i) end
end)

T.test("Y1b: weights_epoch is an epoch number with initial_epoch", function()
  local train, val = T.tiny_data()
  local m = T.tiny_mlp(1)
  local h = fit(m, train, {epochs = 6, initial_epoch = 3, validation = val, seed = 1,
    optimizer = wb.optim.SGD{lr = 0}, -- no change: every epoch ties, the first is the best
    callbacks = {wb.callbacks.EarlyStopping{patience = 5, restore_best_weights = true}}})
  T.eq(#h.loss, 3)
  T.eq(h.best_epoch, 4)
  T.eq(h.weights_epoch, 6) -- lr 0: epoch 4's weights are epoch 6's, nothing changed
  local m2 = T.tiny_mlp(1)
  local h2 = fit(m2, train, {epochs = 6, initial_epoch = 3, seed = 1})
  T.eq(h2.weights_epoch, 6, "the last epoch, not the count 3")
end)

T.test("Y1c: a last-epoch hook that sets weights is named with initial_epoch", function()
  local train = T.tiny_data()
  local m = T.tiny_mlp(1)
  local h = fit(m, train, {epochs = 5, initial_epoch = 3, seed = 1,
    callbacks = {wb.callbacks.Lambda{on_epoch_end = function(e)
      if e == 5 then local w = m:get_weights(); w[1]:fill(0); m:set_weights(w) end
    end}}})
  T.eq(h.weights_epoch, nil)
  T.ok(type(h.weights_changed_by) == "string"
    and h.weights_changed_by:find("on_epoch_end", 1, true) ~= nil,
    "weights_changed_by: " .. tostring(h.weights_changed_by))
end)

T.test("Y1d: history.initial_epoch is fit's: a hook's write is an error", function()
  local train = T.tiny_data()
  local m = T.tiny_mlp(1)
  T.check_error("initial_epoch", function()
    fit(m, train, {epochs = 3, initial_epoch = 1, callbacks = {wb.callbacks.Lambda{
      on_epoch_end = function() m.history.initial_epoch = 0 end}}})
  end)
  local h = fit(T.tiny_mlp(1), train, {epochs = 1})
  T.eq(h.initial_epoch, nil, "absent without initial_epoch")
  local ok, e = pcall(function() return h.epoch end)
  T.ok(not ok and tostring(e):find("initial_epoch", 1, true) ~= nil, tostring(e))
end)

T.done()
