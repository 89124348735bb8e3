-- Task 8: batch size 8, 32, 128 and 6,000 (claim C6): curves per epoch and
-- per second, gradient noise of each model at its own batch size, and the
-- curvature of the minimum reached: the top eigenvalue and the trace of the
-- training-loss Hessian on a fixed sample (exact Hessian-vector products,
-- wb.hessian), beside the older proxy (loss rise under random relative
-- weight perturbations). 6,000 is Keskar et al. 2017's "large batch" (10 %
-- of the data); it trains for more epochs (S.LARGE_BATCH_EPOCHS, see
-- README), batch 8 for fewer (S.SMALL_BATCH_EPOCHS). The baseline's
-- tracker (S.track): batch 32 is the baseline's training, adopted.
local S = require "study"
local M = wb.measures

-- the fixed sample the curvature is measured on: the first 2,048 rows
local SAMPLE = 2048

return wb.task{name = "task08_batch_size", title = "Task 8: batch size",
  experiment = S.experiment{base = {epochs = S.baseline_epochs}, callbacks = S.track,
    variants = {
      {label = "batch_size=8", batch_size = 8, epochs = S.SMALL_BATCH_EPOCHS},
      {batch_size = 32}, {batch_size = 128},
      {label = "batch_size=6000", batch_size = 6000, epochs = S.LARGE_BATCH_EPOCHS}},
    measure = function(model, cfg, d)
      local sample = d.train:subset(1, math.min(SAMPLE, #d.train))
      local top = wb.hessian.eigs(model, sample, {k = 1, tol = 1e-3})
      local tr = wb.hessian.trace(model, sample, {probes = 30})
      -- gradient noise is measured around a 2,048-row sample: not for larger batches
      return {grad_noise = cfg.batch_size <= 2048 and M.grad_noise(model, d.train,
        cfg.batch_size) or nil,
        grad_noise_32 = M.grad_noise(model, d.train, 32),
        sharpness = M.sharpness(model, d.train, 0.05, 5),
        lambda_max = top.values[1], hessian_trace = tr.mean, trace_stderr = tr.stderr,
        curvature_hvps = top.hvps + tr.hvps}
    end},
  report = function(task, runs)
    task:section("Results (mean ± sd over seeds)")
    task:text(runs:table{"test_accuracy", "loss", "val_loss", "sec_per_epoch", "grad_noise",
      "grad_noise_32", "lambda_max", "hessian_trace", "sharpness"})
    task:text(string.format("`lambda_max`, `hessian_trace`: the largest eigenvalue (Lanczos, "
      .. "1e-3 relative) and the trace (Hutchinson, 30 Rademacher probes) of the Hessian of "
      .. "the training loss on the first %d training rows, at the final weights. "
      .. "`grad_noise`: E||g_B - g||^2 of minibatch gradients of the model's own batch size "
      .. "B (up to 2,048; not measured above) around the gradient of a fixed 2,048-image "
      .. "sample: about the per-sample gradient variance over B, so smaller B gives more by "
      .. "construction. `grad_noise_32`: the same at batch 32 for every model, which compares "
      .. "the models rather than their batch sizes (C6 reads both). `sharpness` "
      .. "(the older proxy): mean training-loss rise when every weight is scaled by "
      .. "(1 + 0.05 u), u ~ N(0, 1), over 5 draws.", SAMPLE))
    -- how far each batch size got, from the runs (--quick and --epochs change it)
    local function at(v, name) return (runs:stat(v, name)) end
    local e8, e32, el = at("batch_size=8", "epochs_run"), at("batch_size=32", "epochs_run"),
      at("batch_size=6000", "epochs_run")
    local l32, ll = at("batch_size=32", "loss"), at("batch_size=6000", "loss")
    if e8 and e32 and el and l32 and ll then
      task:text(string.format("Batch 8 trained %g epochs, batch 32 %g and batch 6,000 %g. "
        .. "Batch 6,000's final training loss (`loss`) is %.4f against batch 32's %.4f: %s",
        e8, e32, el, ll, l32, ll > l32 and "its curvature is read where it stopped, further "
        .. "from a minimum than batch 32's (lambda_max is measured at the final weights "
        .. "only: how it changes with more epochs is not measured here), so the comparison "
        .. "says 'sharper where training ended', not 'sharper at equal training loss'."
        or "it got as far as "
        .. "batch 32, so the curvatures compare models trained to a similar loss."))
    end
    -- log axes: batch 6,000's 50 epochs from 1.3 squeezed the others' 5 and
    -- 10 epochs (0.07 to 0.17) into a corner of a linear figure, unreadable
    task:figure("val_loss", runs:plot_curves("val_loss", {title = "Validation loss per epoch",
      ylabel = "validation loss", logx = true, logy = true}))
    task:figure("loss_time", runs:plot_curves("loss", {x = "time", logy = true,
      title = "Training loss against training time", ylabel = "training loss"}))
    -- the variants that have the measure, with its mean and sd
    local function bars(name)
      local labels, m, s = {}, {}, {}
      for _, v in ipairs(runs:variants()) do
        local mean, sd = runs:stat(v, name)
        if mean then labels[#labels + 1], m[#m + 1], s[#s + 1] = v, mean, sd end
      end
      return labels, m, s
    end
    local labels, lmax, lerr = bars("lambda_max")
    -- each bar at its own batch's last epoch: unequal training when they differ
    local epochs, seen = {}, {}
    for _, v in ipairs(labels) do
      local e = at(v, "epochs_run")
      epochs[#epochs + 1] = string.format("%s: %s", v, e and string.format("%g", e) or "?")
      seen[tostring(e)] = true
    end
    task:figure("lambda_max", wb.plot.bars{title = "Top Hessian eigenvalue at the end of "
      .. "training (mean ± sd over seeds)", labels = labels, values = lmax, err = lerr,
      ylabel = "lambda_max", err_is = "sd"}, next(seen, next(seen)) and "Each at the end "
      .. "of its own training: the batch sizes trained unequal epochs (mean over seeds: "
      .. table.concat(epochs, ", ") .. "), so they were not stopped at equal training.")
    local nlabels, noise, nerr = bars("grad_noise")
    task:figure("grad_noise", wb.plot.bars{title = "Gradient noise at the model's "
      .. "batch size (mean ± sd over seeds)",
      labels = nlabels, values = noise, err = nerr, ylabel = "E||g_B - g||^2", logy = true,
      err_is = "sd"})
    task:section("Findings (computed)")
    task:compare(runs, "grad_noise", {better = "neither"})
    task:compare(runs, "sec_per_epoch")
    task:compare(runs, "lambda_max", {better = "neither"})
    task:compare(runs, "hessian_trace", {better = "neither"})
    task:compare(runs, "test_accuracy", {better = "higher"})
  end}
