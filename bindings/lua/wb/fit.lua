-- wb/fit.lua: model:fit, model:evaluate, model:predict, History, progress.
--
-- Keras semantics (shared/KERAS.md 1-6): batch_size 32, epochs 1, shuffle
-- each epoch (training part only), validation_split takes the TAIL rows
-- before shuffling, the last partial batch is used (ceil(n / batch) steps),
-- logged train loss/accuracy are the running mean over the epoch's batches
-- (weighted by batch size), val metrics use the end-of-epoch weights with
-- training = false, and loss / val_loss include the L2 penalty (history also
-- has data_loss and reg_loss so that the penalty's share is visible).
-- Epochs are numbered from 1 everywhere (history, callbacks, messages).
--
-- DIVERGENCE (the experiment runner relies on this): when the training loss
-- (or the L2 penalty) becomes NaN or infinite, or the optimizer refuses a
-- non-finite gradient (WB_ENONFINITE), fit stops at once and RAISES AN ERROR
-- OBJECT, a table
--   {kind = "diverged", epoch = 3, step = 17, loss = <number or nil>,
--    history = <History of the completed epochs>, message = "..."}
-- whose __tostring gives "training diverged: loss is nan at epoch 3, step
-- 17" (or "... gradient ... has a non-finite value ..."). pcall returns it
-- as is: `local ok, e = pcall(model.fit, model, ds, o); if not ok and
-- type(e) == "table" and e.kind == "diverged" then ... end`.
-- wb.fit.is_diverged(e) tests for it. The model keeps its weights as they
-- were when the problem was seen (possibly non-finite already: a step with
-- finite gradients can overflow them); an optimizer step itself applies
-- fully or not at all.
--
-- Seeds: `seed` (fit option) calls wb.seed(seed) when fit starts, which
-- fixes the shuffling and the dropout masks. The initial weights were drawn
-- when the layers were built: call wb.seed(n) BEFORE building the model to
-- fix them too. Same seeds (and BLAS thread count) -> identical history.
--
-- Speed: a training step makes a handful of C calls and no Lua garbage: the
-- batch comes from the dataset's reused buffers, layers return views of
-- their own buffers, the parameter lists are cached, and the progress bar
-- is formatted at most 10 times a second.
local wb = require "wb"
local util = require "wb.util"
local args = require "wb.args"
local Sequential = wb.nn.SequentialClass
---wb.fit
---Training: model:fit, model:evaluate, model:predict (methods of
---wb.Sequential), the History they return and divergence errors, with
---Keras semantics (batch_size 32, shuffle each epoch, validation_split takes
---the tail rows, the last partial batch is used, loss includes the L2
---penalty).
---Example: local h = m:fit(d.train, {epochs = 5, validation = d.test}); print(h)
local M = {}
wb.fit = M

local floor, ceil, huge = math.floor, math.ceil, math.huge

local clock = (wb.sys and wb.sys.time) or os.clock

local FIT_KEYS = {"batch_size", "callbacks", "epochs", "optimizer", "seed",
  "shuffle", "validation", "validation_split", "verbose"}

local function check_keys(opts, valid, fname)
  util.check_options(opts, valid, fname, 3)
end

-- Keras's names for fit options that mean exactly the same, so a Keras
-- user's first script runs: alias -> our name.
local FIT_ALIASES = {validation_data = "validation"}

-- opts with aliases renamed; an unknown key is an error listing the names
-- and the aliases, an alias given with its name is an error naming both.
local function resolve_keys(opts, valid, aliases, fname)
  local known, out = {}, {}
  for _, k in ipairs(valid) do known[k] = true end
  for k, v in pairs(opts) do
    local name = aliases[k]
    if name and opts[name] ~= nil then
      error(string.format("%s: options '%s' and '%s' are the same (%s is Keras's name " ..
        "for %s); give one", fname, k, name, k, name), 3)
    end
    if not (name or known[k]) then
      local al = {}
      for a, n in pairs(aliases) do al[#al + 1] = a .. " = " .. n end
      table.sort(al)
      error(string.format("%s: unknown option '%s' (valid: %s; Keras names: %s)", fname,
        tostring(k), table.concat(valid, ", "), table.concat(al, ", ")), 3)
    end
    out[name or k] = v
  end
  return out
end

local function check_int(v, name, fname, min)
  if math.type(v) ~= "integer" then
    if type(v) == "number" and v == floor(v) then v = floor(v)
    else error(string.format("%s: %s must be an integer, got %s", fname, name,
      tostring(v)), 3) end
  end
  if v < min then
    error(string.format("%s: %s must be >= %d, got %d", fname, name, min, v), 3)
  end
  return v
end

-- {==================== History ====================

local History = {}
History.__index = History
History.__name = "wb.History"
M.History = History

local SERIES = {"loss", "accuracy", "data_loss", "reg_loss", "epoch_time", "lr"}
local VAL_SERIES = {"val_loss", "val_accuracy"}

---wb.History
---Per-epoch logs of a fit: series loss, accuracy, val_loss, val_accuracy
---(empty without validation), data_loss, reg_loss (the L2 share of loss),
---epoch_time (seconds), lr, one entry per epoch run; epochs (count);
---stopped_epoch and best_epoch when a callback set them. tostring gives the
---last values.
---Example: local h = m:fit(d.train, {epochs = 3}); print(h.loss[3], h:last("accuracy"))

---wb.fit.new_history() -> wb.History
---An empty History (every series present, so #h.val_loss is always valid).
---@return wb.History
---Example: local h = wb.fit.new_history()
function M.new_history()
  local h = setmetatable({epochs = 0}, History)
  for _, k in ipairs(SERIES) do h[k] = {} end
  for _, k in ipairs(VAL_SERIES) do h[k] = {} end
  return h
end

-- Append one epoch's logs.
function History:_record(logs)
  self.epochs = self.epochs + 1
  for k, v in pairs(logs) do
    if type(v) == "number" then
      local s = self[k]
      if not s then s = {}; self[k] = s end
      s[self.epochs] = v
    end
  end
end

---wb.History:last(key) -> number|nil
---The last value of a series (nil when absent or empty).
---@param key string
---@return number|nil
---Example: print(h:last("val_loss"))
function History:last(key)
  local s = self[key]
  return s and s[#s]
end

function History:__tostring()
  local parts = {string.format("History(%d epochs", self.epochs)}
  for _, k in ipairs({"loss", "accuracy", "val_loss", "val_accuracy"}) do
    local v = self:last(k)
    if v then parts[#parts + 1] = string.format("%s %.4f", k, v) end
  end
  if self.stopped_epoch then parts[#parts + 1] = "stopped at " .. self.stopped_epoch end
  return table.concat(parts, ", ") .. ")"
end

-- }====================
-- {==================== divergence ====================

local Diverged = {}
Diverged.__index = Diverged
Diverged.__name = "wb.Diverged"
Diverged.__tostring = function(e) return e.message end

local function diverged(epoch, step, loss, history, detail)
  local msg
  if detail then
    msg = string.format("training diverged at epoch %d, step %d: %s", epoch, step, detail)
  else
    msg = string.format("training diverged: loss is %s at epoch %d, step %d",
      loss ~= loss and "nan" or tostring(loss), epoch, step)
  end
  history.stopped = msg
  return setmetatable({kind = "diverged", epoch = epoch, step = step, loss = loss,
    history = history, message = msg}, Diverged)
end

---wb.fit.is_diverged(e) -> boolean
---Whether e is fit's divergence error object: a table {kind = "diverged",
---epoch, step, loss, history (the completed epochs), message}, raised when
---the training loss or the L2 penalty becomes NaN or infinite or the
---optimizer refuses a non-finite gradient. tostring(e) is the message.
---@param e any
---@return boolean
---Example: local ok, e = pcall(m.fit, m, ds, {optimizer = wb.optim.SGD{lr = 1e6}})
---  if not ok and wb.fit.is_diverged(e) then print(e.epoch, e.history) end
function M.is_diverged(e)
  return type(e) == "table" and getmetatable(e) == Diverged
end

-- }====================
-- {==================== progress ====================

-- State of the live bar; draw() formats only when called (<= 10 Hz).
local function bar_line(p, step, loss_sum, correct, seen, now)
  local width = 24
  local done = floor(width * step / p.steps)
  local bar = string.rep("=", done) .. (done < width and ">" or "") ..
    string.rep(".", width - done - 1)
  local elapsed = now - p.t0
  local eta = step > 0 and elapsed / step * (p.steps - step) or 0
  local wd = #tostring(p.steps)
  return string.format("\repoch %d/%d %" .. wd .. "d/%d [%s] ETA %3.0fs  loss %.4f  acc %.4f",
    p.epoch, p.epochs, step, p.steps, bar:sub(1, width), eta,
    seen > 0 and loss_sum / seen or 0, seen > 0 and correct / seen or 0)
end

local function epoch_line(epoch, epochs, logs)
  local s = {string.format("epoch %d/%d", epoch, epochs),
    string.format("loss %.4f", logs.loss), string.format("acc %.4f", logs.accuracy)}
  if logs.val_loss then
    s[#s + 1] = string.format("val_loss %.4f", logs.val_loss)
    s[#s + 1] = string.format("val_acc %.4f", logs.val_accuracy)
  end
  s[#s + 1] = string.format("%.1fs", logs.epoch_time)
  return table.concat(s, "  ")
end

-- }====================
-- {==================== inputs ====================

local function is_dataset(x)
  return type(x) == "table" and type(x.batch) == "function" and x.labels ~= nil
end

local function is_tensor(x)
  return type(x) == "userdata" and pcall(function() return x.numel end)
    and type(x.numel) == "function"
end

-- Argument 1 of evaluate and predict: a dataset (or a table that acts as
-- one) or a tensor.
local function check_data(x, fname)
  if not (is_dataset(x) or is_tensor(x)) then
    args.check(fname, 1, x, "wb.Dataset|wb.Tensor", 4)
  end
end

-- A dataset over a tensor of inputs ([n, ...] float in [0, 1] or uint8)
-- and labels (uint8 [n]; zeros when only predicting).
local function as_dataset(x, y, fname)
  if is_dataset(x) then return x end
  if not is_tensor(x) then
    error(fname .. ": expected a dataset or a tensor [n, 784], got " .. tostring(x), 3)
  end
  local n = #x
  if y == nil then y = wb.new_tensor({n}, "uint8") end
  return wb.data.Dataset(x, y, "input")
end

-- The loss layer: the last layer must be a Dense with softmax (or linear
-- logits); the cross-entropy is fused with it.
local function check_head(self, fname)
  local last = self[#self]
  if not last then error(fname .. ": the model has no layers", 3) end
  local ok, act = pcall(function() return last.activation end)
  if not ok or not last.backward_logits or (act ~= "softmax" and act ~= "linear") then
    error(string.format("%s: the last layer must be Dense(..., {activation = "
      .. "'softmax'}) (cross-entropy is fused with it), got %s", fname,
      tostring(last)), 3)
  end
  return last
end

local function loss_fn(self)
  local ce = self._ce
  if not ce then ce = wb.nn.SparseCrossEntropy(); self._ce = ce end
  return ce
end

-- }====================
-- {==================== evaluate / predict ====================

-- Larger internal batches make evaluation faster; the result (a mean over
-- samples) does not depend on the batch size except for float rounding.
local EVAL_BATCH = 500

-- Mean loss (incl. the L2 penalty) and accuracy over a dataset.
local function eval_dataset(self, last, ds, batch)
  local ce = self._eval_ce
  if not ce then ce = wb.nn.SparseCrossEntropy(); self._eval_ce = ce end
  local n = #ds
  if n == 0 then error("evaluate: the dataset is empty", 0) end
  local perm = self._eval_perm
  if not perm or #perm < n then
    local t = {}
    for i = 1, n do t[i] = i end
    perm = wb.tensor(t)
    self._eval_perm = perm
  end
  local loss_sum, correct_sum = 0, 0
  for first = 1, n, batch do
    local count = n - first + 1
    if count > batch then count = batch end
    local x, y = ds:batch(perm, first, count)
    self:forward(x, false)
    local loss, correct = ce:forward(last:logits(), y)
    loss_sum = loss_sum + loss * count
    correct_sum = correct_sum + correct
  end
  return loss_sum / n + self:l2_penalty(), correct_sum / n
end

---wb.Sequential:evaluate(ds, y, opts) -> table
---{loss = l, accuracy = a} of the model on a dataset, or on inputs x (a
---float32 [n, 784] tensor in [0, 1] or uint8, scaled by 1/255) and labels
---y, with training = false. loss includes the L2 penalty (as Keras).
---opts: batch_size (32; computed in batches of up to 500, same result up
---to rounding), verbose (ignored).
---evaluate(ds, opts) is evaluate(ds, nil, opts).
---@param ds wb.Dataset|wb.Tensor
---@param y? wb.Tensor|table
---@param opts? table
---@return table
---Example: print(m:evaluate(wb.data.mnist().test).accuracy)
function Sequential:evaluate(ds, y, opts)
  check_data(ds, "evaluate")
  args.opt("evaluate", 2, y, "wb.Tensor|table")
  args.opt("evaluate", 3, opts, "table")
  if type(y) == "table" and not is_tensor(y) then opts, y = y, nil end
  opts = opts or {}
  check_keys(opts, {"batch_size", "verbose"}, "evaluate")
  local bs = check_int(opts.batch_size or 32, "batch_size", "evaluate", 1)
  ds = as_dataset(ds, y, "evaluate")
  local last = check_head(self, "evaluate")
  if #ds == 0 then error("evaluate: the dataset is empty", 2) end
  local loss, acc = eval_dataset(self, last, ds, math.max(bs, EVAL_BATCH))
  return {loss = loss, accuracy = acc}
end

---wb.Sequential:predict(x, opts) -> wb.Tensor
---The model's output for every sample as a new float32 [n, n_classes]
---tensor (class probabilities for a softmax head), training = false. x: a
---dataset, a float32 [n, 784] tensor in [0, 1] or a uint8 tensor (scaled by
---1/255). opts: batch_size.
---@param x wb.Dataset|wb.Tensor
---@param opts? table
---@return wb.Tensor
---Example: local pred = m:predict(wb.image.to_mnist(img)):argmax(2):get(1) - 1
function Sequential:predict(x, opts)
  check_data(x, "predict")
  args.opt("predict", 2, opts, "table")
  opts = opts or {}
  check_keys(opts, {"batch_size", "verbose"}, "predict")
  local bs = math.max(check_int(opts.batch_size or 32, "batch_size", "predict", 1),
    EVAL_BATCH)
  local ds = as_dataset(x, nil, "predict")
  local n = #ds
  local out
  local perm = {}
  for i = 1, n do perm[i] = i end
  perm = wb.tensor(n > 0 and perm or {0})
  for first = 1, n, bs do
    local count = math.min(bs, n - first + 1)
    local xb = ds:batch(perm, first, count)
    local y = self:forward(xb, false)
    if not out then out = wb.zeros(n, y:shape()[2]) end
    out:rows(first, first + count - 1):copy(y)
  end
  return out or wb.zeros(0, 0)
end

-- }====================
-- {==================== fit ====================

local function make_optimizer(o)
  if o == nil then return wb.optim.Adam{} end
  if type(o) == "string" then
    local names = {adam = "Adam", adamw = "AdamW", sgd = "SGD", rmsprop = "RMSprop"}
    local cls = names[o:lower()]
    if not cls then
      error("fit: unknown optimizer '" .. o .. "' (adam, adamw, sgd, rmsprop)", 3)
    end
    return wb.optim[cls]{}
  end
  return o
end

local function identity_perm(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return wb.tensor(t)
end

-- Split per Keras: train = first floor(N * (1 - v)) rows, val = the tail.
local function split(train, v)
  if type(v) ~= "number" or v <= 0 or v >= 1 then
    error("fit: validation_split must be a number in (0, 1), got " .. tostring(v), 3)
  end
  local n = #train
  local ntr = floor(n * (1 - v))
  if ntr < 1 or ntr >= n then
    error(string.format("fit: validation_split %g of %d rows leaves an empty part", v, n), 3)
  end
  return train:subset(1, ntr), train:subset(ntr + 1, n)
end

local function call_cbs(cbs, name, ...)
  local stop = false
  for i = 1, #cbs do
    local cb = cbs[i]
    local f = cb[name]
    if f and f(cb, ...) == true then stop = true end
  end
  return stop
end

-- Does any layer have an L2 penalty? (Then each step computes it.)
local function has_l2(self)
  for i = 1, #self do
    local ok, l2 = pcall(function() return self[i].l2 end)
    if ok and type(l2) == "number" and l2 > 0 then return true end
    if type(self[i]) == "table" and self[i].l2_penalty then return true end
  end
  return false
end

-- One epoch of training; returns loss_sum, data_sum, reg_sum, correct, seen
-- or raises the divergence object.
local function run_epoch(self, ctx, epoch)
  local train, perm, bs, n, steps = ctx.train, ctx.perm, ctx.bs, ctx.n, ctx.steps
  local ce, last, opt, params, grads = ctx.ce, ctx.last, ctx.opt, ctx.params, ctx.grads
  local l2, bar = ctx.l2, ctx.bar
  local loss_sum, data_sum, reg_sum, correct_sum, seen = 0, 0, 0, 0, 0
  local next_draw = 0
  if bar then bar.t0 = clock(); bar.epoch = epoch end
  for step = 1, steps do
    local first = (step - 1) * bs + 1
    local count = n - first + 1
    if count > bs then count = bs end
    local x, y = train:batch(perm, first, count)
    self:forward(x, true)
    local loss, correct = ce:forward(last:logits(), y)
    local reg = l2 and self:l2_penalty() or 0
    local total = loss + reg
    if total ~= total or total == huge or total == -huge then
      error(diverged(epoch, step, total, ctx.history), 0)
    end
    self:zero_grad()
    self:backward_logits(x, ce:backward(), false)
    local ok, err = pcall(opt.step, opt, params, grads)
    if not ok then
      if wb.is_error(err) and err.code == "ENONFINITE" then
        error(diverged(epoch, step, total, ctx.history, err), 0)
      end
      error(err, 0)
    end
    loss_sum = loss_sum + total * count
    data_sum = data_sum + loss * count
    reg_sum = reg_sum + reg * count
    correct_sum = correct_sum + correct
    seen = seen + count
    if bar then
      local now = clock()
      if now >= next_draw or step == steps then
        next_draw = now + 0.1
        io.stdout:write(bar_line(bar, step, loss_sum, correct_sum, seen, now))
        io.stdout:flush()
      end
    end
  end
  return loss_sum, data_sum, reg_sum, correct_sum, seen
end

---wb.Sequential:fit(train, opts) -> wb.History
---Trains on a dataset. opts: epochs (1), batch_size (32), optimizer (a
---wb.Optimizer or "adam" | "adamw" | "sgd" | "rmsprop"; default Adam),
---validation (a dataset; Keras's validation_data is the same) or
---validation_split (a fraction: the tail rows, before shuffling), shuffle (true), seed (calls wb.seed: fixes shuffling
---and dropout masks; seed before building the model to fix the initial
---weights too), verbose (true: a live progress bar and one line per epoch),
---callbacks (a list, see wb.callbacks). Raises a divergence error object
---when the loss becomes non-finite (wb.fit.is_diverged). Same seeds and
---BLAS thread count give an identical history.
---@param train wb.Dataset
---@param opts? table
---@return wb.History
---Example: local h = m:fit(d.train, {epochs = 10, validation = d.test,
---  callbacks = {wb.callbacks.EarlyStopping{patience = 3}}})
function Sequential:fit(train, opts)
  if not is_dataset(train) then args.check("fit", 1, train, "wb.Dataset") end
  args.opt("fit", 2, opts, "table")
  opts = resolve_keys(opts or {}, FIT_KEYS, FIT_ALIASES, "fit")
  local epochs = check_int(opts.epochs or 1, "epochs", "fit", 0)
  local bs = check_int(opts.batch_size or 32, "batch_size", "fit", 1)
  local opt = make_optimizer(opts.optimizer)
  local verbose = opts.verbose
  if verbose == nil then verbose = true end
  if verbose == 0 then verbose = false end
  local val = opts.validation
  if val == nil and opts.validation_split ~= nil then
    train, val = split(train, opts.validation_split)
  end
  if val ~= nil and not is_dataset(val) then
    error("fit: validation must be a dataset, got " .. tostring(val), 2)
  end
  if val ~= nil and #val == 0 then error("fit: the validation set is empty", 2) end
  local n = #train
  if n == 0 then error("fit: the training set is empty", 2) end
  local last = check_head(self, "fit")
  if opts.seed ~= nil then wb.seed(opts.seed) end
  local cbs = opts.callbacks or {}
  local params, grads = self:parameters()
  local history = M.new_history()
  self.history, self.optimizer, self.stop_training = history, opt, false
  local tty = verbose and verbose ~= 2 and wb.sys and wb.sys.isatty and wb.sys.isatty(1)
  local ctx = {train = train, bs = bs, n = n, steps = ceil(n / bs), ce = loss_fn(self),
    last = last, opt = opt, params = params, grads = grads, l2 = has_l2(self),
    history = history, bar = tty and {epochs = epochs, steps = ceil(n / bs)} or nil}
  local fixed = opts.shuffle == false and identity_perm(n) or nil
  self:zero_grad()
  call_cbs(cbs, "on_train_begin", self, {})
  local best
  for epoch = 1, epochs do
    call_cbs(cbs, "on_epoch_begin", epoch, {})
    local t0 = clock()
    local lr = opt.lr
    ctx.perm = fixed or wb.randperm(n)
    local ok, loss_sum, data_sum, reg_sum, correct, seen = pcall(run_epoch, self, ctx, epoch)
    if not ok then
      -- divergence, Ctrl-C or a layer error: end the live bar's line first
      if ctx.bar then io.stdout:write("\n"); io.stdout:flush() end
      error(loss_sum, 0)
    end
    -- the last step's update is not seen by any loss of this epoch: check
    -- the weights themselves before validation and callbacks (a checkpoint
    -- of non-finite weights must never be written)
    for i = 1, #params do
      local sum = params[i]:sum()
      if sum ~= sum or sum == huge or sum == -huge then
        error(diverged(epoch, ctx.steps, sum, history,
          string.format("parameter %d became non-finite", i)), 0)
      end
    end
    local logs = {loss = loss_sum / seen, accuracy = correct / seen,
      data_loss = data_sum / seen, reg_loss = reg_sum / seen, lr = lr}
    if val then
      logs.val_loss, logs.val_accuracy = eval_dataset(self, last, val,
        math.max(bs, EVAL_BATCH))
    end
    logs.epoch_time = clock() - t0
    history:_record(logs)
    if val and (not best or logs.val_loss < best) then
      best = logs.val_loss
      history.best_epoch = epoch
    end
    if verbose then
      io.stdout:write(tty and "\r\27[K" or "", epoch_line(epoch, epochs, logs), "\n")
      io.stdout:flush()
    end
    local stop = call_cbs(cbs, "on_epoch_end", epoch, logs)
    if stop or self.stop_training then
      history.stopped_epoch = history.stopped_epoch or epoch
      break
    end
  end
  call_cbs(cbs, "on_train_end", {})
  return history
end

-- }====================

return M
