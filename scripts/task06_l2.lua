-- Task 6: L2 on the kernels, 1e-4 / 1e-3 / 1e-2 against none (claim C4):
-- curves, weight norms and histograms, the share of the loss that is the
-- penalty, and the gap in inference mode (clean_gap, as C3's). The
-- baseline's 10 epochs and tracker (S.track): l2 = 0 is the baseline's
-- training, adopted, not redone.
local S = require "study"
local M = wb.measures

return wb.task{name = "task06_l2", title = "Task 6: L2 regularisation",
  experiment = S.experiment{base = {epochs = S.baseline_epochs},
    vary = {l2 = {0, 1e-4, 1e-3, 1e-2}}, callbacks = S.track,
    measure = function(model, cfg, d, h)
      local n = M.weight_norms(model)
      return {w1_norm = n[1], w2_norm = n[2],
        reg_share = h.reg_loss and h.reg_loss[#h.reg_loss] / h.loss[#h.loss] or 0,
        clean_gap = S.clean_gap(model, cfg, d, h)}
    end},
  report = function(task, runs)
    task:section("Results (mean ± sd over seeds)")
    task:text(runs:table{"test_accuracy", "val_loss", "gap", "clean_gap", "w1_norm", "w2_norm",
      "reg_share"})
    task:text("clean_gap is the last epoch's validation loss minus the loss on the rows "
      .. "trained on, with the final weights (C4 reads it, as C3 does); both include the "
      .. "penalty, which cancels. gap is Keras's: its training loss is a running mean over "
      .. "the epoch, which lags the final weights.")
    task:figure("val_loss", runs:plot_curves("val_loss", {title = "Validation loss (incl. "
      .. "penalty, as Keras reports it)", ylabel = "validation loss"}))
    task:figure("reg_loss", runs:plot_curves("reg_loss", {title = "L2 penalty in the loss",
      ylabel = "L2 penalty", logy = true}))
    -- each variant's first finished seed (a diverged run has no weights)
    local hs, seeds = {}, {}
    for _, v in ipairs(runs:variants()) do
      local r = S.finished(runs:of(v))[1]
      if r then
        hs[#hs + 1] = {label = v .. (r.seed ~= 1 and (" (seed " .. r.seed .. ")") or ""),
          values = r:model()[1].weight}
        seeds[r.seed] = true
      end
    end
    if #hs > 0 then
      task:figure("weights_hist", wb.plot.histogram{title = "First-layer weights (seed "
        .. (next(seeds, next(seeds)) and "1 or the first that finished" or next(seeds)) .. ")",
        bins = 80, series = hs, xlabel = "weight", ylabel = "count", logy = true})
    end
    task:section("Findings (computed)")
    task:compare(runs, "w1_norm", {better = "neither"})
    task:compare(runs, "clean_gap", {better = "neither"})
    task:compare(runs, "gap", {better = "neither"})
    task:compare(runs, "test_accuracy", {better = "higher"})
  end}
