-- test_audit_firsthour.lua: papercuts a new user meets in the first hour
-- (README, --help, the REPL's lab bench, help and its examples): a
-- misspelt option is an error naming the valid ones, never a silent
-- default; an error points at the user's line, not the library's; help
-- examples run as written; help suggests the name meant.
local T = dofile("tests/lua/harness.lua")

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A small untrained 784-16-10 model: enough for the lab's statistics and
-- pictures, nothing to train.
local function model()
  wb.seed(1)
  return wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}), wb.nn.Dropout(0.3),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
end

-- The example lines of a help entry, as one chunk.
local function example(name)
  local e = assert(wb.help.find(name), name)
  local out, on = {}, false
  for _, l in ipairs(e.body) do
    if l:match("^Example") then on = true; out[#out + 1] = (l:gsub("^Example:%s*", ""))
    elseif on then out[#out + 1] = l end
  end
  return table.concat(out, "\n")
end

-- {==== the lab bench: options checked ====

T.test("wb.stats: a misspelt option is an error listing the valid ones", function()
  local m = model()
  T.check_error("wb.stats: unknown option 'dta' (valid: data, n, threshold)",
    wb.stats, m, {dta = wb.data.Dataset(wb.new_tensor({2, 784}, "uint8"),
      wb.new_tensor({2}, "uint8"))})
  -- a wrong data is stats' argument, not an inner function's
  local err = T.check_error("bad argument #2 to 'stats' (opts.data: wb.Dataset expected, "
    .. "got number 5)", wb.stats, m, {data = 5})
  T.ok(not err:find("dead_units", 1, true), err)
  T.check_error("opts.n: a positive integer expected", wb.stats, m, {n = 0})
  T.ok(tostring(wb.stats(m, {threshold = 0.01})):find("|w|<0.01", 1, true))
end)

T.test("wb.lab.weight_grid: unknown or bad options are errors", function()
  local m = model()
  T.check_error("wb.lab.weight_grid: unknown option 'unit' (valid: units, cols, rows, "
    .. "title, layer)", wb.lab.weight_grid, m, {unit = 3})
  T.check_error("bad argument #2 to 'weight_grid' (opts.units: a positive integer expected",
    wb.lab.weight_grid, m, {units = 0})
  T.check_error("opts.cols: a positive integer expected", wb.lab.weight_grid, m, {cols = 2.5})
  T.ok(tostring(wb.lab.weight_grid(m, {units = 4, cols = 2})):find("4 of 16 units", 1, true))
end)

T.test("wb.lab.compare_weights: options checked, empty list explained", function()
  local a, b = model(), model()
  T.check_error("bad argument #3 to 'compare_weights' (opts.by: 'variant' or 'run' expected, "
    .. 'got "seed")', wb.lab.compare_weights, {a, b}, 1, {by = "seed"})
  T.check_error("opts.param: 'weight' or 'bias' expected", wb.lab.compare_weights, {a}, 1,
    {param = "biases"})
  T.check_error("opts.bins: a positive integer expected", wb.lab.compare_weights, {a}, 1,
    {bins = 0})
  T.check_error("wb.lab.compare_weights: unknown option 'bin'", wb.lab.compare_weights, {a},
    1, {bin = 10})
  T.check_error("did wb.runs.find match no run?", wb.lab.compare_weights, wb.runs.Runs({}))
  T.ok(tostring(wb.lab.compare_weights({a, b}, 2, {param = "bias", bins = 5})):find(
    "Layer 2 biases", 1, true))
end)

T.test("wb.lab.compare_weights: a bad layer or item is reported at the caller's line", function()
  local m = model()
  local line = debug.getinfo(1, "l").currentline + 1
  local ok, err = pcall(function() local p = wb.lab.compare_weights({m}, 3); return p end)
  T.ok(not ok)
  T.ok(tostring(err):find("test_audit_firsthour.lua:" .. line .. ": wb.lab.compare_weights: "
    .. "layer 3: expected 1..2", 1, true), err)
  T.ok(not tostring(err):find("lab.lua", 1, true), err)
  ok, err = pcall(function() local p = wb.lab.compare_weights({m, 5}); return p end)
  T.ok(tostring(err):find("test_audit_firsthour.lua:" .. (line + 5) .. ": wb.lab.compare_weights: "
    .. "runs[2]: expected a model", 1, true), err)
end)

-- }====

-- {==== other misspelt options ====

T.test("wb.welch: a misspelt option is an error, not the default confidence", function()
  T.check_error("welch: unknown option 'alpa' (valid: confidence)", wb.welch, {1, 2, 3},
    {2, 3, 4}, {alpa = 0.01})
  T.near(wb.welch({1, 2, 3}, {2, 3, 4}, {confidence = 0.9}).confidence, 0.9)
end)

T.test("model:summary refuses Keras's arguments instead of ignoring them", function()
  local m = model()
  T.check_error("summary: takes no arguments, got 1 (a table)", m.summary, m,
    {line_length = 80})
  T.ok(tostring(m:summary()):find("Total params: 12,730", 1, true))
end)

T.test("Plot:show: a misspelt or non-integer size is an error naming show", function()
  local p = wb.plot.lines{series = {{y = {1, 2}}}}
  T.check_error("wb.Plot:show: unknown option 'widht' (valid: height, width)", p.show, p,
    {widht = 30})
  T.check_error("wb.Plot:show: width: expected a positive integer, got 3.5", p.show, p,
    {width = 3.5})
  T.check_error("wb.Plot:show: height: expected a positive integer, got 0", p.show, p,
    {height = 0})
end)

T.test("a log axis over less than two decades gets labelled tics", function()
  local dir = T.tmpdir()
  local x, y = {}, {}
  for i = 1, 30 do x[i] = 0.6 + i * 0.25; y[i] = 1 / x[i] ^ 2 end
  local function gp(series, name)
    wb.plot.lines{logx = true, logy = true, series = series}:save(dir .. "/" .. name .. ".png")
    local f = assert(io.open(dir .. "/" .. name .. ".gp"))
    local text = f:read("a")
    f:close()
    return text
  end
  -- 0.85 .. 8.1 on x: gnuplot alone labelled only "1"
  local text = gp({{x = x, y = y}}, "a")
  T.ok(text:find("set xtics (1, 2, 5)\n", 1, true), text)
  T.ok(not text:find("set ytics (", 1, true), text) -- y spans 3 decades: gnuplot's own
  -- 1.4 .. 3.5 on x (no power of 10 inside), 0.1 .. 0.9 on y
  local x2, y2 = {}, {}
  for i = 1, 10 do x2[i] = 1.2 + i * 0.23; y2[i] = 1 - i * 0.09 end
  text = gp({{x = x2, y = y2}}, "b")
  T.ok(text:find("set xtics (2, 3)\n", 1, true), text)
  T.ok(text:find("set ytics (0.1, 0.2, 0.5, 1)\n", 1, true), text)
  -- four decades: nothing added
  text = gp({{x = {1e-4, 1e-2, 1}, y = {3, 0.5, 2}}}, "c")
  T.ok(not text:find("set xtics (", 1, true), text)
end)

T.test("a weight grid PNG says which colour is which sign", function()
  local dir = T.tmpdir()
  local p = wb.lab.weight_grid(model(), {units = 4, cols = 2})
  p:save(dir .. "/w.png")
  local f = assert(io.open(dir .. "/w.gp"))
  local gp = f:read("a")
  f:close()
  -- (the title wraps to the figure's width)
  T.ok(gp:find("(blue < 0 < red;", 1, true) and gp:find("largest |value|)", 1, true), gp)
  -- the object keeps its title; grey digits get no key
  T.ok(tostring(p):find('"weights into 4 of 16 units of Dense%(784 %-> 16, relu%)"%)$'),
    tostring(p))
  wb.plot.images{tiles = {{0, 1, 1, 0}}, title = "digits"}:save(dir .. "/g.png")
  f = assert(io.open(dir .. "/g.gp"))
  gp = f:read("a")
  f:close()
  T.ok(gp:find("set title 'digits'", 1, true) and not gp:find("blue", 1, true), gp)
end)

-- }====

-- {==== help ====

T.test("help examples of the lab and inference run as written", function()
  -- holm returns booleans first: its example concatenated them and raised
  local out = {}
  local env = setmetatable({print = function(...)
    local t = table.pack(...)
    for i = 1, t.n do t[i] = tostring(t[i]) end
    out[#out + 1] = table.concat(t, "\t")
  end}, {__index = _G})
  assert(load(example("wb.inference.holm"), "=holm", "t", env))()
  T.eq(out[1], "true\t0.03 0.06 0.06")
  -- task names in the examples are tasks that exist (task05_dropout, not dropout)
  for _, name in ipairs{"wb.lab", "wb.lab.compare_weights", "wb.show"} do
    local text = example(name)
    local task = text:match('task = "([^"]+)"')
    T.ok(task, name .. ": " .. text)
    local f = io.open("scripts/" .. task .. ".lua")
    T.ok(f, name .. ": its example names task '" .. task .. "', no scripts/" .. task .. ".lua")
    if f then f:close() end
  end
end)

T.test("help examples that print a predicted class print an integer: 7, not 7.0", function()
  -- argmax gives a float32 tensor (API.md), so :get(1) - 1 printed "7.0"
  local m = model()
  local img = wb.rand(28, 28)
  local image = setmetatable({load = function() return img end}, {__index = wb.image})
  for _, name in ipairs{"wb.Tensor:argmax", "wb.Sequential:predict", "wb.image.to_mnist"} do
    local out = {}
    local env = setmetatable({m = m, model = m, img = img, x = wb.rand(3, 784),
      wb = setmetatable({image = image}, {__index = wb}),
      print = function(v) out[#out + 1] = v end}, {__index = _G})
    assert(load(example(name), "=" .. name, "t", env))()
    T.eq(#out, 1, name .. ": prints the class")
    T.eq(math.type(out[1]), "integer", name .. ": printed " .. tostring(out[1]))
    T.ok(out[1] >= 0 and out[1] <= 9, name .. ": a class 0..9, got " .. tostring(out[1]))
  end
end)

T.test("help suggests the nearest name for a misspelling", function()
  local cases = {["wb.runs.fnd"] = "wb.runs.find", weightgrid = "wb.lab.weight_grid",
    ["wb.lab.weightgrid"] = "wb.lab.weight_grid", ["Tensor:summ"] = "wb.Tensor:sum"}
  for typed, meant in pairs(cases) do
    local t, msg = wb.help.text(typed)
    T.eq(t, nil)
    T.ok(msg:find("see: " .. meant, 1, true), msg)
  end
  local _, msg = wb.help.text("zzzzzzzz")
  T.eq(msg, "no help for 'zzzzzzzz'")
  local st, _, err = T.sh(q(T.wb) .. " -h wb.runs.fnd")
  T.eq(st, 1)
  T.ok(err:find("see: wb.runs.find", 1, true), err)
end)

-- }====

-- {==== task scripts ====

T.test("task 7c --help lists the options before task 7b has run", function()
  local root = T.tmpdir()
  local st, out, err = T.sh(q(T.wb) .. " scripts/task07c_tuned_optimizers.lua --help --root "
    .. q(root))
  T.eq(st, 0, err)
  T.ok(out:find("usage: workbench scripts/task07c_tuned_optimizers.lua [options]", 1, true),
    out)
  -- without --help it still says what is missing
  st, _, err = T.sh(q(T.wb) .. " scripts/task07c_tuned_optimizers.lua --root " .. q(root))
  T.ok(st ~= 0 and err:find("run scripts/task07b_lr_grid.lua", 1, true), err)
end)

if pcall(wb.data.mnist) then
  T.test("a task with one figure says '1 figure'", function()
    local dir = T.tmpdir()
    local f = assert(io.open(dir .. "/one.lua", "w"))
    f:write([[return wb.task{name = "one", experiment = {base = {hidden = 8, epochs = 1},
      seeds = {1}}, report = function(task, runs)
      task:figure("val_loss", runs:plot_curves("val_loss")) end}
]])
    f:close()
    local st, _, err = T.sh(string.format("%s %s --quick --root %s", q(T.wb),
      q(dir .. "/one.lua"), q(dir)))
    T.eq(st, 0, err)
    T.ok(err:find("one: wrote " .. dir .. "/quick/one/README.md (1 figure)\n", 1, true), err)
  end)
else
  T.skip("a task with one figure says '1 figure'", "no MNIST")
end

-- }====

T.done()
