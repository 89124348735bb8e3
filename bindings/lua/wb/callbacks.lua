-- wb/callbacks.lua: wb.callbacks: the callback protocol, the helpers the
-- callback classes share, and Lambda (Keras 3 semantics, KERAS.md 16-19).
-- EarlyStopping and ReduceLROnPlateau are in wb/callbacks_monitor.lua,
-- ModelCheckpoint and CSVLogger in wb/callbacks_save.lua.
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

M._check_opts, M._check_begin, M._check_epoch = check_opts, check_begin, check_epoch
M._monitor_value = monitor_value

require "wb.callbacks_monitor"
require "wb.callbacks_save"

return M
