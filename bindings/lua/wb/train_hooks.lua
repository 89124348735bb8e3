-- wb/train_hooks.lua: what wb/train.lua checks of what an experiment's hooks
-- (build, callbacks, fit_options) return and do to the run's data.
--
-- A build hook that returned nil, or a callbacks hook whose list held a
-- number, failed inside train.lua ("attempt to index a nil value (local
-- 'model')") (audit W6): now an error naming the hook, its line and what
-- was expected.
--
-- Hooks get a per-run copy of the data table {train, test}, so that one may
-- train on other rows (a subset, a transform, noisy labels). The record and
-- README described the config's rows whatever the hooks did (audit W15).
-- Now, after each hook and after fit, the sets fit and evaluate use are
-- compared with the sets the config names:
-- - the test set gives the run's final numbers (and validation = "test"'s):
--   another one (replaced, or changed in place) is refused, naming the hook;
--   so is a training set that holds one of the test images (its validation
--   rows would be test rows: every val_* number is said never to see them);
-- - another training set is legitimate (what the hook is for), and its
--   code is in the run's identity: it is recorded (rec.train_data: which
--   hook, how, rows, a content id) and the task README's Data line says so.
local _ENV = require "wb.std"
local wb, util = require "wb", require "wb.util"
local M = {}

-- "the build hook (script.lua:12)": the hook's name and where it is defined.
function M.name(ex, key)
  -- the user's function (ex._hooks: wb/experiment.lua wraps the callbacks
  -- hook in a check of its own, defined in the library)
  local f = type(ex._hooks) == "table" and ex._hooks[key] or ex[key]
  local info = type(f) == "function" and debug.getinfo(f, "S")
  if info and info.linedefined > 0 then
    local src = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
    return string.format("the %s hook (%s:%d)", key, src, info.linedefined)
  end
  return "the " .. key .. " hook"
end

-- {src = "plots/bad.lua", line = 2}: where the hook is, the place its call
-- is made from, so that an error of the hook's tail call reads
-- "plots/bad.lua:2:" (wb/identity_reads_hook.lua); nil for the library's.
function M.place(ex, key)
  return require("wb.identity_reads_hook").place(type(ex._hooks) == "table" and ex._hooks[key]
    or ex[key])
end

-- v for a message: "nil", "a number (3)", "a wb.Tensor".
local function describe(v)
  if v == nil then return "nil" end
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if type(name) == "string" then return "a " .. name end
  if type(v) == "table" then return "a table" end
  return string.format("a %s (%s)", type(v), util.show(v))
end

-- Reads a method of v, nil when v refuses the name (wb's strict objects raise).
local function method(v, k)
  local ok, f = pcall(function() return v[k] end)
  return ok and type(f) == "function" and f or nil
end

-- Raises unless model (the build hook's result) is a model train.lua can use.
function M.check_model(ex, model)
  if type(model) == "table" and getmetatable(model) == wb.nn.SequentialClass then return end
  local lacks = {}
  for _, k in ipairs{"fit", "evaluate", "save"} do
    if type(model) ~= "table" or not method(model, k) then lacks[#lacks + 1] = k end
  end
  if #lacks == 0 then return end -- a class of one's own built on Sequential's methods
  error(string.format("%s returned %s%s, expected a model (wb.nn.Sequential{...}, with fit, "
    .. "evaluate and save); did it forget to return it?", M.name(ex, "build"), describe(model),
    type(model) == "table" and " without " .. table.concat(lacks, ", ") or ""), 0)
end

-- The callbacks hook's list, checked (nil: none): a list of callback tables whose on_*
-- methods are hooks (fit's check, named after the hook).
function M.check_callbacks(ex, list)
  if list == nil then return {} end
  local who = M.name(ex, "callbacks")
  if type(list) ~= "table" or getmetatable(list) ~= nil then
    error(string.format("%s returned %s, expected a list of callbacks {cb, ...}", who,
      describe(list)), 0)
  end
  for i = 1, #list do
    if type(list[i]) ~= "table" then
      error(string.format("%s returned a list whose item %d is %s, expected a callback (a "
        .. "table with on_* hook methods, such as wb.callbacks.Lambda{...})", who, i,
        describe(list[i])), 0)
    end
  end
  local ok, err = pcall(wb.callbacks._check_callbacks, list, who .. " returned a list whose")
  if not ok then error((tostring(err):gsub("^[^\n]-%.lua:%d+: ", "")), 0) end
  return list
end

-- {==================== the data the hooks leave ====================

-- The sets the config names (wb.data.for_config's pair, d: the run's copy) as they are
-- now, with the hashes of their tensors.
function M.watch(d)
  return {train = d.train, test = d.test, snap = require("wb.data_cache").tensors(d)}
end

-- nil when split ("train", "test") of d is the config's set as watched, else how it is not.
local function differs(w, d, split)
  local ds = rawget(d, split)
  if ds ~= w[split] then
    return type(ds) == "table" and "replaced" or "replaced by " .. describe(ds)
  end
  for _, e in ipairs(w.snap) do
    if e.split == split then
      local t = rawget(ds, e.field)
      if t ~= e.t then return "its " .. e.field .. " replaced" end
      if wb.io._hash(t) ~= e.hash then return "its " .. e.field .. " changed in place" end
    end
  end
  return nil
end

-- A content id of dataset ds: its tensors' shapes, types and elements.
local function content_id(ds)
  local parts = {}
  for _, t in ipairs{ds.images, ds.labels} do
    parts[#parts + 1] = string.format("%s[%s]:%s", t:dtype(), table.concat(t:shape(), ","),
      wb.io._hash(t))
  end
  return util.fnv1a64(table.concat(parts, ";"))
end
M.content_id = content_id -- run:data() finds a hook's rows again by it (wb/run.lua)

-- Row i of the config's test set that training set ds holds as its row j (uint8 images of
-- the same shape, equal bytes), or nil. MNIST and Fashion-MNIST have no image in both
-- their training and test files, so an equal one came from the test set.
local function test_row_in(ds, test)
  local imgs, timgs = ds.images, test.images
  if imgs:dtype() ~= "uint8" or timgs:dtype() ~= "uint8" or #timgs == 0
      or table.concat(imgs:shape(), ",", 2) ~= table.concat(timgs:shape(), ",", 2) then
    return nil
  end
  local rows = {}
  for i = 1, #timgs do rows[wb.io._hash(timgs:row(i))] = rows[wb.io._hash(timgs:row(i))] or i end
  for j = 1, #imgs do
    local i = rows[wb.io._hash(imgs:row(j))]
    if i then return i, j end
  end
  return nil
end

-- After hook `who` ran (or fit): a test set other than the config's raises; another training
-- set is kept in w.train_data for the record (the first hook that changed it). test_only:
-- after fit, whose training set was taken when it started.
function M.check_data(w, d, spec, who, test_only)
  local why = differs(w, d, "test")
  if why then
    local sub = spec.config.subset
    error(string.format("%s changed data.test (%s): the test set gives the run's final "
      .. "numbers, so it must be the rows the config names (%s, %s); to test on other rows, "
      .. "set dataset or subset.test in the experiment (or evaluate them in a measure hook)",
      who, why, tostring(spec.config.dataset), sub and sub.test and string.format(
      "test rows 1..%d", sub.test) or "its whole test set"), 0)
  end
  if w.train_data or test_only then return end
  why = differs(w, d, "train")
  if not why then return end
  local ds = rawget(d, "train")
  if type(ds) ~= "table" or getmetatable(ds) ~= wb.data._Dataset then
    error(string.format("%s set data.train to %s, expected a wb.Dataset", who, describe(ds)), 0)
  end
  local i, j = test_row_in(ds, w.test)
  if i then
    error(string.format("%s changed data.train (%s): its row %d is test row %d (the same "
      .. "image): training and validation must never see the test set", who, why, j, i), 0)
  end
  w.train_data = {changed_by = who, how = why, rows = #ds,
    id = content_id(ds), name = ds.name}
end

-- For a task README's Data line: "" when no record of recs says that a hook chose other
-- training rows, else which runs, which hook, how, and the rows (each distinct set once).
function M.readme_note(recs)
  local seen, sets, n = {}, {}, 0
  for _, r in ipairs(recs) do
    local t = type(r.train_data) == "table" and r.train_data
    if t then
      n = n + 1
      local text = string.format("%s: %s, %s rows (%s, content id %s)", tostring(t.changed_by),
        tostring(t.how), tostring(t.rows), tostring(t.name), tostring(t.id))
      if not seen[text] then seen[text] = true; sets[#sets + 1] = text end
    end
  end
  if n == 0 then return "" end
  return string.format("; **%d of %d runs trained on other training rows, chosen by a hook** "
    .. "(their test rows are these): %s", n, #recs, table.concat(sets, "; "))
end

-- }====================

return M
