-- wb/data_cache.lua: wb.data.for_config, the datasets of a run's config
-- (its dataset and subset checked as wb.experiment checks them: one check,
-- wb/spec_keys.lua), cached per config; and what shows that a dataset a
-- process caches was changed in place. The standard sets are loaded once
-- per process (wb.data) and their rows cached per config: a hook's
-- d.train.labels:set(...) or d.train.labels = y reached every later run of
-- the process (in process: ex:run(), the REPL), recorded as trained on the
-- files. Those caches keep a snapshot of the tensors they hand out and read
-- them again when it no longer matches. Not a copy: a hash of each tensor's
-- elements (wb.io._hash, about 4 ms for MNIST's 55 MB).
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local args = require "wb.args"
local K = require "wb.spec_keys"
local M = {}

-- The tensors of a {train, test} pair of datasets as they are, and their hashes.
function M.tensors(d)
  local out = {}
  for _, split in ipairs{"train", "test"} do
    for _, field in ipairs{"images", "labels"} do
      local t = rawget(d[split], field)
      out[#out + 1] = {split = split, field = field, t = t, hash = wb.io._hash(t)}
    end
  end
  return out
end

-- What of pair d differs from M.tensors's snapshot ("train labels", "train
-- labels replaced"), or nil.
function M.changed(d, snapshot)
  for _, e in ipairs(snapshot) do
    local t = rawget(d[e.split], e.field)
    if t ~= e.t then return string.format("%s %s replaced", e.split, e.field) end
    if wb.io._hash(t) ~= e.hash then return string.format("%s %s", e.split, e.field) end
  end
  return nil
end

-- {==================== wb.data.for_config ====================

-- cfg's dataset and subset as wb.experiment takes them (K.train's checks,
-- K.subset_rows), else an error at for_config's caller: a misspelt key
-- ({trian = 5}) gave all the rows, more than the set has the whole set, 0
-- an empty training set. n_rows: the loaded set's rows (nil: before loading).
local function check_cfg(cfg, n_rows)
  for _, k in ipairs{"dataset", "subset"} do
    local v = cfg[k]
    local why = (v ~= nil or k == "dataset") and K.train[k](v)
    if why then
      error(string.format("for_config: cfg.%s: expected %s, got %s", k, why,
        v == nil and "nothing (it is missing)" or type(v) == "string" and
        string.format("string %q", v) or type(v) .. " " .. util.show(v)), 3)
    end
  end
  local why = K.subset_rows(cfg.subset, n_rows, cfg.dataset)
  if why then error("for_config: cfg." .. why, 3) end
end

local data_cache = {}
---wb.data.for_config(cfg) -> table
---The datasets {train, test} of a run's config: cfg.dataset ("mnist" or
---"fashion") and, when cfg.subset = {train = n, test = n}, its first rows
---(--quick runs). Cached per process; run:data() uses it, so a run is
---evaluated on the rows it was tested on. dataset and subset are checked
---as wb.experiment checks them: an unknown key of subset, a count that is
---not a positive integer or more rows than the set has is an error.
---@param cfg table
---@return table
---Example: local d = wb.data.for_config{dataset = "mnist", subset = {test = 500}}
function wb.data.for_config(cfg)
  args.check("for_config", 1, cfg, "table")
  check_cfg(cfg)
  local key = cfg.dataset .. ":" .. util.canonical(cfg.subset or {})
  local d = data_cache[key]
  -- rows a hook changed in place (or replaced) are read again
  local changed = d and M.changed(d, d.loaded)
  if changed then data_cache = {} end
  if not d or changed then
    d = wb.data.load(cfg.dataset)
    check_cfg(cfg, {train = #d.train, test = #d.test})
    if cfg.subset then
      d = {train = d.train:subset(1, cfg.subset.train or #d.train),
           test = d.test:subset(1, cfg.subset.test or #d.test)}
    end
    d = {train = d.train, test = d.test, loaded = M.tensors(d)}
    data_cache[key] = d
  end
  -- the datasets cached, the pair a new one each call (strict, as wb.data.mnist()'s): a
  -- hook's d.train = d.train:subset(...) reached every later run of the process
  return wb.data._pair("wb.data.for_config()", d.train, d.test)
end

-- }====================

return M
