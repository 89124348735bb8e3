-- test_audit_loop4.lua: a fourth audit of the training loop and curvature,
-- as a PyTorch user porting a loop uses it (a max-steps hook, a checkpoint
-- every k steps, a hook that fails, a loop re-run in the REPL, a loss of
-- one's own, the state file read in Python). What it found, each test
-- failing before its fix: ModelCheckpoint{save_freq}'s save at a step that
-- stopped the epoch was dropped, and the request left behind wrote the next
-- step's state (or a later fit's) under the stopped step's name; a loss
-- function's uint8 gradient failed inside the library, a third result was
-- dropped, a NaN in its gradient diverged naming a parameter behind "bad
-- argument #3 to '?'"; wb.hessian's layer error gave a range holding the
-- position refused; model:fit inside a hook of its own fit trained inside
-- the step. The guards that passed at once (the state file in Python,
-- resume under the combinations) are test_audit_loop4_state.lua.
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

-- {==================== a loss function's results ====================

-- fit 2 epochs of tiny data under loss fn; the error
local function loss_error(fn, extra)
  local m = T.tiny_mlp(1)
  local o = opts{epochs = 2, loss = fn}
  for k, v in pairs(extra or {}) do o[k] = v end
  local ok, err = pcall(m.fit, m, train, o)
  T.ok(not ok, "the fit went through")
  return tostring(err)
end

T.test("a loss function's gradient of another dtype is named as its result, not a library's",
    function()
  -- a uint8 gradient failed in grad_check.lua ("t: expected a float32 tensor") or, with
  -- grad_check = false, in the last layer's backward ("grad_output: ... pixels: x:float()")
  local function u8(o, y)
    local v, g = wb.losses.mse(o, y)
    return v, wb.new_tensor(g:shape(), "uint8")
  end
  for _, check in ipairs{true, false} do
    local err = loss_error(u8, {grad_check = check})
    T.ok(err:find("fit: the loss function's second result must be the gradient w.r.t. the "
      .. "output, a float32 tensor of the output's shape [16, 3], got a uint8 tensor [16, 3]",
      1, true), err)
  end
end)

T.test("a loss function's third result is an error, not dropped", function()
  -- (value, gradient, accuracy), say: fit measures accuracy itself
  local err = loss_error(function(o, y)
    local v, g = wb.losses.mse(o, y)
    return v, g, 0.5
  end)
  T.ok(err:find("fit: the loss function returned 3 results, expected 2 (value, gradient "
    .. "w.r.t. the output): the third (number 0.5) would be ignored", 1, true), err)
end)

T.test("a loss function is called as its help says: a step, a validation batch, the checks",
    function()
  -- a call counter used as a schedule in a loss saw more calls than steps
  local function calls(extra)
    local n, m = 0, T.tiny_mlp(1)
    local o = opts{epochs = 2, loss = function(out, y) n = n + 1; return wb.losses.mse(out, y) end}
    for k, v in pairs(extra) do o[k] = v end
    m:fit(train, o)
    return n
  end
  -- batches of 16 and a short one of 6 (70 rows), 3 classes: 2 calls an
  -- entry and 10 (the gradient's direction, 4 random ones) on each; the
  -- short one's size also on the first batch's first 6 rows (1 call more)
  local check = (2 * 16 * 3 + 10) + 2 * (2 * 6 * 3 + 10) + 1
  T.eq(calls{}, 10 + check, "10 steps and the check's")
  T.eq(calls{grad_check = false}, 10)
  T.eq(calls{validation = select(2, T.tiny_data())}, 10 + check + 2,
    "one validation batch an epoch")
end)

T.test("a loss function's non-finite gradient: the divergence names it, not a parameter",
    function()
  local step = 0
  local err = loss_error(function(o, y)
    local v, g = wb.losses.mse(o, y)
    if step == 5 then g:set(2, 3, 0 / 0) end
    return v, g
  end, {callbacks = {wb.callbacks.Lambda{on_train_batch_begin = function(s) step = s end}}})
  T.ok(err:find("^training diverged at epoch 1, step 5: the loss function's gradient is not "
    .. "finite: row 2, column 3 is NaN"), err)
  T.ok(not err:find("bad argument", 1, true), err)
  -- a Lua layer's backward: the parameter is named, without the binding's wrapper
  local L = {}
  function L:forward(x) return x end
  function L:backward(_, g) if step == 5 then g:set(1, 1, 0 / 0) end; return g end
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(8, 12), L, wb.nn.Dense(12, 3, {activation = "softmax"})}
  local ok, e = pcall(m.fit, m, train, opts{epochs = 2, callbacks = {wb.callbacks.Lambda{
    on_train_batch_begin = function(s) step = s end}}})
  T.ok(not ok and tostring(e):find("^training diverged at epoch 1, step 5: gradient 1 %[8, 12%] "
    .. "has a non%-finite value"), tostring(e))
end)

-- }====================

-- {==================== curvature ====================

T.test("wb.hessian's layer option names the Dense positions, not a range holding the one given",
    function()
  -- "expected the position of a Dense layer in 1..3, got 2": 2 is in 1..3
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "tanh"}), wb.nn.Dropout(0.1),
    wb.nn.Dense(3, 2, {activation = "softmax"})}
  local d = {x = wb.rand(5, 4), y = wb.tensor{0, 1, 0, 1, 1}}
  for _, f in ipairs{"eigs", "trace", "density"} do
    T.check_error(f .. ": layer: expected the position of a Dense layer (1 or 3), got 2 "
      .. "(Dropout(0.1))", wb.hessian[f], m, d, {layer = 2})
    T.check_error(f .. ": layer: expected the position of a Dense layer (1 or 3), got 4 "
      .. "(the model has 3 layers)", wb.hessian[f], m, d, {layer = 4})
  end
end)

-- }====================

-- {==================== a fit inside a fit ====================

T.test("model:fit called in a hook of the model's own fit is refused before it trains",
    function()
  -- with the fit's optimizer it trained 5 steps inside step 3 and left its
  -- own 1-epoch history as model.history, the outer fit returning another;
  -- with a new optimizer the outer fit blamed "model.optimizer was replaced"
  for _, same_opt in ipairs{true, false} do
    for _, hook in ipairs{"on_train_batch_end", "on_epoch_end", "on_train_begin"} do
      local m, inner = T.tiny_mlp(1), 0
      local opt = wb.optim.Adam{}
      local cb = wb.callbacks.Lambda{[hook] = function()
        inner = inner + 1
        m:fit(train, opts{epochs = 1, optimizer = same_opt and opt or nil,
          callbacks = {wb.callbacks.Lambda{on_train_batch_end = function()
            inner = inner + 1
          end}}})
      end}
      local err = T.check_error("fit: this model is training (model:fit was called inside a "
        .. "hook of its own fit, which would train it inside that fit's step)", m.fit, m, train,
        opts{epochs = 2, optimizer = opt, callbacks = {cb}})
      T.ok(err:find("test_audit_loop4.lua:%d+:"), "at the call in the hook: " .. err)
      T.eq(inner, 1, hook .. ": the inner fit trained no step")
    end
  end
  -- evaluate and predict in a hook stay the way; a fit after fit returns, or
  -- after a fit that raised, too
  local m = T.tiny_mlp(1)
  m:fit(train, opts{epochs = 1, callbacks = {wb.callbacks.Lambda{on_train_batch_end =
    function() m:evaluate(train); m:predict(train.images) end}}})
  T.ok(not pcall(m.fit, m, train, opts{epochs = 1, callbacks = {wb.callbacks.Lambda{
    on_train_batch_end = function() error("boom") end}}}))
  T.eq(m:fit(train, opts{epochs = 1}).epochs, 1)
end)

-- }====================

T.test("a loss function that writes into the model's output is refused, naming it", function()
  -- out is the last layer's buffer: its backward and the accuracy read it
  -- after the loss, so p - onehot written into it trained on garbage
  wb.seed(1)
  local x, y = wb.rand(16, 5), wb.new_tensor({16}, "uint8")
  for i = 1, 16 do y[i] = i % 3 end
  -- cross-entropy on the softmax's output, its gradient built in out
  local function ce_inplace(out, yy)
    local B, v, p = out:shape()[1], 0, {}
    for i = 1, B do
      p[i] = out:get(i, yy:get(i) + 1)
      v = v - math.log(p[i])
    end
    out:fill(0)
    for i = 1, B do out:set(i, yy:get(i) + 1, -1 / (B * p[i])) end
    return v / B, out
  end
  for _, check in ipairs{true, false} do
    local m = wb.nn.Sequential{wb.nn.Dense(5, 3, {activation = "softmax"})}
    T.check_error("the loss function changed the model's output in place", m.fit, m, x, y,
      {epochs = 1, batch_size = 8, verbose = false, loss = ce_inplace, grad_check = check})
  end
  -- the same loss on a copy trains
  local m = wb.nn.Sequential{wb.nn.Dense(5, 3, {activation = "softmax"})}
  local h = m:fit(x, y, {epochs = 1, batch_size = 8, verbose = false,
    loss = function(out, yy) return ce_inplace(out:clone(), yy) end})
  T.ok(h.loss[1] == h.loss[1], "a copy: trained, loss " .. tostring(h.loss[1]))
end)

T.done()
