-- test_hooks_h8.lua: audit H, item 8: input fit ignored without a word.
-- A Keras-style callback's set_model (and set_params) is called once at
-- fit's start, before on_train_begin, as Keras's CallbackList does (it was
-- accepted and never called: self.model nil in the hooks); grad_check =
-- true with a built-in loss and no Lua layer is refused, naming the loss
-- (it checked nothing), and so is grad_check = false there (audit tryW,
-- finding 4: it skipped nothing, without a word).
local T = dofile("tests/lua/harness.lua")
local train = T.tiny_data()

local function opts(o)
  o.epochs, o.batch_size, o.verbose = o.epochs or 2, 16, false
  return o
end

T.test("set_model and set_params: called once, first, as Keras", function()
  local m, calls = T.tiny_mlp(1), {}
  local cb = {
    set_model = function(self, model) calls[#calls + 1] = "set_model"; self.model = model end,
    set_params = function(self, p)
      calls[#calls + 1] = string.format("set_params %d %d %d", p.epochs, p.steps, p.verbose)
    end,
    on_train_begin = function(self) calls[#calls + 1] = "on_train_begin" end,
    on_epoch_end = function(self, e) calls[#calls + 1] = "model " .. tostring(self.model == m) end}
  m:fit(train, opts{callbacks = {cb}})
  T.eq(table.concat(calls, "; "), "set_model; set_params 2 5 0; on_train_begin; model true; "
    .. "model true")
  T.check_error("fit: callbacks%[1%].set_model must be a function %(Keras's set_model%), got "
    .. "number", m.fit, m, train, opts{callbacks = {{set_model = 1}}})
  T.check_error("fit: callbacks%[1%] %(a table with set_model at .*%): set_model: .*no", m.fit,
    m, train, opts{callbacks = {{set_model = function() error("no") end}}})
  -- wb's own callbacks have none (and refuse reading one): unchanged
  m:fit(train, opts{callbacks = {wb.callbacks.EarlyStopping{monitor = "loss"}}})
end)

T.test("grad_check, true or false, with a built-in loss and no Lua layer: refused",
    function()
  local m = T.tiny_mlp(1)
  T.check_error("fit: grad_check = true checks a Lua loss function's gradient .* but the loss "
    .. "\"mse\" is built in and the model has no Lua layer", m.fit, m, train,
    opts{loss = "mse", grad_check = true})
  T.check_error("the loss \"sparse_categorical_crossentropy\" %(the default%) is built in", m.fit,
    m, train, opts{grad_check = true})
  m:fit(train, opts{loss = wb.losses.mse, grad_check = true}) -- a function: checked
  -- false is as idle there (audit tryW, finding 4: it was accepted)
  T.check_error("fit: grad_check = false skips the check of a Lua loss function's gradient .* "
    .. "but the loss \"mse\" is built in and the model has no Lua layer: nothing to check "
    .. "%(drop grad_check%)", m.fit, m, train, opts{loss = "mse", grad_check = false})
  m:fit(train, opts{loss = wb.losses.mse, grad_check = false}) -- a function: skipped
end)

T.done()
