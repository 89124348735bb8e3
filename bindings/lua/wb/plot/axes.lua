-- wb/plot/axes.lua: the gnuplot lines the x-y kinds of wb.plot (lines, bars,
-- histogram) share: title, axis labels, log axes and ranges; the key when no
-- series is labelled; the final `plot` command; the check of a series list.
local _ENV = require "wb.std"
local U = require "wb.plot.util"

local q = U.q
local M = {}

-- The characters of the longest series label (0: none labelled).
local function longest_label(d)
  local longest = 0
  for _, s in ipairs(d.series or {}) do
    if s.label then longest = math.max(longest, utf8.len(s.label) or #s.label) end
  end
  return longest
end

-- Whether the key goes below the graph rather than outside on its right
-- (style.key): when it would take more than KEY_SHARE of the figure's width
-- (about 7.5 px a character of the longest label, 11 pt, plus its sample;
-- on the dumb terminal a character each and 7). wb.runs' labels naming what
-- differs ("hidden=32 [dataset=mnist, epochs=2, identity.data=d339...]")
-- pushed the key off the canvas and the graph to a sliver (tryM 4).
M.KEY_SHARE = 0.4
function M.key_below(d, ctx)
  local n = longest_label(d)
  if n == 0 or not (ctx.style.key or ""):find("outside") then return false end
  return (ctx.dumb and n + 7 or n * 7.5 + 50) > M.KEY_SHARE * ctx.width
end

-- The pixels of a figure ctx.width wide a title has: gnuplot centres it
-- over the graph, which a key outside on the right (style.key, when a
-- series is labelled) pushes left by the key's width.
local function title_width(d, ctx)
  local longest = longest_label(d)
  if M.key_below(d, ctx) then return ctx.width end
  return ctx.width - (longest > 0 and longest * 7.5 + 50 or 0)
end

-- Lines shared by every kind: title, axis labels, log axes and ranges.
function M.axes(d, ctx, L)
  if d.title then
    L[#L + 1] = U.set_title(d.title, title_width(d, ctx), ctx.style.title_font, ctx.dumb)
  end
  if d.xlabel then L[#L + 1] = "set xlabel " .. q(d.xlabel) end
  if d.ylabel then L[#L + 1] = "set ylabel " .. q(d.ylabel) end
  -- log axes label their ticks 1e-05 .. 100 (gnuplot's default wrote
  -- 100.000000 when a tick below needed six decimals)
  if d.logx then L[#L + 1] = "set logscale x"; L[#L + 1] = "set format x '%g'" end
  if d.logy then L[#L + 1] = "set logscale y"; L[#L + 1] = "set format y '%g'" end
  if d.xrange then L[#L + 1] = "set xrange " .. U.gprange(d.xrange) end
  if d.yrange then L[#L + 1] = "set yrange " .. U.gprange(d.yrange) end
end

-- Tics for a log axis whose positive values span lo .. hi, when gnuplot's
-- own would be too few: it labels powers of 10 only, so data from 0.6 to 8
-- showed the single tic "1" and 1.2 .. 3.5 none (task 13's spectra). Under
-- two decades: 1, 2, 5 times the powers of 10 inside the range, or every
-- 1..9 times them when that gives fewer than three. nil: gnuplot's own.
function M.log_tics(lo, hi)
  if not (lo and hi and lo > 0 and hi > lo) or hi / lo >= 100 then return nil end
  local function tics(mults)
    local out = {}
    for e = math.floor(math.log(lo, 10)), math.ceil(math.log(hi, 10)) do
      for _, m in ipairs(mults) do
        local v = m * 10.0 ^ e
        if v >= lo * (1 - 1e-9) and v <= hi * (1 + 1e-9) then
          out[#out + 1] = string.format("%g", v)
        end
      end
    end
    return out
  end
  local out = tics{1, 2, 5}
  if #out < 3 then out = tics{1, 2, 3, 4, 5, 6, 7, 8, 9} end
  if #out < 2 then return nil end
  return "(" .. table.concat(out, ", ") .. ")"
end

-- A log axis shows no value <= 0, so a range reaching one is refused
-- (gnuplot would quietly draw another range).
function M.check_log_range(log, r, what)
  if log and r and ((r[1] and r[1] <= 0) or (r[2] and r[2] <= 0)) then
    error(string.format("%s: a log axis needs a range above 0, got {%s, %s}", what,
      r[1] and U.num(r[1]) or "nil", r[2] and U.num(r[2]) or "nil"), 0)
  end
end

-- Whether x lies in the range r = {lo, hi} (either end may be nil).
function M.inside(x, r)
  return not r or ((not r[1] or x >= r[1]) and (not r[2] or x <= r[2]))
end

-- The x label, with a note of the n finite values <= 0 a log axis leaves
-- out (none: the label as it was).
function M.hidden_note(xlabel, n, logx, logy)
  if n == 0 then return xlabel end
  local axis = (logx and logy) and "log axes" or logx and "log x axis" or "log y axis"
  local note = string.format("(%d value%s <= 0 not drawn on the %s)", n,
    n == 1 and "" or "s", axis)
  return xlabel and (xlabel .. " " .. note) or note
end

function M.finish(d, L, plots)
  for _, s in ipairs(d.extra) do L[#L + 1] = s end
  L[#L + 1] = "plot \\"
  for i, p in ipairs(plots) do
    L[#L + 1] = "  " .. p .. (i < #plots and ", \\" or "")
  end
  return L
end

function M.series_list(v, what)
  if type(v) ~= "table" or #v == 0 then
    error(what .. ": expected a non-empty array of series tables", 0)
  end
  return v
end

-- The key: none when no series is labelled, below the graph when too
-- wide for its right (M.key_below), else style.key's (the preamble's).
function M.key(d, ctx, L)
  if longest_label(d) == 0 then
    L[#L + 1] = "unset key"
    L[#L + 1] = "set rmargin 3"   -- gnuplot would keep room for rotated tic text
  elseif M.key_below(d, ctx) then
    L[#L + 1] = "set key below left Left reverse nobox samplen 2 spacing 1.2 maxcols 1"
  end
end

return M
