-- wb/runs_curve_note.lua: what the title of wb.Runs:plot_curves says about
-- the runs a figure draws (how many seeds, what the band is, the runs that
-- diverged or failed and are not drawn). Private to wb/runs.lua.
local _ENV = require "wb.std"

local M = {}

-- The note for run list rs drawn with plot_curves options o; raw: the
-- statistics' helpers (wb/runs_stats.lua M.raw).
function M.note(rs, o, raw)
  -- seeds counted as the curves take them: finished runs; the others said.
  -- Variants with fewer (a failed or diverged seed) are named by the range:
  -- "mean over 3 seeds" was the most of any variant, said of all.
  local n, lo_n, left, finished = 0, nil, 0, raw.finished
  local failed = raw.failed_of(rs)
  local n_failed = 0
  for _, k in pairs(failed) do n_failed = n_failed + k end
  for _, v in ipairs(rs:variants()) do
    local k = 0
    for _, r in ipairs(rs:of(v)) do if finished(r) then k = k + 1 else left = left + 1 end end
    n, lo_n = math.max(n, k), math.min(lo_n or k, k)
  end
  local seeds = (lo_n or n) < n and string.format("%d to %d seeds", lo_n, n)
    or string.format("%d seeds", n)
  local band = n > 1 and string.format("mean over %s, band: %s", seeds,
    o.x ~= "step" and "95 % CI of the mean" or o.logy and "min-max over seeds"
    or "sd over seeds") or n == 1 and "one seed" or "no finished run"
  if o.smooth then band = string.format("%s; bold: running %s of %s points", band,
    o.smooth_by == "median" and "median" or "mean", tostring(o.smooth)) end
  if left > 0 then
    band = band .. string.format("; %d run%s that diverged not shown", left, left == 1 and ""
      or "s")
  end
  if n_failed > 0 then
    band = band .. string.format("; %d run%s failed (no record)", n_failed, n_failed == 1
      and "" or "s")
  end
  return band
end

return M
