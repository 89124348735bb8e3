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
    -- the runner-up beside the best: a choice by 0.0003 of one seed's validation loss
    -- read as firm as one by 0.03 (tryJ)
    local rows = {"| optimizer | best learning rate | its validation loss (mean over its seeds) "
      .. "| runner-up rate | its validation loss |", "|---|---|---|---|---|"}
    local have = {} -- the labels with a record (a failed child's has none)
    for _, v in ipairs(runs:variants()) do have[v] = true end
    for _, o in ipairs(S.OPTIMIZERS) do
      local lr, loss = S.best_lr(runs, o)
      local next_lr, next_loss
      for _, g in ipairs(S.LR_GRID) do
        local label = string.format("%s lr=%g", o.label, g)
        local xs = g ~= lr and have[label] and runs:values(label, "val_loss")
        local m = xs and #xs > 0 and wb.runs.mean_std(xs)
        if m and m == m and m < math.huge and (not next_loss or m < next_loss) then
          next_lr, next_loss = g, m
        end
      end
      rows[#rows + 1] = string.format("| %s | %s | %s | %s | %s |", o.label, lr and
        string.format("%g", lr) or "none finished", loss and string.format("%.4f", loss) or "",
        next_lr and string.format("%g", next_lr) or "-",
        next_loss and string.format("%.4f", next_loss) or "")
    end
    task:text(table.concat(rows, "\n"))
    task:text("Diverged runs (a rate too large) are left out of the figure; the best rate "
      .. "is the one with the lowest final validation loss on the held-out rows, of one seed "
      .. "unless --seeds says more: a runner-up within the seeds' spread (task 7c's tables "
      .. "give it) could as well have been chosen.")
  end}
