-- test_tensor_math.lua: the tensor maths bindings (exp, log, abs, sqrt,
-- pow, clamp, sign, t, item, sum/mean/max/min(dim), t * u, t / u with a
-- row broadcast) against naive Lua loops on random values.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local s = 12345
local function rnd() -- own LCG in [-2, 2)
  s = (s * 1103515245 + 12345) % 2147483648
  return s / 2147483648 * 4 - 2
end
local function rand(m, n)
  local rows = {}
  for i = 1, m do
    rows[i] = {}
    for j = 1, n do rows[i][j] = rnd() end
  end
  return wb.tensor(rows), rows
end
local f32 = function(x) return string.unpack("f", string.pack("f", x)) end

T.test("element-wise functions match Lua's math on random values", function()
  local a, v = rand(5, 7)
  local pos = a:abs() + 0.1
  local fns = {
    {"exp", a:exp(), function(x) return math.exp(x) end},
    {"abs", a:abs(), math.abs},
    {"sign", a:sign(), function(x) return x > 0 and 1 or (x < 0 and -1 or 0) end},
    {"pow 3", a:pow(3), function(x) return x ^ 3 end},
    {"clamp", a:clamp(-0.5, 0.7), function(x) return math.min(math.max(x, -0.5), 0.7) end},
    {"log", pos:log(), function(x) return math.log(math.abs(x) + 0.1) end},
    {"sqrt", pos:sqrt(), function(x) return math.sqrt(math.abs(x) + 0.1) end},
  }
  for _, c in ipairs(fns) do
    local worst = 0
    for i = 1, 5 do
      for j = 1, 7 do
        local want = c[3](f32(v[i][j]))
        worst = math.max(worst, math.abs(c[2]:get(i, j) - want) / math.max(1, math.abs(want)))
      end
    end
    T.ok(worst < 1e-6, c[1] .. ": " .. worst)
  end
  T.ok(wb.tensor{-1}:log():get(1) ~= wb.tensor{-1}:log():get(1), "log(-1) is NaN")
  T.check_error("clamp: expected lo <= hi", function() a:clamp(1, 0) end)
end)

T.test("t(), item(), reductions along a dimension, row broadcasts", function()
  local a, v = rand(4, 6)
  local at = a:t()
  T.eq(table.concat(at:shape(), ","), "6,4")
  for i = 1, 4 do for j = 1, 6 do T.eq(at:get(j, i), a:get(i, j)) end end
  for _, c in ipairs{{"sum", 1}, {"sum", 2}, {"mean", 1}, {"mean", 2}, {"max", 1},
      {"max", 2}, {"min", 2}} do
    local name, dim = c[1], c[2]
    local r = a[name](a, dim)
    local n_out, n_in = dim == 1 and 6 or 4, dim == 1 and 4 or 6
    T.eq(table.concat(r:shape(), ","), tostring(n_out))
    for o = 1, n_out do
      local acc = name == "max" and -math.huge or (name == "min" and math.huge or 0)
      for k = 1, n_in do
        local x = f32(dim == 1 and v[k][o] or v[o][k])
        if name == "max" then acc = math.max(acc, x)
        elseif name == "min" then acc = math.min(acc, x)
        else acc = acc + x end
      end
      if name == "mean" then acc = acc / n_in end
      T.near(r:get(o), acc, 1e-6, name .. "(" .. dim .. ")[" .. o .. "]")
    end
  end
  T.near(a:sum(), a:sum(1):sum(), 1e-5)
  local row, rv = rand(1, 6)
  for _, op in ipairs{"*", "/"} do
    local r1 = op == "*" and a * row[1] or a / row[1]
    local r2 = op == "*" and a * row or a / row
    for i = 1, 4 do
      for j = 1, 6 do
        local x, y = f32(v[i][j]), f32(rv[1][j])
        T.near(r1:get(i, j), f32(op == "*" and x * y or x / y), 0)
        T.eq(r2:get(i, j), r1:get(i, j))
      end
    end
  end
  local b = rand(4, 6)
  T.near((a * b):get(2, 3), f32(a:get(2, 3) * b:get(2, 3)), 0)
  T.check_error("shapes %[4, 6%] and %[6, 4%] do not fit", function() return a * at end)
  T.eq(wb.tensor{{2.5}}:item(), 2.5)
  T.check_error("item: expected a tensor of one element, got %[4, 6%]", function()
    return a:item() end)
  T.check_error("dimension out of range", function() return a:sum(3) end)
end)

T.done()
