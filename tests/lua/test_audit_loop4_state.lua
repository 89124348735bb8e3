-- test_audit_loop4_state.lua: test_audit_loop4.lua's guards on the training
-- state (the file was over 400 lines): the state file read in Python (every
-- weight and optimizer buffer against wb's bits, the buffers against
-- PyTorch's step, as save_state's help names them), and resume bit for bit
-- under Adam, L2, dropout, EarlyStopping, validation_split and a per-step lr
-- schedule, and with a hook that changes the weights. They passed at once.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local train = T.tiny_data()
local dir = T.tmpdir()

local function opts(o)
  local out = {batch_size = 16, verbose = false}
  for k, v in pairs(o or {}) do out[k] = v end
  return out
end

local function differences(hr, hs, a, b)
  local d = T.history_diff(hr, hs, "history", {})
  local wa, wr = a:get_weights(), b:get_weights()
  for i = 1, #wa do
    if (wa[i] - wr[i]):abs():max() ~= 0 then d[#d + 1] = "weight " .. i end
  end
  return table.concat(d, "; "):sub(1, 300)
end

-- {==================== the state file from Python ====================

local PY_STATE = [=[
import sys, json, struct, numpy as np, torch
torch.set_default_dtype(torch.float64)
d = sys.argv[1]
want = json.load(open(d + "/want.json"))
def read(p):  # the format README gives: no safetensors package needed
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__")
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
        dtype="<f4").reshape(v["shape"]) for k, v in h.items()}, meta
x = torch.tensor(want["x"], dtype=torch.float64).reshape(70, 8)
y = torch.tensor(want["y"]).long()
names = ["layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias"]
for name, w in sorted(want["runs"].items()):
    t, meta = read(d + "/" + name + ".st")
    st = json.loads(meta["workbench.state"])["optimizer"]
    slots = ["m", "v"][:w["slots"]]
    keys = sorted(names + ["optimizer.%s.%s" % (n, s) for n in names for s in slots])
    assert sorted(t) == keys, (name, sorted(t))
    assert st["iterations"] == w["iterations"] == 1, (name, st)
    for i, n in enumerate(names):  # the file holds wb's numbers, bit for bit
        assert np.array_equal(t[n], np.float32(w["after"][i]).reshape(t[n].shape)), (name, n)
        for j, s in enumerate(slots):
            b = w["bufs"][i * len(slots) + j]
            assert np.array_equal(t["optimizer.%s.%s" % (n, s)], np.float32(b).reshape(
                t[n].shape)), (name, n, s)
    # the same step in PyTorch (one: the next would start from Keras's update)
    p = [torch.tensor(v, dtype=torch.float64).reshape(t[n].shape).requires_grad_()
         for v, n in zip(w["w0"], names)]
    c = st["config"]
    opt = {"adam": lambda: torch.optim.Adam(p, lr=c["lr"], betas=(c["beta1"], c["beta2"]),
                                            eps=c["eps"]),
           "sgd": lambda: torch.optim.SGD(p, lr=c["lr"], momentum=c["momentum"]),
           "rmsprop": lambda: torch.optim.RMSprop(p, lr=c["lr"], alpha=c["rho"],
                                                  eps=c["eps"])}[c["name"]]()
    z = torch.tanh(x @ p[0] + p[1]) @ p[2] + p[3]
    (torch.nn.functional.cross_entropy(z, y) + 0.01 * (p[0] ** 2).sum()).backward()
    w0 = [q.detach().clone() for q in p]
    opt.step()
    worst = 0
    for i, n in enumerate(names):
        s_ = opt.state[p[i]]
        if c["name"] == "adam": ref = [s_["exp_avg"], s_["exp_avg_sq"]]
        elif c["name"] == "sgd": ref = [-c["lr"] * s_["momentum_buffer"]]  # Keras's velocity
        else: ref = [s_["square_avg"]]
        for s, r in zip(slots, ref):
            a = t["optimizer.%s.%s" % (n, s)].astype(np.float64)
            worst = max(worst, np.abs(a - r.numpy()).max() / np.abs(r.numpy()).max())
        # the update from those buffers: Keras's eps (PyTorch's differs for Adam and RMSprop)
        m, w_ = ref[0].numpy(), w0[i].numpy()
        if c["name"] == "sgd": after = p[i].detach().numpy()
        elif c["name"] == "adam": after = w_ - c["lr"] * (1 - c["beta2"]) ** 0.5 / (
            1 - c["beta1"]) * m / (np.sqrt(ref[1].numpy()) + c["eps"])
        else: after = w_ - c["lr"] * p[i].grad.numpy() / np.sqrt(m + c["eps"])
        worst = max(worst, np.abs(t[n] - after).max() / np.abs(t[n] - w_).max())
    print(name, "ok" if worst < 1e-5 else "off by %.3g" % worst)
]=]

T.test("a training state opened in Python: wb's weights and optimizer buffers, PyTorch's "
    .. "buffers as its help says", function()
  local py = T.python_with("torch")
  if not py then T.missing("python3-torch") end
  local util = require "wb.util"
  local function flat(t) return t:reshape(t:numel()):totable() end
  local want = {x = flat(train.images), y = flat(train.labels:float()), runs = {}}
  for name, opt in pairs{adam = wb.optim.Adam{lr = 0.01}, sgd = wb.optim.SGD{lr = 0.1,
      momentum = 0.9}, rmsprop = wb.optim.RMSprop{lr = 0.01}} do
    wb.seed(2)
    local m = wb.nn.Sequential{wb.nn.Dense(8, 6, {activation = "tanh", l2 = 0.01}),
      wb.nn.Dense(6, 3, {activation = "softmax"})}
    local run = {w0 = {}, after = {}, bufs = {}}
    for i, w in ipairs(m:get_weights()) do run.w0[i] = flat(w) end
    m:fit(train, opts{epochs = 1, batch_size = 70, optimizer = opt})
    m:save_state(dir .. "/" .. name .. ".st")
    for i, w in ipairs(m:get_weights()) do run.after[i] = flat(w) end
    local st = opt:state()
    for i, b in ipairs(st.buffers) do run.bufs[i] = flat(b) end
    run.slots, run.iterations = st.slots, st.iterations
    want.runs[name] = run
  end
  util.write_file(dir .. "/want.json", util.encode_json(want))
  util.write_file(dir .. "/state.py", PY_STATE)
  local st, out, err = T.sh(py .. " " .. dir .. "/state.py " .. dir)
  T.eq(st, 0, err)
  T.eq(out, "adam ok\nrmsprop ok\nsgd ok\n")
end)

-- }====================

-- {==================== resume, the combinations ====================

T.test("resume is bit for bit under Adam, L2, dropout, EarlyStopping, validation_split and a "
    .. "per-step lr schedule, from epoch ends (instruments on) and inside epochs", function()
  local data = T.synthetic(4242, 90, 8)
  -- the schedule keeps its state in the optimizer (lr *= 0.95 a step): saved with it
  local function cbs(m, ck)
    local list = {wb.callbacks.EarlyStopping{patience = 1, min_delta = 0.03,
        restore_best_weights = true},
      wb.callbacks.Lambda{on_train_batch_begin = function() m.optimizer.lr = m.optimizer.lr * 0.95
      end}}
    if ck then list[3] = wb.callbacks.ModelCheckpoint{ck, save_state = true, save_freq = 3} end
    return list
  end
  local function o(m, epochs, resume, extra)
    local t = opts{epochs = epochs, validation_split = 0.2, log_every = 1, resume = resume}
    if not resume then t.seed, t.optimizer = 9, wb.optim.Adam{lr = 0.02} end
    for k, v in pairs(extra) do t[k] = v end
    t.callbacks = cbs(m, extra.ck)
    t.ck = nil
    return t
  end
  -- inside epochs: every third step's state
  local s = T.tiny_mlp(1, true)
  local hs = s:fit(data, o(s, 6, nil, {ck = dir .. "/combo/s{step}.st"}))
  T.ok(hs.stopped_epoch and hs.stopped_epoch < 6, "EarlyStopping stopped the fit")
  for step = 3, #hs.steps.step, 3 do
    local r = T.tiny_mlp(3, true)
    local hr = r:fit(data, o(r, 6, dir .. "/combo/s" .. step .. ".st", {ck = dir .. "/x.st"}))
    T.eq(differences(hr, hs, s, r), "", "resumed at step " .. step)
  end
  -- at epoch ends, with the instruments (their clocks aside)
  local instr = {instruments = wb.instruments.economy, every = 2}
  s = T.tiny_mlp(1, true)
  hs = s:fit(data, o(s, 6, nil, instr))
  for k = 1, hs.epochs do
    local m = T.tiny_mlp(1, true)
    m:fit(data, o(m, k, nil, instr))
    m:save_state(dir .. "/combo/e.st")
    local r = T.tiny_mlp(3, true)
    local hr = r:fit(data, o(r, 6, dir .. "/combo/e.st", instr))
    hr.instruments.seconds, hs.instruments.seconds = nil, nil
    T.eq(differences(hr, hs, s, r), "", "resumed after epoch " .. k)
  end
end)

T.test("a hook that changes the weights (a max-norm) is trained from, saved and resumed",
    function()
  local function cbs(m, ck)
    return {wb.callbacks.Lambda{on_train_batch_end = function(_, logs)
        local w = m[1].weight
        w:copy(w:clamp(-0.3, 0.3))
        logs.wmax = w:abs():max()
      end},
      wb.callbacks.ModelCheckpoint{ck, save_state = true, save_freq = 4}}
  end
  local function o(m, resume, ck)
    return opts{epochs = 3, log_every = 1, resume = resume, callbacks = cbs(m, ck),
      optimizer = not resume and wb.optim.Adam{lr = 0.05} or nil, seed = not resume and 9 or nil}
  end
  local s = T.tiny_mlp(1, true)
  local hs = s:fit(train, o(s, nil, dir .. "/clamp/s{step}.st"))
  T.eq(s[1].weight:abs():max(), hs.steps.wmax[15])
  T.ok(hs.steps.wmax[15] <= 0.3 + 1e-7, "clamped")
  for step = 4, 12, 4 do
    local r = T.tiny_mlp(3, true)
    local hr = r:fit(train, o(r, dir .. "/clamp/s" .. step .. ".st", dir .. "/x.st"))
    T.eq(differences(hr, hs, s, r), "", "resumed at step " .. step)
  end
end)

-- }====================

T.done()
