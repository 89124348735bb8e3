-- wb/help/walk.lua: finds every public name reachable from wb (functions,
-- classes, modules, values) for help's lookup by value and its coverage
-- check.
-- Nothing is cached here: wb.help keeps its last walk until wb.help.reset().
local _ENV = require "wb.std"
local wb = require "wb"
local index = require "wb.help.index"

local M = {}

-- Classes: metatables named "wb.X" in the registry (C types) and tables
-- found in wb that act as metatables (their __index is themselves).
local function class_methods(mt)
  local src = rawget(mt, "__methods") or rawget(mt, "__index")
  local out = {}
  if type(src) == "table" then
    for k, v in pairs(src) do
      if type(k) == "string" and type(v) == "function" and k:sub(1, 1) ~= "_" then
        out[k] = v
      end
    end
  end
  return out
end

-- The class name of a metatable: its __name, else the class part of a
-- method's doc block ("wb.Plot:save" -> "wb.Plot").
local function class_name(mt)
  local n = rawget(mt, "__name")
  if type(n) == "string" then return n end
  for _, f in pairs(class_methods(mt)) do
    local e = index.by_position(f)
    local c = e and e.name:match("^(.-):")
    if c then return c end
  end
  return nil
end

local function is_class(t)
  return type(t) == "table"
    and (rawget(t, "__index") == t or type(rawget(t, "__name")) == "string")
end

-- Names of every public function, class, module and value reachable from
-- wb: {functions = {fn -> {names}}, classes = {name -> metatable},
--  modules = {name -> table}, names = {name -> value},
--  values = {name -> value}, data = {name -> table}}.
-- A value is anything else under a public key: a string, a number, a
-- boolean, or a data table (one that is neither a class nor a module: no
-- functions, no __call, such as wb.instruments.economy); values are kept
-- apart from names, so that a value documented as a function, or a function
-- as a value, is found out. data lists the data tables alone, under every
-- name they have (wb.spec.train_defaults is also another module's table).
-- `extra` is a list of objects whose classes are not reachable otherwise.
function M.walk(extra)
  local w = {functions = {}, classes = {}, modules = {}, names = {}, values = {}, data = {}}
  local function add_fn(f, name)
    local l = w.functions[f] or {}
    l[#l + 1] = name
    w.functions[f] = l
    w.names[name] = f
  end
  local function add_class(mt)
    local name = class_name(mt)
    if not name then -- undocumented and unnamed: name it by its methods
      local ks = {}
      for k in pairs(class_methods(mt)) do ks[#ks + 1] = k end
      if #ks == 0 then return end
      table.sort(ks)
      name = "wb.?(class with " .. table.concat(ks, ",") .. ")"
    end
    if w.classes[name] then return end
    w.classes[name] = mt
    w.names[name] = mt
    for k, f in pairs(class_methods(mt)) do add_fn(f, name .. ":" .. k) end
  end
  local seen, is_data = {}, {}
  local function visit(t, path, depth)
    if seen[t] or depth > 5 then
      if is_data[t] then w.values[path] = t; w.data[path] = t end
      return
    end
    seen[t] = true
    if is_class(t) then add_class(t) end
    local has_fn = false
    for k, v in pairs(t) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" and k:match("^[%a_][%w_]*$") then
        local name = path .. "." .. k
        if type(v) == "function" then
          add_fn(v, name); has_fn = true
        elseif type(v) == "table" then
          visit(v, name, depth + 1)
        elseif type(v) ~= "userdata" and type(v) ~= "thread" then
          w.values[name] = v
        end
      end
    end
    local mt = getmetatable(t)
    if type(mt) == "table" and type(rawget(mt, "__call")) == "function" then
      add_fn(rawget(mt, "__call"), path); has_fn = true
    end
    if has_fn and not is_class(t) then w.modules[path] = t; w.names[path] = t end
    if not has_fn and not is_class(t) and path ~= "wb" then
      is_data[t] = true
      w.values[path] = t; w.data[path] = t
    end
  end
  visit(wb, "wb", 0)
  for k, v in pairs(debug.getregistry()) do
    if type(k) == "string" and k:match("^wb%.%u") and type(v) == "table" then add_class(v) end
  end
  for _, obj in ipairs(extra or {}) do
    local mt = getmetatable(obj)
    if type(mt) == "table" then add_class(mt) end
  end
  return w
end
M.class_name, M.is_class = class_name, is_class

return M
