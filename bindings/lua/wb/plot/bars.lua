-- wb/plot/bars.lua: the bars kind of wb.plot (bar charts, single or grouped,
-- with optional error bars), in the kind interface of wb/plot/xy.lua.
--
-- Categories sit at x = 0..n-1 and their labels rotate when they would
-- collide; signed values get a zero axis.
local _ENV = require "wb.std"
local U = require "wb.plot.util"
local A = require "wb.plot.axes"

local q, num = U.q, U.num
local axes, finish, series_list = A.axes, A.finish, A.series_list
local place_key = A.key

---wb.plot.bars{title, xlabel, ylabel, labels, values, err, series, yrange, logy, err_is} -> wb.Plot
---Bar chart: labels = {...} with values = {...} and optional err = {...}
---(error bars), or series = {{label, values, err}, ...} for grouped bars
---(one group per label). err_is names what err is ("sd", "sem", "ci95": a
---short name), and the CSV's error columns by it ("relu sd" rather than
---"relu err"). yrange = {lo, hi}, logy. Signed values get a zero axis.
---@param opts table
---@return wb.Plot
---Example: wb.plot.bars{labels = {"a", "b"}, values = {1, 2}, err = {0.1, 0.2}}:show()

local K = {keys = {"xlabel", "ylabel", "labels", "values", "err", "series",
                   "yrange", "logy", "err_is"}}

function K.prepare(o)
  local d = {xlabel = U.text(o.xlabel, "xlabel"), ylabel = U.text(o.ylabel, "ylabel"),
             logy = o.logy and true, yrange = U.range(o.yrange, "yrange"),
             err_is = U.text(o.err_is, "err_is") or "err", series = {}}
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
    if #v == 0 then error(p .. "values: expected at least one value", 0) end
    n = n or #v
    if #v ~= n then
      error(string.format("%svalues: expected %d values, got %d", p, n, #v), 0)
    end
    local e = s.err ~= nil and U.vector(s.err, p .. "err") or nil
    if e and #e ~= n then
      error(string.format("%serr: expected %d values, got %d", p, n, #e), 0)
    end
    for j = 1, e and n or 0 do -- an error bar's half-length: a negative one was drawn
      if e[j] < 0 then error(string.format("%serr[%d]: expected a number >= 0, got %s", p, j,
        tostring(e[j])), 0) end
    end
    d.series[i] = {label = U.text(s.label, p .. "label"), values = v, err = e}
  end
  d.n = n
  A.check_log_range(d.logy, d.yrange, "yrange")
  d.labels = U.labels(o.labels, n, "labels")
  if not d.labels then
    d.labels = {}
    for j = 1, n do d.labels[j] = tostring(j) end
  end
  d.header = {"label"}
  for i, s in ipairs(d.series) do
    local name = s.label or (#d.series == 1 and "value" or ("series " .. i))
    d.header[#d.header + 1] = name; s.vc = #d.header
    if s.err then d.header[#d.header + 1] = name .. " " .. d.err_is; s.ec = #d.header end
  end
  return d
end

function K.csv(d)
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

-- A bar that cannot be drawn (NaN, +-inf; on a log axis <= 0) would look
-- like a bar of 0: its value is written at its foot instead. With no bar
-- to draw at all, the axes still are, saying so (gnuplot alone refuses).
local function missing(d, w, L)
  local S, any = #d.series, false
  for k, s in ipairs(d.series) do
    for j = 1, d.n do
      local v = s.values[j]
      if U.is_finite(v) and not (d.logy and v <= 0) then any = true
      else
        local text = v ~= v and "NaN" or v == math.huge and "inf"
          or v == -math.huge and "-inf" or num(v)
        L[#L + 1] = string.format("set label %s at first %s, graph 0.04 center front",
          q(text), num(j - 1 + (k - (S + 1) / 2) * w))
      end
    end
  end
  if any then return end
  if not d.yrange then L[#L + 1] = d.logy and "set yrange [0.1:10]" or "set yrange [0:1]" end
  L[#L + 1] = "set label " .. q(d.logy and "no positive values for the log axis"
    or "no finite values") .. " at graph 0.5, graph 0.5 center"
end

function K.body(d, ctx)
  local L = {}
  axes(d, ctx, L)
  place_key(d, ctx, L)
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
  local f = q(ctx.csv) .. " skip " .. ctx.skip .. " using "
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
  missing(d, w, L)
  return finish(d, L, plots)
end

function K.size(_, style) return style.size end

return K
