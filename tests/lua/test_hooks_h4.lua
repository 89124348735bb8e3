-- test_hooks_h4.lua: audit H, items 4 and 5. history.lr_changes holds the
-- lrs steps used, at the first step using each: an lr a batch hook set
-- that an epoch hook or the next on_train_batch_begin replaced before any
-- step used it, or set after the fit's last step, is no row (it was: {step
-- = 4, lr = 0.3} while step 4 ran at 0.2; "step 7" of a 6-step fit).
-- history.weights_epoch / weights_changed_by after an on_epoch_end hook of
-- the last epoch changed the weights: as the same change in on_train_end
-- (weights of no epoch, the hook named); val_loss was of other weights.
local T = dofile("tests/lua/harness.lua")

wb.seed(99)
local X = wb.randn(12, 5)
local Y = wb.new_tensor({12}, "uint8")
for i = 1, 12 do Y:set(i, i % 3) end

local function go(cb, o)
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "tanh"}),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  o = o or {}
  o.epochs, o.batch_size, o.shuffle, o.verbose = o.epochs or 2, 4, false, false
  o.optimizer, o.log_every, o.callbacks = wb.optim.SGD{lr = 0.1}, 1, {cb(m)}
  return m:fit(X, Y, o), m
end

-- lr_changes as a list of "step:epoch:lr"
local function rows(h)
  local c, out = rawget(h, "lr_changes"), {}
  for i = 1, c and #c.step or 0 do
    out[i] = string.format("%d:%d:%g", c.step[i], c.epoch[i], c.lr[i])
  end
  return table.concat(out, " ")
end

-- each row's lr is the lr its step used (history.steps.lr, every step)
local function used(h)
  local c = rawget(h, "lr_changes")
  for i = 1, c and #c.step or 0 do T.eq(h.steps.lr[c.step[i]], c.lr[i], "row " .. i) end
end

T.test("an lr no step used is no row of lr_changes", function()
  -- on_train_batch_end sets 0.3 after step 3, epoch 2's on_epoch_begin 0.2
  local h = go(function(m) return {
    on_train_batch_end = function(_, s) if s == 3 then m.optimizer.lr = 0.3 end end,
    on_epoch_begin = function(_, e) if e == 2 then m.optimizer.lr = 0.2 end end} end)
  T.eq(table.concat(h.steps.lr, ","), "0.1,0.1,0.1,0.2,0.2,0.2")
  T.eq(rows(h), "", "0.3 was replaced before step 4")
  -- set after the last step (6)
  h = go(function(m) return {on_train_batch_end = function(_, s)
    if s == 6 then m.optimizer.lr = 0.3 end end} end)
  T.eq(rows(h), "", "no step 7")
  -- set at the end of step 2, set back at the start of step 3
  h = go(function(m) return {
    on_train_batch_end = function(_, s) if s == 2 then m.optimizer.lr = 0.3 end end,
    on_train_batch_begin = function(_, s) if s == 3 then m.optimizer.lr = 0.1 end end} end)
  T.eq(rows(h), "", "step 3 ran at 0.1, as step 2")
  -- set at the end of step 2, changed again at the start of step 3
  h = go(function(m) return {
    on_train_batch_end = function(_, s) if s == 2 then m.optimizer.lr = 0.3 end end,
    on_train_batch_begin = function(_, s) if s == 3 then m.optimizer.lr = 0.05 end end} end)
  T.eq(rows(h), "3:1:0.05")
  used(h)
end)

T.test("an lr a step used: a row at that step, as before", function()
  local h = go(function(m) return {on_train_batch_end = function(_, s)
    if s == 3 then m.optimizer.lr = 0.3 end end} end)
  T.eq(rows(h), "4:1:0.3", "epoch 1's hook, used from step 4")
  used(h)
  h = go(function(m) return {on_train_batch_begin = function(_, s)
    if s == 2 or s == 5 then m.optimizer.lr = s / 10 end end} end)
  T.eq(rows(h), "2:1:0.2 5:2:0.5")
  used(h)
  -- a stop after step 4: its on_train_batch_end's lr for step 5 is no row
  h = go(function(m) return {on_train_batch_end = function(_, s)
    if s == 2 then m.optimizer.lr = 0.2 end
    if s == 4 then m.optimizer.lr = 0.4; return true end end} end)
  T.eq(rows(h), "3:1:0.2")
end)

T.test("an on_epoch_end hook of the last epoch that changes the weights: of no epoch",
    function()
  local function scale(at, also_end)
    return function(m) return {
      on_epoch_end = function(_, e)
        if e == at then local w = m:get_weights(); w[1] = w[1] * 1.5; m:set_weights(w) end end,
      on_train_end = also_end and function() m[2].bias:fill(0) end or nil} end
  end
  local h = go(scale(2), {epochs = 2})
  T.eq(h.weights_epoch, nil)
  T.ok(tostring(h.weights_changed_by):find("^the on_epoch_end of callback 1 %(a table with "
    .. "on_epoch_end at tests/lua/test_hooks_h4.lua:%d+%) in epoch 2$"), h.weights_changed_by)
  h = go(scale(1), {epochs = 2}) -- not the last: training goes on from them
  T.eq(h.weights_epoch, 2)
  T.eq(h.weights_changed_by, nil)
  h = go(scale(2, true), {epochs = 2})
  T.eq(h.weights_epoch, nil)
  T.ok(tostring(h.weights_changed_by):find("in epoch 2, then the on_train_end of callback 1",
    1, true), h.weights_changed_by)
  -- a hook that changes them and stops: its epoch is the last
  h = go(function(m) return {on_epoch_end = function(_, e)
    if e == 2 then m[2].bias:fill(1); return true end end} end, {epochs = 4})
  T.eq(h.epochs, 2)
  T.eq(h.weights_epoch, nil)
  T.ok(tostring(h.weights_changed_by):find("in epoch 2", 1, true))
end)

T.done()
