-- test_audit_loop3.lua: a third audit of the training loop: resume refusals
-- that named the wrong option, a ModelCheckpoint path that failed after an
-- epoch of training, EarlyStopping's stop overruled by a later hook, hook
-- returns that were ignored, the losses' label check, and what a Keras user
-- tries (LearningRateScheduler, TerminateOnNaN, ...).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local train, val = T.tiny_data()
local dir = T.tmpdir()
local model = T.tiny_mlp -- model(seed): without dropout

local function opts(o)
  local out = {batch_size = 16, verbose = false}
  for k, v in pairs(o or {}) do out[k] = v end
  return out
end

-- {==================== resume names the instruments option ====================

T.test("resume without the saved fit's instruments names the instruments option", function()
  local m = model()
  m:fit(train, opts{epochs = 1, instruments = {"grad_norm"}})
  local path = dir .. "/instr.safetensors"
  m:save_state(path)
  local err = T.check_error("was saved by a fit with instruments {grad_norm} every 1, this "
    .. "fit measures none", m.fit, m, train, opts{epochs = 2, resume = path})
  T.ok(not err:find("callbacks"), "the message names the option, not callbacks: " .. err)
end)

T.test("resume with instruments the saved fit did not measure is refused", function()
  local m = model()
  m:fit(train, opts{epochs = 1})
  local path = dir .. "/plain.safetensors"
  m:save_state(path)
  T.check_error("was saved by a fit without instruments, this fit asks for instruments",
    m.fit, m, train, opts{epochs = 2, resume = path, instruments = {"grad_norm"}})
  T.eq(m.history.epochs, 1, "nothing trained")
end)

-- }====================

-- {==================== ModelCheckpoint's path, before training ====================

-- A Lambda counting the training steps run.
local function step_counter()
  local c = {n = 0}
  c.cb = wb.callbacks.Lambda{on_train_batch_end = function() c.n = c.n + 1 end}
  return c
end

T.test("ModelCheckpoint: a path field the logs will not have is an error before training",
    function()
  local m, c = model(), step_counter()
  local before = m:get_weights()[1]:clone()
  T.check_error("filepath field {val_acc} is not in the logs of this fit (epoch logs: "
    .. "accuracy, data_loss, epoch, epoch_time, loss, lr, reg_loss); val_* needs fit's "
    .. "validation", m.fit, m, train, opts{epochs = 2, callbacks = {c.cb,
      wb.callbacks.ModelCheckpoint{dir .. "/c{val_acc}.st"}}})
  T.eq(c.n, 0, "no step trained")
  T.eq((m:get_weights()[1] - before):norm(), 0, "weights untouched")
  -- misspelt with validation: the available keys include the val ones
  T.check_error("{val_acc} is not in the logs of this fit (epoch logs: accuracy, data_loss, "
    .. "epoch, epoch_time, loss, lr, reg_loss, val_accuracy, val_loss)", m.fit, m, train,
    opts{epochs = 1, validation = val, callbacks = {c.cb,
      wb.callbacks.ModelCheckpoint{dir .. "/c{val_acc}.st"}}})
  T.eq(c.n, 0, "no step trained")
  -- save_freq fills from the step logs
  T.check_error("{val_loss} is not in the logs of this fit (step logs: accuracy, batch_size, "
    .. "epoch, loss, lr, step)", m.fit, m, train, opts{epochs = 1, validation = val,
      callbacks = {wb.callbacks.ModelCheckpoint{dir .. "/s{val_loss}.st", save_freq = 2}, c.cb}})
  T.eq(c.n, 0, "no step trained")
end)

T.test("ModelCheckpoint: the fields fit's logs have, and a key an earlier hook writes, "
    .. "fill the path", function()
  local m = model()
  local writer = wb.callbacks.Lambda{on_epoch_end = function(_, logs) logs.mine = 7 end}
  m:fit(train, opts{epochs = 2, validation = val, callbacks = {writer,
    wb.callbacks.ModelCheckpoint{dir .. "/k{epoch:02d}-{val_accuracy:.2f}-{mine}.st",
      save_weights_only = true}}})
  local acc = m.history.val_accuracy[2]
  local f = io.open(string.format("%s/k02-%.2f-7.st", dir, acc), "rb")
  T.ok(f, "the checkpoint of epoch 2 is named from its logs")
  f:close()
end)

T.test("fit's list of its logs' keys is the keys its logs have", function()
  for _, v in ipairs{false, true} do
    local m, got = model(), nil
    m:fit(train, opts{epochs = 1, validation = v and val or nil, callbacks = {
      wb.callbacks.Lambda{on_epoch_end = function(_, logs)
        got = {}
        for k in pairs(logs) do got[#got + 1] = k end
        table.sort(got)
      end}}})
    T.eq(table.concat(got, ","), table.concat(rawget(m, "_fit_logs").epoch, ","))
  end
  local m, got = model(), nil
  m:fit(train, opts{epochs = 1, callbacks = {wb.callbacks.Lambda{on_train_batch_end =
    function(_, logs)
      got = {}
      for k in pairs(logs) do got[#got + 1] = k end
      table.sort(got)
    end}}})
  T.eq(table.concat(got, ","), table.concat(rawget(m, "_fit_logs").step, ","))
end)

T.test("ModelCheckpoint: a bad format spec or a stray brace is an error when made", function()
  T.check_error("filepath field {loss:.4q}: '.4q' is no number format",
    wb.callbacks.ModelCheckpoint, {"c{loss:.4q}.st"})
  T.check_error("filepath field {val-loss} is no {name} or {name:spec}",
    wb.callbacks.ModelCheckpoint, {"c{val-loss}.st"})
  T.check_error("has a brace outside a field", wb.callbacks.ModelCheckpoint,
    {"c{epoch}}.st"})
end)

-- }====================

-- {==================== EarlyStopping overruled ====================

T.test("EarlyStopping: stopped_epoch is the epoch training stopped at, unset when overruled",
    function()
  -- min_delta 10: no epoch after the first improves, so it asks to stop at every
  -- epoch from 2 on; a later hook overrules it at epoch 2 (and at all, below)
  local function run(overrule)
    local m = model()
    local es = wb.callbacks.EarlyStopping{monitor = "loss", min_delta = 10}
    local h = m:fit(train, opts{epochs = 4, callbacks = {es, wb.callbacks.Lambda{
      on_epoch_end = function(e) if overrule(e) then m.stop_training = false end end}}})
    return h, es
  end
  local h, es = run(function(e) return e == 2 end)
  T.eq(h.epochs, 3, "trained on after the overruled stop, stopped at 3")
  T.eq(h.stopped_epoch, 3, "history.stopped_epoch")
  T.eq(es.stopped_epoch, 3, "EarlyStopping's stopped_epoch")
  h, es = run(function() return true end)
  T.eq(h.epochs, 4, "every stop overruled: all epochs trained")
  T.eq(h.stopped_epoch, nil, "history.stopped_epoch: training was not stopped")
  T.eq(es.stopped_epoch, nil, "EarlyStopping's stopped_epoch")
end)

-- }====================

-- {==================== stops from the begin hooks ====================

-- fit 3 epochs of 5 steps (70 rows, batch 16) with the hooks given; returns
-- the history, the steps trained and whether on_train_end ran.
local function stop_run(hooks)
  local m, c = model(), {steps = 0, ended = false}
  hooks.on_train_batch_end = function() c.steps = c.steps + 1 end
  hooks.on_train_end = function() c.ended = true end
  local h = m:fit(train, opts{epochs = 3, callbacks = {wb.callbacks.Lambda(hooks)}})
  return h, c
end

T.test("a begin hook returning true stops training before what begins", function()
  local h, c = stop_run{on_train_begin = function() return true end}
  T.eq(h.epochs, 0, "on_train_begin: no epoch"); T.eq(c.steps, 0, "no step")
  T.eq(h.stopped_epoch, 0, "stopped before epoch 1"); T.ok(c.ended, "on_train_end ran")
  h, c = stop_run{on_epoch_begin = function(e) return e == 2 end}
  T.eq(h.epochs, 1, "on_epoch_begin of epoch 2: epoch 1 only"); T.eq(c.steps, 5)
  T.eq(h.stopped_epoch, 1, "the last epoch trained"); T.ok(c.ended, "on_train_end ran")
  -- a step hook's stop ends the epoch after that step (Keras's check point)
  h, c = stop_run{on_train_batch_begin = function(step) return step == 7 end}
  T.eq(h.epochs, 2, "on_train_batch_begin: the epoch of step 7 ends")
  T.eq(c.steps, 7, "step 7 trained, then the stop"); T.eq(h.stopped_epoch, 2)
end)

T.test("model.stop_training set in on_epoch_begin: the same training with log_every or not",
    function()
  local function run(log_every)
    local m, n = model(), 0
    local cb = {on_epoch_begin = function(_, e) if e == 2 then m.stop_training = true end end}
    local h = m:fit(train, opts{epochs = 3, log_every = log_every, callbacks = {cb,
      wb.callbacks.Lambda{on_epoch_end = function() n = n + 1 end}}})
    return h, n, m:get_weights()[1]
  end
  local h1, n1, w1 = run(nil)
  local h2, n2, w2 = run(1)
  T.eq(h1.epochs, 1); T.eq(h2.epochs, 1); T.eq(n1, 1); T.eq(n2, 1)
  T.eq(#h2.steps.step, 5, "epoch 2 trained no step")
  T.eq((w1 - w2):norm(), 0, "the same weights")
end)

T.test("a hook's true is a stop a later hook can overrule, as stop_training", function()
  local m = model()
  local h = m:fit(train, opts{epochs = 3, callbacks = {
    wb.callbacks.Lambda{on_epoch_end = function() return true end},
    wb.callbacks.Lambda{on_epoch_end = function(e)
      if e < 3 then m.stop_training = false end
    end}}})
  T.eq(h.epochs, 3, "overruled at epochs 1 and 2"); T.eq(h.stopped_epoch, 3)
end)

T.test("model.stop_training other than true or false is an error", function()
  local m = model()
  T.check_error("fit: model.stop_training must be true or false, got number 1", m.fit, m,
    train, opts{epochs = 2, callbacks = {wb.callbacks.Lambda{on_epoch_end = function()
      m.stop_training = 1 end}}})
end)

-- }====================

-- {==================== the losses' label check ====================

T.test("the losses check class ids with wb.args's check and its wording", function()
  local out = wb.zeros(3, 3)
  for _, name in ipairs{"mse", "categorical_crossentropy", "hinge", "squared_hinge"} do
    T.check_error(name .. ": labels: label 2 (1-based position) is 1.5, expected an integer "
      .. "in 0..2", wb.losses[name], out, wb.tensor({0, 1.5, 2}))
    T.check_error(name .. ": labels: label 3 (1-based position) is -1, expected an integer "
      .. "in 0..2", wb.losses[name], out, wb.tensor({0, 1, -1}))
    T.check_error(name .. ": labels must be class ids [n], got a tensor [3, 1]",
      wb.losses[name], out, wb.zeros(3, 1))
  end
end)

-- }====================

-- {==================== callbacks as a Keras user writes them ====================

T.test("callback options of the wrong type are errors when made, not taken as false",
    function()
  local cb = wb.callbacks
  T.check_error("ModelCheckpoint: save_best_only must be true or false, got string yes",
    cb.ModelCheckpoint, {"x.st", save_best_only = "yes"})
  T.check_error("EarlyStopping: restore_best_weights must be true or false, got string true",
    cb.EarlyStopping, {restore_best_weights = "true"})
  T.check_error("EarlyStopping: patience must be an integer >= 0, got string 3",
    cb.EarlyStopping, {patience = "3"})
  T.check_error("EarlyStopping: monitor must be a string, got number 1", cb.EarlyStopping,
    {monitor = 1})
  T.check_error("ReduceLROnPlateau: cooldown must be an integer >= 0, got number 1.5",
    cb.ReduceLROnPlateau, {cooldown = 1.5})
  T.check_error("ReduceLROnPlateau: min_lr must be >= 0, got -1", cb.ReduceLROnPlateau,
    {min_lr = -1})
  T.check_error("CSVLogger: append must be true or false, got string yes", cb.CSVLogger,
    dir .. "/x.csv", {append = "yes"})
  T.check_error("EarlyStopping: verbose must be true, false, 0 or 1, got string loud",
    cb.EarlyStopping, {verbose = "loud"})
end)

T.test("verbose = 0 is quiet (Lua takes 0 as true)", function()
  local m = model()
  local path = dir .. "/quiet.out"
  local saved, f = io.stdout, io.open(path, "w")
  io.stdout = f -- the callbacks print to io.stdout
  local ok, err = pcall(m.fit, m, train, opts{epochs = 3, validation = val, callbacks = {
    wb.callbacks.EarlyStopping{monitor = "loss", min_delta = 10, verbose = 0,
      restore_best_weights = true},
    wb.callbacks.ReduceLROnPlateau{monitor = "loss", min_delta = 10, patience = 0,
      verbose = 0}}})
  io.stdout = saved
  f:close()
  T.ok(ok, tostring(err))
  local text = io.open(path):read("a")
  T.eq(text, "", "nothing printed")
end)

T.test("a monitor the logs will not have is an error before training", function()
  local m, c = model(), step_counter()
  local cb = wb.callbacks
  for _, mk in ipairs{function() return cb.EarlyStopping{} end,
      function() return cb.ReduceLROnPlateau{} end,
      function() return cb.ModelCheckpoint{dir .. "/b.st", save_best_only = true} end} do
    local one = mk()
    T.check_error(": monitor 'val_loss' is not in the logs of this fit (epoch logs: accuracy, "
      .. "data_loss, epoch_time, loss, lr, reg_loss); val_* needs fit's validation",
      m.fit, m, train, opts{epochs = 2, callbacks = {c.cb, one}})
  end
  T.check_error("EarlyStopping: monitor 'val_acc' is not in the logs", m.fit, m, train,
    opts{epochs = 2, validation = val, callbacks = {c.cb, cb.EarlyStopping{monitor = "val_acc"}}})
  T.eq(c.n, 0, "no step trained")
end)

T.test("behind a user's epoch callback, a monitor missing from the logs stops fit at epoch 1",
  function()
  -- the user's callback might add keys, so the check waits for the logs;
  -- it warned and went on (the callback then did nothing, every epoch)
  local cb = wb.callbacks
  local adds = cb.Lambda{on_epoch_end = function(_, logs) logs.my_metric = 1 end}
  for _, mk in ipairs{function() return cb.EarlyStopping{monitor = "my_metrc"} end,
      function() return cb.ReduceLROnPlateau{monitor = "my_metrc"} end,
      function() return cb.ModelCheckpoint{dir .. "/c.st", save_best_only = true,
        monitor = "my_metrc"} end} do
    local m = model()
    local h = {}
    local ok, err = pcall(m.fit, m, train, opts{epochs = 3, callbacks = {adds, mk(),
      cb.Lambda{on_epoch_end = function(e) h[#h + 1] = e end}}})
    T.ok(not ok, "fit went on")
    T.ok(tostring(err):find(": monitor 'my_metrc' is not in this epoch's logs (available: "
      .. "accuracy, data_loss, epoch_time, loss, lr, my_metric, reg_loss)", 1, true),
      tostring(err))
    T.eq(#h, 0, "stopped at the first epoch's end")
  end
  local m = model()
  m:fit(train, opts{epochs = 2, callbacks = {adds, cb.EarlyStopping{monitor = "my_metric"}}})
  -- tryN 6: listed after it, the writer was not named; the order is the cause
  T.check_error("EarlyStopping: monitor 'my_metric' is not in the logs of this fit (epoch "
    .. "logs: accuracy, data_loss, epoch_time, loss, lr, reg_loss); callbacks[2] (Lambda at "
    .. "tests/lua/test_audit_loop3.lua:282), after it in the callbacks list, has on_epoch_end: "
    .. "a callback sees only what those before it wrote into the logs, so list the one that "
    .. "writes 'my_metric' before this one", m.fit, m, train,
    opts{epochs = 2, callbacks = {cb.EarlyStopping{monitor = "my_metric"}, adds}})
end)

T.test("LearningRateScheduler sets the lr before each epoch; TerminateOnNaN says fit does it",
    function()
  local m, seen = model(), {}
  local h = m:fit(train, opts{epochs = 3, optimizer = wb.optim.SGD{lr = 0.1}, callbacks = {
    wb.callbacks.LearningRateScheduler(function(e, lr)
      seen[#seen + 1] = e
      return lr / 2 end)}})
  T.eq(table.concat(seen, ","), "1,2,3", "epochs from 1")
  T.near(h.lr[1], 0.05, 1e-12); T.near(h.lr[3], 0.0125, 1e-12)
  T.check_error("LearningRateScheduler: schedule(1, 0.001) returned string x, expected a "
    .. "learning rate", m.fit, m, train, opts{epochs = 1, callbacks = {
      wb.callbacks.LearningRateScheduler(function() return "x" end)}})
  local lrs = wb.callbacks.LearningRateScheduler{function() return 0.5 end, verbose = false}
  m:fit(train, opts{epochs = 1, callbacks = {lrs}})
  T.eq(m.history.lr[1], 0.5, "the table form")
  T.check_error("LearningRateScheduler: the schedule, a function(epoch, lr) -> lr, is required",
    wb.callbacks.LearningRateScheduler, {verbose = true})
  T.check_error("TerminateOnNaN: fit always stops when the loss becomes NaN",
    wb.callbacks.TerminateOnNaN)
end)

-- }====================

T.done()
