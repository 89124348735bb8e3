-- Cockpit's three tests on a batch whose rows are one sample repeated: every
-- per-sample gradient is the mean, each test's variance is 0 and so is the
-- test. Rounding put the variance a hair below 0 at some steps, and the
-- square root's NaN was recorded, which history.steps cannot tell from a
-- step not measured.
local T = dofile("tests/lua/harness.lua")

T.test("the norm, inner and ortho tests are 0, not NaN, when every row is the same",
  function()
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "relu"}),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  local r = wb.randn(1, 5)
  local x = wb.new_tensor({8, 5})
  for i = 1, 8 do x[i] = r[1] end
  local y = wb.tensor({1, 1, 1, 1, 1, 1, 1, 1}, "uint8")
  local h = m:fit(x, y, {batch_size = 8, epochs = 6, verbose = false,
    optimizer = wb.optim.SGD{lr = 0.1}, instruments = {"norm_test", "inner_test", "ortho_test"}})
  for _, k in ipairs{"norm_test", "inner_test", "ortho_test"} do
    T.eq(#h.steps[k], 6, k)
    for i, v in ipairs(h.steps[k]) do
      T.ok(v == v and v >= 0 and v < 1e-3, string.format("%s at step %d: %s", k, i, v))
    end
  end
  -- the public functions: a variance below 0 by rounding is 0
  T.eq(wb.instruments.inner_test(4, 0.25 * 4 - 1e-17, 0.5), 0)
  T.ok(wb.instruments.inner_test(1, 1, 1) ~= wb.instruments.inner_test(1, 1, 1), "NaN at B = 1")
end)

T.done()
