-- test_hooks_q5.lua: audit Q, items 5 and 6. A hook's write to logs fit
-- never reads (on_train_begin's, on_epoch_begin's), or to fit's own keys
-- in on_train_batch_begin's (lr, loss, accuracy: the step overwrote them),
-- was dropped without a word (logs.lr = 5 looked like a way to set the lr),
-- where on_train_batch_end's is refused: each is an error naming the hook,
-- the key and what to do. And an on_epoch_end hook's logs.val_loss in a
-- fit without validation became history.val_loss, a validation loss no
-- validation measured: refused, as it is with validation.
local T = dofile("tests/lua/harness.lua")

wb.seed(99)
local X = wb.randn(12, 5)
local Y = wb.new_tensor({12}, "uint8")
for i = 1, 12 do Y:set(i, i % 3) end
local XV, YV = X:rows(1, 6):clone(), Y:rows(1, 6):clone()

local function go(hooks, o)
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "tanh"}),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  o = o or {}
  o.epochs, o.batch_size, o.shuffle, o.verbose = o.epochs or 2, 4, false, false
  o.optimizer, o.log_every = wb.optim.SGD{lr = 0.1}, 1
  o.callbacks = {wb.callbacks.Lambda(hooks)}
  return m:fit(X, Y, o), m
end

T.test("on_train_batch_begin: a write to fit's own keys is refused", function()
  local e = T.check_error("epoch 1, step 1 (batch 1 of 3), on_train_batch_begin: a hook "
    .. "changed logs.lr from 0.1 to 5", go, {on_train_batch_begin = function(_, l) l.lr = 5 end})
  T.ok(e:find("set model.optimizer.lr", 1, true), e)
  T.check_error("on_train_batch_begin: a hook wrote logs.accuracy (9) before the step", go,
    {on_train_batch_begin = function(_, l) l.accuracy = 9 end})
  T.check_error("epoch 2, step 5 (batch 2 of 3), on_train_batch_begin: a hook wrote logs.loss",
    go, {on_train_batch_begin = function(s, l) if s == 5 then l.loss = 0.5 end end})
  T.check_error("changed logs.step from 2 to 7", go,
    {on_train_batch_begin = function(s, l) if s == 2 then l.step = 7 end end})
  T.check_error("changed logs.batch_size from 4 to 3", go,
    {on_train_batch_begin = function(_, l) l.batch_size = 3 end})
end)

T.test("on_train_batch_begin: the optimizer's lr and a key of one's own are fine", function()
  local h = go({on_train_batch_begin = function(s, l)
    l.my_x = s
    if s == 2 then l.model_lr = 0.05 end
  end})
  T.eq(table.concat(h.steps.my_x, ","), "1,2,3,4,5,6")
  local m
  h = go({on_train_begin = function(model) m = model end,
    on_train_batch_begin = function(s) if s == 3 then m.optimizer.lr = 0.05 end end})
  T.eq(h.steps.lr[3], 0.05)
end)

T.test("on_epoch_begin / on_train_begin: any write to their logs is refused", function()
  local e = T.check_error("fit: epoch 2, on_epoch_begin: callback 1 (Lambda at ", go,
    {on_epoch_begin = function(ep, l) if ep == 2 then l.loss = 0.5 end end})
  T.ok(e:find("wrote logs.loss (0.5): on_epoch_begin's logs are not recorded", 1, true), e)
  T.check_error("fit: on_train_begin: callback 1 (Lambda at ", go,
    {on_train_begin = function(_, l) l.my_x = 1 end})
  -- reading them is fine, and so is a stop
  local h = go({on_epoch_begin = function(ep, l) if next(l) == nil and ep == 2 then
    return true end end})
  T.eq(h.epochs, 1)
end)

T.test("on_epoch_end: val_loss without validation is refused, as with it", function()
  local e = T.check_error("fit: an on_epoch_end hook of epoch 1 wrote logs.val_loss (0.123), "
    .. "a name fit records itself (this fit has no validation", go,
    {on_epoch_end = function(_, l) l.val_loss = 0.123 end})
  T.ok(e:find("(logs.my_val_loss)", 1, true), e)
  T.check_error("epoch 2 wrote logs.val_accuracy", go,
    {on_epoch_end = function(ep, l) if ep == 2 then l.val_accuracy = 1 end end})
  T.check_error("wrote logs.best_epoch (1), a name fit records itself:", go,
    {on_epoch_end = function(_, l) l.best_epoch = 1 end})
  T.check_error("changed logs.val_loss from", go,
    {on_epoch_end = function(_, l) l.val_loss = 0.123 end}, {validation = {XV, YV}})
  -- a name of one's own is a series, and validation's own are fit's
  local h = go({on_epoch_end = function(ep, l) l.my_val_loss = ep end}, {validation = {XV, YV}})
  T.eq(table.concat(h.my_val_loss, ","), "1,2")
  T.eq(#h.val_loss, 2)
end)

T.done()
