-- wb/losses.lua: the losses of fit and evaluate (option `loss`):
-- "sparse_categorical_crossentropy" (the default: fused with the softmax of
-- the last Dense layer, computed in C, no garbage per step), "mse" (Keras:
-- one-hot targets, mean over classes then over the batch) and a Lua
-- function loss(output, labels) -> value, grad_output. Outside the fused
-- default, a step allocates a few temporary tensors.
--
-- A loss object has value(model, x, y, training) -> mean data loss, correct
-- count (it runs the forward pass) and backward(model, x) (the backward pass
-- of the last value). fit keeps one for training and one for validation,
-- so that validation never overwrites the gradient of the step.
local wb = require "wb"
local fa = require "wb.fit_args"
local args = require "wb.args"
---wb.losses
---The losses of model:fit and model:evaluate (their `loss` option):
---"sparse_categorical_crossentropy" (default, fused with the softmax head),
---"mse" (Keras MeanSquaredError on one-hot targets: mean over classes, then
---over the batch) or a function loss(output, labels) -> value, grad_output
---(output: the model's [n, C] output; labels: the dataset's uint8 [n] class
---ids from 0; value: a number or a one-element tensor; grad_output: the
---gradient of value w.r.t. output, [n, C]). The L2 penalty is added to any
---of them, as Keras adds regularization losses.
---Example: local h = m:fit(d.train, {loss = "mse", epochs = 2})
local M = {}
wb.losses = M

local NAMES = {"sparse_categorical_crossentropy", "mse"}

-- {==================== the fused default ====================

local Fused = {}
Fused.__index = Fused

function Fused:value(model, x, y, training)
  model:forward(x, training)
  return self.ce:forward(self.last:logits(), y)
end

function Fused:backward(model, x)
  model:backward_logits(x, self.ce:backward(), false)
end

-- }====================
-- {==================== losses on the output ====================

-- One-hot targets [n, C] of labels (class ids from 0), in a buffer kept
-- between calls of the same shape.
local onehot_buf = setmetatable({}, {__mode = "k"})
local function onehot(labels, n, c, owner)
  local t = onehot_buf[owner]
  if not t or t:size(1) ~= n or t:size(2) ~= c then
    t = wb.zeros(n, c)
    onehot_buf[owner] = t
  else
    t:fill(0)
  end
  for i = 1, n do
    local k = labels:get(i)
    if k < 0 or k >= c or k ~= math.floor(k) then
      error(string.format("loss: label %d (1-based position) is %g, expected 0..%d", i, k,
        c - 1), 0)
    end
    t:set(i, k + 1, 1)
  end
  return t
end

---wb.losses.mse(output, labels) -> number, wb.Tensor
---Keras's mean squared error on one-hot targets: mean over the batch of the
---mean over classes of (output - onehot(labels))^2, and its gradient
---2 (output - onehot) / (n C) w.r.t. output.
---@param output wb.Tensor
---@param labels wb.Tensor
---@return number, wb.Tensor
---Example: local v, g = wb.losses.mse(m:predict(x), y)
function M.mse(output, labels)
  args.check("mse", 1, output, "wb.Tensor")
  args.check("mse", 2, labels, "wb.Tensor")
  local shape = output:shape()
  if #shape ~= 2 then error("mse: output must be [n, C], got " .. tostring(output), 2) end
  local n, c = shape[1], shape[2]
  local d = output - onehot(labels, n, c, M.mse)
  return (d * d):sum() / (n * c), d * (2 / (n * c))
end

local Output = {}
Output.__index = Output

-- Correct predictions: argmax of each row (first maximum) against labels.
local function correct_of(out, y)
  local am = out:argmax(2)
  local c = 0
  for i = 1, #am do
    if am:get(i) - 1 == y:get(i) then c = c + 1 end
  end
  return c
end

function Output:value(model, x, y, training)
  local out = model:forward(x, training)
  local v, g = self.fn(out, y)
  if type(v) == "userdata" and v.item then v = v:item() end
  if type(v) ~= "number" then
    error(string.format("%s: the loss function must return a number (or a one-element "
      .. "tensor) and the gradient, got %s", self.fname, type(v)), 0)
  end
  if training then
    if not (type(g) == "userdata" and g.shape and #g == #out and g:numel() == out:numel()) then
      error(string.format("%s: the loss function's second result must be the gradient "
        .. "w.r.t. the output, a tensor of the output's shape [%s], got %s", self.fname,
        table.concat(out:shape(), ", "), tostring(g)), 0)
    end
    self.grad = g
  end
  return v, correct_of(out, y)
end

function Output:backward(model, x)
  model:backward(x, self.grad, false)
end

-- }====================

-- The loss object of `spec` (nil: the default) for model; slot keeps the
-- training and validation objects apart. fname names the caller in errors.
function M._get(spec, model, slot, fname)
  if spec == nil or spec == "sparse_categorical_crossentropy" then
    local key = "_loss_fused_" .. slot
    local l = rawget(model, key)
    local last = fa.check_head(model, fname, 4)
    if not l then
      l = setmetatable({ce = wb.nn.SparseCrossEntropy()}, Fused)
      rawset(model, key, l)
    end
    l.last = last
    return l
  end
  local fn = spec
  if spec == "mse" then fn = M.mse
  elseif type(spec) ~= "function" then
    error(string.format("%s: loss must be %s or a function(output, labels) -> value, "
      .. "grad_output, got %s", fname, table.concat(NAMES, ", "), tostring(spec)), 3)
  end
  return setmetatable({fn = fn, fname = fname}, Output)
end

return M
