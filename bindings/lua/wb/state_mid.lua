-- wb/state_mid.lua: a training state saved inside an epoch
-- (ModelCheckpoint{save_state, save_freq = k}): where the epoch is and its
-- sums so far, and what such a state cannot hold (the instruments' per-step
-- state). Private to wb/state.lua and wb/callbacks_save.lua.
local _ENV = require "wb.std"
local M = {}

local MID_KEYS = {"epoch", "step", "loss_sum", "data_sum", "reg_sum", "correct", "seen",
  "epoch_lr"}

local function has_instruments(cbs)
  for _, cb in ipairs(cbs or {}) do
    local mt = getmetatable(cb)
    if mt and mt.__name == "wb.instruments" then return true end
  end
end

-- The JSON part of a mid-epoch state (the permutation is a tensor):
-- where the epoch is and its sums so far, so that its logs come out as
-- the uninterrupted epoch's. Instruments keep per-step state that is not
-- saved there: refused.
function M.mid_state(mid, cbs)
  if has_instruments(cbs) then
    error("save_state: a state inside an epoch (ModelCheckpoint{save_freq = k}) cannot "
      .. "hold the fit's instruments: save at epoch ends", 0)
  end
  local out = {}
  for _, k in ipairs(MID_KEYS) do out[k] = mid[k] end
  return out
end

-- ModelCheckpoint cb at its on_train_begin, cbs fit's callbacks: with
-- save_state and save_freq, instruments are refused there, before any step
-- (mid_state refused them at the first save, save_freq steps in).
function M.check_mid(cb, cbs)
  if not (cb.save_state and cb.save_freq and has_instruments(cbs)) then return end
  error(string.format("ModelCheckpoint: save_state with save_freq = %d saves inside an "
    .. "epoch, where a state cannot hold the fit's instruments: save at epoch ends (without "
    .. "save_freq), or fit without instruments", cb.save_freq), 0)
end

-- The mid-epoch state of a file (nil when saved at an epoch's end),
-- checked: fit must reach that epoch.
function M.mid_resume(path, st, perm, epochs)
  if type(st) ~= "table" then return nil end
  local mid = {perm = perm}
  for _, k in ipairs(MID_KEYS) do
    local v = st[k]
    if type(v) ~= "number" or not perm then
      error("fit: resume: " .. path .. ": bad mid-epoch state (" .. k .. ")", 0)
    end
    mid[k] = (k == "loss_sum" or k == "data_sum" or k == "reg_sum" or k == "epoch_lr") and v
      or math.tointeger(v)
  end
  if epochs and epochs < mid.epoch then
    error(string.format("fit: epochs = %d is below epoch %d, which %s was saved inside: "
      .. "epochs is the number of the last epoch (Keras)", epochs, mid.epoch, path), 0)
  end
  return mid
end

return M
