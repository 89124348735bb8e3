-- Task 12: the edge of stability (Cohen et al. 2021, Figures 1-2): full-batch
-- gradient descent on the first 5,000 training images at three learning
-- rates, with the sharpness lambda_max of the training loss measured every
-- 10 steps. Their finding: lambda_max rises (progressive sharpening) until
-- it reaches 2/lr, then hovers there while the loss keeps falling, though
-- not monotonically. Theirs are CIFAR-10-5k networks; this is MNIST.
local S = require "study"
local E = require "study.eos"
local B = require "study.beyond"

local ROWS, STEPS = 5000, 200
local LRS = {0.1, 0.3, 0.5}

local function fmt(x) return x and string.format("%.3g", x) or "-" end

-- The report's "Beyond the study" row: per learning rate, whether
-- lambda_max reached 2/lr and hovered there while the loss kept falling,
-- non-monotonically (all three: Cohen et al.'s picture).
local function beyond_row(task, recs, reads)
  local parts, yes = {}, 0
  for i, f in ipairs(reads) do
    local edge = f.hovers and f.rises_after > 0 and f.loss_final < f.loss_at_reach
    if edge then yes = yes + 1 end
    parts[i] = string.format("lr %s: %s", recs[i].config.lr, f.reach_step
      and string.format("lambda_max reached 2/lr = %.3g at step %.0f, then median "
        .. "lambda_max / (2/lr) %.2f, loss rose on %d steps", f.edge, f.reach_step,
        f.ratio_median, f.rises_after)
      or string.format("lambda_max peaked at %.3g, below 2/lr = %.3g", f.peak, f.edge))
  end
  B.write(task, {experiment = string.format("edge of stability: full-batch gradient "
      .. "descent, %d steps, first %d MNIST training images", STEPS, ROWS),
    ours = table.concat(parts, "; "),
    published = "sharpness rises until it reaches 2/lr, then hovers at 2/lr while the "
      .. "loss keeps falling non-monotonically (CIFAR-10-5k networks)",
    source = "Cohen et al. 2021, ICLR, Figures 1-2",
    verdict = B.verdict(yes, #reads)})
end

local function report(task, runs)
  local recs = {}
  for _, r in ipairs(runs.records) do
    if r.measures and r.measures.lambda_initial and r.history and r.history.loss then
      recs[#recs + 1] = r
    end
  end
  table.sort(recs, function(a, b) return a.config.lr < b.config.lr end)
  if #recs == 0 then task:text("No run recorded its sharpness."); return end
  -- the curves first, then their thresholds: each lr has the colour it has in
  -- the loss panel (interleaved, lr = 0.3 was green there and orange here);
  -- a longer label ("(lr = 0.1)") narrowed the plot until its steps overlapped;
  -- each threshold is dashed in its lr's colour (like): in colours of their
  -- own, lr = 0.5's line was light blue beside lr = 0.1's blue curve
  local lam_series, edges, loss_series, reads, top = {}, {}, {}, {}, 0
  for _, r in ipairs(recs) do
    local loss, lr = r.history.loss, r.config.lr
    local x, y = E.series(r)
    lam_series[#lam_series + 1] = {label = "lr = " .. lr, x = x, y = y}
    edges[#edges + 1] = {label = string.format("2/lr = %.3g", 2 / lr),
      x = {1, #loss}, y = {2 / lr, 2 / lr}, like = #lam_series}
    loss_series[#loss_series + 1] = {label = "lr = " .. lr, y = loss}
    reads[#reads + 1] = E.read(lr, x, y, loss)
    top = math.max(top, reads[#reads].peak)
  end
  table.move(edges, 1, #edges, #lam_series + 1, lam_series)
  local rows = recs[1].config.subset and recs[1].config.subset.train or ROWS
  task:section(string.format("Sharpness and loss (full batch: the first %d training rows, "
    .. "seed %d)", rows, recs[1].seed))
  task:figure("sharpness", wb.plot.panels{cols = 2, plots = {
    wb.plot.lines{title = "lambda_max of the training loss (step 1, then every " .. E.EVERY
      .. " steps)",
      xlabel = "step", ylabel = "lambda_max", series = lam_series, points = false,
      yrange = {0, 1.3 * top}},
    wb.plot.lines{title = "Training loss (full batch)", xlabel = "step", ylabel = "loss",
      logy = true, series = loss_series, points = false}}},
    "Flat lines: the stability threshold 2/lr of gradient descent on a quadratic (a "
    .. "threshold above the plotted range is off the plot).")

  task:section("Findings (computed)")
  local t = {"| lr | 2/lr | lambda_max at step 1 | peak | first step >= " .. E.REACH
    .. " x 2/lr | growth before it | median lambda_max / (2/lr) after | loss rises before "
    .. "/ after | loss there -> final |", "|---|---|---|---|---|---|---|---|---|"}
  for i, f in ipairs(reads) do
    t[#t + 1] = string.format("| %s | %s | %s | %s | %s | %.2fx | %s | %d / %d | %s -> %s |",
      recs[i].config.lr, fmt(f.edge), fmt(f.lam0), fmt(f.peak), f.reach_step and string.format("%.0f", f.reach_step) or "never",
      f.sharpened or 0, fmt(f.ratio_median), f.rises_before, f.rises_after,
      fmt(f.loss_at_reach), fmt(f.loss_final))
  end
  task:text(table.concat(t, "\n") .. "\n")
  for i, f in ipairs(reads) do
    local lr = recs[i].config.lr
    local parts = {}
    if f.sharpened >= E.SHARPEN then
      parts[#parts + 1] = string.format("progressive sharpening: lambda_max grew %.2fx "
        .. "(from %.3g)%s", f.sharpened, f.lam0, f.reach_step and " before reaching 2/lr"
        or " over the run")
    else
      parts[#parts + 1] = string.format("no progressive sharpening (lambda_max grew %.2fx "
        .. "from %.3g, below the %.1fx counted as sharpening)", f.sharpened, f.lam0,
        E.SHARPEN)
    end
    if not f.reach_step then
      parts[#parts + 1] = string.format("lambda_max never reached 2/lr = %.3g (peak %.3g): "
        .. "this run stays in the stable regime, where the loss fell monotonically (%d "
        .. "rises)", f.edge, f.peak, f.rises_before)
    elseif f.after < E.MIN_AFTER then
      parts[#parts + 1] = string.format("it reached %.0f %% of 2/lr at step %.0f, too late "
        .. "for a verdict on hovering (%d measurements after it)", 100 * E.REACH,
        f.reach_step, f.after)
    else
      parts[#parts + 1] = string.format("it reached %.0f %% of 2/lr at step %.0f, after "
        .. "which the median of lambda_max / (2/lr) is %.2f: it %s", 100 * E.REACH,
        f.reach_step, f.ratio_median, f.hovers and string.format("hovers at 2/lr (within "
        .. "%.0f %%), as Cohen et al. report", 100 * E.HOVER) or string.format("does not "
        .. "hover within %.0f %% of 2/lr, unlike Cohen et al.", 100 * E.HOVER))
      parts[#parts + 1] = string.format("its last value is %.2f of 2/lr%s", f.ratio_last,
        f.ratio_last < 1 - E.HOVER and " (drifting below 2/lr, where Cohen et al. see it "
        .. "stay at 2/lr; with cross-entropy they also report a late decrease)" or "")
      local falls = f.loss_final < f.loss_at_reach
      parts[#parts + 1] = string.format("the loss rose on %d of the steps from then on "
        .. "(%d before) and went from %.3g to %.3g: %s", f.rises_after, f.rises_before,
        f.loss_at_reach, f.loss_final, (falls and f.rises_after > 0)
        and "it kept falling, non-monotonically, as Cohen et al. report"
        or falls and "it kept falling, but monotonically (Cohen et al. see rises)"
        or "it did not keep falling (unlike Cohen et al.)")
    end
    task:text(string.format("- lr = %s (2/lr = %.3g): %s.", lr, f.edge,
      table.concat(parts, "; ")))
  end
  local hvps, n = 0, 0
  for _, r in ipairs(recs) do
    hvps, n = hvps + r.measures.lambda_initial_hvps, n + 1
    for _, v in ipairs(r.history.steps and r.history.steps.lambda_hvps or {}) do
      if v == v then hvps, n = hvps + v, n + 1 end
    end
  end
  task:text(string.format("- Cost: each lambda_max took %.1f Hessian-vector products on "
    .. "average (warm-started Lanczos to %g), each about two training steps' work.",
    hvps / math.max(n, 1), E.TOL))
  beyond_row(task, recs, reads)
  task:text("- Cohen et al. use squared loss as well as cross-entropy and train to a loss "
    .. "threshold; with cross-entropy they note that sharpness eventually drops as the "
    .. "loss goes to zero, which our " .. STEPS .. " steps may show as a slow drift below "
    .. "2/lr. One seed: this is a reading of trajectories, not a test across seeds.")
end

return wb.task{name = "task12_edge_of_stability", title = "Task 12: the edge of stability",
  intro = "Full-batch gradient descent (SGD without momentum, batch = the whole training "
    .. "subset, no validation split) at three learning rates; lambda_max of the training "
    .. "loss's Hessian on the same rows, exactly (Hessian-vector products), every "
    .. E.EVERY .. " steps. Held against Cohen et al. 2021, Figures 1-2.",
  experiment = S.experiment{base = {optimizer = "sgd", batch_size = ROWS, epochs = STEPS,
    shuffle = false, validation = false, subset = {train = ROWS, test = 1000},
    log_every = E.EVERY}, vary = {lr = LRS}, seeds = {1}, callbacks = E.sharpness,
    measure = E.measure},
  report = report}
