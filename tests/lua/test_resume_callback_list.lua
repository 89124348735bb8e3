-- test_resume_callback_list.lua: fit{resume = path} compares the callbacks given with the
-- saved fit's, in order (wb/state_list.lua; tryS F1). A callback that keeps nothing (a
-- LearningRateScheduler, a Lambda) left out, one added (a Lambda setting the lr), the list
-- reordered, or a Lambda of other code were accepted without a word, and the resumed
-- history, continuous to the eye, was another training's (lr 0.002 0.001 0.001 0.001 where
-- the uninterrupted fit's halved every epoch). Each is refused before any training, naming
-- the callback and the saved list; the same callbacks resume bit for bit, and a CSVLogger
-- may be added (it writes a file).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local train, val = T.tiny_data()
local dir = T.tmpdir()
local model = T.tiny_mlp -- model(seed, dropout)
local HERE = "tests/lua/test_resume_callback_list.lua:"

local function schedule() -- halves the lr from epoch 2
  return wb.callbacks.LearningRateScheduler(function(e, lr) return e == 1 and lr or lr * 0.5 end)
end
local function logger() -- a per-step log key
  return wb.callbacks.Lambda{on_train_batch_end = function(step, logs) logs.x = step / 2 end}
end
local function cbs(ck)
  return {schedule(), logger(), wb.callbacks.ModelCheckpoint{ck, save_state = true,
    save_freq = 3}}
end

local function opts(extra)
  local o = {epochs = 3, batch_size = 16, validation = val, verbose = false, log_every = 1}
  for k, v in pairs(extra) do o[k] = v end
  return o
end

-- the uninterrupted fit, saving its state every 3 steps; s9 is inside epoch 2 (5 steps an epoch)
local straight = model(1, true)
local hs = straight:fit(train, opts{seed = 9, optimizer = wb.optim.Adam{lr = 0.01},
  callbacks = cbs(dir .. "/s{step}.safetensors")})
local S9 = dir .. "/s9.safetensors"

-- fit{resume = S9, callbacks = list} refused before any training: the error has each of
-- pats (plain), names the file and the saved list; the weights are as built
local function refused(list, pats)
  local m, before = model(2, true), model(2, true)
  local ok, err = pcall(m.fit, m, train, opts{resume = S9, callbacks = list})
  err = tostring(err)
  T.ok(not ok, "resume accepted, expected a refusal naming " .. pats[1])
  for _, p in ipairs(pats) do T.ok(err:find(p, 1, true), "expected '" .. p .. "' in: " .. err) end
  T.ok(err:find(S9, 1, true), "names the file: " .. err)
  T.ok(err:find("{callbacks[1] (wb.callbacks.LearningRateScheduler), callbacks[2] (Lambda at "
    .. HERE, 1, true), "names the saved list: " .. err)
  T.ok(T.same_weights(m, before), "weights untouched")
  return err
end

T.test("the same callbacks resume bit for bit inside an epoch; a CSVLogger may be added",
  function()
  T.eq(table.concat(hs.lr, " "), "0.01 0.005 0.0025", "the schedule halves the lr")
  for _, extra in ipairs{false, true} do
    local list = cbs(dir .. "/again.safetensors")
    if extra then list[#list + 1] = wb.callbacks.CSVLogger(dir .. "/log.csv") end
    local r = model(2, true)
    local hr = r:fit(train, opts{resume = S9, callbacks = list})
    T.eq(table.concat(T.history_diff(hr, hs, "history", {}), "; "), "", "history")
    T.ok(T.same_weights(straight, r), "weights")
  end
  T.ok(wb.sys.exists(dir .. "/log.csv"), "the CSVLogger wrote")
end)

T.test("the original script's optimizer after the schedule halved its lr: taken, said, bit for "
    .. "bit (tryS F3: it was refused, lr 0.01 given, 0.005 saved)", function()
  local r = model(2, true)
  local hr, err = T.stderr_of(function()
    return r:fit(train, opts{resume = S9, optimizer = wb.optim.Adam{lr = 0.01},
      callbacks = cbs(dir .. "/again2.safetensors")})
  end)
  T.eq(table.concat(T.history_diff(hr, hs, "history", {}), "; "), "", "history")
  T.ok(T.same_weights(straight, r), "weights")
  T.ok(err:find("the optimizer given has lr = 0.01, the saved fit's first epoch's", 1, true), err)
  -- another lr than either is still refused
  local m = model(2, true)
  local ok, e = pcall(m.fit, m, train, opts{resume = S9, optimizer = wb.optim.Adam{lr = 0.02},
    callbacks = cbs(dir .. "/x.safetensors")})
  T.ok(not ok and tostring(e):find("was saved with lr = 0.005", 1, true), tostring(e))
end)

T.test("the scheduler left out: refused, naming it", function()
  local list = cbs(dir .. "/x.safetensors")
  table.remove(list, 1)
  refused(list, {"the saved fit's callbacks[1] (wb.callbacks.LearningRateScheduler) is "
    .. "not given", "give the same callbacks"})
  -- the Lambda left out too
  refused({list[2]}, {"callbacks[1] (wb.callbacks.LearningRateScheduler) is not given",
    "the saved fit's callbacks[2] (Lambda at " .. HERE})
  -- the runner asks the same before it resumes (wb/train_resume.lua)
  local tensors, meta = wb.io.load_safetensors(S9)
  local why = require("wb.state_callbacks").refusal(S9, tensors, meta, list)
  T.ok(why and why:find("callbacks[1] (wb.callbacks.LearningRateScheduler) is not given", 1,
    true), tostring(why))
end)

T.test("a Lambda added (one setting the lr): refused, naming it", function()
  local m = model(2, true)
  local list = cbs(dir .. "/x.safetensors")
  list[#list + 1] = wb.callbacks.Lambda{on_epoch_begin = function() m.optimizer.lr = 0.5 end}
  refused(list, {"callbacks[4] (Lambda at " .. HERE, "is not the saved fit's"})
end)

T.test("the callbacks in another order, a Lambda of other code: refused", function()
  local list = cbs(dir .. "/x.safetensors")
  list[1], list[2] = list[2], list[1]
  refused(list, {"the same callbacks in another order"})
  list = cbs(dir .. "/x.safetensors")
  list[2] = wb.callbacks.Lambda{on_train_batch_end = function(step, logs) logs.x = step end}
  refused(list, {"callbacks[2] (Lambda at " .. HERE, "the code of its hooks is not that of "
    .. "the saved fit's callbacks[2] (Lambda at " .. HERE})
  -- a helper wrapping the function given to it: the wrapped function's code counts too
  local function wrap(f) return wb.callbacks.Lambda{on_train_batch_end = function(s, l)
    return f(s, l) end} end
  local m = model(1, true)
  local function with(f) return {schedule(), wrap(f), wb.callbacks.ModelCheckpoint{dir
    .. "/w.safetensors", save_state = true}} end
  m:fit(train, opts{epochs = 1, seed = 9, optimizer = wb.optim.Adam{lr = 0.01},
    callbacks = with(function(step, logs) logs.x = step / 2 end)})
  local r = model(2, true)
  T.check_error("the code of its hooks is not that of the saved fit's callbacks[2]",
    r.fit, r, train, opts{epochs = 2, resume = dir .. "/w.safetensors",
      callbacks = with(function(step, logs) logs.x = step end)})
  r = model(2, true)
  local ok, err = pcall(r.fit, r, train, opts{epochs = 2, resume = dir .. "/w.safetensors",
    callbacks = with(function(step, logs) logs.x = step / 2 end)})
  T.ok(ok, "the same code: resumed: " .. tostring(err))
end)

T.test("fit's instruments are not counted: positions are the callbacks option's", function()
  local function list(ck) return {schedule(), wb.callbacks.ModelCheckpoint{ck,
    save_state = true}} end
  local o = opts{epochs = 2, instruments = {"grad_norm"}}
  local m = model(1)
  m:fit(train, opts{epochs = 2, seed = 9, instruments = {"grad_norm"}, optimizer =
    wb.optim.SGD{lr = 0.1}, callbacks = list(dir .. "/i{epoch}.safetensors")})
  o.resume, o.callbacks = dir .. "/i1.safetensors", {list(dir .. "/y.safetensors")[2]}
  T.check_error("the saved fit's callbacks[1] (wb.callbacks.LearningRateScheduler) is not "
    .. "given", function() model(2):fit(train, o) end)
  o.callbacks = list(dir .. "/y.safetensors")
  local m2 = model(2)
  local ok, err = pcall(m2.fit, m2, train, o)
  T.ok(ok, "the same callbacks: resumed: " .. tostring(err))
end)

T.test("a state saved before the list was kept: resumed, with a warning", function()
  local fitstate = require "wb.state_fit"
  local tensors, meta = wb.io.load_safetensors(S9)
  meta["workbench.callback_list"] = nil
  meta[fitstate.CHECKSUM] = fitstate.checksum(tensors, meta)
  local old = dir .. "/old.safetensors"
  wb.io.save_safetensors(old, tensors, meta)
  local list = cbs(dir .. "/x.safetensors")
  table.remove(list, 1)
  local said = select(2, T.stderr_of(function()
    model(2, true):fit(train, opts{resume = old, callbacks = list})
  end))
  T.ok(said:find("written before state files listed the fit's callbacks", 1, true), said)
end)
