-- test_identity_stable.lua: the library's own state must not change what
-- identifies code. A counter kept in a field of a wb module (M.count =
-- M.count + 1 in wb/fit_finite.lua, each fit) is a change to the library
-- since wb loaded (wb/identity_lib.lua patches), part of every hook's
-- identity: after each fit the code identity of every Lua layer's methods
-- (wb/arch.lua layer_code, kept by save_state) was another, and every
-- resume of a model with a Lua layer was refused. Nothing caught it. Here
-- a model with a Lua layer goes through what scripts do (fits with and
-- without a batch hook and instruments, evaluate, predict, save and load,
-- save_state and a resume), and its layer code, a hook's identity and the
-- library's changes are what they were before.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local arch = require "wb.arch"
local cjson = require "cjson"

local train = T.tiny_data()
local dir = T.tmpdir()

-- A parameter-free Lua layer y = k * x, its methods identifiable (they
-- close over a number, not over the layer).
local function Scale(k)
  local mult = 1
  local L = {k = k}
  function L:forward(x) return x * (self.k * mult) end
  function L:backward(_, g) return g * (self.k * mult) end
  function L:parameters() return {}, {} end
  function L:zero_grad() end
  return L
end

local function model()
  wb.seed(1)
  return wb.nn.Sequential{wb.nn.Dense(8, 12, {activation = "relu"}), Scale(2),
    wb.nn.Dense(12, 3, {activation = "softmax"})}
end

local function build() return model() end -- a hook, as a runner's build

local m = model()
local code0, hook0 = arch.layer_code(m), wb.identity.hook(build)

T.test("the Lua layer's methods are identified (the test compares something)", function()
  local c = cjson.decode(code0)["2"]
  for _, k in ipairs{"forward", "backward", "parameters", "zero_grad"} do
    T.ok(type(c.methods[k]) == "string", k .. " identified: " .. code0)
  end
  T.ok(type(hook0) == "string", "the hook is identified: " .. tostring(hook0))
end)

-- After `what` ran: the same layer code, hook identity, no library change.
local function unchanged(what, mm)
  local changed = wb.identity.library({})
  local names = {}
  for k, v in pairs(changed and changed.changed or {}) do names[#names + 1] = k .. " " .. v.how end
  table.sort(names)
  T.ok(changed == nil, what .. ": the library changed: " .. table.concat(names, ", "))
  T.eq(arch.layer_code(mm or m), code0, what .. ": the Lua layer's code identity")
  T.eq(wb.identity.hook(build), hook0, what .. ": a hook's identity")
end

local function opts(o)
  local out = {epochs = 2, batch_size = 16, verbose = false}
  for k, v in pairs(o or {}) do out[k] = v end
  return out
end

T.test("a fit", function()
  m:fit(train, opts())
  unchanged("after a fit")
end)

T.test("a fit with a batch-end Lambda (the per-step weight checks)", function()
  m:fit(train, opts{callbacks = {wb.callbacks.Lambda{on_train_batch_end = function() end}}})
  unchanged("after a fit with a batch hook")
end)

T.test("a fit with a batch-begin Lambda and instruments", function()
  m:fit(train, opts{instruments = {"loss", "grad_norm", "distance", "update_size"},
    callbacks = {wb.callbacks.Lambda{on_train_batch_begin = function() end}}})
  unchanged("after a fit with instruments and a batch hook")
end)

T.test("evaluate and predict", function()
  m:evaluate(train)
  m:predict(train.images)
  unchanged("after evaluate and predict")
end)

T.test("save and load, save_state and a resume", function()
  local path = dir .. "/m.safetensors"
  m:save(path)
  m:load_weights(path)
  unchanged("after save and load_weights")
  local state = dir .. "/state.safetensors"
  local a = model()
  a:fit(train, opts())
  a:save_state(state)
  unchanged("after save_state", a)
  model():fit(train, opts()) -- another fit between: a resume comes later, or in a new process
  local b = model()
  b:fit(train, opts{epochs = 3, resume = state}) -- refused if the code differed
  unchanged("after a resume", b)
end)

T.done()
