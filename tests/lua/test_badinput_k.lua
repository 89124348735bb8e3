-- test_badinput_k.lua: audit K's bad input that was taken silently (K1-K12)
-- and extra positional arguments dropped without a word (K13-K45); the
-- unclear errors and papercuts are in test_badinput_k2.lua.
local T = dofile("tests/lua/harness.lua")

local function lab(t) return wb.tensor(t, "uint8") end
local function small()
  local ds = wb.data.Dataset(wb.zeros(8, 4), lab{1, 2, 0, 1, 2, 0, 1, 2}, "small")
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
  return ds, m
end
local dir = T.tmpdir()

T.test("K1, K54: Sequential refuses a hole in its list, a non-list key and a layer twice", function()
  local d1, d3 = wb.nn.Dense(784, 16), wb.nn.Dense(16, 10)
  T.check_error("Sequential: layer 2 of 3 is nil", wb.nn.Sequential, {d1, nil, d3})
  T.check_error("unexpected key 'name'", wb.nn.Sequential, {d1, name = "x"})
  local l = wb.nn.Dense(10, 10, {activation = "softmax"})
  T.check_error("layer 3 is layer 2 again", wb.nn.Sequential, {wb.nn.Dense(784, 10), l, l})
  local m = wb.nn.Sequential{l}
  T.check_error("add: layer 2 is layer 1 again", m.add, m, l)
  T.eq(#wb.nn.Sequential{d1, d3}, 2)
end)

T.test("K2, K3: wb.tensor refuses keys outside 1..n", function()
  T.check_error("has key 3, expected keys 1..1", wb.tensor, {[1] = 1, [3] = 3})
  T.check_error("unknown key 'a'", wb.tensor, {a = 1})
  T.check_error("element %[2%]: unknown key 'x'", wb.tensor, {{1, 2}, {3, 4, x = 1}})
  T.eq(wb.tensor({{1, 2}, {3, 4}}):get(2, 1), 3)
end)

T.test("K4, K55: fit's epochs and seed refuse inf and 2^63", function()
  local ds, m = small()
  local stop = wb.callbacks.Lambda{on_epoch_end = function() error("it trained") end}
  T.check_error("fit: epochs must be an integer, got inf", m.fit, m, ds,
    {epochs = math.huge, verbose = false, callbacks = {stop}}) -- (it trained without end)
  T.check_error("fit: seed must be an integer", m.fit, m, ds, {seed = 2 ^ 63, verbose = false})
  T.check_error("fit: seed must be an integer, got string", m.fit, m, ds, {seed = "1"})
  T.eq(#m:fit(ds, {epochs = 2.0, seed = 3.0, verbose = false}).loss, 2)
end)

T.test("K5: setting ds.imgs (help's example of a near miss) is refused", function()
  local ds = small()
  T.check_error("no field 'imgs'; did you mean images", function() ds.imgs = 1 end)
  T.check_error("no field 'targets'; did you mean labels", function() ds.targets = 1 end)
  ds.note = "mine" -- a name of one's own stays allowed
  T.eq(ds.note, "mine")
end)

T.test("K6, K7: noise_scale refuses a negative squared norm", function()
  T.check_error("per_sample: sum_sq %(argument #2%): expected a finite number >= 0",
    wb.noise_scale.per_sample, 4, -10, 1)
  T.check_error("mean_sq", wb.noise_scale.per_sample, 4, 10, -1)
  T.check_error("two_batch: g2_small", wb.noise_scale.two_batch, 1, -1, 2, 1)
  T.check_error("two_batch: g2_big %(argument #4%).*got %-inf", wb.noise_scale.two_batch, 1, 1, 2,
    -math.huge)
  local r = wb.noise_scale.two_batch(1, 0 / 0, 2, 1) -- NaN stays NaN (test_audit_curv.lua)
  T.ok(r.b_simple ~= r.b_simple, tostring(r.b_simple))
  T.eq(wb.noise_scale.per_sample(2, 2, 0).trace, 2.0)
end)

T.test("K8, K9: image.resize refuses NaN pixels; image.fit's fill is in [0, 1]", function()
  local ok, e = pcall(wb.image.resize, wb.full({4, 4}, 0 / 0), 2, 2)
  T.ok(not ok and e.code == "ENONFINITE", tostring(e))
  T.ok(tostring(e):find("pixel [1, 1] is nan", 1, true), tostring(e))
  T.check_error("fill %(argument #4%): expected a number in %[0, 1%], got NaN", wb.image.fit,
    wb.ones(4, 4), 4, 8, 0 / 0)
  T.check_error("got 5", wb.image.fit, wb.ones(4, 4), 5, 10, 5)
  T.check_error("got %-1", wb.image.fit, wb.ones(4, 4), 5, 10, -1)
  T.eq(wb.image.fit(wb.ones(4, 4), 4, 8, 1):sum(), 32.0)
end)

T.test("K10, K11: bars refuses a negative error bar; heatmap documents NaN cells", function()
  T.check_error("err%[1%]: expected a number >= 0, got %-1", wb.plot.bars,
    {labels = {"a"}, values = {1}, err = {-1}})
  T.check_error("series%[1%]%.err%[2%]", wb.plot.bars,
    {labels = {"a", "b"}, series = {{label = "s", values = {1, 2}, err = {0.1, -2}}}})
  T.ok(wb.help.text("wb.plot.heatmap"):find("not finite (NaN, inf) is left blank", 1, true))
  local p = dir .. "/hm.png"
  wb.plot.heatmap{z = {{1, 0 / 0}, {3, 2}}}:save(p) -- drawn: the NaN cell blank
  T.ok(T.slurp(p:gsub("%.png$", ".csv")):find("NaN"), "the CSV keeps the NaN")
end)

T.test("K12: flags are booleans; fit's instruments refuse a name twice", function()
  local ds, m = small()
  local X = wb.zeros(8, 4)
  T.check_error("bad argument #2 to 'forward' %(boolean expected, got string%)", m.forward, m,
    X, "yes")
  T.check_error("bad argument #2 to '[%w.]*keep_dz' %(boolean expected", wb.instruments.keep_dz, m[1],
    "yes")
  T.check_error("bad argument #4 to 'loss_and_grads' %(boolean expected",
    wb.measures.loss_and_grads, m, X, ds.labels, "yes")
  T.check_error("option 'steps': expected a boolean", wb.image.to_mnist,
    wb.full({28, 28}, 0.5), {steps = "yes"})
  T.check_error("instruments: 'loss' is given twice", m.fit, m, ds,
    {instruments = {"loss", "loss"}, verbose = false})
  T.eq(wb.instruments.keep_dz(m[1], false), false)
end)

T.test("K13-K45: one argument too many is an error naming the function", function()
  local ds, m = small()
  local X, Y = wb.zeros(8, 4), ds.labels
  local P = dir .. "/m.safetensors"
  m:save(P)
  local W = m:get_weights()
  local d = {}
  for _, p in ipairs(m:parameters()) do d[#d + 1] = wb.randn(table.unpack(p:shape())) end
  local cases = {
    {"wb.seed", function() wb.seed(1, 2) end},
    {"SparseCrossEntropy", function() wb.nn.SparseCrossEntropy(1) end},
    {"wb.nn.Sequential: takes at most 1", function() wb.nn.Sequential({wb.nn.Dense(2, 2)}, 5) end},
    {"wb.Sequential:forward: takes at most 2", function() m:forward(X, false, 1) end},
    {"wb.Sequential:num_params", function() m:num_params(1) end},
    {"wb.Sequential:zero_grad", function() m:zero_grad(1) end},
    {"wb.Sequential:parameters", function() m:parameters(1) end},
    {"wb.data.Dataset: takes at most 3", function() wb.data.Dataset(wb.zeros(2, 4), lab{1, 2}, "x", 5) end},
    {"wb.data.load", function() wb.data.load("mnist", 1) end},
    {"wb.Dataset:subset", function() ds:subset(1, 2, 3) end},
    {"wb.Dataset:batch", function() ds:batch({1}, 1, 1, 1) end},
    {"wb.Dataset:input_size", function() ds:input_size(1) end},
    {"wb.Dataset:float_images", function() ds:float_images(1) end},
    {"wb.Dataset:split", function() ds:split(0.5, 1) end},
    {"wb.Sequential:fit: takes at most 3", function() m:fit(X, Y, {verbose = false}, 5) end},
    {"wb.Sequential:evaluate", function() m:evaluate(ds, nil, nil, 5) end},
    {"wb.Sequential:evaluate", function() m:evaluate(ds, nil, {}, 5) end},
    {"wb.Sequential:predict", function() m:predict(X, {}, 5) end},
    {"wb.Sequential:save", function() m:save(dir .. "/x.safetensors", nil, 5) end},
    {"wb.Sequential:load_weights", function() m:load_weights(P, 5) end},
    {"wb.load", function() wb.load(P, 5) end},
    {"wb.Sequential:get_weights", function() m:get_weights(W, 1) end},
    {"wb.Sequential:set_weights", function() m:set_weights(W, 1) end},
    {"save_safetensors", function()
      wb.io.save_safetensors(dir .. "/a.safetensors", {a = wb.zeros(2)}, nil, 5) end},
    {"wb.hessian.eigs", function() wb.hessian.eigs(m, {x = X, y = Y}, {}, 5) end},
    {"wb.measures.dead_units", function() wb.measures.dead_units(m, ds, 8, 1) end},
    {"wb.measures.sharpness", function() wb.measures.sharpness(m, ds, 0.05, 1, 8, 5) end},
    {"wb.measures.silenced_accuracy", function() wb.measures.silenced_accuracy(m, ds, 0.3, 1, 5) end},
    {"wb.measures.loss_and_grads", function() wb.measures.loss_and_grads(m, X, Y, true, 1) end},
    {"wb.measures.weight_norms", function() wb.measures.weight_norms(m, 1) end},
    {"wb.landscape.slice", function() wb.landscape.slice(m, ds, {dirs = {d}, points = 3}, 5) end},
    {"wb.noise_scale.per_sample", function() wb.noise_scale.per_sample(4, 10, 1, 5) end},
    {"wb.noise_scale.two_batch", function() wb.noise_scale.two_batch(1, 1, 2, 1, 5) end},
    {"wb.stats", function() wb.stats(m, {}, 5) end},
    {"wb.plot.lines", function() wb.plot.lines({series = {{y = {1, 2}}}}, 5) end},
    {"wb.Plot:save", function() wb.plot.lines{series = {{y = {1, 2}}}}:save(dir .. "/l.png", 5) end},
  }
  for _, c in ipairs(cases) do
    local ok, e = pcall(c[2])
    T.ok(not ok, c[1] .. ": no error")
    T.ok(tostring(e):find(c[1], 1, true), c[1] .. ": " .. tostring(e))
  end
  -- trailing nils are no input; the right count still works
  T.eq(m:forward(X, false, nil):shape()[2], 3)
  T.eq(#ds:subset(1, 2), 2)
end)

T.test("the checked methods have their unchecked function for fit's steps", function()
  local args = require "wb.args"
  local ds, m = small()
  T.ok(args.unchecked(m.forward) ~= m.forward, "forward is checked")
  T.ok(args.unchecked(ds.batch) ~= ds.batch, "batch is checked")
  T.eq(#m:fit(ds, {epochs = 1, verbose = false}).loss, 1)
end)

T.done()
