-- wb/pretty.lua: the text of a value as the REPL shows it.
--
-- Shared by the REPL's result printer (wb/repl.lua) and wb.show (wb/lab.lua),
-- so that what the REPL cuts, wb.show(x, {all = true}) prints whole. It does
-- not require wb (the REPL loads it before anything else, and wb/lab.lua
-- while wb itself is loading) and defines no globals.
-- Strings are quoted (%q, with \n for newlines); a table is shown one level
-- deep, sorted, on one line when it fits, else one entry per line (array
-- items packed), up to a screenful; anything with a __tostring goes through
-- it. A float with an integral value prints as an integer: run records come
-- from JSON, where every number is a float, and "seed = 1.0" reads as a bug.

local _ENV = require "wb.std"
local M = {}

M.max_string = 2000   -- string characters shown
M.width = 78          -- a table longer than this prints one entry per line
M.max_lines = nil     -- lines of a table shown; nil: the screen's height

-- The hint closing a cut table: how to see the rest.
M.more = "wb.show(x, {all = true}) prints all"

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  keywords[w] = true
end

function M.is_ident(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil
    and not keywords[s]
end

M.keywords = keywords

-- Lines of a screenful: readline exports LINES (the terminal's height) in
-- the REPL; elsewhere, or if it is absurd, about 40. Two lines stay for the
-- line typed and the next prompt.
local function screen_lines()
  if M.max_lines then return M.max_lines end
  local h = math.tointeger(tonumber(os.getenv("LINES") or ""))
  if h and h >= 10 and h <= 1000 then return h - 2 end
  return 40
end

local function quote(s)
  local cut = ""
  if #s > M.max_string then
    cut = string.format(" ... (%d bytes)", #s)
    s = s:sub(1, M.max_string)
  end
  local q = string.format("%q", s):gsub("\\\n", "\\n"):gsub("\\\r", "\\r")
  return q .. cut
end

-- 1.0 -> "1" (below 2^53, where every integer is exact); 2.5 and inf as
-- is; NaN of either sign "nan", as a tensor prints it (Lua's tostring of
-- 0/0 is "-nan" on glibc).
local function number(v)
  if v ~= v then return "nan" end
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then
    return string.format("%d", v)
  end
  return tostring(v)
end

-- tostring that cannot fail (a bad __tostring gives a marker instead).
local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed: " .. tostring(s) .. ">"
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

-- One line for a value inside a table.
local function short(v)
  local t = type(v)
  if t == "string" then
    return quote(#v > 40 and v:sub(1, 40) .. "..." or v)
  elseif t == "number" then
    return number(v)
  elseif t == "table" and not has_tostring(v) then
    return next(v) == nil and "{}" or "{...}"
  elseif t == "function" then
    return "function"
  end
  return (safe_tostring(v):match("^[^\n]*"))
end

local function key_str(k)
  if M.is_ident(k) then return k end
  if type(k) == "string" then return "[" .. quote(k) .. "]" end
  return "[" .. short(k) .. "]"
end

-- Keys that are not in the array part, numbers first, then strings, then
-- the rest by their tostring. Each kind is sorted apart with the plain <
-- (a comparator written in Lua made a table of 10^6 keys take seconds).
local function other_keys(t, n)
  local nums, strs, rest, names = {}, {}, {}, {}
  for k in next, t do
    local kt = type(k)
    if kt == "number" then
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then nums[#nums + 1] = k end
    elseif kt == "string" then
      strs[#strs + 1] = k
    else
      rest[#rest + 1] = k
      names[k] = safe_tostring(k)
    end
  end
  table.sort(nums)
  table.sort(strs)
  table.sort(rest, function(a, b) return names[a] < names[b] end)
  table.move(strs, 1, #strs, #nums + 1, nums)
  return table.move(rest, 1, #rest, #nums + 1, nums)
end

-- A shallow view of a table. Array items are packed several to a line,
-- other entries take a line each; past max_lines (nil: no limit) the rest
-- is counted on a last line that says how to see it.
local function format_table(t, max_lines)
  local n = rawlen(t)
  local keys = other_keys(t, n)
  local total = n + #keys
  local function entry(i)
    if i <= n then return short(rawget(t, i)) end
    local k = keys[i - n]
    return key_str(k) .. " = " .. short(rawget(t, k))
  end
  -- One line when it fits (entries are made only while it still may).
  local parts, len = {}, 2
  for i = 1, total do
    parts[i] = entry(i)
    len = len + #parts[i] + 2
    if len > M.width + 2 then parts = nil; break end
  end
  if parts then return "{" .. table.concat(parts, ", ") .. "}" end
  -- Rows: {text, entries}; stop making them once past the limit.
  local rows, i = {}, 1
  local cap = max_lines and max_lines - 2 or math.huge -- the braces
  while i <= total and #rows <= cap do
    local text, k = "  " .. entry(i), 1
    if i <= n then
      while i + k <= n do
        local s = entry(i + k)
        if #text + 2 + #s + 1 > M.width then break end
        text, k = text .. ", " .. s, k + 1
      end
    end
    rows[#rows + 1] = {text, k}
    i = i + k
  end
  local out, shown = {"{"}, 0
  local cut = i <= total or #rows > cap
  local keep = cut and cap - 1 or #rows -- the hint takes a line
  for r = 1, keep do
    local last = r == keep and not cut
    out[#out + 1] = rows[r][1] .. (last and "" or ",")
    shown = shown + rows[r][2]
  end
  if cut then
    out[#out + 1] = string.format("  ... %d more: %s", total - shown, M.more)
  end
  out[#out + 1] = "}"
  return table.concat(out, "\n")
end

-- The text shown for v: strings quoted, tables shallow and a screenful at
-- most (all = true: whole), numbers as above, everything with a __tostring
-- (tensors, layers, models) through it.
function M.format(v, all)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" then return number(v) end
  if t == "table" and not has_tostring(v) then
    local mt = getmetatable(v)
    if type(mt) == "table" and rawget(mt, "__pairs") ~= nil then
      -- what pairs sees (a library callback keeps its options apart)
      local seen = {}
      for k, x in pairs(v) do seen[k] = x end
      v = seen
    end
    return format_table(v, not all and screen_lines() or nil)
  end
  return safe_tostring(v)
end

return M
