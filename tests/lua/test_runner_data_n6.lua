-- Audit N6: $WB_DATA naming a folder without mnist/ (an empty one, or one
-- holding the IDX files themselves) failed every run in its own child with
-- the library's file:line ("FAILED (exit 66): workbench: .../wb/data.lua:315:
-- MNIST not found ..."). Now one error before any run starts, naming the
-- folder and what it should hold, exit 66, nothing trained.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local here = os.getenv("PWD")

local script = dir .. "/t.lua"
util.write_file(script, [[
return wb.task{name = "n6", title = "t",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 200, test = 100}},
    seeds = {1, 2}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

local function run(data)
  return T.sh(string.format("WB_DATA=%s %s %s --root %s </dev/null", T.quote(data), T.quote(T.wb),
    T.quote(script), T.quote(dir .. "/r")))
end

T.test("$WB_DATA without mnist/: one error naming the folder, before any run", function()
  os.execute("mkdir -p " .. dir .. "/empty")
  local st, out, err = run(dir .. "/empty")
  T.eq(st, 66, err)
  T.eq(out, "", "no table of no runs")
  local lines = select(2, err:gsub("\n", "\n"))
  T.eq(lines, 1, "one line: " .. err)
  T.ok(err:find(dir .. "/empty/mnist has none of its 4 files", 1, true), err)
  T.ok(err:find("$WB_DATA is " .. dir .. "/empty", 1, true), err)
  T.ok(not err:find("FAILED", 1, true) and not err:find("%.lua:%d+:"), err)
  T.ok(not wb.sys.exists(dir .. "/r/runs/logs") or #wb.sys.listdir(dir .. "/r/runs/logs") == 0,
    "no run started")
end)

T.test("the IDX files in $WB_DATA itself: said so", function()
  os.execute("mkdir -p " .. dir .. "/flat && cp " .. here .. "/data/mnist/t10k-labels-idx1-ubyte "
    .. dir .. "/flat/")
  local st, _, err = run(dir .. "/flat")
  T.eq(st, 66, err)
  T.ok(err:find("the files are in it directly: move them to " .. dir .. "/flat/mnist", 1,
    true), err)
end)

T.test("one file missing: named", function()
  os.execute("mkdir -p " .. dir .. "/part/mnist && cp " .. here .. "/data/mnist/t10k-* "
    .. dir .. "/part/mnist/")
  local st, _, err = run(dir .. "/part")
  T.eq(st, 66, err)
  T.ok(err:find("has no train-images-idx3-ubyte, train-labels-idx1-ubyte (of", 1, true), err)
end)

T.test("--run HASH by hand without the data: the same error, not 'no run with hash'",
  function()
  -- the hash as listed with the data in place (the data is in a run's identity)
  local st, out, err = T.sh(string.format("%s %s --root %s --list-runs", T.quote(T.wb),
    T.quote(script), T.quote(dir .. "/r")))
  T.eq(st, 0, err)
  local hash = out:match("%-%-run (%x+)")
  T.ok(hash, out)
  st, _, err = T.sh(string.format("WB_DATA=%s %s %s --root %s --run %s </dev/null",
    T.quote(dir .. "/empty"), T.quote(T.wb), T.quote(script), T.quote(dir .. "/r"), hash))
  T.eq(st, 66, err)
  T.ok(err:find(dir .. "/empty/mnist has none of its 4 files", 1, true), err)
  T.ok(not err:find("no run with hash", 1, true), err)
  -- with the data, a wrong hash still says what it says
  st, _, err = T.sh(string.format("%s %s --root %s --run %s </dev/null", T.quote(T.wb),
    T.quote(script), T.quote(dir .. "/r"), ("0"):rep(16)))
  T.eq(st, 64, err)
  T.ok(err:find("no run with hash " .. ("0"):rep(16), 1, true), err)
end)

T.done()
