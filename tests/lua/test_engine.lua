-- test_engine.lua: Sequential, fit/evaluate/predict (fast: small synthetic
-- data; the real-data accuracy test is test_train_mnist.lua; callbacks and
-- checkpoints are test_engine_callbacks.lua).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

-- {==================== fixtures ====================

local tiny_model = T.linear_mlp

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

local function max_diff(a, b)
  local d = a - b
  return math.max(math.abs(d:max()), math.abs(d:min()))
end

local data = T.linear_data(120, 20, 3, 7)

-- }====================
-- {==================== Sequential ====================

T.test("summary of 784-128-10 counts 101,770 params = 397.54 KB", function()
  local m = nn.Sequential{nn.Dense(784, 128, {activation = "relu"}),
                          nn.Dense(128, 10, {activation = "softmax"})}
  local s = m:summary()
  T.ok(s:find("Total params: 101,770 (397.54 KB)", 1, true), s)
  T.ok(s:find("(None, 128)", 1, true) and s:find("100,480", 1, true)
    and s:find("1,290", 1, true), s)
  T.ok(s:find("dense_1 (Dense)", 1, true), s)
  T.eq(m:num_params(), 101770)
end)

T.test("model[i], #model, add returns self, tostring one line per layer", function()
  local d1, d2 = nn.Dense(4, 3), nn.Dense(3, 2, {activation = "softmax"})
  local m = nn.Sequential{d1}
  T.eq(m:add(nn.Dropout(0.5)), m)
  m:add(d2)
  T.eq(#m, 3)
  T.ok(rawequal(m[1], d1) and rawequal(m[3], d2))
  local lines = {}
  for l in tostring(m):gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.eq(#lines, 5)
  T.ok(lines[2]:find("(1) Dense(4 -> 3", 1, true), lines[2])
  local ps, gs = m:parameters()
  T.eq(#ps, 4); T.eq(#gs, 4)
  T.ok(rawequal(ps, (m:parameters())), "parameters are cached")
  T.check_error("add: a layer needs a forward method", function() m:add(42) end)
end)

T.test("layer errors are rethrown with a prefix naming the layer", function()
  local m = nn.Sequential{nn.Dense(784, 128, {activation = "relu"}),
                          nn.Dense(128, 10, {activation = "softmax"})}
  local err = T.check_error("layer 1 (Dense 784->128): ",
    function() m:forward(wb.zeros(2, 785)) end)
  T.ok(err:find("785"), err)
  -- widths that do not chain are refused at construction (test_audit_finite); through a
  -- Lua layer, whose width is not known, they are met at forward, named
  local pass = {forward = function(_, x) return x end}
  local bad = nn.Sequential{nn.Dense(4, 3), pass, nn.Dense(5, 2)}
  T.check_error("layer 3 (Dense 5->2): ", function() bad:forward(wb.zeros(1, 4)) end)
end)

T.test("forward/backward by hand match fit's step (a Lua layer fits in)", function()
  -- A Lua identity layer with the protocol's methods.
  local Id = {forward = function(_, x) return x end,
              backward = function(_, _, g) return g end,
              parameters = function() return {}, {} end, zero_grad = function() end}
  local m = tiny_model(3)
  local m2 = nn.Sequential{m[1], Id, m[2]}
  local x, y = data:batch({1, 2, 3, 4})
  local out = m2:forward(x, true)
  T.eq(out:shape()[2], 3)
  local ce = nn.SparseCrossEntropy()
  ce:forward(m2[3]:logits(), y)
  m2:zero_grad()
  T.eq(m2:backward_logits(x, ce:backward(), false), nil)
  T.ok(m2[1].grad_weight:norm() > 0, "gradients reached the first layer")
end)

-- }====================
-- {==================== fit ====================

T.test("a tiny model overfits a tiny batch", function()
  local m = tiny_model(2)
  local small = data:subset(1, 16)
  local h = m:fit(small, {epochs = 150, batch_size = 16, verbose = false, seed = 1,
    optimizer = wb.optim.Adam{lr = 0.01}})
  T.eq(h.epochs, 150)
  T.eq(#h.loss, 150)
  T.eq(#h.val_loss, 0, "val series exist, empty without validation")
  T.ok(h.loss[150] < 0.05, "final loss " .. h.loss[150])
  T.eq(h.accuracy[150], 1.0)
  T.eq(m:evaluate(small).accuracy, 1.0)
end)

T.test("validation_split takes the tail rows, before shuffling", function()
  local ds = data:subset(1, 10)
  local m = tiny_model(4)
  local h = m:fit(ds, {epochs = 2, batch_size = 3, validation_split = 0.25,
    verbose = false, seed = 3})
  -- train = rows 1..7 (floor(10 * 0.75)), val = rows 8..10
  local tail = m:evaluate(ds:subset(8, 10))
  T.near(h.val_loss[2], tail.loss, 1e-6)
  T.near(h.val_accuracy[2], tail.accuracy, 1e-9)
  T.near(h.val_accuracy[2] * 3, math.floor(h.val_accuracy[2] * 3 + 0.5), 1e-9)
  local head = m:evaluate(ds:subset(1, 3))
  T.ok(head.loss ~= tail.loss)
end)

T.test("logged loss is the batch-size weighted mean and includes L2", function()
  local m = tiny_model(5, {l2 = 1e-2})
  -- lr 0: every batch sees the same weights, so the running mean over the
  -- 8 batches (last one partial: 50 = 7 * 7 + 1) equals evaluate's mean.
  local ds = data:subset(1, 50)
  local h = m:fit(ds, {epochs = 1, batch_size = 7, verbose = false, shuffle = false,
    optimizer = wb.optim.SGD{lr = 0}})
  local e = m:evaluate(ds)
  T.near(h.loss[1], e.loss, 1e-5)
  T.near(h.accuracy[1], e.accuracy, 1e-9)
  local reg = m:l2_penalty()
  T.ok(reg > 0)
  T.near(h.reg_loss[1], reg, 1e-6)
  T.near(h.loss[1], h.data_loss[1] + h.reg_loss[1], 1e-6)
  T.near(h.lr[1], 0, 0)
  T.ok(h.epoch_time[1] >= 0)
end)

T.test("same seed -> identical history; another seed -> different", function()
  local function run(seed)
    local m = tiny_model(seed, {dropout = 0.3})
    return m:fit(data, {epochs = 3, batch_size = 8, verbose = false, seed = seed,
      validation = data:subset(1, 30)})
  end
  local a, b, c = run(11), run(11), run(12)
  T.ok(same_list(a.loss, b.loss), "loss differs for the same seed")
  T.ok(same_list(a.val_loss, b.val_loss), "val_loss differs for the same seed")
  T.ok(not same_list(a.loss, c.loss), "another seed gives the same loss")
end)

T.test("fit options: unknown key lists valid keys; bad values; head", function()
  local m = tiny_model(1)
  local err = T.check_error("unknown option 'epoch'", function() m:fit(data, {epoch = 1}) end)
  T.ok(err:find("valid: batch_size, callbacks, cockpit, epochs"), err)
  T.check_error("batch_size must be >= 1", function() m:fit(data, {batch_size = 0}) end)
  T.check_error("validation_split must be a number in %(0, 1%)",
    function() m:fit(data, {validation_split = 1.5}) end)
  T.check_error("bad argument #2 to 'fit' (wb.Tensor expected, got nil)",
    function() m:fit(wb.zeros(3, 20)) end) -- fit(x, y, opts): y is missing
  T.check_error("bad argument #1 to 'fit' (wb.Dataset or wb.Tensor expected, got number)",
    function() m:fit(3) end)
  local relu_head = nn.Sequential{nn.Dense(20, 3, {activation = "relu"})}
  T.check_error("last layer must be Dense", function()
    relu_head:fit(data, {verbose = false}) end)
  T.check_error("unknown optimizer 'adamx'", function()
    m:fit(data, {optimizer = "adamx"}) end)
end)

T.test("divergence (lr = 1e300) raises the documented error object", function()
  local m = tiny_model(6)
  local ok, e = pcall(m.fit, m, data, {epochs = 3, batch_size = 8, verbose = false,
    optimizer = wb.optim.SGD{lr = 1e300}})
  T.ok(not ok, "fit did not fail")
  T.eq(type(e), "table", "error object")
  T.eq(e.kind, "diverged")
  T.ok(wb.fit.is_diverged(e))
  T.ok(math.type(e.epoch) == "integer" and math.type(e.step) == "integer")
  local msg = tostring(e)
  T.ok(msg:find("^training diverged") and msg:find("epoch " .. e.epoch, 1, true)
    and msg:find("step " .. e.step, 1, true), msg)
  T.eq(e.history.epochs, e.epoch - 1)
  T.eq(e.history.stopped, msg)
end)

T.test("an optimizer refusing a non-finite gradient is a divergence too", function()
  local m = tiny_model(6)
  local calls = 0
  local opt = {lr = 0.1, step = function()
    calls = calls + 1
    if calls == 5 then
      -- what wb.optim raises (a wb.Error with code ENONFINITE); fit reads the code
      error(wb.Error{code = "ENONFINITE", message = "gradient 1 [20, 16] has a "
        .. "non-finite value (nan at element 3); no parameter was updated"}, 0)
    end
  end}
  local ok, e = pcall(m.fit, m, data, {epochs = 2, batch_size = 40, verbose = false,
    optimizer = opt})
  T.ok(not ok and wb.fit.is_diverged(e), tostring(e))
  T.eq(e.epoch, 2); T.eq(e.step, 2)
  T.ok(tostring(e):find("^training diverged at epoch 2, step 2: gradient 1"), tostring(e))
  T.eq(e.history.epochs, 1)
  -- other optimizer errors pass through unchanged, whatever their text says
  local bad = {lr = 0.1, step = function() error("boom", 0) end}
  T.check_error("^boom$", function() m:fit(data, {verbose = false, optimizer = bad}) end)
  bad.step = function() error("a non-finite value, but a plain string", 0) end
  T.check_error("^a non%-finite value", function()
    m:fit(data, {verbose = false, optimizer = bad}) end)
end)

T.test("a steady-state step makes no Lua garbage", function()
  local ds = data:subset(1, 120)
  local m = tiny_model(7)
  local opt = wb.optim.Adam{}
  local function garbage(bs)
    m:fit(ds, {epochs = 1, batch_size = bs, verbose = false, optimizer = opt})
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    m:fit(ds, {epochs = 1, batch_size = bs, verbose = false, optimizer = opt})
    local used = collectgarbage("count") - before
    collectgarbage("restart")
    return used
  end
  local few, many = garbage(60), garbage(2) -- 2 steps vs 60 steps
  T.ok(many - few < 1.0, string.format("%.2f KB more for 58 more steps", many - few))
end)

T.test("evaluate(x, y) and predict on float and uint8 tensors", function()
  local m = tiny_model(8)
  local x = data.images
  local p = m:predict(x)
  T.eq(table.concat(p:shape(), ","), "120,3")
  T.near(p:sum(), 120, 1e-3)
  local e1, e2 = m:evaluate(data), m:evaluate(x, data.labels)
  T.near(e1.loss, e2.loss, 0)
  local u8 = wb.new_tensor({2, 20}, "uint8")
  for j = 1, 20 do u8:set(1, j, 255); u8:set(2, j, 51) end
  local f = wb.zeros(2, 20)
  for j = 1, 20 do f:set(1, j, 1); f:set(2, j, 0.2) end
  T.ok(max_diff(m:predict(u8), m:predict(f)) < 1e-6)
end)

T.test("evaluate with a label beyond the model's outputs names it at the caller's line",
  function()
  local m = tiny_model(8)
  local y = data.labels:clone()
  y:set(5, 200)
  local here = debug.getinfo(1, "S").short_src
  local ok, e = pcall(function() local r = m:evaluate(data.images, y); return r end)
  -- was "losses.lua:67: bad argument #2 to 'forward' (labels: ...)"
  T.ok(not ok and tostring(e):find(here, 1, true) and tostring(e):find("evaluate: the "
    .. "dataset's labels: label 5 (1-based position) is 200, expected an integer in 0..",
    1, true), tostring(e))
end)

T.test("evaluate without labels, or with float ones, is an error at the caller's line",
  function()
  local m = tiny_model(8)
  local x, y = data.images, data.labels
  -- scored against zeros before, silently
  local function line(f, ...) local ok, e = pcall(f, ...); return not ok and tostring(e) end
  local here = debug.getinfo(1, "S").short_src
  for _, args in ipairs{{}, {{batch_size = 8}}, {nil, {batch_size = 8}}} do
    local e = line(function() local r = m:evaluate(x, table.unpack(args, 1, 2)); return r end)
    T.ok(e and e:find(here, 1, true) and e:find("evaluate: no labels: evaluate(x) needs y, "
      .. "the class ids of x's 120 rows (uint8 [120])", 1, true), tostring(e))
  end
  T.check_error("evaluate: the dataset has no labels (its labels field is nil)", m.evaluate,
    m, {images = x})
  -- float class ids: named as y, at the caller's line (was "input: labels must be uint8"
  -- from evaluate.lua's own line)
  for _, f in ipairs{"evaluate", "fit"} do
    local e = line(function() local r = m[f](m, x, y:float(), {verbose = false}); return r end)
    T.ok(e and e:find(here, 1, true) and e:find(f .. ": y: expected labels uint8 [120] (class "
      .. "ids, one per row of x), got float32 [120] (float class ids: wb.new_tensor({120}, "
      .. "\"uint8\"):copy(y))", 1, true), tostring(e))
  end
  T.check_error("evaluate: y: expected labels uint8 [120] (class ids, one per row of x), got "
    .. "uint8 [3]", m.evaluate, m, x, y:rows(1, 3))
  -- predict takes x alone; the hint's copy scores as the dataset does
  T.eq(#m:predict(x), 120)
  T.eq(m:evaluate(x, wb.new_tensor({120}, "uint8"):copy(y:float())).loss, m:evaluate(data).loss)
end)

T.test("non-terminal output: one line per epoch; verbose=false silent", function()
  local dir = T.tmpdir()
  local script = dir .. "/v.lua"
  local f = io.open(script, "w")
  f:write([[
local wb = require "wb"
wb.seed(1)
local m = wb.nn.Sequential{wb.nn.Dense(4, 2, {activation = "softmax"})}
local x, y = wb.zeros(10, 4), wb.new_tensor({10}, "uint8")
local ds = wb.data.Dataset(x, y)
m:fit(ds, {epochs = 2, batch_size = 4, validation = ds, verbose = arg[1] == "1"})
]])
  f:close()
  local st, out = T.sh(T.wb .. " " .. script .. " 1")
  T.eq(st, 0, out)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.eq(#lines, 2, out)
  local t = lines[2]:match("^epoch 2/2  loss %d%.%d+  acc %d%.%d+  val_loss %d%.%d+  "
    .. "val_acc %d%.%d+  (%S+)$")
  T.ok(t and (t:match("^%d+%.%ds$") or t:match("^%d+ms$")), lines[2])
  -- tryN 6: a 22 ms epoch printed 0.0s
  local progress = require "wb.progress"
  local logs = {loss = 1, accuracy = 0.5, epoch_time = 0.022}
  T.eq(progress.epoch_line(1, 2, logs), "epoch 1/2  loss 1.0000  acc 0.5000  22ms")
  logs.epoch_time = 0.1
  T.eq(progress.epoch_line(1, 2, logs), "epoch 1/2  loss 1.0000  acc 0.5000  0.1s")
  local st2, out2 = T.sh(T.wb .. " " .. script .. " 0")
  T.eq(st2, 0); T.eq(out2, "")
end)

-- }====================

T.done()
