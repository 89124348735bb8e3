-- test_audit_loop.lua: a new user's trust audit of the training loop: fit's
-- options that were taken silently or failed deep inside, resume that was
-- not bit for bit (a fit whose EarlyStopping restored the best weights, a
-- draw from the generator after fit, another optimizer), save_state where
-- no exact state exists (mid-epoch), and the messages a custom loss gets.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local train, val, data = T.tiny_data()
local dir = T.tmpdir()

local function model(seed) return T.tiny_mlp(seed, true) end

local diff = T.history_diff

local function sgd() return wb.optim.SGD{lr = 0.1, momentum = 0.9} end

-- {==================== resume, bit for bit ====================

T.test("resume after a fit whose EarlyStopping restored the best weights is exact", function()
  -- min_delta 0.01: epoch 2 does not improve on epoch 1, so the 2-epoch fit
  -- ends holding epoch 1's weights; the state must hold epoch 2's, which the
  -- uninterrupted run trained epoch 3 from (it wrote epoch 1's)
  local function cbs()
    return {wb.callbacks.EarlyStopping{patience = 2, min_delta = 0.01,
      restore_best_weights = true}}
  end
  local o = {batch_size = 16, verbose = false, validation = val, log_every = 2}
  local straight = model(1)
  o.epochs, o.seed, o.optimizer, o.callbacks = 6, 9, sgd(), cbs()
  local hs = straight:fit(train, o)
  local first = model(1)
  o.epochs, o.optimizer, o.callbacks = 2, sgd(), cbs()
  first:fit(train, o)
  T.ok(first.history.best_epoch == 1, "the setting restores epoch 1's weights")
  local path = dir .. "/es.safetensors"
  first:save_state(path)
  local resumed = model(5)
  o.epochs, o.seed, o.optimizer, o.callbacks, o.resume = 6, nil, nil, cbs(), path
  local hr = resumed:fit(train, o)
  local d = diff(hr, hs, "history", {})
  T.eq(#d, 0, table.concat(d, "; "):sub(1, 300))
  T.ok(T.same_weights(resumed, straight), "final (restored best) weights")
end)

T.test("resume is exact when the generator was drawn from after fit", function()
  -- e.g. a Hessian probe or wb.randn between fit and save_state
  local o = {batch_size = 16, verbose = false, epochs = 3, seed = 9, optimizer = sgd()}
  local straight = model(1)
  local hs = straight:fit(train, o)
  local first = model(1)
  o.epochs, o.optimizer = 2, sgd()
  first:fit(train, o)
  wb.randn(7)
  local path = dir .. "/rng.safetensors"
  first:save_state(path)
  local resumed = model(5)
  local hr = resumed:fit(train, {batch_size = 16, verbose = false, epochs = 3, resume = path})
  local d = diff(hr, hs, "history", {})
  T.eq(#d, 0, table.concat(d, "; "):sub(1, 300))
  T.ok(T.same_weights(resumed, straight), "weights")
end)

T.test("weights edited after fit are what save_state writes", function()
  local m = model(1)
  m:fit(train, {batch_size = 16, verbose = false, epochs = 1,
    callbacks = {wb.callbacks.EarlyStopping{monitor = "loss", restore_best_weights = true}}})
  m[1].weight:fill(0.25)
  local path = dir .. "/edit.safetensors"
  m:save_state(path)
  local file = wb.io.load_safetensors(path)
  T.eq(file["layers.1.weight"]:max(), 0.25); T.eq(file["layers.1.weight"]:min(), 0.25)
end)

T.test("save_state inside an epoch, or after a fit interrupted there, is refused", function()
  local m = model(1)
  local path = dir .. "/mid.safetensors"
  local function fit_with(hooks)
    return pcall(m.fit, m, train, {epochs = 3, batch_size = 16, verbose = false,
      callbacks = {wb.callbacks.Lambda(hooks)}})
  end
  local ok, e = fit_with{on_train_batch_end = function(step)
    if step == 7 then m:save_state(path) end end}
  T.ok(not ok and tostring(e):find("save_state: fit is (or was interrupted) in epoch 2",
    1, true), tostring(e))
  T.ok(not wb.sys.exists(path), "no file written")
  ok, e = fit_with{on_epoch_end = function() m:save_state(path) end}
  T.ok(not ok and tostring(e):find("in the on_epoch_end hooks of epoch 1", 1, true),
    tostring(e))
  -- a fit that raised in epoch 2: its weights are mid-epoch
  ok = fit_with{on_train_batch_end = function(step) if step == 7 then error("boom") end end}
  T.ok(not ok)
  T.check_error("ModelCheckpoint{path, save_state = true}", m.save_state, m, path)
  -- at the epoch ends, the ModelCheckpoint way still works, and so does after fit
  ok, e = pcall(m.fit, m, train, {epochs = 2, batch_size = 16, verbose = false,
    callbacks = {wb.callbacks.ModelCheckpoint{path, save_state = true}}})
  T.ok(ok, tostring(e))
  T.ok(wb.sys.exists(path))
  m:save_state(path)
end)

T.test("resume with another optimizer config, or fewer epochs, is refused first", function()
  local m = model(1)
  m:fit(train, {batch_size = 16, verbose = false, epochs = 2, optimizer = sgd(),
    callbacks = {wb.callbacks.ReduceLROnPlateau{monitor = "loss", patience = 1,
      min_delta = 10, factor = 0.5}}})
  T.eq(m.optimizer.lr, 0.05, "halved after epoch 2")
  local path = dir .. "/opt.safetensors"
  m:save_state(path)
  local r = model(5)
  local before = r[1].weight:clone()
  local function cbs() -- the saved fit's (other settings are refused: test_resume_callbacks)
    return {wb.callbacks.ReduceLROnPlateau{monitor = "loss", patience = 1, min_delta = 10,
      factor = 0.5}}
  end
  local function bad(pat, o)
    o.verbose, o.resume, o.batch_size = false, path, 16
    T.check_error(pat, r.fit, r, train, o)
  end
  -- an lr neither the saved one nor the first epoch's (0.1, the original script's: taken,
  -- test_resume_callback_list)
  bad("was saved with lr = 0.05 (the value at the save: a callback may have changed it), "
    .. "the optimizer given has lr = 0.2", {epochs = 3, optimizer = wb.optim.SGD{lr = 0.2,
    momentum = 0.9}, callbacks = cbs()})
  -- tryN 6: a read-only value (momentum, beta2) is no callback's change
  bad("was saved with momentum = 0.9, the optimizer given has momentum = 0.0: leave",
    {epochs = 3, optimizer = wb.optim.SGD{lr = 0.05}, callbacks = cbs()})
  bad("epochs = 1 is below the 2 epochs already done in", {callbacks = cbs()})
  bad("holds the state of a wb.callbacks.ReduceLROnPlateau callback that none", {epochs = 3})
  T.check_error("epochs = 2 is below initial_epoch = 3", r.fit, r, train,
    {epochs = 2, initial_epoch = 3, verbose = false})
  T.eq((r[1].weight - before):abs():max(), 0, "nothing restored before the errors")
  -- the same values are accepted; epochs equal to the saved ones would train
  -- none: refused as every fit that trains nothing (it returned the restored
  -- history, as if it had trained)
  r:fit(train, {epochs = 3, verbose = false, batch_size = 16, resume = path,
    optimizer = wb.optim.SGD{lr = 0.05, momentum = 0.9}, callbacks = cbs()})
  T.eq(r.history.epochs, 3)
  T.check_error("epochs = 2 equals the 2 epochs already done in", model(5).fit, model(5),
    train, {epochs = 2, batch_size = 16, verbose = false, resume = path, callbacks = cbs()})
end)

T.test("resume with other data or fit options than the saved fit's is refused", function()
  local o = {epochs = 2, batch_size = 16, verbose = false, validation = val}
  local m = model(1)
  m:fit(train, o)
  local path = dir .. "/opts.safetensors"
  m:save_state(path)
  local function bad(pat, ds, changes)
    local r = model(5)
    local w = r[1].weight:clone()
    local oo = {epochs = 3, batch_size = 16, verbose = false, validation = val, resume = path}
    for k, v in pairs(changes) do oo[k] = v end
    if changes.validation == false then oo.validation = nil end
    T.check_error(pat, r.fit, r, ds, oo)
    T.eq((r[1].weight - w):abs():max(), 0, "nothing restored")
  end
  bad("was trained with batch_size 16, this fit has 32", train, {batch_size = 32})
  bad("was trained with training rows 70, this fit has 90", data, {})
  bad("was trained with shuffle true, this fit has false", train, {shuffle = false})
  bad("was trained with loss sparse_categorical_crossentropy, this fit has mse", train,
    {loss = "mse"})
  -- without validation, val_loss would have a hole at epoch 3
  bad("was trained with validation rows (0: none) 20, this fit has 0", train,
    {validation = false})
  local h = model(5):fit(train, {epochs = 3, batch_size = 16, verbose = false,
    validation = val, resume = path})
  T.eq(#h.val_loss, 3)
end)

T.test("CSVLogger of a resumed fit has every epoch's row, as the uninterrupted one", function()
  -- the rows without epoch_time (a clock)
  local function rows(path)
    local out, drop = {}, nil
    for line in io.lines(path) do
      local cells = {}
      for c in line:gmatch("[^,]+") do cells[#cells + 1] = c end
      if not drop then
        for i, c in ipairs(cells) do if c == "epoch_time" then drop = i end end
      end
      table.remove(cells, drop)
      out[#out + 1] = table.concat(cells, ",")
    end
    return table.concat(out, "\n")
  end
  local function cbs(csv)
    return {wb.callbacks.CSVLogger(csv), wb.callbacks.EarlyStopping{patience = 1,
      min_delta = 10}}
  end
  local o = {batch_size = 16, verbose = false, validation = val}
  o.epochs, o.seed, o.callbacks = 4, 9, cbs(dir .. "/straight.csv")
  T.eq(model(1):fit(train, o).epochs, 2, "stopped at epoch 2")
  local m = model(1)
  o.epochs, o.callbacks = 1, cbs(dir .. "/first.csv")
  m:fit(train, o)
  local path = dir .. "/csv.safetensors"
  m:save_state(path)
  o.epochs, o.seed, o.resume, o.callbacks = 4, nil, path, cbs(dir .. "/resumed.csv")
  local r = model(5)
  r:fit(train, o)
  T.eq(rows(dir .. "/resumed.csv"), rows(dir .. "/straight.csv"))
  -- resumed at the stop: no epoch trained, the rows are still written
  r:save_state(path)
  o.callbacks = cbs(dir .. "/stopped.csv")
  model(5):fit(train, o)
  T.eq(rows(dir .. "/stopped.csv"), rows(dir .. "/straight.csv"))
end)

-- }====================
-- {==================== options and callbacks ====================

T.test("fit's options of the wrong type are errors naming them, before any work", function()
  local m = model(1)
  local w = m[1].weight:clone()
  local function bad(pat, o)
    o.verbose = o.verbose == nil and false or o.verbose
    T.check_error(pat, m.fit, m, train, o)
  end
  bad("fit: shuffle must be true or false, got string false", {shuffle = "false"})
  bad("fit: verbose must be true, false, 0, 1 or 2, got no", {verbose = "no"})
  bad("fit: seed must be an integer, got number 1.5", {seed = 1.5})
  bad("fit: seed must be an integer, got string 1", {seed = "1"})
  bad("fit: optimizer must be a name (adam, adamw, sgd, rmsprop) or an optimizer",
    {optimizer = {lr = 0.1}})
  bad("fit: validation (validation_data) and validation_split both given",
    {validation = val, validation_split = 0.2})
  bad("fit: validation (validation_data) and validation_split both given",
    {validation_data = val, validation_split = 0.2})
  T.eq((m[1].weight - w):abs():max(), 0, "the model is untouched")
  -- what stays accepted
  m:fit(train, {epochs = 1, verbose = 0, shuffle = false, seed = 2.0})
  m:fit(train, {epochs = 1, verbose = false, optimizer = "sgd", validation_split = 0.2})
end)

T.test("callbacks: a single callback or a misspelt hook is an error, not ignored", function()
  local m = model(1)
  T.check_error("fit: callbacks must be a list {cb, ...}, got a "
    .. "wb.callbacks.EarlyStopping (a single callback? write "
    .. "callbacks = {cb})", m.fit, m, train,
    {verbose = false, callbacks = wb.callbacks.EarlyStopping{}})
  T.check_error("(a single callback? write callbacks = {cb})", m.fit, m, train,
    {verbose = false, callbacks = wb.callbacks.Lambda{on_epoch_end = function() end}})
  for _, name in ipairs{"onepoch_end", "epoch_end", "on_epochend", "OnTrainBatchEnd"} do
    T.check_error("has a method '" .. name .. "', which is no callback hook (did you mean",
      m.fit, m, train, {verbose = false, callbacks = {{[name] = function() end}}})
  end
  -- other methods and fields are the callback's own business
  local cb = {epochs_seen = 0, helper = function() end}
  function cb:on_epoch_end() self.epochs_seen = self.epochs_seen + 1 end
  m:fit(train, {epochs = 2, verbose = false, callbacks = {cb}})
  T.eq(cb.epochs_seen, 2)
end)

T.test("history.lr is the lr of the epoch's steps under a per-step schedule", function()
  local m = model(1)
  local h = m:fit(train, {epochs = 3, batch_size = 16, verbose = false, log_every = 1,
    optimizer = wb.optim.SGD{lr = 1}, callbacks = {wb.callbacks.Lambda{
      on_train_batch_begin = function(step) m.optimizer.lr = 1 / step end}}})
  -- 5 steps an epoch: epochs start at steps 1, 6, 11 (not the lr of steps 0, 5, 10)
  T.eq(#h.steps.lr, 15)
  for e = 1, 3 do T.eq(h.lr[e], h.steps.lr[5 * (e - 1) + 1], "epoch " .. e) end
  T.eq(h.lr[2], 1 / 6)
end)

T.test("a hook replacing model.optimizer or adding a layer is an error, not ignored", function()
  local function fit_with(hooks)
    local m = model(1)
    local cbs = {wb.callbacks.Lambda(hooks(m))}
    return pcall(m.fit, m, train, {epochs = 3, batch_size = 16, verbose = false,
      optimizer = sgd(), callbacks = cbs})
  end
  local cases = {
    {"on_epoch_end: model.optimizer was replaced (by Adam(", function(m)
      return {on_epoch_end = function() m.optimizer = wb.optim.Adam{} end} end},
    {"step 3 (batch 3 of 5), on_train_batch_end: model.optimizer was replaced", function(m)
      return {on_train_batch_end = function(s) if s == 3 then m.optimizer = "x" end end} end},
    {"step 3 (batch 3 of 5), on_train_batch_begin: model.optimizer was replaced", function(m)
      return {on_train_batch_begin = function(s) if s == 3 then m.optimizer = "x" end end} end},
    {"fit: on_train_begin: model.optimizer was replaced", function(m)
      return {on_train_begin = function() m.optimizer = wb.optim.SGD{} end} end},
    {"fit: epoch 2, on_epoch_begin: the model's layers changed (3 layers at fit's start, 4 "
      .. "now)", function(m)
      return {on_epoch_begin = function(e)
        if e == 2 then m:add(nn.Dense(3, 3, {activation = "softmax"})) end end} end},
  }
  for _, c in ipairs(cases) do
    local ok, e = fit_with(c[2])
    T.ok(not ok and tostring(e):find(c[1], 1, true), c[1] .. ": " .. tostring(e))
  end
  -- changing the optimizer's fields stays the way
  local m = model(1)
  m:fit(train, {epochs = 2, verbose = false, optimizer = sgd(), callbacks = {
    wb.callbacks.Lambda{on_epoch_end = function() m.optimizer.lr = 0.05 end}}})
  T.eq(m.optimizer.lr, 0.05)
end)

T.test("a label beyond the model's outputs is found before training, by its row", function()
  local x = train.images
  local y = train.labels:clone()
  y:set(57, 7) -- the model has 3 outputs
  local m = model(1)
  local w = m[1].weight:clone()
  -- wb.args.class_ids's words, as every class-id check says it
  T.check_error("fit: the training set's labels: label 57 (1-based position) is 7, expected "
    .. "an integer in 0..2 (the model has 3 outputs)", m.fit, m, x, y, {verbose = false})
  T.check_error("fit: the validation set's labels: label 57 (1-based position) is 7", m.fit, m,
    train, {verbose = false, validation = wb.data.Dataset(x, y, "v")})
  T.check_error("the training set's labels: label 57 (1-based position) is 7", m.fit, m, x, y,
    {verbose = false, loss = "mse"})
  T.eq((m[1].weight - w):abs():max(), 0, "no step taken")
  -- a loss function reads labels its own way: not checked
  local seen = 0
  m:fit(x, y, {verbose = false, epochs = 1, loss = function(o, l)
    seen = math.max(seen, l:max()); return 0, o:clone():fill(0) end})
  T.eq(seen, 7)
end)

-- }====================
-- {==================== custom losses ====================

T.test("a custom loss returning a tensor of many elements or a bad gradient says so", function()
  local m = model(1)
  T.check_error("fit: the loss function must return a number (or a one-element tensor) and "
    .. "the gradient, got a tensor [16, 3]", m.fit, m, train, {verbose = false,
      batch_size = 16, loss = function(o) return o:clone(), o:clone() end})
  local e = T.check_error("the loss function's second result must be the gradient w.r.t. the "
    .. "output, a float32 tensor of the output's shape [16, 3], got a float32 tensor [3, 16]",
    m.fit, m, train, {verbose = false, batch_size = 16, loss = function(o) return 1, o:t():clone() end})
  T.ok(#e < 300, "no tensor dump in the message: " .. e)
  T.check_error("shape [16, 3], got a float32 tensor [48]", m.fit, m, train, {verbose = false,
    batch_size = 16, loss = function(o) return 1, o:clone():reshape(48) end})
  T.check_error("shape [16, 3], got nil", m.fit, m, train, {verbose = false,
    batch_size = 16, loss = function() return 1 end})
  -- a one-element tensor is a value
  local h = m:fit(train, {verbose = false, batch_size = 16, loss = function(o, y)
    local v, g = wb.losses.mse(o, y)
    return wb.tensor({v}), g
  end})
  T.ok(h.loss[1] > 0)
end)

-- }====================

T.done()
