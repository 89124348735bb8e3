-- test_instri_hess_max.lua: fit's hess_max against the largest eigenvalue of
-- the same batch's Hessian (wb.hessian.eigs in float64; for seeds 62 and 112
-- both were checked against torch float64 eigvalsh of the dumped model:
-- 1.00193145 and 3.07848807) on small models where Lanczos from the
-- gradient alone stopped early (audit audI, finding I1): seed 62's gradient
-- has a component of 7e-4 on the top eigenvector, and Kato-Temple with the
-- gap to the next Ritz value certified the second eigenvalue (0.547, 45 %
-- low); seed 112's second eigenvalue was not yet seen (1.5e-4 off at tol
-- 1e-4); seed 36's step 8 (warm) stopped on an unconverged second Ritz
-- value (1.4e-4). Seed 3's step 4 (warm, 3.8 % low: the last Ritz vector
-- plus the gradient nearly missed the new top eigenvector) is in
-- test_hess_max_warm.lua.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local ACTS = {"tanh", "relu", "sigmoid", "linear"}

-- The relative errors of hess_max at each step of a 12-h-3 model on n rows
-- of seed s, batch bs, one epoch.
local function errors(s, n, bs)
  wb.seed(s)
  local x, y = wb.randn(n, 12), wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 7 + s) % 3) end
  local function mk()
    return wb.nn.Sequential{wb.nn.Dense(12, 6, {activation = ACTS[s % 4 + 1]}),
      wb.nn.Dense(6, 3, {activation = "softmax"})}
  end
  local m, W = mk(), {}
  local h = m:fit(x, y, {batch_size = bs, epochs = 2, shuffle = false, verbose = false, seed = s,
    optimizer = wb.optim.SGD{lr = 0.1}, instruments = {"hess_max"}, every = 1,
    callbacks = {{on_train_batch_begin = function(_, t)
      W[t] = {}
      for i, w in ipairs(m:get_weights()) do W[t][i] = w:clone() end
    end}}})
  local m2, out, per = mk(), {}, n // bs
  for t = 1, #h.steps.step do
    m2:set_weights(W[t])
    local k = (t - 1) % per
    local e = wb.hessian.eigs(m2, {x = x:rows(k * bs + 1, (k + 1) * bs),
      y = y:rows(k * bs + 1, (k + 1) * bs)}, {k = 2, precision = "float64"}).values[1]
    out[t] = {got = h.steps.hess_max[t], want = e, rel = math.abs(h.steps.hess_max[t] - e) / math.abs(e)}
  end
  return out
end

T.test("hess_max finds the top eigenvalue the gradient nearly misses (cold)", function()
  for _, s in ipairs{62, 112, 114} do
    local r = errors(s, 8, 8)[1]
    T.ok(r.rel <= 1e-4, string.format("seed %d: hess_max %.9g, largest eigenvalue %.9g (%.2e)",
      s, r.got, r.want, r.rel))
  end
end)

T.test("hess_max within 1e-4 at warm steps", function()
  for _, s in ipairs{36} do
    for t, r in ipairs(errors(s, 32, 8)) do
      T.ok(r.rel <= 1e-4, string.format("seed %d step %d: hess_max %.9g, largest %.9g (%.2e)",
        s, t, r.got, r.want, r.rel))
    end
  end
end)

T.done()
