-- wb/compare.lua: wb.compare, the sentence every finding of a task's README
-- uses to compare variants on a metric. It decides by the one rule of the
-- workbench (wb.welch): the best variant is better than the next when the
-- 95 % confidence interval of the difference of their means over seeds
-- excludes 0; numbers in the sentence have the units of the tables (the
-- differences of accuracies, which the tables show in percent, are
-- percentage points).
local _ENV = require "wb.std"
local wb = require "wb"
local runs_mod = require "wb.runs"
local args = require "wb.args"
local util = require "wb.util"

local M = {}

---wb.compare.signed(x, metric) -> string
---A signed difference in the metric's units, as the tables round it
---("-0.0021"; of accuracies, which the tables show in percent, in
---percentage points: "+0.15 points"), but never as 0 when it is not: a
---bound of an interval that excludes 0 must show its side of 0 ("+0.03",
---not "+0.0"), so a value the tables' rounding makes 0 gets 2 significant
---digits.
---@param x number
---@param metric? string
---@return string
---Example: print(wb.compare.signed(0.03, "epochs_to_target")) --> +0.03
function M.signed(x, metric)
  args.check("signed", 1, x, "number")
  args.opt("signed", 2, metric, "string")
  local s = runs_mod.fmt_mean_std(math.abs(x), nil, metric)
  local pct = s:find("%%") ~= nil
  if x ~= 0 and not s:find("[1-9]") then
    s = string.format("%.2g", pct and 100 * math.abs(x) or math.abs(x))
  end
  -- "+2.42 %" read as a relative change (tryE 4): the tables' percent
  -- differ by percentage points
  if pct then s = s:gsub(" %%$", "") .. " points" end
  return (x < 0 and "-" or "+") .. s
end
local signed = M.signed

---wb.compare.fmt_p(p, alpha) -> string
---A p-value with 2 significant digits, more when 2 would put it on the
---other side of alpha (default 0.05) or on it: 0.0496 is "0.0496", not
---"0.05", so the side a verdict took is visible.
---@param p number
---@param alpha? number
---@return string
---Example: print(wb.compare.fmt_p(0.0496)) --> 0.0496
function M.fmt_p(p, alpha)
  args.check("fmt_p", 1, p, "number")
  args.opt("fmt_p", 2, alpha, "number")
  alpha = alpha or 0.05
  local s
  for digits = 2, 6 do
    s = string.format("%." .. digits .. "g", p)
    local r = tonumber(s)
    if p ~= p or r ~= alpha and (r < alpha) == (p < alpha) then return s end
  end
  return s
end

---wb.compare.separation_p(n, m) -> number
---The rank test's (Mann-Whitney's) exact two-sided p of a complete
---separation of n values from m, every value of one side beyond every
---value of the other: 2 / C(n + m, n) (2 seeds a side: 1/3, never a
---verdict; 5 a side: 0.0079).
---@param n integer
---@param m integer
---@return number
---Example: print(wb.compare.separation_p(5, 5)) --> 0.0079365079365079
function M.separation_p(n, m)
  local c = 1
  for i = 1, m do c = c * (n + i) / i end
  return math.min(1, 2 / c)
end

---wb.compare.distinct(records) -> integer, table
---How many distinct trainings the records (the seeds of one variant) are:
---seeds whose losses of every epoch, test loss and final metrics (the
---clock's aside) are equal to the bit trained the same (a fixed seed in a
---hook), and are copies, no independent samples. Also returns the groups of
---two or more such seeds, each a sorted list of seeds. Records that did not
---finish are not counted.
---@param records table
---@return integer
---@return table
---Example: local n, groups = wb.compare.distinct(runs:of("lr=0.001"))
function M.distinct(records)
  args.check("distinct", 1, records, "table")
  return require("wb.runs_copies").groups(records)
end

---wb.compare.decide(a, b, metric, better) -> string, table
---The verdict of the rule on two lists of per-seed values: "a is better",
---"b is better" or "not decided" (better = "higher" or "lower": which
---direction is better), with a clause giving the difference, its 95 %
---interval and p (Welch), in the metric's units (an accuracy's in
---percentage points: "+0.15 points"). Also returns wb.welch's
---table. Sides without spread (each side's values all equal, whole epochs
---to a target): Welch's test is undefined there, and the sides are
---completely separated, so the rank test's exact p of that separation
---(wb.compare.separation_p) decides at 5 %, as the report's claims do; two
---equal sides are not decided.
---@param a number[]
---@param b number[]
---@param metric string
---@param better string
---@return string
---@return table
---Example: print(wb.compare.decide({0.98, 0.981}, {0.97, 0.972}, "test_accuracy", "higher"))
function M.decide(a, b, metric, better)
  args.check("decide", 3, metric, "string")
  if better ~= "higher" and better ~= "lower" then
    error(string.format("bad argument #4 to 'decide' (\"higher\" or \"lower\" expected, "
      .. "got %s)", type(better) == "string" and string.format("%q", better) or type(better)), 2)
  end
  local w = wb.welch(a, b)
  -- a name like a count's (loss_per_epoch) over values that are no counts:
  -- in the units of any number, not rounded to an epoch's tenth ("-0.1"
  -- for -0.088), as fmt_mean_std shows its cells
  local counts = true
  for _, xs in ipairs{a, b} do
    for _, x in ipairs(xs) do counts = counts and x == math.floor(x) end
  end
  if not counts and require("wb.runs_stats").raw.count_name(metric) then metric = "value" end
  if not w.p then
    return "not decided", w, "fewer than 2 seeds a side: no interval"
  end
  local up = better == "higher"
  -- every value of each side the same: Welch's test is undefined (it said
  -- "CI [-1, -1], p = 0" of two seeds a side); the rank test's exact p of
  -- the separation decides, as in the report's claims (study/claim_parts:
  -- a task's findings said "not decided" where its claim said "holds").
  -- One side without spread (any values: whole epochs, accuracies k / n):
  -- Welch's df comes from the other side alone, below any exact test's p
  -- ({2,2,2} vs {3,4,4}: 0.038, {0.1,0.1,0.1} vs {0.2,0.21,0.22}: 0.0027,
  -- every deal's >= 0.1: tryT T2); the exact permutation test decides (Welch
  -- only past its budget, where permutation_p gives nil)
  local p, spread, test
  if w.no_spread then
    p, spread, test = w.same and 1 or M.separation_p(w.n_a, w.n_b),
      "either group (all values equal)", "rank test"
  elseif w.sd_a == 0 or w.sd_b == 0 then
    p, spread, test = wb.inference.permutation_p({a, b}), "one group", "permutation test"
  end
  if p then
    local verdict = "not decided"
    if p < 0.05 then verdict = (w.diff > 0) == up and "a is better" or "b is better" end
    return verdict, w, string.format("difference %s; no spread in %s: p = %s (%s, exact; "
      .. "n = %d and %d)", signed(w.diff, metric), spread, M.fmt_p(p), test, w.n_a, w.n_b)
  end
  local verdict = "not decided"
  if w.lo > 0 then verdict = up and "a is better" or "b is better"
  elseif w.hi < 0 then verdict = up and "b is better" or "a is better" end
  local clause = string.format("difference %s, 95 %% CI [%s, %s], p = %s (Welch, n = %d "
    .. "and %d)", signed(w.diff, metric), signed(w.lo, metric), signed(w.hi, metric),
    M.fmt_p(w.p), w.n_a, w.n_b)
  return verdict, w, clause
end

---wb.compare(runs, metric, opts) -> string, table, table
---wb.compare.compare(runs, metric, opts) -> string, table, table
---A sentence comparing the variants of a run list on a metric: the best
---variant by mean over seeds and the next, and whether the best is better
---by the rule every finding uses (Welch's test: the 95 % confidence interval
---of the difference excludes 0), with the interval and p in the metric's
---units; "" with fewer than two variants. The best is not called better
---when some of its seeds have no value (a diverged run, a target never
---reached): its mean over the others may flatter it. A note says which
---seeds have no value and why: failed (no record), diverged, or finished
---without one (the target never reached: a measure recorded false; not
---finite: NaN or inf; none recorded). With more than two variants it names
---the other end, the worst; for a *_to_target measure a variant that never
---reached the target is slower than any number there. opts.better =
---"higher" or "lower", or "neither" for a quantity that is no goal (a
---weight norm, the gradient noise, the sharpness): ranked from the lowest,
---the lowest said lower, not better. Without it, only a direction the library
---knows: higher for an accuracy (a name ending in acc or accuracy, as
---EarlyStopping's mode "auto", or silenced_*, the accuracy with units
---silenced), lower for a loss it records (loss, val_loss, test_loss,
---best_val_loss), the clock's (train_seconds, sec_per_epoch) and a
---*_to_target; any other name (a measure of one's own) is ranked as with
---"neither". The sentence names the direction taken, or says none was
---given. Two variants whose runs are the same
---trainings, seed for seed (--quick's 2 epochs over a varied epochs), are
---not compared: the sentence says so. Nor are variants some of whose seeds
---trained the same, to the bit (a fixed seed in a hook): those are copies,
---no independent samples, and the sentence gives n effective (the distinct
---trainings) and no test. Any other option is an error. Also returns
---the best and all {v, m, s, n}, sorted: pass the sentence alone where one
---value is wanted, task:text((wb.compare(...))) or local s = wb.compare(...).
---@param runs wb.Runs
---@param metric string
---@param opts? table
---@return string, table, table
---Example: local s = wb.compare(runs, "test_accuracy", {better = "higher"}); print(s)
function M.compare(runs, metric, o)
  local s, best, all = M._compare(runs, metric, o) -- not a tail call: levels count it
  return s, best, all
end

-- Whether variants a and b of runs are the same trainings, seed for seed:
-- their records' training identities (train_key) are one set. An option
-- replacing the key the variants vary (--quick's 2 epochs over epochs = 3
-- and 5) made them so, and "Not decided by the seeds: difference +0.00"
-- read as a finding about the key (audit A6).
local function same_training(runs, a, b)
  local function keys(v)
    local out = {}
    for _, r in ipairs(runs:of(v)) do
      if not r.train_key then return nil end
      out[#out + 1] = r.train_key
    end
    table.sort(out)
    return #out > 0 and table.concat(out, " ") or nil
  end
  local ka = keys(a)
  return ka ~= nil and ka == keys(b)
end

-- Why the finished runs rs have no value of metric, and how many of them
-- never reached a target: said, not guessed ("e.g. target never reached"
-- was said of a measure that was NaN: tryT T5). A measure recorded false
-- (epochs_to_target: the target never reached), one not finite (NaN or inf:
-- the record lists it in measures_missing; one in memory holds the NaN; a
-- series' last epoch is JSON null), or none recorded.
local function why_none(rs, metric)
  local raw = require("wb.runs_stats").raw
  local counts, order, n_never = {}, {}, 0
  for _, r in ipairs(rs) do
    if raw.finished(r) and not raw.usable(raw.value(r, metric)) then
      -- a record made by hand may hold the false among its metrics
      local m
      if type(r.measures) == "table" then m = r.measures[metric] end
      if m == nil and type(r.metrics) == "table" then m = rawget(r.metrics, metric) end
      local lost = false
      for _, k in ipairs(type(r.measures_missing) == "table" and r.measures_missing or {}) do
        lost = lost or k == metric
      end
      local why = "none recorded"
      if m == false then
        why = metric:find("_to_target") and "target never reached" or "recorded false"
        n_never = n_never + (metric:find("_to_target") and 1 or 0)
      elseif lost or type(m) == "number" or raw.series(r, metric) then
        why = "not finite (NaN or inf)"
      end
      if not counts[why] then counts[why] = 0; order[#order + 1] = why end
      counts[why] = counts[why] + 1
    end
  end
  for i, why in ipairs(order) do
    order[i] = #order > 1 and counts[why] .. " " .. why or why
  end
  return table.concat(order, ", "), n_never
end

-- wb.compare for a caller one frame up (wb.compare, wb.Task:compare): its
-- argument errors are raised at the line that called that caller (a
-- misspelt metric in task:compare was reported at a line of task.lua).
function M._compare(runs, metric, o)
  args.check("compare", 1, runs, "wb.Runs", 4)
  args.check("compare", 2, metric, "string", 4)
  args.opt("compare", 3, o, "table", 4)
  o = o or {}
  util.check_options(o, {"better"}, "wb.compare", 3)
  -- a misspelt metric is wb.compare's error at the caller's line (it was
  -- wb.Runs:values', raised at a line of this file)
  require("wb.runs_stats").raw.check_name(runs.records, metric, "values", "wb.compare",
    "metric", 3)
  if o.better ~= nil and o.better ~= "higher" and o.better ~= "lower" and o.better ~= "neither"
      then
    args.input_fail(string.format('wb.compare: option \'better\': "higher", "lower" or "neither" '
      .. 'expected, got %s',
      type(o.better) == "string" and string.format("%q", o.better) or type(o.better)), 3)
  end
  -- untold, only a direction the library knows (wb/runs_direction.lua):
  -- "lower is better" for any name but an accuracy's judged a user's own
  -- measure (w1_norm, a loss ratio) in a direction nobody chose (tryZ E3).
  -- "neither" (or none known): ranked from the lowest, without calling it
  -- better (tryJ: a weight norm's or the sharpness's "lower is better")
  local better = o.better or require("wb.runs_direction").of(metric)
  local neither = better == nil or better == "neither"
  local lower = better ~= "higher"
  local stats, missing, unfinished, nevers = {}, {}, {}, {}
  -- a run that left no record (a failed child) is a seed without a value
  local failed, only = require("wb.runs_stats").raw.failed_of(runs)
  for _, v in ipairs(only) do
    unfinished[#unfinished + 1] = string.format("%s (%d of %d seeds: %d failed, no record)",
      v, failed[v], failed[v], failed[v])
  end
  for _, v in ipairs(runs:variants()) do
    -- runs of a label that are not seeds of one configuration: wb.compare's
    -- error at the caller's line (it was wb.Runs:values', at a line of this file)
    local ok, xs = pcall(runs.values, runs, v, metric)
    if not ok then error("wb.compare: " .. tostring(xs):gsub("^wb%.Runs:values: ", ""), 3) end
    local m, s = runs:stat(v, metric)
    local all = #runs:of(v) + (failed[v] or 0)
    if m then stats[#stats + 1] = {v = v, m = m, s = s, n = #xs, xs = xs, all = all} end
    -- why each seed has no value: its run failed (no record), did not
    -- finish (diverged), or finished without one (a target never reached).
    -- Runs that failed were said to have never reached a target (audit X16j)
    local gone, kinds, n_ok = {}, {}, 0
    if (failed[v] or 0) > 0 then gone[1] = failed[v] .. " failed, no record" end
    for _, r in ipairs(runs:of(v)) do
      if r.status == nil or r.status == "ok" then n_ok = n_ok + 1
      else
        local k = tostring(r.status)
        if not kinds[k] then kinds[k] = 0; kinds[#kinds + 1] = k end
        kinds[k] = kinds[k] + 1
      end
    end
    for _, k in ipairs(kinds) do gone[#gone + 1] = kinds[k] .. " " .. k end
    if #gone > 0 then
      unfinished[#unfinished + 1] = string.format("%s (%d of %d seeds: %s)", v, all - n_ok, all,
        table.concat(gone, ", "))
    end
    if #xs < n_ok then
      local why, n_never = why_none(runs:of(v), metric)
      missing[#missing + 1] = string.format("%s (%d of %d seeds: %s)", v, n_ok - #xs, all, why)
      if n_never > 0 then nevers[#nevers + 1] = {v = v, k = n_never, all = all} end
    end
  end
  local note = (#unfinished > 0 and string.format(" Seeds that did not finish have no "
    .. "value: %s.", table.concat(unfinished, ", ")) or "")
    .. (#missing > 0 and string.format(" No value for %s.", table.concat(missing, ", ")) or "")
  if #stats < 2 then return note ~= "" and ("- " .. metric .. ":" .. note) or "" end
  table.sort(stats, function(a, b)
    if lower then return a.m < b.m end
    return a.m > b.m
  end)
  local best, second = stats[1], stats[2]
  local same = same_training(runs, best.v, second.v)
  local fmt = function(x) return runs_mod.fmt_mean_std(x.m, x.s, metric, x.n) end
  local verdict, _, clause = M.decide(best.xs, second.xs, metric, lower and "lower" or "higher")
  local said = verdict == "a is better" and (neither and "Lower beyond the seeds' uncertainty"
    or "Better beyond the seeds' uncertainty") or "Not decided by the seeds"
  -- The best's mean is over the seeds that have a value: its seeds without
  -- one (the target never reached, a diverged run) are likely its worst, so
  -- their absence may be what made it best. Then it is not called better.
  if verdict == "a is better" and best.n < best.all then
    said = string.format("Not decided: %d of %d seeds of %s have no value, and the mean of "
      .. "the others may flatter it", best.all - best.n, best.all, best.v)
  end
  -- seeds that trained the same to the bit are copies, no samples: no p or
  -- interval from them ("p = 0.0079, n = 5 and 5" of one training a side: tryX 2)
  local copied = require("wb.runs_copies").refusal(runs, best.v, second.v,
    signed(best.m - second.m, metric))
  local out = string.format("- %s (%s): **%s** %s; next %s %s. %s.", metric,
    better == nil and 'lowest first; no direction given: better = "higher"/"lower" to call '
    .. "one better" or neither and "lowest first; neither direction is better"
    or lower and "lower is better" or "higher is better", best.v, fmt(best), second.v,
    fmt(second), copied or (said .. ": " .. clause))
  -- configs that differ, trainings that did not: a key nothing applied (tryI 1)
  local ignored = not same and runs_mod.same_histories(runs, best.v, second.v)
  if same then
    out = string.format("- %s: %s %s and %s %s are not compared: their runs are the same "
      .. "trainings, seed for seed (an option such as --quick or --epochs replaced what "
      .. "tells the variants apart).", metric, best.v, fmt(best), second.v, fmt(second))
  elseif ignored then
    out = string.format("- %s: %s %s and %s %s are not compared: they trained the same, seed "
      .. "for seed (bit-identical losses), though their configs differ in %s, which changed "
      .. "nothing of the training.", metric, best.v, fmt(best), second.v, fmt(second),
      table.concat(ignored, ", "))
  end
  -- a *_to_target measure's never is slower than any number, as in the
  -- claims: a variant that never got there is the slowest, not the slowest
  -- of those that did (it named SGD+momentum 3 ± 0 beside SGD lr=0.01's
  -- 3 nevers of 3: tryT T5)
  local slow = {}
  if lower and metric:find("_to_target") then
    table.sort(nevers, function(x, y) return x.k / x.all > y.k / y.all end)
    for _, x in ipairs(nevers) do
      if x.v ~= best.v and x.v ~= second.v then
        slow[#slow + 1] = string.format("%s (target never reached in %d of %d seeds)", x.v,
          x.k, x.all)
      end
    end
  end
  -- the other end: "worst" only where a direction is better (tryO 5)
  local other = neither and "Highest" or "Worst"
  if #slow > 0 then
    out = out .. string.format(" %s: %s; a never counts as slower than any number.", other,
      table.concat(slow, ", "))
  elseif #stats > 2 then
    out = out .. string.format(" %s: %s %s.", other, stats[#stats].v, fmt(stats[#stats]))
  end
  return out .. note, best, stats
end

wb.compare = setmetatable(M, {__call = function(_, ...) return M.compare(...) end})
return M
