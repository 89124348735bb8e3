-- wb/study.lua: pieces the reference study's task scripts share, so each
-- script stays short and declarative: the baseline experiment (reused by
-- tasks 1, 2 and 10), loading a run's model, confusion matrices, and the
-- most confidently wrong predictions.
local wb = require "wb"
local util = require "wb.util"

local M = {}

M.classes = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
M.fashion_classes = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
  "Shirt", "Sneaker", "Bag", "Boot"}

function M.class_names(dataset)
  return dataset == "fashion" and M.fashion_classes or M.classes
end

-- The baseline: 784 -> Dense 128 relu -> Dense 10 softmax, Adam, batch 32,
-- validated on the test set, tracking per-epoch kernel and gradient norms
-- and counting dead ReLU units at the end.
M.baseline_epochs = 10
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

-- The trained model of a run record (its final weights).
function M.model(r, root)
  local dir = (root or util.plots_root()) .. "/runs/"
  return wb.load(dir .. r.weights)
end

-- Confusion counts [true][pred] (1-based classes) of a model on a dataset,
-- and the predicted probabilities.
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

function M.per_class_accuracy(conf)
  local out = {}
  for i = 1, #conf do
    local n = 0
    for j = 1, #conf do n = n + conf[i][j] end
    out[i] = n > 0 and conf[i][i] / n or 0
  end
  return out
end

-- The k most frequent off-diagonal (true, predicted) pairs.
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

-- The k misclassified samples with the highest predicted probability:
-- {index, true label, predicted label, probability}, most confident first.
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

-- Images rows (1-based indices) of ds as a float [n, 784] tensor in [0, 1].
function M.images(ds, rows)
  local idx = wb.tensor(rows)
  local x = ds:batch(idx, 1, #rows)
  return x:clone()
end

function M.pct(x) return string.format("%.2f%%", 100 * x) end

wb.study = M
return M
