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
    local dm, ds = wb.runs.mean_std(diff)
    local am, as = wb.runs.mean_std(acc)
    local sm = wb.runs.mean_std(runs:values(v, "stopped_epoch"))
    local function verdict(m, s, what)
      if m > s then return what .. " is better with the restored weights" end
      if m < -s then return what .. " is better with the last weights" end
      return what .. ": no difference beyond the spread over seeds"
    end
    task:text(string.format("- %s: stopped at epoch %.1f on average; restoring changed the "
      .. "test loss by %+.4f ± %.4f and test accuracy by %+.2f ± %.2f points (restored - "
      .. "last): %s; %s.", v, sm, -dm, ds, 100 * am, 100 * as, verdict(dm, ds, "test loss"),
      verdict(am, as, "test accuracy")))
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
