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

local function pct(x) return string.format("%.0f %%", 100 * x) end

-- The rule E.read decides by, as the report states it.
local function rule()
  return string.format("Cohen et al.'s picture, in three parts, each read from the "
    .. "records: (a) progressive sharpening: lambda_max starts below 2/lr and rises to it "
    .. "(the first measurement within %s of 2/lr is the crossing; a run that starts there "
    .. "has no sharpening phase); (b) hovering: in their Figures 1-2 lambda_max then stays "
    .. "at, or just above, 2/lr for the rest of training, so over the last half of the "
    .. "measurements after the crossing (the crossing's overshoot left out) the median of "
    .. "lambda_max / (2/lr) must lie within %s of 1 and the last %d measurements must not "
    .. "all be below %.1f (a sustained fall off the edge: the stable regime); (c) the loss "
    .. "keeps falling non-monotonically: over that same late window it rises on at least "
    .. "one step and ends lower (one burst of rises at the crossing, then a monotone fall, "
    .. "is a catapult into the stable regime, Lewkowycz et al. 2020). A run shows the edge "
    .. "of stability when all three hold. A run that reached 2/lr, does not hover and has "
    .. "no late rises is read as a catapult when lambda_max is below 2/lr for good within "
    .. "%d steps of the crossing (a spike), else as a spell above 2/lr, then the stable "
    .. "regime (its steps, lambda_max / (2/lr) and the loss's rises in it are given).",
    pct(1 - E.REACH), pct(E.HOVER), E.TAIL, E.FLOOR, E.CATAPULT)
end

-- Part (b)'s numbers of one run: where lambda_max went after the crossing.
local function after_text(f)
  local t = {string.format("peaked at %.2fx 2/lr", f.peak / f.edge)}
  if f.falling_from then
    t[#t + 1] = string.format("fell at every measurement from step %.0f", f.falling_from)
  end
  if f.below_from then
    t[#t + 1] = string.format("and is below 2/lr from step %.0f on", f.below_from)
  end
  return table.concat(t, ", ")
end

-- The spell above 2/lr of an "above 2/lr, then stable" run.
local function spell_text(f)
  return string.format("steps %.0f-%.0f at %.2f-%.2fx 2/lr, the loss rising on %s",
    f.reach_step, f.spell_to, f.spell_lo, f.spell_hi, #f.spell_rises == 0 and "none of them"
    or "steps " .. E.ranges(f.spell_rises))
end

-- One run's finding, part by part, then what the parts make of it.
local function finding(f)
  local p = {}
  if not f.reach_step then
    return string.format("lambda_max went from %.3g (%.2f of 2/lr) to a peak of %.3g "
      .. "(%.2fx its start) and never reached 2/lr = %.3g in %d steps; the loss %s: the stable regime, "
      .. "not the edge of stability (%d steps may be too few to reach it)", f.lam0, f.ratio0,
      f.peak, f.sharpened, f.edge, f.steps, #f.rise_steps == 0 and "fell on every step"
      or "rose on steps " .. E.ranges(f.rise_steps), f.steps)
  end
  p[1] = f.began_above and string.format("(a) lambda_max began above 2/lr (%.2fx at the "
      .. "first measurement): no sharpening phase", f.ratio0)
    or string.format("(a) lambda_max rose from %.2f of 2/lr to it by step %.0f (%.2fx its "
      .. "start): "
      .. "sharpening to the edge", f.ratio0, f.reach_step, f.sharpened)
  if f.hovers == nil then
    p[2] = string.format("(b), (c): %d measurements after the crossing, too few for a "
      .. "verdict (its last half needs %d)", f.after, E.MIN_LATE)
    return table.concat(p, "; ")
  end
  p[2] = string.format("(b) it %s; over the last half after the crossing (steps %.0f-%d, "
    .. "%d measurements, %d of %d steps between them falling) the median of lambda_max / "
    .. "(2/lr) is %.2f and the last %.2f: %s", after_text(f), f.late_from, f.steps, f.late,
    f.late_falls, f.late - 1, f.late_median, f.ratio_last, f.hovers
    and "it hovers at 2/lr, as Cohen et al. report" or "it does not hover at 2/lr")
  p[3] = string.format("(c) the loss rose on steps %s, %s of them after step %.0f, and "
    .. "went from %.3g there to %.3g: %s", E.ranges(f.rise_steps),
    f.rises_late == 0 and "none" or tostring(f.rises_late),
    f.late_from, f.loss_late, f.loss_final, f.nonmonotone
    and "it kept falling non-monotonically, as Cohen et al. report"
    or f.loss_final < f.loss_late and "it fell monotonically in the late window"
    or "it did not keep falling")
  p[4] = "so: " .. (f.eos and "the edge of stability, as Cohen et al. report"
    or f.regime == "catapult, then stable" and "a catapult, then the stable regime, "
      .. "not the edge of stability"
    or f.regime == "above 2/lr, then stable" and "a spell above 2/lr, then the stable "
      .. "regime, not the edge of stability (" .. spell_text(f) .. ", then below it for "
      .. "good: longer than a catapult's " .. E.CATAPULT .. " steps, but not to the end)"
    or "not the edge of stability (" .. (not f.sharpens and "no sharpening phase"
      or not f.hovers and "no hovering" or "no late loss rises") .. ")")
  return table.concat(p, "; ")
end

-- The report's "Beyond the study" row: per learning rate its regime and the
-- numbers that decide it; the verdict counts the runs showing all of (a),
-- (b) and (c).
local function beyond_row(task, recs, reads)
  local parts, yes, decided = {}, 0, 0
  for i, f in ipairs(reads) do
    if f.eos then yes = yes + 1 end
    if f.regime ~= "undecided" then decided = decided + 1 end
    local how
    if not f.reach_step then
      how = string.format("never reached 2/lr = %.3g in %d steps, peak %.3g", f.edge,
        f.steps, f.peak)
    elseif f.hovers == nil then
      how = string.format("%s 2/lr at step %.0f, too few measurements after it",
        f.began_above and "began above" or "reached", f.reach_step)
    else
      how = string.format("%s 2/lr = %.3g at step %.0f, %s%s; median %.2f of 2/lr over "
        .. "steps %.0f-%d; loss rose on steps %s", f.began_above and "began above"
        or "reached", f.edge, f.reach_step, after_text(f), f.regime == "above 2/lr, then "
        .. "stable" and string.format(" (above it over steps %.0f-%.0f at %.2f-%.2fx)",
        f.reach_step, f.spell_to, f.spell_lo, f.spell_hi) or "", f.late_median, f.late_from,
        f.steps, E.ranges(f.rise_steps))
    end
    parts[i] = string.format("lr %s: %s (%s)", recs[i].config.lr, f.regime, how)
  end
  local ours = table.concat(parts, "; ") .. string.format("; %s of the %d learning rates "
    .. "show%s the edge of stability", yes == 0 and "none" or tostring(yes), #reads,
    yes <= 1 and "s" or "")
  B.write(task, {experiment = string.format("edge of stability: full-batch gradient "
      .. "descent, %d steps, first %d MNIST training images", reads[1].steps,
      recs[1].config.subset and recs[1].config.subset.train or ROWS),
    ours = ours,
    published = "sharpness rises until it reaches 2/lr, then hovers just above 2/lr "
      .. "while the loss keeps falling non-monotonically (CIFAR-10-5k networks)",
    source = "Cohen et al. 2021, ICLR, Figures 1-2",
    verdict = decided == 0 and "undecided" or B.verdict(yes, decided)})
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
  -- a threshold above the y range draws nothing: its key says so, where
  -- the reader looks for the line (lr = 0.1's 2/lr = 20 against peaks near 4)
  for _, e in ipairs(edges) do
    if e.y[1] > 1.3 * top then e.label = e.label .. " (above the plot)" end
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
    .. "threshold above the plotted range is off the plot, and its key says so).")

  task:section("Findings (computed)")
  task:text(rule() .. "\n")
  local t = {"| lr | 2/lr | lambda_max at step 1 (/ 2/lr) | (a) reaches 2/lr at step | "
    .. "peak / (2/lr) | (b) late median / (2/lr) (steps) | last / (2/lr) | (c) loss rises "
    .. "(steps) | late rises | reading |", "|---|---|---|---|---|---|---|---|---|---|"}
  for i, f in ipairs(reads) do
    -- the peak to 3 decimals: 0.948 read "0.95" beside "never" reaching REACH (tryH 4)
    t[#t + 1] = string.format("| %s | %s | %s (%.2f) | %s | %.3f | %s | %.2f | %s | %s | "
      .. "%s |", recs[i].config.lr, fmt(f.edge), fmt(f.lam0), f.ratio0,
      not f.reach_step and "never" or string.format("%.0f%s", f.reach_step,
        f.began_above and " (began there)" or ""),
      f.peak / f.edge, f.late_median and string.format("%.2f (%.0f-%d)", f.late_median,
        f.late_from, f.steps) or "-", f.ratio_last, E.ranges(f.rise_steps),
      f.late_from and tostring(f.rises_late) or "-", f.regime)
  end
  task:text(table.concat(t, "\n") .. "\n")
  local yes = 0
  for i, f in ipairs(reads) do
    if f.eos then yes = yes + 1 end
    task:text(string.format("- lr = %s (2/lr = %.3g): %s.", recs[i].config.lr, f.edge,
      finding(f)))
  end
  task:text(string.format("- %s of the %d learning rates show%s the edge of stability "
    .. "(all of (a), (b) and (c)) in these %d steps.", yes == 0 and "None" or tostring(yes),
    #reads, yes <= 1 and "s" or "", reads[1].steps))
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
  -- the late drop Cohen et al. see with cross-entropy comes after a spell at
  -- 2/lr, near zero loss: where each run's final fall began, and its loss there
  local falls = {}
  for i, f in ipairs(reads) do
    if f.reach_step and f.falling_from then
      falls[#falls + 1] = string.format("at step %.0f for lr %s (loss %.3g)",
        f.falling_from, recs[i].config.lr, recs[i].history.loss[f.falling_from])
    end
  end
  task:text("- Cohen et al. use squared loss as well as cross-entropy and train to a loss "
    .. "threshold; with cross-entropy they note that sharpness eventually drops as the "
    .. "loss goes to zero, after a spell at 2/lr." .. (#falls > 0 and " Here lambda_max's "
    .. "final fall began " .. table.concat(falls, " and ") .. "." or "") .. " One seed: this "
    .. "is a reading of trajectories, not a test across seeds.")
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
