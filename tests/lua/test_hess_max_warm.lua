-- test_hess_max_warm.lua: fit's hess_max at warm steps against the largest
-- eigenvalue of the same batch's Hessian (wb.hessian.eigs in float64), on
-- the small models (12-6-3, 32 rows, batch 8, 2 epochs) where Lanczos from
-- the summed start x / |x| + g / |g| (the last Ritz vector and the batch
-- gradient) stopped low with a small residual (1000 such models searched,
-- /tmp/audI/search2.lua's scheme): seed 3 step 4 (3.8 % low: the new top
-- eigenvector's components on x and g, 0.200 and -0.191, cancelled; audit
-- audI, finding I1), seed 798 step 8 (5.3 %), seed 934 step 7 (0.65 %),
-- seed 536 step 3 (7.1e-4), seed 643 step 8 (2.1e-4). The warm start now
-- keeps both directions (core/hvp_band.h: band Lanczos on {x, g}).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local ACTS = {"tanh", "relu", "sigmoid", "linear"}

-- hess_max and the largest eigenvalue at step t of seed s's fit.
local function at(s, t)
  wb.seed(s)
  local n, bs = 32, 8
  local x, y = wb.randn(n, 12), wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 7 + s) % 3) end
  local function mk()
    return wb.nn.Sequential{wb.nn.Dense(12, 6, {activation = ACTS[s % 4 + 1]}),
      wb.nn.Dense(6, 3, {activation = "softmax"})}
  end
  local m, W = mk(), nil
  local h = m:fit(x, y, {batch_size = bs, epochs = 2, shuffle = false, verbose = false, seed = s,
    optimizer = wb.optim.SGD{lr = 0.1}, instruments = {"hess_max"}, every = 1,
    callbacks = {{on_train_batch_begin = function(_, step)
      if step == t then
        W = {}
        for i, w in ipairs(m:get_weights()) do W[i] = w:clone() end
      end
    end}}})
  local m2, k = mk(), (t - 1) % (n // bs)
  m2:set_weights(W)
  local e = wb.hessian.eigs(m2, {x = x:rows(k * bs + 1, (k + 1) * bs),
    y = y:rows(k * bs + 1, (k + 1) * bs)}, {k = 2, precision = "float64", tol = 1e-10,
    max_iter = 12 * 6 + 6 + 6 * 3 + 3}).values[1] -- max_iter P: exact to rounding
  return h.steps.hess_max[t], e
end

-- hess_max within 1e-4 of the largest eigenvalue at each {seed, step}.
local function within(cases)
  for _, c in ipairs(cases) do
    local got, want = at(c[1], c[2])
    local rel = math.abs(got - want) / math.abs(want)
    T.ok(rel <= 1e-4, string.format("seed %d step %d: hess_max %.9g, largest eigenvalue %.9g "
      .. "(%.2e)", c[1], c[2], got, want, rel))
  end
end

T.test("hess_max within 1e-4 where the summed warm start stopped low", function()
  within{{3, 4}, {798, 8}, {934, 7}, {536, 3}, {643, 8}}
end)

-- The warm cap (LANCZOS_WARM, wb/instruments_fit.lua): at 16 products, 15 of
-- 7000 warm steps over seeds 1..1000 stopped at the cap more than 1e-4 low
-- (helper hmaxC's search), among them seed 768 step 5 (3.0 % low), seed 8
-- step 5 (1.4 %) and seed 952 step 6 (0.63 %); at 24, none.
T.test("hess_max within 1e-4 where 16 warm products stopped it short", function()
  within{{768, 5}, {8, 5}, {952, 6}}
end)

T.done()
