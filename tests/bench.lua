-- bench.lua (make bench): speed and memory of the baseline MLP training.
--
-- For batch sizes 8, 32 and 128: median seconds per epoch over a few epochs
-- of the full MNIST training set (784 -> Dense 128 relu -> Dense 10 softmax,
-- Adam, shuffled, no validation), samples per second, and the peak RSS of
-- the training process. Each measurement runs in a child process so that
-- peak RSS is its own. When Debian's python3-torch is installed, the same
-- training in PyTorch (manual batching; one thread, then its default
-- threading) runs in the same invocation for reference. Compare ratios
-- within one run: these machines are shared and noisy. Then the Hessian
-- section (--hessian) and the instruments' overhead table
-- (tests/bench_instruments.lua).
local EPOCHS = tonumber(os.getenv("WB_BENCH_EPOCHS")) or 5

local function median(xs)
  table.sort(xs)
  local n = #xs
  return n % 2 == 1 and xs[(n + 1) // 2] or (xs[n // 2] + xs[n // 2 + 1]) / 2
end

if arg[1] == "--child" then
  local batch, epochs = tonumber(arg[2]), tonumber(arg[3])
  local d = wb.data.mnist()
  wb.seed(1)
  local model = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
    wb.nn.Dense(128, 10, {activation = "softmax"})}
  local h = model:fit(d.train, {epochs = epochs, batch_size = batch,
    optimizer = wb.optim.Adam{}, seed = 1, verbose = false})
  print(string.format("RESULT %s %d %.4f", table.concat(h.epoch_time, ","),
    wb.sys.peak_rss_kb(), h.accuracy[#h.accuracy]))
  os.exit(0)
end

if arg[1] == "--hessian" then
  -- Curvature section: cost of one Hessian-vector product relative to one
  -- gradient on the same 2,048 rows (the baseline model), and the products
  -- a warm-started lambda_max needs per epoch.
  local d = wb.data.mnist()
  wb.seed(1)
  local model = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
    wb.nn.Dense(128, 10, {activation = "softmax"})}
  local sample = d.train:subset(1, 2048)
  local x, y = sample:batch(wb.randperm(2048))
  x, y = x:clone(), y:clone()
  local data, ce, last = {x = x, y = y}, wb.nn.SparseCrossEntropy(), model[2]
  local function timed(f, reps)
    local ts = {}
    for r = 1, reps do
      local t0 = wb.sys.time()
      f()
      ts[r] = wb.sys.time() - t0
    end
    return median(ts)
  end
  local function layers() return {model[1], model[2]} end
  local function report(tag)
    local grad = timed(function()
      model:zero_grad()
      model:forward(x, false)
      ce:forward(last:logits(), y)
      model:backward_logits(x, ce:backward())
    end, 7)
    local v = model:get_weights()
    local create = timed(function()
      local op <close> = wb.hessian.Operator(layers(), x, y, "cross_entropy", false, 2048)
    end, 7)
    local first = timed(function()
      local op <close> = wb.hessian.Operator(layers(), x, y, "cross_entropy", false, 2048)
      op:hvp(v)
    end, 7)
    local op <close> = wb.hessian.Operator(layers(), x, y, "cross_entropy", false, 2048)
    op:hvp(v)
    local reuse = timed(function() op:hvp(v) end, 7)
    print(string.format("%-24s %9.2f ms %9.2f ms %7.2fx %9.2f ms %7.2fx", tag, grad * 1e3,
      (first - create) * 1e3, (first - create) / grad, reuse * 1e3, reuse / grad))
  end
  print(string.format("\nHessian-vector products, 784-128-10 relu, 2,048 rows, median of 7"))
  print(string.format("%-24s %12s %12s %8s %12s %8s", "model", "gradient", "hvp (fresh)",
    "ratio", "hvp (reuse)", "ratio"))
  report("initial weights")
  local lam, v0, eps = {}, nil, {}
  for epoch = 1, 3 do
    model:fit(d.train, {epochs = 1, batch_size = 32, optimizer = wb.optim.Adam{},
      seed = epoch, verbose = false})
    local e = wb.hessian.eigs(model, data, {tol = 1e-3, v0 = v0})
    local ref = wb.hessian.eigs(model, data, {tol = 1e-8, max_iter = 200})
    v0 = e.vectors[1]
    lam[epoch] = string.format("epoch %d: lambda_max %.4f in %d products%s (rel. error "
      .. "%.1e vs tol 1e-8)", epoch, e.values[1], e.hvps, epoch == 1 and " (cold)" or
      " (warm)", math.abs(e.values[1] - ref.values[1]) / ref.values[1])
    eps[epoch] = e.hvps
  end
  report("after 3 epochs")
  print("\nlambda_max (Lanczos, tol 1e-3) per epoch on the 2,048 rows:")
  for _, l in ipairs(lam) do print("  " .. l) end
  os.exit(0)
end


local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  p:close()
  local times, rss, acc = out:match("RESULT ([%d.,e%-]+) (%d+) ([%d.]+)")
  if not times then return nil, out end
  local ts = {}
  for t in times:gmatch("[^,]+") do ts[#ts + 1] = tonumber(t) end
  -- the first epoch warms caches and allocates buffers: report the median of
  -- the rest when there are several
  if #ts > 2 then table.remove(ts, 1) end
  return {sec = median(ts), rss = tonumber(rss) / 1024, acc = tonumber(acc)}
end

local exe = arg[-1] or "./workbench"
print(string.format("workbench %s, OpenBLAS threads per process: %d (%s)", wb.version,
  wb.sys.blas_threads(), os.getenv("OPENBLAS_CORETYPE") and
  ("OPENBLAS_CORETYPE=" .. os.getenv("OPENBLAS_CORETYPE")) or "core type auto"))
print(string.format("baseline 784-128-10, Adam, full MNIST (60000), %d epochs per "
  .. "measurement, median s/epoch\n", EPOCHS))
print(string.format("%-28s %6s %10s %12s %10s %9s", "engine", "batch", "s/epoch",
  "samples/s", "peak MiB", "train acc"))

local torch = os.execute("/usr/bin/python3 -c 'import torch' 2>/dev/null")
local rows = {}
for _, b in ipairs{8, 32, 128} do
  local r, err = run(string.format("%s %s --child %d %d", exe, arg[0], b, EPOCHS))
  if not r then io.stderr:write("bench failed: ", err, "\n"); os.exit(1) end
  rows[#rows + 1] = {"workbench (1 thread)", b, r}
  print(string.format("%-28s %6d %10.3f %12.0f %10.1f %9.4f", "workbench (1 thread)", b,
    r.sec, 60000 / r.sec, r.rss, r.acc))
  io.stdout:flush()
  if torch then
    for _, th in ipairs{1, 0} do
      local ep = (th == 0 and b == 8) and 2 or math.min(EPOCHS, 3)
      local tr, terr = run(string.format("/usr/bin/python3 tests/bench_torch.py %d %d %d",
        b, ep, th))
      local name = th == 1 and "pytorch (1 thread)" or "pytorch (default threads)"
      if tr then
        print(string.format("%-28s %6d %10.3f %12.0f %10.1f %9.4f", name, b, tr.sec,
          60000 / tr.sec, tr.rss, tr.acc))
        print(string.format("%-28s %6s %9.1fx", "  workbench faster by", "", tr.sec / r.sec))
      else
        print(name .. ": failed: " .. tostring(terr):sub(1, 200))
      end
      io.stdout:flush()
    end
  end
end
if not torch then
  print("\n(PyTorch reference skipped: Debian's python3-torch is not installed; "
    .. "apt-get install python3-torch to compare)")
end
print("\ntargets (2-core machine, 1 OpenBLAS thread): <= 0.40 / 0.27 / 0.22 s/epoch at "
  .. "batch 8 / 32 / 128; peak RSS <= 120 MiB")
io.stdout:flush()
if not os.execute(string.format("%s %s --hessian", exe, arg[0])) then
  io.stderr:write("bench: the Hessian section failed\n")
  os.exit(1)
end
print("target: one Hessian-vector product <= 2.5x one gradient on the same rows")
io.stdout:flush()
if not os.execute(string.format("%s tests/bench_instruments.lua", exe)) then
  io.stderr:write("bench: the instruments section failed\n")
  os.exit(1)
end
