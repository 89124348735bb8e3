-- wb/identity_lib.lua: which values are the workbench's own (and Lua's
-- standard library's), as wb/identity.lua identifies a hook. Those are
-- identified by name: their code is in the code version (identity.code)
-- or is Lua's. Anything else is the user's and identified by content.
--
-- Being found in package.loaded["wb.nn"] or in `math` does not make a value
-- the library's: a script can put its own there (a layer registered in
-- wb.nn so that wb.load rebuilds it, a patched wb.nn.Dense, math.width, a
-- module wb/mine.lua beside the script), and taking those by name reused
-- runs trained with another version of them (audit W1). So when wb has
-- loaded (wb/init.lua calls M.snapshot, before any script runs), every
-- table and function reachable from its modules and the standard ones is
-- noted with a name, and each of those tables with its contents. A value
-- noted is the library's; a key whose value is not what it was then (a
-- function added to wb.nn, wb.nn.Dense replaced, math.width) is a change
-- the script made to the library: M.patches lists them, and
-- wb.identity.hook puts them in every hook's identity (the library code a
-- run calls, its default model builder too, reads them by name).
-- A wb module the library loads later (require from bindings/lua) is
-- noted as it loads (M.adopt); one found elsewhere is the user's.
-- Private to wb.identity.
local _ENV = require "wb.std"

local M = {}

-- value -> its name ("wb.nn.Dense", "math"), the first found breadth first
-- over sorted names: the same in every process (the runner's children too).
local own = {}
-- the tables noted, each {t = table, name = name, was = {key -> value}, mt = metatable}
local noted = {}
local taken = false

-- The standard modules (Lua's and cjson): their own keys are noted too.
local STD = {"coroutine", "cjson", "debug", "io", "math", "os", "string", "table", "utf8"}

-- The global table and package are named, not walked: their contents are
-- the script's too (its globals, its modules), which identity.lua
-- identifies by what a hook names.
local function named_only(v) return rawequal(v, _G) or rawequal(v, package)
  or rawequal(v, package.loaded) end

-- Keys whose value a script may change without changing what runs compute:
-- the standard streams (a test or a REPL catching stderr in a table).
local IGNORED = {["io.stdin"] = true, ["io.stdout"] = true, ["io.stderr"] = true}

-- Whether name is of a module that only presents runs (figures, tables,
-- help, the runner's bookkeeping: wb.identity.code's list, whose code is
-- not in a run's identity either): a setting there (wb.plot.gnuplot, which
-- gnuplot draws) is no change to what a run trains or measures.
local presenting
local function presentation(name)
  if not presenting then
    presenting = {}
    for _, p in ipairs(require("wb.identity_code").presentation_modules) do
      local mod = p:gsub("%.lua$", ""):gsub("/", ".")
      presenting[#presenting + 1] = {mod, p:match("%.lua$") ~= nil}
    end
  end
  for _, e in ipairs(presenting) do
    local mod, whole = e[1], e[2]
    if name == mod or name:sub(1, #mod + 1) == mod .. "." or (not whole
        and name:sub(1, #mod) == mod) then
      return true
    end
  end
  return false
end

-- Notes v (and what it reaches) under name: breadth first from the queue.
local function walk(queue)
  local i = 1
  while queue[i] do
    local v, name = queue[i][1], queue[i][2]
    i = i + 1
    local ty = type(v)
    if (ty == "table" or ty == "function") and own[v] == nil then
      own[v] = name
      if ty == "table" and not named_only(v) then
        local was, keys = {}, {}
        for k, x in next, v do
          was[k] = x
          if type(k) == "string" then keys[#keys + 1] = k end
        end
        table.sort(keys)
        local mt = getmetatable(v)
        -- a weak table is the library's cache, filled as it runs (the
        -- files records were read from: wb.runs.find then put every record
        -- in each hook's identity, so a report's later tasks got other
        -- hashes than alone): not watched for changes
        local weak = type(mt) == "table" and type(rawget(mt, "__mode")) == "string"
        if not weak and not presentation(name) then
          noted[#noted + 1] = {t = v, name = name, was = was, mt = mt}
        end
        for _, k in ipairs(keys) do queue[#queue + 1] = {was[k], name .. "." .. k} end
        if type(mt) == "table" then queue[#queue + 1] = {mt, name .. "<metatable>"} end
      end
    end
  end
end

-- M.snapshot(): notes the library's values as they are now (wb loaded, no
-- script run yet). Once.
function M.snapshot()
  if taken then return end
  taken = true
  own[_G], own[package], own[package.loaded] = "_G", "package", "package.loaded"
  local names = {}
  for k in pairs(package.loaded) do
    if type(k) == "string" and (k == "wb" or k:match("^wb%.")) then names[#names + 1] = k end
  end
  table.sort(names) -- "wb" first
  for _, k in ipairs(STD) do names[#names + 1] = k end
  local queue = {}
  for _, k in ipairs(names) do
    if package.loaded[k] ~= nil then queue[#queue + 1] = {package.loaded[k], k} end
  end
  walk(queue)
end

-- M.adopt(name, v): notes module `name` (v), which the library loaded from
-- its own folder after the snapshot: the library's too.
function M.adopt(name, v)
  if taken then walk({{v, name}}) end
end

-- The C functions that reach values by computed names (a global, an
-- upvalue, a chunk's): a hook holding one cannot be identified (as
-- wb/identity_dump.lua refuses a hook naming them).
local opaque = {[load] = true, [package.loadlib] = true}
for k, f in pairs(debug) do
  if k ~= "traceback" and k ~= "getinfo" then opaque[f] = true end
end
-- M.opaque(f) -> boolean: whether C function f is one of those.
function M.opaque(f) return opaque[f] == true end

-- M.taken() -> boolean: whether the snapshot was taken.
function M.taken() return taken end

-- M.name(v) -> string|nil: the name of v when it is the library's own.
function M.name(v) return own[v] end

-- M.patches(text_of) -> string|nil, string
-- What the script changed in the library's tables since the snapshot, as
-- text ("" when nothing): each key added, replaced or removed, with the
-- identity of its value (text_of(v) -> text | nil, why: wb.identity's);
-- nil and the reason when one cannot be identified.
function M.patches(text_of)
  local parts = {}
  for _, e in ipairs(noted) do
    local t, was = e.t, e.was
    local changed = {}
    for k, x in next, t do
      if not rawequal(was[k], x) and not (type(k) == "string" and IGNORED[e.name .. "." .. k])
      then changed[#changed + 1] = k end
    end
    for k in next, was do
      if rawget(t, k) == nil then changed[#changed + 1] = k end
    end
    if #changed > 0 or not rawequal(getmetatable(t), e.mt) then
      local items = {}
      for _, k in ipairs(changed) do
        local kt, why = text_of(k)
        if not kt then return nil, string.format("a key of %s: %s", e.name, why) end
        local x = rawget(t, k)
        local vt, why2 = "nil", nil
        if x ~= nil then vt, why2 = text_of(x) end
        if not vt then
          return nil, string.format("%s[%s] (set by the script): %s", e.name, kt, why2)
        end
        items[#items + 1] = kt .. "=" .. vt
      end
      table.sort(items) -- keys in text order: the same in every process
      if not rawequal(getmetatable(t), e.mt) then
        local mt = getmetatable(t)
        local mtt, why = "nil", nil
        if mt ~= nil then mtt, why = text_of(mt) end
        if not mtt then return nil, string.format("the metatable of %s: %s", e.name, why) end
        items[#items + 1] = "<metatable>=" .. mtt
      end
      parts[#parts + 1] = e.name .. "{" .. table.concat(items, ",") .. "}"
    end
  end
  return table.concat(parts, ";")
end

-- A value a record can hold and a line can show: a boolean, a finite
-- number, a short string; nil else (named by its id only).
local function shown(x)
  local t = type(x)
  if t == "boolean" or (t == "number" and x == x and math.abs(x) ~= math.huge)
      or (t == "string" and #x <= 80) then
    return x
  end
  return nil
end

-- M.changes(text_of) -> table|nil
-- The keys M.patches lists, each by its name ("wb.nn.Dense", "math.width",
-- "wb.nn<metatable>") -> {how = "added" | "replaced" | "removed", at =
-- "script.lua:12" (a Lua function's first line), value = a plain value as
-- it is, id = a hash of its identity}; nil when the script changed nothing.
-- A run's record keeps it (wb/experiment.lua) so that the runner can say
-- which change retrains a run (wb/runner_why.lua): its hash only said that
-- every hook had changed. text_of as M.patches's; nil too when a value
-- cannot be identified (the hooks' own identities say why).
function M.changes(text_of)
  local out, any = {}, false
  local util = require "wb.util"
  for _, e in ipairs(noted) do
    local keys = {}
    for k, x in next, e.t do
      if not rawequal(e.was[k], x) and not (type(k) == "string"
          and IGNORED[e.name .. "." .. k]) then keys[#keys + 1] = k end
    end
    for k in next, e.was do
      if rawget(e.t, k) == nil then keys[#keys + 1] = k end
    end
    for _, k in ipairs(keys) do
      local x = rawget(e.t, k)
      local vt = x == nil and "nil" or text_of(x)
      if not vt then return nil end
      local name = type(k) == "string" and k:match("^[%a_][%w_]*$") and e.name .. "." .. k
        or e.name .. "[" .. tostring(text_of(k)) .. "]"
      local info = type(x) == "function" and debug.getinfo(x, "S")
      out[name] = {how = x == nil and "removed" or e.was[k] == nil and "added" or "replaced",
        at = info and info.what == "Lua" and info.short_src .. ":" .. info.linedefined or nil,
        value = shown(x),
        id = util.fnv1a64(vt)}
      any = true
    end
    if not rawequal(getmetatable(e.t), e.mt) then
      local mt = getmetatable(e.t)
      local mtt = mt == nil and "nil" or text_of(mt)
      if not mtt then return nil end
      out[e.name .. "<metatable>"] = {how = "replaced", id = util.fnv1a64(mtt)}
      any = true
    end
  end
  return any and out or nil
end

return M
