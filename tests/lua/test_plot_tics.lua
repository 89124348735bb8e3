-- test_plot_tics.lua: wb.plot.lines' integer x tics (wb/plot/lines.lua):
-- as many as fit in the graph beside the key, not always about ten (task
-- 12's lambda_max panel ran its labels into one another, "80100120140").
local T = dofile("tests/lua/harness.lua")
local P = wb.plot
local slurp = require("wb.util").read_file
local dir = T.tmpdir()
if os.execute("command -v gnuplot >/dev/null 2>&1") ~= true then
  T.skip("integer x tics", "gnuplot not installed")
  T.done()
end

T.test("integer x tics: as many as fit beside the key (a panel's 0..200 every 50)", function()
  local function ser(label, k)
    local x, y = {}, {}
    for i = 0, 200, k do x[#x + 1] = i; y[#y + 1] = i / 100 end
    return {label = label, x = x, y = y}
  end
  local narrow = P.lines{series = {ser("lr = 0.1", 10), ser("2/lr = 20 (above the plot)", 200)}}
  local wide = P.lines{series = {ser("x", 1)}}
  P.panels{plots = {narrow, wide}}:save(dir .. "/tics/p.png")
  wide:save(dir .. "/tics/w.png")
  local gp = slurp(dir .. "/tics/p.gp")
  local steps = {}
  for step in gp:gmatch("set xtics (%d+)\n") do steps[#steps + 1] = tonumber(step) end
  -- a cell of 620 px beside a key of 26 characters: 5 tics of 0 to 200, not 11
  T.eq(table.concat(steps, ","), "50,20", gp)
  T.ok(slurp(dir .. "/tics/w.gp"):find("set xtics 20\n", 1, true), "a whole figure: 11 tics")
end)

T.test("a key too wide for the graph's right goes below it, the title over the whole width",
  function()
  -- wb.runs' labels naming what differs pushed the key off the canvas and
  -- the graph to a sliver, and wrapped the title into one-word lines (tryM 4)
  local long = {}
  for i = 1, 12 do
    long[i] = {label = ("hidden=%d [dataset=mnist, epochs=2, identity.data=d339%04d]"):format(
      16 * i, i), x = {1, 2, 3}, y = {1 / i, 0.5 / i, 0.3 / i}}
  end
  P.lines{title = "val_loss of my_width (12 runs)", series = long}:save(dir .. "/key/l.png")
  local gp = slurp(dir .. "/key/l.gp")
  T.ok(gp:find("set key below", 1, true), gp)
  T.ok(gp:find("set title 'val_loss of my_width (12 runs)' font", 1, true), "one line: " .. gp)
  P.lines{title = "t", series = {{label = "lr = 0.1", y = {1, 2}}}}:save(dir .. "/key/s.png")
  T.ok(not slurp(dir .. "/key/s.gp"):find("set key below", 1, true), "a short key stays right")
end)

T.done()
