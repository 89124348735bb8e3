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

return M
