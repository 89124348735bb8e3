-- test_instruments_cost.lua: work fit's instruments leave out because it
-- cannot change a number: the copy of the weights wb/state_fit.lua takes
-- around on_train_end hooks (to tell a hook that changed them) is not taken
-- for the instruments' own hook, which changes none; t:min() and t:max(),
-- which that check uses, pass once over the tensor (wb_tensor_minmax) with
-- wb_tensor_stats's values, NaN and signed zeros included.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local function labels(n, c)
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 5) % c) end
  return y
end

T.test("an instruments fit does not copy and compare the weights at its end; "
  .. "a hook of one's own still has them compared", function()
  local sf = require "wb.state_fit"
  local same, calls = sf.same, 0
  sf.same = function(...) calls = calls + 1; return same(...) end
  local ok, err = pcall(function()
    wb.seed(2)
    local m = wb.nn.Sequential{wb.nn.Dense(6, 20, {activation = "relu"}),
      wb.nn.Dense(20, 3, {activation = "softmax"})}
    local x, y = wb.randn(40, 6), labels(40, 3)
    m:fit(x, y, {batch_size = 10, verbose = false, instruments = "economy"})
    T.eq(calls, 0, "instruments alone: no comparison")
    T.eq(rawget(m, "_fit_end").weights, nil, "no copy kept")
    m:fit(x, y, {batch_size = 10, verbose = false, instruments = "economy",
      callbacks = {{on_train_end = function() end}}})
    T.eq(calls, 1, "a hook of one's own: compared")
  end)
  sf.same = same
  assert(ok, err)
end)

-- min and max by wb_tensor_stats's definition: a NaN is both (the last one
-- seen), else the first of equal values (-0 and 0) stays.
local function defined(t)
  local mn, mx = math.huge, -math.huge
  for i = 1, t:numel() do
    local v = t:get(i)
    if v < mn or v ~= v then mn = v end
    if v > mx or v ~= v then mx = v end
  end
  return mn, mx
end

T.test("t:min() and t:max() are wb_tensor_stats's, bit for bit", function()
  local cases = {{3, -1, 2}, {0.0, -0.0, 0.0}, {-0.0, 0.0}, {1, 0 / 0, -5, 2},
    {-(0 / 0), 1, 0 / 0}, {math.huge, -math.huge}, {1e-45, -1e-45, 0}, {7}}
  for k, c in ipairs(cases) do
    local t = wb.new_tensor({#c})
    for i, v in ipairs(c) do t:set(i, v) end
    local mn, mx = defined(t)
    T.eq(string.format("%a %a", t:min(), t:max()), string.format("%a %a", mn, mx),
      "case " .. k)
  end
  local u = wb.new_tensor({3}, "uint8")
  u:set(1, 4); u:set(2, 250); u:set(3, 0)
  T.eq(u:min(), 0); T.eq(u:max(), 250)
  T.check_error("reduction of an empty tensor", function() return wb.zeros(0):max() end)
end)

T.done()
