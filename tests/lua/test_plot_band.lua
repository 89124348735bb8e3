-- test_plot_band.lua: figures that drew correct data misleadingly (tryZ E1,
-- E4), asserted on the gnuplot script written beside the PNG.
-- E1: lr 50's loss of 6.8e7 ± 2.9e8 at epoch 1 had a band to -2.2e8 on a
-- linear axis, the other curves a flat line at 0: a loss's band is drawn
-- from 0 ("band clipped at 0" only when it was), and means over more than 3
-- decades get a log y axis ("log y"), or with a linear axis chosen a line on
-- stderr. E4: one-epoch runs drew an invisible band (error bars now), a
-- training accuracy was titled "accuracy", pooled seeds' histograms did not
-- say they were pooled.
local T = dofile("tests/lua/harness.lua")
local slurp = require("wb.util").read_file

if os.execute("command -v gnuplot >/dev/null 2>&1") ~= true then
  T.skip("band, log and error bars in the .gp", "gnuplot is not installed")
  T.done()
  return
end
local dir = T.tmpdir()

-- A record of variant v, seed s, with history h (series -> list per epoch).
local function rec(v, s, h)
  local n = 0
  for _, l in pairs(h) do n = #l end
  h.epochs, h.epoch_time = n, {}
  for j = 1, n do h.epoch_time[j] = 1 end
  return {hash = string.format("%s%015d", v:gsub("%W", ""), s), task = "t", variant = v,
    seed = s, config = {seed = s}, status = "ok", metrics = {test_accuracy = 0.9},
    history = h}
end

-- tryZ E1's shape: lr=50's epoch-1 loss of one seed in 1e8, the others small.
local function e1_runs()
  local rs = {}
  local big = {{2e8, 40, 30}, {1e3, 20, 10}, {5e2, 10, 50}}
  for s = 1, 3 do
    rs[#rs + 1] = rec("lr=0.05", s, {loss = {0.9 + s / 100, 0.6, 0.5},
      val_loss = {0.8, 0.6, 0.5}})
    rs[#rs + 1] = rec("lr=50", s, {loss = big[s], val_loss = {1, 1, 1}})
  end
  return wb.runs.Runs(rs)
end

-- The .gp of figure p saved as dir/name.png, and its title line, its
-- wrapped lines (' . "\n" . ') joined again by the space they replaced.
local function gp_of(p, name)
  p:save(dir .. "/" .. name .. ".png")
  local gp = slurp(dir .. "/" .. name .. ".gp")
  local title = (gp:match("\nset title ('[^\n]*)") or ""):gsub("' %. \"\\n\" %. '", " ")
  return gp, title
end

T.test("E1: a loss over 8 decades is drawn on a log y axis, its title says 'log y'",
    function()
  local gp, title = gp_of(e1_runs():plot_curves("loss"), "loss")
  T.ok(gp:find("\nset logscale y", 1, true), gp)
  T.ok(title:find("log y: the means span 8 decades", 1, true), title)
  T.ok(not title:find("clipped", 1, true), "a log axis clips nothing: " .. title)
  -- logy = true as before: no note that it was chosen
  gp, title = gp_of(e1_runs():plot_curves("loss", {logy = true}), "loss_logy")
  T.ok(gp:find("\nset logscale y", 1, true), gp)
  T.ok(not title:find("log y", 1, true), title)
end)

T.test("E1: on a linear axis chosen (logy = false, yrange), the band is clipped at 0, the "
    .. "title says so, stderr suggests logy", function()
  local p, err = T.stderr_of(function() return e1_runs():plot_curves("loss", {logy = false}) end)
  local gp, title = gp_of(p, "loss_lin")
  T.ok(not gp:find("logscale y", 1, true), gp)
  -- lr=50's band (columns 5 and 6: its mean and ci95) from 0
  T.ok(gp:find("using 1:((column(5)-column(6) < 0 ? 0 : column(5)-column(6)))"
    .. ":(column(5)+column(6)) with filledcurves lt 2", 1, true), gp)
  T.ok(title:find("band clipped at 0", 1, true), title)
  T.ok(err:find("'loss' spans 8 decades", 1, true) and err:find("logy = true", 1, true), err)
  T.eq(select(2, err:gsub("\n", "")), 1, "one line: " .. err)
  p, err = T.stderr_of(function() return e1_runs():plot_curves("loss", {yrange = {0, 5}}) end)
  gp = gp_of(p, "loss_yr")
  T.ok(not gp:find("logscale y", 1, true), gp)
  T.ok(err:find("yrange given", 1, true), err)
end)

T.test("E1: a band that stays above 0, or a measure that can be negative, is not clipped",
    function()
  local _, title = gp_of(e1_runs():plot_curves("val_loss"), "vloss")
  T.ok(not title:find("clipped", 1, true), title)
  T.ok(not title:find("log y", 1, true), title)
  -- a gap (val - train) can be negative: drawn as given, no log axis
  local rs = {}
  for s = 1, 3 do rs[s] = rec("a", s, {gap = {1e-4, -1, 1e3 * s}}) end
  local gp
  gp, title = gp_of(wb.runs.Runs(rs):plot_curves("gap"), "gap")
  T.ok(not gp:find("< 0 ? 0 :", 1, true), gp)
  T.ok(not gp:find("logscale", 1, true), gp)
  T.ok(not title:find("clipped", 1, true), title)
end)

T.test("E4: one-epoch runs: error bars, titled so, instead of a band of no width", function()
  local rs = {}
  for s = 1, 3 do
    rs[#rs + 1] = rec("d=0", s, {val_loss = {0.5 + s / 10}})
    rs[#rs + 1] = rec("d=0.3", s, {val_loss = {0.7 + s / 10}})
  end
  local gp, title = gp_of(wb.runs.Runs(rs):plot_curves("val_loss"), "one")
  T.ok(gp:find("using 1:2:(column(2)-column(3)):(column(2)+column(3)) with yerrorbars lt 1",
    1, true), gp)
  T.ok(not gp:find("filledcurves", 1, true), gp)
  T.ok(title:find("error bars: 95 % CI of the mean", 1, true), title)
  T.ok(not title:find("band", 1, true), title)
  -- more epochs: a band, as before
  _, title = gp_of(e1_runs():plot_curves("val_loss"), "three")
  T.ok(title:find("band: 95 % CI", 1, true), title)
end)

T.test("E4: fit's loss and accuracy are titled as training's running mean over the epoch",
    function()
  local rs = {}
  for s = 1, 3 do
    rs[s] = rec("a", s, {loss = {0.5, 0.4}, accuracy = {0.8, 0.85 + s / 100},
      val_loss = {0.5, 0.45}, val_accuracy = {0.8, 0.9}, top5 = {0.9, 0.95},
      val_top5 = {0.9, 0.9}})
  end
  rs = wb.runs.Runs(rs)
  local _, title = gp_of(rs:plot_curves("accuracy"), "acc")
  T.ok(title:find("'training accuracy (running mean over the epoch; mean over 3 seeds", 1,
    true), title)
  _, title = gp_of(rs:plot_curves("loss"), "tl")
  T.ok(title:find("'training loss (running mean over the epoch; ", 1, true), title)
  _, title = gp_of(rs:plot_curves("top5"), "t5") -- a metric with a val_ twin
  T.ok(title:find("'training top5 (running mean over the epoch; ", 1, true), title)
  _, title = gp_of(rs:plot_curves("val_accuracy"), "va")
  T.ok(title:find("'val_accuracy (mean over 3 seeds", 1, true), title)
  _, title = gp_of(rs:plot_curves("accuracy", {title = "Acc"}), "own")
  T.ok(title:find("'Acc (running mean over the epoch; ", 1, true), title)
end)

T.test("E4: compare_weights' histograms of pooled seeds say 'pooled over N seeds'",
    function()
  local ex = wb.experiment({name = "pb", base = {hidden = 8, epochs = 1, subset = {
    train = 200, test = 100}}, vary = {dropout = {0, 0.3}}, seeds = {1, 2}},
    {root = T.tmpdir()})
  local rs = ex:run()
  local _, title = gp_of(wb.lab.compare_weights(rs, 1), "hist")
  T.ok(title:find("pooled over 2 seeds", 1, true), title)
  _, title = gp_of(wb.lab.compare_weights(rs, 1, {by = "run"}), "hist_run")
  T.ok(not title:find("pooled", 1, true), title)
end)

T.done()
