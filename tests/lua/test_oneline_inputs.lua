-- test_oneline_inputs.lua: a bad argument or option of a library function
-- (README, "Exit status") is an input error: `workbench -e` prints its one
-- line at the caller's line, naming the function and what it expected, with
-- no traceback into the library, and exits 1. The Lua modules' checks
-- (wb.data, wb.nn, wb.noise_scale, wb.landscape, wb.inference, ...) and the
-- C bindings' (luaL_check*'s words, through lwb_argerror) alike.
local T = dofile("tests/lua/harness.lua")

local PRE = 'local m = wb.nn.Sequential{wb.nn.Dense(4, 2)}; '
  .. 'local d = wb.data.Dataset(wb.zeros(4, 4), wb.new_tensor({4}, "uint8")); '
  -- two variants of two seeds, made by hand: nothing trains
  .. 'local function rec(v, s) return {hash = string.format("%s%015d", v, s), task = "t", '
  .. 'variant = v, seed = s, config = {seed = s, epochs = 2}, status = "ok", group_key = v, '
  .. 'history = {loss = {1, 0.5}, epochs = 2}, metrics = {loss = 0.3 + s / 10}} end; '
  .. 'local rs = wb.runs.Runs{rec("a", 1), rec("a", 2), rec("b", 1), rec("b", 2)}; '

-- {code, texts its one line must hold}
local LUA_SIDE = {
  {"wb.data.mnist{}", {"wb.data.mnist: takes no arguments, got 1 (a table)"}},
  {'wb.data.Dataset(wb.zeros(2, 3), wb.new_tensor({3}, "uint8"))',
    {"dataset: 2 images but labels of shape [3] (expected [2])"}},
  {"d:subset(3, 9)", {"subset: rows 3..9 ", "out of range 1..4"}},
  {"d:split(1.5)", {"validation_split must be a number in (0, 1), got 1.5"}},
  {'wb.data.load("cifar")', {"unknown dataset 'cifar' (expected 'mnist' or 'fashion')"}},
  {"wb.nn.Sequential{wb.nn.Dense(4, 2), 3}", {"Sequential: layer 2: a layer needs a forward"}},
  {"wb.nn.Sequential{wb.nn.Dense(4, 2), wb.nn.Dense(3, 2)}",
    {"Sequential: layer 2 (Dense 3->2) takes 3 inputs"}},
  {"m:summary(1)", {"summary: takes no arguments, got 1 (a number)"}},
  {"m:set_weights({})", {"set_weights: expected 2 tensors, got 0"}},
  {"wb.noise_scale.two_batch(8, 1, 4, 1)", {"two_batch: expected b_small < b_big, got 8 and 4"}},
  {"wb.noise_scale.fit_tradeoff({1, 2}, {1})", {"fit_tradeoff: expected as many E as S"}},
  {"wb.landscape.trajectory({}, {k = 0})", {"trajectory: k: expected an integer >= 1, got 0"}},
  {"wb.landscape.barrier({t = {0, 1}, loss = {1}})",
    {"barrier: curve.loss has 1 values for 2 t, expected one per t"}},
  {"wb.welch({1, 2, 3}, {1, 2, 3}, {confidence = 2})",
    {"bad argument #3 to 'welch' (confidence in (0, 1) expected, got 2)"}},
  {"wb.inference.t_two_sided(0/0, 3)", {"bad argument #1 to 't_two_sided' (a number expected"}},
  {"wb.measures.sharpness(m, d, -1)", {"sharpness: eps: expected a finite number >= 0, got -1"}},
  {"wb.image.fit(wb.zeros(4, 4), 0, 0)", {"fit: size must be two positive integers"}},
  {"wb.cockpit.figure({})",
    {"bad argument #1 to 'wb.cockpit.figure' (a non-empty list of panels expected)"}},
  {'os.setlocale("C", "all", 1)', {"bad argument #3 to 'setlocale' (at most 2 arguments"}},
  -- a new user's audit: each printed a traceback into the library
  {'wb.compare(rs, "loss", {better = "higest"})',
    {[[wb.compare: option 'better': "higher", "lower" or "neither" expected, got "higest"]]}},
  {'wb.runs.export_csv(3)', {"bad argument #1 to 'export_csv' (string expected, got number)"}},
  {'rs:curve("v", {x = "step"})', {"bad argument #2 to 'curve' (string expected, got table)"}},
  {"wb.lab.compare_weights({m}, 3)",
    {"wb.lab.compare_weights: layer 3: expected 1..1 (the model's Dense layers)"}},
  {"wb.lab.compare_weights({}, 1)",
    {"wb.lab.compare_weights: runs: expected a non-empty list of runs or models, got an empty"}},
  {"wb.plot.lines{series = 3}",
    {"wb.plot.lines: series: expected a non-empty array of series tables"}},
  {"wb.plot.lines{serie = {}}", {"wb.plot.lines: unknown option 'serie' (valid: "}},
  {"wb.plot.panels{plots = {}}",
    {"wb.plot.panels: plots: expected a non-empty array of plot objects"}},
  {"wb.hessian.eigs(m, d, {k = 0})", {"eigs: k: expected >= 1, got 0"}},
  {'wb.hessian.eigs(m, d, {precision = "x"})',
    {"eigs: precision: expected 'float32' or 'float64', got 'x'"}},
  -- (fresh = 1 was taken as true: it trained, under a root of its own)
  {'wb.experiment({name = "x", base = {hidden = 4, epochs = 1}}, {root = '
    .. string.format("%q", T.tmpdir()) .. '}):run{fresh = 1}',
    {"run: option 'fresh': expected boolean, got number"}},
}

local C_SIDE = {
  {"wb.nn.Dense(2.5, 4)", {"bad argument #1 to 'Dense' (number has no integer representation)"}},
  {'wb.zeros("a")', {"bad argument #1 to 'zeros' (dimension must be an integer)"}},
  {'wb.zeros(2, 2):sum("x")', {"bad argument #1 to 'sum' (number expected, got string)"}},
  {'wb.nn.Dropout("x")', {"bad argument #1 to 'Dropout' (number expected, got string)"}},
  {"wb.optim.SGD(5)", {"bad argument #1 to 'SGD' (SGD: options are a table"}},
  {"wb.zeros(2, 2):get(1, {})", {"bad argument #2 to 'get' (number expected, got table)"}},
  -- through wb/image.lua's wrapper, which names the C function pcall called
  {"wb.image.to_mnist(3)", {"bad argument #1 to 'to_mnist' (wb.Tensor expected, got number)"}},
  -- a new user's audit: each printed a traceback into the binding
  {"wb.nn.Dense(784, -1)",
    {"bad argument #2 to 'Dense' (n_out: expected a size in 1..2147483647, got -1)"}},
  {"wb.nn.Dense(0, 3)",
    {"bad argument #1 to 'Dense' (n_in: expected a size in 1..2147483647, got 0)"}},
  {"wb.optim.Adam{lr = -1}",
    {"bad argument #1 to 'Adam' (Adam: lr must be a finite number >= 0, got -1)"}},
  {"wb.optim.SGD{lrr = 0.1}", {"bad argument #1 to 'SGD' (SGD: unknown option 'lrr' (valid: "}},
  {"wb.tensor({{1, 2, 3}, {4, 5, 6}}):get(5, 1)", {"dimension 1's index is 5, expected 1..2"}},
  {"wb.tensor({{1, 2, 3}, {4, 5, 6}}):get(1)", {"get: 1 indices for a 2-dimensional tensor"}},
  {"wb.tensor({{1, 2, 3}, {4, 5, 6}}):reshape({4})",
    {"cannot reshape [2, 3] (6 elements) to [4] (4 elements)"}},
  {'local t = wb.tensor({{1, 2, 3}, {4, 5, 6}}) + "a"',
    {"tensor +: expected tensor + tensor|number, got userdata and string"}},
  -- a number is no path (it looked for a file named "42": exit 66)
  {"wb.image.load(42)", {"bad argument #1 to 'load' (string expected, got number)"}},
}

-- code's status and stderr (stdout empty) under -e, after PRE.
local function run_e(code)
  local st, out, err = T.run_wb("-e " .. T.quote(PRE .. code))
  T.eq(out, "", code)
  return st, err
end

local function check(case)
  local st, err = run_e(case[1])
  T.eq(st, 1, case[1] .. ": " .. err)
  T.ok(not err:find("stack traceback", 1, true), case[1] .. ": " .. err)
  T.eq(select(2, err:gsub("\n", "")), 1, case[1] .. ": one line: " .. err)
  T.ok(err:find("^workbench: %(command line%):1: "), case[1] .. ": at the call: " .. err)
  for _, w in ipairs(case[2]) do T.ok(err:find(w, 1, true), w .. " in " .. err) end
end

T.test("a Lua module's argument check: one line at the call, exit 1", function()
  for _, case in ipairs(LUA_SIDE) do check(case) end
end)

T.test("a C binding's argument check (luaL_check*'s words): one line at the call", function()
  for _, case in ipairs(C_SIDE) do check(case) end
end)

T.test("a bug is still no input error: its traceback stays", function()
  local st, err = run_e("local t = nil; t.x = 1")
  T.eq(st, 1, err)
  T.ok(err:find("stack traceback", 1, true), err)
end)

T.test("pcall gets the input error object, its tostring the line", function()
  local ok, e = pcall(wb.nn.Sequential, {wb.nn.Dense(4, 2), 3})
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  ok, e = pcall(function() return wb.nn.Dense(2.5, 4) end)
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  T.ok(tostring(e):find("bad argument #1 to 'Dense' (number has no integer", 1, true), tostring(e))
  -- a handler written for the string it was: its methods read the text
  T.ok(e:find("number has no integer", 1, true), tostring(e))
  T.eq(e:match("#(%d) to 'Dense'"), "1")
  T.eq(e.code, nil); T.eq(e.kind, nil)
end)

T.done()
