-- test_instruments_scratch.lua: the per-sample Scratch's binding
-- (bindings/l_instruments.c) as the fit instruments drive it every step:
-- moments by slot number and several slots in one call, the gram cleared
-- at its first use in a batch (not at begin), and the argument checks that
-- compare metatables held as upvalues instead of looking them up by name.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local function labels(n, c)
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 5) % c) end
  return y
end

-- A model, a batch run forward and backward with dL/dz kept, a Scratch
-- begun for it with every accumulator filled (norms, projections, losses).
local function filled(B, seed)
  wb.seed(seed or 4)
  local m = wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = "relu"}),
    wb.nn.Dense(5, 3, {activation = "softmax"})}
  local x, y = wb.randn(B, 6), labels(B, 3)
  for i = 1, 2 do wb.instruments.keep_dz(m[i], true) end
  local ce = wb.nn.SparseCrossEntropy()
  m:forward(x, true)
  ce:forward(m[2]:logits(), y)
  m:zero_grad()
  m:backward_logits(x, ce:backward(), true)
  local ps = wb.instruments.Scratch()
  ps:begin(B)
  local _, g = m:parameters()
  for i = 1, 2 do
    ps:add_norms(m[i], m._h[i], B)
    ps:add_dot(m[i], m._h[i], B, 1, g[2 * i - 1], g[2 * i], 2, g[2 * i - 1], g[2 * i],
      3, g[2 * i - 1], g[2 * i])
  end
  ps:ce(m[2]:logits(), y)
  return ps, m
end

local NAMES = {"sq", "proj1", "proj2", "proj3", "loss"}

T.test("moments by slot number equal moments by name, several in one call", function()
  local ps = filled(7)
  local all = {ps:moments(1, 2, 3, 4, 5)}
  T.eq(#all, 10, "two numbers a slot")
  for slot, name in ipairs(NAMES) do
    local s, s2 = ps:moments(name)
    T.ok(s ~= 0 and s2 > 0, name .. " was filled")
    T.eq(select(1, ps:moments(slot)), s, name .. ": sum by slot")
    T.eq(select(2, ps:moments(slot)), s2, name .. ": sum of squares by slot")
    T.eq(all[2 * slot - 1], s, name .. ": sum in the call of five")
    T.eq(all[2 * slot], s2, name .. ": sum of squares in the call of five")
  end
  local a, b, c, d = ps:moments("loss", 1)
  T.eq(a, select(1, ps:moments(5)))
  T.eq(d, select(2, ps:moments("sq")))
  T.ok(b ~= nil and c ~= nil)
end)

T.test("moments refuses a slot out of range, a fraction, gram and six slots", function()
  local ps = filled(3)
  T.check_error("expected a slot 1..5", ps.moments, ps, 0)
  T.check_error("expected a slot 1..5", ps.moments, ps, 6)
  T.check_error("number has no integer representation", ps.moments, ps, 1.5)
  T.check_error("expected sq, proj1, proj2, proj3 or loss", ps.moments, ps, "gram")
  T.check_error("expected 1 to 5 of sq", ps.moments, ps, 1, 2, 3, 4, 5, 1)
  T.check_error("expected 1 to 5 of sq", ps.moments, ps)
  T.check_error("invalid option 'nope'", ps.moments, ps, 1, "nope")
end)

T.test("the gram starts at zero in every batch though begin leaves it to its first use",
  function()
  local B = 6
  local ps, m = filled(B)
  ps:add_gram(m[1], m._h[1], B)
  ps:add_gram(m[2], m._h[2], B)
  local want = wb.instruments.per_sample(m, m._h[1], labels(B, 3)).gram
  local g = ps:tensor("gram")
  -- the same Scratch, the next batch: no gram added yet, then the same one
  ps:begin(B)
  local z = ps:tensor("gram")
  for i = 1, B do
    for j = 1, B do T.eq(z:get(i, j), 0, "a batch's gram before any add_gram") end
  end
  ps:begin(B)
  ps:add_gram(m[1], m._h[1], B)
  ps:add_gram(m[2], m._h[2], B)
  local g2 = ps:tensor("gram")
  for i = 1, B do
    for j = 1, B do
      T.eq(g2:get(i, j), g:get(i, j), "the second batch's gram, not added to the first's")
      T.near(g:get(i, j), want:get(i, j), 1e-5 * (1 + math.abs(want:get(i, j))), "per_sample")
    end
  end
  -- a larger batch grows the accumulators: its gram starts at zero too
  ps:begin(B + 3)
  local z2 = ps:tensor("gram")
  for i = 1, B + 3 do T.eq(z2:get(i, i), 0, "a grown gram") end
  T.eq(wb.instruments.Scratch():tensor("gram"):numel(), 0, "no batch begun: no rows")
end)

T.test("the Scratch's argument checks name the type expected and the one given", function()
  local B = 3
  local ps, m = filled(B)
  local a = m._h[1]
  T.check_error("wb.PerSample expected, got table", ps.moments, {}, 1)
  T.check_error("wb.PerSample expected, got wb.Tensor", ps.add_norms, a, m[1], a, B)
  T.check_error("wb.Dense expected, got wb.Tensor", ps.add_norms, ps, a, a, B)
  T.check_error("wb.Tensor expected, got wb.Dense", ps.add_norms, ps, m[1], m[1], B)
  T.check_error("wb.Tensor expected, got no value", ps.ce, ps, m[2]:logits())
  T.check_error("wb.PerSamplePair expected, got wb.Tensor", ps.add_cross, ps, m[1], a, a,
    true, 1, B)
  local pair = wb.instruments._pair()
  pair:free()
  T.check_error("attempt to use a released per-sample pair", ps.add_cross, ps, m[1], a,
    pair, true, 1, B)
  local t = wb.randn(B, 6)
  t:free()
  T.check_error("attempt to use a released tensor", ps.add_norms, ps, m[1], t, B)
  -- still accepted after the failures: a layer, its input and a pair
  ps:add_cross(m[1], a, wb.instruments._pair(), true, 1, B)
  T.ok(select(1, ps:moments(2)) ~= 0)
end)

T.test("add_hist2d refuses a kernel of another shape (a transposed one has as many "
    .. "elements) and bins other than begin's", function()
  local B = 3
  local ps, m = filled(B)
  local a, w, b = m._h[1], m[1].weight, m[1].bias
  ps:begin(B, 0, 40 * 50)
  T.check_error("expected float32 [6, 5] (the layer's kernel)", ps.add_hist2d, ps, m[1], a, B,
    wb.zeros(5, 6), b, 40, -1, 1, 50, -2, 2)
  T.check_error("add_hist2d: 50 x 50 bins, expected nx * ny = 2000 (begin's n2)", ps.add_hist2d,
    ps, m[1], a, B, w, b, 50, -1, 1, 50, -2, 2)
  T.check_error("add_hist2d: 4611686018427387904 x 4 bins", ps.add_hist2d, ps, m[1], a, B, w, b,
    1 << 62, -1, 1, 4, -2, 2)
  ps:add_hist2d(m[1], a, B, w, b, 40, -1, 1, 50, -2, 2)
  local total = 0
  for _, c in ipairs(ps:counts2d()) do total = total + c end
  T.eq(total, B * (6 * 5 + 5), "every entry of the layer, once")
end)

T.test("fit's measured steps ask for moments once for the tests and once for alpha, "
  .. "by slot number", function()
  local methods = getmetatable(wb.instruments.Scratch()).__index
  local moments, calls, named = methods.moments, 0, 0
  methods.moments = function(ps, ...)
    calls = calls + 1
    for k = 1, select("#", ...) do
      if math.type((select(k, ...))) ~= "integer" then named = named + 1 end
    end
    return moments(ps, ...)
  end
  local ok, err = pcall(function()
    wb.seed(2)
    local m = wb.nn.Sequential{wb.nn.Dense(6, 20, {activation = "relu"}),
      wb.nn.Dense(20, 3, {activation = "softmax"})}
    local n = 40
    for _, opt in ipairs{wb.optim.SGD{lr = 0.1}, wb.optim.Adam{}} do
      calls, named = 0, 0
      m:fit(wb.randn(n, 6), labels(n, 3), {batch_size = 10, epochs = 1, verbose = false,
        optimizer = opt, instruments = "economy", every = 1})
      T.eq(calls, 2 * n / 10, "two calls a step")
      T.eq(named, 0, "no slot by name")
    end
  end)
  methods.moments = moments
  assert(ok, err)
end)

T.done()
