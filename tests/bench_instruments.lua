-- bench_instruments.lua (part of make bench): the instruments' overhead
-- table, like Cockpit's Figure 6: the cost of a training step with
-- instruments over a plain step's, for the baseline model (784-128-10
-- relu, SGD; the last two rows Adam and SGD with momentum, each over its
-- own plain step) on MNIST rows, at batch 32 and 128, measuring every step
-- and every 16th. One thread: make bench (tests/bench.lua) runs this with the
-- thread variables set (tests/bench_common.lua), as it runs PyTorch's step
-- below, and the first line says what this process reports. Times are
-- the process's CPU seconds (os.clock) around fit, not wall-clock: the
-- machines are shared, and under a load of ten on two cores a wall-clock
-- epoch measures the other processes. (The records' per-instrument
-- seconds are wall-clock: under load they measure the machine, so the
-- table uses each instrument alone instead.)
--
-- A step's cost, not a fit's: each fit also pays once for its set-up
-- (copies of the parameters, scratch, the Hessian operator, the first
-- Lanczos run from cold) and for faulting in the fresh pages these take,
-- which on these virtual machines costs about 10 us a page (2,500 pages
-- for full at batch 128: 25 ms, a third of a 24,576-row epoch). An epoch's
-- ratio mixed that one-time cost into the per-step one by an amount that
-- depends only on the epoch's length. So each cell times two fits, of
-- SMALL (8,192) and BIG (60,000: an epoch of MNIST) rows, with and without
-- instruments, and takes the difference: the per-step cost is (t(BIG) -
-- t(SMALL)) / (the steps between), the set-up is t(SMALL) less SMALL's
-- steps at that cost; the second table prints the instruments' set-up
-- (theirs less the plain fit's) in milliseconds. WB_BENCH_REPS rounds
-- (default 4) of the four fits, instruments and plain in alternation (a
-- change in the machine's load between cells does not skew the ratio): a
-- cell is the median of the rounds' ratios, with their min..max; the
-- set-up uses each kind's fastest fit.
--
-- WB_BENCH_INPUT: raw (the default: MNIST as is, 81 % zero pixels, which
-- the Dense products skip) or std (dense input, as tests/bench.lua's
-- dense rows: bench_common.standardised, for both sides here, PyTorch's
-- step too). WB_BENCH_ONLY: a comma-separated list of the table's rows to
-- run (economy,full: the names in its first column), every row if unset.
-- Both are printed in the header (bench_common.provenance), which this
-- script prints itself, under make bench too: its load is this section's.
local common = dofile("tests/bench_common.lua")
if arg[1] ~= nil then
  error("bench_instruments: unexpected argument '" .. arg[1] .. "' (expected none: "
    .. "WB_BENCH_INPUT, WB_BENCH_ONLY, WB_BENCH_REPS, WB_BENCH_SMALL and WB_BENCH_ROWS set "
    .. "what it runs)", 0)
end
local SMALL = common.count("WB_BENCH_SMALL", 8192, 60000)
local BIG = common.count("WB_BENCH_ROWS", 60000, 60000)
local REPS = common.count("WB_BENCH_REPS", 4, 100)
if BIG <= SMALL then
  error(string.format("bench_instruments: WB_BENCH_SMALL (%s) must be at least 1 and below "
    .. "WB_BENCH_ROWS (%s), at most 60000", SMALL, BIG), 0)
end
local INPUT = os.getenv("WB_BENCH_INPUT") or "raw"
local INPUTS = {raw = "MNIST as is (81 % of the pixels 0, which the Dense products skip)",
  std = "dense input: " .. common.STD}
if not INPUTS[INPUT] then
  error("WB_BENCH_INPUT: expected raw (MNIST as is, the default) or std (dense input: "
    .. common.STD .. "), got '" .. INPUT .. "'", 0)
end

local configs = {}
for _, n in ipairs(wb.instruments.NAMES) do configs[#configs + 1] = {n, {n}} end
configs[#configs + 1] = {"economy", wb.instruments.economy}
configs[#configs + 1] = {"full", wb.instruments.full}
-- Other optimizers (each over its own plain step): their update is not
-- -lr times the gradient, so alpha projects on the update itself.
configs[#configs + 1] = {"economy Adam", wb.instruments.economy,
  function() return wb.optim.Adam{} end}
configs[#configs + 1] = {"economy mom.", wb.instruments.economy,
  function() return wb.optim.SGD{lr = 0.05, momentum = 0.9} end}
if os.getenv("WB_BENCH_ONLY") then -- checked before any work
  local want, names, kept = {}, {}, {}
  for n in os.getenv("WB_BENCH_ONLY"):gmatch("[^,]+") do want[n] = true end
  for _, c in ipairs(configs) do
    names[#names + 1] = c[1]
    if want[c[1]] then kept[#kept + 1], want[c[1]] = c, nil end
  end
  local bad = next(want)
  if bad or #kept == 0 then
    error(string.format("WB_BENCH_ONLY: %s (expected a comma-separated list of rows: %s)",
      bad and ("unknown row '" .. bad .. "'") or "no row named", table.concat(names, ", ")), 0)
  end
  configs = kept
end

local d = wb.data.mnist()
local train = INPUT == "std" and common.standardised(d.train) or d.train
local small, big = train:subset(1, SMALL), train:subset(1, BIG)

-- One fit of one epoch: its CPU seconds and history.
local function epoch(rows, bs, instruments, every, opt)
  wb.seed(1)
  local model = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
    wb.nn.Dense(128, 10, {activation = "softmax"})}
  local t0 = os.clock()
  local h = model:fit(rows, {batch_size = bs, optimizer = opt and opt() or wb.optim.SGD{lr = 0.05},
    seed = 1, verbose = false, instruments = instruments, every = instruments and every})
  return os.clock() - t0, h
end

-- REPS fits of rows, with instruments and without, in alternation: the
-- two lists of times and the history of the fastest instrumented fit.
local function fits(rows, bs, instruments, every, opt)
  local ti, tp, best, hist = {}, {}, math.huge, nil
  for r = 1, REPS do
    tp[r] = (epoch(rows, bs, nil, nil, opt))
    local t, h = epoch(rows, bs, instruments, every, opt)
    ti[r] = t
    if t < best then best, hist = t, h end
  end
  return ti, tp, hist
end

-- One cell: the per-step ratio (the median of the REPS rounds' own, each
-- from that round's four fits), the instruments' set-up in seconds (over the
-- plain fit's, from each kind's fastest fits), the history of a BIG fit,
-- the plain step's seconds, and the rounds' ratios (their spread is the
-- noise; the ratio of the fastest fits, the statistic before, could fall
-- outside it).
local function cell(bs, instruments, every, opt)
  local tis, tps = fits(small, bs, instruments, every, opt)
  local tib, tpb, hist = fits(big, bs, instruments, every, opt)
  local is, ps = math.min(table.unpack(tis)), math.min(table.unpack(tps))
  local ib, pb = math.min(table.unpack(tib)), math.min(table.unpack(tpb))
  local n_small = math.ceil(SMALL / bs)
  local steps = math.ceil(BIG / bs) - n_small
  local step_i, step_p = (ib - is) / steps, (pb - ps) / steps -- for the set-up
  local setup = (is - n_small * step_i) - (ps - n_small * step_p)
  local rounds = {}
  for r = 1, REPS do rounds[r] = (tib[r] - tis[r]) / (tpb[r] - tps[r]) end
  return common.median(rounds), setup, hist, step_p, rounds
end

local cols = {{32, 1}, {32, 16}, {128, 1}, {128, 16}}
-- A plain step's CPU seconds at batch size bs (the fastest of REPS pairs).
local function plain_step(bs)
  local ps, pb = math.huge, math.huge
  for _ = 1, REPS do
    ps, pb = math.min(ps, (epoch(small, bs))), math.min(pb, (epoch(big, bs)))
  end
  return (pb - ps) / (math.ceil(BIG / bs) - math.ceil(SMALL / bs))
end
print(common.provenance({}))
print("input: " .. INPUTS[INPUT] .. " (WB_BENCH_INPUT=" .. INPUT .. ")")
local step = {[32] = plain_step(32), [128] = plain_step(128)}
local W = 22 -- a cell: "  11.54x (11.10..11.79)"
local blas, nos = wb.sys.blas_threads(), common.os_threads()
local own = common.check("this process", blas, nos)
print(string.format("\nInstruments, 784-128-10 relu, SGD, %d library / %s OS thread(s)%s: "
  .. "CPU time of a step with "
  .. "instruments over a plain step's (about %.3f ms at batch 32, %.3f ms at batch 128; "
  .. "from fits of %d and %d rows, their difference: the one-time set-up is in the second "
  .. "table)", blas, tostring(nos), own and (" (" .. own .. ")") or "", 1000 * step[32],
  1000 * step[128], SMALL, BIG))
print(string.format("Each cell: the median of %d rounds' ratios, a round being one fit of "
  .. "each kind and size, alternated (their min..max)", REPS))
local function head(w)
  return string.format("%-14s" .. string.rep(" %" .. w .. "s", 4), "instruments",
    "b32 every1", "b32 /16", "b128 every1", "b128 /16")
end
print(head(W))
local full, econ, setups, verdicts = {}, {}, {}, {}
for _, cfg in ipairs(configs) do
  local cells, ms = {}, {}
  for c, col in ipairs(cols) do
    local r, setup, h, _, rounds = cell(col[1], cfg[2], col[2], cfg[3])
    cells[c] = string.format("%" .. W .. "s", string.format("%.2fx (%s)", r,
      common.spread(rounds)))
    ms[c] = string.format("%11.1f", 1000 * setup)
    if cfg[1] == "full" and col[2] == 1 then full[col[1]] = h end
    if cfg[1] == "economy" and col[2] == 1 then econ[col[1]] = r end
    if (cfg[1] == "economy" and col[2] == 1) or (cfg[1] == "full" and col[2] == 16) then
      verdicts[#verdicts + 1] = {cfg[1], col, r, rounds}
    end
  end
  print(string.format("%-14s %s", cfg[1], table.concat(cells, " ")))
  setups[#setups + 1] = string.format("%-14s %s", cfg[1], table.concat(ms, " "))
  io.stdout:flush()
end
print("\nThe instruments' one-time set-up per fit, milliseconds of CPU time over a plain "
  .. "fit's (what a fit pays once, whatever its length; noisy: a difference of differences)")
print(head(11))
print(table.concat(setups, "\n"))
-- Cockpit's figures: its paper's benchmark (fsschneider/cockpit-experiments,
-- experiments/01_benchmark) for DeepOBS mnist_mlp on CPU (784-1000-500-100-10
-- tanh, about 1.33 M parameters), not this model nor this machine; README.md
-- ("Speed and memory") says how its protocol differs.
print("Cockpit (fsschneider/cockpit-experiments, experiments/01_benchmark, DeepOBS "
  .. "mnist_mlp on CPU: economy 64x every step, 5.2x every 16; full 262x, 17.5x).\n  "
  .. "Not like for like: 784-1000-500-100-10 tanh, about 1.33 M parameters; wall clock over "
  .. "512 steps, the mean of 10 seeds, over its baseline run (Cockpit tracking only Time);"
  .. "\n  ours is 784-128-10 relu, 101,770, whose per-sample statistics use ReLU and the "
  .. "inputs' zeros")
print("targets: economy every step <= 1.3x; full every 16 steps <= 2x (the median of the "
  .. "rounds, their min..max):")
for _, v in ipairs(verdicts) do
  local t = v[1] == "economy" and 1.3 or 2
  local lo, hi = common.range(v[4])
  print(string.format("  %-7s batch %3d, every %2d: %.2fx (%.2f..%.2f) <= %gx: %s", v[1],
    v[2][1], v[2][2], v[3], lo, hi, t, common.verdict(v[3], lo, hi, t, true)))
end

-- The same plain SGD step in PyTorch (tests/bench_torch.py, the strong
-- loop, one thread, glibc keeping freed blocks), so the overheads above can
-- be read in PyTorch's steps too, as Cockpit's are. Both sides measured
-- alike: REPS rounds, each one workbench epoch of the 60,000 rows after a
-- warm-up epoch, then one PyTorch process's epoch after its 300 warm-up
-- steps; the median of each side's REPS epochs (min..max of the rounds'
-- ratios). On the same input (WB_BENCH_INPUT: bench_torch.py's INPUT).
local function wb_epoch(bs)
  local _, _, cpu = common.fit_timed(train, bs, 2, wb.optim.SGD{lr = 0.05})
  return cpu[2]
end
local function torch_epoch(bs)
  local p = io.popen(string.format("%s WB_BENCH_TRAIN_ROWS=60000 "
    .. "MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 "
    .. "/usr/bin/python3 tests/bench_torch.py %d 1 %d strong sgd %s 2>&1", common.env(),
    bs, common.threads(), INPUT))
  local out = p:read("a")
  p:close()
  local cpu = tonumber(out:match("RESULT ([%d.]+)"))
  if not cpu then error("bench_torch.py failed:\n" .. out) end
  local tb, tos = out:match("RESULT %S+ %S+ %S+ %S+ %S+ %S+ (%d+) (%d+)")
  return cpu, math.tointeger(tb), math.tointeger(tos)
end
if os.execute("/usr/bin/python3 -c 'import torch' 2>/dev/null") then
  print(string.format("plain SGD step, here and in PyTorch: the median of %d alternated "
    .. "rounds, each an epoch of 60,000 rows after a warm-up (min..max of the rounds' ratios)",
    REPS))
  for _, bs in ipairs{32, 128} do
    local n, ours, theirs, rounds, label, warn = math.ceil(60000 / bs), {}, {}, {}, nil, nil
    for r = 1, REPS do
      ours[r] = wb_epoch(bs) / n
      local t, tb, tos = torch_epoch(bs)
      theirs[r], rounds[r] = t / n, t / n / ours[r]
      label = label or common.label(tb, tos)
      warn = warn or common.check("PyTorch", tb, tos)
    end
    local o, t = common.median(ours), common.median(theirs)
    local e = econ[bs] -- nil when WB_BENCH_ONLY left economy out
    print(string.format("batch %d: a plain SGD step takes %.3f ms here, %.3f ms in PyTorch "
      .. "(%.1fx, %s)%s (PyTorch: %s threads)%s", bs, 1000 * o, 1000 * t, t / o,
      common.spread(rounds, "%.1f"), e and string.format("; economy every step, %.3f ms, is "
      .. "%.2fx PyTorch's plain step", 1000 * o * e, o * e / t) or "", label,
      warn and ("; " .. warn) or ""))
  end
else
  print("(PyTorch's plain step skipped: Debian's python3-torch is not installed)")
end

-- hess_max's accuracy: Lanczos is capped, so each value carries its
-- residual (history.steps.hess_max_residual).
for _, bs in ipairs{32, 128} do
  local ins = full[bs] and full[bs].instruments -- nil when WB_BENCH_ONLY left full out
  if ins and ins.hess_max then
    print(string.format("hess_max at batch %d: %.1f Lanczos products per step on "
      .. "average, largest residual %.2e (relative)", bs, ins.hess_max.products /
      ins.calls.hess_max, ins.hess_max.max_residual))
  end
end
print("load average at the end: " .. common.loadavg())
os.exit(0)
