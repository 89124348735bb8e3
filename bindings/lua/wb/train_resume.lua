-- wb/train_resume.lua: resuming a killed run (wb/train.lua). After every epoch the run's
-- full training state is written beside its record (<task>-<hash>.state.safetensors),
-- tagged; training that run again resumes from it only when the tag is this training's:
-- its task and hash, and the files and environment variables its hooks had read before
-- fit began, as they are now (wb/identity_reads.lua). The hash alone does not say those: a
-- run retrained because a file its build hook read changed resumed the training made with
-- the file as it was, and recorded the new one. A run whose hooks cannot be identified
-- (its hash does not cover their code) is never resumed. Private to wb/train.lua.
local _ENV = require "wb.std"
local wb, cjson, util = require "wb", require "cjson", require "wb.util"
local record = require "wb.record"
local reads = require "wb.identity_reads"

local M = {}

-- Whether the run can be resumed: every callback keeps its state, no
-- instruments, and fit's options are the runner's own.
local function resumable(fit_opts, callbacks, extra, opt)
  if fit_opts.instruments or fit_opts.resume or fit_opts.callbacks ~= callbacks
      or fit_opts.optimizer ~= opt then
    return false
  end
  for _, cb in ipairs(extra) do
    if type(cb.get_state) ~= "function" or type(cb.set_state) ~= "function" then
      return false
    end
  end
  return true
end

-- M.from(ex, spec, fit_opts, callbacks, extra, opt, tracker) -> integer|nil
-- Sets fit_opts up to save the state after every epoch and, when this run's state file is
-- there with this training's tag, to resume from it; returns the epoch resumed after (nil
-- when training starts afresh). tracker: the run's reads (wb/identity_reads.lua) so far.
function M.from(ex, spec, fit_opts, callbacks, extra, opt, tracker)
  if not spec.cacheable or not resumable(fit_opts, callbacks, extra, opt) then return nil end
  local path = record.path(ex.root, ex.name, spec.hash, "state.safetensors")
  local tag = ex.name .. "-" .. spec.hash
  local so_far = tracker and reads.so_far(tracker) or {}
  if #so_far > 0 then tag = tag .. "+reads:" .. util.fnv1a64(util.canonical(so_far)) end
  callbacks[#callbacks + 1] = wb.callbacks.ModelCheckpoint{path, save_state = true, tag = tag}
  if not wb.sys.exists(path) then return nil end
  local ok, epoch = pcall(function()
    local _, meta = wb.io.load_safetensors(path)
    if meta["workbench.tag"] ~= tag then
      error("its tag: " .. tostring(meta["workbench.tag"]), 0)
    end
    return math.tointeger(cjson.decode(meta["workbench.state"]).epoch)
  end)
  if not ok or not epoch then
    io.stderr:write(string.format("warning: %s is not a training state of run %s (%s); "
      .. "training from scratch\n", path, tag, tostring(epoch)))
    os.remove(path)
    return nil
  end
  -- the optimizer comes from the file: its lr may have been changed by a callback
  fit_opts.resume, fit_opts.optimizer = path, nil
  return epoch
end

return M
