-- test_audit_strict2.lua: fields and methods of objects (tensors,
-- optimizers, layers) read by a name the object lacks: an error naming the
-- type, the key and the nearest names, where it was nil, passed on silently
-- (t.shpe, opt.lrr) or called as "a nil value (method 'sumx')".
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- {==================== tensors ====================

T.test("a tensor's unknown field or method is an error naming the nearest", function()
  local t = wb.tensor({{1, 2, 3}, {4, 5, 6}})
  local err = T.check_error("wb.Tensor has no field 'shpe'; did you mean shape?",
    function() return t.shpe end)
  -- said where the typo is
  T.ok(err:find("test_audit_strict2.lua:%d+: wb%.Tensor"), err)
  T.check_error("wb.Tensor has no field 'sumx'; did you mean sum?",
    function() return t:sumx() end)
  T.check_error("wb.Tensor has no field 'Shape'; did you mean shape?",
    function() return t.Shape end)
  -- nothing near: every name listed
  err = T.check_error("wb.Tensor has no field 'qqqqqqqq'; its fields and methods: ",
    function() return t.qqqqqqqq end)
  T.ok(err:find("reshape, ", 1, true) and err:find("sum, ", 1, true), err)
  T.check_error("wb.Tensor has no key true", function() return t[true] end)
  -- what was right stays right: rows by integer, methods
  T.eq(t[2][3], 6.0) -- a 1-D row's element is a number (tryF: labels[i] == 7 was false)
  T.eq(t[2]:row(3):item(), 6)
  local y = wb.tensor({7, 2, 7}, "uint8")
  T.ok(y[1] == 7 and y[2] ~= 7 and y[3] == y[1], "1-D elements compare as numbers")
  T.check_error("index 4 out of range 1..3", function() return y[4] end)
  T.eq(t:shape()[2], 3)
  T.eq(t:sum(), 21)
  T.check_error("index 3 out of range 1..2", function() return t[3] end)
end)

-- }====================

-- {==================== optimizers ====================

T.test("an optimizer's unknown field is an error naming its nearest, hyper-parameters too",
  function()
  local opt = wb.optim.Adam{lr = 0.01}
  T.check_error("wb.optim.Adam has no field 'lrr'; did you mean lr?",
    function() return opt.lrr end)
  T.check_error("wb.optim.Adam has no field 'beta'; did you mean beta1 or beta2?",
    function() return opt.beta end)
  T.check_error("wb.optim.Adam has no field 'stepp'; did you mean step?",
    function() return opt:stepp() end)
  -- another kind's hyper-parameter is not this one's
  local err = T.check_error("wb.optim.Adam has no field 'momentum'",
    function() return opt.momentum end)
  T.ok(not err:find("did you mean momentum", 1, true), err)
  T.near(opt.lr, 0.01, 0)
  T.eq(opt.beta1, 0.9)
  T.eq(opt.name, "adam")
  T.eq(opt.iterations, 0)
  local sgd = wb.optim.SGD{lr = 0.1, momentum = 0.5}
  T.eq(sgd.momentum, 0.5)
  T.check_error("wb.optim.SGD has no field 'momentun'; did you mean momentum?",
    function() return sgd.momentun end)
end)

-- }====================

-- {==================== layers ====================

T.test("a layer's unknown field is an error naming its nearest; a field it lacks is nil",
  function()
  local dense = wb.nn.Dense(3, 2)
  local err = T.check_error("wb.nn.Dense has no field 'wieght'; did you mean weight?",
    function() return dense.wieght end)
  T.ok(err:find("test_audit_strict2.lua:%d+: wb%.nn%.Dense"), err)
  T.check_error("wb.nn.Dense has no field 'forwrd'; did you mean forward?",
    function() return dense:forwrd(wb.zeros{1, 3}) end)
  T.check_error("wb.nn.Dropout has no field 'rat'; did you mean rate?",
    function() return wb.nn.Dropout(0.5).rat end)
  T.check_error("wb.nn.Activation has no field 'activaton'; did you mean activation?",
    function() return wb.nn.Activation("relu").activaton end)
  T.check_error("wb.nn.Flatten has no field 'wieght'; its fields and methods: ",
    function() return wb.nn.Flatten().wieght end)
  T.check_error("wb.nn.Dense has no key 1", function() return dense[1] end)
  -- what was right stays right
  T.eq(dense.weight:shape()[1], 3)
  T.eq(dense.kind, "Dense")
  T.eq(wb.nn.Dropout(0.25).rate, 0.25)
  -- a field the type has, this layer not: nil, as before
  local nb = wb.nn.Dense(3, 2, {bias = false})
  T.eq(nb.use_bias, false)
  T.eq(nb.bias, nil)
end)

-- }====================

T.done()
