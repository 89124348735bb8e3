-- Task 9: ReLU against tanh, softsign and GELU (claim C7): convergence,
-- final accuracy over seeds, and per-layer gradient norms during training.
local S = require "study"

return wb.task{name = "task09_activations", title = "Task 9: activation functions",
  experiment = S.experiment{base = {epochs = 10},
    vary = {activation = {"relu", "tanh", "softsign", "gelu"}},
    callbacks = S.track,
    measure = function(_, cfg, _, h, cbs)
      local m = cbs[1].series
      m.target, m.epochs_to_target = S.target(cfg.dataset), false -- false: never
      for e, acc in ipairs(h.val_accuracy) do
        if acc >= m.target then m.epochs_to_target = e break end
      end
      return m
    end},
  report = function(task, runs)
    task:section("Results (mean ± sd over seeds)")
    task:text(runs:table{"test_accuracy", "val_loss", "epochs_to_target", "grad_norm_1",
      "grad_norm_2"})
    task:text(string.format("`epochs_to_target`: first epoch with validation accuracy >= "
      .. "%.0f %%. `grad_norm_1`, `grad_norm_2`: the gradient norm of the hidden and the "
      .. "output kernel in the last epoch (the figure below has every epoch's; REPORT's "
      .. "claim C7 averages them over the epochs).", 100 * S.target(task.dataset)))
    task:figure("val_accuracy", runs:plot_curves("val_accuracy",
      {title = "Validation accuracy", ylabel = "validation accuracy"}))
    task:figure("loss", runs:plot_curves("loss", {title = "Training loss", ylabel = "training loss",
      logy = true}))
    task:figure("grad_norms", wb.plot.panels{cols = 2, plots = {
      runs:plot_curves("grad_norm_1", {title = "Gradient norm, hidden layer kernel",
        ylabel = "gradient norm (hidden kernel)", logy = true}),
      runs:plot_curves("grad_norm_2", {title = "Gradient norm, output layer kernel",
        ylabel = "gradient norm (output kernel)", logy = true})}})
    task:section("Findings (computed)")
    task:compare(runs, "test_accuracy", {better = "higher"})
    task:compare(runs, "epochs_to_target")
    task:compare(runs, "val_loss")
  end}
