-- wb/state_end.lua: the one moment model:save_state writes after fit: the
-- end of its last epoch, before the on_train_end hooks ran. wb/state_fit.lua's
-- train_end keeps the weights and the RNG of that moment; this file keeps the
-- rest: the optimizer (its hyper-parameters and step count always, no tensor;
-- copies of its moments only when a hook that may change them runs: a
-- callback with on_train_end that is not one of state_fit's leaves_weights,
-- at the fit's end, never in a step), model.stop_training, the number of
-- rows of history's logs, and the values the user's hooks keep in their
-- closures (wb/state_hooks.lua). An on_train_end hook that set the lr
-- (opt.lr = 0.5), reset the optimizer (opt:reset(), opt:set_state) or asked
-- for a stop changed nothing the uninterrupted run's next epoch saw: the
-- state was written with them, and a resumed run went on at lr 0.5 or from
-- fresh moments (audit H 2). A reset such a hook made is recorded in
-- history.optimizer_resets (step: the fit's last; epoch: its last), in the
-- fit's history, not the state's (the uninterrupted run made it later).
-- A change made after fit returned (opt.lr = 0.01, opt:reset(),
-- m.optimizer = another, m.stop_training = true) wins, as weights set after
-- fit do: seen by the optimizer object, its step count and hyper-parameters
-- against those the hooks left. Private to wb/state_fit.lua and wb/state.lua.
local _ENV = require "wb.std"
local json = require("wb.arch").exact_json
local hooks = require "wb.state_hooks"
local M = {}

local LOGS = {"lr_changes", "optimizer_resets"} -- fit's logs (wb/history_guard.lua)

-- A log's rows (fit's logs are tables of columns: {step = {...}, epoch =
-- {...}}): how many, and the last one's step.
local function rows(t)
  local steps = type(t) == "table" and t.step or {}
  return #steps, steps[#steps]
end

-- A copy of log t with its first n rows only.
local function first_rows(t, n)
  local out = {}
  for col, list in pairs(t) do out[col] = table.move(list, 1, n, 1, {}) end
  return out
end

local function wb_optimizer(opt)
  return type(opt) == "userdata" and math.type(opt.iterations) == "integer"
end

-- before(model, cbs, copy_moments) -> snapshot: before the on_train_end
-- hooks (cbs: fit's callbacks); copy_moments when a hook may change them.
function M.before(model, cbs, copy_moments)
  local h = model.history
  local snap = {stopped = model.stop_training == true, rows = {}, hooks = hooks.snapshot(cbs,
    require("wb.fit_args").loss_of(rawget(model, "_fit_record")))}
  for _, k in ipairs(LOGS) do snap.rows[k] = rows(rawget(h, k)) end
  local opt = rawget(model, "optimizer")
  if wb_optimizer(opt) then
    snap.opt = {obj = opt, config = opt:config(), iterations = opt.iterations,
      state = copy_moments and opt:state() or nil} -- opt:state() copies
  end
  return snap
end

-- after(model, snap): after the hooks: records a reset they made of the
-- fit's optimizer (one row; none when a hook of the last on_epoch_end reset
-- it already, after the same last step) and what they left.
function M.after(model, snap)
  local opt, o, h = rawget(model, "optimizer"), snap.opt, model.history
  if o and rawequal(opt, o.obj) and opt.iterations ~= o.iterations then
    local step = rawget(model, "_fit_step") or 0
    local _, last = rows(rawget(h, "optimizer_resets"))
    if last ~= step then
      require("wb.history_guard").append(h, "optimizer_resets", {step = step,
        epoch = require("wb.history")._last_epoch(h)})
    end
  end
  snap.left = {opt = opt, stopped = model.stop_training == true,
    iterations = wb_optimizer(opt) and opt.iterations or nil,
    config = wb_optimizer(opt) and json(opt:config()) or nil}
end

-- What save_state writes of the moment (fin: model._fit_end, fit's; during
-- an on_train_end hook, fin.during): {config, iterations, state
-- (opt:state()'s form), of the optimizer the last epoch ended with, stopped,
-- history, hooks}; nil fields: the model's now (a save inside fit, or a
-- change made after it).
function M.at_save(model, fin)
  local snap, opt = fin and fin.snap, rawget(model, "optimizer")
  local out = {stopped = model.stop_training == true, history = model.history}
  if not snap then return out end
  out.hooks = snap.hooks
  local left = snap.left or {opt = opt, stopped = out.stopped} -- during: as the hooks leave it
  if out.stopped == left.stopped then out.stopped = snap.stopped end
  local o = snap.opt
  if o and rawequal(opt, left.opt) and (fin.during or (opt.iterations == left.iterations
    and json(opt:config()) == left.config)) then
    out.config, out.iterations = o.config, o.iterations
    out.state = o.state or o.obj:state() -- no copy: no hook could change it
  end
  local h, cut = model.history, nil
  for _, k in ipairs(LOGS) do
    local t = rawget(h, k)
    local n = snap.rows[k]
    if rows(t) > n then
      cut = cut or {}
      cut[k] = n > 0 and first_rows(t, n) or false -- false: the history had none
    end
  end
  if cut then -- a copy without the rows the hooks added
    local copy = {}
    for k, v in pairs(h) do copy[k] = v end
    for k, t in pairs(cut) do copy[k] = t or nil end
    out.history = copy
  end
  return out
end

-- workbench.state's weights_of, when save_state writes the weights the
-- last epoch ended with where fit left others in the model (EarlyStopping's
-- restore_best_weights, an on_train_end hook): {epoch = the last, left =
-- history.weights_epoch (nil: of no epoch), by = weights_changed_by}.
-- wb.load and load_weights of the file say so (M.note).
function M.weights_of(h)
  return {epoch = require("wb.history")._last_epoch(h), left = rawget(h, "weights_epoch"),
    by = rawget(h, "weights_changed_by")}
end

-- The line wb.load / load_weights (fname) of state file path writes on
-- stderr when its weights are not those fit left in the model (meta: the
-- file's metadata), else nil.
function M.note(fname, path, meta)
  local ok, st = pcall(require("cjson").decode, meta["workbench.state"] or "")
  local w = ok and type(st) == "table" and st.weights_of
  if type(w) ~= "table" or type(w.epoch) ~= "number" then return nil end
  local left = type(w.left) == "number" and string.format("epoch %d's", w.left)
    or type(w.by) == "string" and ("those set by " .. w.by) or "others"
  return string.format("%s: %s is a training state: its weights are those epoch %d ended "
    .. "with (a resume goes on from them), not %s, which fit left in the model (model:save "
    .. "writes those)\n", fname, path, w.epoch, left)
end

return M
