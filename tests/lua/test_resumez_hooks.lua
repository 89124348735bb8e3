-- test_resumez_hooks.lua: the user's functions a callback holds in its
-- fields, LearningRateScheduler's schedule above all, across save_state and
-- fit{resume} (wb/state_hooks.lua, audit Z10). A schedule counting its
-- calls in a local went on from 0 after a resume: the third epoch's lr was
-- 0.1 where the uninterrupted run's was 0.025, without a word. Now such a
-- value is compared as a hook's is; a schedule of the epoch alone resumes
-- bit for bit, and the scheduler's own settings (verbose) are not compared.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(4242, 90, 8)
local dir = T.tmpdir()

local function model()
  wb.seed(1)
  return nn.Sequential{nn.Dense(8, 3, {activation = "softmax"})}
end

local function resume(make_schedule, verbose_then)
  local o = {batch_size = 16, seed = 9, verbose = false, optimizer = wb.optim.SGD{lr = 0.1}}
  o.epochs, o.callbacks = 3, {wb.callbacks.LearningRateScheduler(make_schedule())}
  local straight = model()
  local h3 = straight:fit(data, o)
  local first = model()
  o.epochs, o.optimizer = 2, wb.optim.SGD{lr = 0.1}
  o.callbacks = {wb.callbacks.LearningRateScheduler(make_schedule())}
  first:fit(data, o)
  local path = dir .. "/lrs.safetensors"
  first:save_state(path)
  o.epochs, o.optimizer, o.resume = 3, nil, path
  o.callbacks = {wb.callbacks.LearningRateScheduler(make_schedule(),
    {verbose = verbose_then})}
  local resumed = model()
  return straight, h3, resumed, function() return resumed:fit(data, o) end
end

T.test("a schedule counting its calls in a local is refused on resume, naming it",
    function()
  local function make() -- a new process: its count starts at 0
    local calls = 0
    return function() calls = calls + 1; return 0.1 * 0.5 ^ (calls - 1) end
  end
  local _, _, _, go = resume(make)
  T.check_error("LearningRateScheduler) schedule: upvalue calls saved 2, given 0", go)
end)

-- tryN 3: its identity is compared too, tables by content (a count in a table had no
-- scalar upvalue to compare, and the resumed lr went on from 0)
T.test("a schedule counting its calls in a table is refused on resume, naming it", function()
  local function make()
    local count = {n = 0}
    return function() count.n = count.n + 1; return 0.1 * 0.5 ^ (count.n - 1) end
  end
  local _, _, _, go = resume(make)
  T.check_error("LearningRateScheduler) schedule: its code and the values it closes over "
    .. "(tables by content) saved", go)
end)

T.test("a schedule of the epoch resumes bit for bit; verbose is no setting", function()
  local function make()
    local base = 0.1
    return function(epoch) return base * 0.5 ^ (epoch - 1) end
  end
  local straight, h3, resumed, go = resume(make, true) -- verbose on resume: prints a line
  local hr = go()
  for e = 1, 3 do
    T.eq(hr.lr[e], h3.lr[e], "lr " .. e)
    T.eq(hr.loss[e], h3.loss[e], "loss " .. e)
  end
  local a, b = straight:get_weights(), resumed:get_weights()
  for i = 1, #a do T.ok((a[i] - b[i]):max() == 0 and (a[i] - b[i]):min() == 0, "weight " .. i) end
end)

T.done()
