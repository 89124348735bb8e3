-- test_lab.lua: the REPL as a lab bench. wb.runs.find and Run objects over
-- real runs (task 5 in --quick mode, trained once into a temporary root),
-- their models reproducing the recorded test accuracy exactly, wb.stats,
-- dead units, the weight grid, weight histograms across runs. (help, the
-- annotation files and the man page: test_help.lua.)
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local base = T.tmpdir()
local root = base .. "/quick" -- --root DIR --quick: DIR/quick
local have_mnist = pcall(wb.data.mnist)

-- {==== a small set of real runs ====

local trained = false
if have_mnist then
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s scripts/task05_dropout.lua --quick "
    .. "--root %s", q(T.wb), q(base)))
  trained = st == 0
  T.test("task 5 --quick trains its 9 runs into a temporary root", function()
    T.eq(st, 0, err)
  end)
end

local function files(dir)
  local ok, names = pcall(wb.sys.listdir, dir)
  return ok and names or {}
end

-- }====

-- {==== wb.runs.find and Run objects ====

if not trained then
  T.skip("wb.runs.find over real runs", "MNIST missing (make data) or training failed")
else
  T.test("find{} lists every record, each with its weights beside it", function()
    local all = wb.runs.find{root = root}
    local jsons, weights = 0, {}
    for _, n in ipairs(files(root .. "/runs")) do
      if n:match("%.json$") then jsons = jsons + 1 end
      if n:match("%.safetensors$") then weights[n] = true end
    end
    T.eq(#all, jsons)
    T.eq(#all, 9)
    for _, r in ipairs(all) do
      T.ok(weights[r.weights], "no weights file for " .. tostring(r))
      T.eq(getmetatable(r), wb.runs.Run)
    end
    -- dir = the runs folder itself; WB_PLOTS is the default root
    T.eq(#wb.runs.find{dir = root .. "/runs"}, 9)
    local st, out = T.sh("WB_PLOTS=" .. q(root) .. " " .. q(T.wb)
      .. " -e 'io.write(#wb.runs.find{task = \"task05_dropout\"})'")
    T.eq(st, 0); T.eq(out, "9")
  end)

  T.test("find filters by record fields and config keys; sorted by variant, seed", function()
    local rs = wb.runs.find{root = root, task = "task05_dropout", dropout = 0.3}
    T.eq(#rs, 3)
    for i, r in ipairs(rs) do
      T.eq(r.config.dropout, 0.3); T.eq(r.variant, "dropout=0.3"); T.eq(r.seed, i)
      T.eq(math.type(r.seed), "integer")
    end
    T.eq(#wb.runs.find{root = root, dropout = {0, 0.3}}, 6)
    T.eq(#wb.runs.find{root = root, seed = 2, dataset = "mnist"}, 3)
    T.eq(#wb.runs.find{root = root, dropout = function(v) return v > 0 end}, 6)
    T.eq(#wb.runs.find{root = root, status = "diverged", allow_empty = true}, 0)
    T.check_error("no runs of task 'nope'", wb.runs.find, {root = root, task = "nope"})
    T.eq(#wb.runs.find{root = root, task = "nope", allow_empty = true}, 0)
    local two = wb.runs.find{root = root, dropout = {0.3, 0}}
    T.eq(two[1].variant, "dropout=0"); T.eq(two[6].variant, "dropout=0.3")
    local err = T.check_error("unknown key 'dropuot'", wb.runs.find, {root = root, dropuot = 1})
    T.ok(err:find("dropout", 1, true) and err:find("task", 1, true), err)
    T.check_error("bad argument #1 to 'find' (table expected, got string)",
      wb.runs.find, "task05")
  end)

  T.test("a run list: #, [i], ipairs, tostring, :table, :variants, :stat", function()
    local rs = wb.runs.find{root = root, dropout = {0, 0.3}}
    local n = 0
    for i, r in ipairs(rs) do n = n + 1; T.eq(r, rs.records[i]) end
    T.eq(n, 6); T.eq(#rs, 6); T.eq(rs[7], nil)
    local s = tostring(rs)
    T.ok(s:find("^Runs%(6 runs, 2 variants%)\n  %[1%] Run task05_dropout dropout=0 seed 1: "
      .. "test acc %d+%.%d%d %%"), s)
    T.eq(table.concat(rs:variants(), " "), "dropout=0 dropout=0.3")
    local md = rs:table{"test_accuracy", "gap"}
    T.ok(md:find("| variant | seeds | test_accuracy | gap |", 1, true), md)
    T.ok(md:find("| dropout=0.3 | 3 | ", 1, true), md)
    local m = rs:stat("dropout=0", "test_accuracy")
    local sum = 0
    for _, r in ipairs(rs:of("dropout=0")) do sum = sum + r.metrics.test_accuracy end
    T.near(m, sum / 3, 1e-12)
  end)

  T.test("a Run: fields, tostring, model, data, plot; nothing is trained", function()
    local before = #files(root .. "/runs")
    local r = wb.runs.find{root = root, dropout = 0.3, seed = 2}[1]
    T.eq(tostring(r), string.format("Run task05_dropout dropout=0.3 seed 2: test acc %.2f %%",
      100 * r.metrics.test_accuracy))
    T.ok(r.history.loss and #r.history.loss == r.config.epochs, "history")
    T.ok(type(r.measures.silenced_30) == "number", "measures")
    T.eq(r.config.subset.train, 2000); T.eq(r.config.subset.test, 500)
    local m = r:model()
    T.eq(getmetatable(m), wb.nn.SequentialClass)
    T.eq(#m, 3); T.eq(m[2].kind, "Dropout"); T.near(m[2].rate, 0.3, 1e-7)
    T.ok(m ~= r:model(), "each call loads a fresh copy")
    T.eq(#r:data().test, 500)
    local p = r:plot("loss")
    T.eq(p.kind, "lines"); T.eq(#p.d.series, 2) -- loss and val_loss
    T.eq(#r:plot("gap").d.series, 1)
    T.check_error("no series 'nosuch'", r.plot, r, "nosuch")
    -- its last epoch was its best (no .best file): "best" is the final weights
    T.eq(r.metrics.best_epoch, r.metrics.epochs_run)
    T.eq(r:weights_path("best"), r:weights_path())
    T.check_error('expected "final" or "best"', r.model, r, "worst")
    T.eq(#files(root .. "/runs"), before)
  end)

  T.test("run:model('best') loads <task>-<hash>.best.safetensors when it exists", function()
    local r = wb.runs.find{root = root, dropout = 0, seed = 1}[1]
    local other = wb.runs.find{root = root, dropout = 0, seed = 2}[1]
    local best = root .. "/runs/" .. r.weights:gsub("%.safetensors$", ".best.safetensors")
    util.write_file(best, util.read_file(root .. "/runs/" .. other.weights))
    local mb = r:model("best")
    T.eq(mb[1].weight:norm(), other:model()[1].weight:norm())
    T.ok(mb[1].weight:norm() ~= r:model()[1].weight:norm(), "best differs from final")
    os.remove(best)
  end)

  T.test("every run's weights reproduce its recorded test accuracy exactly", function()
    for _, r in ipairs(wb.runs.find{root = root}) do
      local e = r:evaluate()
      T.eq(e.accuracy, r.metrics.test_accuracy, tostring(r))
      T.near(e.loss, r.metrics.test_loss, 1e-9, tostring(r))
      -- the same by hand: wb.load + evaluate on the recorded subset
      local m = wb.load(root .. "/runs/" .. r.weights)
      local test = wb.data.mnist().test:subset(1, r.config.subset.test)
      T.eq(m:evaluate(test).accuracy, r.metrics.test_accuracy, tostring(r))
    end
  end)

  T.test("ex:run() lists are Run objects too", function()
    local rs = wb.runs.Runs(wb.runs.load_all(root .. "/runs"))
    T.eq(getmetatable(rs[1]), wb.runs.Run)
    T.ok(tostring(rs[1]):find("^Run task05_dropout"), tostring(rs[1]))
  end)
end

-- The study's own runs (make report): every record has its weights and a
-- sample of them reproduces its test accuracy (all with WB_LAB_ALL=1).
local recs = wb.runs.load_all("plots/runs")
if #recs == 0 then
  T.skip("plots/runs reproduces its records", "no runs in plots/runs (make report)")
else
  T.test("plots/runs: find{} lists all records; weights reproduce test accuracy", function()
    local all = wb.runs.find{dir = "plots/runs"}
    T.eq(#all, #recs)
    local step = os.getenv("WB_LAB_ALL") and 1 or math.max(1, #all // 12)
    for i = 1, #all, step do
      local r = all[i]
      if r.status == "ok" then
        T.ok(wb.sys.exists("plots/runs/" .. r.weights), "weights of " .. tostring(r))
        T.eq(r:evaluate().accuracy, r.metrics.test_accuracy, tostring(r))
      end
    end
  end)
end

-- }====

-- {==== weight inspection ====

-- A model with known weights: Dense(4, 3, relu) -> Dense(3, 2, relu).
local function known_model()
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "relu"}),
    wb.nn.Dropout(0.5), wb.nn.Dense(3, 2, {activation = "relu"})}
  m[1].weight:copy(wb.tensor{{1, -1, 0}, {2, -2, 0.0005}, {0, 0, 0}, {-3, 3, 0}})
  m[1].bias:copy(wb.tensor{0, 0, -1})
  m[3].weight:copy(wb.tensor{{1, 0}, {1, 0}, {0, -1}})
  m[3].bias:fill(0)
  return m
end

T.test("wb.stats: mean, std, min, max, near-zero fraction, L2 norm per tensor", function()
  local s = wb.stats(known_model())
  T.eq(#s, 4)
  local w = s[1]
  T.eq(w.layer, 1); T.eq(w.index, 1); T.eq(w.param, "weight"); T.eq(w.n, 12)
  T.eq(table.concat(w.shape, ","), "4,3")
  T.near(w.mean, 0.0005 / 12, 1e-7)
  T.near(w.min, -3, 0); T.near(w.max, 3, 0)
  T.near(w.norm, math.sqrt(1 + 1 + 4 + 4 + 0.0005 ^ 2 + 9 + 9), 1e-6)
  T.near(w.near_zero, 6 / 12, 1e-12) -- five zeros and 0.0005 < 1e-3
  local xs = {1, -1, 0, 2, -2, 0.0005, 0, 0, 0, -3, 3, 0}
  local m, v = w.mean, 0
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  T.near(w.std, math.sqrt(v / 12), 1e-6) -- population std
  T.eq(s[2].param, "bias"); T.near(s[2].near_zero, 2 / 3, 1e-12)
  T.eq(s[3].layer, 2); T.eq(s[3].index, 3) -- the Dropout layer is not counted
  T.near(wb.stats(known_model(), {threshold = 1e-4})[1].near_zero, 5 / 12, 1e-12)
  local text = tostring(s)
  T.ok(text:find("layer%s+param%s+shape%s+mean%s+std%s+min%s+max%s+|w|<0.001%s+L2 norm"), text)
  T.ok(text:find("1 Dense(4 -> 3, relu)  weight  [4, 3]", 1, true), text)
  T.ok(text:find("50.0%", 1, true), text)
  T.check_error("bad argument #1 to 'stats' (wb.Sequential or wb.Run expected, got number)",
    wb.stats, 42)
end)

-- Inputs where unit 3 of layer 1 never fires (its weights are zero, bias -1)
-- and unit 2 of layer 2 never fires (its only input weight is negative on a
-- unit that is always 0).
local function known_data()
  local x = wb.tensor({{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 0, 1}, {1, 1, 1, 1}}, "uint8")
  return wb.data.Dataset(x, wb.tensor({0, 1, 2, 3}, "uint8"), "known")
end

T.test("dead units: layer 1 (= wb.measures.dead_units), a deeper layer, non-relu", function()
  local m, ds = known_model(), known_data()
  T.eq(wb.lab.dead_units(m, ds), 1)
  T.eq(wb.lab.dead_units(m, ds, 1), wb.measures.dead_units(m, ds))
  T.eq(wb.lab.dead_units(m, ds, 2), 1)
  local s = wb.stats(m, {data = ds})
  T.eq(s[1].dead, 1); T.eq(s[1].units, 3); T.eq(s[3].dead, 1); T.eq(s[2].dead, nil)
  T.ok(tostring(s):find("1/3", 1, true), tostring(s))
  local lin = wb.nn.Sequential{wb.nn.Dense(4, 2)}
  T.eq(wb.lab.dead_units(lin, ds), nil)
  T.check_error("layer 3: expected 1..2", wb.lab.dead_units, m, ds, 3)
end)

T.test("weight_grid: one diverging tile per unit of the first Dense layer", function()
  local m = wb.nn.Sequential{wb.nn.Dense(784, 20, {activation = "relu"}),
    wb.nn.Dense(20, 10, {activation = "softmax"})}
  local p = wb.lab.weight_grid(m)
  T.eq(p.kind, "images"); T.eq(p.d.n, 20); T.eq(p.d.palette, "diverging")
  T.eq(p.d.cols, 16); T.eq(p.d.rows, 2)
  -- tile j is column j of the kernel
  local w = m[1].weight
  T.near(p.d.tiles[5][100], w:get(100, 5), 0)
  local p8 = wb.lab.weight_grid(m, {units = 8, cols = 4})
  T.eq(p8.d.n, 8); T.eq(p8.d.rows, 2)
  T.check_error("do not form a square image", wb.lab.weight_grid, m, {layer = 2})
  local png = root .. "/lab/grid.png"
  p:save(png)
  local fh = assert(io.open(png, "rb"))
  T.eq(fh:read(8), "\137PNG\r\n\26\n")
  fh:close()
end)

T.test("weight_grid:show() draws characters in the terminal", function()
  local st, out, err = T.sh(q(T.wb) .. [[ -e 'wb.seed(3)
    local m = wb.nn.Sequential{wb.nn.Dense(784, 4)}
    wb.lab.weight_grid(m, {title = "grid"}):show{width = 100, height = 40}']])
  T.eq(st, 0, err)
  T.ok(out:find("grid", 1, true), out)
  local marks = select(2, out:gsub("[#=+-]", ""))
  T.ok(marks > 200, "expected the tiles as characters, got:\n" .. out)
end)

T.test("weight_grid:show(): each tile keeps its shape, rows of tiles apart", function()
  -- (before: gnuplot's dumb terminal put the 4-pixel gaps in less than a
  -- character, and two rows of 28x28 tiles read as one block: tryM 15)
  local st, out, err = T.sh(q(T.wb) .. [[ -e 'wb.seed(3)
    local m = wb.nn.Sequential{wb.nn.Dense(784, 8)}
    wb.lab.weight_grid(m, {cols = 4}):show{width = 100, height = 30}']])
  T.eq(st, 0, err)
  local groups, run = {}, 0 -- the lengths of the runs of tile lines
  for line in (out .. "\n"):gmatch("([^\n]*)\n") do
    if line:find("|", 1, true) then
      run = run + 1
      local bars = {}
      for i in line:gmatch("()|") do bars[#bars + 1] = i end
      T.eq(table.concat(bars, " "), "25 50 75", line) -- 4 tiles 24 columns wide
    elseif run > 0 then
      groups[#groups + 1], run = run, 0
      T.eq(line, "", "a blank row after a row of tiles")
    end
  end
  if run > 0 then groups[#groups + 1] = run end
  T.eq(table.concat(groups, " "), "12 12", out) -- 24 columns, 12 rows: square on the screen
end)

T.test("weight_grid:show() and images:show() end with a key saying what each glyph is",
    function()
  -- (before: " - = + #" with nothing saying which sign is which: tryV 8)
  local st, out, err = T.sh(q(T.wb) .. [[ -e 'wb.seed(3)
    local m = wb.nn.Sequential{wb.nn.Dense(784, 4)}
    wb.lab.weight_grid(m, {cols = 4}):show{width = 100, height = 30}
    wb.plot.images{tiles = wb.rand(2, 784), rows = 1, scale = "global"}:show()']])
  T.eq(st, 0, err)
  local keys = {}
  for line in out:gmatch("[^\n]+") do
    if line:find("^key: ") then keys[#keys + 1] = line end
  end
  T.eq(#keys, 2, out)
  T.eq(keys[1], 'key: "=" -1 to -0.6, "-" to -0.2, " " to 0.2, "+" to 0.6, "#" to 1 '
    .. "(of each tile's max abs value)")
  T.ok(#keys[1] <= 100, "fits the default width")
  T.eq(keys[2], 'key: " .:-=+*#%@" from low to high (in the PNG white to black), one scale '
    .. "for all tiles")
end)

T.test("compare_weights: one histogram per variant (or run, or model)", function()
  local a = wb.nn.Sequential{wb.nn.Dense(784, 8), wb.nn.Dense(8, 10)}
  local b = wb.nn.Sequential{wb.nn.Dense(784, 8), wb.nn.Dropout(0.3), wb.nn.Dense(8, 10)}
  local p = wb.lab.compare_weights({a, b}, 2, {labels = {"plain", "dropout"}})
  T.eq(p.kind, "histogram"); T.eq(#p.d.series, 2)
  T.eq(p.d.series[2].label, "dropout")
  T.eq(wb.lab.compare_weights({a}, 1, {param = "bias"}).d.series[1].label, "model 1")
  T.check_error("layer 3: expected 1..2", wb.lab.compare_weights, {a, b}, 3)
  T.check_error("non-empty list", wb.lab.compare_weights, {}, 1)
  if trained then
    local rs = wb.runs.find{root = root, dropout = {0, 0.3}}
    local pv = wb.lab.compare_weights(rs, 1)
    T.eq(#pv.d.series, 2)
    T.eq(pv.d.series[1].label, "dropout=0"); T.eq(pv.d.series[2].label, "dropout=0.3")
    local pr = wb.lab.compare_weights(rs, 2, {by = "run"})
    T.eq(#pr.d.series, 6); T.eq(pr.d.series[6].label, "dropout=0.3 seed 3")
    pv:save(root .. "/lab/hist.png")
    T.ok(wb.sys.exists(root .. "/lab/hist.png"))
  end
end)

T.test("compare_weights of layers of other sizes: densities, and the title says why", function()
  -- (before: counts, and a layer twice as wide looked twice as tall: tryV 10)
  local a = wb.nn.Sequential{wb.nn.Dense(784, 128), wb.nn.Dense(128, 10)}
  local b = wb.nn.Sequential{wb.nn.Dense(784, 64), wb.nn.Dense(64, 10)}
  local p = wb.lab.compare_weights({a, b}, 1)
  T.ok(p.d.density, "densities"); T.eq(p.d.ylabel, "density")
  T.ok(p.d.title:find("Layer 1 weights (densities: the histograms pool 100,352 vs 50,176 "
    .. "weights; density = false draws counts)", 1, true), p.d.title)
  p = wb.lab.compare_weights({a, b}, 1, {param = "bias"})
  T.ok(p.d.title:find("pool 128 vs 64 biases", 1, true), p.d.title)
  p = wb.lab.compare_weights({a, b}, 1, {density = false})
  T.ok(not p.d.density, "asked for counts"); T.eq(p.d.ylabel, "count")
  T.ok(not p.d.title:find("densities", 1, true), p.d.title)
  p = wb.lab.compare_weights({a, b}, 1, {density = true})
  T.ok(not p.d.title:find("densities", 1, true), "asked for: no note: " .. p.d.title)
  p = wb.lab.compare_weights({a, a}, 1) -- the same sizes: counts, as before
  T.ok(not p.d.density, "counts"); T.eq(p.d.ylabel, "count"); T.eq(p.d.title, "Layer 1 weights")
  local c = wb.nn.Sequential{wb.nn.Dense(784, 2)}
  p = wb.lab.compare_weights({a, b, c, c}, 1, {title = "mine"})
  T.ok(p.d.title:find("mine (densities: the histograms pool 1,568 to 100,352 weights",
    1, true), p.d.title)
end)

-- }====

T.done()
