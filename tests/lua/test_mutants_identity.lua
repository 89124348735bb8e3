-- test_mutants_identity.lua: a run's hash (wb.experiment's specs) changes
-- with each thing that decides what it trains or measures, one at a time:
-- a config key (top-level, nested, a float in its last digits, the seed)
-- and each hook (build, callbacks, fit_options, measure). Equal specs give
-- equal hashes. Found by mutation testing: the training identity without the
-- fit_options hook passed every test, so a run whose fit_options hook had
-- changed (another batch size) would have been reused without a word.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local function build8(cfg)
  return wb.nn.Sequential{wb.nn.Dense(784, cfg.hidden, {activation = "relu"}),
    wb.nn.Dense(cfg.hidden, 10, {activation = "softmax"})}
end
local function build9(cfg)
  return wb.nn.Sequential{wb.nn.Dense(784, cfg.hidden + 1, {activation = "relu"}),
    wb.nn.Dense(cfg.hidden + 1, 10, {activation = "softmax"})}
end
-- (batch_size, which changed here, is the config's: fit_options may not set it)
local function fit16() return {verbose = false} end
local function fit32() return {verbose = 0} end
local function cb_none() return {} end
local function cb_es() return {wb.callbacks.EarlyStopping{patience = 2}} end
local function measure_a() return {a = 1} end
local function measure_b() return {a = 2} end

-- The hash of the one run of an experiment: the base spec with `change`
-- applied (keys of the spec, or of its base config under `base`).
local function hash_of(change)
  local spec = {name = "ident", seeds = {1}, keys = {"hidden"},
    base = {hidden = 8, epochs = 1, lr = 0.001, subset = {train = 300, test = 100}},
    build = build8, fit_options = fit32, callbacks = cb_none, measure = measure_a}
  for k, v in pairs(change or {}) do
    if k == "base" then
      for bk, bv in pairs(v) do spec.base[bk] = bv end
    else
      spec[k] = v
    end
  end
  local ex = wb.experiment(spec, {root = T.tmpdir()})
  T.eq(#ex.specs, 1)
  T.ok(ex.cacheable, "the hooks are identified: " .. table.concat(ex.notes or {}, "; "))
  return ex.specs[1].hash
end

T.test("a run's hash changes with each config key and each hook, one at a time", function()
  local base = hash_of()
  T.eq(hash_of(), base, "the same spec twice: the same hash")
  local changes = {
    ["a top-level key (epochs)"] = {base = {epochs = 2}},
    ["a float in its last digits (lr)"] = {base = {lr = 0.0010000000000001}},
    ["a nested key (subset.train)"] = {base = {subset = {train = 301, test = 100}}},
    ["the seed"] = {seeds = {2}},
    ["the build hook"] = {build = build9},
    ["the fit_options hook"] = {fit_options = fit16},
    ["the callbacks hook"] = {callbacks = cb_es},
    ["the measure hook"] = {measure = measure_b},
  }
  local seen = {[base] = "the base"}
  for what, change in pairs(changes) do
    local h = hash_of(change)
    T.ok(h ~= base, what .. ": the hash did not change")
    T.ok(not seen[h], what .. ": the same hash as " .. tostring(seen[h]))
    seen[h] = what
  end
end)

T.done()
