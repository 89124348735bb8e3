-- wb/runner_watch.lua: a child run's side of the runner's pipe. The runner
-- (wb/runner.lua, run_children) hands each child its output pipe as fd 3
-- (WB_RUNNER_FD); a runner killed with SIGKILL leaves no other trace (its
-- pid may be a zombie's or reused), so a child that finds no one reading
-- that pipe any more stops itself instead of training for no one.
--
-- It looks when the run starts, after every epoch and every M.EVERY steps
-- inside one (an epoch of MNIST at batch 8 is 6,750 steps: minutes), through
-- fit's own callbacks. It ends the process between two steps, before any
-- record is written; the state file of the last finished epoch (written
-- atomically after it) stays, so a rerun resumes from there as after any
-- kill. Not a wall clock: a bound in steps, the same on any machine.
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

-- model.fit, once, with the callback cb added to its options' callbacks:
-- wb.train builds the model and calls its fit, so this is where a callback
-- of the runner's own joins the run's (ex.callbacks' are the run's hooks:
-- part of its identity, and their state goes into its checkpoints). A model
-- that is not a Lua table, or has a fit of its own, is left as it is: the
-- epoch checks remain.
local function add_callback(model, cb)
  if type(model) ~= "table" or rawget(model, "fit") ~= nil then return end
  local fit = model.fit
  if type(fit) ~= "function" then return end
  rawset(model, "fit", function(self, train, opts, more)
    rawset(self, "fit", nil) -- once: a measure hook's own fit runs as written
    if type(opts) ~= "table" or more ~= nil then return fit(self, train, opts, more) end
    local o, cbs = {}, {}
    for k, v in pairs(opts) do o[k] = v end
    for i, c in ipairs(opts.callbacks or {}) do cbs[i] = c end
    cbs[#cbs + 1] = cb
    o.callbacks = cbs
    return fit(self, train, o)
  end)
end

-- watch(ex): in a child the runner started (WB_RUNNER_FD: wb.runner's
-- run_children), makes experiment ex's runs watch the runner: this process
-- ends (exit 129, recording nothing) within M.EVERY steps once no one reads
-- the runner's pipe; it looks at once too. Returns the check to call after
-- each epoch. Elsewhere, changes nothing and returns a function that does
-- nothing.
local function watch(ex)
  local fd = math.tointeger(tonumber(os.getenv("WB_RUNNER_FD") or ""))
  if not fd or wb.sys.reader_gone(fd) == nil then return function() end end
  check(fd)
  local cb = {on_train_batch_end = function(_, step)
    if step % M.EVERY == 0 then check(fd, step) end
  end}
  local hook = ex.callbacks
  ex.callbacks = function(cfg, model, d)
    add_callback(model, cb)
    if hook then return hook(cfg, model, d) end
    return {}
  end
  return function() check(fd) end
end

return setmetatable(M, {__call = function(_, ex) return watch(ex) end})
