-- test_hessian_loss.lua: wb.hessian's loss defaults to the one the model was
-- trained with (wb/hessian_ops.lua default_loss; tryN 6: an mse model's
-- eigs defaulted to cross-entropy's, 1.140 against mse's 1.763, with no
-- word); an explicit loss wins; a model that does not know its loss keeps
-- cross-entropy; one trained with a loss whose Hessian is not computed is
-- refused without loss.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local train, _, data = T.tiny_data()

local function linear_head()
  wb.seed(2)
  return nn.Sequential{nn.Dense(8, 6, {activation = "tanh"}), nn.Dense(6, 3)}
end

local function fit(m, loss)
  m:fit(train, {epochs = 2, batch_size = 16, verbose = false, loss = loss,
    optimizer = wb.optim.SGD{lr = 0.1}})
  return m
end

local function top(m, loss)
  return wb.hessian.eigs(m, data, {k = 1, loss = loss, precision = "float64"}).values[1]
end

local function tr(m, loss)
  return wb.hessian.trace(m, data, {probes = 4, seed = 7, loss = loss}).trace
end

T.test("an mse model's Hessian is mse's by default; an explicit loss wins", function()
  local m = fit(linear_head(), "mse")
  local mse, ce = top(m, "mse"), top(m, "cross_entropy")
  T.ok(math.abs(mse - ce) > 1e-3 * mse, "the two losses differ here")
  T.eq(top(m), mse, "eigs")
  T.eq(tr(m), tr(m, "mse"), "trace")
  T.eq(top(m, "cross_entropy"), ce, "explicit")
  -- "MSE" is fit's mse too
  local m2 = fit(linear_head(), "MSE")
  T.eq(top(m2), top(m2, "mse"))
end)

T.test("a cross-entropy model, and one that does not know its loss, keep cross-entropy",
  function()
  local m = fit(linear_head())
  T.eq(top(m), top(m, "cross_entropy"), "fit's default loss")
  T.eq(tr(m), tr(m, "cross_entropy"))
  local s = fit(linear_head(), "sparse_categorical_crossentropy")
  T.eq(top(s), top(s, "cross_entropy"))
  -- built, or loaded from a weights file: no training loss known
  local fresh = linear_head()
  T.eq(top(fresh), top(fresh, "cross_entropy"))
  local path = T.tmpdir() .. "/m.safetensors"
  fit(linear_head(), "mse"):save(path)
  local loaded = wb.load(path)
  T.eq(top(loaded), top(loaded, "cross_entropy"))
end)

T.test("a model trained with a loss wb.hessian does not compute needs loss", function()
  local m = fit(linear_head(), "hinge")
  T.check_error('eigs: loss: the model was trained with loss hinge, whose Hessian is not '
    .. 'computed (only cross-entropy\'s and mse\'s): give loss = "cross_entropy" or "mse"',
    wb.hessian.eigs, m, data, {k = 1})
  T.ok(top(m, "cross_entropy") > 0)
end)

T.done()
