-- wb/plot/lines_band.lua: the bands of wb.plot.lines (wb/plot/lines.lua)
-- and the log tics that span them. A band edge at or below 0 on a log y
-- axis is drawn at the figure's smallest positive value; band_floor = b
-- draws no lower edge below b (a loss's CI, which cannot reach below 0:
-- tryZ E1's band to -2.2e8 flattened every other curve to a line at 0);
-- a series of one finite point has a band of no width, so its band is an
-- error bar (runs of one epoch: tryZ E4).
local _ENV = require "wb.std"
local U = require "wb.plot.util"
local A = require "wb.plot.axes"

local num = U.num
local M = {}

-- The smallest positive finite value a series or band edge reaches (nil
-- when none): where a log axis draws band edges at or below 0.
function M.positive_floor(series)
  local lo
  local function see(v)
    if U.is_finite(v) and v > 0 and (not lo or v < lo) then lo = v end
  end
  for _, s in ipairs(series) do
    for j = 1, #s.y do
      see(s.y[j])
      if s.err then see(s.y[j] - s.err[j]); see(s.y[j] + s.err[j]) end
      if s.lo then see(s.lo[j]); see(s.hi[j]) end
    end
  end
  return lo
end

-- A log axis over less than two decades gets tics gnuplot would not label
-- (axes.log_tics); x spans its data exactly (xfix), y its data and bands
-- widened to whole decades (gnuplot's autoscale).
function M.log_tics(d, L)
  if d.empty or not (d.logx or d.logy) then return end
  local xlo, xhi, ylo, yhi
  for _, s in ipairs(d.series) do
    for j = 1, #s.y do
      local v = s.x[j]
      if U.is_finite(v) and v > 0 then xlo, xhi = U.finite_range({v}, xlo, xhi) end
    end
  end
  ylo = M.positive_floor(d.series)
  for _, s in ipairs(d.series) do
    _, yhi = U.finite_range(s.hi or s.y, nil, yhi)
    if s.err then for j = 1, #s.y do _, yhi = U.finite_range({s.y[j] + s.err[j]}, nil, yhi) end end
  end
  if ylo and yhi and yhi > 0 then -- gnuplot extends an autoscaled log y to whole decades
    local l10 = function(v) return math.log(v, 10) end
    ylo, yhi = 10.0 ^ math.floor(l10(ylo) + 1e-9), 10.0 ^ math.ceil(l10(yhi) - 1e-9)
  end
  local tx = d.logx and not d.xrange and A.log_tics(xlo, xhi)
  local ty = d.logy and not d.yrange and A.log_tics(ylo, yhi)
  if tx then L[#L + 1] = "set xtics " .. tx end
  if ty then L[#L + 1] = "set ytics " .. ty end
end

-- Appends to plots the band of each series of d (ctx: the kind's context;
-- f: the CSV's "file skip k using " head): filled, or an error bar at a
-- series of one finite point.
function M.bands(d, ctx, f, plots)
  for k, s in ipairs(d.series) do
    if (s.ec or s.lc) and not ctx.dumb then
      local lo = s.ec and string.format("column(%d)-column(%d)", s.yc, s.ec)
        or string.format("column(%d)", s.lc)
      local hi = s.ec and string.format("column(%d)+column(%d)", s.yc, s.ec)
        or string.format("column(%d)", s.hc)
      if d.floor then
        -- (a NaN edge compares false and stays a gap); a band whose top is
        -- at or below 0 too has nothing on the axis: a gap (gnuplot fills
        -- from a NaN top down to the axis, a NaN bottom it skips), not a
        -- fill from the floor down (task 6's penalty of l2 = 0)
        lo = string.format("%s <= 0 ? NaN : (%s <= %s ? %s : %s)", hi, lo, num(d.floor),
          num(d.floor), lo)
      end
      if d.band_floor and not d.logy then -- (a NaN edge compares false: a gap)
        lo = string.format("(%s < %s ? %s : %s)", lo, num(d.band_floor), num(d.band_floor), lo)
      end
      if s.lone then
        plots[#plots + 1] = string.format("%s%d:%d:(%s):(%s) with yerrorbars lt %d notitle",
          f, s.xc, s.sc or s.yc, lo, hi, k)
      else
        plots[#plots + 1] = string.format("%s%d:(%s):(%s) with filledcurves lt %d fs "
          .. "transparent solid %s noborder notitle", f, s.xc, lo, hi, k,
          num(ctx.style.band_alpha))
      end
    end
  end
end

return M
