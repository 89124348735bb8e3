-- wb/plot/histogram.lua: the histogram kind of wb.plot (overlaid histograms
-- over common bins), in the kind interface of wb/plot/xy.lua.
--
-- Values are binned in Lua when the plot is made; the CSV holds the bins'
-- edges and counts (or densities), so gnuplot only draws.
local _ENV = require "wb.std"
local U = require "wb.plot.util"
local A = require "wb.plot.axes"

local q, num = U.q, U.num
local axes, finish, series_list = A.axes, A.finish, A.series_list
local place_key = A.key

---wb.plot.histogram{title, xlabel, ylabel, series, bins, range, density, logy} -> wb.Plot
---Overlaid, semi-transparent histograms over common bins: series =
---{{label, values}, ...}, values a table or a tensor of any shape; bins
---(default 50), range = {lo, hi} (default: all finite values), density
---(false: counts), logy. Non-finite values (and, with range, values outside
---it) are not counted; the legend says how many non-finite were skipped.
---@param opts table
---@return wb.Plot
---Example: wb.plot.histogram{series = {{label = "w1", values = m[1].weight}}}:show()

local K = {keys = {"xlabel", "ylabel", "series", "bins", "range",
                   "density", "logy"}}

function K.prepare(o)
  local bins = o.bins or 50
  if math.type(bins) ~= "integer" or bins < 1 or bins > 100000 then
    error("bins: expected an integer in 1..100000", 0)
  end
  local d = {xlabel = U.text(o.xlabel, "xlabel"), logy = o.logy and true,
             density = o.density and true, bins = bins, series = {}}
  d.ylabel = U.text(o.ylabel, "ylabel") or (d.density and "density" or "count")
  local lo, hi
  for i, s in ipairs(series_list(o.series, "series")) do
    local w = string.format("series[%d]", i)
    if type(s) ~= "table" then error(w .. ": expected a table", 0) end
    local ok, err = pcall(U.check_keys, s, {"label", "values"})
    if not ok then error(w .. ": " .. err, 0) end
    local v = U.vector(s.values, w .. ".values")
    d.series[i] = {label = U.text(s.label, w .. ".label"), values = v}
    lo, hi = U.finite_range(v, lo, hi)
  end
  local r = U.range(o.range, "range")
  if r then lo, hi = r[1] or lo, r[2] or hi end
  d.ranged = r ~= nil and lo ~= nil
  if not lo then lo, hi = 0, 1 end
  if lo >= hi then lo, hi = lo - 0.5, lo + 0.5 end
  d.lo, d.hi, d.width = lo, hi, (hi - lo) / bins
  for _, s in ipairs(d.series) do
    local counts, skipped, total = {}, 0, 0
    for b = 1, bins do counts[b] = 0 end
    for _, x in ipairs(s.values) do
      if not U.is_finite(x) then
        skipped = skipped + 1
      elseif x >= lo and x <= hi then
        local b = math.min(bins, math.floor((x - lo) / d.width) + 1)
        counts[b] = counts[b] + 1
        total = total + 1
      end
    end
    if d.density and total > 0 then
      for b = 1, bins do counts[b] = counts[b] / (total * d.width) end
    end
    s.counts, s.values = counts, nil
    if skipped > 0 and s.label then
      s.label = string.format("%s (%d non-finite skipped)", s.label, skipped)
    end
  end
  return d
end

function K.csv(d)
  local header = {"bin_lo", "bin_hi"}
  for i, s in ipairs(d.series) do header[i + 2] = s.label or ("series " .. i) end
  local rows = {}
  for b = 1, d.bins do
    local row = {d.lo + (b - 1) * d.width, b == d.bins and d.hi or d.lo + b * d.width}
    for i, s in ipairs(d.series) do row[i + 2] = s.counts[b] end
    rows[b] = row
  end
  return U.csv(header, rows)
end

function K.body(d, ctx)
  local L = {}
  axes(d, ctx, L)
  place_key(d, ctx, L)
  L[#L + 1] = "set xrange [" .. num(d.lo) .. ":" .. num(d.hi) .. "]"
  local any = false
  for _, s in ipairs(d.series) do
    for b = 1, d.bins do any = any or s.counts[b] > 0 end
  end
  if not any then
    -- nothing was counted (no finite value, or none in range): the axes,
    -- saying so (on a log axis gnuplot alone refuses to draw only zeros)
    L[#L + 1] = d.logy and "set yrange [0.1:10]" or "set yrange [0:1]"
    L[#L + 1] = "set label " .. q(d.ranged and "no values in range" or "no finite values")
      .. " at graph 0.5, graph 0.5 center"
  elseif not d.logy then
    L[#L + 1] = "set yrange [0:*]"
  else
    -- gnuplot's log axis starts at the decade of the least count, so a bin
    -- of 1 (the extreme weights, the outliers) sat on the axis with no
    -- height: the axis starts at the power of 10 strictly below the least
    local least
    for _, s in ipairs(d.series) do
      for b = 1, d.bins do
        local c = s.counts[b]
        if c > 0 and (not least or c < least) then least = c end
      end
    end
    L[#L + 1] = "set yrange [" .. num(10.0 ^ math.floor(math.log(least, 10) - 1e-9)) .. ":*]"
  end
  local f = q(ctx.csv) .. " skip " .. ctx.skip .. " using "
  local plots = {}
  for k in ipairs(d.series) do
    plots[#plots + 1] = string.format("%s(($1+$2)/2):%d:($2-$1) with boxes lt %d "
      .. "fs transparent solid %s noborder notitle", f, k + 2, k, num(ctx.style.hist_alpha))
  end
  for k, s in ipairs(d.series) do
    plots[#plots + 1] = string.format("%s(($1+$2)/2):%d with histeps lt %d lw 1.5 %s",
      f, k + 2, k, s.label and ("title " .. q(s.label)) or "notitle")
  end
  return finish(d, L, plots)
end

function K.size(_, style) return style.size end

return K
