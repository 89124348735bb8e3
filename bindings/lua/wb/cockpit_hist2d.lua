-- wb/cockpit_hist2d.lua: the cockpit figure's panel of grad_hist_2d (as
-- Cockpit's dashboard has its GradHist2d panel): the last measured step's
-- per-sample gradient entries against their weights, as a heatmap of
-- log10(1 + count). Private to wb/cockpit.lua.
local _ENV = require "wb.std"

-- Labels for n bins over [lo, hi): the bins whose left edge is a multiple
-- of `at` get it as their label, the others none (the heatmap's axes count
-- cells, not values; the axis label says the labels are left edges).
local function edges(n, lo, hi, at)
  local labels, w = {}, (hi - lo) / n
  for i = 1, n do
    local e = lo + (i - 1) * w
    local k = e / at
    labels[i] = math.abs(k - math.floor(k + 0.5)) < 1e-9 and string.format("%g", e) or ""
  end
  return labels
end

-- The panel of history h's grad_hist_2d (history.instruments.grad_hist_2d:
-- counts of step s[i] at (x - 1) * y_bins + y), or nil when it has none.
return function(h)
  local g = h and h.instruments and h.instruments.grad_hist_2d
  -- the last one of a step the history's series have: a Ctrl-C between the
  -- instruments' hook and the step's row left one of a step no panel shows
  local st = h and h.steps and h.steps.step
  local last, i = st and st[#st], g and g.counts and #g.counts or 0
  while i > 0 and last and g.step[i] and g.step[i] > last do i = i - 1 end
  local c = i > 0 and g.counts[i] or nil
  if type(c) ~= "table" or #c ~= g.x_bins * g.y_bins or #c == 0 then return nil end
  local z, total = {}, 0
  for r = 1, g.y_bins do -- the largest weights on top
    local y = g.y_bins - r + 1
    z[r] = {}
    for x = 1, g.x_bins do
      local n = c[(x - 1) * g.y_bins + y]
      z[r][x], total = math.log(1 + n, 10), total + n
    end
  end
  local yl = edges(g.y_bins, g.y_lo, g.y_hi, 0.4)
  local rows = {}
  for r = 1, g.y_bins do rows[r] = yl[g.y_bins - r + 1] end
  return wb.plot.heatmap{z = z, palette = "sequential",
    title = string.format("grad_hist_2d, step %s: log10(1 + count) of %.0f entries",
      tostring(math.tointeger(g.step[i]) or g.step[i]), total),
    xlabel = "per-sample gradient entry (bins' left edges)", ylabel = "weight at theta_t",
    xlabels = edges(g.x_bins, g.x_lo, g.x_hi, 0.5), ylabels = rows}
end
