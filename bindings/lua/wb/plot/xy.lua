-- wb/plot/xy.lua: the x-y figure kinds of wb.plot: lines, bars, histogram.
--
-- Each kind is a table {keys, prepare, csv, body, size} used by wb/plot.lua:
--   prepare(opts) -> d   checks the kind's options (raising error(msg, 0))
--                        and returns the data it will draw;
--   csv(d)        -> the CSV text (header row first);
--   body(d, ctx)  -> gnuplot lines after the terminal and house preamble;
--                    ctx.csv is the CSV file name, ctx.width/height pixels;
--   size(d, style)-> default {width, height} in pixels.
-- Columns are referred to by number in the scripts, never by header name,
-- so any text can go in a header. Series k is drawn in linetype k (the
-- house colour k).
local U = require "wb.plot.util"

local q, num = U.q, U.num
local K = {}

-- Lines shared by every kind: title, axis labels, log axes and ranges.
local function axes(d, ctx, L)
  if d.title then L[#L + 1] = "set title " .. q(d.title) .. " font " .. q(ctx.style.title_font) end
  if d.xlabel then L[#L + 1] = "set xlabel " .. q(d.xlabel) end
  if d.ylabel then L[#L + 1] = "set ylabel " .. q(d.ylabel) end
  if d.logx then L[#L + 1] = "set logscale x" end
  if d.logy then L[#L + 1] = "set logscale y" end
  if d.xrange then L[#L + 1] = "set xrange " .. U.gprange(d.xrange) end
  if d.yrange then L[#L + 1] = "set yrange " .. U.gprange(d.yrange) end
end

local function finish(d, L, plots)
  for _, s in ipairs(d.extra) do L[#L + 1] = s end
  L[#L + 1] = "plot \\"
  for i, p in ipairs(plots) do
    L[#L + 1] = "  " .. p .. (i < #plots and ", \\" or "")
  end
  return L
end

local function series_list(v, what)
  if type(v) ~= "table" or #v == 0 then
    error(what .. ": expected a non-empty array of series tables", 0)
  end
  return v
end

local function no_key_if_unlabelled(series, L)
  for _, s in ipairs(series) do if s.label then return end end
  L[#L + 1] = "unset key"
  L[#L + 1] = "set rmargin 3"   -- gnuplot would keep room for rotated tic text
end

-- ---------------------------------------------------------------- lines

-- A tic step for x values that are all integers (1, 2, 5, 10, 20, ...
-- giving at most about 10 tics), or nil when some x is not an integer.
local function integer_step(series)
  local lo, hi
  for _, s in ipairs(series) do
    for _, x in ipairs(s.x) do
      if math.type(x) ~= "integer" and (not U.is_finite(x) or x ~= math.floor(x)) then
        return nil
      end
    end
    lo, hi = U.finite_range(s.x, lo, hi)
  end
  local span = (hi or 1) - (lo or 0)
  local step, mult = 1, {2, 2.5, 2}
  local i = 0
  while span / step > 10 do
    i = i % 3 + 1
    step = step * mult[i]
  end
  return math.tointeger(step) or nil
end
---wb.plot.lines{title, xlabel, ylabel, series, logx, logy, xrange, yrange, points} -> wb.Plot
---Line plot: series = {{label =, x =, y =, err =}, ...} (tables or
---tensors); x defaults to 1..n; err draws a shaded y +- err band; points
---(default: when every series has at most 30 points) adds markers. logx,
---logy: log axes; xrange, yrange = {lo, hi}. Also title, size = {w, h}
---pixels, extra = raw gnuplot commands. Nothing is drawn until :save/:show.
---@param opts table
---@return wb.Plot
---Example: wb.plot.lines{title = "loss", xlabel = "epoch",
---  series = {{label = "train", y = h.loss}, {label = "val", y = h.val_loss}}}:show()

K.lines = {keys = {"xlabel", "ylabel", "series", "logx", "logy", "xrange",
                   "yrange", "points"}}

function K.lines.prepare(o)
  local d = {xlabel = U.text(o.xlabel, "xlabel"), ylabel = U.text(o.ylabel, "ylabel"),
             logx = o.logx and true, logy = o.logy and true,
             xrange = U.range(o.xrange, "xrange"), yrange = U.range(o.yrange, "yrange"),
             series = {}}
  local max_n = 0
  for i, s in ipairs(series_list(o.series, "series")) do
    local w = string.format("series[%d]", i)
    if type(s) ~= "table" then error(w .. ": expected a table", 0) end
    local ok, err = pcall(U.check_keys, s, {"label", "x", "y", "err"})
    if not ok then error(w .. ": " .. err, 0) end
    local y = U.vector(s.y, w .. ".y")
    if #y == 0 then error(w .. ".y: expected at least one value", 0) end
    local x
    if s.x ~= nil then
      x = U.vector(s.x, w .. ".x")
      if #x ~= #y then
        error(string.format("%s.x: expected %d values (as y), got %d", w, #y, #x), 0)
      end
    else
      x = {}
      for j = 1, #y do x[j] = j end
    end
    local e
    if s.err ~= nil then
      e = U.vector(s.err, w .. ".err")
      if #e ~= #y then
        error(string.format("%s.err: expected %d values (as y), got %d", w, #y, #e), 0)
      end
    end
    d.series[i] = {label = U.text(s.label, w .. ".label"), x = x, y = y, err = e}
    max_n = math.max(max_n, #y)
  end
  if o.points == nil then d.points = max_n <= 30 else d.points = o.points and true end
  d.x_step = integer_step(d.series)
  -- A run that diverged at once has no finite point: still draw the axes.
  d.empty = true
  for _, s in ipairs(d.series) do
    for j = 1, #s.y do
      if U.is_finite(s.x[j]) and U.is_finite(s.y[j]) then d.empty = false break end
    end
  end
  -- One shared x column when every series has the same x values.
  local x1 = d.series[1].x
  d.shared_x = true
  for _, s in ipairs(d.series) do
    if #s.x ~= #x1 then d.shared_x = false break end
    for j = 1, #x1 do
      if s.x[j] ~= x1[j] then d.shared_x = false break end
    end
  end
  -- Column numbers of each series in the CSV.
  local col = d.shared_x and 1 or 0
  d.header = d.shared_x and {d.xlabel or "x"} or {}
  d.max_n = max_n
  for i, s in ipairs(d.series) do
    local name = s.label or ("series " .. i)
    if d.shared_x then s.xc = 1
    else col = col + 1; s.xc = col; d.header[col] = name .. " x" end
    col = col + 1; s.yc = col; d.header[col] = name
    if s.err then col = col + 1; s.ec = col; d.header[col] = name .. " err" end
  end
  return d
end

function K.lines.csv(d)
  local rows = {}
  for j = 1, d.max_n do
    local row = {}
    for _, s in ipairs(d.series) do
      local nan = 0 / 0
      row[s.xc] = s.x[j] or nan
      row[s.yc] = s.y[j] or nan
      if s.ec then row[s.ec] = s.err[j] or nan end
    end
    rows[j] = row
  end
  return U.csv(d.header, rows)
end

function K.lines.body(d, ctx)
  local L = {}
  axes(d, ctx, L)
  no_key_if_unlabelled(d.series, L)
  -- x spans the data exactly (plus a small margin); integer x (epochs) gets
  -- integer tics.
  L[#L + 1] = "set autoscale xfix"
  L[#L + 1] = "set offsets graph 0.02, graph 0.02, graph 0.03, graph 0.03"
  if d.x_step and not d.logx and not d.xrange then
    L[#L + 1] = "set xtics " .. d.x_step
  end
  if d.empty then
    local xlo, xhi = nil, nil
    for _, s in ipairs(d.series) do xlo, xhi = U.finite_range(s.x, xlo, xhi) end
    if not xlo or xlo >= xhi then xlo, xhi = (xlo or 1) - 1, (xlo or 1) + 1 end
    if not d.xrange then L[#L + 1] = "set xrange [" .. num(xlo) .. ":" .. num(xhi) .. "]" end
    if not d.yrange then L[#L + 1] = d.logy and "set yrange [0.1:10]" or "set yrange [0:1]" end
    L[#L + 1] = "set label 1 'no finite values' at graph 0.5, graph 0.5 center"
  end
  local f = q(ctx.csv) .. " skip 1 using "
  local plots = {}
  for k, s in ipairs(d.series) do
    if s.ec and not ctx.dumb then
      plots[#plots + 1] = string.format("%s%d:(column(%d)-column(%d)):(column(%d)+column(%d))"
        .. " with filledcurves lt %d fs transparent solid %s noborder notitle",
        f, s.xc, s.yc, s.ec, s.yc, s.ec, k, num(ctx.style.band_alpha))
    end
  end
  for k, s in ipairs(d.series) do
    local with = (d.points and not ctx.dumb) and "linespoints" or "lines"
    plots[#plots + 1] = string.format("%s%d:%d with %s lt %d %s", f, s.xc, s.yc, with, k,
      s.label and ("title " .. q(s.label)) or "notitle")
  end
  return finish(d, L, plots)
end

function K.lines.size(_, style) return style.size end

-- ---------------------------------------------------------------- bars
---wb.plot.bars{title, xlabel, ylabel, labels, values, err, series, yrange, logy} -> wb.Plot
---Bar chart: labels = {...} with values = {...} and optional err = {...}
---(error bars), or series = {{label, values, err}, ...} for grouped bars
---(one group per label). yrange = {lo, hi}, logy. Signed values get a
---zero axis.
---@param opts table
---@return wb.Plot
---Example: wb.plot.bars{labels = {"a", "b"}, values = {1, 2}, err = {0.1, 0.2}}:show()

K.bars = {keys = {"xlabel", "ylabel", "labels", "values", "err", "series",
                  "yrange", "logy"}}

function K.bars.prepare(o)
  local d = {xlabel = U.text(o.xlabel, "xlabel"), ylabel = U.text(o.ylabel, "ylabel"),
             logy = o.logy and true, yrange = U.range(o.yrange, "yrange"), series = {}}
  local raw
  if o.series ~= nil then
    if o.values ~= nil or o.err ~= nil then
      error("give either values/err or series, not both", 0)
    end
    raw = series_list(o.series, "series")
  else
    if o.values == nil then error("values: expected a table or tensor (or series)", 0) end
    raw = {{values = o.values, err = o.err}}
  end
  local n
  for i, s in ipairs(raw) do
    local w = o.series and string.format("series[%d]", i) or ""
    local p = w == "" and "" or w .. "."
    if type(s) ~= "table" then error(w .. ": expected a table", 0) end
    local ok, err = pcall(U.check_keys, s, {"label", "values", "err"})
    if not ok then error(w .. ": " .. err, 0) end
    local v = U.vector(s.values, p .. "values")
    n = n or #v
    if #v ~= n or n == 0 then
      error(string.format("%svalues: expected %d values, got %d", p, n, #v), 0)
    end
    local e = s.err ~= nil and U.vector(s.err, p .. "err") or nil
    if e and #e ~= n then
      error(string.format("%serr: expected %d values, got %d", p, n, #e), 0)
    end
    d.series[i] = {label = U.text(s.label, p .. "label"), values = v, err = e}
  end
  d.n = n
  d.labels = U.labels(o.labels, n, "labels")
  if not d.labels then
    d.labels = {}
    for j = 1, n do d.labels[j] = tostring(j) end
  end
  d.header = {"label"}
  for i, s in ipairs(d.series) do
    local name = s.label or (#d.series == 1 and "value" or ("series " .. i))
    d.header[#d.header + 1] = name; s.vc = #d.header
    if s.err then d.header[#d.header + 1] = name .. " err"; s.ec = #d.header end
  end
  return d
end

function K.bars.csv(d)
  local rows = {}
  for j = 1, d.n do
    local row = {d.labels[j]}
    for _, s in ipairs(d.series) do
      row[s.vc] = s.values[j]
      if s.ec then row[s.ec] = s.err[j] end
    end
    rows[j] = row
  end
  return U.csv(d.header, rows)
end

-- xtics for category labels at 0..n-1, rotated when they would collide.
local function category_tics(labels, width, L)
  local tics, longest = {}, 0
  for j, l in ipairs(labels) do
    tics[j] = q(l) .. " " .. (j - 1)
    longest = math.max(longest, utf8.len(l) or #l)
  end
  local per = (width - 160) / #labels   -- pixels per category
  local rot = ""
  if longest * 8 > per then
    rot = (longest * 8 * 0.5 > per or #labels > 30) and " rotate by 90 right"
      or " rotate by 30 right"
  end
  L[#L + 1] = "set xtics (" .. table.concat(tics, ", ") .. ") scale 0" .. rot
end

function K.bars.body(d, ctx)
  local L = {}
  axes(d, ctx, L)
  no_key_if_unlabelled(d.series, L)
  local S = #d.series
  local w = 0.8 / S
  L[#L + 1] = "set boxwidth " .. num(w * 0.92) .. " absolute"
  L[#L + 1] = "set xrange [-0.6:" .. num(d.n - 0.4) .. "]"
  if not ctx.dumb then L[#L + 1] = "set grid noxtics ytics" end
  category_tics(d.labels, ctx.width, L)
  local lowest = math.huge
  for _, s in ipairs(d.series) do
    for j = 1, d.n do
      lowest = math.min(lowest, s.values[j] - (s.err and math.abs(s.err[j]) or 0))
    end
  end
  if not d.yrange and not d.logy and lowest >= 0 then L[#L + 1] = "set yrange [0:*]" end
  if lowest < 0 and not d.logy then
    L[#L + 1] = "set xzeroaxis lt 1 lc rgb " .. q(ctx.style.border) .. " lw 1"
  end
  local f = q(ctx.csv) .. " skip 1 using "
  local plots, errs = {}, {}
  for k, s in ipairs(d.series) do
    local x = string.format("($0%+.6f)", (k - (S + 1) / 2) * w)
    plots[#plots + 1] = string.format("%s%s:%d with boxes lt %d fs solid 0.85 noborder %s",
      f, x, s.vc, k, s.label and ("title " .. q(s.label)) or "notitle")
    if s.ec then
      errs[#errs + 1] = string.format("%s%s:%d:%d with yerrorbars lc rgb '#222222' lw 1.5 "
        .. "pt 7 ps 0.4 notitle", f, x, s.vc, s.ec)
    end
  end
  for _, e in ipairs(errs) do plots[#plots + 1] = e end
  return finish(d, L, plots)
end

function K.bars.size(_, style) return style.size end

-- ---------------------------------------------------------------- histogram
---wb.plot.histogram{title, xlabel, ylabel, series, bins, range, density, logy} -> wb.Plot
---Overlaid, semi-transparent histograms over common bins: series =
---{{label, values}, ...}, values a table or a tensor of any shape; bins
---(default 50), range = {lo, hi} (default: all finite values), density
---(false: counts), logy. Non-finite values (and, with range, values outside
---it) are not counted; the legend says how many non-finite were skipped.
---@param opts table
---@return wb.Plot
---Example: wb.plot.histogram{series = {{label = "w1", values = m[1].weight}}}:show()

K.histogram = {keys = {"xlabel", "ylabel", "series", "bins", "range",
                       "density", "logy"}}

function K.histogram.prepare(o)
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

function K.histogram.csv(d)
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

function K.histogram.body(d, ctx)
  local L = {}
  axes(d, ctx, L)
  no_key_if_unlabelled(d.series, L)
  L[#L + 1] = "set xrange [" .. num(d.lo) .. ":" .. num(d.hi) .. "]"
  if not d.logy then L[#L + 1] = "set yrange [0:*]" end
  local f = q(ctx.csv) .. " skip 1 using "
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

function K.histogram.size(_, style) return style.size end

return K
