-- bench_hooks.lua (part of make bench): what a batch hook of the user's
-- costs a fit. A fit with an on_train_batch_end hook checks after the hook
-- and after each update that the weights are finite (wb/fit_finite.lua: a
-- pass over the parameters each, wb.optim._first_nonfinite), which a fit
-- without user batch hooks never does; that cost was not measured. Here:
-- the CPU seconds (os.clock, as tests/bench_instruments.lua: the machines
-- are shared) of one epoch's fit of the baseline MLP (784-128-10 relu, SGD,
-- MNIST as is) with a no-op Lambda on_train_batch_end against the same fit
-- without it, at batch 32 and 128, WB_BENCH_REPS rounds (default 8) of the
-- two fits in alternation: the median of the rounds' ratios with their
-- min..max. Then the checks' share: the passes a step makes (M.passes()) and
-- one pass's CPU time, timed alone. One thread: make bench (tests/bench.lua)
-- runs this with the thread variables set (tests/bench_common.lua);
-- the first line says what this process reports. WB_BENCH_ROWS (default
-- 60000) sets the rows of the epoch (a quick run).
local common = dofile("tests/bench_common.lua")
if arg[1] ~= nil then
  error("bench_hooks: unexpected argument '" .. arg[1] .. "' (expected none: WB_BENCH_REPS "
    .. "and WB_BENCH_ROWS set what it runs)", 0)
end
local REPS = common.count("WB_BENCH_REPS", 8, 100) -- a round is about 0.8 s
local ROWS = common.count("WB_BENCH_ROWS", 60000, 60000)
local finite = require "wb.fit_finite"

local train = wb.data.mnist().train
if ROWS < 60000 then train = train:subset(1, ROWS) end

-- One fit of one epoch, with the no-op hook or without: its CPU seconds and
-- the weight checks made in its steps.
local function epoch(bs, hooked)
  local model = common.baseline()
  local cbs = hooked and {wb.callbacks.Lambda{on_train_batch_end = function() end}} or nil
  local p0, t0 = finite.passes(), os.clock()
  model:fit(train, {batch_size = bs, optimizer = wb.optim.SGD{lr = 0.05}, seed = 1,
    verbose = false, callbacks = cbs})
  return os.clock() - t0, finite.passes() - p0
end

-- One pass of the check over the model's parameters, CPU seconds (the
-- fastest of REPS timings of 1,000 passes).
local function one_pass()
  local params = common.baseline():parameters()
  local best = math.huge
  for _ = 1, REPS do
    local t0 = os.clock()
    for _ = 1, 1000 do wb.optim._first_nonfinite(params) end
    best = math.min(best, (os.clock() - t0) / 1000)
  end
  return best
end

print(common.provenance({}))
local blas, nos = wb.sys.blas_threads(), common.os_threads()
local own = common.check("this process", blas, nos)
local pass = one_pass()
print(string.format("\nA batch hook's cost, 784-128-10 relu, SGD, %d library / %s OS thread(s)%s: "
  .. "CPU time of a one-epoch fit (%d rows, MNIST as is) with a no-op\nLambda "
  .. "on_train_batch_end over the same fit's without it; each cell the median of %d "
  .. "alternated rounds' ratios (their min..max)", blas, tostring(nos),
  own and (" (" .. own .. ")") or "", ROWS, REPS))
print(string.format("%-6s %10s %10s %20s %12s %16s", "batch", "plain s", "hook s",
  "ratio", "extra/step", "checks/step"))
for _, bs in ipairs{32, 128} do
  local tp, th, rounds, checks = {}, {}, {}, 0
  for r = 1, REPS do
    tp[r] = (epoch(bs, false))
    th[r], checks = epoch(bs, true)
    rounds[r] = th[r] / tp[r]
  end
  local steps = math.ceil(ROWS / bs)
  local p, h = common.median(tp), common.median(th)
  print(string.format("%-6d %10.3f %10.3f %20s %9.1f us %16s", bs, p, h,
    string.format("%.3fx (%s)", common.median(rounds), common.spread(rounds, "%.3f")),
    1e6 * (h - p) / steps, string.format("%g (%.1f us)", checks / steps,
    1e6 * pass * checks / steps)))
  io.stdout:flush()
end
print(string.format("(checks/step: the weight checks a hooked step makes (after the hook, "
  .. "after the update) and their CPU time at %.1f us a pass over the 101,770 parameters, "
  .. "timed alone; extra/step: the difference of the medians over the epoch's steps)",
  1e6 * pass))
print("load average at the end: " .. common.loadavg())
os.exit(0)
