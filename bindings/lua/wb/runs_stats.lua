-- wb/runs_stats.lua: the numbers of run records: a series or value of a
-- record, mean and std over seeds, and their text in tables. Installed as
-- wb.runs.mean_std, series, value, fmt_mean_std (wb/runs_fmt.lua) by
-- wb/runs.lua; reads records only.
local _ENV = require "wb.std"
local M = {}
local argcheck = require("wb.runs_group").argcheck
local fmt = require "wb.runs_fmt"
local util = require "wb.util"
local maxn = util.maxn
M.fmt_mean_std = fmt.fmt_mean_std -- a cell's text
local count_name = fmt.count_name

---wb.runs.mean_std(xs) -> number, number
---Mean and sample standard deviation (n - 1; 0 for one value) of a list of
---numbers; nil, nil for an empty list.
---@param xs number[]
---@return number|nil mean
---@return number|nil std
---Example: print(wb.runs.mean_std{0.97, 0.98, 0.975})
function M.mean_std(xs)
  argcheck(type(xs) == "table", 1, "mean_std", "table", xs)
  local n = #xs
  for i = 1, n do argcheck(type(xs[i]) == "number", 1, "mean_std", "list of numbers", xs[i], i) end
  if n == 0 then return nil, nil end
  -- all equal: that value and 0 exactly (rounding left ~1e-16, and a claim's "every seed the
  -- same" exact test never ran: tryO 1)
  if require("wb.inference")._constant(xs) then return xs[1], 0 end
  local s, v = 0, 0
  for _, x in ipairs(xs) do s = s + x end
  local m = s / n
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  return m, n > 1 and math.sqrt(v / (n - 1)) or 0 -- sample std over seeds
end

---wb.runs.series(r, name) -> table|nil
---A per-epoch series of a run record: history[name], else measures[name]
---when it is a list with an entry per epoch run (per-layer numbers are
---none), else derived: "gap" = val_loss - loss, epoch by
---epoch (loss is Keras's: the epoch's running mean, with dropout active,
---so dropout lowers this gap by itself; a gap of the final weights in
---inference mode is val_loss minus model:evaluate on the rows trained on,
---in a measure hook). nil when the record has no such series.
---@param r table
---@param name string
---@return number[]|nil
---Example: local gap = wb.runs.series(run, "gap")
-- Whether t is a list of numbers (with holes where a NaN was stored as
-- null): a series, not history.steps or history.instruments, which are
-- tables by name.
local function is_list(t)
  if type(t) ~= "table" then return false end
  for k, v in pairs(t) do
    if math.type(k) ~= "integer" or type(v) ~= "number" then return false end
  end
  return true
end

local function series(r, name)
  local h = type(r.history) == "table" and r.history[name] or nil
  if not is_list(h) then h = nil end
  if h == nil and name == "gap" and type(r.history) == "table"
      and is_list(r.history.val_loss) and is_list(r.history.loss) then
    h = {}
    for e = 1, maxn(r.history.val_loss) do -- past holes: NaN epochs are null
      local v, l = r.history.val_loss[e], r.history.loss[e]
      if type(v) == "number" and type(l) == "number" then h[e] = v - l end
    end
  end
  if h == nil and type(r.measures) == "table" then
    h = r.measures[name]
    -- a series only with an entry per epoch run (a diverged run's may end
    -- early): per-layer norms were tabled by their last layer's (audit W16)
    local ran = type(r.metrics) == "table" and r.metrics.epochs_run
    local n = math.type(ran) == "integer" and is_list(h) and maxn(h)
    if n and n ~= ran and not (n < ran and r.status == "diverged") then h = nil end
  end
  return is_list(h) and h or nil
end
function M.series(r, name)
  argcheck(type(r) == "table", 1, "series", "table", r)
  argcheck(type(name) == "string", 2, "series", "string", name)
  return series(r, name)
end

-- The number of epochs of series h (series(r, name)): a history series (and
-- gap) has one entry per epoch run, so one that was NaN at the last epoch
-- has no final value: not the epoch before it. A measure's list has its
-- own length.
local function length(r, name, h)
  local n, hist = maxn(h), type(r.history) == "table" and r.history
  if hist and (hist[name] == h or name == "gap") then
    if type(hist.loss) == "table" then n = math.max(n, maxn(hist.loss)) end
    local ran = type(r.metrics) == "table" and r.metrics.epochs_run
    if math.type(ran) == "integer" then n = math.max(n, ran) end
  end
  return n
end

---wb.runs.value(r, name) -> number|nil
---The value of a metric in one run record: metrics[name] (final metrics
---such as test_accuracy, gap, best_epoch), else a numeric measure (one
---recorded false, such as a target never reached, has none), else
---the last entry of its series (wb.runs.series): the last epoch's, nil
---when that was NaN (JSON null), never an earlier epoch's.
---@param r table
---@param name string
---@return number|nil
---Example: print(wb.runs.value(run, "val_loss"))
local function value(r, name)
  if type(r.metrics) == "table" and rawget(r.metrics, name) ~= nil then
    return rawget(r.metrics, name)
  end
  if type(r.measures) == "table" and type(r.measures[name]) == "number" then
    return r.measures[name]
  end
  local h = series(r, name)
  if h then return h[length(r, name, h)] end -- nil when the last epoch was NaN
  return nil
end
function M.value(r, name)
  argcheck(type(r) == "table", 1, "value", "table", r)
  argcheck(type(name) == "string", 2, "value", "string", name)
  return value(r, name)
end

-- The numbers of metric name over runs rs.
-- A run that finished ("ok"; records made by hand may say nothing). A
-- diverged run's last epoch is not a final value: it is counted apart.
local function finished(r) return r.status == nil or r.status == "ok" end

-- A value a table or test may use: a number that is not NaN. A record
-- read from its file has JSON null where the run had NaN; a record still in
-- memory (wb.runs.Runs over records made by hand) holds the NaN itself, and
-- must give the same cells, curves and tests, not "nan ± nan".
local function usable(v) return type(v) == "number" and v == v end

local function numbers(rs, name)
  local out = {}
  for _, r in ipairs(rs) do
    local v = finished(r) and value(r, name)
    if usable(v) then out[#out + 1] = v end
  end
  return out
end

-- A table's seeds cell: "3", or "2 of 3 (1 diverged)" when runs of the
-- variant did not finish (their numbers are in no mean); failed: how many
-- of its runs left no record ("2 of 3 (1 failed)").
local function seeds_cell(rs, failed)
  local n, other, kinds = 0, {failed = failed}, {failed and failed > 0 and "failed" or nil}
  for _, r in ipairs(rs) do
    if finished(r) then n = n + 1
    else
      local k = tostring(r.status)
      if not other[k] then kinds[#kinds + 1] = k end
      other[k] = (other[k] or 0) + 1
    end
  end
  local all = #rs + (failed or 0)
  -- seeds that trained the same to the bit count once in it (tryX 2)
  local mark = require("wb.runs_copies").seeds_mark
  if n == all then return tostring(n) .. mark(rs) end
  table.sort(kinds)
  for i, k in ipairs(kinds) do kinds[i] = other[k] .. " " .. k end
  return string.format("%d of %d (%s)%s", n, all, table.concat(kinds, ", "), mark(rs))
end

-- The runs a task's runner could not record (runs.failures, {spec}: a
-- failed child, a Slurm element), per variant, and the variants none of
-- whose runs is recorded, in order: counted in seeds cells and comparisons,
-- never just missing from them. A list wb.runs.find made has none.
local function failed_of(runs)
  local n, only, have = {}, {}, {}
  for _, r in ipairs(rawget(runs, "records")) do have[r.variant] = true end
  for _, f in ipairs(rawget(runs, "failures") or {}) do
    local v = type(f.spec) == "table" and f.spec.variant
    if v then
      if not n[v] and not have[v] then only[#only + 1] = v end
      n[v] = (n[v] or 0) + 1
    end
  end
  return n, only
end

-- A table's cell: mean ± sd of xs (the values of metric name over runs rs),
-- "(n = k)" after it when fewer finished runs have it than finished.
local function cell(xs, name, rs)
  local m, s = M.mean_std(xs)
  local text = M.fmt_mean_std(m, s, name, #xs)
  local n = 0
  for _, r in ipairs(rs) do if finished(r) then n = n + 1 end end
  if #xs > 0 and #xs < n then text = text .. string.format(" (n = %d)", #xs) end
  return text
end

-- Per-epoch mean and std of a series over runs rs (see Runs:curve). Only
-- finished runs: a diverged run's epochs before its NaN (a loss growing to
-- 1e30) are in no mean, as in a table (plot_curves' title counts them).
local function curve(rs, name)
  local n, hs = 0, {}
  for _, r in ipairs(rs) do
    local h = finished(r) and series(r, name)
    if h then hs[#hs + 1] = h; n = math.max(n, length(r, name, h)) end
  end
  local mean, std, x, ci = {}, {}, {}, {}
  for e = 1, n do
    local xs = {}
    for _, h in ipairs(hs) do if usable(h[e]) then xs[#xs + 1] = h[e] end end
    x[e] = e
    if #xs == 0 then -- no seed has a value (NaN, null) here: NaN, a gap in a plot
      mean[e], std[e], ci[e] = 0 / 0, 0 / 0, 0 / 0
    else
      mean[e], std[e] = M.mean_std(xs)
      -- one seed left (the others stopped early): no interval, not a band of width 0
      ci[e] = require("wb.inference").ci_half(xs) or 0 / 0
    end
  end
  return x, mean, std, ci
end

-- {==================== names ====================

-- The final metrics the training loop writes: known names even where no run
-- of a list has them, so a table over every task asks for them without error.
local FINAL = require("wb.run").FINAL_METRICS

-- The names runs rs have: "series" (per-epoch: wb.runs.series finds
-- them), "values" (series and final values: wb.runs.value finds them) or
-- "steps" (history.steps, but step and epoch, the x of a step curve).
local function names_of(rs, kind)
  local set = {}
  for _, r in ipairs(rs) do
    local h = type(r.history) == "table" and r.history or {}
    if kind == "steps" then
      for k, s in pairs(type(h.steps) == "table" and h.steps or {}) do
        if is_list(s) and k ~= "step" and k ~= "epoch" then set[k] = true end
      end
    else
      for k in pairs(h) do if series(r, k) then set[k] = true end end
      if series(r, "gap") then set.gap = true end
      -- a measure recorded false has no value but is a name (S's epochs_to_target
      -- when the target was never reached)
      for k, v in pairs(type(r.measures) == "table" and r.measures or {}) do
        if series(r, k) or kind == "values" and (type(v) == "number" or v == false) then
          set[k] = true
        end
      end
      for k, v in pairs(kind == "values" and type(r.metrics) == "table" and r.metrics or {}) do
        if type(v) == "number" then set[k] = true end
      end
    end
  end
  return set
end

-- Whether name is one of the names of kind of runs rs (names_of's set
-- holds it), found without that set: names_of walks every series of every
-- run (is_list reads each entry), which for a check of one name at each
-- figure was 2 s of a cached task 11 (a million step entries, 8 figures).
local function has_name(rs, name, kind)
  for _, r in ipairs(rs) do
    local h = type(r.history) == "table" and r.history or {}
    if kind == "steps" then
      local s = type(h.steps) == "table" and h.steps[name]
      if s and name ~= "step" and name ~= "epoch" and is_list(s) then return true end
    else
      if series(r, name) then return true end -- a history series, gap, a measure's list
      if kind == "values" then -- a measure recorded false is a name too (names_of)
        local ms, mt = r.measures, r.metrics
        if type(ms) == "table" and (type(ms[name]) == "number" or ms[name] == false) then
          return true
        end
        if type(mt) == "table" and type(rawget(mt, name)) == "number" then return true end
      end
    end
  end
  return false
end

-- The names of set, the closest to word first: by edit distance within
-- wb.spec.nearest's reach, then those containing word ("task05" in
-- "task05_dropout"), then the others sorted; and the closest, or nil when
-- none is close, for "did you mean".
local function nearest_first(word, set)
  local nearest, rest, out = require("wb.spec").nearest, util.sorted_keys(set), {}
  word = tostring(word)
  local function take(n)
    out[#out + 1] = n
    for i = #rest, 1, -1 do if rest[i] == n then table.remove(rest, i) end end
  end
  while true do
    local n = nearest(word, rest)
    if not n then break end
    take(n)
  end
  for _, n in ipairs({table.unpack(rest)}) do
    if #word > 1 and tostring(n):find(word, 1, true) then take(n) end
  end
  local near = out[1]
  for _, n in ipairs(rest) do out[#out + 1] = n end
  return out, near
end
M.nearest_first = nearest_first

-- Raise at `level` (error()'s, seen from the caller) unless name is one of
-- the names of kind (names_of) of runs rs: "<fname>: unknown <what> 'name'
-- (did you mean 'x'?) (<what>s of these runs: x, ...)". A list without
-- runs, or for values without a finished run, has nothing to check
-- against (its cells say so). Final metric names are known for values.
-- For values, a name far from every name the runs have is let through
-- (n/a): a measure hook may leave out what it did not find, and the record
-- cannot tell that from a name no hook returns (S's epochs_to_target is
-- recorded false instead, so it is a name; records before that had nil);
-- a misspelling is near its name.
-- head: the message's start instead of "<fname>: unknown <what> 'name'".
local function check_name(rs, name, kind, fname, what, level, head)
  if #rs == 0 then return end
  local any = kind ~= "values"
  for _, r in ipairs(any and {} or rs) do any = any or finished(r) end
  if not any then return end
  if has_name(rs, name, kind) then return end -- the whole set only for the error
  for _, r in ipairs(kind == "values" and rs or {}) do -- a measure of text: n/a said nothing
    local v = type(r.measures) == "table" and r.measures[name]
    if v ~= nil and v ~= false then
      error(string.format("%s: '%s' is not a number in the measures of run %s (%s seed %s): "
        .. "%s; tables and plots show numbers (a measure hook's {name = number}); read it "
        .. "from the record (r.measures.%s)", fname, tostring(name), tostring(r.hash),
        tostring(r.variant), tostring(r.seed), type(v) .. " " .. (type(v) == "string" and
        string.format("%q", v) or util.show(v)), tostring(name)), level + 1)
    end
  end
  local set = names_of(rs, kind)
  if kind == "values" then
    for _, n in ipairs(FINAL) do set[n] = true end
  end
  if set[name] then return end
  local list, near = nearest_first(name, set)
  if kind == "values" and not near then return end
  local plural = what:find("series$") and what or what .. "s"
  if #list == 0 and kind == "steps" then
    list[1] = "none; history.steps is kept when the config sets log_every, or instruments "
      .. "and every"
  end
  head = head or string.format("%s: unknown %s '%s'", fname, what, tostring(name))
  -- a name the caller mistyped: one line, no traceback into here (tryZ C2)
  require("wb.args").input_fail(string.format("%s%s (%s of %s%s: %s)", head,
    near and (" (did you mean '" .. near .. "'?)") or "", plural,
    #rs == 1 and "this run" or "these runs",
    near and ", nearest first" or "", #list > 0 and table.concat(list, ", ") or "none"),
    level + 1)
end

-- }====================

-- Unchecked, for wb/runs.lua's loops over records it has checked.
M.raw = {series = series, value = value, numbers = numbers, curve = curve,
  seeds_cell = seeds_cell, cell = cell, finished = finished, usable = usable,
  names_of = names_of, has_name = has_name, check_name = check_name, failed_of = failed_of,
  count_name = count_name}

return M
