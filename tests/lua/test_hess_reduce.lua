-- test_hess_reduce.lua: op:top in the first Dense's row space (core/
-- hvp_reduce.h; wb.hessian.Operator's 8th argument, which fit's hess_max
-- passes) against the whole Hessian's largest eigenvalue
-- (wb.hessian.eigs in float64 with as many products as parameters: exact
-- to rounding), on batches of a tenth as many rows as the first Dense's
-- inputs or fewer:
-- full rank, rank-deficient (repeated rows), 8-bit inputs, mse, and an L2 large
-- enough that the eigenvalue off the rows (2 l2) is the largest (a batch
-- of zeros, rank 0, where it is every kernel direction's); its Ritz
-- vector, mapped back, against the whole model's products; and fit's
-- hess_max on MNIST with and without it.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local I, H, C = 64, 8, 3 -- batches of 6 rows: I >= 10 rows each (WB_HVP_RED_MIN)
local P = I * H + H + H * C + C

local function model(l2)
  return wb.nn.Sequential{wb.nn.Dense(I, H, {activation = "tanh", l2 = l2}),
    wb.nn.Dense(H, C, {activation = "softmax"})}
end

-- The batch's largest eigenvalue, and op:top's on the row space.
local function both(m, x, y, keep)
  local want = wb.hessian.eigs(m, {x = x, y = y}, {k = 1, precision = "float64", tol = 1e-12,
    max_iter = P}).values[1]
  local params = m:parameters()
  local op = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", false, 6, 1, true)
  op:reset(x, y, params)
  local got, res = op:top(60, 1e-12, nil, 1)
  local reduced = op:reduced()
  if not keep then op:free() end
  return got, want, res, reduced, keep and op
end

local function labels(n)
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 5) % C) end
  return y
end

T.test("the row space's largest eigenvalue is the whole Hessian's", function()
  for s = 1, 3 do
    wb.seed(s)
    local m = model(0)
    local got, want, res, reduced = both(m, wb.randn(6, I), labels(6))
    T.ok(reduced, "seed " .. s .. ": op:top ran on the row space")
    T.ok(math.abs(got - want) <= 1e-5 * math.abs(want), string.format("seed %d: %.9g, "
      .. "the whole Hessian's %.9g (residual %.1e)", s, got, want, res))
  end
end)

T.test("repeated rows (rank 3 of 6) and 8-bit inputs", function()
  wb.seed(7)
  local m, x = model(0), wb.randn(6, I)
  for i = 4, 6 do for j = 1, I do x:set(i, j, x:get(i - 3, j)) end end
  local got, want = both(m, x, labels(6))
  T.ok(math.abs(got - want) <= 1e-5 * math.abs(want), string.format("repeated rows: %.9g, "
    .. "the whole Hessian's %.9g", got, want))
  local u = wb.new_tensor({6, I}, "uint8")
  for i = 1, 6 do for j = 1, I do u:set(i, j, (i * 37 + j * 11) % 256) end end
  got, want = both(m, u, labels(6))
  T.ok(math.abs(got - want) <= 1e-5 * math.abs(want), string.format("uint8: %.9g, "
    .. "the whole Hessian's %.9g", got, want))
end)

T.test("under mse (one-hot targets, a linear last Dense)", function()
  wb.seed(4)
  local m = wb.nn.Sequential{wb.nn.Dense(I, H, {activation = "tanh"}),
    wb.nn.Dense(H, C, {activation = "linear"})}
  local x, y = wb.randn(6, I), wb.zeros(6, C)
  for i = 1, 6 do y:set(i, i % C + 1, 1) end
  local want = wb.hessian.eigs(m, {x = x, y = y}, {k = 1, precision = "float64", tol = 1e-12,
    max_iter = P, loss = "mse"}).values[1]
  local op <close> = wb.hessian.Operator({m[1], m[2]}, x, y, "mse", false, 6, 1, true)
  op:reset(x, y, (m:parameters()))
  local got = op:top(60, 1e-12, nil, 1)
  T.ok(op:reduced() and math.abs(got - want) <= 1e-5 * math.abs(want), string.format("mse: "
    .. "%.9g, the whole Hessian's %.9g", got, want))
end)

-- Off the batch's rows the Hessian is 2 l2 (the first Dense's kernel): on
-- a batch of zeros (rank 0) every kernel direction is off them, and with
-- l2 = 5 their 10 is the largest eigenvalue, which no vector of the row
-- space holds (a reduced op:top without max(., 2 l2) reports the biases'
-- and the second kernel's, under 1).
T.test("a batch of zeros: 2 l2, off the rows, is the largest eigenvalue", function()
  wb.seed(3)
  local got, want, res, reduced = both(model(5), wb.zeros(4, I), labels(4))
  T.ok(reduced, "op:top ran on the row space (rank 0)")
  T.ok(math.abs(want - 10) <= 1e-9, "the whole Hessian's largest is 2 l2 = 10: " .. want)
  T.ok(got == 10, "the row space's op:top says " .. got)
  -- exact there: residual 0 (it was the reduced pair's, NaN at rank 0)
  T.eq(res, 0)
end)

-- op:reset's z, the first Dense's pre-activation on x (a fit's forward):
-- the row space's kernel is read off it; a z of another batch (or stale)
-- fails the check on its first row and is not used.
T.test("op:reset with the first Dense's pre-activation, and with another batch's", function()
  wb.seed(11)
  local m, x, y = model(0.01), wb.randn(6, I), labels(6)
  local want = wb.hessian.eigs(m, {x = x, y = y}, {k = 1, precision = "float64", tol = 1e-12,
    max_iter = P}).values[1]
  local other = wb.randn(6, I)
  for _, c in ipairs{{"this batch's", x}, {"another batch's", other}} do
    m[1]:forward(c[2])
    local z = m[1]:logits()
    local op <close> = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", false, 6, 1,
      true)
    op:reset(x, y, m:parameters(), z)
    local got = op:top(60, 1e-12, nil, 1)
    T.ok(op:reduced() and math.abs(got - want) <= 1e-5 * math.abs(want), string.format(
      "z %s: %.9g, the whole Hessian's %.9g", c[1], got, want))
  end
  local op <close> = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", false, 6, 1, true)
  T.check_error("expected the first Dense's float32 pre-activation", function()
    op:reset(x, y, m:parameters(), wb.zeros(6, H + 1)) end)
end)

-- The Ritz vector mapped out of the row space is the whole model's unit
-- eigenvector: H v = value v by the whole engine's own product.
T.test("op:top_vector after a reduced op:top", function()
  wb.seed(5)
  local m = model(0.01)
  local got, _, _, _, op = both(m, wb.randn(6, I), labels(6), true)
  local v = op:top_vector()
  local hv, nn, rr = op:hvp(v), 0, 0
  for k = 1, #v do
    local a, b = v[k]:totable(), hv[k]:totable()
    for i = 1, #a do
      local ai, bi = a[i], b[i]
      if type(ai) == "table" then
        for j = 1, #ai do nn = nn + ai[j] ^ 2; rr = rr + (bi[j] - got * ai[j]) ^ 2 end
      else
        nn = nn + ai ^ 2; rr = rr + (bi - got * ai) ^ 2
      end
    end
  end
  T.ok(math.abs(math.sqrt(nn) - 1) <= 1e-5, "unit: " .. math.sqrt(nn))
  T.ok(math.sqrt(rr) <= 1e-4 * math.abs(got), string.format("||H v - l v|| = %.2e, l = %.6g",
    math.sqrt(rr), got))
  op:free()
end)

-- With a Dropout before the first Dense the step's forward saw other
-- inputs than the Hessian's (Dropout off): the row space then maps the
-- kernel in from X W instead of reading the forward's pre-activation.
for _, drop in ipairs{false, true} do
  T.test("fit's hess_max on MNIST: the row space's equals the whole model's"
    .. (drop and " (Dropout before the first Dense)" or ""), function()
    local rows = wb.data.mnist().train:subset(1, 512)
    local function run(full)
      wb.instruments._hess_full = full
      wb.seed(1)
      local m = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
        wb.nn.Dense(128, 10, {activation = "softmax"})}
      if drop then
        m = wb.nn.Sequential{wb.nn.Dropout(0.2), wb.nn.Dense(784, 128, {activation = "relu"}),
          wb.nn.Dense(128, 10, {activation = "softmax"})}
      end
      local ok, h = pcall(m.fit, m, rows, {batch_size = 32, seed = 1, verbose = false,
        optimizer = wb.optim.SGD{lr = 0.05}, instruments = {"hess_max"}, every = 3})
      wb.instruments._hess_full = nil
      assert(ok, h)
      T.ok(h.instruments.hess_max.row_space == (full and 0 or 6), "measured in the row "
        .. "space: " .. h.instruments.hess_max.row_space)
      return h.steps.hess_max
    end
    local a, b, n = run(true), run(nil), 0
    for i = 1, #a do
      if a[i] == a[i] then
        n = n + 1
        T.ok(math.abs(a[i] - b[i]) <= 1e-5 * math.abs(a[i]), string.format("row %d: whole "
          .. "%.9g, row space %.9g", i, a[i], b[i]))
      end
    end
    T.ok(n == 6, "6 measured steps, got " .. n)
  end)
end

-- Across model:save_state and fit{resume}: the saved start is the kept
-- vector mapped out of the last batch's row space, mapped into the next
-- one's; hess_max goes on as if trained straight, equal to rounding.
T.test("resume: 2 epochs + save_state + 1 = 3 epochs, in the row space", function()
  local rows = wb.data.mnist().train:subset(1, 160)
  local function mk()
    wb.seed(2)
    return wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
      wb.nn.Dense(16, 10, {activation = "softmax"})}
  end
  local function o(epochs, resume)
    return {epochs = epochs, batch_size = 32, seed = 2, verbose = false, resume = resume,
      optimizer = wb.optim.SGD{lr = 0.1}, instruments = {"hess_max"}, every = 2}
  end
  local h1 = mk():fit(rows, o(3))
  local m2 = mk()
  m2:fit(rows, o(2))
  local path = T.tmpdir() .. "/reduce.safetensors"
  m2:save_state(path)
  local h3 = mk():fit(rows, o(3, path))
  local a, b = h1.steps.hess_max, h3.steps.hess_max
  T.eq(#b, #a, "rows")
  for i = 1, #a do
    if a[i] == a[i] then
      T.ok(math.abs(a[i] - b[i]) <= 1e-4 * math.abs(a[i]), string.format("row %d: straight "
        .. "%.9g, resumed %.9g", i, a[i], b[i]))
    end
  end
  T.eq(h3.instruments.hess_max.row_space, h1.instruments.hess_max.row_space, "row_space")
  T.ok(h1.instruments.hess_max.row_space == 8, "8 measurements in the row space: "
    .. h1.instruments.hess_max.row_space)
end)

T.done()
