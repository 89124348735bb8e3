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
-- (theirs less the plain fit's) in milliseconds. Each time is the fastest
-- of WB_BENCH_REPS fits (default 4), instruments and plain in alternation
-- (a change in the machine's load between cells does not skew the ratio).
local common = dofile("tests/bench_common.lua")
local SMALL = tonumber(os.getenv("WB_BENCH_SMALL")) or 8192
local BIG = tonumber(os.getenv("WB_BENCH_ROWS")) or 60000
local REPS = tonumber(os.getenv("WB_BENCH_REPS")) or 4
if not (SMALL >= 1 and BIG > SMALL and BIG <= 60000) then
  error(string.format("bench_instruments: WB_BENCH_SMALL (%s) must be at least 1 and below "
    .. "WB_BENCH_ROWS (%s), at most 60000", SMALL, BIG), 0)
end

local d = wb.data.mnist()
local small, big = d.train:subset(1, SMALL), d.train:subset(1, BIG)

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

-- The fastest of REPS fits of rows, with instruments and without, in
-- alternation: the two times and the history of the fastest.
local function fastest(rows, bs, instruments, every, opt)
  local best, plain, hist = math.huge, math.huge, nil
  for _ = 1, REPS do
    plain = math.min(plain, (epoch(rows, bs, nil, nil, opt)))
    local t, h = epoch(rows, bs, instruments, every, opt)
    if t < best then best, hist = t, h end
  end
  return best, plain, hist
end

-- One cell: the per-step ratio, the instruments' set-up in seconds (over
-- the plain fit's), the history of a BIG fit and the plain step's seconds.
local function cell(bs, instruments, every, opt)
  local is, ps = fastest(small, bs, instruments, every, opt)
  local ib, pb, hist = fastest(big, bs, instruments, every, opt)
  local n_small = math.ceil(SMALL / bs)
  local steps = math.ceil(BIG / bs) - n_small
  local step_i, step_p = (ib - is) / steps, (pb - ps) / steps
  local setup = (is - n_small * step_i) - (ps - n_small * step_p)
  return step_i / step_p, setup, hist, step_p
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
local step = {[32] = plain_step(32), [128] = plain_step(128)}
local blas, nos = wb.sys.blas_threads(), common.os_threads()
local own = common.check("this process", blas, nos)
print(string.format("\nInstruments, 784-128-10 relu, SGD, %d library / %s OS thread(s)%s: "
  .. "CPU time of a step with "
  .. "instruments over a plain step's (about %.3f ms at batch 32, %.3f ms at batch 128; "
  .. "from fits of %d and %d rows, their difference: the one-time set-up is in the second "
  .. "table)", blas, tostring(nos), own and (" (" .. own .. ")") or "", 1000 * step[32],
  1000 * step[128], SMALL, BIG))
local head = string.format("%-14s %11s %11s %11s %11s", "instruments", "b32 every1", "b32 /16",
  "b128 every1", "b128 /16")
print(head)
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
local full, econ, setups = {}, {}, {}
for _, cfg in ipairs(configs) do
  local cells, ms = {}, {}
  for c, col in ipairs(cols) do
    local r, setup, h = cell(col[1], cfg[2], col[2], cfg[3])
    cells[c], ms[c] = string.format("%10.2fx", r), string.format("%11.1f", 1000 * setup)
    if cfg[1] == "full" and col[2] == 1 then full[col[1]] = h end
    if cfg[1] == "economy" and col[2] == 1 then econ[col[1]] = r end
  end
  print(string.format("%-14s %s", cfg[1], table.concat(cells, " ")))
  setups[#setups + 1] = string.format("%-14s %s", cfg[1], table.concat(ms, " "))
  io.stdout:flush()
end
print("\nThe instruments' one-time set-up per fit, milliseconds of CPU time over a plain "
  .. "fit's (what a fit pays once, whatever its length; noisy: a difference of differences)")
print(head)
print(table.concat(setups, "\n"))
-- Cockpit's figures: its own benchmark files for a DeepOBS MNIST MLP on CPU
-- (784-1000-500-100-10 tanh, about 1.33 M parameters; each over its own
-- plain PyTorch step), not this model nor this machine.
print("Cockpit (its own benchmark files for a DeepOBS MNIST MLP on CPU: economy 64x every "
  .. "step, 5.2x every 16; full 262x, 17.5x).\n  Not like for like: DeepOBS mnist_mlp is "
  .. "784-1000-500-100-10 tanh, about 1.33 M parameters, over PyTorch's plain step;\n  "
  .. "ours is 784-128-10 relu, 101,770, whose per-sample statistics use ReLU and the "
  .. "inputs' zeros")
print("targets: economy every step <= 1.3x; full every 16 steps <= 2x")

-- The same plain SGD step in PyTorch (tests/bench_torch.py, the strong
-- loop, one thread, glibc keeping freed blocks), so the overheads above can
-- be read in PyTorch's steps too, as Cockpit's are.
if os.execute("/usr/bin/python3 -c 'import torch' 2>/dev/null") then
  for _, bs in ipairs{32, 128} do
    local p = io.popen(string.format("%s WB_BENCH_TRAIN_ROWS=60000 "
      .. "MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 "
      .. "/usr/bin/python3 tests/bench_torch.py %d 1 %d strong sgd 2>&1", common.env(),
      bs, common.threads()))
    local out = p:read("a")
    p:close()
    local cpu = tonumber(out:match("RESULT ([%d.]+)"))
    if not cpu then error("bench_torch.py failed:\n" .. out) end
    local tb, tos = out:match("RESULT %S+ %S+ %S+ %S+ %S+ %S+ (%d+) (%d+)")
    local warn = common.check("PyTorch", math.tointeger(tb), math.tointeger(tos))
    local torch_step = cpu / math.ceil(60000 / bs)
    local ours = step[bs]
    print(string.format("batch %d: a plain SGD step takes %.3f ms here, %.3f ms in PyTorch "
      .. "(%.1fx); economy every step, %.3f ms, is %.2fx PyTorch's plain step (PyTorch: %s "
      .. "threads)%s", bs,
      1000 * ours, 1000 * torch_step, torch_step / ours, 1000 * ours * econ[bs],
      ours * econ[bs] / torch_step, common.label(tb, tos), warn and ("; " .. warn) or ""))
  end
else
  print("(PyTorch's plain step skipped: Debian's python3-torch is not installed)")
end

-- hess_max's accuracy: Lanczos is capped, so each value carries its
-- residual (history.steps.hess_max_residual).
for _, bs in ipairs{32, 128} do
  local ins = full[bs].instruments
  if ins.hess_max then
    print(string.format("hess_max at batch %d: %.1f Lanczos products per step on "
      .. "average, largest residual %.2e (relative)", bs, ins.hess_max.products /
      ins.calls.hess_max, ins.hess_max.max_residual))
  end
end
os.exit(0)
