-- test_audit_cockpit_values.lua: the instruments' values on a case the
-- other tests do not cover, against an implementation of their definitions
-- in numpy float64 (the audit of test_audit_cockpit.lua).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"

local dir = T.tmpdir()

-- {==================== values against numpy ====================

-- Every instrument of a 3-layer model (sigmoid with L2, tanh without bias,
-- softmax), a last partial batch, momentum (the measured update) and plain
-- SGD (the update as -lr g), at all 6 steps, against their definitions
-- (Cockpit's, wb/instruments.lua) written in numpy float64 with per-sample
-- gradients by hand-written backpropagation and the Hessian by central
-- differences of the gradient: an implementation sharing no code with
-- core/persample*. hess_trace is Hutchinson's here (tanh): within 4 of its
-- standard errors; tic_trace is checked as its numerator over that trace
-- (tic, TICDiag, needs the exact diagonal: refused for tanh, every
-- instrument but it is on);
-- grad_hist's counts up to entries at a bin's edge.
local ALL = {}
for _, n in ipairs(wb.instruments.NAMES) do if n ~= "tic" then ALL[#ALL + 1] = n end end

local REF = [==[
import sys, json, numpy as np
c = json.load(open(sys.argv[1]))
n = len(c["y"]); bs = c["bs"]; l2 = c["l2"]
X = np.array(c["x"], dtype=np.float64).reshape(n, -1); Y = np.array(c["y"]).astype(int)
shapes = [tuple(s) for s in c["shapes"]]
sizes = [int(np.prod(s)) for s in shapes]
offs = np.cumsum([0] + sizes)
C = shapes[-1][0]
def unflat(th):
    return [th[offs[k]:offs[k+1]].reshape(shapes[k]) for k in range(len(sizes))]
def forward(th, x):
    W1, b1, W2, W3, b3 = unflat(th)
    a1 = 1 / (1 + np.exp(-(x @ W1 + b1)))
    a2 = np.tanh(a1 @ W2)
    z = a2 @ W3 + b3
    z = z - z.max(1, keepdims=True)
    p = np.exp(z); p /= p.sum(1, keepdims=True)
    return a1, a2, p
def losses(th, x, y):
    p = forward(th, x)[2]
    return -np.log(p[np.arange(len(y)), y])
def per_sample(th, x, y):
    W1, b1, W2, W3, b3 = unflat(th)
    a1, a2, p = forward(th, x)
    dz3 = p.copy(); dz3[np.arange(len(y)), y] -= 1
    dz2 = (dz3 @ W3.T) * (1 - a2 ** 2)
    dz1 = (dz2 @ W2.T) * a1 * (1 - a1)
    G = [np.einsum("bi,bj->bij", x, dz1).reshape(len(y), -1), dz1,
         np.einsum("bi,bj->bij", a1, dz2).reshape(len(y), -1),
         np.einsum("bi,bj->bij", a2, dz3).reshape(len(y), -1), dz3]
    return np.concatenate(G, 1)
def l2grad(th):
    g = np.zeros_like(th); g[offs[0]:offs[1]] = 2 * l2 * th[offs[0]:offs[1]]; return g
def l2term(th): return l2 * (th[offs[0]:offs[1]] ** 2).sum()
def hessian(th, x, y, withl2): # central differences of the exact gradient
    P = len(th); H = np.zeros((P, P)); e = 1e-5
    f = lambda q: per_sample(q, x, y).mean(0) + (l2grad(q) if withl2 else 0)
    for k in range(P):
        d = np.zeros(P); d[k] = e
        H[:, k] = (f(th + d) - f(th - d)) / (2 * e)
    return (H + H.T) / 2
thetas = [np.array(sum(t, []), dtype=np.float64) for t in c["thetas"]]
steps = len(thetas) - 1
per_epoch = -(-n // bs)
def batch(t):
    k = (t - 1) % per_epoch
    return X[k*bs:min((k+1)*bs, n)], Y[k*bs:min((k+1)*bs, n)]
layer_of = [0, 0, 1, 2, 2]
def part(v, j):
    return np.concatenate([v[offs[k]:offs[k+1]] for k in range(len(sizes))
                           if layer_of[k] == j])
res = {}
def put(k, v): res.setdefault(k, []).append(float(v))
start = None
for t in range(1, steps + 1):
    th, th1 = thetas[t-1], thetas[t]
    x, y = batch(t); B = len(y)
    G = per_sample(th, x, y); g = G.mean(0)
    gfull = g + l2grad(th)
    put("grad_norm", np.linalg.norm(gfull))
    put("grad_norm_1", np.linalg.norm(part(gfull, 0)))
    d = th - thetas[0]
    put("distance", np.linalg.norm(d)); put("distance_2", np.linalg.norm(part(d, 1)))
    u = th1 - th
    put("update_size", np.linalg.norm(u)); put("update_size_3", np.linalg.norm(part(u, 2)))
    g2 = g @ g
    var_l1 = ((G - g) ** 2).sum() / (B - 1)
    proj = G @ g
    pv = ((proj - g2) ** 2).sum() / (B - 1)
    orth = ((G * G).sum(1) - proj ** 2 / g2).sum() / (B - 1)
    put("norm_test", (var_l1 / B / g2) ** 0.5); put("inner_test", (pv / B / g2 ** 2) ** 0.5)
    put("ortho_test", (orth / B / g2) ** 0.5)
    m2 = (G ** 2).mean(0); put("gsnr", (g ** 2 / (m2 - g ** 2 + 1e-5)).mean())
    # grad_hist: 64 bins over [-1, 1), the outside in the end bins
    idx = np.clip(np.floor((G.ravel() + 1) / (2 / 64)).astype(int), 0, 63)
    res.setdefault("grad_hist", []).append([int(v) for v in np.bincount(idx, minlength=64)])
    # grad_hist_2d: 40 x 50 bins over [-1, 1) x [-2, 2), each entry against theta_t's value
    ix = np.clip(np.floor((G + 1) / (2 / 40)), 0, 39).astype(int)
    iy = np.clip(np.floor((np.broadcast_to(th, G.shape) + 2) / (4 / 50)), 0, 49).astype(int)
    res.setdefault("grad_hist_2d", []).append(
        [int(v) for v in np.bincount((ix * 50 + iy).ravel(), minlength=2000)])
    fl = losses(th, x, y)
    put("loss", fl.mean() + l2term(th))
    Hl = hessian(th, x, y, True) # of the loss fit minimises: L2 included
    put("hess_trace", np.trace(Hl)); put("hess_max", np.linalg.eigh(Hl)[0][-1])
    put("tic_numerator", (G * G).sum() / B)
    if start is not None:
        s_f, s_vf, s_df, s_vd, s_t, s_dir = start
        pe = G @ s_dir
        f1, vf1 = fl.mean(), fl.var(ddof=1); df1, vd1 = pe.mean(), pe.var(ddof=1)
        w = [1/(v if v != 0 else 1e-10) for v in (s_vf, vf1, s_vd, vd1)]
        Phi = np.array([[1, 0, 0], [1, s_t, s_t**2], [0, 1, 0], [0, 1, 2*s_t]]).T
        W = np.diag(w); yy = np.array([s_f, f1, s_df, df1])
        mu = np.linalg.solve(Phi @ W @ Phi.T, Phi @ W @ yy)
        put("alpha", -1.0 if mu[2] <= 0 else 2 * s_t / (-mu[1] / mu[2]) - 1)
    dirn = u / np.linalg.norm(u)
    ps = G @ dirn
    start = (fl.mean(), fl.var(ddof=1), ps.mean(), ps.var(ddof=1), np.linalg.norm(u), dirn)
print(json.dumps(res))
]==]

local PY = T.python_with("numpy")
local VALUES = "every instrument of a 3-layer sigmoid/tanh/bias-free model equals numpy's"
if PY then
  T.test(VALUES, function()
    local pf = dir .. "/ref.py"
    assert(io.open(pf, "w")):write(REF):close()
    for _, c in ipairs{{"momentum", 1e-2}, {"sgd", 0}} do
      wb.seed(4)
      local n, bs = 22, 8
      local x, y = wb.randn(n, 6), wb.new_tensor({n}, "uint8")
      for i = 1, n do y:set(i, (i * 5) % 3) end
      local m = wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = "sigmoid", l2 = c[2]}),
        wb.nn.Dense(5, 4, {activation = "tanh", bias = false}),
        wb.nn.Dense(4, 3, {activation = "softmax"})}
      local thetas = {}
      local function flat()
        local w = {}
        for i, t in ipairs(m:get_weights()) do w[i] = t:reshape(t:numel()):totable() end
        return w
      end
      local h = m:fit(x, y, {batch_size = bs, epochs = 2, shuffle = false, verbose = false,
        optimizer = c[1] == "sgd" and wb.optim.SGD{lr = 0.3}
          or wb.optim.SGD{lr = 0.3, momentum = 0.9},
        instruments = ALL, every = 1,
        callbacks = {{on_train_batch_begin = function(_, step) thetas[step] = flat() end}}})
      thetas[#thetas + 1] = flat()
      T.eq(h.instruments.update, c[1] == "sgd" and "sgd" or "measured")
      local shapes = {}
      for i, t in ipairs(m:get_weights()) do shapes[i] = t:shape() end
      local jf = dir .. "/case.json"
      assert(io.open(jf, "w")):write(cjson.encode{x = x:reshape(n * 6):totable(),
        y = y:float():totable(), thetas = thetas, shapes = shapes, l2 = c[2], bs = bs}):close()
      local p = io.popen(PY .. " " .. T.quote(pf) .. " " .. T.quote(jf) .. " 2>&1")
      local out = p:read("a"); p:close()
      local ok, r = pcall(cjson.decode, out)
      T.ok(ok, "numpy: " .. out)
      local st = h.steps
      T.eq(#st.step, 6)
      local function near(name, got, want, tol)
        T.ok(math.abs(got - want) <= tol * math.max(math.abs(want), 1e-3), string.format(
          "%s %s: %.9g vs numpy %.9g", c[1], name, got, want))
      end
      for _, k in ipairs{"loss", "grad_norm", "grad_norm_1", "distance", "distance_2",
          "update_size", "update_size_3", "norm_test", "inner_test", "ortho_test", "gsnr"} do
        for i = 1, 6 do near(k .. " " .. i, st[k][i], r[k][i], 1e-5) end
      end
      for i = 1, 5 do near("alpha " .. i, st.alpha[i], r.alpha[i], 1e-4) end
      local gh = h.instruments.grad_hist
      T.eq(gh.lo, -1); T.eq(gh.hi, 1); T.eq(gh.bins, 64); T.eq(#gh.counts, 6)
      for i = 1, 6 do -- float32 entries at a bin's edge may fall either side
        local off = 0
        for b = 1, 64 do off = off + math.abs(gh.counts[i][b] - r.grad_hist[i][b]) end
        T.ok(off <= 2, string.format("%s grad_hist %d: %d entries in other bins", c[1], i, off))
      end
      local g2 = h.instruments.grad_hist_2d
      T.eq(g2.x_bins * g2.y_bins, 2000); T.eq(#g2.counts, 6)
      for i = 1, 6 do -- against theta_t (theta_{t+1}'s bins would differ: lr 0.3)
        local off = 0
        for b = 1, 2000 do off = off + math.abs(g2.counts[i][b] - r.grad_hist_2d[i][b]) end
        T.ok(off <= 2, string.format("%s grad_hist_2d %d: %d entries in other bins", c[1], i, off))
      end
      T.ok(st.alpha[6] ~= st.alpha[6], "the last step's alpha is NaN (no next batch)")
      for i = 1, 6 do
        near("hess_max " .. i, st.hess_max[i], r.hess_max[i], 1e-3)
        local z = (st.hess_trace[i] - r.hess_trace[i]) / st.hess_trace_se[i]
        T.ok(math.abs(z) < 4, string.format("%s hess_trace %d: %.6g vs %.6g, se %.3g", c[1], i,
          st.hess_trace[i], r.hess_trace[i], st.hess_trace_se[i]))
        near("tic_trace " .. i, st.tic_trace[i] * (st.hess_trace[i] + 1e-7),
          r.tic_numerator[i], 1e-5)
      end
    end
  end)
else
  T.test(VALUES, function() T.missing("python3-numpy") end)
end

-- }====================

T.done()
