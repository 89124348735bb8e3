-- test_audit_keras.lua: where a Keras-shaped call meant something else
-- without a word (the Keras audit): one test per defect found.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- {==================== ModelCheckpoint(filepath, opts) ====================

-- Keras's ModelCheckpoint(filepath, save_best_only = True) reads in Lua as
-- ModelCheckpoint(path, {save_best_only = true}): the options table was
-- dropped unread, so every epoch was saved and the file held the LAST
-- epoch's model, not the best one.
T.test("ModelCheckpoint(filepath, opts) honours its options (save_best_only)", function()
  local dir = T.tmpdir()
  local model = T.tiny_mlp(1)
  local cb = wb.callbacks.ModelCheckpoint(dir .. "/e{epoch}.safetensors",
    {save_best_only = true, monitor = "val_loss"})
  T.eq(cb.save_best_only, true)
  cb:on_train_begin(model)
  cb:on_epoch_end(1, {val_loss = 0.5})
  cb:on_epoch_end(2, {val_loss = 0.7}) -- worse: not saved
  cb:on_epoch_end(3, {val_loss = 0.4})
  T.ok(wb.sys.exists(dir .. "/e1.safetensors"), "epoch 1 (best so far) saved")
  T.ok(not wb.sys.exists(dir .. "/e2.safetensors"), "epoch 2 (worse) was saved")
  T.ok(wb.sys.exists(dir .. "/e3.safetensors"), "epoch 3 (best) saved")
  -- the other options too: mode from the monitor's name, the threshold
  local acc = wb.callbacks.ModelCheckpoint(dir .. "/a.safetensors",
    {save_best_only = true, monitor = "val_accuracy", initial_value_threshold = 0.9})
  T.eq(acc.monitor, "val_accuracy"); T.eq(acc.max, true); T.eq(acc.threshold, 0.9)
end)

T.test("ModelCheckpoint: filepath twice, or a second argument after a table, is an error",
  function()
  T.check_error("filepath given twice", wb.callbacks.ModelCheckpoint, "a.safetensors",
    {filepath = "b.safetensors"})
  T.check_error("filepath given twice", wb.callbacks.ModelCheckpoint, "a.safetensors",
    {"b.safetensors"})
  T.check_error("second argument after a table", wb.callbacks.ModelCheckpoint,
    {"a.safetensors"}, {save_best_only = true})
  T.check_error("unknown option 'save_best'", wb.callbacks.ModelCheckpoint, "a.safetensors",
    {save_best = true})
  -- the forms that were right stay so
  T.eq(wb.callbacks.ModelCheckpoint("a.safetensors").filepath, "a.safetensors")
  T.eq(wb.callbacks.ModelCheckpoint{"a.safetensors", save_best_only = true}.save_best_only,
    true)
end)

-- }====================
-- {==================== arguments past the options ====================

-- Keras's Dropout(0.5, seed=42) in Lua: wb.nn.Dropout(0.5, {seed = 42}). The
-- seed was ignored (masks from the global generator); so was any argument
-- after a layer's or an optimizer's options, or a callback's options table.
T.test("layers: an argument past their own is an error naming it", function()
  T.check_error("bad argument #2 to 'wb.nn.Dropout' (unexpected argument (a table): "
    .. "wb.nn.Dropout(rate) takes the rate only (Keras's noise_shape and seed",
    wb.nn.Dropout, 0.5, {seed = 42})
  T.check_error("bad argument #4 to 'wb.nn.Dense' (unexpected argument (a table)",
    wb.nn.Dense, 4, 3, {activation = "relu"}, {kernel_regularizer = 0.01})
  T.check_error("bad argument #2 to 'wb.nn.Activation' (unexpected argument",
    wb.nn.Activation, "relu", 0.1)
  T.check_error("bad argument #1 to 'wb.nn.Flatten' (unexpected argument",
    wb.nn.Flatten, {})
  -- nil in those places is as if absent
  T.eq(wb.nn.Dropout(0.5, nil).rate, 0.5)
  T.eq(wb.nn.Dense(4, 3, nil, nil).n_out, 3)
end)

T.test("optimizers: Keras's positional learning rate and extra arguments are errors",
  function()
  -- Keras's SGD(0.1) is learning_rate = 0.1
  T.check_error("SGD: options are a table, e.g. {lr = 0.1} (Keras's positional "
    .. "learning_rate), got a number", wb.optim.SGD, 0.1)
  T.check_error("Adam: options are a table, e.g. {lr = 0.0001}", wb.optim.Adam, 1e-4)
  T.check_error("bad argument #2 to '?' (unexpected argument (a table): an optimizer takes "
    .. "its options in one table", wb.optim.Adam, {lr = 1e-3}, {amsgrad = true})
  T.check_error("bad argument #3 to '?' (unexpected argument (a number)", wb.optim.new,
    "sgd", {lr = 0.1}, 0.9)
  T.eq(wb.optim.new("adam", nil, nil).lr, 1e-3)
  T.eq(wb.optim.SGD().lr, 0.01)
end)

T.test("callbacks taking one options table: a second argument is an error", function()
  T.check_error("EarlyStopping: takes one options table, got a second argument (table)",
    wb.callbacks.EarlyStopping, {monitor = "val_loss"}, {patience = 3})
  T.check_error("ReduceLROnPlateau: takes one options table, got a second argument",
    wb.callbacks.ReduceLROnPlateau, {}, {factor = 0.5})
  T.check_error("Lambda: takes one options table, got a second argument",
    wb.callbacks.Lambda, {}, {on_epoch_end = print})
end)

-- }====================

T.done()
