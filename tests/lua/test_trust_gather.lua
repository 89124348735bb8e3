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

T.test("--gather over a stale record here (a variable its hook read is not as recorded): the "
  .. "one that would be reused imported; both stale: the one here kept and retrained, no "
  .. "conflict (audit V5)", function()
  local env = dir .. "/env.lua"
  util.write_file(env, (util.read_file(path):gsub('name = "g"', 'name = "genv"')
    :gsub("seeds = {1, 2}", 'seeds = {1}, measure = function() return {x = os.getenv("G_X") '
    .. 'or "unset"} end')))
  local function go(vars, args)
    return T.sh(string.format("WB_ECHO=0 %s %s %s --jobs 1 --quick %s", vars, T.wb, env, args))
  end
  for _, r in ipairs{{"G_X=2", "here1"}, {"G_X=3", "here2"}, {"", "src1"}, {"G_X=1", "src2"}} do
    local st, _, err = go(r[1], "--root " .. dir .. "/" .. r[2])
    T.eq(st, 0, err)
  end
  -- the one here stale (G_X=2 then, unset now), the one there as here: imported
  local st, _, err = go("", "--root " .. dir .. "/here1 --gather " .. dir .. "/src1")
  T.eq(st, 0, err)
  T.ok(err:find("imported over the record here, which is not reusable %(%$G_X"), err)
  T.ok(err:find("1 run: 1 cached, 0 to train", 1, true), err)
  -- both stale here, with other results (x): kept, said, trained again; exit 0
  st, _, err = go("", "--root " .. dir .. "/here2 --gather " .. dir .. "/src2")
  T.eq(st, 0, err)
  T.ok(not err:find("conflict", 1, true), err)
  T.ok(err:find("not taken, and the record here not reusable either (here ", 1, true), err)
  T.ok(err:find("1 run: 0 cached, 1 to train", 1, true), err)
end)

T.done()
