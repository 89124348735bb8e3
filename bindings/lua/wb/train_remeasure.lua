-- wb/train_remeasure.lua: measuring a recorded training again (the run's own, after an edit of
-- its measure hook only, or an equal one of another task: "adopted") with the numbers a fresh
-- training would give, or not at all. Part of wb.train (wb/train.lua).
--
-- A re-measure runs no build or callbacks hook and no fit: the measure hook gets the recorded
-- weights, history and callback series. It used to get an empty callbacks list (a callback
-- without a series left no entry), data without the fields the build hook set, and upvalues
-- the build or callbacks hook never filled, and recorded other numbers than a fresh training
-- (an EarlyStopping's stopped_epoch 3 trained, 0 re-measured), cached (tryR 1). Now:
-- - a training records what a re-measure cannot give back (rec.remeasure: the callbacks
--   hook's callbacks by class, the fields its hooks left on data, the globals they set, the
--   model's own fields: model.note, which wb.load's model lacks);
-- - a re-measure is not tried when its measure hook shares an upvalue (a state table, a list)
--   with the build, callbacks or fit_options hook that the training changed (rec.remeasure.
--   changed: the upvalues whose content differed after the training from before the hooks;
--   a constant table both read, as task 4's PATIENCES, does not stop it), or the record is
--   older than rec.remeasure and the experiment has such hooks (what they left is not known),
--   or an upvalue of the measure hook holds a global the training changed (local S = STATS,
--   STATS filled by the build hook: the guard on _G below does not see S),
--   or its hooks set the model's own fields (reading one failed the run: "no field 'note'"),
--   or its hooks read a file the training wrote that is not as it was (rec.remeasure.outputs):
--   the run trains, said;
-- - else the measure hook gets one stand-in per callback, in order (its recorded series), and
--   data and _G without the fields and globals the training left (a build's SCALE = 3 read
--   as nil: -1 re-measured, 3 trained); reading anything the record does not keep
--   (another callback field, such a data field or global, the optimizer) stops it before
--   anything is written, and the run trains instead, said in one line.
local _ENV = require "wb.std"
local wb, util = require "wb", require "wb.util"

local M = {}

local REUSED = "measure: this run reuses a recorded training (its own, measured again, or "
  .. "an equal one of another task)"
local AGAIN = "the training must be run again (set reuse = false in the experiment, or --fresh)"

-- Notes what the re-measure cannot give (ctx.why, the first only: the run trains instead,
-- even when the measure hook caught the error) and raises, naming it, at the hook's read
-- (level: that of the read, seen from trip).
local function trip(ctx, why, msg, level)
  ctx.why = ctx.why or why
  error(string.format("%s, %s: %s", REUSED, msg, AGAIN), level)
end

-- {==================== at training time ====================

-- Callback cb as its record names it: its class, else "Lambda at t.lua:12".
local function class_of(cb)
  return tostring(require("wb.fit_hooks").describe(cb))
end

-- The library's modules and Lua's (package.loaded's values wb/identity_lib.lua names) as a
-- set: code, not state, left out where the training's state is looked for (a user's module is
-- state: its table filled by a hook, wb/train_modules.lua). One scan per look at the globals
-- or upvalues (per value looked at cost globals x modules). A NaN is skipped: never rawequal.
local function modules()
  local set, lib = {}, require "wb.identity_lib"
  for _, m in pairs(package.loaded) do if m == m and lib.name(m) then set[m] = true end end
  return set
end

-- The globals (not modules) by name, their content as text (util.state_text).
local function globals_now()
  local out, is_module = {}, modules()
  for k, v in pairs(_G) do
    if type(k) == "string" and not is_module[v] then out[k] = util.state_text(v) end
  end
  return out
end

-- The globals as the first training of this process found them: as a process re-measuring
-- has them (its build hook does not run), whose global the build hook set (SCALE = 3) read
-- as nil (-1 re-measured where a fresh training measured 3, cached).
local first_globals

-- The names of the globals that differ from first_globals now (set, replaced, filled or
-- removed by the hooks of this training or of an earlier one of this process), as a set.
local function globals_left()
  local now, out = globals_now(), {}
  for k, t in pairs(now) do if first_globals[k] ~= t then out[k] = true end end
  for k in pairs(first_globals) do if now[k] == nil then out[k] = true end end
  return out
end

-- The fields of data table d (the run's copy) before the hooks run (and the globals, the
-- first time).
function M.watch(d)
  first_globals = first_globals or globals_now()
  local w = {}
  for k, v in pairs(d) do w[k] = v end
  return w
end

-- What a re-measure of this training cannot give back, for its record: the callbacks hook's
-- callbacks as described (how many, in order: their class, or "Lambda at t.lua:12") and the
-- fields of data its hooks or callbacks added, replaced or removed (sorted), and the
-- training hooks' upvalues it changed (ups: M.upvalues_before, before the hooks), the globals
-- that differ from the process's first (a set: {} when none, absent in older records), the
-- fields of the user's own on model (model.note = 7: wb.load's model has none; sorted), the
-- user's modules it changed or loaded (wb/train_modules.lua); w: M.watch(d) before the hooks.
function M.left(w, d, extra, ups, model)
  local names, data, own = {}, {}, {}
  local class = getmetatable(model)
  for k in next, type(model) == "table" and model or {} do
    if type(k) == "string" and not k:match("^_") and type(class) == "table"
        and rawget(class, k) == nil and not (class.__fields or {})[k] then
      own[#own + 1] = k
    end
  end
  table.sort(own)
  for i, cb in ipairs(extra) do names[i] = class_of(cb) end
  for k, v in pairs(d) do if not rawequal(w[k], v) then data[#data + 1] = tostring(k) end end
  for k in pairs(w) do if d[k] == nil then data[#data + 1] = tostring(k) end end
  table.sort(data)
  -- data absent when none (a JSON list then, never an empty object: record.lua's LISTS)
  local changed = M.changed(ups or {})
  return {callbacks = names, data = #data > 0 and data or nil,
    changed = #changed > 0 and changed or nil, globals = globals_left(),
    model = #own > 0 and own or nil, modules = require("wb.train_modules").after()}
end

-- }====================

-- {==================== whether to try ====================

local function not_function(v) return type(v) ~= "function" end

-- The upvalues of f and of the Lua functions it closes over (not the library's, not _ENV:
-- its globals are named in its identity) but functions, by upvalueid: {name, value, f, i}
-- (name: its own, as records' remeasure.changed has it, not "helper.k").
local function upvalues(f)
  local out = {}
  for _, u in ipairs(require("wb.state_hooks").walk_upvalues(f, not_function)) do
    out[u.id] = {name = u.base, value = u.value, f = u.f, i = u.i}
  end
  return out
end

local TRAINING = {"build", "callbacks", "fit_options"}
-- (and the measure hook's own, whose content a training may change by any path: local R =
-- {}; local Q = {r = R}, the build hook filling R.scale = 3, Q.r.scale re-measured -1)
local WATCHED = {"build", "callbacks", "fit_options", "measure"}

local digest = util.state_text -- (whether a training changed an upvalue's content)

-- M.upvalues_before(hooks) -> state: the training and measure hooks' upvalues (not functions,
-- modules or _ENV) and their content when this process first saw them (first_seen, by upvalueid: as a
-- fresh process re-measuring has them; a second run of the process starts from the first's
-- leavings); M.changed(state) -> the sorted names of those changed since (reassigned or
-- filled), for rec.remeasure.changed.
local first_seen = {}
function M.upvalues_before(hooks)
  require("wb.train_modules").before()
  local state, is_module = {}, modules()
  for _, h in ipairs(WATCHED) do
    for id, u in pairs(upvalues(hooks[h])) do
      if not is_module[u.value] then
        first_seen[id] = first_seen[id] or digest(u.value)
        state[id] = {name = u.name, f = u.f, i = u.i, was = first_seen[id]}
      end
    end
  end
  return state
end

function M.changed(state)
  local names, seen = {}, {}
  for _, u in pairs(state) do
    local _, now = debug.getupvalue(u.f, u.i)
    if digest(now) ~= u.was and not seen[u.name] then
      seen[u.name] = true
      names[#names + 1] = u.name
    end
  end
  table.sort(names)
  return names
end

-- M.shared(ex) -> list: the upvalues (not functions, whose own are looked at, nor modules)
-- that the measure hook of ex (ex._hooks) shares with a training hook, {name, hook, value}:
-- where that hook may leave state (init.lua's shared.w0: 3.85 trained, 8.66 re-measured).
-- mine: upvalues(measure hook), when the caller has them already.
function M.shared(ex, mine)
  local hooks, out, is_module = ex._hooks or {}, {}, modules()
  mine = mine or upvalues(hooks.measure)
  for _, h in ipairs(TRAINING) do
    for id, u in pairs(upvalues(hooks[h])) do
      if mine[id] and not is_module[u.value] then
        out[#out + 1] = {name = u.name, hook = h, value = u.value}
      end
    end
  end
  return out
end

-- M.look_up(ex) -> look: what refusing a record reads of ex's hooks, gathered once per
-- look-up (wb/train_donor.lua), not once per candidate record: the shared upvalues
-- (M.shared) and the measure hook's. Kept only while no hook runs (a hook may reassign one).
function M.look_up(ex)
  local mine = upvalues((ex._hooks or {}).measure)
  return {shared = M.shared(ex, mine), mine = mine}
end

-- Why the measure hook cannot be run without the training: it shares an upvalue (shared:
-- M.shared's) where the training left state; changed: the names the record says the training
-- changed (nil: not known, an older record).
local function shared_state(shared, changed)
  local left = {}
  for _, name in ipairs(changed or {}) do left[name] = true end
  for _, u in ipairs(shared) do
    if changed == nil or left[u.name] then
      return string.format("its measure hook shares the upvalue '%s' (%s) with the %s hook, "
        .. "%s", u.name, util.show(u.value):sub(1, 40), u.hook, changed and "which the "
        .. "training changed and the record does not keep" or "which may leave state there "
        .. "that the record (older than records saying which upvalues the training changed) "
        .. "does not keep")
    end
  end
end

-- M.refusal(ex, r, look) -> why | nil: why run r's recorded training is not measured again
-- for experiment ex's measure hook (the run trains instead), nil when the re-measure is
-- tried. look: M.look_up(ex), one for all of a look-up's records (nil: looked up now).
function M.refusal(ex, r, look)
  local hooks = ex._hooks or {}
  look = look or M.look_up(ex)
  local why = shared_state(look.shared, r.remeasure and (r.remeasure.changed or {}))
  if why then return why end
  for _, name in ipairs(r.remeasure and r.remeasure.changed or {}) do
    for _, u in pairs(look.mine) do
      if u.name == name then
        return string.format("its measure hook's upvalue '%s' was changed by the training "
          .. "(reassigned or filled, by that name or another), which the record does not keep",
          name)
      end
    end
  end
  for _, o in ipairs(r.remeasure and r.remeasure.outputs or {}) do -- its side files, as read
    if type(o) == "table" and require("wb.identity_reads").file_id(o.path) ~= o.id then
      return string.format("its hooks read %s, which its training wrote, and the file %s "
        .. "since", o.path, wb.sys.exists(o.path) and "changed" or "was removed")
    end
  end
  if r.remeasure and r.remeasure.modules then
    return string.format("the training changed the module '%s' (filled it, or loaded it in a "
      .. "hook), which the record does not keep", table.concat(r.remeasure.modules, "', '"))
  end
  if r.remeasure == nil and (hooks.build or hooks.callbacks
      or type(hooks.fit_options) == "function") then
    -- recorded before rec.remeasure: how many callbacks, which data fields, not known
    return "it was recorded before records said what a re-measure cannot give back (its "
      .. "hooks' callbacks and the fields they left on data)"
  end
  if r.remeasure and r.remeasure.model then -- (reading one failed: "has no field 'note'")
    return string.format("its hooks set the model's own field '%s', which its weights file "
      .. "does not keep", table.concat(r.remeasure.model, "', '"))
  end
  if r.remeasure and r.remeasure.globals == nil and hooks.build then
    return "it was recorded before records said which globals its hooks set (a re-measure "
      .. "runs no build hook)"
  end
  return nil
end

-- }====================

-- {==================== the re-measure ====================

-- A stand-in for callback i (class name) of the recorded training: its series only.
local function stand_in(ctx, i, name, series)
  local function missing(k)
    trip(ctx, string.format("its measure hook read field '%s' of callback %d (%s), which the "
      .. "record does not keep", tostring(k), i, name), string.format("whose callbacks kept "
      .. "only their series; callback %d (%s): field '%s' is not there", i, name,
      tostring(k)), 4)
  end
  return setmetatable({series = series}, {__name = name .. " (recorded series only)",
    __index = function(_, k)
      -- none recorded: it had none (a callback's protocol reads it as nil), nor timed itself
      if k == "series" or k == "seconds" then return nil end
      missing(k)
    end,
    __pairs = function() missing("(all, by pairs)") end})
end

-- The run's data table d as a re-measure gives it: without the fields the training left
-- (left), a read of one stopping the re-measure.
local function guard_data(ctx, d, left)
  if #left == 0 then return end
  local gone = {}
  for _, k in ipairs(left) do gone[k] = true; d[k] = nil end
  local function missing(k)
    trip(ctx, string.format("its measure hook read data.%s, which the training's hooks set "
      .. "and the record does not keep", tostring(k)), string.format("whose hooks set "
      .. "data.%s, which the record does not keep", tostring(k)), 4)
  end
  setmetatable(d, {__index = function(_, k) if gone[k] then missing(k) end end,
    __pairs = function() missing("(all, by pairs)") end})
end

-- _G as a re-measure gives it: without the globals the training left (names, a set), a read
-- of one stopping the re-measure, as a fresh process has them. Returns the function that
-- puts them back (those the measure hook did not set itself).
local function guard_globals(ctx, names)
  local saved, mt = {}, getmetatable(_G)
  if next(names) == nil then return function() end end
  for k in pairs(names) do saved[k] = rawget(_G, k); rawset(_G, k, nil) end
  setmetatable(_G, {__index = function(t, k)
    if names[k] then
      trip(ctx, string.format("its measure hook read the global %s, which the training's hooks "
        .. "set and the record does not keep", tostring(k)), string.format("whose hooks set "
        .. "the global %s, which the record does not keep", tostring(k)), 3)
    end
    local up = mt and mt.__index
    if type(up) == "function" then return up(t, k) elseif up then return up[k] end
  end})
  return function()
    setmetatable(_G, mt)
    for k, v in pairs(saved) do if rawget(_G, k) == nil then rawset(_G, k, v) end end
  end
end

-- ... and whose optimizer was not kept: a stand-in for model.optimizer (it was nil, and a
-- measure reading it failed with "attempt to index a nil value", or, guarded, recorded
-- another number than a fresh run's: tryI 2)
local function no_optimizer(ctx)
  return setmetatable({}, {__name = "wb.Optimizer (not kept)",
    __index = function(_, k)
      trip(ctx, string.format("its measure hook read model.optimizer.%s, which the record "
        .. "does not keep", tostring(k)), string.format("whose optimizer was not kept: "
        .. "model.optimizer.%s is not there (the history argument has each epoch's lr)",
        tostring(k)), 3)
    end,
    __tostring = function() return "the optimizer of a reused training (not kept)" end})
end

-- M.adopt(ex, spec, donor, d, model, t) -> record, model | nil, why: run spec measured on
-- donor's recorded training (model: its weights, loaded); nil and why when the measure hook
-- read what the record does not keep (nothing written: the run trains). t: train.lua's
-- new_record, retire and finish(ex, spec, rec, model, hist, extra, d, t0, ctx).
function M.adopt(ex, spec, donor, d, model, t)
  local t0, ctx = util.now(), {}
  local kept = donor.remeasure or {}
  local extra, series = {}, donor.callback_series or {}
  for i, name in ipairs(kept.callbacks or {}) do extra[i] = stand_in(ctx, i, name, series[i]) end
  if kept.callbacks == nil then -- recorded before rec.remeasure, no callbacks hook
    for i, s in ipairs(series) do extra[i] = stand_in(ctx, i, "a callback", s) end
  end
  guard_data(ctx, d, kept.data or {})
  spec.fit_options_used = donor.fit_options
  local rec = t.new_record(ex, spec, "ok", donor.history)
  rec.reused_from = donor.task .. "-" .. donor.hash
  rec.remeasure = donor.remeasure
  rec.best_weights = donor.best_weights -- the donor's file, in the same folder
  rec.read_files = donor.read_files -- its training's reads are this run's
  rec.concurrent_jobs, rec.cores = donor.concurrent_jobs, donor.cores -- its timings' too
  rec.blas_core = donor.blas_core -- and the kernel its history was computed with
  rec.train_data = donor.train_data -- the rows it trained on: its hooks are this run's
  rec.init_id = donor.init_id -- the weights it started from
  if rec.reused_from ~= ex.name .. "-" .. spec.hash then t.retire(ex, spec) end
  -- the measure hook gets what a fresh training gives it: the history as a
  -- History, on the model too (model.history was nil: tryI 2)
  local h = require("wb.history").new()
  for k, v in pairs(donor.history or {}) do rawset(h, k, v) end
  rawset(model, "history", h)
  rawset(model, "optimizer", no_optimizer(ctx))
  local restore = guard_globals(ctx, kept.globals or {})
  local ok, r, m = pcall(t.finish, ex, spec, rec, model, h, extra, d, t0, ctx)
  restore()
  if ctx.why then return nil, ctx.why end -- before a record or weights file was written
  if not ok then error(r, 0) end
  return r, m
end

-- }====================

return M
