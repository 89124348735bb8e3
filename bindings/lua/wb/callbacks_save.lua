-- wb/callbacks_save.lua: ModelCheckpoint (Keras 3, KERAS.md 17), the
-- callback that saves the model; CSVLogger is in wb/callbacks_csv.lua.
-- Part of wb.callbacks (loaded by wb/callbacks.lua).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local M = wb.callbacks

local check_opts, check_begin, check_epoch = M._check_opts, M._check_begin, M._check_epoch
local wants_max, monitor_value = M._wants_max, M._monitor_value
-- a refusal of what the user wrote: one line at the caller's, no traceback
local fail = args.input_fail

-- {==================== ModelCheckpoint ====================

local ModelCheckpoint = {}
ModelCheckpoint.__name = "wb.callbacks.ModelCheckpoint"
-- its state; its options (monitor, mode, save_best_only, the threshold: what its best means,
-- checked on resume; the others may change); what they make (save_freq: its own step hook)
M._strict(ModelCheckpoint, {"model", "best", "pending", "pending_step", "last_saved"},
  {"filepath", "monitor", "save_best_only", "save_weights_only", "mode", "save_state", "tag",
  "verbose", "save_freq", threshold = "initial_value_threshold"}, {fields = "filepath",
  max = "mode", on_train_batch_end = "save_freq"}, {"filepath", "save_weights_only",
  "save_state", "tag", "verbose", "save_freq"})
ModelCheckpoint._make = function(o) return M.ModelCheckpoint(o) end

-- "{epoch}", "{epoch:02d}", "{val_loss:.4f}": Python-style fields filled
-- from the epoch number and the logs.
local FIELD = "{([^{}]*)}"

-- A field's name and format spec ("val_loss:.4f" -> "val_loss", ".4f"); nil
-- when it is no field.
local function parse_field(inner)
  local key, spec = inner:match("^([%a_][%w_]*):(.*)$")
  if key then return key, spec end
  key = inner:match("^([%a_][%w_]*)$")
  return key, key and ""
end

-- A spec is Python's (wb/pyformat.lua): one str.format refuses was written
-- into the name ("{epoch:%n}" saved "e%nd", audit X16k). The fields that
-- are integers; the logs' others are floats, as in Keras.
local pyformat = require "wb.pyformat"
local INT_FIELDS = {epoch = true, step = true, batch_size = true}

-- A bare field is Python's str() as Keras writes it: an integer's digits, a
-- float's repr (2.287351734193483; it was "%.4g", 2.287, so two epochs
-- whose losses agreed to 4 digits wrote one file, the later over the other).
local function format_field(v, spec, key)
  if spec == "" and math.type(v) == "integer" then return tostring(v) end
  local ok, s = pcall(pyformat.format, v, spec)
  if not ok then
    error(string.format("ModelCheckpoint: filepath field {%s:%s}: %s", key, spec, s), 0)
  end
  return s
end

local function format_path(pattern, epoch, logs)
  return (pattern:gsub(FIELD, function(inner)
    local key, spec = parse_field(inner)
    local v = key == "epoch" and epoch or logs[key]
    if type(v) ~= "number" then
      local keys = {"epoch"}
      for k, x in pairs(logs) do
        if type(x) == "number" and k ~= "epoch" then keys[#keys + 1] = k end
      end
      table.sort(keys)
      error(string.format("ModelCheckpoint: filepath field {%s} is not in the logs "
        .. "(available: %s)", key, table.concat(keys, ", ")), 0)
    end
    return format_field(v, spec, key)
  end))
end

-- The filepath's fields checked when the callback is made: each spec must
-- format a number, and a brace outside a field would stay in the name.
local function check_fields(path)
  local fields = {}
  for inner in path:gmatch(FIELD) do
    local key, spec = parse_field(inner)
    if not key then
      fail(string.format("ModelCheckpoint: filepath field {%s} is no {name} or "
        .. "{name:spec} (names: epoch and the logs' keys)", inner), 3)
    end
    local why = spec ~= "" and pyformat.check(spec, INT_FIELDS[key] and "int" or "float")
    if why then
      fail(string.format("ModelCheckpoint: filepath field {%s:%s}: '%s' is no number "
        .. "format (%s%s); Python's format spec: %s", key, spec, spec, why,
        INT_FIELDS[key] and "" or string.format(", {%s} is a float: .0f writes no decimals",
        key), pyformat.ACCEPTED), 3)
    end
    fields[#fields + 1] = key
  end
  if path:gsub(FIELD, ""):find("[{}]") then
    fail(string.format("ModelCheckpoint: filepath %q has a brace outside a field "
      .. "{name} or {name:spec} (names: epoch and the logs' keys)", path), 3)
  end
  return fields
end

M._format_path = format_path

---wb.callbacks.ModelCheckpoint{filepath, ...} -> wb.callbacks.ModelCheckpoint
---Options: filepath, monitor, save_best_only, save_weights_only, mode,
---initial_value_threshold, save_state, tag, verbose, save_freq.
---Also ModelCheckpoint(filepath, opts), as Keras's
---ModelCheckpoint(filepath, save_best_only = True, ...) reads.
---Saves the model after every epoch to filepath (required; may be the first
---list element; missing folders are created), whose "{epoch}", "{epoch:02d}",
---"{val_loss:.4f}" fields are filled from the epoch and the logs (a field
---fit's logs will not have, e.g. {val_loss} without validation, is an error
---before training; a bad spec or a stray brace, when made). save_best_only
---(false): only when monitor ("val_loss") improved (mode "auto", "min", "max";
---beyond initial_value_threshold if given; verbose (false): print each new
---best saved; these four only with it; the best so far carries over to the
---next fit of the same model, as Keras's, and starts afresh for another).
---save_weights_only (false): weights without the architecture
---(model:save_weights). save_state (false): the full
---training state (model:save_state: weights, optimizer, RNG, history, callback
---state), written atomically after all the callbacks' on_epoch_end so that
---fit{resume = file} continues bit for bit; tag: a string kept in that file
---(save_state's tag). save_freq ("epoch"): or k, save every k-th step (counted
---over the fit, from 1) instead of at epoch ends (Keras); with save_state,
---fit{resume} then goes on inside the epoch bit for bit (with instruments an
---error when fit starts; "{epoch}" and the step logs' keys, "{step}", fill the path).
---@param opts table|string
---@param more? table
---@return wb.callbacks.ModelCheckpoint
---Example: wb.callbacks.ModelCheckpoint{"ckpt/e{epoch:02d}.safetensors", save_best_only = true}
function M.ModelCheckpoint(opts, more)
  args.check("ModelCheckpoint", 1, opts, "table|string")
  -- ModelCheckpoint(filepath, opts): the options were ignored without a
  -- word (save_best_only = true saved every epoch, the file held the last)
  if type(opts) == "string" then
    args.opt("ModelCheckpoint", 2, more, "table")
    local o = {}
    for k, v in pairs(more or {}) do o[k] = v end
    if o.filepath ~= nil or o[1] ~= nil then
      fail("ModelCheckpoint: filepath given twice (argument 1 and in the options); give "
        .. "it once", 2)
    end
    o.filepath, opts = opts, o
  elseif more ~= nil then
    fail(string.format("bad argument #2 to 'ModelCheckpoint' (nothing expected after an "
      .. "options table: ModelCheckpoint{filepath, ...} or ModelCheckpoint(filepath, opts), "
      .. "got %s)", args.typename(more)), 2)
  end
  if opts[1] and not opts.filepath then opts.filepath, opts[1] = opts[1], nil end
  opts = check_opts(opts, {"filepath", "monitor", "save_best_only", "save_weights_only",
    "mode", "initial_value_threshold", "save_state", "tag", "verbose", "save_freq"},
    "ModelCheckpoint", 1, {monitor = "string", save_best_only = "boolean",
    save_weights_only = "boolean", initial_value_threshold = "number",
    save_state = "boolean", verbose = "verbose"})
  local freq = opts.save_freq
  if freq ~= nil and freq ~= "epoch" and not (math.type(freq) == "integer" and freq > 0) then
    fail("ModelCheckpoint: save_freq must be 'epoch' or a number of steps (an integer > 0), "
      .. "got " .. tostring(freq), 2)
  end
  if math.type(freq) == "integer" and opts.save_best_only then
    fail("ModelCheckpoint: save_best_only compares epochs: give it without save_freq", 2)
  end
  if type(opts.filepath) ~= "string" then
    fail("ModelCheckpoint: filepath (a string) is required", 2)
  end
  local fields = check_fields(opts.filepath)
  if opts.save_state and opts.save_weights_only then
    fail("ModelCheckpoint: save_state and save_weights_only exclude each other", 2)
  end
  if opts.tag ~= nil and (type(opts.tag) ~= "string" or not opts.save_state) then
    fail("ModelCheckpoint: tag must be a string, given with save_state = true", 2)
  end
  -- what its best is, and the report of a new best saved (verbose; false
  -- asks for the silence there is): read only with save_best_only; without
  -- it a file was written every epoch, as if they were not given (audit tryW, finding 4)
  for _, k in ipairs{"monitor", "mode", "initial_value_threshold", "verbose"} do
    local given = k == "verbose" and M._is_verbose(opts[k]) or k ~= "verbose" and opts[k] ~= nil
    if given and not opts.save_best_only then
      fail(string.format("ModelCheckpoint: %s is given with save_best_only = true (it says "
        .. "%s); without it every epoch is saved: give save_best_only = true, or drop %s", k,
        k == "verbose" and "when a new best is saved" or "which epoch is the best to save", k), 2)
    end
  end
  local monitor, steps = opts.monitor or "val_loss", math.type(freq) == "integer"
  return M._new(ModelCheckpoint, {filepath = opts.filepath, monitor = monitor,
    save_best_only = opts.save_best_only == true, mode = opts.mode or "auto",
    save_weights_only = opts.save_weights_only == true, save_state = opts.save_state == true,
    tag = opts.tag, threshold = opts.initial_value_threshold,
    verbose = M._is_verbose(opts.verbose), fields = fields, save_freq = steps and freq or nil,
    max = wants_max(monitor, opts.mode, "ModelCheckpoint"),
    on_train_batch_end = steps and ModelCheckpoint._batch_end or nil}, opts)
end

-- save_freq = k: every k-th step (global), at the clean point after the
-- step (fit calls _after_batch_end there), as Keras's save_freq = k; no
-- save at the epoch ends then.
function ModelCheckpoint:_batch_end(step, logs)
  if step % self.save_freq ~= 0 then return end
  self.pending_step = format_path(self.filepath, logs.epoch, logs)
  rawset(self.model, "_fit_save_mid", true)
end

function ModelCheckpoint:_after_batch_end()
  local path = self.pending_step
  self.pending_step = nil
  if path then self:_write(path) end
end

-- Write the checkpoint at path (its folder made first) in the kind asked
-- for: the training state, the weights, or the model.
function ModelCheckpoint:_write(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" and wb.sys and wb.sys.mkdir_p then wb.sys.mkdir_p(dir) end
  if self.save_state then self.model:save_state(path, {tag = self.tag})
  elseif self.save_weights_only then self.model:save_weights(path)
  else self.model:save(path) end
  self.last_saved = path
end

-- A failure to reach the checkpoints' folder, raised as fit's error with
-- its code (ECREATE: exit status 73), naming the callback.
local function unreachable(e, path, why)
  error(wb.Error{code = wb.is_error(e) and e.code or "ECREATE", path = path,
    message = "ModelCheckpoint: " .. (why or "") .. (wb.is_error(e) and e.message
      or tostring(e))}, 0)
end

-- The folder the checkpoints go to (up to filepath's first field) made and
-- written to once when training begins, and a filepath that is a folder
-- refused: both failed only at the first save, after an epoch of training.
local function check_target(pattern)
  local fixed = pattern:match("^[^{]*")
  local dir = fixed:match("^(.*)/") or "."
  if dir == "" then dir = "/" end
  local ok, e = pcall(wb.sys.mkdir_p, dir)
  if not ok then unreachable(e, dir) end
  if fixed == pattern and pcall(wb.sys.listdir, pattern) then
    unreachable("filepath " .. pattern .. " is a folder, expected a file name", pattern)
  end
  local probe = string.format("%s/.wb-checkpoint-probe-%d", dir, wb.sys.getpid())
  ok, e = pcall(wb.sys.write_atomic, probe, "")
  os.remove(probe)
  if not ok then unreachable(e, dir, "cannot write into folder " .. dir .. ": ") end
end

function ModelCheckpoint:on_train_begin(model)
  check_begin(model, "on_train_begin")
  check_target(self.filepath)
  M._check_log_keys(self, model, self.fields, "filepath field {%s}", self.save_freq ~= nil, true)
  require("wb.state_mid").check_mid(self, rawget(model, "_fit_callbacks"))
  if self.save_best_only then M._check_log_keys(self, model, {self.monitor}, "monitor '%s'") end
  -- the best carries over to another fit of the same model, as Keras's (set
  -- once when made): a second fit's first epoch, worse, overwrote the best
  -- file (audit Y3); another model starts afresh
  if rawget(self, "model") ~= model or self.best == nil then
    self.best = self.threshold or (self.max and -math.huge or math.huge)
  end
  self.model = model
  self.pending, self.pending_step = nil, nil -- a failed fit's: not this one's to write
end

function ModelCheckpoint:get_state() return {best = self.best} end
function ModelCheckpoint:set_state(st)
  args.check("set_state", 1, st, "table")
  self.best = st.best
end

function ModelCheckpoint:_save(path)
  if self.save_state then self.pending = path; return end -- see _after_epoch_end
  self:_write(path)
end

-- Called by fit after every callback's on_epoch_end (a private hook): the
-- training state is complete only then (EarlyStopping's counters, a stop);
-- so is a save_freq save asked for at a step that stopped (ended) the epoch.
function ModelCheckpoint:_after_epoch_end()
  local path = self.pending or self.pending_step
  if not path then return end
  self.pending, self.pending_step = nil, nil
  self:_write(path)
end

---wb.callbacks.ModelCheckpoint:on_epoch_end(epoch, logs)
---Called by fit after each epoch: saves the model (or its weights) when the
---options say so.
---@param epoch integer
---@param logs table
---Example: cb:on_epoch_end(1, {val_loss = 0.2}) -- fit does this
function ModelCheckpoint:on_epoch_end(epoch, logs)
  check_epoch(epoch, logs, "on_epoch_end")
  if self.save_freq then return end -- saves every save_freq steps instead
  local path = format_path(self.filepath, epoch, logs)
  if not self.save_best_only then return self:_save(path) end
  local current = monitor_value(logs, self.monitor, "ModelCheckpoint")
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

-- no return value: a traceback names these functions after wb.callbacks, not this file
