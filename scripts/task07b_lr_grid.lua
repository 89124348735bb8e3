-- Task 7b: each optimizer's learning rate, tuned (claim C5, tuned): SGD,
-- SGD + momentum 0.9, Adam and AdamW on a log grid of 7 learning rates from
-- 1e-4 to 1, one seed each, 10 epochs (DeepOBS's protocol, Schneider et al.
-- 2019). The best rate of each optimizer (lowest final held-out validation
-- loss) is what task 7c reruns with the report's seeds. The baseline's
-- tracker (S.track), so that the runs equal to task 7's and 7c's first
-- seed are trained once.
local S = require "study"

local variants = {}
for _, o in ipairs(S.OPTIMIZERS) do
  for _, lr in ipairs(S.LR_GRID) do
    local v = {label = string.format("%s lr=%g", o.label, lr), lr = lr}
    for k, x in pairs(o.config) do v[k] = x end
    variants[#variants + 1] = v
  end
end

return wb.task{name = "task07b_lr_grid", title = "Task 7b: learning-rate grid per optimizer",
  experiment = S.experiment{base = {epochs = S.TUNE_EPOCHS}, variants = variants,
    seeds = {1}, callbacks = S.track},
  report = function(task, runs)
    local series = {}
    for _, o in ipairs(S.OPTIMIZERS) do
      local x, y = {}, {}
      for _, lr in ipairs(S.LR_GRID) do
        local rs = runs:of(string.format("%s lr=%g", o.label, lr))
        local v = rs[1] and rs[1].status == "ok" and rs[1].metrics.val_loss
        if v and v == v and v < math.huge then x[#x + 1], y[#y + 1] = lr, v end
      end
      if #x > 0 then series[#series + 1] = {label = o.label, x = x, y = y} end
    end
    task:figure("tuneability", wb.plot.lines{title = "Final validation loss against the "
      .. "learning rate (one seed; DeepOBS's tuneability plot)", xlabel = "learning rate",
      ylabel = "validation loss", logx = true, logy = true, series = series, points = true})
    local rows = {"| optimizer | best learning rate | its validation loss (mean over its seeds) |",
      "|---|---|---|"}
    for _, o in ipairs(S.OPTIMIZERS) do
      local lr, loss = S.best_lr(runs, o)
      rows[#rows + 1] = string.format("| %s | %s | %s |", o.label, lr and
        string.format("%g", lr) or "none finished", loss and string.format("%.4f", loss) or "")
    end
    task:text(table.concat(rows, "\n"))
    task:text("Diverged runs (a rate too large) are left out of the figure; the best rate "
      .. "is the one with the lowest final validation loss on the held-out rows.")
  end}
