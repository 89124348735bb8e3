-- wb/record.lua: where run records live, what a well-formed one is, and
-- which records are seeds of one configuration.
--
-- A run record is a JSON object in <root>/runs/<task>-<hash>.<ext> (root:
-- $WB_PLOTS or "plots"): the record is ext "json", its weights "safetensors"
-- beside it, other artefacts "<kind>.json" and the like. A record's read_files
-- lists the files its hooks read, each {path = absolute path, id = "size:hash"}; the
-- runner reuses it only while they are unchanged (wb/identity_reads.lua). The one place
-- that composes those paths; it reads a record (what is wrong with a malformed one) and
-- writes one with its checksum (wb.record.write, the one writer); it never trains.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local cjson = require "cjson"

---wb.record
---Run records as files: the runs folder (wb.record.dir), the path of a
---run's record or artefact (wb.record.path), reading a record with the
---reason when it is malformed (wb.record.read) and the key that says which
---records are seeds of one configuration (wb.record.group_key); writing a
---record with the checksum of its content (wb.record.write), which
---reading checks.
---Example: print(wb.record.path(nil, "task05_dropout", "0123456789abcdef"))
local M = {}

local function argcheck(ok, n, fname, expected, v)
  if not ok then
    error(string.format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, expected,
      type(v)), 3)
  end
end

---wb.record.root(root) -> string
---The root folder of figures and runs: root, else $WB_PLOTS, else "plots".
---@param root? string
---@return string
---Example: print(wb.record.root())
function M.root(root)
  argcheck(root == nil or type(root) == "string", 1, "root", "string", root)
  return root or util.plots_root()
end

---wb.record.dir(root) -> string
---The folder of run records under root (default $WB_PLOTS or "plots"):
---"<root>/runs".
---@param root? string
---@return string
---Example: print(wb.record.dir("plots/quick"))
function M.dir(root)
  argcheck(root == nil or type(root) == "string", 1, "dir", "string", root)
  return (root or util.plots_root()) .. "/runs"
end

---wb.record.path(root, task, hash, ext) -> string
---The file of run `hash` of `task` in the runs folder of root (see
---wb.record.dir): "<root>/runs/<task>-<hash>.<ext>", ext default "json"
---(the record); "safetensors" for its weights, or any other kind.
---@param root? string
---@param task string
---@param hash string
---@param ext? string
---@return string
---Example: print(wb.record.path(nil, run.task, run.hash, "safetensors"))
function M.path(root, task, hash, ext)
  argcheck(root == nil or type(root) == "string", 1, "path", "string", root)
  argcheck(type(task) == "string", 2, "path", "string", task)
  argcheck(type(hash) == "string", 3, "path", "string", hash)
  argcheck(ext == nil or type(ext) == "string", 4, "path", "string", ext)
  for _, p in ipairs{{task, 2}, {hash, 3}} do
    if p[1] == "" or p[1]:find("/", 1, true) then
      error(string.format("bad argument #%d to 'path' (a name without '/' expected, got %q)",
        p[2], p[1]), 2)
    end
  end
  return string.format("%s/%s-%s.%s", M.dir(root), task, hash, ext or "json")
end

---wb.record.is_record_file(name) -> boolean
---Whether a file name in a runs folder is a run record: it ends in ".json"
---and is not an artefact "<task>-<hash>.<kind>.json" kept beside a record.
---@param name string
---@return boolean
---Example: print(wb.record.is_record_file("t-0123456789abcdef.json"))
function M.is_record_file(name)
  argcheck(type(name) == "string", 1, "is_record_file", "string", name)
  return name:find("%.json$") ~= nil and name:find("%.%a+%.json$") == nil
end

-- The fields every record has, and those it may have, with their types.
local required = {{"hash", "string"}, {"task", "string"}, {"variant", "string"},
  {"seed", "integer"}, {"config", "table"}, {"status", "string"}}
local optional = {{"group_key", "string"}, {"history", "table"}, {"metrics", "table"},
  {"measures", "table"}, {"fit_options", "table"}, {"identity", "table"}, {"read_files",
  "table"}, {"weights", "string"}, {"best_weights", "string"}, {"weights_ids", "table"},
  {"checksum", "string"}, {"warnings", "table"}, {"script", "table"}, {"data_published",
  "boolean"}, {"train_data", "table"}}

local function type_of(v)
  if math.type(v) == "integer" then return "integer" end
  if math.type(v) == "float" then return "number " .. util.show(v) end
  return type(v)
end

-- The per-epoch series of a history (wb/history.lua) and its counts: what
-- tables, curves and exports read, so a hand edit of the wrong type is
-- named here rather than shown as "n/a" or left out of a CSV.
local SERIES = require("wb.history")._SERIES
local COUNTS = {"epochs", "best_epoch", "stopped_epoch", "weights_epoch"}

-- nil when the metrics are numbers and the history's series lists of
-- numbers (holes allowed: null is NaN), else the reason.
local function malformed_values(r)
  for k, v in pairs(r.metrics or {}) do
    if type(k) ~= "string" then
      return "field 'metrics': an object of numbers by name expected, got a list"
    end
    if type(v) ~= "number" then
      return string.format("field 'metrics.%s': number expected, got %s", tostring(k),
        type_of(v))
    end
  end
  local h = r.history or {}
  for _, k in ipairs(SERIES) do
    local s = h[k]
    if s ~= nil and type(s) ~= "table" then
      return string.format("field 'history.%s': list of numbers expected, got %s", k,
        type_of(s))
    end
    for i, v in pairs(s or {}) do
      if math.type(i) ~= "integer" or type(v) ~= "number" then
        return string.format("field 'history.%s': list of numbers expected, got %s at %s",
          k, type_of(v), tostring(i))
      end
    end
  end
  for _, k in ipairs(COUNTS) do
    if h[k] ~= nil and math.type(h[k]) ~= "integer" then
      return string.format("field 'history.%s': integer expected, got %s", k, type_of(h[k]))
    end
  end
end

-- nil when r has the fields of a record with their types, else the reason.
local function malformed(r)
  for _, f in ipairs(required) do
    local v = r[f[1]]
    if v == nil then return "missing field '" .. f[1] .. "'" end
    if type_of(v) ~= f[2] then
      return string.format("field '%s': %s expected, got %s", f[1], f[2], type_of(v))
    end
  end
  for _, f in ipairs(optional) do
    local v = r[f[1]]
    if v ~= nil and type(v) ~= f[2] then
      return string.format("field '%s': %s expected, got %s", f[1], f[2], type_of(v))
    end
  end
  return malformed_values(r)
end

-- The checksum of a record's content, v as cjson decodes it (JSON null as
-- cjson.null): FNV-1a (util.fnv1a64) of its JSON as the workbench writes
-- it (util.encode_json: keys sorted, each number as the text that reads back
-- as its double) without the checksum field. Equal for equal content however
-- the file spaces or spells it; nil when it cannot be written so (a number
-- edited to 1e999). It detects a record changed by accident or by hand, not
-- by someone who recomputes it.
-- The fields of a record that are JSON lists, [] when empty (git_changes of
-- a clean tree was {} and a list when dirty: a Python reader got a dict one
-- time, a list the next): util.encode_json's opts.lists.
local LISTS = {git_changes = true, read_files = true, warnings = true, measures_missing = true,
  callback_series = true, ["script.files"] = true, ["remeasure.callbacks"] = true}
for _, k in ipairs(SERIES) do LISTS["history." .. k] = true end
local AS_WRITTEN = {lists = LISTS}

-- ... and the sums it may have: of its JSON as written now, or as written
-- before the lists were [] (an empty list as {}).
local function content_sum(v)
  local body = {}
  for k, x in pairs(v) do if k ~= "checksum" then body[k] = x end end
  local ok, text = pcall(util.encode_json, body, AS_WRITTEN)
  local ok2, old = pcall(util.encode_json, body)
  return ok and wb.sys.hash_string(text) or nil, ok2 and wb.sys.hash_string(old) or nil
end

-- The checksum of record text s when it is as wb.record.write left it:
-- '{"checksum":"<sum>",' then the rest of the content's JSON as the
-- workbench writes it, so that the sum is the hash of that JSON text with
-- the checksum taken out; nil otherwise (respelled, edited, older). Equal
-- to content_sum of what s decodes to, without encoding it again (0.4 s
-- for a record of 2.7 MB with every step's instruments).
local function written_sum(s)
  local sum, rest = s:match('^{"checksum":"(%x+)",(.*)\n$')
  if not sum then
    sum = s:match('^{"checksum":"(%x+)"}\n$')
    rest = sum and "}"
  end
  if sum and wb.sys.hash_string("{" .. rest) == sum then return sum end
  return nil
end

---wb.record.read(path) -> table | nil, string
---The run record in file path, with integral numbers as integers (seed 2,
---not 2.0); nil and the reason when the file cannot be read, is not a JSON
---object, or lacks a field every record has (hash, task, variant, status:
---strings; seed: integer; config: object) or has one of the wrong type
---(group_key: string; history, metrics, measures, fit_options, identity:
---objects; read_files: a list of {path, id}, the files the run's hooks read
---as it ran, wb/identity_reads.lua; weights, best_weights: file names;
---weights_ids: their content ids by name, wb.record.weights_ids; checksum: string;
---warnings: a list of what the run warned of (a measure's NaN; measures_missing: the names of
---those); script: the study script's repository, commit and files not as committed, an object;
---data_published: boolean; train_data: the training rows a hook chose, an object;
---metrics: numbers by name; history's per-epoch series: lists of numbers,
---its epochs, best_epoch and stopped_epoch: integers), or whose content does
---not match the checksum written with it (wb.record.write: a number edited
---by hand, a partial copy, a merge or a sync conflict; the reason starts
---"its content does not match the checksum", and a third value
---"checksum" says so). A record without a checksum (written before records
---had one, or by hand) is returned: its checksum field is nil.
---@param path string
---@return table|nil
---@return string|nil why
---Example: local r, why = wb.record.read(wb.record.path(nil, run.task, run.hash))
---  print(r and r.variant or why)
function M.read(path)
  argcheck(type(path) == "string", 1, "read", "string", path)
  local kind = wb.sys.kind(path) -- a FIFO blocked the open, /dev/zero ate memory (X20)
  if kind and kind ~= "file" then return nil, "not a regular file (a " .. kind .. ")" end
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot read: " .. tostring(err) end
  local s, rerr = f:read("a")
  f:close()
  if not s then return nil, "cannot read: " .. tostring(rerr) end
  local first = s:match("^%s*(.)")
  if not first then return nil, "empty file" end
  if first ~= "{" then return nil, "not a JSON object (starts with '" .. first .. "')" end
  local ok, r = pcall(cjson.decode, s)
  if not ok then return nil, "not valid JSON (" .. tostring(r) .. ")" end
  -- of the JSON as decoded, its nulls still there
  local sum, before = written_sum(s)
  if not sum then sum, before = content_sum(r) end
  -- JSON null as nil, and integers where the value is integral (JSON has
  -- one number type and cjson decodes every number as a float: seed 2, not
  -- 2.0; subset rows)
  r = wb.io._json_clean(require("wb.record_steps").nan(r, cjson.null), cjson.null, true)
  local why = malformed(r)
  if why then return nil, why end
  if r.checksum ~= nil and r.checksum ~= sum and r.checksum ~= before then
    return nil, string.format("its content does not match the checksum written with it "
      .. "(%s; its content now hashes to %s): changed since it was written (a number edited "
      .. "by hand, a partial copy, a merge or a sync conflict)", r.checksum, tostring(sum)),
      "checksum"
  end
  return r
end

-- The content id of file path (wb/identity_reads.lua: XXH3-128 of the whole file,
-- "absent" when it cannot be read). Required here, not at load: it wraps io.open.
local function file_id(path) return require("wb.identity_reads").file_id(path) end

---wb.record.weights_ids(dir, r) -> table|nil
---The content ids of the weights files run record r names (r.weights,
---r.best_weights) in runs folder dir: {[file name] = id} (XXH3-128 of the
---whole file, as wb.identity_reads gives a file's id); nil when r names
---none. A record is written with them (r.weights_ids): the runner and
---wb.Run:model check a record's weights are the files it was written with.
---@param dir string
---@param r table
---@return table|nil
---Example: print(wb.record.weights_ids(wb.record.dir(), run)[run.weights])
function M.weights_ids(dir, r)
  argcheck(type(dir) == "string", 1, "weights_ids", "string", dir)
  argcheck(type(r) == "table", 2, "weights_ids", "table", r)
  local ids
  for _, name in ipairs{r.weights or false, r.best_weights or false} do
    if name then
      ids = ids or {}
      ids[util.basename(name)] = file_id(dir .. "/" .. util.basename(name))
    end
  end
  return ids
end

---wb.record.weights_changed(dir, r) -> string|nil, string
---The path of the first weights file of run record r (in runs folder dir)
---that is not the file r was written with (r.weights_ids: replaced by
---another run's, damaged, removed), and what is wrong with it; nil when
---each is as written, or r has no ids (a record from before them).
---@param dir string
---@param r table
---@return string|nil
---@return string|nil why
---Example: print(wb.record.weights_changed(wb.record.dir(), run))
function M.weights_changed(dir, r)
  argcheck(type(dir) == "string", 1, "weights_changed", "string", dir)
  argcheck(type(r) == "table", 2, "weights_changed", "table", r)
  for _, name in ipairs(util.sorted_keys(type(r.weights_ids) == "table" and r.weights_ids
      or {})) do
    local path, want = dir .. "/" .. util.basename(tostring(name)), r.weights_ids[name]
    local now = file_id(path)
    if now ~= want then
      return path, now == "absent" and "is gone (its record was written with it)"
        or string.format("is not the file its record was written with (content id %s "
        .. "then, %s now): replaced or damaged since", tostring(want), now)
    end
  end
  return nil
end

---wb.record.write(path, r) -> table
---Writes run record r to path (atomically: a reader sees the old file
---whole or the new one whole) as JSON with the checksum of its content
---(r.checksum, set here: a hash of its JSON text without it), which
---wb.record.read checks. Returns r.
---@param path string
---@param r table
---@return table
---Example: local path = os.tmpname()
---  wb.record.write(path, {hash = "0123456789abcdef", task = "task05_dropout",
---    variant = "base", seed = 1, config = {}, status = "ok"})
---  print(wb.record.read(path).checksum); os.remove(path)
function M.write(path, r)
  argcheck(type(path) == "string", 1, "write", "string", path)
  argcheck(type(r) == "table", 2, "write", "table", r)
  r.checksum = nil
  -- the checksum of what a reader decodes, not of the table in memory (NaN
  -- as null, floats as the doubles the JSON text gives back)
  local text = util.encode_json(r, AS_WRITTEN)
  local decoded = cjson.decode(text)
  -- what read would refuse is not written (a hook's string in a history
  -- series: written, its run was then retrained at every rerun); read's
  -- view is the text decoded again and cleaned (quicker than a Lua copy)
  local why = malformed(wb.io._json_clean(cjson.decode(text), cjson.null, true))
  if why then
    error(string.format("wb.record.write: %s: not a well-formed run record (%s)", path, why), 2)
  end
  local body = util.encode_json(decoded, AS_WRITTEN)
  r.checksum = wb.sys.hash_string(body)
  util.write_file(path, '{"checksum":"' .. r.checksum .. '"' .. (body == "{}" and "}"
    or "," .. body:sub(2)) .. "\n")
  return r
end

---wb.record.group_key(r) -> string
---The key of everything that determines run record r except its seed:
---records with equal keys are seeds of one configuration and may be
---averaged together. r.group_key when the record has one, else (older
---records) the hash of its task and its config without the seed.
---@param r table
---@return string
---Example: print(wb.record.group_key(run) == wb.record.group_key(other))
function M.group_key(r)
  argcheck(type(r) == "table", 1, "group_key", "table", r)
  if type(r.group_key) == "string" then return r.group_key end
  local cfg = {}
  if type(r.config) == "table" then
    for k, v in pairs(r.config) do if k ~= "seed" then cfg[k] = v end end
  end
  return util.fnv1a64(util.canonical({task = r.task, config = cfg}))
end

---wb.record.tally(records, field) -> string
---A string field's values over run records ("unknown" where none), sorted,
---each with its count: "SkylakeX (214), Haswell (2)" ("" for none).
---Example: print(wb.record.tally(wb.runs.find{}.records, "blas_core"))
function M.tally(recs, field)
  argcheck(type(recs) == "table", 1, "tally", "table", recs)
  argcheck(type(field) == "string", 2, "tally", "string", field)
  local counts, order = {}, {}
  for _, r in ipairs(recs) do
    local c = type(r[field]) == "string" and r[field] or "unknown"
    if not counts[c] then counts[c], order[#order + 1] = 0, c end
    counts[c] = counts[c] + 1
  end
  table.sort(order)
  for i, c in ipairs(order) do order[i] = string.format("%s (%d)", c, counts[c]) end
  return table.concat(order, ", ")
end

---wb.record.commits(records) -> string|nil
---The commits run records were trained at, wb.record.tally of git_commit:
---"abc1234 (3), def5678 (1)", then "; 1 of them with uncommitted edits"
---for those of a tree with uncommitted changes (git_uncommitted > 0); nil
---for no records. A README names them (a reused run may be older).
---Example: print(wb.record.commits(wb.runs.find{}.records))
function M.commits(recs)
  argcheck(type(recs) == "table", 1, "commits", "table", recs)
  if #recs == 0 then return nil end
  local edited = 0
  for _, r in ipairs(recs) do
    if (tonumber(r.git_uncommitted) or 0) > 0 then edited = edited + 1 end
  end
  return M.tally(recs, "git_commit") .. (edited > 0
    and string.format("; %d of them with uncommitted edits", edited) or "")
end

wb.record = M
return M
