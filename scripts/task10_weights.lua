-- Task 10: the learned weights of the baseline: first-layer kernels as 28x28
-- images, weight histograms, kernel norms per epoch, dead ReLU units.
local S = require "study"

local function report(task, runs)
  local r = runs.records[1]
  if not r then return end
  local model = r:model()
  local w = model[1].weight -- [784, 128]: column j is hidden unit j's input weights
  local units = w:shape()[2]
  local tiles = wb.zeros(units, 784)
  local wt = w:totable()
  for j = 1, units do
    local row = tiles[j]
    for i = 1, 784 do row:set(i, wt[i][j]) end
  end
  task:section("First-layer weights (seed 1)")
  task:figure("first_layer", wb.plot.images{title = "Input weights of the 128 hidden units "
    .. "(each tile scaled on its own; red positive, blue negative)", tiles = tiles,
    rows = 8, cols = 16, palette = "diverging"})
  task:figure("histograms", wb.plot.histogram{title = "Weight distributions (seed 1)",
    bins = 80, series = {{label = "hidden kernel 784x128", values = w},
      {label = "output kernel 128x10", values = model[#model].weight}},
    xlabel = "weight", ylabel = "count", logy = true})
  task:figure("norms", wb.plot.panels{cols = 2, plots = {
    runs:plot_curves("weight_norm_1", {title = "Hidden kernel L2 norm"}),
    runs:plot_curves("weight_norm_2", {title = "Output kernel L2 norm"})}})

  task:section("Findings (computed)")
  local near0 = 0
  for i = 1, 784 do for j = 1, units do
    if math.abs(wt[i][j]) < 1e-2 then near0 = near0 + 1 end
  end end
  task:text(string.format("- Hidden kernel: mean %.4f, std %.4f, range [%.3f, %.3f]; %.1f %% "
    .. "of its weights are within 0.01 of zero.", w:mean(), w:std(), w:min(), w:max(),
    100 * near0 / (784 * units)))
  local dm, ds = runs:stat(runs:variants()[1], "dead_units")
  task:text(string.format("- Dead ReLU units (never active on the test set): %.1f ± %.1f of "
    .. "%d over seeds.", dm or 0, ds or 0, units))
  local _, n1 = runs:curve(runs:variants()[1], "weight_norm_1")
  task:text(string.format("- The hidden kernel's norm grows from %.2f after epoch 1 to %.2f "
    .. "after epoch %d.", n1[1] or 0, n1[#n1] or 0, #n1))
end

return wb.task{name = "task10_weights", title = "Task 10: the learned weights",
  experiment = S.baseline(), report = report}
