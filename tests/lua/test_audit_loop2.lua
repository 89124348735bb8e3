-- test_audit_loop2.lua: the training loop's audit, continued from
-- test_audit_loop.lua: what hooks return; resuming inside an epoch
-- (ModelCheckpoint{save_state = true, save_freq = k}).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local train, val = T.tiny_data()
local dir = T.tmpdir()
local model = T.tiny_mlp -- model(seed, dropout)

local diff = T.history_diff

T.test("a hook returning something else than true, false or nothing is an error", function()
  for _, c in ipairs{{"on_epoch_end", "stop"}, {"on_train_batch_end", 1},
      {"on_epoch_begin", {}}, {"on_train_begin", "x"}} do
    local m = model(1)
    local ran = 0
    local cb = {[c[1]] = function() ran = ran + 1; return c[2] end}
    local ok, e = pcall(m.fit, m, train, {epochs = 3, batch_size = 16, verbose = false,
      callbacks = {cb}})
    T.ok(not ok and tostring(e):find(c[1] .. " returned " .. type(c[2]), 1, true)
      and tostring(e):find("return true to stop training, or nothing", 1, true),
      c[1] .. ": " .. tostring(e))
    T.eq(ran, 1, "raised at the first return")
  end
  -- true stops, false and nil go on
  local m = model(1)
  local h = m:fit(train, {epochs = 4, batch_size = 16, verbose = false, callbacks = {
    wb.callbacks.Lambda{on_epoch_end = function(e) return e == 2 end},
    wb.callbacks.Lambda{on_train_batch_end = function() return false end}}})
  T.eq(h.epochs, 2)
  -- on_train_end's is ignored: training is over, the history is returned
  h = m:fit(train, {epochs = 1, verbose = false, callbacks = {
    wb.callbacks.Lambda{on_train_end = function() return 0 end}}})
  T.eq(h.epochs, 1)
end)

T.test("resume inside an epoch (save_freq = 1, every step) is bit for bit", function()
  -- SGD momentum and Adam, dropout, shuffling, L2, a per-step log key,
  -- EarlyStopping (restoring) and ReduceLROnPlateau: every series, the
  -- step series and the final weights equal the uninterrupted fit's
  local function cbs(ck)
    return {wb.callbacks.EarlyStopping{patience = 2, min_delta = 0.01,
        restore_best_weights = true},
      wb.callbacks.ReduceLROnPlateau{monitor = "loss", patience = 1, min_delta = 10,
        factor = 0.5},
      wb.callbacks.Lambda{on_train_batch_end = function(step, logs) logs.x = step / 2 end},
      wb.callbacks.ModelCheckpoint{ck, save_state = true, save_freq = 1}}
  end
  for _, name in ipairs{"sgd", "adam"} do
    local function opt()
      return name == "sgd" and wb.optim.SGD{lr = 0.1, momentum = 0.9} or wb.optim.Adam{lr = 0.01}
    end
    local o = {batch_size = 16, verbose = false, validation = val, log_every = 2, epochs = 4}
    local straight = model(1, true)
    o.seed, o.optimizer = 9, opt()
    o.callbacks = cbs(dir .. "/" .. name .. "/s{step}.safetensors")
    local hs = straight:fit(train, o)
    T.ok(wb.sys.exists(dir .. "/" .. name .. "/s7.safetensors"), "step 7 saved")
    for step = 1, 5 * hs.epochs do
      local r = model(2, true)
      local hr = r:fit(train, {batch_size = 16, verbose = false, validation = val,
        log_every = 2, epochs = 4, callbacks = cbs(dir .. "/x.safetensors"),
        resume = dir .. "/" .. name .. "/s" .. step .. ".safetensors"})
      local d = diff(hr, hs, "history", {})
      local wa, wr = straight:get_weights(), r:get_weights()
      for i = 1, #wa do
        if (wa[i] - wr[i]):abs():max() ~= 0 then d[#d + 1] = "weight " .. i end
      end
      T.eq(#d, 0, name .. " resumed at step " .. step .. ": "
        .. table.concat(d, "; "):sub(1, 200))
    end
  end
end)

T.test("save_freq: checked; weights every k steps; no mid-epoch state with instruments",
    function()
  T.check_error("ModelCheckpoint: save_freq must be 'epoch' or a number of steps",
    wb.callbacks.ModelCheckpoint, {"x", save_freq = 0})
  T.check_error("save_best_only compares epochs", wb.callbacks.ModelCheckpoint,
    {"x", save_freq = 2, save_best_only = true})
  local m = model(1)
  m:fit(train, {epochs = 2, batch_size = 16, verbose = false, callbacks = {
    wb.callbacks.ModelCheckpoint{dir .. "/w/e{epoch}-s{step}.safetensors", save_freq = 4}}})
  for _, f in ipairs{"e1-s4", "e2-s8"} do
    T.ok(wb.sys.exists(dir .. "/w/" .. f .. ".safetensors"), f)
  end
  T.ok(not wb.sys.exists(dir .. "/w/e1.safetensors"), "no epoch-end save")
  T.check_error("cannot hold the fit's instruments", m.fit, m, train, {epochs = 1,
    batch_size = 16, verbose = false, instruments = {"grad_norm"}, callbacks = {
      wb.callbacks.ModelCheckpoint{dir .. "/i.safetensors", save_state = true,
        save_freq = 2}}})
end)

T.done()
