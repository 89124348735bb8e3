-- test_audit_finite.lua: an audit's finite-numbers and first-error items.
-- A NaN weight saved, loaded and evaluated without a word (accuracy 0.085:
-- the argmax of NaN rows; a NaN on a pixel that is 0 in every image never
-- seen at all), fit calling it a divergence at step 16; predict returning
-- NaN rows where evaluate refused the input; wb.image.save clipping 2.0 to
-- white though its help said it was an error, and writing a PNG as x.jpg;
-- Sequential{Dense(784, 16), Dense(32, 10)} built, failing only in fit;
-- messages that misled: "rows 10..5 out of range", "index 1 is 0", and a
-- library line in wb.load's error for a misspelt key.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local dir = T.tmpdir()

-- T.tiny_mlp with a NaN at (1, 1) of the first layer's kernel (its first
-- input is never 0 in T.tiny_data: a NaN there would show as NaN outputs;
-- the check must not depend on that)
local function nan_model()
  local m = T.tiny_mlp(1)
  m[1].weight:set(1, 1, 0 / 0)
  return m
end

local function refused(code, pat, f, ...)
  local ok, err = pcall(f, ...)
  T.ok(not ok, "expected an error matching " .. pat)
  T.ok(wb.is_error(err) and err.code == code, tostring(err))
  T.ok(tostring(err):find(pat, 1, true), tostring(err))
  return err
end

T.test("save and save_weights refuse non-finite weights naming the file, the tensor and "
  .. "the position; nothing is written", function()
  local m = nan_model()
  local p = dir .. "/nan.safetensors"
  refused("ENONFINITE", "save: " .. p .. ": tensor 'layers.1.weight': row 1, column 1 is "
    .. "NaN, expected finite numbers", m.save, m, p)
  T.ok(not io.open(p), "no file written")
  m[1].weight:set(1, 1, 0)
  m[2].bias:set(2, 1 / 0)
  refused("ENONFINITE", "save_weights: " .. p .. ": tensor 'layers.2.bias': entry 2 is inf",
    m.save_weights, m, p)
  T.ok(not io.open(p), "no file written")
end)

T.test("wb.load and load_weights refuse a file holding NaN or inf (EFORMAT, exit 65) "
  .. "naming the file, the tensor and the position; the model is unchanged", function()
  local m = T.tiny_mlp(1)
  local p = dir .. "/py.safetensors"
  m:save(p)
  -- as a file written elsewhere (Python) would hold it: the same file, a NaN in layer 2
  local file, meta = wb.io.load_safetensors(p)
  file["layers.2.weight"]:set(3, 2, 0 / 0)
  meta["workbench.checksum"] = nil -- written elsewhere: no checksum of ours
  wb.io.save_safetensors(p, file, meta)
  refused("EFORMAT", p .. ": tensor 'layers.2.weight': row 3, column 2 is NaN, expected "
    .. "finite numbers", wb.load, p)
  local before = m[1].weight:clone()
  refused("EFORMAT", "tensor 'layers.2.weight': row 3, column 2 is NaN", m.load_weights, m, p)
  T.eq((m[1].weight - before):abs():max(), 0, "unchanged")
  local f = assert(io.open(dir .. "/load.lua", "w"))
  f:write(string.format("wb.load(%q)\n", p))
  f:close()
  local st, _, err = T.sh(T.wb .. " " .. dir .. "/load.lua")
  T.eq(st, 65, err)
  T.ok(err:find("row 3, column 2 is NaN", 1, true), err)
end)

T.test("evaluate and predict refuse a model with a NaN weight, naming the parameter and "
  .. "position as wb.hessian does; fit refuses it at its start", function()
  local train, val = T.tiny_data()
  local m = nan_model()
  local msg = "the model's parameter 1: row 1, column 1 is NaN, expected finite numbers"
  refused("ENONFINITE", "evaluate: " .. msg, m.evaluate, m, val)
  refused("ENONFINITE", "predict: " .. msg, m.predict, m, val.images)
  refused("ENONFINITE", "trace: " .. msg, wb.hessian.trace, m, val)
  local seen = 0
  local err = refused("ENONFINITE", "fit: " .. msg, m.fit, m, train, {epochs = 1,
    verbose = false, callbacks = {wb.callbacks.Lambda{on_train_batch_begin =
      function() seen = seen + 1 end}}})
  T.ok(not wb.fit.is_diverged(err), "not a divergence")
  T.eq(seen, 0, "no step ran")
  -- a finite model is untouched
  local ok = T.tiny_mlp(1)
  T.ok(ok:evaluate(val).loss < math.huge and ok:predict(val.images):size(1) == #val)
end)

T.test("predict refuses NaN or inf inputs as evaluate does (same message)", function()
  local m = T.tiny_mlp(1)
  local _, val = T.tiny_data()
  local x = val.images:clone()
  x:set(2, 5, 0 / 0)
  local y = val.labels
  local e1 = refused("ENONFINITE", "evaluate: the dataset 'input': row 2, column 5 is NaN, "
    .. "expected finite numbers", m.evaluate, m, x, y)
  local e2 = refused("ENONFINITE", "predict: the dataset 'input': row 2, column 5 is NaN, "
    .. "expected finite numbers", m.predict, m, x)
  T.eq(e1.message:gsub("^evaluate", ""), e2.message:gsub("^predict", ""))
  x:set(2, 5, 0)
  x:set(4, 1, -1 / 0)
  refused("ENONFINITE", "predict: the dataset 'input': row 4, column 1 is -inf", m.predict,
    m, wb.data.Dataset(x, y, "input"))
end)

T.test("wb.image.save: values outside [0, 1] are an error naming the first one; a path "
  .. "not ending in .png is refused", function()
  local p = dir .. "/x.png"
  T.check_error("bad argument #1 to 'wb.image.save' (" .. p .. ": element 1 of [4, 4] (row 1, "
    .. "column 1) is 2, expected values in [0, 1] (data in 0..255: divide it by 255 first))",
    wb.image.save, wb.full({4, 4}, 2.0), p)
  T.check_error("(row 1, column 1) is -0.5, expected values in [0, 1])", wb.image.save,
    wb.full({2, 2}, -0.5), p)
  local t = wb.zeros(3, 3)
  t:set(2, 3, 255)
  T.check_error("element 6 of [3, 3] (row 2, column 3) is 255", wb.image.save, t, p)
  T.check_error("is inf", wb.image.save, wb.full({2, 2}, 1 / 0), p)
  T.ok(not io.open(p), "nothing written")
  T.check_error("bad argument #2 to 'wb.image.save' (" .. dir .. "/x.jpg: expected a file name "
    .. "ending in .png", wb.image.save, wb.zeros(2, 2), dir .. "/x.jpg")
  T.ok(not io.open(dir .. "/x.jpg"), "no x.jpg")
  wb.image.save(wb.full({2, 2}, 1), dir .. "/y.PNG") -- any case
  wb.image.save(wb.full({2, 2}, 0.5), p)
  T.near(wb.image.load(p):get(1, 1), 128 / 255, 1e-6)
end)

T.test("Sequential and add refuse a Dense whose n_in is not the width before it, naming "
  .. "both layers and sizes", function()
  T.check_error("Sequential: layer 2 (Dense 32->10) takes 32 inputs, but layer 1 (Dense "
    .. "784->16) gives 16 outputs", nn.Sequential, {nn.Dense(784, 16), nn.Dense(32, 10)})
  T.check_error("layer 4 (Dense 20->3) takes 20 inputs, but layer 1 (Dense 8->12) gives 12 "
    .. "outputs (through layers 2..3)", nn.Sequential, {nn.Dense(8, 12), nn.Dropout(0.5),
      nn.Activation("relu"), nn.Dense(20, 3)})
  local m = nn.Sequential{nn.Flatten(), nn.Dense(784, 16), nn.Flatten(), nn.Dense(16, 10)}
  T.eq(#m, 4)
  T.check_error("add: layer 5 (Dense 9->2) takes 9 inputs, but layer 4 (Dense 16->10) "
    .. "gives 10 outputs", m.add, m, nn.Dense(9, 2))
  T.eq(#m, 4, "not added")
  m:add(nn.Dense(10, 2))
  -- a Lua layer between: its width is not known, nothing is checked
  local lua_layer = {forward = function(_, x) return x end}
  T.eq(#nn.Sequential{nn.Dense(8, 12), lua_layer, nn.Dense(5, 3)}, 3)
  -- a file whose layers do not chain: EFORMAT naming the file, no library line
  local p = dir .. "/chain.safetensors"
  local arch = '[{"kind":"Dense","n_in":4,"n_out":3},{"kind":"Dense","n_in":5,"n_out":2}]'
  wb.io.save_safetensors(p, {["layers.1.weight"] = wb.zeros(4, 3),
    ["layers.1.bias"] = wb.zeros(3), ["layers.2.weight"] = wb.zeros(5, 2),
    ["layers.2.bias"] = wb.zeros(2)}, {format = "workbench", ["workbench.architecture"] = arch})
  local err = refused("EFORMAT", p .. ": bad workbench.architecture metadata: add: layer 2 "
    .. "(Dense 5->2) takes 5 inputs, but layer 1 (Dense 4->3) gives 3 outputs", wb.load, p)
  T.ok(not tostring(err):find("checkpoint.lua", 1, true), tostring(err))
end)

T.test("messages: reversed rows, a dimension's index, wb.load's misspelt key without a "
  .. "library line", function()
  local _, _, whole = T.tiny_data()
  T.check_error("subset: rows 10..5 are in reverse order, expected first <= last (in 1..90)",
    whole.subset, whole, 10, 5)
  T.check_error("subset: rows 1..91 out of range 1..90", whole.subset, whole, 1, 91)
  T.eq(#whole:subset(6, 5), 0, "first = last + 1: no rows")
  T.check_error("rows 3..1 are in reverse order", function() return wb.ones(4):rows(3, 1) end)
  T.check_error("rows 0..3 out of range 1..4", function() return wb.ones(4):rows(0, 3) end)
  T.check_error("subset: rows 0..3 out of range 1..90", whole.subset, whole, 0, 3)
  T.check_error("dimension 1's index is 0, expected 1..3", function()
    return wb.ones(3):get(0) end)
  T.check_error("dimension 2's index is 4, expected 1..3", function()
    return wb.ones(2, 3):get(1, 4) end)
  local p = dir .. "/typo.safetensors"
  local m = T.tiny_mlp(1)
  m:save(p)
  local file, meta = wb.io.load_safetensors(p)
  meta["workbench.architecture"] = meta["workbench.architecture"]:gsub('"activation"',
    '"activaton"', 1)
  meta["workbench.checksum"] = nil -- written by hand
  wb.io.save_safetensors(p, file, meta)
  local f = assert(io.open(dir .. "/typo.lua", "w"))
  f:write(string.format("wb.load(%q)\n", p))
  f:close()
  local st, _, err = T.sh(T.wb .. " " .. dir .. "/typo.lua")
  T.eq(st, 65, err)
  T.ok(err:find(dir .. "/typo.lua:1: " .. p .. ": bad workbench.architecture metadata: layer 1 "
    .. "(Dense): unknown key 'activaton'", 1, true), err)
  T.ok(not err:match("^[^\n]*"):find("checkpoint.lua:%d+:"), err) -- the message's line
end)

T.done()
