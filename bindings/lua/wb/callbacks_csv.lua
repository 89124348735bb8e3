-- wb/callbacks_csv.lua: CSVLogger (Keras 3, KERAS.md 19), the callback
-- that writes a CSV row per epoch. Part of wb.callbacks (loaded by
-- wb/callbacks.lua).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local util = require "wb.util"
local M = wb.callbacks

local check_opts, check_begin, check_epoch = M._check_opts, M._check_begin, M._check_epoch

-- A file operation's result checked (audit X18: on a full disk the log was
-- left empty and the fit said nothing): a failed write, flush or close is
-- EIO (exit 74) naming the file; the file is closed first.
local function checked(self, ok, err)
  if ok then return end
  if self.file then pcall(self.file.close, self.file); self.file = nil end
  wb.sys.fail("EIO", string.format("CSVLogger: %s: %s", self.filename, tostring(err)))
end

-- {==================== CSVLogger ====================

local CSVLogger = {}
CSVLogger.__name = "wb.callbacks.CSVLogger"
M._strict(CSVLogger, {"model", "file", "header", "found", "keys", "prior"}, {"filename", "append",
  sep = "separator"}, {})
CSVLogger._make = function(o) return M.CSVLogger(o) end

---wb.callbacks.CSVLogger(filename, opts) -> wb.callbacks.CSVLogger
---Writes one CSV row per epoch to filename: header "epoch,<sorted log
---keys>", flushed after each row; the epoch column counts from 1, as
---everywhere here (Keras's CSVLogger writes 0 for the first epoch: its
---rows are one lower); a resumed fit (fit{resume}) writes the
---saved epochs' rows (from its history) first. Numbers read back as the
---same doubles (up to 17 digits; pandas: read_csv(filename, float_precision =
---"round_trip")), a missing value is NA. opts: separator (","),
---append (false: the file is written anew; true: rows go after the
---file's, under its header, which must be this fit's own, the same
---columns and separator: another is an error at the first epoch's end).
---Also CSVLogger{filename, separator =, append =}.
---@param filename string|table
---@param opts? table
---@return wb.callbacks.CSVLogger
---Example: wb.callbacks.CSVLogger("plots/lab/log.csv")
function M.CSVLogger(filename, opts)
  args.check("CSVLogger", 1, filename, "string|table")
  if type(filename) == "table" then
    -- its other keys were dropped unread (seperator = ";" wrote commas), and
    -- so were a second argument's options and a filename given twice
    local t = filename
    if opts ~= nil then
      args.input_fail(string.format("bad argument #2 to 'CSVLogger' (nothing expected after an "
        .. "options table: CSVLogger{filename, ...} or CSVLogger(filename, opts), got %s)",
        args.typename(opts)), 2)
    end
    if t[1] ~= nil and t.filename ~= nil then
      args.input_fail("CSVLogger: filename given twice (its first element and filename =); "
        .. "give it once", 2)
    end
    opts = {}
    for k, v in pairs(t) do
      if k ~= 1 and k ~= "filename" then opts[k] = v end
    end
    filename = t[1] or t.filename
  end
  opts = check_opts(opts, {"separator", "append"}, "CSVLogger", 2,
    {separator = "string", append = "boolean"})
  if type(filename) ~= "string" then
    args.input_fail("CSVLogger: filename (a string) is required", 2)
  end
  return M._new(CSVLogger, {filename = filename, sep = opts.separator or ",",
    append = opts.append == true}, {filename = filename, separator = opts.separator,
    append = opts.append})
end

function CSVLogger:on_train_begin(model)
  check_begin(model, "on_train_begin")
  if self.file then self.file:close(); self.file = nil end -- a run that raised
  self.model = model
  self.header, self.found = true, nil
  if self.append then
    local f = io.open(self.filename, "r")
    if f then
      self.found = f:read("l") or ""
      self.header = self.found == ""
      f:close()
    end
  end
  local f, err = io.open(self.filename, self.append and "a" or "w")
  if not f then error("CSVLogger: " .. err, 0) end
  self.file, self.keys = f, nil
  -- a resumed fit (fit{resume}) starts with the saved epochs in its history:
  -- a new file gets their rows first, as the uninterrupted fit wrote them
  local h = model.history
  self.prior = not self.append and type(h) == "table" and (h.epochs or 0) > 0
    and {history = h, epochs = h.epochs} or nil -- h fills on: its count now
end

local function csv_value(v)
  if v == nil then return "NA" end
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" then return util.number_text(v) end -- reads back exactly
  return tostring(v)
end

-- The header (unless appending to a file that has one) and the rows of the
-- epochs a resumed fit starts with.
local function start(self, keys)
  self.keys = keys
  local header = "epoch" .. self.sep .. table.concat(keys, self.sep)
  -- appending under another header misaligns every row (audit X7: a fit
  -- with validation appended 9 fields under a header of 7; pandas refused
  -- the file, a reader by position took the wrong numbers): refused
  if not self.header and self.found ~= header then
    self.file:close(); self.file = nil
    error(string.format("CSVLogger: %s starts with the header %q, but this fit's columns are "
      .. "%q (separator %q): appended rows would not be under their names; log to a new "
      .. "file, or append only fits with the same logs", self.filename, self.found, header,
      self.sep), 0)
  end
  if self.header then checked(self, self.file:write(header, "\n")) end
  local p = self.prior
  local first = p and rawget(p.history, "initial_epoch") or 0 -- fit{initial_epoch}'s numbers
  for e = 1, p and p.epochs or 0 do
    local row = {tostring(first + e)}
    for i, k in ipairs(keys) do
      row[i + 1] = csv_value(type(p.history[k]) == "table" and p.history[k][e] or nil)
    end
    checked(self, self.file:write(table.concat(row, self.sep), "\n"))
  end
  self.prior = nil
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
    start(self, keys)
  end
  local row = {tostring(epoch)}
  for i, k in ipairs(self.keys) do row[i + 1] = csv_value(logs[k]) end
  checked(self, self.file:write(table.concat(row, self.sep), "\n"))
  checked(self, self.file:flush())
end

---wb.callbacks.CSVLogger:on_train_end()
---Called by fit at the end: closes the file (after the saved epochs' rows
---when a resumed fit trained none: it was stopped, or at its last epoch).
---Example: cb:on_train_end() -- fit does this
function CSVLogger:on_train_end()
  local p = self.prior
  if p and self.file then -- the epoch series of the history (not steps)
    local keys = {}
    for k, v in pairs(p.history) do
      if type(k) == "string" and type(v) == "table" and type(v[1]) == "number" then
        keys[#keys + 1] = k
      end
    end
    table.sort(keys)
    start(self, keys)
  end
  if self.file then
    local f = self.file
    self.file = nil
    checked(self, f:close())
  end
end

-- }====================

-- no return value: a traceback names these functions after wb.callbacks, not this file
