-- test_plot.lua: wb.plot (figures through gnuplot).
--
-- Every kind saves name.png + name.csv + name.gp; the PNG is checked from
-- its bytes (signature, IHDR size) and, when wb.image.load exists, for not
-- being blank; the .gp re-renders the same PNG with gnuplot alone. Also:
-- hostile text is drawn, never executed. Errors (options, data, paths) and
-- gnuplot failures (failing, missing, hung) are test_plot_errors.lua.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local P = wb.plot

local have_gnuplot = os.execute("command -v gnuplot >/dev/null 2>&1") == true
local dir = T.tmpdir()

-- {====================================================== helpers

local slurp = require("wb.util").read_file -- the file's bytes, nil when absent

local function exists(path) return slurp(path) ~= nil end

-- PNG width, height from the signature and the IHDR chunk; raises if the
-- bytes are not a PNG.
local function png_size(path)
  local s = assert(slurp(path), "missing " .. path)
  T.eq(s:sub(1, 8), "\137PNG\r\n\26\n", path .. ": PNG signature")
  T.eq(s:sub(13, 16), "IHDR", path .. ": first chunk")
  local w, h = string.unpack(">I4>I4", s, 17)
  return w, h, #s
end

-- Checks the three files of a saved plot and returns PNG width, height.
local function check_saved(path)
  local base = path:sub(1, -5)
  T.ok(exists(base .. ".csv"), "csv written")
  T.ok(exists(base .. ".gp"), "gp written")
  local w, h, n = png_size(path)
  T.ok(n > 1000, "PNG has content")
  if wb.image and wb.image.load then
    local img = wb.image.load(path)
    T.ok(img:std() > 0.01, "PNG is not blank (std " .. img:std() .. ")")
  end
  return w, h
end

local function lines_in(s)
  local n = 0
  for _ in s:gmatch("[^\n]*\n") do n = n + 1 end
  return n
end

local function ramp(n, f)
  local t = {}
  for i = 1, n do t[i] = f(i) end
  return t
end

local function skip_all(reason)
  for _, name in ipairs({"lines", "bars", "heatmap", "histogram", "images", "panels"}) do
    T.skip(name, reason)
  end
end

-- }======================================================

if not have_gnuplot then
  skip_all("gnuplot not installed")
  T.done()
end

T.test("lines: png, csv (header, NaN, shared x), gp; save returns self and path", function()
  local p = P.lines{title = "Loss", xlabel = "epoch", ylabel = "loss",
    series = {{label = "train", y = {0.9, 0.5, 0.3, 0.2}},
              {label = "val", y = {1.0, 0.7, 0 / 0, 0.45}, err = {0.1, 0.05, 0.05, 0.04}}}}
  local path = dir .. "/lines/loss.png"
  local self, ret = p:save(path)
  T.eq(self, p, "returns self")
  T.eq(ret, path, "returns the path")
  local w, h = check_saved(path)
  T.eq(w, P.style.size[1]); T.eq(h, P.style.size[2])
  local csv = slurp(dir .. "/lines/loss.csv")
  T.eq(csv:match("^[^\n]*"), "epoch,train,val,val err")
  T.ok(csv:find("\n3,0.3,NaN,0.05\n", 1, true), "NaN written as NaN: " .. csv)
  T.eq(lines_in(csv), 5)
  T.eq(tostring(p), 'Plot(lines, "Loss")')
end)

T.test("lines: separate x per series, infinities, tensors, logy, ranges", function()
  local y = wb.tensor({1, 10, 100, math.huge})
  local p = P.lines{series = {{label = "a", x = {1, 2, 3, 4}, y = y},
                              {label = "b", x = {0.5, 1.5}, y = {2, 3}}},
                    logy = true, xrange = {0, 5}, yrange = {0.5, nil}, points = false}
  p:save(dir .. "/lines/x.png")
  check_saved(dir .. "/lines/x.png")
  local csv = slurp(dir .. "/lines/x.csv")
  T.eq(csv:match("^[^\n]*"), "a x,a,b x,b")
  T.ok(csv:find("\n4,NaN,NaN,NaN\n", 1, true), "inf and padding as NaN: " .. csv)
  local gp = slurp(dir .. "/lines/x.gp")
  T.ok(gp:find("set logscale y", 1, true) and gp:find("set xrange [0:5]", 1, true)
    and gp:find("set yrange [0.5:*]", 1, true), "log and ranges in the script")
  T.ok(gp:find("set format y '%g'", 1, true) and not gp:find("set format x", 1, true),
    "the log axis's ticks as %g (not 100.000000), the linear one left alone")
end)

T.test("lines: lo/hi bands; a log axis spans the data's decades, bands cannot stretch it",
  function()
  local p = P.lines{logy = true, series = {
    {label = "a", y = {1, 2, 3}, err = {2, 0.5, 0.5}},
    {label = "b", y = {0.5, 1, 4}, lo = {0.4, 0.8, 3}, hi = {0.6, 1.2, 5}}}}
  p:save(dir .. "/lines/band.png")
  check_saved(dir .. "/lines/band.png")
  T.eq(slurp(dir .. "/lines/band.csv"):match("^[^\n]*"), "x,a,a err,b,b lo,b hi")
  local gp = slurp(dir .. "/lines/band.gp")
  -- 1 - 2 < 0: drawn at the smallest positive value (0.4, b's lowest edge)
  T.ok(gp:find("(column(2)-column(3) <= 0.4 ? 0.4 : column(2)-column(3))", 1, true), gp)
  T.ok(gp:find("(column(5) <= 0.4 ? 0.4 : column(5))):(column(6))", 1, true), gp)
  T.ok(gp:find("set offsets graph 0.02, graph 0.02, 0, 0", 1, true),
    "no y margin on a log axis (it would cost a decade each side)")
  local lin = P.lines{series = {{y = {1, 2}, err = {2, 1}}}}
  lin:save(dir .. "/lines/band_lin.png")
  local gl = slurp(dir .. "/lines/band_lin.gp")
  T.ok(gl:find("(column(2)-column(3)):(column(2)+column(3))", 1, true), "linear: as it is")
  T.ok(gl:find("graph 0.03, graph 0.03", 1, true), "linear: the y margin stays")
  T.check_error("series[1]: lo and hi go together", P.lines, {series = {{y = {1}, lo = {0}}}})
  T.check_error("series[1]: err or lo and hi, not both", P.lines,
    {series = {{y = {1}, err = {1}, lo = {0}, hi = {2}}}})
  T.check_error("series[1].hi: expected 1 values (as y), got 2", P.lines,
    {series = {{y = {1}, lo = {0}, hi = {2, 3}}}})
end)

T.test("non-finite data is drawn as gaps, never an error (even all of it)", function()
  local nan, inf = 0 / 0, math.huge
  local figs = {
    lines = P.lines{series = {{label = "diverged", y = {nan, inf, -inf}, err = {1, nan, 1}}},
                    logy = true},
    heat = P.heatmap{z = {{nan, 1}, {inf, 2}}},
    heat_all = P.heatmap{z = {{nan, nan}, {nan, nan}}},
    hist = P.histogram{series = {{label = "x", values = {nan, inf}}}},
    img = P.images{tiles = {{nan, 1, 2, 3}, {nan, nan, nan, nan}}},
    bars = P.bars{values = {nan, 1}, err = {inf, 0.1}},
  }
  for name, p in pairs(figs) do
    p:save(dir .. "/nan/" .. name .. ".png")
    png_size(dir .. "/nan/" .. name .. ".png")
  end
  T.ok(slurp(dir .. "/nan/lines.gp"):find("no finite values", 1, true), "says so")
  T.ok(slurp(dir .. "/nan/heat.csv"):find("\n2,1,NaN,", 1, true), "inf cell as NaN")
end)

T.test("bars: single with error bars, grouped series, CSV quoting", function()
  local p = P.bars{title = "Accuracy", ylabel = "accuracy",
    labels = {"sgd", 'adam, "fast"', "rmsprop"}, values = {0.95, 0.98, 0.97},
    err = {0.01, 0.005, 0.02}}
  p:save(dir .. "/bars/single.png")
  check_saved(dir .. "/bars/single.png")
  local csv = slurp(dir .. "/bars/single.csv")
  T.eq(csv, 'label,value,value err\nsgd,0.95,0.01\n"adam, ""fast""",0.98,0.005\n'
    .. "rmsprop,0.97,0.02\n")
  P.bars{labels = {"64", "128"}, series = {{label = "relu", values = {0.9, 0.95}},
    {label = "tanh", values = wb.tensor({0.85, 0.9}), err = {0.01, 0.02}}}}
    :save(dir .. "/bars/grouped.png")
  check_saved(dir .. "/bars/grouped.png")
  T.eq(slurp(dir .. "/bars/grouped.csv"):match("^[^\n]*"), "label,relu,tanh,tanh err")
end)

T.test("err_is names the CSV's error columns (an 'err' column once left sd and CI apart)",
  function()
  P.bars{labels = {"a"}, values = {1}, err = {0.1}, err_is = "sd"}:save(dir .. "/bars/sd.png")
  T.eq(slurp(dir .. "/bars/sd.csv"), "label,value,value sd\na,1,0.1\n")
  P.lines{series = {{label = "v", y = {1, 2}, err = {0.1, 0.2}}}, err_is = "ci95"}
    :save(dir .. "/lines/ci.png")
  T.eq(slurp(dir .. "/lines/ci.csv"):match("^[^\n]*"), "x,v,v ci95")
  T.check_error("err_is: expected a string, got table", P.lines,
    {series = {{y = {1}}}, err_is = {}})
  -- wb.Runs:plot_curves says which: a 95 % CI of the mean over epochs
  local r = {hash = "0000000000000001", task = "t", variant = "v", seed = 1, status = "ok",
    config = {seed = 1}, history = {loss = {1, 0.5}}, metrics = {}}
  local r2 = {hash = "0000000000000002", task = "t", variant = "v", seed = 2, status = "ok",
    config = {seed = 2}, history = {loss = {0.9, 0.4}}, metrics = {}}
  wb.runs.Runs{r, r2}:plot_curves("loss"):save(dir .. "/lines/curves.png")
  -- (after its "# " lines of provenance; with the seeds each point averages, n)
  T.eq(slurp(dir .. "/lines/curves.csv"):match("\n([^#\n][^\n]*)"), "epoch,v,v ci95,v n")
end)

T.test("heatmap: 10x10 confusion matrix from a tensor, counts in cells", function()
  local z, labels = {}, {}
  for r = 1, 10 do
    z[r] = {}
    labels[r] = tostring(r - 1)
    for c = 1, 10 do z[r][c] = r == c and 950 + r or (r * c) % 7 end
  end
  local p = P.heatmap{title = "Confusion", z = wb.tensor(z), xlabels = labels,
    ylabels = labels, xlabel = "predicted", ylabel = "true"}
  p:save(dir .. "/heat/cm.png")
  check_saved(dir .. "/heat/cm.png")
  local csv = slurp(dir .. "/heat/cm.csv")
  T.eq(lines_in(csv), 101)
  T.ok(csv:find("\n1,1,951,0,0\n", 1, true), "cell (1,1)")
  local gp = slurp(dir .. "/heat/cm.gp")
  T.ok(gp:find("with labels tc rgb variable", 1, true), "counts drawn")
  T.ok(gp:find("'%.0f'", 1, true), "integer format for counts")
  -- A diverging, non-integer map without counts.
  P.heatmap{z = {{-1.5, 0.2}, {0.3, 2}}, palette = "diverging", counts = false}
    :save(dir .. "/heat/div.png")
  T.ok(not slurp(dir .. "/heat/div.gp"):find("with labels", 1, true), "counts off")
  T.ok(slurp(dir .. "/heat/div.gp"):find("set cbrange [-2:2]", 1, true), "symmetric range")
end)

T.test("histogram: tensor values, common bins, non-finite skipped", function()
  local a = ramp(1000, function(i) return math.sin(i) end)
  local b = ramp(500, function(i) return 0.5 * math.cos(i) end)
  b[1] = 0 / 0
  local p = P.histogram{title = "Weights", bins = 20,
    series = {{label = "a", values = wb.tensor(a)}, {label = "b", values = b}}}
  p:save(dir .. "/hist/w.png")
  check_saved(dir .. "/hist/w.png")
  local csv = slurp(dir .. "/hist/w.csv")
  T.eq(csv:match("^[^\n]*"), "bin_lo,bin_hi,a,b (1 non-finite skipped)")
  T.eq(lines_in(csv), 21)
  local sa, sb = 0, 0
  for l in csv:gmatch("\n([^\n]+)") do
    local x, y = l:match("^[^,]+,[^,]+,([^,]+),(.+)$")
    sa, sb = sa + tonumber(x), sb + tonumber(y)
  end
  T.eq(sa, 1000, "every value of a counted once")
  T.eq(sb, 499, "the NaN of b skipped")
  p = P.histogram{series = {{values = {1, 1, 1}}}, density = true, bins = 4}
  p:save(dir .. "/hist/one.png")
  check_saved(dir .. "/hist/one.png")
end)

T.test("images: [n,784] diverging weights 8x16 and [n,h,w] grey with captions", function()
  local t = {}
  for k = 1, 128 do
    t[k] = ramp(784, function(j) return math.sin(j * k / 97) * (k % 3 - 1 + 0.5) end)
  end
  local p = P.images{title = "weights", tiles = wb.tensor(t), rows = 8, cols = 16}
  p:save(dir .. "/img/w.png")
  local w, h = check_saved(dir .. "/img/w.png")
  T.ok(w > 900 and w < 1300 and h > 400 and h < 700, "grid size " .. w .. "x" .. h)
  T.ok(slurp(dir .. "/img/w.gp"):find("set cbrange [-1:1]", 1, true), "diverging")
  local csv = slurp(dir .. "/img/w.csv")
  T.eq(csv:match("^[^\n]*"), "x,y,tile,value,scaled")
  -- Tile 1, pixel 1 is at 0,0; each tile is scaled by its own max |value|.
  local v, s = csv:match("\n0,0,1,([^,]+),([^\n]+)")
  local m = 0
  for j = 1, 784 do m = math.max(m, math.abs(t[1][j])) end
  T.near(tonumber(s), tonumber(v) / m, 1e-6, "scaled by the tile's max |value|")
  local digits = {}
  for k = 1, 6 do
    local img = {}
    for r = 1, 12 do
      img[r] = ramp(10, function(c) return (r + c + k) % 5 == 0 and 255 or 0 end)
    end
    digits[k] = img
  end
  P.images{tiles = wb.tensor(digits), cols = 3,
    labels = {"7 -> 2", "a'b", "c\"d", "x", "y", "z"}}:save(dir .. "/img/d.png")
  check_saved(dir .. "/img/d.png")
  local gp = slurp(dir .. "/img/d.gp")
  T.ok(gp:find("set label 2 'a' . \"\\047\" . 'b'", 1, true), "captions as labels")
  T.ok(gp:find("set palette defined (0 '#FFFFFF', 1 '#000000')", 1, true), "grey")
end)

T.test("images: each tile scaled on its own (scaled column spans [0,1] per tile)", function()
  local tiles = {{0, 1, 2, 3}, {100, 200, 300, 400}}
  P.images{tiles = tiles, palette = "grey"}:save(dir .. "/img/s.png")
  local csv = slurp(dir .. "/img/s.csv")
  local lo, hi = {}, {}
  for tile, s in csv:gmatch("\n[^,]+,[^,]+,(%d+),[^,]+,([^\n]+)") do
    tile = tonumber(tile)
    if tile > 0 then
      lo[tile] = math.min(lo[tile] or 1, tonumber(s))
      hi[tile] = math.max(hi[tile] or 0, tonumber(s))
    end
  end
  for k = 1, 2 do T.eq(lo[k], 0); T.eq(hi[k], 1) end
end)

T.test("lines: a non-negative quantity near 0 starts its axis at 0, others are left alone",
    function()
  local function gp(series, extra)
    local o = {series = series}
    for k, v in pairs(extra or {}) do o[k] = v end
    P.lines(o):save(dir .. "/zero/p.png")
    return slurp(dir .. "/zero/p.gp")
  end
  local has = function(s) return s:find("set yrange [0:*]", 1, true) ~= nil end
  T.ok(has(gp{{label = "loss", y = {2.3, 1.1, 0.4}}}), "loss from 0")
  T.ok(has(gp{{label = "d", y = {0, 5, 18}, err = {0, 1, 2}}}), "distance with a band >= 0")
  T.ok(not has(gp{{label = "d", y = {0.5, 5, 18}, err = {1, 1, 2}}}), "a band below 0 is drawn")
  T.ok(not has(gp{{label = "alpha", y = {-0.3, 0.2, 0.5}}}), "negative values")
  T.ok(not has(gp{{label = "acc", y = {97.1, 97.8, 98.2}}}), "far from 0: the data's own range")
  T.ok(not has(gp({{label = "g", y = {0.1, 1, 10}}}, {logy = true})), "log axes")
  T.ok(not has(gp({{label = "l", y = {0.1, 1}}}, {yrange = {-1, 2}})), "the caller's range")
end)

T.test("a title longer than its figure is wide wraps at words, and the figure grows for it",
    function()
  local title = "MNIST-style preprocessing: the file, inverted, cropped to the ink, scaled "
    .. "to 20 px, centred by mass in 28x28"
  local tiles = wb.rand(2, 784) -- two 28x28 tiles, one above the other: 320 px wide
  P.images{title = "short", tiles = tiles, cols = 1, palette = "grey"}:save(dir .. "/wrap/a.png")
  P.images{title = title, tiles = tiles, cols = 1, palette = "grey"}:save(dir .. "/wrap/b.png")
  local gp = slurp(dir .. "/wrap/b.gp")
  local set = gp:match("\nset title '[^\n]*")
  T.ok(set, gp)
  local words, n = {}, 0
  for piece in set:gmatch("'([^']*)'") do
    if piece ~= ",13" then
      n = n + 1
      T.ok(#piece * 9 + 20 <= 320, "line " .. n .. " fits 320 px: " .. piece)
      words[#words + 1] = piece
    end
  end
  T.ok(n >= 3, "wrapped into " .. n .. " lines")
  T.eq(table.concat(words, " "), title, "every word kept, in order")
  if have_gnuplot then
    local _, ha = png_size(dir .. "/wrap/a.png")
    local _, hb = png_size(dir .. "/wrap/b.png")
    T.ok(hb >= ha + 20 * (n - 1), "taller by the extra lines: " .. ha .. " -> " .. hb)
  end
end)

T.test("panels: two plots side by side, index CSV and one CSV per panel", function()
  local a = P.lines{title = "loss", series = {{label = "train", y = {3, 2, 1}}}}
  local b = P.lines{title = "accuracy", series = {{label = "train", y = {0.5, 0.7, 0.8}}}}
  local c = P.heatmap{z = {{1, 2}, {3, 4}}}
  P.panels{title = "curves", cols = 3, plots = {a, b, c}}:save(dir .. "/pan/p.png")
  local w, h = check_saved(dir .. "/pan/p.png")
  T.ok(w > h * 2, "wide figure " .. w .. "x" .. h)
  T.eq(slurp(dir .. "/pan/p.csv"), "panel,kind,title,csv\n1,lines,loss,p-1.csv\n"
    .. "2,lines,accuracy,p-2.csv\n3,heatmap,,p-3.csv\n")
  for i = 1, 3 do T.ok(exists(dir .. "/pan/p-" .. i .. ".csv"), "panel csv " .. i) end
  T.ok(slurp(dir .. "/pan/p.gp"):find("set multiplot layout 1,3", 1, true), "multiplot")
  -- one panel's long title is wrapped to its 620 px, the figure taller by a
  -- line each: it was cut at both sides (tryM 5, --cockpit's dashboard)
  P.panels{title = ("word "):rep(40), plots = {a}}:save(dir .. "/pan/long.png")
  local head = slurp(dir .. "/pan/long.gp"):match("set multiplot[^\n]*")
  local _, breaks = head:gsub('"\\n"', "")
  T.eq(breaks, 3, head) -- 40 words, 12 a line
  T.eq(select(2, check_saved(dir .. "/pan/long.png")), 460 + 20 + 20 * 4)
end)

T.test("the .gp re-renders the PNG with gnuplot alone (same bytes), from any folder", function()
  for _, name in ipairs({"lines/loss", "bars/grouped", "heat/cm", "hist/w", "img/d", "pan/p"}) do
    local path = dir .. "/" .. name .. ".png"
    local before = slurp(path)
    os.remove(path)
    local folder, base = (dir .. "/" .. name):match("^(.*)/([^/]+)$")
    local st, _, err = T.sh("cd '" .. folder .. "' && gnuplot " .. base .. ".gp")
    T.eq(st, 0, "gnuplot " .. name .. ".gp: " .. err)
    T.eq(slurp(path), before, name .. ".png re-rendered identically")
  end
  os.remove(dir .. "/heat/cm.png")
  local st, _, err = T.sh("cd / && gnuplot '" .. dir .. "/heat/cm.gp'")
  T.eq(st, 0, err)
  T.eq(png_size(dir .. "/heat/cm.png"), P.style.size[2] + 120)
end)

T.test("hostile text is drawn, never executed (title, labels, legend, captions)", function()
  local hostile = {}
  local function bad(i, fmt)
    local f = dir .. "/pwned" .. i
    hostile[#hostile + 1] = {f, string.format(fmt, f)}
    return string.format(fmt, f)
  end
  local t1 = bad(1, 'x"; system("touch %s"); "')
  local t2 = bad(2, "x`touch %s`y")
  local t3 = bad(3, "x'; system('touch %s'); '")
  local t4 = bad(4, "a\nsystem('touch %s')\n")
  local t5 = bad(5, "@GPVAL_PWD ^{x}_y & {b} \\ $1 ; ! touch %s")
  local t6 = bad(6, "'\"`touch %s`\"'")
  P.lines{title = t1, xlabel = t2, ylabel = t3,
    series = {{label = t4, y = {1, 2}}, {label = t5, y = {2, 1}}}}:save(dir .. "/inj/l.png")
  P.bars{title = t6, labels = {t1, t2}, values = {1, 2}}:save(dir .. "/inj/b.png")
  P.heatmap{title = t3, z = {{1, 2}}, xlabels = {t4, t5}, ylabels = {t6}, xlabel = t1,
    ylabel = t2}:save(dir .. "/inj/h.png")
  P.histogram{title = t2, series = {{label = t3, values = {1, 2}}}}:save(dir .. "/inj/hi.png")
  P.images{title = t4, tiles = {{0, 1, 1, 0}}, labels = {t1}}:save(dir .. "/inj/i.png")
  P.panels{title = t2, plots = {P.lines{title = t1, series = {{y = {1, 2}}}}}}
    :save(dir .. "/inj/p.png")
  local n = 0
  for _, h in ipairs(hostile) do
    T.ok(not exists(h[1]), "created " .. h[1] .. " from " .. h[2])
    n = n + 1
  end
  T.eq(n, 6)
  check_saved(dir .. "/inj/l.png")
  -- Shell-hostile folder and file names.
  local odd = dir .. "/a b/c'd;$(touch " .. dir .. "/pwned7)/e`x`.png"
  P.lines{series = {{y = {1, 2}}}}:save(odd)
  check_saved(odd)
  T.ok(not exists(dir .. "/pwned7"), "shell name not executed")
end)

T.done()
