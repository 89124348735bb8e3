-- Task 8: batch size 8, 32, 128 (claim C6): curves per epoch and per second,
-- gradient noise of each model at its own batch size, and sharpness (loss
-- rise under small random relative weight perturbations).
local S = require "study"
local M = wb.measures

return wb.task{name = "task08_batch_size", title = "Task 8: batch size",
  experiment = S.experiment{base = {epochs = 10}, vary = {batch_size = {8, 32, 128}},
    measure = function(model, cfg, d)
      return {grad_noise = M.grad_noise(model, d.train, cfg.batch_size),
        grad_noise_32 = M.grad_noise(model, d.train, 32),
        sharpness = M.sharpness(model, d.train, 0.05, 5)}
    end},
  report = function(task, runs)
    task:section("Results (mean ± std over seeds)")
    task:text(runs:table{"test_accuracy", "val_loss", "sec_per_epoch", "grad_noise",
      "grad_noise_32", "sharpness"})
    task:text("`grad_noise`: E||g_B - g||^2 of minibatch gradients of the model's own batch "
      .. "size B around the gradient of a fixed 2048-image training sample (`grad_noise_32`: "
      .. "the same at B = 32 for every model). `sharpness`: mean training-loss rise when every "
      .. "weight is scaled by (1 + 0.05 u), u ~ N(0, 1), over 5 draws.")
    task:figure("val_loss", runs:plot_curves("val_loss", {title = "Validation loss per epoch"}))
    task:figure("val_loss_time", runs:plot_curves("val_loss", {x = "time",
      title = "Validation loss against training time"}))
    local labels, noise, nerr = runs:variants(), {}, {}
    for i, v in ipairs(labels) do noise[i], nerr[i] = runs:stat(v, "grad_noise") end
    task:figure("grad_noise", wb.plot.bars{title = "Gradient noise at the model's batch size",
      labels = labels, values = noise, err = nerr, ylabel = "E||g_B - g||^2", logy = true})
    task:section("Findings (computed)")
    task:compare(runs, "grad_noise")
    task:compare(runs, "sec_per_epoch")
    task:compare(runs, "sharpness")
    task:compare(runs, "test_accuracy", {better = "higher"})
  end}
