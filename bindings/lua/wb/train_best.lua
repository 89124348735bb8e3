-- wb/train_best.lua: the best epoch's weights of a run, saved beside its
-- final ones as <name>.best.safetensors when the last epoch was not it.
-- Private to wb/train.lua.
--
-- "Best" is the epoch the run's record names (history.best_epoch): the
-- lowest validation loss, or, with early_stopping, the epoch its
-- EarlyStopping took as best (its monitor, min_delta, start_from_epoch).
-- The keeper used to keep the lowest validation loss's alone: with
-- min_delta = 0.05 a record said best epoch 7 while run:model("best")
-- gave the weights of epoch 8 (the last: no .best file was written).
local _ENV = require "wb.std"
local util = require "wb.util"

local M = {}

-- The provenance a run's weight files carry in their metadata (model:save's
-- metadata option; strings, as safetensors keeps them), so that a file apart
-- from its record still says whose weights it holds: workbench.task, .hash,
-- .variant, .seed, .git_commit and .git_uncommitted (the record's: the
-- commit, how many files differed from it; absent outside git),
-- .reused_from (an adopted run: the training it copies), .weights ("final"
-- or "best") and .epoch (the epoch whose end the weights are from; absent
-- when an on_train_end hook set weights of no epoch: history.weights_changed_by).
function M.provenance(ex, spec, rec, which, epoch)
  local function str(v) return v ~= nil and tostring(math.tointeger(v) or v) or nil end
  return {["workbench.task"] = ex.name, ["workbench.hash"] = spec.hash,
    ["workbench.variant"] = str(spec.variant), ["workbench.seed"] = str(spec.seed),
    ["workbench.git_commit"] = util.git_commit(),
    ["workbench.git_uncommitted"] = str(util.git_uncommitted()),
    ["workbench.reused_from"] = rec.reused_from, ["workbench.weights"] = which,
    ["workbench.epoch"] = str(epoch)}
end

-- Copies the model's parameters into slot (a list of tensors, reused).
local function keep(model, slot)
  for i, p in ipairs(model:parameters()) do
    if slot[i] then slot[i]:copy(p) else slot[i] = p:clone() end
  end
end

-- The keeper, a callback; es: the run's EarlyStopping (nil: none), which it
-- follows, so it must come after es in fit's callbacks.
function M.keeper(es)
  local k = {best = math.huge, saved = {}, epoch = {}}
  require("wb.state_fit").still[k] = true -- copies the weights, never moves them
  function k:on_train_begin(model) self.model = model end
  function k:on_epoch_begin(epoch) self.last = epoch end
  function k:on_epoch_end(epoch, logs)
    if logs.val_loss and logs.val_loss < self.best then -- fit's own best epoch
      keep(self.model, self.saved)
      self.best, self.epoch.lowest = logs.val_loss, epoch
    end
    if es and es.best_epoch == epoch then
      self.saved_es = self.saved_es or {}
      keep(self.model, self.saved_es)
      self.epoch.es = epoch
    end
  end
  -- a resumed run keeps the best weights seen before it was killed
  function k:get_state()
    return {best = self.best, saved = self.saved, saved_es = self.saved_es,
      epoch = self.epoch, last = self.last}
  end
  function k:set_state(st)
    self.best, self.saved, self.saved_es = st.best, st.saved, st.saved_es
    self.epoch, self.last = st.epoch, st.last
  end
  -- Saves the weights of epoch best (the history's best_epoch) next to
  -- final_path; returns the file's name, or nil when there is none to save
  -- (the final weights are best's: the history's weights_epoch, the last
  -- epoch or the one restore_best_weights restored; no validation); meta:
  -- its provenance (M.provenance), its epoch set here. An
  -- on_train_end hook that set weights of no epoch (weights_epoch nil):
  -- saved even when the last epoch was the best.
  function k:save(model, final_path, best, weights_epoch, meta)
    local slot = best and (self.epoch.es == best and self.saved_es
      or self.epoch.lowest == best and self.saved)
    if not slot or best == weights_epoch then return nil end
    local ps, final = model:parameters(), {}
    for i, p in ipairs(ps) do final[i] = p:clone(); p:copy(slot[i]) end
    local path = final_path:gsub("%.safetensors$", ".best.safetensors")
    meta["workbench.weights"], meta["workbench.epoch"] = "best", tostring(best)
    local ok, err = pcall(model.save, model, path, {metadata = meta})
    for i, p in ipairs(ps) do p:copy(final[i]) end
    if not ok then error(err, 0) end
    return util.basename(path)
  end
  return k
end

return M
