-- wb/train_measures.lua: an experiment's measure hook run on a finished
-- run, its result checked and put in the record (rec.measures, and its
-- numbers in rec.metrics). Private to wb/train.lua.
--
-- What the record cannot hold is said, not dropped: a value that is not
-- plain data (a tensor, a function) is an error naming it and what to
-- give instead, where util.plain used to leave it out without a word (the
-- table then read n/a, or "unknown column"); a name the run records itself
-- as a metric or a history series is an error too (a measure `lr` list was
-- recorded, and every table and curve showed the history's lr instead); a
-- number that is not finite (JSON has none) is recorded as missing, warned.
local _ENV = require "wb.std"
local wb, util, args = require "wb", require "wb.util", require "wb.args"

-- A run's own columns in the exports (the set wb/runs_export.lua writes) and
-- keys of wb.runs.find: a measure named so was exported beside them, a second
-- 'seed' or 'status' column, or a 'config.lr' one for runs with no lr (tryO 3).
require "wb.runs_export"
local OWN_COLUMN = require("wb.runs")._csv.own_columns

local M = {}

local MEASURE_SEED = 1 << 31

-- The first value in v that a record cannot hold, as (path, what), or nil;
-- a non-finite number (not in a list: there it is an epoch or step not
-- measured, JSON null) goes to bad as "path = inf".
local function unplain(v, path, bad)
  local t = type(v)
  if t == "number" then
    if bad and v ~= v then bad[#bad + 1] = path .. " = nan"
    elseif bad and (v == math.huge or v == -math.huge) then
      bad[#bad + 1] = path .. " = " .. tostring(v)
    end
    return nil
  elseif t == "string" or t == "boolean" then
    return nil
  elseif t == "table" and getmetatable(v) == nil then
    for k, x in pairs(v) do
      if type(k) ~= "string" and math.type(k) ~= "integer" then
        return path, "a table with a key " .. tostring(k) .. " (keys must be names or 1..n)"
      end
      local p, what = unplain(x, path .. "." .. tostring(k), math.type(k) ~= "integer" and bad
        or nil)
      if p then return p, what end
    end
    return nil
  end
  return path, "a " .. args.typename(v)
end

-- The record's test metrics were measured on the weights the run's file
-- gets, which are written after the measure hook: a hook that set other
-- weights to measure with them (a pruned or perturbed copy, a landscape's
-- point) and left them there made the file hold weights those metrics
-- were never measured on. before: copies of the parameters.
function M.check_weights(ex, model, before)
  local ps = model:parameters()
  local i = #ps ~= #before and math.min(#ps, #before) + 1 or nil
  for j = 1, i and 0 or #ps do
    local ok, d = pcall(function() return ps[j] - before[j] end) -- another shape: an error
    if not ok or d:max() ~= 0 or d:min() ~= 0 then i = j; break end
  end
  if i then
    error(string.format("%s: measure changed the model's weights (parameter %d of %d) and "
      .. "left them changed: the run's weights file would not hold the weights its test "
      .. "metrics were measured on; put them back when done (local w = model:get_weights() "
      .. "... model:set_weights(w)) or measure a copy", ex.where, i, #before), 0)
  end
end

-- Runs ex.measure on the finished run and records its result in rec (the
-- hook draws from generators seeded from the run's seed alone); extra: the
-- experiment's callbacks. Errors name the hook's script (ex.where).
function M.record(ex, spec, rec, model, hist, extra, d)
  local tm = util.now()
  -- The hook draws from generators seeded from the run's seed alone, never
  -- from where training left them: an adopted run (no training in this
  -- process) and a trained one then measure the same numbers (task 5's
  -- silenced units were 83.6 % adopted, 85.6 % trained, on equal weights).
  -- 2^31 + seed: no training seed's stream.
  wb.seed(MEASURE_SEED + spec.config.seed)
  math.randomseed(MEASURE_SEED + spec.config.seed)
  local before = {}
  for i, p in ipairs(model:parameters()) do before[i] = p:clone() end
  -- its reads the hook's, a tail call's too (wb/identity_reads_sys.lua)
  local m = require("wb.identity_reads").sys.as_hook(require("wb.train_hooks").place(ex,
    "measure"), ex.measure, model, spec.config, d, hist, extra)
  M.check_weights(ex, model, before)
  if m == nil then m = {} end
  if type(m) ~= "table" or getmetatable(m) ~= nil then
    error(string.format("%s: measure must return a table {name = number, ...} (or nothing), "
      .. "got %s", ex.where, args.typename(m)), 0)
  end
  local bad, missing = {}, {}
  for k, v in pairs(m) do
    if type(k) ~= "string" then
      error(string.format("%s: measure returned a key %s: its results are named by strings",
        ex.where, tostring(k)), 0)
    elseif rec.metrics[k] ~= nil then -- never in place of the run's own metric
      error(string.format("%s: measure: '%s' is a metric the run records itself (%s = %s); "
        .. "give the measure another name", ex.where, k, k, util.show(rec.metrics[k])), 0)
    elseif OWN_COLUMN[k] or k:match("^config%.") or k:match("^fit_options%.")
        or k:match("^identity%.") or k:match("^read:") then
      error(string.format("%s: measure: '%s' is the name of a run's own column (its %s in "
        .. "wb.runs.find's keys and the CSV exports, beside the measures: a second '%s' column "
        .. "there); give the measure another name", ex.where, k, k:match("^[%a_]+") or k, k), 0)
    elseif type(rec.history) == "table" and rec.history[k] ~= nil then
      error(string.format("%s: measure: '%s' is a series the run's history records; tables "
        .. "and curves would show the history's; give the measure another name", ex.where, k), 0)
    end
    if type(v) == "number" and (v ~= v or v == math.huge or v == -math.huge) then
      missing[#missing + 1] = k -- a run's metrics know its name (wb/run.lua strict_metrics)
    end
    local path, what = unplain(v, k, bad)
    if path then
      error(string.format("%s: measure: '%s' is %s, which a run record cannot hold: give "
        .. "numbers, strings, booleans or lists of them (a tensor: t:item() or t:totable())",
        ex.where, path, what), 0)
    end
  end
  if #bad > 0 then
    table.sort(bad)
    io.stderr:write(string.format("warning: %s: measure: %s: not finite, recorded as missing "
      .. "(n/a in tables; a run record is JSON, which has no inf or NaN)\n", ex.where,
      table.concat(bad, ", ")))
    -- and in the record, which the task's README lists: the runner relays
    -- the line above (a child's stderr went to its log only), a run from
    -- records says it again
    rec.warnings = util.array(rec.warnings or {})
    rec.warnings[#rec.warnings + 1] = string.format("measure %s: not finite, recorded as "
      .. "missing", table.concat(bad, ", "))
  end
  rec.measures = util.plain(m)
  if #missing > 0 then table.sort(missing) rec.measures_missing = missing end
  -- the cost of measuring: the hook, plus callbacks that timed themselves
  local cost = util.now() - tm
  for _, cb in ipairs(extra) do cost = cost + (cb.seconds or 0) end
  rec.measure_seconds = cost
  for k, v in pairs(rec.measures) do
    if type(v) == "number" then rec.metrics[k] = v end
  end
end

return M
