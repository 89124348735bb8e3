-- wb/callbacks_monitor.lua: the callbacks that watch a monitored log:
-- EarlyStopping and ReduceLROnPlateau (Keras 3, KERAS.md 16 and 18). Part
-- of wb.callbacks (loaded by wb/callbacks.lua).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local M = wb.callbacks

local check_opts, check_begin, check_epoch = M._check_opts, M._check_begin, M._check_epoch
local wants_max, monitor_value = M._wants_max, M._monitor_value
local hset = require("wb.history_guard").set -- fit's fields of the history: fit expects these

-- {==================== EarlyStopping ====================

local EarlyStopping = {}
EarlyStopping.__name = "wb.callbacks.EarlyStopping"
-- the state its hooks set; its options (fields of the same names); max from mode;
-- verbose changes no result: the other options are the settings a resume checks
M._strict(EarlyStopping, {"model", "wait", "stopped_epoch", "best", "best_epoch",
  "best_weights", "has_best_weights"}, {"monitor", "min_delta", "patience", "mode", "baseline",
  "restore_best_weights", "start_from_epoch", "verbose"}, {max = "mode"}, {"verbose"})
EarlyStopping._make = function(o) return M.EarlyStopping(o) end

---wb.callbacks.EarlyStopping{monitor, patience, ...} -> wb.callbacks.EarlyStopping
---Options: monitor, min_delta, patience, mode, baseline,
---restore_best_weights, start_from_epoch, verbose.
---Stops training when the monitored log (monitor = "val_loss"; one fit's
---logs will not have, e.g. val_loss without validation, is an error before
---training: Keras warns and never stops) stops improving: an epoch improves when strictly better than the best by more
---than |min_delta| (0); training stops when patience (0) epochs in a row did
---not, never at the first epoch. mode "auto" (max for accuracies), "min",
---"max"; baseline: a value to beat; start_from_epoch (0): epochs ignored at
---first. With restore_best_weights (false) the best epoch's weights are
---restored at the end, stopped early or not (history.weights_epoch then
---names that epoch). Its best_epoch and
---stopped_epoch count from 1 (Keras's attributes count from 0: its "Epoch
---4: early stopping" is stopped_epoch 3 there, 4 here). Sets
---history.best_epoch; stopped_epoch (its field, and fit's history.stopped_epoch) is the epoch
---training stopped at, unset when a later hook overruled the stop (set
---model.stop_training back to false) and training went on.
---@param opts? table
---@return wb.callbacks.EarlyStopping
---Example: wb.callbacks.EarlyStopping{patience = 3, restore_best_weights = true}
function M.EarlyStopping(opts, more)
  M._no_more("EarlyStopping", more)
  opts = check_opts(opts, {"monitor", "min_delta", "patience", "mode", "baseline",
    "restore_best_weights", "start_from_epoch", "verbose"}, "EarlyStopping", 1,
    {monitor = "string", min_delta = "number", patience = "count", baseline = "number",
     restore_best_weights = "boolean", start_from_epoch = "count", verbose = "verbose"})
  local monitor = opts.monitor or "val_loss"
  return M._new(EarlyStopping, {monitor = monitor,
    min_delta = math.abs(opts.min_delta or 0), patience = opts.patience or 0,
    mode = opts.mode or "auto", baseline = opts.baseline,
    restore_best_weights = opts.restore_best_weights == true,
    start_from_epoch = opts.start_from_epoch or 0, verbose = M._is_verbose(opts.verbose),
    max = wants_max(monitor, opts.mode, "EarlyStopping")}, opts)
end

-- Keras's test against its best, which starts at +inf (-inf for "max"):
-- a first value of NaN or inf is no improvement (taken as the best, it
-- beat nothing after it and training stopped at patience).
function EarlyStopping:_better(current, reference)
  if reference == nil then reference = self.max and -math.huge or math.huge end
  if self.max then return current - self.min_delta > reference end
  return current + self.min_delta < reference
end

---wb.callbacks.EarlyStopping:on_train_begin(model)
---wb.callbacks.ModelCheckpoint:on_train_begin(model)
---wb.callbacks.ReduceLROnPlateau:on_train_begin(model)
---wb.callbacks.CSVLogger:on_train_begin(model)
---Called by fit before the first epoch: resets the callback's state for
---this model (a callback object can be reused across fits).
---@param model wb.Sequential
---Example: cb:on_train_begin(model) -- fit does this
function EarlyStopping:on_train_begin(model)
  check_begin(model, "on_train_begin")
  M._check_log_keys(self, model, {self.monitor}, "monitor '%s'")
  if self.model ~= model then self.best_weights = nil end
  self.model = model
  self.wait, self.stopped_epoch, self.best, self.best_epoch = 0, nil, nil, nil
  self.has_best_weights = false
end

---wb.callbacks.EarlyStopping:on_epoch_end(epoch, logs) -> boolean
---Called by fit after each epoch: compares logs[monitor] with the best so
---far, keeps the best weights if asked, and returns true to stop.
---@param epoch integer
---@param logs table
---@return boolean
---Example: cb:on_epoch_end(3, {val_loss = 0.1}) -- fit does this
function EarlyStopping:on_epoch_end(epoch, logs)
  check_epoch(epoch, logs, "on_epoch_end")
  -- called again: a stop asked for at an earlier epoch was overruled by a
  -- later hook (model.stop_training = false) and training went on
  self.stopped_epoch = nil
  local current = monitor_value(logs, self.monitor, "EarlyStopping")
  if epoch <= self.start_from_epoch then return end
  local model = self.model
  if self.restore_best_weights and not self.has_best_weights then
    -- never set: the current weights are the best so far
    self.best_weights = model:get_weights(self.best_weights)
    self.has_best_weights, self.best_epoch = true, epoch
  end
  self.wait = self.wait + 1
  if self:_better(current, self.best) then
    self.best, self.best_epoch = current, epoch
    if self.restore_best_weights then
      self.best_weights = model:get_weights(self.best_weights)
    end
    if self.baseline == nil or self:_better(current, self.baseline) then
      self.wait = 0
    end
    if model.history then hset(model.history, "best_epoch", epoch, self) end
    return
  end
  if self.wait >= self.patience and epoch > 1 then
    -- fit puts history.stopped_epoch back when a later hook overrules the
    -- stop (sets model.stop_training back to false)
    self.stopped_epoch = epoch
    model.stop_training = true
    if model.history then hset(model.history, "stopped_epoch", epoch, self) end
  end
end

---wb.callbacks.EarlyStopping:on_train_end()
---Called by fit at the end: records best_epoch in the history, prints the
---stop when verbose, and restores the best weights if asked.
---Example: cb:on_train_end() -- fit does this
function EarlyStopping:on_train_end()
  local model = self.model
  if self.stopped_epoch and not (model and model.history
      and model.history.stopped_epoch == self.stopped_epoch) then
    self.stopped_epoch = nil -- asked at the last epoch, overruled: training was not stopped
  end
  if model and model.history and self.best_epoch then
    hset(model.history, "best_epoch", self.best_epoch, self)
  end
  if self.stopped_epoch and self.verbose then
    io.stdout:write(string.format("epoch %d: early stopping\n", self.stopped_epoch))
  end
  if self.restore_best_weights and self.has_best_weights then
    if self.verbose then
      io.stdout:write(string.format("restoring model weights from the end of the best "
        .. "epoch: %d\n", self.best_epoch))
    end
    model:set_weights(self.best_weights)
  end
end

-- The epoch whose weights on_train_end restored, or nil: fit's
-- history.weights_epoch (wb/state_fit.lua).
require("wb.state_fit").restores[EarlyStopping] = function(es)
  return es.restore_best_weights and es.has_best_weights and es.best_epoch or nil
end

---wb.callbacks.EarlyStopping:get_state() -> table
---wb.callbacks.ReduceLROnPlateau:get_state() -> table
---wb.callbacks.ModelCheckpoint:get_state() -> table
---The callback's counters (and EarlyStopping's best weights) as plain data
---and tensors: model:save_state keeps them, with the options they depend on
---(all but verbose; ModelCheckpoint's monitor, mode, save_best_only,
---initial_value_threshold), and fit{resume} gives them back with set_state
---after on_train_begin, so a resumed fit stops (or lowers the lr) at the
---same epoch as an uninterrupted one; a resume with other options is refused.
---@return table
---Example: local st = cb:get_state() -- save_state does this
function EarlyStopping:get_state()
  return {wait = self.wait, stopped_epoch = self.stopped_epoch, best = self.best,
    best_epoch = self.best_epoch, has_best_weights = self.has_best_weights,
    best_weights = self.best_weights}
end

---wb.callbacks.EarlyStopping:set_state(state)
---wb.callbacks.ReduceLROnPlateau:set_state(state)
---wb.callbacks.ModelCheckpoint:set_state(state)
---Restores what get_state returned (fit{resume} does this).
---@param state table
---Example: cb:set_state(st) -- fit{resume = path} does this
function EarlyStopping:set_state(st)
  args.check("set_state", 1, st, "table")
  self.wait, self.stopped_epoch, self.best = st.wait or 0, st.stopped_epoch, st.best
  self.best_epoch, self.has_best_weights = st.best_epoch, st.has_best_weights == true
  self.best_weights = st.best_weights
end

-- }====================
-- {==================== ReduceLROnPlateau ====================

local ReduceLR = {}
ReduceLR.__name = "wb.callbacks.ReduceLROnPlateau"
M._strict(ReduceLR, {"model", "best", "wait", "cooldown_counter"}, {"monitor", "factor",
  "patience", "mode", "min_delta", "cooldown", "min_lr", "verbose"}, {max = "mode"},
  {"verbose"}) -- verbose changes no result: the others are settings a resume checks
ReduceLR._make = function(o) return M.ReduceLROnPlateau(o) end

---wb.callbacks.ReduceLROnPlateau{monitor, factor, ...} -> wb.callbacks.ReduceLROnPlateau
---Options: monitor, factor, patience, mode, min_delta, cooldown, min_lr,
---verbose.
---Lowers the learning rate when the monitored log (monitor = "val_loss"; as
---EarlyStopping's, checked before training) stops improving: lr = max(lr * factor, min_lr) (factor 0.1, min_lr 0)
---after patience (10) epochs without an improvement larger than min_delta
---(1e-4); then waits cooldown (0) epochs before counting again (Keras).
---history.lr records the lr used in each epoch.
---@param opts? table
---@return wb.callbacks.ReduceLROnPlateau
---Example: wb.callbacks.ReduceLROnPlateau{factor = 0.5, patience = 2}
function M.ReduceLROnPlateau(opts, more)
  M._no_more("ReduceLROnPlateau", more)
  opts = check_opts(opts, {"monitor", "factor", "patience", "mode", "min_delta",
    "cooldown", "min_lr", "verbose"}, "ReduceLROnPlateau", 1,
    {monitor = "string", patience = "count", min_delta = "number", cooldown = "count",
     min_lr = "number", verbose = "verbose"})
  if opts.min_lr ~= nil and opts.min_lr < 0 then
    args.input_fail("ReduceLROnPlateau: min_lr must be >= 0, got " .. opts.min_lr, 2)
  end
  local factor = opts.factor or 0.1
  if type(factor) ~= "number" or factor >= 1 or factor < 0 then
    args.input_fail("ReduceLROnPlateau: factor must be in [0, 1), got " .. tostring(factor), 2)
  end
  local monitor = opts.monitor or "val_loss"
  return M._new(ReduceLR, {monitor = monitor, factor = factor,
    patience = opts.patience or 10, mode = opts.mode or "auto",
    min_delta = opts.min_delta or 1e-4, cooldown = opts.cooldown or 0,
    min_lr = opts.min_lr or 0, verbose = M._is_verbose(opts.verbose),
    max = wants_max(monitor, opts.mode, "ReduceLROnPlateau")}, opts)
end

function ReduceLR:on_train_begin(model)
  check_begin(model, "on_train_begin")
  M._check_log_keys(self, model, {self.monitor}, "monitor '%s'")
  self.model = model
  self.best = self.max and -math.huge or math.huge
  self.wait, self.cooldown_counter = 0, 0
end

---wb.callbacks.ReduceLROnPlateau:on_epoch_end(epoch, logs)
---Called by fit after each epoch: counts epochs without improvement and
---lowers the optimizer's lr when patience runs out.
---@param epoch integer
---@param logs table
---Example: cb:on_epoch_end(5, {val_loss = 0.3}) -- fit does this
function ReduceLR:on_epoch_end(epoch, logs)
  check_epoch(epoch, logs, "on_epoch_end")
  local current = monitor_value(logs, self.monitor, "ReduceLROnPlateau")
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.wait = 0
  end
  local better
  if self.max then better = current > self.best + self.min_delta
  else better = current < self.best - self.min_delta end
  if better then
    self.best, self.wait = current, 0
  elseif self.cooldown_counter <= 0 then
    self.wait = self.wait + 1
    if self.wait >= self.patience then
      local opt = self.model.optimizer
      local old = opt.lr
      if old > self.min_lr then
        local new = math.max(old * self.factor, self.min_lr)
        opt.lr = new
        if self.verbose then
          io.stdout:write(string.format("epoch %d: ReduceLROnPlateau reducing learning "
            .. "rate to %g\n", epoch, new))
        end
        self.cooldown_counter, self.wait = self.cooldown, 0
      end
    end
  end
end

function ReduceLR:get_state()
  return {best = self.best, wait = self.wait, cooldown_counter = self.cooldown_counter}
end

function ReduceLR:set_state(st)
  args.check("set_state", 1, st, "table")
  self.best, self.wait, self.cooldown_counter = st.best, st.wait, st.cooldown_counter
end

-- }====================

-- no return value: package.loaded keeps true, so a traceback names the
-- functions after the module they extend, not after this file
