-- test_audit_nan.lua: NaN or inf in the data is bad input, never a
-- divergence. Before, fit on a dataset with one NaN value said "training
-- diverged: loss is nan at epoch 1, step 2" (a runner recorded the run as
-- diverged and left it out of every mean as an unstable learning rate).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- T.tiny_data's training rows with value v at (row, element) of a copy
local function spoiled(row, el, v)
  local train = T.tiny_data()
  local x = train.images:clone()
  x[row]:set(el, v)
  return wb.data.Dataset(x, train.labels, "spoiled")
end

T.test("Dataset:find_nonfinite names the first NaN or inf by row and element", function()
  T.eq(select("#", T.tiny_data():find_nonfinite()), 1, "finite: nil")
  local r, e, v = spoiled(9, 5, 1 / 0):find_nonfinite()
  T.eq(r, 9); T.eq(e, 5); T.eq(v, 1 / 0)
  local x = wb.randn(4, 2, 3)
  x[3][2]:set(1, -1 / 0)
  x[4][1]:set(1, 0 / 0)
  r, e, v = wb.data.Dataset(x, wb.new_tensor({4}, "uint8")):find_nonfinite()
  T.eq(r, 3, "rows of [n, 2, 3] images"); T.eq(e, 4, "element 4 of the row's 6"); T.eq(v, -1 / 0)
  T.eq(wb.data.mnist().test:subset(1, 100):find_nonfinite(), nil, "uint8: nil")
end)

T.test("fit on data holding NaN or inf is a data error (EFORMAT) naming the row, "
  .. "not a divergence", function()
  for _, v in ipairs{0 / 0, 1 / 0, -1 / 0} do
    local m = T.tiny_mlp(1)
    local ok, err = pcall(m.fit, m, spoiled(40, 3, v), {epochs = 2, batch_size = 8,
      verbose = false})
    T.ok(not ok and wb.is_error(err) and err.code == "EFORMAT", tostring(err))
    T.ok(not wb.fit.is_diverged(err), "not a divergence")
    T.ok(tostring(err):find("fit: spoiled row 40 holds " .. (v ~= v and "NaN" or tostring(v))
      .. " (value 3 of 8 in the row): the data must be finite (not a divergence)", 1, true),
      tostring(err))
  end
  -- a real divergence on finite data is still one
  local m = T.tiny_mlp(1)
  local ok, err = pcall(m.fit, m, T.tiny_data(), {epochs = 2, verbose = false,
    optimizer = wb.optim.SGD{lr = 1e300}})
  T.ok(not ok and wb.fit.is_diverged(err), tostring(err))
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
  T.ok(err:find("mine row 3 holds NaN (value 2 of 4 in the row)", 1, true), err)
end)

T.done()
