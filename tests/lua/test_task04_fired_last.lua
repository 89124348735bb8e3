-- test_task04_fired_last.lua: task 4's table counted a seed whose patience
-- rule fired at the last epoch as "stopped before the end" (tryO 4: "2 of
-- 4" at --epochs 6 for two seeds stopped at epoch 6 of 6): nothing was cut
-- short. Records written by hand, the task's own report function; nothing trains.
local T = dofile("tests/lua/harness.lua")
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local dir = T.tmpdir()

local task = dofile("scripts/task04_early_stopping.lua")
local report = task.report or (task.spec and task.spec.report)
T.ok(type(report) == "function", "the task's report function")

-- a seed of 6 epochs whose patience-2 rule stopped (fired) at epoch `at`
local function put(seed, at, fired)
  local m = {test_loss = 0.3, test_accuracy = 0.9}
  for _, p in ipairs{2, 5, 10} do
    m["stopped_" .. p], m["stopped_epoch_" .. p] = p == 2 and fired or 0, p == 2 and at or 6
    m["best_epoch_" .. p] = 4
    m["test_loss_" .. p], m["last_test_loss_" .. p] = 0.3, 0.31
    m["test_accuracy_" .. p], m["last_test_accuracy_" .. p] = 0.9, 0.89
    m["restore_gain_loss_" .. p], m["restore_gain_acc_" .. p] = 0.01, 0.01
  end
  wb.record.write(string.format("%s/runs/task04_early_stopping-%016x.json", dir, seed),
    {hash = string.format("%016x", seed), task = "task04_early_stopping", variant = "base",
     seed = seed, status = "ok", config = {seed = seed, epochs = 6},
     history = {loss = {1, 1, 1, 1, 1, 1}, val_loss = {1, 0.9, 0.8, 0.7, 0.75, 0.8}, epochs = 6},
     metrics = m, measures = m})
end

T.test("a rule firing at the last epoch is no stop before the end", function()
  T.sh("mkdir -p " .. T.quote(dir .. "/runs"))
  put(1, 6, 1) -- fired at epoch 6 of 6
  put(2, 5, 1) -- fired at epoch 5: one epoch cut short
  put(3, 6, 0) -- never fired
  local texts = {}
  local fake = {text = function(_, s) texts[#texts + 1] = s end, section = function() end,
    figure = function() end}
  report(fake, wb.runs.find{dir = dir .. "/runs"})
  local all = table.concat(texts, "\n")
  T.ok(all:find("| patience=2 | 1 of 3 |", 1, true), all)
  T.ok(all:find("| patience=5 | 0 of 3 |", 1, true), all)
end)

T.done()
