-- bench_hvp.lua: one Hessian-vector product of the baseline (784-128 relu -
-- 10 softmax, the operator hess_max uses: float32, the batch as one chunk)
-- in plain training steps (SGD), at batch 32 and 128, one thread. CPU
-- seconds (os.clock), the fastest of WB_BENCH_REPS rounds (default 5), each
-- round many products / steps (the machine is shared: a round's minimum
-- measures the work, not the load). Products through Hutchinson probes of
-- the last layer's block (1,290 parameters: a probe's random numbers and dot
-- are negligible, while each product is a whole one).
local REPS = tonumber(os.getenv("WB_BENCH_REPS")) or 5
local d = wb.data.mnist()
local rows = d.train:subset(1, 4096)

local function model()
  wb.seed(1)
  return wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
    wb.nn.Dense(128, 10, {activation = "softmax"})}
end

for _, bs in ipairs{32, 128} do
  local m = model()
  local steps = 4096 // bs
  local plain, hvp = math.huge, math.huge
  local perm = {}
  for i = 1, bs do perm[i] = i end
  local x, y = rows:batch(perm)
  local layers = {m[1], m[2]}
  local op = wb.hessian.Operator(layers, x, y, "cross_entropy", false, bs, 1)
  local probes = 4 * steps
  for _ = 1, REPS do
    local t0 = os.clock()
    m:fit(rows, {batch_size = bs, optimizer = wb.optim.SGD{lr = 0.05}, seed = 1,
      verbose = false, epochs = 1})
    plain = math.min(plain, (os.clock() - t0) / steps)
    op:reset(x, y)
    t0 = os.clock()
    op:trace(probes, 2)
    hvp = math.min(hvp, (os.clock() - t0) / probes)
  end
  print(string.format("batch %3d: plain step %.3f ms, one HVP %.3f ms = %.2f plain steps",
    bs, plain * 1e3, hvp * 1e3, hvp / plain))
end
