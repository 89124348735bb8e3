-- wb/arch.lua: a model's architecture as model:save and save_state write it
-- (metadata workbench.architecture, wb/checkpoint.lua) and how a model
-- differs from a saved one (fit's resume, wb/state_fit.lua; load_weights,
-- which compares what computes only: arch_diff's weights_only).
--
-- Built-in layers are described by every field that decides what they
-- compute (Dense: n_in, n_out, activation, l2, init, use_bias; Dropout:
-- rate; Activation: activation; Flatten: none). A Lua layer (a table with
-- forward, backward, ...) with a config() method returning {kind = ...} is
-- described by that config; any other Lua layer as {kind = "unknown",
-- description = its __tostring's or "a Lua layer", index, fields}, fields being its plain
-- fields (numbers, strings, booleans and tables of them: its own and its
-- class's, through its metatable's __index). save_state also keeps the
-- code of every Lua layer's methods (metadata workbench.layer_code, by
-- layer index: {methods = {name = wb.identity.hook id}, unchecked = {name
-- = why}}): a resume into a layer whose fields (those both sides have: one
-- set as the layer runs is on the saved side only) or methods differ is
-- refused (a resume restores none of a Lua layer's fields); a method whose
-- code cannot be identified (it closes over a tensor or the layer itself)
-- is named in a warning, as is a file written before these were kept.
local _ENV = require "wb.std"
local wb = require "wb"
local cjson = require "cjson"
local util = require "wb.util"
local M = {}

-- layer's member k, or nil where the layer has none: a Lua table's nil,
-- or the error of a type whose unknown names are errors (a C layer, a
-- Sequential nested as a layer).
local function index(t, k) return t[k] end -- no closure: fit's steps call kind_of
local function member(layer, k)
  local ok, v = pcall(index, layer, k)
  return ok and v or nil
end
M.member = member

local function kind_of(layer) return member(layer, "kind") end
M.kind_of = kind_of

-- {==================== exact JSON ====================

-- v as exact JSON (util.encode_json, lenient: every double reads back as
-- itself, keys sorted, so the same state gives the same bytes; NaN as null):
-- the architecture here, a training state's metadata in wb/state.lua.
local function exact_json(v) return util.encode_json(v, {lenient = true}) end
M.exact_json = exact_json

-- }====================
-- {==================== Lua layers ====================

-- Plain data that encode writes as it is: a number, string or boolean, or
-- a table without metatable that is a list (1..n) or has string keys only,
-- of plain data.
local function plain(v, seen)
  local t = type(v)
  if t == "number" or t == "string" or t == "boolean" then return true end
  if t ~= "table" or getmetatable(v) ~= nil or seen[v] then return false end
  seen[v] = true
  local n, strings, ok = #v, 0, true
  for k, x in next, v do
    if type(k) == "string" then strings = strings + 1
    elseif not (math.type(k) == "integer" and k >= 1 and k <= n) then ok = false end
    if not ok or not plain(x, seen) then ok = false; break end
  end
  seen[v] = nil
  return ok and (strings == 0 or n == 0)
end

-- The names of a Lua layer's members: its own string keys and those of
-- the tables its metatables' __index chain holds (its class's methods and
-- fields), sorted; and whether that chain ends in an __index function (its
-- members cannot be listed).
local function member_names(layer)
  local set, names, t = {}, {}, layer
  for _ = 1, 8 do
    if type(t) ~= "table" then break end
    for k in next, t do
      if type(k) == "string" and not set[k] then set[k] = true; names[#names + 1] = k end
    end
    local mt = getmetatable(t)
    t = type(mt) == "table" and rawget(mt, "__index") or nil
  end
  table.sort(names)
  return names, t ~= nil and type(t) ~= "table"
end

-- A Lua layer's plain fields (its configuration as far as it shows).
local function lua_fields(layer)
  local out = {}
  for _, k in ipairs(member_names(layer)) do
    local v = layer[k]
    if plain(v, {}) then out[k] = v end
  end
  return out
end

-- A function of the library itself (a Sequential nested as a layer): its
-- code is the workbench's, not the layer's.
local function library_function(f)
  local src = debug.getinfo(f, "S").source
  return src:sub(1, #wb.luadir + 2) == "@" .. wb.luadir .. "/"
end

-- Whether f closes over the layer itself: its identity would hold the
-- layer's fields, the state it sets as it runs among them.
local function closes_over(f, layer)
  for i = 1, 255 do
    local name, v = debug.getupvalue(f, i)
    if not name then return false end
    if rawequal(v, layer) then return true end
  end
  return false
end

-- The identity of a Lua layer's methods: {methods = {name = id},
-- unchecked = {name = why}} (wb.identity.hook: the method's bytecode, the
-- values it closes over, the globals, modules and files it names).
local function lua_code(layer)
  local methods, unchecked = {}, {}
  local names, opaque = member_names(layer)
  if opaque then unchecked.__index = "its class's members come from an __index function" end
  for _, k in ipairs(names) do
    local f = layer[k]
    if type(f) == "function" and not library_function(f) then
      local ok, id, why = pcall(wb.identity.hook, f)
      if ok and closes_over(f, layer) then
        id, why = nil, "it closes over the layer itself, whose fields change as it runs"
      end
      if not ok then id, why = nil, tostring(id) end
      if id then methods[k] = id else unchecked[k] = why end
    end
  end
  return {methods = methods, unchecked = unchecked}
end

-- }====================
-- {==================== the architecture ====================

local function layer_config(layer, i)
  local kind = kind_of(layer)
  if kind == "Dense" then
    return {kind = kind, n_in = layer.n_in, n_out = layer.n_out,
      activation = layer.activation, l2 = layer.l2, init = layer.init,
      use_bias = layer.use_bias}
  elseif kind == "Dropout" then
    return {kind = kind, rate = layer.rate}
  elseif kind == "Activation" then
    return {kind = kind, activation = layer.activation}
  elseif kind == "Flatten" then
    return {kind = kind}
  end
  if type(member(layer, "config")) == "function" then
    local cfg = layer:config()
    if type(cfg) == "table" and type(cfg.kind) == "string" then return cfg end
  end
  -- described by its own __tostring only: tostring of a plain table is its address,
  -- which made two identical trainings' weight files (and their checksums) differ
  local mt = getmetatable(layer)
  local own = type(mt) == "table" and rawget(mt, "__tostring") ~= nil
  return {kind = "unknown", description = own and tostring(layer) or "a Lua layer", index = i,
    fields = type(layer) == "table" and lua_fields(layer) or nil}
end

-- The workbench.architecture JSON of model (model:save, save_state).
function M.architecture(model)
  local arch = {}
  for i = 1, #model do arch[i] = layer_config(model[i], i) end
  return exact_json(arch)
end

-- The workbench.layer_code JSON of model (save_state): the code of its Lua
-- layers by index, nil when it has none.
function M.layer_code(model)
  local out, any = {}, false
  for i = 1, #model do
    if type(model[i]) == "table" then out[tostring(i)], any = lua_code(model[i]), true end
  end
  return any and exact_json(out) or nil
end

-- A value as text for a message: tables as JSON.
local function show(v) return type(v) == "table" and exact_json(v) or tostring(v) end

-- A layer config as text for a message: kind{key = value, ...}, sorted.
local function config_str(cfg)
  local keys, parts = {}, {}
  for k in pairs(cfg) do if k ~= "kind" and k ~= "index" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. " = " .. show(cfg[k]) end
  return tostring(cfg.kind) .. "{" .. table.concat(parts, ", ") .. "}"
end

local same = util.same_json -- tables by their JSON (both sides are decoded JSON)

-- The keys of the tables given, sorted.
local function sorted_union(...)
  local keys, set = {}, {}
  for _, t in ipairs{...} do
    for k in pairs(t) do if not set[k] then set[k] = true; keys[#keys + 1] = k end end
  end
  table.sort(keys)
  return keys
end

-- How a Lua layer's fields differ: a field both have with other values (a
-- field one side has only, such as one a layer sets as it runs, is not
-- compared: a resume gives it back, wb/state_layers.lua).
local function fields_diff(i, a, b)
  for _, k in ipairs(sorted_union(a)) do
    if b[k] ~= nil and not same(a[k], b[k]) then
      return string.format("layer %d (a Lua layer) has %s = %s there, %s here (a field "
        .. "the fresh layer sets otherwise is taken for its configuration; if this one is "
        .. "state the layer changes as it runs, give the layer a config() method returning "
        .. "its configuration, {kind = ..., ...}: that is compared instead, and the "
        .. "layer's fields are given back from the state)", i, k, show(a[k]), show(b[k]))
    end
  end
end

-- What a built-in layer's config holds that changes only how it trains,
-- not the function it computes: a Dense's l2 (a regulariser: a term of the
-- loss and of the gradient, nothing of the forward pass) and its init (the
-- weights are the file's). Weights trained with l2 = 1e-3 are as valid
-- in a model built with l2 = 0 (fine-tuning without the penalty, or
-- evaluating): load_weights does not compare them; a resume does (it goes
-- on training, where they matter).
local TRAINING_ONLY = {Dense = {l2 = true, init = true}}

-- How model differs from the decoded workbench.architecture `saved` (a
-- list of layer configs): nil when it does not, else a phrase naming the
-- first layer and field that differ; and the notes on what could not be
-- compared (a list). The model's configs go through the same JSON as the
-- file's (numbers to cjson's digits). weights_only (load_weights: the
-- function computed, not the training): TRAINING_ONLY fields are not
-- compared, nor a Lua layer's fields (a field it sets as it runs would
-- differ from a fresh layer's; its kind and config() are).
function M.arch_diff(saved, model, weights_only)
  local now, notes = cjson.decode(M.architecture(model)), {}
  if #saved ~= #now then
    return string.format("%d layers there, %d here", #saved, #now), notes
  end
  for i, a in ipairs(saved) do
    local b = now[i]
    if type(a) ~= "table" or a.kind ~= b.kind then
      return string.format("layer %d is %s there, %s here", i,
        type(a) == "table" and config_str(a) or tostring(a), config_str(b)), notes
    end
    if a.kind ~= "unknown" then
      local skip = weights_only and TRAINING_ONLY[a.kind] or {}
      for _, k in ipairs(sorted_union(a, b)) do
        if not skip[k] and not same(a[k], b[k]) then
          return string.format("layer %d (%s) has %s = %s there, %s here", i, a.kind, k,
            show(a[k]), show(b[k])), notes
        end
      end
    elseif not weights_only then -- (load_weights: a Lua layer by its kind, above)
      if type(a.fields) == "table" and type(b.fields) == "table" then
        local d = fields_diff(i, a.fields, b.fields)
        if d then return d, notes end
      else
        notes[#notes + 1] = string.format("layer %d (%s) is compared by its kind only (%s)",
          i, tostring(b.description), b.fields and "the file was written before save_state "
          .. "kept a Lua layer's fields" or "a layer workbench cannot describe")
      end
    end
  end
  return nil, notes
end

-- How the code of model's Lua layers differs from the decoded
-- workbench.layer_code `saved` (nil: a file written before it was kept):
-- nil or a phrase naming the layer and the method; notes are appended to.
function M.code_diff(saved, model, notes)
  local now = cjson.decode(M.layer_code(model) or "{}")
  for i = 1, #model do
    local b = now[tostring(i)]
    local a = saved and saved[tostring(i)]
    if b and not saved then
      notes[#notes + 1] = string.format("the code of layer %d (a Lua layer) is not compared "
        .. "(the file was written before save_state kept it)", i)
    elseif b and type(a) ~= "table" then
      return string.format("layer %d is a Lua layer here, not there", i)
    elseif a ~= nil and not b then
      return string.format("layer %d is a Lua layer there, not here", i)
    elseif b then
      local am, bm = a.methods or {}, b.methods or {}
      local au, bu = a.unchecked or {}, b.unchecked or {}
      for _, k in ipairs(sorted_union(am, au, bm, bu)) do
        local there, here = am[k] ~= nil or au[k] ~= nil, bm[k] ~= nil or bu[k] ~= nil
        if there ~= here then
          return string.format("layer %d (a Lua layer) has a method '%s' %s, not %s", i, k,
            here and "here" or "there", here and "there" or "here")
        elseif am[k] and bm[k] and am[k] ~= bm[k] then
          return string.format("the code of layer %d (a Lua layer)'s method '%s' differs "
            .. "(its bytecode, or a value it closes over, or a global, module or file it "
            .. "names; a counter it keeps in a local as it runs would differ too: keep such "
            .. "state in a field of the layer)", i, k)
        elseif not (am[k] and bm[k]) then
          notes[#notes + 1] = string.format("the code of layer %d (a Lua layer)'s method "
            .. "'%s' cannot be compared (%s)", i, k, tostring(bu[k] or au[k]))
        end
      end
    end
  end
end

-- }====================

return M
