-- An optimizer option stated at its optimizer's default is the same run as
-- leaving it out (tryV 11: adding lr = {1e-3, 3e-3} to a grid over Adam's
-- default retrained the lr = 1e-3 runs, to identical numbers).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local function spec(base)
  local b = {hidden = 8, epochs = 1, subset = {train = 200, test = 100}}
  for k, v in pairs(base) do b[k] = v end
  return {name = "dflt", base = b, seeds = {1}}
end
local function hash(base) return wb.experiment(spec(base), {root = dir .. "/h"}).specs[1].hash end

T.test("an optimizer option at its default has the identity of leaving it out", function()
  T.eq(hash{lr = 1e-3}, hash{}, "adam's lr")
  T.eq(hash{lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-7}, hash{}, "all of adam's")
  T.ok(hash{lr = 2e-3} ~= hash{}, "another lr is another run")
  T.ok(hash{eps = 1e-8} ~= hash{}, "another eps is another run")
  -- the default of the optimizer in force: sgd's lr is 0.01, not adam's 1e-3
  T.eq(hash{optimizer = "sgd", lr = 0.01, momentum = 0, nesterov = false},
    hash{optimizer = "sgd"}, "sgd's")
  T.ok(hash{optimizer = "sgd", lr = 1e-3} ~= hash{optimizer = "sgd"}, "adam's lr under sgd")
  T.eq(hash{optimizer = "adamw", weight_decay = 0.004}, hash{optimizer = "adamw"}, "adamw's")
  -- filled in, as batch_size's 32 is: a hook and the record read what trained
  local c = wb.experiment(spec{optimizer = "sgd"}, {root = dir .. "/h"}).specs[1].config
  T.ok(c.lr == 0.01 and c.momentum == 0 and c.nesterov == false and c.beta1 == nil,
    "sgd's options")
end)

T.test("two variants that differ only by a stated default are the same config", function()
  local ok, err = pcall(wb.experiment, {name = "dflt2", base = {hidden = 8},
    variants = {{label = "a"}, {label = "b", lr = 1e-3}}})
  T.ok(not ok and tostring(err):find("have the same config", 1, true), tostring(err))
end)

-- The runner itself: trained with the default, then with it stated, then another value.
local script = dir .. "/dflt.lua"
util.write_file(script, [[
local lr = os.getenv("DFLT_LR")
return wb.task{name = "dflt", title = "dflt",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 200, test = 100},
    lr = lr and tonumber(lr)}, seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
local function run(lr)
  return T.sh(string.format("%s WB_ECHO=0 %s %s --root %s", lr and ("DFLT_LR=" .. lr) or "",
    T.wb, script, dir .. "/r"))
end

T.test("a run recorded with the default lr is cached when lr = 1e-3 is stated", function()
  local st, _, err = run(nil)
  T.eq(st, 0, err)
  T.ok(err:find("1 runs?: 0 cached, 1 to train"), err)
  st, _, err = run("1e-3")
  T.eq(st, 0, err)
  T.ok(err:find("1 runs?: 1 cached, 0 to train"), "stated default: " .. err)
  T.eq(#wb.runs.find{task = "dflt", root = dir .. "/r", lr = 1e-3}, 1, "its record says lr")
  st, _, err = run("2e-3")
  T.eq(st, 0, err)
  T.ok(err:find("1 runs?: 0 cached, 1 to train"), "another lr trains: " .. err)
end)

T.done()
