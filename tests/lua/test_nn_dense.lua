-- test_nn_dense.lua: the wb.nn layers with weights or a random mask (Dense,
-- Dropout) and the global generator that initialises and masks them: view
-- caching, gradients and error messages.
local T = dofile("tests/lua/harness.lua")
local nn = wb.nn

-- small helpers -----------------------------------------------------------
local function tensor_close(a, b, tol, msg)
  local sa, sb = a:shape(), b:shape()
  T.eq(#sa, #sb, (msg or "") .. " ndim")
  for i = 1, #sa do T.eq(sa[i], sb[i], (msg or "") .. " dim " .. i) end
  local d = (a - b):norm()
  if not (d <= tol) then error(string.format("%s: |a - b| = %g > %g", msg or "", d, tol), 2) end
end

--{==================== Dense ====================

T.test("Dense fields, tostring and defaults", function()
  local d = nn.Dense(784, 128, {activation = "relu", l2 = 1e-3})
  T.eq(tostring(d), "Dense(784 -> 128, relu, l2 0.001)") -- layers that train apart print apart
  T.eq(tostring(nn.Dense(4, 3, {bias = false})), "Dense(4 -> 3, linear, no bias)")
  T.eq(tostring(nn.Dense(4, 3, {activation = "relu"})), "Dense(4 -> 3, relu)")
  T.eq(d.kind, "Dense"); T.eq(d.n_in, 784); T.eq(d.n_out, 128)
  T.eq(d.activation, "relu"); T.near(d.l2, 1e-3, 1e-15); T.eq(d.use_bias, true)
  T.eq(d.init, "glorot_uniform")
  local w = d.weight
  T.eq(w, d.weight, "weight is cached")
  T.eq(w:shape()[1], 784); T.eq(w:shape()[2], 128)
  T.eq(d.bias:shape()[1], 128); T.eq(d.bias:sum(), 0)
  local lim = math.sqrt(6 / (784 + 128))
  T.ok(w:max() <= lim and w:min() >= -lim, "glorot_uniform bound")
  local p, g = d:parameters()
  T.eq(#p, 2); T.eq(#g, 2)
  T.eq(p[1], d.weight); T.eq(p[2], d.bias); T.eq(g[1], d.grad_weight); T.eq(g[2], d.grad_bias)
  T.eq(tostring(nn.Dense(3, 2)), "Dense(3 -> 2, linear)")
  local nb = nn.Dense(3, 2, {bias = false})
  T.eq(nb.use_bias, false); T.eq(nb.bias, nil)
  local p2 = nb:parameters()
  T.eq(#p2, 1)
  T.check_error("wb.nn.Dense has no field 'no_such_field'", function() return d.no_such_field end)
  T.eq(getmetatable(d).__methods.forward, d.forward, "__methods for completion")
  T.check_error("read-only", function() d.weight = 1 end)
end)

T.test("Dense forward = act(x @ W + b)", function()
  wb.seed(3)
  for _, act in ipairs{"linear", "relu", "tanh", "sigmoid", "softmax"} do
    local d = nn.Dense(5, 3, {activation = act})
    d.bias:copy(wb.tensor{0.1, -0.2, 0.3})
    local x = wb.randn(4, 5)
    local y = d:forward(x, true)
    local z = wb.matmul(x, d.weight)
    for i = 1, 4 do
      local row, m, s = {}, -math.huge, 0
      for j = 1, 3 do row[j] = z:get(i, j) + d.bias:get(j); m = math.max(m, row[j]) end
      for j = 1, 3 do s = s + math.exp(row[j] - m) end
      for j = 1, 3 do
        local v = row[j]
        local want = ({linear = v, relu = math.max(v, 0), tanh = math.tanh(v),
                       sigmoid = 1 / (1 + math.exp(-v)),
                       softmax = math.exp(v - m) / s})[act]
        T.near(y:get(i, j), want, 1e-5, act)
        T.near(d:logits():get(i, j), v, 1e-5, act .. " logits")
      end
    end
  end
end)

T.test("Dense + cross-entropy gradient by central differences (Lua level)", function()
  -- tolerance 2e-3 abs + 2e-3 rel, h = 1e-2, loss is a double
  wb.seed(5)
  local d = nn.Dense(7, 5, {activation = "softmax", l2 = 0.01})
  local ce = nn.SparseCrossEntropy()
  local x = wb.randn(3, 7)
  local labels = wb.tensor{4, 0, 2}
  local function loss()
    d:forward(x, true)
    local l = ce:forward(d:logits(), labels)
    return l + d:l2_penalty()
  end
  loss()
  d:zero_grad()
  local gx = d:backward_logits(x, ce:backward())
  local gw, gb = d.grad_weight:clone(), d.grad_bias:clone()
  gx = gx:clone()
  local function check(t, i, j, an)
    local h, save = 1e-2, t:get(i, j)
    t:set(i, j, save + h); local lp = loss()
    t:set(i, j, save - h); local lm = loss()
    t:set(i, j, save)
    local fd = (lp - lm) / (2 * h)
    T.near(an, fd, 2e-3 + 2e-3 * math.abs(fd), string.format("(%d,%d)", i, j))
  end
  for i = 1, 7 do for j = 1, 5 do check(d.weight, i, j, gw:get(i, j)) end end
  for i = 1, 3 do for j = 1, 7 do check(x, i, j, gx:get(i, j)) end end
  -- bias: 1-D, use a [1, 5] view of it through reshape (shares storage)
  local b2 = d.bias:reshape(1, 5)
  for j = 1, 5 do check(b2, 1, j, gb:get(j)) end
end)

T.test("Dense backward accumulates, zero_grad returns self, need_grad_input", function()
  wb.seed(6)
  local d = nn.Dense(4, 3, {activation = "tanh"})
  local x, g = wb.randn(2, 4), wb.randn(2, 3)
  d:forward(x)
  local gx = d:backward(x, g)
  T.eq(gx:shape()[1], 2); T.eq(gx:shape()[2], 4)
  local w1 = d.grad_weight:clone()
  T.eq(d:backward(x, g, false), nil)
  tensor_close(d.grad_weight, w1 * 2, 1e-5, "accumulated")
  T.eq(d:zero_grad(), d)
  T.eq(d.grad_weight:norm(), 0); T.eq(d.grad_bias:norm(), 0)
end)

T.test("Dense l2_penalty = l2 * sum(w^2)", function()
  local d = nn.Dense(10, 6, {l2 = 0.5})
  local n = d.weight:norm()
  T.near(d:l2_penalty(), 0.5 * n * n, 1e-6)
  T.eq(nn.Dense(10, 6):l2_penalty(), 0)
end)

T.test("Dense error messages", function()
  local d = nn.Dense(784, 10)
  T.check_error("bad argument #1 to 'forward' (input: expected [*, 784], got [32, 785])",
    function() return d:forward(wb.zeros(32, 785)) end)
  T.check_error("backward called before forward",
    function() return d:backward(wb.zeros(32, 784), wb.zeros(32, 10)) end)
  T.check_error("logits called before forward", function() return d:logits() end)
  d:forward(wb.zeros(32, 784))
  T.check_error("bad argument #1 to 'backward' (input: expected [32, 784] (the batch of " ..
    "the last forward), got [16, 784])",
    function() return d:backward(wb.zeros(16, 784), wb.zeros(16, 10)) end)
  T.check_error("bad argument #2 to 'backward' (grad_output: expected [32, 10], got [32, 11])",
    function() return d:backward(wb.zeros(32, 784), wb.zeros(32, 11)) end)
  T.check_error("wb.Tensor expected, got nil", function() return d:forward(nil) end)
  T.check_error("unknown option 'actvation' (valid: activation, bias, init, l2)",
    function() return nn.Dense(784, 10, {actvation = "relu"}) end)
  T.check_error("activation: unknown 'rleu' (valid: linear, relu, tanh, softsign, gelu, " ..
    "gelu_tanh, sigmoid, elu, selu, swish, softmax)",
    function() return nn.Dense(784, 10, {activation = "rleu"}) end)
  T.check_error("bad argument #3", function() return nn.Dense(784, 10, {activation = "rleu"}) end)
  T.check_error("init: unknown 'xavier'", function() return nn.Dense(4, 4, {init = "xavier"}) end)
  T.check_error("l2: expected a finite number >= 0, got -1",
    function() return nn.Dense(4, 4, {l2 = -1}) end)
  T.check_error("option 'l2': expected a number, got string",
    function() return nn.Dense(4, 4, {l2 = "big"}) end)
  T.check_error("bad argument #1 to '.-Dense' %(n_in: expected a size in 1%.%.",
    function() return nn.Dense(0, 4) end)
  T.check_error("number has no integer representation", function() return nn.Dense(2.5, 4) end)
  T.check_error("bad argument #2", function() return nn.Dense(4, -1) end)
  local sq = nn.Dense(5, 5)
  T.check_error("bad argument #1 to 'forward' (input: is this layer's own output buffer",
    function() return sq:forward(sq:forward(wb.zeros(2, 5))) end)
  sq:forward(sq:forward(wb.zeros(2, 5)):clone())
  local act = nn.Activation("relu")
  T.check_error("input: is this layer's own output buffer",
    function() return act:forward(act:forward(wb.zeros(2, 5))) end)
end)

T.test("Dense returns cached views: no garbage per step", function()
  wb.seed(7)
  local d1 = nn.Dense(784, 128, {activation = "relu"})
  local d2 = nn.Dense(128, 10, {activation = "softmax"})
  local ce = nn.SparseCrossEntropy()
  local x = wb.rand(32, 784)
  local y = wb.new_tensor({32}, "uint8")
  local function step()
    local h = d1:forward(x, true)
    d2:forward(h, true)
    local loss, correct = ce:forward(d2:logits(), y)
    local g = d2:backward_logits(h, ce:backward())
    d1:backward(x, g, false)
    d1:zero_grad(); d2:zero_grad()
    return loss, correct
  end
  local h1 = d1:forward(x, true)
  T.eq(d1:forward(x, true), h1, "same view object for the same batch")
  step(); step()
  collectgarbage("collect")
  collectgarbage("stop")
  local before = collectgarbage("count")
  for _ = 1, 50 do step() end
  local grew = (collectgarbage("count") - before) * 1024
  collectgarbage("restart")
  T.ok(grew < 512, string.format("%d bytes of garbage in 50 steps", grew))
  -- a smaller batch gives a new view of the first rows; back again
  local h16 = d1:forward(x:rows(1, 16), true)
  T.eq(h16:shape()[1], 16)
  T.ok(h16 ~= h1)
  tensor_close(h16, h1:rows(1, 16), 0, "rows of the smaller batch")
end)

T.test("Dense weight outlives the layer; free/__close idempotent", function()
  local d = nn.Dense(3, 2)
  local w = d.weight
  local before = w:clone()
  d:free(); d:free()
  T.eq(tostring(d), "Dense(released)")
  T.check_error("attempt to use a released layer", function() return d:forward(wb.zeros(1, 3)) end)
  T.check_error("attempt to use a released layer", function() return d.weight end)
  collectgarbage("collect")
  tensor_close(w, before, 0, "weight after the layer was freed")
  do local c <close> = nn.Dense(2, 2) end
  local t = nn.Dense(2, 2)
  getmetatable(t).__gc(t); getmetatable(t).__close(t)
end)

--}====================

--{==================== Dropout ====================

T.test("Dropout: inverted scaling, identity at inference, mask reuse", function()
  local rate = 0.25
  local d = nn.Dropout(rate)
  T.eq(tostring(d), "Dropout(0.25)"); T.eq(d.kind, "Dropout"); T.eq(d.rate, 0.25)
  local x = wb.full({40, 50}, 2)
  T.eq(d:forward(x, false), x, "inference returns the input itself")
  T.eq(d:forward(x), x, "training defaults to false")
  local g0 = wb.full({40, 50}, 3)
  T.eq(d:backward(x, g0), g0, "identity backward returns grad itself")
  wb.seed(1)
  local y = d:forward(x, true)
  local dropped = 0
  for i = 1, 40 do for j = 1, 50 do
    local v = y:get(i, j)
    if v == 0 then dropped = dropped + 1 else T.near(v, 2 / (1 - rate), 1e-6) end
  end end
  T.near(dropped / 2000, rate, 0.05, "drop fraction")
  local gx = d:backward(x, g0)
  for i = 1, 40 do for j = 1, 50 do
    T.eq(gx:get(i, j) == 0, y:get(i, j) == 0, "mask reused")
  end end
  -- same seed, same mask
  wb.seed(1)
  local y2 = nn.Dropout(rate):forward(x, true)
  tensor_close(y2, y, 0, "same seed")
  T.eq(#({d:parameters()}), 2)
  T.eq(d:l2_penalty(), 0)
end)

T.test("Dropout error messages", function()
  T.check_error(
    "bad argument #1 to '.-Dropout' %(rate: expected a number in %[0, 1%), got %-0%.1%)",
    function() return nn.Dropout(-0.1) end)
  T.check_error("rate: expected a number in [0, 1), got 1", function() return nn.Dropout(1) end)
  local d = nn.Dropout(0.5)
  T.check_error("backward called before forward",
    function() return d:backward(wb.zeros(2, 2), wb.zeros(2, 2)) end)
  d:forward(wb.zeros(2, 3), true)
  T.check_error("bad argument #2 to 'backward' (grad_output: expected [2, 3]",
    function() return d:backward(wb.zeros(2, 3), wb.zeros(3, 3)) end)
end)

--}====================

--{==================== global generator ====================

T.test("wb.seed, wb.rand, wb.randn, wb.randperm", function()
  wb.seed(123)
  local a = wb.rand(3, 4)
  wb.seed(123)
  tensor_close(wb.rand(3, 4), a, 0, "same seed")
  T.ok(a:min() >= 0 and a:max() < 1)
  T.eq(wb.randn(2, 5):shape()[2], 5)
  T.eq(wb.rand{2, 3}:shape()[1], 2)
  local p = wb.randperm(100)
  local seen = {}
  for i = 1, 100 do
    local v = p:get(i)
    T.ok(v >= 1 and v <= 100 and v == math.floor(v) and not seen[v], "permutation")
    seen[v] = true
  end
  T.eq(wb.randperm(0):numel(), 0)
  T.check_error("bad argument #1", function() return wb.randperm(-1) end)
  -- Dense initialisation follows the seed
  wb.seed(9); local w1 = nn.Dense(5, 4).weight
  wb.seed(9); local w2 = nn.Dense(5, 4).weight
  tensor_close(w1, w2, 0, "init reproducible")
  local n = wb.randn(20000)
  T.near(n:mean(), 0, 0.03); T.near(n:std(), 1, 0.03)
end)

T.test("start-up seed is fixed (two processes agree)", function()
  local cmd = string.format("%q -e %q", T.wb, "io.write(string.format('%.9g', wb.rand(1):get(1)))")
  local s1, o1 = T.sh(cmd)
  local s2, o2 = T.sh(cmd)
  T.eq(s1, 0); T.eq(s2, 0)
  T.ok(#o1 > 0, "no output")
  T.eq(o1, o2)
end)

--}====================

T.done()
