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

T.test("--gather over a record here that is torn: said, and the valid one imported, not a "
  .. "'conflict' with 'other results' (audit V5)", function()
  local here, src = dir .. "/torn", dir .. "/remote/quick/runs"
  local st, _, err = run("--root " .. here .. " --gather " .. dir .. "/remote")
  T.eq(st, 0, err)
  local name = wb.sys.listdir(src)
  table.sort(name)
  for _, n in ipairs(name) do if n:match("^g%-%x+%.json$") then name = n break end end
  local f = here .. "/quick/runs/" .. name
  util.write_file(f, util.read_file(f):sub(1, 200)) -- a copy cut short
  st, _, err = run("--root " .. here .. " --gather " .. dir .. "/remote")
  T.eq(st, 0, err)
  T.ok(not err:find("conflict", 1, true), err)
  T.ok(err:find(name .. ": base seed %d: imported over the record here, which is not "
    .. "reusable %(" .. f:gsub("%p", "%%%0") .. " is not valid JSON%)"), err)
  T.ok(err:find("1 imported (1 over a record here not reusable), 1 already here", 1, true), err)
  T.ok(err:find("0 to train", 1, true), "nothing retrained: " .. err)
  T.eq(util.read_file(f), util.read_file(src .. "/" .. name), "the valid record imported")
end)

T.done()
