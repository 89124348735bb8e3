-- test_audit_data.lua: a trust audit of datasets, losses, evaluate, predict
-- and the statistics of wb.inference, by a researcher bringing their own
-- data and loss. Each defect test failed before its fix: a dataset over 2^24
-- rows read the wrong rows (float32 indices); subset(1, #ds / 2) called a
-- valid row out of range; float_images divided float images by 255 again;
-- float labels and a uint8 index to batch got messages naming no fix;
-- evaluate(ds, y) ignored y and evaluate(x, {labels}) blamed an "option
-- '1'"; predict on one sample [784] blamed the first layer's [784, 1];
-- categorical_crossentropy on a linear head divided logits by their sum
-- (Keras's from_logits = False on logits) while the default on the same
-- head took them as logits; the t quantile hung on a level out of (0, 1)
-- while welch and holm turned infinities and p > 1 into NaN verdicts.
-- Two tests check what was found right: predict in inference mode, and
-- evaluate's loss and accuracy (a partial last batch) and every loss's
-- gradients, L2 and a Lua loss included, against PyTorch in float64.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"

local function labels(n, c)
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 7) % c) end
  return y
end

local function mlp(seed, n_in, n_out, act, opts)
  wb.seed(seed)
  opts = opts or {}
  local layers = {wb.nn.Dense(n_in, 6, {activation = "relu", l2 = opts.l2})}
  if opts.dropout then layers[#layers + 1] = wb.nn.Dropout(opts.dropout) end
  layers[#layers + 1] = wb.nn.Dense(6, n_out, {activation = act or "softmax"})
  return wb.nn.Sequential(layers)
end

-- {==================== datasets ====================

T.test("a dataset over 2^24 rows is refused: float32 indices would read the wrong rows",
  function()
    local n = (1 << 24) + 1
    local x, y = wb.new_tensor({n, 1}, "uint8"), wb.new_tensor({n}, "uint8")
    T.check_error("mine: 16777217 rows, more than the 16777216 a dataset can hold",
      wb.data.Dataset, x, y, "mine")
    T.eq(wb.data.MAX_ROWS, 1 << 24)
    -- and predict's tensor path builds a dataset too
    local m = wb.nn.Sequential{wb.nn.Dense(1, 2, {activation = "softmax"})}
    T.check_error("16777217 rows, more than", function() m:predict(x) end)
  end)

T.test("subset takes integral floats (#ds / 2 is a float in Lua) as the integers", function()
  local ds = wb.data.Dataset(wb.zeros(10, 2), labels(10, 3), "d")
  local half = ds:subset(1, #ds / 2)
  T.eq(#half, 5)
  T.eq(half.name, "d[1:5]")
  T.eq(#ds:subset(3.0, 10), 8)
  -- audit W10: subset(64) for "the first 64 rows" took rows 64 to the end
  T.check_error("(last expected: subset(1, 64) is the first 64 rows", ds.subset,
    ds, 3)
  T.check_error("subset: rows 1..11 out of range 1..10", ds.subset, ds, 1, 11.0)
  T.check_error("number has no integer representation", ds.subset, ds, 1, 5.5)
end)

T.test("float_images is what batches hold, to the bit: uint8 divided by 255, float32 as is",
  function()
    local xf = wb.tensor{{0.5, 1}, {0.25, 0}}
    local df = wb.data.Dataset(xf, labels(2, 2))
    local got, batch = df:float_images(), df:batch({1, 2})
    T.eq((got - xf):abs():max(), 0)
    T.eq((got - batch):abs():max(), 0)
    local u = wb.new_tensor({2, 2}, "uint8"):fill(51)
    local du = wb.data.Dataset(u, labels(2, 2))
    T.eq((du:float_images() - du:batch({1, 2})):abs():max(), 0)
    T.near(du:float_images():get(1, 1), 0.2, 1e-7)
  end)

T.test("float labels (an int32 IDX file loads as float32) name the conversion", function()
  local y = wb.tensor{0, 1, 2}
  T.check_error('mine: labels must be uint8, got float32 (class ids as floats: '
    .. 'wb.new_tensor({3}, "uint8"):copy(labels))', wb.data.Dataset, wb.zeros(3, 2), y, "mine")
  local ds = wb.data.Dataset(wb.zeros(3, 2), wb.new_tensor({3}, "uint8"):copy(y))
  T.eq(ds.labels:get(3), 2)
end)

T.test("batch: a uint8 index names the argument and the conversion", function()
  local ds = wb.data.Dataset(wb.zeros(10, 2), labels(10, 3))
  T.check_error("bad argument #1 to 'batch' (perm: expected row numbers as a table or a float32 "
    .. "tensor, got uint8 [2]; perm:float() converts it)",
    function() ds:batch(wb.tensor({1, 2}, "uint8")) end)
  local _, y = ds:batch(wb.tensor({1, 2}, "uint8"):float())
  T.eq(y:get(2), labels(10, 3):get(2))
end)

-- }====================
-- {==================== evaluate and predict ====================

T.test("evaluate: y with a dataset is an error (it was ignored), a Lua list of labels too",
  function()
    local m = mlp(1, 3, 2)
    local ds = wb.data.Dataset(wb.rand(4, 3), labels(4, 2))
    local other = wb.new_tensor({4}, "uint8"):fill(1)
    T.check_error("evaluate: y given with a dataset, which has its labels",
      function() m:evaluate(ds, other) end)
    T.check_error("evaluate: y given with a dataset", function() m:evaluate(ds, other, {}) end)
    T.check_error('evaluate: y: expected labels uint8 [n] (a tensor), got a Lua list of 4 '
      .. 'values (wb.tensor(list, "uint8"))', function() m:evaluate(ds.images, {0, 1, 0, 1}) end)
    -- what still works: evaluate(ds), evaluate(ds, opts), evaluate(x, y, opts)
    local a = m:evaluate(ds).loss
    T.eq(m:evaluate(ds, {batch_size = 2}).loss, a)
    T.eq(m:evaluate(ds.images, ds.labels, {}).loss, a)
  end)

T.test("predict and evaluate on one sample without its row dimension name the fix", function()
  local m = mlp(1, 4, 3)
  local row = wb.rand(4)
  T.check_error("predict: x: expected rows [n, 4], got [4]: one sample is x:reshape(1, 4)",
    function() m:predict(row) end)
  T.check_error("predict: x: expected rows [n, 4], got [2, 2]: one sample is "
    .. "x:reshape(1, 4)", function() m:predict(row:reshape(2, 2)) end)
  T.check_error("evaluate: x: expected rows [n, 4], got [4]",
    function() m:evaluate(row, wb.new_tensor({4}, "uint8")) end)
  T.eq(m:predict(row:reshape(1, 4)):size(1), 1)
  T.eq(m:predict(row:reshape(1, 2, 2)):size(1), 1, "an image [1, h, w] is one sample")
  -- a model of one input takes a 1-D x as rows of one value, as before
  local m1 = mlp(1, 1, 2)
  T.eq(m1:predict(wb.tensor{1, 2, 3}):size(1), 3)
end)

-- Keras's example prepares x_train.astype("float32") / 255: a correctly
-- rounded quotient. Times fl(1/255) (as before) is 1 ulp off it for 126 of
-- the 256 values, so a float32 array prepared in Python and the same uint8
-- pixels trained apart. Every path a uint8 pixel takes to a float must give
-- numpy's quotient, to the bit.
T.test("uint8 pixels become numpy's float32(v) / 255 on every path (gather, "
  .. "float_images, Flatten, the Hessian's products)", function()
  local py = T.python_with("numpy")
  if not py then return T.missing("python3-numpy") end
  local st, out, err = T.sh(py .. [[ -c 'import numpy as np
print(" ".join(float(v).hex() for v in np.arange(256, dtype=np.uint8).astype("float32") / 255))']])
  T.eq(st, 0, err)
  local want = {}
  for h in out:gmatch("%S+") do want[#want + 1] = tonumber(h) end
  T.eq(#want, 256)
  local u = wb.new_tensor({1, 256}, "uint8")
  for v = 0, 255 do u:set(1, v + 1, v) end
  local ds = wb.data.Dataset(u, wb.new_tensor({1}, "uint8"))
  local paths = {batch = ds:batch({1}), float_images = ds:float_images(),
    flatten = wb.nn.Flatten():forward(u)}
  for name, x in pairs(paths) do
    local off = 0
    for v = 0, 255 do
      if x:get(1, v + 1) ~= want[v + 1] then off = off + 1 end
    end
    T.eq(off, 0, name .. ": values off numpy's quotient")
  end
  -- the Hessian reads uint8 rows itself: the same products as from the floats
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Flatten(), wb.nn.Dense(256, 3, {activation = "softmax"})}
  local y = wb.new_tensor({1}, "uint8")
  local v = m:get_weights()
  local h8 = wb.hessian.hvp(m, {x = u, y = y}, v)
  local hf = wb.hessian.hvp(m, {x = paths.batch, y = y}, v)
  for i = 1, #h8 do T.eq((h8[i] - hf[i]):abs():max(), 0, "hvp block " .. i) end
end)

T.test("predict after dropout is in inference mode; uint8 rows are the float rows / 255",
  function()
    local m = mlp(3, 4, 3, "softmax", {dropout = 0.5})
    local u = wb.new_tensor({3, 4}, "uint8")
    for i = 1, 3 do for j = 1, 4 do u:set(i, j, (i * 37 + j * 11) % 256) end end
    local x = u:float() / 255 -- as forward and the gather divide, to the bit
    local p1, p2 = m:predict(x), m:predict(x)
    T.eq((p1 - p2):abs():max(), 0)
    T.eq((p1 - m:forward(x, false)):abs():max(), 0)
    T.eq((m:predict(u) - p1):abs():max(), 0)
    T.eq((m:predict(x:rows(2, 2)) - p1:rows(2, 2)):abs():max(), 0)
  end)

-- }====================
-- {==================== losses ====================

T.test("categorical_crossentropy on a linear head (logits) is refused: the default takes them",
  function()
    local m = mlp(2, 3, 4, "linear")
    local x, y = wb.rand(5, 3), labels(5, 4)
    local want = "categorical_crossentropy takes the output as probabilities, but the last "
      .. "layer (Dense(6 -> 4, linear)) gives logits: use the default "
      .. "sparse_categorical_crossentropy"
    T.check_error("fit: " .. want, function()
      m:fit(x, y, {loss = "categorical_crossentropy", verbose = 0})
    end)
    T.check_error("evaluate: " .. want, function()
      m:evaluate(x, y, {loss = "categorical_crossentropy"})
    end)
    -- wb.losses' own function is the same loss: it trained on the
    -- meaningless number unrefused (tryG 3)
    T.check_error("fit: " .. want, function()
      m:fit(x, y, {loss = wb.losses.categorical_crossentropy, verbose = 0})
    end)
    T.check_error("evaluate: " .. want, function()
      m:evaluate(x, y, {loss = wb.losses.categorical_crossentropy})
    end)
    -- on a softmax head the function takes the probabilities, as the name
    local ms = mlp(2, 3, 4, "softmax")
    T.near(ms:evaluate(x, y, {loss = wb.losses.categorical_crossentropy}).loss,
      ms:evaluate(x, y, {loss = "categorical_crossentropy"}).loss, 1e-6)
    -- the default on the same head is the cross-entropy of softmax(output)
    local z, s = m:predict(x), 0
    for i = 1, 5 do
      local lse = 0
      for j = 1, 4 do lse = lse + math.exp(z:get(i, j)) end
      s = s + math.log(lse) - z:get(i, y:get(i) + 1)
    end
    T.near(m:evaluate(x, y).loss, s / 5, 1e-6)
    T.check_error("'linear': its output taken as logits), got Dense(6 -> 4, relu)", function()
      mlp(2, 3, 4, "relu"):evaluate(x, y)
    end)
  end)

-- }====================
-- {==================== wb.inference ====================

-- f(...) must raise matching pat within a budget of Lua instructions: a
-- hang fails the test instead of stopping the suite.
local function check_error_bounded(pat, f, ...)
  debug.sethook(function() error("no answer after 5e7 instructions (a hang)") end, "", 5e7)
  local ok, err = pcall(T.check_error, pat, f, ...)
  debug.sethook()
  if not ok then error(err, 2) end
end

T.test("t quantile and ci_half: a level out of (0, 1) or bad df is an error, not a hang",
  function()
    local inf = wb.inference
    check_error_bounded("bad argument #2 to 'ci_half' (confidence in (0, 1) expected, got 1.5)",
      inf.ci_half, {1, 2, 3}, 1.5)
    check_error_bounded("confidence in (0, 1) expected, got 0", inf.ci_half, {1, 2, 3}, 0)
    check_error_bounded("bad argument #1 to 't_quantile' (alpha in (0, 1) expected, got -0.1)",
      inf.t_quantile, -0.1, 2)
    check_error_bounded("bad argument #2 to 't_quantile' (degrees of freedom > 0 expected, "
      .. "got -1)", inf.t_quantile, 0.05, -1)
    check_error_bounded("degrees of freedom > 0 expected", inf.t_two_sided, 2, 0 / 0)
    check_error_bounded("bad argument #2 to 'holm' (alpha in (0, 1) expected, got 5)",
      inf.holm, {0.01}, 5)
    T.near(inf.t_quantile(0.05, 2), 4.30265, 1e-5)
  end)

T.test("welch refuses infinite values and holm p-values outside [0, 1] (NaN verdicts)",
  function()
    T.check_error("bad argument #1 to 'welch' (finite numbers expected, item 2 is inf)",
      wb.welch, {1, math.huge, 2}, {1, 2, 3})
    T.check_error("bad argument #2 to 'welch' (finite numbers expected, item 1 is -inf)",
      wb.welch, {1, 2}, {-math.huge, 2})
    T.check_error("bad argument #1 to 'holm' (numbers in [0, 1] expected, item 2 is 2)",
      wb.inference.holm, {0.01, 2})
    T.check_error("item 1 is -0.5", wb.inference.holm, {-0.5})
    T.eq(wb.inference.holm({0, 1})[1], true)
  end)

-- }====================
-- {==================== against PyTorch ====================

-- A hand-written mse (wb.losses.mse's arithmetic) as a Lua loss.
local function lua_mse(o, l)
  local t = wb.zeros(o:size(1), o:size(2))
  for i = 1, o:size(1) do t:set(i, l:get(i) + 1, 1) end
  local e = o - t
  return (e * e):sum() / o:numel(), e * (2 / o:numel())
end

local CASES = {
  {act = "softmax"}, {loss = "categorical_crossentropy", act = "softmax"},
  {loss = "categorical_crossentropy", act = "sigmoid"}, {loss = "mse", act = "linear"},
  {loss = "hinge", act = "tanh"}, {loss = "squared_hinge", act = "linear"},
  {loss = lua_mse, name = "lua", act = "sigmoid"},
}

-- 1001 rows: evaluate's batches of 500 end on a batch of one row, which a
-- mean over batches would weigh as much as the others.
local function against_torch(py)
  local n, d, c = 1001, 5, 4
  wb.seed(7)
  local x, y = wb.rand(n, d), labels(n, c)
  local input = {x = x:totable(), y = y:float():totable(), cases = {}}
  for k, cs in ipairs(CASES) do
    local m = mlp(k, d, c, cs.act, {l2 = 0.01})
    local e = m:evaluate(x, y, {loss = cs.loss})
    local lossf = wb.losses._get(cs.loss, m, "train", "fit") -- fit's own loss object
    m:zero_grad()
    lossf:value(m, x, y, true)
    lossf:backward(m, x)
    local ps, gs = m:parameters()
    local W, G = {}, {}
    for i = 1, #ps do W[i], G[i] = ps[i]:totable(), gs[i]:totable() end
    input.cases[k] = {loss = cs.name or cs.loss or "sparse", act = cs.act, W = W, G = G,
      loss_v = e.loss, acc = e.accuracy}
  end
  local dir = T.tmpdir()
  util.write_file(dir .. "/in.json", util.encode_json(input))
  util.write_file(dir .. "/p.py", [==[
import sys, json, torch
F = torch.nn.functional
f64 = torch.float64
D = json.load(open(sys.argv[1]))
x, y = torch.tensor(D["x"], dtype=f64), torch.tensor(D["y"], dtype=f64).long()
for c in D["cases"]:
    W1, b1, W2, b2 = [torch.tensor(w, dtype=f64, requires_grad=True) for w in c["W"]]
    z = torch.relu(x @ W1 + b1) @ W2 + b2
    o = {"softmax": lambda z: torch.softmax(z, 1), "sigmoid": torch.sigmoid,
         "tanh": torch.tanh, "linear": lambda z: z}[c["act"]](z)
    t, L = F.one_hot(y, z.shape[1]).to(f64), c["loss"]
    if L == "sparse" or L == "categorical_crossentropy" and c["act"] == "softmax":
        v = F.cross_entropy(z, y)
    elif L == "categorical_crossentropy":
        v = F.nll_loss(torch.log(torch.clamp(o / o.sum(1, keepdim=True), 1e-7, 1 - 1e-7)), y)
    elif L in ("mse", "lua"):
        v = ((o - t) ** 2).mean()
    else:
        a = torch.clamp(1 - (2 * t - 1) * o, min=0)
        v = (a if L == "hinge" else a ** 2).mean()
    v = v + 0.01 * (W1 ** 2).sum()
    v.backward()
    acc = (o.argmax(1) == y).to(f64).mean().item()
    g = max((p.grad - torch.tensor(G, dtype=f64)).abs().max().item()
            for p, G in zip([W1, b1, W2, b2], c["G"]))
    print("%s %.17g %.17g %.17g %.17g %.17g" % (L, c["loss_v"], v.item(), c["acc"], acc, g))
]==])
  local st, out, err = T.sh(py .. " " .. dir .. "/p.py " .. dir .. "/in.json")
  T.eq(st, 0, err)
  local k = 0
  for line in out:gmatch("[^\n]+") do
    k = k + 1
    local name, lv, tv, acc, tacc, g = line:match("^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$")
    T.ok(name, "python: " .. line)
    T.near(tonumber(lv), tonumber(tv), 1e-6 * math.max(1, math.abs(tonumber(tv))),
      name .. ": evaluate's loss")
    T.near(tonumber(acc), tonumber(tacc), 1e-12, name .. ": evaluate's accuracy")
    T.ok(tonumber(g) < 1e-6, name .. ": gradient max difference " .. g)
  end
  T.eq(k, #CASES, out)
end

local TORCH = "evaluate (a partial last batch) and each loss's gradients equal PyTorch float64"
local py = "/usr/bin/python3"
if os.execute(py .. " -c 'import torch' 2>/dev/null") then
  T.test(TORCH, function() against_torch(py) end)
else T.test(TORCH, function() T.missing("python3-torch") end) end

-- }====================

T.done()
