-- Task 10: the learned weights of the baseline: first-layer kernels as 28x28
-- images, weight histograms, kernel norms per epoch, dead ReLU units; and the
-- curvature of its loss: the Hessian's top eigenvalue per epoch and its
-- eigenvalue density at the end (Sagun et al. 2017, Papyan 2019: a bulk near
-- 0 and about as many outliers as classes).
local S = require "study"

-- The Hessian's spectrum: lambda_max per epoch (all seeds) and the density
-- of the first seed with its top 20 eigenvalues marked.
local function curvature(task, runs, r)
  local ms = r.measures or {}
  if not (ms.density_x and ms.top_eigenvalues) then
    if r.seed ~= 1 then -- seed 1 diverged: said, not a section gone without a word
      task:text("- The Hessian's eigenvalue density is measured on seed 1 only, which did "
        .. "not finish: none shown.")
    end
    return
  end
  task:section("Curvature of the training loss (first 2,048 training rows)")
  task:figure("lambda_max", runs:plot_curves("lambda_max", {title = "Top Hessian "
    .. "eigenvalue per epoch", ylabel = "lambda_max (top Hessian eigenvalue)"}))
  local floor, ys = math.huge, {}
  for i, y in ipairs(ms.density_y) do
    ys[i] = math.max(y, 1e-8)
    if y > 0 then floor = math.min(floor, y) end
  end
  local marks = {}
  for _, e in ipairs(ms.top_eigenvalues) do
    marks[#marks + 1] = string.format("set arrow from %.9g, graph 0 to %.9g, graph 0.12 "
      .. "nohead lc rgb '#d62728' lw 1.5", e, e)
  end
  task:figure("hessian_density", wb.plot.lines{title = "Hessian eigenvalue density (SLQ, "
    .. "seed " .. r.seed .. "); red: the top 20 eigenvalues",
    xlabel = "eigenvalue", ylabel = "density", logy = true, points = false,
    series = {{label = "density", x = ms.density_x, y = ys}}, extra = marks})
  local top = ms.top_eigenvalues
  local bulk_edge = top[#top]
  local outliers = 0
  for i = 1, #top - 1 do
    if top[i] > 2 * top[#top] then outliers = outliers + 1 end
  end
  local hvps = 0
  local n_ok = 0 -- finished runs: a diverged one measured nothing
  for _, rr in ipairs(runs.records) do
    if rr.status == "ok" then n_ok = n_ok + 1 end
    for _, n in ipairs(rr.measures and rr.measures.lambda_max_hvps or {}) do hvps = hvps + n end
  end
  local shown = {}
  for i = 1, math.min(10, #top) do shown[i] = string.format("%.3g", top[i]) end
  -- Sagun et al. 2017, Papyan 2019: a bulk near 0 and C - 1 = 9 outliers
  local agrees = math.abs(outliers - 9) <= 2
  task:text(string.format("- Top eigenvalues of the final Hessian (seed %d): %s%s. %d of the "
    .. "top 20 are more than twice the 20th (%.3g). The literature on MNIST cross-entropy "
    .. "(Sagun et al. 2017, arXiv:1706.04454; Papyan 2019, arXiv:1901.08244) reports a "
    .. "bulk near 0 and about C - 1 = 9 outliers for 10 classes; ours %s. The count's rule "
    .. "(more than twice the 20th) and the tolerance (within 2 of 9) are ours, not theirs: "
    .. "the spectrum decays without a sharp edge, so another cut counts otherwise.",
    r.seed, table.concat(shown, ", "), #top > 10 and ", ..." or "", outliers, bulk_edge,
    agrees and "agrees (within 2)" or "differs"))
  task:text(string.format("- lambda_max per epoch cost %.1f Hessian-vector products per "
    .. "epoch on average (warm-started Lanczos to 1e-3).", hvps / math.max(1,
    n_ok * #(r.measures.lambda_max_hvps or {1}))))
end

local function report(task, runs)
  -- the first finished run (seed 1's unless it diverged: no weights to show)
  local r = S.finished(runs.records)[1]
  if not r then
    if runs.records[1] then task:text("No run finished: no weights to show.") end
    return
  end
  local model = r:model()
  local w = model[1].weight -- [784, 128]: column j is hidden unit j's input weights
  local units = w:shape()[2]
  local tiles = wb.zeros(units, 784)
  local wt = w:totable()
  for j = 1, units do
    local row = tiles[j]
    for i = 1, 784 do row:set(i, wt[i][j]) end
  end
  task:section("First-layer weights (seed " .. r.seed .. ")")
  -- (wb.plot.images adds the colour key and the scaling to the title: said
  -- here too, the title said both twice, over two lines)
  task:figure("first_layer", wb.plot.images{title = "Input weights of the 128 hidden units "
    .. "(seed " .. r.seed .. ")", tiles = tiles,
    rows = 8, cols = 16, palette = "diverging"})
  task:figure("histograms", wb.plot.histogram{title = "Weight distributions (seed " .. r.seed
    .. ")",
    bins = 80, series = {{label = "hidden kernel 784x128", values = w},
      {label = "output kernel 128x10", values = model[#model].weight}},
    xlabel = "weight", ylabel = "count", logy = true})
  task:figure("norms", wb.plot.panels{cols = 2, plots = {
    runs:plot_curves("weight_norm_1", {title = "Hidden kernel L2 norm",
      ylabel = "L2 norm (hidden kernel)"}),
    runs:plot_curves("weight_norm_2", {title = "Output kernel L2 norm",
      ylabel = "L2 norm (output kernel)"})}})

  task:section("Findings (computed)")
  local near0 = 0
  for i = 1, 784 do for j = 1, units do
    if math.abs(wt[i][j]) < 1e-2 then near0 = near0 + 1 end
  end end
  task:text(string.format("- Hidden kernel (seed %d): mean %.4f, std %.4f, range [%.3f, "
    .. "%.3f]; %.1f %% of its weights are within 0.01 of zero.", r.seed, w:mean(), w:std(),
    w:min(), w:max(), 100 * near0 / (784 * units)))
  local dm, ds = runs:stat(runs:variants()[1], "dead_units")
  task:text(string.format("- Dead ReLU units (never active on the test set): %.1f ± %.1f of "
    .. "%d over seeds.", dm or 0, ds or 0, units))
  local _, n1 = runs:curve(runs:variants()[1], "weight_norm_1")
  if #n1 > 0 then
    -- the mean curve over the seeds, not the seed whose weights are shown above
    local seeds = #S.finished(runs.records)
    task:text(string.format("- The hidden kernel's norm (mean over %d seed%s) %s from %.2f "
      .. "after epoch 1 to %.2f after epoch %d.", seeds, seeds == 1 and "" or "s",
      n1[#n1] > n1[1] and "grows" or n1[#n1] < n1[1] and "shrinks" or "stays", n1[1],
      n1[#n1], #n1))
  end
  curvature(task, runs, r)
end

return wb.task{name = "task10_weights", title = "Task 10: the learned weights",
  experiment = S.baseline_curvature(), report = report}
