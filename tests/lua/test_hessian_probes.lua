-- test_hessian_probes.lua: the seeds of Hutchinson's probes. Until this,
-- wb.hessian.trace without a seed drew the same probes (seed 1) at every
-- call, so the errors of repeated estimates were one error, and the fit
-- instruments' record did not say how their probes were seeded; density's
-- (stochastic Lanczos quadrature) were seed 1 at every call too. Every
-- number here comes from fixed seeds (the test data's and the probes'), so
-- the assertions are exact equalities and inequalities, never chances.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local function labels(list)
  local y = wb.new_tensor({#list}, "uint8")
  for i, v in ipairs(list) do y:set(i, v) end
  return y
end

-- a tanh model (so no exact diagonal: fit's hess_trace is Hutchinson's),
-- 12 rows of data, built from wb.seed(seed) alone
local function case(seed)
  wb.seed(seed)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "tanh"}),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  local ids = {}
  for i = 1, 12 do ids[i] = (i * 7 + seed) % 3 end
  return m, wb.randn(12, 5), labels(ids)
end

-- the exact trace: the float64 matrix's diagonal
local function exact_trace(m, d)
  local H, tr = wb.hessian.full(m, d, {precision = "float64"}), 0
  for i = 1, H:size(1) do tr = tr + H:get(i, i) end
  return tr
end

-- the script that prints the seed and mean of a first trace on case(seed)
local function first_call_script(seed, probes)
  return string.format([[
local wb = require "wb"
wb.seed(%d)
local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "tanh"}),
  wb.nn.Dense(4, 3, {activation = "softmax"})}
local y = wb.new_tensor({12}, "uint8")
for i = 1, 12 do y:set(i, (i * 7 + %d) %% 3) end
local r = wb.hessian.trace(m, {x = wb.randn(12, 5), y = y}, {probes = %d})
io.write(string.format("%%d %%.17g", r.seed, r.mean))
]], seed, seed, probes)
end

T.test("trace without a seed: repeated calls draw fresh probes, each near the exact trace",
    function()
  local m, x, y = case(1)
  local d = {x = x, y = y}
  local tr = exact_trace(m, d)
  local a = wb.hessian.trace(m, d, {probes = 200})
  local b = wb.hessian.trace(m, d, {probes = 200})
  T.ok(a.mean ~= b.mean, string.format("the two estimates differ: %.17g", a.mean))
  T.ok(a.seed ~= b.seed, "the two calls' seeds differ: " .. tostring(a.seed))
  -- generous bounds (6 standard errors); the numbers are fixed, not drawn anew
  for _, r in ipairs{a, b} do
    T.ok(math.abs(r.mean - tr) <= 6 * r.stderr, string.format("%.6g +- %.3g vs exact %.6g",
      r.mean, r.stderr, tr))
  end
  T.ok(math.abs((a.mean + b.mean) / 2 - tr) <= 6 * (a.stderr + b.stderr) / 2 / math.sqrt(2),
    "their mean")
  -- each seed is returned, and draws its probes again; 52 bits (exact in JSON)
  for _, r in ipairs{a, b} do
    T.eq(math.type(r.seed), "integer")
    T.ok(r.seed >= 0 and r.seed < 2 ^ 52, tostring(r.seed))
    local again = wb.hessian.trace(m, d, {probes = 200, seed = r.seed})
    T.eq(again.mean, r.mean, "seed = r.seed repeats the estimate")
    T.eq(again.stderr, r.stderr)
    T.eq(again.seed, r.seed)
  end
  -- a third call: still fresh
  local c = wb.hessian.trace(m, d, {probes = 200})
  T.ok(c.seed ~= a.seed and c.seed ~= b.seed and c.mean ~= a.mean and c.mean ~= b.mean)
end)

T.test("an explicit seed gives the old default's probes: the operator's own with that seed",
    function()
  local m, x, y = case(2)
  local d = {x = x, y = y}
  for _, seed in ipairs{1, 7} do
    local r = wb.hessian.trace(m, d, {probes = 20, seed = seed})
    local op <close> = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", false, 12,
      seed)
    local mean, se = op:trace(20)
    T.eq(r.mean, mean, "seed " .. seed)
    T.eq(r.stderr, se)
    T.eq(r.seed, seed)
    T.eq(wb.hessian.trace(m, d, {probes = 20, seed = seed}).mean, mean, "again")
  end
end)

T.test("a call's probes depend on its weights and data and their repeats, not on other calls",
    function()
  -- the first call on case(5) after calls on other weights and data draws
  -- what it draws in a process that made no call before
  local m1, x1, y1 = case(4)
  wb.hessian.trace(m1, {x = x1, y = y1}, {probes = 50})
  wb.hessian.trace(m1, {x = x1:rows(1, 6), y = y1:rows(1, 6)}, {probes = 50})
  local m, x, y = case(5)
  local r = wb.hessian.trace(m, {x = x, y = y}, {probes = 50})
  local path = os.tmpname()
  local fh = assert(io.open(path, "w"))
  fh:write(first_call_script(5, 50))
  fh:close()
  local status, out, err = T.run_wb(T.quote(path))
  os.remove(path)
  T.eq(status, 0, err)
  T.eq(out, string.format("%d %.17g", r.seed, r.mean), "a fresh process's first call")
  -- other data on the same weights, or other weights: other probes
  local other = wb.hessian.trace(m, {x = x:rows(1, 6), y = y:rows(1, 6)}, {probes = 50})
  T.ok(other.seed ~= r.seed)
  -- the global generator is not drawn from
  wb.seed(9); local u = wb.rand(1, 3):totable()[1]
  wb.seed(9)
  wb.hessian.trace(m, {x = x, y = y}, {probes = 50})
  local v = wb.rand(1, 3):totable()[1]
  for i = 1, 3 do T.eq(v[i], u[i], "the global generator is where it was") end
end)

T.test("a failed call leaves the stream where it was", function()
  local m, x, y = case(6)
  local d = {x = x, y = y}
  -- the same Dense layers (the same weights) after a Dropout: refused
  local bad = wb.nn.Sequential{m[1], m[2], wb.nn.Dropout(0.5)}
  local ok = pcall(wb.hessian.trace, bad, d, {probes = 20})
  T.ok(not ok, "refused")
  local a = wb.hessian.trace(m, d, {probes = 20})
  local path = os.tmpname()
  local fh = assert(io.open(path, "w"))
  fh:write(first_call_script(6, 20))
  fh:close()
  local status, out, err = T.run_wb(T.quote(path))
  os.remove(path)
  T.eq(status, 0, err)
  T.eq(out, string.format("%d %.17g", a.seed, a.mean), "the first call's probes")
end)

T.test("density without a seed: fresh probes per call, its seed returned and repeatable",
    function()
  -- before: seed 1 at every call, so repeated densities shared one error
  local m, x, y = case(7)
  local d = {x = x, y = y}
  local o = {steps = 6, probes = 2, grid = 50}
  local a, b = wb.hessian.density(m, d, o), wb.hessian.density(m, d, o)
  T.ok(math.type(a.seed) == "integer" and a.seed >= 0 and a.seed < 2 ^ 52, tostring(a.seed))
  T.ok(a.seed ~= b.seed, "the two calls' seeds differ")
  T.ok(a.nodes[1][1] ~= b.nodes[1][1], "and their probes")
  for _, r in ipairs{a, b} do -- a seed draws its probes again
    local again = wb.hessian.density(m, d, {steps = 6, probes = 2, grid = 50, seed = r.seed})
    T.eq(again.seed, r.seed)
    for p = 1, 2 do
      for i = 1, #r.nodes[p] do
        T.eq(again.nodes[p][i], r.nodes[p][i]); T.eq(again.weights[p][i], r.weights[p][i])
      end
    end
    T.eq(table.concat(again.y, " "), table.concat(r.y, " "))
  end
  -- an explicit seed is the operator's own with that seed (seed 1: the old default)
  local op <close> = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", false, 12, 1)
  local nodes = op:slq(2, 6)
  local one = wb.hessian.density(m, d, {steps = 6, probes = 2, grid = 50, seed = 1})
  T.eq(one.seed, 1)
  for i = 1, #nodes[1] do T.eq(one.nodes[1][i], nodes[1][i]) end
end)

T.test("density's calls leave trace's probes as they were (counted apart)", function()
  local m, x, y = case(8)
  wb.hessian.density(m, {x = x, y = y}, {steps = 4, probes = 1, grid = 20})
  local r = wb.hessian.trace(m, {x = x, y = y}, {probes = 20})
  local path = os.tmpname()
  local fh = assert(io.open(path, "w"))
  fh:write(first_call_script(8, 20))
  fh:close()
  local status, out, err = T.run_wb(T.quote(path))
  os.remove(path)
  T.eq(status, 0, err)
  T.eq(out, string.format("%d %.17g", r.seed, r.mean), "trace's first call, as in a process "
    .. "that made no density call")
end)

T.test("fit's hess_trace without a seed: step t's probes are seed t's, fresh at each step, "
    .. "recorded", function()
  local m, x, y = case(3)
  local d = {x = x, y = y}
  local w0 = m:get_weights()
  -- lr 0 and the whole data as the batch: every step measures the same
  -- Hessian, so the estimates differ only through their probes
  local h = m:fit(x, y, {batch_size = 12, epochs = 4, shuffle = false, verbose = false,
    optimizer = wb.optim.SGD{lr = 0}, instruments = {"hess_trace", "tic_trace"}, every = 1})
  T.eq(h.instruments.hess_trace_method, "hutchinson")
  T.eq(h.instruments.hess_trace_probe_seed, "step")
  m:set_weights(w0)
  local tr, st = exact_trace(m, d), h.steps
  T.eq(table.concat(st.step, " "), "1 2 3 4")
  local errors = {}
  for i, step in ipairs(st.step) do
    local r = wb.hessian.trace(m, d, {probes = h.instruments.hess_trace_probes, seed = step})
    T.near(st.hess_trace[i], r.mean, 1e-9 * math.abs(r.mean), "step " .. step)
    T.near(st.hess_trace_se[i], r.stderr, 1e-9 * r.stderr)
    errors[i] = st.hess_trace[i] - tr
  end
  for i = 2, #errors do
    for j = 1, i - 1 do
      T.ok(errors[i] ~= errors[j], string.format("steps %d and %d: the same error %.17g",
        j, i, errors[i]))
    end
  end
  -- relu under cross-entropy: the exact diagonal, no probes to seed
  wb.seed(3)
  local r = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "relu"}),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  local hr = r:fit(x, y, {batch_size = 12, epochs = 1, verbose = false,
    instruments = {"hess_trace"}})
  T.eq(hr.instruments.hess_trace_method, "exact")
  T.eq(hr.instruments.hess_trace_probe_seed, nil)
  T.eq(h.instruments.hess_trace_probe_fit_seed, nil)
end)

T.test("fit's hess_trace with a seed: probes hashed from the fit's seed and the step, so "
    .. "seeds' estimates have their own errors", function()
  -- before: step t's probes were seed t's whatever the fit's seed, so the
  -- fits of seeds 1..n shared each step's error (their spread understated it)
  local m, x, y = case(9)
  local d = {x = x, y = y}
  local w0 = m:get_weights()
  -- lr 0, one batch of all rows, no shuffle and no dropout: every fit and
  -- step measures the same Hessian, only the probes differ
  local function run(seed)
    m:set_weights(w0)
    return m:fit(x, y, {batch_size = 12, epochs = 3, shuffle = false, verbose = false,
      seed = seed, optimizer = wb.optim.SGD{lr = 0}, instruments = {"hess_trace"}, every = 1})
  end
  local P = wb.instruments.probe_seed
  local hs = {[1] = run(1), [2] = run(2), [-7] = run(-7)}
  local again = run(2)
  m:set_weights(w0)
  for s, h in pairs(hs) do
    T.eq(h.instruments.hess_trace_probe_seed, "fit seed and step")
    T.eq(h.instruments.hess_trace_probe_fit_seed, s)
    for i, step in ipairs(h.steps.step) do
      local seed = P(s, step)
      -- the documented hash: FNV-1a 64 of "s t", its low 52 bits
      T.eq(seed, tonumber(require("wb.util").fnv1a64(s .. " " .. step):sub(-13), 16))
      T.ok(math.type(seed) == "integer" and seed >= 0 and seed < 2 ^ 52, tostring(seed))
      local r = wb.hessian.trace(m, d, {probes = 8, seed = seed})
      T.eq(h.steps.hess_trace[i], r.mean, "seed " .. s .. " step " .. step)
      T.eq(h.steps.hess_trace_se[i], r.stderr)
    end
  end
  for i = 1, 3 do
    T.ok(hs[1].steps.hess_trace[i] ~= hs[2].steps.hess_trace[i]
      and hs[2].steps.hess_trace[i] ~= hs[-7].steps.hess_trace[i], "step " .. i
      .. ": seeds 1, 2 and -7 draw their own probes")
    T.eq(again.steps.hess_trace[i], hs[2].steps.hess_trace[i], "the same seed: the same")
  end
  T.eq(P(nil, 5), 5, "a fit without a seed: the step")
  T.check_error("probe_seed: expected integers s (or nil) and t, got 1.5 and 2", P, 1.5, 2)
end)

T.test("fit's hess_trace across save_state and resume: the saved fit's probes go on",
    function()
  local _, x, y = case(10)
  local function model()
    wb.seed(10)
    return wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "tanh"}),
      wb.nn.Dense(4, 3, {activation = "softmax"})}
  end
  local function o(epochs, seed, resume)
    return {epochs = epochs, batch_size = 4, verbose = false, seed = seed, resume = resume,
      optimizer = wb.optim.SGD{lr = 0.1}, instruments = {"hess_trace"}, every = 1}
  end
  local h1 = model():fit(x, y, o(3, 4))
  local m2 = model()
  m2:fit(x, y, o(2, 4))
  local path = os.tmpname()
  m2:save_state(path)
  -- the same seed, or none (the saved RNG state goes on, and so do the probes); another
  -- would be overruled by it: refused (audit Q 10)
  T.check_error("was trained with seed = 4, this fit has seed = 5", function()
    return model():fit(x, y, o(3, 5, path)) end)
  for _, seed in ipairs{4, false} do
    local h3 = model():fit(x, y, o(3, seed or nil, path))
    T.eq(h3.instruments.hess_trace_probe_seed, "fit seed and step")
    T.eq(h3.instruments.hess_trace_probe_fit_seed, 4)
    T.eq(table.concat(h3.steps.hess_trace, " "), table.concat(h1.steps.hess_trace, " "),
      "resumed with seed " .. tostring(seed))
  end
  os.remove(path)
end)

T.done()
