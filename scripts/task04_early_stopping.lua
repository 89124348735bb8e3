-- Task 4: early stopping on validation loss, with a patience sweep.
-- Validation is the last 10% of the training set (Keras validation_split),
-- so the test set stays untouched for judging restored-best against
-- last-epoch weights (claim C2).
local S = require "study"

local function report(task, runs)
  task:section("Where training stopped, and what restoring the best weights bought")
  task:text("Each run trains for at most 30 epochs and stops when the validation loss has "
    .. "not improved for `patience` epochs; the best weights are restored at the end "
    .. "(Keras 3 semantics). Test metrics of the restored weights vs the last epoch's:")
  task:text(runs:table({"stopped_epoch", "best_epoch", "test_loss", "last_test_loss",
    "test_accuracy", "last_test_accuracy"}, {variant_header = "early stopping"}))
  task:figure("val_loss", runs:plot_curves("val_loss", {title = "Validation loss until "
    .. "the stop (mean ± std over seeds still running)"}))
  task:section("Findings (computed)")
  for _, v in ipairs(runs:variants()) do
    local diff, acc = {}, {}
    for i, r in ipairs(runs:of(v)) do
      diff[i] = r.metrics.last_test_loss - r.metrics.test_loss
      acc[i] = r.metrics.test_accuracy - r.metrics.last_test_accuracy
    end
    local sm = wb.runs.mean_std(runs:values(v, "stopped_epoch"))
    -- paired over seeds: the restored and the last weights of the same run
    local function verdict(xs, what, name, lower)
      local zeros = {}
      for i = 1, #xs do zeros[i] = 0 end
      local w = wb.welch(xs, zeros)
      local change = string.format("%s %s %s", what, w.diff < 0 and "-" or "+",
        wb.runs.fmt_mean_std(math.abs(w.diff), nil, name))
      if not w.p then return change .. " (one seed: no verdict)" end
      local interval = string.format(", 95 %% CI [%s, %s]", wb.runs.fmt_mean_std(w.lo, nil,
        name), wb.runs.fmt_mean_std(w.hi, nil, name))
      local better = lower and w.hi < 0 or not lower and w.lo > 0
      local worse = lower and w.lo > 0 or not lower and w.hi < 0
      return change .. interval .. (better and ": better with the restored weights"
        or worse and ": better with the last weights" or ": not decided by the seeds")
    end
    for i = 1, #diff do diff[i] = -diff[i] end -- restored - last
    task:text(string.format("- %s: stopped at epoch %.1f on average; restored - last: %s; "
      .. "%s.", v, sm, verdict(diff, "test loss", "test_loss", true),
      verdict(acc, "test accuracy", "test_accuracy", false)))
  end
end

local function patience(p) return {label = "patience=" .. p,
  early_stopping = {patience = p, restore_best_weights = true}} end

return wb.task{name = "task04_early_stopping",
  title = "Task 4: early stopping (patience sweep)",
  experiment = S.experiment{base = {epochs = 30, validation = 0.1},
    variants = {patience(2), patience(5), patience(10)},
    reuse = false, -- the callback below must see this run's own last epoch
    callbacks = function(_, _, d)
      -- runs before EarlyStopping's restore: sees the last-epoch weights
      local cb = {}
      function cb:on_train_begin(model) self.model = model end
      function cb:on_train_end() self.last = self.model:evaluate(d.test) end
      return {cb}
    end,
    measure = function(_, _, _, hist, cbs)
      return {last_test_loss = cbs[1].last.loss, last_test_accuracy = cbs[1].last.accuracy,
        stopped_epoch = #hist.loss, best_epoch_restored = hist.best_epoch}
    end},
  report = report}
