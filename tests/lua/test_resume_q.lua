-- test_resume_q.lua: audit Q, items 2, 3, 9 and 10: a training state and
-- what it gives back. ModelCheckpoint{save_state, save_freq} with
-- instruments was refused at its first save, save_freq steps in: now when
-- fit starts.
local T = dofile("tests/lua/harness.lua")

wb.seed(99)
local X = wb.randn(24, 5)
local Y = wb.new_tensor({24}, "uint8")
for i = 1, 24 do Y:set(i, i % 3) end
local dir = T.tmpdir()

local function model()
  wb.seed(3)
  return wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "tanh"}),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
end

T.test("ModelCheckpoint{save_state, save_freq} with instruments: refused at fit's start",
  function()
  local m, steps = model(), 0
  local w0 = m:get_weights()[1]:clone()
  local e = T.check_error("fit: on_train_begin: ModelCheckpoint: save_state with save_freq = 3 "
    .. "saves inside an epoch, where a state cannot hold the fit's instruments", m.fit, m, X, Y,
    {epochs = 2, batch_size = 4, verbose = false, instruments = {"grad_norm"}, callbacks = {
      wb.callbacks.ModelCheckpoint{dir .. "/s{step}.safetensors", save_state = true,
        save_freq = 3},
      wb.callbacks.Lambda{on_train_batch_end = function(s) steps = s end}}})
  T.ok(e:find("save at epoch ends", 1, true), e)
  T.eq(steps, 0, "no step trained")
  T.eq((m:get_weights()[1] - w0):abs():max(), 0, "weights untouched")
  -- without instruments, or at epoch ends, it saves
  m = model()
  m:fit(X, Y, {epochs = 1, batch_size = 4, verbose = false, callbacks = {
    wb.callbacks.ModelCheckpoint{dir .. "/t{step}.safetensors", save_state = true,
      save_freq = 3}}})
  T.ok(io.open(dir .. "/t3.safetensors") ~= nil, "saved at step 3")
  m = model()
  m:fit(X, Y, {epochs = 1, batch_size = 4, verbose = false, instruments = {"grad_norm"},
    callbacks = {wb.callbacks.ModelCheckpoint{dir .. "/e{epoch}.safetensors",
      save_state = true}}})
  T.ok(io.open(dir .. "/e1.safetensors") ~= nil, "saved at epoch 1")
end)

-- A history as text, each number with its Lua type and exact value (%a),
-- but the clock's (epoch_time, the instruments' seconds).
local function serialise(v, path, out)
  if type(v) == "table" then
    local ks = {}
    for k in pairs(v) do ks[#ks + 1] = k end
    table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(ks) do serialise(rawget(v, k), path .. "." .. tostring(k), out) end
  elseif not path:find("epoch_time") and not path:find("seconds") then
    out[#out + 1] = path .. " = " .. (type(v) == "number" and (math.type(v) .. " "
      .. string.format("%a", v)) or tostring(v))
  end
  return out
end

T.test("a resumed history's numbers keep their Lua type (integers stay integers)", function()
  local function o(e)
    return {epochs = e, seed = 1, batch_size = 8, verbose = false, log_every = 1,
      instruments = {"hess_trace", "grad_norm"}, callbacks = {wb.callbacks.Lambda{
        on_train_batch_end = function(s, l) l.count = 2 * s; l.half = s / 2; l.f = 2.0 end,
        on_epoch_end = function(e, l) l.n = e; l.g = 1.0 end}}}
  end
  local function relu()
    wb.seed(3)
    return wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "relu"}),
      wb.nn.Dense(4, 3, {activation = "softmax"})}
  end
  local ha = relu():fit(X, Y, o(3))
  local b = relu()
  b:fit(X, Y, o(1))
  b:save_state(dir .. "/q9.safetensors")
  local oc = o(3)
  oc.resume = dir .. "/q9.safetensors"
  local hc = relu():fit(X, Y, oc)
  T.eq(math.type(hc.steps.count[1]), "integer", "a hook's 2 restored")
  T.eq(math.type(hc.steps.f[1]), "float", "a hook's 2.0 restored")
  T.eq(math.type(hc.steps.hess_trace_se[1]), math.type(ha.steps.hess_trace_se[1]))
  T.eq(math.type(hc.n[1]), "integer")
  local sa, sc = serialise(ha, "h", {}), serialise(hc, "h", {})
  T.eq(#sc, #sa, "as many numbers")
  for i = 1, #sa do T.eq(sc[i], sa[i], "entry " .. i) end
end)

T.test("a resume's seed other than the saved fit's is refused; none is fine", function()
  local function fit(epochs, o)
    local m = model()
    o.epochs, o.batch_size, o.verbose = epochs, 8, false
    return m:fit(X, Y, o), m
  end
  local _, b = fit(1, {seed = 5})
  local path = dir .. "/q10.safetensors"
  b:save_state(path)
  local e = T.check_error("fit: resume: " .. path .. " was trained with seed = 5, this fit has "
    .. "seed = 6: the saved RNG state (shuffling, dropout) goes on and would overrule it; give "
    .. "seed = 5 or no seed", fit, 2, {seed = 6, resume = path})
  T.ok(e, e)
  local same = fit(2, {seed = 5, resume = path})
  local none, c = fit(2, {resume = path})
  T.eq(none.loss[2], same.loss[2], "no seed: the saved RNG state goes on")
  -- a state of that resume (no seed given) is of the seed-5 fit still
  c:save_state(dir .. "/q10b.safetensors")
  T.eq(fit(3, {seed = 5, resume = dir .. "/q10b.safetensors"}).epochs, 3)
  T.check_error("was trained with seed = 5, this fit has seed = 4", fit, 3,
    {seed = 4, resume = dir .. "/q10b.safetensors"})
  -- saved without a seed
  _, b = fit(1, {})
  b:save_state(dir .. "/q10c.safetensors")
  T.check_error("was trained without a seed, this fit has seed = 6: the saved RNG state "
    .. "(shuffling, dropout) goes on and would overrule it; give no seed", fit, 2,
    {seed = 6, resume = dir .. "/q10c.safetensors"})
  -- a state from before states kept the seed: a warning naming it
  local tensors, meta = wb.io.load_safetensors(path)
  local st = require("cjson").decode(meta["workbench.state"])
  st.fit.seed = nil
  meta["workbench.state"] = require("wb.checkpoint").exact_json(st)
  meta["workbench.checksum"] = require("wb.state_fit").checksum(tensors, meta)
  wb.io.save_safetensors(path, tensors, meta)
  local h, err = T.stderr_of(function() return fit(2, {seed = 6, resume = path}) end)
  T.eq(h.epochs, 2)
  T.ok(err:find("does not record the saved fit's seed (written before states kept it): seed "
    .. "= 6 is not checked, and the saved RNG state replaces it", 1, true), err)
end)

T.test("wb.load / load_weights of a state after restore_best_weights say whose weights",
  function()
  wb.seed(99)
  local x, y = wb.randn(64, 5), wb.new_tensor({64}, "uint8")
  for i = 1, 64 do y:set(i, (i * 7) % 3) end
  local function net()
    wb.seed(1)
    return wb.nn.Sequential{wb.nn.Dense(5, 16, {activation = "relu"}),
      wb.nn.Dense(16, 3, {activation = "softmax"})}
  end
  local m = net()
  local h = m:fit(x, y, {epochs = 6, seed = 1, verbose = false, validation_split = 0.25,
    optimizer = wb.optim.SGD{lr = 2.0}, callbacks = {wb.callbacks.EarlyStopping{
      monitor = "val_loss", patience = 10, restore_best_weights = true}}})
  T.ok(h.weights_epoch < 6, "a best epoch before the last: " .. tostring(h.weights_epoch))
  local path = dir .. "/es.safetensors"
  m:save_state(path)
  local loaded, err = T.stderr_of(function() return wb.load(path) end)
  T.eq(err, string.format("wb.load: %s is a training state: its weights are those epoch 6 "
    .. "ended with (a resume goes on from them), not epoch %d's, which fit left in the model "
    .. "(model:save writes those)\n", path, h.weights_epoch))
  T.ok(loaded:evaluate(x, y).loss ~= m:evaluate(x, y).loss, "other weights, as it says")
  _, err = T.stderr_of(function() return net():load_weights(path) end)
  T.ok(err:find("^load_weights: " .. path:gsub("%p", "%%%0") .. " is a training state: its "
    .. "weights are those epoch 6 ended with"), err)
  -- a state whose weights are the model's: no line
  m = net()
  m:fit(x, y, {epochs = 2, verbose = false})
  m:save_state(path)
  _, err = T.stderr_of(function() return wb.load(path) end)
  T.eq(err, "")
end)

-- audit X16i: a state whose architecture was edited (its checksum kept) was
-- described by fit{resume} as "saved from another model", while wb.load
-- said "does not match the checksum": the content is checked first
T.test("resume: an edited state is refused for its checksum before its architecture", function()
  local m = model()
  local path = dir .. "/edited_arch.safetensors"
  m:fit(X, Y, {epochs = 1, batch_size = 4, verbose = false})
  m:save_state(path)
  local tensors, meta = wb.io.load_safetensors(path)
  meta["workbench.architecture"] = meta["workbench.architecture"]:gsub("tanh", "relu")
  wb.io.save_safetensors(path, tensors, meta)
  local m2 = model()
  local e = T.check_error("its content does not match the checksum written with it", m2.fit, m2,
    X, Y, {epochs = 2, batch_size = 4, verbose = false, resume = path})
  T.ok(not e:find("another model", 1, true), e)
end)

T.done()
