-- A run retrained because the script changed the library (a replaced
-- wb.nn.Dense, a value it put in math) is said so, naming the value and
-- where the script set it (wb/runner_why.lua, wb.identity.library). Such a
-- change is in every hook's identity (wb/identity_lib.lua), and the line
-- said "fit_options, the build hook, the callbacks hook, the measure hook
-- changed since": not what the user changed.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local path = dir .. "/patch.lua"

-- The task with Dense's hidden width w, math.extra = x, and a measure hook
-- reading the kernel's size along `axis`; its "changed since" line.
local function run(w, x, axis)
  util.write_file(path, string.format([[
local D = wb.nn.Dense
wb.nn.Dense = function(i, o, opts)
  if o ~= 10 then o = %d else i = %d end
  return D(i, o, opts)
end
math.extra = %d
return wb.task{name = "patch", title = "p", experiment = {base = {hidden = 16, epochs = 1,
  subset = {train = 300, test = 100}, validation = false}, seeds = {1},
  measure = function(model) return {width = model:get_weights()[1]:size(%d)} end},
  report = function(task, runs) task:text(runs:table{"width"}) end}
]], w, w, x, axis))
  local st, _, err = T.sh("WB_ECHO=0 " .. T.wb .. " " .. path .. " --root " .. dir .. "/plots")
  T.eq(st, 0, err)
  return err:match("under another identity[^\n]-: ([^\n]-) changed since") or "", err
end

T.test("a replaced wb.nn.Dense is named as what changed, not every hook", function()
  run(16, 1, 2)
  local line, err = run(24, 1, 2)
  T.eq(line, "wb.nn.Dense (replaced by the script at " .. path .. ":2)", err)
end)

T.test("a value the script put in math, and a hook edited with a patch", function()
  local line, err = run(24, 2, 2)
  T.eq(line, "math.extra (added by the script: 2)", err)
  -- 32, not 16: the run of 16 (the first test's) is as near as the last
  -- one, and may have finished in the same second (runner_why's rather)
  line, err = run(32, 2, 1)
  T.eq(line, "the measure hook (its code or what it closes over: upvalues, the modules they "
    .. "hold), wb.nn.Dense (replaced by the script at " .. path .. ":2)", err)
end)

T.test("the record keeps what the script changed, by name", function()
  local rs = wb.runs.find{root = dir .. "/plots", task = "patch"}
  T.ok(#rs >= 1)
  local lib = rs[1].identity.library
  T.eq(type(lib), "table", util.canonical(rs[1].identity))
  T.eq(lib["wb.nn.Dense"].how, "replaced")
  T.eq(lib["math.extra"].value, 2)
  -- a script that changes nothing records nothing of it
  T.eq(wb.identity.library({build = function() end}), nil)
end)

T.done()
