-- test_quick_mark.lua - a figure drawn only from --quick runs outside a task
-- report (runs:plot_curves, Run:plot, wb.lab.compare_weights, weight_grid of
-- a Run) has the title a task's --quick figure has, "QUICK (smoke test, not
-- the results): ...": a smoke test's PNG looked like results (tryM 6). One
-- run that is not --quick's leaves the title as it is; a task's --quick
-- figure of plot_curves is marked once.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local MARK = "QUICK (smoke test, not the results): "

local task = dir .. "/qm.lua"
util.write_file(task, [[
return wb.task{name = "qm", title = "quick mark",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 200, test = 100}},
    vary = {lr = {0.01, 0.02}}, seeds = {1}},
  report = function(task, runs) task:figure("vl", runs:plot_curves("val_loss")) end}
]])
local st, _, err = T.run_wb(T.quote(task) .. " --quick --root " .. T.quote(dir))
T.eq(st, 0, err)
st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(dir))
T.eq(st, 0, err)
local quick = wb.runs.find{root = dir .. "/quick", task = "qm"}
local full = wb.runs.find{root = dir, task = "qm"}

local function starts(s, prefix) return s:sub(1, #prefix) == prefix end

T.test("figures of --quick runs alone begin with the QUICK mark", function()
  T.eq(#quick, 2)
  for what, p in pairs{plot_curves = quick:plot_curves("val_loss"), plot = quick[1]:plot(),
      titled = quick[1]:plot("loss", {title = "mine"}),
      compare_weights = wb.lab.compare_weights(quick, 1),
      weight_grid = wb.lab.weight_grid(quick[1], {units = 4})} do
    T.ok(starts(p.d.title, MARK), what .. ": " .. p.d.title)
    T.ok(not starts(p.d.title:sub(#MARK + 1), "QUICK"), what .. ": marked twice")
  end
end)

T.test("a figure with a run that is not --quick's, or of models, has no mark", function()
  T.eq(#full, 2)
  for what, p in pairs{plot_curves = full:plot_curves("val_loss"), plot = full[1]:plot(),
      mixed = wb.lab.compare_weights({quick[1], full[1]}, 1, {by = "run"}),
      model = wb.lab.compare_weights({quick[1], quick[1]:model()}, 1, {by = "run"}),
      weight_grid = wb.lab.weight_grid(quick[1]:model(), {units = 4})} do
    T.ok(not p.d.title:find("QUICK", 1, true), what .. ": " .. p.d.title)
  end
end)

T.test("a task's --quick figure of plot_curves is marked once", function()
  local gp = util.read_file(dir .. "/quick/qm/vl.gp")
  local title = gp:match("\nset title '([^\n]*)' font")
  T.ok(title and starts(title, MARK) and select(2, title:gsub("QUICK", "")) == 1, title or gp)
end)

T.done()
