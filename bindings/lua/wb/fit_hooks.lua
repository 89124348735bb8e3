-- wb/fit_hooks.lua: how fit calls the callbacks' hooks: their return
-- values, model.stop_training, and where fit was when one raised. Private
-- to wb/fit.lua and wb/fit_loop.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local M = {}

-- a Ctrl-C a hook's pcall caught still stops fit (bindings/interrupt.c)
local check_interrupt = wb.sys and wb.sys.check_interrupt or function() end

-- A hook returns true to stop, or nothing (false too); any other value is
-- an error: "stop", 1 or a table would otherwise be ignored. Not for
-- on_train_end: training is over, and an error would lose fit's result.
local function bad_return(cb, name, r)
  error(string.format("fit: callback %s: %s returned %s %s; return true to stop training, "
    .. "or nothing", tostring(cb), name, type(r), tostring(r)), 0)
end

-- The ctx of the innermost fit running (wb/fit.lua), for where a hook
-- failed; M.enter(ctx) makes it ctx until the value it returns is closed
-- (a fit of another model inside a hook has its own).
-- M.interrupted: where the outermost fit a Ctrl-C stopped was, for the
-- REPL's message (wb/repl.lua) and a script's (M.script_interrupted), else
-- nil. ctx.after_training: what ran once training had ended (an
-- on_train_end hook, set by call_cbs; the cockpit says which figure it drew).
local running
function M.enter(ctx)
  local outer = running
  running = ctx
  return setmetatable({}, {__close = function(_, err)
    running = outer
    if err ~= nil and not pcall(check_interrupt) then -- this chunk's Ctrl-C
      M.interrupted = {step = ctx.step, done = ctx.history.epochs, after = ctx.after_training}
    end
  end})
end

-- The interrupted fit's place, read once: "interrupted! fit stopped in
-- epoch 2, at step 37 of the fit" (or, once training had ended, "... after
-- training ended, at step 37, in the on_train_end hook of ...") and the
-- epochs it completed; nil when no fit was stopped.
function M.take_interrupted()
  local at = M.interrupted
  if not at then return nil end
  M.interrupted = nil
  if at.after then -- not "in epoch 2": no epoch was running
    return string.format("interrupted! fit had ended its training, at step %d of the fit, %s",
      at.step, at.after), at.done
  end
  return string.format("interrupted! fit stopped in epoch %d, at step %d of the fit",
    at.done + 1, at.step), at.done
end

-- What a script (or -e chunk) a Ctrl-C stopped in fit says, in place of the
-- error's text and traceback (bindings/workbench.c): that named whatever
-- code ran then ("layer 1 (Dense 4->64): interrupted!", from deep in fit),
-- not the epoch and step. nil when no fit was stopped (the error stays).
function M.script_interrupted()
  local text, done = M.take_interrupted()
  return text and string.format("%s (%d epoch%s completed)", text, done,
    done == 1 and "" or "s")
end

-- A hook's error err, its message beginning with where fit was: "fit:
-- epoch 3, step 3496 (batch 120 of 1688), on_train_batch_end: ". Its kind
-- stays: a string gets the prefix, a wb.Error a copy with it (code, path
-- and the rest kept), any other value (a table of the user's) is left as
-- it is, and so is a Ctrl-C (check_interrupt raises its own error). arg:
-- the hook's first argument (an epoch hook's epoch).
-- M.where: that place alone, for fit's own checks after a hook (wb/fit_loop.lua).
function M.where(c, name, arg)
  if name == "on_epoch_begin" or name == "on_epoch_end" then
    return string.format("epoch %s, %s", tostring(arg), name)
  elseif name == "on_train_end" then
    return string.format("%s (after epoch %d)", name, c.guard.n)
  elseif name ~= "on_train_begin" then
    return string.format("epoch %d, step %d (batch %d of %d), %s", c.epoch, c.step, c.batch,
      c.steps, name)
  end
  return name
end

local function located(err, name, arg)
  check_interrupt()
  local c = running
  if not c or name:sub(1, 1) == "_" then return err end -- a library hook's own message
  local where = M.where(c, name, arg)
  if type(err) == "string" then return "fit: " .. where .. ": " .. err end
  if not wb.is_error(err) then return err end
  local e = {}
  for k, v in pairs(err) do e[k] = v end
  e.message = "fit: " .. where .. ": " .. tostring(err.message)
  return setmetatable(e, getmetatable(err))
end

-- The hook `name` of each callback in order; with model, a hook returning
-- true sets model.stop_training at once (a later hook sees the stop and may
-- overrule it, as one set by assignment), and the result is whether
-- model.stop_training is set after them all. A hook's error says where fit
-- was (located).
local function call_cbs(cbs, name, model, ...)
  for i = 1, #cbs do
    local cb = cbs[i]
    local f = cb[name]
    if f then
      if name == "on_train_end" and running then
        running.after_training = "in the on_train_end hook of " .. M.describe(cb, name)
      end
      local ok, r = pcall(f, cb, ...)
      -- a library callback's refusal at the start is fit's own message (the instruments'
      -- tic on a tanh model said "fit: on_train_begin: fit: ...", as a user's hook would)
      local mt = not ok and name == "on_train_begin" and getmetatable(cb)
      if mt and rawget(mt, "__fit_errors") then error(r, 0) end
      if not ok then error(located(r, name, ...), 0) end
      if r == true then
        if model then model.stop_training = true end
      elseif r ~= nil and r ~= false and name ~= "on_train_end" then
        bad_return(cb, name, r)
      end
    end
  end
  return model ~= nil and M.stopping(model)
end

-- Whether model.stop_training asks for a stop; a value other than true,
-- false or nil (1, "yes") is an error rather than taken either way.
function M.stopping(model)
  local v = model.stop_training
  if v == true then return true end
  if v == nil or v == false then return false end
  error(string.format("fit: model.stop_training must be true or false, got %s %s",
    type(v), tostring(v)), 0)
end

M.call_cbs = call_cbs

-- Keras's Callback.set_model(model) and set_params(params) of the
-- callbacks that have them (a Keras-style table), called once at fit's
-- start, before on_train_begin, as Keras's CallbackList does: set_model
-- with the model (Keras's sets self.model), set_params with {epochs,
-- steps (a epoch's), verbose (0, 1 or 2)}. Not calling them left
-- self.model nil in the hooks, without a word.
function M.set_model(cbs, model, params)
  for i, cb in ipairs(cbs) do
    for _, name in ipairs{"set_model", "set_params"} do
      local got, f = pcall(function() return cb[name] end) -- wb's refuse unknown reads
      if got and f ~= nil then
        if type(f) ~= "function" then
          error(string.format("fit: callbacks[%d].%s must be a function (Keras's %s), got %s",
            i, name, name, type(f)), 0)
        end
        local ok, err = pcall(f, cb, name == "set_model" and model or params)
        if not ok then
          error(string.format("fit: callbacks[%d] (%s): %s: %s", i,
            M.describe(cb, name), name, tostring(err)), 0)
        end
      end
    end
  end
end

-- The hooks `name` (on_train_begin, arg the model; on_epoch_begin, arg the
-- epoch) with the logs Keras gives them, an empty table (as call_cbs: the
-- result says whether to stop). Nothing reads those logs after the hooks:
-- a hook's logs.loss = 0.5, or logs.my_x = 1, was dropped without a word,
-- so a write is an error naming the callback and the key (fit's numbers
-- are in on_epoch_end's and the batch hooks' logs).
function M.begin(cbs, name, model, arg)
  local logs = {}
  for i = 1, #cbs do
    call_cbs({cbs[i]}, name, model, arg, logs)
    local k, v = next(logs)
    if k ~= nil then
      error(string.format("fit: %s%s: callback %d (%s) wrote logs.%s (%s): %s's logs are "
        .. "not recorded and fit fills none of its numbers in them; record a number of yours "
        .. "from on_epoch_end or a batch hook (logs.my_x there); to change the lr, set "
        .. "model.optimizer.lr", name == "on_epoch_begin" and ("epoch " .. arg .. ", ") or "",
        name, i, M.describe(cbs[i], name), tostring(k), tostring(v), name), 0)
    end
  end
  return M.stopping(model)
end

-- An on_train_batch_begin hook changed fit's own (was: epoch, step,
-- batch_size, lr) in the step's logs, or wrote its loss or accuracy, which
-- the step then overwrote: the write was dropped without a word (logs.lr =
-- 5 looked like a way to set the lr), where on_train_batch_end's is refused.
function M.begin_wrote(ctx, logs, was)
  local where = string.format("fit: epoch %d, step %d (batch %d of %d), on_train_batch_begin: "
    .. "a hook", ctx.epoch, ctx.step, ctx.batch, ctx.steps)
  for _, k in ipairs{"loss", "accuracy"} do
    if logs[k] ~= nil then
      error(string.format("%s wrote logs.%s (%s) before the step: fit fills the step's loss and "
        .. "accuracy after it; put a number of yours under a name of its own (logs.my_%s)",
        where, k, tostring(logs[k]), k), 0)
    end
  end
  for _, k in ipairs{"lr", "epoch", "step", "batch_size"} do
    if logs[k] ~= was[k] then
      error(string.format("%s changed logs.%s from %s to %s: fit's own numbers are recorded "
        .. "as it computed them; %s", where, k, tostring(was[k]), tostring(logs[k]),
        k == "lr" and "set model.optimizer.lr to change the lr this step uses"
        or string.format("put a number of yours under a name of its own (logs.my_%s)", k)), 0)
    end
  end
end

-- {==================== on_epoch_end and the weights fit leaves ====================

local function hashes(params)
  local h = {}
  for i, p in ipairs(params) do h[i] = wb.io._hash(p) end
  return table.concat(h)
end

-- The on_epoch_end hooks of epoch `epoch` (as call_cbs: the result says
-- whether to stop). An epoch's numbers (val_loss) are of its weights
-- before these hooks: in the last epoch, a hook that changes them leaves
-- weights of no epoch, as an on_train_end hook that does (M.weights_left).
-- So the weights are hashed (XXH3, one pass over them) before the hooks
-- and after each callback that has one; ctx.epoch_end_by names the
-- callbacks that changed them in this epoch (nil: none).
function M.epoch_end(cbs, model, epoch, logs, ctx)
  local by, was = {}, nil
  for i = 1, #cbs do
    local cb = cbs[i]
    if cb.on_epoch_end then
      was = was or hashes(ctx.params)
      call_cbs({cb}, "on_epoch_end", model, epoch, logs)
      local now = hashes(ctx.params)
      if now ~= was then by[#by + 1] = string.format("callback %d (%s)", i,
        M.describe(cb, "on_epoch_end")) end
      was = now
    end
  end
  ctx.epoch_end_by = #by > 0 and {epoch = epoch, by = table.concat(by, ", ")} or nil
  return M.stopping(model)
end

-- After fit's on_train_end hooks (wb/state_fit.lua train_end set
-- history.weights_epoch, weights_changed_by): an on_epoch_end hook of the
-- last epoch that changed the weights is named as an on_train_end one is,
-- and the weights are of no epoch (unless EarlyStopping restored another's).
function M.weights_left(ctx, h)
  local e, hset = ctx.epoch_end_by, require("wb.history_guard").set
  if not e or e.epoch ~= require("wb.history")._last_epoch(h) then return end
  local at, by = rawget(h, "weights_epoch"), rawget(h, "weights_changed_by")
  if at ~= nil and at ~= e.epoch then return end
  local mine = string.format("the on_epoch_end of %s in epoch %d", e.by, e.epoch)
  hset(h, "weights_epoch", nil)
  hset(h, "weights_changed_by", at == nil and by and (mine .. ", then " .. by) or mine)
end

-- }====================

-- A hook that reset the optimizer's state (opt:reset(), or set it: opt:
-- set_state) changed training as no setting says: its moments and step
-- count start again. Seen by the step count (opt.iterations) against the
-- steps fit made since the last look (ctx.opt_at): after the hooks of
-- on_train_begin, of each on_epoch_begin and on_epoch_end, and, with batch
-- hooks, before each step's update (wb/fit_loop.lua: one C read and one
-- compare, against ctx.opt_off), so that each look covers the hooks between
-- two updates and no more: history.optimizer_resets records each, step (the
-- last step before it: done, the steps made, ctx.step by default) and epoch
-- (its hook's; on_train_begin's: the first epoch it trains). Resets between
-- the same two updates are one row: the state starts over once. Returns
-- ctx.opt_off: opt.iterations minus the number of the next step while no
-- hook resets it (nil for an optimizer of the user's, with no step count).
function M.check_optimizer(ctx, epoch, done)
  done = done or ctx.step
  local it, at = ctx.opt.iterations, ctx.opt_at
  if math.type(it) ~= "integer" then return nil end -- an optimizer of the user's: no count
  if at and it - at[1] ~= done - at[2] then
    require("wb.history_guard").append(ctx.history, "optimizer_resets",
      {step = done, epoch = epoch}) -- fit's row, kept by its guard
  end
  ctx.opt_at, ctx.opt_off = {it, done}, it - done - 1
  return ctx.opt_off
end

-- {==================== history.lr_changes ====================

local hguard = require "wb.history_guard"

-- A batch hook of epoch `epoch` set the optimizer's lr (to lr), for global
-- step `step` (an on_train_batch_end's: the next step, in this epoch or the
-- next): history.lr_changes records it, as history.lr records only each
-- epoch's first step's lr (and history.steps.lr only every log_every-th
-- step's). An on_train_batch_end's row waits for that step: M.lr_used
-- keeps it if the step uses that lr, M.lr_end drops it after the fit's last
-- step. The test for it compares a number.
function M.lr_changed(ctx, step, epoch, lr)
  hguard.append(ctx.history, "lr_changes", {step = step, epoch = epoch, lr = lr})
end

-- The last row of history.lr_changes when it is for a step after `after`
-- (recorded by an on_train_batch_end for a step not run yet), else nil.
local function waiting(ctx, after)
  local c = rawget(ctx.history, "lr_changes")
  local n = c and #c.step or 0
  if n > 0 and c.step[n] > after then return n, c end
end

-- Step gstep of epoch `epoch` uses lr `used` (opt.lr after its
-- on_train_batch_begin hooks; before: opt.lr before them). lr_changes holds
-- only lrs steps used, at the first step using each: an
-- on_train_batch_end's row for this step is dropped when an epoch hook or
-- this step's on_train_batch_begin set another lr (or set it back), and a
-- change by on_train_batch_begin is a row unless the last step used that
-- lr already. ctx.lr_prev: the last step's lr (nil before this fit's first
-- step: a resumed fit's row for its first step is kept).
function M.lr_used(ctx, gstep, epoch, used, before)
  local prev = ctx.lr_prev
  ctx.lr_prev = used
  local n, c = waiting(ctx, gstep - 1)
  if n then
    if c.lr[n] == used and used ~= prev then return end -- used, as recorded
    hguard.retract(ctx.history, "lr_changes")
  end
  if used ~= before and used ~= prev then M.lr_changed(ctx, gstep, epoch, used) end
end

-- After the fit's last step (ctx.step): an on_train_batch_end's change for
-- a step never run (the last one's, or one before a stop) is no lr a step
-- used: its row is dropped (the optimizer keeps the lr: model.optimizer.lr).
function M.lr_end(ctx)
  if waiting(ctx, ctx.step) then hguard.retract(ctx.history, "lr_changes") end
end

-- }====================

-- A fit of model inside a hook of its own fit would train it inside that
-- fit's step and replace model.history and the optimizer's state under it.
-- Refused at its start (the caller's level), found on the call stack: the
-- fit calling this is at level 2, an outer one of the same model further up
-- (a flag would outlive a fit that raised).
function M.check_not_nested(model)
  local fit = debug.getinfo(2, "f").func
  for level = 3, math.huge do
    local info = debug.getinfo(level, "f")
    if not info then return end
    if info.func == fit and select(2, debug.getlocal(level, 1)) == model then
      error("fit: this model is training (model:fit was called inside a hook of its own fit, "
        .. "which would train it inside that fit's step): fit it after that fit returns, or "
        .. "stop that fit (return true) first", 3)
    end
  end
end

-- A callback as its user wrote it, for a message: its class (a wb
-- callback's __name), else "Lambda at t.lua:12" (where the function given to
-- the Lambda is defined, not callbacks.lua's wrapper), else "a table with
-- on_train_end at t.lua:12" (method's, or its first method's by name), else
-- tostring (was "table: 0x55d1...": nothing a reader could find).
function M.describe(cb, method)
  local mt = getmetatable(cb)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if type(name) == "string" then return name end
  local wrapped = require("wb.callbacks")._wrapped
  local keys = method and {method} or type(cb) == "table" and require("wb.util").sorted_keys(cb)
  for _, k in ipairs(keys or {}) do
    local f = cb[k]
    local info = type(f) == "function" and debug.getinfo(wrapped[f] or f, "S")
    if info and info.linedefined > 0 then
      return string.format("%s at %s:%d", wrapped[f] and "Lambda" or ("a table with " .. k),
        info.short_src, info.linedefined)
    end
  end
  return tostring(cb)
end

return M
