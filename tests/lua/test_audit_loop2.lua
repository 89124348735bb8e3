-- test_audit_loop2.lua: the training loop's audit, continued from
-- test_audit_loop.lua: what hooks return.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(4242, 90, 8)
local train = data:subset(1, 70)

local function model(seed)
  wb.seed(seed)
  return nn.Sequential{nn.Dense(8, 12, {activation = "relu"}),
    nn.Dense(12, 3, {activation = "softmax"})}
end

T.test("a hook returning something else than true, false or nothing is an error", function()
  for _, c in ipairs{{"on_epoch_end", "stop"}, {"on_train_batch_end", 1},
      {"on_epoch_begin", {}}, {"on_train_begin", "x"}} do
    local m = model(1)
    local ran = 0
    local cb = {[c[1]] = function() ran = ran + 1; return c[2] end}
    local ok, e = pcall(m.fit, m, train, {epochs = 3, batch_size = 16, verbose = false,
      callbacks = {cb}})
    T.ok(not ok and tostring(e):find(c[1] .. " returned " .. type(c[2]), 1, true)
      and tostring(e):find("return true to stop training, or nothing", 1, true),
      c[1] .. ": " .. tostring(e))
    T.eq(ran, 1, "raised at the first return")
  end
  -- true stops, false and nil go on
  local m = model(1)
  local h = m:fit(train, {epochs = 4, batch_size = 16, verbose = false, callbacks = {
    wb.callbacks.Lambda{on_epoch_end = function(e) return e == 2 end},
    wb.callbacks.Lambda{on_train_batch_end = function() return false end}}})
  T.eq(h.epochs, 2)
  -- on_train_end's is ignored: training is over, the history is returned
  h = m:fit(train, {epochs = 1, verbose = false, callbacks = {
    wb.callbacks.Lambda{on_train_end = function() return 0 end}}})
  T.eq(h.epochs, 1)
end)

T.done()
