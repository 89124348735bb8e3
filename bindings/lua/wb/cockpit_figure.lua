-- wb/cockpit_figure.lua: the cockpit's figure, wb.cockpit.figure (wb/cockpit.lua):
-- its panels as line plots against the step, and the last measured step's
-- 2-D gradient histogram, in one wb.plot.panels figure.
local _ENV = require "wb.std"
local wb = require "wb"
local text = require "wb.cockpit_text"
local args = require "wb.args"

local M = {}

---wb.cockpit.figure(panels, history, title, short) -> wb.Plot
---The cockpit's panels as one wb.plot.panels figure (a line plot per panel,
---x = step; with history's grad_hist_2d, a last panel of its last measured
---step as a heatmap of log10(1 + count), entries against weights, as
---Cockpit's dashboard), for :save("dir/cockpit.png") or :show(). panels is a list of
---{title, key, zero (draw y = 0), series = {{x, y, label}}}, as the cockpit
---keeps them; title (default "cockpit") is followed by the number of steps
---recorded in history. short (optional): {steps = {...}, rows = r, full = b},
---steps whose batch had r rows, not b: a dashed line at each, said in the title.
---@param panels table
---@param history? wb.History
---@param title? string
---@param short? table
---@return wb.Plot
---Example: wb.cockpit.figure({{title = "loss", series = {{x = {1, 2}, y = {2, 1}}}}}):show()
function M.figure(panels, history, title, short)
  args.check("wb.cockpit.figure", 1, panels, "table")
  args.opt("wb.cockpit.figure", 2, history, "table")
  args.opt("wb.cockpit.figure", 3, title, "string")
  args.opt("wb.cockpit.figure", 4, short, "table")
  local bad = text.bad_short(short)
  if bad then
    args.input_fail("bad argument #4 to 'wb.cockpit.figure' (short: " .. bad .. ")", 2)
  end
  if #panels == 0 then
    args.input_fail("bad argument #1 to 'wb.cockpit.figure' (a non-empty list of panels "
      .. "expected)", 2)
  end
  for i, p in ipairs(panels) do
    local ok = type(p) == "table" and type(p.series) == "table"
    for _, s in ipairs(ok and p.series or {}) do
      ok = ok and type(s) == "table" and type(s.x) == "table" and type(s.y) == "table"
    end
    if not ok then
      args.input_fail(string.format("bad argument #1 to 'wb.cockpit.figure' (panel %d: expected "
        .. "{title, key, series = {{x = {...}, y = {...}, label}}})", i), 2)
    end
  end
  local plots, marks = {}, {}
  for _, x in ipairs(text.short_steps(panels, short)) do
    marks[#marks + 1] = string.format("set arrow from %s, graph 0 to %s, graph 1 nohead dt 2 "
      .. "lc rgb '#bbbbbb' back", x, x)
  end
  for _, p in ipairs(panels) do
    local series = {}
    for _, s in ipairs(p.series) do
      if #s.y > 0 then series[#series + 1] = {label = s.label, x = s.x, y = s.y} end
    end
    if #series == 0 then series[1] = {label = p.key, x = {0}, y = {0 / 0}} end
    local extra = {table.unpack(marks)}
    if p.zero then extra[#extra + 1] = "set xzeroaxis lt 1 lc rgb '#888888'" end
    plots[#plots + 1] = wb.plot.lines{title = p.title, xlabel = "step", series = series,
      points = false, extra = extra}
  end
  -- the last measured step's 2-D histogram, when the fit recorded one
  plots[#plots + 1] = require("wb.cockpit_hist2d")(history)
  local steps = history and history.steps and history.steps.step
  return wb.plot.panels{title = (title or "cockpit") .. (steps and #steps > 0
    and string.format(" (%d steps recorded)", #steps) or "") .. (#marks > 0
    and string.format("; dashed: a short batch (%d rows, not %d)", short.rows, short.full)
    or ""), plots = plots, cols = math.min(#plots, 3)}
end

return M
