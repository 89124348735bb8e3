-- wb/callbacks_schedule.lua: LearningRateScheduler (Keras 3, KERAS.md 16-19),
-- the callback that sets the lr before each epoch from a schedule. Part of
-- wb.callbacks (loaded by wb/callbacks.lua).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local M = wb.callbacks

local check_opts, check_begin, is_verbose = M._check_opts, M._check_begin, M._is_verbose

-- {==================== LearningRateScheduler ====================

local Scheduler = {}
Scheduler.__name = "wb.callbacks.LearningRateScheduler"
M._strict(Scheduler, {"model"}, {"verbose", schedule = 1}, {})
Scheduler._make = function(o) return M.LearningRateScheduler(o) end
-- No state of its own (its lr is the optimizer's, saved with it): what its schedule closes
-- over is compared on resume, the values and the identity (wb/state_hooks.lua), so the
-- runner resumes its runs (wb/train_resume.lua; tryN 3: it restarted them from epoch 1).
-- No get_state: one would turn that comparison off, and renumber callbacks.<j>.
Scheduler.__stateless = true

---wb.callbacks.LearningRateScheduler(schedule, opts) -> wb.callbacks.LearningRateScheduler
---Keras's LearningRateScheduler: before each epoch, model.optimizer.lr =
---schedule(epoch, lr) (lr: the current one). epoch counts from 1, as
---everywhere here: Keras passes epochs from 0, so Keras's schedule(e, lr)
---is schedule(epoch - 1, lr) here. schedule must return a number > 0, else
---an error naming the epoch. opts: verbose (false; true or 1 prints each
---change). history.lr records the lr each epoch used. Also as the other
---callbacks: LearningRateScheduler{schedule, verbose = ...}.
---@param schedule function|table
---@param opts? table
---@return wb.callbacks.LearningRateScheduler
---Example: wb.callbacks.LearningRateScheduler(function(epoch, lr)
---  return epoch <= 10 and lr or lr * math.exp(-0.1) end)
function M.LearningRateScheduler(schedule, opts)
  args.check("LearningRateScheduler", 1, schedule, "function|table")
  args.opt("LearningRateScheduler", 2, opts, "table")
  if type(schedule) == "table" then
    if opts ~= nil then
      args.input_fail("LearningRateScheduler: give LearningRateScheduler(schedule, opts) or "
        .. "LearningRateScheduler{schedule, verbose = ...}, not both", 2)
    end
    opts = {}
    for k, v in pairs(schedule) do if k ~= 1 then opts[k] = v end end
    schedule = schedule[1]
    if type(schedule) ~= "function" then
      args.input_fail("LearningRateScheduler: the schedule, a function(epoch, lr) -> lr, is "
        .. "required (its first element), got " .. type(schedule), 2)
    end
  end
  opts = check_opts(opts, {"verbose"}, "LearningRateScheduler", 2, {verbose = "verbose"})
  return M._new(Scheduler, {schedule = schedule, verbose = is_verbose(opts.verbose)},
    {schedule, verbose = opts.verbose})
end

function Scheduler:on_train_begin(model)
  check_begin(model, "on_train_begin")
  self.model = model
end

function Scheduler:on_epoch_begin(epoch)
  local opt = self.model.optimizer
  local lr = self.schedule(epoch, opt.lr)
  if type(lr) ~= "number" or not (lr > 0) or lr == math.huge then
    error(string.format("LearningRateScheduler: schedule(%d, %g) returned %s %s, expected "
      .. "a learning rate (a number > 0)", epoch, opt.lr, type(lr), tostring(lr)), 0)
  end
  if self.verbose then
    io.stdout:write(string.format("epoch %d: LearningRateScheduler setting learning rate to "
      .. "%g\n", epoch, lr))
  end
  opt.lr = lr
end

-- }====================
