-- wb/cockpit_dumb.lua: the live cockpit's frames drawn by gnuplot's dumb
-- terminal (fit{cockpit = {renderer = "gnuplot"}}, wb/cockpit.lua): the
-- panels as a wb.plot.panels figure laid out for characters. Not the saved
-- figure (wb.cockpit.figure, for PNG) and not the plain-text frame
-- (wb/cockpit_text.lua). Private to wb/cockpit.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local M = {}

-- A 1, 2 or 5 times 10^k step giving at most n intervals over span (> 0).
local function nice_step(span, n)
  local raw = span / n
  local p = 10 ^ math.floor(math.log(raw, 10))
  for _, m in ipairs{1, 2, 5} do
    if m * p >= raw * (1 - 1e-9) then return m * p end
  end
  return 10 * p
end

-- The finite min and max of a panel's series, or nil.
local function y_span(p)
  local lo, hi
  for _, s in ipairs(p.series) do
    for _, y in ipairs(s.y) do
      if y == y and y ~= math.huge and y ~= -math.huge then
        lo, hi = math.min(lo or y, y), math.max(hi or y, y)
      end
    end
  end
  return lo, hi
end

-- A panel's title in at most w characters: gnuplot's dumb terminal drew
-- none for a title wider than its panel (at 60 columns alpha's lost its
-- own), so the series' marks go first, then the title's last words.
function M.fit_title(title, marks, w)
  if #title + #marks <= w then return title .. marks end
  if #title <= w then return title end
  local cut = title:sub(1, w + 1):match("^(.*%S)%s") -- at a word's end when one is
  return cut and #cut >= w // 2 and cut or title:sub(1, w)
end

-- The panels for gnuplot's dumb terminal, and the size in characters. In
-- characters the PNG's layout is unreadable (a key beside each plot left
-- about 12 columns for the curve, x tics ran into each other, the y = 0
-- line used the curve's own '*'), so: two panels a row over the width of
-- wb.plot.show, no key (the title names each series by its character, as
-- the text frames do: the dumb terminal draws line type k with the k-th
-- of "*#$%@&="), y = 0 dotted (line type 0 is '.'), about 5 x tics and 4 y
-- tics, every panel over the same steps [x0, x1], no "step" label; a "^"
-- on each panel's x axis at each step of short_at (the short batches': as
-- on the text frame's axis, wb/cockpit_text.lua).
function M.figure(panels, x0, x1, term, short_at)
  local cols = math.min(#panels, 2)
  local width = wb.plot.style.dumb_size[1]
  -- gnuplot's dumb lines are a character wider than its size; one spare
  if term then width = math.max(40, math.min(width, term - 2)) end
  local size = {width, 12 * ((#panels + cols - 1) // cols)}
  if x1 <= x0 then x0, x1 = x0 - 1, x0 + 1 end
  local xstep = math.max(1, math.floor(nice_step(x1 - x0, width // cols // 10) + 0.5))
  local plots = {}
  for i, p in ipairs(panels) do
    local series, keys, marks = {}, {}, "*#$%@&="
    for k, s in ipairs(p.series) do -- series k keeps line type k (its mark), even empty
      series[k] = #s.y > 0 and {label = s.label, x = s.x, y = s.y}
        or {label = s.label, x = {x0}, y = {0 / 0}}
      keys[k] = marks:sub(k, k) .. " " .. s.label
    end
    if p.zero then keys[#keys + 1] = ". 0" end
    local extra = {"unset key", "set autoscale yfix",
      "set offsets 0, 0, graph 0.1, graph 0.1", "set xtics " .. xstep,
      "set format y '%.3g'"}
    local lo, hi = y_span(p)
    if lo and hi > lo then extra[#extra + 1] = "set ytics " .. string.format("%.9g",
      nice_step(hi - lo, 4)) end
    if p.zero then extra[#extra + 1] = "set xzeroaxis lt 0" end
    for _, x in ipairs(short_at or {}) do
      extra[#extra + 1] = string.format("set label '^' at %d, graph 0 center front", x)
    end
    plots[i] = wb.plot.lines{title = M.fit_title(p.title, (#p.series > 1 or p.zero)
      and "  (" .. table.concat(keys, ", ") .. ")" or "", width // cols - 1), series = series,
      points = false, xrange = {x0, x1}, extra = extra}
  end
  return wb.plot.panels{plots = plots, cols = cols}, size
end

return M
