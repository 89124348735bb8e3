-- Task 15: the loss landscape of the trained baseline (784 -> 128 relu ->
-- 10): filter-normalised random slices (Li et al. 2018), slices along the
-- top Hessian eigenvectors, the straight path from the initialisation to the
-- solution (Goodfellow, Vinyals and Saxe 2015: a monotone decrease on MNIST
-- MLPs), the barrier between two solutions from the same initialisation
-- with different data order (Frankle et al. 2020: near zero for
-- LeNet-300-100 from step 0), and the trajectory's principal plane. All
-- measured once, in the run's measure hook (study/landscape.lua); this
-- file only draws and reads. The training is the baseline's (task 1),
-- adopted, not redone.
local S = require "study"
local LS = require "study.landscape"
local B = require "study.beyond"

local function pct(x) return string.format("%.2f %%", 100 * x) end

-- The model and training the runs had (S.trained), and the rows each point
-- is evaluated on, from their config: --quick, --epochs and --dataset
-- change them, so the intro cannot be a fixed string.
local function intro(task, runs)
  local cfg = runs.records[1] and runs.records[1].config
  local what, Z = "no run", LS
  if cfg then
    what = S.trained(cfg)
    Z = cfg.subset and LS.QUICK or LS -- study/landscape.lua's measure hook chooses so
  end
  task:text("The baseline (" .. what .. ") seen through cuts of its loss: "
    .. "filter-normalised random slices, slices along the top Hessian eigenvectors, "
    .. "straight paths from the initialisation and between two solutions, and the "
    .. "training trajectory's principal plane. Every point is a forward pass over a fixed "
    .. "subset (" .. Z.ROWS .. " training, " .. Z.TEST_ROWS .. " test images); each "
    .. "figure says its cost.")
end

-- The trajectory's section: its figure, or why there is none (one epoch).
local function trajectory(task, m, n)
  local tr = m.traj
  task:section("The trajectory in its principal plane")
  if not tr then
    task:text("Not drawn: " .. m.traj_missing .. " (--epochs).")
    return
  end
  task:figure("trajectory", wb.plot.panels{cols = 2, plots = {
    LS.heatmap(tr.grid, string.format("log10 loss in the PCA plane (%d passes)", tr.passes), "PC1",
      "PC2"),
    wb.plot.lines{title = string.format("B after epochs 0..%d (PC1 %.1f %%, PC2 %.1f %%)",
      #tr.x - 1, 100 * tr.explained[1], 100 * (tr.explained[2] or 0)), xlabel = "PC1",
      ylabel = "PC2", points = true,
      series = {{label = "one point per epoch", x = tr.x, y = tr.y},
        {label = "initialisation", x = {tr.x[1]}, y = {tr.y[1]}},
        {label = "last epoch (0, 0)", x = {0}, y = {0}}}}}},
    string.format("PCA of the snapshots minus the last one (Li et al. 2018, section 7); "
      .. "the plane is spanned by the two unit principal directions through the last "
      .. "snapshot. Cost: %d forward passes over the %s.", tr.passes, n))
end

local function report(task, runs)
  intro(task, runs)
  local r
  for _, x in ipairs(runs.records) do
    if x.status == "ok" and x.measures and x.measures.fn1 then r = x end
  end
  if not r then task:text("No run measured the landscape (seed " .. LS.SEED .. ")."); return end
  local m = r.measures
  local n = string.format("%d training images", m.rows)
  task:section(string.format("Slices around the solution (seed %d; every point evaluated "
    .. "on the first %s)", r.seed, n))
  task:figure("slices", wb.plot.panels{cols = 2, plots = {
    wb.plot.lines{title = string.format("1-D, filter-normalised direction (%d passes)",
      m.fn1.passes), xlabel = "a", ylabel = "loss", points = false,
      series = {{label = "loss(w + a d1)", x = m.fn1.x, y = m.fn1.loss}}},
    LS.heatmap(m.fn2, string.format("2-D, filter-normalised (%d passes): log10 loss",
      m.fn2.passes),
      "a (d1)", "b (d2)")}},
    string.format("Random Gaussian directions, each Dense column (one unit's incoming "
      .. "weights) rescaled to the norm of the trained column, biases not moved (Li et "
      .. "al. 2018). Cost: %d + %d forward passes over the %s.", m.fn1.passes,
      m.fn2.passes, n))

  local e = m.eig
  local q1, q2 = {}, {}
  for i, a in ipairs(e.x) do
    q1[i], q2[i] = m.centre_loss + 0.5 * e.values[1] * a * a,
      m.centre_loss + 0.5 * e.values[2] * a * a
  end
  task:figure("hessian_slices", wb.plot.lines{title = string.format("Along the top two "
    .. "Hessian eigenvectors (%d passes, %d HVPs)", e.passes, e.hvps),
    xlabel = "a (unit eigenvector)", ylabel = "loss", points = false, series = {
      {label = string.format("v1 (lambda = %.3g)", e.values[1]), x = e.x, y = e.loss1},
      {label = "quadratic: L0 + lambda1 a^2 / 2", x = e.x, y = q1},
      {label = string.format("v2 (lambda = %.3g)", e.values[2]), x = e.x, y = e.loss2},
      {label = "quadratic: L0 + lambda2 a^2 / 2", x = e.x, y = q2}}},
    string.format("Unnormalised unit eigenvectors of the training-loss Hessian on the same "
      .. "rows (Lanczos); the range is where the quadratic predicts a rise of %.2g along v1. "
      .. "Cost: %d forward passes and %d Hessian-vector products.", LS.RISE, e.passes,
      e.hvps))

  local p = m.paths
  local function series(key, part)
    local names = {init_a = "init -> A (the baseline)", init_b = "init -> B (other order)",
      a_b = "A -> B"}
    local out = {}
    for _, k in ipairs{"init_a", "init_b", "a_b"} do
      out[#out + 1] = {label = names[k], x = p[k][part].t, y = p[k][part][key]}
    end
    return out
  end
  local path_passes = 0
  for _, k in ipairs{"init_a", "init_b", "a_b"} do
    path_passes = path_passes + p[k].train.passes + p[k].test.passes
  end
  task:section("Straight paths: initialisation to solution, and between two solutions")
  task:figure("interpolation", wb.plot.panels{cols = 2, plots = {
    wb.plot.lines{title = "Loss on " .. n, xlabel = "t: (1 - t) start + t end",
      ylabel = "training loss", logy = true, series = series("loss", "train")},
    wb.plot.lines{title = string.format("Error on the first %d test images", m.test_rows),
      xlabel = "t", ylabel = "test error", series = series("error", "test")}}},
    string.format("A is the baseline (seed %d), B the same initialisation trained with "
      .. "another batch order (fit seed + %d). Cost: %d forward passes (%d points per path, "
      .. "on %d training and %d test images), plus B's training (%.0f s).", r.seed,
      LS.ORDER_SEED, path_passes, m.path_points, m.rows, m.test_rows, m.second_seconds))

  trajectory(task, m, n)

  task:section("Findings (computed)")
  local ia, ib, ab = p.init_a.train, p.init_b.train, p.a_b
  local rd = LS.read(m)
  task:text(string.format("- Goodfellow et al. (2015) report that on MNIST MLPs the "
    .. "training loss falls monotonically along the straight line from the initialisation "
    .. "to the solution. Ours: loss %.3g at t = 0, %.3g at t = 1; %s. The path init -> B "
    .. "has %d rises.", ia.loss[1], ia.loss[#ia.loss], rd.monotone
    and "it falls at every one of the " .. (#ia.t - 1) .. " steps of t, as they report"
    or string.format("it rises %d times (the first at t = %.2f, the largest by %.3g), "
    .. "unlike their report", rd.rises, ia.t[rd.first], rd.top), (LS.rises(ib.loss))))
  local be = rd.barrier
  task:text(string.format("- Frankle et al. (2020) report an error barrier near zero "
    .. "between two LeNet-300-100 solutions trained from the same initialisation (step 0) "
    .. "with different SGD noise; they call a network stable when the barrier is under "
    .. "2 %%. Ours (test error): A %s, B %s, the worst point on the path %s at t = %.2f: a "
    .. "barrier of %s (%s on the training rows; loss barrier %.3g): %s.",
    pct(be.ends[1]), pct(be.ends[2]), pct(be.error + (be.ends[1] + be.ends[2]) / 2),
    be.error_at, pct(be.error), pct(ab.train.barrier.error), ab.train.barrier.loss,
    rd.stable and "stable, as they report for LeNet-300-100"
    or "not stable, unlike their LeNet-300-100"))
  task:text(LS.curvature_text(m))
  task:text(m.traj and string.format("- Trajectory: the first two principal directions "
    .. "explain %.1f %% of the variance of B's %d snapshots.", 100 * m.pca_explained_2,
    #m.traj.x) or "- Trajectory: not measured: " .. m.traj_missing .. ".")
  task:text(string.format("- Cost: %d forward passes over %d-image subsets in all, %d "
    .. "Hessian-vector products and one extra training (B, %.1f s): %.1f s of measuring "
    .. "in all, once, in the run's measure hook (a cached report only draws). The "
    .. "baseline's training is task 1's; other seeds measure nothing.", m.measure_passes,
    m.rows, e.hvps, m.second_seconds, r.measure_seconds or 0))
  task:text("- Where the comparison is loose: one seed, a reading rather than a test "
    .. "across seeds; Frankle et al.'s LeNet-300-100 (two hidden layers) was trained with "
    .. "SGD, ours (one hidden layer of 128) with Adam; Goodfellow et al.'s networks and "
    .. "optimisers are not ours either. Our barrier is on the first "
    .. string.format("%.0f", m.test_rows) .. " test images, so one image is "
    .. pct(1 / m.test_rows) .. ".")
  -- through the contract's check, its keys sorted as the other tasks' (cjson's
  -- order changed from one report to the next)
  B.write(task, LS.beyond(rd, r.seed))
end

-- (the intro is the report's first paragraph: it says what the runs trained)
return wb.task{name = "task15_landscape", title = "Task 15: the loss landscape",
  experiment = S.experiment{base = {epochs = S.baseline_epochs}, callbacks = S.track,
    measure = LS.measure},
  report = report}
