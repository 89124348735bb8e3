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
  T.eq(nan, 0, "no NaN")
  -- the ReLU layer did die (else this tests nothing new): the loss back at ln 10
  T.ok(math.abs(h.steps.loss[#h.steps.step] - math.log(10)) < 0.1,
    "the net died: last loss " .. h.steps.loss[#h.steps.step])
end)

T.done()
