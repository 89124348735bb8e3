-- test_audit_loop4.lua: a fourth audit of the training loop, as a PyTorch
-- user porting a loop uses it (a max-steps hook, a checkpoint every k
-- steps, a hook that fails, a loop re-run in the REPL). What it found:
-- ModelCheckpoint{save_freq}'s save at a step that stopped the epoch was
-- dropped, and the request left behind wrote the next step's state (or a
-- later fit's) under the stopped step's name.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"

local train = T.tiny_data()
local dir = T.tmpdir()

local function opts(o)
  local out = {batch_size = 16, verbose = false}
  for k, v in pairs(o or {}) do out[k] = v end
  return out
end

-- The epoch, global step and mid-epoch step a state file holds.
local function saved_at(path)
  local _, meta = wb.io.load_safetensors(path)
  local st = cjson.decode(meta["workbench.state"])
  return math.tointeger(st.epoch), math.tointeger(st.step), st.mid and math.tointeger(st.mid.step)
end

local function differences(hr, hs, a, b)
  local d = T.history_diff(hr, hs, "history", {})
  local wa, wr = a:get_weights(), b:get_weights()
  for i = 1, #wa do
    if (wa[i] - wr[i]):abs():max() ~= 0 then d[#d + 1] = "weight " .. i end
  end
  return table.concat(d, "; "):sub(1, 300)
end

-- {==================== save_freq at a stop ====================

T.test("save_freq: the save at a step that stops training is written and resumes there",
    function()
  -- a max-steps hook (PyTorch's `if step == max_steps: break`) with a
  -- checkpoint every step: step 7 (epoch 2's second) is the last trained
  local function cbs(ck)
    return {wb.callbacks.Lambda{on_train_batch_end = function(step) return step == 7 end},
      wb.callbacks.ModelCheckpoint{ck, save_state = true, save_freq = 1}}
  end
  local s = T.tiny_mlp(1, true)
  local hs = s:fit(train, opts{epochs = 4, seed = 9, log_every = 1,
    optimizer = wb.optim.Adam{lr = 0.01}, callbacks = cbs(dir .. "/max/s{step}.st")})
  T.eq(hs.epochs, 2); T.eq(#hs.steps.step, 7)
  local path = dir .. "/max/s7.st"
  T.ok(wb.sys.exists(path), "the last step's checkpoint was not written")
  if not wb.sys.exists(path) then return end
  local epoch, step = saved_at(path)
  T.eq(epoch, 2, "the epoch the stop ended"); T.eq(step, 7)
  local r = T.tiny_mlp(3, true)
  local hr = r:fit(train, opts{epochs = 4, log_every = 1, resume = path,
    callbacks = cbs(dir .. "/x.st")})
  T.eq(differences(hr, hs, s, r), "")
end)

T.test("save_freq: a stop overruled at the epoch's end; the file named for a step holds it",
    function()
  local function cbs(m, ck)
    return {wb.callbacks.Lambda{on_train_batch_end = function(step) return step == 7 end,
        on_epoch_end = function() m.stop_training = false end},
      wb.callbacks.ModelCheckpoint{ck, save_state = true, save_freq = 7}}
  end
  local s = T.tiny_mlp(1, true)
  local hs = s:fit(train, opts{epochs = 4, seed = 9, log_every = 1,
    callbacks = cbs(s, dir .. "/over/s{step}.st")})
  T.eq(hs.epochs, 4)
  local path = dir .. "/over/s7.st"
  local epoch, step = saved_at(path)
  T.eq(step, 7, "s7.st holds the state of step " .. step)
  T.eq(epoch, 2, "the epoch step 7 ended")
  local _, step14, mid14 = saved_at(dir .. "/over/s14.st")
  T.eq(step14, 14); T.eq(mid14, 2, "step 14: epoch 3's second step")
  local r = T.tiny_mlp(3, true)
  local hr = r:fit(train, opts{epochs = 4, log_every = 1, resume = path,
    callbacks = cbs(r, dir .. "/x.st")})
  T.eq(differences(hr, hs, s, r), "")
end)

T.test("save_freq: a save asked for at a step whose hook then failed is not written later",
    function()
  -- the loop re-run after the error (the REPL), the same model and callbacks
  local m, boom = T.tiny_mlp(1, true), true
  local ck = wb.callbacks.ModelCheckpoint{dir .. "/fail/s{step}.st", save_state = true,
    save_freq = 7}
  local cbs = {ck, wb.callbacks.Lambda{on_train_batch_end = function(step)
    if boom and step == 7 then error("boom") end end}}
  local ok, err = pcall(m.fit, m, train, opts{epochs = 4, callbacks = cbs})
  T.ok(not ok and tostring(err):find("boom", 1, true), tostring(err))
  T.ok(not wb.sys.exists(dir .. "/fail/s7.st"), "step 7's hooks failed: no state of it")
  boom = false
  m:fit(train, opts{epochs = 1, callbacks = cbs})
  T.ok(not wb.sys.exists(dir .. "/fail/s7.st"), "the next fit (5 steps) wrote one as s7.st")
end)

-- }====================

T.done()
