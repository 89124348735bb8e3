-- test_hess_top_invariant.lua: the cold three-term Lanczos of op:top
-- (core/hvp_eig.c lanczos3; hess_max's first measurement and its cold
-- redos) on a Hessian of low rank stops where the Krylov space is
-- invariant, with the value LAPACK-exact to float32's rounding. Softmax
-- regression on one row: H = (diag p - p p^T) (x) [x 1][x 1]^T, of rank
-- C - 1, and the gradient start (p - y) (x) [x 1] lies in its range, so
-- the Krylov space is C - 1 wide. Its stop judged the next direction's
-- norm against the step's own Rayleigh quotient, 1e-12 of it: float32
-- products' rounding (1e-7 of their size) passed that, and the cold start
-- ran on to its 10 steps' minimum (TOP_COLD_MIN) normalising noise into
-- the basis. Now against 1e-5 (float32; 1e-12 float64) of the largest
-- product so far, as the warm band (core/hvp_band.c). Ranks 1 and 2 here:
-- without reorthogonalisation the recurrence's own rounding grows with its
-- steps, and at rank 4 one start of six (seed 3) left more than 1e-5 at the
-- fifth step and ran on (11 products, the value still within 5e-7).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local D = 50

for _, C in ipairs{2, 3} do
  T.test(string.format("cold op:top on a Hessian of rank %d: %d products, the top eigenvalue",
    C - 1, C - 1), function()
    for seed = 1, 6 do
      wb.seed(seed)
      local m = wb.nn.Sequential{wb.nn.Dense(D, C, {activation = "softmax"})}
      local x, y = wb.rand(1, D), wb.new_tensor({1}, "uint8")
      y:set(1, seed % C)
      local e = wb.hessian.eigs(m, {x = x, y = y}, {k = 1, precision = "float64", tol = 1e-10,
        max_iter = 100})
      local want = e.values[1]
      for _, f64 in ipairs{false, true} do
        local what = string.format("seed %d %s", seed, f64 and "float64" or "float32")
        local op = wb.hessian.Operator({m[1]}, x, y, "cross_entropy", f64, 1, seed, false)
        op:reset(x, y)
        local lam, res, n = op:top(30, 1e-5, false, 1)
        T.eq(n, C - 1, what .. ": products (the Krylov space's width)")
        T.ok(math.abs(lam - want) <= (f64 and 1e-12 or 1e-6) * want,
          string.format("%s: %.9g, eigs float64 %.9g", what, lam, want))
        T.ok(res <= (f64 and 1e-12 or 1e-5), what .. ": residual " .. res)
      end
    end
  end)
end

T.done()
