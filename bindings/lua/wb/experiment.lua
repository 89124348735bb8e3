-- wb/experiment.lua: an experiment is a grid of runs (variants x seeds) over
-- a base config, each run with an identity that covers everything that
-- decides what it trains and measures (wb/identity.lua). Making one checks
-- the whole declaration first (wb/spec.lua) and trains nothing; the runner
-- (wb/runner.lua) trains what is not recorded yet.
--
--   local ex = wb.experiment{name = "width", base = {epochs = 5},
--     vary = {hidden = {32, 128}}, seeds = {1, 2}}
--   local runs = ex:run()              -- from this process (the REPL's way)
--
-- Task scripts declare their experiment inside wb.task{...}; the runner then
-- trains in child processes and the report runs once, in the parent.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local spec_mod = require "wb.spec"
local identity = require "wb.identity"
local args = require "wb.args"

local M = {}

-- Every config key (for wb.runs.find's query check).
M.known_keys = spec_mod.config_keys()

-- --quick: the first rows of each set (no more than the task's own subset),
-- at most 2 epochs a run (1 with --epochs 1): a smoke test
M.quick_subset = {train = 2000, test = 500}

-- "script.lua:12" of the caller `level` frames up (the declaration's line)
local function caller(level)
  local info = debug.getinfo(level + 1, "Sl")
  if not info or info.currentline < 0 then return "?" end
  return info.short_src .. ":" .. info.currentline
end

-- The identity of one hook, or nil and why it cannot be identified.
local function hook_id(name, f)
  if type(f) == "table" then return util.fnv1a64(util.canonical(f)) end
  local id, why = identity.hook(f)
  if not id then return nil, string.format("the %s hook cannot be identified (%s)", name, why) end
  return id
end

-- A run's config as hooks see it: reading a key the experiment does not
-- know (`cfg.activaton`, or a key a build hook did not declare) is an error
-- naming it and the reader's line (its position), never a nil that quietly
-- builds another model. Known keys that are unset read as nil.
local function strict(cfg, checks, name)
  local valid = util.sorted_keys(checks)
  valid[#valid + 1] = "seed"
  local set = {}
  for _, k in ipairs(valid) do set[k] = true end
  return setmetatable(cfg, {__index = function(_, k)
    if set[k] then return nil end
    local near = spec_mod.nearest(k, valid)
    error(string.format("%s: config key '%s' is not a key of this experiment%s (valid: "
      .. "%s)%s", name, tostring(k), near and (" (did you mean '" .. near .. "'?)") or "",
      table.concat(valid, ", "), "; a hook's own keys are declared: keys = {...}"), 2)
  end})
end

-- The callbacks hook f, its result checked: a list of callbacks or nil. A callback
-- returned alone (a table with no list part) was dropped: the run trained without it.
local function callbacks_hook(f, where)
  if not f then return nil end
  local call = require("wb.identity_reads_hook").caller_of(f) -- its tail call's error: at f
  return function(...)
    local list = call(f, ...)[1]
    local n = 0
    for _ in pairs(type(list) == "table" and list or {}) do n = n + 1 end
    if list ~= nil and (type(list) ~= "table" or getmetatable(list) or n ~= #list) then
      error(string.format("%s: callbacks: expected a list of callbacks ({cb, ...}) or nil, got "
        .. "%s", where, type(list) == "table" and "a table that is not a list (one callback "
        .. "alone? return {cb})" or type(list)), 0)
    end
    return list
  end
end

local function without_seed(cfg)
  local c = util.copy(cfg)
  c.seed = nil
  return c
end

-- A variant's config: the defaults (its optimizer's too: stated or not, one run), the base,
-- the variant's values (a copy: the command line's overrides go on it).
local function config_of(spec, v)
  local cfg = util.copy(spec_mod.train_defaults)
  if not spec.build then
    for k, x in pairs(spec_mod.model_defaults) do cfg[k] = x end
  end
  for k, x in pairs(spec.base or {}) do cfg[k] = util.copy(x) end
  for k, x in pairs(v.values) do cfg[k] = util.copy(x) end
  return require("wb.spec_runs").with_defaults(cfg)
end

-- Sets (or sets again) ex's identities from its hooks as they are now: the
-- values a hook reads (a global table, an upvalue) as they are when it is
-- called, not when the experiment was made (P.act = "tanh" between
-- wb.experiment{...} and ex:run() trained tanh under relu's hash, and relu's
-- next run reused it). Each run's hash, identity and group_key; ex.notes
-- and cacheable. The data's identity is the one found when ex was made
-- (wb.identity.data hashes a set's files once a process); the code's too.
local function identify(ex)
  local hooks, notes = {}, {}
  for _, h in ipairs{"build", "callbacks", "fit_options", "measure"} do
    local id, why = hook_id(h, ex._hooks[h])
    hooks[h] = id or "unidentified"
    if not id then notes[#notes + 1] = why end
  end
  ex.cacheable, ex.notes = #notes == 0, notes
  local code = identity.code()
  -- what the script changed in wb.* or a standard table, named when it retrains a run
  local library = identity.library(ex._hooks)
  for _, s in ipairs(ex.specs) do
    local cfg, data = s.config, s.identity.data
    local train = util.fnv1a64(util.canonical({config = cfg, build = hooks.build,
      callbacks = hooks.callbacks, fit_options = hooks.fit_options, code = code,
      data = data}))
    s.identity = {code = code, build = hooks.build, callbacks = hooks.callbacks,
      fit_options = hooks.fit_options, measure = hooks.measure, train = train, data = data,
      library = library and library.changed, unpatched = library and library.hooks}
    s.hash = util.fnv1a64(util.canonical({task = ex.name, variant = s.variant,
      train = train, measure = hooks.measure}))
    s.identity.run = s.hash
    s.group_key = util.fnv1a64(util.canonical({task = ex.name, variant = s.variant,
      config = without_seed(cfg), hooks = hooks, code = code, data = data}))
    s.cacheable = ex.cacheable
  end
end

---wb.experiment(spec, opts) -> wb.Experiment
---wb.experiment.new(spec, opts) -> wb.Experiment
---An experiment: the runs of a grid over a base config, times seeds. spec:
---name, base (config keys of every run), vary = {key = {values}} (the grid)
---or variants = {{label = ..., key = value}, ...}, seeds ({1, 2, 3};
---distinct), and
---hooks: build = function(cfg, data) -> model, keys = {...} (the extra
---config keys the hooks read, their values plain data; beside callbacks,
---measure or fit_options without build, the default model's keys apply
---too), measure = function(model, cfg, data, history, callbacks) -> {name = number} (names other than the run's metrics:
---test_accuracy there fails the run; a number is a metric of tables and
---plots, NaN or inf recorded as missing, warned; a list with an entry per
---epoch run is a per-epoch series, drawn by plot_curves, its last entry the
---run's value; a string, a boolean or a list of another length is kept in
---the record's measures only, and a table asked for it is an error saying
---so), callbacks = function(cfg, model, data) ->
---list, fit_options (a table, or a function(cfg, model, data) returning one, of fit
---options the config does not set; a function of cfg alone is called and
---checked here, for each run's config), reuse = false (never adopt an equal training of
---another task, nor measure its own again after a measure-only edit, which gets {series = ...}
---per callback, in order, and data less the hooks' fields: reading more, or sharing an upvalue
---build, callbacks or fit_options changed in training, trains instead); measure draws from wb.seed(2^31 + seed),
---whether the run trained here or was adopted. Config keys (one left unset reads as nil in
---a hook, but the run's optimizer's options are set to their defaults, lr = 1e-3 for adam:
---stating one is the same run): optimizer, lr, momentum, nesterov, beta1, beta2, eps,
---weight_decay, rho, batch_size (32), epochs (10), shuffle, validation (0.1: the last 10% of
---the training rows, held out, of a build hook's data.train when it replaces it; "test"; or
---false), early_stopping, dataset ("mnist"), subset, loss (fit's), log_every, instruments
---("economy", "full" or a list) and every (fit's instruments every k steps); without a build
---hook the default MLP's: hidden (required: 128, or {256, 128} for two layers), activation
---("relu"), dropout (0), l2 (0), init ("glorot_uniform").
---Everything is checked here, before anything trains, in each variant's
---resolved config too (an optimizer option its optimizer does not take; an
---early_stopping monitor fit will not log). opts: options (the
---parsed command line: quick, epochs, seeds, dataset; fresh, as reuse =
---false; another key is an error, but wb.runner.options(arg)'s result is
---taken whole: its --root is the root when opts.root is not given; both differing: exit 64), root,
---where. A validation fraction that leaves a run's training rows or its
---validation rows empty is an error here.
---@param spec table
---@param opts? table
---@return wb.Experiment
---Example: local ex = wb.experiment{name = "w", base = {epochs = 2}, vary = {hidden = {32, 64}}}
function M.new(spec, o)
  -- a misspelt option (rot = "/tmp/x") was dropped: the runs went to plots/
  o = args.options("experiment", 2, o, {"options", "root", "where", "name", "command"})
  local where = o.where or caller(2)
  -- what the user wrote: said without a traceback, as a task's are
  local function bad(msg) error(spec_mod.input_error(where .. ": " .. msg), 0) end
  if type(spec) ~= "table" then bad("wb.experiment: expected a table") end
  local name = spec.name or o.name
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    bad("experiment.name: expected a name of letters, digits, _ and -, got " .. tostring(name))
  end
  require("wb.spec_runs").check_options(o.options, where .. ": " .. name) -- quik = true: dropped
  local variants, seeds, checks = spec_mod.check_experiment(spec, where .. ": " .. name)
  local opts = o.options or {}
  -- --quick: under <root>/quick unless it is one, a task's (tryO 2: in runs/ it read as results)
  local root = require("wb.runner_checks").one_root(o.root, opts, name, where) -- both: same
  local ex = setmetatable({name = name, where = where .. ": " .. name, build = spec.build,
    measure = spec.measure, callbacks = callbacks_hook(spec.callbacks, where .. ": " .. name),
    fit_options = spec.fit_options,
    reuse = not opts.fresh and spec.reuse, quick = opts.quick or nil,
    root = root and root .. ((not opts.quick or ("/" .. root):find("/quick/*$")) and ""
      or "/quick"),
    variants = variants, command = o.command, _options = o.options}, M.Experiment)
  local own_seeds = seeds -- the declaration's (or the default), for the notes below
  if opts.seeds then
    seeds = {}
    for i = 1, opts.seeds do seeds[i] = i end
  end
  ex.seeds = seeds
  -- --epochs or --dataset over a key the experiment varies would make its
  -- variants train the same thing, the comparison empty without a word
  for _, key in ipairs{"epochs", "dataset"} do
    for _, v in ipairs(opts[key] ~= nil and variants or {}) do
      if v.values[key] ~= nil then
        -- "would train the same" only when they would: a variant that sets
        -- lr too still differs, but not as it was declared
        local seen, same = {}, false
        for _, w in ipairs(variants) do
          local c = config_of(spec, w)
          c[key] = opts[key]
          c = util.canonical(c)
          same = same or seen[c] ~= nil
          seen[c] = true
        end
        error(string.format("%s: %s: --%s %s would replace the %s the experiment varies "
          .. "(variant %s: %s), so %s; leave --%s out", where, name, key, tostring(opts[key]),
          key, v.label, tostring(v.values[key]), same and "its variants would train the same"
          or "its variants would not differ as declared", key), 0)
      end
    end
  end
  local overrides = {}
  if opts.epochs then overrides.epochs = opts.epochs end
  if opts.dataset then overrides.dataset = opts.dataset end
  if opts.quick then
    overrides.subset = util.copy(M.quick_subset)
    overrides.epochs = math.min(opts.epochs or 2, 2)
  end
  -- said, not silent: what the base, a variant, the seeds or a default set
  -- that an option replaced ("--epochs 3" over "epochs = 20 (base)"; a
  -- 20-epoch task run with --epochs 3 read as the task's own)
  local ovr = require "wb.runner_overrides"
  ex.replaced = ovr.of(spec, variants, own_seeds, opts,
    overrides)
  ex.quick_replaced = opts.quick and {} or nil
  for _, r in ipairs(opts.quick and ex.replaced or {}) do
    if r.option == "--quick" then ex.quick_replaced = r.what end
  end
  -- two variants that would train the same: the second was trained as "same
  -- training as" the first and reported as another variant, without a word
  local seen = {}
  for _, v in ipairs(variants) do
    local c = util.canonical(config_of(spec, v))
    if seen[c] then
      error(string.format("%s: %s: variants %s and %s have the same config, so they would "
        .. "train the same; give them different values, or drop one", where, name,
        seen[c], v.label), 0)
    end
    seen[c] = v.label
  end
  ex._hooks = {build = spec.build, callbacks = spec.callbacks,
    fit_options = spec.fit_options, measure = spec.measure}
  ex.specs = {}
  for _, v in ipairs(variants) do
    for _, seed in ipairs(seeds) do
      local cfg = config_of(spec, v)
      local own_epochs, own_subset = cfg.epochs, cfg.subset
      for k, x in pairs(overrides) do cfg[k] = util.copy(x) end
      if opts.quick then cfg.subset = ovr.quick_subset(own_subset, cfg.subset) end
      -- --quick runs at most 2 epochs: a run of 1 was raised to 2 (but
      -- --epochs 2 is every run's: it trained 1 with --quick, unsaid)
      if opts.quick and not opts.epochs and math.type(own_epochs) == "integer"
          and own_epochs < cfg.epochs then
        cfg.epochs = own_epochs
      end
      if not spec.build and cfg.hidden == nil then
        error(string.format("%s: %s: experiment.base: the default model (an MLP) needs "
          .. "'hidden' (e.g. hidden = 128, or {256, 128} for two layers), or give a build "
          .. "hook", where, name), 0)
      end
      cfg.seed = seed
      strict(cfg, checks, name)
      -- the files the run reads ($WB_DATA may point at another copy)
      local data, n_rows = identity.data(cfg.dataset)
      require("wb.spec_runs").check_config(cfg, n_rows and n_rows.train, where .. ": " .. name,
        v.label, spec.fit_options)
      local why = require("wb.spec_keys").subset_rows(cfg.subset, n_rows, cfg.dataset)
      if why then error(string.format("%s: %s: variant %s: %s", where, name, v.label, why), 0) end
      ex.specs[#ex.specs + 1] = {variant = v.label, seed = seed, config = cfg,
        identity = {data = data}}
    end
  end
  identify(ex)
  return ex
end

-- {==================== the experiment object ====================

---wb.Experiment
---One experiment (wb.experiment{...}): its name, variants, seeds and run
---specs (ex.specs: {variant, seed, config, hash, identity, group_key});
---ex.replaced: what its options replaced of the values it sets itself (its
---base's, a variant's, its seeds, else the defaults), {{option = "--epochs
---3", what = {"epochs = 20 (base)"}}, ...}: a task says them on stderr and
---in its README; ex:run() trains what is not recorded yet. tostring gives
---"Experiment(name: 3 variants x 3 seeds)".
---Example: local ex = wb.experiment{name = "x", base = {hidden = 32}}; print(ex, #ex.specs)
local Experiment = {__name = "wb.Experiment"}
Experiment.__index = Experiment
M.Experiment = Experiment

function Experiment:__tostring()
  return string.format("Experiment(%s: %d variants x %d seeds)", self.name,
    #self.variants, #self.seeds)
end

---wb.Experiment:run(opts) -> wb.Runs
---Trains, one after another, every run without a record (all of them with
---opts.fresh) and returns the run list in variant and seed order;
---opts.verbose = false leaves out the plan line (and the lines saying what
---its options replaced, ex.replaced). Another option is an
---error. The runs' identities (ex.specs) are taken again from the hooks as
---they are when run is called: a value a hook reads (a global table, an
---upvalue) changed since wb.experiment{...} makes other runs, trained. Each run trains in a forked child of this process, which starts
---from this process as it was and ends with the run: what a hook keeps (a
---global, a table it fills, data it changes in place) never reaches
---another run or this process; the records and weights come back (the
---runs load their models). A failing run raises its error here (finished
---runs keep their records). A task option on the command line (workbench
---x.lua --seeds 5) of an experiment made without options is an error
---before anything trains, naming it: give wb.experiment(spec, {options =
---wb.runner.options(arg)}) to apply them (options = {} when the script
---reads them itself; their fresh retrains, as opts.fresh); of options
---given, those only a task's runner acts on (--jobs, --slurm, --list-runs,
-----run, --cockpit, --gather) are an error too. While a
---runner of the task, or another process, trains on the same root and runs,
---it raises naming the lock's holder (wb.runner.run_experiment). Task
---scripts do not call this: the runner trains their runs in child processes.
---@param opts? table
---@return wb.Runs
---Example: local runs = wb.experiment{name = "x", base = {hidden = 32, epochs = 1}}:run()
function Experiment:run(o)
  o = args.options("run", 1, o, {"fresh", "verbose"})
  -- --fresh handed over (options = wb.runner.options(arg)) retrains, as a task's does
  o.fresh = require("wb.runner_checks").one_fresh(o.fresh, self._options, self.name)
  return require("wb.runner").run_experiment(self, o)
end

-- What ex:run() cannot do is an error before anything trains, never a run
-- without it. An experiment made without options, in a script run as
-- `workbench x.lua --seeds 5 --epochs 3`, trained its own 2 seeds and 1
-- epoch ("4 cached"): the task options on the command line concern it (a
-- task's runner would apply them), and nobody read them. Options given
-- (parsed by the caller: wb.runner.options(arg), or {} for a script that
-- reads its arguments itself) are what it applies; of those, the ones only
-- a task's runner does (--jobs, --slurm, --list-runs ...) are refused.
-- Arguments that are no task option are the script's own, left alone.
-- Called by _identify (below), which wb.runner.run_experiment calls first:
-- ex:run() and run_experiment(ex) alike; level as error()'s. Input errors: one line (tryZ C2).
local RUNNER_ONLY = {"jobs", "list_runs", "run", "cockpit", "slurm", "sbatch", "detach",
  "gather", "help"}
function Experiment:_check_command_line(level)
  local how = "return wb.task{name = ..., experiment = {...}, report = ...} (workbench parses "
    .. "a task's options and trains its runs in child processes)"
  if self._options == nil then
    local named = require("wb.runner_options").named_in(rawget(_G, "arg"))
    if #named == 0 then return end
    args.input_fail(string.format("%s: ex:run(): the command line gives %s, which ex:run() "
      .. "does not read (they are a task's options); nothing trained. Either %s, or hand "
      .. "them to the experiment: wb.experiment(spec, {options = wb.runner.options(arg)}) "
      .. "(options = {} when the script reads these arguments itself)", self.name,
      table.concat(named, ", "), how), level + 1)
  end
  local refused = {}
  for _, k in ipairs(RUNNER_ONLY) do
    if self._options[k] ~= nil then refused[#refused + 1] = "--" .. k:gsub("_", "-") end
  end
  if #refused > 0 then
    args.input_fail(string.format("%s: ex:run(): options %s: ex:run() trains in this process, "
      .. "one run after another, and does not do what they ask; nothing trained. Leave them "
      .. "out, or %s", self.name, table.concat(refused, ", "), how), level + 1)
  end
end

-- Sets ex.specs' identities again from the hooks as they are now (what a
-- hook reads may have changed since the experiment was made): ex:run() and
-- wb.runner.run_experiment call it before they plan; first, what of the
-- command line they cannot do is an error at the line that called them
-- (ex:run and its checker are tail calls: run_experiment's caller, 3 up).
function Experiment:_identify()
  self:_check_command_line(3)
  identify(self)
end

-- }====================

wb.experiment = setmetatable(M, {__call = function(_, spec, o)
  args.opt("experiment", 2, o, "table")
  local opts = {}
  for k, v in pairs(o or {}) do opts[k] = v end
  opts.where = opts.where or caller(2)
  return M.new(spec, opts)
end})
return M
