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
-- norm, alpha, ...). At the end the same series are written as a dashboard
-- figure under the task's folder (M.figure_path). The foreground run is
-- trained even when an equal training could be adopted (wb/train.lua's
-- donors): its record is the same but for reused_from. A failure of the
-- foreground run stops the task, as any in-process run's does; with no run
-- to train, one line says so.
local _ENV = require "wb.std"
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

-- Where the foreground run's dashboard goes: <task dir>/cockpit/<variant>-
-- seed<k>.png, beside the task's own figures (a variant name is kept to
-- letters, digits and . = _ -, the rest becoming _).
function M.figure_path(dir, s)
  return string.format("%s/cockpit/%s-seed%d.png", dir,
    (tostring(s.variant):gsub("[^%w%.=_%-]", "_")), s.seed)
end

-- A SIGINT or SIGTERM while the foreground run's figure png was drawn, its
-- record written: said as that (it was "figure not drawn: .../
-- cockpit_run.lua:100: interrupted!", then the runner's count, which took
-- the run for one recorded before), and the task stops (130 / 143) with
-- the runner's one line, this run counted as trained now (n: the runs pending).
function M.interrupted(ex, s, png, n)
  local gp = png:gsub("%.png$", ".gp")
  io.stderr:write(string.format("[%s] %s seed %d: its record is written; interrupted while "
    .. "drawing its cockpit figure %s: the PNG is not written; %s\n", ex.name, s.variant, s.seed,
    png, wb.sys.exists(gp) and string.format("its CSVs and %s are (gnuplot %s draws it)", gp,
    gp) or "nor is its gnuplot script"))
  error(require("wb.runner_stop")("interrupted!", ex, 1, n), 0)
end

-- Trains pending[1] of task t's experiment here with the cockpit on, then
-- writes its dashboard (CSV + .gp + PNG, as fit's cockpit = {save = ...});
-- returns the other pending runs. describe(record) is the runner's one-line
-- outcome. With nothing pending it says why no cockpit is shown: --cockpit
-- on a finished task is otherwise a silent no-op.
function M.foreground(t, pending, describe)
  local ex = t.ex
  if #pending == 0 then
    local n = #ex.specs
    io.stderr:write(string.format("[%s] --cockpit: %s cached and none is trained, so no "
      .. "cockpit is shown (add --fresh to train %s again)\n", ex.name, n == 1 and
      "its one run is" or ("all " .. n .. " runs are"), n == 1 and "it" or "them"))
    return pending
  end
  local s, hook = pending[1], ex.callbacks
  local function say(what)
    io.stderr:write(string.format("[%s] %s seed %d: %s\n", ex.name, s.variant, s.seed, what))
  end
  say("in the foreground (--cockpit)")
  local cockpit, reuse = wb.cockpit._callback(true), ex.reuse
  ex.callbacks = function(cfg, model, d)
    local extra = hook and hook(cfg, model, d) or {}
    extra[#extra + 1] = cockpit
    return extra
  end
  -- trained even if an equal training is recorded (a twin variant, or the
  -- run's own record under --fresh): adopting it would show no cockpit
  ex.reuse = false
  -- one BLAS thread, as the children have: the same record as theirs
  local threads = wb.sys.blas_threads()
  wb.sys.set_blas_threads(1)
  -- concurrent_jobs: it trains alone, before the others start (recorded with its times)
  local ok, rec = pcall(train.run, ex, s, {on_epoch = M.epoch_line(s), concurrent_jobs = 1})
  ex.callbacks, ex.reuse = hook, reuse
  wb.sys.set_blas_threads(threads)
  local png = M.figure_path(t.dir, s)
  if not ok then
    -- Ctrl-C or an error in a step or hook: a last frame saying why and the
    -- series up to there, as fit's own cockpit does (fit's failure path
    -- knows only that one), then the same error
    if cockpit.model then
      cockpit.save = png
      pcall(wb.sys.mkdir_p, png:match("^(.*)/"))
      cockpit:_failed(rec, false)
    end
    error(rec, 0)
  end
  say(describe(rec))
  if cockpit.model then -- set once fit began
    -- after the record is written: a figure that cannot be drawn (no
    -- gnuplot, a full disk) costs the figure, never the run
    local fok, err = pcall(function()
      wb.sys.mkdir_p(png:match("^(.*)/"))
      -- marked as a task's figures are under --quick (tryM 5: it was not)
      cockpit:_save(png, string.format("%scockpit: %s, %s seed %d", t.quick and
        require("wb.task").QUICK_MARK or "", ex.name, s.variant, s.seed))
    end)
    if not fok and not pcall(wb.sys.check_interrupt) then M.interrupted(ex, s, png, #pending) end
    say(fok and ("cockpit figure " .. png .. " (with its .csv and .gp)")
      or ("cockpit figure not drawn: " .. tostring(err)))
  end
  return {table.unpack(pending, 2)}
end

return M
