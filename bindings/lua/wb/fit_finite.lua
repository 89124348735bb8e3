-- wb/fit_finite.lua: fit's checks that the weights are finite, at the step
-- where code of the user's that may write them ran. Private to wb/fit.lua
-- and wb/fit_loop.lua.
--
-- The loss sees a weight only through its input: a NaN a hook wrote into
-- the weight of a pixel that is 0 in every image (the forward pass skips
-- zero inputs) left each later loss finite, and the end-of-epoch check
-- reported "training diverged at epoch 1, step 100: parameter 1 became
-- non-finite" (exit status 3), so that a researcher would blame the learning
-- rate for a bug of the hook (tryS F2). So in a fit with code of the user's
-- between two updates, the weights are checked after that code, each time
-- it runs: after the on_train_batch_begin hooks, the Lua layers' forward and
-- backward (before the update) and the on_train_batch_end hooks of each
-- step; after the on_train_begin, on_epoch_begin and on_epoch_end hooks.
-- A check after each update too (these fits only) tells an update that
-- overflowed (a divergence, now at its step) from a hook's write. A NaN
-- found after a hook is an ENONFINITE error (exit status 65) with the hook's
-- place in fit as a hook's own error has it (wb/fit_hooks.lua located):
-- "fit: epoch 1, step 2 (batch 2 of 100), on_train_batch_end: ...", as
-- fit's start refuses weights a script made non-finite before it.
-- wb's own callbacks (metatables named "wb.*") and the runner's tables
-- (state_fit.still) never write weights (wb/instruments_moved.lua): they arm
-- nothing. Cost: one C call per check (wb.optim._first_nonfinite, the
-- optimizer's vectorised test of the gradients), no garbage; a fit without
-- batch hooks or Lua layers of the user's makes no check in its steps (a nil
-- test), and M.passes() counts the per-step checks made (for the tests; a counter kept in a
-- local, not a field of the module: as a field that changed with every fit it changed the
-- code identity of every Lua layer's methods (wb/arch.lua layer_code) after each fit, and
-- every resume of such a model was refused, test_audit_resume_layers)
local _ENV = require "wb.std"
local wb = require "wb"
local describe = require("wb.fit_hooks").describe
local M = {}

local first_nonfinite = wb.optim._first_nonfinite
local passes = 0
function M.passes() return passes end

local STEP = {update = true, layers = true, on_train_batch_begin = true,
  on_train_batch_end = true} -- the checks inside the steps
local PHASES = {"on_train_begin", "on_epoch_begin", "on_train_batch_begin",
  "on_train_batch_end", "on_epoch_end"}

-- Is cb a callback of the user's, one that may write weights?
local function users(cb)
  local mt = getmetatable(cb)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if type(name) == "string" and name:find("^wb%.") then return false end
  return not require("wb.state_fit").still[cb]
end

-- At fit's start (cbs: the fit's callbacks, instruments first when on):
-- ctx.finite_by[phase] names the user's callbacks with that hook ("callbacks[2]
-- (Lambda at t.lua:5)", their places in the fit option's list) and the Lua
-- layers; ctx.finite is set (the per-step checks) when a batch hook of the
-- user's or a Lua layer is.
function M.arm(ctx, cbs, model)
  local by, off = {}, 0
  local mt = getmetatable(cbs[1])
  if type(mt) == "table" and rawget(mt, "__name") == "wb.instruments" then off = 1 end
  for i, cb in ipairs(cbs) do
    if users(cb) then
      for _, phase in ipairs(PHASES) do
        if cb[phase] then
          local names = by[phase] or {}
          by[phase] = names
          names[#names + 1] = string.format("callbacks[%d] (%s)", i - off, describe(cb, phase))
        end
      end
    end
  end
  for i = 1, #model do -- C layers are userdata; a Lua layer may write another's weights
    if type(model[i]) ~= "userdata" then
      local names = by.layers or {}
      by.layers = names
      names[#names + 1] = string.format("layer %d (a Lua layer)", i)
    end
  end
  ctx.finite_by, ctx.model = by, model
  ctx.finite = (by.on_train_batch_begin or by.on_train_batch_end or by.layers) and true or nil
end

-- "layers.1.weight of layer 1 (Dense 784->16)" for parameter k of model.
local function param_name(model, k)
  local n = 0
  for i = 1, #model do
    local layer = model[i]
    local ps = layer.parameters and layer:parameters() or {}
    if k <= n + #ps then
      local j = k - n
      return string.format("layers.%d.%s of layer %d (%s)", i, j == 1 and "weight"
        or j == 2 and "bias" or "param" .. j, i, wb.nn.SequentialClass._describe(layer))
    end
    n = n + #ps
  end
  return "?"
end

-- "row 1, column 1 is NaN" for flat element j (1-based) of p.
local function element(p, j, v)
  local at = p:dim() == 2 and string.format("row %d, column %d", (j - 1) // p:size(2) + 1,
    (j - 1) % p:size(2) + 1) or "element " .. j
  return string.format("%s is %s", at, v ~= v and "NaN" or tostring(v))
end

local function raise(ctx, phase, epoch, batch, k, j, v)
  local model, step = ctx.model, ctx.step
  local what = string.format("parameter %d (%s): %s", k, param_name(model, k),
    element(ctx.params[k], j, v))
  if phase == "update" then -- no code of the user's ran since the last check
    local loop = require "wb.fit_loop"
    error(loop.diverged(epoch, batch, v, ctx.history, what .. ", after the step's update"), 0)
  end
  local names = table.concat(ctx.finite_by[phase], ", ")
  local where, who = phase, (#ctx.finite_by[phase] > 1 and "one of " or "") .. names
  if phase == "layers" then
    where, who = "the forward or backward pass", "a Lua layer: " .. who
  end
  if phase == "on_epoch_begin" or phase == "on_epoch_end" then
    where = string.format("epoch %d, %s", epoch, phase)
  elseif phase ~= "on_train_begin" then
    where = string.format("epoch %d, step %d (batch %d of %d), %s", epoch, step, batch,
      ctx.steps, where)
  end
  error(wb.Error{code = "ENONFINITE", message = string.format("fit: %s: %s wrote a "
    .. "non-finite weight: %s (the weights were finite before it ran: not a divergence; "
    .. "fit stopped here)", where, who, what)}, 0)
end

-- The check after the code of phase ran ("update": the step's update; a
-- hook's name; "layers": the step's forward and backward). Nothing when no
-- code of the user's ran there: a table read, no pass.
function M.check(ctx, phase, epoch, batch)
  if phase ~= "update" and not ctx.finite_by[phase] then return end
  if STEP[phase] then passes = passes + 1 end
  local k, j, v = first_nonfinite(ctx.params)
  if k then raise(ctx, phase, epoch, batch, k, j, v) end
end

-- The catch-all after each epoch's steps (before validation and the
-- callbacks: a checkpoint of non-finite weights must never be written):
-- the last step's update is seen by no loss of the epoch, and a fit without
-- checks in its steps meets here what the loss could not see. The same one
-- C call as the checks in the steps (it was a sum per tensor: a second test
-- of finiteness to keep in step with that one); the divergence's loss is
-- the first non-finite value, as after an update.
function M.epoch_end(ctx, epoch)
  local k, _, v = first_nonfinite(ctx.params)
  if k then
    local loop = require "wb.fit_loop"
    loop.check_finite_data(ctx.train, "fit", "training")
    error(loop.diverged(epoch, ctx.steps, v, ctx.history,
      string.format("parameter %d became non-finite", k)), 0)
  end
end

return M
