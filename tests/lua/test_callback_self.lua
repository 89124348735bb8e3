-- test_callback_self.lua: a table callback's hook written as a Lambda's,
-- function cb.on_epoch_end(epoch, logs), is refused before training: fit
-- calls it as a method, so its "epoch" was the callback itself, and a new
-- user's "stop after epoch 3" never fired, without a word (tryD 6).
local T = dofile("tests/lua/harness.lua")

local function fit(cb)
  local m = T.tiny_mlp(1)
  return m:fit(T.tiny_data(), {epochs = 4, batch_size = 16, verbose = false, callbacks = {cb}})
end

T.test("a hook whose first parameter is named as a hook's argument is refused", function()
  for _, c in ipairs{{"on_epoch_end", "epoch"}, {"on_train_batch_end", "step"},
      {"on_train_begin", "model"}, {"on_train_end", "logs"}} do
    local cb = {}
    cb[c[1]] = load("return function(" .. c[2] .. ") end")()
    T.check_error(c[1] .. "'s first parameter is '" .. c[2] .. "', but fit calls a "
      .. "callback's hooks as methods, cb:" .. c[1] .. "(...)", fit, cb)
  end
end)

T.test("methods with self (or any other first name) and Lambda's functions train", function()
  local cb = {}
  function cb:on_epoch_end(epoch) if epoch == 3 then return true end end
  T.eq(fit(cb).epochs, 3)
  local other = {on_epoch_end = function(_, epoch) return epoch == 2 end}
  T.eq(fit(other).epochs, 2)
  local lam = wb.callbacks.Lambda{on_epoch_end = function(epoch) return epoch == 1 end}
  T.eq(fit(lam).epochs, 1)
end)

-- Keras 2's on_batch_end (Keras 3 still calls it from on_train_batch_end)
-- was refused without the name it means (tryD's smaller notes)
T.test("Keras 2's on_batch_end and on_batch_begin name the hooks they mean", function()
  T.check_error("has a method 'on_batch_end', which is no callback hook (did you mean "
    .. "'on_train_batch_end'?", fit, {on_batch_end = function() end})
  T.check_error("(did you mean 'on_train_batch_begin'?", fit, {on_batch_begin = function() end})
end)

T.done()
