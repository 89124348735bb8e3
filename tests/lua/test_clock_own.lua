-- The library times itself (fit's epoch_time, the instruments' seconds)
-- with its own clock, wb.sys._time, not wb.sys.time, which the read tracker
-- wraps to note a hook's reads: while a run was tracked, every library read
-- walked the stack to tell it from a hook's (25 us a step with the economy
-- instruments every step, a fifth of a plain step). Counted here: no call
-- of wb.sys.time or os.clock by fit, with instruments, in a tracked run.
local T = dofile("tests/lua/harness.lua")
local reads = require "wb.identity_reads"
-- the functions a script sees (the tracker's wrappers): their calls counted
-- by a call hook (the library took its clock when it loaded)
local watched = {[wb.sys.time] = true, [os.clock] = true}
local calls = 0
local function counting()
  local f = debug.getinfo(2, "f").func
  if watched[f] then calls = calls + 1 end
end

T.test("fit and the instruments read no wrapped clock", function()
  local d = wb.data.mnist()
  local rows = d.train:subset(1, 256)
  wb.seed(1)
  local model = wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
  local t = reads.track{}
  debug.sethook(counting, "c")
  local h = model:fit(rows, {batch_size = 32, epochs = 2, optimizer = wb.optim.SGD{lr = 0.05},
    seed = 1, verbose = false, instruments = wb.instruments.full, every = 1})
  debug.sethook()
  t:stop()
  T.eq(#h.epoch_time, 2)
  T.ok(h.epoch_time[1] > 0, "timed")
  T.eq(calls, 0, "calls of wb.sys.time / os.clock")
end)

T.done()
