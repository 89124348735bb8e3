-- test_audit_keras_python.lua: the Keras audit's guards against
-- independent implementations in Python (numpy float64; Keras 3's callback
-- logic transcribed from keras/src/callbacks): checked and found right, kept
-- so that a change which breaks Keras's semantics fails here.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"

local py = T.python_with("numpy")

-- The output of python script `src` run on `json` (a file each in a fresh
-- folder), decoded.
local function run_py(src, json)
  local dir = T.tmpdir()
  local f = io.open(dir .. "/ref.py", "w"); f:write(src); f:close()
  f = io.open(dir .. "/in.json", "w"); f:write(json); f:close()
  local st, out, err = T.sh(py .. " " .. dir .. "/ref.py " .. dir .. "/in.json")
  T.eq(st, 0, err)
  return cjson.decode(out)
end

-- {==================== fit against Keras's arithmetic ====================

-- Checked and found right (a guard, not a defect): one fit, Keras's
-- semantics redone in numpy float64: validation_split's tail of
-- floor(N (1 - v)) rows, the last partial batch, the batch-size weighted
-- running mean of the loss with the L2 penalty (at the step's weights),
-- val_loss at the epoch's end with the penalty, Adam's eps-hat and bias
-- correction, SGD's Nesterov momentum, evaluate.
local REF = [==[
import json, math, sys
import numpy as np
d = json.load(open(sys.argv[1])); kind = d['kind']
X = np.array(d['x'], dtype=np.float64); y = np.array(d['y']).astype(int)
P = [np.array(w, dtype=np.float64) for w in d['w0']]; l2 = [1e-3, 0, 2e-3, 0]
n = len(X); ntr = math.floor(n * (1 - 0.25))  # 67.5 -> 67
def fwd(P, X):
    h = np.tanh(X @ P[0] + P[1]); z = h @ P[2] + P[3]
    p = np.exp(z - z.max(1, keepdims=True)); return h, p / p.sum(1, keepdims=True)
def reg(P): return sum(l * (w ** 2).sum() for l, w in zip(l2, P))
def score(P, X, y):
    p = fwd(P, X)[1]
    return -np.log(p[np.arange(len(y)), y]).mean() + reg(P), (p.argmax(1) == y).mean()
m = [np.zeros_like(w) for w in P]; v = [np.zeros_like(w) for w in P]; t = 0; lr = 0.05
out = {'loss': [], 'accuracy': [], 'val_loss': [], 'val_accuracy': []}
for ep in range(3):
    ls = cs = seen = 0
    for s in range(0, ntr, 16):
        xb, yb = X[s:min(s + 16, ntr)], y[s:min(s + 16, ntr)]; B = len(yb)
        h, p = fwd(P, xb)
        ls += (-np.log(p[np.arange(B), yb]).mean() + reg(P)) * B
        cs += (p.argmax(1) == yb).sum(); seen += B
        dz = p.copy(); dz[np.arange(B), yb] -= 1; dz /= B
        dh = dz @ P[2].T * (1 - h ** 2)
        g = [xb.T @ dh + 2 * l2[0] * P[0], dh.sum(0), h.T @ dz + 2 * l2[2] * P[2], dz.sum(0)]
        t += 1
        for i in range(4):
            if kind == 'adam':
                m[i] += (g[i] - m[i]) * 0.1; v[i] += (g[i] ** 2 - v[i]) * 0.001
                a = lr * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
                P[i] = P[i] - m[i] * a / (np.sqrt(v[i]) + 1e-7)
            else:
                m[i] = 0.9 * m[i] - lr * g[i]; P[i] = P[i] + 0.9 * m[i] - lr * g[i]
    out['loss'].append(ls / seen); out['accuracy'].append(cs / seen)
    vl, va = score(P, X[ntr:], y[ntr:]); out['val_loss'].append(vl); out['val_accuracy'].append(va)
worst = max(abs(a - b) for k in out for a, b in zip(out[k], d[k]))
wdiff = max(np.abs(a - np.array(b)).max() for a, b in zip(P, d['w1']))
el, ea = score(P, X, y)
print(json.dumps({'history': worst, 'weights': wdiff, 'evaluate': max(abs(el - d['ev_loss']),
    abs(ea - d['ev_accuracy']))}))
]==]

local function keras_fit(kind)
  local data = T.synthetic(4242, 90, 8)
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(8, 12, {activation = "tanh", l2 = 1e-3}),
    wb.nn.Dense(12, 3, {activation = "softmax", l2 = 2e-3})}
  local w0 = {}
  for i, p in ipairs(m:get_weights()) do w0[i] = p:totable() end
  local opt = kind == "adam" and wb.optim.Adam{lr = 0.05}
    or wb.optim.SGD{lr = 0.05, momentum = 0.9, nesterov = true}
  local h = m:fit(data, {epochs = 3, batch_size = 16, validation_split = 0.25, shuffle = false,
    optimizer = opt, verbose = false})
  T.eq(#h.loss, 3)
  local w1 = {}
  for i, p in ipairs(m:get_weights()) do w1[i] = p:totable() end
  local ev = m:evaluate(data)
  return cjson.encode{kind = kind, x = data.images:totable(), y = data.labels:float():totable(),
    w0 = w0, w1 = w1, loss = h.loss, accuracy = h.accuracy, val_loss = h.val_loss,
    val_accuracy = h.val_accuracy, ev_loss = ev.loss, ev_accuracy = ev.accuracy}
end

T.test("numpy float64: fit's history, weights and evaluate follow Keras's arithmetic",
  function()
  if not py then T.missing("python3-numpy") end
  for _, kind in ipairs{"adam", "sgd"} do
    local r = run_py(REF, keras_fit(kind))
    -- float32 against float64 over 15 steps
    T.ok(r.history < 1e-6, kind .. ": history differs by " .. r.history)
    T.ok(r.weights < 1e-5, kind .. ": weights differ by " .. r.weights)
    T.ok(r.evaluate < 1e-6, kind .. ": evaluate differs by " .. r.evaluate)
  end
end)

-- }====================

-- {==================== the monitoring callbacks against Keras's code ====================

-- Keras 3's EarlyStopping.on_epoch_end/on_train_end and ReduceLROnPlateau.on_epoch_end
-- (keras/src/callbacks), transcribed: epochs from 0 inside, printed from 1.
local CALLBACKS = [==[
import json, math, sys
import numpy as np
cases = json.load(open(sys.argv[1])); bad = []
for i, c in enumerate(cases):
    es, vals = c['es'], c['vals']
    less = es['mode'] == 'min' or (es['mode'] == 'auto' and
        es['monitor'].removeprefix('val_') == 'loss')  # accuracy's direction: up
    op = (lambda a, b: a < b) if less else (lambda a, b: a > b)
    min_delta = abs(es['min_delta']) * (-1 if less else 1)
    imp = lambda cur, ref: op(cur - min_delta, ref)
    best = math.inf if less else -math.inf
    wait = 0; best_w = None; stop = None; w = None
    for e, cur in enumerate(vals):
        w = e + 1  # the weights of this epoch
        if e < es['start_from_epoch']: continue
        if es['restore_best_weights'] and best_w is None: best_w = w
        wait += 1
        if imp(cur, best):
            best = cur
            if es['restore_best_weights']: best_w = w
            if es.get('baseline') is None or imp(cur, es['baseline']): wait = 0
            continue
        if wait >= es['patience'] and e > 0:
            stop = e + 1; break
    restored = best_w if (es['restore_best_weights'] and best_w is not None) else w
    if (c['stop'] or None, c['restored']) != (stop, restored):
        bad.append(['EarlyStopping', i, c['stop'], c['restored'], stop, restored])
    rl = c['rl']; lr = 1.0; md = rl['min_delta']
    if rl['mode'] == 'min' or (rl['mode'] == 'auto' and 'acc' not in rl['monitor']):
        better = lambda a, b: a < b - md; rbest = math.inf
    else:
        better = lambda a, b: a > b + md; rbest = -math.inf
    cd = 0; rw = 0; lrs = []
    for cur in vals:
        if cd > 0: cd -= 1; rw = 0
        if better(cur, rbest): rbest = cur; rw = 0
        elif not cd > 0:
            rw += 1
            if rw >= rl['patience'] and lr > np.float32(rl['min_lr']):
                lr = max(lr * rl['factor'], rl['min_lr']); cd = rl['cooldown']; rw = 0
        lrs.append(lr)
    if any(abs(a - b) > 1e-12 for a, b in zip(lrs, c['lrs'])):
        bad.append(['ReduceLROnPlateau', i, c['lrs'], lrs])
print(json.dumps({'cases': len(cases), 'bad': bad[:5], 'n_bad': len(bad)}))
]==]

-- 300 random monitor sequences (values on a grid of 1/8: ties), each with
-- random options, through both callbacks: where EarlyStopping stops and
-- which epoch's weights it restores (the first weight holds the epoch),
-- and ReduceLROnPlateau's lr after every epoch.
local function callback_cases()
  local s = 12345
  local function rnd() s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 end
  local cases = {}
  for c = 1, 300 do
    local mode = ({"auto", "min", "max"})[1 + math.floor(rnd() * 3)]
    local monitor = rnd() < 0.5 and "val_loss" or "val_accuracy"
    local vals = {}
    local n = 6 + math.floor(rnd() * 12)
    for e = 1, n do vals[e] = math.floor(rnd() * 8) / 8 end
    local es = {monitor = monitor, mode = mode, patience = math.floor(rnd() * 4),
      min_delta = rnd() < 0.5 and 0 or (rnd() < 0.5 and 0.125 or -0.2),
      baseline = rnd() < 0.3 and math.floor(rnd() * 8) / 8 or nil,
      start_from_epoch = rnd() < 0.3 and math.floor(rnd() * 4) or 0,
      restore_best_weights = rnd() < 0.7}
    local rl = {monitor = monitor, mode = mode, factor = 0.5, patience = math.floor(rnd() * 4),
      min_delta = rnd() < 0.5 and 0 or 0.1, cooldown = math.floor(rnd() * 3),
      min_lr = rnd() < 0.5 and 0 or 0.1}
    local model = T.tiny_mlp(1)
    local p = model:parameters()[1]
    local cb = wb.callbacks.EarlyStopping(es)
    cb:on_train_begin(model)
    local stop
    for e = 1, n do
      p:set(1, 1, e)
      model.stop_training = false
      cb:on_epoch_end(e, {[monitor] = vals[e]})
      if model.stop_training then stop = e; break end
    end
    model.history = {stopped_epoch = stop}
    cb:on_train_end()
    local m2 = T.tiny_mlp(1)
    m2.optimizer = wb.optim.SGD{lr = 1}
    local r = wb.callbacks.ReduceLROnPlateau(rl)
    r:on_train_begin(m2)
    local lrs = {}
    for e = 1, n do r:on_epoch_end(e, {[monitor] = vals[e]}); lrs[e] = m2.optimizer.lr end
    cases[c] = {vals = vals, es = es, rl = rl, stop = stop or 0, restored = p:get(1, 1),
      lrs = lrs}
  end
  return cjson.encode(cases)
end

T.test("EarlyStopping and ReduceLROnPlateau decide as Keras 3's code on 300 sequences",
  function()
  if not py then T.missing("python3-numpy") end
  local r = run_py(CALLBACKS, callback_cases())
  T.eq(r.cases, 300)
  T.ok(r.n_bad == 0, string.format("%d differ, e.g. %s", r.n_bad, cjson.encode(r.bad)))
end)

-- }====================

T.done()
