-- wb/losses.lua: the losses of fit and evaluate (option `loss`):
-- "sparse_categorical_crossentropy" (the default: fused with the softmax of
-- the last Dense layer, computed in C, no garbage per step),
-- "categorical_crossentropy" (the same fused path on a softmax head, as
-- Keras on TensorFlow takes the softmax's logits; Keras's clipped
-- probability formula on any other head), "mse", "hinge", "squared_hinge"
-- (Keras: one-hot targets; the arithmetic of the clipped cross-entropy and
-- of the hinges is in wb/losses_keras.lua, this file wraps it for tensors)
-- and a Lua function loss(output, labels) -> value, grad_output. Outside
-- the fused path, a step allocates a few temporary tensors and tables.
--
-- A loss object has value(model, x, y, training) -> mean data loss, correct
-- count (it runs the forward pass) and backward(model, x) (the backward pass
-- of the last value). fit keeps one for training and one for validation,
-- so that validation never overwrites the gradient of the step.
local _ENV = require "wb.std"
local wb = require "wb"
local fa = require "wb.fit_args"
local args = require "wb.args"
local keras = require "wb.losses_keras"
---wb.losses
---The losses of model:fit and model:evaluate (their `loss` option), Keras's
---names and formulas; labels are class ids, made one-hot where a loss
---needs targets [n, C]:
---"sparse_categorical_crossentropy" (default): cross-entropy fused with the
---softmax head (the last layer must be Dense with activation "softmax", or
---Dense then Activation("softmax"), Keras's pattern, the same training; or
---"linear": its output is then taken as logits, Keras's from_logits = True).
---"categorical_crossentropy": on a softmax head the same number as the
---default (Keras on TensorFlow computes it from the softmax's logits); on
---any other last layer but a linear Dense (logits: an error, use the
---default) the output is taken as probabilities, as Keras does:
---each row divided by its sum, clipped to [1e-7, 1 - 1e-7], then
----log(p of the true class), mean over the batch (gradient 0 where the
---clip is active).
---"mse": mean over classes, then over the batch, of (output - onehot)^2.
---"hinge", "squared_hinge": one-hot 0/1 made -1/+1 (t), the mean over
---classes of max(1 - t output, 0) (squared_hinge: of its square), then
---over the batch; use a linear (or tanh) last layer. At the kink
---1 - t output = 0 the gradient is TensorFlow's: hinge passes -t/(n C)
---(tf.maximum gives the gradient to its first argument on a tie; PyTorch's
---clamp(min = 0) agrees, relu would give 0); squared_hinge's is 0.
---A function loss(output, labels) -> value, grad_output (output: the
---model's [n, C] output; labels: the dataset's uint8 [n] class ids from 0;
---value: a number or a one-element tensor; grad_output: the gradient of
---value w.r.t. output, [n, C]). fit checks that gradient against central
---differences of the value on its first batch, on that batch's first
---rows at the short last batch's size (before any step) and on the first
---batch of another size (the short last one): each entry by itself (up to
---256 of them: whole rows, the first and the last always, then rows at
---random), then the gradient's own direction (a scale adds up there over
---every entry), then 4 random directions of +-1 entries (under a softmax
---head, a constant per row, which the softmax drops, is not counted, and
---an entry weighs by its probability, as in the softmax's backward). The
---step h is 1e-3 (times |x| beyond 1), and h / 8 again where the loss
---bends or ends within it (a probability of 1e-9, log p at p - h < 0),
---down to where the loss is smooth. A wrong gradient (a missing 1 / n, a
---flipped sign, zeros, a row skipped, a scale of 1.03) is an error naming
---the entries, their values, the step and the slopes, and an entry where
---the value is flat (a clamp) but the gradient not; fit{grad_check =
---false} skips it. The function is called once a training step, once a
---validation batch (and by evaluate), and by that check 2 to 26 times an
---entry checked and 10 to 130 times more, on each batch checked (at most
---6786), and as often again (at most 6787) on the first rows: a
---function keeping state across calls (a call counter as a schedule, a
---running mean) sees those calls too; count steps in a per-step hook
---instead (on_train_batch_begin). It must not write into out, the last
---layer's buffer (an error: work on out:clone()); its gradient may be a
---buffer it reuses between calls (the check keeps a copy).
---The L2 penalty is added to any of them, as Keras adds regularization
---losses. wb.losses.NAMES lists the names; fit and evaluate take them in
---any letter case, as they take optimizer names ("MSE" is "mse", as "Adam"
---is "adam"); an experiment's config takes them as listed, as its optimizer.
---Example: local h = m:fit(d.train, {loss = "mse", epochs = 2})
local M = {}
wb.losses = M

-- The order is that of the messages; the first is the default.
local NAMES = {"sparse_categorical_crossentropy", "categorical_crossentropy", "mse", "hinge",
  "squared_hinge"}
---wb.losses.NAMES
---@type string[]
---The loss names model:fit, model:evaluate and an experiment config's
---loss key accept (what each computes: help(wb.losses)); the first is the
---default. A function loss(output, labels) is accepted besides.
---Example: m:fit(d.train, {loss = wb.losses.NAMES[3]}) -- "mse"
M.NAMES = NAMES

-- A loss name in another letter case is that name, as fit's optimizer names
-- are (wb/fit_args.lua make_optimizer lowers them): "MSE" is "mse",
-- "Categorical_Crossentropy" categorical_crossentropy. Anything else (a
-- function, an unknown name) is returned as it is, for _get to judge.
local BY_LOWER = {}
for _, n in ipairs(NAMES) do BY_LOWER[n] = n end
function M._canonical(spec)
  return type(spec) == "string" and BY_LOWER[spec:lower()] or spec
end

-- {==================== the fused default ====================

local Fused = {}
Fused.__index = Fused

-- The accuracy is counted on the model's output, as Keras's: a softmax
-- head's probabilities (near-tied logits can give equal ones, whose first
-- is the class), a linear head's logits.
-- The model's methods past their argument-count checkers (wb/init.lua: args.unchecked):
-- a step calls them with what they take.
local unchecked = args.unchecked
function Fused:value(model, x, y, training)
  local out = unchecked(model.forward)(model, x, training)
  return self.ce:forward(fa.head_logits(model), y, self.on_output and out or nil)
end

function Fused:backward(model, x)
  unchecked(model.backward_logits)(model, x, self.ce:backward(), false)
end

-- }====================
-- {==================== losses on the output ====================

-- The class ids of labels as Lua integers, checked against n rows and c
-- classes (wb.args.class_ids: the one check of class ids); level as
-- args.class_ids's (the caller of the public loss function).
local function class_ids(fname, labels, n, c, level)
  if labels:dim() ~= 1 then
    args.input_fail(string.format("%s: labels must be class ids [n], got a tensor [%s]", fname,
      table.concat(labels:shape(), ", ")), level + 1)
  end
  if #labels ~= n then
    args.input_fail(string.format("%s: %d labels for an output of %d rows", fname, #labels, n),
      level + 1)
  end
  return args.class_ids(fname, labels, c, "", level + 1, "labels")
end

-- The rows and classes of output, which must be float32 [n, C] with n, C >= 1
-- (an empty batch has no mean; uint8 would fail deep inside with another
-- name); raised at level as class_ids.
local function check_output(fname, output, level)
  local shape = output:shape()
  if #shape ~= 2 or shape[1] < 1 or shape[2] < 1 or output:dtype() ~= "float32" then
    args.input_fail(string.format("%s: output must be float32 [n, C] with n, C >= 1, got %s [%s]",
      fname, output:dtype(), table.concat(shape, ", ")), level + 1)
  end
  return shape[1], shape[2]
end

-- One-hot targets [n, C] of labels (class ids from 0), in a buffer kept
-- between calls of the same shape.
local onehot_buf = setmetatable({}, {__mode = "k"})
local function onehot(fname, labels, n, c, owner)
  local ids = class_ids(fname, labels, n, c, 3)
  local t = onehot_buf[owner]
  if not t or t:size(1) ~= n or t:size(2) ~= c then
    t = wb.zeros(n, c)
    onehot_buf[owner] = t
  else
    t:fill(0)
  end
  for i = 1, n do t:set(i, ids[i] + 1, 1) end
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
  local n, c = check_output("mse", output, 2)
  local d = output - onehot("mse", labels, n, c, M.mse)
  return (d * d):sum() / (n * c), d * (2 / (n * c))
end

-- A loss of wb/losses_keras.lua on tensors: checks, the rows as Lua numbers
-- (float64), the gradient back as a float32 tensor.
local function on_rows(fname, f, extra)
  return function(output, labels)
    args.check(fname, 1, output, "wb.Tensor")
    args.check(fname, 2, labels, "wb.Tensor")
    local n, c = check_output(fname, output, 2)
    local ids = class_ids(fname, labels, n, c, 2)
    local v, g = f(output:totable(), ids, extra)
    return v, wb.tensor(g)
  end
end

---wb.losses.categorical_crossentropy(output, labels) -> number, wb.Tensor
---Keras's categorical cross-entropy of probabilities on one-hot targets:
---each row of output divided by its sum, clipped to [1e-7, 1 - 1e-7],
----log(p of class labels[i]) averaged over the rows; and its gradient
---w.r.t. output (0 in a row whose true-class p is clipped). This is the
---loss fit uses with a last layer that is not softmax; on a softmax head
---fit computes the same loss from the logits, unclipped (Keras on
---TensorFlow does the same). Passed to fit or evaluate as loss = this
---function, it is refused on a linear head as the name is (logits).
---@param output wb.Tensor
---@param labels wb.Tensor
---@return number, wb.Tensor
---Example: local v, g = wb.losses.categorical_crossentropy(m:predict(x), y)
M.categorical_crossentropy = on_rows("categorical_crossentropy", keras.categorical_crossentropy)

---wb.losses.hinge(output, labels) -> number, wb.Tensor
---Keras's hinge on one-hot targets made -1/+1 (t): the mean over rows of
---the mean over classes of max(1 - t output, 0), and its gradient w.r.t.
---output: -t/(n C) where 1 - t output >= 0 (at the kink too, as
---TensorFlow's maximum), else 0.
---@param output wb.Tensor
---@param labels wb.Tensor
---@return number, wb.Tensor
---Example: local v, g = wb.losses.hinge(m:predict(x), y)
M.hinge = on_rows("hinge", keras.hinge, false)

---wb.losses.squared_hinge(output, labels) -> number, wb.Tensor
---Keras's squared hinge on one-hot targets made -1/+1 (t): the mean over
---rows of the mean over classes of max(1 - t output, 0)^2, and its
---gradient -2 t max(1 - t output, 0)/(n C) w.r.t. output.
---@param output wb.Tensor
---@param labels wb.Tensor
---@return number, wb.Tensor
---Example: local v, g = wb.losses.squared_hinge(m:predict(x), y)
M.squared_hinge = on_rows("squared_hinge", keras.hinge, true)

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

-- The number of values given, then the values (no table: once a step).
local function counted(...) return select("#", ...), ... end

function Output:value(model, x, y, training)
  local out = unchecked(model.forward)(model, x, training)
  -- a function of one's own may write into out (out:fill, :copy, :set):
  -- out is the last layer's buffer, which its backward and the accuracy
  -- read after it, so the step would train on numbers nobody computed
  local before = self.user and wb.io._hash(out)
  local n, v, g, third = counted(self.fn(out, y))
  if before and wb.io._hash(out) ~= before then
    error(string.format("%s: the loss function changed the model's output in place (its "
      .. "first argument, which the last layer's backward and the accuracy read after it): "
      .. "compute on a copy (out:clone())", self.fname), 0)
  end
  if n > 2 then -- (value, gradient, accuracy), say: fit measures accuracy itself
    error(string.format("%s: the loss function returned %d results, expected 2 (value, "
      .. "gradient w.r.t. the output): the third (%s %s) would be ignored", self.fname, n,
      type(third), tostring(third)), 0)
  end
  local what = type(v)
  if fa.is_tensor(v) then
    what = "a tensor [" .. table.concat(v:shape(), ", ") .. "]"
    if v:numel() == 1 then v = v:item() end
  end
  if type(v) ~= "number" then -- a per-row loss, say: its mean is the value fit needs
    error(string.format("%s: the loss function must return a number (or a one-element "
      .. "tensor) and the gradient, got %s", self.fname, what), 0)
  end
  if training then
    local want = table.concat(out:shape(), ", ")
    local got = fa.is_tensor(g) and table.concat(g:shape(), ", ")
    if got ~= want or g:dtype() ~= "float32" then
      error(string.format("%s: the loss function's second result must be the gradient "
        .. "w.r.t. the output, a float32 tensor of the output's shape [%s], got %s",
        self.fname, want, got and string.format("a %s tensor [%s]", g:dtype(), got)
        or type(g)), 0)
    end
    self.grad = g
    if self.check and self.user then -- the first batch and a short one: wb/grad_check.lua
      self.check = require("wb.grad_check").batch(self, out, y, v, g)
    end
  end
  return v, correct_of(out, y)
end

function Output:backward(model, x)
  unchecked(model.backward)(model, x, self.grad, false)
end

-- }====================

-- Is the last layer's activation (a Dense's or an Activation's) softmax?
-- Keras on TensorFlow then takes categorical_crossentropy from the
-- softmax's logits (_get_logits in its backend), which is the fused path.
local head_activation = fa.head_activation
local function softmax_head(model) return head_activation(model) == "softmax" end

local ON_OUTPUT = {mse = M.mse, categorical_crossentropy = M.categorical_crossentropy,
  hinge = M.hinge, squared_hinge = M.squared_hinge}

-- The loss object of `spec` (nil: the default) for model; slot keeps the
-- training and validation objects apart. fname names the caller in errors.
function M._get(spec, model, slot, fname)
  spec = M._canonical(spec)
  if spec == nil or spec == "sparse_categorical_crossentropy"
      or (spec == "categorical_crossentropy" and softmax_head(model)) then
    local key = "_loss_fused_" .. slot
    local l = rawget(model, key)
    fa.check_head(model, fname, 4)
    if not l then
      l = setmetatable({ce = wb.nn.SparseCrossEntropy()}, Fused)
      rawset(model, key, l)
    end
    l.on_output = softmax_head(model)
    return l
  end
  -- the name or wb.losses.categorical_crossentropy itself: the function
  -- form trained on the same meaningless number (8.8 on MNIST), unrefused
  local cce = spec == "categorical_crossentropy" or spec == M.categorical_crossentropy
  if cce and head_activation(model) == "linear" then
    fa.check_hidden_head(model, fname, 4) -- a softmax's probabilities passed on: no logits
    -- Keras's from_logits = False on logits: each row divided by its sum of
    -- logits (negative ones too), a number that trains but means nothing
    args.input_fail(string.format("%s: categorical_crossentropy takes the output as probabilities, "
      .. "but the last layer (%s) gives logits: use the default "
      .. "sparse_categorical_crossentropy, which takes a linear head's output as logits "
      .. "(Keras's from_logits = True), or activation = 'softmax'", fname,
      tostring(model[#model])), 3)
  end
  local fn = ON_OUTPUT[spec] or spec
  if type(fn) ~= "function" then
    local near = type(spec) == "string"
      and require("wb.spec_keys").nearest_names(BY_LOWER, spec:lower())[1]
    args.input_fail(string.format("%s: unknown loss %s, expected one of %s, or a function(output, "
      .. "labels) -> value, grad_output%s", fname,
      type(spec) == "string" and string.format("%q", spec) or tostring(spec),
      table.concat(NAMES, ", "), near and string.format(' (did you mean "%s"?)', near) or ""),
      3)
  end
  return setmetatable({fn = fn, fname = fname, user = not ON_OUTPUT[spec],
    softmax = softmax_head(model)}, Output)
end

return M
