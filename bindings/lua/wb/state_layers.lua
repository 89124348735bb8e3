-- wb/state_layers.lua: the tensors a Lua layer keeps in its fields, beside
-- its parameters, in a training state (model:save_state; tensors
-- fit.layer.<i>.<field>) and given back by fit{resume} (wb/state.lua). A
-- BatchNorm-like running mean, an EMA, a mask or projection drawn when the
-- layer was built: none is a parameter, so a state held only parameters()
-- and compared only the layer's plain fields, and a resume went on from the
-- fresh layer's tensors without a word (audit Z1: 3 epochs straight and 2 +
-- save + 1 differed in the third epoch's loss). Only the layer table's own
-- string keys holding a wb.Tensor are kept (not tensors inside nested
-- tables), and not those that are the model's parameters or gradients (the
-- weights and the optimizer's buffers are restored on their own).
-- Its numbers, strings and booleans too (workbench.layer_fields, below).
-- Private to wb/state.lua.
local _ENV = require "wb.std"
local util = require "wb.util"
local M = {}

local PREFIX = "fit.layer."

local function is_tensor(x)
  return type(x) == "userdata" and (getmetatable(x) or {}).__name == "wb.Tensor"
end

-- The model's parameters and gradients, as a set (they are no layer's
-- state: a Lua layer may hold another layer's kernel, tied weights, and the
-- weights a state holds are restored on their own, the last epoch's when
-- EarlyStopping then restored the best ones into the model).
local function params_of(model)
  local set = {}
  local ok, ps, gs = pcall(model.parameters, model)
  if not ok then return set end
  for _, list in ipairs{ps, gs} do
    if type(list) == "table" then
      for _, t in ipairs(list) do set[t] = true end
    end
  end
  return set
end

-- Adds to map each Lua layer's tensor fields that are not the model's
-- parameters or gradients, as fit.layer.<i>.<field>.
function M.save(model, map)
  local own = params_of(model)
  for i = 1, #model do
    local l = model[i]
    if type(l) == "table" then
      for _, k in ipairs(util.sorted_keys(l)) do
        local v = rawget(l, k)
        if type(k) == "string" and is_tensor(v) and not own[v] then
          map[PREFIX .. i .. "." .. k] = v
        end
      end
    end
  end
end

-- The saved layer tensors of file tensors `buffers` as {layer, field, tensor},
-- checked against model before anything is restored: each names a Lua layer
-- of model; bad(path, fmt, ...) raises.
function M.check(model, buffers, path, bad)
  local out = {}
  for _, name in ipairs(util.sorted_keys(buffers)) do
    local i, k = name:match("^fit%.layer%.(%d+)%.(.+)$")
    if i then
      local l = model[math.tointeger(tonumber(i))]
      if type(l) ~= "table" then
        bad(path, "tensor '%s': layer %s of the model is no Lua layer", name, i)
      end
      out[#out + 1] = {l, k, buffers[name]}
    end
  end
  return out
end

-- Gives each layer its saved tensors: copied into the field's tensor when it
-- has the saved shape and dtype (a tensor two layers share stays shared),
-- else set as the field.
function M.restore(list)
  for _, e in ipairs(list) do
    local l, k, t = e[1], e[2], e[3]
    local cur = rawget(l, k)
    if is_tensor(cur) and cur:dtype() == t:dtype()
        and table.concat(cur:shape(), ",") == table.concat(t:shape(), ",") then
      cur:copy(t)
    else
      rawset(l, k, t)
    end
  end
end

-- {==================== plain fields ====================
-- A number, string or boolean a Lua layer keeps in its own fields (a call
-- counter that anneals its noise, a step count): the state held tensors
-- only, so a resume went on from the fresh layer's (a field it sets as it
-- runs is on one side only, not compared) and trained another model without
-- a word (a new user's counter: 15 straight, 5 resumed). A field both sides
-- set differently is configuration to wb/arch.lua and refused there; this
-- gives back the rest, the saved value over the fresh one.

local function scalar(v)
  local t = type(v)
  return t == "number" or t == "string" or t == "boolean"
end

-- The workbench.layer_fields JSON of model: {[i] = {{field, value, integer}}},
-- nil when no Lua layer keeps such a field.
function M.fields(model)
  local out, any = {}, false
  for i = 1, #model do
    local l = model[i]
    if type(l) == "table" then
      local list = {}
      for _, k in ipairs(util.sorted_keys(l)) do
        local v = rawget(l, k)
        if type(k) == "string" and scalar(v) and (type(v) ~= "number" or v == v
            and v ~= math.huge and v ~= -math.huge) then -- JSON has no NaN or inf
          list[#list + 1] = {k, v, math.type(v) == "integer"}
        end
      end
      if #list > 0 then out[tostring(i)], any = list, true end
    end
  end
  return any and require("wb.arch").exact_json(out) or nil
end

-- The decoded fields of text (nil: a file without them), checked against
-- model: each names a Lua layer; bad(path, fmt, ...) raises.
function M.check_fields(model, text, path, bad)
  if text == nil then return {} end
  local ok, t = pcall(require("cjson").decode, text)
  if not ok or type(t) ~= "table" then bad(path, "bad workbench.layer_fields (not JSON)") end
  local out = {}
  for _, i in ipairs(util.sorted_keys(t)) do
    local l = model[math.tointeger(tonumber(i)) or 0]
    if type(l) ~= "table" or type(t[i]) ~= "table" then
      bad(path, "workbench.layer_fields: layer %s of the model is no Lua layer", tostring(i))
    end
    for _, e in ipairs(t[i]) do
      local v = type(e) == "table" and e[3] == true and math.tointeger(e[2]) or e[2]
      if type(e) ~= "table" or type(e[1]) ~= "string" or not scalar(v) then
        bad(path, "workbench.layer_fields: layer %s: expected {field, value, integer}", i)
      end
      out[#out + 1] = {l, e[1], v}
    end
  end
  return out
end

-- Gives each layer its saved fields.
function M.restore_fields(list)
  for _, e in ipairs(list) do rawset(e[1], e[2], e[3]) end
end

-- }====================

return M
