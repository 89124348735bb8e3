-- wb/spec.lua: checking an experiment's declaration before anything runs.
--
-- Every key at every level (task, experiment, base, vary, variants, config
-- values, fit options) is checked when the declaration is made: an unknown
-- key is an error naming the key, its place, the script line and the
-- nearest valid key; values must have the expected type and shape. Nothing
-- is silently dropped. The config keys are those of the training loop
-- (optimizer, batch size, epochs, validation, data) plus those of the model:
-- the default model's (an MLP: hidden, activation, dropout, l2, init), or,
-- with a `build` hook, the keys it declares (`keys = {"depth"}`).
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"

---wb.spec
---Checks of experiment and task declarations: every key at every level,
---value types and shapes, with the script line and the nearest valid key in
---each error (used by wb.experiment and wb.task before anything trains).
---Example: print(wb.spec.nearest("dropuot", {"dropout", "l2"}))
local M = {}
local K = require "wb.spec_keys"
M.train_defaults, M.model_defaults = K.train_defaults, K.model_defaults
local TRAIN_KEYS, MODEL_KEYS = K.train, K.model

-- {==================== errors in what the user wrote ====================

---wb.spec.input_error(msg, code) -> table
---An error in what the user wrote (a declaration, a command line, a folder
---named on it), to raise with error(e, 0): tostring gives msg, and the
---workbench executable prints it alone, with no traceback (which tells where
---the program failed, not what to change); code (a wb.Error code such as
---"ENOENT": exit 66; "EUSAGE", a command line's: 64) sets the exit status, else 1.
---@param msg string
---@param code? string
---@return table
---Example: local ok, e = pcall(error, wb.spec.input_error("no such folder"), 0); print(e)
M.input_error = K.input_error

---wb.spec.is_input_error(v) -> boolean
---Whether v was made by wb.spec.input_error.
---@param v any
---@return boolean
---Example: print(wb.spec.is_input_error(wb.spec.input_error("x")))
M.is_input_error = K.is_input_error

-- }====================

---wb.spec.config_keys() -> table
---Every config key an experiment knows (training keys and the default
---model's), as a set {key = true}.
---@return table
---Example: print(wb.spec.config_keys().dropout)
function M.config_keys()
  local out = {}
  for k in pairs(TRAIN_KEYS) do out[k] = true end
  for k in pairs(MODEL_KEYS) do out[k] = true end
  return out
end

local EXPERIMENT_KEYS = {"name", "base", "vary", "variants", "seeds", "build", "keys",
  "measure", "callbacks", "fit_options", "reuse"}
local EXPERIMENT_SET = {}
for _, k in ipairs(EXPERIMENT_KEYS) do EXPERIMENT_SET[k] = true end
local TASK_KEYS = {"name", "title", "intro", "args", "experiment", "report"}
-- fit() options that the config does not already set
M.FIT_OPTION_KEYS = {"verbose"}
local R = require "wb.spec_runs" -- fit options: R.FIT_SET_BY_CONFIG and where they go

-- }====================

-- {==================== errors ====================

---wb.spec.nearest(word, candidates) -> string|nil
---The candidate closest to word in edit distance (at most 3 edits), for
---"did you mean" hints; nil when none is that close.
---@param word string
---@param candidates string[]
---@return string|nil
---Example: print(wb.spec.nearest("dropuot", {"dropout", "l2"}))
M.nearest = K.nearest

-- Raising an error at the line of the script where the mistake is:
-- wb/spec_errors.lua.
local E = require "wb.spec_errors"
local fail, unknown, check_table_keys = E.fail, E.unknown, E.check_table_keys
local describe, check_arg = E.describe, E.check_arg

-- }====================

-- {==================== configs ====================

local function config_checks(ex)
  local checks = {}
  for k, f in pairs(TRAIN_KEYS) do checks[k] = f end
  -- keys: the extra keys the hooks read (a build hook's, or a callbacks,
  -- measure or fit_options hook's beside the default model's keys)
  for _, k in ipairs(ex.keys or {}) do checks[k] = K.plain end
  if not ex.build then
    for k, f in pairs(MODEL_KEYS) do checks[k] = f end
  end
  return checks
end

local function check_config(ctx, checks, cfg, place, allow_label)
  local valid = util.sorted_keys(checks)
  if allow_label then valid[#valid + 1] = "label" end
  for _, k in ipairs(util.sorted_keys(cfg)) do
    local v = cfg[k]
    if k == "label" and allow_label then
      if type(v) ~= "string" then fail(ctx, place .. ".label", "expected a string, got "
        .. describe(v)) end
    elseif k == "seed" or (EXPERIMENT_SET[k] and not checks[k]) then -- (base.seeds)
      fail(ctx, place .. "." .. k, k == "seed" and "seeds are set by the experiment's `seeds` "
        .. "list, not in a config" or "a key of the experiment itself, beside base, not a config's")
    elseif not checks[k] then
      local hint = " (a hook's own keys are declared: keys = {...})"
      unknown(ctx, place, k, valid, "config key", hint, K.keras_key(k, checks))
    else
      local expected = checks[k](v)
      if expected then
        fail(ctx, place .. "." .. k, "expected " .. expected .. ", got " .. describe(v), k)
      end
    end
  end
end

local function show_value(v)
  if type(v) == "table" and #v > 0 then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = util.show(x) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return util.show(v)
end

-- The variants of an experiment: {label, values} from `variants` or the
-- grid of `vary`, each checked.
local function variants_of(ctx, ex, checks)
  local out = {}
  if ex.variants ~= nil then
    if ex.vary ~= nil then fail(ctx, "experiment", "give either vary or variants, not both") end
    if type(ex.variants) ~= "table" or #ex.variants == 0 then
      fail(ctx, "experiment.variants", "expected a non-empty list of configs, got "
        .. describe(ex.variants))
    end
    for i, v in ipairs(ex.variants) do
      local place = string.format("experiment.variants[%d]", i)
      if type(v) ~= "table" then
        fail(ctx, place, "expected a config table, got " .. describe(v))
      end
      check_config(ctx, checks, v, place, true)
      local keys = util.sorted_keys(v, {label = true})
      local parts = {}
      for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. show_value(v[k]) end
      local values = util.copy(v)
      values.label = nil
      out[i] = {label = v.label or (#parts > 0 and table.concat(parts, ", ") or "base"),
        values = values}
    end
  else
    local vary = ex.vary or {}
    if type(vary) ~= "table" then fail(ctx, "experiment.vary", "expected a table "
      .. "{key = {values}}, got " .. describe(vary)) end
    local keys = util.sorted_keys(vary)
    out = {{values = {}}}
    for _, k in ipairs(keys) do
      local place = "experiment.vary." .. tostring(k)
      local list = vary[k]
      if type(list) ~= "table" or #list == 0 then
        fail(ctx, place, string.format("expected a non-empty list of values, got %s%s",
          describe(list), type(list) ~= "table" and string.format(
          " (write vary = {%s = {%s}})", k, util.show(list)) or ""), k)
      end
      for _, val in ipairs(list) do check_config(ctx, checks, {[k] = val}, "experiment.vary") end
      local nxt = {}
      for _, partial in ipairs(out) do
        for _, val in ipairs(list) do
          local v = util.copy(partial.values)
          v[k] = util.copy(val)
          nxt[#nxt + 1] = {values = v}
        end
      end
      out = nxt
    end
    for _, v in ipairs(out) do
      local parts = {}
      for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. show_value(v.values[k]) end
      v.label = #parts > 0 and table.concat(parts, ", ") or "base"
    end
  end
  local seen = {}
  for _, v in ipairs(out) do
    if seen[v.label] then fail(ctx, "experiment", "two variants are labelled '" .. v.label
      .. "'") end
    seen[v.label] = true
  end
  return out
end

-- Each variant's resolved config is checked as fit will check it (every
-- without instruments, an instrument the loss does not support) and for keys
-- that do not go together (K.check_together), so such a config fails here,
-- not in every run's child, nor trains quietly. The place: where it is set.
local function check_resolved(ctx, ex, variants)
  local base = ex.base or {}
  for i, v in ipairs(variants) do
    local function place(key)
      if v.values[key] == nil then return "experiment.base." .. key end
      return (ex.variants and string.format("experiment.variants[%d]", i)
        or "experiment.vary") .. "." .. key
    end
    local function get(key)
      if v.values[key] ~= nil then return v.values[key] end
      return base[key]
    end
    local names, every = get("instruments"), get("every")
    if every ~= nil and names == nil then
      fail(ctx, place("every"), "every sets how often instruments measure; give "
        .. "instruments too", "every")
    end
    if names ~= nil then
      local ok, err = pcall(wb.instruments._callback, rawget(wb.instruments, names) or names,
        every, get("loss"))
      if not ok then
        err = tostring(err)
        fail(ctx, place("instruments"), err:match("^.-fit: (.*)$") or err, "instruments")
      end
    end
    local key, why = K.check_together(get, ex.callbacks ~= nil)
    if key then fail(ctx, place(key), why, key) end
  end
end

-- }====================

-- A key of wb.experiment's second argument written in the spec (root =
-- ...) was "unknown key 'root'", though README speaks of an experiment's root
local function experiment_option_hint(k)
  if k == "root" or k == "where" or k == "command" then
    return string.format("; %s is an option, the second argument: wb.experiment(spec, {%s = "
      .. "...})", k, k)
  elseif k == "quick" or k == "fresh" or k == "dataset" then
    return string.format("; %s is an option: wb.experiment(spec, {options = {%s = ...}})", k, k)
  end
end

---wb.spec.check_experiment(ex, where) -> table
---Checks an experiment declaration (see wb.experiment) and returns its
---variants ({label, values}) and seeds. where prefixes every error
---("script.lua:12: name"). Raises on the first problem.
---@param ex table
---@param where string
---@return table variants
---@return integer[] seeds
---Example: local vs = wb.spec.check_experiment({vary = {hidden = {64, 128}}}, "x")
function M.check_experiment(ex, where)
  check_arg("check_experiment", 2, "where", where, "string", "a string naming the "
    .. "declaration, such as \"script.lua:12: name\"")
  local ctx = {where = where, build = type(ex) == "table" and ex.build}
  if type(ex) ~= "table" then fail(ctx, "experiment", "expected a table, got " .. describe(ex)) end
  check_table_keys(ctx, ex, EXPERIMENT_KEYS, "experiment", nil, experiment_option_hint)
  for _, k in ipairs{"build", "measure", "callbacks"} do
    if ex[k] ~= nil and type(ex[k]) ~= "function" then
      fail(ctx, "experiment." .. k, "expected a function, got " .. describe(ex[k]))
    end
  end
  if ex.keys ~= nil then
    if not (ex.build or ex.callbacks or ex.measure or type(ex.fit_options) == "function") then
      fail(ctx, "experiment.keys", "keys declares what a hook reads (build, callbacks, "
        .. "measure or a fit_options function); there is no hook")
    end
    if type(ex.keys) ~= "table" then fail(ctx, "experiment.keys", "expected a list of key "
      .. "names, got " .. describe(ex.keys)) end
    for i, k in ipairs(ex.keys) do
      if type(k) ~= "string" then fail(ctx, "experiment.keys[" .. i .. "]", "expected a "
        .. "string, got " .. describe(k)) end
      if TRAIN_KEYS[k] then fail(ctx, "experiment.keys[" .. i .. "]", "'" .. k
        .. "' is a training key, always known") end
    end
  end
  if ex.reuse ~= nil and type(ex.reuse) ~= "boolean" then
    fail(ctx, "experiment.reuse", "expected true or false, got " .. describe(ex.reuse))
  end
  local fo = ex.fit_options
  if fo ~= nil and type(fo) ~= "function" then
    if type(fo) ~= "table" then fail(ctx, "experiment.fit_options", "expected a table or "
      .. "a function(cfg, model, data) returning one, got " .. describe(fo)) end
    M.check_fit_options(fo, where)
  end
  local seeds = ex.seeds or {1, 2, 3}
  if type(seeds) ~= "table" or #seeds == 0 then
    fail(ctx, "experiment.seeds", "expected a non-empty list of integers such as {1, 2, 3}, "
      .. "got " .. describe(seeds), "seeds")
  end
  local seen = {}
  for i, s in ipairs(seeds) do
    if math.type(s) ~= "integer" then fail(ctx, "experiment.seeds[" .. i .. "]",
      "expected an integer, got " .. describe(s)) end
    if seen[s] then fail(ctx, "experiment.seeds[" .. i .. "]", string.format("seed %d is "
      .. "also seeds[%d]: each seed is one run; give distinct seeds", s, seen[s]), "seeds") end
    seen[s] = i
  end
  local checks = config_checks(ex)
  if ex.base ~= nil and type(ex.base) ~= "table" then
    fail(ctx, "experiment.base", "expected a config table, got " .. describe(ex.base))
  end
  check_config(ctx, checks, ex.base or {}, "experiment.base")
  local variants = variants_of(ctx, ex, checks)
  check_resolved(ctx, ex, variants)
  return variants, seeds, checks
end

---wb.spec.check_fit_options(opts, where)
---Checks options passed on to fit (an experiment's fit_options): only fit
---options that the config does not set (wb.spec.FIT_OPTION_KEYS); a key the
---config sets (batch_size, epochs, ...) is refused, so that the record and
---the run's identity always say what was trained.
---@param opts table
---@param where string
---Example: wb.spec.check_fit_options({verbose = false}, "x")
function M.check_fit_options(opts, where)
  check_arg("check_fit_options", 2, "where", where, "string", "a string naming the "
    .. "declaration, such as \"script.lua:12: name\"")
  local ctx = {where = where}
  if type(opts) ~= "table" then
    fail(ctx, "experiment.fit_options", "expected a table, got " .. describe(opts))
  end
  for _, k in ipairs(util.sorted_keys(opts)) do
    if R.FIT_SET_BY_CONFIG[k] then
      fail(ctx, "experiment.fit_options." .. tostring(k), "set by the config or the runner; "
        .. R.fit_option_way(k, opts[k]) .. ", so that the record and the run's identity say it")
    end
  end
  check_table_keys(ctx, opts, M.FIT_OPTION_KEYS, "experiment.fit_options", "fit option",
    R.fit_option_hint)
end

---wb.spec.check_task(spec, where)
---Checks a task declaration's own keys (name, title, intro, args,
---experiment, report) and their types (not the experiment's: see
---check_experiment), but for two: the experiment is its declaration table,
---not an experiment already made (wb.experiment{...}), and an experiment.name
---in it is the task's name (the runs are recorded under the task's name).
---where prefixes every error ("script.lua:12: name").
---Raises on the first problem, naming the key and what was expected.
---@param spec table
---@param where string
---Example: wb.spec.check_task({name = "t", experiment = {}, report = function() end}, "x")
function M.check_task(spec, where)
  check_arg("check_task", 2, "where", where, "string", "a string naming the "
    .. "declaration, such as \"script.lua:12: name\"")
  local ctx = {where = where}
  if type(spec) ~= "table" then
    fail(ctx, "task", "expected a table {name, experiment, report}, got " .. describe(spec))
  end
  check_table_keys(ctx, spec, TASK_KEYS, "task")
  if type(spec.name) ~= "string" or not spec.name:match("^[%w_%-]+$") then
    fail(ctx, "task.name", "expected a name of letters, digits, _ and -, got "
      .. describe(spec.name))
  elseif spec.name == "runs" or spec.name == "quick" then -- its folder is the root's own
    fail(ctx, "task.name", string.format("'%s' is the name of the root's %s folder, where "
      .. "the task's README and figures would go: give the task another name", spec.name,
      spec.name == "runs" and "records" or "--quick"))
  end
  for _, k in ipairs{"title", "intro", "args"} do
    if spec[k] ~= nil and type(spec[k]) ~= "string" then
      fail(ctx, "task." .. k, "expected a string, got " .. describe(spec[k]))
    end
  end
  if spec.report ~= nil and type(spec.report) ~= "function" then
    fail(ctx, "task.report", "expected a function(task, runs), got " .. describe(spec.report))
  end
  local e = spec.experiment
  if type(e) ~= "table" then
    fail(ctx, "task.experiment", "expected an experiment table, got " .. describe(e))
  end
  -- a made experiment was refused for its internal field ('_hooks')
  local mt = getmetatable(e)
  if mt ~= nil then
    fail(ctx, "task.experiment", "expected the experiment's declaration table ({base = ..., "
      .. "vary = ...}), got a " .. tostring(type(mt) == "table" and mt.__name or "table "
      .. "with a metatable") .. " (the task makes the experiment from the table itself: "
      .. "experiment = {...}, not wb.experiment{...})")
  end
  -- another name recorded the runs under it: wb.runs.find{task = name} found none
  if e.name ~= nil and e.name ~= spec.name then
    fail(ctx, "task.experiment.name", string.format("%s is not the task's name %q: the "
      .. "experiment takes the task's name (its runs are recorded and found under it); leave "
      .. "experiment.name out", describe(e.name), spec.name))
  end
end

wb.spec = M
return M
