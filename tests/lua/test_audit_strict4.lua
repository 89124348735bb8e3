-- test_audit_strict4.lua: names a researcher writes or reads on a model,
-- the library's callbacks, datasets and a summary. A misspelt write
-- (model.stop_trainig = true in a callback: kept as a new field, training
-- went on; es.patiense = 3: kept unread) is an error naming the nearest, as
-- is setting a method's name (model.fit = 1); reading a name a callback, a
-- dataset, wb.data.mnist()'s pair or a summary lacks (es.patiense,
-- d.trian, d.train.imgs, s.txt) is an error naming the nearest, where it
-- was nil. Fields of one's own (model.note), layers by index, the
-- library's own writes, a class built on Sequential and a user's callback
-- or dataset-like table keep working.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- {==================== a model's writes ====================

T.test("a model: a misspelt write or a method's name set is an error naming the nearest",
  function()
  local m = T.tiny_mlp()
  local err = T.check_error("wb.Sequential has no field 'stop_trainig'; did you mean "
    .. "stop_training?", function() m.stop_trainig = true end)
  T.ok(err:find("test_audit_strict4.lua:%d+: wb%.Sequential"), err)
  T.eq(rawget(m, "stop_trainig"), nil, "nothing was set")
  T.check_error("wb.Sequential has no field 'histroy'; did you mean history?",
    function() m.histroy = {} end)
  T.check_error("wb.Sequential has no field 'optimiser'; did you mean optimizer?",
    function() m.optimiser = wb.optim.SGD{lr = 0.1} end)
  T.check_error("wb.Sequential: 'fit' is a method, not a field to set", function() m.fit = 1 end)
  T.check_error("wb.Sequential: 'summary' is a method", function() m.summary = "mine" end)
  T.eq(type(m.fit), "function")
  -- a field of one's own, near nothing of the class's: set and read back
  m.note = "baseline"; m.h = 1
  T.eq(m.note, "baseline"); T.eq(m.h, 1)
  -- rawset keeps one by a near name, as the hint says
  T.check_error("rawset(model, 'histroy', v)", function() m.histroy = 1 end)
  rawset(m, "histroy", 1)
  T.eq(m.histroy, 1)
  -- the declared fields, and layers by index
  m.stop_training, m.history, m.optimizer = false, nil, nil
  m[3] = wb.nn.Activation("linear")
  T.eq(#m, 3)
  m[3] = nil
  T.eq(#m, 2)
end)

-- Keras's way of stopping from a callback, misspelt: fit trained every
-- epoch without a word.
T.test("a misspelt model.stop_training in a callback stops fit with an error", function()
  local m = T.tiny_mlp()
  local cb = {on_epoch_end = function(_, e) if e == 1 then m.stop_trainig = true end end}
  local err = T.check_error("wb.Sequential has no field 'stop_trainig'; did you mean "
    .. "stop_training?", m.fit, m, T.tiny_data(), {epochs = 3, batch_size = 10,
    verbose = false, callbacks = {cb}})
  T.ok(err:find("test_audit_strict4.lua:%d+:"), err)
  -- spelt right, it stops after the first epoch
  cb = {on_epoch_end = function(_, e) if e == 1 then m.stop_training = true end end}
  local h = m:fit(T.tiny_data(), {epochs = 3, batch_size = 10, verbose = false,
    callbacks = {cb}})
  T.eq(h.epochs, 1)
end)

-- After a fit with every library callback, the keys the library set on the
-- model are declared fields (read as nil while unset) or private ones it
-- reads with rawget (fit's _fit_*, wb.losses' _loss_fused_*).
T.test("a model's fields the library sets are declared", function()
  local m = T.tiny_mlp()
  local dir = T.tmpdir()
  m:fit(T.tiny_data(), {epochs = 2, batch_size = 10, verbose = false, validation_split = 0.2,
    callbacks = {wb.callbacks.EarlyStopping{patience = 1},
      wb.callbacks.ModelCheckpoint{dir .. "/m.wbm"}, wb.callbacks.CSVLogger(dir .. "/l.csv")}})
  m:evaluate((T.tiny_data()))
  local fields = wb.nn.SequentialClass.__fields
  for k in pairs(m) do
    if type(k) == "string" then
      T.ok(fields[k] or k:match("^_fit_") or k:match("^_loss_fused_"),
        "undeclared field set by the library: " .. k)
    end
  end
end)

T.test("a class built on Sequential defines its methods; its instances set theirs", function()
  local Sub = setmetatable({}, wb.nn.SequentialClass)
  Sub.__index = Sub
  function Sub:describe() return "sub" end
  function Sub:fit() return "own fit" end
  local s = setmetatable(wb.nn.Sequential{wb.nn.Dense(8, 3)}, Sub)
  s.stop_trainig = 1 -- the user's class: Lua's rules
  T.eq(s:describe(), "sub"); T.eq(s:fit(), "own fit")
end)

-- }====================
-- {==================== callbacks ====================

local function all_callbacks(dir)
  return {wb.callbacks.EarlyStopping{monitor = "val_loss", patience = 1,
    restore_best_weights = true},
    wb.callbacks.ReduceLROnPlateau{monitor = "val_loss", patience = 1},
    wb.callbacks.ModelCheckpoint{dir .. "/best.wbm", save_best_only = true},
    wb.callbacks.CSVLogger(dir .. "/log.csv"),
    wb.callbacks.LearningRateScheduler(function(_, lr) return lr end)}
end

T.test("a library callback's unknown or misspelt name, read or set, is an error", function()
  local es = wb.callbacks.EarlyStopping{patience = 2}
  local err = T.check_error("wb.callbacks.EarlyStopping has no field 'patiense'; did you "
    .. "mean patience?", function() return es.patiense end)
  T.ok(err:find("test_audit_strict4.lua:%d+: wb%.callbacks"), err)
  T.check_error("wb.callbacks.EarlyStopping has no field 'patiense'; did you mean patience?",
    function() es.patiense = 3 end)
  T.eq(es.patience, 2)
  T.check_error("wb.callbacks.EarlyStopping has no field 'restore_best_weight'; did you mean "
    .. "restore_best_weights?", function() es.restore_best_weight = true end)
  T.check_error("wb.callbacks.EarlyStopping: '_better' is a method", function()
    es._better = 1 end)
  -- a hook is part of the protocol: set on the object, as ModelCheckpoint does
  es.on_epoch_begin = function() end
  T.check_error("wb.callbacks.ReduceLROnPlateau has no field 'min_Lr'; did you mean min_lr?",
    function() return wb.callbacks.ReduceLROnPlateau{}.min_Lr end)
  T.check_error("wb.callbacks.ModelCheckpoint has no field 'save_best_onyl'; did you mean "
    .. "save_best_only?", function() return wb.callbacks.ModelCheckpoint{"x.wbm"}
    .save_best_onyl end)
  T.check_error("wb.callbacks.CSVLogger has no field 'filname'; did you mean filename?",
    function() return wb.callbacks.CSVLogger("x.csv").filname end)
  T.check_error("wb.callbacks.LearningRateScheduler has no field 'shedule'; did you mean "
    .. "schedule?", function() return wb.callbacks.LearningRateScheduler(print).shedule end)
  -- fields set before fit sets them read nil; one's own field is kept
  T.eq(es.wait, nil); T.eq(es.baseline, nil); T.eq(es.on_train_batch_end, nil)
  es.label = "mine"
  T.eq(es.label, "mine")
end)

-- Every key a callback holds after a fit (its options, the state its hooks
-- set) is declared: none reads as an error while unset.
T.test("a fit with the library's callbacks: the fields they set are declared", function()
  local train, val = T.tiny_data()
  local cbs = all_callbacks(T.tmpdir())
  local m = T.tiny_mlp()
  m:fit(train, {epochs = 3, batch_size = 10, verbose = false, validation_data = val,
    callbacks = cbs})
  for _, cb in ipairs(cbs) do
    local fields = getmetatable(cb).__fields
    for k in pairs(cb) do
      T.ok(fields[k], tostring(cb) .. ": undeclared field " .. tostring(k))
    end
  end
  T.eq(math.type(cbs[1].wait), "integer")
  T.ok(cbs[3].best < math.huge, "ModelCheckpoint's best")
end)

T.test("a user's own callback (a plain table) keeps its own names", function()
  local seen = 0
  local cb = {patiense = 3, on_epoch_end = function(self) seen = seen + self.patiense end}
  T.eq(cb.nothing_here, nil)
  local m = T.tiny_mlp()
  m:fit(T.tiny_data(), {epochs = 2, batch_size = 10, verbose = false, callbacks = {cb}})
  T.eq(seen, 6)
end)

-- }====================
-- {==================== datasets and summaries ====================

T.test("a dataset's unknown name is an error naming the nearest; its fields work", function()
  local ds = T.tiny_data()
  T.check_error("wb.Dataset has no field 'imgs'; did you mean images?",
    function() return ds.imgs end)
  T.check_error("wb.Dataset has no field 'targets'; did you mean labels?",
    function() return ds.targets end)
  T.check_error("wb.Dataset has no field 'nmae'; did you mean name?",
    function() return ds.nmae end)
  T.check_error("wb.Dataset has no field 'lables'; did you mean labels?",
    function() ds.lables = ds.labels end)
  T.eq(#ds, 70); T.eq(ds.name, "synthetic[1:70]")
  T.eq(ds.images:size(1), 70); T.eq(ds.labels:size(1), 70)
  ds.note = "mine"
  T.eq(ds.note, "mine")
end)

T.test("wb.data.mnist()'s pair: an unknown key is an error naming what it has", function()
  local d = wb.data.mnist()
  local err = T.check_error("wb.data.mnist() has no field 'trian'; did you mean train?",
    function() return d.trian end)
  T.ok(err:find("test_audit_strict4.lua:%d+: wb%.data"), err)
  T.check_error("wb.Dataset has no field 'imgs'; did you mean images?",
    function() return d.train.imgs end)
  T.check_error("wb.data.mnist() has no field 'val'; its fields and methods: test, train",
    function() return d.val end)
  T.check_error("wb.data.mnist() has no field 'images': it is {train, test}",
    function() return d.images end)
  T.check_error("wb.data.mnist() has no field 'tset'; did you mean test?",
    function() d.tset = 1 end)
  T.eq(#d.train, 60000); T.eq(#wb.data.load("mnist").test, 10000)
  -- the pair where a dataset belongs: named as what it is, at the caller's line, not
  -- an error of the library's probe for a dataset (d.batch, d[1])
  local m = wb.nn.Sequential{wb.nn.Dense(784, 10, {activation = "softmax"})}
  err = T.check_error("bad argument #1 to 'fit' (wb.Dataset or wb.Tensor expected, got "
    .. "wb.data.mnist())", m.fit, m, d, {epochs = 1})
  T.check_error("bad argument #1 to 'evaluate' (wb.Dataset or wb.Tensor expected, got "
    .. "wb.data.mnist())", m.evaluate, m, d)
  T.check_error("fit: validation must be a dataset or a pair {x, y} of tensors, got "
    .. "wb.data.mnist()", m.fit, m, d.test:subset(1, 10), {epochs = 1, validation_data = d})
end)

-- evaluate and fit take a table that acts as a dataset (batch, labels, #)
T.test("a dataset-like table of the caller's own is still taken", function()
  local ds, val = T.tiny_data()
  local own = setmetatable({images = ds.images, labels = ds.labels,
    batch = function(_, ...) return ds:batch(...) end}, {__len = function() return #ds end})
  local m = T.tiny_mlp()
  T.near(m:evaluate(own).loss, m:evaluate(ds).loss, 0)
  local h = m:fit(own, {epochs = 1, batch_size = 10, verbose = false, validation_data = val})
  T.eq(h.epochs, 1)
  -- a second dataset where evaluate takes y or options: named, not read as a list
  T.check_error("evaluate: expected an options table, got a wb.Dataset", m.evaluate, m, ds, val)
end)

T.test("a summary's unknown name, read or set, is an error naming the nearest", function()
  local s = T.tiny_mlp():summary()
  T.check_error("wb.Summary has no field 'txt'; did you mean text?", function() return s.txt end)
  T.check_error("wb.Summary has no field 'txt'; did you mean text?", function() s.txt = "" end)
  T.ok(s:find("Total params", 1, true))
  T.eq(type(s.text), "string")
end)

-- A script's d.train = d.train:subset(...) replaced the train set of the one
-- pair the process shared: every later wb.data.mnist() (and a run's data in
-- the same process, wb.data.for_config) trained on the subset without a word.
T.test("a pair's train set replaced does not reach later wb.data.mnist() or for_config",
    function()
  local d = wb.data.mnist()
  d.train = d.train:subset(1, 10)
  T.eq(#wb.data.mnist().train, 60000)
  T.ok(wb.data.mnist().train == wb.data.mnist().train, "the datasets are loaded once")
  local cfg = {dataset = "mnist", subset = {train = 100, test = 50}}
  local c = wb.data.for_config(cfg)
  c.train = c.train:subset(1, 10)
  T.eq(#wb.data.for_config(cfg).train, 100)
  T.eq(#wb.data.for_config{dataset = "mnist"}.train, 60000)
  T.check_error("wb.data.for_config() has no field 'trian'; did you mean train?",
    function() return c.trian end)
end)

-- task:txt("...") in a report was "attempt to call a nil value (method 'txt')"
T.test("a task's unknown name is an error naming the nearest; its fields read nil", function()
  local task = wb.task{name = "tt", experiment = {base = {hidden = 4, epochs = 1}}}
  T.check_error("wb.Task has no field 'txt'; did you mean text?", function() return task.txt end)
  T.check_error("wb.Task has no field 'tilte'; did you mean title?",
    function() task.tilte = "x" end)
  T.eq(task.dir, nil)
  T.eq(task.title, "tt")
  task.note = "mine"
  T.eq(task.note, "mine")
end)

-- }====================

T.done()
