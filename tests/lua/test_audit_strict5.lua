-- test_audit_strict5.lua: writes that were kept without a word. A library
-- callback's option set after it was made (es.patience = "3",
-- es.restore_best_weights = "yes", es.min_delta = -1) was kept and failed,
-- or misbehaved, only in training: it now goes through the constructor's
-- checks, the error naming the class, the field, the value and what was
-- expected. A misspelt write into a History (h.val_los = ...) was kept
-- unread: an error naming the nearest now, while fit's, the callbacks' and
-- a resumed fit's series and fields go in as before. model.layers = {...}
-- was kept and never read: an error saying the layers are model[i].
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cbs = wb.callbacks

-- {==================== a callback's options set ====================

T.test("EarlyStopping: an option set to a bad value is an error naming it", function()
  local es = cbs.EarlyStopping{patience = 3}
  local err = T.check_error('wb.callbacks.EarlyStopping: cb.patience = "3": patience must be '
    .. "an integer >= 0, got string 3", function() es.patience = "3" end)
  T.ok(err:find("test_audit_strict5.lua:%d+: wb%.callbacks"), err)
  T.eq(es.patience, 3, "a refused value is not kept")
  T.check_error('cb.restore_best_weights = "yes": restore_best_weights must be true or false',
    function() es.restore_best_weights = "yes" end)
  T.eq(es.restore_best_weights, false)
  T.check_error('cb.monitor = 3: monitor must be a string', function() es.monitor = 3 end)
  T.check_error('cb.mode = "maximum": mode must be \'auto\', \'min\' or \'max\'',
    function() es.mode = "maximum" end)
  T.check_error("cb.start_from_epoch = 1.5: start_from_epoch must be an integer >= 0",
    function() es.start_from_epoch = 1.5 end)
  -- the constructor takes |min_delta| (Keras's); set, -1 read back as -1 and
  -- made every epoch an improvement
  T.check_error("cb.min_delta = -1: expected a value its constructor keeps as given (it "
    .. "stores -1 as 1)", function() es.min_delta = -1 end)
  T.eq(es.min_delta, 0)
  T.check_error("cb.max is set from the option mode; set cb.mode instead",
    function() es.max = true end)
  -- good values are kept, with what the constructor computes from them
  es.patience, es.min_delta, es.mode, es.verbose = 1, 0.5, "max", 1
  T.eq(es.patience, 1); T.eq(es.min_delta, 0.5); T.eq(es.max, true); T.eq(es.verbose, true)
  es.mode = "auto"
  T.eq(es.max, false)
  -- pairs sees the options, as before
  local seen = {}
  for k in pairs(es) do seen[k] = true end
  T.ok(seen.patience and seen.monitor and seen.restore_best_weights, "pairs(es): options")
end)

T.test("an option set after construction is what fit uses", function()
  local train, val = T.tiny_data()
  local es = cbs.EarlyStopping{patience = 100, monitor = "loss", min_delta = 10}
  es.patience = 0 -- no epoch improves loss by 10: it stops at the second
  local h = T.tiny_mlp():fit(train, {epochs = 5, batch_size = 10, verbose = false,
    validation_data = val, callbacks = {es}})
  T.eq(h.epochs, 2); T.eq(h.stopped_epoch, 2)
  -- a wrong type set before fit failed after the first epoch; now at the write
  T.check_error('cb.patience = "0"', function() es.patience = "0" end)
  h = T.tiny_mlp():fit(train, {epochs = 5, batch_size = 10, verbose = false,
    validation_data = val, callbacks = {es}})
  T.eq(h.epochs, 2)
end)

T.test("ReduceLROnPlateau, ModelCheckpoint, CSVLogger, LearningRateScheduler check a set",
  function()
  local r = cbs.ReduceLROnPlateau{}
  T.check_error("wb.callbacks.ReduceLROnPlateau: cb.factor = 2: factor must be in [0, 1), "
    .. "got 2", function() r.factor = 2 end)
  T.check_error("cb.min_lr = -1: min_lr must be >= 0", function() r.min_lr = -1 end)
  T.check_error('cb.cooldown = "2": cooldown must be an integer >= 0',
    function() r.cooldown = "2" end)
  r.factor = 0.5
  T.eq(r.factor, 0.5); T.eq(r.min_lr, 0)
  local mc = cbs.ModelCheckpoint{"x.wbm", save_state = true, tag = "a"}
  T.check_error("wb.callbacks.ModelCheckpoint: cb.save_weights_only = true: save_state and "
    .. "save_weights_only exclude each other", function() mc.save_weights_only = true end)
  T.check_error("cb.tag = 3: tag must be a string", function() mc.tag = 3 end)
  T.check_error('cb.save_best_only = "yes": save_best_only must be true or false',
    function() mc.save_best_only = "yes" end)
  T.check_error('cb.filepath = "e{epoch.wbm": filepath "e{epoch.wbm" has a brace outside',
    function() mc.filepath = "e{epoch.wbm" end)
  T.check_error("cb.save_freq = 0: save_freq must be 'epoch' or a number of steps",
    function() mc.save_freq = 0 end)
  T.check_error("cb.fields is set from the option filepath", function() mc.fields = {} end)
  mc.tag = "b" -- as the runner does before each save (wb/train_resume.lua)
  T.eq(mc.tag, "b")
  T.eq(mc.on_train_batch_end, nil)
  mc.save_freq = 5 -- saves every 5 steps: its step hook comes with it
  T.eq(type(mc.on_train_batch_end), "function")
  mc.filepath = "e{epoch:02d}.wbm"
  T.eq(mc.fields[1], "epoch")
  local c = cbs.CSVLogger("x.csv")
  T.check_error("wb.callbacks.CSVLogger: cb.sep = 1: separator must be a string, got number 1",
    function() c.sep = 1 end)
  T.check_error('cb.append = "yes": append must be true or false',
    function() c.append = "yes" end)
  c.sep = ";"
  T.eq(c.sep, ";")
  -- an option named unlike its field is that field: it was kept as one's own, unread
  c.separator = "\t"
  T.eq(c.sep, "\t"); T.eq(c.separator, "\t"); T.eq(rawget(c, "separator"), nil)
  T.check_error("wb.callbacks.CSVLogger: cb.separator = 1: separator must be a string",
    function() c.separator = 1 end)
  local best = cbs.ModelCheckpoint{"x.wbm", save_best_only = true}
  T.eq(best.initial_value_threshold, nil)
  best.initial_value_threshold = 0.5
  T.eq(best.threshold, 0.5); T.eq(best.initial_value_threshold, 0.5)
  T.check_error("cb.initial_value_threshold = 0.5: initial_value_threshold is given with "
    .. "save_best_only = true", function() mc.initial_value_threshold = 0.5 end)
  local s = cbs.LearningRateScheduler(function(_, lr) return lr end)
  T.check_error("wb.callbacks.LearningRateScheduler: cb.schedule = 3: the schedule, a "
    .. "function(epoch, lr) -> lr, is required", function() s.schedule = 3 end)
  T.check_error('cb.verbose = "loud": verbose must be true, false, 0 or 1',
    function() s.verbose = "loud" end)
  T.eq(type(s.schedule), "function")
  -- the state their hooks keep is set as before, and misspelt names stay errors
  r.wait, mc.best = 2, 0.5
  T.eq(r.wait, 2); T.eq(mc.best, 0.5)
  T.check_error("did you mean factor?", function() r.factr = 0.5 end)
end)

-- }====================
-- {==================== a History's writes ====================

T.test("a History: a misspelt write is an error naming the nearest", function()
  local train, val = T.tiny_data()
  local m = T.tiny_mlp()
  -- a hook's own metric, near a name of the history's, is a series as before
  local hook = cbs.Lambda{on_epoch_end = function(e, logs) logs.val_loss2 = e / 10 end}
  local h = m:fit(train, {epochs = 2, batch_size = 10, verbose = false,
    validation_data = val, callbacks = {hook, cbs.EarlyStopping{patience = 5}}})
  T.eq(h.val_loss2[2], 0.2)
  local err = T.check_error("wb.History has no field 'val_los'; did you mean val_loss?",
    function() h.val_los = {1, 2} end)
  T.ok(err:find("test_audit_strict5.lua:%d+: wb%.History"), err)
  T.eq(rawget(h, "val_los"), nil, "nothing was set")
  T.check_error("wb.History has no field 'stoped_epoch'; did you mean stopped_epoch?",
    function() h.stoped_epoch = 1 end)
  T.check_error("did you mean epochs?", function() h.epoch = 1 end)
  T.check_error("wb.History: 'last' is a method", function() h.last = 1 end)
  -- its fields, its series and names of one's own are set
  h.stopped_epoch, h.best_epoch, h.note = 2, 1, "baseline"
  h.val_loss = {0.5, 0.4}; h.smoothed_loss = {1, 2}
  T.eq(h.note, "baseline"); T.eq(h.smoothed_loss[2], 2); T.eq(h.stopped_epoch, 2)
  rawset(h, "val_los", 1) -- as the hint says
  T.eq(h.val_los, 1)
end)

T.test("a resumed fit's history keeps a hook's series near the history's names", function()
  local train, val = T.tiny_data()
  local dir = T.tmpdir()
  local function opts(epochs, resume)
    return {epochs = epochs, batch_size = 10, verbose = false, validation_data = val,
      resume = resume, callbacks = {cbs.Lambda{on_epoch_end = function(e, logs)
        logs.val_loss2 = e end}, cbs.ModelCheckpoint{dir .. "/s.safetensors",
        save_state = true}}}
  end
  T.tiny_mlp():fit(train, opts(1))
  local h = T.tiny_mlp():fit(train, opts(2, dir .. "/s.safetensors"))
  T.eq(h.epochs, 2); T.eq(h.val_loss2[1], 1); T.eq(h.val_loss2[2], 2)
  T.check_error("did you mean val_loss or val_loss2?", function() h.val_loss3 = 1 end)
end)

-- }====================
-- {==================== model.layers ====================

T.test("model.layers = {...} is an error: the layers are model[i]", function()
  local m = T.tiny_mlp()
  local err = T.check_error("wb.Sequential: model.layers cannot be set: its layers are "
    .. "model[i], model[1] .. model[#model]; model:add(layer) appends one",
    function() m.layers = {wb.nn.Dense(8, 3)} end)
  T.ok(err:find("test_audit_strict5.lua:%d+: wb%.Sequential"), err)
  T.eq(rawget(m, "layers"), nil, "nothing was set")
  T.check_error("model.layer cannot be set", function() m.layer = 1 end)
  T.eq(#m, 2)
  m:add(wb.nn.Activation("linear"))
  T.eq(#m, 3)
  -- a class built on Sequential keeps its own names
  local Sub = setmetatable({}, {__index = wb.nn.SequentialClass})
  Sub.__index, Sub.__newindex = Sub, rawset
  local s = setmetatable({}, Sub)
  s.layers = {}
  T.eq(#s.layers, 0)
end)

-- }====================

T.done()
