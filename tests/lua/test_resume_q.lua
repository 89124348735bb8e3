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

T.done()
