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
local _ENV = require "wb.std"
local pretty = require "wb.pretty"

local M = {}

local keywords, is_ident = pretty.keywords, pretty.is_ident

-- {==== printing ====

-- The text the REPL prints for one value (wb/pretty.lua): strings quoted (of several
-- lines: its lines, as print shows them),
-- tables shallow and at most a screenful, whole floats as integers,
-- everything with a __tostring (tensors, layers, models) through it. A
-- function shows its signature when it has help (`wb.nn.Dense` typed alone
-- printed "function: 0x55..."), and `help` typed alone says how to call it,
-- as Python's REPL does.
local HELP_USAGE = "help(x): the documentation of x, a value or a name (help(wb.nn.Dense), "
  .. "help(\"runs:table\")); help() lists wb's modules"
function M.format(v, all)
  if type(v) == "function" then
    if v == rawget(_G, "help") then return HELP_USAGE end
    local ok, wb = pcall(require, "wb")
    local e = ok and type(wb) == "table" and wb.help and wb.help.find(v)
    if e and e.sig then -- a method's name is no Lua expression: quoted
      local arg = e.name:find(":", 1, true) and string.format("%q", e.name) or e.name
      return string.format("function %s  (help(%s) says more)", e.sig, arg)
    end
  end
  -- text of several lines (a runs:table, a README) as its lines, as print
  -- shows it: a markdown table reads as a table (it was a Lua long string,
  -- "[[\n| variant | ...]]", read as code; tryM 13). Its last newline is the
  -- printer's; past pretty.max_string bytes, cut at a line's end. One line
  -- ("s\n") and other control bytes: quoted, what they are seen
  if type(v) == "string" and v:find("\n.") and not v:find("[\0-\9\11-\31\127]") then
    local text = v:sub(-1) == "\n" and v:sub(1, -2) or v
    if #text <= pretty.max_string then return text end
    local head = text:sub(1, pretty.max_string)
    head = head:match("^(.*)\n") or head -- a line longer than that: cut in it
    local rest = text:sub(#head + 1)
    local _, nl = rest:gsub("\n", "")
    local more = rest:sub(1, 1) == "\n" and nl or nl + 1 -- lines not shown whole
    return string.format("%s\n... (%d more line%s: print it to see all %d bytes)", head,
      more, more == 1 and "" or "s", #v)
  end
  return pretty.format(v, all)
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

-- The REPL's message for a chunk a Ctrl-C stopped, in place of the error's
-- text: that named whatever Lua code ran then ("layer 1 (Dense 784->256):
-- interrupted!", ".../wb/data.lua:230: interrupted!"), as if it failed.
-- Says where an interrupted fit was (wb/fit_hooks.lua); read once.
function M.interrupted()
  local ok, hooks = pcall(require, "wb.fit_hooks")
  if not ok then return "interrupted!" end
  local text, done = hooks.take_interrupted()
  if not text then return "interrupted!" end
  return string.format("%s; model.history holds the %d completed epoch%s", text, done,
    done == 1 and "" or "s")
end

-- }====

-- {==== completion ====

-- The tables whose keys are fields of v: v itself, then each __index table
-- up the metatable chain, and any __methods and __fields table on the way;
-- and, for each __fields table, the object it describes.
local function sources(v)
  local out, seen, owner = {}, {}, {}
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
    local f = rawget(mt, "__fields") -- a C type's field names ({weight = true, ...})
    add(f)
    if type(f) == "table" then owner[f] = v end
    v = rawget(mt, "__index")
    if type(v) ~= "table" then break end
  end
  return out, owner
end

local function index(v, k) return v[k] end

-- v's field k, found without calling an __index function, except that a
-- field a C type lists in __fields is read: our types' accessors only read
-- (so that d.weight:<Tab> offers a tensor's methods).
local function field(v, k)
  local ts, owner = sources(v)
  for _, t in ipairs(ts) do
    local x = rawget(t, k)
    if x ~= nil then
      if owner[t] == nil then return x end
      local ok, y = pcall(index, owner[t], k)
      return ok and y or nil
    end
  end
  return nil
end

M.max_scan = 100000 -- keys looked at for one completion, at most

-- Candidates for the word before the cursor: "pri" -> globals and keywords,
-- "wb.nn.De" or "model:fo" -> fields and methods found by walking the path.
-- Returns a sorted list of whole words (each starting with text).
function M.complete(text, env)
  env = env or _G
  -- inside an open bracket ("t[ke"): what follows it, after the bracket
  local pre, inner = text:match("^(.*%[)([^%]]*)$")
  if pre then
    local out = M.complete(inner, env)
    for i, w in ipairs(out) do out[i] = pre .. w end
    return out
  end
  local head, sep, partial = text:match("^(.-)([.:]?)([%w_]*)$")
  if not head or partial:match("^%d") then return {} end
  local obj, want_fn = env, false
  if sep ~= "" then
    if head == "" then return {} end
    -- names, each with any [n] after it: "m[1].weight:" reaches a layer's
    -- weight
    for part in (head .. "."):gmatch("(.-)%.") do
      local name, subs = part:match("^([%a_][%w_]*)(.*)$")
      if not (name and is_ident(name) and subs:gsub("%[%d+%]", "") == "") then return {} end
      obj = field(obj, name)
      for n in subs:gmatch("%[(%d+)%]") do
        if obj == nil then break end
        obj = field(obj, math.tointeger(tonumber(n)))
      end
      if obj == nil then return {} end
    end
    want_fn = sep == ":"
  elseif head ~= "" then
    return {}
  end
  local found, list, seen = {}, {}, 0
  local function offer(k, v)
    if type(k) == "string" and k:sub(1, #partial) == partial and is_ident(k)
        and not found[k] and (partial:sub(1, 1) == "_" or k:sub(1, 1) ~= "_")
        and (not want_fn or type(v) == "function") then
      found[k] = true
      -- "obj:name" is only ever a call: the "(" comes with it (as Python's
      -- rlcompleter does for callables; after "." a function may be a value)
      list[#list + 1] = head .. sep .. k .. (want_fn and "(" or "")
    end
  end
  for _, t in ipairs(sources(obj)) do
    for k, v in next, t do
      -- Completion runs inside readline, where Ctrl-C cannot stop it: past
      -- M.max_scan keys (a table of 10^6 took seconds) it offers nothing
      -- rather than freeze the prompt, or a part that would complete wrong.
      seen = seen + 1
      if seen > M.max_scan then return {} end
      offer(k, v)
    end
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
