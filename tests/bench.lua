-- bench.lua (make bench): speed and memory of the baseline MLP training.
--
-- For batch sizes 8, 32 and 128: seconds per epoch of the full MNIST
-- training set (784 -> Dense 128 relu -> Dense 10 softmax, Adam, shuffled,
-- no validation) on one thread (tests/bench_common.lua: every child's
-- command sets the thread variables, whatever the caller's are, and each
-- row shows the library and OS threads the child reported), samples per
-- second, and the peak RSS of the training process at startup (workbench)
-- or right after `import torch`, once the data is loaded, and at the end.
-- Each measurement runs in a child process so that peak RSS is its own.
-- Each row is WB_BENCH_REPS (default 3) children, workbench's and
-- PyTorch's alternated (a change in the machine's load hits both sides),
-- each timing WB_BENCH_EPOCHS (default 1) epochs after a warm-up
-- (workbench: one epoch; PyTorch: 300 steps): the median of those epochs,
-- with their min..max; a ratio is the ratio of the medians, with the
-- min..max of the rounds' own ratios. Times are the process's CPU seconds
-- (the wall clock is shown too): the machines this runs on are shared and
-- busy, and CPU time of a one-thread process is less disturbed by the
-- other load than its wall time, though not immune to it (shared caches
-- and memory bandwidth): hence the spreads. When Debian's python3-torch is
-- installed, the same training in PyTorch 1.13 on one thread runs in the
-- same invocation, batch size by batch size next to workbench's, with two
-- loops (tests/bench_torch.py): "strong", the fastest plain loop
-- (torch.set_flush_denormal(True), data converted to float once, batches
-- by index, zero_grad(set_to_none=True), no per-step sync), which the
-- speed targets are against, and "naive" (converts and syncs every step,
-- no flush), for reference. Both run on one thread (else an idle OpenMP
-- thread spins and counts in the CPU time); the strong one also
-- with MALLOC_MMAP_THRESHOLD_ raised, so that glibc keeps the blocks of
-- PyTorch's per-step temporaries instead of mapping and faulting them in
-- at every step (about 2x at batch 8 on the machine this was written on).
-- The table is run twice: on MNIST as is (81 % zero pixels, which
-- workbench's Dense products skip) and on dense input (MNIST standardised,
-- no zero pixel; workbench and PyTorch strong only), so the share of the
-- sparse-input shortcut shows. The header names the commit, the CPU model,
-- the OpenBLAS kernel and the load. Compare within one run: the ratio
-- depends on the CPU. It prints; it never fails on speed.
-- Then the Hessian section (--hessian), the instruments' overhead table
-- (tests/bench_instruments.lua) and a batch hook's cost (tests/bench_hooks.lua);
-- --training stops after the training table.
local common = dofile("tests/bench_common.lua")
local count = common.count
local EPOCHS = count("WB_BENCH_EPOCHS", 1, 100)
local REPS = count("WB_BENCH_REPS", 3, 100)
if os.getenv("WB_BENCH_TORCH_EPOCHS") then
  error("WB_BENCH_TORCH_EPOCHS is gone: WB_BENCH_EPOCHS sets both sides' timed epochs", 0)
end
-- a tiny configuration (tests/lua/test_bench_threads.lua): fewer rows, fewer batch sizes
local ROWS = math.tointeger(tonumber(os.getenv("WB_BENCH_TRAIN_ROWS") or 60000))
if not ROWS or ROWS < 1 or ROWS > 60000 then
  error("WB_BENCH_TRAIN_ROWS: expected an integer 1..60000, got "
    .. tostring(os.getenv("WB_BENCH_TRAIN_ROWS")), 0)
end
local BATCHES = {}
for b in (os.getenv("WB_BENCH_BATCHES") or "8,32,128"):gmatch("[^,]+") do
  BATCHES[#BATCHES + 1] = math.tointeger(tonumber(b))
  if not BATCHES[#BATCHES] or BATCHES[#BATCHES] < 1 then
    error("WB_BENCH_BATCHES: expected batch sizes like 8,32,128, got " .. b, 0)
  end
end
-- workbench over strong PyTorch, samples/s at one thread (issue 14)
local TARGET = {[8] = 5, [32] = 3}
-- workbench's CPU seconds per epoch on MNIST as is, one thread
local EPOCH_TARGET = {[8] = 0.40, [32] = 0.27, [128] = 0.22}

-- No argument, or --training; --child and --hessian are its own children's.
-- Anything else (a misspelt --training) would run the whole bench silently.
local MODES = {["--training"] = 1, ["--child"] = 4, ["--hessian"] = 1}
if arg[1] ~= nil and (not MODES[arg[1]] or #arg > MODES[arg[1]]) then
  io.stderr:write("bench.lua: unexpected argument '" .. tostring(arg[MODES[arg[1]]
    and MODES[arg[1]] + 1 or 1]) .. "' (expected none, or --training: the training "
    .. "table only)\n")
  os.exit(64)
end

local median = common.median

if arg[1] == "--child" then
  -- --child BATCH EPOCHS [raw|std]: one training; std is the dense input
  local rss_start = wb.sys.peak_rss_kb()
  local batch, epochs, input = tonumber(arg[2]), tonumber(arg[3]), arg[4] or "raw"
  local d = wb.data.mnist()
  local train = ROWS < 60000 and d.train:subset(1, ROWS) or d.train
  if input == "std" then
    train = common.standardised(train)
  elseif input ~= "raw" then
    error("bench.lua --child: input must be raw or std, got " .. tostring(input))
  end
  local rss_data = wb.sys.peak_rss_kb()
  local model, h, cpu = common.fit_timed(train, batch, epochs, wb.optim.Adam{})
  local fmt = function(t)
    local s = {}
    for i, v in ipairs(t) do s[i] = string.format("%.4f", v) end
    return table.concat(s, ",")
  end
  print(string.format("RESULT %s %s %d %.4f %d %d %d %d", fmt(cpu), fmt(h.epoch_time),
    -- train acc: the final weights' on the whole training set, as PyTorch strong's (the
    -- running mean over the last epoch read as if workbench trained better: tryP 8)
    wb.sys.peak_rss_kb(), model:evaluate(train).accuracy, rss_start, rss_data,
    wb.sys.blas_threads(),
    common.os_threads() or -1))
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
  -- CPU seconds (os.clock: this process is one thread), REPS rounds, each
  -- timing the gradient, a fresh operator's creation, creation and first
  -- product, and a reused operator's product once: a ratio per round, the
  -- median with the rounds' min..max (the machine is shared).
  local HREPS = 7
  local function cpu(f)
    local c0 = os.clock()
    f()
    return os.clock() - c0
  end
  local function layers() return {model[1], model[2]} end
  local fresh_all = {}
  local function report(tag)
    local v = model:get_weights()
    local op <close> = wb.hessian.Operator(layers(), x, y, "cross_entropy", false, 2048)
    op:hvp(v)
    local g, f, r, fr, rr = {}, {}, {}, {}, {}
    for i = 0, HREPS do -- round 0 warms up (its first gradient allocates), not counted
      g[i] = cpu(function()
        model:zero_grad()
        model:forward(x, false)
        ce:forward(last:logits(), y)
        model:backward_logits(x, ce:backward())
      end)
      local create = cpu(function()
        local o <close> = wb.hessian.Operator(layers(), x, y, "cross_entropy", false, 2048)
      end)
      local first = cpu(function()
        local o <close> = wb.hessian.Operator(layers(), x, y, "cross_entropy", false, 2048)
        o:hvp(v)
      end)
      f[i], r[i] = first - create, cpu(function() op:hvp(v) end)
      fr[i], rr[i] = f[i] / g[i], r[i] / g[i]
      fresh_all[#fresh_all + 1] = i > 0 and fr[i] or nil
    end
    print(string.format("%-16s %9.2f ms %9.2f ms %6.2fx (%s) %9.2f ms %6.2fx (%s)", tag,
      median(g) * 1e3, median(f) * 1e3, median(fr), common.spread(fr), median(r) * 1e3,
      median(rr), common.spread(rr)))
  end
  print(string.format("\nHessian-vector products, 784-128-10 relu, 2,048 rows: CPU time, "
    .. "the median of %d rounds (ratios: the median of the rounds' own, min..max)", HREPS))
  print(string.format("%-16s %12s %12s %20s %12s %20s", "model", "gradient", "hvp (fresh)",
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
  local lo, hi = common.range(fresh_all)
  print(string.format("target: one Hessian-vector product (fresh) <= 2.5x one gradient on the "
    .. "same rows: %s (median %.2fx of both models' %d rounds)", common.verdict(
    median(fresh_all), lo, hi, 2.5, true), median(fresh_all), #fresh_all))
  os.exit(0)
end


-- One child's RESULT line: its timed epochs' CPU and wall seconds (lists),
-- memory, accuracy and threads.
local function run(cmd, warm_epoch)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  p:close()
  local cpu, wall, rss, acc, rss0, rss1, blas, nos = out:match(
    "RESULT ([%d.,e%-]+) ([%d.,e%-]+) (%d+) ([%d.]+) (%d+) (%d+) (%d+) (%-?%d+)")
  if not cpu then return nil, out end
  -- workbench's first epoch warms caches and allocates buffers (PyTorch's
  -- 300 warm-up steps are outside its list)
  local function list(l)
    local ts = {}
    for t in l:gmatch("[^,]+") do ts[#ts + 1] = tonumber(t) end
    if warm_epoch then table.remove(ts, 1) end
    return ts
  end
  return {cpu = list(cpu), wall = list(wall), rss = tonumber(rss) / 1024, acc = tonumber(acc),
    rss0 = tonumber(rss0) / 1024, rss1 = tonumber(rss1) / 1024, blas = math.tointeger(blas),
    os = math.tointeger(nos)}
end

local exe = arg[-1] or "./workbench"
print(common.provenance({table.unpack(arg, 1)}))
print(string.format("baseline 784-128-10, Adam, MNIST's first %d training rows; %d child "
  .. "processes per row, workbench's and PyTorch's\nalternated, each timing %d epoch(s) after "
  .. "a warm-up (workbench: one epoch; PyTorch: 300 steps); s/epoch: the\nmedian of those "
  .. "%d epochs in process CPU seconds (min..max; wall median in parentheses),\nsamples/s "
  .. "from the median; "
  .. "memory: peak RSS (getrusage) at startup (workbench) or right after\n`import torch`, "
  .. "once the data is loaded (and converted), and at the end (peak of the whole training)\n",
  ROWS, REPS, EPOCHS, REPS * EPOCHS))
print("threads: the library's (OpenBLAS; torch.get_num_threads) / the OS threads of the "
  .. "child process (/proc/self/task)\n")
local ROW = "%-16s %7s %6d %9.3f %13s (%7.3f) %10.0f %6.1f %6.1f %6.1f %9.4f"
local HEAD = string.format("%-16s %7s %6s %9s %13s %9s %10s %6s %6s %6s %9s", "engine",
  "threads", "batch", "s/epoch", "(min..max)", "(wall)", "samples/s", "start", "data", "peak",
  "train acc")
local warnings = {}
-- One row from an engine's REPS results: the median and spread of all
-- their epochs; memory the largest of the children's, threads the first's.
local function row(name, b, rs) -- -> the median, min, max and the peak RSS
  local cpu, wall, r = {}, {}, rs[1]
  local rss0, rss1, rss = 0, 0, 0
  for _, x in ipairs(rs) do
    table.move(x.cpu, 1, #x.cpu, #cpu + 1, cpu)
    table.move(x.wall, 1, #x.wall, #wall + 1, wall)
    rss0, rss1, rss = math.max(rss0, x.rss0), math.max(rss1, x.rss1), math.max(rss, x.rss)
    warnings[#warnings + 1] = common.check(name .. " at batch " .. b, x.blas, x.os)
  end
  local sec = median(cpu)
  print(string.format(ROW, name, common.label(r.blas, r.os), b, sec, common.spread(cpu,
    "%.3f"), median(wall), ROWS / sec, rss0, rss1, rss, rs[#rs].acc))
  local lo, hi = common.range(cpu)
  return sec, lo, hi, rss
end

local torch = os.execute("/usr/bin/python3 -c 'import torch' 2>/dev/null")
local ENV = common.env() .. " MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824"
local INPUTS = {
  {"raw", "MNIST as is (pixels / 255; 81 % of them 0, which workbench's Dense products skip)",
    {{"strong", "pytorch strong", ENV}, {"naive", "pytorch naive", common.env()}}},
  {"std", "dense input: " .. common.STD .. " (no inputs to skip)",
    {{"strong", "pytorch strong", ENV}}}}
local ratios, own = {}, {} -- own: workbench's rows on MNIST as is, by batch size
for _, input in ipairs(INPUTS) do
  print(input[2] .. "; MiB:")
  print(HEAD)
  ratios[input[1]] = {}
  for _, b in ipairs(BATCHES) do
    local engines = {{"workbench", string.format("%s %s %s --child %d %d %s", common.env(),
      exe, arg[0], b, EPOCHS + 1, input[1]), true}}
    for _, l in ipairs(torch and input[3] or {}) do
      engines[#engines + 1] = {l[2], string.format("%s /usr/bin/python3 tests/bench_torch.py "
        .. "%d %d %d %s adam %s", l[3], b, EPOCHS, common.threads(), l[1], input[1])}
    end
    local results, failed = {}, {}
    for e = 1, #engines do results[e] = {} end
    for _ = 1, REPS do -- alternated: workbench, strong(, naive), workbench, ...
      for e, en in ipairs(engines) do
        if not failed[e] then
          local r, err = run(en[2], en[3])
          if r then results[e][#results[e] + 1] = r
          elseif e == 1 then io.stderr:write("bench failed: ", err, "\n"); os.exit(1)
          else failed[e] = tostring(err):sub(1, 200) end
        end
      end
    end
    local sec = {}
    for e, en in ipairs(engines) do
      if failed[e] then print(en[1] .. ": failed: " .. failed[e])
      else
        local m, lo, hi, rss = row(en[1], b, results[e])
        sec[e] = m
        if e == 1 and input[1] == "raw" then own[b] = {m, lo, hi, rss} end
      end
    end
    if sec[2] and engines[2][1] == "pytorch strong" then
      local rounds = {}
      for i = 1, REPS do
        rounds[i] = median(results[2][i].cpu) / median(results[1][i].cpu)
      end
      local q = ratios[input[1]]
      q[#q + 1] = {b, sec[2] / sec[1], common.spread(rounds), common.range(rounds)}
    end
    io.stdout:flush()
  end
  print()
end
print("load average at the end: " .. common.loadavg())
for _, w in ipairs(warnings) do print(w) end
if torch then
  print(string.format("\nworkbench speed / strong PyTorch speed (samples/s, CPU time, %d "
    .. "thread(s) per process, as the threads column shows; the ratio depends on the CPU):",
    common.threads()))
  print(string.format("  the ratio of the medians (min..max of the %d alternated rounds' "
    .. "ratios)", REPS))
  print(string.format("  %-10s %24s %24s", "", "MNIST as is", "dense input"))
  for i, q in ipairs(ratios.raw) do
    local t, d = TARGET[q[1]], ratios.std[i]
    print(string.format("  batch %4d: %7.2fx (%12s) %7.2fx (%12s)   %s", q[1], q[2], q[3],
      d and d[2] or 0/0, d and d[3] or "", t and string.format("target >= %gx (MNIST as is): "
      .. "%s", t, common.verdict(q[2], q[4], q[5], t, false)) or "(no target)"))
  end
  print("(MNIST as is: workbench's Dense products skip the zero pixels, PyTorch's do not; "
    .. "the dense-input column has\n no zeros to skip. strong: torch.set_flush_denormal(True), "
    .. "the training set converted to float once,\n batches by index, "
    .. "zero_grad(set_to_none=True), no per-step sync, foreach Adam, glibc keeping freed "
    .. "blocks;\n naive: no flush, every batch converted, .item() every step; train acc: "
    .. "workbench's and strong's final weights\n on the whole set, naive's the running mean "
    .. "over its epoch (the sides train different amounts:\n warm-up and timed epochs). "
    .. "workbench keeps the raw set as uint8 and converts each batch; dense input: a float "
    .. "copy\n on both sides. "
    .. "Memory: 'start' is what the runtime alone takes, 'peak' - 'data' what training adds)")
else
  print("\n(PyTorch reference skipped: Debian's python3-torch is not installed; "
    .. "apt-get install python3-torch to compare)")
end
print("\ntargets (2-core machine, 1 OpenBLAS thread; workbench, MNIST as is, CPU s/epoch median "
  .. "and min..max):")
for _, b in ipairs(BATCHES) do
  local t, o = EPOCH_TARGET[b], own[b]
  if t and o then
    print(string.format("  batch %4d: %.3f s/epoch (%.3f..%.3f) <= %.2f: %s; peak RSS %.1f MiB "
      .. "<= 120: %s", b, o[1], o[2], o[3], t, common.verdict(o[1], o[2], o[3], t, true), o[4],
      o[4] <= 120 and "met" or "NOT met"))
  end
end
if ROWS < 60000 then print("  (on the first " .. ROWS .. " rows: not comparable to them)") end
io.stdout:flush()
if arg[1] == "--training" then os.exit(0) end -- this table only
if not os.execute(string.format("%s %s %s --hessian", common.env(), exe, arg[0])) then
  io.stderr:write("bench: the Hessian section failed\n")
  os.exit(1)
end
io.stdout:flush()
-- glibc keeps freed blocks here as for PyTorch's strong loop: each cell is
-- a fit of its own, and fresh pages fault in slowly on these machines
if not os.execute(string.format("%s MALLOC_MMAP_THRESHOLD_=1073741824 "
  .. "MALLOC_TRIM_THRESHOLD_=1073741824 %s tests/bench_instruments.lua", common.env(), exe)) then
  io.stderr:write("bench: the instruments section failed\n")
  os.exit(1)
end
io.stdout:flush()
if not os.execute(string.format("%s %s tests/bench_hooks.lua", common.env(), exe)) then
  io.stderr:write("bench: the batch hook section failed\n")
  os.exit(1)
end
