-- hess_max's band Lanczos (core/hvp_band.c: from the last Ritz vector and
-- the gradient) at a top eigenvalue that is multiple. A batch whose inputs
-- to a Dense with L2 are all zero (blank images, or a hidden layer whose
-- ReLUs all died) has that kernel's Hessian 2 l2 times the identity: with
-- 2 l2 on top, both starts hold it, the second Ritz value equals the first
-- and Kato-Temple's gap is 0, so the band ran on to its cap, and steps past
-- convergence took its basis apart: op:top at tol 1e-12 gave 40.98 for 10
-- (residual 0.81) in double, 10.012 after 60 products in float32. It now
-- stops on the residual alone (|lambda - theta| <= r) too, and a float32
-- engine at a residual its rounding makes. The fit case guards what that
-- first tried: a row that cancels to nothing (deflation) had its square
-- round below 0 off the live segments, its root NaN, and fit raised
-- "Lanczos: a non-finite Hessian-vector product" at step 6.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local I, H, C = 64, 8, 3

local function setup(l2, n)
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(I, H, {activation = "tanh", l2 = l2}),
    wb.nn.Dense(H, C, {activation = "softmax"})}
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 5) % C) end
  return m, wb.zeros(n, I), y
end

T.test("op:top from a start and the gradient, at a multiple top eigenvalue", function()
  for _, l2 in ipairs{5, 0} do
    local m, x, y = setup(l2, 4)
    local want = wb.hessian.eigs(m, {x = x, y = y}, {k = 1, precision = "float64",
      tol = 1e-12, max_iter = I * H + H + H * C + C}).values[1]
    if l2 == 5 then T.ok(math.abs(want - 10) <= 1e-9, "2 l2 on top: " .. want) end
    local params = m:parameters()
    for _, f64 in ipairs{true, false} do
      local v0 = {}
      for i, p in ipairs(params) do v0[i] = wb.randn(table.unpack(p:shape())) end
      local op = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", f64, 4, 1, false)
      op:reset(x, y, params)
      local got, res, n = op:top(60, 1e-12, v0, 1) -- a start and the gradient: the band
      T.ok(math.abs(got - want) <= 1e-6 * want, string.format("l2 %g, %s: %.9g for %.9g "
        .. "(residual %.1e, %d products)", l2, f64 and "double" or "float32", got, want, res, n))
      T.ok(res <= 1e-6 and n < 30, string.format("residual %.1e after %d products", res, n))
      op:free()
    end
  end
end)

T.test("fit's hess_max on batches of zeros under L2: 2 l2 at every step", function()
  local m, x, y = setup(5, 32)
  local ok, h = pcall(m.fit, m, x, y, {batch_size = 8, epochs = 2, shuffle = false,
    verbose = false, seed = 1, optimizer = wb.optim.SGD{lr = 0.01},
    instruments = {"hess_max"}, every = 1})
  T.ok(ok, tostring(h))
  if not ok then return end
  T.eq(#h.steps.hess_max, 8)
  for i, v in ipairs(h.steps.hess_max) do
    -- float32: 1e-6 of the value, the band's own bound on its rounding
    T.ok(math.abs(v - 10) <= 1e-5, string.format("step %d: %.9g", i, v))
    T.ok(h.steps.hess_max_residual[i] <= 1e-6, "residual " .. h.steps.hess_max_residual[i])
  end
end)

T.done()
