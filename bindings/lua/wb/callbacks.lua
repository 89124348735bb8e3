-- wb/callbacks.lua: wb.callbacks.EarlyStopping, ModelCheckpoint,
-- ReduceLROnPlateau, CSVLogger, Lambda (Keras 3 semantics, KERAS.md 16-19).
--
-- A callback is a table with optional METHODS, called with the callback as
-- self (cb:on_epoch_end(epoch, logs)):
--   on_train_begin(self, model, logs)   self.model is also set to the model
--   on_epoch_begin(self, epoch, logs)
--   on_epoch_end(self, epoch, logs)     return true (or set
--                                       model.stop_training = true) to stop
--   on_train_end(self, logs)
-- Epochs are numbered from 1. logs holds loss, accuracy, data_loss,
-- reg_loss, lr, epoch_time and, with validation, val_loss, val_accuracy.
-- For plain functions without self, use wb.callbacks.Lambda{on_epoch_end =
-- function(epoch, logs) ... end}. During fit, model.history is the History
-- being filled (already holding the current epoch in on_epoch_end) and
-- model.optimizer the optimizer (opt.lr is writable).
local wb = require "wb"
local util = require "wb.util"
local args = require "wb.args"
---wb.callbacks
---Callbacks for model:fit (Keras 3 semantics): EarlyStopping,
---ModelCheckpoint, ReduceLROnPlateau, CSVLogger, Lambda. A callback is any
---table with optional methods on_train_begin(model, logs),
---on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs) (return true to
---stop) and on_train_end(logs), called with the callback as self; epochs
---count from 1; logs hold loss, accuracy, data_loss, reg_loss, lr,
---epoch_time and, with validation, val_loss and val_accuracy.
---Example: m:fit(d.train, {validation = d.test, epochs = 30,
---  callbacks = {wb.callbacks.EarlyStopping{patience = 3, restore_best_weights = true}}})
local M = {}
wb.callbacks = M

-- opts (argument n of fname) checked: a table (or nil) with known keys.
local function check_opts(opts, valid, fname, n)
  args.opt(fname, n or 1, opts, "table", 4)
  opts = opts or {}
  util.check_options(opts, valid, fname, 3)
  return opts
end

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
    error(fname .. ": mode must be 'auto', 'min' or 'max', got " .. tostring(mode), 3)
  end
  return monitor:match("acc$") ~= nil or monitor:match("accuracy$") ~= nil
end
M._wants_max = wants_max

local warned = {}
local function monitor_value(logs, monitor, who)
  local v = logs[monitor]
  if v == nil and not warned[who .. monitor] then
    warned[who .. monitor] = true
    local keys = {}
    for k in pairs(logs) do keys[#keys + 1] = k end
    table.sort(keys)
    io.stderr:write(string.format("warning: %s monitors '%s', which is not in the "
      .. "logs (available: %s); skipping\n", who, monitor, table.concat(keys, ", ")))
  end
  return v
end

-- {==================== EarlyStopping ====================

local EarlyStopping = {}
EarlyStopping.__index = EarlyStopping
EarlyStopping.__name = "wb.callbacks.EarlyStopping"

---wb.callbacks.EarlyStopping{monitor, patience, ...} -> wb.callbacks.EarlyStopping
---Options: monitor, min_delta, patience, mode, baseline,
---restore_best_weights, start_from_epoch, verbose.
---Stops training when the monitored log (monitor = "val_loss") stops
---improving: an epoch improves when strictly better than the best by more
---than |min_delta| (0); training stops when patience (0) epochs in a row did
---not, never at the first epoch. mode "auto" (max for accuracies), "min",
---"max"; baseline: a value to beat; start_from_epoch (0): epochs ignored at
---first. With restore_best_weights (false) the best epoch's weights are
---restored at the end, stopped early or not. Sets history.stopped_epoch and
---history.best_epoch.
---@param opts? table
---@return wb.callbacks.EarlyStopping
---Example: wb.callbacks.EarlyStopping{patience = 3, restore_best_weights = true}
function M.EarlyStopping(opts)
  opts = check_opts(opts, {"monitor", "min_delta", "patience", "mode", "baseline",
    "restore_best_weights", "start_from_epoch", "verbose"}, "EarlyStopping")
  local self = setmetatable({monitor = opts.monitor or "val_loss",
    min_delta = math.abs(opts.min_delta or 0), patience = opts.patience or 0,
    baseline = opts.baseline, restore_best_weights = opts.restore_best_weights == true,
    start_from_epoch = opts.start_from_epoch or 0, verbose = opts.verbose}, EarlyStopping)
  self.max = wants_max(self.monitor, opts.mode, "EarlyStopping")
  return self
end

function EarlyStopping:_better(current, reference)
  if reference == nil then return true end
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
  local current = monitor_value(logs, self.monitor, "EarlyStopping")
  if current == nil or epoch <= self.start_from_epoch then return end
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
    if model.history then model.history.best_epoch = epoch end
    return
  end
  if self.wait >= self.patience and epoch > 1 then
    self.stopped_epoch = epoch
    model.stop_training = true
    if model.history then model.history.stopped_epoch = epoch end
  end
end

---wb.callbacks.EarlyStopping:on_train_end()
---Called by fit at the end: records best_epoch in the history, prints the
---stop when verbose, and restores the best weights if asked.
---Example: cb:on_train_end() -- fit does this
function EarlyStopping:on_train_end()
  local model = self.model
  if model and model.history and self.best_epoch then
    model.history.best_epoch = self.best_epoch
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

-- }====================
-- {==================== ModelCheckpoint ====================

local ModelCheckpoint = {}
ModelCheckpoint.__index = ModelCheckpoint
ModelCheckpoint.__name = "wb.callbacks.ModelCheckpoint"

-- "{epoch}", "{epoch:02d}", "{val_loss:.4f}": Python-style fields filled
-- from the epoch number and the logs.
local function format_path(pattern, epoch, logs)
  return (pattern:gsub("{([%w_]+):?([^}]*)}", function(key, spec)
    local v = key == "epoch" and epoch or logs[key]
    if v == nil then
      error("ModelCheckpoint: filepath field {" .. key .. "} is not in the logs", 0)
    end
    if spec == "" then
      return math.type(v) == "integer" and tostring(v) or string.format("%.4g", v)
    end
    if not spec:match("[dfgeFGExs]$") then
      spec = spec .. (math.type(v) == "integer" and "d" or "g")
    end
    if spec:match("d$") then v = math.floor(v) end
    return string.format("%" .. spec, v)
  end))
end
M._format_path = format_path

---wb.callbacks.ModelCheckpoint{filepath, ...} -> wb.callbacks.ModelCheckpoint
---Options: filepath, monitor, save_best_only, save_weights_only, mode,
---initial_value_threshold, verbose.
---Saves the model after every epoch to filepath (required; may be the first
---list element), whose "{epoch}", "{epoch:02d}", "{val_loss:.4f}" fields are
---filled from the epoch and the logs. save_best_only (false): only when
---monitor ("val_loss") improved (mode "auto", "min", "max"; beyond
---initial_value_threshold if given). save_weights_only (false): weights
---without the architecture (model:save_weights).
---@param opts table
---@return wb.callbacks.ModelCheckpoint
---Example: wb.callbacks.ModelCheckpoint{"ckpt/e{epoch:02d}.safetensors", save_best_only = true}
function M.ModelCheckpoint(opts)
  args.check("ModelCheckpoint", 1, opts, "table|string")
  if type(opts) == "string" then opts = {filepath = opts} end
  opts = opts or {}
  if opts[1] and not opts.filepath then
    opts.filepath, opts[1] = opts[1], nil
  end
  opts = check_opts(opts, {"filepath", "monitor", "save_best_only", "save_weights_only",
    "mode", "initial_value_threshold", "verbose"}, "ModelCheckpoint")
  if type(opts.filepath) ~= "string" then
    error("ModelCheckpoint: filepath (a string) is required", 2)
  end
  local self = setmetatable({filepath = opts.filepath, monitor = opts.monitor or "val_loss",
    save_best_only = opts.save_best_only == true,
    save_weights_only = opts.save_weights_only == true,
    threshold = opts.initial_value_threshold, verbose = opts.verbose}, ModelCheckpoint)
  self.max = wants_max(self.monitor, opts.mode, "ModelCheckpoint")
  return self
end

function ModelCheckpoint:on_train_begin(model)
  check_begin(model, "on_train_begin")
  self.model = model
  self.best = self.threshold or (self.max and -math.huge or math.huge)
end

function ModelCheckpoint:_save(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" and wb.sys and wb.sys.mkdir_p then wb.sys.mkdir_p(dir) end
  if self.save_weights_only then self.model:save_weights(path)
  else self.model:save(path) end
  self.last_saved = path
end

---wb.callbacks.ModelCheckpoint:on_epoch_end(epoch, logs)
---Called by fit after each epoch: saves the model (or its weights) when the
---options say so.
---@param epoch integer
---@param logs table
---Example: cb:on_epoch_end(1, {val_loss = 0.2}) -- fit does this
function ModelCheckpoint:on_epoch_end(epoch, logs)
  check_epoch(epoch, logs, "on_epoch_end")
  local path = format_path(self.filepath, epoch, logs)
  if not self.save_best_only then return self:_save(path) end
  local current = monitor_value(logs, self.monitor, "ModelCheckpoint")
  if current == nil then return end
  if (self.max and current > self.best) or (not self.max and current < self.best) then
    if self.verbose then
      io.stdout:write(string.format("epoch %d: %s improved from %.5f to %.5f, saving "
        .. "model to %s\n", epoch, self.monitor, self.best, current, path))
    end
    self.best = current
    self:_save(path)
  end
end

-- }====================
-- {==================== ReduceLROnPlateau ====================

local ReduceLR = {}
ReduceLR.__index = ReduceLR
ReduceLR.__name = "wb.callbacks.ReduceLROnPlateau"

---wb.callbacks.ReduceLROnPlateau{monitor, factor, ...} -> wb.callbacks.ReduceLROnPlateau
---Options: monitor, factor, patience, mode, min_delta, cooldown, min_lr,
---verbose.
---Lowers the learning rate when the monitored log (monitor = "val_loss")
---stops improving: lr = max(lr * factor, min_lr) (factor 0.1, min_lr 0)
---after patience (10) epochs without an improvement larger than min_delta
---(1e-4); then waits cooldown (0) epochs before counting again (Keras).
---history.lr records the lr used in each epoch.
---@param opts? table
---@return wb.callbacks.ReduceLROnPlateau
---Example: wb.callbacks.ReduceLROnPlateau{factor = 0.5, patience = 2}
function M.ReduceLROnPlateau(opts)
  opts = check_opts(opts, {"monitor", "factor", "patience", "mode", "min_delta",
    "cooldown", "min_lr", "verbose"}, "ReduceLROnPlateau")
  local factor = opts.factor or 0.1
  if type(factor) ~= "number" or factor >= 1 or factor < 0 then
    error("ReduceLROnPlateau: factor must be in [0, 1), got " .. tostring(factor), 2)
  end
  local self = setmetatable({monitor = opts.monitor or "val_loss", factor = factor,
    patience = opts.patience or 10, min_delta = opts.min_delta or 1e-4,
    cooldown = opts.cooldown or 0, min_lr = opts.min_lr or 0, verbose = opts.verbose},
    ReduceLR)
  self.max = wants_max(self.monitor, opts.mode, "ReduceLROnPlateau")
  return self
end

function ReduceLR:on_train_begin(model)
  check_begin(model, "on_train_begin")
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
  if current == nil then return end
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

-- }====================
-- {==================== CSVLogger ====================

local CSVLogger = {}
CSVLogger.__index = CSVLogger
CSVLogger.__name = "wb.callbacks.CSVLogger"

---wb.callbacks.CSVLogger(filename, opts) -> wb.callbacks.CSVLogger
---Writes one CSV row per epoch to filename: header "epoch,<sorted log
---keys>", flushed after each row. opts: separator (","), append (false).
---Also CSVLogger{filename, separator =, append =}.
---@param filename string|table
---@param opts? table
---@return wb.callbacks.CSVLogger
---Example: wb.callbacks.CSVLogger("plots/lab/log.csv")
function M.CSVLogger(filename, opts)
  args.check("CSVLogger", 1, filename, "string|table")
  if type(filename) == "table" then
    opts, filename = filename, filename[1] or filename.filename
    opts = {separator = opts.separator, append = opts.append}
  end
  opts = check_opts(opts, {"separator", "append"}, "CSVLogger", 2)
  if type(filename) ~= "string" then error("CSVLogger: filename (a string) is required", 2) end
  return setmetatable({filename = filename, sep = opts.separator or ",",
    append = opts.append == true}, CSVLogger)
end

function CSVLogger:on_train_begin(model)
  check_begin(model, "on_train_begin")
  if self.file then self.file:close(); self.file = nil end -- a run that raised
  self.model = model
  self.header = true
  if self.append then
    local f = io.open(self.filename, "r")
    if f then
      self.header = (f:read("l") or "") == ""
      f:close()
    end
  end
  local f, err = io.open(self.filename, self.append and "a" or "w")
  if not f then error("CSVLogger: " .. err, 0) end
  self.file, self.keys = f, nil
end

local function csv_value(v)
  if v == nil then return "NA" end
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" then return string.format("%.10g", v) end
  return tostring(v)
end

---wb.callbacks.CSVLogger:on_epoch_end(epoch, logs)
---Called by fit after each epoch: appends the epoch's row.
---@param epoch integer
---@param logs table
---Example: cb:on_epoch_end(1, {loss = 0.5}) -- fit does this
function CSVLogger:on_epoch_end(epoch, logs)
  check_epoch(epoch, logs, "on_epoch_end")
  if not self.keys then
    local keys = {}
    for k, v in pairs(logs) do if type(v) == "number" then keys[#keys + 1] = k end end
    table.sort(keys)
    self.keys = keys
    if self.header then
      self.file:write("epoch", self.sep, table.concat(keys, self.sep), "\n")
    end
  end
  local row = {tostring(epoch)}
  for i, k in ipairs(self.keys) do row[i + 1] = csv_value(logs[k]) end
  self.file:write(table.concat(row, self.sep), "\n")
  self.file:flush()
end

---wb.callbacks.CSVLogger:on_train_end()
---Called by fit at the end: closes the file.
---Example: cb:on_train_end() -- fit does this
function CSVLogger:on_train_end()
  if self.file then self.file:close(); self.file = nil end
end

-- }====================
-- {==================== Lambda ====================

---wb.callbacks.Lambda{on_train_begin, on_epoch_begin, on_epoch_end, on_train_end} -> table
---A callback from plain functions called without self (Keras
---LambdaCallback): on_epoch_end = function(epoch, logs) ... end, etc.
---@param fns? table
---@return table
---Example: wb.callbacks.Lambda{on_epoch_end = function(e, logs) print(e, logs.loss) end}
function M.Lambda(fns)
  fns = check_opts(fns, {"on_train_begin", "on_epoch_begin", "on_epoch_end",
    "on_train_end"}, "Lambda")
  local cb = {}
  for name, f in pairs(fns) do
    cb[name] = function(_, ...) return f(...) end
  end
  return cb
end

-- }====================

return M
