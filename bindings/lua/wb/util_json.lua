-- wb/util_json.lua: JSON text as the workbench writes it (run records,
-- runs.json, specs) and reads it back; wb/util.lua re-exports it. Not part
-- of the public API.
--
-- A list is a JSON list whether it has entries or not: an empty table is
-- {} to cjson (Lua cannot tell an empty list from an empty object), so a
-- field that is a list when it has entries (a record's git_changes,
-- runs.json's figures) was {} one time and [...] the next, and a Python
-- reader got a dict or a list. The writer says which are lists: a table
-- marked with M.array (its metatable M.ARRAY), or a dotted path in
-- opts.lists (wb/record.lua names a record's list fields there: a table a
-- caller built, or that cjson decoded, has no mark).
local _ENV = require "wb.std"
local wb = require "wb"
local cjson = require "cjson"

local M = {}

-- The metatable that marks a table as a JSON list, [] when empty.
M.ARRAY = {__name = "wb.json_array"}

-- M.array(t) -> t: t (default a new table) marked as a list.
function M.array(t) return setmetatable(t or {}, M.ARRAY) end

-- A number as CSV text that reads back as the same double (strtod,
-- Python's float, pandas with float_precision="round_trip"): an integer
-- value as an integer, else the shorter of %.15g and %.17g that round-trips;
-- NaN and infinities as C prints them ("-nan", "inf"; pandas reads both).
function M.number_text(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
  local s = string.format("%.15g", v)
  if tonumber(s) == v then return s end
  return string.format("%.17g", v)
end

-- JSON as lua-cjson writes it (an empty table is {} unless it is a list as
-- said above, a table keyed 1..n a list with holes as null, cjson.null is
-- null; NaN, infinities, functions and lists more than half holes are
-- errors), but numbers as number_text (cjson prints at most 14 digits: a
-- recorded loss was not the double the workbench had) and object keys
-- sorted.
-- Lenient (M.encode_json's opts.lenient), for metadata that must always be
-- written (a diverged run's training state): NaN and infinities are null,
-- an empty table is [], and a value that is not data (a function, a
-- userdata) is null in a list and left out of an object.
-- lists: the set of dotted paths that are lists (nil: none; path is then
-- not built); path: v's.
local function encode(v, out, lenient, lists, path)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      if lenient then out[#out + 1] = "null"; return out end
      error("Cannot serialise number: must not be NaN or Inf", 0)
    end
    out[#out + 1] = M.number_text(v)
  elseif t == "string" or t == "boolean" then
    out[#out + 1] = cjson.encode(v)
  elseif v == cjson.null or (lenient and t ~= "table") then
    out[#out + 1] = "null"
  elseif t ~= "table" then
    error("Cannot serialise " .. t .. ": type not supported", 0)
  else
    local n, max, list = 0, 0, true
    for k in pairs(v) do
      n = n + 1
      if math.type(k) == "integer" and k > 0 then max = math.max(max, k) else list = false end
    end
    if list and (n > 0 or lenient or getmetatable(v) == M.ARRAY
        or (lists ~= nil and lists[path])) then
      if max > 10 and max > 2 * n then
        error("Cannot serialise table: excessively sparse array", 0)
      end
      out[#out + 1] = "["
      for i = 1, max do
        if i > 1 then out[#out + 1] = "," end
        if v[i] == nil then out[#out + 1] = "null" else encode(v[i], out, lenient) end
      end
      out[#out + 1] = "]"
      return out
    end
    local keys = {}
    for k, x in pairs(v) do
      if type(k) ~= "string" and type(k) ~= "number" then
        error("Cannot serialise " .. type(k) .. ": table key must be a number or string", 0)
      end
      local data = type(x) ~= "function" and type(x) ~= "userdata" and type(x) ~= "thread"
      if not lenient or data or x == cjson.null then
        keys[#keys + 1] = type(k) == "number" and M.number_text(k) or k
      end
    end
    table.sort(keys)
    for i, k in ipairs(keys) do
      local x = v[k]
      if x == nil then x = v[tonumber(k)] end
      out[#out + 1] = (i == 1 and "{" or ",") .. cjson.encode(k) .. ":"
      encode(x, out, lenient, lists, lists and (path == "" and k or path .. "." .. k))
    end
    out[#out + 1] = #keys == 0 and "{}" or "}"
  end
  return out
end

-- M.encode_json(v, opts) -> string: v as JSON (encode above); opts.lenient
-- = true for metadata that must always be written; opts.lists = {["a.b"] =
-- true, ...}: the fields at those paths (object keys from the top, dotted)
-- are lists, [] when empty.
function M.encode_json(v, opts)
  return table.concat(encode(v, {}, opts ~= nil and opts.lenient, opts and opts.lists, ""))
end

-- M.same_json(a, b) -> boolean: two tables are the same when their lenient
-- JSON (M.encode_json, keys sorted, NaN as null) is the same text, other
-- values when a == b. How a run's config or a model's saved architecture is
-- compared with another (wb/runs_same.lua, wb/arch.lua); a table is never
-- taken for the same by identity: both sides come from JSON.
function M.same_json(a, b)
  if type(a) == "table" and type(b) == "table" then
    return M.encode_json(a, {lenient = true}) == M.encode_json(b, {lenient = true})
  end
  return a == b
end

-- Writes v as JSON (M.encode_json(v, opts)) to path atomically (a
-- temporary file + fsync + rename), making its folder.
function M.write_json(path, v, opts)
  wb.sys.mkdir_p(path:match("^(.*)/[^/]*$") or ".")
  wb.sys.write_atomic(path, M.encode_json(v, opts) .. "\n")
end

-- The decoded JSON at path (JSON null as nil), or nil when the file is
-- missing or malformed (a malformed record is treated as absent: the run
-- is trained again). A list comes back as a table without the mark: write
-- it with opts.lists, or M.array it, to keep [] when it is empty.
function M.read_json(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local ok, v = pcall(cjson.decode, s or "")
  if ok and type(v) == "table" then return wb.io._json_clean(v, cjson.null) end
  return nil
end

return M
