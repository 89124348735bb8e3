-- Task 7: SGD (lr 0.01), SGD + momentum 0.9, Adam and AdamW (claim C5):
-- convergence per epoch and per second, epochs and seconds to reach a
-- validation accuracy target, and late-training stability of the
-- validation loss. 10 epochs, the budget task 7b tunes the learning rates
-- on, so that C5 at the study's rates and C5 tuned (task 7c) differ only
-- in the rate; with the baseline's tracker (S.track) Adam is the
-- baseline's training and the first seed of SGD and SGD + momentum are
-- task 7b's grid runs at lr 0.01: adopted, not redone.
local S = require "study"

return wb.task{name = "task07_optimizers", title = "Task 7: optimizers",
  experiment = S.experiment{base = {epochs = S.TUNE_EPOCHS}, callbacks = S.track,
    variants = {
      {label = "SGD lr=0.01", optimizer = "sgd", lr = 0.01},
      {label = "SGD+momentum 0.9", optimizer = "sgd", lr = 0.01, momentum = 0.9},
      {label = "Adam", optimizer = "adam"},
      {label = "AdamW wd=0.004", optimizer = "adamw"}},
    measure = S.convergence_measure},
  report = function(task, runs)
    task:section("Results (mean ± sd over seeds)")
    task:text(runs:table{"test_accuracy", "val_loss", "epochs_to_target", "seconds_to_target",
      "late_val_loss_jitter"})
    task:text(string.format("`epochs_to_target` / `seconds_to_target`: first epoch (and "
      .. "training seconds) with validation accuracy >= %.0f %% (seeds that never reach it "
      .. "are left out; `seeds` counts all). `late_val_loss_jitter`: std of the "
      .. "epoch-to-epoch change of validation loss over the last five epochs.",
      100 * S.target(task.dataset)))
    task:figure("val_accuracy", runs:plot_curves("val_accuracy",
      {title = "Validation accuracy", ylabel = "validation accuracy"}))
    task:figure("val_loss_time", runs:plot_curves("val_loss", {x = "time",
      title = "Validation loss against training time", ylabel = "validation loss"}))
    task:figure("loss", runs:plot_curves("loss", {title = "Training loss", ylabel = "training loss",
      logy = true}))
    task:section("Findings (computed)")
    task:compare(runs, "epochs_to_target")
    task:compare(runs, "test_accuracy", {better = "higher"})
    task:compare(runs, "late_val_loss_jitter", {better = "lower"})
  end}
