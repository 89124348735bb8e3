-- test_hessian_q7.lua: audit Q, item 7. wb.hessian's refusal of an
-- Activation("softmax") names the real reason: the same layer is taken last
-- after a linear Dense under cross-entropy (fit's fused head), so under mse
-- it said "element-wise activations only" and sent one looking for another
-- activation. And an element-wise Activation layer is taken (help said
-- wb.hessian refused Activation layers).
local T = dofile("tests/lua/harness.lua")

wb.seed(5)
local x = wb.randn(6, 4)
local y = wb.new_tensor({6}, "uint8")
for i = 1, 6 do y:set(i, i % 3) end
local data = {x = x, y = y}

local function eigs(layers, loss)
  return wb.hessian.eigs(wb.nn.Sequential(layers), data, {loss = loss, k = 1})
end

T.test("Activation softmax: refused naming why, per case", function()
  local e = T.check_error("eigs: layer 2: a last Activation softmax is supported with "
    .. "cross-entropy only (after a linear Dense, as fit's fused head), not with mse", eigs,
    {wb.nn.Dense(4, 3), wb.nn.Activation("softmax")}, "mse")
  T.ok(not e:find("element-wise activations only", 1, true), e)
  T.check_error("eigs: layer 2: a last Activation softmax is supported only right after a "
    .. "linear Dense", eigs, {wb.nn.Dense(4, 3, {activation = "relu"}),
    wb.nn.Activation("softmax")}, "cross_entropy")
  T.check_error("eigs: layer 2: Activation softmax is supported only last, after a linear "
    .. "Dense, with cross-entropy", eigs, {wb.nn.Dense(4, 3), wb.nn.Activation("softmax"),
    wb.nn.Dense(3, 3)}, "cross_entropy")
end)

T.test("Activation layers wb.hessian takes: element-wise anywhere, the softmax head", function()
  wb.seed(2)
  local split = {wb.nn.Dense(4, 5), wb.nn.Activation("tanh"), wb.nn.Dense(5, 3),
    wb.nn.Activation("softmax")}
  local a = eigs(split, "cross_entropy").values[1]
  wb.seed(2)
  local fused = {wb.nn.Dense(4, 5, {activation = "tanh"}),
    wb.nn.Dense(5, 3, {activation = "softmax"})}
  T.near(a, eigs(fused, "cross_entropy").values[1], 1e-5 * math.abs(a), "the same function")
  local v = eigs({wb.nn.Dense(4, 3), wb.nn.Activation("sigmoid")}, "mse").values[1]
  T.ok(v == v and math.abs(v) < math.huge, "a sigmoid Activation last under mse")
end)

T.test("eigs out of products before converging says so on stderr, once (audit Q8)", function()
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(6, 8, {activation = "tanh"}), wb.nn.Dense(8, 3)}
  local d = {x = wb.randn(20, 6), y = wb.new_tensor({20}, "uint8")}
  for i = 1, 20 do d.y:set(i, i % 3) end
  local e1, e2
  local _, err = T.stderr_of(function()
    e1 = wb.hessian.eigs(m, d, {k = 10, max_iter = 10})
    e2 = wb.hessian.eigs(m, d, {k = 10, max_iter = 10})
  end)
  T.eq(e1.converged, false)
  T.eq(e2.converged, false)
  T.ok(err:find("wb.hessian.eigs: not converged after 10 products (k = 10, tol = 0.0001): "
    .. "the values are estimates", 1, true), err)
  T.eq(select(2, err:gsub("not converged", "")), 1, "once: " .. err)
  _, err = T.stderr_of(function() wb.hessian.eigs(m, d, {k = 1}) end)
  T.eq(err, "", "converged: nothing said")
end)

T.test("the Operator given a linear Dense + Activation softmax says the functions fuse it "
  .. "(review U2)", function()
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3), wb.nn.Activation("softmax")}
  local x, y = wb.randn(5, 4), wb.new_tensor({5}, "uint8")
  T.check_error("layer 2: the operator takes softmax only inside the last Dense %(Dense{"
    .. "activation = 'softmax'}%); wb.hessian.hvp, eigs and trace fuse a linear Dense %+ "
    .. "Activation%('softmax'%) themselves", wb.hessian.Operator, {m[1], m[2]}, x, y,
    "cross_entropy", false, 5, 1)
  T.eq(wb.hessian.eigs(m, {x = x, y = y}, {k = 1}).converged, true)
end)

T.done()
