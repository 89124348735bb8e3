-- Task 9: ReLU against tanh, softsign and GELU (claim C7): convergence,
-- final accuracy over seeds, and per-layer gradient norms during training.
local M = wb.measures
local task = wb.task{name = "task09_activations", title = "Task 9: activation functions"}
-- the validation accuracy "converged" means: reachable on each dataset
local TARGET = task.dataset == "fashion" and 0.85 or 0.97
local runs = task:experiment{base = {epochs = 10},
  vary = {activation = {"relu", "tanh", "softsign", "gelu"}},
  callbacks = function(_, _, d) return {M.track{data = d.train}} end,
  measure = function(_, _, _, h, cbs)
    local m = cbs[1].series
    m.target = TARGET
    for e, acc in ipairs(h.val_accuracy) do
      if acc >= TARGET then m.epochs_to_target = e break end
    end
    return m
  end}:run()

task:section("Results (mean ± std over seeds)")
task:text(runs:table{"test_accuracy", "val_loss", "epochs_to_target", "grad_norm_1",
  "grad_norm_2"})
task:figure("val_accuracy", runs:plot_curves("val_accuracy", {title = "Validation accuracy"}))
task:figure("loss", runs:plot_curves("loss", {title = "Training loss", logy = true}))
task:figure("grad_norms", wb.plot.panels{cols = 2, plots = {
  runs:plot_curves("grad_norm_1", {title = "Gradient norm, hidden layer kernel",
    logy = true}),
  runs:plot_curves("grad_norm_2", {title = "Gradient norm, output layer kernel",
    logy = true})}})
task:section("Findings (computed)")
task:compare(runs, "test_accuracy", {better = "higher"})
task:compare(runs, "epochs_to_target")
task:compare(runs, "val_loss")
task:finish()
