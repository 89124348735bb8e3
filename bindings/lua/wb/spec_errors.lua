-- wb/spec_errors.lua: how the declaration checks (wb/spec.lua) say a
-- mistake: "<file>:<line>: <name>: <place>: <msg>", at the line of the
-- script where the offending key is, as an input error (no traceback).
-- Private to wb/spec.lua.
local _ENV = require "wb.std"
local util = require "wb.util"
local K = require "wb.spec_keys"

local M = {}

-- Raise "<file>:<line>: <name>: <place>: <msg>"; the line is where `word`
-- (the offending key) appears in the script from the declaration's line on,
-- else the declaration's line.
function M.fail(ctx, place, msg, word)
  local w = ctx.where
  local file, line, rest = w:match("^(.-):(%d+): (.*)$")
  if not file then file, rest = w:match("^(.-): (.*)$") end
  -- the key to look for: the one named, else the last part of the place
  word = word or place:match("([%w_]+)[^%w_]*$")
  local at = K.line_of(file, word, tonumber(line)) or tonumber(line)
  local loc = file and (at and (file .. ":" .. at) or file)
  -- where without a file ("x" from a direct call) is said as it is
  error(K.input_error(string.format("%s: %s: %s", loc and (loc .. ": " .. rest) or w, place,
    msg)), 0)
end

function M.unknown(ctx, place, key, valid, what, hint, near) -- near: the key meant
  near = near or K.nearest(key, valid)
  M.fail(ctx, place, string.format("unknown %s '%s'%s (valid: %s)%s", what or "key",
    tostring(key), near and (" (did you mean '" .. near .. "'?)") or "",
    table.concat(valid, ", "), hint or ""), key)
end

function M.check_table_keys(ctx, t, valid, place, what, hint_of)
  local set = {}
  for _, k in ipairs(valid) do set[k] = true end
  for _, k in ipairs(util.sorted_keys(t)) do
    if not set[k] then M.unknown(ctx, place, k, valid, what, hint_of and hint_of(k)) end
  end
end

function M.describe(v)
  if v == nil then return "nothing (it is missing)" end
  -- epochs = 2.0 shown as "number 2" hid why an integer key refused it (tryX 6)
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then
    return "a float " .. tostring(v)
  end
  if type(v) == "string" then return string.format("string %q", v) end
  return type(v) .. " " .. util.show(v)
end

-- A public check's own arguments: "bad argument #n to 'wb.spec.f' (name: expected
-- what, got ...)", as lauxlib says it, rather than an index error inside.
function M.check_arg(fname, n, name, v, want, what)
  if type(v) ~= want then
    error(string.format("bad argument #%d to 'wb.spec.%s' (%s: expected %s, got %s)", n,
      fname, name, what, v == nil and "no value" or type(v)), 3)
  end
end

return M
