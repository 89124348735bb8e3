-- wb/runner.lua: the life of a task, each phase once.
--
--   1. options: the command line is parsed and checked (64 on a bad one);
--   2. plan: the experiment is made (every key checked, wb/spec.lua) and
--      each run is found recorded (cached) or pending; the first line says
--      "N runs: C cached, T to train (J jobs)";
--   3. train: pending runs go to child processes, `workbench SCRIPT ARGS
--      --run HASH [--fresh]`, J at a time (xargs -P); a child trains and
--      measures its one run and writes its record; nothing else of the
--      script runs; with --slurm, one Slurm job array (wb/slurm.lua);
--   4. report: the task's report function runs once, here, on the records,
--      and the task's README says which command, data, epochs, seeds and
--      commit produced it.
-- A signal stops the whole task (130 / 143): children are stopped, finished
-- records stay, no README or figure is written from partial data. A runner
-- killed with SIGKILL cannot stop them: they stop themselves within 64
-- steps, recording nothing, and start no other run (run_children).
local _ENV = require "wb.std"
local wb, util, record = require "wb", require "wb.util", require "wb.record"
local train, slurm = require "wb.train", require "wb.slurm"
local cockpit_run = require "wb.cockpit_run" -- --cockpit, and a run's epoch lines
local runner_watch = require "wb.runner_watch" -- a child's side of the pipe
local run_children = require "wb.runner_children" -- the runner's side
local reads = require "wb.identity_reads"
local why = require "wb.runner_why" -- recorded runs trained again: what changed

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

-- {==================== planning ====================

local function load_record(ex, hash)
  return util.read_json(record.path(ex.root, ex.name, hash, "json"))
end

-- Run s's record when it may be reused; nil when there is none, or nil,
-- the file and what happened to it when a file its hooks read as it ran
-- (read_files, wb/identity_reads.lua) is not as recorded: a cache that
-- might be stale is a bug. A record from before read_files is reused. A
-- record that is there but not JSON (torn, edited) is said too: it was once
-- retrained without a word. So is one that is JSON but not a well-formed
-- record (wb.record.read: a metric edited into a string, a field gone),
-- or not this run's (a record copied over another's file: its hash, task,
-- variant or seed are another run's): reused, its numbers were another
-- run's or left out of the task's tables.
local function reusable(ex, s, memo, just_trained)
  local hash = s.hash
  local rec, file = load_record(ex, hash), record.path(ex.root, ex.name, hash, "json")
  if not rec then return nil, wb.sys.exists(file) and file or nil, "is not valid JSON" end
  local ok, bad = record.read(file)
  if not ok then return nil, file, "is not a well-formed run record (" .. bad .. ")" end
  if ok.hash ~= hash or ok.task ~= ex.name or ok.variant ~= s.variant or ok.seed ~= s.seed then
    return nil, file, string.format("is not this run's record (it says task %s, run %s, "
      .. "variant %s, seed %s; this run is %s seed %d)", ok.task, ok.hash, ok.variant,
      tostring(ok.seed), s.variant, s.seed)
  end
  -- a run trained by this invocation is this training, whatever it read (a command's output)
  local path, what = reads.changed(not just_trained and rec.read_files or nil, memo)
  if path then return nil, path, what end
  return rec
end

-- The runs to train, longest first (epochs, times the per-step overhead of
-- small batches): a long run started last would leave the other jobs idle.
local function pending_of(ex, fresh)
  -- --fresh retrains: no run adopts a recorded equal training (its own included)
  local pending, cost, memo = {}, {}, {}
  ex.reuse = not fresh and ex.reuse
  for i, s in ipairs(ex.specs) do
    local rec, path, what
    if not fresh and s.cacheable then
      rec, path, what = reusable(ex, s, memo)
      if path then
        io.stderr:write(string.format("[%s] run %s: %s %s: retraining\n", ex.name, s.hash,
          path, what))
      end
    end
    if not rec then
      pending[#pending + 1] = s
      cost[s] = (s.config.epochs or 10) * (1 + 16 / (s.config.batch_size or 32)) - i * 1e-9
    end
  end
  table.sort(pending, function(a, b) return cost[a] > cost[b] end)
  return pending
end

-- The root can be written, before anything is (73 / 74 now, naming the
-- folder, rather than a traceback from the first record or spec written).
local function writable_root(name, root, opts)
  local dir = record.dir(root)
  local ok, err = pcall(function()
    wb.sys.mkdir_p(dir .. "/logs")
    local probe = string.format("%s/.probe-%d", dir, wb.sys.getpid())
    wb.sys.write_atomic(probe, string.rep("\0", 65536))
    os.remove(probe)
  end)
  if not ok then
    if not wb.is_error(err) then error(err, 0) end
    error(wb.spec.input_error(string.format("[%s] %s: cannot write its runs folder %s: %s",
      name, opts.root and ("--root " .. opts.root) or ("the root " .. base_root(opts)
      .. " ($WB_PLOTS, else plots)"), dir, err.message:gsub("^[^:]*%.lua:%d+: ", "")),
      err.code), 0)
  end
end

-- ... and has room, before the first run (74 now rather than every run
-- failing one after another).
local function check_root(root, n_runs)
  local dir = record.dir(root)
  local p = io.popen("df -Pk " .. util.shell_quote(dir) .. " 2>/dev/null")
  local out = p and p:read("a") or ""
  if p then p:close() end
  local avail = tonumber(out:match("\n%S+%s+%d+%s+%d+%s+(%d+)"))
  local need = n_runs * 2048 -- KiB: weights, best weights, record, log
  if avail and avail < need then
    wb.sys.fail("EIO", string.format("%s: %d KiB free, %d runs need about %d KiB",
      dir, avail, n_runs, need))
  end
end

local function write_spec(ex, s)
  util.write_json(record.path(ex.root, ex.name, s.hash, "spec"), {hash = s.hash,
    task = ex.name, variant = s.variant, seed = s.seed, config = s.config,
    identity = s.identity, group_key = s.group_key, command = ex.command(s.hash)})
end

-- }====================

-- {==================== training ====================

-- Trains run s: train.run seeds Lua's generator with the run's seed and
-- pins one BLAS thread (what decides numbers is in the code version, and
-- this module is not: wb/identity_code.lua).
local function train_run(ex, s, o)
  return train.run(ex, s, o)
end

local function describe(rec)
  if rec.status ~= "ok" then return rec.status end
  return string.format("test accuracy %.2f %%%s", 100 * rec.metrics.test_accuracy,
    rec.reused_from and (" (same training as " .. rec.reused_from .. ")") or "")
end

-- Trains the pending runs; returns the failures ({spec, error}).
local function train_pending(ex, pending, jobs, in_process)
  local done, failures, running = 0, {}, {}
  local by_hash = {}
  for _, s in ipairs(pending) do by_hash[s.hash] = s end
  local tty = require("wb.progress").live(2) -- status line: not on TERM=dumb
  local function progress(s, what)
    done = done + 1
    io.stderr:write(string.format("%s[%s %d/%d] %s seed %d: %s\n", tty and "\r\27[K" or "",
      ex.name, done, #pending, s.variant, s.seed, what))
  end
  if in_process then
    for _, s in ipairs(pending) do
      progress(s, describe(train_run(ex, s)))
      wb.sys.check_interrupt()
    end
    return failures
  end
  run_children(ex, pending, jobs, function(h, code, log)
    local s = by_hash[h]
    running[h] = nil
    local rec = code == 0 and load_record(ex, h)
    if rec then
      progress(s, describe(rec))
    else
      local first = util.first_error(log)
      failures[#failures + 1] = {spec = s, error = first, log = log, status = code}
      progress(s, string.format("FAILED (exit %d): %s (log: %s)", code, first, log))
    end
  end, function(h, line)
    local e = line:match("^epoch (%d+/%d+)")
    if e and tty then
      running[h] = by_hash[h].variant .. " seed " .. by_hash[h].seed .. ": epoch " .. e
      local parts = {}
      for _, v in pairs(running) do parts[#parts + 1] = v end
      table.sort(parts)
      io.stderr:write("\r\27[K[" .. ex.name .. "] " .. table.concat(parts, "; "))
    end
  end)
  return failures
end

-- The records of ex's runs; failures gets those whose record is not there (or no longer
-- reusable) though it was cached or trained: removed or edited while the task ran (another
-- runner on this root, a hook). Counted as failed ("2 of 3 (1 failed)"), never a seed
-- fewer without a word.
local function gather(ex, failures, pending)
  local recs, memo, failed, trained = {}, {}, {}, {}
  for _, s in ipairs(pending) do trained[s.hash] = true end
  for _, f in ipairs(failures) do failed[f.spec.hash] = true end
  for _, s in ipairs(ex.specs) do
    -- a stale record whose retraining failed is not reported as this run (an
    -- unidentified hook's is another code's: it was reported, "1 of 2 (1 failed)")
    local r, path, what
    if failed[s.hash] then r = nil
    elseif s.cacheable then r, path, what = reusable(ex, s, memo, trained[s.hash])
    else r = load_record(ex, s.hash) end
    if r then recs[#recs + 1] = r
    elseif not failed[s.hash] then
      local why = string.format("%s %s while the task ran (another runner on this root?)",
        path or record.path(ex.root, ex.name, s.hash, "json"), path and what
        or "was removed")
      io.stderr:write(string.format("[%s] run %s (%s seed %d): %s\n", ex.name, s.hash,
        s.variant, s.seed, why))
      failures[#failures + 1] = {spec = s, error = why, status = 1}
    end
  end
  local runs = wb.runs.Runs(recs, ex)
  runs.failures = failures
  return runs
end

-- }====================

-- {==================== a task's main ====================

local function count(pending, ex, jobs)
  return string.format("[%s] %d run%s: %d cached, %d to train (%s)", ex.name, #ex.specs,
    #ex.specs == 1 and "" or "s", #ex.specs - #pending, #pending, jobs and
    string.format("%d job%s", jobs, jobs == 1 and "" or "s") or "on Slurm: one job array")
end

---wb.runner.main(task, argv, script) -> integer
---Runs a task declared with wb.task: parses argv, plans, trains what is
---not recorded in child processes, runs the task's report once and writes
---its README. Returns the exit status: 0, 1 when a run failed (or --gather
---met a conflicting record, or runs to train are still in Slurm's queue),
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
    io.stdout:write(string.format("%s: %s\nusage: workbench %s [options]%s\n%s", task.name,
      task.title, script or "SCRIPT", task.args and (" " .. task.args) or "", M.help_text()))
    return 0
  end
  local root = M.root_of(opts)
  -- the declaration was checked when the script was loaded: what fails now
  -- is what the options ask of it (--epochs over a varied epochs), so 64
  local sok, ex = pcall(task._setup, task, opts, root, ropts.command_maker(script or "?", opts,
    base_root(opts)))
  if not sok then
    if not wb.spec.is_input_error(ex) then error(ex, 0) end
    io.stderr:write(tostring(ex), "\n")
    return 64
  end
  writable_root(ex.name, root, opts)
  if opts.list_runs then
    for _, s in ipairs(ex.specs) do
      write_spec(ex, s)
      print(ex.command(s.hash))
    end
    return 0
  end
  if opts.run then
    for _, s in ipairs(ex.specs) do
      if s.hash == opts.run then
        if opts.fresh or not s.cacheable or not reusable(ex, s) then
          local line, look, cbs = cockpit_run.epoch_line(s), runner_watch()
          train_run(ex, s, {callbacks = cbs, on_epoch = function(...) look() return line(...) end})
        else -- a listed command run twice: said, not a silent success
          io.stderr:write(string.format("[%s] run %s (%s seed %d) is recorded: nothing to "
            .. "train (--fresh retrains it)\n", ex.name, s.hash, s.variant, s.seed))
        end
        return 0
      end
    end
    local spec = util.read_json(record.path(root, ex.name, opts.run, "spec"))
    -- listed with --quick and run without it, or the other way round
    local other = M.root_of{root = opts.root, quick = not opts.quick}
    local elsewhere = not spec and util.read_json(record.path(other, ex.name, opts.run, "spec"))
    io.stderr:write(string.format("%s: no run with hash %s in this task (%d runs)%s\n",
      task.name, opts.run, #ex.specs, spec and string.format("; its spec file says %s seed "
      .. "%s: the script has changed since it was listed, or a hook closes over a value "
      .. "that is not the same in every process (a time, a random number, $VAR)",
      tostring(spec.variant), tostring(spec.seed)) or elsewhere and string.format("; it is "
      .. "a run listed %s --quick (its spec is in %s): %s --quick", opts.quick and "without"
      or "with", record.dir(other), opts.quick and "leave out" or "add") or ""))
    return 64
  end
  local jobs = not opts.slurm and (opts.jobs or wb.sys.nproc()) or nil
  local conflicts = opts.gather and slurm.gather(ex, opts.gather, opts.quick) or 0
  local pending = pending_of(ex, opts.fresh)
  check_root(root, #pending)
  io.stderr:write(count(pending, ex, jobs), "\n")
  local changed = not opts.fresh and why.note(ex, pending)
  if changed then io.stderr:write(changed, "\n") end
  if #(ex.quick_replaced or {}) > 0 then
    io.stderr:write(string.format("[%s] --quick: every run trains %d epoch(s) on the first "
      .. "rows; it replaced what the experiment sets: %s\n", ex.name,
      ex.specs[1].config.epochs, table.concat(ex.quick_replaced, "; ")))
  end
  for _, n in ipairs(ex.notes) do
    io.stderr:write(string.format("[%s] not cached: %s\n", ex.name, n))
  end
  util.sweep_stale(record.dir(root))
  util.sweep_stale(task.dir)
  for _, s in ipairs(pending) do write_spec(ex, s) end
  local busy = slurm.busy(ex, pending) -- still on the cluster: trained twice at once
  if busy then io.stderr:write(busy, "\n"); return 1 end
  local failures = {}
  if #pending > 0 and opts.slurm then
    local status
    failures, status = slurm.train(ex, pending, opts, describe)
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
    cached = #ex.specs - #pending, argv = argv, script = script})
  return (#failures == 0 and conflicts == 0) and 0 or 1
end

---wb.runner.run_experiment(ex, opts) -> wb.Runs
---Trains ex's runs that are not recorded (all with opts.fresh) in this
---process, one after another, and returns the run list. A failure raises.
---opts: fresh, verbose (false: no plan line); another key is an error.
---Without a root of its own, ex's runs go to $WB_PLOTS (else plots), its
---quick ones (options.quick) to <that>/quick, as a task's do.
---@param ex wb.Experiment
---@param opts? table
---@return wb.Runs
---Example: local runs = wb.runner.run_experiment(ex)
function M.run_experiment(ex, o)
  o = require("wb.args").options("run_experiment", 2, o, {"fresh", "verbose"})
  ex.root = ex.root or M.root_of{quick = ex.quick} -- quick runs under <root>/quick, as a task's
  ex.command = ex.command or function() return nil end
  local pending = pending_of(ex, o.fresh)
  if o.verbose ~= false then io.stderr:write(count(pending, ex, 1), "\n") end
  check_root(ex.root, #pending)
  train_pending(ex, pending, 1, true)
  return gather(ex, {}, pending)
end

-- }====================

wb.runner = M
return M
