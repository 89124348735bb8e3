-- test_resumez_layers.lua: a Lua layer's tensor fields that are not its
-- parameters (a BatchNorm-like running mean, a mask drawn at build time)
-- across model:save_state and fit{resume} (wb/state_layers.lua, audit Z1).
-- The state held only parameters(): a resume went on from the fresh
-- layer's running mean, and the third epoch's loss differed from an
-- uninterrupted run's, without a word.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(4242, 90, 8)
local dir = T.tmpdir()

-- A running mean of its inputs (training only), added to them; a trained
-- per-feature scale (a parameter: restored as the weights are); a mask drawn
-- from mask_seed when built.
local function Running(n, mask_seed)
  local S = {n = n, run = wb.randn(n):fill(0), w = wb.randn(n):fill(1),
    gw = wb.randn(n):fill(0)}
  wb.seed(mask_seed)
  S.mask = wb.rand(n)
  function S:forward(x, training)
    if training then self.run = self.run * 0.9 + x:mean(1) * 0.1 end
    self.x = x
    return (x + self.run) * self.w * self.mask
  end
  function S:backward(_, g)
    self.gw:copy(self.gw + ((self.x + self.run) * self.mask * g):sum(1))
    return g * self.w * self.mask
  end
  function S:parameters() return {self.w}, {self.gw} end
  function S:zero_grad() self.gw:fill(0) end
  return S
end

local function model(mask_seed)
  wb.seed(1)
  local d1 = nn.Dense(8, 12, {activation = "relu"})
  local r = Running(12, mask_seed or 7)
  wb.seed(2)
  return nn.Sequential{d1, r, nn.Dense(12, 3, {activation = "softmax"})}
end

local function same(a, b, what)
  local d = a - b
  T.ok(d:max() == 0 and d:min() == 0, what)
end

local function opts(o)
  local out = {batch_size = 16, seed = 9, verbose = false, log_every = 2}
  for k, v in pairs(o) do out[k] = v end
  return out
end

T.test("a Lua layer's running mean: 3 epochs = 2 + save_state + resume 1, bit for bit",
    function()
  local straight = model()
  local h3 = straight:fit(data, opts{epochs = 3, optimizer = wb.optim.SGD{lr = 0.1,
    momentum = 0.9}})
  local first = model()
  first:fit(data, opts{epochs = 2, optimizer = wb.optim.SGD{lr = 0.1, momentum = 0.9}})
  local path = dir .. "/running.safetensors"
  first:save_state(path)
  local resumed = model(8) -- another mask too: the state's is the model's
  local hr = resumed:fit(data, opts{epochs = 3, resume = path})
  for e = 1, 3 do T.eq(hr.loss[e], h3.loss[e], "loss epoch " .. e) end
  T.eq(table.concat(hr.steps.loss, ","), table.concat(h3.steps.loss, ","), "steps.loss")
  same(resumed[2].run, straight[2].run, "running mean")
  same(resumed[2].mask, straight[2].mask, "mask")
  same(resumed[2].w, straight[2].w, "parameter")
  local a, b = straight:get_weights(), resumed:get_weights()
  for i = 1, #a do same(a[i], b[i], "weight " .. i) end
end)

T.test("inside an epoch too (ModelCheckpoint{save_state, save_freq})", function()
  local straight = model()
  local h3 = straight:fit(data, opts{epochs = 3})
  local first = model()
  local path = dir .. "/mid.safetensors"
  first:fit(data, opts{epochs = 2, callbacks = {wb.callbacks.ModelCheckpoint{path,
    save_state = true, save_freq = 8}}}) -- step 8: epoch 2, step 2 of 6
  local resumed = model()
  local hr = resumed:fit(data, opts{epochs = 3, resume = path,
    callbacks = {wb.callbacks.ModelCheckpoint{dir .. "/mid2.safetensors", save_state = true,
      save_freq = 8}}})
  for e = 1, 3 do T.eq(hr.loss[e], h3.loss[e], "loss epoch " .. e) end
  same(resumed[2].run, straight[2].run, "running mean")
end)

T.test("a tensor two Lua layers share stays shared after a resume", function()
  local function tied()
    wb.seed(1)
    local shared = wb.randn(12):fill(0)
    local a, b = Running(12, 7), Running(12, 7)
    a.run, b.run = shared, shared
    local function forward(self, x, training) -- updates the shared tensor in place
      if training then self.run:copy(self.run * 0.9 + x:mean(1) * 0.1) end
      self.x = x
      return (x + self.run) * self.w * self.mask
    end
    a.forward, b.forward = forward, forward
    wb.seed(2)
    return nn.Sequential{nn.Dense(8, 12, {activation = "relu"}), a, b,
      nn.Dense(12, 3, {activation = "softmax"})}
  end
  local first = tied()
  first:fit(data, opts{epochs = 1})
  local path = dir .. "/tied.safetensors"
  first:save_state(path)
  local resumed = tied()
  resumed:fit(data, opts{epochs = 2, resume = path})
  T.ok(rawequal(resumed[2].run, resumed[3].run), "still one tensor")
end)

T.test("a Lua layer holding another layer's kernel (tied) does not overwrite the state's "
    .. "weights", function()
  -- EarlyStopping's best epoch (the highest loss: epoch 1) is restored into
  -- the model at the end; the state holds the last epoch's weights, which
  -- the tied field (the model's kernel, the best epoch's) must not replace
  local function tied()
    wb.seed(1)
    local d1 = nn.Dense(8, 12, {activation = "relu"})
    local view = {kernel = d1.weight}
    function view:forward(x) return x end
    function view:backward(_, g) return g end
    function view:parameters() return {}, {} end
    function view:zero_grad() end
    return nn.Sequential{d1, view, nn.Dense(12, 3, {activation = "softmax"})}
  end
  local function cbs()
    return {wb.callbacks.EarlyStopping{monitor = "loss", mode = "max", patience = 10,
      restore_best_weights = true}}
  end
  local straight = tied()
  local h3 = straight:fit(data, opts{epochs = 3, callbacks = cbs()})
  local first = tied()
  first:fit(data, opts{epochs = 2, callbacks = cbs()})
  local path = dir .. "/tiedk.safetensors"
  first:save_state(path)
  local resumed = tied()
  local hr = resumed:fit(data, opts{epochs = 3, resume = path, callbacks = cbs()})
  T.eq(hr.best_epoch, 1)
  T.eq(hr.loss[3], h3.loss[3], "loss epoch 3") -- the weights end as epoch 1's either way
  local a, b = straight:get_weights(), resumed:get_weights()
  for i = 1, #a do same(a[i], b[i], "weight " .. i) end
end)

T.test("two identical trainings with a Lua layer write the same bytes (Z11)", function()
  -- workbench.architecture described a Lua layer by tostring(layer), its table's
  -- address: the files (their checksum, a record's weights_ids) differed
  local paths = {}
  for k = 1, 2 do
    local m = model()
    m:fit(data, opts{epochs = 1})
    paths[k] = dir .. "/same" .. k .. ".safetensors"
    m:save(paths[k]) -- (a state holds epoch_time: never the same bytes)
  end
  T.ok(T.slurp(paths[1]) == T.slurp(paths[2]), "model:save")
end)

T.done()
