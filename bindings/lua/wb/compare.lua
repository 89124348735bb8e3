-- wb/compare.lua: wb.compare, the one sentence that every finding of a
-- task's README uses to compare variants on a metric.
local wb = require "wb"
local runs_mod = require "wb.runs"

local M = {}

---wb.compare(runs, metric, opts) -> string, table, table
---A sentence comparing the variants of a run list on a metric, computed
---from the numbers: the best variant, the next, the difference and whether
---it is larger than the spread over seeds (the rule every finding uses);
---"" with fewer than two variants. opts.better = "lower" (default) or
---"higher". Also returns the best and all {v, m, s}, sorted.
---@param runs wb.Runs
---@param metric string
---@param opts? table
---@return string
---Example: print(wb.compare(runs, "test_accuracy", {better = "higher"}))
function M.compare(runs, metric, o)
  o = o or {}
  local lower = o.better ~= "higher"
  local stats, missing = {}, {}
  for _, v in ipairs(runs:variants()) do
    local m, s = runs:stat(v, metric)
    local n, all = #runs:values(v, metric), #runs:of(v)
    if m then stats[#stats + 1] = {v = v, m = m, s = s} end
    if n < all then
      missing[#missing + 1] = string.format("%s (%d of %d seeds)", v, all - n, all)
    end
  end
  local note = #missing > 0 and string.format(" No value (e.g. target never reached) for %s.",
    table.concat(missing, ", ")) or ""
  if #stats < 2 then return #missing > 0 and ("- " .. metric .. ":" .. note) or "" end
  table.sort(stats, function(a, b)
    if lower then return a.m < b.m end
    return a.m > b.m
  end)
  local best, second = stats[1], stats[2]
  local fmt = function(x) return runs_mod.fmt_mean_std(x.m, x.s, metric) end
  local margin = math.abs(best.m - second.m)
  local spread = math.max(best.s, second.s)
  local verdict = margin > spread and "larger than" or "within"
  local out = string.format("- Best %s (%s is better): **%s** with %s; next %s with %s. "
    .. "The difference (%.4g) is %s the spread over seeds (largest std %.4g).",
    metric, lower and "lower" or "higher", best.v, fmt(best), second.v, fmt(second),
    margin, verdict, spread)
  local worst = stats[#stats]
  if #stats > 2 then
    out = out .. string.format(" Worst: %s with %s.", worst.v, fmt(worst))
  end
  return out .. note, best, stats
end

wb.compare = M.compare
return M
