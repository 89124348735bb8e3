-- wb/identity_require.lua: the global require as a run's hooks call it
-- (wb/identity_reads.lua records what a run read). A module require loads
-- from a Lua file on package.path is recorded as that file with its content
-- id (and the globals its code names: wb/identity_chunk.lua); a C module
-- from package.cpath, as its file. A module that no file holds is script
-- code or data that no identity covers: a package.preload entry, a table the
-- script put in package.loaded (or put over a module loaded from a file),
-- a module a loader the script added to package.searchers returned. Editing
-- it reused the run trained with the old one without a word (audit P1). Its
-- value could be hashed, but not what its loader will do when the next run
-- requires it, nor a loader that is not called until then: so such a module
-- is recorded as what it is (`require 'name'`, id "module:<where it came
-- from>"), and the runner never reuses that run, saying why, as for a
-- command a hook ran. Not recorded: the workbench's own modules (wb, wb.*:
-- identity.code()) and the modules loaded before any script ran (Lua's
-- standard library, cjson: they are the workbench's).
-- What a module reads as it loads (a file, $VAR: identity_reads) is tracked
-- whenever it loads, at the script's top level too, and added to a run whose
-- hook requires it later: a hook's require("params") of a module the top
-- level had loaded was recorded as params.lua alone, and params.txt, which
-- the module read, changed, reused the run (tryL 1).
-- Installed into wb.identity_reads by it; private to the runner.
local _ENV = require "wb.std"

-- The id of a module no file holds begins so; the id of the command line
-- (arg) read by a hook through rawget(_G, "arg").
local MODULE, ARG = "module:", "arg"

-- The modules loaded before any script ran (this loads with `wb`): name -> value.
local startup = {}
for k, v in pairs(package.loaded) do startup[k] = v end

-- name -> where the module package.loaded holds under name came from, as
-- the last require that loaded it found it: {value = package.loaded's value,
-- lua = path | c = path | why = how a module no file holds got there}.
local origins = {}

-- Where module `name`, just required (fresh: loaded by that require; where:
-- require's second result), came from: {lua = path}, {c = path},
-- {standard = true}, or {why = text} when no file holds it.
local function origin_of(name, fresh, where)
  local v = package.loaded[name]
  if fresh then
    local o
    local root = name:match("^[^%.]*")
    if type(where) == "string" and where == package.searchpath(name, package.path) then
      o = {lua = where}
    elseif type(where) == "string" and (where == package.searchpath(name, package.cpath)
        or where == package.searchpath(root, package.cpath)) then
      o = {c = where}
    elseif where == ":preload:" then
      o = {why = "package.preload"}
    else
      o = {why = "a loader the script added to package.searchers"}
    end
    o.value = v
    origins[name] = o
    return o
  end
  local o = origins[name]
  if o and rawequal(o.value, v) then return o end
  if startup[name] ~= nil and rawequal(startup[name], v) then return {standard = true} end
  return {why = "package.loaded (a value the script put there)"}
end

-- Whether module `name` is the workbench's own: "wb" or "wb.x" as the
-- library loaded it (wb/identity_lib.lua), or not loaded yet and found in
-- its folder. A wb.x found elsewhere (a user's wb/mine.lua beside the
-- script) is a module like any other: recorded as its file (audit W1).
local lib = require "wb.identity_lib"
local OWN_DIR -- the library's folder of wb.x modules, at the first require
local function library(name)
  if not (name == "wb" or name:match("^wb%.")) then return false end
  local v = package.loaded[name]
  if v ~= nil then return not lib.taken() or lib.name(v) ~= nil end
  OWN_DIR = OWN_DIR or package.loaded.wb.luadir .. "/wb/"
  local p = package.searchpath(name, package.path)
  return p == nil or p:sub(1, #OWN_DIR) == OWN_DIR -- none: require's own error
end

-- Installs the global require's wrapper; r: wb.identity_reads, I: its state
-- and functions (active, loaded_as, loaded_before, note, through, orig,
-- absolute = a path made absolute, here = the files through's errors skip).
return function(r, I)
  local active, loaded_as, loaded_before = I.active, I.loaded_as, I.loaded_before
  local note, through, orig = I.note, I.through, I.orig
  I.here[debug.getinfo(1, "S").short_src .. ":"] = true -- require's errors: the caller's line

  -- Notes module `name`, which no file holds (how: where it came from), in
  -- every running tracker: a run that required it is never reused.
  local function never(key, id)
    for _, t in ipairs(active) do
      if not t.seen[key] then
        t.seen[key], t.ids[key] = true, id
        t.order[#t.order + 1] = key
      end
    end
  end
  local function no_file(name, how) never(string.format("require %q", name), MODULE .. how) end

  -- rawget(_G, "arg") called while a run trains: the command line, which
  -- no identity covers (wb/identity_dump.lua refuses a hook naming arg; this
  -- form is left to run time: code outside runs reads the command line so).
  -- wb's modules keep the rawget they found (wb/std.lua).
  local raw = rawget
  rawset(_G, "rawget", function(...)
    local t, k = ...
    if #active > 0 and k == "arg" and rawequal(t, _G) then never("arg", ARG) end
    local n = select("#", ...) -- its errors at the caller's line, as rawget's own
    if type(t) ~= "table" then
      error(string.format("bad argument #1 to 'rawget' (table expected, got %s)",
        n == 0 and "no value" or type(t)), 2)
    elseif n < 2 then error("bad argument #2 to 'rawget' (value expected)", 2) end
    return raw(t, k)
  end)

  -- A module's fresh load, tracked (I.track_load) so that what it reads as it loads is
  -- known when a run requires it later (origins[name].reads: loaded at the script's top
  -- level, it read params.txt or $DROP unrecorded, tryL 1); the reads go to the running
  -- trackers too. Returns require's results, and the reads.
  local function load(name, ...)
    local t, list = I.track_load(), nil
    local m, where = I.through_after("require", function() list = t:stop() end, orig.require,
      name, ...)
    return m, where, list
  end

  rawset(_G, "require", function(name, ...)
    local own = type(name) ~= "string" or library(name)
    if own and type(name) == "string" and package.loaded[name] == nil then
      -- a module of the library loaded after wb: its values are the library's too
      local m, where = through("require", orig.require, name, ...)
      lib.adopt(name, package.loaded[name])
      return m, where
    elseif own or (#active == 0 and package.loaded[name] ~= nil) then
      return through("require", orig.require, name, ...)
    end
    local run, fresh = I.running(), package.loaded[name] == nil
    local known = #active > 0 -- once a run: a require in a loop stays cheap
    for _, t in ipairs(active) do
      known = known and t.names[name]
      t.names[name] = true
    end
    if known then return through("require", orig.require, name, ...) end
    local m, where, list
    if fresh then m, where, list = load(name, ...)
    else m, where = through("require", orig.require, name, ...) end
    local o = origin_of(name, fresh, where)
    if fresh then o.reads = list end
    local p = o.lua and I.absolute(o.lua)
    if fresh and p then -- its content id as loaded (outside a run: taken in at the next)
      if run then loaded_as[p] = {name = name, id = r.file_id(p)}
      else loaded_before[#loaded_before + 1] = {name = name, path = o.lua, id = r.file_id(p)} end
    end
    if #active == 0 then return m, where end
    if p then
      note(p, loaded_as[p] and loaded_as[p].id or fresh and r.file_id(p) or nil, name)
    elseif o.c then
      note(o.c) -- a C library: its file's content
    elseif o.why then
      no_file(name, o.why)
    end
    if not fresh and o.reads then I.add(o.reads) end -- fresh: the trackers saw them
    return m, where
  end)

  -- r.modules() -> table, table: the absolute paths of the Lua files this process loaded
  -- with require (not wb's own: a script's helpers, at its top or in its hooks), sorted;
  -- and path -> the content id each had when loaded.
  function r.modules()
    local set, out = {}, {}
    for _, l in ipairs(loaded_before) do set[I.absolute(l.path)] = l.id end
    for p, l in pairs(loaded_as) do set[p] = l.id end
    for p in pairs(set) do out[#out + 1] = p end
    table.sort(out)
    return out, set
  end
  return MODULE, ARG
end
