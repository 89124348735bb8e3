-- wb/state_fit.lua: what fit keeps at its end for model:save_state (the
-- RNG, and the weights before on_train_end hooks changed them) and the
-- checks of fit's options against a state file before a resume restores
-- anything. Used by wb/state.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local cjson = require "cjson"
local M = {}

-- (t:max and t:min pass over d without wb_tensor_stats's sums, which cost
-- a fit with an on_train_end hook, fit's instruments included, 3 ms; d is
-- freed at once: the collector sees only its box)
function M.same(ps, copies)
  for i, p in ipairs(ps) do
    local d = p - copies[i]
    local differ = d:max() ~= 0 or d:min() ~= 0
    d:free()
    if differ then return false end
  end
  return true
end

local function copy_all(ps)
  local out = {}
  for i, p in ipairs(ps) do out[i] = p:clone() end
  return out
end

-- The metatables of wb's own callbacks whose on_train_end changes no weight
-- and leaves the optimizer (fit's instruments): train_end copies the weights
-- and the optimizer's moments for none of them, nor compares (a fresh copy of
-- the parameters and of their differences a fit).
M.leaves_weights = {}

-- wb's own callback objects (plain tables and Lambdas of its runner and
-- wb.train.run) whose hooks never move the weights between two steps: fit's
-- instruments need not check for a move after them (wb/instruments_moved.lua).
M.still = setmetatable({}, {__mode = "k"})

-- The metatables of wb's own callbacks whose on_train_end may restore an
-- epoch's weights (EarlyStopping): a function of the callback giving that
-- epoch, or nil (history.weights_epoch).
M.restores = {}

-- train_end(model, params, cbs, run): runs fit's on_train_end hooks (run(cb)
-- for each callback cb that has one, in order) keeping what a later
-- save_state needs to write the state the training ended its last epoch
-- with: the RNG (a draw after fit, e.g. a Hessian probe, must not move the
-- resumed run's shuffling and dropout), the optimizer, model.stop_training and
-- the hooks' closures (wb/state_end.lua) and, when a hook changed the weights
-- (EarlyStopping's restore_best_weights), the weights before it did: the
-- resumed fit goes on from those, as the uninterrupted one did. When the
-- weights are edited after fit, the edit wins (the state holds what the
-- user set).
-- It also says in the history which weights fit leaves (those the run's
-- test metrics and weights file come from): weights_epoch, the epoch at
-- whose end they were (the last; EarlyStopping's best epoch when it
-- restored it: M.restores), nil when a hook set weights of no
-- epoch, and weights_changed_by naming those hooks. Each hook that may
-- change weights is compared with the weights before it (once a fit).
function M.train_end(model, params, cbs, run)
  local fin, may = {rng = wb.rng_state(), lua_rng = wb.sys.math_random_state(), during = true},
    false
  for _, cb in ipairs(cbs) do
    may = may or (cb.on_train_end ~= nil and not M.leaves_weights[getmetatable(cb) or false])
  end
  if may then fin.weights = copy_all(params) end
  local ends = require "wb.state_end"
  fin.snap = ends.before(model, cbs, may) -- the optimizer, the stop, the hooks' closures
  rawset(model, "_fit_end", fin)
  local h = model.history
  local last = require("wb.history")._last_epoch(h) -- a number (fit{initial_epoch}), not a count
  local at, by, ref = last, {}, fin.weights -- ref: the weights before the next hook
  for i, cb in ipairs(cbs) do
    if cb.on_train_end then
      run(cb)
      if ref and not M.leaves_weights[getmetatable(cb) or false] and not M.same(params, ref) then
        local restored = M.restores[getmetatable(cb) or false]
        at = restored and restored(cb) or nil
        if at then by = {}
        else
          by[#by + 1] = string.format("callback %d (%s)", i, require("wb.fit_hooks").describe(cb, "on_train_end"))
        end
        if ref == fin.weights then ref = copy_all(params)
        else for j, p in ipairs(params) do ref[j]:copy(p) end end
      end
    end
  end
  ends.after(model, fin.snap) -- and a reset in history.optimizer_resets
  fin.during = nil
  if ref ~= fin.weights then
    if not M.same(params, fin.weights) then fin.after = ref
    else fin.weights, at, by = nil, last, {} end -- put back: the last epoch's
  else
    fin.weights = nil
  end
  local hset = require("wb.history_guard").set
  hset(h, "weights_epoch", at)
  hset(h, "weights_changed_by", #by > 0 and ("the on_train_end of " .. table.concat(by, ", "))
    or nil)
end

-- The epochs fit was asked for against the file's completed epochs: a
-- resume that would train nothing (epochs not above them) or number its
-- epochs otherwise (initial_epoch) is an error before anything is restored.
-- Not refused: a stopped fit's state (it stays stopped), or the file a
-- ModelCheckpoint{save_state} of this fit writes (a run rerun as is: killed after its last save).
function M.check_epochs(path, done, want, stopped)
  if want.initial_epoch and want.initial_epoch ~= done then
    error(string.format("fit: initial_epoch %d differs from the %d epochs of %s (a resume "
      .. "takes its epoch from the file: leave initial_epoch out)", want.initial_epoch, done,
      path), 0)
  end
  local backup = false
  for _, c in ipairs(want.callbacks or {}) do -- a user's object may refuse unknown reads
    local mt = getmetatable(c)
    backup = backup or type(mt) == "table" and mt.__name == "wb.callbacks.ModelCheckpoint"
      and c.save_state == true and c.filepath == path
  end
  if want.epochs and (want.epochs < done or want.epochs == done and not stopped and not backup) then
    error(string.format("fit: epochs = %d %s the %d epochs already done in %s: epochs "
      .. "is the number of the last epoch (Keras), so epochs = %d trains one more; a fit "
      .. "that trains nothing is refused", want.epochs, want.epochs < done and "is below"
      or "equals", done, path, done + 1), 0)
  end
  if stopped and want.epochs and want.epochs > done then -- trained nothing, without a word
    io.stderr:write(string.format("fit: resume: %s was saved by a fit a callback stopped after "
      .. "epoch %d: nothing more to train (a stopped fit stays stopped; a larger epochs does "
      .. "not restart it)\n", path, done))
  end
end

-- The fit options a resume must repeat (fa.fit_record): with another
-- batch size, rows, shuffling or loss the resumed run is another run, and
-- validation given or dropped would leave holes in history's val series;
-- other images or labels (a hash of each) of the same count are other data;
-- another log_every would stop history.steps at the save or respace it.
-- A file without the record (or a field of it: written before it existed)
-- is not checked for it.
-- seed: the saved RNG state replaces the one a seed sets, so a resume's
-- seed other than the saved fit's was overruled without a word; none is
-- fine (the saved fit's is then this fit's, for a state it saves). A file
-- from before states kept it: a warning naming the seed given.
local function check_seed(path, saved, now)
  local was, given = saved.seed, now.seed
  if type(was) == "number" then was = math.tointeger(was) or was end
  if not given then now.seed = was; return end
  if was == nil then
    io.stderr:write(string.format("fit: resume: %s does not record the saved fit's seed "
      .. "(written before states kept it): seed = %d is not checked, and the saved RNG state "
      .. "replaces it\n", path, given))
  elseif was ~= given then
    error(string.format("fit: resume: %s was trained %s, this fit has seed = %d: the saved "
      .. "RNG state (shuffling, dropout) goes on and would overrule it; give %s", path,
      was and ("with seed = " .. tostring(was)) or "without a seed", given,
      was and ("seed = " .. tostring(was) .. " or no seed") or "no seed"), 0)
  end
end

local FIT_KEYS = {"rows", "batch_size", "shuffle", "loss", "validation_rows", "images",
  "labels", "validation_images", "validation_labels", "log_every"}
local FIT_WHAT = {rows = "training rows", validation_rows = "validation rows (0: none)",
  log_every = "log_every (0: none)",
  images = "training images", labels = "training labels",
  validation_images = "validation images", validation_labels = "validation labels"}
function M.check_fit(path, saved, now)
  check_seed(path, saved, now)
  for _, k in ipairs(FIT_KEYS) do
    local a, b = saved[k], now[k]
    if type(a) == "number" then a = math.tointeger(a) or a end
    if k == "loss" and a == "a function" and tostring(b):match("^a function") then
      a = b -- saved before a loss function was identified, or unidentifiable
    end
    if a ~= nil and a ~= b then
      local what = FIT_WHAT[k] or k
      error(string.format("fit: resume: %s was trained with %s %s, this fit has %s: a "
        .. "resumed fit goes on bit for bit only with the saved fit's data and options",
        path, what, tostring(a), tostring(b)), 0)
    end
  end
end

-- {==================== the file's own fields ====================

-- A state file that is not what save_state writes: EFORMAT (exit status
-- 65), naming the file and the field, before anything is restored.
function M.bad(path, fmt, ...)
  error(wb.Error{code = "EFORMAT", path = path,
    message = "fit: resume: " .. path .. ": " .. string.format(fmt, ...)}, 0)
end
local bad = M.bad

local function count(v) return math.type(v) == "integer" and v >= 0 or
  (math.type(v) == "float" and v >= 0 and v == math.floor(v) and v < 2 ^ 53) end

local function is_list(t, item)
  if type(t) ~= "table" then return false end
  for k, v in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or not item(v) then return false end
  end
  return true
end

local function is_num(v) return type(v) == "number" or v == cjson.null end
local SERIES = require("wb.history")._SERIES

-- The decoded workbench.state, workbench.history and workbench.callbacks
-- of a file have the types save_state writes (a hand edit or a file of
-- another tool otherwise resumes at epoch 0, drops the optimizer's moments
-- or fails deep inside fit).
function M.check_state(path, st, hist, cbs)
  local function want(ok, field, what, v)
    if not ok then bad(path, "workbench.state '%s': expected %s, got %s", field, what,
      v == nil and "nothing" or type(v) == "string" and string.format("%q", v) or
      tostring(v)) end
  end
  want(count(st.epoch), "epoch", "a count of epochs", st.epoch)
  want(st.step == nil or count(st.step), "step", "a count of steps", st.step)
  want(type(st.rng) == "string" and #st.rng == 81 and st.rng:match("^%x+$") ~= nil, "rng",
    "81 hex digits (wb.rng_state())", st.rng)
  want(st.lua_rng == nil or type(st.lua_rng) == "string" and #st.lua_rng == 64
    and st.lua_rng:match("^[0-9a-f]+$") ~= nil, "lua_rng", "64 hex digits (wb.sys.math_random_state())",
    st.lua_rng)
  want(st.stopped == nil or type(st.stopped) == "boolean", "stopped", "a boolean", st.stopped)
  want(st.fit == nil or type(st.fit) == "table", "fit", "an object", st.fit)
  local o = st.optimizer
  want(type(o) == "table" and type(o.name) == "string", "optimizer", "{name, config, "
    .. "iterations}", type(o) == "table" and "no name" or o)
  want(o.config == nil or type(o.config) == "table", "optimizer.config", "an object", o.config)
  want(o.iterations == nil or count(o.iterations), "optimizer.iterations", "a count",
    o.iterations)
  for _, k in ipairs(SERIES) do
    if hist[k] ~= nil and not is_list(hist[k], is_num) then
      bad(path, "workbench.history '%s': expected a list of numbers", k)
    end
  end
  for _, k in ipairs{"epochs", "initial_epoch"} do
    if hist[k] ~= nil and not count(hist[k]) then
      bad(path, "workbench.history '%s': expected a count, got %q", k, tostring(hist[k]))
    end
  end
  if not is_list(cbs, function(e) return type(e) == "table" and type(e.kind) == "string" end)
  then
    bad(path, "workbench.callbacks: expected a list of {kind, state}")
  end
end

-- The model resumed into must be the saved one: with the same parameter
-- shapes but another activation, l2 or dropout rate, or a Lua layer with
-- another field or method (wb/arch.lua), the weights would load and the
-- resumed run be another run. A file written before save_state kept the
-- architecture is not checked; one written before it kept Lua layers'
-- fields and code (workbench.layer_code) has them compared by kind, with
-- a warning saying so, as for a method whose code cannot be identified.
function M.check_arch(path, arch, code, model)
  local diff, notes = M.arch_diff(path, arch, code, model)
  if diff then
    error(string.format("fit: resume: %s was saved from another model (%s): resume into "
      .. "the saved architecture (wb.load(path) rebuilds it, unless it has Lua layers)",
      path, diff), 0)
  end
  for _, note in ipairs(notes) do
    io.stderr:write(string.format("warning: fit: resume: %s: %s; the resume takes it for "
      .. "the saved one\n", path, note))
  end
end

-- How the model differs from the one the state was saved from (nil when it
-- does not), and the notes on what could not be compared; EFORMAT when the
-- metadata is malformed. The runner asks before it resumes (wb/train_resume.lua).
function M.arch_diff(path, arch, code, model)
  if arch == nil then return nil, {} end
  local ok, saved = pcall(cjson.decode, arch)
  if not ok or type(saved) ~= "table" then
    M.bad(path, "bad workbench.architecture metadata (not a JSON list)")
  end
  local okc, codes = true, nil
  if code ~= nil then okc, codes = pcall(cjson.decode, code) end
  if not okc or (code ~= nil and type(codes) ~= "table") then
    M.bad(path, "bad workbench.layer_code metadata (not a JSON object)")
  end
  local function names(t) -- {name = string}
    if type(t) ~= "table" then return false end
    for k, v in pairs(t) do
      if type(k) ~= "string" or type(v) ~= "string" then return false end
    end
    return true
  end
  for i, e in pairs(codes or {}) do
    if type(e) ~= "table" or not names(e.methods) or not names(e.unchecked) then
      M.bad(path, "workbench.layer_code '%s': expected {methods = {name = id}, unchecked = "
        .. "{name = why}}", tostring(i))
    end
  end
  local A = require "wb.arch"
  local diff, notes = A.arch_diff(saved, model)
  return diff or A.code_diff(codes, model, notes), notes
end

-- The optimizer's saved buffers (slots per parameter, names as save_state
-- writes them), each of its parameter's shape: a list, or an error naming
-- the tensor before anything is restored.
function M.opt_buffers(path, names, params, buffers, slot_names, slots)
  local bufs = {}
  for p = 1, #names do
    for k = 1, slots do
      local key = string.format("optimizer.%s.%s", names[p], slot_names[k])
      local t = buffers[key]
      if not t then bad(path, "no tensor '%s'", key) end
      local a, b = table.concat(t:shape(), ", "), table.concat(params[p]:shape(), ", ")
      if t:dtype() ~= params[p]:dtype() or a ~= b then
        bad(path, "tensor '%s': expected %s [%s] (its parameter's), got %s [%s]", key,
          params[p]:dtype(), b, t:dtype(), a)
      end
      bufs[#bufs + 1] = t
    end
  end
  return bufs
end

-- }====================
-- {==================== the file's checksum ====================

-- save_state writes the checksum of a state's content in its metadata
-- (workbench.checksum; Python's safetensors reads the file as before): a
-- resume from a file bit-flipped, partly copied or edited by hand (still
-- well-formed) went on from numbers no training made. XXH3
-- (wb.sys.hash_string) of one sorted line per tensor (name, dtype, shape,
-- the hash of its elements: wb.io._hash) and per metadata field but the
-- checksum itself.
M.CHECKSUM = "workbench.checksum"
function M.checksum(tensors, meta)
  local lines = {}
  for name, t in pairs(tensors) do
    lines[#lines + 1] = string.format("tensor %q %s [%s] %s", name, t:dtype(),
      table.concat(t:shape(), ","), wb.io._hash(t))
  end
  for k, v in pairs(meta) do
    if k ~= M.CHECKSUM then lines[#lines + 1] = string.format("meta %q %q", k, v) end
  end
  table.sort(lines)
  return wb.sys.hash_string(table.concat(lines, "\n"))
end

-- Why a state's content (tensors and metadata as loaded) is not what
-- save_state wrote, nil when it is: its checksum does not match, or it has
-- none (an older workbench's, or written by hand: nothing vouches for it).
function M.changed(tensors, meta)
  local sum = meta[M.CHECKSUM]
  if sum == nil then
    return "it has no checksum (written by a workbench from before state files had one, or "
      .. "by hand): nothing vouches for its content"
  end
  local now = M.checksum(tensors, meta)
  if now ~= sum then
    return string.format("its content does not match the checksum written with it (%s; its "
      .. "content now hashes to %s): changed since it was written (a bit flipped, a partial "
      .. "copy, an edit)", tostring(sum), now)
  end
end

-- }====================

return M
