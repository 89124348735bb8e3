-- wb/runs_export.lua: run records as CSV files for pandas, R or a
-- spreadsheet: wb.runs.export_csv (one row per run, final metrics),
-- wb.runs.export_history (long format, one row per run, epoch and metric),
-- and, in wb/runs_export_steps.lua, wb.runs.export_steps and
-- wb.runs.export_grad_hist (the per-step series and grad_hist counts).
--
-- All follow RFC 4180 (a field holding a comma, quote or line break is
-- quoted, quotes doubled) and have the same columns for every run: config
-- tables are flattened to dotted columns (config.subset.train), the union
-- over the runs, empty where a run has no such key. A list value (hidden =
-- {256, 128}) is one cell in JSON ("[256,128]"). A missing value (JSON
-- null, NaN) is an empty cell, which pandas reads as NaN; export_csv's
-- measure recorded false (a target never reached) is the word never. The file is
-- written whole or not at all (a temporary file, then a rename). Reads
-- records only.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local runs = require "wb.runs"
local record = require "wb.record"
local group = require "wb.runs_group"
local argcheck = group.argcheck

local M = runs

-- The records of runs_or_dir: a runs folder (default <plots>/runs), a
-- wb.Runs or a list of records; where they come from, for messages; and
-- label(r), the label a run is listed under: a wb.Runs's own (as printing
-- it shows), else the one wb.runs.find gives these records (the variant,
-- with what sets apart runs of one variant that are not seeds of one
-- configuration: "dropout=0 [epochs=2]" beside "dropout=0 [epochs=20]",
-- which the variant column alone showed alike). A folder that does not
-- exist, or no runs at all, is an error (a mistyped path or a query that
-- matched nothing would otherwise give a file with a header and no rows).
local failed_of
local function records_of(x, fname)
  argcheck(x == nil or type(x) == "string" or type(x) == "table", 2, fname,
    "runs folder or run list", x, nil, 1)
  local recs, where
  if type(x) == "table" then
    recs, where = rawget(x, "records") or x, "the run list"
    for i, r in ipairs(recs) do
      argcheck(type(r) == "table", 2, fname, "list of run records", r, i, 1)
    end
  else
    where = x or record.dir()
    if not wb.sys.exists(where) then
      error(string.format("wb.runs.%s: no runs folder %s; nothing written", fname, where), 3)
    end
    recs = runs.load_all(where)
  end
  -- (a task all of whose runs failed still has its rows: each says "failed")
  local failed = failed_of(x)
  if #recs == 0 and #failed == 0 then
    error(string.format("wb.runs.%s: no runs in %s; nothing written", fname, where), 3)
  end
  local listed = getmetatable(x) == runs.RunList and x
    or {labels = group.label_apart(table.move(recs, 1, #recs, 1, {}))} -- sorts its copy
  group.pool(recs) -- the group_key column: seeds that may be averaged share it
  return recs, where, function(r) return runs._label(listed, r) end, failed
end

-- The runs of a task's list that left no record (runs.failures: a failed
-- child, a Slurm element), as rows of status "failed": a seed the table
-- counts as "2 of 3 (1 failed)" was missing from the file without a word,
-- and pandas' mean over the rows looked like the task's full seeds.
function failed_of(x)
  local fs = type(x) == "table" and getmetatable(x) == runs.RunList and rawget(x, "failures")
  local ex, out = type(x) == "table" and rawget(x, "experiment"), {}
  for _, f in ipairs(type(fs) == "table" and fs or {}) do
    local sp = type(f) == "table" and type(f.spec) == "table" and f.spec or {}
    out[#out + 1] = {hash = sp.hash, task = type(ex) == "table" and ex.name or nil,
      variant = sp.variant, seed = sp.seed, group_key = sp.group_key, status = "failed",
      config = sp.config}
  end
  return out
end

local function is_list(t) return t[1] ~= nil or next(t) == nil end

-- Flattened config of one record: {["subset.train"] = 2000, hidden = 128}.
local function flatten(t, prefix, out)
  for k, v in pairs(t) do
    local name = prefix .. tostring(k)
    if type(v) == "table" and not is_list(v) then
      flatten(v, name .. ".", out)
    elseif type(v) ~= "table" or next(v) ~= nil then
      out[name] = v
    end
  end
  return out
end

local number_text = util.number_text

-- One CSV field (RFC 4180).
local function cell(v)
  if v == nil or v ~= v then return "" end -- NaN: as JSON null, not glibc's "-nan"
  local s
  if type(v) == "number" then
    s = number_text(v)
  elseif type(v) == "table" then
    s = util.encode_json(v)
  else
    s = tostring(v)
  end
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- Flattened configs of recs and the sorted union of their keys.
local function configs(recs)
  local flat, keys = {}, {}
  for i, r in ipairs(recs) do
    flat[i] = type(r.config) == "table" and flatten(r.config, "", {}) or {}
    for k in pairs(flat[i]) do keys[k] = true end
  end
  return flat, util.sorted_keys(keys)
end

-- Write the CSV lines to path through a temporary file and a rename;
-- a failure is raised at the caller of export_<fname>, naming the path.
local function write(path, lines, fname)
  local ok, err = pcall(util.write_file, path, table.concat(lines, "\n") .. "\n")
  -- a task's report lists what it exported (runs.json), to drop it when a later one does not
  local into = rawget(runs, "_exported")
  if ok and type(into) == "table" then into[path] = true end
  if not ok then
    local msg = string.format("wb.runs.%s: %s", fname, (tostring(err):gsub("^[^:\n]*:%d+: ", "")))
    if not wb.is_error(err) then error(msg, 3) end
    -- keep the core's code (ECREATE, EIO): it decides the exit status (73, 74)
    local at = debug.getinfo(3, "Sl")
    local pos = at and at.currentline > 0 and (at.short_src .. ":" .. at.currentline .. ": ") or ""
    error(wb.Error{code = err.code, path = err.path or path, message = pos .. msg}, 0)
  end
end

-- The columns that say which run a row is of: its identity, then its
-- flattened config (configs); then the export's own columns, `more`.
-- trace: the columns that say what made the run (every export's rows but
-- export_grad_hist's, which merge with export_steps's on hash and step): the
-- workbench's commit, the count of files edited since, its command, its
-- script's commit (or content id: wb/runner_script.lua; empty for a record
-- from before) and what its hooks read besides the config ("$SCALE=2;
-- fac.txt (xxh128 1a2b3c4d)", as the README says it).
local ID = {"hash", "task", "variant", "label", "seed", "group_key", "status"}
local TRACE = {"git_commit", "git_uncommitted", "command", "script", "hooks_read"}
-- Every column of ID and TRACE (a set): a measure named so would be exported
-- beside its run's own column of that name (wb/train_measures.lua refuses it).
local OWN_COLUMNS = {}
for _, l in ipairs{ID, TRACE} do for _, k in ipairs(l) do OWN_COLUMNS[k] = true end end
local traced = {
  script = function(r)
    return type(r.script) == "table" and require("wb.runner_script").text(r.script, true) or nil
  end,
  hooks_read = function(r)
    local texts, prov = {}, require "wb.runner_provenance"
    for _, e in ipairs(type(r.read_files) == "table" and r.read_files or {}) do
      texts[#texts + 1] = prov.read_text(e, true)
    end
    return table.concat(texts, "; ")
  end}
local function id_head(ckeys, more, trace)
  local head = table.move(ID, 1, #ID, 1, {})
  for _, k in ipairs(trace and TRACE or {}) do head[#head + 1] = k end
  for _, k in ipairs(ckeys) do head[#head + 1] = cell("config." .. k) end
  for _, k in ipairs(more) do head[#head + 1] = cell(k) end
  return table.concat(head, ",")
end

-- The cells of id_head's first columns for record r, in ID's order (flat:
-- its configs entry; label: records_of's).
local function id_cells(r, flat, ckeys, label, trace)
  local row = {cell(r.hash), cell(r.task), cell(r.variant), cell(label(r)), cell(r.seed),
    cell(group.export_key(r)), cell(r.status)}
  for _, k in ipairs(trace and TRACE or {}) do
    row[#row + 1] = cell(traced[k] and traced[k](r) or r[k])
  end
  for _, k in ipairs(ckeys) do row[#row + 1] = cell(flat[k]) end
  return table.concat(row, ",")
end

local maxn = util.maxn

-- A measure recorded false has no number: it never happened (S's
-- epochs_to_target, a target never reached), which the tables and claims
-- count as slower than any number. Its cell says so: an empty one (a
-- missing value) let pandas' mean average the seeds that reached it, a
-- flattering number; "never" makes pandas read the column as text.
local NEVER = "never"
-- The names of the measures recorded false in recs, but those some run
-- records true (a yes/no measure, whose false is no "never").
local function never_of(recs)
  local out, flag = {}, {}
  for _, r in ipairs(recs) do
    for k, v in pairs(type(r.measures) == "table" and r.measures or {}) do
      if v == false then out[k] = true elseif v == true then flag[k] = true end
    end
  end
  for k in pairs(flag) do out[k] = nil end
  return out
end

---wb.runs.export_csv(path, runs_or_dir) -> integer
---Writes one CSV row per run to path: hash, task, variant, label (the
---label printing the run list shows, as wb.runs.find gives it: the variant,
---with what sets its groups apart when runs of one variant are not seeds
---of one configuration, "dropout=0 [epochs=2]"; a wb.Runs's own labels),
---seed, group_key, status, what made it (git_commit, git_uncommitted: the count
---of files edited or not committed since that commit, command: the command that
---trains it; script: the study script's repository commit, or its content id
---when in no commit; hooks_read: the files and environment variables its hooks
---read, "$SCALE=2; fac.txt (xxh128 1a2b3c4d)"; empty in records that lack
---them), the config flattened to
---columns (config.hidden, config.subset.train, ...) and the final
---metrics (wb.Run's; best_val_loss and best_val_accuracy are not one
---epoch's pair: best_val_loss is val_loss at best_epoch, the epoch whose
---weights restore_best_weights keeps, best_val_accuracy the highest
---val_accuracy of any epoch), with the measures (numbers; one recorded false, such as
---epochs_to_target of a run that never reached its target, is the word
---never, which the tables count as slower than any number: pandas then
---reads that column as text, and its mean raises rather than averaging
---the seeds that reached it; pandas.to_numeric(d.epochs_to_target.replace(
---"never", "inf")) counts them as slower than any number, but pandas 1.5.3
---(Debian bookworm's) gives NaN, not inf, as the groupby(...).mean() of a
---variant whose every seed is never (its summation computes inf - inf):
---take .median(), or count the nevers apart, as README says; an empty
---cell is a missing value). A task's
---run list (the report's runs) has a row of status "failed", without
---metrics, for each run that left no record. runs_or_dir:
---a runs folder (default <plots>/runs), a wb.Runs or a list of records; a
---folder that does not exist, or no runs at all, is an error and nothing is
---written. Returns the number of rows.
---@param path string
---@param runs_or_dir? string|wb.Runs|table
---@return integer
---Example: wb.runs.export_csv("runs.csv")
function M.export_csv(path, runs_or_dir)
  argcheck(type(path) == "string", 1, "export_csv", "string", path)
  local recs, _, label, failed = records_of(runs_or_dir, "export_csv")
  recs = table.move(failed, 1, #failed, #recs + 1, table.move(recs, 1, #recs, 1, {}))
  local flat, ckeys = configs(recs)
  local mkeys, never = {}, never_of(recs)
  for _, r in ipairs(recs) do
    if type(r.metrics) == "table" then for k in pairs(r.metrics) do mkeys[k] = true end end
  end
  for k in pairs(never) do mkeys[k] = true end
  mkeys = util.sorted_keys(mkeys)
  local lines = {id_head(ckeys, mkeys, true)}
  for i, r in ipairs(recs) do
    local row = {id_cells(r, flat[i], ckeys, label, true)}
    for _, k in ipairs(mkeys) do
      local v = type(r.metrics) == "table" and rawget(r.metrics, k) or nil
      if v == nil and never[k] and type(r.measures) == "table" and r.measures[k] == false then
        v = NEVER
      end
      row[#row + 1] = cell(v)
    end
    lines[#lines + 1] = table.concat(row, ",")
  end
  write(path, lines, "export_csv")
  return #recs
end

-- Whether t is a per-epoch series: a list holding numbers (its first
-- entry may be a hole: NaN at epoch 1 is null in the record).
local function is_series(t)
  if type(t) ~= "table" then return false end
  local any = false
  for k, v in pairs(t) do
    if math.type(k) ~= "integer" or type(v) ~= "number" then return false end
    any = true
  end
  return any
end

-- The per-epoch series of a record, sorted by name: its history's lists of
-- numbers, then list-valued measures not in the history.
local function series_of(r)
  local out, seen = {}, {}
  for _, field in ipairs{"history", "measures"} do
    local t = type(r[field]) == "table" and r[field] or {}
    for _, k in ipairs(util.sorted_keys(t)) do
      local h = t[k]
      if is_series(h) and not seen[k] then
        seen[k] = true
        out[#out + 1] = {name = tostring(k), values = h}
      end
    end
  end
  return out
end

---wb.runs.export_history(path, runs_or_dir) -> integer
---Writes every run's per-epoch history to path as a long-format CSV that
---pandas reads as it is (pandas.read_csv(path, float_precision =
---"round_trip"): the default parser may be a unit in the last place
---off; with README's dtype = str for hash, group_key, git_commit, variant
---and label, which pandas would read as numbers when digits: a hash
---0234567890123456 as 234567890123456, a commit 12345e78 as 1.2e82): columns hash, task,
---variant, label (as export_csv's), seed, group_key, status, git_commit,
---git_uncommitted, command, script, hooks_read
---(what made the run, as export_csv's), the config flattened to columns
---(config.hidden, config.subset.train, ...; the union over the runs,
---empty where absent), epoch, metric, value; one row per run, epoch and
---metric (history series such as loss, val_accuracy, lr, and per-epoch
---measures). An epoch a series has no value for (NaN, stored as JSON
---null) has no row; a run of a task's list that failed (no record) has one,
---status "failed", without epoch, metric or value. Seeds of one
---configuration share a group_key: group
---by it, not by variant, and keep status "ok" (a diverged run's epochs are
---there too), to average as the tables do. runs_or_dir: a runs folder
---(default <plots>/runs), a wb.Runs or a list of records; a folder that
---does not exist, or no runs at all, is an error and nothing is written.
---Returns the number of rows written. The per-step series are
---wb.runs.export_steps's.
---@param path string
---@param runs_or_dir? string|wb.Runs|table
---@return integer
---Example: wb.runs.export_history("history.csv", wb.runs.find{task = "task05_dropout"})
function M.export_history(path, runs_or_dir)
  argcheck(type(path) == "string", 1, "export_history", "string", path)
  local recs, _, label, failed = records_of(runs_or_dir, "export_history")
  recs = table.move(failed, 1, #failed, #recs + 1, table.move(recs, 1, #recs, 1, {}))
  local flat, ckeys = configs(recs)
  local lines, n = {id_head(ckeys, {"epoch", "metric", "value"}, true)}, 0
  for i, r in ipairs(recs) do
    local prefix = id_cells(r, flat[i], ckeys, label, true)
    if r.status == "failed" then -- no epochs: one row saying it, with no metric
      lines[#lines + 1] = prefix .. ",,,"
      n = n + 1
    end
    for _, s in ipairs(series_of(r)) do
      for e = 1, maxn(s.values) do
        local v = s.values[e]
        if v ~= nil and v == v then -- NaN is left out, as JSON null is
          lines[#lines + 1] = string.format("%s,%d,%s,%s", prefix, e, cell(s.name), cell(v))
          n = n + 1
        end
      end
    end
  end
  write(path, lines, "export_history")
  return n
end

-- The helpers of the per-step exports (wb/runs_export_steps.lua), and the
-- run's own columns for the measure check (wb/train_measures.lua).
M._csv = {records_of = records_of, cell = cell, configs = configs, write = write,
  id_head = id_head, id_cells = id_cells, maxn = maxn, own_columns = OWN_COLUMNS}
require "wb.runs_export_steps"
require "wb.runs_export_hist2d"

-- no return value: package.loaded keeps true, so a traceback names the
-- functions after the module they extend, not after this file
