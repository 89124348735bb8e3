-- wb/state_given.lua: what a resume is given against what its state was
-- saved with, outside the fit options wb/state_fit.lua compares: the
-- optimizer's hyper-parameters and the BLAS kernel and thread count the
-- fit computed with. Private to wb/state.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local M = {}

-- The BLAS the fit computes with, for its record (wb/fit_args.lua): another
-- kernel (OPENBLAS_CORETYPE, another CPU) or another thread count sums in
-- another order, so a resume with either is not bit for bit (tryW 1).
function M.blas()
  return wb.sys.blas_core(), wb.sys.blas_threads()
end

-- A resume computing with another BLAS kernel or thread count than the
-- saved fit did is refused before anything is restored: its epochs would
-- come from two (the runner trains such a run from scratch,
-- wb/train_resume.lua). A state saved before its record kept them (nil)
-- is not checked.
function M.check_blas(path, saved, now)
  local core, threads = saved.blas_core, saved.blas_threads
  if type(threads) == "number" then threads = math.tointeger(threads) or threads end
  if (core == nil or core == now.blas_core) and (threads == nil or threads == now.blas_threads)
  then return end
  local set = {}
  if core ~= nil then set[#set + 1] = "OPENBLAS_CORETYPE=" .. tostring(core) end
  if threads ~= nil then set[#set + 1] = "OPENBLAS_NUM_THREADS=" .. tostring(threads) end
  local function on(n) return tostring(n) .. (n == 1 and " thread" or " threads") end
  error(string.format("fit: resume: %s was saved with OpenBLAS's %s kernel on %s, this "
    .. "process has %s on %s: another kernel or thread count sums in another order, so the "
    .. "resumed epochs would not be the uninterrupted run's; set %s to resume it bit for bit "
    .. "(the thread count also by wb.sys.set_blas_threads before fit)", path,
    tostring(core or now.blas_core), on(threads or now.blas_threads), now.blas_core,
    on(now.blas_threads), table.concat(set, " ")), 0)
end

-- An optimizer given to a resumed fit must have the saved hyper-parameters:
-- with another lr or momentum the resumed run is not the one saved (a
-- callback such as ReduceLROnPlateau may have changed the lr during
-- training; the file has the lr it had then: the only value a callback can
-- change, the others read-only, so only lr's refusal says so: tryN 6). The
-- original script's optimizer is taken for the saved one, said: its lr is
-- the one the saved fit started with (start_lr, kept in its record: a
-- schedule acting in epoch 1 already, tryW 2) or, for a state saved before
-- that was kept, its first epoch's (first_lr, tryS F3); the fit goes on at
-- the saved lr.
function M.check_config(path, opt, saved, first_lr, start_lr)
  local cfg = opt:config()
  local keys = {}
  for k in pairs(saved) do keys[#keys + 1] = k end
  table.sort(keys)
  local original = first_lr ~= nil and cfg.lr == first_lr and "the saved fit's first epoch's"
    or start_lr ~= nil and cfg.lr == start_lr and "the one the saved fit started with"
  if saved.lr ~= cfg.lr and original then
    for _, k in ipairs(keys) do
      if k ~= "name" and k ~= "lr" and saved[k] ~= cfg[k] then original = nil end
    end
    if original then
      opt.lr = saved.lr
      io.stderr:write(string.format("fit: resume: the optimizer given has lr = %s, %s; %s "
        .. "was saved at lr = %s (a callback changed it): it goes on with that\n",
        tostring(cfg.lr), original, path, tostring(saved.lr)))
      cfg = opt:config()
    end
  end
  for _, k in ipairs(keys) do
    local a, b = saved[k], cfg[k]
    if k ~= "name" and a ~= b then
      local also = {}
      if k == "lr" and start_lr then
        also[1] = "the one the saved fit started with, " .. tostring(start_lr)
      end
      if k == "lr" and first_lr and first_lr ~= start_lr then
        also[#also + 1] = "its first epoch's, " .. tostring(first_lr)
      end
      also = #also > 0 and " (lr: or " .. table.concat(also, ", or ") .. ")" or ""
      error(string.format("fit: resume: %s was saved with %s = %s%s, the optimizer given "
        .. "has %s = %s: leave optimizer out to go on with the saved one, or give the same "
        .. "values%s", path, k, tostring(a), k == "lr" and " (the value at the save: a "
        .. "callback may have changed it)" or "", k, tostring(b), also), 0)
    end
  end
end

return M
