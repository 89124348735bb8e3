-- wb/nn_list.lua: the list of layers wb.nn.Sequential and :add take, checked
-- before a layer is kept (audit K1, K54).
local _ENV = require "wb.std"
local args = require "wb.args"
local M = {}

local function twice(fname, i, j)
  return string.format("%s: layer %d is layer %d again (one object twice: its buffers are "
    .. "one, so the second call overwrites what the first's backward reads; a second layer "
    .. "like it is a new one, wb.nn.Dense(...))", fname, i, j)
end

-- A layer needs a forward method (else an error at the caller of Sequential or :add);
-- where: "Sequential: layer 2", "add".
function M.check_layer(layer, where)
  local ok, fwd = pcall(function() return layer.forward end)
  if not ok or fwd == nil then
    args.input_fail(string.format("%s: a layer needs a forward method, got %s", where,
      tostring(layer)), 3)
  end
end

-- layers (a table) as a list, else an error at level: a key that is not
-- 1..n (a nil in the list, {l1, nil, l3}: ipairs ended at the hole and
-- dropped the rest), or one object twice.
function M.layers(layers, level)
  local n, seen = 0, {}
  for k in pairs(layers) do
    if math.type(k) ~= "integer" or k < 1 then
      args.input_fail(string.format("Sequential: layers: unexpected key %s (expected a list of "
        .. "layers)", type(k) == "string" and "'" .. k .. "'" or tostring(k)), level)
    end
    n = math.max(n, k)
  end
  for i = 1, n do
    local layer = layers[i]
    if layer == nil then
      args.input_fail(string.format("Sequential: layer %d of %d is nil (an undefined variable?)",
        i, n),
        level)
    end
    if seen[layer] then args.input_fail(twice("Sequential", i, seen[layer]), level) end
    seen[layer] = i
  end
  return layers
end

-- Raises at level when layer is already one of model's (model:add(l) twice).
function M.once(model, layer, level)
  for i = 1, #model do
    if rawequal(model[i], layer) then args.input_fail(twice("add", #model + 1, i), level) end
  end
end

return M
