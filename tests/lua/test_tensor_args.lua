-- test_tensor_args.lua: tensor constructors and methods take what they say
-- and refuse the rest (never silently ignore input): a dtype after a table
-- shape, t:sum(1, 2), argmax(1, true); reshape's -1; argmax with NaN as
-- max and PyTorch; an IDX float64 beyond float32's range.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

T.test("a dtype after the shape is taken (table or sizes), a bad one named", function()
  T.eq(wb.zeros({2, 3}, "uint8"):dtype(), "uint8")
  T.eq(wb.zeros(2, 3, "uint8"):dtype(), "uint8")
  T.eq(table.concat(wb.zeros(2, 3, "uint8"):shape(), "x"), "2x3")
  T.eq(wb.ones({2}, "uint8"):dtype(), "uint8")
  T.eq(wb.ones({2}, "uint8"):get(2), 1)
  local f = wb.full({2, 2}, 255, "uint8")
  T.eq(f:dtype(), "uint8"); T.eq(f:get(2, 2), 255)
  T.eq(wb.zeros({2}, "float32"):dtype(), "float32")
  T.check_error('#3 to .*expected a dtype, "float32" or "uint8", got "int8"',
    wb.zeros, 2, 3, "int8")
  T.check_error("does not fit in uint8", wb.full, {2}, 256, "uint8")
end)

T.test("anything else after a table shape is an error naming its position", function()
  T.check_error("#2 to .*unexpected number after the shape table", wb.zeros, {2, 3}, 4)
  T.check_error("#2 to .*unexpected table after the shape table", wb.ones, {2}, {3})
  T.check_error("#2 to .*unexpected string after the shape table", wb.rand, {2, 3}, "uint8")
  T.check_error("#2 to .*unexpected string after the shape table", wb.randn, {2}, "x")
  T.check_error("unexpected number after the shape table",
    function() return wb.zeros(6):reshape({2, 3}, 1) end)
  T.check_error("#4 to .*unexpected boolean: expected wb.full%(shape, value %[, dtype%]%)",
    wb.full, {2}, 1, "uint8", true)
  T.check_error("#3 to .*expected wb.new_tensor", wb.new_tensor, {2}, "uint8", 1)
  T.check_error("#3 to .*expected wb.tensor", wb.tensor, {1}, "float32", 1)
  T.check_error("#3 to .*expected wb.matmul%(a, b%)", wb.matmul, wb.ones(1, 1),
    wb.ones(1, 1), wb.ones(1, 1))
end)

T.test("methods refuse extra arguments: t:sum(1, 2) sums over one dim only", function()
  local t = wb.ones(2, 3)
  T.check_error("bad argument #2 to 'sum' %(unexpected number: expected t:sum%(%[dim%]%) " ..
    "%(one dimension at a time%)%)", function() return t:sum(1, 2) end)
  T.check_error("bad argument #2 to 'argmax' %(unexpected boolean: expected t:argmax",
    function() return t:argmax(1, true) end)
  -- every method, one argument too many
  local calls = {
    {"shape", {}}, {"size", {1}}, {"dim", {}}, {"numel", {}}, {"dtype", {}},
    {"row", {1}}, {"rows", {1, 2}}, {"clone", {}}, {"float", {}}, {"fill", {0}},
    {"copy", {wb.ones(2, 3)}}, {"totable", {}}, {"sum", {1}}, {"mean", {1}},
    {"std", {nil}}, {"min", {1}}, {"max", {1}}, {"norm", {nil}}, {"argmax", {1}},
    {"exp", {}}, {"log", {}}, {"abs", {}}, {"sqrt", {}}, {"sign", {}}, {"pow", {2}},
    {"clamp", {0, 1}}, {"t", {}}, {"free", {}},
  }
  for _, c in ipairs(calls) do
    local name, args = c[1], c[2]
    local n = (name == "std" or name == "norm") and 1 or #args -- std(nil, 7)
    local a = {}
    for i = 1, n do a[i] = args[i] end
    a[n + 1] = 7
    local u = wb.ones(2, 3)
    local err = T.check_error("unexpected number: expected t:" .. name .. "%(",
      function() return u[name](u, table.unpack(a, 1, n + 1)) end)
    T.ok(err:find("#" .. (n + 2)), name .. ": " .. err) -- called with a dot: self is #1
  end
  T.check_error("unexpected number: expected t:item", function() return wb.ones(1):item(1) end)
  -- what they take still works
  T.eq(t:sum(), 6); T.eq(t:sum(1):numel(), 3); T.eq(t:clamp(0, 1):sum(), 6)
end)

T.test("reshape and view infer one -1, as numpy's reshape", function()
  local t = wb.tensor{1, 2, 3, 4, 5, 6}
  local cases = { -- numpy: np.arange(6).reshape(s).shape
    {{-1, 2}, "3x2"}, {{2, -1}, "2x3"}, {{-1}, "6"}, {{1, -1, 3}, "1x2x3"},
    {{-1, 6}, "1x6"}, {{3, 2, -1}, "3x2x1"},
  }
  for _, c in ipairs(cases) do
    T.eq(table.concat(t:reshape(table.unpack(c[1])):shape(), "x"), c[2])
    T.eq(table.concat(t:view(c[1]):shape(), "x"), c[2])
  end
  local v = t:view(-1, 2)
  T.eq(v:get(3, 2), 6); v:set(1, 1, 9); T.eq(t:get(1), 9) -- a view: storage shared
  T.eq(table.concat(wb.zeros(0, 4):reshape(-1, 4):shape(), "x"), "0x4")
  T.check_error("cannot reshape %[6%] %(6 elements%) to %[%-1, 4%]: 6 is not a multiple of 4",
    function() return t:reshape(-1, 4) end)
  T.check_error("reshape to %[%-1, %-1%]: only one size may be %-1",
    function() return t:reshape{-1, -1} end)
  T.check_error("to %[%-1, 0%]: with a size 0 beside it, the %-1 could be any size",
    function() return wb.zeros(0):reshape(-1, 0) end)
  T.check_error("must not be negative %(but %-1, inferred%)",
    function() return t:reshape(-2, -3) end)
  T.check_error("size 1 must not be negative", wb.zeros, {-1, 2}) -- only views infer
end)

T.test("argmax: the first NaN wins, as max does and as torch and numpy", function()
  local a = wb.tensor{{1, 5, 0 / 0}, {0 / 0, 2, 1}, {0 / 0, 0 / 0, 3}, {1, 7, 2}}
  local i2, m2 = a:argmax(2), a:max(2)
  local want = {3, 1, 1, 2} -- torch.tensor(...).argmax(1) + 1, np.argmax(..., 1) + 1
  for r = 1, 4 do
    T.eq(i2:get(r), want[r], "row " .. r)
    local x = a:get(r, want[r])
    T.ok(x ~= x and m2:get(r) ~= m2:get(r) or x == m2:get(r), "row " .. r .. " is max's")
  end
  local i1 = a:argmax(1)
  T.eq(i1:get(1), 2); T.eq(i1:get(2), 3); T.eq(i1:get(3), 1)
end)

T.test("wb.data.idx refuses a float64 beyond float32's range, naming where", function()
  local dir = T.tmpdir()
  local path = dir .. "/f64.idx"
  local f = assert(io.open(path, "wb"))
  f:write(string.pack(">I4I4I4", 0x0E02, 2, 2), string.pack(">dddd", 1, 0.5, -2, -1e300))
  f:close()
  T.check_error("f64.idx: element 4 %(%[2, 2%]%) is %-1e%+300, beyond float32's range",
    wb.data.idx, path)
  f = assert(io.open(path, "wb"))
  f:write(string.pack(">I4I4I4", 0x0E02, 2, 2), string.pack(">dddd", 1, 0.5, -2, 1e30))
  f:close()
  local t = wb.data.idx(path)
  T.eq(t:get(2, 1), -2); T.near(t:get(2, 2), 1e30, 1e24)
end)

T.test("wb.data and wb.image functions refuse extra arguments too", function()
  local dir = T.tmpdir()
  local png = dir .. "/x.png"
  wb.image.save(wb.zeros(4, 4), png)
  T.check_error("#2 to 'load' %(unexpected boolean: expected wb.image.load%(path%)%)",
    wb.image.load, png, true)
  T.check_error("#3 to .*unexpected number: expected wb.image.to_mnist%(img %[, opts%]%)",
    wb.image.to_mnist, wb.zeros(4, 4), nil, 1)
  T.check_error("#3 to .*expected wb.image.save%(t, path%)", wb.image.save, wb.zeros(2, 2),
    png, "x")
  T.check_error("expected wb.image.invert%(img%)", wb.image.invert, wb.zeros(2, 2), 1)
  T.check_error("expected wb.image.bbox%(img %[, level%]%)", wb.image.bbox, wb.zeros(2, 2),
    0, 1)
  T.check_error("expected wb.image.crop", wb.image.crop, wb.zeros(2, 2), 1, 1, 1, 1, 1)
  T.check_error("expected wb.image.resize", wb.image.resize, wb.zeros(2, 2), 1, 1, nil, 1)
  T.check_error("expected wb.image.centre_of_mass", wb.image.centre_of_mass, wb.ones(2, 2), 1)
  T.check_error("expected wb.image.rgb", wb.image.rgb, wb.ones(2, 2), nil, nil, 1)
  local idx = dir .. "/u8.idx"
  local f = assert(io.open(idx, "wb"))
  f:write(string.pack(">I4I4", 0x0801, 2), "\1\2")
  f:close()
  T.eq(wb.data.idx(idx):get(2), 2)
  T.check_error("#2 to .*unexpected string: expected wb.data.idx%(path%)", wb.data.idx, idx,
    "uint8")
end)

T.done()
