-- wb/state_ints.lua: which numbers of a history are Lua integers, kept in a
-- training state (model:save_state's workbench.history_integers) so that a
-- resume gives them back as integers. JSON writes 2 and 2.0 alike and
-- cjson reads every number back as a float: a hook's logs.count = 2 came
-- back 2.0 (hess_trace_se's 0 too), and a resumed history printed and
-- serialised otherwise than the uninterrupted one (audit Q 9). Private to
-- wb/state.lua.
local _ENV = require "wb.std"
local M = {}

-- The largest index of t when every key is one (a JSON list), else nil.
local function list_max(t)
  local max = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return nil end
    if k > max then max = k end
  end
  return max > 0 and max or nil
end

local number_text = require("wb.util_json").number_text

-- Appends to out the places of t (at path, a list of keys) holding
-- integers: {path = {...}} for a field, {path = {...}, runs = {from, to,
-- ...}} for the integers of a list (runs of consecutive indices: a series
-- is one or two runs). Keys as the JSON reads them back: a list's index a
-- number, an object's key a string (a number key is written as its text).
local function walk(t, path, out)
  local function at(k)
    local p = table.move(path, 1, #path, 1, {})
    p[#p + 1] = k
    return p
  end
  local max = list_max(t)
  if max then
    local runs = {}
    for i = 1, max do
      local v = rawget(t, i)
      if math.type(v) == "integer" then
        if runs[#runs] == i - 1 then runs[#runs] = i
        else runs[#runs + 1] = i; runs[#runs + 1] = i end
      elseif type(v) == "table" then
        walk(v, at(i), out)
      end
    end
    if #runs > 0 then out[#out + 1] = {path = path, runs = runs} end
    return out
  end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = type(k) == "number" and number_text(k) or k end
  table.sort(keys) -- the same file for the same history
  for _, k in ipairs(keys) do
    local v = rawget(t, k) -- a History's __index refuses a name it lacks
    if v == nil then v = rawget(t, tonumber(k)) end
    if math.type(v) == "integer" then out[#out + 1] = {path = at(k)}
    elseif type(v) == "table" then walk(v, at(k), out) end
  end
  return out
end

-- The integers' places in history h (a list, for the state's JSON).
function M.of(h)
  return walk(h, {}, {})
end

-- Makes integers again, in the decoded history h, the numbers marks (M.of's,
-- decoded) names; bad(fmt, ...) raises for marks that are not M.of's.
function M.apply(h, marks, bad)
  if type(marks) ~= "table" then bad("workbench.history_integers: expected a list") end
  for _, m in ipairs(marks) do
    local path, runs = type(m) == "table" and m.path, type(m) == "table" and m.runs
    if type(path) ~= "table" or (runs ~= nil and type(runs) ~= "table") then
      bad("workbench.history_integers: expected {path, runs} entries")
    end
    local t, last = h, #path
    if runs then last = last + 1 end
    for i = 1, last - 1 do
      local k = path[i]
      t = type(t) == "table" and t[math.type(k) == "float" and math.tointeger(k) or k] or nil
    end
    if type(t) == "table" and runs then
      for j = 1, #runs - 1, 2 do
        for i = math.tointeger(runs[j]) or 1, math.tointeger(runs[j + 1]) or 0 do
          t[i] = math.tointeger(t[i]) or t[i]
        end
      end
    elseif type(t) == "table" and path[last] ~= nil then
      local k = path[last]
      k = math.type(k) == "float" and math.tointeger(k) or k
      t[k] = math.tointeger(t[k]) or t[k]
    end
  end
end

return M
