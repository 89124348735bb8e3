-- wb/nn.lua: wb.nn.Sequential, the container of layers.
--
-- The layers themselves are C userdata (wb.nn.Dense, Dropout, Activation,
-- Flatten, from bindings/l_nn.c; kept as they are). A Lua table with the same
-- methods (forward, backward, parameters, zero_grad; optionally l2_penalty)
-- fits in a Sequential too: the container calls methods by name.
--
-- model[i] is layer i and #model the number of layers. Training entry
-- points (fit, evaluate, predict) live in wb/fit.lua; save / load_weights in
-- wb/checkpoint.lua; both add methods to the same class.
--
-- Errors raised by a layer are rethrown with a prefix naming it, "layer 2
-- (Dense 784->128): ...", only on the error path (the call itself is a plain
-- pcall, which makes no garbage). Error objects (tables) pass through
-- unchanged.
local wb = require "wb"
local nn = wb.nn or {}
wb.nn = nn

local Sequential = {}
Sequential.__index = Sequential
Sequential.__name = "wb.Sequential"

-- A short description of a layer for messages: "Dense 784->128".
local function describe(layer)
  local ok, kind = pcall(function() return layer.kind end)
  if ok and kind == "Dense" then
    return string.format("Dense %d->%d", layer.n_in, layer.n_out)
  end
  return tostring(layer)
end
Sequential._describe = describe

local function rethrow(i, layer, err)
  if type(err) ~= "string" then error(err, 0) end
  error(string.format("layer %d (%s): %s", i, describe(layer), err), 0)
end

local function check_layer(layer, where)
  local ok, fwd = pcall(function() return layer.forward end)
  if not ok or fwd == nil then
    error(string.format("%s: a layer needs a forward method, got %s", where,
      tostring(layer)), 3)
  end
end

-- wb.nn.Sequential{layer, layer, ...}
function nn.Sequential(layers)
  layers = layers or {}
  if type(layers) ~= "table" then
    error("Sequential: expected a list of layers, got " .. type(layers), 2)
  end
  local self = setmetatable({_h = {}}, Sequential)
  for i, layer in ipairs(layers) do
    check_layer(layer, "Sequential: layer " .. i)
    self[i] = layer
  end
  return self
end
nn.SequentialClass = Sequential

-- model:add(layer) -> model
function Sequential:add(layer)
  check_layer(layer, "add")
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

-- model:forward(x, training) -> y. The activations of every layer are kept
-- (views of layer buffers) for backward: self._h[i] is layer i's input.
function Sequential:forward(x, training)
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

-- model:backward(x, grad_y [, need_grad_input]) -> grad_x (nil when
-- need_grad_input is false): chains layer:backward from the last layer,
-- given the input x of the last forward and the gradient w.r.t. its output.
-- Parameter gradients accumulate.
function Sequential:backward(x, grad, need_grad_input)
  return self:_backward(x, grad, need_grad_input, false)
end

-- model:backward_logits(x, grad_z [, need_grad_input]): the same, with
-- grad_z the gradient w.r.t. the last layer's pre-activation (the fused
-- softmax + cross-entropy path; the last layer must have backward_logits).
function Sequential:backward_logits(x, grad, need_grad_input)
  return self:_backward(x, grad, need_grad_input, true)
end

function Sequential:_backward(x, grad, need_grad_input, logits)
  local h = self._h
  local n = #self
  if n == 0 then return grad end
  if not rawequal(h[1], x) then
    error("backward: x is not the input of the last forward", 3)
  end
  local need_last = need_grad_input ~= false
  for i = n, 1, -1 do
    local layer = self[i]
    local need = i > 1 or need_last
    local ok, g
    if logits and i == n then
      ok, g = pcall(layer.backward_logits, layer, h[i], grad, need)
    else
      ok, g = pcall(layer.backward, layer, h[i], grad, need)
    end
    if not ok then rethrow(i, layer, g) end
    grad = g
  end
  return grad
end

-- model:parameters() -> params, grads: flat lists over all layers, built
-- once and cached (the same tables every call; do not modify them).
function Sequential:parameters()
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

function Sequential:zero_grad()
  for i = 1, #self do
    local layer = self[i]
    local z = layer.zero_grad
    if z then z(layer) end
  end
  return self
end

-- Sum of the layers' L2 penalties (l2 * sum(W^2), Keras).
function Sequential:l2_penalty()
  local s = 0
  for i = 1, #self do
    local layer = self[i]
    local f = layer.l2_penalty
    if f then s = s + f(layer) end
  end
  return s
end

-- Number of parameters (elements) of one layer.
local function count_params(layer)
  if not layer.parameters then return 0 end
  local n = 0
  for _, p in ipairs((layer:parameters())) do n = n + p:numel() end
  return n
end

-- 101770 -> "101,770"
local function thousands(n)
  local s = tostring(math.floor(n))
  repeat
    local k
    s, k = s:gsub("^(%d+)(%d%d%d)", "%1,%2")
  until k == 0
  return s
end

-- Keras's readable_memory_size: base 1024, two decimals.
local function readable_size(bytes)
  local units = {"B", "KB", "MB", "GB", "TB"}
  local i = 1
  while bytes >= 1024 and i < #units do
    bytes = bytes / 1024
    i = i + 1
  end
  return string.format("%.2f %s", bytes, units[i])
end
Sequential._thousands, Sequential._readable_size = thousands, readable_size

-- Output width of layer i (nil when unknown): Dense gives n_out; Flatten the
-- next Dense's n_in; other layers keep their input's width.
local function out_width(self, i, prev)
  local layer = self[i]
  local ok, kind = pcall(function() return layer.kind end)
  kind = ok and kind or nil
  if kind == "Dense" then return layer.n_out end
  if kind == "Flatten" then
    for j = i + 1, #self do
      local okj, kj = pcall(function() return self[j].kind end)
      if okj and kj == "Dense" then return self[j].n_in end
    end
  end
  return prev
end

-- model:summary() -> string, like Keras's (layer, output shape, params;
-- totals in parameters and float32 bytes).
function Sequential:summary()
  local rule, lines = string.rep("_", 65), {}
  local function row(a, b, c)
    lines[#lines + 1] = string.format(" %-28s%-26s%s", a, b, c)
  end
  lines[1] = 'Model: "sequential"'
  lines[2] = rule
  row("Layer (type)", "Output Shape", "Param #")
  lines[#lines + 1] = string.rep("=", 65)
  local total, width, seen = 0, nil, {}
  for i = 1, #self do
    local layer = self[i]
    local ok, kind = pcall(function() return layer.kind end)
    kind = ok and kind or "Layer"
    local base = kind:lower()
    seen[base] = (seen[base] or -1) + 1
    local name = seen[base] == 0 and base or (base .. "_" .. seen[base])
    width = out_width(self, i, width)
    local n = count_params(layer)
    total = total + n
    row(string.format("%s (%s)", name, kind),
      string.format("(None, %s)", width and tostring(width) or "?"), thousands(n))
  end
  lines[#lines + 1] = string.rep("=", 65)
  lines[#lines + 1] = string.format("Total params: %s (%s)", thousands(total),
    readable_size(total * 4))
  lines[#lines + 1] = string.format("Trainable params: %s (%s)", thousands(total),
    readable_size(total * 4))
  lines[#lines + 1] = "Non-trainable params: 0 (0.00 B)"
  lines[#lines + 1] = rule
  return table.concat(lines, "\n")
end

-- model:get_weights([into]) -> list of tensors, copies of parameters() in
-- order. With `into` (an earlier result) the copies go into its tensors:
-- no allocation (EarlyStopping keeps best weights this way).
function Sequential:get_weights(into)
  local ps = self:parameters()
  if into then
    for i = 1, #ps do into[i]:copy(ps[i]) end
    return into
  end
  local out = {}
  for i = 1, #ps do out[i] = ps[i]:clone() end
  return out
end

-- model:set_weights(list): copy tensors into the parameters (same count and
-- shapes, checked before anything is copied).
function Sequential:set_weights(list)
  local ps = self:parameters()
  if type(list) ~= "table" or #list ~= #ps then
    error(string.format("set_weights: expected %d tensors, got %s", #ps,
      type(list) == "table" and tostring(#list) or type(list)), 2)
  end
  for i = 1, #ps do
    local a, b = ps[i]:shape(), list[i]:shape()
    if table.concat(a, ",") ~= table.concat(b, ",") then
      error(string.format("set_weights: tensor %d: expected [%s], got [%s]", i,
        table.concat(a, ", "), table.concat(b, ", ")), 2)
    end
  end
  for i = 1, #ps do ps[i]:copy(list[i]) end
  return self
end

-- Total number of parameters.
function Sequential:num_params()
  local n = 0
  for i = 1, #self do n = n + count_params(self[i]) end
  return n
end

return nn
