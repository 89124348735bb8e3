-- Task 7: SGD (lr 0.01), SGD + momentum 0.9, Adam and AdamW (claim C5):
-- convergence per epoch and per second, epochs and seconds to reach a
-- validation accuracy target, and late-training stability of the
-- validation loss.
local S = require "study"

return wb.task{name = "task07_optimizers", title = "Task 7: optimizers",
  experiment = S.experiment{base = {epochs = 20}, variants = {
      {label = "SGD lr=0.01", optimizer = "sgd", lr = 0.01},
      {label = "SGD+momentum 0.9", optimizer = "sgd", lr = 0.01, momentum = 0.9},
      {label = "Adam", optimizer = "adam"},
      {label = "AdamW wd=0.004", optimizer = "adamw"}},
    measure = function(_, cfg, _, h)
      local m = {target = S.target(cfg.dataset)}
      local t = 0
      for e, acc in ipairs(h.val_accuracy) do
        t = t + h.epoch_time[e]
        if acc >= m.target and not m.epochs_to_target then
          m.epochs_to_target, m.seconds_to_target = e, t
        end
      end
      local late, n = {}, #h.val_loss
      for e = math.max(2, n - 4), n do late[#late + 1] = h.val_loss[e] - h.val_loss[e - 1] end
      local _, s = wb.runs.mean_std(late)
      m.late_val_loss_jitter = s
      return m
    end},
  report = function(task, runs)
    task:section("Results (mean ± std over seeds)")
    task:text(runs:table{"test_accuracy", "val_loss", "epochs_to_target", "seconds_to_target",
      "late_val_loss_jitter"})
    task:text(string.format("`epochs_to_target` / `seconds_to_target`: first epoch (and "
      .. "training seconds) with validation accuracy >= %.0f %% (seeds that never reach it "
      .. "are left out; `seeds` counts all). `late_val_loss_jitter`: std of the "
      .. "epoch-to-epoch change of validation loss over the last five epochs.",
      100 * S.target(task.dataset)))
    task:figure("val_accuracy", runs:plot_curves("val_accuracy",
      {title = "Validation accuracy"}))
    task:figure("val_loss_time", runs:plot_curves("val_loss", {x = "time",
      title = "Validation loss against training time"}))
    task:figure("loss", runs:plot_curves("loss", {title = "Training loss", logy = true}))
    task:section("Findings (computed)")
    task:compare(runs, "epochs_to_target")
    task:compare(runs, "test_accuracy", {better = "higher"})
    task:compare(runs, "late_val_loss_jitter")
  end}
