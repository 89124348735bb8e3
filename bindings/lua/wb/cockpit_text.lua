-- wb/cockpit_text.lua: the cockpit's plain-text frame (wb/cockpit.lua), a
-- pure function of the series: no clock, no terminal codes, no gnuplot, so
-- the same run gives the same text (tests/fixtures/cockpit_*.txt).
--
-- A frame is a header line, then one small panel per series group:
--   -- loss  last 0.5123  min 0.4 .. max 1.1 -------------------------
--        1.1 |*
--            |  **
--        0.4 |     ******
-- and one x axis under them all:
--            +------------------------------------------------------------
--             1                                                    24  step
-- x is the step, shared by every panel (first recorded step .. now); the
-- points of one column are averaged; NaN (not measured) is skipped.
local _ENV = require "wb.std"
local M = {}

local floor = math.floor

M.WIDTH = 60  -- plot columns
M.HEIGHT = 5  -- plot rows per panel
local LABEL = 9 -- y-axis label width

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

local function num(v) return string.format("%.4g", v) end

-- The plot column of step x over [x0, x1] (1..W).
local function column(x, x0, x1, W)
  return x1 > x0 and floor((x - x0) / (x1 - x0) * (W - 1) + 0.5) + 1 or 1
end

-- The column means of series s ({x = {...}, y = {...}}) over [x0, x1]:
-- a table col -> mean (columns 1..W), and the most points one averages.
local function columns(s, x0, x1, W)
  local sum, cnt, out, most = {}, {}, {}, 0
  for i = 1, #s.x do
    local x, y = s.x[i], s.y[i]
    if y and finite(y) and x >= x0 and x <= x1 then
      local c = column(x, x0, x1, W)
      sum[c], cnt[c] = (sum[c] or 0) + y, (cnt[c] or 0) + 1
      most = math.max(most, cnt[c])
    end
  end
  for c, v in pairs(sum) do out[c] = v / cnt[c] end
  return out, most
end

-- What the panel draws of its first series, for its title: the last
-- column's value, the lowest and highest column; nil when it has none.
-- These are the plotted numbers (column means), not the raw steps': a
-- header of raw extremes read "max 0.2189" over an axis ending at -0.03.
local function summary(cols)
  local last, lo, hi, at = nil, nil, nil, 0
  for c, v in pairs(cols) do
    if c > at then last, at = v, c end
    lo = (lo == nil or v < lo) and v or lo
    hi = (hi == nil or v > hi) and v or hi
  end
  return last, lo, hi
end

-- Lines of one panel: p = {title, zero, series = {{x, y, mark, label}, ...}}
-- (zero: a row of dots at y = 0 when 0 is in range); the first
-- series gives the summary in the title; later series are drawn first, so
-- the first one's marks stay on top.
local function panel(p, x0, x1, W, H)
  local first = p.series[1]
  local cols, ylo, yhi, most = {}, nil, nil, 0
  for k, s in ipairs(p.series) do
    local m
    cols[k], m = columns(s, x0, x1, W)
    if k == 1 then most = m end
    for _, v in pairs(cols[k]) do
      ylo = (ylo == nil or v < ylo) and v or ylo
      yhi = (yhi == nil or v > yhi) and v or yhi
    end
  end
  local zero = p.zero and ylo and ylo <= 0 and yhi >= 0 -- drawn: 0 is in the plotted range
  local last, lo, hi = summary(cols[1])
  local stats = last and string.format("last %s  min %s .. max %s%s", num(last), num(lo),
    num(hi), most > 1 and string.format(" (column means of <= %d steps)", most) or "")
  local keys
  if #p.series > 1 or zero then -- which mark is which
    keys = {}
    for _, s in ipairs(p.series) do keys[#keys + 1] = (s.mark or "*") .. " " .. s.label end
    if zero then keys[#keys + 1] = ". 0" end
    keys = "  (" .. table.concat(keys, ", ") .. ")"
  end
  -- one line as wide as the plot's rows, else the numbers on a line of
  -- their own under it: a line wider than the terminal wraps
  local width = LABEL + 2 + W
  local head = "-- " .. p.title .. (stats and "  " .. stats or "") .. (keys or "") .. " "
  local under
  if stats and #head + 3 > width then
    head, under = "-- " .. p.title .. (keys or "") .. " ", "   " .. stats
  end
  local L = {head .. string.rep("-", math.max(3, width - #head)), under}
  if ylo == nil then -- NaN is also a measurement (alpha at batch size 1)
    local n = #first.y
    L[#L + 1] = string.rep(" ", LABEL) .. (n == 0 and " | (not measured yet)" or
      string.format(" | (%d value%s, none finite)", n, n == 1 and "" or "s"))
    return L
  end
  local grid = {}
  for r = 1, H do grid[r] = {} end
  local function row_of(v)
    return yhi > ylo and floor((v - ylo) / (yhi - ylo) * (H - 1) + 0.5) + 1 or 1
  end
  if zero then -- a reference line under the marks
    for c = 1, W do grid[H - row_of(0) + 1][c] = "." end
  end
  for k = #p.series, 1, -1 do
    local mark = p.series[k].mark or "*"
    for c, v in pairs(cols[k]) do
      grid[H - row_of(v) + 1][c] = mark
    end
  end
  for r = 1, H do
    local row = {}
    for c = 1, W do row[c] = grid[r][c] or " " end
    local label = r == 1 and num(yhi) or r == H and num(ylo) or ""
    L[#L + 1] = (string.format("%" .. LABEL .. "s |", label)
      .. table.concat(row)):gsub("%s+$", "")
  end
  return L
end

-- What is wrong with short (as M.frame takes it: {steps = {...}, rows, full},
-- rows and full integers when a step is listed), or nil.
function M.bad_short(short)
  if short == nil then return nil end
  for k in pairs(short) do
    if k ~= "steps" and k ~= "rows" and k ~= "full" then return "unknown key " .. tostring(k) end
  end
  if type(short.steps) ~= "table" then return "steps: expected a list of steps" end
  for _, x in ipairs(short.steps) do
    if math.type(x) ~= "integer" then return "steps: expected integers, got " .. tostring(x) end
  end
  if #short.steps > 0 and not (math.type(short.rows) == "integer"
      and math.type(short.full) == "integer") then
    return "rows and full: expected integers (the short and the full batch's rows)"
  end
  return nil
end

-- The steps of short ({steps, rows, full}, as M.frame takes it; nil: none)
-- within [x0, x1]: where a frame or figure marks a short batch. The one
-- place that says which steps are marked, for the text frame, gnuplot's
-- dumb frames (wb/cockpit_dumb.lua) and the saved figure.
function M.short_in(short, x0, x1)
  local out = {}
  for _, x in ipairs(short and short.steps or {}) do
    if x >= x0 and x <= x1 then out[#out + 1] = x end
  end
  return out
end

-- The line under a frame with marks: what "^" means.
function M.short_note(short)
  return string.format("^ a short batch (%d rows, not %d): gradient numbers noisier",
    short.rows, short.full)
end

-- The steps of short within the steps of panels' series (M.short_in).
function M.short_steps(panels, short)
  local lo, hi = math.huge, -math.huge
  for _, p in ipairs(panels) do
    for _, s in ipairs(p.series) do
      for _, x in ipairs(s.x) do lo, hi = math.min(lo, x), math.max(hi, x) end
    end
  end
  return M.short_in(short, lo, hi)
end

-- The plot columns of a frame that fits a terminal of cols characters (its
-- widest line, the x axis's numbers and "  step", has LABEL + 8 more; one
-- column spare: a line as wide as the terminal wraps on some), at most
-- WIDTH, at least MIN_WIDTH (narrower terminals wrap the lines).
M.MIN_WIDTH = 20
function M.width(cols)
  return math.max(M.MIN_WIDTH, math.min(M.WIDTH, cols - LABEL - 9))
end

-- The rows text takes on a terminal of cols characters, lines wrapped:
-- what a redraw moves the cursor up by.
function M.rows(text, cols)
  local n = 0
  for line in text:gmatch("([^\n]*)\n") do n = n + math.max(1, (#line + cols - 1) // cols) end
  return n
end

-- The frame's text (ending in a newline): head (one line), panels (a list
-- of {title, zero, series = {{x, y, mark, label}}}), x over [x0, x1].
-- short (optional): {steps = {...}, rows = r, full = b}, the steps whose
-- batch had r rows, not b (an epoch's last): a "^" on the x axis under
-- each, said under it (their gradient numbers are of fewer rows: noisier).
function M.frame(head, panels, x0, x1, W, H, short)
  W, H = W or M.WIDTH, H or M.HEIGHT
  local L = {head}
  for _, p in ipairs(panels) do
    for _, l in ipairs(panel(p, x0, x1, W, H)) do L[#L + 1] = l end
  end
  local a, b = tostring(math.tointeger(x0) or x0), tostring(math.tointeger(x1) or x1)
  local axis, marked = {}, false
  for c = 1, W do axis[c] = "-" end
  for _, x in ipairs(M.short_in(short, x0, x1)) do
    axis[column(x, x0, x1, W)], marked = "^", true
  end
  L[#L + 1] = string.rep(" ", LABEL) .. " +" .. table.concat(axis)
  L[#L + 1] = string.rep(" ", LABEL + 2) .. a .. string.rep(" ", math.max(1, W - #a - #b))
    .. b .. "  step"
  if marked then
    L[#L + 1] = string.rep(" ", LABEL) .. " " .. M.short_note(short)
  end
  return table.concat(L, "\n") .. "\n"
end

return M
