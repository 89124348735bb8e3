-- wb/identity.lua: what makes two runs the same run. A run's identity is a
-- hash over everything that determines what it trains and measures: its
-- resolved config, the code of the hooks it calls (build, fit_options,
-- callbacks, measure) with the values they close over, and the version of
-- the training code. Editing a hook therefore changes the hash of exactly
-- the runs that call it; editing a script's reporting code changes nothing.
--
-- A hook's code is its stripped bytecode (string.dump(f, true)) with the
-- line each function starts and ends on set to 0 (stripping keeps those):
-- moving a hook within its file keeps its identity; the values
-- it closes over are fingerprinted recursively: plain data by value, Lua
-- functions by their own code, the workbench's and Lua's standard modules
-- and their values by name (their code is covered by the code version; only
-- those they had when wb loaded: wb/identity_lib.lua), a table with its
-- metatable (an object's methods live there). A function also depends on
-- what it reaches by name rather than by upvalue: the globals it reads (a
-- helper defined without `local`) and the modules it requires in its body
-- (`require "helper"`, dofile "x.lua") and the files it opens by a literal
-- name: the names among its constants that are globals, modules on
-- package.path or files are identified too (by value; modules and files by
-- their content, a module loaded already also by its value, as an upvalue
-- holding it is: what it read as it loaded, fields the script set on it).
-- A value that cannot be
-- identified (a tensor, a dataset, a file handle, a C function from outside
-- those modules) makes the hook unidentifiable: its runs are not cached.
--
-- That scan sees only names spelled out in the hook. A name computed at run
-- time (dofile(dir .. "/params.lua"), require("arch_" .. cfg.size),
-- io.lines(path)) is seen as the run runs instead: wb/identity_reads.lua
-- records the files the run's hooks load (require, dofile, loadfile) or
-- open for reading (io.open, io.lines, io.input) with their content ids in
-- the run's record (read_files), and the runner retrains a recorded run
-- when one of them has changed or gone, naming it; a file of Lua code they
-- loaded, or a global its code names that is not as it was when the run
-- started (wb/identity_chunk.lua). Not recorded: wb's own
-- modules, the dataset files, the runs folder, files the run wrote. A
-- record from before read_files is reused as before (it lists nothing).
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local reads = require "wb.identity_reads" -- its wrappers of dofile, io.open, ...
local dump = require "wb.identity_dump" -- the names a hook's bytecode reaches

---wb.identity
---What makes two runs the same run: the identity of a hook (its stripped
---bytecode and what it closes over) and of the training code. The runner
---hashes them into every run's identity.
---Example: print(wb.identity.code())
local M = {}

-- The library's own values by name (wb/identity_lib.lua: noted when wb
-- loaded; their code is the code version's or Lua's): a value a script put
-- in wb.* or in a standard table is not one of them.
local lib = require "wb.identity_lib"
local function module_name(v)
  if lib.taken() then return lib.name(v) end
  -- before wb has loaded (no script has run): its modules and Lua's by name
  for name, m in pairs(package.loaded) do
    if m == v and (name == "_G" or name == "wb" or name:match("^wb%.") or name == "string"
        or name == "math" or name == "table" or name == "os" or name == "io"
        or name == "utf8" or name == "coroutine" or name == "debug" or name == "cjson"
        or name == "package") then
      return name
    end
  end
  if v == wb then return "wb" end
  return nil
end

-- Whether module `name` is the library's own: loaded from its folder, or
-- not loaded and found there (a user's wb/mine.lua beside a script is not).
local OWN_DIR = wb.luadir .. "/wb/"
local function library_module(name)
  if module_name(package.loaded[name]) then return true end
  if package.loaded[name] ~= nil then return false end
  local p = package.searchpath(name, package.path)
  return p ~= nil and p:sub(1, #OWN_DIR) == OWN_DIR
end

local fingerprint, value_text

-- Whether path is a file that can be read (not a folder).
local function is_file(path)
  if path:match("^/dev/") or path:match("^/proc/") or path:match("^/sys/") then return false end
  local f = io.open(path, "rb")
  if not f then return false end
  local ok = f:read(0) ~= nil or f:seek("end") == 0
  f:close()
  return ok
end

-- A file's size and the XXH3-128 hash of its whole content (wb.sys.hash_file
-- reads it in chunks): one edited pixel of an image file is other data.
-- "absent" when it cannot be opened; a file that opens but cannot be read
-- to its end raises (an identity that might be stale is a bug).
local function file_id(path)
  local f = io.open(path, "rb")
  if not f then return "absent" end
  local size = f:seek("end")
  f:close()
  local h, err = wb.sys.hash_file(path)
  if not h then error("wb.identity: " .. err, 0) end
  return tostring(size) .. ":" .. h
end

-- {==================== names in a function's constants ====================

-- The identity of the source of Lua file path and of the modules it requires
-- by a literal name; nil when it is not a readable file.
local function file_text(path, seen)
  if seen[path] then return "cycle" end
  local src = util.read_file(path)
  if not src then return nil end
  seen[path] = true
  local parts = {util.fnv1a64(src)}
  for name in src:gmatch("require%s*%(?%s*[\"']([%w_%.%-]+)[\"']") do
    local p = not library_module(name) and package.searchpath(name, package.path)
    if p then parts[#parts + 1] = name .. "=" .. (file_text(p, seen) or "?") end
  end
  seen[path] = nil
  return table.concat(parts, ",")
end

-- What function f reaches by name: the globals among its constants (when
-- its environment is _G), modules on package.path and Lua files named by
-- them, and any other file they name (weights a build hook loads, a JSON
-- of settings), by content. `arg` (the command line, different in the
-- runner's children) is left out: a hook that reads it is not identified
-- (wb/identity_dump.lua). Returns text, or nil and the reason.
local function named_text(names, has_env, seen)
  if not names then return nil, "its bytecode cannot be read" end
  table.sort(names)
  local parts, last = {}, nil
  for _, k in ipairs(names) do
    if k ~= last and k:match("^[%w_%.%-/]+$") then
      last = k
      local g = nil
      -- load itself (a C function) identifies nothing: a hook calling it is refused (dump)
      if has_env and k ~= "arg" and k ~= "load" then g = rawget(_G, k) end
      if g ~= nil then
        local t, why = value_text(g, seen)
        if not t then return nil, string.format("global '%s': %s", k, why) end
        parts[#parts + 1] = "global:" .. k .. "=" .. t
      end
      if not library_module(k) then
        local p = not k:match("%.lua$") and package.searchpath(k, package.path)
        local t = p and file_text(p, seen)
        if t and package.loaded[k] ~= nil then -- as loaded: fields set on it, what it read
          local vt, why = value_text(package.loaded[k], seen)
          if not vt then return nil, string.format("module '%s' as loaded: %s", k, why) end
          t = t .. ";loaded=" .. vt
        end
        if t then parts[#parts + 1] = "module:" .. k .. "=" .. t
        elseif k:find("[%./]") and is_file(k) then
          t = k:match("%.lua$") and file_text(k, seen) or file_id(k)
          parts[#parts + 1] = "file:" .. k .. "=" .. t
        end
      end
    end
  end
  return table.concat(parts, ";")
end

-- }====================

local c_names -- C function -> "module.field", for wb's and Lua's own
-- The name of a C function of the workbench or of Lua's standard modules.
local function c_function_name(f)
  if not c_names then
    c_names = {}
    local function scan(prefix, t, depth)
      for k, v in pairs(t) do
        if type(v) == "function" and type(k) == "string" and not c_names[v] then
          c_names[v] = prefix .. k
        elseif type(v) == "table" and depth > 0 and type(k) == "string" then
          scan(prefix .. k .. ".", v, depth - 1)
        end
      end
    end
    scan("wb.", wb, 2)
    for _, lib in ipairs{"string", "math", "table", "os", "io", "utf8"} do
      scan(lib .. ".", package.loaded[lib], 0)
    end
    scan("", _G, 0)
  end
  return c_names[f]
end

-- Text that identifies value v; nil plus the reason when it cannot be.
function value_text(v, seen)
  local t = type(v)
  if t == "nil" or t == "boolean" or t == "number" or t == "string" then
    return util.canonical(v)
  end
  -- a C function as before (by its module's name; load, debug's and
  -- package's are not identified): the library's Lua ones by name
  local mod = (t ~= "function" or debug.getinfo(v, "S").what ~= "C") and module_name(v)
  if mod then return "module:" .. mod end
  if t == "function" then return fingerprint(v, seen) end
  if t == "table" then
    if seen[v] then return "cycle" end
    seen[v] = true
    local parts = {}
    for _, k in ipairs(util.sorted_keys(v)) do
      local kt, why = value_text(k, seen)
      if not kt then return nil, why end
      local vt, why2 = value_text(v[k], seen)
      if not vt then return nil, why2 end
      parts[#parts + 1] = kt .. ":" .. vt
    end
    -- an object's behaviour is in its metatable (methods, __index, __call)
    local mt = getmetatable(v)
    if mt ~= nil then
      local mtt, why = value_text(mt, seen)
      if not mtt then return nil, "its metatable: " .. why end
      parts[#parts + 1] = "metatable:" .. mtt
    end
    seen[v] = nil
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return nil, string.format("it uses a %s (%s)", t, tostring(v))
end

-- The identity text of a Lua function: its stripped bytecode and the
-- identity of every upvalue. Returns nil and a reason for a function that
-- cannot be identified.
function fingerprint(f, seen)
  seen = seen or {}
  if seen[f] then return "recursive" end
  if reads.standard[f] then return "cfunction:" .. reads.standard[f] end -- a wrapped dofile
  local ok, code = pcall(string.dump, f, true)
  if not ok then
    local name = c_function_name(f)
    if name == "load" then
      return nil, "it calls load: what a chunk compiled at run time reads cannot be identified"
    end
    if name then return "cfunction:" .. name end
    -- one the library had when it loaded, now replaced in its table (the
    -- original wb.nn.Dense a script's wrapper calls): by that name; not
    -- those that reach values by computed names (debug's, load, loadlib)
    name = module_name(f)
    if name and not lib.opaque(f) then return "cfunction:" .. name end
    return nil, "it calls a C function that is not part of a known module"
  end
  local names, lineless, top = dump.parse(code)
  if not names then return nil, "its bytecode cannot be read" end
  local dynamic = dump.dynamic_globals(f, top, _G)
  if dynamic then return nil, dynamic end
  seen[f] = true
  local parts = {lineless}
  local i, has_env = 1, false
  while true do
    local name, v = debug.getupvalue(f, i)
    if not name then break end
    has_env = has_env or v == _G
    local text, why = value_text(v, seen)
    if not text then
      seen[f] = nil
      return nil, string.format("upvalue '%s': %s", name, why)
    end
    parts[#parts + 1] = text
    i = i + 1
  end
  local named, why = named_text(names, has_env, seen)
  seen[f] = nil
  if not named then return nil, why end
  parts[#parts + 1] = named
  return table.concat(parts, "\0")
end

-- The identity text of value v as a hook's upvalue or global is identified;
-- nil and the reason when it cannot be (wb/identity_chunk.lua: the globals
-- of Lua code a run loaded).
function M._value_text(v) return value_text(v, {}) end

---wb.identity.hook(f) -> string|nil, string
---The identity of a hook (a Lua function): 16 hex digits over its stripped
---bytecode and the values it closes over; "none" for nil. Returns nil and
---the reason when it closes over something that cannot be identified (a
---tensor, a dataset, a foreign C function): such a hook's runs are not
---cached.
---@param f function|nil
---@return string|nil
---@return string|nil
---Example: print(wb.identity.hook(function(cfg) return cfg.hidden end))
function M.hook(f)
  -- what the script changed in the library (wb.nn.MyLayer, a replaced
  -- wb.nn.Dense, math.width): the hook, and the library code the run calls
  -- (the default model's builder too, for a nil build hook), read it by name
  local patches, pwhy = lib.patches(function(v) return value_text(v, {}) end)
  if not patches then return nil, "the script changed the workbench's modules: " .. pwhy end
  if f == nil then return patches == "" and "none" or util.fnv1a64("none\0" .. patches) end
  local text, why = fingerprint(f)
  if not text then return nil, why end
  if patches ~= "" then text = text .. "\0patches\0" .. patches end
  return util.fnv1a64(text)
end

-- For the record and the runner's words (wb/runner_why.lua): a change to
-- wb.nn.Dense is named as such, not as every hook.
---wb.identity.library(hooks) -> table|nil
---What the script changed in the workbench's tables and Lua's standard ones
---since wb loaded (part of every hook's identity), nil when nothing:
---{changed = {name = {how = "added"|"replaced"|"removed", at = "my.lua:2"
---(a function's first line), value = a plain value, id = 16 hex digits}},
---hooks = each hook's identity without those changes}. hooks: name ->
---function (or plain table). A run's record keeps them (identity.library,
---identity.unpatched).
---@param hooks table
---@return table|nil
---Example: math.width = 16; print(wb.identity.library({}).changed["math.width"].how)
function M.library(hooks)
  local changed = lib.changes(function(v) return value_text(v, {}) end)
  if not changed then return nil end
  local own = {}
  for name, f in pairs(hooks) do
    if type(f) == "table" then own[name] = util.fnv1a64(util.canonical(f))
    else
      local text = fingerprint(f)
      own[name] = text and util.fnv1a64(text) or "unidentified"
    end
  end
  return {changed = changed, hooks = own}
end

-- {==================== the data ====================

-- The number of rows of an IDX labels file (its header's count), or nil.
local function rows(path)
  local f = io.open(path, "rb")
  local head = f and f:read(8)
  if f then f:close() end
  return head and #head == 8 and string.unpack(">I4", head, 5) or nil -- after the magic
end

local data_ids, data_rows = {}, {}
---wb.identity.data(name) -> string, table|nil
---The identity of a standard dataset's files as wb.data.load(name) would
---read them ($WB_DATA included): 16 hex digits over the four files' sizes
---and whole contents (XXH3-128 of every byte, labels and images alike).
---Part of every run's training identity, so runs on another copy of the
---data (another $WB_DATA, a regenerated file, one edited pixel) are not
---taken for runs on this one. Computed once per process, or when the
---process loads the set (wb.identity._data_loaded), so that it is the
---identity of the data the process trains on. Missing files have
---an identity too (their runs fail when they train). Also the sets' rows,
---{train = n, test = n}, when the files say (not gzipped) or are standard.
---@param name string
---@return string
---@return table|nil
---Example: print(wb.identity.data("mnist"))
function M.data(name)
  if name == "fashion_mnist" then name = "fashion" end -- one set, one identity
  if data_ids[name] then return data_ids[name], data_rows[name] end
  local dir, suffix = wb.data._location(name)
  local tr, te = dir .. "/train-labels-idx1-ubyte", dir .. "/t10k-labels-idx1-ubyte"
  local a, b = suffix == "" and rows(tr), suffix == "" and rows(te)
  if a and b then data_rows[name] = {train = a, test = b}
  elseif suffix ~= "" and is_file(tr .. suffix) then
    data_rows[name] = {train = 60000, test = 10000} -- Fashion-MNIST's, as MNIST's
  end
  local parts = {}
  for _, path in ipairs(wb.data._files(name)) do
    parts[#parts + 1] = path:match("([^/]-)" .. suffix:gsub("%.", "%%.") .. "$") .. "="
      .. file_id(path)
  end
  data_ids[name] = util.fnv1a64(table.concat(parts, ";"))
  return data_ids[name], data_rows[name]
end

-- Called by wb.data as it loads standard set name into its per-process
-- cache: the set's identity is now that of its files as loaded. An error
-- when this process identified them before as other contents: its runs
-- were planned (hashed) on the files as they were and would train on them
-- as they are; and a set loaded before its files changed kept training on
-- the old data under the new files' identity (a REPL's wb.data.mnist(), a
-- file regenerated, then ex:run(): a new process reused those numbers).
function M._data_loaded(name)
  if name == "fashion_mnist" then name = "fashion" end
  local before = data_ids[name]
  data_ids[name] = nil
  local now = M.data(name)
  if before and now ~= before then
    data_ids[name] = before
    error(string.format("wb.data: the files of '%s' in %s have changed since this process "
      .. "identified them (its runs are planned on the data as it was): start a new process",
      name, (wb.data._location(name))), 0)
  end
end

-- }====================

-- the training code's version: wb/identity_code.lua
local code = require "wb.identity_code"
M.presentation_modules, M.code = code.presentation_modules, code.code

wb.identity = M
return M
