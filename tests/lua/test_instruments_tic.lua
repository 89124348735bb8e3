-- test_instruments_tic.lua: fit's tic is Cockpit's TICDiag (the issue's
-- and Cockpit's presets' tic), sum over parameters j of E[g_ij^2] / (H_jj +
-- 1e-7), checked against its definition from explicit per-sample gradients
-- (one row's forward and backward each) and the float64 Hessian's diagonal
-- (wb.hessian.full, checked against PyTorch in test_audit_curv); it is
-- refused, naming why, where the exact diagonal is not computed; tic_trace
-- keeps TICTrace. Then the audit's other findings: alpha at lr = 0 is -1
-- (Cockpit's "no step"), not NaN; gsnr of a parameter whose per-sample
-- gradients are all equal has variance 0, not a negative rounding.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local function labels(list)
  local y = wb.new_tensor({#list}, "uint8")
  for i, v in ipairs(list) do y:set(i, v) end
  return y
end

-- a model from spec {{n_in, n_out, activation, bias, l2}, ...} (l2s taken
-- as 0 when nol2), weights N(0, 0.8^2) of seed, a Flatten first when flat
local function build(spec, seed, nol2, flat)
  wb.seed(seed)
  local layers = {}
  if flat then layers[1] = wb.nn.Flatten() end
  for _, s in ipairs(spec) do
    layers[#layers + 1] = wb.nn.Dense(s[1], s[2], {activation = s[3], bias = s[4],
      l2 = nol2 and 0 or s[5]})
  end
  local m = wb.nn.Sequential(layers)
  local ws = m:get_weights()
  for _, w in ipairs(ws) do w:copy(wb.randn(table.unpack(w:shape())) * 0.8) end
  m:set_weights(ws)
  return m
end

-- row i of x [B, ...] as a tensor [1, ...]
local function row(x, i)
  local shape = x:shape()
  local n = x:numel() // shape[1]
  shape[1] = 1
  local r, flat = wb.new_tensor(shape), x:reshape(x:size(1), n)
  local rf = r:reshape(1, n)
  for j = 1, n do rf:set(1, j, flat:get(i, j)) end
  return r
end

-- the sum over parameters of (sum_i g_ij^2 / B) / (H_jj + 1e-7): g_i row
-- i's gradient of its cross-entropy (a model without L2, one row's forward
-- and backward), H the float64 Hessian of the loss fit minimises
local function tic_reference(spec, seed, flat, x, y)
  local B = x:size(1)
  local m0 = build(spec, seed, true, flat)
  local _, grads = m0:parameters()
  local sq = {}
  for i = 1, B do
    local xi = row(x, i)
    m0:zero_grad()
    m0:forward(xi, true)
    local z = m0[#m0]:logits()
    local C, mx, s = z:size(2), -math.huge, 0
    for c = 1, C do mx = math.max(mx, z:get(1, c)) end
    for c = 1, C do s = s + math.exp(z:get(1, c) - mx) end
    local gz = wb.new_tensor({1, C})
    for c = 1, C do
      gz:set(1, c, math.exp(z:get(1, c) - mx) / s - (c - 1 == y:get(i) and 1 or 0))
    end
    m0:backward_logits(xi, gz, false)
    local k = 0
    for _, g in ipairs(grads) do
      for _, v in ipairs(g:reshape(g:numel()):totable()) do
        k = k + 1
        sq[k] = (sq[k] or 0) + v * v
      end
    end
  end
  local m = build(spec, seed, false, flat)
  local H = wb.hessian.full(m, {x = x, y = y}, {precision = "float64"}):totable()
  T.eq(#H, #sq, "parameters")
  local tic = 0
  for j = 1, #sq do tic = tic + (sq[j] / B) / (H[j][j] + 1e-7) end
  return tic
end

local function fit_once(m, x, y, names, opt)
  return m:fit(x, y, {batch_size = x:size(1), shuffle = false, verbose = false,
    optimizer = opt or wb.optim.SGD{lr = 0.1}, instruments = names, every = 1})
end

T.test("tic is TICDiag: sum_j E[g_j^2] / (H_jj + 1e-7) from per-sample gradients and H",
    function()
  local cases = {
    -- relu, a middle layer without bias, L2 on every layer, softmax last
    {spec = {{5, 4, "relu", true, 0.01}, {4, 3, "relu", false, 0.02},
      {3, 3, "softmax", true, 0.005}}, seed = 1, B = 6, shape = {6, 5}},
    -- a Flatten first, linear layers (logits last), rows of zeros (sparse path)
    {spec = {{6, 4, "linear", true, 0}, {4, 3, "linear", true, 0}}, seed = 2, B = 7,
      shape = {7, 2, 3}, flat = true, zeros = {2, 5}},
    -- one row
    {spec = {{5, 4, "relu", true, 0}, {4, 3, "softmax", true, 0}}, seed = 3, B = 1,
      shape = {1, 5}},
  }
  for n, c in ipairs(cases) do
    wb.seed(100 + n)
    local x = wb.randn(table.unpack(c.shape))
    for _, i in ipairs(c.zeros or {}) do
      local xf = x:reshape(c.B, x:numel() // c.B)
      for j = 1, xf:size(2) do xf:set(i, j, 0) end
    end
    local ids = {}
    for i = 1, c.B do ids[i] = (i * 7 + n) % 3 end
    local y = labels(ids)
    local want = tic_reference(c.spec, c.seed, c.flat, x, y)
    local m = build(c.spec, c.seed, false, c.flat)
    local h = fit_once(m, x, y, {"tic", "hess_trace", "tic_trace"})
    T.eq(h.instruments.hess_trace_method, "exact")
    local got = h.steps.tic[1]
    T.ok(math.abs(got - want) <= 1e-5 * math.abs(want),
      string.format("case %d: tic %.10g, definition %.10g", n, got, want))
    T.eq(h.steps.tic_se, nil, "tic is exact: no standard error")
    -- tic_trace stays TICTrace, the same numerator over the trace
    local tr = h.steps.hess_trace[1]
    T.ok(h.steps.tic_trace[1] > 0 and h.steps.tic_trace_se[1] == 0, "tic_trace")
    T.ok(math.abs(got - h.steps.tic_trace[1]) > 1e-3 * got, "TICDiag is not TICTrace")
    T.ok(tr > 0, "trace")
  end
end)

T.test("the full preset's tic is tic's alone: hess_max's products leave what it reads",
    function()
  local function run(names)
    local m = build({{6, 8, "relu", true, 0}, {8, 3, "softmax", true, 0}}, 7)
    wb.seed(8)
    local x, ids = wb.randn(20, 6), {}
    for i = 1, 20 do ids[i] = i % 3 end
    return m:fit(x, labels(ids), {batch_size = 10, epochs = 2, shuffle = false,
      verbose = false, instruments = names, every = 1}).steps.tic
  end
  local a, b = run{"tic"}, run(wb.instruments.full)
  T.eq(#a, 4)
  for i = 1, 4 do T.eq(b[i], a[i], "step " .. i) end
end)

T.test("tic is refused at fit's start where the exact diagonal is not computed", function()
  wb.seed(4)
  local x, y = wb.randn(6, 5), labels{0, 1, 2, 0, 1, 2}
  local m = build({{5, 4, "tanh", true, 0}, {4, 3, "softmax", true, 0}}, 4)
  T.check_error("fit: instrument tic needs the exact Hessian diagonal: relu/linear Dense "
    .. "layers (Flatten between them) with a softmax or linear last, under cross-entropy; "
    .. "this model's layer 1 is a Dense with activation tanh", fit_once, m, x, y, {"tic"})
  local m2 = build({{5, 4, "relu", true, 0}, {4, 3, "linear", true, 0}}, 4)
  T.check_error("; this fit's loss is mse", function()
    return m2:fit(x, y, {batch_size = 6, verbose = false, loss = "mse",
      instruments = {"tic"}})
  end)
  -- tic_trace divides by Hutchinson's trace there, as the old tic did
  local h = fit_once(m, x, y, {"tic_trace"})
  T.eq(h.instruments.hess_trace_method, "hutchinson")
  T.ok(h.steps.tic_trace[1] == h.steps.tic_trace[1] and h.steps.tic_trace_se[1] > 0,
    "tic_trace and its standard error")
  T.ok(wb.instruments.NAMES[10] == "tic" and wb.instruments.NAMES[11] == "tic_trace", "NAMES")
  for _, preset in ipairs{wb.instruments.economy, wb.instruments.full} do
    for _, name in ipairs(preset) do T.ok(name ~= "tic_trace", "tic_trace in a preset") end
  end
end)

-- tryU 2: dropping tic to pass its refusal left hess_trace an 8-probe
-- estimate without a word; the fit says so once, and nothing when exact.
T.test("a fit says once on stderr that hess_trace is Hutchinson's estimate", function()
  wb.seed(5)
  local x, y = wb.randn(6, 5), labels{0, 1, 2, 0, 1, 2}
  local m = build({{5, 4, "tanh", true, 0}, {4, 3, "softmax", true, 0}}, 5)
  local h, said = T.stderr_of(function()
    return m:fit(x, y, {batch_size = 2, epochs = 2, verbose = false,
      instruments = {"hess_trace"}, every = 1})
  end)
  T.eq(h.instruments.hess_trace_method, "hutchinson")
  T.eq(#h.steps.hess_trace_se, 6, "six measured steps")
  local _, n = said:gsub("fit: instruments: hess_trace from Hutchinson's estimate of the "
    .. "trace %(8 probes a measured step; this model's layer 1 is a Dense with activation "
    .. "tanh%), its standard error in history.steps.hess_trace_se; the exact trace needs", "")
  T.eq(n, 1, "said once: " .. said)
  T.eq(select(2, said:gsub("\n", "")), 1, "one line: " .. said)
  local exact = build({{5, 4, "relu", true, 0}, {4, 3, "softmax", true, 0}}, 5)
  local h2, said2 = T.stderr_of(function() return fit_once(exact, x, y, {"hess_trace"}) end)
  T.eq(h2.instruments.hess_trace_method, "exact")
  T.eq(said2, "", "nothing said when exact")
end)

T.test("alpha at lr = 0 is -1 (no step: Cockpit's and wb.instruments.alpha's), not NaN",
    function()
  for _, opt in ipairs{function() return wb.optim.SGD{lr = 0} end,
      function() return wb.optim.Adam{lr = 0} end} do
    for _, l2 in ipairs{0, 0.01} do
      wb.seed(5)
      local x, y = wb.randn(12, 5), labels{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}
      local m = build({{5, 4, "relu", true, l2}, {4, 3, "softmax", true, 0}}, 5)
      local h = m:fit(x, y, {batch_size = 4, shuffle = false, verbose = false, epochs = 1,
        optimizer = opt(), instruments = {"alpha"}, every = 1})
      local a = h.steps.alpha
      T.eq(a[1], -1, "step 1")
      T.eq(a[2], -1, "step 2")
      T.ok(a[3] ~= a[3], "the last step's alpha is pending: NaN")
    end
  end
  T.eq(wb.instruments.alpha(0, 1, 1, -1, -1, 0 / 0, 0 / 0, 0 / 0, 0 / 0), -1)
end)

T.test("gsnr: per-sample gradients all equal give variance 0, not a rounding off it",
    function()
  -- rows of zeros with one label: every row's gradient is the same, so each
  -- term is g^2 / (0 + 1e-5) (float32 sums left the variance about 1e-9
  -- off 0, either way: terms off by up to 1e-3)
  local B = 16
  for seed = 1, 12 do
    local x, ids = wb.zeros(B, 20), {}
    for i = 1, B do ids[i] = seed % 3 end
    local y = labels(ids)
    local m = build({{20, 8, "relu", true, 0}, {8, 3, "softmax", true, 0}}, seed)
    local _, grads = m:parameters()
    local w0 = m:get_weights()
    local h = fit_once(m, x, y, {"gsnr"}, wb.optim.SGD{lr = 0})
    m:set_weights(w0)
    m:zero_grad()
    m:forward(x, true)
    local z = m[#m]:logits()
    local gz = wb.new_tensor({B, 3})
    for i = 1, B do
      local mx, s = -math.huge, 0
      for c = 1, 3 do mx = math.max(mx, z:get(i, c)) end
      for c = 1, 3 do s = s + math.exp(z:get(i, c) - mx) end
      for c = 1, 3 do
        gz:set(i, c, (math.exp(z:get(i, c) - mx) / s - (c - 1 == ids[i] and 1 or 0)) / B)
      end
    end
    m:backward_logits(x, gz, false)
    local total, count = 0, 0
    for _, g in ipairs(grads) do
      for _, v in ipairs(g:reshape(g:numel()):totable()) do
        total, count = total + v * v / 1e-5, count + 1
      end
    end
    local want, got = total / count, h.steps.gsnr[1]
    T.ok(want > 1, "a non-zero gradient: " .. want)
    T.ok(math.abs(got - want) <= 1e-6 * want,
      string.format("seed %d: gsnr %.10g, g^2 / 1e-5 %.10g", seed, got, want))
  end
end)

-- PerSample:tic is sum_sq and hess_diag into tensors and _tic_diag over
-- them, bit for bit (the fit's tic before the one call; its summation order
-- is theirs where 32 divides a sparse layer's width), and its trace
-- hess_diag's to double rounding: a sparse first layer with L2 (width 32,
-- then 24: the column walk's tails), a dense chain without biases, and
-- kernels other than the model's own (as the fit's theta_t).
T.test("PerSample:tic is sum_sq, hess_diag and _tic_diag over their outputs", function()
  local B = 10
  for _, c in ipairs{{300, 32, true, 1e-3}, {300, 24, true, 0}, {12, 9, false, 0}} do
    wb.seed(5)
    local m = wb.nn.Sequential{wb.nn.Dense(c[1], c[2], {activation = "relu", l2 = c[4],
      bias = c[3]}), wb.nn.Dense(c[2], 7, {activation = "relu", bias = c[3]}),
      wb.nn.Dense(7, 3, {activation = "softmax"})}
    local x = wb.rand(B, c[1])
    for i = 1, B do
      for k = 1, c[1] do
        if c[1] > 100 and (i * 31 + k * 7) % 5 ~= 0 then x:set(i, k, 0) end
      end
    end
    local ls = {m[1], m[2], m[3]}
    for _, l in ipairs(ls) do wb.instruments.keep_dz(l, true) end
    local y = labels{0, 1, 2, 0, 1, 2, 0, 1, 2, 0}
    local ce = wb.nn.SparseCrossEntropy()
    m:forward(x, true)
    ce:forward(m[3]:logits(), y)
    m:zero_grad()
    m:backward_logits(x, ce:backward(), true)
    local kernels = {false, m[2].weight * 1.5, m[3].weight * 0.5}
    local ps, inputs = wb.instruments.Scratch(), {x, m._h[2], m._h[3]}
    ps:begin(B)
    local tic, trace = ps:tic(ls, inputs, kernels, B, 1e-7)
    local S, D = m:get_weights(), m:get_weights()
    local k = 0
    for j, l in ipairs(ls) do
      ps:sum_sq(l, inputs[j], B, S[k + 1], l.use_bias and S[k + 2] or nil)
      k = k + (l.use_bias and 2 or 1)
    end
    -- the trace: the trace alone's bits (hess_trace the same with tic measured
    -- or not: review U7), the float diagonal's sum to rounding
    local want_tr = ps:hess_diag(ls, inputs, nil, kernels)
    local diag_tr = ps:hess_diag(ls, inputs, D, kernels)
    T.ok(math.abs(diag_tr - want_tr) <= 1e-6 * want_tr, string.format("%.17g, %.17g", diag_tr,
      want_tr))
    local want = 0
    for q = 1, #D do want = want + wb.instruments._tic_diag(S[q], D[q], B, 1e-7) end
    -- bits where the chains are ticd's (32 divides the width; a dense layer)
    local tol = (c[1] < 100 or c[2] % 32 == 0) and 0 or 1e-14 * want
    T.ok(want > 0 and math.abs(tic - want) <= tol,
      string.format("%d x %d: tic %.17g, want %.17g", c[1], c[2], tic, want))
    T.eq(trace, want_tr, string.format("trace %.17g, %.17g", trace, want_tr))
    local other = ps:hess_diag(ls, inputs, nil, nil)
    T.ok(math.abs(other - want_tr) > 1e-6 * want_tr, "the kernels are taken")
  end
end)

T.test("kernels of the wrong shape are refused, a transposed one too (review U1)", function()
  wb.seed(4)
  local B = 5
  local m = wb.nn.Sequential{wb.nn.Dense(6, 4, {activation = "relu"}),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  local x, y = wb.randn(B, 6), wb.new_tensor({B}, "uint8")
  for i = 1, B do y:set(i, i % 3) end
  for i = 1, 2 do wb.instruments.keep_dz(m[i], true) end
  local ce = wb.nn.SparseCrossEntropy()
  m:forward(x, true); ce:forward(m[2]:logits(), y)
  m:zero_grad(); m:backward_logits(x, ce:backward(), true)
  local ps, ls, inputs = wb.instruments.Scratch(), {m[1], m[2]}, {x, m._h[2]}
  ps:begin(B)
  for _, k in ipairs{wb.randn(3, 4), wb.randn(12), wb.randn(4, 3, 1)} do
    T.check_error("entry 2: expected float32 %[4, 3%] %(the layer's kernel%)", ps.hess_diag,
      ps, ls, inputs, nil, {false, k})
    T.check_error("entry 2: expected float32 %[4, 3%] %(the layer's kernel%)", ps.tic, ps,
      ls, inputs, {false, k}, B, 1e-7)
  end
  T.eq(ps:hess_diag(ls, inputs, nil, {false, m[2].weight}), ps:hess_diag(ls, inputs))
end)

T.test("hess_trace has the same bits with tic measured or not (review U7)", function()
  local x = wb.rand(40, 12)
  for i = 1, 40 do for j = 1, 12 do if (i * j) % 3 == 0 then x:set(i, j, 0) end end end
  local y = wb.new_tensor({40}, "uint8")
  for i = 1, 40 do y:set(i, i % 3) end
  local function traces(names, l2)
    wb.seed(6)
    local m = wb.nn.Sequential{wb.nn.Dense(12, 8, {activation = "relu", l2 = l2}),
      wb.nn.Dense(8, 3, {activation = "softmax"})}
    local h = m:fit(x, y, {batch_size = 8, epochs = 1, seed = 1, verbose = false,
      optimizer = wb.optim.SGD{lr = 0.1}, instruments = names, every = 1})
    local t = {}
    for i, v in ipairs(h.steps.hess_trace) do t[i] = string.format("%a", v) end
    return table.concat(t, " ")
  end
  for _, l2 in ipairs{false, 1e-3} do
    local alone = traces({"hess_trace"}, l2 or nil)
    T.eq(traces({"hess_trace", "tic"}, l2 or nil), alone, "with tic, l2 " .. tostring(l2))
    T.eq(traces({"tic", "tic_trace", "hess_trace"}, l2 or nil), alone, "with tic and tic_trace")
  end
end)

T.done()
