-- test_hess_ties.lua: wb.hessian.eigs (core/hvp_eig.c, hvp_deflate.c) with
-- k > 1 where an eigenvalue among the top k is repeated, or nearly, and the
-- Krylov space does NOT end early (no breakdown, so no restart): one start
-- vector sees one vector of each eigenspace, so the copies were never looked
-- for, and a smaller value was returned in their place, marked converged.
-- An audit of 1600 random tiny models (k = 3) found such cases; a generator
-- like it (below: 2 or 3 Dense layers, "ones" init for symmetric hidden
-- units, l2, dead ReLU biases; seeds 1..1600) found 146 of 3200 runs on
-- main, e.g. seed 1496 (relu, mse, "ones": 14.44 x2 returned as 14.44,
-- 14.00, converged after 10 products). Now a deflated pass (Lanczos with
-- the Ritz vectors projected out) checks the top k and merges what it finds.
-- The reference is the cyclic Jacobi eigensolver of test_hess_restart.lua
-- on wb.hessian.full in float64.
local T = dofile("tests/lua/harness.lua")

-- eigenvalues of the symmetric matrix H (a wb tensor [n, n]), descending
local function jacobi(H)
  local n, a = H:size(1), {}
  for i = 1, n do
    a[i] = {}
    for j = 1, n do a[i][j] = H:get(i, j) end
  end
  for _ = 1, 100 do
    local off = 0
    for i = 1, n do for j = i + 1, n do off = off + a[i][j] ^ 2 end end
    if off < 1e-30 then break end
    for p = 1, n - 1 do
      for q = p + 1, n do
        if a[p][q] ~= 0 then
          local th = (a[q][q] - a[p][p]) / (2 * a[p][q])
          local t = (th >= 0 and 1 or -1) / (math.abs(th) + math.sqrt(th * th + 1))
          local c = 1 / math.sqrt(t * t + 1)
          local s = t * c
          for r = 1, n do -- columns p, q
            local ap, aq = a[r][p], a[r][q]
            a[r][p], a[r][q] = c * ap - s * aq, s * ap + c * aq
          end
          for r = 1, n do -- rows p, q
            local ap, aq = a[p][r], a[q][r]
            a[p][r], a[q][r] = c * ap - s * aq, s * ap + c * aq
          end
        end
      end
    end
  end
  local ev = {}
  for i = 1, n do ev[i] = a[i][i] end
  table.sort(ev, function(u, v) return u > v end)
  return ev
end

-- the generator's model for a seed: every draw in the generator's order
local acts = {"relu", "tanh", "sigmoid"}
local function build(s)
  wb.seed(s)
  local r = function(a, b) return a + (wb.rand(1):get(1) * (b - a + 1)) // 1 end
  local I, H, C, N = r(2, 4), r(2, 4), r(2, 3), r(4, 10)
  local act = acts[r(1, 3)]
  local ce = r(0, 1) == 1
  local ones = r(0, 2) == 0 and "ones" or nil
  local l2 = r(0, 2) == 0 and 0.5 * r(1, 4) or 0
  local deep = r(0, 1) == 1
  local layers = {wb.nn.Dense(I, H, {activation = act, init = ones, l2 = l2 > 0 and l2 or nil})}
  if deep then layers[2] = wb.nn.Dense(H, H, {activation = act, init = ones}) end
  layers[#layers + 1] = wb.nn.Dense(H, C, {activation = ce and "softmax" or nil, init = ones})
  local m = wb.nn.Sequential(layers)
  if r(0, 3) == 0 then m[1].bias:fill(-100) end -- dead ReLUs
  local x, y = wb.randn(N, I), nil
  if ce then
    y = wb.new_tensor({N}, "uint8")
    for i = 1, N do y:set(i, r(0, C - 1)) end
  else
    y = wb.randn(N, C)
  end
  return m, {x = x, y = y}, ce and "cross_entropy" or "mse"
end

-- eigs k = 3 (tol 1e-4, max_iter 100: the defaults) against the reference:
-- converged, within 1e-4 of |want[1]| (tol: what the audit called wrong;
-- main's misses were 3e-4 to 0.09 of it)
local function check(seed, precisions, what)
  T.test(string.format("seed %d (%s)", seed, what), function()
    local m, d, loss = build(seed)
    local want = jacobi(wb.hessian.full(m, d, {loss = loss, precision = "float64"}))
    for _, p in ipairs(precisions) do
      local e = wb.hessian.eigs(m, d, {k = 3, loss = loss, precision = p})
      local s = string.format("%s: %.9g %.9g %.9g, want %.9g %.9g %.9g, converged %s, %d "
        .. "products", p, e.values[1], e.values[2], e.values[3], want[1], want[2], want[3],
        tostring(e.converged), e.hvps)
      T.ok(e.converged, "converged: " .. s)
      T.ok(e.hvps <= 100, "max_iter bounds the products: " .. s)
      for i = 1, 3 do
        T.ok(math.abs(e.values[i] - want[i]) <= 1e-4 * math.abs(want[1]), "value " .. i
          .. ": " .. s)
      end
    end
  end)
end

local both = {"float64", "float32"}
check(1496, both, "relu, mse, 'ones': 14.44 x2, as 14.44, 14.00")
check(1376, both, "sigmoid, 'ones', l2 2: 4.00116 x3, as 4.00116, 4")
check(1362, both, "dead ReLUs, l2 2, 3 layers: 4 x3, as 4, 3.04")
check(1433, {"float32"}, "relu, 'ones', l2 0.5: 1.1266 x3, as 1.1266, 1.0")
check(1347, both, "a cluster, 3.00623 3.00129 3.00105: 3.00129 skipped")
check(417, both, "a cluster, 4.02601 4.02134 4.00361: the top skipped")
-- a cluster at tol's scale: with a pass's merge test at tol (not tol / 100)
-- 4.00013 stayed 3.99963, 1.3e-4 of the top low
check(2494, both, "a cluster, 4.00256 4.00046 4.00013: 4.00013 low")

T.done()
