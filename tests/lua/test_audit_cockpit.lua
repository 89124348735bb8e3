-- test_audit_cockpit.lua: defects found auditing the instruments and the
-- live cockpit (wb/instruments*.lua, wb/cockpit*.lua), one test each, and
-- the instruments' values on a case the other tests do not cover, against
-- an implementation of their definitions in numpy float64.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"
local text = require "wb.cockpit_text"

-- A tiny run in a child process (frames go to its stdout): 60 synthetic
-- rows, 10 -> 8 -> 3, SGD lr 0.1, batch 10, 2 epochs = 12 steps; arg[1]
-- is fit's extra options as Lua source. On an error it prints the error
-- on stderr and exits 3.
local RUN = [[
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local data = T.synthetic(5, 60, 10)
wb.seed(5)
local m = wb.nn.Sequential{wb.nn.Dense(10, 8, {activation = "relu"}),
  wb.nn.Dense(8, 3, {activation = "softmax"})}
local o = {epochs = 2, batch_size = 10, optimizer = wb.optim.SGD{lr = 0.1}, seed = 1,
  verbose = false}
for key, v in pairs(load("return " .. arg[1], "opts", "t", {wb = wb, io = io})()) do o[key] = v end
local ok, e = pcall(m.fit, m, data, o)
if not ok then io.stderr:write(tostring(e), "\n"); os.exit(3) end
]]

local dir = T.tmpdir()
local script = dir .. "/run.lua"
assert(io.open(script, "w")):write(RUN):close()

-- stdout, stderr and status of the tiny run with options opts, under
-- environment env (e.g. "COLUMNS=50"), stdout piped.
local function run(opts, env)
  local st, out, err = T.sh("env -u COLUMNS " .. (env or "") .. " OPENBLAS_NUM_THREADS=1 "
    .. T.quote(T.wb) .. " " .. T.quote(script) .. " " .. T.quote(opts))
  return out, err, st
end

-- stdout of the tiny run on a pseudo-terminal (script(1)) cols characters
-- wide, TERM=xterm; nil without script(1).
local function run_tty(cols, opts)
  local inner = string.format("stty cols %d rows 60; env -u COLUMNS TERM=xterm "
    .. "OPENBLAS_NUM_THREADS=1 %s %s %s", cols, T.quote(T.wb), T.quote(script), T.quote(opts))
  local st, out = T.sh("script -qec " .. T.quote(inner) .. " /dev/null </dev/null")
  if st ~= 0 and not out:find("cockpit: step", 1, true) then return nil end
  return (out:gsub("\r\n", "\n"))
end

local function widest(s)
  local w = 0
  for line in s:gmatch("[^\n]*") do w = math.max(w, #line) end
  return w
end

-- {==================== the frame's width ====================

-- The frames were 71 columns wide, but a panel's head held its title, its
-- numbers and its key on one line of up to 87 characters (alpha's, lambda_max's):
-- on an 80-column terminal those wrapped, and the redraw (cursor up by the
-- frame's newlines) fell short by a row per wrapped line, leaving old lines
-- on screen frame after frame; on a narrower one every line wrapped.
T.test("frames fit an 80-column terminal: no line of 80 characters or more", function()
  local out = run("{cockpit = 4, instruments = wb.instruments.full, every = 2}")
  T.ok(out:find("lambda_max vs 2/lr", 1, true) and out:find("alpha (0", 1, true), out)
  T.ok(widest(out) < 80, "a line of " .. widest(out) .. " characters")
  T.ok(out:find("\n   last [%d.e+-]+  min "), "the numbers under a long title")
end)

T.test("COLUMNS narrows the frames of a pipe too", function()
  local out = run("{cockpit = 4}", "COLUMNS=50")
  T.ok(widest(out) < 50, "a line of " .. widest(out) .. " characters")
  T.eq(text.width(50), 32); T.eq(text.width(200), text.WIDTH); T.eq(text.width(10),
    text.MIN_WIDTH)
end)

-- gnuplot's frames were wb.plot.style.dumb_size wide (101 characters)
-- whatever the terminal: on 80 columns every line wrapped.
T.test("renderer = gnuplot fits COLUMNS too", function()
  if not os.execute("command -v gnuplot >/dev/null 2>&1") then
    T.skip("gnuplot renderer's width", "no gnuplot")
    return
  end
  local out = run("{cockpit = {every = 12, renderer = 'gnuplot'}}", "COLUMNS=80")
  T.ok(out:find("gradient norm", 1, true), out)
  T.ok(widest(out) < 80, "a line of " .. widest(out) .. " characters")
end)

-- A series measured as NaN at every step (alpha and gsnr at batch size 1)
-- read "(not measured yet)" for the whole fit.
T.test("a panel whose values are all NaN says so, not 'not measured yet'", function()
  local out = run("{cockpit = 30, batch_size = 1, epochs = 1}")
  T.ok(out:find("%-%- gradient signal%-to%-noise ratio %-+\n +| %(30 values, none finite%)"),
    out)
  T.ok(not out:find("not measured yet", 1, true), out)
end)

-- After fit{resume}, history.steps holds the saved fit's rows: the figure's
-- alpha panel drew steps 1 .. 18, its other panels this fit's 13 .. 18.
T.test("a resumed fit's cockpit figure draws alpha over this fit's steps only", function()
  if not os.execute("command -v gnuplot >/dev/null 2>&1") then
    T.skip("resumed cockpit figure", "no gnuplot")
    return
  end
  local png = dir .. "/resume/cockpit.png"
  os.execute("mkdir -p " .. T.quote(dir .. "/resume"))
  local child = dir .. "/resume.lua"
  assert(io.open(child, "w")):write([=[
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local data = T.synthetic(5, 60, 6)
local function model()
  wb.seed(3)
  return wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = "tanh"}),
    wb.nn.Dense(5, 3, {activation = "softmax"})}
end
local m = model()
m:fit(data, {epochs = 2, batch_size = 10, verbose = false, optimizer = "sgd",
  instruments = wb.cockpit.DEFAULT})
m:save_state(arg[1] .. ".safetensors")
local h = model():fit(data, {epochs = 3, batch_size = 10, verbose = false, optimizer = "sgd",
  resume = arg[1] .. ".safetensors", cockpit = {every = 100, save = arg[1]}})
assert(#h.steps.step == 18)
]=]):close()
  local st, _, err = T.sh(T.quote(T.wb) .. " " .. T.quote(child) .. " " .. T.quote(png))
  T.eq(st, 0, err)
  local function rows(p)
    local n = -1 -- the header
    for _ in io.lines(p) do n = n + 1 end
    return n
  end
  T.eq(rows(dir .. "/resume/cockpit-1.csv"), 6, "loss: steps 13 .. 18")
  T.eq(rows(dir .. "/resume/cockpit-3.csv"), 6, "alpha: steps 13 .. 18")
end)

T.test("text.rows counts the rows of wrapped lines", function()
  T.eq(text.rows("abc\n\n" .. string.rep("x", 40) .. "\n" .. string.rep("x", 41) .. "\n", 40),
    1 + 1 + 1 + 2)
end)

-- On a terminal 40 columns wide each redraw moves up by exactly the rows
-- the previous frame took there.
T.test("on a narrow terminal the redraw moves up by the rows the last frame took", function()
  local out = run_tty(40, "{cockpit = 4, epochs = 1, batch_size = 5}") -- one epoch: an
  -- epoch's end keeps the frame above (for fit's epoch line)
  if not out then
    T.skip("narrow terminal", "no script(1) to make a pseudo-terminal")
    return
  end
  T.eq(wb.sys.term_columns(1) == nil or math.type(wb.sys.term_columns(1)) == "integer", true)
  local frames, ups = {}, {}
  out = out .. "\r\27[K" -- the end of the last frame
  for up, frame in out:gmatch("\27%[(%d+)A\27%[J(cockpit: step.-)\r?\27%[K") do
    ups[#ups + 1] = tonumber(up); frames[#frames + 1] = frame
  end
  local first = out:match("^\r?\27%[K(cockpit: step.-)\r?\27%[K")
  T.ok(first and #ups == 2, "three frames: " .. out:sub(1, 400):gsub("\27", "^["))
  local prev = first
  for i = 1, #ups do
    T.eq(ups[i], text.rows(prev, 40), "frame " .. (i + 1) .. " moves up by the rows of " .. i)
    prev = frames[i]
  end
  T.ok(widest(out) < 60, "the frame narrowed to the terminal: " .. widest(out))
end)

-- }====================
-- {==================== a fit that raises ====================

-- A divergence, Ctrl-C or a hook's error ended fit without on_train_end:
-- the cockpit drew no last frame and wrote no figure, though the series up
-- to the failure is what one wants to see then.
local function exists(p) local f = io.open(p, "rb"); if f then f:close() end; return f ~= nil end

T.test("a diverged fit ends with a frame saying so and the figure of save", function()
  local png = dir .. "/div/cockpit.png"
  os.execute("mkdir -p " .. T.quote(dir .. "/div"))
  local out, err, st = run("{optimizer = wb.optim.SGD{lr = 1e25}, cockpit = {every = 50, "
    .. "save = " .. string.format("%q", png) .. "}}")
  T.ok(st ~= 0 and err:find("training diverged", 1, true), err)
  T.ok(out:find("cockpit: step %d+, epoch 1, lr 1e%+25, stopped: training diverged: loss is "),
    out)
  T.ok(err:find("fit: cockpit: the series up to step %d+ written to " .. png:gsub("%p", "%%%0")
    .. " %(training stopped: training diverged"), err)
  T.ok(exists(png) and exists(dir .. "/div/cockpit.csv"), "the figure and its CSV")
end)

T.test("Ctrl-C in fit ends with the cockpit's last frame and figure", function()
  local png = dir .. "/int/cockpit.png"
  os.execute("mkdir -p " .. T.quote(dir .. "/int"))
  local out, err, st = run("{cockpit = {every = 4, save = " .. string.format("%q", png)
    .. "}, callbacks = {wb.callbacks.Lambda{on_train_batch_end = function(step) "
    .. "if step == 6 then io.popen('kill -INT ' .. wb.sys.getpid()):close() end end}}}")
  T.ok(st ~= 0 and err:find("interrupted!", 1, true), err)
  T.ok(out:find("cockpit: step 5, epoch 1, lr 0.1, stopped: interrupted!", 1, true), out)
  T.ok(err:find("the series up to step 5 written to", 1, true), err)
  T.ok(exists(png), "the figure")
end)

-- {==================== messages ====================

-- A loss function of one's own was named by its address ("not for loss
-- function: 0x55..."), and the Hessian "are computed".
T.test("an instrument a loss function does not support is refused in words", function()
  local data = T.synthetic(5, 20, 4)
  local function fit(instr, loss)
    wb.seed(1)
    local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
    return function() m:fit(data, {instruments = {instr}, loss = loss, verbose = false}) end
  end
  local own = function(out) return 0, wb.zeros(out:size(1), out:size(2)) end
  T.check_error("fit: instrument alpha needs per-sample losses, which are computed for the "
    .. "default cross-entropy only, not for a loss function of one's own", fit("alpha", own))
  T.check_error("fit: instrument tic needs the Hessian, which is computed for the default "
    .. "cross-entropy and mse only, not for loss hinge", fit("tic", "hinge"))
end)

-- gsnr divided by Cockpit's biased variance, 0 for one row: g^2 / 1e-5,
-- a spike of thousands where the other steps read 0.1 .. 1 (a last batch
-- of one row), where the tests and alpha are NaN.
T.test("gsnr is NaN at a batch of one row, as the tests are", function()
  local data = T.synthetic(5, 21, 6)
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(6, 3, {activation = "softmax"})}
  local h = m:fit(data, {batch_size = 4, shuffle = false, verbose = false, optimizer = "sgd",
    instruments = {"gsnr", "norm_test"}})
  local st = h.steps
  T.eq(#st.step, 6)
  for i = 1, 5 do T.ok(st.gsnr[i] > 0 and st.gsnr[i] < 10, "gsnr " .. i .. ": " .. st.gsnr[i]) end
  T.eq(st.batch_size[6], 1)
  T.ok(st.gsnr[6] ~= st.gsnr[6], "gsnr at one row: " .. st.gsnr[6])
  T.ok(st.norm_test[6] ~= st.norm_test[6])
end)

-- }====================
-- {==================== values against numpy ====================

-- Every instrument of a 3-layer model (sigmoid with L2, tanh without bias,
-- softmax), a last partial batch, momentum (the measured update) and plain
-- SGD (the update as -lr g), at all 6 steps, against their definitions
-- (Cockpit's, wb/instruments.lua) written in numpy float64 with per-sample
-- gradients by hand-written backpropagation and the Hessian by central
-- differences of the gradient: an implementation sharing no code with
-- core/persample*. hess_trace is Hutchinson's here (tanh): within 4 of its
-- standard errors; tic is checked as its numerator over that trace.
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
def part(v, j): return np.concatenate([v[offs[k]:offs[k+1]] for k in range(len(sizes)) if layer_of[k] == j])
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
    d = th - thetas[0]; put("distance", np.linalg.norm(d)); put("distance_2", np.linalg.norm(part(d, 1)))
    u = th1 - th; put("update_size", np.linalg.norm(u)); put("update_size_3", np.linalg.norm(part(u, 2)))
    g2 = g @ g
    var_l1 = ((G - g) ** 2).sum() / (B - 1)
    proj = G @ g
    pv = ((proj - g2) ** 2).sum() / (B - 1)
    orth = ((G * G).sum(1) - proj ** 2 / g2).sum() / (B - 1)
    put("norm_test", (var_l1 / B / g2) ** 0.5); put("inner_test", (pv / B / g2 ** 2) ** 0.5)
    put("ortho_test", (orth / B / g2) ** 0.5)
    m2 = (G ** 2).mean(0); put("gsnr", (g ** 2 / (m2 - g ** 2 + 1e-5)).mean())
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
        instruments = wb.instruments.NAMES, every = 1,
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
      T.ok(st.alpha[6] ~= st.alpha[6], "the last step's alpha is NaN (no next batch)")
      for i = 1, 6 do
        near("hess_max " .. i, st.hess_max[i], r.hess_max[i], 1e-3)
        local z = (st.hess_trace[i] - r.hess_trace[i]) / st.hess_trace_se[i]
        T.ok(math.abs(z) < 4, string.format("%s hess_trace %d: %.6g vs %.6g, se %.3g", c[1], i,
          st.hess_trace[i], r.hess_trace[i], st.hess_trace_se[i]))
        near("tic " .. i, st.tic[i] * (st.hess_trace[i] + 1e-7), r.tic_numerator[i], 1e-5)
      end
    end
  end)
else
  T.skip(VALUES, "no python3 with numpy")
end

-- }====================

T.done()
