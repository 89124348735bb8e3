-- test_hess_top_start.lua: op:top's three-term Lanczos (core/hvp_eig.c
-- lanczos3) from a start nearly orthogonal to the top eigenvector: the
-- second eigenvector plus eps times the first, no gradient (gmix 0), on a
-- Hessian of rank 2 (softmax regression on one row, 3 classes). It must
-- find the top eigenvalue (LAPACK-exact: wb.hessian.eigs in float64). A
-- stop rule that judged the next direction's norm against 1e-5 of the
-- largest product so far (as the warm band's, core/hvp_band.c, for float
-- rows) took the start's 1e-5 component along the top for rounding,
-- called the Krylov space invariant after one product and reported the
-- second eigenvalue, with a residual of 8e-6 (below fit's resid_max: no
-- safety net would catch it).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local D, C = 50, 3

T.test("op:top from a start 1e-5 to 1e-6 along the top eigenvector finds it", function()
  for seed = 1, 3 do
    wb.seed(seed)
    local m = wb.nn.Sequential{wb.nn.Dense(D, C, {activation = "softmax"})}
    local x, y = wb.rand(1, D), wb.new_tensor({1}, "uint8")
    y:set(1, seed % C)
    local e = wb.hessian.eigs(m, {x = x, y = y}, {k = 2, precision = "float64", tol = 1e-12,
      max_iter = 100})
    local want, v1, v2 = e.values[1], e.vectors[1], e.vectors[2]
    T.ok(e.values[2] < 0.9 * want, "a gap: " .. e.values[2] .. " below " .. want)
    for _, eps in ipairs{1e-5, 1e-6} do
      local v0 = {}
      for i = 1, #v1 do v0[i] = v2[i] + v1[i] * eps end
      for _, f64 in ipairs{false, true} do
        local op = wb.hessian.Operator({m[1]}, x, y, "cross_entropy", f64, 1, seed, false)
        op:reset(x, y)
        local lam, _, n = op:top(30, 1e-5, v0, 0)
        T.ok(math.abs(lam - want) <= 1e-5 * want, string.format(
          "seed %d eps %g %s: %.9g after %d products, eigs float64 %.9g", seed, eps,
          f64 and "float64" or "float32", lam, n, want))
      end
    end
  end
end)

T.done()
