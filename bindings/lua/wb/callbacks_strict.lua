-- wb/callbacks_strict.lua: what makes the library's callback classes strict
-- (part of wb.callbacks, loaded by wb/callbacks.lua): reading a name that
-- is none of a class's fields, methods or the protocol's is an error naming
-- the nearest (es.patiense was nil), and so is setting a method's name or
-- one near the class's names (es.patiense = 3 was kept unread). Setting an
-- option goes through the constructor's checks (es.patience = "3" was kept
-- and failed after an epoch of training). A callback of the user's own (a
-- plain table) is not touched.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local args = require "wb.args"
local spec_keys = require "wb.spec_keys"
local M = wb.callbacks

-- The names of the protocol any callback may lack (read as nil): the hooks,
-- fit's private after-hooks, get_state and set_state (wb/state.lua), the
-- series and seconds an experiment's callbacks may keep (wb/train.lua).
local PROTOCOL = {"_after_epoch_end", "_after_batch_end", "get_state", "set_state", "series",
  "seconds", table.unpack(M._HOOKS)}

-- Each object's options (conf: the fields its constructor set; opts: the
-- options it was made from), kept out of the object: a key present in a
-- table is set without its __newindex, so es.patience = "3" could not be
-- checked. Weak keys: an entry lives as long as its object.
local CONF = setmetatable({}, {__mode = "k"})

-- A new object of class from its constructor's fields conf and its
-- checked options opts (those that make it again, in the constructor's
-- table form).
function M._new(class, conf, opts)
  local self = setmetatable({}, class)
  CONF[self] = {conf = conf, opts = util.copy(opts)}
  return self
end

local function show(v) return type(v) == "string" and string.format("%q", v) or tostring(v) end

-- cb.k = v for an option field k (option: its key in the constructor's
-- options): the object made again with it, through every check its
-- constructor applies (its kind, its range, the options it excludes); a
-- number the constructor would store otherwise (EarlyStopping's min_delta =
-- -1 taken as 1) is refused too: read back, it would not be what was set.
local function set_option(class, c, k, option, v, var, shown)
  local o = util.copy(c.opts)
  o[option] = v
  local ok, new = pcall(class._make, o)
  local why
  if not ok then
    why = tostring(new):gsub("^[^\n]-%.lua:%d+: ", ""):gsub("^bad argument #%d+ to '[%w_]+' ",
      ""):gsub("^%w+: ", "")
  else
    local got = CONF[new].conf[k]
    if type(got) == "number" and got ~= v then
      why = string.format("expected a value its constructor keeps as given (it stores %s "
        .. "as %s)", show(v), show(got))
    end
  end
  if why then -- a mistake in what the user wrote: one line, as the constructor's
    args.input_fail(string.format("%s: %s.%s = %s: %s", class.__name, var, shown or k, show(v),
      why), 3)
  end
  c.conf, c.opts = CONF[new].conf, CONF[new].opts
end

-- class strict (wb.spec_keys.strict's rules): fields lists the state its
-- hooks set; options its option fields, each named as its key in the
-- options its constructor class._make takes, or mapped to that key
-- (sep = "separator"); derived maps a field the constructor computes to
-- the option it comes from (max: mode); free lists the options that give
-- its state no meaning (verbose, where a ModelCheckpoint writes): the others
-- are its settings (class.__settings, in the options' order: {field,
-- option} pairs), which a resume checks against the saved callback's
-- (wb/state_callbacks.lua).
function M._strict(class, fields, options, derived, free)
  local tname, var = class.__name, "cb"
  local is_free = {}
  for _, k in ipairs(free or {}) do is_free[k] = true end
  class.__settings = {}
  for i, k in ipairs(options) do
    options[i], options[k] = nil, k
    if not is_free[k] then class.__settings[#class.__settings + 1] = {field = k, option = k} end
  end
  for _, k in ipairs(util.sorted_keys(options)) do -- mapped: threshold = "initial_value_threshold"
    local o = type(options[k]) == "string" and options[k] or k -- Scheduler's schedule = 1
    if k ~= options[k] and not is_free[o] then
      class.__settings[#class.__settings + 1] = {field = k, option = o}
    end
  end
  -- an option named unlike its field (initial_value_threshold: threshold, separator: sep)
  -- is its field under that name too: cb.separator = ";" was kept as a field of one's
  -- own, unread (the log went on with commas)
  local by_option = {}
  for k, o in pairs(options) do
    if type(o) == "string" and o ~= k then by_option[o] = k end
  end
  class.__fields = {}
  for _, list in ipairs{PROTOCOL, fields, util.sorted_keys(options), util.sorted_keys(derived)} do
    for _, k in ipairs(list) do class.__fields[k] = true end
  end
  spec_keys.strict(tname, class, var)
  class.__index = function(t, k)
    local c = CONF[t]
    if c and by_option[k] then return c.conf[by_option[k]] end
    local v = c and c.conf[k]
    if v == nil then v = class[k] end
    if v ~= nil or class.__fields[k] then return v end
    error(spec_keys.no_field(tname, k, class, t), 2)
  end
  class.__newindex = function(t, k, v)
    local c = CONF[t]
    if c and options[k] ~= nil then
      set_option(class, c, k, options[k], v, var)
      return
    elseif c and by_option[k] then
      set_option(class, c, by_option[k], k, v, var, k)
      return
    end
    if c and derived[k] then
      error(string.format("%s: %s.%s is set from the option %s; set %s.%s instead", tname, var,
        k, derived[k], var, derived[k]), 2)
    end
    local why = spec_keys.bad_write(tname, k, class, var)
    if why then error(why, 2) end
    rawset(t, k, v)
  end
  -- pairs(cb) sees the options as before (the REPL shows them), then the state
  class.__pairs = function(t)
    local conf, in_conf = CONF[t] and CONF[t].conf or {}, false
    return function(_, k)
      local v
      if not in_conf then
        k, v = next(t, k)
        if k ~= nil then return k, v end
        in_conf = true -- k is nil: the options from their first
      end
      return next(conf, k)
    end, t, nil
  end
  return class
end

-- A table callback's hook is called as a method, cb:on_epoch_end(epoch, logs).
-- One written as a Lambda's, function cb.on_epoch_end(epoch, logs), got the
-- callback as its epoch: a new user's "stop after epoch 3" never fired, and
-- nothing said so. Its first parameter named as a hook's arguments are
-- (epoch, step, batch, logs, model) is an error naming the fix.
local ARGS = {epoch = true, step = true, batch = true, logs = true, model = true}
function M._check_self(f, hook, where, fname)
  local first = debug.getinfo(f, "S").what == "Lua" and debug.getlocal(f, 1)
  if first and ARGS[first] then
    error(string.format("%s: %s.%s's first parameter is '%s', but fit calls a callback's "
      .. "hooks as methods, cb:%s(...), so it would get the callback itself: write "
      .. "function cb:%s(...) (or wb.callbacks.Lambda{%s = f}, which calls f without self)",
      fname, where, hook, first, hook, hook, hook), 5)
  end
end

-- no return value: package.loaded keeps true, so a traceback names the
-- functions after the module they extend, not after this file
