-- test_audit_numerics.lua: whole trainings against PyTorch float64 with
-- Keras 3's semantics (tests/fixtures/audit_numerics_ref.py): every hidden
-- activation, every loss, every optimizer (SGD plain, momentum, Nesterov;
-- Adam; AdamW; RMSprop), L2 on and off, Dropout (its masks read back from
-- the generator), LearningRateScheduler and ReduceLROnPlateau, batches that
-- leave a partial last one, a layer without bias and an Activation layer.
-- Each case runs fit for 6 steps (7 rows in batches of 4 over 3 epochs; a
-- wide sparse input in batches of 16) from the same initial weights; the weights after every step, each step's
-- loss and lr, the epoch history (val too) and evaluate must agree.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"

local PY = T.python_with("torch")
local ACTS = {"linear", "relu", "tanh", "softsign", "gelu", "gelu_tanh", "sigmoid", "elu",
  "selu", "swish", "softmax"}
local OPTS = {
  {name = "sgd", lr = 0.3},
  {name = "sgd", lr = 0.2, momentum = 0.9},
  {name = "sgd", lr = 0.2, momentum = 0.8, nesterov = true},
  {name = "adam", lr = 0.02},
  {name = "adam", lr = 0.01, beta1 = 0.8, beta2 = 0.99, eps = 1e-4},
  {name = "adamw", lr = 0.02, weight_decay = 0.1},
  {name = "rmsprop", lr = 0.01},
  {name = "rmsprop", lr = 0.005, rho = 0.8, eps = 1e-3},
}
-- loss, head activation: the default loss on a softmax head and on logits;
-- categorical_crossentropy fused (softmax) and clipped (sigmoid); mse on
-- three heads; the hinges on a linear and a tanh head
local LOSSES = {
  {"sparse_categorical_crossentropy", "softmax"}, {"sparse_categorical_crossentropy", "linear"},
  {"categorical_crossentropy", "softmax"}, {"categorical_crossentropy", "sigmoid"},
  {"mse", "softmax"}, {"mse", "linear"}, {"mse", "sigmoid"}, {"hinge", "linear"},
  {"squared_hinge", "tanh"},
}

-- {==================== the workbench's side ====================

local function flat(t) return t:reshape(t:numel()):totable() end

-- A case: act (hidden), head, loss, opt, l2 (on/off), dropout (a rate or
-- nil), sched (nil, "scheduler", "plateau"), deep (an Activation layer and
-- a Dense without bias), seed.
local function build(c)
  wb.seed(c.seed)
  local l2 = c.l2 and 0.01 or 0
  local spec, layers = {}, {}
  local function dense(n_in, n_out, act, bias, l)
    layers[#layers + 1] = wb.nn.Dense(n_in, n_out, {activation = act, bias = bias, l2 = l})
    spec[#spec + 1] = {kind = "dense", act = act, bias = bias, l2 = l}
  end
  local n_in, hid, classes = table.unpack(c.dims or {5, 4, 3})
  dense(n_in, hid, c.act, true, l2)
  if c.dropout then
    layers[#layers + 1] = wb.nn.Dropout(c.dropout)
    spec[#spec + 1] = {kind = "dropout", rate = c.dropout}
  end
  if c.deep then
    dense(hid, hid, "linear", false, l2 / 2)
    layers[#layers + 1] = wb.nn.Activation(c.deep)
    spec[#spec + 1] = {kind = "act", act = c.deep}
  end
  dense(hid, classes, c.head, true, l2 * 2)
  return wb.nn.Sequential(layers), spec
end

local function labels(n, seed, classes)
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 7 + seed) % classes) end
  return y
end

local function optimizer(o)
  local opts = {}
  for k, v in pairs(o) do if k ~= "name" then opts[k] = v end end
  return wb.optim.new(o.name, opts)
end

-- Runs the case in the workbench; returns what it saw and the JSON line for
-- the reference.
local function run(c)
  local model, spec = build(c)
  wb.seed(100 + c.seed)
  local n_in, hid, classes = table.unpack(c.dims or {5, 4, 3})
  local n, bs, epochs = c.n or 7, c.batch or 4, c.epochs or 3
  local x, vx = wb.randn(n, n_in), wb.randn(4, n_in)
  if c.sparse then -- MNIST's kind of input: pixels in [0, 1], 3 in 4 zero
    x, vx = wb.rand(n, n_in), wb.rand(4, n_in)
    for _, t in ipairs{x, vx} do
      for i = 1, #t do for j = 1, n_in do
        if (i * 31 + j * 7) % 4 ~= 0 then t:set(i, j, 0) end
      end end
    end
  end
  local y, vy = labels(n, c.seed, classes), labels(4, c.seed + 1, classes)
  local w0 = {}
  for i, w in ipairs(model:get_weights()) do w0[i] = w:totable() end
  local drop = c.dropout and model[2]
  local got = {w = {}, loss = {}, lr = {}}
  local masks, saved = {}, nil
  local rec = wb.callbacks.Lambda{
    on_train_batch_begin = function() saved = wb.rng_state() end,
    on_train_batch_end = function(step, logs)
      local ws = {}
      for i, w in ipairs(model:get_weights()) do ws[i] = flat(w) end
      got.w[step], got.loss[step], got.lr[step] = ws, logs.loss, logs.lr
      masks[step] = {}
      if drop then -- the step's mask: its draw again, from the state before it
        local after = wb.rng_state()
        wb.set_rng_state(saved)
        local m = flat(drop:forward(wb.ones(logs.batch_size, hid), true))
        wb.set_rng_state(after)
        local keep = 1 / (1 - c.dropout)
        for i, v in ipairs(m) do
          T.ok(v == 0 or math.abs(v - keep) < 1e-6 * keep, "mask value " .. v)
          m[i] = v == 0 and 0 or 1
        end
        masks[step][1] = m
      end
    end}
  local cbs, sched = {rec}, nil
  if c.sched == "scheduler" then
    cbs[2] = wb.callbacks.LearningRateScheduler(function(epoch, lr)
      return epoch == 1 and lr or lr * 0.5 end)
    sched = {kind = "scheduler", factor = 0.5}
  elseif c.sched == "plateau" then
    -- min_delta 10: the first epoch improves on inf, no later one does
    cbs[2] = wb.callbacks.ReduceLROnPlateau{monitor = "val_loss", factor = 0.3, patience = 1,
      min_delta = 10, min_lr = 0}
    sched = {kind = "plateau", monitor = "val_loss", factor = 0.3, patience = 1,
      min_delta = 10, min_lr = 0}
  end
  local h = model:fit(x, y, {epochs = epochs, batch_size = bs, shuffle = false, verbose = false,
    optimizer = optimizer(c.opt), loss = c.loss, callbacks = cbs,
    validation = wb.data.Dataset(vx, vy, "val")})
  got.h_loss, got.h_acc, got.val_loss, got.val_acc = h.loss, h.accuracy, h.val_loss,
    h.val_accuracy
  local e = model:evaluate(x, y, {loss = c.loss, batch_size = 3})
  got.eval = {e.loss, e.accuracy}
  local line = cjson.encode{spec = spec, x = x:totable(), y = flat(y:float()),
    val_x = vx:totable(), val_y = flat(vy:float()), w0 = w0, masks = masks, opt = c.opt,
    loss = c.loss, batch = bs, epochs = epochs, sched = sched}
  return got, line
end

-- }====================
-- {==================== the cases ====================

local CASES = {}
local function add(c)
  c.seed = #CASES + 1
  c.name = string.format("%s, %s head, %s, %s%s%s%s%s", c.act, c.head, c.loss, c.opt.name,
    c.opt.momentum and (c.opt.nesterov and " nesterov" or " momentum") or "",
    c.l2 and ", l2" or "", c.dropout and ", dropout" or "", c.sched and ", " .. c.sched or "")
  CASES[#CASES + 1] = c
end
-- every hidden activation with every optimizer (default loss, softmax head),
-- L2, dropout and the schedules taking turns
for i, a in ipairs(ACTS) do
  for j, o in ipairs(OPTS) do
    local k = i + j
    add{act = a, head = "softmax", loss = "sparse_categorical_crossentropy", opt = o,
      l2 = k % 2 == 0, dropout = k % 3 == 0 and 0.4 or nil,
      sched = ({nil, "scheduler", "plateau"})[k % 3 + 1]}
  end
end
-- every loss (with its heads) with every optimizer, hidden activations taking turns
for i, l in ipairs(LOSSES) do
  for j, o in ipairs(OPTS) do
    local k = i * 3 + j
    add{act = ACTS[k % #ACTS + 1], head = l[2], loss = l[1], opt = o, l2 = k % 2 == 1,
      dropout = k % 4 == 0 and 0.25 or nil, sched = ({nil, "plateau", "scheduler"})[k % 3 + 1],
      deep = k % 5 == 0 and ACTS[(k + 3) % #ACTS + 1] or nil}
  end
end

-- MNIST-like wide input (300 features, 3 in 4 zero) into 20 units: the
-- Dense's sparse products, BLAS and the optimizers' vector loops; 37 rows in
-- batches of 16 (16, 16, 5) over 2 epochs, each optimizer
for j, o in ipairs(OPTS) do
  add{act = ACTS[j * 2 % #ACTS + 1], head = j % 3 == 0 and "linear" or "softmax",
    loss = j % 4 == 0 and "mse" or "sparse_categorical_crossentropy", opt = o, l2 = j % 2 == 0,
    dropout = j % 3 == 1 and 0.2 or nil, sched = ({nil, "scheduler", "plateau"})[j % 3 + 1],
    dims = {300, 20, 10}, n = 37, batch = 16, epochs = 2, sparse = true}
end

-- }====================
-- {==================== the comparison ====================

-- max over entries of |a - b| / max(|b|-scale of the tensor, 1)
local function rel_tensor(a, b)
  local scale, d = 1, 0
  for i = 1, #b do scale = math.max(scale, math.abs(b[i])) end
  T.eq(#a, #b, "tensor sizes")
  for i = 1, #b do d = math.max(d, math.abs(a[i] - b[i])) end
  return d / scale
end
local function rel(a, b) return math.abs(a - b) / math.max(1, math.abs(b)) end

-- float32 against float64: a few ulps (6e-8) per operation over six steps
-- of small models; 1e-5 leaves room for Adam's division by sqrt(v)
local TOL = 1e-5

local worst = {0, ""}
local function compare(c, got, want, bad)
  local function check(what, e)
    if e > worst[1] then worst[1], worst[2] = e, c.name .. ": " .. what end
    if not (e <= TOL) then bad[#bad + 1] = string.format("%s: %s off by %.3g", c.name, what, e) end
  end
  T.eq(#got.w, #want.w, c.name .. ": steps")
  for s = 1, #want.w do
    for i = 1, #want.w[s] do check(("step %d weight %d"):format(s, i),
      rel_tensor(got.w[s][i], want.w[s][i])) end
    check(("step %d loss"):format(s), rel(got.loss[s], want.loss[s]))
    check(("step %d lr"):format(s), rel(got.lr[s], want.lr[s]))
  end
  for e = 1, #want.h_loss do
    check(("epoch %d loss"):format(e), rel(got.h_loss[e], want.h_loss[e]))
    check(("epoch %d val_loss"):format(e), rel(got.val_loss[e], want.val_loss[e]))
    check(("epoch %d accuracy"):format(e), math.abs(got.h_acc[e] - want.h_acc[e]))
    check(("epoch %d val_accuracy"):format(e), math.abs(got.val_acc[e] - want.val_acc[e]))
  end
  check("evaluate's loss", rel(got.eval[1], want.eval[1]))
  check("evaluate's accuracy", math.abs(got.eval[2] - want.eval[2]))
end

local NAME = "fit's weights after each of 6 steps, losses, lr and history equal PyTorch "
  .. "float64 with Keras's arithmetic, over every activation, loss and optimizer"
T.test(NAME, function()
  if not PY then T.missing("python3-torch") end
  local lines, gots = {}, {}
  for k, c in ipairs(CASES) do gots[k], lines[k] = run(c) end
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/cases.jsonl", "w"))
  f:write(table.concat(lines, "\n"), "\n"); f:close()
  local st, out, err = T.sh(PY .. " tests/fixtures/audit_numerics_ref.py " .. dir
    .. "/cases.jsonl")
  T.eq(st, 0, err)
  local bad, n = {}, 0
  for line in out:gmatch("[^\n]+") do
    n = n + 1
    compare(CASES[n], gots[n], cjson.decode(line), bad)
  end
  T.eq(n, #CASES, "reference lines")
  io.write(string.format("# %d cases; largest difference %.3g (%s)\n", n, worst[1], worst[2]))
  T.ok(#bad == 0, #bad .. " differences:\n" .. table.concat(bad, "\n", 1, math.min(#bad, 30)))
end)

-- }====================

T.done()
