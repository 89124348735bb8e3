-- wb/state_hooks.lua: the values the user's hooks keep in their closures,
-- in a training state (model:save_state, metadata workbench.hooks) and
-- compared on resume (fit{resume = path}; wb/state.lua). A hook without
-- get_state that counts in a local it closes over (k = k + 1, the lr from k)
-- or in its table's field (self.n) has that count in no state file: the
-- resumed fit's new closure began at k = 0 where the uninterrupted run's
-- went on from 40, and its history differed without a word (audit H 3).
--
-- Kept, for each of fit's callbacks without get_state that has a hook
-- function of the user's (not the library's: wb's own callbacks keep their
-- state through get_state; a Lambda's hook is the function given to it) or
-- holds a function of the user's in a field (LearningRateScheduler's
-- schedule, a helper): the
-- numbers, strings and booleans among the upvalues of its hooks and those
-- functions (_ENV aside) and of the user's functions they close over (two
-- levels down: a helper a hook calls), once each, and, when it has such a
-- hook, the same among its own fields (the
-- table's, not its class's; seconds aside: the cost an experiment's
-- callback sums, a clock's). On resume the j-th such callback of the fit is
-- compared with the j-th saved: a value both have that differs is refused
-- before anything is restored, naming the callback, the hook, the name and
-- both values. A library callback's function of the user's (the schedule)
-- is compared by its identity too, tables it closes over by content (M.identity).
-- Not compared: the content of tables a hook closes over (a count in a table
-- upvalue, {k = 0}, is not walked), functions of the library or C, a
-- library callback's own fields (its settings: LearningRateScheduler's
-- verbose), a callback
-- added or dropped at the resume beyond the saved ones (paired in order), a
-- name one side lacks (the code changed). A value that differs while
-- training does not (a start time a hook prints from) is refused as well:
-- such a value can live in a table.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local M = {}

local function library(f)
  local info = debug.getinfo(f, "S")
  return info.what == "C" or info.source:sub(1, #wb.luadir + 2) == "@" .. wb.luadir .. "/"
end

local function scalar(v)
  local t = type(v)
  return t == "number" or t == "string" or t == "boolean"
end

-- M.walk_upvalues(f, keep, levels, seen) -> list: the upvalues of f, a function of the user's
-- (none of the library's or C), and of the user's functions it closes over (to `levels`
-- functions deep, f the first; nil: all), _ENV aside (its globals are named in a hook's
-- identity), each once by upvalueid, whose value keep(v) accepts: {name = "k" or
-- "helper.k", base = "k", value, id, f, i (debug.getupvalue(f, i) reads it again)}, in walk
-- order;
-- seen: the upvalues (by id) and functions already walked (shared by several calls).
-- The one walk of a hook's closures: a resume's comparison keeps scalars (below), a
-- re-measure's refusal keeps what a training may leave state in (wb/train_remeasure.lua).
function M.walk_upvalues(f, keep, levels, seen)
  local out = {}
  local function walk(fn, prefix, depth)
    if type(fn) ~= "function" or seen[fn] or library(fn) then return end
    seen[fn] = true
    for i = 1, math.huge do
      local name, v = debug.getupvalue(fn, i)
      if not name then return end
      local id = debug.upvalueid(fn, i)
      if name ~= "_ENV" and not seen[id] then
        seen[id] = true
        if keep(v) then
          out[#out + 1] = {name = prefix .. name, base = name, value = v, id = id, f = fn, i = i}
        end
        if levels == nil or depth < levels then walk(v, prefix .. name .. ".", depth + 1) end
      end
    end
  end
  seen = seen or {}
  walk(f, "", 1)
  return out
end

-- Appends the scalar upvalues of f, a function of the user's, and of the
-- user's functions it closes over (two levels down) to out ({hook, name =
-- "upvalue k" or "upvalue helper.k", value}); seen: as M.walk_upvalues's.
local function upvalues(f, hook, out, seen)
  for _, u in ipairs(M.walk_upvalues(f, scalar, 3, seen)) do
    out[#out + 1] = {hook = hook, name = "upvalue " .. u.name, value = u.value}
  end
end

-- The hooks of cb that are the user's functions: {{hook name, function}};
-- none for a callback with get_state (it keeps its state itself). Then the
-- user's functions cb holds in its own fields (LearningRateScheduler's
-- schedule, a helper of a callback table): a schedule counting its calls
-- in a local went on from 0 after a resume, its lr another than the
-- uninterrupted run's, without a word (audit Z10). The second result: how
-- many of them are hooks (none: a library callback holding a user's
-- function, whose own fields are its settings, not the user's state).
local function user_hooks(cb)
  local out = {}
  if type(cb) ~= "table" or type(cb.get_state) == "function" then return out, 0 end
  local cbs = require "wb.callbacks"
  local is_hook = {}
  for _, hook in ipairs(cbs._HOOKS) do
    is_hook[hook] = true
    local f = cb[hook]
    if type(f) == "function" then
      f = cbs._wrapped[f] or f
      if not library(f) then out[#out + 1] = {hook, f} end
    end
  end
  local hooks = #out
  for _, k in ipairs(util.sorted_keys(cb)) do
    local f = cb[k] -- (a library callback keeps its fields behind __index and __pairs)
    if type(k) == "string" and not is_hook[k] and type(f) == "function" and not library(f)
    then
      out[#out + 1] = {k, f}
    end
  end
  return out, hooks
end

-- The identity of a function of the user's a library callback holds (wb/identity.lua: its
-- code and what it closes over, tables by content), 16 hex digits; nil and why when it
-- cannot be identified (it closes over a tensor, the model). A schedule counting its calls
-- in a table it closes over ({n = 0}) has no scalar upvalue to compare: its identity at the
-- save differs from the resumed fit's (tryN 3: the runner resumes such a callback's runs).
local IDENTITY = "its code and the values it closes over (tables by content)"
function M.identity(f)
  local ok, text, why = pcall(require("wb.identity")._value_text, f) -- (save_state must not fail)
  if not ok or not text then return nil, ok and why or tostring(text) end
  return util.fnv1a64(text)
end

-- M.resumable(cb) -> true | false, why: whether cb, a callback without get_state, keeps no
-- state but what the user's functions in its fields close over, all of which a resume
-- compares (its class's __stateless: LearningRateScheduler), so that a resume is exact or
-- refused. For the runner (wb/train_resume.lua), which resumes a run only then.
function M.resumable(cb)
  local mt = getmetatable(cb)
  if type(mt) ~= "table" or rawget(mt, "__stateless") ~= true then return false end
  for _, hf in ipairs((user_hooks(cb))) do
    local id, why = M.identity(hf[2])
    if not id then return false, string.format("its %s cannot be identified (%s)", hf[1], why) end
  end
  return true
end

-- snapshot(cbs, loss) -> list: for each callback with hooks of the user's,
-- in order, {callback = its description, values = {{hook, name, value}}}
-- (a library callback's functions: their identity as a value too);
-- then, for loss, fit's loss when it is a function of the user's, its
-- upvalues' as {callback = "the loss function (file:line)", loss = true,
-- values} (a warm-up counting its calls in a local: audit Z2).
function M.snapshot(cbs, loss)
  local out = {}
  if type(loss) == "function" and not library(loss) then
    local values, info = {}, debug.getinfo(loss, "S")
    upvalues(loss, nil, values, {})
    out.loss = {callback = string.format("the loss function (%s:%d)", info.short_src,
      info.linedefined), loss = true, values = values}
  end
  for i, cb in ipairs(cbs or {}) do
    local fs, hooks = user_hooks(cb)
    if #fs > 0 then
      local values, seen = {}, {}
      for _, hf in ipairs(fs) do upvalues(hf[2], hf[1], values, seen) end
      if hooks == 0 then -- a library callback's functions of the user's: their identity too
        for _, hf in ipairs(fs) do
          local id = M.identity(hf[2])
          if id then values[#values + 1] = {hook = hf[1], name = IDENTITY, value = id} end
        end
      else -- a callback of the user's: its scalar fields are its state too
        for _, k in ipairs(util.sorted_keys(cb)) do
          local v = rawget(cb, k)
          if type(k) == "string" and scalar(v) and k ~= "seconds" then -- (a cost, wb/train.lua)
            values[#values + 1] = {name = "field " .. k, value = v}
          end
        end
      end
      out[#out + 1] = {callback = require("wb.fit_hooks").describe(cb, fs[1][1]),
        values = values, position = require("wb.state_callbacks").position(cbs, i)}
    end
  end
  return out
end

-- The snapshot as JSON-safe data (its integers and non-finite numbers
-- tagged as a callback's state is: wb/state_callbacks.lua), nil when it has
-- no value: save_state then writes no workbench.hooks.
function M.pack(snap)
  local list = {}
  for j, e in ipairs(snap or {}) do list[j] = e end
  if snap and snap.loss then list[#list + 1] = snap.loss end -- last: read back by its flag
  local any = false
  for _, e in ipairs(list) do any = any or #e.values > 0 end
  if not any then return nil end
  local pack = require("wb.state_callbacks")._pack
  local out = {}
  for j, e in ipairs(list) do
    local values = {}
    for i, v in ipairs(e.values) do
      values[i] = {hook = v.hook, name = v.name, value = pack(v.value, "", {})}
    end
    out[j] = {callback = e.callback, values = values, loss = e.loss}
  end
  return out
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "number" then return util.number_text(v) end
  return tostring(v)
end

local function key(v) return (v.hook or "") .. " " .. v.name end

-- check(cbs, saved, path, bad, loss): saved, the decoded workbench.hooks
-- (nil: a file without it, nothing to compare), against fit's callbacks cbs
-- and loss function (nil: a named loss): an error naming every value that
-- differs; bad(path, fmt, ...) raises on a malformed entry.
function M.check(cbs, saved, path, bad, loss)
  if saved == nil then return end
  local unpack = require("wb.state_callbacks")._unpack
  if type(saved) ~= "table" then bad(path, "workbench.hooks: expected a list") end
  local now, diffs, of_loss = M.snapshot(cbs, loss), {}, 0
  for j, e in ipairs(saved) do
    if type(e) ~= "table" or type(e.values) ~= "table" then
      bad(path, "workbench.hooks %d: expected {callback, values}", j)
    end
    local given, have = e.loss and now.loss or not e.loss and now[j], {}
    for _, v in ipairs(given and given.values or {}) do have[key(v)] = v end
    for _, s in ipairs(e.values) do
      if type(s) ~= "table" or type(s.name) ~= "string" then
        bad(path, "workbench.hooks %d: expected values {hook, name, value}", j)
      end
      local v, a = have[key(s)], unpack(s.value, {}, path)
      if v and not (a == v.value or a ~= a and v.value ~= v.value) then
        diffs[#diffs + 1] = string.format("%s%s: %s saved %s, given %s", e.loss
          and given.callback or string.format("%s (%s)", given.position, given.callback),
          s.hook and " " .. s.hook or "", s.name, show(a), show(v.value))
        if e.loss then of_loss = of_loss + 1 end
      end
    end
  end
  if #diffs > 0 and of_loss == #diffs then -- the loss's alone: another loss, or its count
    error(string.format("fit: resume: %s: %s: a resumed fit goes on bit for bit only with "
      .. "the loss function as it was at the save, its code and the values it closes over "
      .. "(a count it keeps in a local: give it the saved one)", path,
      table.concat(diffs, "; ")), 0)
  elseif #diffs > 0 then
    error(string.format("fit: resume: %s: %s: a hook's values are not part of the state "
      .. "file, so the resumed fit would go on from the given ones where the uninterrupted "
      .. "run went on from the saved: keep state in get_state/set_state (a callback table's "
      .. "methods) or compute it from the hook's arguments (the step, the epoch)", path,
      table.concat(diffs, "; ")), 0)
  end
end

return M
