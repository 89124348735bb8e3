-- test_plot_skip.lua: audit T1. A figure's CSV headed by its comment ("# "
-- lines: the provenance every study figure carries) was read with `skip 1`,
-- and gnuplot's skip counts comment lines too: the header became a record,
-- every bar chart's bars sat one category to the right (its last one off
-- the plot) and a line plot whose label began with a digit ("2/lr = 20")
-- got a false point. Each kind now skips the comment's lines and the
-- header; gnuplot itself counts the records it reads (stats), with and
-- without a comment, alone and as panels.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"
local dir = T.tmpdir()

if not os.execute("command -v gnuplot >/dev/null 2>&1") then
  T.skip("plot skip", "no gnuplot")
  T.done()
  return
end

-- How many records, the least y and the least x gnuplot reads from csv
-- with the script's own skip (the gnuplot script gp's first `'<csv>' skip
-- N`); with cols "0:..." x is the record's number, 0 for the first.
local function read_by_gnuplot(gp, csv, cols)
  local skip = util.read_file(gp):match("'" .. csv:match("[^/]+$"):gsub("%p", "%%%0")
    .. "' skip (%d+)")
  T.ok(skip, "a skip in " .. gp)
  local st, out, err = T.sh(string.format("gnuplot -e \"set print '-'; set datafile "
    .. "separator comma; stats '%s' skip %s using %s nooutput; print STATS_records, "
    .. "STATS_min_y, STATS_min_x\"", csv, skip, cols))
  T.eq(st, 0, err)
  local n, lo, x = out:match("(%d+)%s+(%S+)%s+(%S+)%s*$")
  return tonumber(n), tonumber(lo), tonumber(x)
end

local function figures(comment)
  return {
    bars = wb.plot.bars{labels = {"a", "b", "c"}, values = {1, 2, 3}, comment = comment},
    lines = wb.plot.lines{comment = comment, series = {{label = "2/lr = 4", x = {1, 10},
      y = {4, 4}}}},
    histogram = wb.plot.histogram{comment = comment, bins = 2, range = {0, 2},
      series = {{label = "1 x", values = {0.5, 1.5, 1.5}}}},
    heatmap = wb.plot.heatmap{comment = comment, z = {{5, 6}, {7, 8}}},
  }
end

-- kind -> columns for stats, records, least value read
local WANT = {bars = {"0:2", 3, 1}, lines = {"1:2", 2, 4}, histogram = {"0:3", 2, 1},
  heatmap = {"1:3", 4, 5}}

T.test("every kind reads its records and no header, with a comment of 2 lines and without",
  function()
  for _, comment in ipairs{false, "made by: test\nfrom: nowhere"} do
    for kind, p in pairs(figures(comment or nil)) do
      local base = string.format("%s/%s-%s", dir, kind, comment and "c" or "n")
      p:save(base .. ".png")
      local n, lo, x = read_by_gnuplot(base .. ".gp", base .. ".csv", WANT[kind][1])
      local what = kind .. (comment and " with a comment" or "")
      T.eq(n, WANT[kind][2], what)
      T.eq(lo, WANT[kind][3], what)
      -- a bar's place is its record's number: the first is at 0
      if WANT[kind][1]:find("^0:") then T.eq(x, 0, what .. ": the first record's number") end
    end
  end
end)

T.test("panels: each panel's CSV read past its comment (the figure's or its own)", function()
  local f = figures(nil)
  local own = wb.plot.bars{labels = {"x", "y", "z"}, values = {1, 2, 3}, comment = "a\nb\nc"}
  wb.plot.panels{plots = {f.bars, f.lines, own}, comment = "figure's"}:save(dir .. "/p.png")
  local n, _, x = read_by_gnuplot(dir .. "/p.gp", dir .. "/p-1.csv", "0:2")
  T.eq(n, 3, "bars under the figure's comment")
  T.eq(x, 0, "bars under the figure's comment: the first at 0")
  n = read_by_gnuplot(dir .. "/p.gp", dir .. "/p-2.csv", "1:2")
  T.eq(n, 2, "lines under the figure's comment")
  n, _, x = read_by_gnuplot(dir .. "/p.gp", dir .. "/p-3.csv", "0:2")
  T.eq(n, 3, "bars under their own 3-line comment")
  T.eq(x, 0, "bars under their own 3-line comment: the first at 0")
end)

T.done()
