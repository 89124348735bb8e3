-- wb/measures.lua: the quantities that decide the study's claims (STUDY.md),
-- each a plain function of a trained model and data, usable from any
-- ablation through the experiment runner's `measure` and `callbacks` hooks.
--
--   wb.measures.weight_norms(model)            per-layer L2 norms of kernels
--   wb.measures.silenced_accuracy(model, ds, f, draws)  C3 robustness
--   wb.measures.dead_units(model, ds)          ReLU units never active
--   wb.measures.grad_noise(model, ds, batch)   C6 minibatch gradient noise
--   wb.measures.sharpness(model, ds, eps, draws)  C6 loss rise under noise
--   wb.measures.track{...}                     callback: per-epoch grad and
--                                              weight norms (C4, C7; in
--                                              wb/measures_track.lua)
-- All of them restore the model's weights exactly before returning, and the
-- global generator's state (a measure in a callback changes no training).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local fa = require "wb.fit_args"
local arch = require "wb.arch"

---wb.measures
---The quantities that decide the study's claims (STUDY.md), each a plain
---function of a trained model and data, usable from any ablation through
---the experiment runner's measure and callbacks hooks. All of them restore
---the model's weights exactly before returning, and the global generator's
---state: measuring changes nothing that follows (a callback's training).
---Example: print(wb.measures.silenced_accuracy(m, wb.data.mnist().test, 0.3))
local M = {}

---wb.measures.dense_layers(model) -> table
---The Dense layers of a model, in order (their kernels are what the
---measures look at).
---@param model wb.Sequential
---@return wb.Dense[]
---Example: for i, l in ipairs(wb.measures.dense_layers(m)) do print(i, l) end
local function dense_layers(model)
  args.check("dense_layers", 1, model, "wb.Sequential")
  local out = {}
  for i = 1, #model do
    local l = model[i]
    if l.kind == "Dense" then out[#out + 1] = l end
  end
  return out
end
M.dense_layers = dense_layers

---wb.measures.weight_norms(model) -> table
---The L2 norm of each Dense layer's kernel, in order.
---@param model wb.Sequential
---@return number[]
---Example: print(table.unpack(wb.measures.weight_norms(m)))
function M.weight_norms(model)
  args.check("weight_norms", 1, model, "wb.Sequential")
  local out = {}
  for i, l in ipairs(dense_layers(model)) do out[i] = l.weight:norm() end
  return out
end

-- v (argument #pos, called name) must lie in lo..hi: a 0 or out-of-range
-- count otherwise divides by zero, returns NaN, or indexes past a layer.
local function within(fname, name, v, lo, hi)
  if v ~= nil and not (v >= lo and v <= hi) then
    args.input_fail(string.format("%s: %s: expected %s %s, got %s", fname, name,
      math.type(lo) == "integer" and "an integer" or "a number", hi == math.maxinteger
      and ">= " .. lo or string.format("in %g..%g", lo, hi), v), 3)
  end
end

-- ds has rows and the model's parameters are finite, else an error naming
-- them (at the caller of fname): an empty sample counts every unit dead,
-- and a NaN weight gives NaN, or a plausible wrong accuracy, silently.
local function check_inputs(fname, model, ds)
  if #ds == 0 then
    args.input_fail(fname .. ": ds: expected at least 1 row, got an empty dataset", 3)
  end
  args.check_finite_params(fname, (model:parameters()), 3)
end

-- The model's last layer is a Dense layer, whose logits feed the
-- cross-entropy, or an Activation("softmax" or "linear"), whose input does
-- (fit's fused head: wb.fit_args.head_logits), else an error at fname's caller.
local function check_last(fname, model)
  local last = model[#model]
  local kind = #model > 0 and arch.kind_of(last)
  if kind ~= "Dense" and not (kind == "Activation" and (last.activation == "softmax"
      or last.activation == "linear")) then
    args.input_fail(string.format("%s: model: expected a Dense last layer, or an Activation "
      .. "softmax or linear (its logits feed the cross-entropy), got %s", fname,
      #model == 0 and "no layer" or tostring(last)), 3)
  end
end

-- f(saved) with the model's parameters (saved: their copies) and the global
-- generator's state put back afterwards, also on error: a measure that
-- perturbs weights or draws random numbers changes nothing that follows it
-- (a training callback's next epoch), and a second call repeats its draws.
local function restoring(model, f)
  local ps = model:parameters()
  local saved, state = {}, wb.rng_state()
  for i, p in ipairs(ps) do saved[i] = p:clone() end
  local res = table.pack(pcall(f, saved))
  for i, p in ipairs(ps) do p:copy(saved[i]) end
  wb.set_rng_state(state)
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- A fixed sample of n rows of ds (the first n: deterministic across runs).
local function sample(ds, n)
  n = math.min(n, #ds)
  local x, y = ds:batch(M.iota(n), 1, n)
  return x:clone(), y:clone()
end
M._sample = sample

local iotas = {}
---wb.measures.iota(n) -> wb.Tensor
---The float32 tensor 1..n (cached per n): the indices of the first n rows,
---for ds:batch.
---@param n integer
---@return wb.Tensor
---Example: local x, y = ds:batch(wb.measures.iota(100), 1, 100)
function M.iota(n)
  args.check("iota", 1, n, "integer")
  within("iota", "n", n, 0, math.maxinteger)
  if not iotas[n] then
    local t = wb.zeros(n)
    for i = 1, n do t:set(i, i) end
    iotas[n] = t
  end
  return iotas[n]
end

-- x as the model saw it in training: uint8 pixels become float32 rows
-- divided by 255, as a dataset's batches (and evaluate) make them; float32
-- as is.
function M._rows(x)
  if x:dtype() ~= "uint8" or x:dim() == 0 then return x end
  local n = x:size(1)
  return wb.data.Dataset(x, wb.new_tensor({n}, "uint8"), "x"):batch(M.iota(n), 1, n):clone()
end

-- Takes each Dense layer's L2 term 2 l2 W off its grad_weight: its backward
-- adds it (the gradient fit steps on), but the measures are of the data
-- loss, as loss_and_grads's loss (they moved with l2 on the same weights:
-- B_simple 64 at l2 = 0, 16 at 0.1). c W is the product the core adds
-- (float32 c = 2 l2), so what is left is the data gradient to a rounding.
-- A Lua layer's penalty has a gradient this cannot know: an error.
local function drop_l2_grads(model)
  for i = 1, #model do
    local l = model[i]
    if l.kind == "Dense" then
      local l2 = l.l2
      if l2 > 0 then
        local g = l.grad_weight
        g:copy(g - l.weight * (2 * l2))
      end
    elseif type(l) == "table" and l.l2_penalty and l:l2_penalty() ~= 0 then
      args.input_fail(string.format("loss_and_grads: layer %d (a Lua layer) has an L2 penalty "
        .. "(%g), whose gradient in its backward cannot be told from the data loss's: use "
        .. "Dense's l2", i, l:l2_penalty()), 3)
    end
  end
end

local ce
---wb.measures.loss_and_grads(model, x, y, grads) -> number, number, wb.Tensor
---The mean loss (data term only, no L2; the cross-entropy of the last
---Dense's logits, or of an Activation head's input) and accuracy of the model on the
---batch x, y (training = false; uint8 x is divided by 255, as evaluate
---does) and its output; with grads = true also the
---gradients of the data loss, in the layers' grad tensors (zeroed first):
---without L2's 2 l2 W, which a Dense layer's backward adds (the same
---gradients, to float rounding, at any l2). A Lua layer with a non-zero
---l2_penalty is an error (its penalty's gradient is its own).
---@param model wb.Sequential
---@param x wb.Tensor
---@param y wb.Tensor
---@param grads? boolean
---@return number loss
---@return number accuracy
---@return wb.Tensor output
---Example: local loss, acc = wb.measures.loss_and_grads(m, x, y)
function M.loss_and_grads(model, x, y, grads)
  args.check("loss_and_grads", 1, model, "wb.Sequential")
  args.check("loss_and_grads", 2, x, "wb.Tensor")
  args.check("loss_and_grads", 3, y, "wb.Tensor")
  args.opt("loss_and_grads", 4, grads, "boolean") -- ("yes" was taken as true)
  check_last("loss_and_grads", model)
  if x:dim() < 1 or x:size(1) < 1 then -- (the loss's own error named no argument of this)
    args.input_fail("loss_and_grads: x: expected at least one row, got shape ["
      .. table.concat(x:shape(), ", ")
      .. "]", 2)
  end
  x = M._rows(x)
  ce = ce or wb.nn.SparseCrossEntropy()
  local out = model:forward(x, false)
  local last = model[#model]
  -- accuracy on the output, as evaluate's (a softmax head's probabilities)
  local ok, loss, correct = pcall(ce.forward, ce, fa.head_logits(model), y,
    last.activation == "softmax" and out or nil)
  if not ok then -- the labels' error in the user's words: y, not forward's labels
    local why = type(loss) == "table" and loss.reason
    error(why and why:match("^labels: ") and "loss_and_grads: y: " .. why:sub(9) or loss, 2)
  end
  if grads then
    model:zero_grad()
    model:backward_logits(x, ce:backward(), false)
    drop_l2_grads(model)
  end
  return loss, correct / #y, out
end

---wb.measures.silenced_accuracy(model, ds, frac, draws) -> number
---Accuracy on ds when a random fraction frac of the first hidden layer's
---units is silenced at inference (their outgoing weights zeroed), averaged
---over draws (5) random choices; frac = 0 gives the plain accuracy. The
---claim C3 robustness measure. Needs two Dense layers. The choices come
---from the global generator, whose state is put back: a second call
---repeats them. Raises on an empty ds or non-finite weights.
---@param model wb.Sequential
---@param ds wb.Dataset
---@param frac number
---@param draws? integer
---@return number
---Example: print(wb.measures.silenced_accuracy(m, d.test, 0.5))
function M.silenced_accuracy(model, ds, frac, draws)
  args.check("silenced_accuracy", 1, model, "wb.Sequential")
  args.check("silenced_accuracy", 2, ds, "wb.Dataset")
  args.check("silenced_accuracy", 3, frac, "number")
  args.opt("silenced_accuracy", 4, draws, "integer")
  within("silenced_accuracy", "frac", frac, 0.0, 1.0)
  within("silenced_accuracy", "draws", draws, 1, math.maxinteger)
  draws = draws or 5
  local layers = dense_layers(model)
  local nxt = layers[2]
  if not nxt then args.input_fail("silenced_accuracy: needs two Dense layers", 2) end
  check_inputs("silenced_accuracy", model, ds)
  local w = nxt.weight
  local n_hidden = #w
  local k = math.floor(frac * n_hidden + 0.5)
  return restoring(model, function()
    local saved, total = w:clone(), 0
    for _ = 1, (k == 0 and 1 or draws) do
      local perm = wb.randperm(n_hidden)
      for j = 1, k do w[perm:get(j)] = 0 end
      total = total + model:evaluate(ds).accuracy
      w:copy(saved)
    end
    return total / (k == 0 and 1 or draws)
  end)
end

---wb.measures.dead_units(model, ds, n) -> integer|nil
---The number of hidden units of the first Dense layer whose output is zero
---for every one of the first n (10000) samples of ds: dead ReLUs. nil when
---that layer's activation is not relu. wb.lab.dead_units handles any layer.
---@param model wb.Sequential
---@param ds wb.Dataset
---@param n? integer
---@return integer|nil
---Example: print(wb.measures.dead_units(m, d.test))
function M.dead_units(model, ds, n)
  args.check("dead_units", 1, model, "wb.Sequential")
  args.check("dead_units", 2, ds, "wb.Dataset")
  args.opt("dead_units", 3, n, "integer")
  within("dead_units", "n", n, 1, math.maxinteger)
  return M._dead_units("dead_units", model, ds, 1, n)
end

-- The dead units of the k-th Dense layer (wb.lab.dead_units too): the
-- first n rows of ds through the layers up to it, in inference mode.
function M._dead_units(fname, model, ds, k, n)
  local index, left = 0, k
  for i = 1, #model do
    if model[i].kind == "Dense" then left, index = left - 1, i end
    if left == 0 then break end
  end
  if left > 0 then
    args.input_fail(string.format("%s: model: expected at least %d Dense layer%s, got %d", fname, k,
      k == 1 and "" or "s", #dense_layers(model)), 3)
  end
  check_inputs(fname, model, ds)
  if model[index].activation ~= "relu" then return nil end
  local h = sample(ds, n or 10000)
  for i = 1, index do h = model[i]:forward(h, false) end
  local rows, cols = #h, h:shape()[2]
  local alive = {}
  local t = h:totable()
  for i = 1, rows do
    local r = t[i]
    for j = 1, cols do if r[j] > 0 then alive[j] = true end end
  end
  local dead = 0
  for j = 1, cols do if not alive[j] then dead = dead + 1 end end
  return dead
end

local function grads_copy(model)
  local _, gs = model:parameters()
  local out = {}
  for i, g in ipairs(gs) do out[i] = g:clone() end
  return out
end

---wb.measures.grad_noise(model, ds, batch, n) -> number
---Gradient noise: the mean squared distance E||g_b - g||^2 between
---minibatch gradients (size batch, disjoint batches of the first n = 2048
---rows of ds) and the full-sample gradient, the trace of the minibatch
---gradient covariance (claim C6). 0 when batch = n. The model's gradient
---tensors are left as they were.
---@param model wb.Sequential
---@param ds wb.Dataset
---@param batch integer
---@param n? integer
---@return number
---Example: print(wb.measures.grad_noise(m, d.train, 32))
function M.grad_noise(model, ds, batch, n)
  args.check("grad_noise", 1, model, "wb.Sequential")
  args.check("grad_noise", 2, ds, "wb.Dataset")
  args.check("grad_noise", 3, batch, "integer")
  args.opt("grad_noise", 4, n, "integer")
  within("grad_noise", "n", n, 1, math.maxinteger)
  check_last("grad_noise", model)
  check_inputs("grad_noise", model, ds)
  n = math.min(n or 2048, #ds)
  within("grad_noise", "batch (rows per minibatch, of n rows)", batch, 1, n)
  local x, y = sample(ds, n)
  local before = grads_copy(model) -- put back: a callback may run between backward and step
  M.loss_and_grads(model, x, y, true)
  local full = grads_copy(model)
  local nb = n // batch
  local total = 0
  for b = 1, nb do
    local xb, yb = x:rows((b - 1) * batch + 1, b * batch), y:rows((b - 1) * batch + 1, b * batch)
    M.loss_and_grads(model, xb, yb, true)
    local _, gs = model:parameters()
    for i, g in ipairs(gs) do total = total + (g - full[i]):norm() ^ 2 end
  end
  local _, gs = model:parameters()
  for i, g in ipairs(gs) do g:copy(before[i]) end
  return total / nb
end

---wb.measures.sharpness(model, ds, eps, draws, n) -> number
---Sharpness: the mean rise of the training loss (first n = 2048 rows) when
---every weight is multiplied by (1 + eps * u), u ~ N(0, 1), eps = 0.05, over
---draws (5). Each draw is antithetic (u and -u, averaged), which cancels
---the first-order term exactly, so the estimate approaches the curvature
---term 0.5 * eps^2 * sum_i H_ii w_i^2 (plus noise from H_ij). Claim C6.
---u comes from the global generator, whose state is put back afterwards.
---@param model wb.Sequential
---@param ds wb.Dataset
---@param eps? number
---@param draws? integer
---@param n? integer
---@return number
---Example: print(wb.measures.sharpness(m, d.train))
function M.sharpness(model, ds, eps, draws, n)
  args.check("sharpness", 1, model, "wb.Sequential")
  args.check("sharpness", 2, ds, "wb.Dataset")
  args.opt("sharpness", 3, eps, "number")
  args.opt("sharpness", 4, draws, "integer")
  args.opt("sharpness", 5, n, "integer")
  within("sharpness", "draws", draws, 1, math.maxinteger)
  within("sharpness", "n", n, 1, math.maxinteger)
  if eps ~= nil and not (args.finite(eps) and eps >= 0) then
    args.input_fail("sharpness: eps: expected a finite number >= 0, got " .. tostring(eps), 2)
  end
  check_last("sharpness", model)
  check_inputs("sharpness", model, ds)
  eps, draws = eps or 0.05, draws or 5
  local x, y = sample(ds, n or 2048)
  local base = M.loss_and_grads(model, x, y, false)
  local ps = model:parameters()
  return restoring(model, function(saved)
    local rise = 0
    for _ = 1, draws do
      local us = {}
      for i, p in ipairs(ps) do us[i] = saved[i] * (wb.randn(table.unpack(p:shape())) * eps) end
      for sign = -1, 1, 2 do
        for i, p in ipairs(ps) do p:copy(saved[i] + us[i] * sign) end
        rise = rise + 0.5 * (M.loss_and_grads(model, x, y, false) - base)
      end
    end
    return rise / draws
  end)
end

wb.measures = M
require "wb.measures_track"
return M
