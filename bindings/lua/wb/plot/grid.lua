-- wb/plot/grid.lua: the image-like figure kinds of wb.plot: heatmap, images.
--
-- Same kind interface as wb/plot/xy.lua ({keys, prepare, csv, body, size}).
-- Both draw with gnuplot's `with image` from a long CSV (one row per cell
-- or pixel) in scanline order, row 1 at the top (the y axis is reversed).
local _ENV = require "wb.std"
local U = require "wb.plot.util"
local q, num, check_palette = U.q, U.num, U.one_of
local K = {}

-- A plot of the CSV's cells at columns x:y coloured by column v. gnuplot's
-- `with image` needs a grid of at least 2 x 2 points and draws nothing for
-- one row or one column (a 1 x n heatmap, an image 1 pixel high): there
-- each cell is a filled box of its own instead.
local function cells(f, x, y, v, nx, ny)
  if nx >= 2 and ny >= 2 then
    return string.format("%s%d:%d:%d with image notitle", f, x, y, v)
  end
  return string.format("%s%d:%d:(0.5):(0.5):%d with boxxyerror fs solid 1.0 noborder "
    .. "lc palette notitle", f, x, y, v)
end

local function extra_and_plot(d, L, plot)
  for _, s in ipairs(d.extra) do L[#L + 1] = s end
  L[#L + 1] = plot
  return L
end

-- ---------------------------------------------------------------- heatmap
---wb.plot.heatmap{title, z, xlabels, ylabels, counts, ...} -> wb.Plot
---Options: title, z, xlabels, ylabels, xlabel, ylabel, counts, format,
---palette, zrange.
---A matrix as coloured cells: z = rows (tables) or a 2-D tensor; z[r][c] is
---drawn at row r (top to bottom), column c. counts = true writes each
---cell's value (format, default "%d") in black or white, whichever reads on
---its colour. palette = "sequential" (default) or "diverging"; zrange =
---{lo, hi}. A cell that is not finite (NaN, inf) is left blank, as lines
---leaves a gap; the colours span the finite cells. A confusion matrix:
---rows = true class, columns = predicted.
---@param opts table
---@return wb.Plot
---Example: wb.plot.heatmap{z = conf, counts = true, xlabel = "predicted",
---  ylabel = "true"}:save("plots/lab/confusion.png")

K.heatmap = {keys = {"xlabel", "ylabel", "z", "xlabels", "ylabels", "counts",
                     "format", "palette", "zrange"}}

-- Font size (points) that fits `digits` characters in a cell of `px` pixels.
local function cell_font(px, digits)
  return math.min(11, px * 0.38, px * 0.95 / math.max(digits, 1))
end

function K.heatmap.prepare(o)
  local z = U.matrix(o.z, "z")
  local d = {z = z, R = #z, C = #z[1], xlabel = U.text(o.xlabel, "xlabel"),
             ylabel = U.text(o.ylabel, "ylabel"),
             palette = check_palette(o.palette or "sequential",
               {"sequential", "diverging"}, "palette")}
  d.xlabels = U.labels(o.xlabels, d.C, "xlabels")
  d.ylabels = U.labels(o.ylabels, d.R, "ylabels")
  local lo, hi, integral = nil, nil, true
  for r = 1, d.R do
    lo, hi = U.finite_range(z[r], lo, hi)
    for c = 1, d.C do
      local v = z[r][c]
      if U.is_finite(v) and v ~= math.floor(v) then integral = false end
    end
  end
  lo, hi = lo or 0, hi or 1
  if d.palette == "diverging" then
    local m = math.max(math.abs(lo), math.abs(hi))
    lo, hi = -m, m
  end
  local zr = U.range(o.zrange, "zrange")
  if zr then lo, hi = zr[1] or lo, zr[2] or hi end
  if lo >= hi then lo, hi = lo - 0.5, lo + 0.5 end
  d.lo, d.hi = lo, hi
  if o.format ~= nil then
    if type(o.format) ~= "string"
        or not o.format:find("^[^%%]*%%[-+ #0]*%d*%.?%d*[dfeEgG][^%%]*$") then
      error("format: expected one numeric conversion such as '%d' or '%.2f', got "
        .. tostring(o.format), 0)
    end
    d.format = o.format
  else
    local m = math.max(math.abs(lo), math.abs(hi))
    d.format = integral and "%.0f" or (m < 100 and "%.2f" or "%.3g")
  end
  d.counts = o.counts
  return d
end

function K.heatmap.csv(d)
  local rows = {}
  for r = 1, d.R do
    for c = 1, d.C do
      rows[#rows + 1] = {r, c, d.z[r][c], d.ylabels and d.ylabels[r] or r,
                         d.xlabels and d.xlabels[c] or c}
    end
  end
  return U.csv({"row", "col", "value", "row_label", "col_label"}, rows)
end

-- Tic labels for rows or columns, `cell` pixels apart. Labels that would
-- collide are rotated (user labels on x, while a line of text fits in a
-- cell) or thinned to every k-th.
local function tics(axis, labels, n, cell, L)
  local longest = 1
  for i = 1, n do
    longest = math.max(longest, utf8.len(labels and labels[i] or tostring(i)) or 1)
  end
  local need = axis == "xtics" and longest * 7.5 + 6 or 16   -- pixels per label
  local rotate, every = "", 1
  if need > cell then
    if axis == "xtics" and labels and cell >= 16 then
      rotate = " rotate by 45 right"
    else
      every = math.ceil((axis == "xtics" and need or 16) / math.max(cell, 1))
    end
  end
  -- blank labels take no place when thinning (task 15's [-1, 1] read -1, 0.5)
  local t, last = {}, -math.huge
  for i = 1, n do
    local text = labels and labels[i] or tostring(i)
    if text ~= "" and i - last >= every then t[#t + 1], last = q(text) .. " " .. i, i end
  end
  L[#L + 1] = "set " .. axis .. " (" .. table.concat(t, ", ") .. ") scale 0" .. rotate
end

function K.heatmap.body(d, ctx)
  local style, L = ctx.style, {}
  if d.title then L[#L + 1] = U.set_title(d.title, ctx.width, style.title_font, ctx.dumb) end
  if d.xlabel then L[#L + 1] = "set xlabel " .. q(d.xlabel) end
  if d.ylabel then L[#L + 1] = "set ylabel " .. q(d.ylabel) end
  L[#L + 1] = "unset grid"
  L[#L + 1] = "unset key"
  L[#L + 1] = "set border 0"
  L[#L + 1] = "set size ratio -1"
  L[#L + 1] = string.format("set xrange [0.5:%s]", num(d.C + 0.5))
  L[#L + 1] = string.format("set yrange [%s:0.5]", num(d.R + 0.5))
  -- Cell size in pixels, roughly: the frame minus tics, labels and colour box.
  local cell = math.min((ctx.width - 230) / d.C, (ctx.height - 150) / d.R)
  tics("xtics", d.xlabels, d.C, cell, L)
  tics("ytics", d.ylabels, d.R, cell, L)
  L[#L + 1] = "set cbrange [" .. num(d.lo) .. ":" .. num(d.hi) .. "]"
  L[#L + 1] = "set cbtics scale 0.5"
  L[#L + 1] = ctx.palette(d.palette == "diverging" and style.diverging or style.sequential)
  local f = q(ctx.csv) .. " skip " .. ctx.skip .. " using "
  local plot = "plot " .. cells(f, 2, 1, 3, d.C, d.R)
  local digits = 1
  for r = 1, d.R do
    for c = 1, d.C do
      local v = d.z[r][c]
      if U.is_finite(v) then digits = math.max(digits, #string.format(d.format, v)) end
    end
  end
  local pt = cell_font(cell, digits)
  local counts = d.counts
  if counts == nil then counts = pt >= 6 end
  if counts and not ctx.dumb then
    pt = math.max(5, math.floor(pt))
    -- Text colour: dark cells get white text, light ones black.
    local t = string.format("(($3-(%s))/(%s))", num(d.lo), num(d.hi - d.lo))
    local colour
    if d.palette == "diverging" then
      colour = string.format("(abs(2*%s-1) > %s ? 0xFFFFFF : 0x000000)", t,
        num(style.diverging_dark_from))
    else
      colour = string.format("(%s > %s ? 0x000000 : 0xFFFFFF)", t,
        num(style.sequential_light_from))
    end
    plot = plot .. ", " .. f .. "2:1:($3 == $3 ? sprintf(" .. q(d.format) .. ", $3) : ''):"
      .. colour .. " with labels tc rgb variable font " .. q("," .. pt) .. " notitle"
  end
  return extra_and_plot(d, L, plot)
end

function K.heatmap.size(_, style) return {style.size[2] + 120, style.size[2] + 60} end

-- ---------------------------------------------------------------- images
---wb.plot.images{title, tiles, rows, cols, labels, h, w, palette, scale} -> wb.Plot
---A grid of small images, row by row: tiles = [n, h*w] or [n, h, w] tensor
---(or a table of tiles, each flat or rows; h, w needed when not square),
---rows, cols, labels = {captions under each tile}. Each tile is scaled on
---its own (scale = "tile"; "global" shares one scale): to [0, 1] between
---its min and max (grey: white to black ink), or, diverging, to [-1, 1] by
---its largest |value| so that 0 stays white. palette "auto" (default) is
---diverging when any value is negative (weights), else grey (digits). In
---the terminal (:show) each tile keeps its shape, "|" between: " .:-=+*#%@"
---by level, or "=- +#" from negative to positive, a key line under them.
---@param opts table
---@return wb.Plot
---Example: wb.plot.images{tiles = wb.data.mnist().test:subset(1, 8):float_images(),
---  rows = 1}:show()

K.images = {keys = {"tiles", "rows", "cols", "labels", "h", "w", "palette", "scale"}}

-- Flat tiles and their h, w from the accepted forms.
local function tile_data(o)
  local v, h, w = o.tiles, o.h, o.w
  if U.is_tensor(v) then
    local shape = v:shape()
    if #shape == 3 then h, w = shape[2], shape[3]
    elseif #shape ~= 2 then
      error(string.format("tiles: expected a [n, h*w] or [n, h, w] tensor, got %d-D",
        #shape), 0)
    end
    v = v:totable()
  end
  if type(v) ~= "table" or #v == 0 then
    error("tiles: expected a non-empty tensor or table of tiles", 0)
  end
  local tiles = {}
  for i = 1, #v do
    local t = v[i]
    if type(t) == "table" and type(t[1]) == "table" and not h then h, w = #t, #t[1] end
    tiles[i] = U.vector(t, string.format("tiles[%d]", i))
  end
  local n_px = #tiles[1]
  if not h and not w then
    local s = math.floor(math.sqrt(n_px) + 0.5)
    if s * s ~= n_px then
      error(string.format("tiles: %d values per tile is not square; give h and w", n_px), 0)
    end
    h, w = s, s
  end
  h = h or n_px // w
  w = w or n_px // h
  if math.type(h) ~= "integer" or math.type(w) ~= "integer" or h * w ~= n_px then
    error(string.format("tiles: expected h*w = %s values per tile (h=%s, w=%s), got %d", (type(h)
      == "number" and type(w) == "number") and h * w or "?", tostring(h), tostring(w), n_px), 0)
  end
  for i, t in ipairs(tiles) do
    if #t ~= n_px then
      error(string.format("tiles[%d]: expected %d values, got %d", i, n_px, #t), 0)
    end
  end
  return tiles, h, w
end

-- Data units per pixel is 1/ppu: tiles are drawn ppu pixels per data pixel.
local function ppu(d)
  return math.max(1, math.min(6, 1100 / d.X, 1000 / d.Y))
end

function K.images.prepare(o)
  local tiles, h, w = tile_data(o)
  local n = #tiles
  local rows, cols = o.rows, o.cols
  for _, p in ipairs({{"rows", rows}, {"cols", cols}}) do
    if p[2] ~= nil and (math.type(p[2]) ~= "integer" or p[2] < 1) then
      error(p[1] .. ": expected a positive integer", 0)
    end
  end
  if not cols then
    cols = rows and (n + rows - 1) // rows or math.ceil(math.sqrt(n))
  end
  rows = rows or (n + cols - 1) // cols
  if rows * cols < n then
    error(string.format("%d tiles do not fit in rows = %d x cols = %d", n, rows, cols), 0)
  end
  local d = {tiles = tiles, n = n, h = h, w = w, rows = rows, cols = cols,
             labels = U.labels(o.labels, n, "labels"),
             scale = check_palette(o.scale or "tile", {"tile", "global"}, "scale")}
  local pal = check_palette(o.palette or "auto",
    {"auto", "grey", "diverging", "sequential"}, "palette")
  local glo, ghi
  for _, t in ipairs(tiles) do glo, ghi = U.finite_range(t, glo, ghi) end
  if pal == "auto" then pal = (glo or 0) < 0 and "diverging" or "grey" end
  d.palette = pal
  -- Scaled copy of every tile: [0, 1], or [-1, 1] for diverging.
  d.scaled = {}
  for i, t in ipairs(tiles) do
    local lo, hi = glo, ghi
    if d.scale == "tile" then lo, hi = U.finite_range(t) end
    lo, hi = lo or 0, hi or 0
    local s = {}
    if pal == "diverging" then
      local m = math.max(math.abs(lo), math.abs(hi))
      for j = 1, #t do s[j] = m > 0 and t[j] / m or 0 end
    else
      for j = 1, #t do s[j] = hi > lo and (t[j] - lo) / (hi - lo) or 0 end
    end
    d.scaled[i] = s
  end
  -- Layout in pixels of data: gaps between tiles, a band for captions.
  d.gap = math.max(1, math.floor(w * 0.15 + 0.5))
  d.cap = d.labels and math.max(6, math.floor(h * 0.45 + 0.5)) or 0
  d.X = cols * (w + d.gap) - d.gap
  d.Y = rows * (h + d.gap + d.cap) - d.gap
  if d.labels then  -- about 22 pixels of caption band once drawn
    d.cap = math.max(3, math.min(d.cap, math.ceil(22 / ppu(d))))
    d.Y = rows * (h + d.gap + d.cap) - d.gap
  end
  return d
end

function K.images.csv(d)
  local out = {"x,y,tile,value,scaled"}
  local pitch_x, pitch_y = d.w + d.gap, d.h + d.gap + d.cap
  local fmt = string.format
  for y = 0, d.Y - 1 do
    local tr, py = y // pitch_y, y % pitch_y
    for x = 0, d.X - 1 do
      local tc, px = x // pitch_x, x % pitch_x
      local k = tr * d.cols + tc + 1
      if py < d.h and px < d.w and k <= d.n then
        local j = py * d.w + px + 1
        out[#out + 1] = fmt("%d,%d,%d,%s,%s", x, y, k, num(d.tiles[k][j]), num(d.scaled[k][j]))
      else
        out[#out + 1] = fmt("%d,%d,0,NaN,NaN", x, y)
      end
    end
  end
  out[#out + 1] = ""
  return table.concat(out, "\n")
end

-- The title a PNG shows: a diverging palette's colours have no colour box
-- (tiles are scaled apart), so the title says which sign is which. The
-- terminal's ramp is in the help; its title stays as given.
local function png_title(d)
  if d.palette ~= "diverging" then return d.title end
  local key = d.scale == "tile" and "(blue < 0 < red; each tile to its own largest |value|)"
    or "(blue < 0 < red)"
  return d.title and (d.title .. " " .. key) or key
end

function K.images.body(d, ctx)
  local style, L, lines = ctx.style, {}, 0
  local title = ctx.dumb and d.title or png_title(d)
  if title then L[#L + 1], lines = U.set_title(title, ctx.width, style.title_font, ctx.dumb) end
  for _, s in ipairs({"unset border", "unset tics", "unset grid", "unset key",
                      "unset colorbox", "set size ratio -1",
                      "set lmargin 1", "set rmargin 1", "set bmargin 1"}) do
    L[#L + 1] = s
  end
  L[#L + 1] = "set tmargin " .. (lines > 0 and 2 + lines or 1)
  L[#L + 1] = string.format("set xrange [-0.5:%s]", num(d.X - 0.5))
  L[#L + 1] = string.format("set yrange [%s:-0.5]", num(d.Y - 0.5))
  if d.palette == "diverging" then
    L[#L + 1] = ctx.palette(style.diverging)
    L[#L + 1] = "set cbrange [-1:1]"
  else
    L[#L + 1] = ctx.palette(d.palette == "grey" and style.grey or style.sequential)
    L[#L + 1] = "set cbrange [0:1]"
  end
  if d.palette == "grey" and not ctx.dumb then
    -- White is paper here, so a faint frame shows where each tile ends.
    for k = 1, d.n do
      local r, c = (k - 1) // d.cols, (k - 1) % d.cols
      local x, y = c * (d.w + d.gap) - 0.5, r * (d.h + d.gap + d.cap) - 0.5
      L[#L + 1] = string.format("set object %d rectangle from %s,%s to %s,%s front "
        .. "fs empty border lc rgb %s lw 0.5", k, num(x), num(y), num(x + d.w),
        num(y + d.h), q(style.tile_frame))
    end
  end
  if d.labels and not ctx.dumb then
    -- Caption font: fits the band height and the tile width (in pixels).
    local px = math.min(ctx.width / (d.X + 2), ctx.height / (d.Y + 8))
    local longest = 1
    for _, l in ipairs(d.labels) do longest = math.max(longest, utf8.len(l) or #l) end
    local pt = math.max(5, math.floor(math.min(10, d.cap * px * 0.6,
      (d.w + d.gap) * px * 1.1 / longest)))
    for k, l in ipairs(d.labels) do
      local r, c = (k - 1) // d.cols, (k - 1) % d.cols
      local x = c * (d.w + d.gap) + (d.w - 1) / 2
      local y = r * (d.h + d.gap + d.cap) + d.h - 0.5 + d.cap * 0.55
      L[#L + 1] = string.format("set label %d %s at %s,%s center font %s tc rgb %s front",
        k, q(l), num(x), num(y), q("," .. pt), q(style.text))
    end
  end
  if ctx.dumb then
    -- gnuplot's dumb terminal draws no images: each pixel becomes a
    -- character of a ramp by its scaled level (the last pixel falling in a
    -- character cell wins); NaN gaps draw nothing.
    local ramp = d.palette == "diverging" and "=- +#" or " .:-=+*#%@"
    local lo = d.palette == "diverging" and -1 or 0
    L[#L + 1] = "ramp = " .. q(ramp)
    L[#L + 1] = string.format("rk(v) = int((v - (%s)) / (1 - (%s)) * %s) + 1", num(lo), num(lo),
      num(#ramp - 0.001))
    L[#L + 1] = "ch(v) = ramp[rk(v):rk(v)]"
    return extra_and_plot(d, L, "plot " .. q(ctx.csv)
      .. " skip " .. ctx.skip .. " using 1:2:($3 > 0 && valid(5) ? ch($5) : '') with labels notitle")
  end
  return extra_and_plot(d, L, "plot " .. cells(q(ctx.csv) .. " skip " .. ctx.skip .. " using ", 1, 2, 5, d.X, d.Y))
end

function K.images.size(d)
  local p = ppu(d)
  local w = math.max(320, math.floor(d.X * p + 20 + 0.5))
  -- the title's lines as wrapped for this width (U.set_title): 40 px for
  -- the first, 20 for each further
  local title = png_title(d)
  local lines = title and #U.title_lines(title, w) or 0
  return {w, math.max(240, math.floor(d.Y * p + 20 + (lines > 0 and 20 + 20 * lines or 0) + 0.5))}
end

return K
