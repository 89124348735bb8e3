-- test_nn.lua: the wb.nn bindings without weights (Activation, Flatten,
-- SparseCrossEntropy) and Sequential (summary, fit's and compile's options,
-- evaluate and predict), with their error messages. Dense, Dropout and the
-- global generator are test_nn_dense.lua.
local T = dofile("tests/lua/harness.lua")
local nn = wb.nn

--{==================== Activation and Flatten ====================

T.test("Activation layer: gelu (exact erf form) and its derivative", function()
  local a = nn.Activation("gelu")
  T.eq(tostring(a), "Activation(gelu)"); T.eq(a.activation, "gelu"); T.eq(a.kind, "Activation")
  local x = wb.tensor{{-1, 0, 1, 2}}
  local y = a:forward(x)
  local want = {-0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416}
  for j = 1, 4 do T.near(y:get(1, j), want[j], 1e-6) end
  local g = a:backward(x, wb.ones(1, 4))
  -- gelu'(x) = Phi(x) + x phi(x)
  local d1 = 0.8413447460685429 + 0.24197072451914337
  T.near(g:get(1, 3), d1, 1e-5)
  T.near(g:get(1, 2), 0.5, 1e-6)
  T.check_error("bad argument #1 to '.-Activation' %(activation: unknown 'gleu'",
    function() return nn.Activation("gleu") end)
  T.check_error("backward called before forward",
    function() return nn.Activation("relu"):backward(x, x) end)
  local s = nn.Activation("softmax"):forward(wb.tensor{{1000, -1000, 0}})
  T.near(s:get(1, 1), 1, 1e-6); T.eq(s:get(1, 2), 0)
end)

T.test("Flatten: float view, uint8 scaled, backward reshapes", function()
  local f = nn.Flatten()
  T.eq(tostring(f), "Flatten()"); T.eq(f.kind, "Flatten")
  local x = wb.rand(2, 3, 4)
  local y = f:forward(x, true)
  T.eq(y:shape()[1], 2); T.eq(y:shape()[2], 12)
  T.near(y:get(2, 5), x:get(2, 2, 1), 0)
  x:set(1, 1, 1, 42)
  T.eq(y:get(1, 1), 42, "a view of x, not a copy")
  local g = f:backward(x, wb.ones(2, 12))
  T.eq(#g:shape(), 3); T.eq(g:shape()[3], 4)
  local u = wb.new_tensor({2, 2, 2}, "uint8")
  u:set(1, 1, 2, 255); u:set(2, 2, 2, 51)
  local yu = f:forward(u)
  T.eq(yu:dtype(), "float32")
  T.near(yu:get(1, 2), 1, 1e-7); T.near(yu:get(2, 4), 0.2, 1e-7)
  T.eq(f:backward(u, wb.ones(2, 4)), nil, "no gradient for uint8 input")
  T.check_error("input: expected [n, ...] with at least 2 dimensions, got [5]",
    function() return f:forward(wb.zeros(5)) end)
end)

--}====================

--{==================== SparseCrossEntropy ====================

T.test("SparseCrossEntropy: loss, correct count, gradient", function()
  local ce = nn.SparseCrossEntropy()
  T.eq(tostring(ce), "SparseCrossEntropy()")
  local z = wb.tensor{{1, 2, 3}, {1, 0, -1}}
  local loss, correct = ce:forward(z, wb.tensor{2, 1})
  local function lse(a, b, c) return math.log(math.exp(a) + math.exp(b) + math.exp(c)) end
  local want = ((lse(1, 2, 3) - 3) + (lse(1, 0, -1) - 0)) / 2
  T.near(loss, want, 1e-6)
  T.eq(correct, 1); T.eq(math.type(correct), "integer")
  local g = ce:backward()
  T.eq(g, ce:backward(), "cached view")
  local s = math.exp(1) + math.exp(2) + math.exp(3)
  T.near(g:get(1, 3), (math.exp(3) / s - 1) / 2, 1e-7)
  T.near(g:get(1, 1), (math.exp(1) / s) / 2, 1e-7)
  -- uint8 labels, extreme logits
  local lab = wb.new_tensor({2}, "uint8")
  lab:set(1, 1); lab:set(2, 0)
  local l2, c2 = ce:forward(wb.tensor{{-1000, 1000}, {1000, -1000}}, lab)
  T.near(l2, 0, 1e-6); T.eq(c2, 2)
  local l3 = ce:forward(wb.tensor{{1000, -1000}}, wb.tensor{1})
  T.near(l3, 2000, 1e-3)
end)

T.test("SparseCrossEntropy error messages", function()
  local ce = nn.SparseCrossEntropy()
  T.check_error("backward called before forward", function() return ce:backward() end)
  local y = wb.zeros(32)
  y:set(3, 10)
  T.check_error("bad argument #2 to 'forward' (labels: label 3 (1-based position) is 10, " ..
    "expected an integer in 0..9)", function() return ce:forward(wb.zeros(32, 10), y) end)
  T.check_error("labels: expected [4]", function() return ce:forward(wb.zeros(4, 10), y) end)
  T.check_error("bad argument #1 to 'forward' (logits: expected a float32 tensor",
    function() return ce:forward(wb.new_tensor({2, 2}, "uint8"), wb.zeros(2)) end)
end)

--}====================

--{==================== Sequential ====================

T.test("summary: an object that prints as text and acts as its string", function()
  local m = nn.Sequential{nn.Dense(784, 128, {activation = "relu"}),
                          nn.Dense(128, 10, {activation = "softmax"})}
  local s = m:summary()
  local text = tostring(s)
  T.eq(type(text), "string")
  T.ok(text:find("^Model: \"sequential\"\n") and text:find("Total params: 101,770", 1, true),
    text)
  -- The REPL shows the text, not a quoted string with \n escapes.
  T.eq(require("wb.repl").format(s), text)
  -- What callers do with the string keeps working.
  T.ok(s:find("Total params: 101,770 (397.54 KB)", 1, true))
  T.eq(s:match("Trainable params: ([%d,]+)"), "101,770")
  T.eq(s:sub(1, 6), "Model:")
  T.eq("> " .. s, "> " .. text)
  T.eq(s .. "!", text .. "!")
  T.eq(#s, #text)
  -- a name it lacks is an error (test_audit_strict4), not nil
  T.check_error("wb.Summary has no field 'nonexistent_method'", function()
    return s.nonexistent_method end)
  -- print writes the text.
  local st, out = T.sh(T.wb .. [[ -e 'print(wb.nn.Sequential{wb.nn.Dense(2, 3)}:summary())']])
  T.eq(st, 0)
  T.ok(out:find("^Model: \"sequential\"\n") and out:find("Total params: 9 ", 1, true), out)
end)

T.test("fit: Keras's validation_data is validation; both is an error naming both", function()
  local x, y = wb.new_tensor({8, 4}, "uint8"), wb.new_tensor({8}, "uint8")
  for i = 1, 8 do y:set(i, i % 2); x:set(i, 1, 255 * (i % 2)) end
  local ds = wb.data.Dataset(x, y)
  local m = nn.Sequential{nn.Dense(4, 2, {activation = "softmax"})}
  local h = m:fit(ds, {epochs = 1, validation_data = ds:subset(1, 4), verbose = false})
  T.eq(#h.val_loss, 1, "validation_data gives a val_loss per epoch")
  T.check_error("fit: options 'validation_data' and 'validation' are the same " ..
    "(validation_data is Keras's name for validation); give one",
    function() m:fit(ds, {validation = ds, validation_data = ds, verbose = false}) end)
  local err = T.check_error("fit: unknown option 'validation_set'", function()
    m:fit(ds, {validation_set = ds, verbose = false}) end)
  T.ok(err:find("(valid: batch_size, ", 1, true)
    and err:find("; Keras names: validation_data = validation)", 1, true), err)
  T.ok(err:find("^tests/lua/test_nn.lua:%d+:"), "raised at the caller: " .. err)
end)

T.test("model:compile says where Keras's compile arguments go", function()
  local m = wb.nn.Sequential{wb.nn.Dense(4, 2, {activation = "softmax"})}
  local ok, err = pcall(m.compile, m, {optimizer = "adam", loss = "categorical_crossentropy"})
  T.ok(not ok)
  T.ok(tostring(err):find("give the optimizer and loss to fit", 1, true), err)
end)

T.test("a layer's shape error in a model names the layer and the shape, not 'bad argument to ?'",
    function()
  local m = wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}), wb.nn.Dense(8, 2)}
  local ok, err = pcall(m.predict, m, wb.zeros(3, 100))
  T.ok(not ok and wb.is_error(err), tostring(err))
  T.eq(err.code, "ESHAPE")
  T.eq(err.message, "layer 1 (Dense 784->8): input: expected [*, 784], got [3, 100]")
  local d = wb.nn.Dense(4, 2)
  local ok2, e2 = pcall(d.forward, d, wb.zeros(3, 5))
  T.ok(not ok2 and e2.reason == "input: expected [*, 4], got [3, 5]", tostring(e2.reason))
end)

T.test("evaluate and predict: verbose prints one line (Keras's option, never ignored)", function()
  -- verbose = 2 as Keras takes it (one line, no bar) and fit takes it: it
  -- was refused here, stopping a script that passed fit's verbose on
  local chunk = "local x = wb.zeros(6, 4); local y = wb.tensor({0, 1, 0, 1, 0, 1}, 'uint8'); "
    .. "local m = wb.nn.Sequential{wb.nn.Dense(4, 2, {activation = 'softmax'})}; "
    .. "m:evaluate(x, y, {verbose = 1}); m:evaluate(x, y, {verbose = 0}); "
    .. "m:evaluate(x, y, {verbose = 2}); "
    .. "m:predict(x, {verbose = true}); m:predict(x, {verbose = false}); "
    .. "m:predict(x, {verbose = 2})"
  local rc, out = T.sh(T.wb .. " -e \"" .. chunk .. "\"")
  T.eq(rc, 0, out)
  local line = "evaluate: 6 rows: loss [%d.]+, accuracy 0%.5000\n"
  T.ok(out:match("^" .. line .. line .. "predict: 6 rows\npredict: 6 rows\n$"), out)
  local m = wb.nn.Sequential{wb.nn.Dense(4, 2)}
  for _, v in ipairs{3, -1, 1.5, "auto"} do
    T.check_error("evaluate: verbose must be true, false, 0, 1 or 2, got " .. tostring(v),
      m.evaluate, m, wb.zeros(2, 4), wb.tensor({0, 1}, "uint8"), {verbose = v})
  end
  T.check_error("predict: verbose must be true, false, 0, 1 or 2, got yes", m.predict, m,
    wb.zeros(2, 4), {verbose = "yes"})
end)

--}====================

T.done()
