-- A task's run that stopped after saving its training state (a kill, an
-- interrupt, here an error at epoch 2) resumes when the task runs again. Its
-- log was begun anew then: it started at "epoch 2/3", the first attempt's
-- lines gone, and the runner's line for it did not say it had resumed. Now
-- the log goes on after the earlier attempt's lines, a marked line between,
-- and the runner's line says "(resumed after epoch 1)". A run without a saved
-- state still gets a new log.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

-- the run fails at the end of epoch 2 (after epoch 1's save) unless it was
-- resumed (set_state called): no file or variable read, which would be part
-- of the run's identity
local script = dir .. "/res.lua"
util.write_file(script, [[
return wb.task{name = "res", title = "resume log",
  experiment = {base = {epochs = 3, hidden = 8, subset = {train = 300, test = 100}},
    seeds = {1},
    callbacks = function()
      local resumed = false
      return {{on_epoch_end = function(_, e)
          if e == 2 and not resumed then error("killed", 0) end
        end,
        get_state = function() return {} end, set_state = function() resumed = true end}}
    end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

local function the_log(root)
  local names = wb.sys.listdir(root .. "/runs/logs")
  T.eq(#names, 1, table.concat(names, " "))
  return util.read_file(root .. "/runs/logs/" .. names[1])
end

T.test("a resumed run's log keeps the first attempt's epochs; its line says it resumed",
  function()
  local root = dir .. "/r"
  local st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(root) .. " --jobs 1")
  T.ok(st ~= 0, "the killed run fails the task: " .. out .. err)
  T.ok(the_log(root):find("epoch 1/3", 1, true), "the first attempt's epoch 1")
  st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(root) .. " --jobs 1")
  T.eq(st, 0, out .. err)
  T.ok(err:find("(resumed after epoch 1)", 1, true), "the run's line: " .. err)
  -- and the task's README counts it apart from the runs trained whole (tryR 5)
  local readme = util.read_file(root .. "/res/README.md") or ""
  T.ok(readme:find("1 run: 1 trained by this command (1 of them resumed from a stopped "
    .. "training's saved state, after epoch 1)", 1, true), "README: " .. readme:sub(1, 600))
  local log = the_log(root)
  local a = log:find("epoch 1/3", 1, true)
  local m = log:find("---- started again: it resumes from its saved state", 1, true)
  local b = log:find("epoch 2/3", 1, true)
  T.ok(a and m and b and a < m and m < b, "epoch 1, the mark, then the resumed epochs: " .. log)
  local _, ones = log:gsub("epoch 1/3", "")
  T.eq(ones, 1, "epoch 1 trained once: " .. log)
  -- a run without a saved state (the last one was removed as the run ended):
  -- a new log; --fresh trains it again, killed at epoch 2 again
  st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(root) .. " --jobs 1 --fresh")
  T.ok(st ~= 0, out .. err)
  log = the_log(root)
  T.ok(log:find("epoch 1/3", 1, true) and not log:find("started again", 1, true), log)
  T.ok(not err:find("resumed after", 1, true), err)
end)

-- A recorded run's saved state (an interrupted --fresh retraining) stayed
-- unseen, and a later --fresh went on from it without a word: a plan that
-- finds the run recorded removes it, and says so.
T.test("a recorded run's leftover training state is removed and said", function()
  local plain = dir .. "/plain.lua"
  util.write_file(plain, [[
return wb.task{name = "plain", title = "plain",
  experiment = {base = {epochs = 1, hidden = 4, subset = {train = 100, test = 50}}, seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
  local root = dir .. "/p"
  local st, out, err = T.run_wb(T.quote(plain) .. " --root " .. T.quote(root))
  T.eq(st, 0, out .. err)
  local hash = wb.runs.find{task = "plain", root = root}[1].hash
  local state = wb.record.path(root, "plain", hash, "state.safetensors")
  util.write_file(state, "left by an interrupted --fresh")
  st, out, err = T.run_wb(T.quote(plain) .. " --root " .. T.quote(root))
  T.eq(st, 0, out .. err)
  T.ok(err:find("[plain] removed the saved training state of 1 recorded run", 1, true), err)
  T.ok(not wb.sys.exists(state), "removed")
end)

T.done()
