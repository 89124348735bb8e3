-- test_resume.lua: model:save_state and fit{resume = path}: 3 epochs
-- straight equal 2 epochs + save_state + resume 1 more, bit for bit
-- (weights and history), for SGD with momentum, Adam and AdamW, with
-- dropout and a step series; the state file's contents; errors.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(4242, 90, 8)
local train, val = data:subset(1, 70), data:subset(71, 90)

local function model(seed)
  wb.seed(seed)
  return nn.Sequential{nn.Dense(8, 12, {activation = "relu", l2 = 1e-3}), nn.Dropout(0.3),
    nn.Dense(12, 3, {activation = "softmax"})}
end

local SERIES = {"loss", "accuracy", "val_loss", "val_accuracy", "data_loss", "reg_loss", "lr"}

local dir = T.tmpdir()
local optimizers = {
  sgd = function() return wb.optim.SGD{lr = 0.1, momentum = 0.9, nesterov = true} end,
  adam = function() return wb.optim.Adam{lr = 0.01} end,
  adamw = function() return wb.optim.AdamW{lr = 0.01} end,
}

for _, name in ipairs{"sgd", "adam", "adamw"} do
  T.test("resume is exact: 3 epochs = 2 + save_state + 1 (" .. name .. ", dropout)", function()
    local o = {batch_size = 16, validation = val, verbose = false, seed = 9, log_every = 3}
    local straight = model(1)
    o.epochs, o.optimizer = 3, optimizers[name]()
    local h3 = straight:fit(train, o)
    local first = model(1)
    o.epochs, o.optimizer = 2, optimizers[name]()
    first:fit(train, o)
    local path = dir .. "/" .. name .. ".safetensors"
    first:save_state(path)
    wb.randn(5) -- the RNG moves on; the state file restores it
    local resumed = model(2) -- other initial weights: the file restores them
    o.epochs, o.optimizer, o.seed = 3, nil, nil
    o.resume = path
    local hr = resumed:fit(train, o)
    T.eq(hr.epochs, 3)
    for _, k in ipairs(SERIES) do
      T.eq(#hr[k], 3, k)
      for e = 1, 3 do T.eq(hr[k][e], h3[k][e], k .. " epoch " .. e) end
    end
    for _, k in ipairs{"step", "loss", "lr", "epoch"} do
      T.eq(table.concat(hr.steps[k], ","), table.concat(h3.steps[k], ","), "steps." .. k)
    end
    T.ok(T.same_weights(straight, resumed))
    T.eq(tostring(resumed.optimizer), tostring(straight.optimizer))
  end)
end

T.test("resume keeps callback state: EarlyStopping and ReduceLROnPlateau (ModelCheckpoint "
    .. "save_state each epoch)", function()
  -- min_delta 10: no epoch after the first improves, so EarlyStopping
  -- (patience 3) stops at epoch 4 and ReduceLROnPlateau (patience 1) halves
  -- the lr after epochs 2, 3 and 4; with their counters lost on resume at
  -- epoch 2, training would run on and the lr would halve once less
  -- seen.n: the epochs trained (a table: a count in a local upvalue is a hook's state,
  -- refused on resume; a resume gives the saved fit's callbacks, this one too)
  local function cbs(ckdir, seen)
    return {wb.callbacks.EarlyStopping{patience = 3, min_delta = 10,
        restore_best_weights = true},
      wb.callbacks.ModelCheckpoint{ckdir .. "/e{epoch}.safetensors", save_state = true,
        tag = "t"},
      wb.callbacks.ReduceLROnPlateau{patience = 1, factor = 0.5, min_delta = 10},
      wb.callbacks.Lambda{on_epoch_end = function() seen.n = seen.n + 1 end}}
  end
  local o = {batch_size = 16, validation = val, verbose = false, seed = 9, epochs = 6,
    optimizer = wb.optim.Adam{lr = 0.01}, callbacks = cbs(dir .. "/cb", {n = 0})}
  local straight = model(1)
  local h = straight:fit(train, o)
  T.eq(h.epochs, 4, "stopped early"); T.eq(h.stopped_epoch, 4); T.eq(h.best_epoch, 1)
  T.eq(table.concat(h.lr, ","), table.concat({0.01, 0.01, 0.005, 0.0025}, ","))
  local _, meta = wb.io.load_safetensors(dir .. "/cb/e2.safetensors")
  T.eq(meta["workbench.tag"], "t")
  T.ok(meta["workbench.callbacks"]:find("EarlyStopping", 1, true), "callback state saved")
  for _, from in ipairs{2, 4} do -- 4: saved at the stop: the resumed fit stays stopped
    local resumed = model(2)
    local seen = {n = 0}
    local list = cbs(dir .. "/cb" .. from, seen)
    local hr
    local _, err = T.stderr_of(function()
      hr = resumed:fit(train, {batch_size = 16, validation = val, verbose = false,
        epochs = 6, resume = dir .. "/cb/e" .. from .. ".safetensors", callbacks = list})
    end)
    T.eq(seen.n, 4 - from, "epochs trained after resuming at " .. from)
    -- epochs = 6 from a stopped fit trained nothing without a word (tryD 5)
    T.eq(err:find("was saved by a fit a callback stopped after epoch 4: nothing more to "
      .. "train", 1, true) ~= nil, from == 4, err)
    T.eq(hr.epochs, 4); T.eq(hr.stopped_epoch, 4); T.eq(hr.best_epoch, 1)
    for _, k in ipairs(SERIES) do
      for e = 1, 4 do T.eq(hr[k][e], h[k][e], k .. " epoch " .. e .. " from " .. from) end
    end
    T.ok(T.same_weights(straight, resumed), "the best (epoch 1) weights restored at the end")
  end
  -- a saved callback state that no callback takes is refused
  T.check_error("holds the state of a wb.callbacks.EarlyStopping callback that none",
    function() model(2):fit(train, {epochs = 6, verbose = false,
      resume = dir .. "/cb/e2.safetensors"}) end)
end)

T.test("the state file: named tensors and JSON metadata; errors name the file", function()
  local m = model(3)
  m:fit(train, {epochs = 1, batch_size = 16, verbose = false, optimizer = wb.optim.Adam{}})
  local path = dir .. "/s.safetensors"
  m:save_state(path)
  local file, meta = wb.io.load_safetensors(path)
  T.ok(file["layers.1.weight"] and file["optimizer.layers.1.weight.m"]
    and file["optimizer.layers.3.bias.v"], "weights and Adam moments by name")
  T.eq(meta.format, "workbench-state")
  local st = require("cjson").decode(meta["workbench.state"])
  T.eq(st.epoch, 1); T.eq(st.step, 5); T.eq(st.optimizer.name, "adam")
  T.eq(st.optimizer.iterations, 5)
  local w = dir .. "/w.safetensors"
  m:save_weights(w)
  T.check_error("resume: " .. w:gsub("%p", "%%%0") .. " is not a training state", function()
    model(3):fit(train, {epochs = 2, verbose = false, resume = w}) end)
  T.check_error("holds the state of optimizer 'adam', the optimizer given is SGD", function()
    model(3):fit(train, {epochs = 2, verbose = false, resume = path,
      optimizer = wb.optim.SGD{}}) end)
  T.check_error("initial_epoch 0 differs from the 1 epochs of " .. path .. " (a resume takes "
    .. "its epoch from the file: leave initial_epoch out)", function()
    model(3):fit(train, {epochs = 2, verbose = false, resume = path, initial_epoch = 0}) end)
  T.check_error("save_state: the model has no training state yet", function()
    model(3):save_state(path) end)
  -- initial_epoch without resume: the epochs are numbered on from it (Keras)
  local seen = {}
  model(3):fit(train, {epochs = 4, initial_epoch = 2, verbose = false,
    callbacks = {wb.callbacks.Lambda{on_epoch_end = function(e) seen[#seen + 1] = e end}}})
  T.eq(table.concat(seen, ","), "3,4")
end)

T.done()
