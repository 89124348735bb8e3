-- test_resume_layer_fields.lua: a resume gives a Lua layer back the numbers,
-- strings and booleans it keeps in its fields. The state held its tensors
-- only: a new user's noise layer, annealed by a call counter it sets at its
-- first forward, resumed with the counter of a fresh layer (15 straight, 5
-- resumed) and trained another model without a word; given config(), so
-- that a counter set to 0 at build was no longer refused, it did the same.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

-- Gaussian noise annealed by the number of training calls; lazy: the
-- counter is made at the first forward; with_config: a config() method and
-- the counter set at build.
local function Noise(with_config)
  local L = {sigma = 0.3, label = "noise", on = true}
  if with_config then
    L.calls = 0
    function L:config() return {kind = "Noise", sigma = self.sigma} end
  end
  function L:forward(x, training)
    if not training then return x end
    self.calls = (self.calls or 0) + 1
    return x + wb.randn(x:size(1), x:size(2)) * (self.sigma / math.sqrt(self.calls))
  end
  function L:backward(_, g) return g end
  function L:parameters() return {}, {} end
  function L:zero_grad() end
  return L
end

local function model(with_config)
  wb.seed(1)
  return wb.nn.Sequential{wb.nn.Dense(8, 8, {activation = "relu"}), Noise(with_config),
    wb.nn.Dense(8, 3, {activation = "softmax"})}
end

local function same(a, b)
  local wa, wc = a:get_weights(), b:get_weights()
  for i = 1, #wa do
    local d = wa[i] - wc[i]
    if d:max() ~= 0 or d:min() ~= 0 then return false end
  end
  return true
end

for _, with_config in ipairs{false, true} do
  T.test(string.format("3 epochs = 2 + save_state + resume 1, the counter %s", with_config
      and "set at build, config() given" or "made at the first forward"), function()
    local opts = {epochs = 3, batch_size = 16, verbose = false, seed = 2}
    local a = model(with_config)
    a:fit(T.tiny_data(), opts)
    local b = model(with_config)
    b:fit(T.tiny_data(), {epochs = 2, batch_size = 16, verbose = false, seed = 2})
    local path = dir .. "/s" .. tostring(with_config) .. ".safetensors"
    b:save_state(path)
    local c = model(with_config)
    c:fit(T.tiny_data(), {epochs = 3, batch_size = 16, verbose = false, resume = path})
    T.eq(c[2].calls, a[2].calls, "the counter")
    T.eq(math.type(c[2].calls), "integer", "an integer stays one")
    T.ok(same(a, c), "the weights")
  end)
end

T.test("a field both sides set otherwise is still refused, naming config()", function()
  local b = model(false)
  b[2].calls = 0
  b:fit(T.tiny_data(), {epochs = 1, batch_size = 16, verbose = false})
  b:save_state(dir .. "/r.safetensors")
  local c = model(false)
  c[2].calls = 0
  T.check_error("has calls = 5.0 there, 0.0 here %(a field the fresh layer sets otherwise is "
    .. "taken for its configuration", c.fit, c, T.tiny_data(), {epochs = 2, batch_size = 16,
    verbose = false, resume = dir .. "/r.safetensors"})
end)

T.done()
