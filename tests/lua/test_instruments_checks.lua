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

T.done()
