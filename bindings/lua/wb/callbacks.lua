-- wb/callbacks.lua: wb.callbacks: the callback protocol, the helpers the
-- callback classes share and Lambda (Keras 3 semantics, KERAS.md 16-19;
-- TerminateOnNaN is an error: fit does it). EarlyStopping and
-- ReduceLROnPlateau are in wb/callbacks_monitor.lua, ModelCheckpoint in
-- wb/callbacks_save.lua, CSVLogger in wb/callbacks_csv.lua,
-- LearningRateScheduler in wb/callbacks_schedule.lua.
--
-- A callback is a table with optional METHODS, called with the callback as
-- self (cb:on_epoch_end(epoch, logs)):
--   on_train_begin(self, model, logs)   (wb's callbacks keep self.model)
--   on_epoch_begin(self, epoch, logs)
--   on_epoch_end(self, epoch, logs)
--   on_train_end(self, logs)            logs: the last epoch's (Keras's)
--   on_train_batch_begin(self, step, logs)   before each training step
--   on_train_batch_end(self, step, logs)     after it (the optimizer has
--                                            stepped)
-- Keras's order: train_begin, then per epoch epoch_begin, per step
-- batch_begin and batch_end, then epoch_end; train_end.
-- STOPPING: any hook but on_train_end returns true (or sets
-- model.stop_training = true) to stop training, taking effect where fit
-- checks next: from on_train_begin no epoch trains; from on_epoch_begin
-- that epoch does not train (no step, no on_epoch_end for it); from
-- on_train_batch_begin or _end the epoch ends after that step (Keras checks
-- stop_training after each step), and its logs (means over the steps run),
-- validation and on_epoch_end still happen (Keras 3); from on_epoch_end
-- after that epoch. A later hook may overrule a stop by setting
-- model.stop_training = false (then the returns of the hooks before it
-- still stop). history.stopped_epoch is the last epoch trained when a stop
-- ended training (0 when none was), nil otherwise. Keras ignores returns;
-- here true stops, as stop_training does.
-- step counts the steps of the whole fit from 1 (Keras counts within the
-- epoch from 0). The per-step logs are ONE table reused for every step
-- (copy what you keep): epoch, step, batch_size (this step's), lr (the lr
-- this step uses: a batch_begin hook may set model.optimizer.lr), and after
-- the step loss (this step's loss, L2 included) and accuracy (this step's;
-- Keras reports running means over the epoch instead, which hide the
-- step-to-step dynamics these hooks are for; the epoch logs keep Keras's
-- means). A number a batch_end hook writes into logs (logs.grad_norm = g)
-- is recorded in history.steps with fit's log_every at logging steps, then
-- removed from the table; anything else (a string, a tensor) is an error,
-- and so is changing one of fit's own entries (loss, accuracy, lr, step,
-- epoch, batch_size; in on_epoch_end's logs also val_loss, ...).
-- A callback with a method named on_* that is none of these hooks is an
-- error (a misspelt hook would otherwise never run), as is a function
-- named like a hook without its underscores or "on" (epoch_end). A hook
-- returning anything but true, false or nothing is an error too
-- (wb/fit_loop.lua), except on_train_end.
-- Epochs are numbered from 1. logs holds loss, accuracy, data_loss,
-- reg_loss, lr, epoch_time and, with validation, val_loss, val_accuracy.
-- For plain functions without self, use wb.callbacks.Lambda{on_epoch_end =
-- function(epoch, logs) ... end}. During fit, model.history is the History
-- being filled (already holding the current epoch in on_epoch_end) and
-- model.optimizer the optimizer (opt.lr is writable).
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local args = require "wb.args"
---wb.callbacks
---Callbacks for model:fit (Keras 3 semantics): EarlyStopping,
---ModelCheckpoint, ReduceLROnPlateau, CSVLogger, Lambda,
---LearningRateScheduler (TerminateOnNaN: fit always does it). A callback is any
---table with optional methods on_train_begin(model, logs),
---on_epoch_begin(epoch, logs) (both logs {}, never read: a write is an error),
---on_epoch_end(epoch, logs), on_train_end(logs) (the last epoch's logs, as
---Keras's; {} when no epoch ran), on_train_batch_begin(step, logs) and
---on_train_batch_end(step, logs) (step counts from 1 over the whole fit; logs =
---{loss, accuracy, lr, epoch, step, batch_size}, the step's own values, one
---table reused every step; begin's without loss and accuracy; changing fit's
---own keys, in begin's too, is an error: set model.optimizer.lr); any
---but on_train_end returns true (or sets model.stop_training = true) to
---stop: from on_train_begin nothing trains, from on_epoch_begin that epoch
---does not (Keras checks stop_training only after a step: there that epoch
---trains one batch, validates and calls on_epoch_end first), from a step
---hook the epoch ends after that step (its logs and on_epoch_end still
---come), from on_epoch_end after that epoch;
---history.stopped_epoch is then the last epoch trained; called with
---the callback as self; epochs count from 1; epoch logs hold loss,
---accuracy, data_loss, reg_loss, lr, epoch_time and, with validation,
---val_loss and val_accuracy. A method on_* that is no hook (or a misspelt
---hook such as onepoch_end) is an error, and so is a hook returning
---anything but true, false or nothing (on_train_end's is ignored); give
---callbacks as a list, {cb}. A callback's set_model(model) and
---set_params({epochs, steps, verbose}), Keras's, are called once at fit's
---start, before on_train_begin (set_model: keep self.model = model there).
---The callbacks here are strict: reading a name
---one lacks (es.patiense) or setting one near its names is an error naming
---the nearest, and setting an option (es.patience = "3") goes through the
---constructor's checks (a callback of your own, a plain table, is yours).
---A hook may change the weights (a max-norm: the next step starts from
---them, save_state writes them) and the optimizer's fields (lr), evaluate
---or predict; replacing model.optimizer or model.history, adding a layer,
---calling fit on the model being trained, or changing, removing or
---inserting a value the history recorded (model.history.loss[1] = ..., a
---row of history.steps) is an error: a run records what training measured.
---An error a hook raises begins with where fit was ("fit: epoch 2, step 7
---(batch 2 of 5), on_train_batch_end: "); a wb.Error stays one, its code kept.
---Example: m:fit(d.train, {validation_split = 0.1, epochs = 30,
---  callbacks = {wb.callbacks.EarlyStopping{patience = 3, restore_best_weights = true}}})
local M = {}
wb.callbacks = M

-- What each kind of option value must be (check_opts's kinds).
local KIND = {boolean = "true or false", string = "a string", number = "a number",
  count = "an integer >= 0", verbose = "true, false, 0 or 1"}
local function of_kind(v, kind)
  if kind == "count" then
    return math.type(v) == "integer" and v >= 0 or math.type(v) == "float"
      and v == math.floor(v) and v >= 0
  elseif kind == "verbose" then return type(v) == "boolean" or v == 0 or v == 1
  elseif kind == "number" then return type(v) == "number" and v == v end
  return type(v) == kind
end

-- opts (argument n of fname) checked: a table (or nil) with known keys,
-- and the values of those in kinds ({key = "boolean" | "string" | "number"
-- | "count" | "verbose"}) of that kind: save_best_only = "yes" would be
-- taken as false, patience = "3" fail after an epoch of training.
local function check_opts(opts, valid, fname, n, kinds)
  args.opt(fname, n or 1, opts, "table", 4)
  opts = opts or {}
  util.check_options(opts, valid, fname, 3)
  for k, kind in pairs(kinds or {}) do
    local v = opts[k]
    if v ~= nil and not of_kind(v, kind) then
      args.input_fail(string.format("%s: %s must be %s, got %s %s", fname, k, KIND[kind],
        type(v), tostring(v)), 3)
    end
  end
  return opts
end

-- A second argument to a constructor that takes one options table:
-- EarlyStopping({patience = 3}, {...}) would otherwise drop it unread.
function M._no_more(fname, more)
  if more ~= nil then
    args.input_fail(string.format("%s: takes one options table, got a second argument (%s)",
      fname, args.typename(more)), 3)
  end
end

-- A verbose option as a boolean: 0 is false (Keras's verbose = 0), as Lua
-- would take it as true.
local function is_verbose(v) return v == true or v == 1 end
M._is_verbose = is_verbose

-- The arguments fit passes to every callback method (self not counted).
local function check_begin(model, fname)
  args.check(fname, 1, model, "wb.Sequential", 4)
end
local function check_epoch(epoch, logs, fname)
  args.check(fname, 1, epoch, "integer", 4)
  args.check(fname, 2, logs, "table", 4)
end

-- true when larger is better for this monitor: mode "max", or mode "auto"
-- and a name ending in "acc"/"accuracy" (val_accuracy, acc).
local function wants_max(monitor, mode, fname)
  if mode == "max" then return true end
  if mode == "min" then return false end
  if mode ~= nil and mode ~= "auto" then
    args.input_fail(fname .. ": mode must be 'auto', 'min' or 'max', got " .. tostring(mode), 3)
  end
  return monitor:match("acc$") ~= nil or monitor:match("accuracy$") ~= nil
end
M._wants_max = wants_max

-- At on_train_begin: the keys (a path's fields, a monitor) that fit's logs
-- will not have (model._fit_logs lists them: loss, accuracy, ..., val_*
-- with validation; the step logs' with step; "epoch" for a path) are an
-- error before any training, `what` (a format: "monitor '%s'") naming the
-- key, unless a callback before cb that is not one of wb.callbacks' may
-- write them into the logs (then the use checks them); one after cb that
-- may is named, the order the likely cause (tryN 6). Keras only warns,
-- every epoch, while the callback does nothing.
function M._check_log_keys(cb, model, keys, what, step, path)
  local known = rawget(model, "_fit_logs")
  if not known then return end -- called by hand, not by fit
  local list = known[step and "step" or "epoch"]
  local hook = step and "on_train_batch_end" or "on_epoch_end"
  local cbs, after, later = rawget(model, "_fit_callbacks") or {}, false, ""
  for i, other in ipairs(cbs) do
    local users = other[hook] and not args.typename(other):match("^wb%.callbacks%.")
    if other == cb then after = true
    elseif users and not after then return
    elseif users and later == "" then -- it may write the key, but after cb read the logs
      later = string.format("; %s (%s), after it in the callbacks list, has %s: a callback "
        .. "sees only what those before it wrote into the logs, so list the one that writes "
        .. "'", require("wb.state_callbacks").position(cbs, i),
        require("wb.fit_hooks").describe(other, hook), hook)
    end
  end
  local have, avail = {}, {}
  for _, k in ipairs(list) do
    if k ~= "epoch" then have[k] = true; avail[#avail + 1] = k end
  end
  if path then have.epoch = true; avail[#avail + 1] = "epoch" end
  table.sort(avail)
  for _, key in ipairs(keys) do
    if not have[key] then
      error(string.format("%s: %s is not in the logs of this fit (%s logs: %s)%s",
        args.typename(cb):gsub("^wb%.callbacks%.", ""), what:format(key),
        step and "step" or "epoch", table.concat(avail, ", "), key:match("^val_")
        and not have.val_loss and "; val_* needs fit's validation or validation_split"
        or later ~= "" and later .. key .. "' before this one" or ""), 0)
    end
  end
end

-- The monitored value of an epoch's logs. A key fit does not log is
-- refused before training (M._check_log_keys) unless a callback of the
-- user's runs before this one and might add it; then it is refused here,
-- at the first epoch's end (Keras warns and the callback does nothing:
-- early stopping that never stops, a "best" checkpoint never written).
local function monitor_value(logs, monitor, who)
  local v = logs[monitor]
  if v == nil then
    local keys = {}
    for k in pairs(logs) do keys[#keys + 1] = k end
    table.sort(keys)
    error(string.format("%s: monitor '%s' is not in this epoch's logs (available: %s), and "
      .. "no callback before it added it", who, monitor, table.concat(keys, ", ")), 0)
  end
  return v
end

-- {==================== hooks ====================

-- The hooks fit calls, in Keras's order.
local HOOKS = {"on_train_begin", "on_epoch_begin", "on_train_batch_begin",
  "on_train_batch_end", "on_epoch_end", "on_train_end"}
local IS_HOOK = {}
for _, h in ipairs(HOOKS) do IS_HOOK[h] = true end
M._HOOKS = HOOKS

require "wb.callbacks_strict" -- M._strict, M._new

-- A hook name without its underscores or "on": "onepoch_end" and
-- "epoch_end" are misspelt hooks too, which would never run.
local BARE = {}
for _, h in ipairs(HOOKS) do BARE[h:gsub("_", ""):sub(3)] = h end
BARE.batchend, BARE.batchbegin = "on_train_batch_end", "on_train_batch_begin" -- Keras 2's
local function bare(k) return (k:lower():gsub("_", ""):gsub("^on", "")) end

local function check_methods(t, where, fname)
  for k, v in pairs(t) do
    if type(k) == "string" and not IS_HOOK[k] and (k:sub(1, 3) == "on_"
        or (type(v) == "function" and BARE[bare(k)])) then
      local near = BARE[bare(k)]
      error(string.format("%s: %s has a method '%s', which is no callback hook (%shooks: %s)",
        fname, where, k, near and "did you mean '" .. near .. "'? " or "",
        table.concat(HOOKS, ", ")), 4)
    end
    if IS_HOOK[k] and type(v) ~= "function" then
      error(string.format("%s: %s.%s must be a function, got %s", fname, where, k,
        type(v)), 4)
    elseif IS_HOOK[k] then M._check_self(v, k, where, fname) end
  end
end

-- fit's callbacks list checked: tables whose on_* methods (own or from
-- their class) are all hooks. Returns the callbacks with a per-step hook
-- (nil when none, so that the step loop skips the hooks altogether).
function M._check_callbacks(cbs, fname)
  if type(cbs) ~= "table" then
    error(string.format("%s: callbacks must be a list of callbacks, got %s", fname,
      type(cbs)), 3)
  end
  -- a callback given alone (callbacks = EarlyStopping{}) has no list part:
  -- ipairs would see none and it would never run
  local keys = {}
  for k in pairs(cbs) do
    if math.type(k) ~= "integer" or k < 1 or k > #cbs then keys[#keys + 1] = tostring(k) end
  end
  if #keys > 0 then
    table.sort(keys)
    local mt = getmetatable(cbs)
    local named = mt and type(mt.__name) == "string" -- a callback itself: its fields say nothing
    error(string.format("%s: callbacks must be a list {cb, ...}, got %s (a single callback? "
      .. "write callbacks = {cb})", fname, named and "a " .. mt.__name or "a table with the key '"
      .. keys[1] .. "'"), 3)
  end
  local per_step = {}
  for i, cb in ipairs(cbs) do
    local where = string.format("callbacks[%d] (%s)", i, tostring(cb))
    if type(cb) ~= "table" then
      error(string.format("%s: callbacks[%d] must be a table with hook methods, got %s",
        fname, i, type(cb)), 3)
    end
    check_methods(cb, where, fname)
    local mt = getmetatable(cb)
    if mt and type(mt.__index) == "table" then check_methods(mt.__index, where, fname) end
    if cb.on_train_batch_begin or cb.on_train_batch_end then per_step[#per_step + 1] = cb end
  end
  return #per_step > 0 and per_step or nil
end

-- }====================
-- {==================== Lambda ====================

---wb.callbacks.Lambda{on_train_begin, on_epoch_begin, on_epoch_end, on_train_end, on_train_batch_begin, on_train_batch_end} -> table
---A callback from plain functions called without self (Keras LambdaCallback):
---on_train_begin(model, logs) (Keras passes logs alone: function(logs) gets the
---model), on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs), on_train_batch_begin
---(step, logs), on_train_batch_end(step, logs), on_train_end(logs). Unlike Keras's:
---epoch counts from 1 (Keras passes 0 for the first), step is the global step from
---1 (Keras passes the batch index within the epoch from 0), and a step's logs.loss
---and logs.accuracy are that step's own (running means over the epoch so far in Keras).
---@param fns? table
---@return table
---Example: wb.callbacks.Lambda{on_epoch_end = function(e, logs) print(e, logs.loss) end}
M._wrapped = setmetatable({}, {__mode = "k"}) -- a Lambda's method -> the user's function
function M.Lambda(fns, more)
  M._no_more("Lambda", more)
  fns = check_opts(fns, HOOKS, "Lambda")
  local cb = {}
  for name, f in pairs(fns) do
    if type(f) ~= "function" then
      args.input_fail(string.format("Lambda: %s must be a function, got %s", name, type(f)), 2)
    end
    cb[name] = function(_, ...) return f(...) end
    M._wrapped[cb[name]] = f -- where it is defined, for what names the hook
  end
  return cb
end

-- }====================
-- {==================== TerminateOnNaN ====================

---wb.callbacks.TerminateOnNaN() -> nothing (an error)
---Keras's TerminateOnNaN has no counterpart: fit always stops when the loss
---becomes NaN or infinite, raising a divergence error object (it carries the
---history of the completed epochs: wb.fit.is_diverged(e), e.history)
---instead of returning. Calling it raises an error saying so.
---Example: local ok, e = pcall(m.fit, m, d.train, {epochs = 5})
---  if not ok and wb.fit.is_diverged(e) then print(e.epoch, e.history) end
function M.TerminateOnNaN()
  args.input_fail("TerminateOnNaN: fit always stops when the loss becomes NaN or infinite: it "
    .. "raises a divergence error (wb.fit.is_diverged(e); e.history holds the completed epochs) "
    .. "instead of returning; leave the callback out", 2)
end

-- }====================

M._check_opts, M._check_begin, M._check_epoch = check_opts, check_begin, check_epoch
M._monitor_value = monitor_value

require "wb.callbacks_monitor"
require "wb.callbacks_save"
require "wb.callbacks_csv"
require "wb.callbacks_schedule"

return M
