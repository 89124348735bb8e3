-- wb/nn.lua: wb.nn.Sequential, the container of layers.
--
-- The layers themselves are C userdata (wb.nn.Dense, Dropout, Activation,
-- Flatten, from bindings/l_nn.c; kept as they are). A Lua table with the same
-- methods fits in a Sequential too (the protocol: wb.nn's help below): the
-- container calls methods by name.
--
-- model[i] is layer i and #model the number of layers. Training entry
-- points (fit, evaluate, predict) live in wb/fit.lua; save / load_weights in
-- wb/checkpoint.lua; summary / num_params in wb/nn_summary.lua; they add
-- methods to the same class.
--
-- Errors raised by a layer are rethrown with a prefix naming it, "layer 2
-- (Dense 784->128): ...", only on the error path (the call itself is a plain
-- pcall, which makes no garbage). A wb.Error (an input error) comes back as
-- a new one with the prefixed message and the same code and path, so the
-- kind of the failure (and workbench's exit status) survives; other error
-- objects (tables) pass through unchanged.
local _ENV = require "wb.std"
local wb = require "wb"
local args, nn_list = require "wb.args", require "wb.nn_list"
local nn = wb.nn or {}
-- a tensor's metatable: the checks run in every training step test it in
-- one compare, and call args.check (its message) only when it fails; read
-- from the registry, not from a tensor made for it (an allocation while wb
-- loads, which the fault-injection tests count)
local TENSOR = debug.getregistry()["wb.Tensor"]
local ACTIVATION = debug.getregistry()["wb.Activation"] -- backward_logits passes through it
wb.nn = nn

---wb.nn
---Layers and models: Dense, Dropout, Activation, Flatten and the fused
---softmax cross-entropy (C, bindings/l_nn.c), and Sequential, the container
---(Lua). A Lua table fits in a Sequential too, a layer with the methods the
---container calls (self first): forward(x, training) -> y (training: true in
---fit's steps); backward(x, grad_y, need_grad_input) -> grad_x (x: the input
---of the last forward, grad_y: the gradient w.r.t. its output; it adds its
---parameters' gradients to theirs, and may return nil when need_grad_input
---is false); optional: parameters() -> params, grads (two lists of tensors,
---each gradient beside its parameter), zero_grad() (sets those to 0),
---l2_penalty() -> number. fit checks backward against central differences
---of forward on the first batch (grad_check).
---Example: local m = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
---  wb.nn.Dropout(0.3), wb.nn.Dense(128, 10, {activation = "softmax"})}
local Sequential = {}
Sequential.__name = "wb.Sequential"
Sequential.__methods = Sequential -- for the REPL's Tab (which never calls __index)

-- The fields a model may have, absent until set (by fit: history,
-- optimizer, stop_training; the rest by the library's methods): reading
-- one gives nil. Reading any other name is an error (model.histroy was nil).
Sequential.__fields = {history = true, optimizer = true, stop_training = true,
  _h = true, _params = true, _grads = true, _eval_perm = true}

-- Keras's names for what is here under another name.
local KERAS = {layers = "model[i] is layer i and #model their number (Keras's "
  .. "model.layers[0] is model[1])"}

-- model.k: a method, a field, a layer (an integer past the last: nil, as a
-- list's, so that ipairs(model) ends), else an error naming the nearest of
-- the class's names and the model's own (a user's model.note = ...); near
-- a Keras name (model.layers), what is here instead. A class built on this
-- one, setmetatable(Sub, Sequential), and its instances follow Lua: their
-- own optional names read as nil.
function Sequential.__index(self, k)
  local v = Sequential[k]
  if v ~= nil or Sequential.__fields[k] then return v end
  if math.type(k) == "integer" then
    if k >= 1 then return nil end
    error(string.format("wb.Sequential has no layer %d: its layers are model[1] .. "
      .. "model[#model] (#model = %d)", k, #self), 2)
  end
  if rawget(self, "__index") ~= nil then return nil end
  if type(k) ~= "string" then
    error(string.format("wb.Sequential has no key %s (its layers are model[1] .. "
      .. "model[#model], its fields and methods named by strings)", tostring(k)), 2)
  end
  local spec_keys = require "wb.spec_keys"
  local keras = spec_keys.nearest_names(KERAS, k)[1]
  if keras then
    error(string.format("wb.Sequential has no field '%s': %s", k, KERAS[keras]), 2)
  end
  error(spec_keys.no_field("wb.Sequential", k, Sequential, self), 2)
end

-- model.k = v: a layer (an integer key), a field of __fields or a name of
-- the user's own (model.note = ...) is set; a method's name (model.fit = 1)
-- or a name near one of the class's (model.stop_trainig = true, Keras's
-- spelling slip in a callback: kept as a new field, training went on) is
-- an error naming the nearest; so is a Keras name (model.layers = {...}
-- was kept and never read: the model's layers stayed as they were). A
-- class built on this one (no _h: not made by wb.nn.Sequential) sets what
-- it likes.
function Sequential.__newindex(self, k, v)
  if type(k) == "string" and rawget(self, "_h") ~= nil then
    local spec_keys = require "wb.spec_keys"
    if spec_keys.nearest_names(KERAS, k)[1] then
      error(string.format("wb.Sequential: model.%s cannot be set: its layers are model[i], "
        .. "model[1] .. model[#model]; model:add(layer) appends one (Keras's model.layers[0] "
        .. "is model[1])", k), 2)
    end
    local why = spec_keys.bad_write("wb.Sequential", k, Sequential, "model")
    if why then error(why, 2) end
  end
  rawset(self, k, v)
end

-- A short description of a layer for messages: "Dense 784->128".
local function describe(layer)
  local ok, kind = pcall(function() return layer.kind end)
  if ok and kind == "Dense" then
    return string.format("Dense %d->%d", layer.n_in, layer.n_out)
  end
  return tostring(layer)
end
Sequential._describe = describe

-- Layer i's error err, its kind kept (a wb.Error's text is the core's reason:
-- "bad argument #2 to '?'" says nothing here; an input error stays one line).
local function rethrow(i, layer, err)
  error(args.reprefix(err, string.format("layer %d (%s): ", i, describe(layer))), 0)
end

local check_layer = nn_list.check_layer

---wb.nn.Sequential(layers) -> wb.Sequential
---A model from a list of layers (each needs a forward method); model[i] is
---layer i and #model the number of layers. A Dense whose n_in is not the
---width the layer before it gives (a Dense's n_out, kept through Dropout,
---Activation and Flatten) is an error naming both layers and sizes.
---@param layers? table
---@return wb.Sequential
---Example: local m = wb.nn.Sequential{wb.nn.Dense(784, 10, {activation = "softmax"})}
function nn.Sequential(layers)
  args.opt("Sequential", 1, layers, "table")
  layers = layers or {}
  local self = setmetatable({_h = {}}, Sequential)
  for i, layer in ipairs(nn_list.layers(layers, 3)) do -- (no hole, no layer twice)
    check_layer(layer, "Sequential: layer " .. i)
    self[i] = layer
  end
  local why = Sequential._width_mismatch(#self, function(i) return self[i] end)
  if why then args.input_fail("Sequential: " .. why, 2) end
  return self
end
nn.SequentialClass = Sequential

---wb.Sequential
---A stack of layers applied in order: Keras outside (fit, evaluate,
---predict, summary, save), Torch underneath (forward, backward,
---parameters, zero_grad are public). An error inside a layer is rethrown
---as "layer 2 (Dense 784->128): ...". tostring lists the layers; m[i] is
---layer i (m[1].weight: its kernel, shared, not a copy; Keras's
---model.layers[0]), #m the number of layers (m[#m + 1] is nil: ipairs(m)
---works). Reading a name it lacks (m.histroy) is an error naming the
---nearest; history, optimizer and stop_training are nil until fit sets
---them; a field you set (m.note = ...) reads back.
---Example: print(m); print(m:summary()); local h = m:fit(d.train, {epochs = 2})

---wb.Sequential:add(layer) -> wb.Sequential
---Appends a layer; returns the model. A Dense whose n_in does not fit the
---model's last width is an error, as in wb.nn.Sequential.
---@param layer any
---@return wb.Sequential
---Example: local m = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"})}
---  m:add(wb.nn.Dense(128, 10, {activation = "softmax"}))
function Sequential:add(layer)
  args.self(Sequential, self, "add", "model")
  check_layer(layer, "add")
  nn_list.once(self, layer, 3)
  local n = #self
  local why = Sequential._width_mismatch(n + 1, function(i) return i > n and layer or self[i] end)
  if why then args.input_fail("add: " .. why, 2) end
  self[#self + 1] = layer
  self._params, self._grads = nil, nil
  return self
end

function Sequential:__tostring()
  local lines = {"Sequential {"}
  for i = 1, #self do
    lines[#lines + 1] = string.format("  (%d) %s", i, tostring(self[i]))
  end
  lines[#lines + 1] = "}"
  return table.concat(lines, "\n")
end

---wb.Sequential:forward(x, training) -> wb.Tensor
---The output of the last layer for a float32 batch x [n, features];
---training = true turns Dropout on (default false). Every layer's input is
---kept for backward. The result is a view of a layer-owned buffer, valid
---until the next forward (clone to keep).
---@param x wb.Tensor
---@param training? boolean
---@return wb.Tensor
---Example: local probs = m:forward(x):clone()
function Sequential:forward(x, training)
  if getmetatable(x) ~= TENSOR then args.check("forward", 1, x, "wb.Tensor") end
  if training ~= nil and training ~= true and training ~= false then
    args.check("forward", 2, training, "boolean") -- ("yes" was taken as true)
  end
  local h = self._h
  local n = #self
  for i = 1, n do
    local layer = self[i]
    h[i] = x
    local ok, y = pcall(layer.forward, layer, x, training)
    if not ok then rethrow(i, layer, y) end
    x = y
  end
  h[n + 1] = x
  return x
end

---wb.Sequential:backward(x, grad_y, need_grad_input) -> wb.Tensor|nil
---Backpropagates grad_y (the gradient w.r.t. the last output) from the
---last layer to the first, given the x of the last forward. Parameter
---gradients accumulate (zero_grad clears them), each Dense's with its L2
---penalty's gradient 2 l2 W (a hand-written loop adds m:l2_penalty() to its
---loss's value, not the gradient again). Returns the gradient w.r.t.
---x, or nil when need_grad_input is false.
---@param x wb.Tensor
---@param grad_y wb.Tensor
---@param need_grad_input? boolean
---@return wb.Tensor|nil
---Example: m:zero_grad(); m:forward(x, true); m:backward(x, g)
function Sequential:backward(x, grad, need_grad_input)
  if getmetatable(x) ~= TENSOR or getmetatable(grad) ~= TENSOR then
    args.check("backward", 1, x, "wb.Tensor")
    args.check("backward", 2, grad, "wb.Tensor")
  end
  return Sequential._backward(self, x, grad, need_grad_input, false)
end

---wb.Sequential:backward_logits(x, grad_z, need_grad_input) -> wb.Tensor|nil
---Like backward, with grad_z the gradient w.r.t. the last layer's
---pre-activation (the fused softmax + cross-entropy path; the last layer
---must have backward_logits, as Dense does, or be an Activation, whose
---pre-activation is its input: grad_z goes on to the layer before it).
---@param x wb.Tensor
---@param grad_z wb.Tensor
---@param need_grad_input? boolean
---@return wb.Tensor|nil
---Example: m:backward_logits(x, ce:backward())
function Sequential:backward_logits(x, grad, need_grad_input)
  if getmetatable(x) ~= TENSOR or getmetatable(grad) ~= TENSOR then
    args.check("backward_logits", 1, x, "wb.Tensor")
    args.check("backward_logits", 2, grad, "wb.Tensor")
  end
  return Sequential._backward(self, x, grad, need_grad_input, true)
end

function Sequential:_backward(x, grad, need_grad_input, logits)
  local h = self._h
  local n = #self
  if n == 0 then return grad end
  if not rawequal(h[1], x) then
    args.input_fail("backward: x is not the input of the last forward", 3)
  end
  local need_last = need_grad_input ~= false
  for i = n, 1, -1 do
    local layer = self[i]
    local need = i > 1 or need_last
    local ok, g
    if logits and i == n and getmetatable(layer) == ACTIVATION then
      ok, g = true, need and grad or nil -- grad_z is w.r.t. its input, the logits
    elseif logits and i == n then
      ok, g = pcall(layer.backward_logits, layer, h[i], grad, need)
    else
      ok, g = pcall(layer.backward, layer, h[i], grad, need)
    end
    if not ok then rethrow(i, layer, g) end
    grad = g
  end
  return grad
end

---wb.Sequential:parameters() -> table, table
---Flat lists of all parameter tensors and their gradient tensors, layer by
---layer (weight, then bias). Built once and cached: the same tables every
---call; do not modify them.
---@return wb.Tensor[] params
---@return wb.Tensor[] grads
---Example: local ps, gs = m:parameters(); opt:step(ps, gs)
function Sequential:parameters()
  args.self(Sequential, self, "parameters", "model")
  if not self._params then
    local ps, gs = {}, {}
    for i = 1, #self do
      local layer = self[i]
      if layer.parameters then
        local p, g = layer:parameters()
        for k = 1, #p do
          ps[#ps + 1] = p[k]
          gs[#gs + 1] = g[k]
        end
      end
    end
    self._params, self._grads = ps, gs
  end
  return self._params, self._grads
end

---wb.Sequential:zero_grad() -> wb.Sequential
---Sets every parameter gradient to 0.
---@return wb.Sequential
---Example: m:zero_grad()
function Sequential:zero_grad()
  if getmetatable(self) ~= Sequential then args.self(Sequential, self, "zero_grad", "model") end
  for i = 1, #self do
    local layer = self[i]
    local z = layer.zero_grad
    if z then z(layer) end
  end
  return self
end

---wb.Sequential:l2_penalty() -> number
---The sum of the layers' L2 penalties, l2 * sum(W^2) per Dense layer (as
---Keras adds to the loss).
---@return number
---Example: print(m:l2_penalty())
function Sequential:l2_penalty()
  args.self(Sequential, self, "l2_penalty", "model")
  local s = 0
  for i = 1, #self do
    local layer = self[i]
    local f = layer.l2_penalty
    if f then s = s + f(layer) end
  end
  return s
end

-- list: as many tensors as the parameters ps (shapes are the caller's).
local function check_tensors(list, ps, fname)
  if #list ~= #ps then
    args.input_fail(string.format("%s: expected %d tensors, got %d", fname, #ps, #list), 3)
  end
  for i = 1, #ps do
    if args.typename(list[i]) ~= "wb.Tensor" then
      args.input_fail(string.format("%s: tensor %d: wb.Tensor expected, got %s", fname, i,
        args.typename(list[i])), 3)
    end
  end
end

---wb.Sequential:get_weights(into) -> table
---Copies of the parameters (parameters() order) as a list of tensors. With
---into (an earlier result) the copies go into its tensors: no allocation
---(EarlyStopping keeps the best weights this way).
---@param into? table
---@return wb.Tensor[]
---Example: local saved = m:get_weights(); ...; m:set_weights(saved)
function Sequential:get_weights(into)
  args.self(Sequential, self, "get_weights", "model")
  args.opt("get_weights", 1, into, "table")
  local ps = self:parameters()
  if into then
    check_tensors(into, ps, "get_weights")
    for i = 1, #ps do into[i]:copy(ps[i]) end
    return into
  end
  local out = {}
  for i = 1, #ps do out[i] = ps[i]:clone() end
  return out
end

---wb.Sequential:set_weights(list) -> wb.Sequential
---Copies a list of tensors into the parameters: same count and shapes,
---checked before anything is copied.
---@param list wb.Tensor[]
---@return wb.Sequential
---Example: m:set_weights(saved)
function Sequential:set_weights(list)
  args.self(Sequential, self, "set_weights", "model")
  args.check("set_weights", 1, list, "table")
  local ps = self:parameters()
  check_tensors(list, ps, "set_weights")
  for i = 1, #ps do
    local a, b = ps[i]:shape(), list[i]:shape()
    if table.concat(a, ",") ~= table.concat(b, ",") then
      args.input_fail(string.format("set_weights: tensor %d: expected [%s], got [%s]", i,
        table.concat(a, ", "), table.concat(b, ", ")), 2)
    end
  end
  for i = 1, #ps do ps[i]:copy(list[i]) end
  return self
end

require "wb.nn_summary" -- adds summary and num_params to Sequential

return nn
