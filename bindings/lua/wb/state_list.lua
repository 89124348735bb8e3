-- wb/state_list.lua: the saved fit's callbacks, in order, in a training state
-- (model:save_state, metadata workbench.callback_list) and compared on resume
-- (fit{resume = path}; wb/state.lua). The other checks pair a callback with the saved
-- fit's only when it keeps something: a state (wb/state_callbacks.lua) or values in its
-- hooks' closures (wb/state_hooks.lua). A LearningRateScheduler or a Lambda left out at
-- the resume, or a Lambda added (one setting lr = 0.5), was accepted without a word: the
-- history looked continuous and was another training (tryS F1).
-- Each callback of the list is its class (wb.callbacks.EarlyStopping: its settings, state
-- and schedule are compared by those checks) or, for a Lambda or a callback table of the
-- user's, the code of each of its hooks and of the user's functions they close over
-- (stripped bytecode, lines aside, so a resume script's copy of the saved script's Lambda
-- is the same Lambda; the values they close over are wb/state_hooks.lua's to compare, and
-- name). On resume the list given must be the saved
-- one, in order (callbacks run in order: a Lambda setting the lr before or after a
-- scheduler trains otherwise); a callback left out, added or moved is refused before
-- anything is restored, naming each by position and class (or "Lambda at file:line") and
-- the saved list. Not compared, as they change no number of the training: fit's
-- instruments (their own check: wb/state_callbacks.lua), fit's cockpit (it draws; the
-- instruments it brings are compared), a CSVLogger (it writes a file), and wb's own
-- callbacks that only watch (wb.state_fit.still: the runner's progress lines, watch and
-- tag keeper), nor, in a run's fit, the callbacks of wb.train.run's caller (M.run: its
-- opts.callbacks, the runner's watch, may keep no state and are outside the run's
-- checkpoints by its contract). A state without the list (written before it was kept) is
-- resumed with a warning saying the check was not made.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local M = {}

M.KEY = "workbench.callback_list"

local FREE = {["wb.instruments"] = true, ["wb.cockpit"] = true,
  ["wb.callbacks.CSVLogger"] = true}

local function class_of(cb)
  local mt = getmetatable(cb)
  local name = type(mt) == "table" and rawget(mt, "__name")
  return type(name) == "string" and name or nil
end

-- M.run[cb]: cb is one of a run's own callbacks (wb/train_resume.lua marks them): in a fit
-- holding any, the others are wb.train.run's caller's and not compared.
M.run = setmetatable({}, {__mode = "k"})

local function compared(cb, in_run)
  return not FREE[class_of(cb) or false] and not require("wb.state_fit").still[cb]
    and (M.run[cb] or not in_run)
end

local function library(f)
  local info = debug.getinfo(f, "S")
  return info.what == "C" or info.source:sub(1, #wb.luadir + 2) == "@" .. wb.luadir .. "/"
end

-- Appends to out the stripped bytecode of f and of the user's functions it closes over, two
-- levels down, as wb/state_hooks.lua walks their values (a helper wrapping the function
-- given to it, hooks{on_epoch_end = f}, has the same code for every f).
local function code_text(f, out, seen, depth)
  seen[f] = true
  local ok, bytes = pcall(string.dump, f, true)
  -- each function's first and last line set to 0 (stripping keeps them): moved, the same
  local lineless = ok and select(2, require("wb.identity_dump").parse(bytes))
  out[#out + 1] = lineless or ok and bytes or "C"
  if not ok or depth >= 3 then return end
  for i = 1, 255 do
    local name, v = debug.getupvalue(f, i)
    if not name then return end
    if type(v) == "function" and not seen[v] and not library(v) then
      code_text(v, out, seen, depth + 1)
    end
  end
end

-- "on_epoch_end=<16 hex> ...": the code of each hook of cb, a callback of the user's (a
-- Lambda's: the function given to it).
local function code_of(cb)
  local cbs, parts = require "wb.callbacks", {}
  for _, hook in ipairs(cbs._HOOKS) do
    local okf, f = pcall(function() return cb[hook] end) -- a user's object may refuse reads
    if okf and type(f) == "function" then
      local out = {}
      code_text(cbs._wrapped[f] or f, out, {}, 1)
      parts[#parts + 1] = hook .. "=" .. util.fnv1a64(table.concat(out, "\0"))
    end
  end
  return table.concat(parts, " ")
end

-- M.of(cbs) -> list: fit's callbacks that a resume compares, in order, each {kind = its
-- class or "callback", code (a callback of the user's), what (wb.fit_hooks.describe),
-- at = "callbacks[i]" as the user counts them}; JSON-safe, for save_state.
function M.of(cbs)
  local out, in_run = {}, false
  for _, cb in ipairs(cbs or {}) do in_run = in_run or M.run[cb] == true end
  for i, cb in ipairs(cbs or {}) do
    if compared(cb, in_run) then
      local class = class_of(cb)
      out[#out + 1] = {kind = class or "callback", code = not class and code_of(cb) or nil,
        what = require("wb.fit_hooks").describe(cb),
        at = require("wb.state_callbacks").position(cbs, i)}
    end
  end
  return out
end

local function key(e) return e.kind .. "|" .. (e.code or "") end
local function name(e) return string.format("%s (%s)", e.at, e.what) end

-- The entries of a and b that the longest common subsequence (by key) leaves out.
local function unmatched(a, b)
  local n, m, L = #a, #b, {}
  for i = 0, n do L[i] = {[m + 1] = 0} end
  for i = n, 1, -1 do
    L[i][m + 1] = 0
    for j = m, 1, -1 do
      L[i][j] = key(a[i]) == key(b[j]) and (L[i + 1] and L[i + 1][j + 1] or 0) + 1
        or math.max(L[i + 1] and L[i + 1][j] or 0, L[i][j + 1])
    end
  end
  local left, added, i, j = {}, {}, 1, 1
  while i <= n and j <= m do
    if key(a[i]) == key(b[j]) then i, j = i + 1, j + 1
    elseif (L[i + 1] and L[i + 1][j] or 0) >= L[i][j + 1] then left[#left + 1] = a[i]; i = i + 1
    else added[#added + 1] = b[j]; j = j + 1 end
  end
  for k = i, n do left[#left + 1] = a[k] end
  for k = j, m do added[#added + 1] = b[k] end
  return left, added
end

-- check(cbs, saved, path, bad): saved, the decoded workbench.callback_list (nil: a file
-- written before it was kept: a warning), against fit's callbacks cbs: an error naming
-- each callback left out, added, moved or with other code; bad(path, fmt, ...) raises on a
-- malformed list. quiet: no warning (the runner asks before fit does).
function M.check(cbs, saved, path, bad, quiet)
  if saved == nil then
    if not quiet then
      io.stderr:write(string.format("warning: fit: resume: %s was written before state files "
        .. "listed the fit's callbacks: whether the callbacks given are the saved fit's is "
        .. "checked only for those that keep state; resumed all the same\n", path))
    end
    return
  end
  if type(saved) ~= "table" then bad(path, "%s: expected a list", M.KEY) end
  for j, e in ipairs(saved) do
    if type(e) ~= "table" or type(e.kind) ~= "string" or type(e.what) ~= "string"
      or type(e.at) ~= "string" or (e.code ~= nil and type(e.code) ~= "string") then
      bad(path, "%s %d: expected {kind, what, at, code}", M.KEY, j)
    end
  end
  local now = M.of(cbs)
  local left, added = unmatched(saved, now)
  if #left == 0 and #added == 0 then return end
  local diffs, moved = {}, #saved == #now
  local count = {}
  for _, e in ipairs(saved) do count[key(e)] = (count[key(e)] or 0) + 1 end
  for _, e in ipairs(now) do count[key(e)] = (count[key(e)] or 0) - 1 end
  for _, c in pairs(count) do moved = moved and c == 0 end
  if moved then
    diffs[1] = "the same callbacks in another order"
  else
    -- a callback of the user's in the saved one's place, or at its line: other code
    local function twins(e, g) return e.kind == g.kind and (e.what == g.what or e.at == g.at) end
    for _, e in ipairs(left) do
      local other
      for _, g in ipairs(added) do if not other and twins(e, g) then other = g end end
      diffs[#diffs + 1] = other and string.format("%s: the code of its hooks is not that of "
        .. "the saved fit's %s", name(other), name(e)) or string.format("the saved fit's %s "
        .. "is not given", name(e))
    end
    for _, g in ipairs(added) do
      local same = false
      for _, e in ipairs(left) do same = same or twins(e, g) end
      if not same then
        diffs[#diffs + 1] = string.format("%s is not the saved fit's", name(g))
      end
    end
  end
  local list = {}
  for _, e in ipairs(saved) do list[#list + 1] = name(e) end
  error(string.format("fit: resume: %s: %s: a resumed fit goes on bit for bit only with the "
    .. "saved fit's callbacks, in their order: {%s} (give the same callbacks; only a "
    .. "CSVLogger may be added or left out)", path, table.concat(diffs, "; "),
    table.concat(list, ", ")), 0)
end

return M
