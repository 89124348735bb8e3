-- wb/repl.lua: the REPL's result printer and tab completion.
--
-- Used by the workbench executable (bindings/workbench.c requires it when
-- the REPL starts); wb/init.lua does not load it, and it adds nothing to wb.
-- Loading it defines the global `help` (wb.help.show) when it is missing;
-- the executable already defines it for scripts and -e too.
-- Both halves only read: completion walks tables and their metatables'
-- __index tables (and __methods, where our C types such as wb.Tensor keep
-- their methods behind an __index function) but never calls an __index
-- function, so pressing Tab has no side effects.
local M = {}

M.max_items = 10      -- table entries shown
M.max_string = 2000   -- string characters shown
M.width = 78          -- a table longer than this prints one entry per line

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  keywords[w] = true
end

local function is_ident(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil
    and not keywords[s]
end

-- {==== printing ====

local function quote(s)
  local cut = ""
  if #s > M.max_string then
    cut = string.format(" ... (%d bytes)", #s)
    s = s:sub(1, M.max_string)
  end
  local q = string.format("%q", s):gsub("\\\n", "\\n"):gsub("\\\r", "\\r")
  return q .. cut
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
  elseif t == "table" and not has_tostring(v) then
    return next(v) == nil and "{}" or "{...}"
  elseif t == "function" then
    return "function"
  end
  return (safe_tostring(v):match("^[^\n]*"))
end

local function key_str(k)
  if is_ident(k) then return k end
  if type(k) == "string" then return "[" .. quote(k) .. "]" end
  return "[" .. short(k) .. "]"
end

-- Keys that are not in the array part, numbers first, then strings.
local function other_keys(t, n)
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then
      keys[#keys + 1] = k
    end
  end
  local rank = {number = 1, string = 2}
  table.sort(keys, function(a, b)
    local ra, rb = rank[type(a)] or 3, rank[type(b)] or 3
    if ra ~= rb then return ra < rb end
    if ra == 3 then return tostring(a) < tostring(b) end
    return a < b
  end)
  return keys
end

-- A shallow view of a table: the first M.max_items entries, one level.
local function format_table(t)
  local n = rawlen(t)
  local keys = other_keys(t, n)
  local parts, shown = {}, 0
  for i = 1, n do
    if shown >= M.max_items then break end
    parts[#parts + 1] = short(rawget(t, i))
    shown = shown + 1
  end
  for _, k in ipairs(keys) do
    if shown >= M.max_items then break end
    parts[#parts + 1] = key_str(k) .. " = " .. short(rawget(t, k))
    shown = shown + 1
  end
  local total = n + #keys
  if total > shown then
    parts[#parts + 1] = string.format("... (%d entries)", total)
  end
  local line = "{" .. table.concat(parts, ", ") .. "}"
  if #line <= M.width then return line end
  return "{\n  " .. table.concat(parts, ",\n  ") .. "\n}"
end

-- The text the REPL prints for one value: strings quoted, tables shallow,
-- everything with a __tostring (tensors, layers, models) through it.
function M.format(v)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "table" and not has_tostring(v) then return format_table(v) end
  return safe_tostring(v)
end

-- Print the results of one REPL line, separated by tabs like print (by
-- newlines when one of them takes several lines).
function M.print(...)
  local n = select("#", ...)
  local out, sep = {}, "\t"
  for i = 1, n do
    out[i] = M.format((select(i, ...)))
    if out[i]:find("\n", 1, true) then sep = "\n" end
  end
  io.stdout:write(table.concat(out, sep), "\n")
  io.stdout:flush()
end

-- }====

-- {==== completion ====

-- The tables whose keys are fields of v: v itself, then each __index table
-- up the metatable chain, and any __methods table on the way.
local function sources(v)
  local out, seen = {}, {}
  local function add(t)
    if type(t) == "table" and not seen[t] then
      seen[t] = true
      out[#out + 1] = t
    end
  end
  for _ = 1, 8 do
    add(v)
    local mt = getmetatable(v)
    if type(mt) ~= "table" then break end
    add(rawget(mt, "__methods"))
    v = rawget(mt, "__index")
    if type(v) ~= "table" then break end
  end
  return out
end

local function field(v, k)
  for _, t in ipairs(sources(v)) do
    local x = rawget(t, k)
    if x ~= nil then return x end
  end
  return nil
end

-- Candidates for the word before the cursor: "pri" -> globals and keywords,
-- "wb.nn.De" or "model:fo" -> fields and methods found by walking the path.
-- Returns a sorted list of whole words (each starting with text).
function M.complete(text, env)
  env = env or _G
  local head, sep, partial = text:match("^(.-)([.:]?)([%w_]*)$")
  if not head or partial:match("^%d") then return {} end
  local obj, want_fn = env, false
  if sep ~= "" then
    if head == "" then return {} end
    for name in (head .. "."):gmatch("(.-)%.") do
      if not is_ident(name) then return {} end
      obj = field(obj, name)
      if obj == nil then return {} end
    end
    want_fn = sep == ":"
  elseif head ~= "" then
    return {}
  end
  local found, list = {}, {}
  local function offer(k, v)
    if is_ident(k) and not found[k] and k:sub(1, #partial) == partial
        and (partial:sub(1, 1) == "_" or k:sub(1, 1) ~= "_")
        and (not want_fn or type(v) == "function") then
      found[k] = true
      list[#list + 1] = head .. sep .. k
    end
  end
  for _, t in ipairs(sources(obj)) do
    for k, v in next, t do offer(k, v) end
  end
  if sep == "" then
    for k in pairs(keywords) do
      if k:sub(1, #partial) == partial then list[#list + 1] = k end
    end
  end
  table.sort(list)
  return list
end

-- }====

-- help(x) in the REPL: wb.help.show (bindings/lua/wb/help.lua).
do
  local ok, wb = pcall(require, "wb")
  if ok and type(wb) == "table" and wb.help and rawget(_G, "help") == nil then
    _G.help = wb.help.show
  end
end

return M
