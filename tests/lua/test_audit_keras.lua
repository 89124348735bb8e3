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
  T.check_error("bad argument #2 to 'ModelCheckpoint' (nothing expected after an options "
    .. "table", wb.callbacks.ModelCheckpoint,
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

-- Keras's categorical_crossentropy takes one-hot rows (to_categorical): the
-- error's hint was a copy(y) that fails on them; it now gives the class ids
-- of one-hot rows, and that expression works.
T.test("fit(x, one-hot y): the error gives the class ids of one-hot rows", function()
  local tr = T.tiny_data()
  local x, n = tr.images, #tr
  local y = wb.zeros(n, 3)
  for i = 1, n do y:set(i, tr.labels:get(i) + 1, 1) end
  local model = T.tiny_mlp(1)
  local err = T.check_error("one-hot rows, as Keras's categorical_crossentropy takes them: "
    .. "their class ids are wb.new_tensor({70}, \"uint8\"):copy(y:argmax(2) - 1)",
    model.fit, model, x, y, {loss = "categorical_crossentropy", verbose = false})
  T.ok(not err:find("copy(y))", 1, true), err)
  local ids = wb.new_tensor({n}, "uint8"):copy(y:argmax(2) - 1)
  for i = 1, n do T.eq(ids:get(i), tr.labels:get(i)) end
  T.eq(#model:fit(x, ids, {epochs = 1, verbose = false}).loss, 1)
end)

-- Keras's validation_data = (x_val, y_val) is {x_val, y_val} in Lua: it was
-- refused as "not a dataset"; it is now the same as the dataset.
T.test("fit: validation_data = {x, y} (Keras's pair) is the dataset of x and y", function()
  local tr, va = T.tiny_data()
  local a = T.tiny_mlp(1):fit(tr, {epochs = 2, verbose = false,
    validation_data = {va.images, va.labels}})
  local b = T.tiny_mlp(1):fit(tr, {epochs = 2, verbose = false, validation = va})
  T.eq(a.val_loss[2], b.val_loss[2]); T.eq(a.val_accuracy[2], b.val_accuracy[2])
  local m = T.tiny_mlp(1)
  T.check_error("validation as a pair is {x, y} (two tensors), got a table of 1", m.fit, m, tr,
    {validation = {va.images}, verbose = false})
  T.check_error("got a table of 3 entries", m.fit, m, tr,
    {validation = {va.images, va.labels, shuffle = true}, verbose = false})
  T.check_error("fit: validation: y: expected labels uint8 [20]", m.fit, m, tr,
    {validation = {va.images, va.images}, verbose = false})
end)

-- Keras's on_train_end(logs) gets the last epoch's logs; here it got {}:
-- Lambda{on_train_end = function(logs) print(logs.val_loss) end} printed nil.
T.test("on_train_end gets the last epoch's logs, as Keras's", function()
  local tr, va = T.tiny_data()
  local seen
  local h = T.tiny_mlp(1):fit(tr, {epochs = 2, validation = va, verbose = false,
    callbacks = {wb.callbacks.Lambda{on_train_end = function(logs) seen = logs end}}})
  T.eq(seen.val_loss, h.val_loss[2]); T.eq(seen.loss, h.loss[2])
  T.eq(seen.accuracy, h.accuracy[2])
  -- no epoch ran (stopped in on_train_begin): {}
  T.tiny_mlp(1):fit(tr, {epochs = 1, verbose = false,
    callbacks = {wb.callbacks.Lambda{on_train_begin = function() return true end,
      on_train_end = function(logs) seen = logs end}}})
  T.eq(next(seen), nil)
end)

-- }====================
-- {==================== EarlyStopping's first value ====================

-- Keras starts best at +inf (-inf for "max"): a NaN or infinite first value
-- improves on nothing. It was taken as the best, every later value
-- compared false against it, and training stopped at patience.
T.test("EarlyStopping: a NaN or inf first value is no improvement (Keras's best = inf)",
  function()
  for _, case in ipairs{{"val_loss", 0 / 0, 0.5}, {"val_loss", math.huge, 0.5},
      {"val_accuracy", 0 / 0, 0.5}, {"val_accuracy", -math.huge, 0.5}} do
    local model = T.tiny_mlp(1)
    local es = wb.callbacks.EarlyStopping{monitor = case[1], patience = 1}
    es:on_train_begin(model)
    es:on_epoch_end(1, {[case[1]] = case[2]})
    es:on_epoch_end(2, {[case[1]] = case[3]})
    T.ok(model.stop_training ~= true, case[1] .. " " .. case[2] .. ": stopped at epoch 2")
    T.eq(es.best, case[3]); T.eq(es.best_epoch, 2)
  end
end)

-- fit's own history.best_epoch (lowest val_loss) had the same flaw: a NaN
-- first val_loss was the best epoch for good (the run's best_val_loss).
T.test("fit: a NaN val_loss is never history.best_epoch", function()
  local tr, va = T.tiny_data()
  local model = T.tiny_mlp(1)
  -- finite rows whose logits overflow: val_loss is NaN, training is fine
  local bad = wb.data.Dataset(va.images:clone() * 3e38, va.labels)
  local h = model:fit(tr, {epochs = 2, validation = bad, verbose = false})
  T.ok(h.val_loss[1] ~= h.val_loss[1], "val_loss is not NaN: " .. h.val_loss[1])
  T.eq(h.best_epoch, nil)
end)

-- }====================
-- {==================== help says where Keras differs ====================

-- Numbering a Keras user reads differently: documented where it is met.
T.test("help names the Keras differences of CSVLogger, Lambda, predict, Flatten", function()
  local want = {
    {wb.callbacks.CSVLogger, "Keras's CSVLogger writes 0 for the first epoch"},
    {wb.callbacks.Lambda, "Keras passes 0 for the first"},
    {wb.callbacks.Lambda, "Keras passes the batch index within the epoch from 0"},
    {wb.callbacks.Lambda, "running means over the epoch so far"},
    {wb.nn.SequentialClass.predict, "Column c + 1 is class c"},
    {wb.nn.Flatten, "Keras's Flatten does not scale"},
    {wb.callbacks.ModelCheckpoint, "ModelCheckpoint(filepath, opts)"},
    {wb.callbacks.EarlyStopping, "Keras's attributes count from 0"},
  }
  for _, w in ipairs(want) do
    local text = wb.help.text(w[1]):gsub("\n%s*", " ")
    T.ok(text:find(w[2], 1, true), "help lacks: " .. w[2] .. "\n" .. text)
  end
end)

-- }====================

T.done()
