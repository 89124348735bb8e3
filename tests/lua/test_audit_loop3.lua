-- test_audit_loop3.lua: a third audit of the training loop: resume refusals
-- that named the wrong option, a ModelCheckpoint path that failed after an
-- epoch of training, EarlyStopping's stop overruled by a later hook, hook
-- returns that were ignored, the losses' label check, and what a Keras user
-- tries (LearningRateScheduler, TerminateOnNaN, ...).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(4242, 90, 8)
local train, val = data:subset(1, 70), data:subset(71, 90)
local dir = T.tmpdir()

local function model(seed)
  wb.seed(seed or 1)
  return nn.Sequential{nn.Dense(8, 12, {activation = "relu"}),
    nn.Dense(12, 3, {activation = "softmax"})}
end

local function opts(o)
  local out = {batch_size = 16, verbose = false}
  for k, v in pairs(o or {}) do out[k] = v end
  return out
end

-- {==================== resume names the instruments option ====================

T.test("resume without the saved fit's instruments names the instruments option", function()
  local m = model()
  m:fit(train, opts{epochs = 1, instruments = {"grad_norm"}})
  local path = dir .. "/instr.safetensors"
  m:save_state(path)
  local err = T.check_error("was saved by a fit with instruments {grad_norm} every 1, this "
    .. "fit measures none", m.fit, m, train, opts{epochs = 2, resume = path})
  T.ok(not err:find("callbacks"), "the message names the option, not callbacks: " .. err)
end)

T.test("resume with instruments the saved fit did not measure is refused", function()
  local m = model()
  m:fit(train, opts{epochs = 1})
  local path = dir .. "/plain.safetensors"
  m:save_state(path)
  T.check_error("was saved by a fit without instruments, this fit asks for instruments",
    m.fit, m, train, opts{epochs = 2, resume = path, instruments = {"grad_norm"}})
  T.eq(m.history.epochs, 1, "nothing trained")
end)

-- }====================

T.done()
