-- test_audit_strict3.lua: a model's fields read by a name it lacks
-- (model.histroy, model.laeyrs were nil: a typo in a script gave wrong
-- output without a word) are an error naming the type, the key and the
-- nearest names, as tensors', optimizers' and C layers' are
-- (test_audit_strict2); the library's own reads of a model's optional
-- fields, ipairs(model), methods, new fields, a user's class built on
-- Sequential and Lua layers keep working; an optimizer read by a key that
-- is not a string (opt[true]) is an error, not nil.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- {==================== a model's names ====================

T.test("a model's unknown field is an error naming the nearest, at the typo's line", function()
  local m = T.tiny_mlp()
  local err = T.check_error("wb.Sequential has no field 'histroy'; did you mean history?",
    function() return m.histroy end)
  T.ok(err:find("test_audit_strict3.lua:%d+: wb%.Sequential"), err)
  T.check_error("wb.Sequential has no field 'stop_trainig'; did you mean stop_training?",
    function() return m.stop_trainig end)
  T.check_error("wb.Sequential has no field 'optimiser'; did you mean optimizer?",
    function() return m.optimiser end)
  T.check_error("wb.Sequential has no field 'fitt'; did you mean fit?",
    function() return m:fitt() end)
  T.check_error("wb.Sequential has no field 'Summary'; did you mean summary?",
    function() return m.Summary end)
  -- Keras's model.layers (and a typo of it): what is here instead
  T.check_error("wb.Sequential has no field 'layers': model[i] is layer i and #model their "
    .. "number (Keras's model.layers[0] is model[1])", function() return m.layers end)
  T.check_error("wb.Sequential has no field 'laeyrs': model[i] is layer i",
    function() return m.laeyrs end)
  -- nothing near: the public names listed, not the private ones
  err = T.check_error("wb.Sequential has no field 'qqqqqqqq'; its fields and methods: ",
    function() return m.qqqqqqqq end)
  T.ok(err:find("fit, ", 1, true) and err:find("history, ", 1, true), err)
  T.ok(not err:find("_h", 1, true) and not err:find("__index", 1, true), err)
  -- a user's own field is kept, read back and named in the hint
  m.note = "baseline"
  T.eq(m.note, "baseline")
  T.check_error("wb.Sequential has no field 'nte'; did you mean note?",
    function() return m.nte end)
end)

T.test("a model's keys: layers by integer (nil past the last), others an error", function()
  local m = T.tiny_mlp()
  local seen = {}
  for i, layer in ipairs(m) do seen[i] = layer end
  T.eq(#seen, 2)
  T.ok(rawequal(seen[1], m[1]) and rawequal(seen[2], m[2]))
  T.eq(m[3], nil)
  T.eq(m[100], nil)
  T.check_error("wb.Sequential has no layer 0: its layers are model[1] .. model[#model] "
    .. "(#model = 2)", function() return m[0] end)
  T.check_error("wb.Sequential has no layer -1", function() return m[-1] end)
  T.check_error("wb.Sequential has no key true", function() return m[true] end)
  T.check_error("wb.Sequential has no key 1.5", function() return m[1.5] end)
  -- the fields a model has before fit sets them: nil, as before
  T.eq(m.history, nil)
  T.eq(m.optimizer, nil)
  T.eq(m.stop_training, nil)
  -- an empty model: ipairs ends at once
  for _ in ipairs(wb.nn.Sequential()) do error("an empty model has no layer") end
  -- methods, added by any of the library's files
  T.eq(m:num_params(), 8 * 12 + 12 + 12 * 3 + 3)
  T.ok(tostring(m:summary()):find("Dense", 1, true))
  T.eq(#m:add(wb.nn.Activation("linear")), 3)
end)

-- }====================
-- {==================== the library's own reads ====================

-- Before any fit the model has no history, optimizer, stop_training: the
-- library's reads of them (evaluate's cached order, a callback's hooks
-- called by hand, as their help shows) take them as absent.
T.test("a fresh model: evaluate and a callback's hooks called by hand read no typo", function()
  local m = T.tiny_mlp()
  local _, val = T.tiny_data()
  local e = m:evaluate(val)
  T.ok(e.loss > 0 and e.accuracy >= 0, "evaluated")
  local es = wb.callbacks.EarlyStopping{monitor = "loss", patience = 1}
  es:on_train_begin(m)
  es:on_epoch_end(1, {loss = 1})
  es:on_epoch_end(2, {loss = 2})
  T.eq(m.stop_training, true)
  T.eq(m.history, nil)
  es:on_train_end()
  T.eq(es.stopped_epoch, nil) -- no history says the stop held: taken as overruled, as before
end)

-- A fit with the callbacks that read a model's optional fields (history,
-- stop_training, optimizer) and the cockpit, in a child (the cockpit draws
-- on stdout): it trains, stops early, writes the checkpoint and the CSV.
T.test("a fit with early stopping, a checkpoint, a CSV log, a scheduler and the cockpit runs",
  function()
  local dir = T.tmpdir()
  local script = dir .. "/fit.lua"
  local f = assert(io.open(script, "w"))
  f:write(string.format([[
local T = dofile("tests/lua/harness.lua")
local train, val = T.tiny_data()
local m = T.tiny_mlp(3, true)
local es = wb.callbacks.EarlyStopping{monitor = "val_loss", patience = 1, min_delta = 10,
  restore_best_weights = true}
local h = m:fit(train, {epochs = 6, batch_size = 10, verbose = false, seed = 1,
  optimizer = wb.optim.SGD{lr = 0.05}, validation_data = val, cockpit = 3,
  instruments = wb.cockpit.DEFAULT, callbacks = {es,
  wb.callbacks.ModelCheckpoint{filepath = %q, save_best_only = true},
  wb.callbacks.CSVLogger(%q),
  wb.callbacks.ReduceLROnPlateau{monitor = "val_loss", patience = 1, factor = 0.5},
  wb.callbacks.LearningRateScheduler(function(epoch, lr) return lr end)}})
print("RESULT", h.epochs, h.stopped_epoch, h.best_epoch, m.stop_training,
  rawequal(m.history, h), m.optimizer.name)
local e = m:evaluate(val)
print("EVAL", e.loss == e.loss)
]], dir .. "/best.wbm", dir .. "/log.csv"))
  f:close()
  local st, out, err = T.run_wb(T.quote(script))
  T.eq(st, 0, err)
  local epochs, stopped, best, stop, same, name = out:match(
    "RESULT\t(%d+)\t(%d+)\t(%d+)\t(%a+)\t(%a+)\t(%a+)")
  T.ok(epochs, out)
  -- min_delta 10: no epoch after the first improves, patience 1 stops at 2
  T.eq(epochs, "2"); T.eq(stopped, "2"); T.eq(best, "1")
  T.eq(stop, "true"); T.eq(same, "true"); T.eq(name, "sgd")
  T.ok(out:find("EVAL\ttrue", 1, true), out)
  T.ok(out:find("step", 1, true), "the cockpit drew: " .. out)
  T.ok(io.open(dir .. "/best.wbm"), "the checkpoint was written")
  T.eq(#T.csv_rows(dir .. "/log.csv"), 3) -- the header and two epochs
end)

-- A Sequential nested as a layer: the architecture reads a layer's config
-- and kind where it has them (a model has neither).
T.test("a Sequential nested as a layer: fit, save and load_weights work", function()
  local train = T.tiny_data()
  wb.seed(2)
  local inner = wb.nn.Sequential{wb.nn.Dense(8, 12, {activation = "relu"})}
  local m = wb.nn.Sequential{inner, wb.nn.Dense(12, 3, {activation = "softmax"})}
  local h = m:fit(train, {epochs = 1, batch_size = 10, verbose = false, seed = 1})
  T.eq(h.epochs, 1)
  local path = T.tmpdir() .. "/nested.wbm"
  m:save(path)
  local ps = m:get_weights()
  m:set_weights({wb.zeros(8, 12), wb.zeros(12), wb.zeros(12, 3), wb.zeros(3)})
  m:load_weights(path)
  for k, p in ipairs(m:get_weights()) do
    T.eq(table.concat(p:reshape{p:numel()}:totable(), ","),
      table.concat(ps[k]:reshape{ps[k]:numel()}:totable(), ","), "tensor " .. k)
  end
end)

-- (the model's kind was read, an error on a model: that error hid this one)
T.test("hessian with mse: a Sequential nested as a layer is named as unsupported", function()
  local train = T.tiny_data()
  local m = wb.nn.Sequential{wb.nn.Dense(8, 3, {activation = "softmax"}),
    wb.nn.Sequential{wb.nn.Activation("linear")}}
  T.check_error("trace: layer 2: table is not supported by wb.hessian", wb.hessian.trace, m,
    {x = train.images:rows(1, 10), y = train.labels:rows(1, 10)}, {loss = "mse"})
end)

-- }====================
-- {==================== a user's classes ====================

-- A user's class built on Sequential and a user's Lua layer are the user's
-- code: their own optional names read as nil (Lua's way), the library's
-- methods work on them, and fit trains them.
T.test("a user's class built on Sequential and a Lua layer read their optional fields",
  function()
  local Net = setmetatable({}, {__index = wb.nn.SequentialClass})
  Net.__index = Net
  function Net:describe() return (self.label or "unnamed") .. " " .. #self end
  local Scale = {}
  Scale.__index = Scale
  function Scale:forward(x) self.seen = (self.seen or 0) + 1; return x end
  function Scale:backward(_, g) return g end
  function Scale:parameters() return {}, {} end
  function Scale:zero_grad() end
  wb.seed(4)
  local m = setmetatable(wb.nn.Sequential{wb.nn.Dense(8, 12, {activation = "relu"}),
    setmetatable({}, Scale), wb.nn.Dense(12, 3, {activation = "softmax"})}, Net)
  T.eq(m:describe(), "unnamed 3")
  T.eq(m.extra_option, nil)
  local h = m:fit(T.tiny_data(), {epochs = 2, batch_size = 10, verbose = false, seed = 1})
  T.eq(h.epochs, 2)
  T.ok(m[2].seen >= 14, "the Lua layer ran")
  T.ok(rawequal(m.history, h))
  -- the class as a metatable of a class (setmetatable(Sub, Sequential))
  local Sub = setmetatable({}, wb.nn.SequentialClass)
  Sub.__index = Sub
  local s = setmetatable(wb.nn.Sequential{wb.nn.Dense(8, 3)}, Sub)
  T.eq(s.maybe, nil)
  T.eq(s:num_params(), 27)
end)

-- }====================
-- {==================== optimizers by a key not a string ====================

T.test("an optimizer read by a key that is not a string is an error, not nil", function()
  local opt = wb.optim.Adam{lr = 0.01}
  T.check_error("wb.optim.Adam has no key true (its fields and methods are named by strings)",
    function() return opt[true] end)
  T.check_error("wb.optim.Adam has no key 1 ", function() return opt[1] end)
  T.check_error("wb.optim.SGD has no key 0.5", function() return wb.optim.SGD{lr = 0.1}[0.5] end)
  local err = T.check_error("wb.optim.RMSprop has no key table",
    function() return wb.optim.RMSprop{}[{}] end)
  T.ok(err:find("test_audit_strict3.lua:%d+: wb%.optim"), err)
  T.near(opt.lr, 0.01, 0)
  T.eq(type(opt.step), "function")
end)

-- {==================== a fit's History ====================

T.test("a History's unknown name is an error naming the nearest; Keras's history and "
  .. "epoch say what is here; fields set when they apply read nil until then", function()
  local train, val = T.tiny_data()
  local m = T.tiny_mlp(3, true)
  local h = m:fit(train, {epochs = 2, batch_size = 10, verbose = false, seed = 1,
    validation_data = val})
  T.eq(#h.val_loss, 2)
  T.eq(h:last("val_loss"), h.val_loss[2])
  T.eq(h.stopped_epoch, nil, "no callback stopped it")
  T.eq(math.type(h.best_epoch), "integer", "fit sets it with validation")
  T.eq(h.steps, nil, "no log_every")
  T.eq(h:last("steps"), nil)
  local err = T.check_error("wb.History has no field 'val_los'; did you mean val_loss?",
    function() return h.val_los end)
  T.ok(err:find("test_audit_strict3.lua:%d+: wb%.History"), err)
  T.check_error("wb.History has no field 'history': a wb.History is Keras's "
    .. "History.history itself", function() return h.history end)
  T.check_error("wb.History has no field 'epoch': h.epochs is the number of epochs run",
    function() return h.epoch end)
  T.check_error("wb.History has no series 'val_acc': validation accuracy is h.val_accuracy",
    h.last, h, "val_acc")
  -- a series a callback's logs add is read as any other
  local extra = {on_epoch_end = function(_, _, logs) logs.my_metric = 0.5 end}
  h = m:fit(train, {epochs = 1, batch_size = 10, verbose = false, seed = 1,
    callbacks = {extra}})
  T.eq(h:last("my_metric"), 0.5)
  T.eq(h.my_metric[1], 0.5)
  T.check_error("did you mean my_metric?", function() return h.my_metrc end)
end)

-- }====================

T.done()
