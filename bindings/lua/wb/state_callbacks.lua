-- wb/state_callbacks.lua: the callbacks' part of a training state
-- (model:save_state, fit{resume = path}; wb/state.lua). A callback keeps
-- state across a resume when it has get_state() -> table (plain data and
-- tensors) and set_state(table), called after its on_train_begin:
-- EarlyStopping, ReduceLROnPlateau, ModelCheckpoint and fit's instruments
-- (wb/instruments_state.lua) do. The file's workbench.callbacks lists
-- {kind, state, settings} for each, in fit's order; settings are a library
-- callback's options that decide what its state means (its class's
-- __settings, wb/callbacks_strict.lua: all its options but those that
-- give its state no meaning: verbose, where and how a ModelCheckpoint
-- writes, its tag): EarlyStopping's best val_loss is no
-- best of val_accuracy, nor its best_epoch one whose weights were kept
-- when restore_best_weights was off. On resume the j-th callback of a kind
-- takes the j-th saved state of that kind, and the resume is refused,
-- before anything is restored, when its settings differ from the saved
-- ones (naming each), when a stateful callback has no saved state (it
-- would start afresh where the uninterrupted run's had counted since
-- epoch 1), when a saved state is left over, and when a library callback's
-- state was saved without its settings (before they were kept: they cannot
-- be checked). A callback of the user's own is paired by kind and
-- position only: fit knows none of its settings.
local _ENV = require "wb.std"
local util = require "wb.util"
local M = {}

local function is_tensor(x)
  return type(x) == "userdata" and (getmetatable(x) or {}).__name == "wb.Tensor"
end

-- {==================== packing ====================

-- A callback's state as JSON-safe data: integers, non-finite numbers, -0.0
-- and tensors are tagged (cjson reads every number back as a float, has no
-- infinities, and JSON writes -0.0 as 0); tensors go into map under
-- prefix.<key>... (made unique: a key "a.b" and a nested a.b would share a
-- name, and one tensor was lost). A table's string keys that read as an
-- integer ("1", "07") are escaped with a leading "~" (as are those that
-- begin with "~"), marked esc: JSON keys are strings, and the decoder made
-- them integers (audit Z4); a hole in a list comes back as nil, not as
-- cjson.null (a truthy userdata).
local function tensor_name(prefix, map)
  local name, n = prefix, 1
  while map[name] ~= nil do n = n + 1; name = prefix .. "#" .. n end
  return name
end

local function escaped(k)
  return k:sub(1, 1) == "~" or math.tointeger(tonumber(k)) ~= nil
end

local function pack(v, prefix, map)
  if is_tensor(v) then
    local name = tensor_name(prefix, map)
    map[name] = v
    return {tensor = name}
  elseif math.type(v) == "integer" then
    return {int = v}
  elseif type(v) == "number" and (v ~= v or v == math.huge or v == -math.huge) then
    return {num = v ~= v and "nan" or (v > 0 and "inf" or "-inf")}
  elseif type(v) == "number" and v == 0 and 1 / v < 0 then
    return {num = "-0"}
  elseif type(v) == "table" then
    local out, esc = {}, false
    for k, x in pairs(v) do
      if type(k) ~= "string" and math.type(k) ~= "integer" then
        error("save_state: callback state keys must be strings or list indices, got "
          .. type(k), 0)
      end
      local key = k
      if type(k) == "string" and escaped(k) then key, esc = "~" .. k, true end
      out[key] = pack(x, prefix .. "." .. k, map)
    end
    return {table = out, esc = esc or nil}
  elseif type(v) == "number" or type(v) == "string" or type(v) == "boolean" then
    return v
  end
  error("save_state: a callback state holds a " .. type(v) .. " (plain data and "
    .. "tensors only)", 0)
end

M._pack = pack -- for wb/state_hooks.lua

local NUMS = {nan = 0 / 0, inf = math.huge, ["-inf"] = -math.huge, ["-0"] = -0.0}
local NULL = require("cjson").null
local function unpack_state(v, tensors, path)
  if type(v) ~= "table" then return v end
  if v.tensor then
    local t = tensors[v.tensor]
    if not t then
      error(string.format("fit: resume: %s has no tensor '%s'", path, tostring(v.tensor)), 0)
    end
    return t
  end
  if v.int then return math.tointeger(v.int) end
  if v.num then return NUMS[v.num] end
  local out = {}
  for k, x in pairs(v.table or {}) do
    if x ~= NULL then -- a hole in a list (JSON's null)
      local key = k
      if type(k) == "string" and v.esc == true and k:sub(1, 1) == "~" then
        key = k:sub(2) -- a string key, as saved
      elseif type(k) == "string" then
        key = math.tointeger(tonumber(k)) or k
      end
      out[key] = unpack_state(x, tensors, path)
    end
  end
  return out
end
M._unpack = unpack_state

local function kind_of(cb)
  local mt = getmetatable(cb)
  return mt and type(mt.__name) == "string" and mt.__name or "callback"
end

-- The settings a library callback's class lists ({field, option} pairs,
-- wb/callbacks_strict.lua), nil for a callback of the user's own.
local function settings_list(cb)
  local mt = getmetatable(cb)
  local list = type(mt) == "table" and rawget(mt, "__settings")
  return type(list) == "table" and list or nil
end

local function settings_of(cb)
  local list = settings_list(cb)
  if not list then return nil end
  local out = {}
  for _, s in ipairs(list) do out[s.option] = cb[s.field] end
  return out
end

-- The states (and settings) of the callbacks with get_state, in order, as
-- JSON-safe data (save_state); their tensors go into map.
function M.states(cbs, map)
  local out = {}
  for _, cb in ipairs(cbs or {}) do
    if type(cb.get_state) == "function" then
      local j = #out + 1
      local s = settings_of(cb)
      out[j] = {kind = kind_of(cb), state = pack(cb:get_state(), "callbacks." .. j, map),
        settings = s and pack(s, "callbacks." .. j .. ".settings", {}) or nil}
    end
  end
  return out
end

-- The decoded workbench.callbacks list back to Lua (its tensors from
-- tensors), in place; bad(path, fmt, ...) raises on a malformed entry.
function M.decode(cbs, tensors, path, bad)
  for _, e in ipairs(cbs) do
    e.state = unpack_state(e.state, tensors, path)
    if e.settings ~= nil then
      e.settings = unpack_state(e.settings, {}, path)
      if type(e.settings) ~= "table" then
        bad(path, "workbench.callbacks: the settings of a %s are no object", e.kind)
      end
    end
  end
  return cbs
end

-- }====================
-- {==================== matching ====================

local function show(v)
  if v == nil then return "none" end
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "number" then return util.number_text(v) end
  return tostring(v)
end

local function same_value(a, b)
  return a == b or (type(a) == "number" and type(b) == "number" and a ~= a and b ~= b)
end

-- "restore_best_weights saved false, given true, ..." for each setting of
-- cb that differs from the saved ones (nil when none does).
local function settings_diff(cb, saved)
  local out, seen = {}, {}
  for _, s in ipairs(settings_list(cb)) do
    seen[s.option] = true
    local a, b = saved[s.option], cb[s.field]
    if not same_value(a, b) then
      out[#out + 1] = string.format("%s saved %s, given %s", s.option, show(a), show(b))
    end
  end
  for _, k in ipairs(util.sorted_keys(saved)) do -- one this version has not
    if not seen[k] then
      out[#out + 1] = string.format("%s saved %s, given none", tostring(k), show(saved[k]))
    end
  end
  return #out > 0 and table.concat(out, ", ") or nil
end

local function instruments_left(path, e)
  local st = type(e.state) == "table" and e.state or {}
  local names = type(st.names) == "table" and table.concat(st.names, ", ") or "?"
  error(string.format("fit: resume: %s was saved by a fit with instruments {%s} every "
    .. "%s, this fit measures none (give the saved fit's instruments and every, or its "
    .. "cockpit)", path, names, tostring(math.tointeger(st.every) or st.every)), 0)
end

-- "callbacks[i]": callback i of cbs as the user counts it, in fit's callbacks option (fit's
-- instruments, put first, left out). Resume errors named "EarlyStopping 1", counting
-- callbacks of that kind, as a file numbers callbacks.<j> among those with state only: both
-- read as the list's position (tryN 5).
function M.position(cbs, i)
  local pos = i
  for k = 1, i - 1 do if kind_of(cbs[k]) == "wb.instruments" then pos = pos - 1 end end
  return kind_of(cbs[i]) == "wb.instruments" and "fit's instruments"
    or string.format("callbacks[%d]", pos)
end

-- The saved state each callback with set_state takes (the j-th of a kind
-- takes the j-th saved of that kind): {cb, state} pairs. Errors name the
-- file: a callback without a saved state, a saved state left over, settings
-- other than the saved ones (every difference, of every callback).
function M.match(cbs, saved, path)
  local taken, pairs_, count, diffs = {}, {}, {}, {}
  for _, cb in ipairs(cbs or {}) do -- save_state kept its state: nothing can give it back
    if type(cb.get_state) == "function" and type(cb.set_state) ~= "function" then
      error(string.format("fit: resume: %s: a callback (%s) has get_state but no set_state, "
        .. "so its saved state cannot be given back (add set_state(self, state))", path,
        require("wb.fit_hooks").describe(cb, "get_state")), 0)
    end
  end
  for i, cb in ipairs(cbs or {}) do
    if type(cb.get_state) == "function" and type(cb.set_state) == "function" then
      local kind, found = kind_of(cb), nil
      count[kind] = (count[kind] or 0) + 1
      local name = kind == "callback" and M.position(cbs, i) or string.format("%s (%s)",
        kind:gsub("^wb%.callbacks%.", ""), M.position(cbs, i))
      for j, e in ipairs(saved) do
        if not taken[j] and e.kind == kind then
          taken[j], found = true, e
          break
        end
      end
      if found then
        pairs_[#pairs_ + 1] = {cb, found.state}
      elseif kind == "wb.instruments" then -- afresh, distance would start here
        error(string.format("fit: resume: %s was saved by a fit without instruments, this "
          .. "fit asks for instruments (give the saved fit's options: no instruments, no "
          .. "cockpit)", path), 0)
      else
        local own = kind == "callback" and " (" .. require("wb.fit_hooks").describe(cb,
          "get_state") .. ")" or ""
        error(string.format("fit: resume: %s holds no state of %s%s: the saved fit had no "
          .. "such callback, and this one would start afresh at the resume where an "
          .. "uninterrupted run's would count from epoch 1 (give the callbacks of the saved "
          .. "fit)", path, name, own), 0)
      end
      if settings_list(cb) and found.settings == nil then
        error(string.format("fit: resume: %s holds the state of %s without its settings "
          .. "(saved before save_state kept them), so whether this fit's are the saved ones "
          .. "cannot be checked: train from the start and save the state again", path, name),
          0)
      end
      local d = settings_list(cb) and settings_diff(cb, found.settings)
      if d then diffs[#diffs + 1] = name .. ": " .. d end
    end
  end
  for j, e in ipairs(saved) do
    if not taken[j] then
      if e.kind == "wb.instruments" then instruments_left(path, e) end -- fit's option
      error(string.format("fit: resume: %s holds the state of %s that none of fit's "
        .. "callbacks takes (give the callbacks of the saved fit)", path, e.kind == "callback"
        and "a callback of the user's own (one with get_state)" or "a " .. e.kind
        .. " callback"), 0)
    end
  end
  if #diffs > 0 then
    error(string.format("fit: resume: %s was saved by callbacks with other settings (their "
      .. "state means something else under these; give the saved fit's): %s", path,
      table.concat(diffs, "; ")), 0)
  end
  return pairs_
end

-- Why the callbacks cbs could not resume from the state file path (its
-- tensors and metadata, as read; nil when they could): what fit{resume}
-- would raise, for the runner, which trains such a run afresh instead of
-- failing at every try (wb/train_resume.lua): a state saved before the
-- settings were kept, say, or a value a user's hook keeps in its closure
-- that differs from the saved (wb/state_hooks.lua).
function M.refusal(path, tensors, meta, cbs)
  local ok, e = pcall(function()
    local list = require("cjson").decode(meta["workbench.callbacks"] or "[]")
    if type(list) ~= "table" then error("workbench.callbacks is no list", 0) end
    local cbt = {}
    for name, t in pairs(tensors) do if name:match("^callbacks%.") then cbt[name] = t end end
    local function bad(_, fmt, ...) error(string.format(fmt, ...), 0) end
    M.match(cbs, M.decode(list, cbt, path, bad), path)
    local names = meta[require("wb.state_list").KEY] -- all of them, in order
    require("wb.state_list").check(cbs, names and require("cjson").decode(names), path, bad,
      true)
    local hooks = meta["workbench.hooks"] -- values the user's hooks keep
    require("wb.state_hooks").check(cbs, hooks and require("cjson").decode(hooks), path, bad)
  end)
  if ok then return nil end
  return (tostring(e):gsub("^fit: resume: " .. path:gsub("%p", "%%%0") .. ":? ", ""))
end

-- restore(cbs, saved, path): for fit, after the callbacks' on_train_begin:
-- gives each callback with set_state its saved state (M.match).
function M.restore(cbs, saved, path)
  for _, p in ipairs(M.match(cbs, saved or {}, path)) do p[1]:set_state(p[2]) end
end

-- }====================

return M
