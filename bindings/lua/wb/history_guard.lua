-- wb/history_guard.lua: fit's private copy of what it recorded in a
-- history, compared with the history after each kind of hook. Private to
-- wb/fit.lua and wb/fit_loop.lua.
--
-- A hook reaches the history's lists (model.history.loss[1] = 0.5,
-- table.remove(h.val_accuracy), h.steps.loss[3] = 0): a number put in
-- place of one fit recorded passed every type check, and the run's record
-- then held a number training never produced. The copy is checked after
-- the hooks of each stage (on_train_begin, on_epoch_begin, the batch hooks
-- of an epoch, on_epoch_end, on_train_end). Cost: the per-epoch series are
-- compared in full (one entry per epoch each); of the step series
-- (history.steps, thousands of rows), the lengths of all and the rows
-- added since the last check are compared, and all rows only before and
-- after on_train_end and when training diverged: each row is compared a
-- bounded number of times, and never at a step. A step's row is copied as
-- fit records it (one C walk more, wb/fit_loop.lua), so a batch hook that
-- changed a row of its own epoch is seen too.
--
-- A series of a hook's own (a number its logs held, a list it set:
-- history.my_metric = {...}) may be added; what fit recorded in one from
-- the logs stays as recorded, as fit's own series.
--
-- fit's fields (FIELDS: best_epoch, stopped_epoch, weights_epoch, ...) are
-- set by fit and wb's EarlyStopping through M.set, and the rows of its logs
-- (LOGS: lr_changes, optimizer_resets) appended through M.append, both
-- compared at each check as the series are (one fit has not recorded, or
-- history.steps without a step series, a hook must not add);
-- history.instruments is fit's instruments' table, kept as they set it
-- (M.set_instruments), before any other hook runs (its every, names and the
-- tables it fills: compared by identity, not their entries, which the
-- instruments add to at their steps).
local _ENV = require "wb.std"
local M = {}
M.__index = M

local type, rawget, rawlen = type, rawget, rawlen
local first_diff = require("wb").instruments._first_diff

-- Step series an instrument fills later: alpha's row is known at the next
-- step (wb/instruments_samples.lua), a NaN until then.
local DEFERRED = {alpha = true}

-- The fields of a history that fit (and wb's EarlyStopping) set, a hook
-- never: the run's record reads them (its best weights, its best epoch).
local FIELDS = {"best_epoch", "stopped_epoch", "weights_epoch", "weights_changed_by", "stopped",
  "initial_epoch"}
local of = setmetatable({}, {__mode = "k"}) -- a history -> the guard of its fit

-- h.k = v by fit, or by cb (an EarlyStopping): a write the guard of h's
-- fit expects when cb is one of that fit's callbacks (a rule a hook runs
-- on the side, as the study's patience rules, is that hook's write).
function M.set(h, k, v, cb)
  h[k] = v
  local g = of[h]
  if not g then return end
  for _, c in ipairs(cb and g.cbs or {}) do
    if c == cb then cb = nil; break end
  end
  if cb == nil then g.fields[k] = v end
end

local function copy(s)
  local c = {}
  for i, v in pairs(s) do c[i] = v end
  return c
end

-- The logs fit appends rows to (LOGS: history.lr_changes, a batch hook's
-- lr; optimizer_resets, a hook's opt:reset()), each a table of lists by
-- column: compared at each check as the series are.
local LOGS = {lr_changes = true, optimizer_resets = true}

-- Appends row (column -> value) to h[k], one of LOGS, as fit records it
-- (wb/fit_loop.lua lr_changed, wb/fit_hooks.lua check_optimizer), and to
-- the copy the guard of h's fit keeps.
function M.append(h, k, row)
  local t, g = rawget(h, k), of[h]
  if not t then t = {}; rawset(h, k, t) end
  local c = g and g.logs[k]
  if g and not c then c = {}; g.logs[k] = c end
  for col, v in pairs(row) do
    local list = t[col] or {}
    t[col], list[#list + 1] = list, v
    if c then c[col] = c[col] or {}; c[col][#c[col] + 1] = v end
  end
end

-- h.steps[k][row] = v by fit's instruments, and in the copy: an update_size
-- a move of the weights after the step changed (wb/instruments_moved.lua).
function M.amend(h, k, row, v)
  rawget(h, "steps")[k][row] = v
  local g = of[h]
  local c = g and g.steps and g.steps[k]
  if c then c[row] = v end
end

-- Removes the last row of h[k], one of LOGS, and of the guard's copy (an
-- lr change no step used: wb/fit_loop.lua lr_used); h[k] goes with its
-- last row.
function M.retract(h, k)
  local t, g = rawget(h, k), of[h]
  for _, cols in ipairs{t, g and g.logs[k] or {}} do
    for _, list in pairs(cols) do list[#list] = nil end
  end
  if #t.step == 0 then
    rawset(h, k, nil)
    if g then g.logs[k] = nil end
  end
end

-- history.instruments as the guard keeps it: the table, its entries and
-- the list of names (set once; the other tables the instruments fill).
local function keep_instruments(g, t)
  g.instr, g.instr_at = t, type(t) == "table" and copy(t) or nil
  g.instr_names = type(t) == "table" and type(t.names) == "table" and copy(t.names) or nil
end

-- h.instruments = t by fit's instruments (wb/instruments_fit.lua: a new
-- table at their on_train_begin, the saved one on a resume), kept at once.
-- Taken at the check after all on_train_begin hooks, as it was, a user's
-- on_train_begin hook's edit of it (or a table of its own holding their
-- seconds) passed for theirs.
function M.set_instruments(h, t)
  rawset(h, "instruments", t)
  local g = of[h]
  if g then keep_instruments(g, t) end
end

-- A guard of history h, model's (model.history), as it is now (a resumed
-- history holds its epochs already; fit's step series, h.steps, are there
-- when it records any); cbs: fit's callbacks.
function M.start(h, model, cbs)
  local g = setmetatable({h = h, model = model, n = rawget(h, "epochs"), epochs = {},
    rows = 0, checked = 0, fields = {}, cbs = cbs, logs = {}}, M)
  for _, k in ipairs(FIELDS) do g.fields[k] = rawget(h, k) end
  keep_instruments(g, rawget(h, "instruments"))
  of[h] = g
  for k, s in pairs(h) do
    if LOGS[k] and type(s) == "table" then -- a resumed fit's, recorded before
      g.logs[k] = {}
      for col, list in pairs(s) do g.logs[k][col] = copy(list) end
    elseif type(s) == "table" and k ~= "steps" and k ~= "instruments" then
      g.epochs[k] = copy(s)
    end
  end
  local steps = rawget(h, "steps")
  if steps then
    g.steps, g.rows = {}, rawlen(steps.step)
    for k, s in pairs(steps) do g.steps[k] = copy(s) end
    g.checked = g.rows
  end
  return g
end

-- After history:_record(logs): the numbers it appended.
function M:recorded(logs)
  local n = rawget(self.h, "epochs")
  for k, v in pairs(logs) do
    if type(v) == "number" then
      local s = self.epochs[k]
      if not s then s = {}; self.epochs[k] = s end
      local live = rawget(self.h, k)
      for i = 1, n - 1 do -- History:_record's NaN before a series's first epoch
        if s[i] == nil and live[i] ~= live[i] then s[i] = 0 / 0 end
      end
      s[n] = v
    end
  end
  self.n = n
end

-- A value for a message: the shortest decimal that reads back as it.
local function shown(v)
  if v == nil then return "nothing" end
  if type(v) ~= "number" then return string.format("%s %s", type(v), tostring(v)) end
  if v ~= v then return "nan" end
  if math.type(v) == "integer" or v == math.huge or v == -math.huge then
    return tostring(v)
  end
  for p = 15, 17 do
    local s = string.format("%." .. p .. "g", v)
    if tonumber(s) == v or p == 17 then return s end
  end
end

-- Raises when history.instruments is not fit's instruments' table with its
-- entries as they set them (M.set_instruments; who: the hooks just run).
local function check_instruments(g, who)
  local t = rawget(g.h, "instruments")
  if t ~= g.instr then
    error(string.format("fit: %s replaced history.instruments (by %s): it holds what fit's "
      .. "instruments measured; keep a table of yours under a name of its own", who,
      shown(t)), 0)
  end
  if not t then return end
  for k, v in pairs(g.instr_at) do
    if rawget(t, k) ~= v then
      error(string.format("fit: %s changed history.instruments.%s from %s to %s", who,
        tostring(k), shown(v), shown(rawget(t, k))), 0)
    end
  end
  for k, v in pairs(t) do
    if g.instr_at[k] == nil then
      error(string.format("fit: %s added history.instruments.%s (%s)", who, tostring(k),
        shown(v)), 0)
    end
  end
  local names, now = g.instr_names, t.names
  if not names then return end
  for i = 1, math.max(#names, #now) + 1 do
    if rawget(now, i) ~= names[i] then
      error(string.format("fit: %s changed history.instruments.names[%d] from %s to %s: "
        .. "the instruments fit measured", who, i, shown(names[i]), shown(rawget(now, i))), 0)
    end
  end
end

-- Raises: who set history.k (to v), which fit records and had not.
local function added(who, k, v)
  error(string.format("fit: %s added history.%s (%s), which fit records: the run's record "
    .. "would say training did what it did not; keep a table of yours under a name of its "
    .. "own", who, k, shown(v)), 0)
end

-- Raises: what who did to list s (named name) at [i], fit having recorded
-- n entries and at [i] was.
local function fail(who, name, s, i, was, n)
  local now, have, what = rawget(s, i), rawlen(s), nil
  if rawget(s, n + 1) ~= nil or (rawget(s, n) == nil and was ~= nil and i <= n) then
    local more = rawget(s, n + 1) ~= nil
    what = string.format("%s an entry %s %s (it holds %d entries, fit recorded %d; at [%d] "
      .. "fit recorded %s, it holds %s)", more and "inserted" or "removed",
      more and "into" or "of", name, have, n, i, shown(was), shown(now))
  else
    what = string.format("changed %s[%d] from %s to %s", name, i, shown(was), shown(now))
  end
  error(string.format("fit: %s %s: the history holds what training measured, and the "
    .. "run's record would hold that number instead; keep a number of yours under a name "
    .. "of its own (logs.my_x in a hook, or history.my_x = {...})", who, what), 0)
end

-- Compares live list s (named name) with copy c over entries from..n;
-- with pad (a step series), nil in c is a NaN (the padding of a series
-- absent at a row); deferred: a NaN may become a number.
local function compare(who, name, s, c, from, n, pad, deferred)
  -- a per-epoch series that is no list, or an entry that is no number:
  -- History:_record and wb.record.write name those
  if not pad and type(s) ~= "table" then return end
  if not pad then
    for _, v in pairs(s) do if type(v) ~= "number" then return end end
  end
  if type(s) ~= "table" then
    error(string.format("fit: %s replaced %s, which fit recorded, by %s", who, name,
      shown(s)), 0)
  end
  -- the walk is one C call (l_instruments.c _first_diff): with instruments
  -- every step, this loop in Lua was a quarter of a step's Lua
  local i = first_diff(s, c, from, n, pad, deferred)
  if i then
    local was = c[i]
    if was == nil and pad then was = 0 / 0 end
    fail(who, name, s, i, was, n)
  end
  if rawget(s, n + 1) ~= nil then fail(who, name, s, n + 1, nil, n) end
end

-- Raises naming who (the hooks just run) when the history is not what fit
-- recorded; full: every step row, else those since the last check.
function M:check(who, full)
  local h, n = self.h, self.n
  -- fit goes on filling h and returns it, while model.history (read after
  -- fit, written by save_state) would be the other one
  if rawget(self.model, "history") ~= h then
    error(string.format("fit: %s replaced model.history (by %s): fit records into the "
      .. "history it started with, and returns it; keep numbers of yours under names of "
      .. "their own in it", who, tostring(rawget(self.model, "history"))), 0)
  end
  if rawget(h, "epochs") ~= n then
    error(string.format("fit: %s changed history.epochs from %s to %s", who, shown(n),
      shown(rawget(h, "epochs"))), 0)
  end
  for k, c in pairs(self.epochs) do
    compare(who, "history." .. tostring(k), rawget(h, k), c, 1, n, false)
  end
  for _, k in ipairs(FIELDS) do
    local was, now = self.fields[k], rawget(h, k)
    if was ~= now then
      error(string.format("fit: %s changed history.%s from %s to %s: fit (and EarlyStopping) "
        .. "set it, and the run's record reads it; keep a number of yours under a name of its "
        .. "own", who, k, shown(was), shown(now)), 0)
    end
  end
  for k in pairs(LOGS) do -- one fit records none of (yet): a hook's would read as fit's
    if not self.logs[k] and rawget(h, k) ~= nil then added(who, k, rawget(h, k)) end
  end
  for k, c in pairs(self.logs) do
    local t = rawget(h, k)
    if type(t) ~= "table" then
      error(string.format("fit: %s replaced history.%s, which fit recorded, by %s", who, k,
        shown(t)), 0)
    end
    for col, list in pairs(c) do
      compare(who, "history." .. k .. "." .. col, rawget(t, col), list, 1, #list, false)
    end
  end
  check_instruments(self, who)
  local cs = self.steps
  if not cs then
    if rawget(h, "steps") ~= nil then added(who, "steps", rawget(h, "steps")) end
    return
  end
  local steps, rows = rawget(h, "steps"), self.rows
  if type(steps) ~= "table" then
    error(string.format("fit: %s replaced history.steps, which fit recorded, by %s", who,
      shown(steps)), 0)
  end
  local from = full and 1 or self.checked + 1
  local deferred = rawget(h, "instruments") ~= nil
  for k, c in pairs(cs) do
    compare(who, "history.steps." .. tostring(k), rawget(steps, k), c, from, rows, true,
      deferred and DEFERRED[k])
  end
  self.checked = rows
end

return M
