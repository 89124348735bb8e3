-- Task 7c: the four optimizers of task 7, each at its tuned learning rate
-- (the best of task 7b's grid on held-out validation loss), with the
-- report's seeds: claim C5 decided without the study's fixed rates. Reads
-- task 7b's records when the script is loaded: run task 7b first. The grid's
-- budget (S.TUNE_EPOCHS): the rate is tuned and tested on the same number
-- of epochs (DeepOBS), and the first seed of each is the grid's run at that
-- rate, adopted (the same tracker, S.track).
local S = require "study"

-- --help only lists the options: it needs no rates, so it works before task 7b has run
local help = false
for _, a in ipairs(rawget(_G, "arg") or {}) do help = help or a == "--help" or a == "-h" end
local grid, missing, n_grid = nil, {}, 0
if not help then grid, missing, n_grid = S.grid_runs() end
-- a grid with runs unrecorded (a failed child): its best rate may be one left out
if #missing > 0 then
  local named = {}
  for i = 1, math.min(3, #missing) do
    named[i] = string.format("%s seed %d", missing[i].variant, missing[i].seed)
  end
  error(string.format("task07c: %d of task07b_lr_grid's %d runs have no record (%s%s): the "
    .. "best rate could be one of those; run scripts/task07b_lr_grid.lua (with the same "
    .. "--root, --quick, --dataset, --epochs) until every run is recorded, then task 7c",
    #missing, n_grid, table.concat(named, ", "), #missing > 3 and ", ..."
    or ""), 0)
end
local variants = {}
for _, o in ipairs(S.OPTIMIZERS) do
  local lr = grid and S.best_lr(grid, o) or help and S.LR_GRID[1] or nil
  if not lr then
    error("task07c: no finished run of " .. o.label .. " in task07b_lr_grid's records: "
      .. "run scripts/task07b_lr_grid.lua (with the same --root, --quick, --dataset) first", 0)
  end
  local v = {label = o.label .. " (tuned)", lr = lr}
  for k, x in pairs(o.config) do v[k] = x end
  variants[#variants + 1] = v
end

return wb.task{name = "task07c_tuned_optimizers",
  title = "Task 7c: optimizers at their tuned learning rates",
  experiment = S.experiment{base = {epochs = S.TUNE_EPOCHS}, variants = variants,
    callbacks = S.track, measure = S.convergence_measure},
  report = function(task, runs)
    task:section("Results (mean ± sd over seeds)")
    local lrs = {}
    for _, v in ipairs(variants) do lrs[#lrs + 1] = string.format("%s: lr %g", v.label, v.lr) end
    task:text("Learning rates from task 7b's grid: " .. table.concat(lrs, "; ") .. ". Each "
      .. "was chosen on the validation loss of task 7b's seed 1, and seed 1 here (where it is "
      .. "among the seeds) is that very run, adopted: the run the rate was selected on, so its "
      .. "validation numbers may sit a little in its optimizer's favour; the other seeds are "
      .. "fresh trainings.")
    task:text(runs:table{"test_accuracy", "val_loss", "epochs_to_target", "seconds_to_target",
      "late_val_loss_jitter"})
    task:figure("val_accuracy", runs:plot_curves("val_accuracy",
      {title = "Validation accuracy, tuned learning rates", ylabel = "validation accuracy"}))
    task:section("Findings (computed)")
    task:compare(runs, "epochs_to_target")
    task:compare(runs, "test_accuracy", {better = "higher"})
    task:compare(runs, "late_val_loss_jitter", {better = "lower"})
  end}
