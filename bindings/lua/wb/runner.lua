-- wb/runner.lua: the life of a task, each phase once.
--
--   1. options: the command line is parsed and checked (64 on a bad one);
--   2. plan: the experiment is made (every key checked, wb/spec.lua) and
--      each run is found recorded (cached) or pending; the first line says
--      "N runs: C cached, M to measure on a recorded training, T to train (J jobs)"
--      (wb/runner_plan.lua), and why the runs not cached are not;
--   3. train: pending runs go to child processes, `workbench SCRIPT ARGS
--      --run HASH [--fresh]`, J at a time (xargs -P); a child trains and
--      measures its one run and writes its record; nothing else of the
--      script runs; with --slurm, one Slurm job array (wb/slurm.lua);
--   4. report: the task's report function runs once, here, on the records,
--      and the task's README says which command, data, epochs, seeds and
--      commit produced it.
-- A signal stops the whole task (130 / 143): children are stopped, finished
-- records stay, no README is written from partial data (one stopped in the
-- report marks it: wb/task_readme.lua); one line says so. A runner
-- killed with SIGKILL cannot stop them: they stop themselves within 64
-- steps, recording nothing, and start no other run (run_children).
local _ENV = require "wb.std"
local wb, util, record = require "wb", require "wb.util", require "wb.record"
local train, slurm = require "wb.train", require "wb.slurm"
local cockpit_run = require "wb.cockpit_run" -- --cockpit, and a run's epoch lines
local run_children = require "wb.runner_children" -- the runner's side
local plan = require "wb.runner_plan" -- the plan's lines: counts, why not cached
local records = require "wb.runner_records" -- which runs are recorded, which to train
local load_record, reusable, write_spec = records.load_record, records.reusable, records.write_spec
local pending_of, gather = records.pending_of, records.gather
local root_lock = require "wb.root_lock" -- one runner of a sweep on a root at a time
local fork = require "wb.runner_fork" -- ex:run()'s runs, each in a forked child
local checks = require "wb.runner_checks" -- what is refused before anything starts

---wb.runner
---The life of a task, each phase once: options, plan (cached or to train),
---training in child processes, the report once in the parent. The
---workbench executable calls wb.runner.main for a script that returns a
---task.
---Example: local o = wb.runner.options{"--quick"}; print(o.quick)
local M = {}

-- {==================== options ====================

local ropts = require "wb.runner_options"
M.USAGE, M.MAX_JOBS, M.options = ropts.USAGE, ropts.MAX_JOBS, ropts.options
M.help_text = ropts.help_text
---wb.runner.OPTIONS
---@type table[]
---The task options, in --help's order, each {name, value (nil: none), what
---it does, field = key in the parsed options, keep = repeated in a run's
---command, many = repeatable, alias, check}: the one list wb.runner.options
---parses and --help and the usage line are made from.
---Example: for _, o in ipairs(wb.runner.OPTIONS) do print(o[1], o[3]) end
M.OPTIONS = ropts.OPTIONS

-- The root the command line names: --root, else $WB_PLOTS or "plots".
local function base_root(opts) return opts.root or record.root() end

---wb.runner.root_of(opts) -> string
---The root folder of a task's figures and records for parsed options:
-----root, else $WB_PLOTS or "plots"; --quick runs always go under
---<root>/quick (--root DIR --quick: DIR/quick), so that a quick README or
---figure never lands on, or is taken for, a full one.
---@param opts table
---@return string
---Example: print(wb.runner.root_of(wb.runner.options{"--quick"}))
function M.root_of(opts)
  local r = base_root(opts)
  return opts.quick and (r .. "/quick") or r
end

-- }====================


-- {==================== training ====================

-- Trains run s: train.run seeds Lua's generator with the run's seed and
-- pins one BLAS thread (what decides numbers is in the code version, and
-- this module is not: wb/identity_code.lua).
local function train_run(ex, s, o)
  return train.run(ex, s, o)
end

-- in process, runs train one after the other: recorded with each (its times' conditions)
local function one_at_a_time(ex, s) return train_run(ex, s, {concurrent_jobs = 1}) end

local function describe(rec)
  if rec.status ~= "ok" then return rec.status end
  local run = require "wb.run"
  return string.format("test accuracy %s%s%s%s", run.pct(rec.metrics.test_accuracy),
    run.weights_note(rec),
    rec.reused_from and (" (same training as " .. rec.reused_from .. ")") or "",
    rec.resumed_after_epoch and string.format(" (resumed after epoch %d)",
    rec.resumed_after_epoch) or "")
end

-- Trains the pending runs; returns the failures ({spec, error}). In this
-- process, `lock(s)` (when given) is called before run s: release() and
-- whether s is recorded by now (trained by the process that held its lock).
local function train_pending(ex, pending, jobs, in_process, lock)
  local done, failures, running = 0, {}, {}
  local by_hash = {}
  for _, s in ipairs(pending) do by_hash[s.hash] = s end
  local tty = require("wb.progress").live(2) -- status line: not on TERM=dumb
  local function progress(s, what)
    done = done + 1
    io.stderr:write(string.format("%s[%s %d/%d] %s seed %d: %s\n", tty and "\r\27[K" or "",
      ex.name, done, #pending, s.variant, s.seed, what))
  end
  -- a signal: one line saying what is done (wb/runner_stop.lua), no traceback
  local function stopped(err) error(require("wb.runner_stop")(err, ex, done, #pending), 0) end
  if in_process then
    for _, s in ipairs(pending) do
      local release, recorded = function() end, false
      if lock then release, recorded = lock(s) end
      local _ <close> = setmetatable({}, {__close = release}) -- an error releases it too
      local ok, err = pcall(function()
        progress(s, recorded and "recorded meanwhile by another process: not trained again"
          or describe(fork.train(ex, s, one_at_a_time, load_record)))
        wb.sys.check_interrupt()
      end)
      if not ok then stopped(err) end
    end
    return failures
  end
  local said = {} -- the reasons runs cannot resume, relayed
  local ok, err = pcall(run_children, ex, pending, jobs, function(h, code, log, said)
    local s = by_hash[h]
    running[h] = nil
    local rec = code == 0 and load_record(ex, h)
    if rec then
      progress(s, describe(rec))
    elseif code == nil then -- not started: `said` says why, no log holds more
      failures[#failures + 1] = {spec = s, error = said, status = 1}
      progress(s, "FAILED: " .. said)
    else
      local first = said or util.first_error(log)
      failures[#failures + 1] = {spec = s, error = first, log = log, status = code}
      progress(s, string.format("FAILED (exit %d): %s (log: %s)", code, first, log))
    end
  end, function(h, line)
    require("wb.train_resume").relay(said, line, ex.name, tty) -- a run that cannot resume
    local e = line:match("^epoch (%d+/%d+)")
    if e and tty then
      running[h] = by_hash[h].variant .. " seed " .. by_hash[h].seed .. ": epoch " .. e
      local parts = {}
      for _, v in pairs(running) do parts[#parts + 1] = v end
      table.sort(parts)
      io.stderr:write("\r\27[K[" .. ex.name .. "] " .. table.concat(parts, "; "))
    end
  end)
  if not ok then stopped(err) end
  return failures
end

-- }====================

-- {==================== a task's main ====================

-- Phases 2 (the plan) to 4 of a task's main, under the root's lock
-- (released early by a --slurm once submitted); returns the exit status.
local function plan_train_report(task, opts, ex, root, argv, script, release)
  local jobs = not opts.slurm and (opts.jobs or wb.sys.nproc()) or nil
  local conflicts = opts.gather and slurm.gather(ex, opts.gather, opts.quick) or 0
  local pending, retrain = pending_of(ex, opts.fresh)
  ex._fresh = opts.fresh and "--fresh" or nil -- an interrupt's advice (wb/runner_stop.lua)
  checks.room(root, #pending)
  require("wb.runner_data")(ex, pending) -- one error, not one per run
  local measured = plan.measured(ex, pending) -- on an equal recorded training, not trained
  io.stderr:write(plan.header(ex, pending, jobs, measured), "\n", retrain)
  checks.gnuplot(ex, pending) -- missing: said before the runs train
  local states = checks.other_states(ex, pending)
  if states then io.stderr:write(states, "\n") end
  local cached = checks.cached_states(ex, pending)
  if cached then io.stderr:write(cached, "\n") end
  io.stderr:write(plan.why(ex, pending, measured, opts.fresh)) -- what changed since
  -- what --epochs, --seeds, --dataset or --quick replaced of the experiment's own values
  io.stderr:write(require("wb.runner_overrides").text(ex))
  for _, n in ipairs(ex.notes) do
    io.stderr:write(string.format("[%s] not cached: %s\n", ex.name, n))
  end
  util.sweep_stale(record.dir(root))
  util.sweep_stale(task.dir)
  for _, s in ipairs(pending) do write_spec(ex, s, script) end
  local busy, unasked = slurm.busy(ex, pending) -- still on the cluster: trained twice at once
  if busy then io.stderr:write(busy, "\n"); return 1 end
  if unasked then io.stderr:write(unasked, "\n") end
  local failures = {}
  if #pending > 0 and opts.slurm then
    local status
    failures, status = slurm.train(ex, pending, opts, describe, release)
    if not failures then return status end -- detached (a later run draws), or not submitted
  elseif #pending > 0 or opts.cockpit then -- --cockpit says why when nothing is trained
    -- the foreground run (the first pending) draws from math.random as a child would
    if opts.cockpit and pending[1] then math.randomseed(pending[1].seed) end
    local rest = opts.cockpit and cockpit_run.foreground(task, pending, describe) or pending
    if #rest > 0 then failures = train_pending(ex, rest, jobs, script == nil) end
  end
  local n_failed = #failures
  local runs = gather(ex, failures, pending) -- with the runs whose record went while it ran
  task:_report(runs, {failures = failures, trained = #pending - n_failed,
    cached = #ex.specs - #pending, argv = argv, script = script, pending = pending})
  local problems = task:_end_problems() -- the report's (Task:problem): said last
  return (#failures == 0 and conflicts == 0 and problems == 0) and 0 or 1
end

---wb.runner.main(task, argv, script) -> integer
---Runs a task declared with wb.task: parses argv, plans, trains what is
---not recorded in child processes, runs the task's report once and writes
---its README. Returns the exit status: 0, 1 when a run failed (or the
---report noted a problem: wb.Task:problem; --gather met a conflicting
---record, runs to train are still in Slurm's queue, or another runner
---of the task holds its root: wb/root_lock.lua; for --run, a runner of
---the task, or another --run of the same run),
---64 for a bad command line or an unknown --run hash. The workbench
---executable calls it when a script returns a task.
---@param task wb.Task
---@param argv table
---@param script? string
---@return integer
---Example: -- workbench scripts/my_dropout.lua --quick
function M.main(task, argv, script)
  local ok, opts = pcall(M.options, argv or {})
  local stray = ok and ropts.check_rest(task, opts) -- `quick` for --quick
  if stray then ok, opts = false, stray end
  if not ok then
    if type(opts) ~= "table" or not opts.usage then error(opts, 0) end
    io.stderr:write(task.name, ": ", opts.usage, "\n")
    return 64
  end
  if opts.help then
    -- the intro too: what the task trains and what its arguments mean (task 2's
    -- labels from file names were in the script's comment only, tryM 10)
    io.stdout:write(string.format("%s: %s\n%susage: workbench %s [options]%s\n%s", task.name,
      task.title, task.intro and (task.intro .. "\n") or "", script or "SCRIPT", task.args
      and (" " .. task.args) or "", M.help_text()))
    return 0
  end
  local refused = checks.command(task, opts, M.root_of(opts)) -- stdin, a newline in the root
  if refused then io.stderr:write(refused, "\n") return 64 end
  -- before any work: a binary not built from its tree's C sources (wb/runner_provenance.lua)
  local stale = not opts.list_runs and require("wb.runner_provenance").core_refusal()
  if stale then io.stderr:write(task.name, ": ", stale, "\n") return 1 end
  local root = M.root_of(opts)
  -- a query without a root in its hooks and report reads this root's runs
  local _default <close> = require("wb.runs_load").use_root(root)
  -- the declaration was checked when the script was loaded: what fails now
  -- is what the options ask of it (--epochs over a varied epochs), so 64
  local sok, ex = pcall(task._setup, task, opts, root, ropts.command_maker(script or "?", opts,
    base_root(opts)))
  if not sok then
    if not wb.spec.is_input_error(ex) then error(ex, 0) end
    io.stderr:write(tostring(ex), "\n")
    return 64
  end
  if opts.list_runs then
    -- listing only reads: a root folder this process cannot write (a shared
    -- root mounted read-only here, README's `--root /shared/wb --list-runs`)
    -- is listed without the specs, said once, not refused (audit X16c); a
    -- root that cannot be one (a file in its place) still is
    local wok, werr = pcall(checks.writable_root, ex.name, root, opts, base_root(opts))
    local runs_kind = wb.sys.kind(record.dir(root))
    if not wok and (not wb.spec.is_input_error(werr) or wb.sys.kind(root) ~= "folder"
      or (runs_kind ~= nil and runs_kind ~= "folder")) then
      error(werr, 0)
    end
    if not wok then
      io.stderr:write(string.format("%s; listed without writing the runs' specs (%s-HASH.spec)\n",
        tostring(werr), ex.name))
    end
    for _, s in ipairs(ex.specs) do
      if wok then write_spec(ex, s, script) end
      print(ex.command(s.hash))
    end
    return 0
  end
  local run_spec -- --run's, found before the root is written (an unknown one made runs/logs)
  if opts.run then
    local full, why = ropts.resolve_run(opts.run, ex.specs) -- a unique prefix, 8+ digits
    if not full then io.stderr:write(task.name, ": ", why, "\n") return 64 end
    opts.run = full
    for _, s in ipairs(ex.specs) do if s.hash == full then run_spec = s end end
  end
  if opts.run and not run_spec then
    -- where a run of that hash is (the other of --quick and not, another --dataset)
    io.stderr:write(require("wb.runner_norun").message(ex, opts.run, root,
      M.root_of{root = opts.root, quick = not opts.quick}, opts.quick), "\n")
    return 64
  end
  checks.writable_root(ex.name, root, opts, base_root(opts))
  if run_spec then
    -- not while a runner of the sweep (or another --run of it) trains it
    local release, held = root_lock.take_run(ex, run_spec)
    if not release then
      io.stderr:write(string.format("[%s] %s\n", ex.name, held))
      return 1
    end
    local _ <close> = setmetatable({}, {__close = release}) -- keeps a traceback
    require("wb.runner_one").train(ex, run_spec, opts, train_run) -- its $WB_STALE_RECORD too
    return 0
  end
  -- one runner of the sweep on this root at a time, local or --slurm (two
  -- found the same runs pending and trained them twice at once)
  local release, held = root_lock.take(ex, opts.slurm and "submitting to Slurm"
    or "training locally")
  if not release then
    io.stderr:write(string.format("[%s] %s\n", ex.name, held))
    return 1
  end
  -- released however the plan ends; a to-be-closed variable, not a pcall,
  -- so that an error in the task's report keeps its traceback (the pcall's
  -- rethrow named only this line)
  local _ <close> = setmetatable({}, {__close = release})
  return plan_train_report(task, opts, ex, root, argv, script, release)
end

---wb.runner.run_experiment(ex, opts) -> wb.Runs
---Trains ex's runs that are not recorded (all with opts.fresh), one after
---another, each in a forked child of this process (wb/runner_fork.lua),
---and returns the run list. A failure raises. Runs whose hooks cannot be
---identified (wb.identity.hook) train every time, the reason said once
---("[name] not cached: ...").
---opts: fresh, verbose (false: no plan line); another key is an error.
---It holds the root's lock shared, and each run's own while training it,
---as a task's --run does (wb/root_lock.lua): while a runner of the task
---trains on the root, or another process (run_experiment, --run) trains
---one of its runs, it raises naming the lock and its holder's pid (runs
---trained before stay recorded); a run recorded by then is not trained
---again. A name and root another script owns (its task folder's runs.json names it, else its
---run records there) refuse ex before anything trains (exit 64); -e and the REPL are no script.
---Without a root of its own, ex's runs go to $WB_PLOTS (else plots), its
---quick ones (options.quick) to <that>/quick, as a task's do; wb.runs.find
---and load_all without a root or folder read that root's runs while it runs
---(in its hooks too). Each record's
---command is this process's ("workbench x.lua ...", "workbench -e '...'", or
---one saying it was typed at the REPL).
---@param ex wb.Experiment
---@param opts? table
---@return wb.Runs
---Example: local runs = wb.runner.run_experiment(ex)
function M.run_experiment(ex, o)
  o = require("wb.args").options("run_experiment", 2, o, {"fresh", "verbose"})
  ex.root = ex.root or M.root_of{quick = ex.quick} -- quick runs under <root>/quick, as a task's
  -- a query without a root in its hooks reads ex's runs' root
  local _default <close> = require("wb.runs_load").use_root(ex.root)
  local this = ropts.this_command()
  ex.command = ex.command or function() return this end -- the records name this process
  -- the identities of what is trained now, not of the hooks when ex was made
  if ex._identify then ex:_identify() end
  checks.experiment_owner(ex) -- another script's task of the same name and root: refused
  -- as a --run: the root's lock shared (a runner of the sweep is refused
  -- while this trains, and this while one holds it), each run's own while
  -- it trains (another run_experiment or --run of it is refused): two
  -- processes on the same runs wrote the same records and weights at once
  local doing = "training in process (run_experiment)"
  local release, held = root_lock.take_shared(ex, doing, "nothing trained here (it may be "
    .. "training these runs now); run again once the runner has ended")
  if not release then root_lock.refuse("run_experiment", ex, held) end
  local _ <close> = setmetatable({}, {__close = release}) -- an error releases it too
  local pending, retrain = pending_of(ex, o.fresh)
  ex._fresh = o.fresh and "--fresh (fresh = true)" or nil -- as a task's (wb/runner_stop.lua)
  -- on an equal recorded training, not trained (the records read anew: a second ex:run())
  local measured = plan.measured(ex, pending)
  if o.verbose ~= false then -- why they are not cached, what its options replaced: as a
    -- task's plan says (tryZ C4)
    io.stderr:write(plan.header(ex, pending, 1, measured), "\n", retrain,
      plan.why(ex, pending, measured, o.fresh), require("wb.runner_overrides").text(ex))
  else
    io.stderr:write(retrain) -- a run trained again says why, as before
  end
  -- why its runs are not cached, once (verbose = false too: a run's line
  -- "its hooks cannot be identified (see 'not cached')" points here)
  for _, n in ipairs(ex.notes or {}) do
    io.stderr:write(string.format("[%s] not cached: %s\n", ex.name, n))
  end
  checks.room(ex.root, #pending)
  require("wb.runner_data")(ex, pending)
  train_pending(ex, pending, 1, true, function(s)
    local run_release, busy = root_lock.take_one(ex, s, string.format("training run %s (%s "
      .. "seed %d) in process (run_experiment)", s.hash, s.variant, s.seed))
    if not run_release then root_lock.refuse("run_experiment", ex, busy) end
    if o.fresh or not s.cacheable then return run_release, false end
    local ok, rec = pcall(reusable, ex, s)
    if not ok then run_release(); error(rec, 0) end
    return run_release, rec ~= nil
  end)
  return gather(ex, {}, pending)
end

-- }====================

wb.runner = M
return M
