-- Tensors: construction, views and storage lifetime, arithmetic, reductions,
-- matmul against a naive product, and the documented errors.
local T = dofile("tests/lua/harness.lua")

T.test("construct from nested tables", function()
  local t = wb.tensor{{1, 2, 3}, {4, 5, 6}}
  T.eq(t:dim(), 2); T.eq(#t, 2); T.eq(t:numel(), 6)
  T.eq(t:shape()[1], 2); T.eq(t:shape()[2], 3)
  T.eq(t:get(2, 3), 6.0); T.eq(t:dtype(), "float32")
  T.eq(wb.tensor({1, 2}, "uint8"):dtype(), "uint8")
end)

T.test("zeros ones full fill", function()
  T.eq(wb.zeros(3, 4):sum(), 0.0)
  T.eq(wb.ones(3, 4):sum(), 12.0)
  T.eq(wb.full({2, 5}, 7):sum(), 70.0)
  T.eq(wb.zeros(2, 2):fill(2.5):mean(), 2.5)
  T.eq(wb.zeros{2, 3}:numel(), 6)
end)

T.test("ragged and non-numeric tables are rejected", function()
  T.check_error("ragged", wb.tensor, {{1, 2}, {3}})
  T.check_error("expected a number", wb.tensor, {{1, "x"}})
end)

T.test("views share storage", function()
  local t = wb.zeros(4, 3)
  local r = t[2]
  r:fill(5)
  T.eq(t:get(2, 1), 5.0); T.eq(t:get(1, 1), 0.0); T.eq(t:sum(), 15.0)
  local v = t:reshape(3, 4)
  v:set(1, 1, 9)
  T.eq(t:get(1, 1), 9.0)
  local rows = t:rows(2, 3)
  T.eq(#rows, 2); T.eq(rows:get(1, 1), 5.0)
  t[4] = 1
  T.eq(t:get(4, 3), 1.0)
end)

T.test("a view keeps its storage alive after the parent is collected", function()
  local t = wb.tensor{{1, 2}, {3, 4}}
  local row = t[2]
  t = nil
  for _ = 1, 3 do collectgarbage("collect") end
  -- allocate over the freed memory to expose a dangling pointer
  local junk = {}
  for i = 1, 50 do junk[i] = wb.full({2, 2}, -1) end
  T.eq(row:get(1), 3.0); T.eq(row:get(2), 4.0)
end)

T.test("clone is a deep copy", function()
  local t = wb.ones(2, 2)
  local c = t:clone()
  c:fill(3)
  T.eq(t:sum(), 4.0); T.eq(c:sum(), 12.0)
end)

T.test("arithmetic", function()
  local a, b = wb.tensor{1, 2, 3}, wb.tensor{4, 5, 6}
  T.eq((a + b):sum(), 21.0); T.eq((b - a):sum(), 9.0)
  T.eq((a * 2):sum(), 12.0); T.eq((2 * a):sum(), 12.0)
  T.eq((a / 2):get(3), 1.5); T.eq((-a):get(1), -1.0)
  T.check_error("[3] and [2]", function() return a + wb.tensor{1, 2} end)
end)

T.test("reductions", function()
  local t = wb.tensor{{1, 2}, {3, 4}}
  T.eq(t:sum(), 10.0); T.eq(t:mean(), 2.5); T.eq(t:min(), 1.0); T.eq(t:max(), 4.0)
  T.near(t:std(), math.sqrt(1.25), 1e-9); T.near(t:norm(), math.sqrt(30), 1e-9)
  local am = wb.tensor{{0.1, 0.9, 0.3}, {5, 1, 2}}:argmax(2)
  T.eq(am:get(1), 2.0); T.eq(am:get(2), 1.0)
end)

T.test("matmul matches a naive product", function()
  wb.seed(3)
  local a, b = wb.randn(7, 5), wb.randn(5, 3)
  local c = wb.matmul(a, b)
  for i = 1, 7 do
    for j = 1, 3 do
      local s = 0
      for k = 1, 5 do s = s + a:get(i, k) * b:get(k, j) end
      T.near(c:get(i, j), s, 1e-5)
    end
  end
end)

T.test("errors: huge shapes, mismatches, bad indices, released tensors", function()
  T.check_error("too large", wb.zeros, 1e10, 1e10)
  T.check_error("too large", wb.zeros, 1e6, 1e6)
  T.check_error("negative", wb.zeros, -1, 2)
  T.check_error("integer", wb.zeros, 2.5)
  T.check_error("matmul: shapes [2, 3] and [2, 3]", wb.matmul, wb.zeros(2, 3), wb.zeros(2, 3))
  T.check_error("dimension 2's index is 5, expected 1..3", function() return wb.zeros(2, 3):get(1, 5) end)
  T.check_error("cannot reshape", function() return wb.zeros(2, 3):reshape(4, 2) end)
  T.check_error("wb.Tensor expected", wb.matmul, nil, wb.zeros(2, 2))
  local t = wb.zeros(2)
  t:free()
  T.check_error("attempt to use a released tensor", function() return t:sum() end)
  t:free() -- idempotent
end)

T.test("tostring shows shape and abbreviated values", function()
  local s = tostring(wb.zeros(100, 100))
  T.ok(s:find("Tensor%[100, 100%]"), s)
  T.ok(#s < 600, "abbreviated: " .. #s .. " chars")
  T.ok(s:find("...", 1, true))
  T.ok(tostring(wb.tensor{1.5}):find("1.5"))
end)

T.test("tostring lines up the columns it shows", function()
  T.eq(tostring(wb.tensor{{1.5, -0.001234, 100}, {2, 3, 4}}),
    "Tensor[2, 3]\n        1.5 -0.001234       100\n          2         3         4")
  -- the skipped rows and columns: every shown line as wide as the others
  local lines = {}
  for l in tostring(wb.randn(10, 12)):gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.eq(#lines, 8) -- the shape, 3 rows, "...", 3 rows
  for i = 3, 8 do
    if i ~= 5 then T.eq(#lines[i], #lines[2], "line " .. i .. ": " .. lines[i]) end
  end
  T.eq(tostring(wb.tensor({{1, 200}, {30, 4}}, "uint8")),
    "Tensor[2, 2] uint8\n    1 200\n   30   4")
  -- NaN of either sign is "nan", as PyTorch prints it (glibc wrote 0/0 as "-nan")
  T.eq(tostring(wb.tensor{0 / 0, -(0 / 0), 1 / 0, -1 / 0}), "Tensor[4]\n   nan  nan  inf -inf")
end)

T.test("totable round trip", function()
  local t = wb.tensor{{1, 2}, {3, 4}}:totable()
  T.eq(t[2][1], 3.0); T.eq(#t, 2)
end)

T.done()
