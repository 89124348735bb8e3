-- bench_hess_max.lua: how accurate hess_max's warm-started Lanczos is with
-- few products. Trains the baseline (784-128 relu-10 softmax, SGD lr 0.05)
-- for WB_EPOCHS epochs (default 2) at batch 32 and 128 and, every 16 steps,
-- on that step's next batch of rows at the current weights, measures the
-- Hessian's largest eigenvalue (a) converged: cold Lanczos to tol 1e-8,
-- and (b) by each warm scheme: op:top with at most m products from the
-- scheme's own last Ritz vector, stopping early when op:top's Kato-Temple
-- estimate of the relative error is below tol (KT; m=k: always k products;
-- each scheme's first measurement is cold: 30 products at most, tol 1e-4;
-- g: the start is the unit Ritz vector plus g times the unit gradient, and
-- the cold one the gradient; * marks hess_max's scheme). Prints per scheme
-- the relative eigenvalue error |l - l_ref| / l_ref (median, 90th and 99th
-- percentiles, max), the residual ||H y - l y|| / l (median, max), the mean
-- products of a warm measurement, those of the cold one and its error.
-- WB_ROWS limits the training rows (default all).
local EPOCHS = tonumber(os.getenv("WB_EPOCHS")) or 2
local ROWS = tonumber(os.getenv("WB_ROWS"))
local d = wb.data.mnist()
local train = ROWS and d.train:subset(1, ROWS) or d.train
local probe = train:subset(1, #train) -- own batch buffers (fit's are its own)
-- (KT 1e-3 max 8 g 1 was hess_max's scheme until its worst measurement
-- at batch 32 turned out 11 % low: started near the last top eigenvector,
-- now the second, Lanczos settled on the second eigenvalue with a small
-- residual; a tighter bound keeps it going until the top emerges)
local schemes = {{"m=6", 6, 0}, {"m=6 g 1", 6, 0, 1}, {"KT 1e-3 max 8", 8, 1e-3},
  {"KT 1e-3 max 8 g 1", 8, 1e-3, 1}, {"KT 1e-4 max 16 g 1", 16, 1e-4, 1},
  {"KT 1e-5 max 16 g 1 *", 16, 1e-5, 1}}

local function quantile(t, q)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  return s[math.max(1, math.ceil(q * #s))]
end

for _, bs in ipairs{32, 128} do
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
    wb.nn.Dense(128, 10, {activation = "softmax"})}
  local perm = {}
  local x, y = probe:batch(wb.tensor{1}, 1, 1)
  local ops, err, res, prods, ref_prods, cold_prods, cold_err = {}, {}, {}, {}, 0, {}, {}
  for i = 1, #schemes do err[i], res[i], prods[i] = {}, {}, 0 end
  local ref
  local cb = {on_train_batch_end = function(_, step)
    if step % 16 ~= 1 then return end
    local first = (step * bs) % (#probe - bs)
    for i = 1, bs do perm[i] = first + i end
    x, y = probe:batch(perm)
    if not ref then
      ref = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", false, bs, 7)
      for i = 1, #schemes do
        ops[i] = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", false, bs, 1)
      end
    end
    ref:reset(x, y)
    local c0 = ref:count()
    local vals = ref:eigs(1, 1e-8, 300)
    ref_prods = ref_prods + ref:count() - c0
    local l = vals[1]
    for i, s in ipairs(schemes) do
      local op = ops[i]
      op:reset(x, y)
      local cold = op:top_vector() == nil
      local v, r, n = op:top(cold and 30 or s[2], cold and 1e-4 or s[3], nil, s[4])
      if cold then cold_prods[i], cold_err[i] = n, math.abs(v - l) / l end
      if not cold then
        err[i][#err[i] + 1] = math.abs(v - l) / l
        res[i][#res[i] + 1] = r
        prods[i] = prods[i] + n
      end
    end
  end}
  m:fit(train, {batch_size = bs, epochs = EPOCHS, optimizer = wb.optim.SGD{lr = 0.05},
    seed = 1, verbose = false, callbacks = {cb}})
  local n = #err[1]
  print(string.format("batch %d: %d warm measurements (every 16 steps of %d epochs on %d "
    .. "rows); reference: cold Lanczos to 1e-8, %.1f products on average", bs, n, EPOCHS,
    #train, ref_prods / (n + 1)))
  print(string.format("  %-22s %8s %8s %8s %8s %8s %8s %6s %5s %9s", "scheme", "err med",
    "err p90", "err p99", "err max", "res med", "res max", "prods", "cold", "cold err"))
  for i, s in ipairs(schemes) do
    print(string.format("  %-22s" .. string.rep(" %7.3f%%", 6) .. " %6.2f %5d %8.4f%%", s[1],
      100 * quantile(err[i], 0.5), 100 * quantile(err[i], 0.9),
      100 * quantile(err[i], 0.99), 100 * quantile(err[i], 1),
      100 * quantile(res[i], 0.5), 100 * quantile(res[i], 1), prods[i] / n,
      cold_prods[i], 100 * cold_err[i]))
  end
  io.stdout:flush()
end
