-- test_audit_numerics2.lua: the numbers around training against Keras's
-- semantics and PyTorch float64: accuracy on ties (the argmax of the
-- model's output, first maximum, as Keras's sparse_categorical_accuracy),
-- predict and evaluate over a partial last batch with Dropout off, and
-- H v on a linear head (logits) under the default cross-entropy, which the
-- Hessian tests against PyTorch leave out.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"

local PY = T.python_with("torch")

local function flat(t) return t:reshape(t:numel()):totable() end
local function ids(list) return wb.tensor(list, "uint8") end

-- {==================== accuracy on ties ====================

-- Defect (fixed): the default loss counted fit's and evaluate's accuracy on
-- the softmax head's logits. Logits 0 and 1e-9 are probabilities 0.5 and
-- 0.5 in float32: Keras (argmax of the output, the first maximum) and
-- predict say class 0, and so did evaluate{loss = "mse"}; the default loss
-- said class 1, so the same model scored 0 or 1 by the loss chosen.
local function near_tie(act)
  local m = wb.nn.Sequential{wb.nn.Dense(1, 2, {activation = act, init = "zeros"})}
  m[1].weight:set(1, 2, 1e-9)
  return m, wb.ones(3, 1)
end

T.test("accuracy of a softmax head is the argmax of its probabilities (near-tied logits: "
  .. "the first class, as Keras and predict)", function()
  local m, x = near_tie("softmax")
  local y = ids{0, 0, 0}
  local p = m:predict(x)
  T.eq(p:get(1, 1), p:get(1, 2), "equal probabilities")
  T.eq(p:argmax(2):get(1), 1, "predict's argmax: the first column")
  for _, loss in ipairs{"sparse_categorical_crossentropy", "categorical_crossentropy", "mse"} do
    T.eq(m:evaluate(x, y, {loss = loss}).accuracy, 1, loss)
  end
  local h = m:fit(x, y, {epochs = 1, verbose = false, optimizer = wb.optim.SGD{lr = 0},
    validation = wb.data.Dataset(x, y, "v")})
  T.eq(h.accuracy[1], 1, "fit's accuracy")
  T.eq(h.val_accuracy[1], 1, "fit's val_accuracy")
  local loss, acc = wb.measures.loss_and_grads(m, x, y)
  T.eq(acc, 1, "measures.loss_and_grads")
  T.ok(loss == loss, "its loss")
end)

T.test("accuracy of a linear head is the argmax of its logits (Keras's output there)",
  function()
  local m, x = near_tie("linear")
  T.eq(m:evaluate(x, ids{1, 1, 1}).accuracy, 1, "logit 1e-9 beats 0")
  T.eq(m:predict(x):argmax(2):get(1), 2)
end)

T.test("exact ties: the first maximum, whichever loss (tf.argmax, numpy's argmax)", function()
  for _, act in ipairs{"softmax", "linear", "sigmoid"} do
    local m = wb.nn.Sequential{wb.nn.Dense(2, 3, {activation = act, init = "zeros"})}
    local x, y = wb.rand(5, 2), ids{0, 1, 2, 0, 1}
    for _, loss in ipairs{"sparse_categorical_crossentropy", "mse", "hinge"} do
      if not (act == "sigmoid" and loss == "sparse_categorical_crossentropy") then
        T.near(m:evaluate(x, y, {loss = loss}).accuracy, 2 / 5, 1e-12, act .. " " .. loss)
      end
    end
  end
end)

T.test("SparseCrossEntropy:forward's scores: counted on them, checked", function()
  local ce = wb.nn.SparseCrossEntropy()
  local z, y = wb.tensor{{0, 1}, {2, 1}}, wb.tensor{0, 0}
  local l1, c1 = ce:forward(z, y)
  local l2, c2 = ce:forward(z, y, wb.tensor{{1, 0}, {0.5, 0.5}})
  T.eq(c1, 1); T.eq(c2, 2); T.eq(l1, l2, "the loss is the logits'")
  T.check_error("bad argument #3 to 'forward' (scores: expected float32 [2, 2] (the logits' "
    .. "shape), got float32 [2, 3])", function() return ce:forward(z, y, wb.zeros(2, 3)) end)
  T.check_error("scores: expected float32 [2, 2] (the logits' shape), got uint8 [2, 2]",
    ce.forward, ce, z, y, wb.new_tensor({2, 2}, "uint8"))
end)

-- }====================
-- {==================== predict, evaluate, H v against PyTorch ====================

local REF = [==[
import json, sys, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
A = {"relu": F.relu, "tanh": torch.tanh, "softsign": F.softsign, "gelu": F.gelu,
     "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"), "sigmoid": torch.sigmoid,
     "elu": F.elu, "selu": F.selu, "swish": F.silu, "linear": lambda z: z,
     "softmax": lambda z: torch.softmax(z, 1)}
for line in open(sys.argv[1]):
    c = json.loads(line)
    p = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in c["w"]]
    x = torch.tensor(c["x"], dtype=torch.float64); y = torch.tensor(c["y"]).long()
    # Dense(act, l2) -> Dropout (off) -> Dense without bias, linear (l2/2) -> Dense(head)
    h = A[c["act"]](x @ p[0] + p[1]) @ p[2]
    z = h @ p[3] + p[4]
    o = A[c["head"]](z)
    loss = F.cross_entropy(z, y) + c["l2"] * ((p[0] ** 2).sum() + (p[2] ** 2).sum() / 2
                                            + 2 * (p[3] ** 2).sum())
    g = torch.autograd.grad(loss, p, create_graph=True)
    v = [torch.tensor(t, dtype=torch.float64) for t in c["v"]]
    hv = torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), p)
    acc = (o.argmax(1) == y).double().mean().item()
    print(json.dumps({"pred": o.detach().reshape(-1).tolist(), "loss": loss.item(),
        "acc": acc, "hv": torch.cat([t.reshape(-1) for t in hv]).tolist()}))
]==]

local ACTS = {"relu", "tanh", "softsign", "gelu", "gelu_tanh", "sigmoid", "elu", "selu", "swish",
  "linear"}

-- |a - b| / |b| over whole lists
local function rel(a, b)
  local d, s = 0, 0
  T.eq(#a, #b, "lengths")
  for i = 1, #b do d, s = d + (a[i] - b[i]) ^ 2, s + b[i] ^ 2 end
  return math.sqrt(d / math.max(s, 1e-300))
end

local NAME = "predict and evaluate over 1001 rows (a last batch of one, Dropout off) and H v "
  .. "on a linear or softmax head under cross-entropy with L2 equal PyTorch float64"
T.test(NAME, function()
  if not PY then T.missing("python3-torch") end
  local lines, got = {}, {}
  local n = 1001
  for k, act in ipairs(ACTS) do
    local head = k % 2 == 0 and "linear" or "softmax"
    wb.seed(k)
    local l2 = 0.01
    local m = wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = act, l2 = l2}),
      wb.nn.Dropout(0.5), wb.nn.Dense(5, 4, {bias = false, l2 = l2 / 2}),
      wb.nn.Dense(4, 3, {activation = head, l2 = 2 * l2})}
    local x, y = wb.randn(n, 6), wb.new_tensor({n}, "uint8")
    for i = 1, n do y:set(i, (i * 5 + k) % 3) end
    local v, w = {}, {}
    for i, p in ipairs(m:get_weights()) do
      v[i], w[i] = wb.randn(table.unpack(p:shape())), p:totable()
    end
    local hv = {}
    for _, t in ipairs(wb.hessian.hvp(m, {x = x, y = y}, v, {precision = "float64"})) do
      for _, e in ipairs(flat(t)) do hv[#hv + 1] = e end
    end
    local e = m:evaluate(x, y, {batch_size = 500})
    got[k] = {act = act, head = head, pred = flat(m:predict(x, {batch_size = 500})),
      loss = e.loss, acc = e.accuracy, hv = hv}
    local vt = {}
    for i, t in ipairs(v) do vt[i] = t:totable() end
    lines[k] = cjson.encode{act = act, head = head, l2 = l2, w = w, x = x:totable(),
      y = flat(y:float()), v = vt}
  end
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/in.jsonl", "w"))
  f:write(table.concat(lines, "\n"), "\n"); f:close()
  f = assert(io.open(dir .. "/ref.py", "w")); f:write(REF); f:close()
  local st, out, err = T.sh(PY .. " " .. dir .. "/ref.py " .. dir .. "/in.jsonl")
  T.eq(st, 0, err)
  local k = 0
  for line in out:gmatch("[^\n]+") do
    k = k + 1
    local want, g = cjson.decode(line), got[k]
    local what = g.act .. ", " .. g.head .. " head: "
    T.ok(rel(g.pred, want.pred) < 1e-6, what .. "predict differs by " .. rel(g.pred, want.pred))
    T.near(g.loss, want.loss, 1e-6 * math.max(1, math.abs(want.loss)), what .. "evaluate's loss")
    T.near(g.acc, want.acc, 1e-12, what .. "evaluate's accuracy")
    T.ok(rel(g.hv, want.hv) < 1e-6, what .. "H v differs by " .. rel(g.hv, want.hv))
  end
  T.eq(k, #ACTS, out)
end)

-- }====================

T.done()
