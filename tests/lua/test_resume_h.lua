-- test_resume_h.lua: audit H's resume findings. A user's callback state
-- left over is named as the user's.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local train, val = T.tiny_data()
local dir = T.tmpdir()

local function opts(epochs, optimizer, cbs)
  return {epochs = epochs, batch_size = 16, verbose = false, seed = 5, validation = val,
    optimizer = optimizer, callbacks = cbs}
end

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
