-- Task 5: dropout 0, 0.1, 0.3 after the hidden layer (claim C3): the gap,
-- accuracy, and robustness when hidden units are silenced at test time.
-- The baseline's 10 epochs and tracker (S.track): dropout 0 is the
-- baseline's training, adopted, not redone; overfitting has begun by then
-- (task 3: validation loss is lowest near epoch 8).
local S = require "study"
local M = wb.measures

return wb.task{name = "task05_dropout", title = "Task 5: dropout",
  experiment = S.experiment{base = {epochs = S.baseline_epochs},
    vary = {dropout = {0, 0.1, 0.3}}, callbacks = S.track,
    measure = function(model, cfg, d, hist)
      return {silenced_10 = M.silenced_accuracy(model, d.test, 0.1),
              silenced_30 = M.silenced_accuracy(model, d.test, 0.3),
              silenced_50 = M.silenced_accuracy(model, d.test, 0.5),
              clean_gap = S.clean_gap(model, cfg, d, hist)}
    end},
  report = function(task, runs)
    task:section("Results (mean ± sd over seeds)")
    task:text(runs:table{"test_accuracy", "val_loss", "best_val_loss", "gap", "clean_gap",
      "best_epoch"})
    task:text(S.CLEAN_GAP_NOTE)
    task:figure("val_loss", runs:plot_curves("val_loss", {title = "Validation loss",
      ylabel = "validation loss"}))
    task:figure("gap", runs:plot_curves("gap", {title = "Generalization gap (val loss - "
      .. "train loss)", ylabel = "generalization gap"}), S.GAP_NOTE)
    task:text("Robustness: test accuracy when a random 10 / 30 / 50 % of the hidden units "
      .. "are silenced at inference (mean of 5 draws per model):")
    task:text(runs:table{"test_accuracy", "silenced_10", "silenced_30", "silenced_50"})
    local labels, series = runs:variants(), {}
    for i, f in ipairs{"test_accuracy", "silenced_10", "silenced_30", "silenced_50"} do
      local vals, errs = {}, {}
      for k, v in ipairs(labels) do -- in %, as the tables
        local m, sd = runs:stat(v, f)
        vals[k], errs[k] = m and 100 * m, sd and 100 * sd
      end
      series[i] = {label = ({"all units", "10% silenced", "30% silenced", "50% silenced"})[i],
        values = vals, err = errs}
    end
    task:figure("robustness", wb.plot.bars{title = "Test accuracy with hidden units "
      .. "silenced (mean ± sd over seeds)",
      labels = labels, series = series, xlabel = "variant (dropout rate)",
      ylabel = "test accuracy (%)", err_is = "sd"})

    task:section("Findings (computed)")
    task:compare(runs, "clean_gap", {better = "neither"})
    task:compare(runs, "gap", {better = "neither"})
    task:compare(runs, "test_accuracy", {better = "higher"})
    task:compare(runs, "silenced_50", {better = "higher"})
  end}
