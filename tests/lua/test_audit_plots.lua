-- test_audit_plots.lua - a new user's audit of what is seen and typed outside
-- training: figures at their edges (one row of a heatmap, log axes over
-- zeros, bars of NaN, histograms with nothing counted, a range with no
-- data), the workbench command line (-h NAME plus more), errors of require
-- and io in a script (named at the script's line, not inside wb), and help
-- of odd values. Each test failed before its fix.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local P = wb.plot

local have_gnuplot = os.execute("command -v gnuplot >/dev/null 2>&1") == true
local dir = T.tmpdir()
local slurp = require("wb.util").read_file

-- Saves p as dir/name.png (it must succeed); returns the script's text.
local function save(p, name)
  local path = dir .. "/" .. name .. ".png"
  local ok, err = pcall(p.save, p, path)
  T.ok(ok, name .. ": " .. tostring(err))
  T.ok(slurp(path) and #slurp(path) > 1000, name .. ": no PNG")
  return slurp(dir .. "/" .. name .. ".gp")
end

-- {====================================================== figures

if not have_gnuplot then
  T.skip("figures at their edges", "gnuplot not installed")
else
  T.test("a series of one finite point gets its marker even with points = false", function()
    -- a line through one point draws nothing: task 12's lambda_max of a
    -- quick run (measured at step 1 only) was absent from its panel
    local gp = save(P.lines{points = false, series = {{label = "one", x = {1, 2},
      y = {6.3, 0 / 0}}, {label = "two", x = {1, 2}, y = {4, 4}}}}, "lone_point")
    T.ok(gp:find("using 1:2 with linespoints lt 1 title 'one'", 1, true), gp)
    T.ok(gp:find("with lines lt 2 title 'two'", 1, true), gp)
  end)

  T.test("a heatmap of one row, one column or one cell is drawn, not an empty panel", function()
    for name, z in pairs{one = {{5}}, row = {{1, 2, 3}}, col = {{1}, {2}, {3}}} do
      save(P.heatmap{z = z}, "heat_" .. name)
      -- gnuplot's `with image` warns and draws nothing below 2 x 2
      local st, out, err = T.sh("cd " .. dir .. " && gnuplot heat_" .. name .. ".gp")
      T.eq(st, 0, name)
      T.eq(out .. err, "", name .. ": gnuplot said")
    end
    -- the single cell fills the middle of the figure: not white paper
    local img = wb.image.load(dir .. "/heat_one.png")
    local s = img:shape()
    T.ok(img:get(s[1] // 2, s[2] // 2 - 40) < 0.9, "the cell is blank")
  end)

  T.test("an image one pixel high is drawn", function()
    save(P.images{tiles = {{0, 0.5, 1}, {1, 0.5, 0}}, h = 1, w = 3}, "img_row")
    local _, out, err = T.sh("cd " .. dir .. " && gnuplot img_row.gp")
    T.eq(out .. err, "", "gnuplot said")
  end)

  T.test("lines on a log axis over zeros and negatives: drawn, the missing ones counted", function()
    local gp = save(P.lines{logy = true, series = {{label = "z", y = {0, 0, 0}}}}, "logy0")
    T.ok(gp:find("no positive values for the log axis", 1, true), "no note")
    gp = save(P.lines{logy = true, series = {{label = "n", y = {-1, -2}}}}, "logyneg")
    T.ok(gp:find("2 values <= 0 not drawn on the log y axis", 1, true), "no count")
    gp = save(P.lines{logx = true, series = {{x = {-1, 0}, y = {1, 2}}}}, "logxneg")
    T.ok(gp:find("no positive values", 1, true), "logx: no note")
    -- some zeros: the rest is drawn and the x label says what is missing
    gp = save(P.lines{logy = true, xlabel = "epoch",
      series = {{label = "z", y = {0, 1, 10, 100}}}}, "logy_some")
    T.ok(gp:find("set xlabel 'epoch (1 value <= 0 not drawn on the log y axis)'", 1, true),
      "x label lacks the note")
    T.ok(not gp:find("no positive values", 1, true), "not empty")
    -- positive data: no note
    gp = save(P.lines{logy = true, xlabel = "epoch", series = {{y = {1, 10}}}}, "logy_pos")
    T.ok(gp:find("set xlabel 'epoch'\n", 1, true), "a note on positive data")
  end)

  T.test("a log axis's range must lie above 0", function()
    T.check_error("wb.plot.lines: yrange: a log axis needs a range above 0, got {-1, 10}",
      P.lines, {logy = true, yrange = {-1, 10}, series = {{y = {1, 2}}}})
    T.check_error("wb.plot.lines: xrange: a log axis needs a range above 0",
      P.lines, {logx = true, xrange = {0, 10}, series = {{y = {1, 2}}}})
    T.check_error("wb.plot.bars: yrange: a log axis needs a range above 0",
      P.bars, {logy = true, yrange = {0, 10}, values = {1, 2}})
    -- linear axes keep any range
    P.lines{yrange = {-1, 10}, series = {{y = {1, 2}}}}
  end)

  T.test("lines whose xrange holds no data: the axes, saying so", function()
    local gp = save(P.lines{xrange = {100, 200}, series = {{label = "a", y = {1, 2, 3}}}},
      "xr_nodata")
    T.ok(gp:find("no finite values in xrange", 1, true), "no note")
  end)

  T.test("bars: NaN and inf are written at the bar's foot, never drawn as 0", function()
    local gp = save(P.bars{labels = {"a", "b", "c"}, values = {1, 0 / 0, math.huge}}, "bars_nan")
    T.ok(gp:find("set label 'NaN' at first 1,", 1, true), "no NaN label")
    T.ok(gp:find("set label 'inf' at first 2,", 1, true), "no inf label")
    gp = save(P.bars{labels = {"a", "b"}, values = {0 / 0, 0 / 0}}, "bars_allnan")
    T.ok(gp:find("no finite values", 1, true), "no note")
    gp = save(P.bars{labels = {"a", "b"}, values = {0, 10}, logy = true}, "bars_log0")
    T.ok(gp:find("set label '0' at first 0,", 1, true), "the 0 bar is not marked")
    gp = save(P.bars{labels = {"a", "b"}, values = {0, -1}, logy = true}, "bars_log_none")
    T.ok(gp:find("no positive values for the log axis", 1, true), "no note")
  end)

  T.test("a histogram with nothing counted: the axes, saying so (log y too)", function()
    local gp = save(P.histogram{logy = true, series = {{label = "e", values = {0 / 0}}}},
      "hist_nan_log")
    T.ok(gp:find("no finite values", 1, true), "no note")
    gp = save(P.histogram{range = {10, 20}, logy = true, series = {{values = {1, 2}}}},
      "hist_out")
    T.ok(gp:find("no values in range", 1, true), "no note")
    gp = save(P.histogram{series = {{values = {}}}}, "hist_empty")
    T.ok(gp:find("no finite values", 1, true), "an empty panel without a note")
  end)

  T.test("a log y axis draws no band for a series at 0 (no fill from the floor down)",
    function()
    -- task 6's L2 penalty of l2 = 0 is 0 with a band of 0: its band was
    -- filled from the least positive value (90 here) to the bottom of the
    -- axis, a blue area standing for no data
    save(P.lines{logy = true, series = {{label = "zero", y = {0, 0, 0}, err = {0, 0, 0}},
      {label = "pos", y = {100, 100, 100}, err = {10, 10, 10}}}}, "logy_band0")
    local img = wb.image.load(dir .. "/logy_band0.png")
    local s = img:shape()
    local row, tinted, n = math.floor(s[1] * 0.8), 0, 0
    for c = math.floor(s[2] * 0.3), math.floor(s[2] * 0.6) do
      n = n + 1
      if img:get(row, c) < 0.95 then tinted = tinted + 1 end
    end
    T.ok(tinted < 0.2 * n, string.format("%d of %d pixels below the data tinted", tinted, n))
  end)

  T.test("lines: a series like = j is dashed in series j's colour (a threshold of j's)",
    function()
    local p = P.lines{series = {{label = "a", y = {1, 2}}, {label = "b", y = {2, 1}},
      {label = "a: its line", y = {1.5, 1.5}, like = 1}}}
    local gp = save(p, "like")
    T.ok(gp:find("using 1:4 with lines lt 1 dt 2 title 'a: its line'", 1, true), gp)
    T.ok(gp:find("using 1:3 with linespoints lt 2 title 'b'", 1, true), "b keeps its colour")
    T.check_error("series[1].like: expected the index of another series (1..1), got 1", P.lines,
      {series = {{y = {1}, like = 1}}})
    T.check_error("series[2].like: expected the index of another series (1..2), got 3", P.lines,
      {series = {{y = {1}}, {y = {1}, like = 3}}})
  end)

  T.test("a heatmap thinning its tics keeps the labels it was given, skipping blanks",
    function()
    -- 21 columns labelled every 5th (-1, -0.5, 0, 0.5, 1), too narrow for
    -- every one: thinned to every 3rd cell, 2 of the 5 labels were left
    local z, xl = {}, {}
    for i = 1, 21 do
      xl[i] = (i - 1) % 5 == 0 and string.format("%.2g", -1 + (i - 1) / 10) or ""
      z[i] = {}
      for j = 1, 21 do z[i][j] = i + j end
    end
    local gp = save(P.heatmap{z = z, xlabels = xl, size = {600, 400}}, "heat_tics")
    local tics = gp:match("set xtics (%b())")
    for _, want in ipairs{"'-1' 1", "'-0.5' 6", "'0' 11", "'0.5' 16", "'1' 21"} do
      T.ok(tics and tics:find(want, 1, true), want .. " missing: " .. tostring(tics))
    end
  end)

  T.test("a legend of wide letters fits in the figure (task 7's 'SGD+momentum 0.9')",
    function()
    -- gnuplot sizes the key by an average letter: the 9 was cut at the edge
    local s = {}
    for i, l in ipairs{"SGD lr=0.01", "SGD+momentum 0.9", "Adam", "AdamW wd=0.004"} do
      s[i] = {label = l, y = {i, i + 1}}
    end
    save(P.lines{series = s}, "key_wide")
    local img = wb.image.load(dir .. "/key_wide.png")
    local sh, ink = img:shape(), 0
    for r = 1, sh[1] do
      for c = sh[2] - 3, sh[2] do if img:get(r, c) < 0.8 then ink = ink + 1 end end
    end
    T.eq(ink, 0, "ink in the figure's last 4 pixel columns: the legend is cut")
  end)

  T.test("a log-count histogram shows its bins of 1: the axis starts below the least count",
    function()
    -- gnuplot's own log axis started at 1, where a bin of 1 has no height:
    -- the extreme weights of task 10's histogram were not seen
    local v = {-1}
    for i = 1, 300 do v[#v + 1] = (i % 7) / 7 end
    local gp = save(P.histogram{logy = true, bins = 10, series = {{values = v}}}, "hist_log1")
    T.ok(gp:find("set yrange [0.1:*]", 1, true), "the axis starts at 1: a bin of 1 is flat")
    gp = save(P.histogram{logy = true, series = {{values = {1, 1, 2, 2}}}, bins = 2}, "hist_log2")
    T.ok(gp:find("set yrange [1:*]", 1, true), "least count 2: from 1")
    local _, out, err = T.sh("cd " .. dir .. " && gnuplot hist_log1.gp")
    T.eq(out .. err, "", "gnuplot said")
  end)
end

T.test("bars with no values: the message says at least one is expected", function()
  T.check_error("wb.plot.bars: values: expected at least one value", P.bars,
    {labels = {}, values = {}})
  T.check_error("series[2].values: expected 2 values, got 1", P.bars,
    {series = {{values = {1, 2}}, {values = {1}}}})
end)

-- {====================================================== command line

T.test("workbench -h NAME with more arguments: a usage error naming them", function()
  local st, out, err = T.sh("./workbench -h wb.zeros extra")
  T.eq(st, 64, "status")
  T.ok(err:find("unexpected argument 'extra'", 1, true), err)
  T.eq(out, "", "help printed anyway")
  st, _, err = T.sh("./workbench -h -- x.lua")
  T.eq(st, 64, "status after --")
  T.ok(err:find("'x.lua'", 1, true), err)
  st = T.sh("./workbench -h wb.zeros")
  T.eq(st, 0, "plain -h NAME")
end)

T.test("a missing module or file is named at the script's line, not inside wb", function()
  local script = dir .. "/req.lua"
  local fh = assert(io.open(script, "w"))
  fh:write("local x = 1\nrequire 'no_such_module_xyz'\n")
  fh:close()
  local st, _, err = T.sh("./workbench " .. script)
  T.eq(st, 1)
  T.ok(err:find("req.lua:2: module 'no_such_module_xyz' not found", 1, true), err:sub(1, 300))
  T.ok(not err:match("^[^\n]*identity_reads"), err:sub(1, 300))
  -- io.lines, io.open's mode and require's argument, as in lua5.4
  for chunk, want in pairs{
    ["io.lines('/no/such/file')"] = "(command line):1: cannot open file '/no/such/file'",
    ["io.open('/tmp/x', 'zz')"] = "(command line):1: bad argument #2 to 'open' (invalid mode)",
    ["require({})"] = "(command line):1: bad argument #1 to 'require'",
  } do
    local s2, _, e2 = T.sh("./workbench -e " .. string.format("%q", chunk))
    T.eq(s2, 1, chunk)
    T.ok(e2:find(want, 1, true), chunk .. ": " .. e2:sub(1, 300))
  end
  -- an error inside a module still names the module's own line
  local mod = dir .. "/badmod.lua"
  fh = assert(io.open(mod, "w"))
  fh:write("error('inside the module')\n")
  fh:close()
  local ok, e3 = pcall(dofile, mod)
  T.ok(not ok and tostring(e3):find("badmod.lua:1: inside the module", 1, true), tostring(e3))
  package.path = dir .. "/?.lua;" .. package.path
  T.check_error("badmod.lua:1: inside the module", require, "badmod")
  -- pcall(require, ...) still returns the message
  local ok2, e4 = pcall(require, "no_such_module_xyz")
  T.ok(not ok2 and e4:find("^module 'no_such_module_xyz' not found"), tostring(e4))
end)

-- {====================================================== help

T.test("help of a long string or of an object whose tostring fails", function()
  local t, msg = wb.help.text(string.rep("x", 5000))
  T.eq(t, nil)
  T.ok(#msg < 200, "a message of " .. #msg .. " bytes")
  local bad = setmetatable({}, {__tostring = function() error("no text") end})
  t, msg = wb.help.text(bad)
  T.eq(t, nil)
  T.eq(msg, "no help for table")
end)

T.done()
