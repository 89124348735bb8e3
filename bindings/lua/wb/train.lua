-- wb/train.lua: training one run of an experiment (or adopting a finished run whose training
-- identity is equal) and writing its record and weights. The runner (wb/runner.lua) decides
-- which runs to train and calls M.run(ex, spec) for each, in a child process or in this one.
--
-- A killed run resumes: after every epoch the full training state (model:save_state, via
-- ModelCheckpoint{save_state}) is written atomically beside the record, as
-- <task>-<hash>.state.safetensors, tagged with the run's task and hash; training that run
-- again resumes from it and ends bit-identical to an uninterrupted run. The file is removed
-- once the record is written. The path and the tag are per run hash, so a state is taken by
-- no other run but one of the same training identity the plan no longer holds (renamed:
-- wb/train_resume.lua), and resuming changes neither the run's config, fit options nor
-- identity. A run is resumable when every callback it trains with keeps its state (a task's
-- callbacks need get_state and set_state, as wb.callbacks' own have, or keep no state but
-- what a resume compares, as LearningRateScheduler's schedule: tryN 3) and it measures no
-- instruments; other runs restart from scratch when killed, as before.
--
-- A record says what was trained: the resolved config (defaults included), the fit options
-- as used, the identities that made its hash (wb/identity.lua), where and when it ran, its
-- history and final metrics, and the files its hooks read while it ran (read_files, with
-- their content ids: wb/identity_reads.lua), so that editing one retrains it.
local _ENV = require "wb.std"
local wb, util = require "wb", require "wb.util"
local record = require "wb.record"
local args = require "wb.args"
local reads = require "wb.identity_reads"
local resume = require "wb.train_resume" -- a killed run's state: when it is this training's
local measures = require "wb.train_measures" -- the measure hook: run, checked, recorded
local best = require "wb.train_best" -- the best epoch's weights; weight files' provenance
local hooks = require "wb.train_hooks" -- the hooks' results and the data they leave checked
local donors = require "wb.train_donor" -- an equal finished training of another task
local remeasure = require "wb.train_remeasure" -- measured on it with a fresh run's numbers

---wb.train
---Training one run of an experiment (or adopting an equal finished
---training) and writing its record and weights; called by the runner. Its
---weight files carry the run's provenance as metadata (workbench.task, hash,
---variant, seed, git_commit, git_uncommitted, reused_from, weights: "final"
---or "best", epoch: absent when a hook set weights of no epoch).
---Example: -- wb.train.run(ex, ex.specs[1])
local M = {}
local GIT_CHANGES_MAX = 100 -- files a record names (git_uncommitted counts them all)

-- How many runs the runner trains at once with this one (opts.concurrent_jobs, else
-- WB_CONCURRENT_JOBS, which its child processes get: wb/runner_children.lua); nil when not
-- known (a --run typed by hand, a Slurm job: what else ran on its node is not known here).
local function concurrent_jobs(o)
  if o.concurrent_jobs then return o.concurrent_jobs end
  local v = os.getenv("WB_CONCURRENT_JOBS")
  if v == nil then return nil end
  local n = math.tointeger(tonumber(v))
  if not n or n < 1 then
    error("WB_CONCURRENT_JOBS is '" .. v .. "'; expected a whole number of runs, 1 or more", 0)
  end
  return n
end
local jobs_now -- concurrent_jobs of the run training in this process

-- {==================== model, optimizer, data ====================

-- The default model: an MLP, n_in -> Dense(h) for each h of cfg.hidden (activation, l2, init
-- on every kernel; Dropout after each hidden layer if cfg.dropout > 0) -> Dense(n_out, softmax).
local function build_mlp(cfg, n_in, n_out)
  local l2 = cfg.l2 ~= 0 and cfg.l2 or nil
  local widths = type(cfg.hidden) == "table" and cfg.hidden or {cfg.hidden}
  local layers, prev = {}, n_in
  for _, h in ipairs(widths) do
    layers[#layers + 1] = wb.nn.Dense(prev, h, {activation = cfg.activation, l2 = l2,
      init = cfg.init})
    if cfg.dropout > 0 then layers[#layers + 1] = wb.nn.Dropout(cfg.dropout) end
    prev = h
  end
  layers[#layers + 1] = wb.nn.Dense(prev, n_out, {activation = "softmax", l2 = l2,
    init = cfg.init})
  return wb.nn.Sequential(layers)
end

local OPT_KEYS = require("wb.spec_keys").OPTIMIZER_KEYS -- as wb.spec checks them
local function build_optimizer(cfg)
  local o = {}
  for _, k in ipairs(OPT_KEYS) do o[k] = cfg[k] end
  return wb.optim.new(cfg.optimizer, o)
end

require "wb.data_cache" -- wb.data.for_config, the datasets of a run's config

-- }====================

-- {==================== metrics and the best epoch ====================

local function final_metrics(h, test)
  local n = #h.loss
  -- weights_epoch: the epoch whose weights the test metrics (and weights file) are of,
  -- beside the last epoch's loss and accuracy (restore_best_weights: the best epoch's)
  local m = {test_loss = test.loss, test_accuracy = test.accuracy,
    loss = h.loss[n], accuracy = h.accuracy[n], epochs_run = n, weights_epoch = h.weights_epoch}
  if h.val_loss and #h.val_loss > 0 then
    m.val_loss, m.val_accuracy = h.val_loss[n], h.val_accuracy[n]
    m.gap = h.val_loss[n] - h.loss[n]
    m.acc_gap = h.accuracy[n] - h.val_accuracy[n]
    m.best_val_loss, m.best_epoch = h.val_loss[h.best_epoch or n], h.best_epoch
    m.best_val_accuracy = math.max(table.unpack(h.val_accuracy))
  end
  local t = 0
  for _, s in ipairs(h.epoch_time or {}) do t = t + s end
  m.train_seconds, m.sec_per_epoch = t, n > 0 and t / n or 0
  return m
end

-- }====================

-- {==================== one run ====================

local active -- the tracker of the files the run being trained reads

-- Before the first file of a new training of run spec is written: its earlier record goes
-- first (and the best weights it named), so that a kill while the new weights are written
-- leaves no record (the run is trained again) rather than the old one beside new weights.
-- A reader sees the old record whole, no record, or the new one whole.
local function retire(ex, spec)
  os.remove(record.path(ex.root, ex.name, spec.hash, "json"))
  os.remove(record.path(ex.root, ex.name, spec.hash, "best.safetensors"))
end

-- The config of the run training in this process as it was planned (its
-- hash and variant were computed from it). A hook that changed it
-- (cfg.lr = cfg.lr * 2 in a build hook) trained something else than that:
-- the record then filed those numbers under the planned hash and variant,
-- beside the other seeds of the planned config.
local planned, planned_text
local function check_config(spec, who)
  if not planned or util.canonical(spec.config) == planned_text then return end
  local seen, what = util.copy(planned), {}
  for k in pairs(spec.config) do seen[k] = true end
  for _, k in ipairs(util.sorted_keys(seen)) do
    local was, now = util.canonical(planned[k]), util.canonical(spec.config[k])
    if was ~= now then what[#what + 1] = string.format("%s: %s -> %s", tostring(k), was, now) end
  end
  error(string.format("%s changed the run's config (%s): the config is what identifies the "
    .. "run (hash %s, variant %s), so its record would file these numbers under the config "
    .. "as planned; set the value in the experiment (base or a variant) instead, or copy "
    .. "cfg before changing it", who, table.concat(what, ", "), spec.hash,
    tostring(spec.variant)), 0)
end

local function write(ex, spec, rec, t0)
  check_config(spec, "a hook")
  -- what it read up to here (an adopted run: the donor's training's too)
  if active then rec.read_files = reads.merge(rec.read_files, active:stop()) end
  rec.wall_time = util.now() - t0
  rec.sec_per_epoch = rec.metrics and rec.metrics.sec_per_epoch
  rec.host, rec.pid = wb.sys.hostname(), wb.sys.getpid()
  -- the kernel that computed its history: a copy's is its donor's (adopt copied it)
  if not rec.reused_from then rec.blas_core = wb.sys.blas_core() end
  -- runs training at once here, on how many cores: seconds per epoch depend on it (a
  -- copy's times are its donor's: adopt copied these)
  if not rec.reused_from then
    rec.concurrent_jobs, rec.cores = jobs_now, wb.sys.nproc()
  end
  rec.slurm = os.getenv("SLURM_JOB_ID") and {job = os.getenv("SLURM_JOB_ID"),
    array_job = os.getenv("SLURM_ARRAY_JOB_ID"), task = os.getenv("SLURM_ARRAY_TASK_ID")}
  rec.version = wb.version
  rec.git_commit = util.git_commit()
  rec.git_uncommitted = util.git_uncommitted() -- files edited or added since that commit
  local changes = util.git_changes() -- which (the first GIT_CHANGES_MAX)
  rec.git_changes = changes and {table.unpack(changes, 1, math.min(#changes, GIT_CHANGES_MAX))}
  -- the study script's own commit (its repository, not the workbench's) or
  -- content id, and its helper modules' (wb/runner_script.lua; git once a process)
  -- (-e, the REPL: no script, said: arg[0] is the executable there)
  rec.script = require("wb.runner_script").record()
  rec.finished_at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  rec.command = ex.command and ex.command(spec.hash)
  -- the weights of an earlier training of this hash when this one (diverged) has none
  if not rec.weights then os.remove(record.path(ex.root, ex.name, spec.hash, "safetensors")) end
  -- the weights it names as they are now: the runner and Run:model check them
  rec.weights_ids = record.weights_ids(record.dir(ex.root), rec)
  record.write(record.path(ex.root, ex.name, spec.hash, "json"), rec)
  os.remove(record.path(ex.root, ex.name, spec.hash, "state.safetensors")) -- done with it
  return rec
end

local function new_record(ex, spec, status, hist)
  return {hash = spec.hash, task = ex.name, variant = spec.variant, seed = spec.seed,
    config = spec.config, fit_options = util.plain(spec.fit_options_used),
    status = status, history = util.plain(hist), identity = spec.identity,
    train_key = spec.identity.train, group_key = spec.group_key, quick = ex.quick,
    -- whether the dataset's files are the published ones (wb/data_cache.lua): a damaged copy
    -- was "mnist" in the record, traceable only by an opaque identity (audit X13)
    data_published = require("wb.data_cache").published(spec.config.dataset,
      spec.identity.data)}
end

-- Metrics on the test set, the measure hook's numbers, the callbacks'
-- series, the final weights: then the record. ctx: a re-measure's
-- (wb/train_remeasure.lua), which raises it, before anything is written,
-- when the measure hook read what the recorded training does not keep.
local function finish(ex, spec, rec, model, hist, extra, d, t0, ctx)
  rec.metrics = final_metrics(hist, model:evaluate(d.test, {loss = spec.config.loss}))
  local series = {}
  for i, cb in ipairs(extra) do series[i] = cb.series end
  if #series > 0 then rec.callback_series = util.plain(series) end
  if ex.measure then measures.record(ex, spec, rec, model, hist, extra, d) end
  if ctx and ctx.why then error(ctx, 0) end
  if not ctx and rec.remeasure then -- a file the hooks wrote and read: as a re-measure needs it
    rec.remeasure.outputs = reads.outputs_read(active)
  end
  local wpath = record.path(ex.root, ex.name, spec.hash, "safetensors")
  model:save(wpath, {metadata = best.provenance(ex, spec, rec, "final", hist.weights_epoch)})
  rec.weights = util.basename(wpath)
  return write(ex, spec, rec, t0), model
end

-- Trains (or adopts) run spec: M.run without the tracking of its reads.
local function run(ex, spec, o)
  local cfg = spec.config
  -- a table of this run's own: a hook that reassigns d.train (a subset, a
  -- transform) must not hand its rows to the next run of this process
  local d = {}
  for k, v in pairs(wb.data.for_config(cfg)) do d[k] = v end
  local donor, model = donors.find(ex, spec)
  if donor then
    local rec, m = remeasure.adopt(ex, spec, donor, d, model, {new_record = new_record,
      retire = retire, finish = finish})
    if rec then return rec, m end
    donors.say(ex, spec, donor, m)
    d = {} -- as a fresh training's: the measure hook's generator and data untouched
    for k, v in pairs(wb.data.for_config(cfg)) do d[k] = v end
    math.randomseed(cfg.seed)
  end
  wb.seed(cfg.seed)
  local model
  local watch = hooks.watch(d) -- the sets the config names: what the record says
  local before = remeasure.watch(d) -- its fields: those the hooks leave, recorded
  local ups = remeasure.upvalues_before(ex._hooks or {}) -- and the upvalues they change
  if ex.build then
    -- its reads the hook's (K7)
    model = reads.sys.as_hook(hooks.place(ex, "build"), ex.build, cfg, d)
    check_config(spec, "the build hook")
    hooks.check_model(ex, model)
    hooks.check_data(watch, d, spec, hooks.name(ex, "build"))
  else
    model = build_mlp(cfg, d.train:input_size(), 10)
  end
  local init_id = require("wb.runs_copies").init_id(model) -- seeds that share it: said
  local opt = build_optimizer(cfg)
  -- hook callbacks first: their on_train_end sees the last-epoch weights
  -- before EarlyStopping restores the best ones
  local extra = {}
  if ex.callbacks then
    extra = hooks.check_callbacks(ex, reads.sys.as_hook(hooks.place(ex, "callbacks"),
      ex.callbacks, cfg, model, d))
    check_config(spec, "the callbacks hook")
    hooks.check_data(watch, d, spec, hooks.name(ex, "callbacks"))
  end
  local callbacks = {table.unpack(extra)}
  local es = cfg.early_stopping and wb.callbacks.EarlyStopping(util.copy(cfg.early_stopping))
  callbacks[#callbacks + 1] = es
  -- after es: it keeps the epoch es takes as best (wb/train_best.lua)
  local keeper = best.keeper(es)
  callbacks[#callbacks + 1] = keeper
  if o.on_epoch then -- progress lines: read, never move the weights (instruments_moved)
    callbacks[#callbacks + 1] = wb.callbacks.Lambda{on_epoch_end = o.on_epoch}
    require("wb.state_fit").still[callbacks[#callbacks]] = true
  end
  local fit_opts = {epochs = cfg.epochs, batch_size = cfg.batch_size, optimizer = opt,
    seed = cfg.seed, verbose = false, callbacks = callbacks, shuffle = cfg.shuffle,
    log_every = cfg.log_every, every = cfg.every, loss = cfg.loss,
    instruments = rawget(wb.instruments, cfg.instruments) or cfg.instruments}
  if cfg.validation == "test" then fit_opts.validation = d.test
  elseif type(cfg.validation) == "number" then fit_opts.validation_split = cfg.validation end
  local extra_opts = ex.fit_options
  if type(extra_opts) == "function" then
    extra_opts = reads.sys.as_hook(hooks.place(ex, "fit_options"), extra_opts, cfg,
      model, d) or {}
    wb.spec.check_fit_options(extra_opts, ex.where)
    hooks.check_data(watch, d, spec, hooks.name(ex, "fit_options"))
  end
  for k, v in pairs(extra_opts or {}) do fit_opts[k] = v end
  spec.fit_options_used = {epochs = cfg.epochs, batch_size = cfg.batch_size,
    seed = cfg.seed, shuffle = cfg.shuffle ~= false, validation = cfg.validation,
    log_every = cfg.log_every, loss = cfg.loss}
  for k, v in pairs(extra_opts or {}) do spec.fit_options_used[k] = v end
  local resumed, resumed_reads = resume.from(ex, spec, model, fit_opts, callbacks, extra, opt,
    active, d.train)
  if o.callbacks then -- the caller's, last; not the run's (see M.run)
    local all = {table.unpack(fit_opts.callbacks or {})}
    fit_opts.callbacks = table.move(o.callbacks, 1, #o.callbacks, #all + 1, all)
  end
  local t0 = util.now()
  local ok, hist = pcall(model.fit, model, d.train, fit_opts)
  check_config(spec, "a callback (during training)")
  -- finish evaluates d.test: a callback may have replaced it meanwhile
  hooks.check_data(watch, d, spec, "a callback (during training)", true)
  local status = "ok"
  if not ok then
    if not wb.fit.is_diverged(hist) then error(hist, 0) end
    status, hist = "diverged", hist.history or {}
  end
  local rec = new_record(ex, spec, status, hist)
  rec.init_id = init_id
  rec.remeasure = remeasure.left(before, d, extra, ups, model) -- what a re-measure lacks
  rec.train_data = watch.train_data -- rows other than the config's: which, and who chose them
  rec.resumed_after_epoch = resumed
  rec.read_files = resumed_reads -- what the training resumed had read (write adds this one's)
  retire(ex, spec)
  if status == "ok" then
    rec.best_weights = keeper:save(model, record.path(ex.root, ex.name, spec.hash,
      "safetensors"), hist.best_epoch, hist.weights_epoch, best.provenance(ex, spec, rec))
    return finish(ex, spec, rec, model, hist, extra, d, t0)
  end
  return write(ex, spec, rec, t0), model
end

---wb.train.run(ex, spec, opts) -> table, wb.Sequential
---Trains run spec of experiment ex in this process (or adopts a finished run
---of another task with an equal training identity) and writes its record
---and weights to ex.root's runs folder; returns the record and the model.
---opts.on_epoch(epoch, logs) is called after every epoch (progress lines: it must not
---move the weights, which fit's instruments take it not to).
---opts.callbacks (the runner's watch) join its fit after the run's own, outside
---its identity, record, measure hook and checkpoints: none may keep state.
---opts.concurrent_jobs: how many runs train at once with this one (else
---$WB_CONCURRENT_JOBS, which the runner gives its children), recorded with
---the cores (concurrent_jobs, cores): they share them, and its times show it.
---A diverged run is recorded with status "diverged"; any other failure
---raises. The record lists the files the run's hooks loaded or opened
---while it ran (read_files): the runner retrains it when one changes.
---@param ex table
---@param spec table
---@param opts? table
---@return table record
---@return wb.Sequential model
---Example: -- called by the runner for each run to train
function M.run(ex, spec, o)
  for i, cb in ipairs(o and o.callbacks or {}) do
    if type(cb) ~= "table" or cb.get_state or cb.set_state then
      error(("train.run: opts.callbacks[%d]: expected a callback without state (get_state, "
        .. "set_state: checkpoints hold the run's own only), got %s"):format(i, tostring(cb)), 2)
    end
  end
  -- a binary built from other C sources than its tree holds: the record would name the
  -- tree's commit beside numbers that commit does not give (tryL 4; the runner says it first)
  local stale = require("wb.runner_provenance").core_refusal()
  if stale then error("train.run: " .. stale, 2) end
  -- the files its hooks load or open while it runs (see wb/identity_reads.lua);
  -- not the runs folder (records, weights, states) nor its dataset files
  local outer, threads, outer_planned, outer_text = active, wb.sys.blas_threads(), planned,
    planned_text
  local tracker = reads.track{dirs = {record.dir(ex.root)},
    files = wb.data._files(spec.config.dataset), own = record.path(ex.root, ex.name, spec.hash)}
  local outer_jobs = jobs_now
  active, planned, planned_text = tracker, util.copy(spec.config), util.canonical(spec.config)
  jobs_now = concurrent_jobs(o or {})
  -- restored however run ends; an error goes on with its own traceback
  local _ <close> = setmetatable({}, {__close = function()
    tracker:stop()
    active, planned, planned_text, jobs_now = outer, outer_planned, outer_text, outer_jobs
    wb.sys.set_blas_threads(threads)
  end})
  -- Lua's generator seeded too (5.4 seeds it at random per process: a hook's math.random),
  -- on one BLAS thread whatever $OPENBLAS_NUM_THREADS says (other threads, other sums)
  math.randomseed(spec.config.seed)
  wb.sys.set_blas_threads(1)
  return run(ex, spec, o or {})
end

-- }====================

wb.train = M
return M
