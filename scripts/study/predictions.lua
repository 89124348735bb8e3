-- scripts/study/predictions.lua: what the study reads off a model's
-- predictions on a dataset (tasks 1, 2 and 10): confusion counts, per-class
-- accuracy, the most frequent confusions and the most confidently wrong
-- samples. The task scripts reach these as S.confusion etc. (study/init.lua).
local wb = require "wb"

local M = {}

---study.confusion(model, ds) -> table, wb.Tensor, table
---Confusion counts conf[true][predicted] (1-based classes) of a model on a
---dataset, with the predicted probabilities [n, 10] and predicted classes
---(1-based list).
---@param model wb.Sequential
---@param ds wb.Dataset
---@return table conf
---@return wb.Tensor probs
---@return integer[] pred
---Example: local conf = S.confusion(m, wb.data.mnist().test); print(conf[10][5])
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

---study.per_class_accuracy(conf) -> table
---Accuracy of each true class (row i: conf[i][i] / row total) from a
---confusion table.
---@param conf table
---@return number[]
---Example: local acc = S.per_class_accuracy(conf)
function M.per_class_accuracy(conf)
  local out = {}
  for i = 1, #conf do
    local n = 0
    for j = 1, #conf do n = n + conf[i][j] end
    out[i] = n > 0 and conf[i][i] / n or 0
  end
  return out
end

---study.top_confusions(conf, k) -> table
---The k most frequent off-diagonal pairs as {true digit, predicted digit,
---count} (0-based class values), most frequent first.
---@param conf table
---@param k integer
---@return table
---Example: for _, p in ipairs(S.top_confusions(conf, 3)) do print(p[1], p[2], p[3]) end
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

---study.confident_errors(ds, probs, pred, k) -> table, integer
---The k misclassified samples with the highest predicted probability as
---{index (1-based), true label, predicted label, probability}, most
---confident first, and the number of errors.
---@param ds wb.Dataset
---@param probs wb.Tensor
---@param pred integer[]
---@param k integer
---@return table
---@return integer
---Example: local errs, n = S.confident_errors(ds, probs, pred, 8)
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

---study.images(ds, rows) -> wb.Tensor
---The images at 1-based indices rows of ds as a new float32 [#rows, 784]
---tensor in [0, 1] (for wb.plot.images).
---@param ds wb.Dataset
---@param rows integer[]
---@return wb.Tensor
---Example: wb.plot.images{tiles = S.images(ds, {1, 2, 3})}:show()
function M.images(ds, rows)
  local idx = wb.tensor(rows)
  local x = ds:batch(idx, 1, #rows)
  return x:clone()
end

return M
