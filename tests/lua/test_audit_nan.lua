-- test_audit_nan.lua: NaN or inf in the data is bad input, never a
-- divergence. Before, fit on a dataset with one NaN value said "training
-- diverged: loss is nan at epoch 1, step 2" (a runner recorded the run as
-- diverged and left it out of every mean as an unstable learning rate), and
-- evaluate gave a finite score (relu turned a NaN input into 0) or NaN.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- T.tiny_data's training rows with value v at (row, element) of a copy
local function spoiled(row, el, v)
  local train = T.tiny_data()
  local x = train.images:clone()
  x[row]:set(el, v)
  return wb.data.Dataset(x, train.labels, "spoiled")
end

T.test("fit on data holding NaN or inf is a data error (ENONFINITE) naming the row, "
  .. "not a divergence", function()
  for _, v in ipairs{0 / 0, 1 / 0, -1 / 0} do
    local m = T.tiny_mlp(1)
    local ok, err = pcall(m.fit, m, spoiled(40, 3, v), {epochs = 2, batch_size = 8,
      verbose = false})
    T.ok(not ok and wb.is_error(err) and err.code == "ENONFINITE", tostring(err))
    T.ok(not wb.fit.is_diverged(err), "not a divergence")
    T.ok(tostring(err):find("fit: training dataset 'spoiled': row 40, column 3 is "
      .. (v ~= v and "NaN" or tostring(v)) .. ", expected finite numbers", 1, true),
      tostring(err))
  end
  -- a real divergence on finite data is still one
  local m = T.tiny_mlp(1)
  local ok, err = pcall(m.fit, m, T.tiny_data(), {epochs = 2, verbose = false,
    optimizer = wb.optim.SGD{lr = 1e300}})
  T.ok(not ok and wb.fit.is_diverged(err), tostring(err))
end)

T.test("evaluate, fit's validation and predict, on data holding NaN, name the row",
  function()
  local m = T.tiny_mlp(1)
  local ok, err = pcall(m.evaluate, m, spoiled(12, 8, 0 / 0))
  T.ok(not ok and wb.is_error(err) and err.code == "ENONFINITE", tostring(err))
  T.ok(tostring(err):find("evaluate: the dataset 'spoiled': row 12, column 8 is NaN", 1,
    true), tostring(err))
  ok, err = pcall(m.fit, m, T.tiny_data(), {epochs = 1, verbose = false,
    validation = spoiled(3, 1, 1 / 0)})
  T.ok(not ok and wb.is_error(err) and err.code == "ENONFINITE", tostring(err))
  T.ok(tostring(err):find("fit: validation dataset 'spoiled': row 3, column 1 is inf", 1,
    true), tostring(err))
  T.check_error("predict: the dataset 'input': row 12, column 8 is NaN", m.predict, m,
    spoiled(12, 8, 0 / 0).images) -- as evaluate (NaN rows were returned)
  -- finite data whose loss is finite is untouched
  T.ok(m:evaluate((T.tiny_data())).loss < math.huge)
end)

T.test("a script whose data holds NaN exits 65 naming the row", function()
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/nan.lua", "w"))
  f:write([[
local x = wb.randn(64, 4)
x:set(3, 2, 0 / 0)
local d = wb.data.Dataset(x, wb.new_tensor({64}, "uint8"), "mine")
wb.seed(1)
local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
m:fit(d, {epochs = 1, verbose = false})
]])
  f:close()
  local st, _, err = T.sh(T.wb .. " " .. dir .. "/nan.lua")
  T.eq(st, 65, err)
  T.ok(err:find("fit: training dataset 'mine': row 3, column 2 is NaN, expected finite "
    .. "numbers", 1, true), err)
end)

T.done()
