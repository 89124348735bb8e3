-- wb/fit_model.lua: what a hook of a fit may not change, the model's
-- optimizer and layers, checked after the hooks that could change them.
-- Private to wb/fit.lua and wb/fit_loop.lua.
local _ENV = require "wb.std"
local hooks = require "wb.fit_hooks"
local M = {}

-- At fit's start (wb/fit_loop.lua enter): ctx.layers, the model's layers.
function M.enter(ctx, model)
  ctx.layers = {}
  for i = 1, rawlen(model) do ctx.layers[i] = rawget(model, i) end
end

-- The per-index half of layers_changed, for check_model, which compares the counts
-- itself (its message says them).
local function moved(model, layers)
  for i = 1, #layers do if rawget(model, i) ~= layers[i] then return true end end
  return false
end

-- Whether the model holds other layers than fit started with (layers):
-- another count (model:add) or another layer at an index (model[2] = ...,
-- which leaves model:parameters()'s cached list as it was). After every
-- batch hook: a length compare and one per layer, no garbage.
function M.layers_changed(model, layers)
  return rawlen(model) ~= #layers or moved(model, layers)
end

-- A hook that replaces model.optimizer or adds a layer would otherwise be
-- ignored: the loop steps the optimizer and parameter lists it started
-- with (the new layer untrained, save_state writing the new optimizer's
-- empty state). name: the hooks just run, epoch: theirs (an epoch hook's),
-- for the message, which says where fit was as a hook's own error does.
-- After the hooks outside the steps, the values the history recorded are
-- checked too.
function M.check_model(model, ctx, name, epoch)
  local batch = name:find("^on_train_batch") ~= nil
  if not batch then
    ctx.guard:check(name == "on_train_begin" and "an on_train_begin hook"
      or string.format("an %s hook of epoch %d", name, ctx.guard.n + 1))
  end
  local at = hooks.where(ctx, name, epoch)
  if rawget(model, "optimizer") ~= ctx.opt then
    error(string.format("fit: %s: model.optimizer was replaced (by %s); fit steps the "
      .. "optimizer it started with: change its fields instead (model.optimizer.lr = ...)",
      at, tostring(rawget(model, "optimizer"))), 0)
  end
  local layers, why, n = ctx.layers, nil, rawlen(model)
  if n ~= #layers then
    why = string.format("%d layers at fit's start, %d now", #layers, n)
  elseif moved(model, layers) then -- (counts equal: not compared again)
    why = "a layer is not the one fit started with at its index"
  elseif not batch and model:parameters() ~= ctx.params then
    why = "model:parameters() is not the list fit started with"
  end
  if why then
    error(string.format("fit: %s: the model's layers changed (%s); fit trains the parameters "
      .. "it started with: change the model between fits", at, why), 0)
  end
end

return M
