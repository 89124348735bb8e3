-- wb/runs_direction.lua: which way of a metric is better when wb.compare is
-- not told (opts.better), from what the library itself knows of the name and
-- nothing else. wb.compare once took "lower is better" for every name but an
-- accuracy's: a measure of one's own (w1_norm, a val/train loss ratio) got
-- "Better beyond the seeds' uncertainty" in a task's README, a direction
-- nobody chose (tryZ E3). A name not known here has none (nil): wb.compare
-- ranks it from the lowest and calls nothing better. Private to
-- wb/compare.lua; named runs_ as that is a module that only presents runs
-- (wb/identity_code.lua): editing it retrains nothing.
local _ENV = require "wb.std"

local M = {}

-- The final metrics the training loop records (wb/run.lua FINAL_METRICS)
-- whose better side is unambiguous. Left out on purpose: epochs_run,
-- best_epoch and weights_epoch (how long a run trained, where early
-- stopping stopped: no goal by itself), gap and acc_gap (train against
-- validation: a smaller one is no better model by itself).
local KNOWN = {
  -- the losses fit minimises, on each split; best_val_loss: its lowest epoch's
  loss = "lower", val_loss = "lower", test_loss = "lower", best_val_loss = "lower",
  -- the clock's: the same training in fewer seconds costs less
  train_seconds = "lower", sec_per_epoch = "lower",
}

-- "higher", "lower" or nil (the library does not know) for metric's name.
function M.of(metric)
  -- accuracies: what EarlyStopping's mode "auto" takes as one (a name ending
  -- in acc or accuracy), and silenced_N (wb.measures.silenced_accuracy with N %
  -- of the units silenced, as the tables show it in percent); not any
  -- silenced_*: a measure silenced_loss came out "higher is better" (tryAB A1)
  if require("wb.callbacks")._wants_max(metric) or metric:find("^silenced_%d+$") then
    return "higher"
  end
  -- epochs, steps, examples or seconds to a target: sooner is better, and
  -- wb.compare counts a target never reached as slower than any number
  if metric:find("_to_target$") then return "lower" end
  return KNOWN[metric]
end

return M
