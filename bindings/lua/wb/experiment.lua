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
-- --quick: the first rows of each set (tasks read the same rows for figures)
M.quick_subset = {train = 2000, test = 500}
M.known_keys = {
  hidden = true, activation = true, dropout = true, l2 = true, init = true,
  optimizer = true, lr = true, momentum = true, nesterov = true, beta1 = true,
  beta2 = true, eps = true, weight_decay = true, rho = true, batch_size = true,
  epochs = true, validation = true, early_stopping = true, dataset = true,
  seed = true, subset = true, label = true, shuffle = true, layers = true,
}

-- one run: build, train or adopt, record (wb/run_train.lua)
for k, v in pairs(require "wb.run_train") do M[k] = v end

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

-- {==================== the experiment object ====================

---wb.Experiment
---One experiment (wb.experiment{...}): its name, variants, seeds and run
---specs (ex.specs: {variant, seed, config, hash}); ex:run() trains what is
---not recorded yet. tostring gives "Experiment(name: 3 variants x 3 seeds)".
---Example: local ex = wb.experiment{name = "x", vary = {l2 = {0, 1e-4}}}; print(ex, #ex.specs)
local Experiment = {}
Experiment.__index = Experiment

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
    ex.overrides.subset = util.copy(M.quick_subset)
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
