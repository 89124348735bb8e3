-- wb/fit_loop.lua: the step loop of model:fit (one epoch), the per-step
-- hooks, the step series (history.steps) and the divergence error object.
--
-- Speed: a training step makes a handful of C calls and no Lua garbage: the
-- batch comes from the dataset's reused buffers, layers return views of
-- their own buffers, the parameter lists are cached, and the progress bar
-- is formatted at most 10 times a second. Without per-step callbacks and
-- without log_every, a step does nothing more than that; with them, the
-- logs table handed to the hooks is one table reused for every step, so
-- the loop still makes no garbage (recording a step series grows its
-- lists, every log_every steps).
local _ENV = require "wb.std"
local wb = require "wb"
local progress = require "wb.progress"
local args = require "wb.args"
local is_tensor = require("wb.fit_args").is_tensor
local history_guard = require "wb.history_guard"
local M = {}

local huge, type, next = math.huge, type, next
local clock = wb.sys._time -- the unwrapped clock (bindings/l_sys.c): the library's own timings
-- a Ctrl-C a hook's pcall caught still stops fit (bindings/interrupt.c)
local check_interrupt = wb.sys and wb.sys.check_interrupt or function() end
M.check_interrupt = check_interrupt
local bar_line = progress.bar_line

-- {==================== divergence ====================

local Diverged = {}
Diverged.__index = Diverged
Diverged.__name = "wb.Diverged"
Diverged.__tostring = function(e) return e.message end
M.Diverged = Diverged

function M.diverged(epoch, step, loss, history, detail)
  local msg
  if detail then
    msg = string.format("training diverged at epoch %d, step %d: %s", epoch, step, detail)
  else
    msg = string.format("training diverged: loss is %s at epoch %d, step %d",
      loss ~= loss and "nan" or tostring(loss), epoch, step)
  end
  history_guard.set(history, "stopped", msg) -- fit's: a hook's write of it is an error
  return setmetatable({kind = "diverged", epoch = epoch, step = step, loss = loss,
    history = history, message = msg}, Diverged)
end
local diverged = M.diverged

-- Why the optimizer refused a non-finite gradient (err, its wb.Error), for
-- the divergence's message: a loss function's own gradient when that is
-- not finite (the parameter the NaN reached first was named instead), and
-- without the binding's "bad argument #3 to '?' (...)" around the reason.
local function refused(lossf, err)
  local ok, e = true, nil
  if lossf.user and lossf.grad then
    ok, e = pcall(args.check_finite, "loss", "g", lossf.grad, 1)
  end
  if not ok and wb.is_error(e) then
    return "the loss function's gradient is not finite: " .. e.message:gsub("^loss: g: ", "")
  end
  local msg = tostring(err)
  return msg:match("^bad argument #%d+ to '[^']*' %((.*)%)$") or msg
end

-- A loss that is not finite because the data holds NaN or inf is bad
-- input, not a divergence: without this a researcher would read "training
-- diverged" and tune the learning rate. The data is looked at only once the
-- loss has gone non-finite, so it costs a healthy step nothing. Raises
-- ENONFINITE (exit status 65) naming the dataset, row and column (what:
-- "training", "validation"; a dataset-like table of the caller's own,
-- without images, is not looked at).
function M.check_finite_data(ds, who, what)
  if is_tensor(ds.images) then
    args.check_finite(who, string.format("%s dataset '%s'", what, tostring(ds.name)),
      ds.images, 1)
  end
end
local check_finite_data = M.check_finite_data

-- }====================
-- {==================== step logs and series ====================

-- The keys fit writes into the per-step logs; any other key a callback
-- wrote is recorded (at a logging step) and then removed.
local STEP_KEYS = {epoch = true, step = true, batch_size = true, lr = true, loss = true,
  accuracy = true}
M.STEP_KEYS = {"accuracy", "batch_size", "epoch", "loss", "lr", "step"} -- as a list

-- How many series a step table had at its last padding pass (weak keys).
-- When a record creates none and writes that many, every series got its
-- row and the pass is skipped: with instruments every step it cost more
-- than the writes.
local nseries = setmetatable({}, {__mode = "k"})

-- Append the numeric entries of logs to the step series; a series that is
-- new starts with NaN for the earlier records, one absent this time gets NaN.
-- With clear, the keys other than STEP_KEYS are removed in the same walk
-- (after_step: one walk over the logs, not two, at a recorded step). The
-- walk is one C call (l_instruments.c _record_step): with instruments every
-- step, about 20 keys a step, it was a type() and a next() call per key.
local record_walk = wb.instruments._record_step
local function record_step(steps, logs, clear, guard, ctx)
  local i = #steps.step + 1
  record_walk(guard.steps, logs, i, nil) -- fit's own copy (wb/history_guard.lua)
  guard.rows = i
  local written, bad = record_walk(steps, logs, i, clear and STEP_KEYS or nil)
  if bad ~= nil then M.not_a_number(M.batch_hook(ctx), bad, "history.steps") end
  if nseries[steps] ~= written then
    local n = 0
    for _, s in pairs(steps) do
      n = n + 1
      if #s < i then s[i] = 0 / 0 end
    end
    nseries[steps] = n
  end
end

-- What hooks write into logs. fit's own numbers (the step's or the
-- epoch's loss, accuracy, lr, ...) stay as fit computed them: a hook that
-- changed one (logs.loss = ...) made the history say what fit never
-- measured. A hook's own entry must be a number: the history records
-- numbers, and a string or a tensor was dropped without a word.
function M.not_a_number(who, k, where)
  error(string.format("fit: %s wrote logs.%s, which is not a number: %s records numbers "
    .. "only (a one-element tensor's is t:item())", who, tostring(k), where), 0)
end

-- Who wrote a step's logs, where fit was, as a hook's own error says it:
-- on_train_batch_begin or _end (a key either wrote is seen after the step).
function M.batch_hook(ctx)
  return string.format("epoch %d, step %d (batch %d of %d): a batch hook", ctx.epoch, ctx.step,
    ctx.batch, ctx.steps)
end

local function changed(who, k, was, now)
  error(string.format("fit: %s changed logs.%s from %s to %s: fit's own numbers are "
    .. "recorded as it computed them; put a number of yours under a name of its own "
    .. "(logs.my_%s)", who, k, tostring(was), tostring(now), k), 0)
end

local function differs(a, b) return a ~= b and (a == a or b == b) end -- NaN is NaN

-- fit's numbers of an epoch's logs, before its hooks.
function M.own_numbers(logs)
  local own = {}
  for k, v in pairs(logs) do own[k] = v end
  return own
end

-- Raises when a hook (who) changed one of fit's numbers own in logs.
local function check_own(who, logs, own)
  for k, v in next, own do
    if differs(logs[k], v) then changed(who, k, v, logs[k]) end
  end
end

-- The history's names that are fit's (its series, its fields, epochs): a
-- hook's logs.val_loss in a fit without validation became history.val_loss,
-- a validation loss no validation measured (with validation, changing it
-- is refused: check_own).
local History = require "wb.history"
local RESERVED = {epochs = true}
for _, k in ipairs(History._SERIES) do RESERVED[k] = true end
for k in pairs(History.__fields) do RESERVED[k] = true end

local function reserved(epoch, k, v)
  error(string.format("fit: an on_epoch_end hook of epoch %d wrote logs.%s (%s), a name fit "
    .. "records itself%s: the run's record would say training measured it; put a number of "
    .. "yours under a name of its own (logs.my_%s)", epoch, k, tostring(v), k:find("^val_") and
    " (this fit has no validation to measure it: give validation or validation_split)" or "",
    k), 0)
end

-- history:_record(logs) after the on_epoch_end hooks, which left own alone
-- and added none of fit's names; guard (wb/history_guard.lua) keeps a copy
-- of what it appends.
function M.record_epoch(history, logs, own, guard)
  local who = string.format("epoch %d, on_epoch_end: a hook", History._last_epoch(history) + 1)
  check_own(who, logs, own)
  for k, v in pairs(logs) do
    if type(v) ~= "number" then M.not_a_number(who, k, "the history") end
    if own[k] == nil and RESERVED[k] then reserved(History._last_epoch(history) + 1, k, v) end
  end
  history:_record(logs)
  guard:recorded(logs)
end

-- An empty step series: the series fit always records.
function M.new_steps()
  return {step = {}, epoch = {}, loss = {}, accuracy = {}, lr = {}, batch_size = {}}
end

local hooks = require "wb.fit_hooks" -- calling the callbacks' hooks
local call_cbs, lr_changed, lr_used = hooks.call_cbs, hooks.lr_changed, hooks.lr_used
local fcheck = require("wb.fit_finite").check -- weights a hook of the user's may write
M.call_cbs, M.stopping = call_cbs, hooks.stopping

local fit_model = require "wb.fit_model" -- what a hook may not change

-- fit's start (wb/fit.lua enters once, after a resume has loaded its
-- weights, before any hook or step): a parameter holding NaN or inf is
-- refused here, naming it, not met as a divergence many steps later (a NaN
-- weight on an input that is 0 in every row is never seen by the loss).
-- One pass over the parameters a fit; then fit_model's and hooks' enter.
function M.enter(ctx, model)
  args.check_finite_params("fit", ctx.params, 2)
  fit_model.enter(ctx, model)
  return hooks.enter(ctx)
end

local check_model, layers_changed = fit_model.check_model, fit_model.layers_changed
M.check_model = check_model

-- }====================
-- {==================== one epoch ====================

-- The per-step work beyond the plain step: hooks after the step, the step
-- series, the removal of the keys the hooks added. Returns true to stop.
local function after_step(model, ctx, logs, total, correct, count)
  local every, bcb = ctx.log_every, ctx.batch_cbs
  logs.loss, logs.accuracy = total, correct / count
  if bcb then
    -- fit's own numbers (STEP_KEYS) kept in locals and compared in one
    -- test: a walk over a table of them was 14 next() calls a step
    local acc, bs, ep, loss, lr, step = logs.accuracy, logs.batch_size, logs.epoch, logs.loss,
      logs.lr, logs.step
    call_cbs(bcb, "on_train_batch_end", model, step, logs)
    if ctx.finite then fcheck(ctx, "on_train_batch_end", ctx.epoch, ctx.batch) end
    if ctx.opt.lr ~= lr then lr_changed(ctx, step + 1, ep, ctx.opt.lr) end -- from the next
    if rawget(model, "optimizer") ~= ctx.opt or layers_changed(model, ctx.layers) then
      check_model(model, ctx, "on_train_batch_end")
    end
    if logs.accuracy ~= acc or logs.batch_size ~= bs or logs.epoch ~= ep or logs.loss ~= loss
        or logs.lr ~= lr or logs.step ~= step then -- changed, or a NaN (check_own's differs)
      check_own(hooks.where(ctx, "on_train_batch_end") .. ": a hook", logs, {accuracy = acc,
        batch_size = bs, epoch = ep, loss = loss, lr = lr, step = step})
    end
  end
  if (every and logs.step % every == 0) or ctx.record_now then -- record_now: instruments
    record_step(ctx.history.steps, logs, bcb ~= nil, ctx.guard, ctx)
    ctx.record_now = nil
  elseif bcb then
    for k, v in pairs(logs) do
      if not STEP_KEYS[k] then
        if type(v) ~= "number" then M.not_a_number(M.batch_hook(ctx), k, "history.steps") end
        logs[k] = nil
      end
    end
  end
  return hooks.stopping(model)
end

-- A clean point inside an epoch (the step done, its hooks and records
-- too): where the epoch is, for save_state (wb/state.lua), while the
-- callbacks' private _after_batch_end hooks (ModelCheckpoint's save) run.
local function save_mid(model, ctx, mid)
  hooks.check_optimizer(ctx, mid.epoch) -- a reset so far (end(step)'s) is in the state's history
  rawset(model, "_fit_mid", mid)
  local ok, err = pcall(call_cbs, ctx.batch_cbs, "_after_batch_end", nil, mid.gstep)
  rawset(model, "_fit_mid", nil); rawset(model, "_fit_save_mid", nil)
  if not ok then error(err, 0) end
end

-- One epoch of training; returns loss_sum, data_sum, reg_sum, correct, seen
-- (over the steps run: a per-step hook may stop the epoch early) or raises
-- the divergence object. ctx.step counts the steps of the whole fit.
function M.run_epoch(self, ctx, epoch)
  local train, perm, bs, n, steps = ctx.train, ctx.perm, ctx.bs, ctx.n, ctx.steps
  local lossf, opt, params, grads = ctx.loss, ctx.opt, ctx.params, ctx.grads
  local l2, bar, bcb, logs = ctx.l2, ctx.bar, ctx.batch_cbs, ctx.step_logs
  local hooked = bcb ~= nil or ctx.log_every ~= nil
  -- with batch hooks: opt.iterations - the step's number, as long as no
  -- hook reset the optimizer (nil: no count, an optimizer of the user's)
  local opt_off = bcb and ctx.opt_off
  -- looked up once an epoch: model.k and ds.k are Lua __index calls
  -- past their argument-count checkers (wb/init.lua): nothing extra per step
  local zero_grad, batch = args.unchecked(self.zero_grad), args.unchecked(train.batch)
  local l2_penalty = args.unchecked(self.l2_penalty)
  local pre_update = ctx.pre_update -- set (or not) at on_train_begin: a local test a step
  local fin = ctx.finite -- wb/fit_finite.lua: nil unless the user's code may write weights
  local loss_sum, data_sum, reg_sum, correct_sum, seen = 0, 0, 0, 0, 0
  local from, at = 1, ctx.resume_at -- a mid-epoch state (fit{resume}): on after its step
  if at then
    ctx.resume_at, from, ctx.epoch_lr = nil, at.step + 1, at.epoch_lr
    loss_sum, data_sum, reg_sum, correct_sum, seen = at.loss_sum, at.data_sum, at.reg_sum,
      at.correct, at.seen
  end
  local next_draw = 0
  rawset(self, "_fit_save_mid", nil) -- left by a step whose hooks or fit failed
  if bar then bar.t0 = clock(); bar.epoch = epoch end
  for step = from, steps do
    local first = (step - 1) * bs + 1
    local count = n - first + 1
    if count > bs then count = bs end
    local gstep = ctx.step + 1
    ctx.step = gstep
    if hooked then
      ctx.epoch, ctx.batch = epoch, step -- for a hook's error (located)
      logs.epoch, logs.step, logs.batch_size = epoch, gstep, count
      logs.loss, logs.accuracy, logs.lr = nil, nil, opt.lr
      if bcb then
        -- a stop asked for here takes effect after the step, where Keras
        -- checks model.stop_training (and a stop_training set here did)
        local lr = logs.lr
        call_cbs(bcb, "on_train_batch_begin", self, gstep, logs)
        if logs.lr ~= lr or logs.loss ~= nil or logs.accuracy ~= nil or logs.epoch ~= epoch
            or logs.step ~= gstep or logs.batch_size ~= count then
          hooks.begin_wrote(ctx, logs, {epoch = epoch, step = gstep, batch_size = count, lr = lr})
        end
        logs.lr = opt.lr -- a hook may have set it: the lr this step uses
        lr_used(ctx, gstep, epoch, logs.lr, lr) -- history.lr_changes (wb/fit_hooks.lua)
        if rawget(self, "optimizer") ~= opt or layers_changed(self, ctx.layers) then
          check_model(self, ctx, "on_train_batch_begin")
        end
        if fin then fcheck(ctx, "on_train_batch_begin", epoch, step) end
        -- a reset by on_train_batch_end of the last step or begin of this
        -- one: each between two updates is a row (fit_hooks.check_optimizer)
        if opt_off and opt.iterations - gstep ~= opt_off then
          opt_off = hooks.check_optimizer(ctx, epoch, gstep - 1)
        end
      end
    end
    if step == 1 then ctx.epoch_lr = opt.lr end -- the epoch's lr: its first step's
    local x, y = batch(train, perm, first, count)
    ctx.batch_x, ctx.batch_y = x, y -- for instruments (wb/instruments_fit.lua)
    local loss, correct = lossf:value(self, x, y, true)
    local reg = l2 and l2_penalty(self) or 0
    local total = loss + reg
    if total ~= total or total == huge or total == -huge then
      if fin then fcheck(ctx, "layers", epoch, step) end -- a Lua layer's write, not divergence
      check_finite_data(train, "fit", "training")
      error(diverged(epoch, step, total, ctx.history), 0)
    end
    zero_grad(self)
    lossf:backward(self, x)
    -- the instruments' theta_t, when Lua code of one's own (a hook, a Lua
    -- layer) may move the weights (wb/instruments_moved.lua): what the update
    -- starts from, after everything but the optimizer has run
    if fin then fcheck(ctx, "layers", epoch, step) end
    if pre_update then pre_update() end
    local ok, err = pcall(opt.step, opt, params, grads)
    if not ok then
      if wb.is_error(err) and err.code == "ENONFINITE" then
        check_finite_data(train, "fit", "training") -- inf * 0: a finite loss, a NaN gradient
        error(diverged(epoch, step, total, ctx.history, refused(lossf, err)), 0)
      end
      error(err, 0)
    end
    if fin then fcheck(ctx, "update", epoch, step) end -- an overflow: a divergence, here
    loss_sum = loss_sum + total * count
    data_sum = data_sum + loss * count
    reg_sum = reg_sum + reg * count
    correct_sum = correct_sum + correct
    seen = seen + count
    local stop = hooked and after_step(self, ctx, logs, total, correct, count)
    if hooked then check_interrupt() end
    if bar then
      local now = clock()
      if now >= next_draw or step == steps or stop then
        next_draw = now + 0.1
        io.stdout:write(bar_line(bar, step, loss_sum, correct_sum, seen, now))
        io.stdout:flush()
      end
    end
    if stop then -- the epoch ends here: a save asked for at this step is the epoch's end's
      rawset(self, "_fit_save_mid", nil)
      break
    end
    if rawget(self, "_fit_save_mid") then -- a ModelCheckpoint{save_freq = k} asked
      save_mid(self, ctx, {epoch = epoch, step = step, gstep = gstep, perm = perm,
        loss_sum = loss_sum, data_sum = data_sum, reg_sum = reg_sum, correct = correct_sum,
        seen = seen, epoch_lr = ctx.epoch_lr})
      opt_off = bcb and ctx.opt_off -- save_mid looked at the optimizer
    end
  end
  if bcb then ctx.guard:check("a batch hook (on_train_batch_begin/end) of epoch " .. epoch) end
  return loss_sum, data_sum, reg_sum, correct_sum, seen
end

-- }====================

return M
