-- test_hessian_y6.lua: audit tryY, item 6: three things wb.hessian took or
-- said wrongly.
-- 1. hvp, hvps and full took seed ("the probes' own generator") but draw no
--    random numbers: idle input, now refused naming the functions that take it.
-- 2. full{max_bytes = 1} said the model has P parameters, "more than 0".
-- 3. An overflow under precision = "float64" was blamed on "the loss or its
--    derivatives", though the double result was finite and only its float32
--    copy (the tensors returned) overflowed.
local T = dofile("tests/lua/harness.lua")

wb.seed(91)
local m = wb.nn.Sequential{wb.nn.Dense(5, 3, {activation = "softmax"})}
local y = wb.new_tensor({10}, "uint8")
for i = 1, 10 do y:set(i, i % 3) end
local data = {x = wb.randn(10, 5), y = y}
local function v() return {wb.randn(5, 3), wb.randn(3)} end

T.test("seed: refused by hvp, hvps and full (they draw nothing); taken by the others",
  function()
  local calls = {hvp = function(o) return wb.hessian.hvp(m, data, v(), o) end,
    hvps = function(o) return wb.hessian.hvps(m, data, {v()}, o) end,
    full = function(o) return wb.hessian.full(m, data, o) end}
  for name, f in pairs(calls) do
    local ok, err = pcall(f, {seed = 3})
    T.ok(not ok and wb.spec.is_input_error(err), name .. ": an input error: " .. tostring(err))
    T.ok(tostring(err):find(name .. ": option 'seed': " .. name .. " draws no random numbers, "
      .. "so a seed would change nothing; the functions that draw them take it: eigs (its "
      .. "start vector, without v0), trace and density (their probes)", 1, true),
      tostring(err))
    f({}) -- the same call without it: fine
  end
  T.eq(#wb.hessian.eigs(m, data, {seed = 3}).values, 1)
  T.eq(wb.hessian.trace(m, data, {seed = 3}).seed, 3)
  T.eq(wb.hessian.density(m, data, {seed = 3}).seed, 3)
end)

T.test("full over max_bytes: a limit that allows no parameter says so, not 'more than 0'",
  function()
  local err = T.check_error("full: the model has 18 parameters, and max_bytes allows none "
    .. "(one float32 takes 4 bytes): its P x P float32 matrix (P = 18) would take 1296 bytes",
    wb.hessian.full, m, data, {max_bytes = 1})
  T.ok(not err:find("more than 0", 1, true), err)
  T.check_error("full: the model has 18 parameters, more than 5: ", wb.hessian.full, m, data,
    {max_bytes = 100})
end)

T.test("an overflow under float64 names the float32 result, not the loss", function()
  local big = {x = data.x * 1e20, y = y}
  -- zero weights: every class 1/3, so H is about x^T x, 1e40 (softmax saturated at random
  -- weights would make it 0)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 3, {init = "zeros"})}
  local e32 = T.check_error("hvp: the result is not finite: the loss or its derivatives "
    .. "overflow", wb.hessian.hvp, m, big, v())
  T.ok(e32:find("3.4e38", 1, true), e32)
  for name, f in pairs{hvp = function() return wb.hessian.hvp(m, big, v(),
      {precision = "float64"}) end,
      full = function() return wb.hessian.full(m, big, {precision = "float64"}) end} do
    local err = T.check_error(name .. ": the result overflows float32: computed in double "
      .. "(precision = \"float64\") it is finite, but some of its values are beyond float32's "
      .. "range (about 3.4e38), and the tensors returned are float32", f)
    T.ok(not err:find("the loss or its derivatives", 1, true), err)
  end
  -- eigs returns Lua numbers (doubles): no float32 copy, no overflow
  T.ok(wb.hessian.eigs(m, big, {precision = "float64"}).values[1] > 3.4e38)
end)

T.done()
