-- wb/plot/lines.lua: the lines kind of wb.plot (line plots of series, with
-- an optional error band), in the kind interface of wb/plot/xy.lua.
--
-- Integer x values (epochs) get integer tics; series sharing their x values
-- share one CSV column; a figure with no finite point still draws its axes.
-- A log y axis spans the data's decades: no y margin (gnuplot widens a log
-- axis to whole decades, and a margin past a decade costs a decade more), and
-- a band edge at or below 0, which a log axis cannot show, is drawn at the
-- smallest positive value of the figure instead of stretching the axis.
local _ENV = require "wb.std"
local U = require "wb.plot.util"
local A = require "wb.plot.axes"
local B = require "wb.plot.lines_band"

local q, num = U.q, U.num
local axes, finish, series_list = A.axes, A.finish, A.series_list
local place_key = A.key

-- The x range {lo, hi} when every x is an integer (epochs, steps), else nil.
local function integer_range(series)
  local lo, hi
  for _, s in ipairs(series) do
    for _, x in ipairs(s.x) do
      if math.type(x) ~= "integer" and (not U.is_finite(x) or x ~= math.floor(x)) then
        return nil
      end
    end
    lo, hi = U.finite_range(s.x, lo, hi)
  end
  return {lo, hi}
end

-- A tic step over integer range r (1, 2, 5, 10, 20, ...) giving at most
-- about `most` tics; nil when it is not an integer.
local function integer_step(r, most)
  local span = (r[2] or 1) - (r[1] or 0)
  local step, mult = 1, {2, 2.5, 2}
  local i = 0
  while span / step > most do
    i = i % 3 + 1
    step = step * mult[i]
  end
  return math.tointeger(step)
end

-- How many x tic labels fit side by side in the graph of a cell ctx.width
-- wide, after the y axis's labels on its left and the key outside on its
-- right (style.key), in characters of the tic font (1 on the dumb
-- terminal, about 8 pixels at 11 points): ten in a wide figure, fewer in a
-- panel beside a long key (task 12's 0 to 200 every 20 ran into one
-- another, "80100120140").
local function tics_that_fit(d, ctx, r)
  local cw = ctx.dumb and 1 or 8
  local key = 0
  if (ctx.style.key or ""):find("outside") and not A.key_below(d, ctx) then
    for _, s in ipairs(d.series) do
      if s.label then key = math.max(key, (utf8.len(s.label) or #s.label) + 7) end
    end
  end
  local chars = math.max(#string.format("%d", r[1] or 0), #string.format("%d", r[2] or 0)) + 2
  local room = ctx.width / cw - 12 - key -- 12: the y label and its tic labels
  return math.max(2, math.min(10, math.floor(room / chars)))
end
---wb.plot.lines{title, xlabel, ylabel, series, logx, logy, xrange, yrange, points, err_is, smooth, smooth_by, steps, band_floor} -> wb.Plot
---Line plot: series = {{label =, x =, y =, err =}, ...} (tables or
---tensors); x defaults to 1..n; err draws a shaded y +- err band, or lo
---and hi (together, instead of err) a band from lo to hi; on a log y axis a
---band edge at or below 0 is drawn at the figure's smallest positive value;
---band_floor = b (a number) draws no band edge below b (a quantity that
---cannot be negative: 0; the CSV keeps the err given); a series of one
---finite point draws its band as an error bar (a band there has no width);
---err_is names what err is ("sd", "sem", "ci95": a short name), and the
---CSV's error columns by it ("val sd" rather than "val err"); points
---(default: when every series has at most 30 points) adds markers. logx,
---logy: log axes; xrange, yrange = {lo, hi}. A series with like = j (the
---index of another series) is drawn dashed in series j's colour, without
---markers: a threshold or a fit that belongs to j. smooth = k (an integer
--->= 2): each series (but like ones) is drawn faint as given and bold as its
---running mean over k consecutive points (centred, the window shrinking to
---stay centred near the ends; NaN-aware: the mean of the window's finite
---values; a point that is not finite stays a gap), its band the running
---mean of its edges; the CSV has both (column "label mean k").
---smooth_by = "median" (with smooth) draws the running median instead (of
---the window's finite values): a few huge values do not pull it. steps =
---true draws each line as a staircase (gnuplot "with steps"): a value holds
---until the next point's x, so a piecewise-constant series (an lr logged
---every k steps) drops at the logged point after its change, not in a ramp
---between the two (its band, if any, stays straight). Also title,
---size = {w, h} pixels, extra = raw gnuplot commands, comment = text heading
---the CSV and the script as "# " lines (pandas: read_csv(path,
---comment="#")). A series' n (optional, one number per point: how many
---values each point is of) is a CSV column "label n", not drawn. Nothing
---is drawn until :save/:show.
---@param opts table
---@return wb.Plot
---Example: wb.plot.lines{title = "loss", xlabel = "epoch",
---  series = {{label = "train", y = h.loss}, {label = "val", y = h.val_loss}}}:show()

local K = {keys = {"xlabel", "ylabel", "series", "logx", "logy", "xrange",
                   "yrange", "points", "err_is", "smooth", "smooth_by", "steps", "band_floor"}}

-- smooth = k: each series' running mean or median (s.sy) and its band's
-- (lo and hi edges replace err, which the band of the mean would not be).
local function smooth_series(d)
  local running = require("wb.plot.smooth")[d.smooth_by]
  for _, s in ipairs(d.series) do
    if not s.like then
      s.sy = running(s.y, d.smooth)
      if s.err then
        local lo, hi = {}, {}
        for j = 1, #s.y do lo[j], hi[j] = s.y[j] - s.err[j], s.y[j] + s.err[j] end
        s.lo, s.hi, s.err = lo, hi, nil
      end
      if s.lo then
        local lo, hi = running(s.lo, d.smooth), running(s.hi, d.smooth)
        for j = 1, #lo do -- both edges or neither: gnuplot fills a NaN top to the axis
          if not (U.is_finite(lo[j]) and U.is_finite(hi[j])) then lo[j], hi[j] = 0 / 0, 0 / 0 end
        end
        s.lo, s.hi = lo, hi
      end
    end
  end
end

function K.prepare(o)
  local d = {xlabel = U.text(o.xlabel, "xlabel"), ylabel = U.text(o.ylabel, "ylabel"),
             logx = o.logx and true, logy = o.logy and true,
             xrange = U.range(o.xrange, "xrange"), yrange = U.range(o.yrange, "yrange"),
             err_is = U.text(o.err_is, "err_is") or "err", series = {}}
  if o.smooth ~= nil then
    d.smooth = type(o.smooth) == "number" and math.tointeger(o.smooth)
    if not d.smooth or d.smooth < 2 then
      error("smooth: expected a window of at least 2 points (an integer), got "
        .. tostring(o.smooth), 0)
    end
  end
  if o.band_floor ~= nil and not U.is_finite(o.band_floor) then
    error("band_floor: expected a finite number, got " .. tostring(o.band_floor), 0)
  end
  d.band_floor = o.band_floor
  d.smooth_by = o.smooth_by == nil and "mean" or o.smooth_by
  if d.smooth_by ~= "mean" and d.smooth_by ~= "median" then
    error('smooth_by: expected "mean" or "median", got ' .. tostring(o.smooth_by), 0)
  elseif o.smooth_by ~= nil and not d.smooth then
    error("smooth_by: given without smooth = k, the window it would apply to", 0)
  end
  local max_n = 0
  local list = series_list(o.series, "series")
  for i, s in ipairs(list) do
    local w = string.format("series[%d]", i)
    if type(s) ~= "table" then error(w .. ": expected a table", 0) end
    local ok, err = pcall(U.check_keys, s, {"label", "x", "y", "err", "lo", "hi", "like", "n"})
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
    local function band(key)
      if s[key] == nil then return nil end
      local v = U.vector(s[key], w .. "." .. key)
      if #v ~= #y then
        error(string.format("%s.%s: expected %d values (as y), got %d", w, key, #y, #v), 0)
      end
      return v
    end
    if (s.lo == nil) ~= (s.hi == nil) then error(w .. ": lo and hi go together", 0) end
    if s.err ~= nil and s.lo ~= nil then error(w .. ": err or lo and hi, not both", 0) end
    if s.like ~= nil and (math.type(s.like) ~= "integer" or s.like < 1 or s.like > #list
        or s.like == i) then
      error(string.format("%s.like: expected the index of another series (1..%d), got %s",
        w, #list, tostring(s.like)), 0)
    end
    -- a series of one finite point has no line to draw: it gets its marker
    -- even with points = false (task 12's lambda_max of a 2-step quick run)
    local finite = 0
    for j = 1, #y do if y[j] == y[j] and x[j] == x[j] then finite = finite + 1 end end
    d.series[i] = {label = U.text(s.label, w .. ".label"), x = x, y = y, err = band("err"),
                   lo = band("lo"), hi = band("hi"), like = s.like, lone = finite == 1,
                   n = band("n")}
    max_n = math.max(max_n, #y)
  end
  if o.points == nil then d.points = max_n <= 30 else d.points = o.points and true end
  if o.steps ~= nil and type(o.steps) ~= "boolean" then
    error("steps: expected true or false, got " .. tostring(o.steps), 0)
  end
  d.steps = o.steps
  d.x_int = integer_range(d.series) -- integer x (epochs) gets integer tics
  if d.smooth then smooth_series(d) end
  A.check_log_range(d.logx, d.xrange, "xrange")
  A.check_log_range(d.logy, d.yrange, "yrange")
  -- A run that diverged at once has no finite point: still draw the axes.
  -- A finite point a log axis cannot show (x or y <= 0) is counted, and
  -- the x label says how many are missing rather than hiding them.
  d.empty, d.hidden = true, 0
  for _, s in ipairs(d.series) do
    for j = 1, #s.y do
      local x, y = s.x[j], s.y[j]
      if U.is_finite(x) and U.is_finite(y) then
        if (d.logx and x <= 0) or (d.logy and y <= 0) then d.hidden = d.hidden + 1
        elseif A.inside(x, d.xrange) then d.empty = false end
      end
    end
  end
  d.xlabel = A.hidden_note(d.xlabel, d.hidden, d.logx, d.logy)
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
    local sm = s.sy and (" " .. d.smooth_by .. " " .. d.smooth) or ""
    if s.sy then col = col + 1; s.sc = col; d.header[col] = name .. sm end
    if s.err then col = col + 1; s.ec = col; d.header[col] = name .. " " .. d.err_is end
    if s.lo then
      s.lc, s.hc = col + 1, col + 2
      d.header[s.lc], d.header[s.hc] = name .. sm .. " lo", name .. sm .. " hi"
      col = col + 2
    end
    if s.n then col = col + 1; s.nc = col; d.header[col] = name .. " n" end
  end
  if d.logy then d.floor = B.positive_floor(d.series) end
  return d
end

function K.csv(d)
  local rows = {}
  for j = 1, d.max_n do
    local row = {}
    for _, s in ipairs(d.series) do
      local nan = 0 / 0
      row[s.xc] = s.x[j] or nan
      row[s.yc] = s.y[j] or nan
      if s.sc then row[s.sc] = s.sy[j] or nan end
      if s.ec then row[s.ec] = s.err[j] or nan end
      if s.lc then row[s.lc], row[s.hc] = s.lo[j] or nan, s.hi[j] or nan end
      if s.nc then row[s.nc] = s.n[j] or nan end
    end
    rows[j] = row
  end
  return U.csv(d.header, rows)
end

-- Whether every y (with its band, none drawn below floor) is >= 0 and the
-- least of them within a quarter of the span from 0.
local function from_zero(series, floor)
  local lo, hi = nil, nil
  local function least(v) return floor and math.max(v, floor) or v end
  for _, s in ipairs(series) do
    lo, hi = U.finite_range(s.y, lo, hi)
    if s.lo then
      for j = 1, #s.lo do lo, hi = U.finite_range({least(s.lo[j]), s.hi[j]}, lo, hi) end
    end
    if s.err then
      for j = 1, #s.y do
        local e = s.err[j]
        if U.is_finite(s.y[j]) and U.is_finite(e) then
          lo, hi = math.min(lo, least(s.y[j] - e)), math.max(hi, s.y[j] + e)
        end
      end
    end
  end
  return lo ~= nil and lo >= 0 and hi > 0 and lo <= 0.25 * hi
end

function K.body(d, ctx)
  local L = {}
  axes(d, ctx, L)
  place_key(d, ctx, L)
  -- x spans the data exactly (plus a small margin); integer x (epochs) gets
  -- integer tics.
  L[#L + 1] = "set autoscale xfix"
  L[#L + 1] = d.logy and "set offsets graph 0.02, graph 0.02, 0, 0"
    or "set offsets graph 0.02, graph 0.02, graph 0.03, graph 0.03"
  local step = d.x_int and integer_step(d.x_int, tics_that_fit(d, ctx, d.x_int))
  if step and not d.logx and not d.xrange then L[#L + 1] = "set xtics " .. step end
  B.log_tics(d, L)
  if not (d.logy or d.yrange or d.empty or ctx.dumb) and from_zero(d.series, d.band_floor) then
    -- a non-negative quantity (loss, distance) near 0: the axis starts at
    -- 0, not at the tic below the margin (-1, -5), as if it could be less
    -- (not in a terminal panel of a few rows: there the data's range only)
    L[#L + 1] = "set yrange [0:*]"
  end
  if d.empty then
    local xlo, xhi = nil, nil
    for _, s in ipairs(d.series) do xlo, xhi = U.finite_range(s.x, xlo, xhi) end
    if d.logx and xlo and xlo <= 0 then xlo, xhi = nil, nil end   -- none a log axis shows
    if not xlo or xlo >= xhi then
      if d.logx then xlo, xhi = (xlo or 1) / 10, (xlo or 1) * 10
      else xlo, xhi = (xlo or 1) - 1, (xlo or 1) + 1 end
    end
    if not d.xrange then L[#L + 1] = "set xrange [" .. num(xlo) .. ":" .. num(xhi) .. "]" end
    if not d.yrange then L[#L + 1] = d.logy and "set yrange [0.1:10]" or "set yrange [0:1]" end
    L[#L + 1] = "set label 1 " .. q(d.hidden > 0 and "no positive values for the log axis"
      or d.xrange and "no finite values in xrange" or "no finite values")
      .. " at graph 0.5, graph 0.5 center"
  end
  local f = q(ctx.csv) .. " skip " .. ctx.skip .. " using "
  local plots = {}
  B.bands(d, ctx, f, plots)
  for k, s in ipairs(d.series) do -- smooth: each series as given, faint, thin
    if s.sc and not ctx.dumb then
      local c = ctx.style.colors[(k - 1) % #ctx.style.colors + 1]
      plots[#plots + 1] = string.format("%s%d:%d with lines lc rgb '#%02X%s' lw 1 notitle",
        f, s.xc, s.yc, math.floor((1 - ctx.style.smooth_raw_alpha) * 255 + 0.5), c:sub(2))
    end
  end
  for k, s in ipairs(d.series) do
    local marks = (d.points or s.lone) and not ctx.dumb
    local with = d.steps and "steps" or marks and "linespoints" or "lines"
    -- like = j: a line belonging to series j (its threshold, its fit) in
    -- j's colour, dashed and without markers, where its own colour in the
    -- cycle had matched another series' (task 11's 2/lr lines)
    local lt = s.like and string.format("lines lt %d dt 2", s.like)
      or string.format("%s lt %d", with, k)
    plots[#plots + 1] = string.format("%s%d:%d with %s %s", f, s.xc, s.sc or s.yc, lt,
      s.label and ("title " .. q(s.label)) or "notitle")
    if d.steps and marks and not s.like then -- (gnuplot has no "stepspoints")
      plots[#plots + 1] = string.format("%s%d:%d with points lt %d notitle", f, s.xc,
        s.sc or s.yc, k)
    end
  end
  return finish(d, L, plots)
end

function K.size(_, style) return style.size end

return K
