-- test_plot_smooth.lua: wb.plot.lines{smooth = k} and wb.Runs:plot_curves'
-- smooth option: a noisy per-step series drawn faint as given, bold as its
-- running mean over k points (task 11's 5000 steps at three rates had
-- overlapped into one band of colour).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local P = wb.plot

if os.execute("command -v gnuplot >/dev/null 2>&1") ~= true then
  T.skip("smooth", "gnuplot not installed")
  T.done()
end
local dir = T.tmpdir()
local slurp = require("wb.util").read_file

local function near(a, b, what)
  T.ok(math.abs(a - b) < 1e-6, string.format("%s: expected %.9g, got %.9g", what, b, a))
end

T.test("lines smooth = k: the CSV holds each series and its centred, NaN-aware running "
    .. "mean (its window shrunk at the ends to stay centred); the band is its edges' running "
    .. "mean; a gap stays a gap", function()
  local nan = 0 / 0
  local p = P.lines{smooth = 3, err_is = "sd", series = {
    {label = "a", y = {1, 2, 6, nan, 4, 8}, err = {1, 1, 1, 1, 1, 1}},
    {label = "t", x = {1, 6}, y = {5, 5}, like = 1}}}
  p:save(dir .. "/s.png")
  local rows = T.csv_rows(dir .. "/s.csv")
  T.eq(table.concat(rows[1], ","), "a x,a,a mean 3,a mean 3 lo,a mean 3 hi,t x,t")
  -- windows {1} {1,2,6} {2,6,-} {gap} {-,4,8} {8}: centred, shrunk at the ends
  local want = {1, 3, 4, nan, 6, 8}
  for j, w in ipairs(want) do
    local got = tonumber(rows[j + 1][3])
    if w ~= w then T.eq(rows[j + 1][3], "NaN", "row " .. j)
    else
      near(got, w, "mean at " .. j)
      near(tonumber(rows[j + 1][4]), w - 1, "lo at " .. j)
      near(tonumber(rows[j + 1][5]), w + 1, "hi at " .. j)
    end
  end
  T.eq(rows[5][4], "NaN"); T.eq(rows[5][5], "NaN")
  local gp = slurp(dir .. "/s.gp")
  T.ok(gp:find("using 1:2 with lines lc rgb '#B30072B2' lw 1 notitle", 1, true),
    "the series as given, faint in its colour: " .. gp)
  T.ok(gp:find("using 1:3 with linespoints lt 1 title 'a'", 1, true), "its mean, bold: " .. gp)
  T.ok(gp:find("using 1:(column(4)):(column(5)) with filledcurves", 1, true), "band: " .. gp)
  T.ok(gp:find("using 6:7 with lines lt 1 dt 2 title 't'", 1, true), "like: as it was")
  T.eq(select(2, gp:gsub("notitle", "")), 2, "one band, one faint line")
end)

T.test("lines smooth: a window of fewer than 2 points or not an integer is refused", function()
  for _, k in ipairs{1, 0, 2.5, "3"} do
    T.check_error("smooth: expected a window of at least 2 points (an integer), got "
      .. tostring(k), P.lines, {smooth = k, series = {{y = {1, 2}}}})
  end
end)

T.test("lines smooth_by = \"median\": the running median of the window's finite values, "
    .. "not pulled by a huge value; equal to a sort of each window on random data", function()
  local nan = 0 / 0
  local p = P.lines{smooth = 3, smooth_by = "median", series = {
    {label = "a", y = {1, 2, 6, nan, 4, 1000, 5, 7}}}}
  p:save(dir .. "/m.png")
  local rows = T.csv_rows(dir .. "/m.csv")
  T.eq(table.concat(rows[1], ","), "x,a,a median 3")
  -- windows {1} {1,2,6} {2,6,-} {gap} {-,4,1000} {4,1000,5} {1000,5,7} {7}
  local want = {1, 2, 4, nan, 502, 5, 7, 7}
  for j, w in ipairs(want) do
    if w ~= w then T.eq(rows[j + 1][3], "NaN", "row " .. j)
    else near(tonumber(rows[j + 1][3]), w, "median at " .. j) end
  end
  -- against the definition: each window's finite values sorted (odd and even k)
  local sm = require "wb.plot.smooth"
  local v, seed = {}, 7
  for i = 1, 300 do
    seed = (seed * 1103515245 + 12345) % 2147483648
    v[i] = seed % 17 == 0 and nan or (seed % 1000) / 7
  end
  for _, k in ipairs{2, 5, 10, 101, 400} do
    local got = sm.median(v, k)
    for j = 1, #v do
      local before = (k - 1) // 2
      local a, b = j - before, j + (k - 1 - before)
      if a < 1 then a, b = 1, b - (1 - a) end
      if b > #v then a, b = a + (b - #v), #v end
      a, b = math.min(math.max(a, 1), j), math.max(math.min(b, #v), j)
      local w = {}
      for i = a, b do if v[i] == v[i] then w[#w + 1] = v[i] end end
      table.sort(w)
      local m = #w
      local want = (v[j] ~= v[j] or m == 0) and nan
        or (m % 2 == 1 and w[(m + 1) // 2] or (w[m // 2] + w[m // 2 + 1]) / 2)
      if want ~= want then T.ok(got[j] ~= got[j], string.format("k %d at %d: NaN", k, j))
      elseif got[j] ~= want then T.eq(got[j], want, string.format("k %d at %d", k, j)) end
    end
  end
  T.check_error('smooth_by: expected "mean" or "median", got mode', P.lines,
    {smooth = 3, smooth_by = "mode", series = {{y = {1, 2}}}})
  T.check_error("smooth_by: given without smooth = k", P.lines,
    {smooth_by = "median", series = {{y = {1, 2}}}})
end)

T.test("plot_curves smooth = k: the mean over seeds drawn as given and smoothed, the title "
    .. "says the window", function()
  local function rec(seed)
    local st = {step = {}, epoch = {}, loss = {}}
    for i = 1, 20 do st.step[i] = i; st.epoch[i] = 1; st.loss[i] = (i % 2) + seed end
    return {hash = string.format("%016x", seed), task = "t", variant = "a", seed = seed,
      config = {seed = seed}, status = "ok", history = {loss = {0.5}, epochs = 1, steps = st},
      metrics = {test_accuracy = 0.9}}
  end
  local rs = wb.runs.Runs{rec(1), rec(2)}
  local p = rs:plot_curves("loss", {x = "step", smooth = 4})
  T.ok(p.d.title:find("bold: running mean of 4 points", 1, true), p.d.title)
  p:save(dir .. "/c.png")
  local rows = T.csv_rows(dir .. "/c.csv")
  T.eq(table.concat(rows[1], ","), "step,a,a mean 4,a mean 4 lo,a mean 4 hi,a n")
  near(tonumber(rows[11][2]), 1.5, "step 10 as given: the mean of seeds 1 and 2")
  near(tonumber(rows[11][3]), 2, "step 10: steps 9 to 12 averaged")
  T.check_error("unknown", function() rs:plot_curves("loss", {x = "step", smoothe = 4}) end)
  p = rs:plot_curves("loss", {x = "step", smooth = 4, smooth_by = "median"})
  T.ok(p.d.title:find("bold: running median of 4 points", 1, true), p.d.title)
end)

T.done()
