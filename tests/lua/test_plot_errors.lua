-- test_plot_errors.lua: wb.plot's errors and gnuplot's failures.
--
-- Bad options, data and paths are Lua errors naming them (a control
-- character in a path shown escaped); a failing gnuplot is a Lua error
-- quoting it that leaves no partial PNG, a missing gnuplot gives the install
-- hint, a hung gnuplot is killed after wb.plot.timeout seconds; :show()
-- draws on the terminal. The figures themselves are test_plot.lua.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local P = wb.plot

local have_gnuplot = os.execute("command -v gnuplot >/dev/null 2>&1") == true
if not have_gnuplot then
  T.skip("plot errors", "gnuplot not installed")
  T.done()
end

local dir = T.tmpdir()
local slurp = require("wb.util").read_file -- the file's bytes, nil when absent

local function exists(path) return slurp(path) ~= nil end

T.test("errors: options, data, paths", function()
  local err = T.check_error("unknown option 'colour'", P.lines,
    {colour = 1, series = {{y = {1}}}})
  T.ok(err:find("wb.plot.lines:", 1, true) and err:find("xlabel", 1, true), err)
  T.check_error("series[2].err: expected 2 values (as y), got 1", P.lines,
    {series = {{y = {1, 2}}, {y = {1, 2}, err = {1}}}})
  T.check_error("series[1]: unknown option 'z'", P.lines, {series = {{y = {1}, z = 1}}})
  T.check_error("series: expected a non-empty array", P.lines, {series = {}})
  T.check_error("series[1].y[2]: expected a number, got string", P.lines,
    {series = {{y = {1, "x"}}}})
  T.check_error("labels: expected 2 labels, got 3", P.bars,
    {values = {1, 2}, labels = {"a", "b", "c"}})
  T.check_error("give either values/err or series", P.bars,
    {values = {1}, series = {{values = {1}}}})
  T.check_error("z: row 2 has 1 values, expected 2", P.heatmap, {z = {{1, 2}, {3}}})
  T.check_error("format: expected one numeric conversion", P.heatmap,
    {z = {{1}}, format = "%s%n"})
  T.check_error("palette: expected one of sequential, diverging", P.heatmap,
    {z = {{1}}, palette = "jet"})
  T.check_error("bins: expected an integer", P.histogram, {series = {{values = {1}}}, bins = 0})
  T.check_error("not square; give h and w", P.images, {tiles = {{1, 2, 3}}})
  T.check_error("3 tiles do not fit in rows = 1 x cols = 2", P.images,
    {tiles = {{1}, {2}, {3}}, rows = 1, cols = 2})
  T.check_error("xrange: expected lo < hi", P.lines, {series = {{y = {1}}}, xrange = {2, 1}})
  T.check_error("plots[1]: expected a wb.plot object", P.panels, {plots = {{}}})
  T.check_error("expected a path ending in .png", P.lines{series = {{y = {1}}}}.save,
    P.lines{series = {{y = {1}}}}, dir .. "/x.pdf")
end)

T.test("save: a control character in the path is refused for that reason, shown escaped",
    function()
  local p = P.lines{series = {{y = {1}}}}
  local err = T.check_error("wb.plot: save: the path contains a newline: \"" .. dir ..
    "/a\\nb.png\"", p.save, p, dir .. "/a\nb.png")
  T.ok(not err:find("\n", 1, true), "the newline is echoed raw: " .. err)
  -- Refused for the newline even when the suffix is wrong too.
  T.check_error("the path contains a newline: \"x.png\\n\"", p.save, p, "x.png\n")
  T.check_error("the path contains a control character: \"a\\9b.png\"", p.save, p,
    "a\tb.png")
  T.check_error("expected a path ending in .png, got \"" .. dir .. "/x.pdf\"", p.save, p,
    dir .. "/x.pdf")
  T.check_error("bad argument #1 to 'save' (string expected, got nil)", p.save, p)
end)

T.test("a gnuplot failure is a Lua error quoting gnuplot; no partial PNG is left", function()
  local path = dir .. "/fail/f.png"
  P.lines{series = {{y = {1, 2}}}}:save(path)
  local good = slurp(path)
  local err = T.check_error("wb.plot: gnuplot failed", function()
    P.lines{series = {{y = {1, 2}}}, extra = "set bogus_option 3"}:save(path)
  end)
  T.ok(err:find("unrecognized option", 1, true), "quotes gnuplot: " .. err)
  T.ok(err:find("f.gp", 1, true), "names the script: " .. err)
  T.ok(good and not exists(path), "the previous PNG (another figure's) is not left beside the CSV")
  T.ok(slurp(dir .. "/fail/f.gp"):find("bogus_option", 1, true), "script kept")
  T.ok(exists(dir .. "/fail/f.csv"), "csv kept")
  local _, listing = T.sh("ls -A '" .. dir .. "/fail'")
  T.eq(listing, "f.csv\nf.gp\n", "no temporary files left")
end)

T.test("a missing gnuplot gives the install hint (field and WB_GNUPLOT)", function()
  local saved = P.gnuplot
  P.gnuplot = dir .. "/no/such/gnuplot"
  local ok, err = pcall(function() P.lines{series = {{y = {1}}}}:save(dir .. "/miss/m.png") end)
  P.gnuplot = saved
  T.ok(not ok, "raised")
  T.ok(err:find("gnuplot not found", 1, true) and err:find("apt-get install gnuplot-nox", 1, true)
    and err:find("make deps", 1, true), err)
  T.ok(exists(dir .. "/miss/m.gp") and not exists(dir .. "/miss/m.png"), "script kept, no PNG")
  local st, _, serr = T.sh("WB_GNUPLOT=/nonexistent/gp " .. T.wb
    .. " -e 'wb.plot.lines{series = {{y = {1}}}}:save(\"" .. dir .. "/miss/e.png\")'")
  T.ok(st ~= 0 and serr:find("apt-get install gnuplot-nox", 1, true), serr)
end)

T.test("a hung gnuplot is killed after wb.plot.timeout seconds", function()
  -- the fake may be killed before it ran a line (a loaded machine): it is
  -- looked for by its sleep's length, one of this process's own, not by a
  -- pid it may not have written yet
  local fake, nap = dir .. "/slowplot", T.sleep_mark(30)
  local fh = assert(io.open(fake, "w"))
  fh:write("#!/bin/sh\nexec sleep " .. nap .. "\n")
  fh:close()
  os.execute("chmod +x '" .. fake .. "'")
  local saved_g, saved_t = P.gnuplot, P.timeout
  P.gnuplot, P.timeout = fake, 1
  local ok, err = pcall(function() P.lines{series = {{y = {1}}}}:save(dir .. "/slow/s.png") end)
  P.gnuplot, P.timeout = saved_g, saved_t
  T.ok(not ok and err:find("timed out after 1 s", 1, true), tostring(err))
  local _, left = T.sh("(pgrep -fx 'slee[p] " .. nap .. "' || true)")
  T.eq(left, "", "the hung gnuplot is still running")
  T.ok(not exists(dir .. "/slow/s.png"), "no PNG")
end)

T.test(":show() draws on the terminal (dumb) and returns self", function()
  local st, out, err = T.sh(T.wb .. " -e 'local p = wb.plot.lines{title = \"SHOWME\", "
    .. "series = {{label = \"curve\", y = {1, 3, 2}}}} assert(p:show{width = 60, "
    .. "height = 15} == p)'")
  T.eq(st, 0, err)
  T.ok(out:find("SHOWME", 1, true) and out:find("curve", 1, true), out)
  local n = 0
  for _ in out:gmatch("\n") do n = n + 1 end
  T.ok(n >= 14 and n <= 16, "15 lines, got " .. n)
  T.ok(not out:find("\f", 1, true), "no form feed (a pager showed ^L, tryM 15)")
end)

T.done()
