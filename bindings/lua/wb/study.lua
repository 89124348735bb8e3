-- wb/study.lua: pieces the reference study's task scripts share, so each
-- script stays short and declarative: the baseline experiment (reused by
-- tasks 1, 2 and 10), loading a run's model, confusion matrices, and the
-- most confidently wrong predictions.
local wb = require "wb"
local util = require "wb.util"

---wb.study
---Pieces the reference study's task scripts share: the baseline experiment,
---a run's model, confusion matrices, per-class accuracy and the most
---confidently wrong predictions.
---Example: local conf = wb.study.confusion(model, wb.data.mnist().test)
local M = {}

M.classes = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
M.fashion_classes = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
  "Shirt", "Sneaker", "Bag", "Boot"}

---wb.study.class_names(dataset) -> table
---The ten class names of a dataset: "0".."9" for "mnist" (wb.study.classes),
---"T-shirt" .. "Boot" for "fashion" (wb.study.fashion_classes).
---@param dataset? string
---@return string[]
---Example: print(wb.study.class_names("fashion")[10])
function M.class_names(dataset)
  return dataset == "fashion" and M.fashion_classes or M.classes
end

-- The baseline: 784 -> Dense 128 relu -> Dense 10 softmax, Adam, batch 32,
-- validated on the test set, tracking per-epoch kernel and gradient norms
-- and counting dead ReLU units at the end.
M.baseline_epochs = 10
---wb.study.baseline(task, opts) -> wb.Runs
---The study's baseline run by `task` (tasks 1, 2 and 10 share it): 784 ->
---Dense 128 relu -> Dense 10 softmax, Adam, batch 32, opts.epochs
---(default wb.study.baseline_epochs = 10), tracking per-epoch kernel and
---gradient norms and counting dead ReLU units at the end.
---@param task wb.Task
---@param opts? table
---@return wb.Runs
---Example: local runs = wb.study.baseline(task)
function M.baseline(task, o)
  o = o or {}
  return task:experiment{name = "baseline", base = {epochs = o.epochs or M.baseline_epochs},
    callbacks = function(_, _, d) return {wb.measures.track{data = d.train}} end,
    measure = function(model, _, d, _, cbs)
      local m = cbs[1].series
      m.dead_units = wb.measures.dead_units(model, d.test)
      return m
    end}:run()
end

---wb.study.model(r, root) -> wb.Sequential
---The trained model of a run record (its final weights) from <root>/runs
---(root default $WB_PLOTS or "plots"). For Run objects, run:model() does
---the same.
---@param r table
---@param root? string
---@return wb.Sequential
---Example: local m = wb.study.model(runs[1])
function M.model(r, root)
  local dir = (root or util.plots_root()) .. "/runs/"
  return wb.load(dir .. r.weights)
end

---wb.study.confusion(model, ds) -> table, wb.Tensor, table
---Confusion counts conf[true][predicted] (1-based classes) of a model on a
---dataset, with the predicted probabilities [n, 10] and predicted classes
---(1-based list).
---@param model wb.Sequential
---@param ds wb.Dataset
---@return table conf
---@return wb.Tensor probs
---@return integer[] pred
---Example: local conf = wb.study.confusion(m, wb.data.mnist().test); print(conf[10][5])
function M.confusion(model, ds)
  local probs = model:predict(ds)
  local pred = probs:argmax(2):totable()
  local conf = {}
  for i = 1, 10 do conf[i] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0} end
  for i = 1, #ds do
    local t = ds.labels:get(i) + 1
    conf[t][pred[i]] = conf[t][pred[i]] + 1
  end
  return conf, probs, pred
end

---wb.study.per_class_accuracy(conf) -> table
---Accuracy of each true class (row i: conf[i][i] / row total) from a
---confusion table.
---@param conf table
---@return number[]
---Example: local acc = wb.study.per_class_accuracy(conf)
function M.per_class_accuracy(conf)
  local out = {}
  for i = 1, #conf do
    local n = 0
    for j = 1, #conf do n = n + conf[i][j] end
    out[i] = n > 0 and conf[i][i] / n or 0
  end
  return out
end

---wb.study.top_confusions(conf, k) -> table
---The k most frequent off-diagonal pairs as {true digit, predicted digit,
---count} (0-based class values), most frequent first.
---@param conf table
---@param k integer
---@return table
---Example: for _, p in ipairs(wb.study.top_confusions(conf, 3)) do print(p[1], p[2], p[3]) end
function M.top_confusions(conf, k)
  local pairs_ = {}
  for i = 1, #conf do
    for j = 1, #conf do
      if i ~= j and conf[i][j] > 0 then pairs_[#pairs_ + 1] = {i - 1, j - 1, conf[i][j]} end
    end
  end
  table.sort(pairs_, function(a, b) return a[3] > b[3] end)
  local out = {}
  for i = 1, math.min(k, #pairs_) do out[i] = pairs_[i] end
  return out
end

---wb.study.confident_errors(ds, probs, pred, k) -> table, integer
---The k misclassified samples with the highest predicted probability as
---{index (1-based), true label, predicted label, probability}, most
---confident first, and the number of errors.
---@param ds wb.Dataset
---@param probs wb.Tensor
---@param pred integer[]
---@param k integer
---@return table
---@return integer
---Example: local errs, n = wb.study.confident_errors(ds, probs, pred, 8)
function M.confident_errors(ds, probs, pred, k)
  local p = probs:totable()
  local errs = {}
  for i = 1, #ds do
    local t = ds.labels:get(i)
    if pred[i] - 1 ~= t then errs[#errs + 1] = {i, t, pred[i] - 1, p[i][pred[i]]} end
  end
  table.sort(errs, function(a, b) return a[4] > b[4] end)
  local out = {}
  for i = 1, math.min(k, #errs) do out[i] = errs[i] end
  return out, #errs
end

---wb.study.images(ds, rows) -> wb.Tensor
---The images at 1-based indices rows of ds as a new float32 [#rows, 784]
---tensor in [0, 1] (for wb.plot.images).
---@param ds wb.Dataset
---@param rows integer[]
---@return wb.Tensor
---Example: wb.plot.images{tiles = wb.study.images(ds, {1, 2, 3})}:show()
function M.images(ds, rows)
  local idx = wb.tensor(rows)
  local x = ds:batch(idx, 1, #rows)
  return x:clone()
end

---wb.study.pct(x) -> string
---x as a percentage with 2 decimals: 0.9812 -> "98.12%".
---@param x number
---@return string
---Example: print(wb.study.pct(0.9812))
function M.pct(x) return string.format("%.2f%%", 100 * x) end

wb.study = M
return M
