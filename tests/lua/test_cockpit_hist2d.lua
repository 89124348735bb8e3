-- test_cockpit_hist2d.lua: the cockpit figure's grad_hist_2d panel
-- (wb/cockpit_hist2d.lua), as Cockpit's dashboard has: with the fit's
-- grad_hist_2d measured, a last heatmap panel of the last measured step,
-- log10(1 + count) over every bin, the entries counted in its title;
-- without it, no such panel.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"
local dir = T.tmpdir()

-- 120 synthetic rows, 20 -> 16 -> 3, batch 10, one epoch: 12 steps
local function fit(instruments)
  wb.seed(3)
  local x = wb.randn(120, 20)
  local y = wb.new_tensor({120}, "uint8")
  for i = 1, 120 do y:set(i, i % 3) end
  local m = wb.nn.Sequential{wb.nn.Dense(20, 16, {activation = "relu"}),
    wb.nn.Dense(16, 3, {activation = "softmax"})}
  return m:fit(wb.data.Dataset(x, y, "synthetic"), {batch_size = 10, seed = 1,
    optimizer = wb.optim.SGD{lr = 0.1}, verbose = false, instruments = instruments, every = 5})
end

local function panels(h)
  return {{title = "loss", key = "loss", series = {{x = h.steps.step, y = h.steps.loss}}}}
end

T.test("with grad_hist_2d: a last panel of its last measured step, every entry counted",
  function()
  if not os.execute("command -v gnuplot >/dev/null 2>&1") then
    T.skip("grad_hist_2d panel", "no gnuplot")
    return
  end
  local h = fit{"loss", "grad_hist_2d"}
  local g = h.instruments.grad_hist_2d
  T.eq(g.step[#g.step], 11, "measured at 1, 6, 11")
  wb.cockpit.figure(panels(h), h):save(dir .. "/a/cockpit.png")
  local index = util.read_file(dir .. "/a/cockpit.csv")
  -- 10 rows x (20 * 16 + 16 + 16 * 3 + 3) entries
  T.ok(index:find('2,heatmap,"grad_hist_2d, step 11: log10(1 + count) of 3870 entries"', 1,
    true), index)
  local cells = util.read_file(dir .. "/a/cockpit-2.csv")
  T.eq(select(2, cells:gsub("\n", "")), 1 + 50 * 40, "a row per bin: " .. cells:sub(1, 80))
  -- the cells hold log10(1 + count) of the recorded counts, weights on top
  local sum, want, top = 0, 0, nil
  for v in cells:gmatch("\n%d+,%d+,([^,]+),") do sum = sum + 10 ^ tonumber(v) - 1 end
  for _, c in ipairs(g.counts[#g.counts]) do want = want + c end
  T.eq(want, 3870)
  T.ok(math.abs(sum - want) < 1e-6 * want, "the cells sum to the counts: " .. sum)
  top = cells:match("\n1,1,[^,]*,([^,]*),") -- row 1: the largest weights' bin
  T.eq(top, "", "the top row's label (bin [1.92, 2))")
  T.ok(cells:find("\n25,1,[^,]*,0,%-1\n"), "0 labels the weights' bin [0, 0.08), row 50 - 26 + 1 "
    .. "= 25; -1 the entries' first column")
  T.ok(cells:find("\n50,1,[^,]*,%-2,%-1\n"), "-2 the bottom row")
end)

T.test("without grad_hist_2d: the figure has the given panels only", function()
  if not os.execute("command -v gnuplot >/dev/null 2>&1") then
    T.skip("no grad_hist_2d panel", "no gnuplot")
    return
  end
  local h = fit{"loss"}
  wb.cockpit.figure(panels(h), h):save(dir .. "/b/cockpit.png")
  local index = util.read_file(dir .. "/b/cockpit.csv")
  T.ok(not index:find("grad_hist_2d", 1, true) and not index:find("heatmap", 1, true), index)
end)

-- A Ctrl-C between the instruments' hook and the step's row left a histogram
-- of a step no other panel has (4643 beside series that end at 4642): the
-- panel takes the last of a step the history's series have.
T.test("the panel's step is one the history's series have", function()
  local g = {x_bins = 2, y_bins = 2, x_lo = -1, x_hi = 1, y_lo = -2, y_hi = 2,
    step = {1, 2, 3}, counts = {{1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}}}
  local p = require("wb.cockpit_hist2d")({instruments = {grad_hist_2d = g},
    steps = {step = {1, 2}}})
  T.eq(p.d.title, "grad_hist_2d, step 2: log10(1 + count) of 8 entries")
end)

T.done()
