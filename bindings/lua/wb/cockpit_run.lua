-- wb/cockpit_run.lua: the runner's --cockpit (wb/runner.lua): the first run
-- a task has to train is trained in this process, in the foreground, with
-- the live cockpit (wb/cockpit.lua) drawing on stdout; the other pending
-- runs then go to child processes as usual. Also the per-epoch progress
-- line of a run trained in this process (here and under --run).
--
-- The cockpit only looks: it is added after the run's own callbacks and
-- turns on no instrument, so the record is the one a child would write (the
-- panels show the loss, and whatever instruments the config asks for:
-- `instruments = "economy"` in the task's base config adds the gradient
-- norm, alpha, ...). A run adopted from another task's record trains
-- nothing and draws nothing. A failure of the foreground run stops the
-- task, as any in-process run's does.
local wb = require "wb"
local train = require "wb.train"
local M = {}

-- The callback that prints a run's epoch lines on stderr.
function M.epoch_line(spec)
  return function(epoch, logs)
    io.stderr:write(string.format("epoch %d/%d loss %.4f accuracy %.2f %%%s\n", epoch,
      spec.config.epochs, logs.loss, 100 * logs.accuracy, logs.val_loss and
      string.format(" val_loss %.4f val_accuracy %.2f %%", logs.val_loss,
      100 * logs.val_accuracy) or ""))
  end
end

-- Why options o cannot go together, or nil.
function M.check_options(o)
  if o.cockpit and (o.slurm or o.run or o.list_runs) then
    return "--cockpit trains the first run here: not with --slurm, --run or --list-runs"
  end
end

-- Trains pending[1] of experiment ex here with the cockpit on; returns the
-- other pending runs. describe(record) is the runner's one-line outcome.
function M.foreground(ex, pending, describe)
  local s, hook = pending[1], ex.callbacks
  io.stderr:write(string.format("[%s] %s seed %d: in the foreground (--cockpit)\n",
    ex.name, s.variant, s.seed))
  ex.callbacks = function(cfg, model, d)
    local extra = hook and hook(cfg, model, d) or {}
    extra[#extra + 1] = wb.cockpit._callback(true)
    return extra
  end
  -- one BLAS thread, as the children have: the same record as theirs
  local threads = wb.sys.blas_threads()
  wb.sys.set_blas_threads(1)
  local ok, rec = pcall(train.run, ex, s, {on_epoch = M.epoch_line(s)})
  ex.callbacks = hook
  wb.sys.set_blas_threads(threads)
  if not ok then error(rec, 0) end
  io.stderr:write(string.format("[%s] %s seed %d: %s\n", ex.name, s.variant, s.seed,
    describe(rec)))
  return {table.unpack(pending, 2)}
end

return M
