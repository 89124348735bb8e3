-- wb.measures.loss_and_grads(m, x, y, true) gives the gradients of the data
-- loss, without L2's 2 l2 W (which a Dense's backward adds for fit), as its
-- help says; the measures built on it (wb.noise_scale.simple, track,
-- grad_noise) are the same at any l2 on the same weights. Before, they
-- moved with l2 (B_simple 64 at l2 = 0, 16 at 0.1).
local T = dofile("tests/lua/harness.lua")
local M = wb.measures

-- tests/fixtures/gen_l2grads.py: the cross-entropy's gradient alone, float64
local REF = {
  loss = 2.0461637468610521,
  {-0.051760478427816232, -0.15469570182331183, 0.41474894604276025, -0.20210488938803683,
    -0.025880239213908116, 0.23204355273496774, 0.20737447302138012, 0.30315733408205525,
    0.012940119606954058, 0.30939140364662365, -0.10368723651069006, 0.40420977877607367},
  {-0.051760478427816232, 0.30939140364662365, 0.41474894604276025, 0.40420977877607367},
  {0.11192155522693906, 0.047390568217165849, -0.15931212344410489, -0.43056718183538417,
    0.18561971275097161, 0.24494746908441259, 0.30778427687408239, 0.13032406259720608,
    -0.43810833947128847, -0.36112086218451578, 0.15568104940404071, 0.20543981278047507},
  {-0.14599896516038707, 0.31798229399946676, -0.17198332883907963},
}

local function flat(t)
  local out = {}
  for _, row in ipairs(t:totable()) do
    if type(row) == "table" then table.move(row, 1, #row, #out + 1, out)
    else out[#out + 1] = row end
  end
  return out
end

T.test("loss_and_grads: the cross-entropy's gradient alone (torch, float64), at any l2",
  function()
  local x = wb.tensor{{1.0, 0.5, -0.25}, {-0.5, 0.75, 1.0}}
  local y = wb.new_tensor({2}, "uint8")
  y:set(1, 2); y:set(2, 0)
  for _, l2 in ipairs{0, 0.1, 1} do
    local m = wb.nn.Sequential{wb.nn.Dense(3, 4, {activation = "relu", l2 = l2}),
      wb.nn.Dense(4, 3, {activation = "softmax", l2 = 2 * l2})}
    m:set_weights{
      wb.tensor{{0.5, -0.25, 0.75, -0.5}, {-0.375, 0.625, 0.125, 0.25},
        {0.25, 0.5, -0.625, 0.375}},
      wb.tensor{0.125, -0.125, 0.0625, 0.0},
      wb.tensor{{0.5, -0.75, 0.25}, {-0.25, 0.375, 0.5}, {0.625, 0.125, -0.5},
        {-0.375, 0.25, 0.75}},
      wb.tensor{0.0, 0.125, -0.125}}
    local loss = M.loss_and_grads(m, x, y, true)
    T.near(loss, REF.loss, 1e-6, "loss at l2 = " .. l2)
    local _, gs = m:parameters()
    local worst = 0
    for k, g in ipairs(gs) do
      for j, v in ipairs(flat(g)) do worst = math.max(worst, math.abs(v - REF[k][j])) end
    end
    print(string.format("# l2 = %g: max |grad - torch's| = %.3g", l2, worst))
    T.ok(worst < 1e-6, string.format("l2 = %g: gradients %.3g from the data loss's", l2, worst))
  end
end)

-- One model at l2 = 0 and the same weights at l2 = 0.1 (both layers).
local function pair()
  local ms = {}
  for k, l2 in ipairs{0, 0.1} do
    wb.seed(1)
    ms[k] = wb.nn.Sequential{wb.nn.Dense(8, 12, {activation = "relu", l2 = l2}),
      wb.nn.Dense(12, 3, {activation = "softmax", l2 = l2})}
  end
  return ms[1], ms[2]
end

local function rel(a, b) return math.abs(a - b) / math.max(math.abs(a), math.abs(b)) end

T.test("the measures on loss_and_grads do not move with l2 on the same weights", function()
  local data = T.synthetic(4242, 96, 8)
  local x, y = data:batch(M.iota(96), 1, 96)
  x, y = x:clone(), y:clone()
  local a, b = pair()
  M.loss_and_grads(a, x, y, true)
  M.loss_and_grads(b, x, y, true)
  local _, ga = a:parameters()
  local _, gb = b:parameters()
  for k = 1, #ga do
    local d = (ga[k] - gb[k]):abs():max()
    T.ok(d < 1e-7, string.format("parameter %d: gradients differ by %.3g with l2", k, d))
  end
  local sa, sb = wb.noise_scale.simple(a, x, y, {small = 16}), wb.noise_scale.simple(b, x, y,
    {small = 16})
  T.ok(rel(sa.two_batch.b_simple, sb.two_batch.b_simple) < 1e-5, string.format(
    "two_batch B_simple %.9g at l2 = 0, %.9g at 0.1", sa.two_batch.b_simple,
    sb.two_batch.b_simple))
  T.ok(rel(sa.per_sample.b_simple, sb.per_sample.b_simple) < 1e-5, "per_sample B_simple")
  T.ok(rel(M.grad_noise(a, data, 16, 96), M.grad_noise(b, data, 16, 96)) < 1e-5, "grad_noise")
  local norms = {}
  for k, m in ipairs{a, b} do
    local cb = M.track{data = data, n = 96}
    cb:on_train_begin(m)
    cb:on_epoch_end()
    norms[k] = cb.series
  end
  for i = 1, 2 do
    local na, nb = norms[1]["grad_norm_" .. i][1], norms[2]["grad_norm_" .. i][1]
    T.ok(rel(na, nb) < 1e-6, string.format("track's grad_norm_%d: %.9g at l2 = 0, %.9g at 0.1",
      i, na, nb))
  end
end)

T.test("loss_and_grads refuses a Lua layer's L2 penalty (its gradient is its own)", function()
  local lua_layer = {forward = function(_, x) return x end,
    backward = function(_, _, g) return g end, l2_penalty = function() return 0.5 end}
  local m = wb.nn.Sequential{wb.nn.Dense(3, 3), lua_layer, wb.nn.Dense(3, 2)}
  local x, y = wb.tensor{{1, 2, 3}}, wb.new_tensor({1}, "uint8")
  T.check_error("layer 2 (a Lua layer) has an L2 penalty", M.loss_and_grads, m, x, y, true)
  lua_layer.l2_penalty = function() return 0 end
  M.loss_and_grads(m, x, y, true)
end)
