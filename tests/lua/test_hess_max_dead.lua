-- test_hess_max_dead.lua: fit's hess_max on a ReLU net that dies (tryU,
-- finding 1): 784-16-10 relu, batch 16, SGD lr 1.0, seed 1, the first 1600
-- MNIST rows in order. From about step 29 every hidden unit is dead, the
-- Hessian has rank 9 at most, and the warm band Lanczos (core/hvp_band.c)
-- recorded values 2x-18x above the largest eigenvalue (step 36: 2.166 for
-- 0.1157), which no Rayleigh quotient can reach, with residuals 0.4-13:
-- the basis lost its orthogonality once the Krylov space was exhausted.
-- Each value is compared with wb.hessian.eigs in float64 on the step's own
-- batch (in on_train_batch_begin: theta_t); a value may be NaN only when
-- history.instruments.hess_max.unconverged counts it.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local N, B = 1600, 16
local d = wb.data.mnist().train:subset(1, N)
wb.seed(1)
local m = wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
  wb.nn.Dense(16, 10, {activation = "softmax"})}
local ref = {}
local h = m:fit(d, {epochs = 1, batch_size = B, shuffle = false, seed = 1, verbose = false,
  optimizer = wb.optim.SGD{lr = 1.0}, instruments = {"hess_max", "loss"}, every = 1,
  callbacks = {wb.callbacks.Lambda{on_train_batch_begin = function(step)
    local e = wb.hessian.eigs(m, d:subset((step - 1) * B + 1, step * B),
      {k = 2, precision = "float64", tol = 1e-8, max_iter = 300})
    ref[step] = e.values[1]
  end}}})
local rec = h.instruments.hess_max

T.test("dead ReLU net: every hess_max within 1e-4 of the largest eigenvalue, or NaN counted",
  function()
  local off, above, nan, worst = {}, 0, 0, 0
  for i, st in ipairs(h.steps.step) do
    local got, want = h.steps.hess_max[i], ref[st]
    if got ~= got then
      nan = nan + 1
    else
      local rel = (got - want) / math.abs(want)
      if math.abs(rel) > 1e-4 then off[#off + 1] = string.format("step %d %.7g (%.7g)", st,
        got, want) end
      if rel > 1e-4 then above = above + 1 end
      if math.abs(rel) > math.abs(worst) then worst = rel end
    end
  end
  T.eq(#h.steps.step, N // B, "every step measured")
  T.ok(#off == 0, string.format("%d of %d more than 1e-4 off (%d above), worst %+.3g: %s",
    #off, #h.steps.step, above, worst, table.concat(off, ", ", 1, math.min(#off, 4))))
  T.eq(nan, rec.unconverged, "NaN values are the ones counted unconverged")
  -- the ReLU layer did die (else this tests nothing new): the loss back at ln 10
  T.ok(math.abs(h.steps.loss[#h.steps.step] - math.log(10)) < 0.1,
    "the net died: last loss " .. h.steps.loss[#h.steps.step])
end)

T.test("dead ReLU net: recorded residuals at most resid_max; the counts are there", function()
  T.eq(rec.resid_max, 1e-2, "resid_max")
  for i, st in ipairs(h.steps.step) do
    local v, r = h.steps.hess_max[i], h.steps.hess_max_residual[i]
    if v == v and not (r <= rec.resid_max) then
      T.ok(false, string.format("step %d: hess_max %.7g recorded with residual %.3g", st, v, r))
    end
  end
  T.ok(math.type(rec.redone) == "integer" and math.type(rec.unconverged) == "integer",
    "redone and unconverged are counts")
end)

-- The safety net itself (with the band fixed, nothing above reaches it): at
-- a resid_max below what most measurements reach (3e-4), each of those is redone
-- cold (counted), and recorded NaN (counted) when that is above it too.
T.test("a residual above resid_max: redone cold, then NaN, both counted", function()
  local L = wb.instruments._LANCZOS
  local keep = L.resid_max
  L.resid_max = 3e-4
  wb.seed(2)
  local m2 = wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
  local ok, h2, said = pcall(T.stderr_of, function()
    return m2:fit(d:subset(1, 20 * B), {epochs = 1, batch_size = B, shuffle = false, seed = 2,
      verbose = false, optimizer = wb.optim.SGD{lr = 0.5}, instruments = {"hess_max"},
      every = 1})
  end)
  L.resid_max = keep
  if not ok then error(h2, 0) end
  local _, warned = said:gsub("hess_max at step %d+ did not converge", "")
  T.eq(warned, 1, "one warning on stderr: " .. said)
  local r2, nan, above = h2.instruments.hess_max, 0, 0
  for i = 1, #h2.steps.step do
    local v, r = h2.steps.hess_max[i], h2.steps.hess_max_residual[i]
    if v ~= v then nan = nan + 1; T.ok(r > 3e-4, "a NaN's residual is kept: " .. r) end
    if v == v and r > 3e-4 then above = above + 1 end
  end
  T.eq(above, 0, "no value recorded with a residual above resid_max")
  T.eq(nan, r2.unconverged, "NaN values are the ones counted unconverged")
  -- (19 and 3 of 20 when written: most redone ones converge cold)
  T.ok(r2.redone > r2.unconverged and r2.unconverged > 0,
    string.format("redone %d, unconverged %d of 20", r2.redone, r2.unconverged))
  T.eq(r2.resid_max, 3e-4, "the record says the resid_max used")
end)

T.done()
