-- wb/runner_watch.lua: a child run's side of the runner's pipe. The runner
-- (wb/runner_children.lua) hands each child its output pipe as fd 3
-- (WB_RUNNER_FD); a runner killed with SIGKILL leaves no other trace (its
-- pid may be a zombie's or reused), so a child that finds no one reading
-- that pipe any more stops itself instead of training for no one.
--
-- It looks when the run starts, after every epoch and every M.EVERY steps
-- inside one (an epoch of MNIST at batch 8 is 6,750 steps: minutes), through
-- the run's fit's callbacks (wb.train.run's options). It ends the process
-- between two steps, before any record is written; the state file of the
-- last finished epoch (written atomically after it) stays, so a rerun
-- resumes from there as after any kill. Not a wall clock: a bound in steps,
-- the same on any machine.
local _ENV = require "wb.std"
local wb = require "wb"

local M = {}

-- Steps between two looks at the pipe inside an epoch (a look is three
-- system calls; a step is a forward and backward pass).
M.EVERY = 64

-- Ends this process, recording nothing, when no one reads fd any more.
local function check(fd, step)
  if wb.sys.reader_gone(fd) then
    io.stderr:write("the runner is gone (killed?): stopping", step and (" after step "
      .. step) or "", ", no record written\n")
    os.exit(129, false) -- as a hang-up would; no finalizer runs
  end
end

-- watch(): in a child the runner started (WB_RUNNER_FD:
-- wb/runner_children.lua), looks at once whether the runner is still there, then
-- returns the check to call after each epoch and the callbacks to train with
-- (wb.train.run's callbacks option, which keeps them out of the run's
-- identity, record and checkpoints: they have no state): one, which looks
-- every M.EVERY steps. This process ends (exit 129, recording nothing) at the
-- first look that finds no one reading the runner's pipe. Elsewhere, returns
-- a function that does nothing and no callbacks.
local function watch()
  local fd = math.tointeger(tonumber(os.getenv("WB_RUNNER_FD") or ""))
  if not fd or wb.sys.reader_gone(fd) == nil then return function() end, {} end
  check(fd)
  local cb = {on_train_batch_end = function(_, step)
    if step % M.EVERY == 0 then check(fd, step) end
  end}
  require("wb.state_fit").still[cb] = true -- moves no weights (wb/instruments_moved.lua)
  return function() check(fd) end, {cb}
end

return setmetatable(M, {__call = function() return watch() end})
