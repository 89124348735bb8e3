-- scripts/study/patience.lua: early stopping read off the 20-epoch runs
-- (tasks 3 and 4): the callbacks hook that runs the Keras rule of each
-- patience beside a run, and its measure hook. The task scripts reach these
-- as S.patience_track etc. (study/init.lua).
local wb = require "wb"

local M = {}

-- The patiences of task 4's sweep, and the length of the runs they read.
M.PATIENCES = {2, 5, 10}
M.LONG_EPOCHS = 20

local PATIENCES = M.PATIENCES
---S.patience_track(cfg, model, data) -> table
---The callbacks hook of tasks 3 and 4: beside the run, the early-stopping
---rule of each patience in S.PATIENCES (wb.callbacks.EarlyStopping on
---val_loss, restoring the best weights) decides where it would stop, and
---there (or at the last epoch, when it never fires) the last and the best
---weights are evaluated on the test set; the run itself is not stopped.
---With the same seed an early-stopped run is bit-identical to the first
---epochs of a longer one, so this reads task 4's runs off task 3's at no
---training cost. Series: stopped_epoch_P, best_epoch_P, stopped_P (1 when
---the rule fired), test_loss_P / test_accuracy_P (restored weights) and
---last_test_loss_P / last_test_accuracy_P, for each patience P.
---Example: experiment = S.experiment{base = {epochs = 20}, callbacks = S.patience_track}
function M.patience_track(_, _, d)
  local cb, rules, done = {series = {}}, {}, {}
  function cb:on_train_begin(model)
    self.model = model
    for i, p in ipairs(PATIENCES) do
      rules[i] = wb.callbacks.EarlyStopping{patience = p, restore_best_weights = true}
      rules[i]:on_train_begin(model)
    end
  end
  local function read(self, i, epoch, fired)
    local m, p, s = self.model, PATIENCES[i], self.series
    local last = m:evaluate(d.test)
    local now = m:get_weights()
    m:set_weights(rules[i].best_weights)
    local best = m:evaluate(d.test)
    m:set_weights(now)
    s["stopped_epoch_" .. p], s["best_epoch_" .. p] = epoch, rules[i].best_epoch
    s["stopped_" .. p] = fired and 1 or 0
    s["test_loss_" .. p], s["test_accuracy_" .. p] = best.loss, best.accuracy
    s["last_test_loss_" .. p], s["last_test_accuracy_" .. p] = last.loss, last.accuracy
    done[i] = true
  end
  function cb:on_epoch_end(epoch, logs)
    local m = self.model
    local h = m.history
    -- the rules write the stop and best epoch into the history and ask to
    -- stop: both are put back, this run goes on
    local keep = {m.stop_training, h and h.best_epoch, h and h.stopped_epoch}
    for i, rule in ipairs(rules) do
      if not done[i] then
        m.stop_training = false
        rule:on_epoch_end(epoch, logs)
        if m.stop_training then read(self, i, epoch, true) end
      end
    end
    m.stop_training = keep[1]
    if h then h.best_epoch, h.stopped_epoch = keep[2], keep[3] end
    self.epoch = epoch
  end
  function cb:on_train_end()
    for i in ipairs(rules) do
      if not done[i] then read(self, i, self.epoch, false) end
    end
  end
  -- each rule's counters and best weights, which rules fired and what was
  -- read there: without them a run interrupted and resumed (the runner's
  -- saved state) restarted from epoch 1 ("has no get_state")
  function cb:get_state()
    local st = {series = self.series, epoch = self.epoch, rules = {}, done = {}}
    for i, rule in ipairs(rules) do st.rules[i], st.done[i] = rule:get_state(), done[i] == true end
    return st
  end
  function cb:set_state(st) -- after on_train_begin, which made the rules
    self.series, self.epoch = st.series, st.epoch
    for i, rule in ipairs(rules) do rule:set_state(st.rules[i]); done[i] = st.done[i] end
  end
  return {cb}
end

---S.patience_measure(model, cfg, data, history, callbacks) -> table
---The measure hook of tasks 3 and 4: S.patience_track's series, plus per
---patience P restore_gain_loss_P (last minus restored test loss) and
---restore_gain_acc_P (restored minus last test accuracy).
---Example: experiment = S.experiment{callbacks = S.patience_track, measure = S.patience_measure}
function M.patience_measure(_, _, _, _, cbs)
  local m = {}
  for k, v in pairs(cbs[1].series) do m[k] = v end
  for _, p in ipairs(PATIENCES) do
    if m["test_loss_" .. p] then
      m["restore_gain_loss_" .. p] = m["last_test_loss_" .. p] - m["test_loss_" .. p]
      m["restore_gain_acc_" .. p] = m["test_accuracy_" .. p] - m["last_test_accuracy_" .. p]
    end
  end
  return m
end

return M
