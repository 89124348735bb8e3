-- test_strict_exrun.lua: `workbench ex.lua --seeds 5 --epochs 3`, a plain
-- script calling ex:run(), trained the experiment's own seeds and epochs
-- and exited 0: the task options were read by nobody (audit I 5). Now
-- ex:run() refuses them, naming them and how to pass them, before anything
-- trains; options handed to the experiment (wb.runner.options(arg)) apply,
-- its --root too; those only a task's runner acts on (--jobs) are refused;
-- the script's own arguments are its business.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"
local q = T.quote

local dir = T.tmpdir()
local function script(name, options)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
local ex = wb.experiment({name = "exr", base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 50}}, seeds = {1}}, {root = %s, options = %s})
local runs = ex:run()
print("runs " .. #runs .. " epochs " .. runs[1].config.epochs)
]], options == "root" and "nil" or string.format("%q", dir .. "/" .. name),
    options == "root" and "wb.runner.options(arg)" or options or "nil"))
  return path
end
local function n_records(root)
  local ok, names = pcall(wb.sys.listdir, root .. "/runs")
  local n = 0
  for _, f in ipairs(ok and names or {}) do if f:match("%.json$") and not f:match("spec") then n = n + 1 end end
  return n
end

T.test("task options on a plain script's command line: an error, nothing trained", function()
  local path = script("plain")
  local st, out, err = T.sh(string.format("%s %s --seeds 5 --epochs=3", q(T.wb), q(path)))
  T.ok(st ~= 0, "exit " .. st .. ": " .. out)
  T.ok(err:find("ex:run(): the command line gives --seeds, --epochs, which ex:run() does "
    .. "not read", 1, true), err)
  T.ok(err:find("wb.experiment(spec, {options = wb.runner.options(arg)})", 1, true), err)
  T.ok(err:find("plain.lua:3: exr: ex:run()", 1, true), "at the line of ex:run(): " .. err)
  T.eq(n_records(dir .. "/plain"), 0, "nothing trained")
end)

T.test("wb.runner.run_experiment(ex) refuses them too, at its caller's line", function()
  local path = dir .. "/direct.lua"
  util.write_file(path, string.format([[
local ex = wb.experiment({name = "exr", base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 50}}, seeds = {1}}, {root = %q})
wb.runner.run_experiment(ex)
]], dir .. "/direct"))
  local st, _, err = T.sh(string.format("%s %s --quick", q(T.wb), q(path)))
  T.ok(st ~= 0, err)
  T.ok(err:find("direct.lua:3: exr: ex:run(): the command line gives --quick", 1, true), err)
  T.eq(n_records(dir .. "/direct"), 0)
end)

T.test("the script's own arguments are its business; options given apply", function()
  local path = script("own")
  local st, out, err = T.sh(string.format("%s %s data.txt --my-flag", q(T.wb), q(path)))
  T.eq(st, 0, err)
  T.ok(out:find("runs 1 epochs 1", 1, true), out)
  -- the script parsed its own --epochs: options = {} says so
  path = script("mine", "{}")
  st, out, err = T.sh(string.format("%s %s --epochs 2", q(T.wb), q(path)))
  T.eq(st, 0, err)
  T.ok(out:find("runs 1 epochs 1", 1, true), out)
  -- handed over parsed: applied, --root included (it was dropped)
  path = script("root", "root")
  st, out, err = T.sh(string.format("%s %s --seeds 2 --epochs 2 --root %s", q(T.wb), q(path),
    q(dir .. "/given")))
  T.eq(st, 0, err)
  T.ok(out:find("runs 2 epochs 2", 1, true), out)
  T.eq(n_records(dir .. "/given"), 2)
  -- --fresh handed over retrains (it only stopped reuse from another task)
  st, out, err = T.sh(string.format("%s %s --seeds 2 --epochs 2 --root %s --fresh", q(T.wb),
    q(path), q(dir .. "/given")))
  T.eq(st, 0, err)
  T.ok(err:find("0 cached, 2 to train", 1, true), err)
end)

T.test("options only a task's runner acts on are refused by ex:run()", function()
  local path = script("jobs", "wb.runner.options(arg)")
  local st, _, err = T.sh(string.format("%s %s --jobs 2", q(T.wb), q(path)))
  T.ok(st ~= 0, err)
  T.ok(err:find("ex:run(): options --jobs: ex:run() trains in this process",
    1, true), err)
  T.eq(n_records(dir .. "/jobs"), 0)
end)

T.done()
