-- wb/experiment.lua: grids of runs over a base config, times seeds; cached,
-- resumable, parallel.
--
--   local ex = wb.experiment{name = "task05_dropout",
--     base = {epochs = 20}, vary = {dropout = {0, 0.1, 0.3}}, seeds = {1, 2, 3}}
--   local runs = ex:run{jobs = 2}
--
-- A run is one (variant, seed). Its identity is a hash of its full config
-- (task, variant, seed, every hyper-parameter, dataset, workbench version),
-- and a finished run leaves one JSON record in <plots>/runs/ (written
-- atomically), beside it its final weights. A run whose record exists is not
-- trained again, so an interrupted sweep resumes where it stopped.
--
-- Every run is also a plain command: `workbench SCRIPT [ARGS] --run HASH`
-- trains just that run. `--list-runs` prints those commands, one per line,
-- for GNU parallel or a Slurm array; `ex:run{jobs = N}` itself hands them to
-- `xargs -P N` and gathers the records, isolating failures: a failing run is
-- reported with the tail of its log and the others go on.
local wb = require "wb"
local cjson = require "cjson"
local util = require "wb.util"
local runs = require "wb.runs"

---wb.experiment{name, base, vary, seeds, ...} -> wb.Experiment
---Spec keys: name, base, vary, variants, seeds, build, measure, callbacks,
---fit_options, reuse, root, options.
---An experiment: a grid of runs over a base config times seeds; cached,
---resumable, parallel. vary = {key = {values}} makes the grid (or variants =
---a list of configs, each with an optional label); seeds ({1, 2, 3});
---base: config keys of every run (wb.experiment.defaults: hidden 128, relu,
---dropout 0, l2 0, glorot_uniform, adam, batch_size 32, epochs 10,
---validation "test", mnist; any of wb.experiment.known_keys). Hooks: build =
---function(cfg, data) -> model; measure = function(model, cfg, data, hist,
---callbacks) -> {name = number} (stored in the record's measures and
---metrics); callbacks = function(cfg, model, data) -> list; fit_options;
---reuse = false to never adopt an identical training of another task. A
---run's identity is a hash of its full config; its record and weights go
---to <root>/runs (root: options.root, else $WB_PLOTS or "plots"). options:
---the parsed command line (default wb.task_options(arg)).
---@param spec table
---@return wb.Experiment
---Example: local ex = wb.experiment{name = "mine", vary = {dropout = {0, 0.3}}, seeds = {1, 2}}
---  local runs = ex:run{jobs = 2}
local M = {}

-- The study's MLP and its Keras defaults (KERAS.md); keys a config may set.
M.defaults = {
  hidden = 128, activation = "relu", dropout = 0, l2 = 0, init = "glorot_uniform",
  optimizer = "adam", batch_size = 32, epochs = 10, validation = "test",
  dataset = "mnist",
}
M.known_keys = {
  hidden = true, activation = true, dropout = true, l2 = true, init = true,
  optimizer = true, lr = true, momentum = true, nesterov = true, beta1 = true,
  beta2 = true, eps = true, weight_decay = true, rho = true, batch_size = true,
  epochs = true, validation = true, early_stopping = true, dataset = true,
  seed = true, subset = true, label = true, shuffle = true, layers = true,
}

-- {==================== configs and hashes ====================

local function variant_label(v, keys)
  if v.label then return v.label end
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. util.show(v[k]) end
  return #parts > 0 and table.concat(parts, ", ") or "base"
end

-- The variants of an experiment: an explicit list, or the grid of `vary`.
local function expand_variants(spec)
  if spec.variants then
    local out = {}
    for i, v in ipairs(spec.variants) do
      local keys = util.sorted_keys(v, {label = true})
      out[i] = {label = variant_label(v, keys), values = v}
    end
    return out
  end
  local keys = util.sorted_keys(spec.vary or {})
  local out = {{label = nil, values = {}}}
  for _, k in ipairs(keys) do
    local nxt = {}
    for _, partial in ipairs(out) do
      for _, val in ipairs(spec.vary[k]) do
        local v = util.copy(partial.values)
        v[k] = val
        nxt[#nxt + 1] = {values = v}
      end
    end
    out = nxt
  end
  for _, v in ipairs(out) do v.label = variant_label(v.values, keys) end
  return out
end

-- Config of one run: defaults <- base <- variant <- command-line overrides.
local function run_config(ex, variant, seed)
  local cfg = util.copy(M.defaults)
  for k, v in pairs(ex.base) do cfg[k] = util.copy(v) end
  for k, v in pairs(variant.values) do
    if k ~= "label" then cfg[k] = util.copy(v) end
  end
  for k, v in pairs(ex.overrides) do cfg[k] = v end
  cfg.seed = seed
  return cfg
end

local function check_config(ex, cfg)
  if ex.build then return end -- a custom builder may read any key
  for k in pairs(cfg) do
    if not M.known_keys[k] then
      error(string.format("%s: unknown config key '%s' (valid: %s)", ex.name, k,
        table.concat(util.sorted_keys(M.known_keys), ", ")), 0)
    end
  end
end

---wb.experiment.hash(task, variant, cfg) -> string
---A run's identity: 16 hex digits of FNV-1a over the canonical text of its
---task, variant label, full config and the workbench version.
---@param task string
---@param variant string
---@param cfg table
---@return string
---Example: print(wb.experiment.hash("mine", "base", wb.experiment.defaults))
function M.hash(task, variant, cfg)
  return util.fnv1a64(util.canonical({task = task, variant = variant, config = cfg,
    version = wb.version}))
end

-- }====================

-- {==================== building and training one run ====================

---wb.experiment.build_model(cfg, n_in) -> wb.Sequential
---The study's default model for a config: Dense(n_in (784) -> hidden,
---activation) [-> Dropout(dropout)] -> Dense(hidden -> 10, softmax), l2 on
---both kernels (Keras kernel_regularizer), init for both.
---@param cfg table
---@param n_in? integer
---@return wb.Sequential
---Example: local m = wb.experiment.build_model{hidden = 64, activation = "tanh", dropout = 0}
function M.build_model(cfg, n_in)
  local l2 = cfg.l2 ~= 0 and cfg.l2 or nil
  local layers = {wb.nn.Dense(n_in or 784, cfg.hidden, {activation = cfg.activation,
    l2 = l2, init = cfg.init})}
  if cfg.dropout and cfg.dropout > 0 then layers[#layers + 1] = wb.nn.Dropout(cfg.dropout) end
  layers[#layers + 1] = wb.nn.Dense(cfg.hidden, 10, {activation = "softmax", l2 = l2,
    init = cfg.init})
  return wb.nn.Sequential(layers)
end

local opt_keys = {"lr", "momentum", "nesterov", "beta1", "beta2", "eps", "weight_decay",
  "rho"}
---wb.experiment.build_optimizer(cfg) -> wb.Optimizer
---The optimizer of a config: cfg.optimizer by name with the keys lr,
---momentum, nesterov, beta1, beta2, eps, weight_decay, rho it sets.
---@param cfg table
---@return wb.Optimizer
---Example: local opt = wb.experiment.build_optimizer{optimizer = "sgd", lr = 0.1}
function M.build_optimizer(cfg)
  local o = {}
  for _, k in ipairs(opt_keys) do o[k] = cfg[k] end
  return wb.optim.new(cfg.optimizer, o)
end

-- Datasets for a config, cached per process; `subset` = {train = n, test = n}
-- takes the first rows (used by --quick).
local data_cache = {}
---wb.experiment.data_for(cfg) -> table
---The datasets {train, test} of a config (cfg.dataset), cached per process;
---cfg.subset = {train = n, test = n} takes the first rows (--quick).
---run:data() uses it, so a run is evaluated on the data it was tested on.
---@param cfg table
---@return table
---Example: local d = wb.experiment.data_for{dataset = "mnist", subset = {test = 500}}
function M.data_for(cfg)
  local key = cfg.dataset .. ":" .. util.canonical(cfg.subset or {})
  if data_cache[key] then return data_cache[key] end
  local d = wb.data.load(cfg.dataset)
  if cfg.subset then
    d = {train = d.train:subset(1, math.min(cfg.subset.train or #d.train, #d.train)),
         test = d.test:subset(1, math.min(cfg.subset.test or #d.test, #d.test))}
  end
  data_cache[key] = d
  return d
end

local function final_metrics(h, test)
  local n = #h.loss
  local m = {test_loss = test.loss, test_accuracy = test.accuracy,
    loss = h.loss[n], accuracy = h.accuracy[n], epochs_run = n}
  if h.val_loss and #h.val_loss > 0 then
    m.val_loss, m.val_accuracy = h.val_loss[n], h.val_accuracy[n]
    m.gap = h.val_loss[n] - h.loss[n]
    m.acc_gap = h.accuracy[n] - h.val_accuracy[n]
    local best, at = math.huge, 1
    for i, v in ipairs(h.val_loss) do if v < best then best, at = v, i end end
    m.best_val_loss, m.best_epoch = best, at
    m.best_val_accuracy = math.max(table.unpack(h.val_accuracy))
  end
  local t = 0
  for _, s in ipairs(h.epoch_time or {}) do t = t + s end
  m.train_seconds = t
  m.sec_per_epoch = n > 0 and t / n or 0
  return m
end

-- {==================== reusing identical trainings ====================
-- Tasks share reference runs: the dropout-0, L2-0 and Adam variants are the
-- same training as the 20-epoch baseline of task 3. A run's `train_key`
-- hashes what determines its training (config and version, not the task);
-- a pending run whose key matches a finished run of another task adopts
-- that run's weights and history instead of training again, and then runs
-- its own measurements. Experiments whose callbacks change training (or
-- read the last-epoch weights, like task 4's) say `reuse = false`;
-- observing callbacks (wb.measures.track) keep their series in the record
-- (`callback_series`), so an adopter gets them back.

---wb.experiment.train_key(cfg) -> string
---The hash of what determines a run's training (its config and the
---version, not its task): runs of different tasks with the same key share
---one training (a pending run adopts the finished one and runs only its own
---measurements).
---@param cfg table
---@return string
---Example: print(wb.experiment.train_key(run.config))
function M.train_key(cfg)
  return util.fnv1a64(util.canonical({config = cfg, version = wb.version}))
end

local donors -- train_key -> record, built once per process
local function find_donor(ex, spec)
  if ex.reuse == false or ex.build then return nil end
  if not donors then
    donors = {}
    for _, r in ipairs(runs.load_all(M.runs_dir(ex.root))) do
      if r.status == "ok" and r.train_key and r.weights and not r.reused_from then
        donors[r.train_key] = donors[r.train_key] or r
      end
    end
  end
  local r = donors[M.train_key(spec.config)]
  if not r or not util.read_file(M.runs_dir(ex.root) .. "/" .. r.weights) then return nil end
  if ex.callbacks and not (r.callback_series and #r.callback_series > 0) then return nil end
  return r
end

-- }====================

---wb.experiment.train_run(ex, spec) -> table, wb.Sequential
---Trains the run spec ({variant, seed, config, hash}) of experiment ex in
---this process, or adopts an identical finished training, and writes its
---record; returns the record and the model. ex:run calls it (in child
---processes when jobs > 1).
---@param ex wb.Experiment
---@param spec table
---@return table record
---@return wb.Sequential model
---Example: local rec = wb.experiment.train_run(ex, ex.specs[1])
function M.train_run(ex, spec)
  local cfg = spec.config
  local d = M.data_for(cfg)
  local donor = find_donor(ex, spec)
  if donor then return M.adopt_run(ex, spec, donor, d) end
  wb.seed(cfg.seed)
  local model = ex.build and ex.build(cfg, d) or M.build_model(cfg, d.train:input_size())
  local opt = M.build_optimizer(cfg)
  -- hook callbacks first: their on_train_end sees the last-epoch weights
  -- before EarlyStopping restores the best ones
  local extra = ex.callbacks and ex.callbacks(cfg, model, d) or {}
  local callbacks = {table.unpack(extra)}
  if cfg.early_stopping then
    callbacks[#callbacks + 1] = wb.callbacks.EarlyStopping(util.copy(cfg.early_stopping))
  end
  local fit_opts = {epochs = cfg.epochs, batch_size = cfg.batch_size, optimizer = opt,
    seed = cfg.seed, verbose = false, callbacks = callbacks, shuffle = cfg.shuffle}
  if cfg.validation == "test" then fit_opts.validation = d.test
  elseif type(cfg.validation) == "number" then fit_opts.validation_split = cfg.validation end
  if ex.fit_options then
    for k, v in pairs(ex.fit_options(cfg, model, d) or {}) do fit_opts[k] = v end
  end
  local t0 = util.now()
  local ok, hist = pcall(model.fit, model, d.train, fit_opts)
  local status = "ok"
  if not ok then
    if type(hist) == "table" and hist.kind == "diverged" then
      status, hist = "diverged", hist.history or {}
    else
      error(hist, 0)
    end
  elseif hist.stopped and tostring(hist.stopped):find("diverged") then
    status = "diverged"
  end
  local record = {hash = spec.hash, task = ex.name, variant = spec.variant,
    seed = cfg.seed, config = cfg, status = status, history = util.plain(hist),
    train_key = M.train_key(cfg)}
  if status == "ok" then
    return M.finish_run(ex, spec, record, model, hist, extra, d, t0)
  end
  return M.write_record(ex, spec, record, t0), model
end

---wb.experiment.finish_run(ex, spec, record, model, hist, extra, d, t0) -> table, wb.Sequential
---Completes a trained (or adopted) run: final metrics on the test set, the
---measure hook's numbers, the callbacks' series, the weights saved beside
---the record, then the record written (wb.experiment.write_record).
---@return table record
---@return wb.Sequential model
---Example: -- used by train_run and adopt_run
function M.finish_run(ex, spec, record, model, hist, extra, d, t0)
  local cfg = spec.config
  do
    record.metrics = final_metrics(hist, model:evaluate(d.test))
    local series = {}
    for i, cb in ipairs(extra) do series[i] = cb.series end
    if #series > 0 then record.callback_series = util.plain(series) end
    if ex.measure then
      local tm = util.now()
      record.measures = util.plain(ex.measure(model, cfg, d, hist, extra)) or {}
      -- the cost of the extra measurements: the hook, plus callbacks that
      -- timed themselves (wb.measures.track)
      local cost = util.now() - tm
      for _, cb in ipairs(extra) do cost = cost + (cb.seconds or 0) end
      record.measure_seconds = cost
      for k, v in pairs(record.measures or {}) do
        if type(v) == "number" then record.metrics[k] = v end
      end
    end
    local wpath = M.weights_path(ex, spec.hash)
    util.mkdir_p(M.runs_dir(ex.root))
    model:save(wpath)
    record.weights = util.basename(wpath)
  end
  return M.write_record(ex, spec, record, t0), model
end

---wb.experiment.adopt_run(ex, spec, donor, d) -> table, wb.Sequential
---Makes run spec from donor, a finished record with the same train_key:
---loads its weights, takes its history and callback series, and finishes
---the run with this experiment's own measurements (reused_from names the
---donor).
---@return table record
---@return wb.Sequential model
---Example: -- used by train_run
function M.adopt_run(ex, spec, donor, d)
  local t0 = util.now()
  local model = wb.load(M.runs_dir(ex.root) .. "/" .. donor.weights)
  local extra = {}
  for i, series in ipairs(donor.callback_series or {}) do extra[i] = {series = series} end
  local record = {hash = spec.hash, task = ex.name, variant = spec.variant,
    seed = spec.config.seed, config = spec.config, status = "ok", history = donor.history,
    train_key = donor.train_key, reused_from = donor.task .. "-" .. donor.hash}
  return M.finish_run(ex, spec, record, model, donor.history, extra, d, t0)
end

---wb.experiment.write_record(ex, spec, record, t0) -> table
---Adds wall_time, host, version, git_commit and finished_at to a record and
---writes it atomically to <root>/runs/<task>-<hash>.json.
---@return table
---Example: -- used by finish_run
function M.write_record(ex, spec, record, t0)
  record.wall_time = util.now() - t0
  record.sec_per_epoch = record.metrics and record.metrics.sec_per_epoch
  record.host = wb.sys and wb.sys.hostname and wb.sys.hostname() or nil
  record.version = wb.version
  record.git_commit = util.git_commit()
  record.finished_at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  util.write_json(M.record_path(ex, spec.hash), record)
  return record
end

-- }====================

-- {==================== the experiment object ====================

---wb.Experiment
---One experiment (wb.experiment{...}): its name, variants, seeds and run
---specs (ex.specs: {variant, seed, config, hash}); ex:run() trains what is
---not recorded yet. tostring gives "Experiment(name: 3 variants x 3 seeds)".
---Example: local ex = wb.experiment{name = "x", vary = {l2 = {0, 1e-4}}}; print(ex, #ex.specs)
local Experiment = {}
Experiment.__index = Experiment

---wb.experiment.runs_dir(root) -> string
---The folder of run records: <root>/runs (root default $WB_PLOTS or
---"plots").
---@param root? string
---@return string
---Example: print(wb.experiment.runs_dir())
function M.runs_dir(root) return (root or util.plots_root()) .. "/runs" end
---wb.experiment.record_path(ex, hash) -> string
---The record file of run hash of experiment ex: <runs_dir>/<name>-<hash>.json.
---@param ex wb.Experiment
---@param hash string
---@return string
---Example: print(wb.experiment.record_path(ex, ex.specs[1].hash))
function M.record_path(ex, hash) return M.runs_dir(ex.root) .. "/" .. ex.name .. "-" .. hash .. ".json" end
---wb.experiment.weights_path(ex, hash) -> string
---The final weights of run hash of experiment ex, beside its record:
---<runs_dir>/<name>-<hash>.safetensors.
---@param ex wb.Experiment
---@param hash string
---@return string
---Example: local m = wb.load(wb.experiment.weights_path(ex, ex.specs[1].hash))
function M.weights_path(ex, hash)
  return M.runs_dir(ex.root) .. "/" .. ex.name .. "-" .. hash .. ".safetensors"
end

---wb.experiment.new(spec) -> wb.Experiment
---The same as wb.experiment(spec).
---@param spec table
---@return wb.Experiment
---Example: local ex = wb.experiment.new{name = "x"}
function M.new(spec)
  if type(spec) ~= "table" or type(spec.name) ~= "string" then
    error("wb.experiment: expected a table with a 'name'", 2)
  end
  local opts = spec.options or util.task_options(rawget(_G, "arg"))
  local ex = setmetatable({name = spec.name, base = spec.base or {}, build = spec.build,
    measure = spec.measure, callbacks = spec.callbacks, reuse = spec.reuse,
    fit_options = spec.fit_options, options = opts,
    root = spec.root or opts.root, overrides = {}}, Experiment)
  if opts.epochs then ex.overrides.epochs = opts.epochs end
  if opts.dataset then ex.overrides.dataset = opts.dataset end
  if opts.quick then
    ex.overrides.subset = {train = 2000, test = 500}
    ex.overrides.epochs = math.min(opts.epochs or 2, ex.base.epochs or 2, 2)
  end
  local seeds = spec.seeds or {1, 2, 3}
  if opts.seeds then
    seeds = {}
    for i = 1, opts.seeds do seeds[i] = i end
  end
  ex.seeds = seeds
  ex.variants = expand_variants(spec)
  ex.specs = {}
  for _, v in ipairs(ex.variants) do
    for _, seed in ipairs(seeds) do
      local cfg = run_config(ex, v, seed)
      check_config(ex, cfg)
      local hash = M.hash(ex.name, v.label, cfg)
      ex.specs[#ex.specs + 1] = {variant = v.label, seed = seed, config = cfg, hash = hash}
    end
  end
  return ex
end

function Experiment:__tostring()
  return string.format("Experiment(%s: %d variants x %d seeds)", self.name,
    #self.variants, #self.seeds)
end

---wb.Experiment:command(hash) -> string
---The shell command that trains run hash on its own: `workbench SCRIPT
---[ARGS] --run HASH` (what --list-runs prints, for GNU parallel or Slurm).
---@param hash string
---@return string
---Example: print(ex:command(ex.specs[1].hash))
function Experiment:command(hash)
  local parts = {util.shell_quote(util.workbench_exe())}
  for _, a in ipairs(self.options.script_args or {}) do parts[#parts + 1] = util.shell_quote(a) end
  parts[#parts + 1] = "--run"
  parts[#parts + 1] = hash
  return table.concat(parts, " ")
end

local function load_record(ex, hash)
  return util.read_json(M.record_path(ex, hash))
end

-- Run everything not yet recorded in parallel child processes (xargs -P).
local function run_children(ex, pending, jobs, on_done)
  local dir = M.runs_dir(ex.root)
  util.mkdir_p(dir .. "/logs")
  local script = os.tmpname()
  local lines = {"#!/bin/sh", "h=\"$1\"",
    "OPENBLAS_NUM_THREADS=1 WB_CHILD=1 " .. ex:command("\"$h\"") ..
    " > " .. util.shell_quote(dir .. "/logs/") .. "\"$h\".log 2>&1",
    "echo \"DONE $h $?\""}
  util.write_file(script, table.concat(lines, "\n") .. "\n")
  local list = os.tmpname()
  local hashes = {}
  for i, s in ipairs(pending) do hashes[i] = s.hash end
  util.write_file(list, table.concat(hashes, "\n") .. "\n")
  local p = assert(io.popen(string.format("xargs -P %d -n 1 sh %s < %s", jobs,
    util.shell_quote(script), util.shell_quote(list))))
  for line in p:lines() do
    local h, code = line:match("^DONE (%x+) (%d+)")
    if h then on_done(h, tonumber(code), dir .. "/logs/" .. h .. ".log") end
  end
  p:close()
  os.remove(script); os.remove(list)
end

---wb.experiment.describe(rec) -> string
---A run record's result in a few words: "test acc 0.9812" (with "(same
---training as ...)" for an adopted run), or its status.
---@param rec table
---@return string
---Example: print(wb.experiment.describe(run))
function M.describe(rec)
  if rec.status ~= "ok" then return rec.status end
  return string.format("test acc %.4f%s", rec.metrics.test_accuracy,
    rec.reused_from and (" (same training as " .. rec.reused_from .. ")") or "")
end

---wb.Experiment:run(opts) -> wb.Runs
---Trains every run without a record (all with fresh = true) and returns the
---run list in variant and seed order. opts: jobs (default --jobs, else the
---number of processors: runs go to child processes through xargs -P),
---fresh, verbose (progress and ETA on stderr, true). A failing run is
---reported with the tail of its log and the others go on (the list's
---failures field). With --list-runs it prints the commands instead; with
-----run HASH it trains that one run.
---@param opts? table
---@return wb.Runs
---Example: local runs = ex:run{jobs = 2}; print(runs:table{"test_accuracy"})
function Experiment:run(o)
  o = o or {}
  local opts = self.options
  local jobs = o.jobs or opts.jobs or (wb.sys and wb.sys.nproc and wb.sys.nproc()) or 2
  local fresh = o.fresh or opts.fresh
  local verbose = o.verbose ~= false
  if opts.list_runs then
    for _, s in ipairs(self.specs) do print(self:command(s.hash)) end
    return runs.Runs({}, self)
  end
  if opts.run then
    for _, s in ipairs(self.specs) do
      if s.hash == opts.run then
        if fresh or not load_record(self, s.hash) then M.train_run(self, s) end
        M.matched_run = true
        return runs.Runs({load_record(self, s.hash)}, self)
      end
    end
    return runs.Runs({}, self)
  end
  util.sweep_stale(M.runs_dir(self.root)) -- left by a killed earlier run
  local pending, total = {}, #self.specs
  for _, s in ipairs(self.specs) do
    if fresh or not load_record(self, s.hash) then pending[#pending + 1] = s end
  end
  local by_hash = {}
  for _, s in ipairs(self.specs) do by_hash[s.hash] = s end
  local done, t0, failures = total - #pending, util.now(), {}
  local function progress(s, what)
    done = done + 1
    if not verbose then return end
    local el = util.now() - t0
    local left = total - done
    local eta = done > total - #pending and el / (done - (total - #pending)) * left or 0
    io.stderr:write(string.format("[%s %d/%d] %s seed %d: %s  (ETA %s)\n", self.name,
      done, total, s.variant, s.seed, what, util.duration(eta)))
  end
  if #pending > 0 and verbose then
    io.stderr:write(string.format("[%s] %d runs, %d cached, %d to train with %d job%s\n",
      self.name, total, total - #pending, #pending, jobs, jobs > 1 and "s" or ""))
  end
  local can_fork = jobs > 1 and #pending > 1 and util.script_path() ~= nil
  if can_fork then
    run_children(self, pending, jobs, function(h, code, log)
      local s = by_hash[h]
      local rec = code == 0 and load_record(self, h)
      if rec then
        progress(s, M.describe(rec))
      else
        local tail = util.first_error(log)
        failures[#failures + 1] = {spec = s, error = tail}
        progress(s, "FAILED (exit " .. code .. "): " .. tail:gsub("\n", "\n    "))
      end
    end)
  else
    for _, s in ipairs(pending) do
      local ok, rec = xpcall(M.train_run, debug.traceback, self, s)
      if ok then
        progress(s, M.describe(rec))
      else
        failures[#failures + 1] = {spec = s, error = tostring(rec)}
        progress(s, "FAILED: " .. tostring(rec):match("[^\n]*"))
      end
    end
  end
  local records = {}
  for _, s in ipairs(self.specs) do
    local r = load_record(self, s.hash)
    if r then records[#records + 1] = r end
  end
  M.failures = M.failures or {}
  for _, f in ipairs(failures) do M.failures[#M.failures + 1] = f end
  local result = runs.Runs(records, self)
  result.failures = failures
  return result
end

-- }====================

wb.experiment = setmetatable(M, {__call = function(_, spec) return M.new(spec) end})
wb.task_options = util.task_options
return M
