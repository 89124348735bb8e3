-- wb/spec_keys.lua: the config keys an experiment knows and the check of
-- each value (used by wb/spec.lua). A check returns nil when the value is
-- fine, else what was expected ("a positive integer"). Not public: wb.spec
-- is the interface. Also the pieces of wb.spec's errors: the nearest key,
-- the script line of a key, the error object of what the user wrote.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"

local M = {}

-- An error in what the user wrote (wb.spec.input_error, documented there).
local InputError = require "wb.input_error"

function M.input_error(msg, code)
  if type(msg) ~= "string" then
    error("wb.spec.input_error: bad argument #1 (msg: expected a string, got "
      .. type(msg) .. ")", 2)
  end
  return setmetatable({message = msg, code = code}, InputError)
end
function M.is_input_error(v) return getmetatable(v) == InputError end

-- Levenshtein distance of strings a and b; with swaps, two neighbouring
-- letters swapped count as one edit (d.trian is one slip from train).
local function distance(a, b, swaps)
  local prev, prev2 = {}, nil
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = {[0] = i}
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      if swaps and prev2 and j > 1 and a:sub(i, i) == b:sub(j - 1, j - 1)
          and a:sub(i - 1, i - 1) == b:sub(j, j) then
        cur[j] = math.min(cur[j], prev2[j - 2] + 1)
      end
    end
    prev2, prev = prev, cur
  end
  return prev[#b]
end
M.distance = function(a, b) return distance(a, b) end

-- The names of t (its string keys) nearest to k: those at the smallest edit
-- distance (a swap of two letters one edit), at most a third of k's letters
-- (one at least) and maxd; the same name in other letter case first. (wb's
-- strict names; objects' fields.)
function M.nearest_names(t, k, maxd)
  local best, bd = {}, math.min(maxd or 3, math.max(1, #k // 3))
  for name in pairs(t) do
    if type(name) == "string" then
      local d = name:lower() == k:lower() and 0 or distance(k, name, true)
      if d < bd then best, bd = {name}, d elseif d == bd then best[#best + 1] = name end
    end
  end
  table.sort(best)
  return best
end

-- What a pandas or Keras user reaches for on a run list, found elsewhere.
local ELSEWHERE = {["wb.Runs"] = {compare = "wb.compare(rs, metric) compares its variants "
  .. "(Welch's test over seeds; task:compare(rs, metric) in a report)",
  mean = "rs:stat(variant, metric) gives a variant's mean and sd over seeds",
  where = "wb.runs.find{task = ..., key = value} selects runs", filter = "wb.runs.find{task "
  .. "= ..., key = value} selects runs", groupby = "rs:of(variant) gives a variant's runs"}}

-- Reading key from an object of type tname (wb.Tensor, an optimizer, a
-- layer: C types whose __index calls this on a miss only): nil when key is a
-- field mt.__fields lists (one this object lacks, e.g. a Dense without bias),
-- else the error message naming the type, the key and the nearest of its
-- names (mt.__methods, mt.__fields and extra's keys), or all of them; a
-- name of another library's for what is here under another (ELSEWHERE).
function M.no_field(tname, key, mt, extra)
  local fields = mt and rawget(mt, "__fields") or {}
  if type(key) ~= "string" then
    return string.format("%s has no key %s (its fields and methods are named by strings)",
      tname, tostring(key))
  end
  if fields[key] then return nil end
  if ELSEWHERE[tname] and ELSEWHERE[tname][key] then
    return string.format("%s has no field '%s': %s", tname, key, ELSEWHERE[tname][key])
  end
  local names = {}
  for _, t in ipairs{mt and rawget(mt, "__methods") or {}, fields, extra or {}} do
    for n in pairs(t) do if type(n) == "string" then names[n] = true end end
  end
  local near = M.nearest_names(names, key)
  if #near > 0 then
    return string.format("%s has no field '%s'; did you mean %s?", tname, key,
      table.concat(near, " or "))
  end
  local all = {}
  for n in pairs(names) do if n:sub(1, 1) ~= "_" then all[#all + 1] = n end end
  table.sort(all)
  return string.format("%s has no field '%s'; its fields and methods: %s", tname, key,
    table.concat(all, ", "))
end

-- Writing key to an object of type tname (mt: its class, with __fields and
-- __methods): nil when fine (a field mt.__fields lists, a key not a string,
-- a name of the caller's own: m.note = ...), else the error: a method's
-- name (the field would hide it), or a name near one of the class's
-- (model.stop_trainig = true was kept as a new field: training went on).
-- rawset keeps a field of one's own by such a name.
function M.bad_write(tname, key, mt, var)
  local fields, methods = rawget(mt, "__fields") or {}, rawget(mt, "__methods") or {}
  if type(key) ~= "string" or fields[key] then return nil end
  local alias = rawget(mt, "__aliases") -- another library's name (ds.imgs): {name -> ours}
  if alias and alias[key] then
    return string.format("%s has no field '%s'; did you mean %s?", tname, key, alias[key])
  end
  if methods[key] ~= nil then
    return string.format("%s: '%s' is a method, not a field to set (the value would hide "
      .. "it)", tname, key)
  end
  local names, private = {}, key:sub(1, 1) == "_"
  for _, t in ipairs{methods, fields} do
    for n in pairs(t) do
      if type(n) == "string" and (private or n:sub(1, 1) ~= "_") then names[n] = true end
    end
  end
  local near = M.nearest_names(names, key)
  if #near == 0 then return nil end
  return string.format("%s has no field '%s'; did you mean %s? (a field of your own by "
    .. "this name: rawset(%s, '%s', v))", tname, key, table.concat(near, " or "), var or "t", key)
end

-- The __newindex of a strict object: refuses what bad_write refuses, else
-- sets the key (var: the object's name in the hint).
function M.newindex(tname, mt, var)
  return function(t, k, v)
    local why = M.bad_write(tname, k, mt, var)
    if why then error(why, 2) end
    rawset(t, k, v)
  end
end

-- The metamethods of a class whose objects are strict (mt: the class, its
-- methods and __fields): __index gives a method or a field (a field of
-- __fields it lacks: nil), else an error naming the nearest name;
-- __newindex refuses what bad_write refuses (var: the object's name in its
-- hint, "cb").
function M.strict(tname, mt, var)
  mt.__name, mt.__methods = mt.__name or tname, mt
  mt.__index = function(t, k)
    local v = mt[k]
    if v ~= nil or mt.__fields[k] then return v end
    error(M.no_field(tname, k, mt, t), 2)
  end
  mt.__newindex = M.newindex(tname, mt, var)
  return mt
end

-- The candidate closest to word in edit distance (at most 3 edits), or nil
-- (wb.spec.nearest, documented there; here for the key checks' hints too).
function M.nearest(word, candidates)
  if type(candidates) ~= "table" then
    error("wb.spec.nearest: bad argument #2 (candidates: expected a list of strings, got "
      .. type(candidates) .. ")", 2)
  end
  local best, bd = nil, math.huge
  for _, c in ipairs(candidates) do
    local d = distance(tostring(word), c)
    if d < bd then best, bd = c, d end
  end
  if bd <= 3 then return best end
  return nil
end

-- Keras's names of config keys that are here under another: wb.optim
-- takes the optimizer's as aliases (SGD{learning_rate = 0.1}), a config
-- does not (one spelling per key in records and run identities), so a
-- Keras user's base = {learning_rate = 0.1} is told the key meant (lr).
local KERAS_KEYS = {learning_rate = "lr", epsilon = "eps", units = "hidden",
  kernel_initializer = "init", kernel_regularizer = "l2", validation_split = "validation"}

-- The key here of k when k is such a name and its key is one of checks'
-- (a build hook's keys may lack hidden), else nil: the "did you mean" of
-- the error (units was taken for init, the nearest by spelling).
function M.keras_key(k, checks)
  local here = KERAS_KEYS[k]
  return here and checks[here] and here or nil
end

-- The line of the script where `word` appears as a key or value, so that
-- an error points at the text to change: the first at or after line `from`
-- (the declaration's own line; the first in the file named the first of two
-- experiments for the second's mistake, audit B10), else the last before it
-- (a table built above the declaration), else nil.
function M.line_of(file, word, from)
  if type(word) ~= "string" or not file then return nil end
  local f = io.open(file, "rb")
  if not f then return nil end
  local n, before = 0, nil
  for l in f:lines() do
    n = n + 1
    local code = l:gsub("%-%-.*$", "")
    if code:find("%f[%w_]" .. word:gsub("%p", "%%%0") .. "%f[^%w_]") then
      if n >= (from or 1) then
        f:close()
        return n
      end
      before = n
    end
  end
  f:close()
  return before
end

local function is_int(v, lo) return math.type(v) == "integer" and v >= (lo or 1) end
local function is_num(v) return type(v) == "number" and v == v and v > -math.huge
  and v < math.huge end

-- Each check returns nil when the value is fine, else what was expected.
local function positive_int(v) if not is_int(v) then return "a positive integer" end end
local function positive_num(v) if not (is_num(v) and v > 0) then return "a positive number" end end
local function boolean(v) if type(v) ~= "boolean" then return "true or false" end end
local function fraction(v)
  if not (is_num(v) and v >= 0 and v < 1) then return "a number in [0, 1)" end
end
local function unit(v) -- SGD's momentum: [0, 1], as Keras takes it
  if not (is_num(v) and v >= 0 and v <= 1) then return "a number in [0, 1]" end
end
local function nonneg(v) if not (is_num(v) and v >= 0) then return "a number >= 0" end end
local function name_in(list)
  return function(v)
    for _, x in ipairs(list) do if v == x then return nil end end
    return "one of " .. table.concat(list, ", ")
  end
end

M.train = {
  optimizer = name_in{"adam", "adamw", "sgd", "rmsprop"},
  lr = positive_num, momentum = unit, nesterov = boolean, beta1 = fraction,
  beta2 = fraction, eps = positive_num, weight_decay = nonneg, rho = fraction,
  batch_size = positive_int, epochs = positive_int, shuffle = boolean,
  log_every = positive_int, -- fit's step series (history.steps), kept in the record
  -- fit's and the test metrics' loss; absent means the default
  -- sparse_categorical_crossentropy (no default entry: hashes stay as they were)
  -- (the names of wb.losses, required here lazily: wb.losses needs wb loaded)
  loss = function(v) -- a function of one's own: where it can go (wb/spec_runs.lua)
    local want = name_in(require("wb.losses").NAMES)(v)
    return want and type(v) == "function" and want .. require("wb.spec_runs").OWN_LOSS or want
  end,
  instruments = function(v) -- wb.instruments: a preset's name or a list of names
    local want = '"economy", "full" or a list of instrument names (wb.instruments)'
    if v == "economy" or v == "full" then return nil end
    if type(v) ~= "table" or #v == 0 then return want end
    for _, n in pairs(v) do
      if name_in(wb.instruments.NAMES)(n) then
        local near = M.nearest(n, wb.instruments.NAMES)
        return string.format("%s; '%s' is not one%s", want, tostring(n),
          near and " (did you mean '" .. near .. "'?)" or "")
      end
    end
  end,
  every = function(v) -- how often instruments measure
    if v ~= "log" and not is_int(v) then return 'a positive integer or "log"' end
  end,
  validation = function(v)
    if v == "test" or (is_num(v) and v > 0 and v < 1) or v == false then return nil end
    return '"test", a fraction in (0, 1) of the training rows, or false'
  end,
  early_stopping = function(v)
    if type(v) ~= "table" then return "a table of EarlyStopping options" end
    local ok, err = pcall(wb.callbacks.EarlyStopping, util.copy(v))
    if not ok then return "EarlyStopping options (" .. tostring(err):gsub("^.-: ", "") .. ")" end
  end,
  dataset = name_in{"mnist", "fashion"},
  subset = function(v)
    if type(v) ~= "table" then return "a table {train = n, test = n}" end
    for k, n in pairs(v) do -- a misspelt key named, with the one meant
      local bad = k ~= "train" and k ~= "test" and M.nearest(tostring(k), {"train", "test"})
      if bad ~= false or not is_int(n) then return "a table {train = n, test = n} of positive "
        .. "integers" .. (bad ~= false and (": unknown key '" .. tostring(k) .. "'" .. (bad and
        " (did you mean '" .. bad .. "'?)" or "")) or "") end
    end
  end,
}

local function hidden(v)
  if is_int(v) then return nil end
  if type(v) == "table" and #v > 0 then
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    local ok = n == #v
    for i = 1, #v do ok = ok and is_int(v[i]) end
    if ok then return nil end
  end
  return "a positive integer or a non-empty list of them ({256, 128}: two hidden layers)"
end

M.model = {
  hidden = hidden,
  activation = function(v)
    if type(v) ~= "string" then return "an activation name" end
    if not pcall(wb.nn.Dense, 1, 1, {activation = v}) then
      return "an activation name (relu, tanh, softsign, gelu, sigmoid, ...)"
    end
  end,
  dropout = fraction, l2 = nonneg,
  init = function(v)
    if type(v) ~= "string" or not pcall(wb.nn.Dense, 1, 1, {init = v}) then
      return "an initializer name (glorot_uniform, ...)"
    end
  end,
}

-- A value a build hook's declared key may hold: what a record (JSON) and a
-- run's identity can hold and read back the same: a finite number, a
-- string, a boolean, or a table of them under string or integer keys. A
-- tensor, a function or NaN failed when the first spec was written, with a
-- traceback.
function M.plain(v, depth)
  depth = depth or 0
  local t = type(v)
  if t == "string" or t == "boolean" or (t == "number" and is_num(v)) then return nil end
  local want = "plain data (a finite number, a string, a boolean or a table of them)"
  if t ~= "table" or getmetatable(v) ~= nil or depth > 20 then return want end
  for k, x in pairs(v) do
    if (type(k) ~= "string" and math.type(k) ~= "integer") or M.plain(x, depth + 1) then
      return want
    end
  end
end

-- {==================== keys that go together ====================

-- The config keys that are optimizer options (wb.optim.new's), in the order
-- the optimizer is built from (wb/train.lua).
M.OPTIMIZER_KEYS = {"lr", "momentum", "nesterov", "beta1", "beta2", "eps", "weight_decay",
  "rho"}

-- fit's epoch logs (wb/fit.lua epoch_keys): what early_stopping may monitor
-- when no callbacks hook can add logs of its own
local EPOCH_LOGS = {"accuracy", "data_loss", "loss", "lr", "reg_loss"}

-- Values each fine alone that do not go together in one variant's resolved
-- config; get(key) is the config's value (nil: default). A run's child would
-- fail on them (an optimizer option its optimizer does not take: momentum
-- with the default adam) or train without a word of what was asked
-- (early_stopping monitoring val_loss with validation = false, or a
-- monitor that is not a log: never stops; fit's warning goes to a log
-- nobody reads). hooked: a callbacks hook, whose callbacks may add logs.
-- Returns the key at fault and what is wrong, or nil.
function M.check_together(get, hooked)
  local name, o = get("optimizer") or M.train_defaults.optimizer, {}
  for _, k in ipairs(M.OPTIMIZER_KEYS) do o[k] = get(k) end
  local ok, err = pcall(wb.optim.new, name, o)
  if not ok then
    err = tostring(err):gsub("^bad argument #%d+ to '[^']*' %((.*)%)$", "%1")
    local key = err:match("option '([%w_]+)'") or err:match(": ([%w_]+) must be")
    if not (key and o[key] ~= nil) then key = "optimizer" end
    return key, string.format("optimizer %s%s: %s", name, get("optimizer") == nil
      and " (the default)" or "", err)
  end
  local es = get("early_stopping")
  if es == nil or hooked then return nil end
  local monitor, val = es.monitor or "val_loss", get("validation")
  if val == nil then val = M.train_defaults.validation end
  local logs = {table.unpack(EPOCH_LOGS)}
  if val ~= false then logs[#logs + 1] = "val_accuracy"; logs[#logs + 1] = "val_loss" end
  for _, k in ipairs(logs) do if k == monitor then return nil end end
  local unheld = val == false and monitor:match("^val_")
  local near = not unheld and M.nearest(monitor, logs)
  return "early_stopping", string.format("monitor '%s' is not in fit's logs (%s)%s; it "
    .. "would never stop training", monitor, table.concat(logs, ", "), unheld and
    ": validation = false holds no rows out" or near and (" (did you mean '" .. near
    .. "'?)") or "")
end

-- The one check of a subset beyond its form (M.train.subset): within the
-- rows of dataset's sets, n_rows = {train = n, test = n} (nil: not known).
-- Nil when it is, else why not (wb.experiment's configs and
-- wb.data.for_config: more rows than the set has gave the whole set).
function M.subset_rows(subset, n_rows, dataset)
  for _, set in ipairs{"train", "test"} do
    local want = subset and subset[set]
    if want and n_rows and want > n_rows[set] then
      return string.format("subset.%s = %d rows, but the %s %s set has %d (the README would "
        .. "say %d); ask for at most %d", set, want, dataset, set, n_rows[set], want,
        n_rows[set])
    end
  end
  return nil
end

-- }====================

-- Defaults of the training loop (Keras's, and validation held out as
-- Keras's validation_split = 0.1) and of the default model.
M.train_defaults = {optimizer = "adam", batch_size = 32, epochs = 10, validation = 0.1,
  dataset = "mnist"}
M.model_defaults = {activation = "relu", dropout = 0, l2 = 0, init = "glorot_uniform"}

return M
