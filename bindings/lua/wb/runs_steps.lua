-- wb/runs_steps.lua: the step series of run records (history.steps, kept
-- when the config sets log_every) averaged over seeds, for
-- wb.Runs:plot_curves(name, {x = "step"}).
local _ENV = require "wb.std"
local stats = require "wb.runs_stats"
local M = {}

-- x (the logged step numbers, sorted), mean, std, min and max over the
-- finished runs that logged `name` at each of them (a diverged run is in no
-- mean, as in a table: its variant has no line when none finished); raises
-- (at the caller of plot_curves) when no run has that step series.
function M.curve(rs, name, variant)
  local at, xs, unfinished = {}, {}, false
  for _, r in ipairs(rs) do
    local st = type(r.history) == "table" and r.history.steps
    if not stats.raw.finished(r) then
      unfinished = unfinished or type(st) == "table" and type(st[name]) == "table"
      st = nil
    end
    local s, x = type(st) == "table" and st[name], type(st) == "table" and st.step
    if type(s) == "table" and type(x) == "table" then
      for i = 1, #x do
        local v, step = s[i], x[i]
        if stats.raw.usable(v) and type(step) == "number" then
          if not at[step] then at[step] = {}; xs[#xs + 1] = step end
          local l = at[step]
          l[#l + 1] = v
        end
      end
    end
  end
  if #xs == 0 and unfinished then return {}, {}, {}, {}, {} end
  if #xs == 0 then
    error(string.format("wb.Runs:plot_curves: variant '%s' has no step series '%s' "
      .. "(history.steps: set log_every, or instruments measuring it, in the config)",
      tostring(variant), name), 3)
  end
  table.sort(xs)
  local mean, std, lo, hi = {}, {}, {}, {}
  for i, step in ipairs(xs) do
    mean[i], std[i] = stats.mean_std(at[step])
    lo[i], hi[i] = math.min(table.unpack(at[step])), math.max(table.unpack(at[step]))
    -- one seed left (the others stopped early): no band, as on the epoch
    -- curves (NaN in the CSV), not an sd or a range of width 0
    if #at[step] < 2 then std[i], lo[i], hi[i] = 0 / 0, 0 / 0, 0 / 0 end
  end
  return xs, mean, std, lo, hi
end

return M
