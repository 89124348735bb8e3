-- test_audit_instr.lua: an audit of the instruments, the cockpit,
-- wb.hessian and wb.landscape as a new user meets them. Each test failed
-- before its fix: whole floats as counts (1e3, which Lua 5.4 users write)
-- were refused by the cockpit and landscape; tic under Hutchinson's trace
-- had no error bar and the record did not say how many probes;
-- wb.hessian.full's example could not run and a large model was refused
-- only after its operator was built; task 13's and 15's intros said
-- "10 epochs" under --quick; hess_max's record did not say which
-- eigenvalue it is (checked here against numpy's eigh where a negative
-- eigenvalue is larger in magnitude; skipped with a notice without numpy);
-- wb.landscape scored {x} without labels against labels of 0; an options
-- table of the wrong type (wb.args.opt) was blamed on the caller's caller.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"

local function labels(list)
  local y = wb.new_tensor({#list}, "uint8")
  for i, v in ipairs(list) do y:set(i, v) end
  return y
end

-- a small model of the given hidden activation (weights N(0, s^2)), B rows
-- and labels: Dense(5, 4, act) -> Dense(4, 3, softmax), 39 parameters
local function case(act, seed, B, s)
  wb.seed(seed)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = act}),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  local ws = m:get_weights()
  for _, w in ipairs(ws) do w:copy(wb.randn(table.unpack(w:shape())) * (s or 0.8)) end
  m:set_weights(ws)
  local ids = {}
  for i = 1, B do ids[i] = (i * 7 + seed) % 3 end
  return m, wb.randn(B, 5), labels(ids)
end

-- one fit step over all B rows (in order) with the named instruments
local function one_step(m, x, y, names)
  return m:fit(x, y, {batch_size = x:size(1), shuffle = false, verbose = false,
    optimizer = wb.optim.SGD{lr = 0.1}, instruments = names, every = 1})
end

-- the float64 Hessian as rows of numbers, symmetrised
local function full(m, d)
  local H = wb.hessian.full(m, d, {precision = "float64"}):totable()
  for i = 1, #H do
    for j = i + 1, #H do H[i][j] = (H[i][j] + H[j][i]) / 2; H[j][i] = H[i][j] end
  end
  return H
end

-- {==================== counts ====================

T.test("counts take whole floats (1e3 is 1000) and refuse 1.5 naming the argument", function()
  local m, x, y = case("relu", 1, 8)
  -- the cockpit: every = 2.0 draws the frames every = 2 draws (steps 2, 4)
  local function frames(c)
    local path = os.tmpname()
    local fh, out = assert(io.open(path, "w")), io.stdout
    io.stdout = fh
    local ok, err = pcall(m.fit, m, x, y, {batch_size = 2, verbose = false, cockpit = c})
    io.stdout = out
    fh:close()
    local text = assert(io.open(path)):read("a")
    os.remove(path)
    if not ok then error(err, 0) end
    local steps = {}
    for s in text:gmatch("cockpit: step (%d+)") do steps[#steps + 1] = s end
    return table.concat(steps, " ")
  end
  T.eq(frames({every = 2.0}), frames({every = 2}))
  T.eq(frames(2.0), "2 4")
  T.eq(frames(1e3), "4") -- fewer steps than every: the last one only
  T.check_error("fit: cockpit: every must be a positive integer (steps), got 1.5",
    m.fit, m, x, y, {verbose = false, cockpit = {every = 1.5}})
  -- fit's every for instruments
  local h = m:fit(x, y, {batch_size = 1, verbose = false, instruments = {"grad_norm"},
    every = 4.0})
  T.eq(math.type(h.instruments.every), "integer")
  T.eq(table.concat(h.steps.step, " "), "1 5")
  T.check_error('fit: every must be a positive integer or "log", got 1.5', m.fit, m, x, y,
    {verbose = false, instruments = {"grad_norm"}, every = 1.5})
  -- wb.hessian
  local d = {x = x, y = y}
  local a = wb.hessian.eigs(m, d, {k = 2.0, max_iter = 20.0})
  local b = wb.hessian.eigs(m, d, {k = 2, max_iter = 20})
  T.eq(a.values[1], b.values[1])
  T.eq(a.values[2], b.values[2])
  T.eq(wb.hessian.trace(m, d, {probes = 1e1, seed = 1}).mean,
    wb.hessian.trace(m, d, {probes = 10, seed = 1}).mean)
  T.check_error("trace: option 'probes': expected an integer, got 1.5", wb.hessian.trace, m,
    d, {probes = 1.5})
  T.check_error("eigs: option 'tol': expected number, got string", wb.hessian.eigs, m, d,
    {tol = "small"})
  -- wb.landscape
  local dir = {wb.landscape.direction(m:get_weights())}
  local s5 = wb.landscape.slice(m, d, {dirs = dir, points = 5.0})
  T.eq(#s5.x, 5)
  T.eq(s5.loss[2], wb.landscape.slice(m, d, {dirs = dir, points = 5}).loss[2])
  T.check_error("slice: points: expected an integer >= 2, got 5.5", wb.landscape.slice, m, d,
    {dirs = dir, points = 5.5})
  local pts = {}
  for i = 1, 4 do pts[i] = wb.landscape.direction(m:get_weights(), {seed = i,
    normalize = false}) end
  T.eq(#wb.landscape.trajectory(pts, {k = 2.0}).dirs, 2)
  T.check_error("trajectory: k: expected an integer >= 1, got 1.5",
    wb.landscape.trajectory, pts, {k = 1.5})
  -- wb.measures.track
  local ds = wb.data.Dataset(wb.randn(8, 5), y, "t")
  local cb = wb.measures.track{data = ds, n = 4.0}
  m:fit(ds, {epochs = 1, verbose = false, callbacks = {cb}})
  T.eq(#cb.series.grad_norm_1, 1)
  T.check_error("track: n must be a positive integer (rows), got 1.5", wb.measures.track,
    {data = ds, n = 1.5})
  T.check_error("track: n must be a positive integer (rows), got 0", wb.measures.track,
    {data = ds, n = 0})
end)

-- }====================
-- {==================== the landscape ====================

T.test("landscape: {x} without labels is refused; float class ids are labels", function()
  local m, x, y = case("tanh", 2, 6)
  local dir = {wb.landscape.direction(m:get_weights())}
  -- model:evaluate(x) alone scores against labels of 0: never silently
  T.check_error("slice: data: expected a dataset or {x = tensor, y = labels}, got x = "
    .. "wb.Tensor, y = nil", wb.landscape.slice, m, {x = x}, {dirs = dir, points = 3})
  T.check_error("interpolate: data: unknown key 'labels'", wb.landscape.interpolate, m,
    {x = x, labels = y}, m:get_weights(), m:get_weights())
  -- wb.hessian takes float class ids; the landscape takes them too, as labels
  local yf = y:float()
  local a = wb.landscape.slice(m, {x = x, y = yf}, {dirs = dir, points = 3})
  local b = wb.landscape.slice(m, {x = x, y = y}, {dirs = dir, points = 3})
  for i = 1, 3 do
    T.eq(a.loss[i], b.loss[i])
    T.eq(a.accuracy[i], b.accuracy[i])
  end
  yf:set(2, 3)
  T.check_error("slice: y: label 2 (1-based position) is 3, expected an integer in 0..2",
    wb.landscape.slice, m, {x = x, y = yf}, {dirs = dir, points = 3})
  -- ranges: an infinite end put NaN weights on the grid; yrange was called range
  T.check_error("slice: range: expected {lo, hi} with lo < hi (finite numbers), got {-inf, 1}",
    wb.landscape.slice, m, {x = x, y = y}, {dirs = dir, range = {-math.huge, 1}})
  T.check_error("slice: yrange: expected {lo, hi} with lo < hi (finite numbers), got {2, 1}",
    wb.landscape.slice, m, {x = x, y = y}, {dirs = {dir[1], dir[1]}, yrange = {2, 1}})
end)

T.test("the instruments' and curvature files stay under 400 lines", function()
  for _, f in ipairs{"cockpit", "cockpit_dumb", "cockpit_run", "cockpit_text", "instruments",
      "instruments_fit", "instruments_hessian", "instruments_samples", "instruments_state",
      "instruments_moved",
      "hessian", "landscape", "landscape_eval", "noise_scale", "measures"} do
    local path = wb.luadir .. "/wb/" .. f .. ".lua"
    local fh = io.open(path)
    if f ~= "landscape_eval" or fh then
      local n = 0
      for _ in assert(fh, path):lines() do n = n + 1 end
      fh:close()
      T.ok(n < 400, string.format("%s: %d lines", path, n))
    end
  end
end)

-- }====================
-- {==================== tic's error bar ====================

T.test("tic_trace under Hutchinson's trace: tic_trace_se by its definition, and the probes",
    function()
  local m, x, y = case("tanh", 3, 12)
  local d, w0 = {x = x, y = y}, m:get_weights()
  local h = one_step(m, x, y, {"tic_trace", "hess_trace"})
  T.eq(h.instruments.hess_trace_method, "hutchinson")
  T.eq(h.instruments.hess_trace_probes, 8)
  local st = h.steps
  local tic, se, tr = st.tic_trace[1], st.tic_trace_se[1], st.hess_trace[1]
  local tr_se = st.hess_trace_se[1]
  m:set_weights(w0) -- theta_t of step 1, where they were measured
  -- the trace and its standard error: 8 probes of the step's own seed (1)
  local r = wb.hessian.trace(m, d, {probes = 8, seed = 1})
  T.near(tr, r.mean, 1e-6 * math.abs(r.mean))
  T.near(tr_se, r.stderr, 1e-6 * r.stderr)
  -- tic_trace = s / (T + 1e-7) with s = sum_i ||g_i||^2 / B; its error to first order
  local ps = wb.instruments.per_sample(m, x, y)
  local s = (ps.norms * ps.norms):sum() / 12
  T.near(tic, s / (tr + 1e-7), 1e-5 * math.abs(tic))
  T.near(se, s * tr_se / (tr + 1e-7) ^ 2, 1e-9 + 1e-6 * se)
  T.ok(se > 0, "tic_trace_se " .. tostring(se))
  -- the trace's standard error is the spread of z^T H z over the probes /
  -- sqrt(probes): for Rademacher z, Var(z^T H z) = 2 (||H||_F^2 - sum_i H_ii^2),
  -- so over many seeds the mean of se^2 * probes comes to that
  local H = full(m, d)
  local fro, diag, trace = 0, 0, 0
  for i = 1, #H do
    trace, diag = trace + H[i][i], diag + H[i][i] ^ 2
    for j = 1, #H do fro = fro + H[i][j] ^ 2 end
  end
  local var, n, s2, mean = 2 * (fro - diag), 400, 0, 0
  for seed = 1, n do
    local e = wb.hessian.trace(m, d, {probes = 8, seed = seed})
    s2, mean = s2 + e.stderr ^ 2, mean + e.mean
  end
  T.near(s2 / n * 8 / var, 1, 0.12, "mean se^2 * 8 / Var(z^T H z)")
  T.near(mean / n, trace, 4 * math.sqrt(var / 8 / n), "mean of the estimates")
end)

T.test("relu keeps the exact diagonal: no probes, tic_trace_se 0, the trace of H", function()
  local m, x, y = case("relu", 4, 10)
  local d, w0 = {x = x, y = y}, m:get_weights()
  local h = one_step(m, x, y, {"tic_trace", "hess_trace"})
  T.eq(h.instruments.hess_trace_method, "exact")
  T.eq(h.instruments.hess_trace_probes, nil)
  T.eq(h.steps.tic_trace_se[1], 0)
  T.eq(h.steps.hess_trace_se[1], 0)
  m:set_weights(w0)
  local H, trace = full(m, d), 0
  for i = 1, #H do trace = trace + H[i][i] end
  T.near(h.steps.hess_trace[1], trace, 1e-5 * math.abs(trace))
end)

-- }====================
-- {==================== wb.hessian.full ====================

T.test("hessian.full refuses a matrix over max_bytes before its operator, naming P", function()
  local big = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
    wb.nn.Dense(128, 10, {activation = "softmax"})}
  -- x of the wrong width: building the operator would fail on it first
  local err = T.check_error("full: the model has 101770 parameters, more than 5000",
    wb.hessian.full, big, {x = wb.randn(2, 3), y = labels{0, 1}})
  T.ok(err:find("P = 101770", 1, true) and err:find("max_bytes = 100000000", 1, true)
    and err:find("41.4 GB", 1, true), err)
  -- an explicit limit: P = 84 needs 4 * 84^2 = 28224 bytes
  local m = wb.nn.Sequential{wb.nn.Dense(20, 4, {activation = "softmax"})}
  local d = {x = wb.randn(3, 20), y = labels{0, 1, 3}}
  T.check_error("the model has 84 parameters, more than 83", wb.hessian.full, m, d,
    {max_bytes = 28223})
  T.eq(wb.hessian.full(m, d, {max_bytes = 28224}):shape()[1], 84)
  T.check_error("full: max_bytes: expected >= 1, got 0", wb.hessian.full, m, d,
    {max_bytes = 0})
end)

T.test("wb.hessian.full's help example runs as written, on a tiny model", function()
  local text = wb.help.text("wb.hessian.full")
  local ex = T.ok(text:match("Example: (.*)$"), text):gsub("\n%s+", "\n")
  local printed = {}
  local env = setmetatable({print = function(...)
    printed[#printed + 1] = table.concat({...}, " ") end}, {__index = _G})
  local f = assert(load(ex, "example", "t", env))
  f()
  T.eq(printed[1], "15")
end)

-- }====================
-- {==================== errors at the caller's line ====================

T.test("options of the wrong type are raised at the caller's line", function()
  local m, x, y = case("relu", 1, 8)
  local d, w = {x = x, y = y}, m:get_weights()
  local here = debug.getinfo(1, "S").short_src
  local function at(f)
    local line = debug.getinfo(2, "l").currentline
    local ok, e = pcall(f)
    T.ok(not ok and tostring(e):find(here .. ":" .. line .. ":", 1, true), tostring(e))
  end
  at(function() local r = wb.hessian.trace(m, d, 5); return r end)
  at(function() local r = wb.hessian.eigs(m, d, {k = 1.5}); return r end)
  at(function() local r = wb.hessian.eigs(m, d, {kk = 1}); return r end)
  at(function() local r = wb.landscape.direction(w, 5); return r end)
  at(function() local r = wb.landscape.direction(w, {sed = 1}); return r end)
  at(function() local r = m:evaluate(x, 5); return r end)
end)

-- }====================
-- {==================== hess_max: the largest algebraic eigenvalue ====================

-- seed 28 of case("tanh") at scale 1.5, 8 rows: eigenvalues 1.09 .. -3.27
local function indefinite()
  wb.seed(28)
  local m = wb.nn.Sequential{wb.nn.Dense(3, 3, {activation = "tanh"}),
    wb.nn.Dense(3, 3, {activation = "softmax"})}
  local ws = m:get_weights()
  for _, w in ipairs(ws) do w:copy(wb.randn(table.unpack(w:shape())) * 1.5) end
  m:set_weights(ws)
  local x, ids = wb.randn(8, 3), {}
  for i = 1, 8 do ids[i] = (i * 7 + 28) % 3 end
  return m, x, labels(ids)
end

local PY = "/usr/bin/python3"
local HAVE_NUMPY = os.execute(PY .. " -c 'import torch, numpy' 2>/dev/null")

-- The extreme eigenvalues {max, min} of PyTorch's float64 Hessian of
-- indefinite()'s loss by numpy.linalg.eigh: an implementation of its own
local function numpy_eigh(m, x, y)
  local w = {}
  for i, t in ipairs(m:get_weights()) do w[i] = t:reshape(t:numel()):totable() end
  local f, pf = os.tmpname(), os.tmpname()
  assert(io.open(f, "w")):write(cjson.encode{w = w, x = x:reshape(x:numel()):totable(),
    y = y:float():totable()}):close()
  assert(io.open(pf, "w")):write([==[
import sys, json, torch, numpy as np
torch.set_default_dtype(torch.float64)
c = json.load(open(sys.argv[1]))
flat = torch.tensor(sum(c["w"], []))
x = torch.tensor(c["x"]).reshape(8, 3); y = torch.tensor(c["y"]).long()
def loss(th):
    W1, b1, W2, b2 = torch.split(th, [9, 3, 9, 3])
    h = torch.tanh(x @ W1.reshape(3, 3) + b1)
    return torch.nn.functional.cross_entropy(h @ W2.reshape(3, 3) + b2, y)
H = torch.autograd.functional.hessian(loss, flat).numpy()
e = np.linalg.eigh((H + H.T) / 2)[0]
print(json.dumps({"max": float(e[-1]), "min": float(e[0])}))
]==]):close()
  local p = io.popen(PY .. " " .. pf .. " " .. f .. " 2>&1")
  local out = p:read("a")
  p:close(); os.remove(f); os.remove(pf)
  local ok, e = pcall(cjson.decode, out)
  T.ok(ok, "python: " .. out)
  return e
end

T.test("hess_max's record and help say it is the largest algebraic eigenvalue", function()
  local m, x, y = indefinite()
  local h = one_step(m, x, y, {"hess_max"})
  T.ok(h.instruments.hess_max.eigenvalue:find("^largest %(algebraic, as Cockpit"),
    h.instruments.hess_max.eigenvalue)
  local help = wb.help.text("wb.instruments"):gsub("%s+", " ")
  T.ok(help:find("the largest eigenvalue (algebraic, as Cockpit)", 1, true), help)
end)

-- The reference is numpy's eigh of PyTorch's Hessian, not wb's own
-- eigensolver (landscape.lua's Jacobi): a copy of our code checks nothing.
local HESS_MAX_TEST = "hess_max and eigs{k = 1} are numpy's largest algebraic eigenvalue, "
  .. "where the smallest is larger in magnitude"
if HAVE_NUMPY then
  T.test(HESS_MAX_TEST, function()
    local m, x, y = indefinite()
    local d, w0 = {x = x, y = y}, m:get_weights()
    local e = numpy_eigh(m, x, y)
    local lo, hi = e.min, e.max
    T.ok(-lo > 2 * hi and hi > 0, string.format("the case: %g .. %g", lo, hi))
    local h = one_step(m, x, y, {"hess_max"})
    T.near(h.steps.hess_max[1], hi, 1e-4 * hi)
    m:set_weights(w0)
    T.near(wb.hessian.eigs(m, d, {k = 1, precision = "float64", tol = 1e-9}).values[1], hi,
      1e-6 * hi)
  end)
else
  T.test(HESS_MAX_TEST, function() T.missing("python3-torch") end)
end

-- }====================
-- {==================== the task intros ====================

T.test("task 13's and 15's intros say what the runs trained (--quick)", function()
  local root = T.tmpdir()
  for _, task in ipairs{"task13_weight_spectra", "task15_landscape"} do
    local st, _, err = T.sh(string.format("%s scripts/%s.lua --quick --seeds 1 --root %s",
      T.wb, task, root))
    T.eq(st, 0, err)
    local text = assert(io.open(root .. "/quick/" .. task .. "/README.md")):read("a")
    T.ok(text:find("784 -> 128 relu -> 10 softmax, Adam, batch 32, 2 epochs on the first "
      .. "2000 training rows", 1, true), text:sub(1, 1500))
    T.ok(not text:find("10 epochs", 1, true), "still says 10 epochs")
    if task == "task15_landscape" then
      T.ok(text:find("(500 training, 500 test images)", 1, true), text:sub(1, 1500))
    end
  end
end)

-- }====================

T.done()
