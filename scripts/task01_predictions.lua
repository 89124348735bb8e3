-- Task 1: what the baseline MLP predicts, and where it goes wrong.
-- Confusion matrix, per-class accuracy over seeds, the most confidently
-- wrong test digits, and a few predictions with their probabilities.
local S = require "study"

local function report(task, runs)
  local d = task:data()
  local names = S.class_names(task.dataset)
  task:section("Setup")
  task:text(string.format("Baseline MLP 784 -> Dense 128 ReLU -> Dense 10 softmax, Adam "
    .. "(Keras defaults), batch 32, %d epochs, %d seeds; test set of %d images.",
    runs.records[1] and runs.records[1].config.epochs or 0,
    #runs:variants() > 0 and #runs:of(runs:variants()[1]) or 0, #d.test))
  task:text(runs:table{"test_accuracy", "test_loss", "loss"})

  -- confusion per seed: counts from the first seed, per-class accuracy over all;
  -- finished runs only (a diverged run has no weights: counted in the table)
  local per_class, first = {}, nil
  local done, n_out = S.finished(runs.records)
  if n_out > 0 and #done == 0 then task:text("No run finished: no predictions.") end
  for k, r in ipairs(done) do
    local conf, probs, pred = S.confusion(r:model(), d.test)
    if k == 1 then first = {conf = conf, probs = probs, pred = pred, seed = r.seed} end
    for c, a in ipairs(S.per_class_accuracy(conf)) do
      per_class[c] = per_class[c] or {}
      table.insert(per_class[c], a)
    end
  end
  if not first then return end
  local one = "seed " .. first.seed -- seed 1 unless it did not finish

  task:section("Confusion matrix (" .. one .. ")")
  task:figure("confusion", wb.plot.heatmap{title = "Confusion matrix, test set (" .. one
    .. ")", z = first.conf, xlabels = names, ylabels = names, xlabel = "predicted class",
    ylabel = "true class"})
  local mean, err, miss, miss_err = {}, {}, {}, {}
  for c = 1, 10 do
    mean[c], err[c] = wb.runs.mean_std(per_class[c])
    miss[c], miss_err[c] = 100 * (1 - mean[c]), 100 * err[c]
  end
  -- the error rate, its bars from 0: accuracy bars on an axis cut at 0.92
  -- drew class 8 (96.6 %) at half the height of class 0 (98.9 %)
  task:figure("per_class_error", wb.plot.bars{title = "Per-class test error "
    .. "(100 % - accuracy; mean ± sd over seeds)", labels = names, values = miss,
    err = miss_err, xlabel = "digit (true class)", ylabel = "test error (%)", err_is = "sd"})

  task:section("Findings (computed)")
  local worst, best = 1, 1
  for c = 2, 10 do
    if mean[c] < mean[worst] then worst = c end
    if mean[c] > mean[best] then best = c end
  end
  task:text(string.format("- Hardest class: **%s** (%s ± %s); easiest: **%s** (%s).",
    names[worst], S.pct(mean[worst]), S.pct(err[worst]), names[best], S.pct(mean[best])))
  local lines = {}
  for _, p in ipairs(S.top_confusions(first.conf, 5)) do
    lines[#lines + 1] = string.format("%s -> %s (%d)", names[p[1] + 1], names[p[2] + 1], p[3])
  end
  task:text("- Most frequent confusions (true -> predicted, count, " .. one .. "): " ..
    table.concat(lines, ", ") .. ".")

  local errs, n_err = S.confident_errors(d.test, first.probs, first.pred, 24)
  local sure = 0
  for _, e in ipairs(S.confident_errors(d.test, first.probs, first.pred, n_err)) do
    if e[4] > 0.9 then sure = sure + 1 end
  end
  task:text(string.format("- %d of %d test images are misclassified (" .. one .. "); %d of "
    .. "those "
    .. "errors are made with probability above 0.9.", n_err, #d.test, sure))

  local rows, caps = {}, {}
  for i, e in ipairs(errs) do
    rows[i] = e[1]
    caps[i] = string.format("true %s, pred %s (%.2f)", names[e[2] + 1], names[e[3] + 1], e[4])
  end
  task:figure("confident_errors", wb.plot.images{title = "Most confidently wrong test "
    .. "images (" .. one .. ")", tiles = S.images(d.test, rows), rows = 3, cols = 8,
    labels = caps})

  local panels = {}
  local p = first.probs
  for i = 1, 8 do
    local probs = {}
    for c = 1, 10 do probs[c] = p:get(i, c) end
    panels[i] = wb.plot.bars{title = string.format("test #%d: true %s, pred %s", i,
      names[d.test.labels:get(i) + 1], names[first.pred[i]]), labels = names,
      values = probs, ylabel = "probability", yrange = {0, 1}}
  end
  task:figure("sample_predictions", wb.plot.panels{title = "Predicted probabilities for the "
    .. "first eight test images (" .. one .. ")", cols = 4, plots = panels})
end

return wb.task{name = "task01_predictions",
  title = "Task 1: predictions and confusions of the baseline",
  experiment = S.baseline(), report = report}
