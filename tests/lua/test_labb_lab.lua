-- test_labb_lab.lua: wb.stats and wb.lab say what is wrong with their input
-- and where their figures came from (audit audB). Each test failed before
-- its fix:
-- B5 data of another width than the model's input gave "measures.lua:283:
--    bad argument #1 to 'forward'", naming neither the option nor the call;
-- B6 wb.stats's n without data, compare_weights's labels for runs, a density
--    or title of the wrong type were taken in silence;
-- B7 an error of run:model() raised through wb.stats (weights replaced) was
--    prefixed with lab.lua's file and line;
-- B9 compare_weights's CSV did not say which runs it pooled;
-- B13 weight_grid with too few rows for its units: "wb.plot.images: 16 tiles
--    do not fit in rows = 2 x cols = 4", naming none of weight_grid's options.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

local root = T.tmpdir()
wb.experiment({name = "lw", seeds = {1, 2}, vary = {dropout = {0, 0.5}},
  base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}}}, {root = root})
  :run{verbose = false}
local rs = T.stderr_of(function() return wb.runs.find{root = root, task = "lw"} end)
local narrow = wb.data.Dataset(wb.tensor({{1, 2, 3}, {4, 5, 6}}), wb.new_tensor({2}, "uint8"),
  "narrow")

T.test("B5: data of another width is an error naming the option and the widths", function()
  local err = T.check_error("wb.stats: opts.data: expected rows of 784 inputs (layer 1, "
    .. "Dense(784 -> 8, relu)), got narrow, rows of 3", wb.stats, rs[1], {data = narrow})
  T.ok(not err:find("measures.lua", 1, true), err)
  T.check_error("wb.lab.dead_units: ds: expected rows of 784 inputs", wb.lab.dead_units,
    rs[1], narrow)
  -- a Dropout before the first Dense keeps the width: still checked
  local m = wb.nn.Sequential{wb.nn.Dropout(0.1), wb.nn.Dense(784, 4, {activation = "relu"}),
    wb.nn.Dense(4, 10)}
  T.check_error("expected rows of 784 inputs (layer 2", wb.stats, m, {data = narrow})
  T.eq(wb.stats(rs[1], {data = rs[1]:data().test})[1].units, 8) -- the right width works
end)

T.test("B6: options that would do nothing are errors", function()
  T.check_error("wb.stats: opts.n: the rows of opts.data", wb.stats, rs[1], {n = 5})
  T.check_error("opts.labels: legend of a list of models; runs[1] is a run",
    wb.lab.compare_weights, rs, 1, {labels = {"a", "b"}})
  T.check_error("opts.density: a boolean expected", wb.lab.compare_weights, rs, 1,
    {density = "yes"})
  T.check_error("opts.title: string expected", wb.lab.compare_weights, rs, 1, {title = 5})
  local m = rs[1]:model()
  T.ok(wb.lab.compare_weights({m, m}, 1, {labels = {"a", "b"}, density = true, title = "t"}))
end)

T.test("B7: run:model()'s error through wb.stats carries no library position", function()
  local bad = T.tmpdir()
  assert(os.execute(string.format("cp -r %s/runs %s/", root, bad)))
  local r1, r2 = rs[1], rs[2]
  assert(os.execute(string.format("cp %s/runs/%s %s/runs/%s", bad, r2.weights, bad,
    r1.weights)))
  local r = T.stderr_of(function() return wb.runs.find{root = bad, hash = r1.hash}[1] end)
  for _, f in ipairs{function() return wb.stats(r) end,
      function() return wb.lab.weight_grid(r) end,
      function() return wb.lab.compare_weights({r}) end} do
    local err = T.check_error("is not the file its record was written with", f)
    T.ok(err:find("^wb%.Run:model: "), err) -- was ".../lab.lua:38: wb.Run:model: ..."
  end
end)

T.test("B9: compare_weights's CSV names the runs of each histogram", function()
  local path = T.tmpdir() .. "/h.png"
  wb.lab.compare_weights(rs, 1):save(path)
  local csv = util.read_file(path:gsub("%.png$", ".csv"))
  T.ok(csv:find("drawn by wb.lab.compare_weights", 1, true), csv)
  for _, v in ipairs(rs:variants()) do
    local hs = {}
    for _, r in ipairs(rs:of(v)) do hs[#hs + 1] = r.hash end
    T.ok(csv:find("# " .. v .. ": " .. table.concat(hs, " ") .. "\n", 1, true), csv)
  end
  -- pandas reads it past the "# " lines: the head row is the first record
  local first = csv:match("\n([^#][^\n]*)")
  T.eq(first, "bin_lo,bin_hi,dropout=0,dropout=0.5")
end)

T.test("B13: weight_grid's rows too few for its units names its options", function()
  T.check_error("wb.lab.weight_grid: opts.rows: 2 rows x 3 cols hold 6 tiles, expected room "
    .. "for the 8 units drawn (opts.units)", wb.lab.weight_grid, rs[1], {cols = 3, rows = 2})
  T.ok(wb.lab.weight_grid(rs[1], {units = 6, cols = 3, rows = 2}))
end)

T.done()
