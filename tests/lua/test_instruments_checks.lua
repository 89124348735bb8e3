-- Checks of the instruments' input. Experiment configs are checked when the
-- experiment is declared, as fit checks them: a config fit would refuse
-- (every without instruments, an instrument the loss does not support, an
-- unknown name) is an error naming the key and its place before any run
-- trains, not a failure of every run in its child process. per_sample's
-- errors say per_sample once. The test statistics are NaN, not infinite,
-- where they are undefined (one row, or a zero mean gradient).
local T = dofile("tests/lua/harness.lua")

local function ex(base, more)
  local spec = {name = "si", base = base, seeds = {1}}
  for k, v in pairs(more or {}) do spec[k] = v end
  return wb.experiment(spec)
end

T.test("every without instruments is refused at declaration, naming its place", function()
  T.check_error("experiment.base.every: every sets how often instruments measure; "
    .. "give instruments too", ex, {hidden = 8, every = 4})
  T.check_error("experiment.vary.every: every sets", ex, {hidden = 8},
    {vary = {every = {2, 4}}})
  T.check_error("experiment.variants[2].every: every sets", ex, {hidden = 8},
    {variants = {{label = "a", instruments = "economy", every = 2}, {label = "b", every = 4}}})
  -- instruments in the base make every in a variant fine
  T.eq(#ex({hidden = 8, instruments = "economy"}, {vary = {every = {2, "log"}}}).specs, 2)
end)

T.test("an instrument the loss does not support is refused at declaration", function()
  T.check_error("experiment.base.instruments: instrument alpha needs per-sample losses, "
    .. "which are computed for the default cross-entropy only, not for loss hinge", ex,
    {hidden = 8, instruments = {"alpha"}, loss = "hinge"})
  T.check_error("experiment.vary.instruments: instrument tic needs the Hessian", ex,
    {hidden = 8, loss = "categorical_crossentropy"}, {vary = {instruments = {{"tic"}}}})
  T.check_error("experiment.base.instruments: instrument alpha needs", ex,
    {hidden = 8, instruments = "economy"}, {vary = {loss = {"sparse_categorical_crossentropy",
    "squared_hinge"}}})
  T.eq(#ex({hidden = 8, instruments = "full", loss = "sparse_categorical_crossentropy"}).specs, 1)
  T.eq(#ex({hidden = 8, instruments = {"grad_norm", "gsnr"}, loss = "hinge"}).specs, 1,
    "instruments that need no particular loss")
end)

T.test("an unknown instrument name in a config is named, with the nearest one", function()
  local e = T.check_error("experiment.base.instruments: expected", ex,
    {hidden = 8, instruments = {"loss", "gradnorm"}})
  T.ok(e:find("'gradnorm' is not one (did you mean 'grad_norm'?)", 1, true), e)
end)

T.test("per_sample names itself once in the error of a head it does not support", function()
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "relu"})}
  local e = T.check_error("per_sample: the last layer must be Dense", wb.instruments.per_sample,
    m, wb.zeros(2, 4), wb.zeros(2))
  T.ok(not e:find("per_sample: per_sample:", 1, true), e)
  -- it offered Activation('softmax'), which per_sample then refused
  T.ok(not e:find("Activation", 1, true), e)
end)

T.test("the test statistics are NaN for one row or a zero mean gradient", function()
  local I = wb.instruments
  local function nan(x, what) T.ok(x ~= x, what .. ": " .. tostring(x)) end
  -- one row: sq and g2 are the same number up to rounding
  nan(I.norm_test(1, 2.0000001, 2), "norm_test B = 1")
  nan(I.inner_test(1, 4.0000001, 2), "inner_test B = 1")
  nan(I.ortho_test(1, 2.0000001, 4, 2), "ortho_test B = 1")
  nan(I.norm_test(4, 3, 0), "norm_test g = 0")
  nan(I.inner_test(4, 0, 0), "inner_test g = 0")
  nan(I.ortho_test(4, 3, 0, 0), "ortho_test g = 0")
  T.ok(I.norm_test(4, 3, 0.5) == I.norm_test(4, 3, 0.5), "defined otherwise")
  -- in fit, at batch size 1
  local x, y = wb.rand(6, 5), wb.new_tensor({6}, "uint8")
  for i = 1, 6 do y[i] = i % 3 end
  wb.seed(2)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 3, {activation = "softmax"})}
  local h = m:fit(x, y, {batch_size = 1, optimizer = "sgd", verbose = false,
    instruments = {"norm_test", "inner_test", "ortho_test"}})
  for _, k in ipairs{"norm_test", "inner_test", "ortho_test"} do
    for i, v in ipairs(h.steps[k]) do nan(v, k .. " at step " .. i) end
  end
end)

T.test("alpha is NaN at batch size 1 (its variances are undefined), -1 was wrong", function()
  local I = wb.instruments
  local nan = 0 / 0
  T.ok(I.alpha(1, 1, 0, -2, 0, nan, nan, nan, nan) ~= I.alpha(1, 1, 0, -2, 0, nan, nan,
    nan, nan), "a NaN variance")
  T.eq(I.alpha(1, 1, 0, -2, 0, 1, 1, 1, 1), 0)
  local x, y = wb.rand(6, 5), wb.new_tensor({6}, "uint8")
  for i = 1, 6 do y[i] = i % 3 end
  wb.seed(2)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 3, {activation = "softmax"})}
  local h = m:fit(x, y, {batch_size = 1, optimizer = "sgd", verbose = false,
    instruments = {"alpha"}})
  for i, v in ipairs(h.steps.alpha) do T.ok(v ~= v, "alpha at step " .. i .. ": " .. v) end
end)

T.test("instruments: a map, an empty list and preset names in fit", function()
  local x, y = wb.rand(8, 5), wb.new_tensor({8}, "uint8")
  for i = 1, 8 do y[i] = i % 3 end
  local m = wb.nn.Sequential{wb.nn.Dense(5, 3, {activation = "softmax"})}
  local function fit(v) return m:fit(x, y, {verbose = false, instruments = v}) end
  T.check_error('fit: instruments must be "economy", "full" or a list of names '
    .. '(wb.instruments.economy, {"grad_norm"}, ...), got a table with key grad_norm = true',
    fit, {grad_norm = true})
  T.check_error('or a list of names (wb.instruments.economy, {"grad_norm"}, ...), got an '
    .. 'empty list', fit, {})
  T.eq(table.concat(fit("economy").instruments.names, ","),
    table.concat(fit(wb.instruments.economy).instruments.names, ","))
  T.eq(#fit("full").instruments.names, #wb.instruments.full)
end)

T.test("the Hessian instruments under mse: linear last works (one-hot targets), softmax "
    .. "last is refused before training", function()
  local x, y = wb.rand(12, 5), wb.new_tensor({12}, "uint8")
  for i = 1, 12 do y[i] = i % 3 end
  local t = wb.zeros(12, 3)
  for i = 1, 12 do t:set(i, i % 3 + 1, 1) end
  local function model(last)
    wb.seed(3)
    return wb.nn.Sequential{wb.nn.Dense(5, 6, {activation = "relu"}),
      wb.nn.Dense(6, 3, {activation = last})}
  end
  local h = model("linear"):fit(x, y, {batch_size = 12, optimizer = "sgd", verbose = false,
    loss = "mse", instruments = {"hess_trace", "hess_max", "tic_trace"}})
  -- step 1 is at the initial weights, on every row
  local m0 = model("linear")
  local r = wb.hessian.trace(m0, {x = x, y = t}, {probes = 8, seed = 1, loss = "mse"})
  T.near(h.steps.hess_trace[1], r.mean, 1e-4 * math.abs(r.mean), "hess_trace")
  local top = wb.hessian.eigs(m0, {x = x, y = t}, {k = 1, loss = "mse"}).values[1]
  T.near(h.steps.hess_max[1], top, 1e-3 * math.abs(top), "hess_max")
  for _, n in ipairs{"hess_trace", "hess_max", "tic_trace"} do
    local steps = 0
    T.check_error("fit: instrument " .. n .. " needs the Hessian, which is computed for loss "
      .. "mse only with a last layer that is not softmax (this model's last activation is "
      .. "softmax)", function()
        model("softmax"):fit(x, y, {optimizer = "sgd", verbose = false, loss = "mse",
          instruments = {n}, callbacks = {wb.callbacks.Lambda{
            on_train_batch_end = function() steps = steps + 1 end}}})
      end)
    T.eq(steps, 0, "refused before the first step")
  end
end)

T.test("a Flatten keeps hess_trace exact: the same trace as without it", function()
  local x, y = wb.rand(16, 6), wb.new_tensor({16}, "uint8")
  for i = 1, 16 do y[i] = i % 3 end
  local out = {}
  for _, flat in ipairs{false, true} do
    wb.seed(4)
    local layers = {wb.nn.Dense(6, 8, {activation = "relu"}),
      wb.nn.Dense(8, 3, {activation = "softmax"})}
    if flat then table.insert(layers, 1, wb.nn.Flatten()) end
    local h = wb.nn.Sequential(layers):fit(x, y, {batch_size = 8, seed = 1, verbose = false,
      instruments = {"hess_trace", "tic", "tic_trace"}})
    T.eq(h.instruments.hess_trace_method, "exact", flat and "with Flatten" or "without")
    out[#out + 1] = h.steps
  end
  for i = 1, #out[1].hess_trace do
    T.eq(out[2].hess_trace[i], out[1].hess_trace[i], "hess_trace " .. i)
    T.eq(out[2].tic[i], out[1].tic[i], "tic " .. i)
    T.eq(out[2].tic_trace[i], out[1].tic_trace[i], "tic_trace " .. i)
  end
end)

T.test("the test statistics and alpha name a wrong argument as a C function would", function()
  local I = wb.instruments
  T.check_error("bad argument #2 to 'norm_test' (number expected, got string)",
    I.norm_test, 32, "x", 1)
  T.check_error("bad argument #1 to 'inner_test' (number has no integer representation)",
    I.inner_test, 32.5, 1, 1)
  T.check_error("bad argument #4 to 'ortho_test' (number expected, got nil)",
    I.ortho_test, 32, 1, 1)
  T.check_error("bad argument #3 to 'ortho_test' (number expected, got table)",
    I.ortho_test, 32, 1, {}, 1)
  T.check_error("bad argument #9 to 'alpha' (number expected, got nil)",
    I.alpha, 1, 1, 0, -2, 0, 1, 1, 1)
  T.ok(I.inner_test(32.0, 1, 1) ~= nil, "an integral float is a row count")
end)

-- A Lua layer under a Hessian instrument was refused at the first measured
-- step, after a step had trained, from a hook, as "layer 2: table is not
-- supported by wb.hessian"; per-sample instruments take it.
T.test("a Hessian instrument on a model with a Lua layer is refused before training",
  function()
  local function Scale()
    local L = {}
    function L:forward(x) return x * 2 end
    function L:backward(_, g, need) if need then return g * 2 end end
    function L:parameters() return {}, {} end
    function L:zero_grad() end
    return L
  end
  local x = wb.randn(16, 5)
  local y = wb.tensor({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0}, "uint8")
  for _, name in ipairs{"hess_max", "tic_trace", "hess_trace"} do
    wb.seed(1)
    local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "relu"}), Scale(),
      wb.nn.Dense(4, 3, {activation = "softmax"})}
    local steps = 0
    T.check_error("fit: instrument " .. name .. " needs wb.hessian, which takes Dense, "
      .. "Activation, Dropout and Flatten layers; layer 2 is a Lua layer (a table)", m.fit, m,
      x, y, {instruments = {name}, batch_size = 4, verbose = false, callbacks = {
        wb.callbacks.Lambda{on_train_batch_end = function() steps = steps + 1 end}}})
    T.eq(steps, 0, name .. ": refused before a step")
  end
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "relu"}), Scale(),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  local h = m:fit(x, y, {instruments = "economy", batch_size = 4, verbose = false})
  T.eq(#h.steps.grad_norm, 4)
end)

T.done()
