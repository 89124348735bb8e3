-- tryI: a helper module the task's script requires, edited in the middle
-- of a sweep, changes the hash of the runs not started yet: each later run
-- (`--run HASH`) failed with "no run with hash ...: other options made it,
-- the script has changed since it was listed, or a hook closes over a value
-- ...", not naming the file. A run's spec file now lists the files its
-- hooks come from (the script, the modules it required) with their content
-- ids as the plan loaded them, and the failure names the one changed.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local helper, script = dir .. "/hlp_edit.lua", dir .. "/modedit.lua"

local function write_helper(act)
  util.write_file(helper, string.format([[
local H = {}
H.ACT = %q
function H.mlp(cfg)
  return wb.nn.Sequential{wb.nn.Dense(784, cfg.hidden, {activation = H.ACT}),
    wb.nn.Dense(cfg.hidden, 10, {activation = "softmax"})}
end
return H
]], act))
end
local function write_script(hidden)
  util.write_file(script, string.format([[
local H = require "hlp_edit"
return wb.task{name = "modedit", title = "module edited",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 200, test = 100}},
    seeds = {1}, keys = {"hidden"},
    build = function(cfg) return H.mlp{hidden = %d} end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], hidden))
end

local root = dir .. "/r"
local function run(args)
  return T.run_wb(T.quote(script) .. " --root " .. T.quote(root) .. " " .. args)
end
write_helper("relu")
write_script(8)
local st, out, err = run("--list-runs")
T.eq(st, 0, err)
local hash = out:match("%-%-run (%x+)")

T.test("a helper edited after the runs were listed: --run names it", function()
  write_helper("tanh")
  st, out, err = run("--run " .. hash)
  T.eq(st, 64, out .. err)
  T.ok(err:find("no run with hash " .. hash, 1, true), err)
  T.ok(err:find("its spec file says base seed 1; since it was listed, " .. helper
    .. " changed (the script or a module it requires), and with it the build hook", 1, true),
    err)
  T.ok(err:find("run the task again to plan them as they are", 1, true), err)
  T.ok(not err:find("other options made it", 1, true), err)
end)

T.test("the script's hook edited instead: the script named; reverted: the run trains",
  function()
  write_helper("relu")
  write_script(9)
  st, out, err = run("--run " .. hash)
  T.eq(st, 64, out .. err)
  T.ok(err:find("since it was listed, " .. script .. " changed", 1, true), err)
  T.ok(not err:find(helper, 1, true), err)
  write_script(8)
  st, out, err = run("--run " .. hash)
  T.eq(st, 0, out .. err)
end)

T.done()
