-- Why runs are trained again (wb/runner_why.lua), after edits a user makes
-- to a task: a key removed from a build hook's keys, or a switch between
-- the default MLP and a build hook, crashed the plan (the old record's keys
-- were read from the new, strict config: "config key 'tag' is not a key of
-- this experiment (did you mean 'beta1'?)", tryM 1); and the line named
-- the latest record under another identity, not the nearest: a change of
-- the data files was said as "config key dataset (fashion -> mnist)"
-- because a --dataset fashion run finished last (tryM 3).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local path = dir .. "/near.lua"

-- The task with base keys `base` (Lua text), keys and build hook `build`
-- (Lua text, or nil: the default MLP), under dir/root (plots); exit status, the "changed since"
-- part of the line and stderr.
local function run(base, build, root)
  util.write_file(path, string.format([[
return wb.task{name = "near", title = "n", experiment = {base = {epochs = 1,
  subset = {train = 300, test = 100}, validation = false, %s}, seeds = {1}%s},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], base, build and (",\n  " .. build) or ""))
  local st, _, err = T.sh("WB_ECHO=0 " .. T.wb .. " " .. path .. " --root " .. dir .. "/" .. (root or "plots"))
  return st, err:match("under another identity[^\n]-: ([^\n]-) changed since") or "", err
end

local BUILD = [[keys = {%s}, build = function(cfg)
    %s
    return wb.nn.Sequential{wb.nn.Dense(784, cfg.width, {activation = "relu"}),
      wb.nn.Dense(cfg.width, 10, {activation = "softmax"})}
  end]]

T.test("a key removed from keys, or a switch to and from the default MLP, is named", function()
  local st, line, err = run("width = 16, tag = 1", BUILD:format('"width", "tag"', ""))
  T.eq(st, 0, err)
  st, line, err = run("width = 16", BUILD:format('"width"', ""))
  T.eq(st, 0, err)
  T.eq(line, "config key tag (1 -> unset)", err)
  -- the default MLP (its keys: hidden, ...), then a build hook's again
  st, line, err = run("hidden = 16")
  T.eq(st, 0, err)
  T.ok(line:find("config key width (16 -> unset)", 1, true), err)
  st, line, err = run("width = 16", BUILD:format('"width"', ""))
  T.eq(st, 0, err)
  T.eq(line, "", "the record of that training is there: reused, nothing to name\n" .. err)
end)

T.test("the line names the nearest record, not the latest", function()
  local st, _, err = run("width = 8, mark = 1", BUILD:format('"width", "mark"', ""), "p2")
  T.eq(st, 0, err)
  st, _, err = run("width = 8, mark = 2", BUILD:format('"width", "mark"', ""), "p2")
  T.eq(st, 0, err)
  -- mark = 1 again with the hook edited: the record of mark = 1 is this
  -- run before, the hook is what changed (not "config key mark (2 -> 1)")
  local line
  st, line, err = run("width = 8, mark = 1", BUILD:format('"width", "mark"',
    "local unused = cfg.mark"), "p2")
  T.eq(st, 0, err)
  T.eq(line, "the build hook (its code or what it closes over: upvalues, the modules they "
    .. "hold)", err)
end)

T.done()
