-- wb/spec_runs.lua: the checks of wb.experiment that need more than the
-- declaration's own text (wb/spec.lua): the options it is made with (the
-- command line's, or a caller's), and each run's resolved config, checked
-- when the configs are made, before anything trains, rather than when the
-- run starts (each run FAILED, the same error once per seed, after work).
-- Private to wb/experiment.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local K = require "wb.spec_keys"

local M = {}

-- The options an experiment takes (its second argument's `options`), each
-- with what its value must be.
local function count(v) return math.type(v) == "integer" and v >= 1 end
local OPTIONS = {
  quick = {function(v) return type(v) == "boolean" end, "true or false"},
  fresh = {function(v) return type(v) == "boolean" end, "true or false"},
  epochs = {count, "a positive integer"},
  seeds = {count, "a positive integer (seeds 1..n)"},
  dataset = {function(v) return K.train.dataset(v) == nil end, K.train.dataset("?")},
}

-- Checks opts, the options wb.experiment was given: an unknown key (quik,
-- epoch) was dropped without a word and the run trained full data for the
-- default epochs. A task's parsed command line (wb.runner.options: it has
-- script_args) carries every command-line option; the runner checked them.
function M.check_options(opts, where)
  if opts == nil then return end
  if type(opts) ~= "table" then
    error(K.input_error(string.format("%s: wb.experiment: options: expected a table {%s}, got "
      .. "%s", where, table.concat(util.sorted_keys(OPTIONS), ", "), type(opts))), 0)
  end
  local valid = util.sorted_keys(OPTIONS)
  local parsed = type(opts.script_args) == "table"
  for _, k in ipairs(util.sorted_keys(opts)) do
    local want, v = OPTIONS[k], opts[k]
    if not want and not parsed then
      local near = type(k) == "string" and K.nearest(k, valid)
      error(K.input_error(string.format("%s: wb.experiment: options: unknown option '%s'%s "
        .. "(valid: %s)", where, tostring(k), near and (" (did you mean '" .. near .. "'?)")
        or "", table.concat(valid, ", "))), 0)
    elseif want and v ~= nil and not want[1](v) then
      error(K.input_error(string.format("%s: wb.experiment: options.%s: expected %s, got %s",
        where, k, want[2], type(v) == "string" and string.format("%q", v) or util.show(v))), 0)
    end
  end
end

-- Stand-ins for a fit_options hook's model and data at the plan (check_config): anything
-- done with them raises, but for reading data.train and data.test (a run's data has
-- these two), which gives opaque values a hook can only pass on.
local function refuse() error("a stand-in, not the run's model or data", 0) end
local function opaque()
  return setmetatable({}, {__index = refuse, __newindex = refuse, __call = refuse,
    __len = refuse, __pairs = refuse})
end
local STAND_IN = {train = opaque(), test = opaque()}
local STAND_IN_DATA = setmetatable({}, {__index = function(_, k)
  return STAND_IN[k] or refuse() end, __newindex = refuse, __len = refuse, __pairs = refuse})

-- Run label's config cfg, resolved (base, variant, command line), checked as
-- its run would find it; n_train: the rows of its dataset's training set.
function M.check_config(cfg, n_train, where, label, fit_options)
  local n = cfg.subset and cfg.subset.train or n_train
  local v = cfg.validation
  if type(v) == "number" and n then -- as wb.Dataset:split cuts it
    local kept = math.floor(n * (1 - v))
    if kept < 1 or kept >= n then
      error(K.input_error(string.format("%s: variant %s: validation = %g of %d training rows "
        .. "leaves %s; give a fraction that keeps rows on both sides (e.g. 0.1), or "
        .. "more rows", where, label, v, n, kept < 1 and "no rows to train on" or
        "no validation rows")), 0)
    end
  end
  -- fit_options as a function: its contract is a function of the config
  -- (and of model and data); it is called here with stand-ins for those, so a
  -- key fit does not take fails now, before any run trains: one that passes data.test
  -- on (validation_data = data.test) was refused only when its run started, after
  -- others had trained (tryX 6). One that does more with the model or the data fails
  -- here on the stand-ins: it is checked when its run calls it.
  if type(fit_options) == "function" then
    local c = setmetatable(util.copy(cfg), getmetatable(cfg))
    local ok, got = pcall(fit_options, c, opaque(), STAND_IN_DATA)
    if ok and got ~= nil then
      require("wb.spec").check_fit_options(got, where .. ": variant " .. label)
    end
  end
end

-- cfg (a variant's config, resolved) with its optimizer's options that it
-- leaves out set to their defaults (wb.optim.new(name):config(), the C
-- core's: a change of them changes wb.identity.code, so the runs train
-- again). An explicit lr = 1e-3 under adam trains what leaving lr out
-- trains, but it made another identity: adding lr = {1e-3, 3e-3} to a grid
-- retrained the runs recorded with the default (tryV 11). Filled in, as the
-- training defaults are (optimizer = "adam", batch_size = 32), rather than
-- dropped when stated: a hook, a record and a report then read what trained
-- (task 7b's SGD lr = 1e-2 is SGD's default; its report reads config.lr).
-- An optimizer that is no name is left as it is: the checks name it.
function M.with_defaults(cfg)
  local ok, opt = pcall(wb.optim.new, cfg.optimizer)
  if not ok then return cfg end
  local defaults = opt:config() -- a new table per call: one, not one per key
  for _, k in ipairs(K.OPTIMIZER_KEYS) do
    if cfg[k] == nil then cfg[k] = defaults[k] end
  end
  return cfg
end

-- {==================== fit_options ====================

-- fit() options an experiment's fit_options may not set: the config or the
-- runner sets them (wb.spec.check_fit_options).
M.FIT_SET_BY_CONFIG = {batch_size = true, epochs = true, log_every = true, optimizer = true,
  seed = true, instruments = true, every = true,
  shuffle = true, validation = true, validation_split = true, validation_data = true,
  callbacks = true, loss = true}

-- A loss of one's own (a Lua function) was refused by fit_options ("put it
-- in base or vary") and by base ("expected one of ..."): each sent the user
-- to the other. The one true answer, said by both.
M.OWN_LOSS = " (the runner takes only these named losses: a run's record and identity "
  .. "name its loss as data, which a function is not; a loss function of one's own trains "
  .. "with model:fit(data, {loss = f}) in a script, outside wb.experiment)"

-- Where such an option comes from instead; the others are config keys.
local FIT_OPTION_WAY = {
  callbacks = "the experiment's callbacks hook gives them (callbacks = function(cfg, "
    .. "model, data) -> list)",
  seed = "the runner seeds each run with its seed (the experiment's seeds)",
  validation_split = "the config key validation sets it (0.1, \"test\" or false)",
  validation_data = "the config key validation sets it (0.1, \"test\" or false)"}

function M.fit_option_way(k, v)
  if k == "loss" then
    return "the config key loss sets it, by name (one of " .. table.concat(require(
      "wb.losses").NAMES, ", ") .. "): put it in base or vary" .. (type(v) == "function"
      and M.OWN_LOSS or "")
  end
  return FIT_OPTION_WAY[k] or "put it in base or vary"
end

-- For an unknown fit option near a config key (log_evry): " ('log_every' is
-- a config key: put it in base or vary)", else nil.
function M.fit_option_hint(k)
  -- a config key itself first (lr): the nearest by edit distance named loss
  if K.train[k] ~= nil or K.model[k] ~= nil then
    return string.format(" ('%s' is a config key: put it in base or vary)", k)
  end
  local near = K.nearest(k, util.sorted_keys(M.FIT_SET_BY_CONFIG))
  if near and not FIT_OPTION_WAY[near] then
    return string.format(" ('%s' is a config key: put it in base or vary)", near)
  end
end

-- }====================

return M
