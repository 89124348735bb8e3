-- --gather with --quick: another root's quick runs are in <root>/quick (as
-- --root DIR --quick writes them), and --gather DIR finds them there.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local path = dir .. "/g.lua"
util.write_file(path, [[
return wb.task{name = "g", experiment = {base = {hidden = 8}, seeds = {1, 2}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
local function run(args)
  return T.sh(string.format("WB_ECHO=0 %s %s --jobs 2 --quick %s", T.wb, path, args))
end

T.test("--gather DIR --quick imports DIR/quick's runs; the full runs folder is not read",
  function()
  local st, _, err = run("--root " .. dir .. "/remote")
  T.eq(st, 0, err)
  T.eq(#wb.runs.load_all(dir .. "/remote/quick/runs"), 2)
  st, _, err = run("--root " .. dir .. "/here --gather " .. dir .. "/remote")
  T.eq(st, 0, err)
  T.ok(err:find("0 to train", 1, true), "every run imported: " .. err)
  T.eq(#wb.runs.load_all(dir .. "/here/quick/runs"), 2)
  T.ok(not wb.sys.exists(dir .. "/here/runs"), "nothing in the full runs folder")
  -- the runs folder itself, given as it is, is taken as it is
  st, _, err = run("--root " .. dir .. "/there --gather " .. dir .. "/remote/quick/runs")
  T.eq(st, 0, err)
  T.ok(err:find("0 to train", 1, true), err)
end)

T.done()
