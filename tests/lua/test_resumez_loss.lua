-- A loss function's closure state in a training state (audit Z2): a loss
-- counting its calls in a local (a warm-up, a curriculum weight) resumed
-- with the count of a fresh process, and the loss's identity, taken when
-- fit began, still matched the resumed fit's: epoch 3's loss differed from
-- the uninterrupted run's without a word. Now the identity and the values
-- it keeps are taken at the save, and a resume with others is refused,
-- naming the value; given the saved count, it goes on bit for bit.
local T = dofile("tests/lua/harness.lua")
local nn = wb.nn
local dir = T.tmpdir()
local data = T.synthetic(4242, 90, 8)
local calls = 0
local function warm_mse(out, y) -- the loss ramps up over its first 10 calls
  calls = calls + 1
  local w, n = math.min(1, calls / 10), out:shape()[1]
  local t = out:clone():fill(0)
  for i = 1, n do t:set(i, y:get(i) + 1, 1) end
  local d = out - t
  return (d * d):sum() * w / n, d * (2 * w / n)
end
local function model() wb.seed(1) return nn.Sequential{nn.Dense(8, 3, {activation = "softmax"})} end
local function opts(epochs, resume)
  return {batch_size = 16, seed = 9, verbose = false, loss = warm_mse, grad_check = false,
    epochs = epochs, resume = resume}
end

T.test("a loss counting its calls: a fresh count is refused, naming it", function()
  calls = 0
  local h3 = model():fit(data, opts(3))
  calls = 0
  local first = model()
  first:fit(data, opts(2))
  local saved = calls
  first:save_state(dir .. "/z2.st")
  calls = 0 -- as in a new process
  local ok, err = pcall(model().fit, model(), data, opts(3, dir .. "/z2.st"))
  T.ok(not ok, "a fresh count resumed")
  T.ok(tostring(err):find("the loss function (" .. "tests/lua/test_resumez_loss.lua:13): "
    .. "upvalue calls saved " .. saved .. ", given 0", 1, true), tostring(err))
  -- given the saved count, the resume is the uninterrupted fit
  calls = saved
  local hr = model():fit(data, opts(3, dir .. "/z2.st"))
  T.eq(string.format("%a", hr.loss[3]), string.format("%a", h3.loss[3]))
end)

T.test("a loss without state resumes as before; a named loss is not compared", function()
  local plain = function(out, y)
    local n = out:shape()[1]
    local t = out:clone():fill(0)
    for i = 1, n do t:set(i, y:get(i) + 1, 1) end
    local d = out - t
    return (d * d):sum() / n, d * (2 / n)
  end
  local m = model()
  m:fit(data, {batch_size = 16, seed = 9, verbose = false, loss = plain, epochs = 1})
  m:save_state(dir .. "/p.st")
  local h = model():fit(data, {batch_size = 16, seed = 9, verbose = false, loss = plain,
    epochs = 2, resume = dir .. "/p.st"})
  T.eq(#h.loss, 2)
  m = model()
  m:fit(data, {batch_size = 16, seed = 9, verbose = false, epochs = 1})
  m:save_state(dir .. "/n.st")
  h = model():fit(data, {batch_size = 16, seed = 9, verbose = false, epochs = 2,
    resume = dir .. "/n.st"})
  T.eq(#h.loss, 2)
end)

T.done()
