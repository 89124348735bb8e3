-- test_audit_api.lua: an audit of bad values into the tensor, layer,
-- optimizer, loss and data API, on what test_tensor*.lua, test_nn.lua,
-- test_optim.lua, test_losses*.lua, test_data.lua and test_arg_types.lua
-- leave out. Each test failed before its fix: values silently clamped,
-- rounded or overflowed into a tensor; NaN skipped by whole-tensor min and
-- max; a dim argument of std and norm ignored; a ragged table taken as
-- empty; a shape table's bad entry blamed on "argument #-1"; optimizer
-- an eps float32 rounds to 0 (NaN weights); losses on empty or
-- uint8 outputs failing deep inside (or giving NaN); Dataset batch and
-- constructor checks; signed overflow on extreme row positions.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local nan = 0 / 0

-- {==================== tensors ====================

T.test("uint8 values that do not fit are errors, never clamped or rounded", function()
  local u = wb.new_tensor({3}, "uint8")
  T.check_error("bad argument #2 to 'set' (300 does not fit in uint8 (expected an integer "
    .. "in 0..255))", function() u:set(1, 300) end)
  T.check_error("-5 does not fit in uint8", function() u:set(1, -5) end)
  T.check_error("nan does not fit in uint8", function() u:set(1, nan) end)
  T.check_error("2.5 does not fit in uint8", function() u:set(1, 2.5) end)
  T.check_error("bad argument #3 to 'newindex' (300 does not fit", function() u[1] = 300 end)
  T.check_error("2.5 does not fit in uint8", function() u:fill(2.5) end)
  T.check_error("wb.tensor: element [2]: 256 does not fit in uint8", wb.tensor, {1, 256}, "uint8")
  T.check_error("-1 does not fit in uint8", wb.tensor, -1, "uint8")
  T.check_error("copy: element 2 is 300, expected an integer in 0..255",
    function() u:copy(wb.tensor{1, 300, 2}) end)
  T.eq(u:get(1) + u:get(2) + u:get(3), 0, "nothing was written")
  u:set(1, 255); u[2] = 7; u:copy(wb.tensor{9, 8, 7})
  T.eq(u:get(1), 9); T.eq(u:get(3), 7)
end)

T.test("copy needs the destination's shape, not only its element count", function()
  -- a PyTorch Linear weight is [out, in]; copied into a Dense kernel [in, out]
  -- by count alone it would scramble the layer without a word
  local m = wb.nn.Sequential{wb.nn.Dense(3, 2)}
  local w = m[1].weight
  local before = w:clone()
  T.check_error("copy: expected a source of shape [3, 2] (the destination's), got [2, 3]",
    function() w:copy(wb.ones(2, 3)) end)
  T.eq((w - before):abs():sum(), 0, "nothing was written")
  local r = wb.zeros(4, 3)
  T.check_error("got [3, 1]", function() r[2] = wb.ones(3, 1) end)
  T.check_error("got [6]", function() w:copy(wb.ones(6)) end)
  w:copy(wb.ones(2, 3):reshape(3, 2)) -- across shapes, said so
  T.eq(w:sum(), 6)
  r[2] = wb.ones(3)
  T.eq(r:sum(), 3)
end)

T.test("a finite value beyond float32's range is an error, not inf", function()
  T.check_error("wb.tensor: element [1]: 1e+40 is beyond float32's range", wb.tensor, {1e40})
  local t = wb.zeros(2, 2)
  T.check_error("bad argument #3 to 'set' (-1e+39 is beyond float32's range",
    function() t:set(1, 1, -1e39) end)
  T.check_error("beyond float32's range", function() t:fill(1e300) end)
  T.check_error("beyond float32's range", wb.full, {2}, 1e39)
  T.check_error("beyond float32's range", function() t[1] = 1e39 end)
  t:set(1, 1, math.huge) -- an infinity asked for is kept, as is NaN
  T.eq(t:get(1, 1), math.huge)
end)

T.test("min and max over all elements are NaN when one is NaN", function()
  local t = wb.tensor{1, nan, 2}
  T.ok(t:max() ~= t:max(), "max is NaN, got " .. tostring(t:max()))
  T.ok(t:min() ~= t:min(), "min is NaN, got " .. tostring(t:min()))
  local r = wb.tensor{{1, nan, 2}}:max(2):get(1) -- along a dim, as before
  T.ok(r ~= r)
end)

T.test("std and norm refuse a dim argument instead of ignoring it", function()
  local t = wb.tensor{{1, 2}, {3, 5}}
  T.check_error("bad argument #1 to 'std' (no dimension expected", function() return t:std(1) end)
  T.check_error("bad argument #1 to 'norm' (no dimension expected", function() return t:norm(2) end)
  T.near(t:norm(), math.sqrt(39), 1e-6)
end)

T.test("a ragged table whose first row is empty is an error", function()
  T.check_error("ragged table: element [2] has 1 entries, expected 0", wb.tensor, {{}, {1}})
  T.check_error("element [2] is a number, expected a table", wb.tensor, {{}, 5})
  T.eq(table.concat(wb.tensor({{}, {}}):shape(), ","), "2,0")
end)

T.test("a bad entry of a shape table names the argument and the entry", function()
  T.check_error("bad argument #1 to 'wb.zeros' (size 2 must be an integer, got table",
    wb.zeros, {2, {}})
  T.check_error("bad argument #1 to 'wb.full' (size 1 must not be negative, got -3)",
    wb.full, {-3}, 0)
  T.check_error("size 2 must be an integer, got 2.5", function() wb.zeros(4):reshape{2, 2.5} end)
  T.check_error("bad argument #2 to 'wb.zeros' (dimension must not be negative)", wb.zeros, 2, -1)
end)

T.test("rows at extreme positions: in-range messages, no overflow", function()
  local t = wb.zeros(2, 3)
  T.check_error("rows -9223372036854775808..-9223372036854775808 out of range 1..2",
    function() return t:rows(math.mininteger) end)
  T.check_error("rows 2..-9223372036854775808 out of range 1..2",
    function() return t:rows(2, math.mininteger) end)
  T.check_error("rows 9223372036854775807..9223372036854775807 out of range 1..2",
    function() return t:rows(math.maxinteger) end)
  T.eq(#t:rows(2, 1), 0, "an empty range is a view")
  T.check_error("bad argument #6 to 'wb.data.gather' (expected a 1-based position >= 1)",
    wb.data.gather, wb.zeros(1, 4), wb.new_tensor({1}, "uint8"), wb.new_tensor({2, 4}, "uint8"),
    wb.new_tensor({2}, "uint8"), wb.tensor{1}, math.mininteger, 1)
end)

-- The same extremes in a child: under the ASan/UBSan build (make test-asan)
-- a signed overflow prints "runtime error:", which this catches.
T.test("no sanitizer report on extreme positions", function()
  local chunk = "local t = wb.zeros(2, 3); for _, a in ipairs{math.mininteger, "
    .. "math.maxinteger} do pcall(t.rows, t, a); pcall(t.rows, t, 2, a); "
    .. "pcall(wb.data.gather, wb.zeros(1, 4), wb.new_tensor({1}, 'uint8'), "
    .. "wb.new_tensor({2, 4}, 'uint8'), wb.new_tensor({2}, 'uint8'), wb.tensor{1}, a, 2) end"
  local wbin = os.getenv("WB") or "./workbench"
  local rc, out, err = T.sh("UBSAN_OPTIONS=print_stacktrace=0 " .. wbin .. " -e \""
    .. chunk .. "\"")
  T.eq(rc, 0, "exit status (" .. err .. ")")
  T.ok(not (out .. err):find("runtime error", 1, true), err)
end)

-- }====================
-- {==================== optimizers ====================

T.test("an eps that float32 rounds to 0 is an error (it gave NaN weights)", function()
  T.check_error("Adam: eps must be a finite number > 0, got 1e-50 (float32 holds",
    wb.optim.Adam, {eps = 1e-50})
  T.check_error("RMSprop: eps must be a finite number > 0, got 1e-50", wb.optim.RMSprop,
    {eps = 1e-50})
  T.check_error("AdamW: eps must be a finite number > 0, got 1e+300", wb.optim.AdamW,
    {eps = 1e300})
  -- a subnormal eps is not 0 in float32: kept, and a zero gradient moves nothing
  local w = wb.ones(3)
  wb.optim.Adam{eps = 1e-40}:step({w}, {wb.zeros(3)})
  T.eq(w:get(1), 1)
end)

-- }====================
-- {==================== losses ====================

T.test("losses on an empty, zero-class or uint8 output name the output", function()
  local y0, y2 = wb.new_tensor({0}, "uint8"), wb.new_tensor({2}, "uint8")
  for _, name in ipairs{"mse", "categorical_crossentropy", "hinge", "squared_hinge"} do
    local f = wb.losses[name]
    T.check_error(name .. ": output must be float32 [n, C] with n, C >= 1, got float32 [0, 3]",
      f, wb.zeros(0, 3), y0)
    T.check_error(name .. ": output must be float32 [n, C] with n, C >= 1, got float32 [2, 0]",
      f, wb.zeros(2, 0), y2)
    T.check_error(name .. ": output must be float32 [n, C] with n, C >= 1, got uint8 [2, 3]",
      f, wb.new_tensor({2, 3}, "uint8"), y2)
    T.check_error(name .. ": output must be float32 [n, C] with n, C >= 1, got float32 [3]",
      f, wb.zeros(3), y2)
  end
end)

-- }====================
-- {==================== data ====================

T.test("Dataset refuses 0-d images", function()
  T.check_error("dataset: images must be [n, ...] (one row per sample), got a tensor []",
    wb.data.Dataset, wb.tensor(1), wb.tensor({0}, "uint8"))
end)

T.test("Dataset:batch checks first and count before sizing its buffers", function()
  local ds = wb.data.Dataset(wb.new_tensor({4, 2, 2}, "uint8"), wb.tensor({0, 1, 2, 3}, "uint8"))
  local perm = wb.tensor{1, 2, 3}
  T.check_error("bad argument #3 to 'batch' (count: rows 1..-1 of an index of 3, expected a "
    .. "count in 0..3)", function() return ds:batch(perm, 1, -1) end)
  T.check_error("bad argument #3 to 'batch' (count: rows 2..1099511627777", function()
    return ds:batch(perm, 2, 2 ^ 40) end)
  T.check_error("bad argument #2 to 'batch' (first: expected 1..4 for an index of 3, got 5)",
    function() return ds:batch(perm, 5) end)
  T.check_error("bad argument #2 to 'batch' (first: expected 1..4 for an index of 3, got "
    .. "-9223372036854775808)", function() return ds:batch(perm, math.mininteger, 1) end)
  local x = ds:batch(perm, 4) -- first just past the end: an empty batch
  T.eq(table.concat(x:shape(), ","), "0,4")
end)

T.test("an empty dataset keeps its row size: input_size, batch, predict", function()
  local ds = wb.data.Dataset(wb.new_tensor({4, 2, 2}, "uint8"),
    wb.tensor({0, 1, 2, 3}, "uint8")):subset(1, 0)
  T.eq(ds:input_size(), 4)
  T.eq(table.concat(ds:float_images():shape(), ","), "0,4")
  T.eq(table.concat(ds:batch({}):shape(), ","), "0,4")
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
  T.eq(table.concat(m:predict(ds):shape(), ","), "0,3")
  T.eq(table.concat(m:predict(wb.zeros(0, 4)):shape(), ","), "0,3")
  T.check_error("input: expected [*, 4], got [0, 5]", function() m:predict(wb.zeros(0, 5)) end)
end)

T.test("fit: validation_split NaN is refused by name", function()
  local ds = wb.data.Dataset(wb.rand(6, 4), wb.tensor({0, 1, 0, 1, 1, 0}, "uint8"))
  local m = wb.nn.Sequential{wb.nn.Dense(4, 2, {activation = "softmax"})}
  T.check_error("fit: validation_split must be a number in (0, 1), got ",
    function() m:fit(ds, {validation_split = nan, verbose = false}) end)
end)

-- }====================

T.test("a dataset where an options table belongs is named as such, at the caller's line",
  function()
  -- it was "unknown option '_views'": the dataset's fields read as options
  local d = wb.data.mnist().test:subset(1, 10)
  local m = wb.nn.Sequential{wb.nn.Dense(784, 10, {activation = "softmax"})}
  for _, f in ipairs{"evaluate", "predict", "fit"} do
    local err = T.check_error(f .. ": expected an options table, got a wb.Dataset",
      function() m[f](m, d, d) end)
    T.ok(err:find("test_audit_api.lua:%d+:"), err)
  end
  T.check_error("slice: expected an options table, got a wb.Dataset",
    wb.landscape.slice, m, d, d)
end)

T.done()
