-- test_resume_h.lua: audit H's resume findings. A state saved after a fit
-- whose on_train_end hook set the lr or reset the optimizer is the end of the
-- last epoch, as its weights are (4 epochs straight = 2 + save_state +
-- resume 2, bit for bit); such a reset is in the fit's optimizer_resets. A
-- resume whose hooks keep other values in their closures than the saved
-- fit's (a step counter) is refused, naming them; stateless hooks resume.
-- A user's callback state left over is named as the user's.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local train, val = T.tiny_data()
local dir = T.tmpdir()

local function opts(epochs, optimizer, cbs)
  return {epochs = epochs, batch_size = 16, verbose = false, seed = 5, validation = val,
    optimizer = optimizer, callbacks = cbs}
end

-- history.optimizer_resets as a list of {step, epoch}: stored by column
-- ({step = {...}, epoch = {...}}) or as a list of entries.
local function resets(h)
  local t, out = rawget(h, "optimizer_resets") or {}, {}
  if t[1] ~= nil then return t end
  for i, s in ipairs(t.step or {}) do out[i] = {step = s, epoch = t.epoch[i]} end
  return out
end

-- 4 epochs straight, and 2 + save_state + a resume to 4, each with the
-- callbacks cbs(model) makes and a fresh optimizer from make_opt.
local function straight_and_resumed(name, make_opt, cbs)
  local a = T.tiny_mlp(1)
  local ha = a:fit(train, opts(4, make_opt(), cbs(a)))
  local b = T.tiny_mlp(1)
  local hb = b:fit(train, opts(2, make_opt(), cbs(b)))
  local path = dir .. "/" .. name .. ".safetensors"
  b:save_state(path)
  local c = T.tiny_mlp(2)
  local o = opts(4, nil, cbs(c))
  o.resume, o.seed = path, nil
  local hc = c:fit(train, o)
  return ha, hb, hc, a, c, path
end

T.test("on_train_end setting the lr: the state has the lr of the last epoch's end",
  function()
  local ha, _, hc, a, c, path = straight_and_resumed("lr", function()
    return wb.optim.SGD{lr = 0.1, momentum = 0.9} end,
    function(m) return {wb.callbacks.Lambda{on_train_end = function()
      m.optimizer.lr = 0.5 end}} end)
  local _, meta = wb.io.load_safetensors(path)
  T.eq(require("cjson").decode(meta["workbench.state"]).optimizer.config.lr, 0.1)
  T.eq(table.concat(T.history_diff(ha, hc, "h", {}), "; "), "")
  T.eq(hc.lr[3], 0.1)
  T.ok(T.same_weights(a, c), "weights")
end)

T.test("on_train_end resetting the optimizer: recorded, and the state keeps its moments",
  function()
  local ha, hb, hc, a, c, path = straight_and_resumed("reset", function()
    return wb.optim.Adam{lr = 0.01} end,
    function(m) return {wb.callbacks.Lambda{on_train_end = function()
      m.optimizer:reset() end}} end)
  local rb = resets(hb)
  T.eq(#rb, 1); T.eq(rb[1].step, 10); T.eq(rb[1].epoch, 2)
  local file, meta = wb.io.load_safetensors(path)
  T.eq(require("cjson").decode(meta["workbench.state"]).optimizer.iterations, 10)
  T.ok(file["optimizer.layers.1.weight.m"], "Adam's moments")
  T.eq(meta["workbench.history"]:find("optimizer_resets", 1, true), nil,
    "the state's history: before the reset")
  T.eq(table.concat(T.history_diff(ha, hc, "h", {}), "; "), "")
  T.eq(#resets(hc), 1); T.eq(resets(hc)[1].step, 20)
  T.ok(T.same_weights(a, c), "weights")
end)

T.test("on_train_end asking for a stop: the state is not stopped; a change after fit wins",
  function()
  local ha, _, hc = straight_and_resumed("stop", function()
    return wb.optim.SGD{lr = 0.1} end,
    function(m) return {wb.callbacks.Lambda{on_train_end = function()
      m.stop_training = true end}} end)
  T.eq(hc.epochs, 4)
  T.eq(table.concat(T.history_diff(ha, hc, "h", {}), "; "), "")
  local m = T.tiny_mlp(1)
  m:fit(train, opts(1, wb.optim.SGD{lr = 0.1}, {wb.callbacks.Lambda{on_train_end = function()
    m.optimizer.lr = 0.5 end}}))
  m.optimizer.lr = 0.02 -- by hand, after fit: the user's choice
  local path = dir .. "/after.safetensors"
  m:save_state(path)
  local _, meta = wb.io.load_safetensors(path)
  T.eq(require("cjson").decode(meta["workbench.state"]).optimizer.config.lr, 0.02)
end)

-- A Lambda whose lr schedule counts steps in its closure (k), or reads the step.
local function counting(m)
  local k = 0
  return {wb.callbacks.Lambda{on_train_batch_begin = function()
    k = k + 1; m.optimizer.lr = 0.1 / (1 + 0.1 * k) end}}
end
local function stateless(m)
  local lr0 = 0.1
  return {wb.callbacks.Lambda{on_train_batch_begin = function(step)
    m.optimizer.lr = lr0 / (1 + 0.1 * step) end}}
end

T.test("a hook counting in its closure is refused on resume, naming it; a stateless one "
  .. "resumes exactly", function()
  local sgd = function() return wb.optim.SGD{lr = 0.1} end
  local err = T.check_error("upvalue k saved 10, given 0", function()
    straight_and_resumed("count", sgd, counting) end)
  T.ok(err:find("callbacks[1] (Lambda at tests/lua/test_resume_h.lua:", 1, true), err)
  T.ok(err:find(") on_train_batch_begin: upvalue k", 1, true), err)
  T.ok(err:find("get_state/set_state", 1, true), err)
  local ha, _, hc, a, c = straight_and_resumed("stateless", sgd, stateless)
  T.eq(table.concat(T.history_diff(ha, hc, "h", {}), "; "), "")
  T.ok(T.same_weights(a, c), "weights")
  -- nothing restored before the refusal
  local m, path = T.tiny_mlp(3), dir .. "/count.safetensors"
  local before = m:get_weights()[1]:clone()
  local o = opts(4, nil, counting(m))
  o.resume = path
  T.check_error("upvalue k saved 10", function() m:fit(train, o) end)
  local d = m:get_weights()[1] - before
  T.ok(d:max() == 0 and d:min() == 0, "weights untouched")
  -- the runner asks the same (wb/train_resume.lua)
  local tensors, meta = wb.io.load_safetensors(path)
  local why = require("wb.state_callbacks").refusal(path, tensors, meta, counting(m))
  T.ok(why and why:find("upvalue k saved 10, given 0", 1, true), tostring(why))
  -- a Lambda of other code is another callback (wb/state_list.lua)
  why = require("wb.state_callbacks").refusal(path, tensors, meta,
    {wb.callbacks.Lambda{on_train_batch_begin = function() end}})
  T.ok(why and why:find("the code of its hooks is not that of the saved fit's", 1, true),
    tostring(why))
end)

T.test("a callback table counting in its field, a helper's upvalue: refused; a table "
  .. "upvalue is not compared", function()
  local sgd = function() return wb.optim.SGD{lr = 0.1} end
  T.check_error("callbacks%[1%] %(a table with on_epoch_end at .-%): field n saved 2, given 0",
    function() straight_and_resumed("field", sgd, function()
      return {{n = 0, on_epoch_end = function(self) self.n = self.n + 1 end}} end) end)
  T.check_error("on_epoch_end: upvalue bump%.calls saved 2, given 0", function()
    straight_and_resumed("helper", sgd, function()
      local calls = 0
      local function bump() calls = calls + 1 end
      return {wb.callbacks.Lambda{on_epoch_end = function() bump() end}} end) end)
  straight_and_resumed("table", sgd, function()
    local t = {calls = 0}
    return {wb.callbacks.Lambda{on_epoch_end = function() t.calls = t.calls + 1 end}} end)
end)

T.test("a user's stateful callback left over is named as the user's", function()
  local cb = {n = 0}
  function cb:on_epoch_end() self.n = self.n + 1 end
  function cb:get_state() return {n = self.n} end
  function cb:set_state(s) self.n = s.n end
  local m = T.tiny_mlp(1)
  m:fit(train, opts(1, wb.optim.SGD{lr = 0.1}, {cb}))
  local path = dir .. "/own.safetensors"
  m:save_state(path)
  local o = opts(2, nil, {})
  o.resume = path
  local err = T.check_error("holds the state of a callback of the user's own", function()
    T.tiny_mlp(1):fit(train, o) end)
  T.eq(err:find("callback callback", 1, true), nil, err)
end)

T.done()
