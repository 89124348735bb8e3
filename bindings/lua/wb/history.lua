-- wb/history.lua: wb.History, the per-epoch logs a fit returns (Keras's
-- History callback, always attached). fit.lua fills it; the experiment
-- runner stores it in run records.
local _ENV = require "wb.std"
local History = {}
History.__name = "wb.History"
History.__methods = History -- for the REPL's Tab (which never calls __index)

-- Set by fit or a callback when they apply (absent until then): reading
-- one gives nil. Reading another name this history lacks is an error
-- (h.val_los was nil: a typo in a script's analysis printed nothing or
-- compared with nil).
History.__fields = {stopped_epoch = true, best_epoch = true, steps = true,
  initial_epoch = true, -- fit{initial_epoch = k}: its first entry is epoch k + 1
  instruments = true, stopped = true, -- stopped: a divergence's message (wb/fit_loop.lua)
  weights_epoch = true, weights_changed_by = true, -- wb/state_fit.lua
  lr_changes = true, optimizer_resets = true} -- wb/fit_loop.lua, wb/fit_hooks.lua

-- Keras's names for what is here under another name.
local KERAS = {
  history = "a wb.History is Keras's History.history itself: h.loss, h.val_loss, ...",
  epoch = "h.epochs is the number of epochs run; h.loss[i] is epoch i, or epoch "
    .. "h.initial_epoch + i after fit{initial_epoch = k}, which sets h.initial_epoch = k "
    .. "(Keras's History.epoch lists the epochs' numbers, from 0)",
  acc = "accuracy is h.accuracy (Keras before 2.3 called it acc)",
  val_acc = "validation accuracy is h.val_accuracy (Keras before 2.3 called it val_acc)",
  learning_rate = "each epoch's learning rate is h.lr (its first step's; Keras 3's "
    .. "LearningRateScheduler and ReduceLROnPlateau log it as learning_rate)",
  -- a pandas or matplotlib habit: the history is data; figures are wb.plot's
  plot = "a history holds data; draw a series with wb.plot.lines{series = {{label = "
    .. "\"loss\", y = h.loss}}}:show() (help(wb.plot.lines)); an experiment's run "
    .. "draws its own: run:plot(\"loss\")"}

local SERIES = {"loss", "accuracy", "data_loss", "reg_loss", "epoch_time", "lr"}
local VAL_SERIES = {"val_loss", "val_accuracy"}
-- Every per-epoch series, for what checks a stored history (a run record:
-- wb/record.lua; a state file: wb/state_fit.lua)
History._SERIES = table.move(VAL_SERIES, 1, #VAL_SERIES, #SERIES + 1, table.move(SERIES, 1,
  #SERIES, 1, {}))
local SERIES_SET = {}
for _, k in ipairs(History._SERIES) do SERIES_SET[k] = true end

---wb.History
---Per-epoch logs of a fit: series loss, accuracy, val_loss, val_accuracy
---(empty without validation), data_loss, reg_loss (the L2 share of loss),
---epoch_time (seconds; of an epoch a resume began inside, the part after
---the resume: its state holds no clock), lr (the lr of the epoch's first step), one entry
---per epoch run; epochs (count); initial_epoch (k) after fit{initial_epoch = k}:
---h.loss[i] is then epoch k + i, while best_epoch, stopped_epoch and
---weights_epoch are epoch numbers, as the callbacks' (Keras's History too
---holds the epochs run only); stopped_epoch and best_epoch when fit or
---EarlyStopping set them; lr_changes when a batch hook set the optimizer's
---lr (only lr is writable) and a step used it: columns {step = {...}, epoch
---= {...}, lr = {...}}, row i (h.lr_changes.step[i], .epoch[i], .lr[i])
---one change: the first step using that lr, the epoch whose hook set it,
---the lr (an epoch hook's change is in lr; an lr no step used, replaced
---before the next step or set after the fit's last, is no row: the
---optimizer keeps it); optimizer_resets when a hook reset the optimizer's
---state (opt:reset() or opt:set_state; a fresh optimizer's reset changes
---nothing): columns {step = {...}, epoch = {...}}, row i the last step
---before it and the epoch whose hook did it (an on_train_begin hook's: the
---fit's first), one row per reset (resets between the same two steps are
---one: the state starts over once); both absent when there is no row;
---weights_epoch: the epoch whose end-of-epoch weights
---fit left in the model (the last one; EarlyStopping's best epoch when it
---restored it: loss and val_loss stay the last epoch's, as Keras's), nil
---when an on_train_end hook, or an on_epoch_end hook of the last epoch
---(after its val_loss was measured), set weights of no epoch, which
---weights_changed_by then names; with fit's
---log_every = k, steps: the step series {step = {k, 2k, ...}, epoch, loss,
---accuracy, lr, batch_size, and what per-step hooks wrote into their logs}
---(the step's own values, not epoch means; NaN, which Lua prints -nan on
---x86, at a recorded step where a hook did not write its key); with fit's instruments, the
---instruments' step series join history.steps and history.instruments
---holds their names, every, grad_hist's counts, seconds and calls per
---instrument (help(wb.instruments)). tostring gives the last values.
---A number an on_epoch_end hook puts in its logs is a series too (as in
---Keras; not under one of fit's names: val_loss in a fit without validation
---is an error; NaN at the epochs before its first and at one it skipped, so
---that #h.k and h:last count every epoch up to its last); reading a name the history lacks is an error naming the nearest,
---and so is setting one near its names (h.val_los = ...). A value fit
---recorded (an epoch's, a step's row) that a hook changes, removes or
---moves (h.loss[1] = 0.5, table.remove(h.val_loss)) is an error naming the
---hook, the series, the index and both values, and so is a hook's write of
---best_epoch, stopped_epoch, weights_epoch, stopped (a divergence's
---message), instruments (its table, entries and names), lr_changes, optimizer_resets or steps (their entries, or the
---table where fit recorded none), from on_train_begin on: what a run
---records is what training measured; a number of yours goes under a name
---of its own.
---Example: local h = m:fit(d.train, {epochs = 3, log_every = 100})
---  print(h.loss[3], h:last("accuracy"), h.steps.step[1], h.steps.loss[1])

-- h.k: a method, a series or field it has, a field of __fields (nil until
-- set), else an error naming the nearest of its names.
function History.__index(h, k)
  local v = History[k]
  if v ~= nil or History.__fields[k] then return v end
  local spec_keys = require "wb.spec_keys"
  if KERAS[k] then error(string.format("wb.History has no field '%s': %s", k, KERAS[k]), 2) end
  error(spec_keys.no_field("wb.History", k, History, h), 2)
end

-- h.k = v for a name h lacks: a field of __fields, or a name of the
-- user's own (h.note = ..., a series of one's own) is set; a method's name
-- or a name near one of its series or fields (h.val_los = ..., h.stoped_epoch
-- = ...: kept unread, while the real one stayed as it was) is an error naming
-- the nearest. The library's series (a number a hook put in its logs, a
-- history read back) are set with rawset: their names are their own.
function History.__newindex(h, k, v)
  local names = {}
  for n in pairs(History.__fields) do names[n] = true end
  for n in pairs(h) do names[n] = true end
  local why = require("wb.spec_keys").bad_write("wb.History", k, {__fields = names,
    __methods = History}, "h")
  if why then error(why, 2) end
  rawset(h, k, v)
end

-- An empty History (every series present, so #h.val_loss is always valid).
function History.new()
  local h = {epochs = 0}
  for _, k in ipairs(SERIES) do h[k] = {} end
  for _, k in ipairs(VAL_SERIES) do h[k] = {} end
  return setmetatable(h, History)
end

local function shown(v)
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

-- Why series k of h is not a list of numbers of at most n epochs (holes
-- allowed: a hook's own series may start late), or nil. A hook can reach
-- the lists (model.history.loss[1] = "x"), which no __newindex sees.
local function bad_series(h, k, n)
  local s = rawget(h, k)
  if type(s) ~= "table" or getmetatable(s) ~= nil then
    return string.format("is a %s (%s), not a list of numbers (one per epoch)", type(s),
      shown(s))
  end
  for i, v in next, s do
    if type(v) ~= "number" then
      return string.format("holds a %s (%s) at %s: a series holds numbers only", type(v),
        shown(v), math.type(i) == "integer" and "epoch " .. i or "key " .. shown(i))
    end
    if math.type(i) ~= "integer" or i < 1 or i > n then
      return string.format("has a key %s: a list of numbers, one per epoch 1..%d, expected",
        shown(i), n)
    end
  end
end

-- Append one epoch's logs, after a check that each series it has so far
-- holds numbers only (a hook's string or table in one was kept, then made
-- the run's record refused when read back, and its run retrained).
function History:_record(logs)
  local n = self.epochs
  local names = table.move(History._SERIES, 1, #History._SERIES, 1, {})
  for k in pairs(logs) do if rawget(self, k) ~= nil then names[#names + 1] = k end end
  for _, k in ipairs(names) do
    local why = bad_series(self, k, n)
    if why then
      error(string.format("fit: epoch %d: the history's series '%s' %s (a hook changed it)",
        n + 1, k, why), 0)
    end
  end
  self.epochs = n + 1
  for k, v in pairs(logs) do
    if type(v) == "number" then
      local s = rawget(self, k)
      if not s then s = {}; rawset(self, k, s) end
      -- a hook's series begun after epoch 1 (or skipping one) held nil
      -- there, so #s and h:last saw nothing: NaN, as a step series's gap
      -- and as a resumed history (its state file) holds it
      for i = 1, n do if s[i] == nil then s[i] = 0 / 0 end end
      s[self.epochs] = v
    end
  end
end

-- The number of the last epoch the history holds (0: none): epochs, after
-- initial_epoch when fit{initial_epoch = k} began it (state files, weights_epoch).
function History._last_epoch(h)
  return (rawget(h, "initial_epoch") or 0) + rawget(h, "epochs")
end

---wb.History:last(key) -> number|nil
---The last value of a series (nil when it is empty); a name that is not a
---series of this history is an error naming the nearest, and so is a
---series that is not a list (h.val_loss = "x") or whose last entry is not
---a number.
---@param key string
---@return number|nil
---Example: print(h:last("val_loss"))
function History:last(key)
  require("wb.args").self(History, self, "last", "h") -- h.last("loss"): said
  local s = rawget(self, key)
  if s ~= nil and type(s) ~= "table" and SERIES_SET[key] then
    error(string.format("wb.History: series '%s' is a %s (%s), not a list of numbers", key,
      type(s), shown(s)), 2)
  end
  if type(s) ~= "table" then
    if History.__fields[key] then return nil end -- not set
    local why = KERAS[key] and string.format("wb.History has no series '%s': %s", key,
      KERAS[key]) or require("wb.spec_keys").no_field("wb.History", key, History, self)
    error((why:gsub("has no field", "has no series", 1)), 2)
  end
  local v = s[#s]
  if v ~= nil and type(v) ~= "number" then
    error(string.format("wb.History: series '%s' holds a %s (%s) at epoch %d, not a number",
      key, type(v), shown(v), #s), 2)
  end
  return v
end

function History:__tostring()
  local parts = {string.format("History(%d epoch%s", self.epochs, self.epochs == 1 and "" or "s")}
  for _, k in ipairs({"loss", "accuracy", "val_loss", "val_accuracy"}) do
    local v = self:last(k)
    if v then parts[#parts + 1] = string.format("%s %.4f", k, v) end
  end
  if self.stopped_epoch then parts[#parts + 1] = "stopped at " .. self.stopped_epoch end
  return table.concat(parts, ", ") .. ")"
end

return History
