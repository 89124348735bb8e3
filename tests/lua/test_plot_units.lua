-- test_plot_units.lua: an accuracy is drawn in percent, as the tables show
-- it (tryV 3): wb.Runs:plot_curves and wb.Run:plot of an accuracy draw
-- 100 x the records' fractions, their CSV holds those numbers, their y
-- label says "(%)"; a loss is drawn as recorded; the records are untouched.
local T = dofile("tests/lua/harness.lua")

-- A record of variant a and seed s, 2 epochs; val_accuracy 0.95 + s / 100.
local function rec(s)
  return {hash = string.format("%016x", s), task = "t", variant = "a", seed = s,
    config = {seed = s}, status = "ok", metrics = {test_accuracy = 0.9},
    history = {loss = {0.5, 0.25}, accuracy = {0.5, 0.75}, val_loss = {0.6, 0.3},
      val_accuracy = {0.9 + s / 100, 0.95 + s / 100}, epoch_time = {2, 3}, epochs = 2}}
end

-- The first series' y and the y label of figure p (its data, as it writes its CSV).
local function drawn(p)
  return p.d.series[1].y, p.d.ylabel
end

T.test("plot_curves of an accuracy: percent values, a (%) label; a loss as recorded",
    function()
  local rs = wb.runs.Runs{rec(1), rec(2), rec(3)}
  local y, label = drawn(rs:plot_curves("val_accuracy"))
  T.near(y[1], 92, 1e-9, "epoch 1's mean, in percent")
  T.near(y[2], 97, 1e-9, "epoch 2's mean, in percent")
  T.eq(label, "val_accuracy (%)")
  -- a label of the caller's gets the unit, unless it says one
  T.eq(select(2, drawn(rs:plot_curves("val_accuracy", {ylabel = "validation accuracy"}))),
    "validation accuracy (%)")
  T.eq(select(2, drawn(rs:plot_curves("val_accuracy", {ylabel = "acc in %"}))), "acc in %")
  -- the band (ci95 with 3 seeds) is scaled with the mean
  local ci = rs:plot_curves("val_accuracy").d.series[1].err
  local _, _, _, raw_ci = wb.runs.Runs{rec(1), rec(2), rec(3)}:curve("a", "val_accuracy")
  T.near(ci[2], 100 * raw_ci[2], 1e-9, "ci95 in percent")
  y, label = drawn(rs:plot_curves("val_loss"))
  T.near(y[2], 0.3, 1e-9, "a loss is not scaled")
  T.eq(label, "val_loss")
  T.eq(rs[1].history.val_accuracy[2], 0.96, "the record keeps its fraction")
  T.ok(rs:plot_curves("val_accuracy").d.comment:find("y: val_accuracy in percent", 1, true))
end)

T.test("Run:plot of an accuracy: both curves in percent, a (%) label", function()
  local r = wb.runs.Runs{rec(1)}[1]
  local p = r:plot("accuracy")
  T.eq(p.d.series[1].label, "accuracy")
  T.near(p.d.series[1].y[2], 75, 1e-9)
  T.eq(p.d.series[2].label, "val_accuracy")
  T.near(p.d.series[2].y[1], 91, 1e-9)
  T.eq(p.d.ylabel, "accuracy (%)")
  T.eq(r.history.accuracy[2], 0.75, "the record's own history is not scaled in place")
  p = r:plot("loss")
  T.near(p.d.series[1].y[2], 0.25, 1e-9)
  T.eq(p.d.ylabel, "loss")
end)

if os.execute("command -v gnuplot >/dev/null 2>&1") ~= true then
  T.skip("the CSV beside the PNG holds the percent drawn", "gnuplot is not installed")
  T.done()
  return
end

T.test("the CSV beside the PNG holds the percent drawn, the .gp its (%) label", function()
  local dir = T.tmpdir()
  local rs = wb.runs.Runs{rec(1), rec(2), rec(3)}
  rs:plot_curves("val_accuracy"):save(dir .. "/vacc.png")
  local rows = T.csv_rows(dir .. "/vacc.csv")
  T.eq(rows[1][1], "epoch")
  T.near(tonumber(rows[2][2]), 92, 1e-9, rows[2][2])
  T.near(tonumber(rows[3][2]), 97, 1e-9, rows[3][2])
  T.ok(T.slurp(dir .. "/vacc.gp"):find("set ylabel 'val_accuracy (%)'", 1, true))
  rs[1]:plot("accuracy"):save(dir .. "/acc.png")
  rows = T.csv_rows(dir .. "/acc.csv")
  T.eq(table.concat(rows[1], ","), "epoch,accuracy,val_accuracy")
  T.near(tonumber(rows[3][2]), 75, 1e-9, rows[3][2])
  T.near(tonumber(rows[2][3]), 91, 1e-9, rows[2][3])
  T.ok(T.slurp(dir .. "/acc.gp"):find("set ylabel 'accuracy (%)'", 1, true))
end)

T.test("plot_curves of an accuracy: a ref or yrange given as a fraction is an input error",
    function()
  local rs = wb.runs.Runs{rec(1), rec(2)}
  -- (a fraction drew off the percent axis without a word)
  local ok, e = pcall(function() -- (not a tail call: the error names this line)
    local p = rs:plot_curves("val_accuracy", {refs = {{label = "r", y = 0.97}}})
    return p
  end)
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  T.ok(tostring(e):find("refs are in percent on an accuracy plot: got 0.97, did you mean 97?",
    1, true), tostring(e))
  T.ok(tostring(e):find("^tests/lua/test_plot_units.lua:%d+: wb.Runs:plot_curves: "), tostring(e))
  ok, e = pcall(rs.plot_curves, rs, "val_accuracy", {yrange = {0.9, 1}})
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  T.ok(tostring(e):find("yrange is in percent on an accuracy plot: got {0.9, 1}, did you mean "
    .. "{90, 100}?", 1, true), tostring(e))
  -- percent, 0 and 1 alone, and a loss's fractions pass
  rs:plot_curves("val_accuracy", {refs = {{label = "r", y = 97}, {label = "z", y = 0}},
    yrange = {0, 1}})
  rs:plot_curves("val_accuracy", {refs = {{label = "r", y = 1}}, yrange = {90, 100}})
  rs:plot_curves("val_loss", {refs = {{label = "r", y = 0.5}}, yrange = {0.1, 0.9}})
end)

T.done()
