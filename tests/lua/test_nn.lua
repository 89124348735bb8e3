-- test_nn.lua: the wb.nn bindings (Dense, Dropout, Activation, Flatten,
-- SparseCrossEntropy), the global generator, view caching and error messages.
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

local function from_rows(rows) return wb.tensor(rows) end

--{==================== Dense ====================

T.test("Dense fields, tostring and defaults", function()
  local d = nn.Dense(784, 128, {activation = "relu", l2 = 1e-3})
  T.eq(tostring(d), "Dense(784 -> 128, relu)")
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
  T.eq(d.no_such_field, nil)
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
  T.check_error("unknown option 'actvation' (valid keys: activation, bias, init, l2)",
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

--{==================== Activation and Flatten ====================

T.test("Activation layer: gelu (exact erf form) and its derivative", function()
  local a = nn.Activation("gelu")
  T.eq(tostring(a), "Activation(gelu)"); T.eq(a.activation, "gelu"); T.eq(a.kind, "Activation")
  local x = wb.tensor{{-1, 0, 1, 2}}
  local y = a:forward(x)
  local want = {-0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416}
  for j = 1, 4 do T.near(y:get(1, j), want[j], 1e-6) end
  local g = a:backward(x, wb.ones(1, 4))
  -- gelu'(x) = Phi(x) + x phi(x)
  local d1 = 0.8413447460685429 + 0.24197072451914337
  T.near(g:get(1, 3), d1, 1e-5)
  T.near(g:get(1, 2), 0.5, 1e-6)
  T.check_error("bad argument #1 to '.-Activation' %(activation: unknown 'gleu'",
    function() return nn.Activation("gleu") end)
  T.check_error("backward called before forward",
    function() return nn.Activation("relu"):backward(x, x) end)
  local s = nn.Activation("softmax"):forward(wb.tensor{{1000, -1000, 0}})
  T.near(s:get(1, 1), 1, 1e-6); T.eq(s:get(1, 2), 0)
end)

T.test("Flatten: float view, uint8 scaled, backward reshapes", function()
  local f = nn.Flatten()
  T.eq(tostring(f), "Flatten()"); T.eq(f.kind, "Flatten")
  local x = wb.rand(2, 3, 4)
  local y = f:forward(x, true)
  T.eq(y:shape()[1], 2); T.eq(y:shape()[2], 12)
  T.near(y:get(2, 5), x:get(2, 2, 1), 0)
  x:set(1, 1, 1, 42)
  T.eq(y:get(1, 1), 42, "a view of x, not a copy")
  local g = f:backward(x, wb.ones(2, 12))
  T.eq(#g:shape(), 3); T.eq(g:shape()[3], 4)
  local u = wb.new_tensor({2, 2, 2}, "uint8")
  u:set(1, 1, 2, 255); u:set(2, 2, 2, 51)
  local yu = f:forward(u)
  T.eq(yu:dtype(), "float32")
  T.near(yu:get(1, 2), 1, 1e-7); T.near(yu:get(2, 4), 0.2, 1e-7)
  T.eq(f:backward(u, wb.ones(2, 4)), nil, "no gradient for uint8 input")
  T.check_error("input: expected [n, ...] with at least 2 dimensions, got [5]",
    function() return f:forward(wb.zeros(5)) end)
end)

--}====================

--{==================== SparseCrossEntropy ====================

T.test("SparseCrossEntropy: loss, correct count, gradient", function()
  local ce = nn.SparseCrossEntropy()
  T.eq(tostring(ce), "SparseCrossEntropy()")
  local z = wb.tensor{{1, 2, 3}, {1, 0, -1}}
  local loss, correct = ce:forward(z, wb.tensor{2, 1})
  local function lse(a, b, c) return math.log(math.exp(a) + math.exp(b) + math.exp(c)) end
  local want = ((lse(1, 2, 3) - 3) + (lse(1, 0, -1) - 0)) / 2
  T.near(loss, want, 1e-6)
  T.eq(correct, 1); T.eq(math.type(correct), "integer")
  local g = ce:backward()
  T.eq(g, ce:backward(), "cached view")
  local s = math.exp(1) + math.exp(2) + math.exp(3)
  T.near(g:get(1, 3), (math.exp(3) / s - 1) / 2, 1e-7)
  T.near(g:get(1, 1), (math.exp(1) / s) / 2, 1e-7)
  -- uint8 labels, extreme logits
  local lab = wb.new_tensor({2}, "uint8")
  lab:set(1, 1); lab:set(2, 0)
  local l2, c2 = ce:forward(wb.tensor{{-1000, 1000}, {1000, -1000}}, lab)
  T.near(l2, 0, 1e-6); T.eq(c2, 2)
  local l3 = ce:forward(wb.tensor{{1000, -1000}}, wb.tensor{1})
  T.near(l3, 2000, 1e-3)
end)

T.test("SparseCrossEntropy error messages", function()
  local ce = nn.SparseCrossEntropy()
  T.check_error("backward called before forward", function() return ce:backward() end)
  local y = wb.zeros(32)
  y:set(3, 10)
  T.check_error("bad argument #2 to 'forward' (labels: label 3 (1-based position) is 10, " ..
    "expected an integer in 0..9)", function() return ce:forward(wb.zeros(32, 10), y) end)
  T.check_error("labels: expected [4]", function() return ce:forward(wb.zeros(4, 10), y) end)
  T.check_error("bad argument #1 to 'forward' (logits: expected a float32 tensor",
    function() return ce:forward(wb.new_tensor({2, 2}, "uint8"), wb.zeros(2)) end)
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

--{==================== Sequential ====================

T.test("summary: an object that prints as text and acts as its string", function()
  local m = nn.Sequential{nn.Dense(784, 128, {activation = "relu"}),
                          nn.Dense(128, 10, {activation = "softmax"})}
  local s = m:summary()
  local text = tostring(s)
  T.eq(type(text), "string")
  T.ok(text:find("^Model: \"sequential\"\n") and text:find("Total params: 101,770", 1, true),
    text)
  -- The REPL shows the text, not a quoted string with \n escapes.
  T.eq(require("wb.repl").format(s), text)
  -- What callers do with the string keeps working.
  T.ok(s:find("Total params: 101,770 (397.54 KB)", 1, true))
  T.eq(s:match("Trainable params: ([%d,]+)"), "101,770")
  T.eq(s:sub(1, 6), "Model:")
  T.eq("> " .. s, "> " .. text)
  T.eq(s .. "!", text .. "!")
  T.eq(#s, #text)
  T.eq(s.nonexistent_method, nil)
  -- print writes the text.
  local st, out = T.sh(T.wb .. [[ -e 'print(wb.nn.Sequential{wb.nn.Dense(2, 3)}:summary())']])
  T.eq(st, 0)
  T.ok(out:find("^Model: \"sequential\"\n") and out:find("Total params: 9 ", 1, true), out)
end)

T.test("fit: Keras's validation_data is validation; both is an error naming both", function()
  local x, y = wb.new_tensor({8, 4}, "uint8"), wb.new_tensor({8}, "uint8")
  for i = 1, 8 do y:set(i, i % 2); x:set(i, 1, 255 * (i % 2)) end
  local ds = wb.data.Dataset(x, y)
  local m = nn.Sequential{nn.Dense(4, 2, {activation = "softmax"})}
  local h = m:fit(ds, {epochs = 1, validation_data = ds:subset(1, 4), verbose = false})
  T.eq(#h.val_loss, 1, "validation_data gives a val_loss per epoch")
  T.check_error("fit: options 'validation_data' and 'validation' are the same " ..
    "(validation_data is Keras's name for validation); give one",
    function() m:fit(ds, {validation = ds, validation_data = ds, verbose = false}) end)
  local err = T.check_error("fit: unknown option 'validation_set'", function()
    m:fit(ds, {validation_set = ds, verbose = false}) end)
  T.ok(err:find("(valid: batch_size, ", 1, true)
    and err:find("; Keras names: validation_data = validation)", 1, true), err)
  T.ok(err:find("^tests/lua/test_nn.lua:%d+:"), "raised at the caller: " .. err)
end)

T.test("model:compile says where Keras's compile arguments go", function()
  local m = wb.nn.Sequential{wb.nn.Dense(4, 2, {activation = "softmax"})}
  local ok, err = pcall(m.compile, m, {optimizer = "adam", loss = "categorical_crossentropy"})
  T.ok(not ok)
  T.ok(tostring(err):find("give the optimizer and loss to fit", 1, true), err)
end)

T.test("a layer's shape error in a model names the layer and the shape, not 'bad argument to ?'",
    function()
  local m = wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}), wb.nn.Dense(8, 2)}
  local ok, err = pcall(m.predict, m, wb.zeros(3, 100))
  T.ok(not ok and wb.is_error(err), tostring(err))
  T.eq(err.code, "ESHAPE")
  T.eq(err.message, "layer 1 (Dense 784->8): input: expected [*, 784], got [3, 100]")
  local d = wb.nn.Dense(4, 2)
  local ok2, e2 = pcall(d.forward, d, wb.zeros(3, 5))
  T.ok(not ok2 and e2.reason == "input: expected [*, 4], got [3, 5]", tostring(e2.reason))
end)

T.test("evaluate and predict: verbose prints one line (Keras's option, never ignored)", function()
  local chunk = "local x = wb.zeros(6, 4); local y = wb.tensor({0, 1, 0, 1, 0, 1}, 'uint8'); "
    .. "local m = wb.nn.Sequential{wb.nn.Dense(4, 2, {activation = 'softmax'})}; "
    .. "m:evaluate(x, y, {verbose = 1}); m:evaluate(x, y, {verbose = 0}); "
    .. "m:predict(x, {verbose = true}); m:predict(x, {verbose = false})"
  local rc, out = T.sh(T.wb .. " -e \"" .. chunk .. "\"")
  T.eq(rc, 0, out)
  T.ok(out:match("^evaluate: 6 rows: loss [%d.]+, accuracy 0%.5000\npredict: 6 rows\n$"), out)
  local m = wb.nn.Sequential{wb.nn.Dense(4, 2)}
  T.check_error("evaluate: verbose must be true, false, 0 or 1, got 2", m.evaluate, m,
    wb.zeros(2, 4), wb.tensor({0, 1}, "uint8"), {verbose = 2})
  T.check_error("predict: verbose must be true, false, 0 or 1, got yes", m.predict, m,
    wb.zeros(2, 4), {verbose = "yes"})
end)

--}====================

T.done()