-- wb/evaluate.lua: model:evaluate and model:predict (training = false,
-- Keras batch_size 32), and the evaluation fit runs for validation.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local fa = require "wb.fit_args"
local losses = require "wb.losses"
local check_finite_data = require("wb.fit_loop").check_finite_data
local Sequential = wb.nn.SequentialClass
local M = {}

local check_keys, check_int, check_data = fa.check_keys, fa.check_int, fa.check_data
local as_dataset, is_tensor = fa.as_dataset, fa.is_tensor


-- Larger internal batches make evaluation faster; the result (a mean over
-- samples) does not depend on the batch size except for float rounding.
M.EVAL_BATCH = 500
local EVAL_BATCH = M.EVAL_BATCH

-- Mean loss (incl. the L2 penalty) and accuracy over a dataset; lossf is
-- a loss object of wb/losses.lua. A loss that is not finite because the
-- data holds NaN or inf is an error naming the row (who, what: "fit",
-- "validation" for fit's validation data), not a NaN score.
function M.eval_dataset(self, lossf, ds, batch, who, what)
  local n = #ds
  if n == 0 then error("evaluate: the dataset is empty", 0) end
  local perm = self._eval_perm
  if not perm or #perm < n then
    local t = {}
    for i = 1, n do t[i] = i end
    perm = wb.tensor(t)
    self._eval_perm = perm
  end
  local loss_sum, correct_sum, gather = 0, 0, args.unchecked(ds.batch) -- (wb/init.lua)
  for first = 1, n, batch do
    local count = n - first + 1
    if count > batch then count = batch end
    local x, y = gather(ds, perm, first, count)
    local loss, correct = lossf:value(self, x, y, false)
    loss_sum = loss_sum + loss * count
    correct_sum = correct_sum + correct
  end
  if loss_sum ~= loss_sum or loss_sum == math.huge or loss_sum == -math.huge then
    check_finite_data(ds, who or "evaluate", what or "the")
  end
  return loss_sum / n + self:l2_penalty(), correct_sum / n
end

-- x's first dimension is its rows: a 1-D x [784] is 784 rows of one value,
-- an image [28, 28] 28 rows of 28. When x holds exactly the first layer's
-- n_in values but its rows are not that wide, it is one sample missing its
-- row dimension: an error naming the fix here rather than the first layer's
-- "expected [*, 784], got [784, 1]" (level 3).
local function check_rows(self, x, fname)
  if not is_tensor(x) or x:dim() < 1 then return end
  local ok, n_in = pcall(function() return self[1].n_in end)
  if not (ok and math.type(n_in) == "integer") then return end
  local numel = x:numel()
  -- a picture [h, w] as wb.image.load gives it: to_mnist makes MNIST's row of it
  -- (a 28x28 one reshaped as it is would be read without MNIST's inversion)
  local img = n_in == 784 and x:dim() == 2 and x:size(2) ~= n_in and x:size(1) >= 8
    and x:size(2) >= 8 and "; if x is an image "
    .. "[h, w], wb.image.to_mnist(img) gives MNIST's [1, 784] (background inverted, ink "
    .. "cropped and centred)" or ""
  if numel == n_in and #x ~= 1 then
    args.input_fail(string.format("%s: x: expected rows [n, %d], got [%s]: one sample is "
      .. "x:reshape(1, %d)%s", fname, n_in, table.concat(x:shape(), ", "), n_in, img), 3)
  end
  if img ~= "" then
    args.input_fail(string.format("%s: x: expected rows [n, %d], got [%s]%s", fname, n_in,
      table.concat(x:shape(), ", "), img), 3)
  end
end

-- opts.verbose as Keras's evaluate and predict take it: true, 1 or 2 prints
-- one line, false, 0 or nil nothing; anything else is an error (level 3:
-- the caller of evaluate or predict). Keras's 1 draws a progress bar and 2
-- prints one line; there is no bar here, so 1 and 2 both print the line (2
-- refused, a script passing fit's verbose = 2 on stopped).
local function verbose(opts, what)
  local v = opts.verbose
  if v ~= nil and v ~= true and v ~= false and v ~= 0 and v ~= 1 and v ~= 2 then
    args.input_fail(string.format("%s: verbose must be true, false, 0, 1 or 2, got %s", what,
      tostring(v)), 3)
  end
  return v == true or v == 1 or v == 2
end

-- evaluate's result: its two numbers, strict (r.acc, r.val_loss or Keras's
-- r[2] read as nil, a missing score; now an error naming loss and accuracy),
-- printed as them (print(r) printed "table: 0x...").
local Scores = {__name = "wb.Scores", __fields = {loss = true, accuracy = true}}
Scores.__index = function(_, k)
  error(require("wb.spec_keys").no_field("evaluate's result", k, Scores), 2)
end
Scores.__tostring = function(r)
  return string.format("{loss = %.4f, accuracy = %.4f}", r.loss, r.accuracy)
end

---wb.Sequential:evaluate(ds, y, opts) -> table
---{loss = l, accuracy = a} of the model on a dataset, or on inputs x (a
---float32 [n, 784] tensor, used as given, or uint8, divided by 255) and labels
---y, with training = false. loss includes the L2 penalty (as Keras);
---accuracy is the share of rows whose output's argmax (first maximum: a
---softmax head's probabilities, as Keras and predict) is the label. A NaN
---or infinite weight, or value of x, is an error (ENONFINITE) naming the
---parameter or row and column, never a NaN or plausible score.
---opts: batch_size (32; computed in batches of up to 500, same result up
---to rounding), loss (as fit's: "sparse_categorical_crossentropy", the
---default, "categorical_crossentropy", "mse", "hinge", "squared_hinge" or
---a function, see wb.losses), verbose (true, 1 or 2: print one line,
---"evaluate: 10000 rows: loss 0.3485, accuracy 0.9040", no progress bar;
---default false).
---evaluate(ds, opts) is evaluate(ds, nil, opts); x without y, or a dataset
---without labels, is an error (it would be scored against zeros), as is y
---with a dataset (it would be ignored) or y as a Lua list. The result is
---strict: another key (r.acc, r[2]) is an error naming loss and accuracy.
---@param ds wb.Dataset|wb.Tensor
---@param y? wb.Tensor|table
---@param opts? table
---@return table
---Example: print(m:evaluate(wb.data.mnist().test).accuracy)
function Sequential:evaluate(ds, y, opts)
  args.self(Sequential, self, "evaluate", "model")
  if type(ds) == "table" and not args.typename(ds):match("^wb%.") and ds.labels == nil
      and (ds.images ~= nil or ds.batch ~= nil) then -- (wb's types: not probed)
    args.input_fail("evaluate: the dataset has no labels (its labels field is nil): evaluate "
      .. "scores the model's outputs against them", 2)
  end
  check_data(ds, "evaluate")
  args.opt("evaluate", 2, y, "wb.Tensor|table")
  args.opt("evaluate", 3, opts, "table")
  if type(y) == "table" and not is_tensor(y) then
    if rawget(y, 1) ~= nil then -- a list of labels, not an options table (a dataset: no y[1])
      args.input_fail(string.format("evaluate: y: expected labels uint8 [n] (a tensor), got a Lua "
        .. "list of %d values (wb.tensor(list, \"uint8\"))", #y), 2)
    end
    opts, y = y, nil
  end
  if y ~= nil and fa.is_dataset(ds) then -- it would be ignored: ds is scored on its own labels
    args.input_fail("evaluate: y given with a dataset, which has its labels: evaluate(ds, opts), "
      .. "or evaluate(x, y, opts) with a tensor x", 2)
  end
  opts = opts or {}
  check_keys(opts, {"batch_size", "loss", "verbose"}, "evaluate")
  check_rows(self, ds, "evaluate")
  local bs = check_int(opts.batch_size or 32, "batch_size", "evaluate", 1)
  ds = as_dataset(ds, y, "evaluate")
  local loss = losses._canonical(opts.loss) -- "MSE" is "mse"
  local lossf = losses._get(loss, self, "eval", "evaluate")
  if #ds == 0 then args.input_fail("evaluate: the dataset is empty", 2) end
  fa.check_labels(self, ds, loss, "dataset", "evaluate") -- before any batch
  args.check_finite_params("evaluate", (self:parameters()), 2) -- else a plausible score
  local v = verbose(opts, "evaluate")
  local loss, acc = M.eval_dataset(self, lossf, ds, math.max(bs, EVAL_BATCH))
  if v then -- Keras prints its metrics; one line here
    io.stdout:write(string.format("evaluate: %d rows: loss %.4f, accuracy %.4f\n", #ds, loss, acc))
  end
  return setmetatable({loss = loss, accuracy = acc}, Scores)
end

---wb.Sequential:predict(x, opts) -> wb.Tensor
---The model's output for every sample as a new float32 [n, n_classes]
---tensor (class probabilities for a softmax head), training = false.
---Column c + 1 is class c (labels count from 0, columns from 1: the class
---of row i is math.tointeger(out:argmax(2):get(i)) - 1, where Keras's
---np.argmax gives it directly; without math.tointeger it prints as 7.0). x: a
---dataset, a float32 [n, 784] tensor (used as given) or a uint8 tensor (divided
---by 255). opts: batch_size, verbose (true, 1 or 2: print "predict: 10000
---rows", no progress bar; default false). A NaN or infinite weight or input value is an error
---(ENONFINITE) naming the parameter or the row and column, as evaluate's.
---@param x wb.Dataset|wb.Tensor
---@param opts? table
---@return wb.Tensor
---Example: local probs = m:predict(wb.image.to_mnist(img))
---   print(math.tointeger(probs:argmax(2):get(1)) - 1) -- the class: 7, not 7.0
function Sequential:predict(x, opts)
  args.self(Sequential, self, "predict", "model")
  check_data(x, "predict")
  args.opt("predict", 2, opts, "table")
  opts = opts or {}
  check_keys(opts, {"batch_size", "verbose"}, "predict")
  local bs = math.max(check_int(opts.batch_size or 32, "batch_size", "predict", 1),
    EVAL_BATCH)
  local v = verbose(opts, "predict")
  check_rows(self, x, "predict")
  local ds = as_dataset(x, nil, "predict", true)
  -- NaN weights or inputs: refused as evaluate refuses them, not NaN rows
  args.check_finite_params("predict", (self:parameters()), 2)
  check_finite_data(ds, "predict", "the")
  local n = #ds
  local out
  local perm = {}
  for i = 1, n do perm[i] = i end
  perm = wb.tensor(n > 0 and perm or {0})
  for first = 1, n, bs do
    local count = math.min(bs, n - first + 1)
    local xb = args.unchecked(ds.batch)(ds, perm, first, count) -- (wb/init.lua)
    local y = args.unchecked(self.forward)(self, xb, false)
    if not out then out = wb.zeros(n, y:shape()[2]) end
    out:rows(first, first + count - 1):copy(y)
  end
  if not out then -- no rows: [0, outputs], the width from a forward of the empty batch
    out = wb.zeros(0, self:forward(ds:batch(perm, 1, 0), false):shape()[2])
  end
  if v then io.stdout:write(string.format("predict: %d rows\n", n)) end
  return out
end


return M
