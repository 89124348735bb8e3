-- wb/fit.lua: model:fit (the training loop) and its divergence errors.
-- evaluate/predict are in wb/evaluate.lua, History in wb/history.lua, the
-- progress output in wb/progress.lua, argument checks in wb/fit_args.lua.
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
-- Speed: see wb/fit_loop.lua (the step loop makes no Lua garbage).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local fa = require "wb.fit_args"
local ev = require "wb.evaluate"
local History = require "wb.history"
local hguard = require "wb.history_guard" -- what fit recorded, checked after hooks
local guard_of, hset = hguard.start, hguard.set -- hset: a field fit sets (best_epoch, ...)
local progress = require "wb.progress"
local loop = require "wb.fit_loop"
local fhooks = require "wb.fit_hooks"
local check_optimizer = fhooks.check_optimizer -- a hook's opt:reset()
local finite = require "wb.fit_finite" -- the weights after the user's code, at its step
local callbacks = require "wb.callbacks"
local losses = require "wb.losses"
local state = require "wb.state"
local Sequential = wb.nn.SequentialClass
---wb.fit
---Training: model:fit, model:evaluate, model:predict (methods of
---wb.Sequential), the History they return and divergence errors, with
---Keras semantics (batch_size 32, shuffle each epoch, validation_split takes
---the tail rows, the last partial batch is used, loss includes the L2
---penalty).
---Example: local h = m:fit(d.train, {epochs = 5, validation_split = 0.1}); print(h)
local M = {}
wb.fit = M
local floor, ceil, huge = math.floor, math.ceil, math.huge
local clock = wb.sys._time -- the unwrapped clock (bindings/l_sys.c): the library's own timings

local FIT_KEYS = {"batch_size", "callbacks", "cockpit", "epochs", "every", "grad_check",
  "initial_epoch", "instruments", "log_every", "loss", "optimizer", "resume", "seed",
  "shuffle", "validation", "validation_split", "verbose"}

-- Keras's names for fit options that mean the same (a Keras script runs): alias -> ours.
local FIT_ALIASES = {validation_data = "validation"}

local check_int, is_dataset = fa.check_int, fa.is_dataset
local eval_dataset, EVAL_BATCH = ev.eval_dataset, ev.EVAL_BATCH
local epoch_line = progress.epoch_line
local call_cbs, run_epoch = loop.call_cbs, loop.run_epoch

M.History = History

---wb.fit.new_history() -> wb.History
---An empty History (every series present, so #h.val_loss is always valid).
---@return wb.History
---Example: local h = wb.fit.new_history()
M.new_history = History.new

-- {==================== divergence ====================

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
  return type(e) == "table" and getmetatable(e) == loop.Diverged
end

-- }====================
-- {==================== fit ====================

-- The keys of the epoch logs (the logs table below): ModelCheckpoint
-- checks the fields of its path against them before training.
local function epoch_keys(val)
  local keys = {"accuracy", "data_loss", "epoch_time", "loss", "lr", "reg_loss"}
  if val then keys[#keys + 1] = "val_accuracy"; keys[#keys + 1] = "val_loss" end
  return keys
end

-- Does any layer have an L2 penalty? (Then each step computes it.) A probe:
-- reading l2 of a layer without one (Dropout, Flatten) is an error, caught.
local function has_l2(self)
  for i = 1, #self do
    local ok, l2 = pcall(function() return self[i].l2 end)
    if ok and type(l2) == "number" and l2 > 0 then return true end
    if type(self[i]) == "table" and self[i].l2_penalty then return true end
  end
  return false
end

---wb.Sequential:fit(train, opts) -> wb.History
---Trains on a dataset, or on tensors: fit(x, y, opts) with x [n, ...] (float,
---used as given, 0..255 ones too; or uint8, / 255) and y uint8 [n] class ids from 0, as evaluate takes
---them. opts: loss ("sparse_categorical_crossentropy", the default, fused
---with the softmax head; "categorical_crossentropy", "mse", "hinge",
---"squared_hinge" (Keras's); or a function, see wb.losses, whose gradient
---is checked against its value on the first batch and on a short last one
---(central differences, entry by entry: an error when they disagree), as
---a Lua layer's backward is against its forward (its input's and its
---parameters' gradients) on the first batch and a short last one's size
---(grad_check = false for a surrogate gradient on purpose); the L2
---penalty is added to it; validation uses the same loss), epochs (1; the
---number of the last epoch, above initial_epoch: a fit that would train
---nothing, e.g. epochs = 0, is an error, where Keras returns at once),
---batch_size (32), optimizer (a wb.Optimizer or "adam" | "adamw" | "sgd" |
---"rmsprop"; default "adam": a name or none is new each fit, so a second fit
---goes on with the last one's moments only given optimizer = model.optimizer;
---one used by another model's fit is refused), validation (a dataset, or
---a pair {x, y} of tensors as fit(x, y) takes; Keras's validation_data is the
---same) or validation_split (a fraction: the tail rows, before shuffling),
---shuffle (true), seed (calls wb.seed: fixes shuffling and dropout masks;
---seed before building the model to fix the initial weights too), verbose
---(true: a live progress bar and one line per epoch), callbacks (a list, see
---wb.callbacks; per-step hooks on_train_batch_begin/end included), log_every
---(k: keep the loss, accuracy, lr, epoch and batch_size of every k-th step,
---plus the numbers per-step hooks write into their logs, in history.steps:
---history.steps.step lists the global step numbers, history.steps.loss the
---losses, ...; none in a run shorter than k steps, said on stderr),
---resume (a file of model:save_state: weights, optimizer state, RNG and history are restored and
---training goes on from the saved epoch to epochs (the number of the last epoch, as Keras's: above
---the saved ones; equal only for a stopped fit, or a file its ModelCheckpoint{save_state} writes),
---bit-identical to an uninterrupted run (but hess_max and plain SGD's alpha: to rounding, see
---wb.instruments) on the saved fit's OpenBLAS kernel and thread count (an error otherwise; not
---checked for a state saved before they were kept); give the saved fit's model (architecture: every
---field of Dense, Dropout, Activation; of a Lua layer, its config() or else its plain fields, those
---set on both sides, and the code of its methods (wb.identity.hook); a method whose code cannot be
---identified, e.g. closing over a tensor, or a state written before these were kept, is named in a
---warning on stderr), data (a hash of the images and labels), batch_size, shuffle, loss,
---validation, log_every, instruments, every and seed when given (checked: an error otherwise); the
---saved RNG state goes on (seed: the saved fit's, or none); the optimizer is rebuilt from the file
---unless one of the same kind and hyper-parameters is given (lr as saved, or the original script's:
---see save_state); the state of callbacks with get_state/set_state is restored; callbacks as the
---saved fit's (see save_state); a fit that was stopped stays stopped; all checked before anything
---is restored), initial_epoch (Keras: epochs already done, 0),
---instruments ("economy", "full" or a non-empty
---list of names, e.g. wb.instruments.economy: Cockpit's instruments into
---history.steps at the steps `every` picks: k (steps 1, 1 + k, ...; default
---1) or "log" (step 1 and each step where floor(20 log10 step) changes:
---1 to 10, then 12, 13, 15, 16, 18, 20, 23, 26, ..., about 20 a decade; not
---Cockpit's own log schedule); see wb.instruments), cockpit (true, N or {every, save,
---renderer}: a live panel of the instruments in the terminal every N steps;
---see wb.cockpit). The history says what hooks did to training: the lr a
---batch hook set and a step used (history.lr_changes, by column:
---.step[i], .epoch[i], .lr[i]), each reset of the optimizer's state
---(history.optimizer_resets: .step[i], .epoch[i]), the epoch whose weights
---fit leaves (weights_epoch: restore_best_weights, an on_train_end hook or
---the last epoch's on_epoch_end; see wb.History). Raises a divergence error object
---when the loss becomes non-finite (wb.fit.is_diverged); a NaN a hook of yours
---writes into a weight is ENONFINITE at that step, naming the hook. Same seeds and
---BLAS thread count give an identical history.
---@param train wb.Dataset
---@param opts? table
---@return wb.History
---Example: local h = m:fit(d.train, {epochs = 10, validation_split = 0.1,
---  callbacks = {wb.callbacks.EarlyStopping{patience = 3}}})
function Sequential:fit(train, opts, xy_opts)
  args.self(Sequential, self, "fit", "model") -- model.fit(...): said, not "got table"
  fhooks.check_not_nested(self)
  if fa.is_tensor(train) then -- fit(x, y, opts), as evaluate(x, y)
    args.check("fit", 2, opts, "wb.Tensor")
    train, opts = fa.as_dataset(train, opts, "fit"), xy_opts
  elseif not is_dataset(train) then args.check("fit", 1, train, "wb.Dataset|wb.Tensor")
  elseif xy_opts ~= nil then
    error("fit: fit(train, opts) takes no third argument (fit(x, y, opts) takes tensors)", 2)
  end
  args.opt("fit", 2, opts, "table")
  opts = fa.resolve_keys(opts or {}, FIT_KEYS, FIT_ALIASES, "fit")
  fa.check_fit_types(opts)
  opts.loss = losses._canonical(opts.loss) -- "MSE" is "mse" for the instruments and resume too
  local epochs = check_int(opts.epochs or 1, "epochs", "fit", 0)
  local bs = check_int(opts.batch_size or 32, "batch_size", "fit", 1)
  local log_every = opts.log_every ~= nil and check_int(opts.log_every, "log_every", "fit", 1)
    or nil
  local opt = fa.make_optimizer(opts.optimizer, self, opts.resume) -- another model's: refused
  local initial = check_int(opts.initial_epoch or 0, "initial_epoch", "fit", 0)
  if opts.resume ~= nil and type(opts.resume) ~= "string" then
    error("fit: resume must be the path of a file written by model:save_state, got "
      .. tostring(opts.resume), 2)
  end
  local verbose = opts.verbose
  if verbose == nil then verbose = true end
  if verbose == 0 then verbose = false end
  local val
  train, val = fa.validation(train, opts) -- a dataset, a pair {x, y} or validation_split
  if val ~= nil and #val == 0 then error("fit: the validation set is empty", 2) end
  local n = #train
  if n == 0 then error("fit: the training set is empty", 2) end
  local train_loss = losses._get(opts.loss, self, "train", "fit")
  train_loss.check, train_loss.short = opts.grad_check ~= false, n > bs and n % bs or nil
  fa.check_grad_check(opts, self, train_loss) -- true with nothing to check: refused
  fa.check_labels(self, train, opts.loss, "training set")
  if val then fa.check_labels(self, val, opts.loss, "validation set") end
  fa.check_features(self, train, "training set")
  if val then fa.check_features(self, val, "validation set") end
  local val_loss = val and losses._get(opts.loss, self, "eval", "fit")
  if opts.seed ~= nil then wb.seed(opts.seed) end
  local cbs = opts.callbacks or {}
  local cockpit -- nil or false: nothing is added to the step loop
  if opts.cockpit then
    local ok, c = pcall(require("wb.cockpit")._callback, opts.cockpit)
    if not ok then error(c, 2) end
    cockpit, c.epoch_lines = c, verbose ~= false -- lines it must not draw over
    -- its default set, less alpha when the loss is not cross-entropy (alpha's)
    if opts.instruments == nil then opts.instruments = wb.cockpit._defaults(opts.loss) end
  end
  local instr
  if opts.instruments ~= nil then -- first, so the other hooks see its numbers
    instr = wb.instruments._callback(opts.instruments, opts.every, opts.loss)
    cbs = {instr, table.unpack(cbs)}
  elseif opts.every ~= nil then
    error("fit: every sets how often instruments measure; give instruments too", 2)
  end
  if cockpit then cbs = {table.unpack(cbs)}; cbs[#cbs + 1] = cockpit end -- last: sees all
  local batch_cbs = callbacks._check_callbacks(cbs, "fit")
  local params, grads = self:parameters()
  local history, step0, rs = M.new_history(), 0, nil
  local record = fa.fit_record(opts, bs, n, train, val, opt) -- what a resume must repeat
  if opts.resume then -- after seed: the saved RNG state wins
    -- checks the file against epochs, initial_epoch and optimizer first
    rs = state.resume(self, opts.resume, opts.optimizer ~= nil and opt or nil,
      {epochs = epochs, initial_epoch = opts.initial_epoch ~= nil and initial or nil,
       callbacks = cbs, fit = record})
    opt, history, initial, step0 = rs.optimizer, rs.history, rs.epoch, rs.step -- set_state: ours
  elseif epochs <= initial then
    -- Keras returns at once, having trained nothing (an empty History): here an error,
    -- so that an untrained model's numbers are never taken for a trained one's
    error(string.format("fit: epochs = %d %s: epochs is the number of the last epoch "
      .. "(Keras), so epochs = %d trains one more; a fit that trains nothing is refused",
      epochs, epochs < initial and ("is below initial_epoch = " .. initial)
      or initial == 0 and "trains nothing" or ("equals initial_epoch = " .. initial),
      initial + 1), 2)
  end
  if not rs and initial > 0 then hset(history, "initial_epoch", initial) end -- h.loss[1]: k + 1
  if train_loss.check then require("wb.grad_check").layers(self, train, bs) end -- resumed
  fa.warn_log_every(log_every, rs, epochs, initial, ceil(n / bs)) -- when it would log none
  if (log_every or instr) and not history.steps then history.steps = loop.new_steps() end
  self.history, self.optimizer, self.stop_training = history, opt, rs ~= nil and rs.stopped
  rawset(self, "_fit_callbacks", cbs) -- for save_state: the callbacks' state
  rawset(self, "_fit_record", record) -- and what a resume needs
  rawset(self, "_fit_lua_rng0", rs and rs.lua_rng and "" or wb.sys.math_random_state()) -- wb/state
  rawset(self, "_fit_logs", {epoch = epoch_keys(val), step = loop.STEP_KEYS}) -- the logs' keys
  local tty = verbose and verbose ~= 2 and progress.live(1) -- the bar: not on TERM=dumb
  local ctx = {train = train, bs = bs, n = n, steps = ceil(n / bs), loss = train_loss,
    opt = opt, params = params, grads = grads, l2 = has_l2(self),
    history = history, bar = tty and {epochs = epochs, steps = ceil(n / bs)} or nil,
    batch_cbs = batch_cbs, step = step0, step_logs = {}, log_every = log_every,
    guard = guard_of(history, self, cbs),
    seed = opts.seed ~= nil and math.tointeger(opts.seed) or nil} -- instruments' probes
  finite.arm(ctx, cbs, self) -- which hooks' writes are checked, at their step
  local _ <close> = loop.enter(ctx, self) -- for where a hook failed
  rawset(self, "_fit_step", step0) -- save_state's step when no epoch runs (not a past fit's)
  for _, c in ipairs{instr or false, cockpit or false} do if c then c.ctx = ctx end end
  hset(history, "weights_epoch", nil); hset(history, "weights_changed_by", nil) -- train_end's
  local fixed = opts.shuffle == false and fa.identity_perm(n) or nil
  self:zero_grad()
  -- where a save_state would not be exact (wb/state.lua): set until the
  -- next clean point, so it stays set when fit raises
  rawset(self, "_fit_busy", "at the start of fit"); rawset(self, "_fit_end", nil)
  check_optimizer(ctx) -- its step count before any hook (a reused one's: not 0)
  -- a stop asked for here (true, or model.stop_training) trains nothing
  fhooks.set_model(cbs, self, {epochs = epochs, steps = ctx.steps, -- Keras's, first
    verbose = verbose == true and 1 or verbose or 0})
  local stopped = fhooks.begin(cbs, "on_train_begin", self, self) -- a write to its logs: refused
  loop.check_model(self, ctx, "on_train_begin")
  finite.check(ctx, "on_train_begin")
  if rs then state.restore_callbacks(cbs, rs.callbacks, opts.resume) end
  rawset(self, "_fit_busy", nil)
  check_optimizer(ctx, initial + 1) -- an on_train_begin hook's reset
  if stopped and not (rs and rs.stopped) and initial < epochs then
    hset(history, "stopped_epoch", initial) -- the epochs done: none in this fit
  end
  local best = huge -- as Keras's best: a NaN or inf val_loss is never the best epoch
  local last_logs = {} -- on_train_end's, as Keras's: the last epoch's logs
  for _, v in ipairs(history.val_loss) do if v < best then best = v end end
  for epoch = initial + 1, stopped and initial or epochs do -- a stopped fit stays so
    rawset(self, "_fit_busy", "in epoch " .. epoch)
    -- a state saved inside this epoch: its permutation, on after its step
    -- (on_epoch_begin ran before the save)
    local mid = rs and rs.mid and rs.mid.epoch == epoch and rs.mid or nil
    if not mid then
      local stop = fhooks.begin(cbs, "on_epoch_begin", self, epoch) -- as on_train_begin
      loop.check_model(self, ctx, "on_epoch_begin", epoch)
      finite.check(ctx, "on_epoch_begin", epoch)
      check_optimizer(ctx, epoch)
      if stop then -- before the epoch: it does not train
        self.stop_training = true; hset(history, "stopped_epoch", epoch - 1)
        rawset(self, "_fit_busy", nil)
        break
      end
    end
    local t0 = clock()
    ctx.perm, ctx.resume_at = mid and mid.perm or fixed or wb.randperm(n), mid
    local ok, loss_sum, data_sum, reg_sum, correct, seen = pcall(run_epoch, self, ctx, epoch)
    if not ok then
      -- divergence, Ctrl-C or a layer error: end the live bar's line first
      if ctx.bar then io.stdout:write("\n"); io.stdout:flush() end
      if cockpit then cockpit:_failed(loss_sum, ctx.bar ~= nil) end -- last frame, figure
      if M.is_diverged(loss_sum) then ctx.guard:check("a hook of this fit", true) end
      error(loss_sum, 0)
    end
    -- the last step's update is not seen by any loss of this epoch: check
    -- the weights themselves before validation and callbacks (a checkpoint
    -- of non-finite weights must never be written)
    finite.epoch_end(ctx, epoch)
    local logs = {loss = loss_sum / seen, accuracy = correct / seen,
      data_loss = data_sum / seen, reg_loss = reg_sum / seen, lr = ctx.epoch_lr}
    if val then
      logs.val_loss, logs.val_accuracy = eval_dataset(self, val_loss, val,
        math.max(bs, EVAL_BATCH), "fit", "validation")
    end
    logs.epoch_time = clock() - t0
    last_logs = logs
    rawset(self, "_fit_step", ctx.step)
    if val and logs.val_loss < best then
      best = logs.val_loss
      hset(history, "best_epoch", epoch)
    end
    if verbose then
      io.stdout:write(tty and "\r\27[K" or "", epoch_line(epoch, epochs, logs), "\n")
      io.stdout:flush()
    end
    rawset(self, "_fit_busy", "in the on_epoch_end hooks of epoch " .. epoch)
    local stopped_before = history.stopped_epoch
    local own = loop.own_numbers(logs)
    local stop = fhooks.epoch_end(cbs, self, epoch, logs, ctx) -- and which changed the weights
    loop.check_model(self, ctx, "on_epoch_end", epoch)
    finite.check(ctx, "on_epoch_end", epoch)
    check_optimizer(ctx, epoch)
    rawset(self, "_fit_busy", nil)
    loop.check_interrupt() -- a Ctrl-C a hook's pcall caught
    -- after the hooks, as Keras's History (the last callback): a number a
    -- hook put in logs (a metric of its own) is a series of the history
    loop.record_epoch(history, logs, own, ctx.guard) -- a hook changed none of fit's numbers
    -- the epoch training stopped at: a hook that asked for a stop (and wrote
    -- it) may have been overruled by a later one (stop_training = false)
    hset(history, "stopped_epoch", stop and epoch or stopped_before)
    if stop then self.stop_training = true end
    -- ModelCheckpoint{save_state}: after every hook, so the state holds them all
    call_cbs(cbs, "_after_epoch_end", nil, epoch, logs)
    if stop then break end
  end
  fhooks.lr_end(ctx) -- an lr set after the last step: no step used it
  -- every step row too: the epochs' checks compared the rows recorded since the last
  ctx.guard:check("a hook of this fit (a batch or epoch hook)", true)
  state.train_end(self, params, cbs, -- and history.weights_epoch, weights_changed_by
    function(cb) call_cbs({cb}, "on_train_end", nil, last_logs) end)
  fhooks.weights_left(ctx, history) -- the last epoch's on_epoch_end's changes too
  ctx.guard:check("an on_train_end hook", true)
  return history
end

---wb.Sequential:compile(opts)
---Keras's model.compile has no counterpart here: a model keeps no
---optimizer, loss or metrics of its own, so that a run's config says all of
---its training. Give them to fit (m:fit(d.train, {optimizer = "adam",
---loss = "categorical_crossentropy"}); accuracy is always measured) and
---the loss to evaluate. Calling compile raises an error saying so, rather
---than "attempt to call a nil value".
---@param opts? any Keras's compile arguments, whatever they are
---Example: local h = m:fit(d.train, {optimizer = "adam", epochs = 5})
function Sequential:compile(_) -- whatever was given: it has no use here
  error("model:compile: Keras's compile has no counterpart here (a model keeps no optimizer, "
    .. "loss or metrics of its own); give the optimizer and loss to fit: model:fit(data, "
    .. "{optimizer = \"adam\", loss = \"categorical_crossentropy\", epochs = 5}) (accuracy "
    .. "is always measured; see help(\"model:fit\"))", 2)
end

-- }====================

return M
