-- test_eigs_warm_floor.lua: wb.hessian.eigs takes k + 7 products before any
-- stop. A start near a lower eigenvector (a warm start after two
-- eigenvalues crossed, an earlier result's vectors[2]) met tol after one
-- product and was returned as the largest, converged = true: a new user's
-- 0.6111 for 0.7658 (tryH 1), which no residual could flag.
local T = dofile("tests/lua/harness.lua")

T.test("a start near the second eigenvector finds the first", function()
  wb.seed(5)
  local m = wb.nn.Sequential{wb.nn.Dense(10, 8, {activation = "tanh"}),
    wb.nn.Dense(8, 4, {activation = "softmax"})}
  local x, y = wb.randn(50, 10), wb.new_tensor({50}, "uint8")
  for i = 1, 50 do y:set(i, (i * 7) % 4) end
  local data = {x = x, y = y}
  local c = wb.hessian.eigs(m, data, {k = 3, tol = 1e-8, max_iter = 124})
  T.ok(c.converged and c.values[1] > 1.2 * c.values[2], "a gap: " .. c.values[1] .. " "
    .. c.values[2])
  for _, s in ipairs{0, 0.003, 0.001} do
    for _, tol in ipairs{1e-3, 1e-4} do
      local v0 = {}
      for i, t in ipairs(c.vectors[2]) do v0[i] = t * math.sqrt(1 - s * s) + c.vectors[1][i] * s end
      local w = wb.hessian.eigs(m, data, {k = 1, tol = tol, v0 = v0})
      local what = string.format("v0 = v2 + %g v1, tol %g: %.7g in %d products", s, tol,
        w.values[1], w.hvps)
      T.ok(w.hvps >= 8, what)
      T.near(w.values[1], c.values[1], 10 * tol * c.values[1], what)
    end
  end
end)

T.done()
