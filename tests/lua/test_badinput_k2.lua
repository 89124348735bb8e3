-- test_badinput_k2.lua: audit K's unclear errors (K47-K56) and papercuts
-- (K57-K60): each message names the user's mistake, at the caller's line.
local T = dofile("tests/lua/harness.lua")

local function lab(t) return wb.tensor(t, "uint8") end
local dir = T.tmpdir()
local function digits()
  local t = {}
  for i = 1, 64 do t[i] = i % 10 end
  local ds = wb.data.Dataset(wb.zeros(64, 784), lab(t), "d")
  local m = wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
  return ds, m
end

T.test("K47, K59: fit names the set whose rows have the wrong size, before any step", function()
  local ds, m = digits()
  local steps = 0
  local cb = wb.callbacks.Lambda{on_train_batch_end = function() steps = steps + 1 end}
  local e = T.check_error("fit: the validation set: x %[4, 100%] has 100 values per row, the "
    .. "model takes 784", m.fit, m, ds, {validation = wb.data.Dataset(wb.zeros(4, 100),
    lab{1, 2, 3, 4}), callbacks = {cb}, verbose = false})
  T.eq(steps, 0, "no step trained: " .. e)
  T.check_error("the validation set: x %[4, 100%]", m.fit, m, ds,
    {validation = {wb.zeros(4, 100), lab{1, 2, 3, 4}}, verbose = false})
  T.check_error("fit: the training set: x %[64, 100%] has 100 values per row", m.fit, m,
    wb.zeros(64, 100), ds.labels, {verbose = false})
end)

T.test("K48: fit(table, y) names argument 1's type", function()
  local ds, m = digits()
  T.check_error("bad argument #1 to 'fit' %(wb.Dataset or wb.Tensor expected, got table%)",
    m.fit, m, {{1, 2}}, ds.labels, {verbose = false})
end)

T.test("K49: loss_and_grads' label errors say y, at the caller's line", function()
  local ds, m = digits()
  local X = wb.zeros(64, 784)
  local e = T.check_error("^loss_and_grads: y: expected %[64%]", wb.measures.loss_and_grads, m,
    X, lab{1})
  T.ok(not e:find("measures.lua", 1, true), e)
  T.check_error("^loss_and_grads: y: label 1 %(1%-based position%) is 10",
    wb.measures.loss_and_grads, m, X, wb.full({64}, 10, "uint8"))
  T.eq(math.type(wb.measures.loss_and_grads(m, X, ds.labels)), "float")
end)

T.test("K50: landscape.barrier names what the curve lacks", function()
  T.check_error("barrier: curve.loss has 1 values for 2 t", wb.landscape.barrier,
    {t = {0, 1}, loss = {1}, accuracy = {1, 1}})
  T.check_error("barrier: curve.accuracy: expected a list of numbers", wb.landscape.barrier,
    {t = {0, 1}, loss = {1, 2}})
  T.check_error("curve.accuracy%[2%]: expected a number, got string", wb.landscape.barrier,
    {t = {0, 1}, loss = {1, 2}, accuracy = {1, "a"}})
  T.eq(wb.landscape.barrier{t = {0, 0.5, 1}, loss = {1, 3, 2}, accuracy = {1, 0.5, 1}}.loss, 1.5)
end)

T.test("K51: steps_tiles names a bad size as its own argument", function()
  local img = wb.full({28, 28}, 0.2)
  for _, s in ipairs{-1, 0} do
    local e = T.check_error("steps_tiles: size %(argument #2%): expected a positive integer, "
      .. "got " .. tostring(s):gsub("%-", "%%-"), wb.image.steps_tiles, img, s)
    T.ok(not e:find("image.lua", 1, true), e)
  end
end)

T.test("K53: fit and evaluate of a model with no layers say so", function()
  local ds = digits()
  local m = wb.nn.Sequential{}
  T.check_error("^fit: the model has no layers", m.fit, m, ds, {verbose = false})
  T.check_error("^evaluate: the model has no layers", m.evaluate, m, ds)
end)

T.test("K56: images' tile-size error gives h*w and the count the right way round", function()
  T.check_error("expected h%*w = 4 values per tile %(h=2, w=2%), got 6", wb.plot.images,
    {tiles = wb.zeros(2, 6), h = 2, w = 2})
end)

T.test("K57: help(ModelCheckpoint) says missing folders are created, as they are", function()
  T.ok(wb.help.text("wb.callbacks.ModelCheckpoint"):find("missing folders are created", 1, true))
  local ds = wb.data.Dataset(wb.zeros(8, 4), lab{1, 2, 0, 1, 2, 0, 1, 2})
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
  local path = dir .. "/a/b/m.safetensors"
  m:fit(ds, {verbose = false, callbacks = {wb.callbacks.ModelCheckpoint{filepath = path}}})
  T.ok(io.open(path, "rb") ~= nil, path)
end)

T.test("K58: ds:batch's index errors are located at the caller's line", function()
  local ds = wb.data.Dataset(wb.zeros(4, 4), lab{1, 2, 0, 1})
  local ok, e = pcall(function()
    local x = ds:batch(wb.tensor({0, 1}), 1, 2) -- this line
    return x
  end)
  T.ok(not ok)
  local line = debug.getinfo(1, "l").currentline - 4
  T.ok(tostring(e):find("test_badinput_k2.lua:" .. line .. ": bad argument #1 to 'batch' "
    .. "(perm: index 1 is 0", 1, true), tostring(e))
  T.eq(e.code, "ERANGE")
end)

T.test("K60: a file that is no safetensors says so", function()
  local png = dir .. "/x.png"
  wb.image.save(wb.zeros(4, 4), png)
  T.check_error("not a safetensors file", wb.load, png)
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3)}
  T.check_error("not a safetensors file", m.load_weights, m, "README.md")
end)

T.test("K52: wb.task{} without a name says task.name, not 'nil: task.name'", function()
  local ok, e = pcall(wb.task, {})
  T.ok(not ok)
  T.ok(tostring(e):find("task.name: expected a name", 1, true), tostring(e))
  T.ok(not tostring(e):find("nil:", 1, true), tostring(e))
  -- a name that is there but bad still heads the message
  ok, e = pcall(wb.task, {name = "x y"})
  T.ok(not ok and tostring(e):find(": x y: task.name:", 1, true), tostring(e))
end)

T.test("review R1, R7: loss_and_grads of no rows names x; an infinite squared norm is refused",
  function()
  local m = wb.nn.Sequential{wb.nn.Dense(784, 16), wb.nn.Dense(16, 10, {activation = "softmax"})}
  -- it said "bad argument #2 to '?' (logits: ...)"
  T.check_error("loss_and_grads: x: expected at least one row, got shape [0, 784]",
    wb.measures.loss_and_grads, m, wb.zeros(0, 784), wb.zeros(0, "uint8"))
  -- inf gave b_simple = inf; NaN still passes (a diverged run's estimate is NaN)
  T.check_error("g2_small (argument #2): expected a finite number >= 0", wb.noise_scale.two_batch,
    1, math.huge, 2, 1)
  T.check_error("expected a finite number >= 0", wb.noise_scale.per_sample, 4, math.huge, 1)
  local r = wb.noise_scale.two_batch(1, 0 / 0, 2, 1)
  T.ok(r.b_simple ~= r.b_simple, tostring(r.b_simple))
end)

T.test("review R9: a function under two names gets its checker named after the first in "
    .. "sorted order, in every process", function()
  -- pairs' order (a hash's) named it after whichever key came first: another name in
  -- another process, and a hook closing over it had another identity
  local code = "local args = require 'wb.args'; local f = function(a) return a end; "
    .. "local t = {}; for _, k in ipairs{'zeta', 'alpha', 'mid', 'beta', 'omega', 'kappa'} do "
    .. "t[k] = f end; args.check_counts(t, 't.'); print(select(2, pcall(t.zeta, 1, 2)))"
  for _ = 1, 3 do
    local st, out, err = T.sh(T.wb .. " -e " .. T.quote(code))
    T.eq(st, 0, err)
    T.ok(out:find("^t%.alpha: takes at most 1 argument"), out)
  end
end)

T.done()
