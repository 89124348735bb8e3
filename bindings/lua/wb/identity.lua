-- wb/identity.lua: what makes two runs the same run. A run's identity is a
-- hash over everything that determines what it trains and measures: its
-- resolved config, the code of the hooks it calls (build, fit_options,
-- callbacks, measure) with the values they close over, and the version of
-- the training code. Editing a hook therefore changes the hash of exactly
-- the runs that call it; editing a script's reporting code changes nothing.
--
-- A hook's code is its stripped bytecode (string.dump(f, true): no line
-- numbers, so moving a hook within its file keeps its identity); the values
-- it closes over are fingerprinted recursively: plain data by value, Lua
-- functions by their own code, the workbench's and Lua's standard modules by
-- name (their code is covered by the code version). A value that cannot be
-- identified (a tensor, a dataset, a file handle, a C function from outside
-- those modules) makes the hook unidentifiable: its runs are not cached.
local wb = require "wb"
local util = require "wb.util"

---wb.identity
---What makes two runs the same run: the identity of a hook (its stripped
---bytecode and what it closes over) and of the training code. The runner
---hashes them into every run's identity.
---Example: print(wb.identity.code())
local M = {}

-- Standard modules known by name: their code is Lua's or the workbench's.
local function module_name(v)
  for name, m in pairs(package.loaded) do
    if m == v and (name == "_G" or name:match("^wb") or name == "string" or name == "math"
        or name == "table" or name == "os" or name == "io" or name == "utf8"
        or name == "coroutine" or name == "debug" or name == "cjson") then
      return name
    end
  end
  if v == wb then return "wb" end
  return nil
end

local fingerprint

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
local function value_text(v, seen)
  local t = type(v)
  if t == "nil" or t == "boolean" or t == "number" or t == "string" then
    return util.canonical(v)
  end
  local mod = module_name(v)
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
  local ok, code = pcall(string.dump, f, true)
  if not ok then
    local name = c_function_name(f)
    if name then return "cfunction:" .. name end
    return nil, "it calls a C function that is not part of a known module"
  end
  seen[f] = true
  local parts = {code}
  local i = 1
  while true do
    local name, v = debug.getupvalue(f, i)
    if not name then break end
    local text, why = value_text(v, seen)
    if not text then
      seen[f] = nil
      return nil, string.format("upvalue '%s': %s", name, why)
    end
    parts[#parts + 1] = text
    i = i + 1
  end
  seen[f] = nil
  return table.concat(parts, "\0")
end

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
  if f == nil then return "none" end
  local text, why = fingerprint(f)
  if not text then return nil, why end
  return util.fnv1a64(text)
end

-- Lua modules that only present runs (figures, tables, help, the REPL,
-- the runner's bookkeeping): editing them retrains nothing. Every other
-- module under wb/ can decide what a run trains or measures (a hook may
-- call any of them), so its source is part of the code version.
M.presentation_modules = {"wb/plot", "wb/help", "wb/repl.lua", "wb/pretty.lua",
  "wb/runs.lua", "wb/runs_", "wb/run.lua", "wb/compare.lua", "wb/task.lua",
  "wb/runner.lua", "wb/record.lua", "wb/nn_summary.lua", "wb/lab.lua", "wb/inference.lua",
  "wb/slurm.lua", "wb/gather.lua"}

local function presentation(rel)
  for _, p in ipairs(M.presentation_modules) do
    if rel:sub(1, #p) == p then return true end
  end
  return false
end

-- Every Lua file under dir (relative names, sorted).
local function lua_files(root, rel, out)
  local ok, names = pcall(wb.sys.listdir, root .. "/" .. rel)
  if not ok then return out end
  for _, n in ipairs(names) do
    local r = rel .. "/" .. n
    if n:match("%.lua$") then out[#out + 1] = r
    elseif not n:find("%.") then lua_files(root, r, out) end
  end
  return out
end

local code_id
---wb.identity.code() -> string
---The version of the training code: 16 hex digits over the workbench
---version, the build id of the C sources a run can reach (the core and the
---bindings, hashed by the Makefile) and the source of every Lua module of
---the library except those that only present runs
---(wb.identity.presentation_modules). Part of every run's identity.
---@return string
---Example: print(wb.identity.code())
function M.code()
  if code_id then return code_id end
  local parts = {wb.version, wb.core_id or ""}
  local files = lua_files(wb.luadir, "wb", {})
  table.sort(files)
  for _, rel in ipairs(files) do
    if not presentation(rel) then
      local src = util.read_file(wb.luadir .. "/" .. rel)
      if not src then error("wb.identity: cannot read " .. wb.luadir .. "/" .. rel, 2) end
      parts[#parts + 1] = rel .. "\0" .. src
    end
  end
  code_id = util.fnv1a64(table.concat(parts, "\0"))
  return code_id
end

wb.identity = M
return M
