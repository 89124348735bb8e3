-- wb/runs_export_steps.lua: the per-step records of runs as CSV files
-- for pandas: wb.runs.export_steps (history.steps: one row per run and
-- recorded step, a column per series) and wb.runs.export_grad_hist
-- (history.instruments.grad_hist: one row per run, measured step and bin).
--
-- The conventions are wb/runs_export.lua's (RFC 4180, the identity and
-- flattened config columns, a missing value as an empty cell, the file
-- written whole or not at all), and so are the helpers. Unlike the
-- per-epoch exports, a run without the data is named on stderr and its hash
-- returned, and a selection where no run has any is an error: a
-- header-only file would hide a config that did not record steps. Reads
-- records only.
local _ENV = require "wb.std"
local util = require "wb.util"
local runs = require "wb.runs"
local argcheck = require("wb.runs_group").argcheck
local csv = runs._csv
local records_of, cell, configs, write = csv.records_of, csv.cell, csv.configs, csv.write
local id_head, id_cells, maxn = csv.id_head, csv.id_cells, csv.maxn

local M = runs

-- Sort key of a series name: digit runs padded, so that grad_norm_2 comes
-- before grad_norm_10.
local function name_key(s)
  return (s:gsub("%d+", function(d) return string.rep("0", 12 - #d) .. d end))
end

local function by_name(a, b)
  local ka, kb = name_key(a), name_key(b)
  if ka ~= kb then return ka < kb end
  return a < b
end

-- "task-hash (variant seed s)": a run in a message.
local function run_name(r)
  return string.format("%s-%s (%s seed %s)", tostring(r.task), tostring(r.hash),
    tostring(r.variant), tostring(r.seed))
end

-- The records of recs that have rows (rows_of(r) > 0), their row counts;
-- the others are named on stderr and returned as a list of hashes, and
-- when none has rows nothing is written: an error at the caller of
-- export_<fname>.
local function with_rows(recs, where, fname, rows_of, what)
  local keep, nrows, skipped, names = {}, {}, {}, {}
  for _, r in ipairs(recs) do
    local n = rows_of(r)
    if n > 0 then keep[#keep + 1] = r; nrows[#keep] = n
    else skipped[#skipped + 1] = r.hash; names[#names + 1] = run_name(r) end
  end
  if #keep == 0 then
    local why = #recs == 0 and "no runs in " .. where
      or #recs == 1 and string.format("the run of %s has no %s", where, what)
      or string.format("none of the %d runs of %s has %s", #recs, where, what)
    error(string.format("wb.runs.%s: %s; nothing written", fname, why), 3)
  end
  if #names > 0 then
    local more = #names > 5 and string.format(" and %d more", #names - 5) or ""
    io.stderr:write(string.format("wb.runs.%s: %d of %d runs have no %s, not in the file: "
      .. "%s%s\n", fname, #names, #recs, what, table.concat(names, ", ", 1, math.min(5,
        #names)), more))
  end
  return keep, nrows, skipped
end

csv.with_rows = with_rows -- and wb/runs_export_hist2d.lua's

-- history.steps of r (a table of lists by series name) or nil.
local function steps_of(r)
  local st = type(r.history) == "table" and r.history.steps
  return type(st) == "table" and st or nil
end

-- The number of recorded steps of r: its longest step series.
local function n_steps(r)
  local n = 0
  for _, s in pairs(steps_of(r) or {}) do
    if type(s) == "table" then n = math.max(n, maxn(s)) end
  end
  return n
end

local STEPS_WHAT = "step series (history.steps: set log_every, or instruments and every, "
  .. "in the config)"

---wb.runs.export_steps(path, runs_or_dir) -> integer, table
---Writes the runs' per-step series (history.steps: log_every's loss,
---accuracy, lr, batch_size, and the instruments' grad_norm, grad_norm_1,
---distance, alpha, ...) to path as a CSV that pandas reads as it is: one
---row per run and recorded step, a column per series. Columns: hash, task,
---variant, label (export_csv's), seed, group_key, status, git_commit,
---git_uncommitted, command, script, hooks_read (what made the run, as
---export_csv's), the config
---flattened to columns (config.hidden, ...; the union over the runs,
---empty where absent), step, epoch, then every other series by name
---(grad_norm_2 before
---grad_norm_10; the union over the runs). A step a series has no value
---for (NaN, stored as JSON null; an instrument that did not measure at
---that step; a series the run does not have) is an empty cell, which
---pandas reads as NaN. Runs without step series have no rows: they are
---named on stderr and their hashes returned second; when no run has
---any, it is an error and nothing is written. runs_or_dir: a runs folder
---(default <plots>/runs; an error if it does not exist), a wb.Runs or a
---list of records. Returns the number of rows written and the list of
---skipped runs' hashes. The grad_hist counts are export_grad_hist's.
---@param path string
---@param runs_or_dir? string|wb.Runs|table
---@return integer
---@return string[]
---Example: wb.runs.export_steps("steps.csv", wb.runs.find{task = "task11_cockpit"})
---  -- pandas: d = pandas.read_csv("steps.csv", float_precision = "round_trip",
---  --   dtype = {"hash": str, "group_key": str}) -- ids of digits alone stay text
---  -- seeds of one configuration share a group_key (task 11 has three rates):
---  -- d[d.status == "ok"].groupby(["group_key", "step"]).grad_norm.mean()
function M.export_steps(path, runs_or_dir)
  argcheck(type(path) == "string", 1, "export_steps", "string", path)
  local recs, where, label = records_of(runs_or_dir, "export_steps")
  local keep, nrows, skipped = with_rows(recs, where, "export_steps", n_steps, STEPS_WHAT)
  local flat, ckeys = configs(keep)
  local names = {}
  for _, r in ipairs(keep) do
    for k, s in pairs(steps_of(r)) do
      if type(s) == "table" and k ~= "step" and k ~= "epoch" then names[tostring(k)] = true end
    end
  end
  names = util.sorted_keys(names)
  table.sort(names, by_name)
  table.insert(names, 1, "epoch"); table.insert(names, 1, "step")
  -- what made each run (commit, edits, command, script, hooks' reads), as
  -- export_csv's: a steps file alone says which code and command made it
  local lines, n = {id_head(ckeys, names, true)}, 0
  for i, r in ipairs(keep) do
    local prefix, st = id_cells(r, flat[i], ckeys, label, true), steps_of(r)
    for j = 1, nrows[i] do
      local row = {prefix}
      for c, k in ipairs(names) do
        local s = st[k]
        row[c + 1] = cell(type(s) == "table" and s[j] or nil)
      end
      lines[#lines + 1] = table.concat(row, ",")
      n = n + 1
    end
  end
  write(path, lines, "export_steps")
  return n, skipped
end

-- history.instruments[name] of r (a histogram instrument's record: its
-- measured steps and their counts), or nil.
local function hist_of(r, name)
  local ins = type(r.history) == "table" and r.history.instruments
  local gh = type(ins) == "table" and ins[name]
  if type(gh) == "table" and type(gh.counts) == "table" and type(gh.step) == "table" then
    return gh
  end
end

-- The rows of r's histogram `name` (grad_hist, grad_hist_2d): its measured
-- steps, 0 without one. keys: its fields that are numbers; sizes: those
-- that are positive integers, whose product is the counts a step. A
-- malformed one is an error at the caller of wb.runs.<fname> (this called
-- in tail position from with_rows' rows_of), not a guess at its edges.
local function hist_steps(r, name, fname, keys, sizes)
  local gh = hist_of(r, name)
  if not gh then return 0 end
  local function bad(what, got)
    error(string.format("wb.runs.%s: %s: %s %s, got %s; nothing written", fname, run_name(r),
      name, what, got), 5)
  end
  for _, k in ipairs(keys) do
    if type(gh[k]) ~= "number" then bad(k .. ": expected a number", type(gh[k])) end
  end
  local want = 1
  for _, k in ipairs(sizes) do
    if not (math.tointeger(gh[k]) and gh[k] > 0) then
      bad(k .. ": expected a positive integer", tostring(gh[k]))
    end
    want = want * gh[k]
  end
  local n = maxn(gh.counts)
  if maxn(gh.step) ~= n then bad(("step: expected %d steps (one per counts)"):format(n),
    maxn(gh.step)) end
  for j = 1, n do
    local c = gh.counts[j]
    if type(gh.step[j]) ~= "number" then bad(("step[%d]: expected a number"):format(j),
      type(gh.step[j])) end
    if type(c) ~= "table" or #c ~= want then
      bad(("counts[%d]: expected %d counts"):format(j, want),
        type(c) == "table" and #c .. " counts" or type(c))
    end
    for b = 1, want do
      if type(c[b]) ~= "number" then bad(("counts[%d][%d]: expected a number"):format(j, b),
        type(c[b])) end
    end
  end
  return n
end
csv.hist_of, csv.hist_steps = hist_of, hist_steps -- and wb/runs_export_hist2d.lua's

local function n_hist(r)
  return hist_steps(r, "grad_hist", "export_grad_hist", {"lo", "hi", "bins"}, {"bins"})
end

---wb.runs.export_grad_hist(path, runs_or_dir) -> integer, table
---Writes the runs' grad_hist (history.instruments.grad_hist: per measured
---step, the counts of the per-sample gradient entries in `bins` equal
---bins over [lo, hi), 64 over [-1, 1)) to path as a CSV that pandas reads
---as it is: one row per run and measured step, a column per bin, the
---layout of a step x bin image. Columns: hash, task, variant, label, seed,
---group_key, status, the config flattened to columns, step, lo, hi,
---count_1 .. count_<bins> (bin b covers [lo + (b-1) w, lo + b w) with
---w = (hi - lo) / bins; count_1 also counts the entries below lo, the last
---those at or above hi). Wide rather than export_history's long format:
---a row of 64 counts is about a twentieth of 64 rows that each repeat the
---run's columns, and d.filter(like = "count_").to_numpy() is the image;
---melt gives the long form. Merge with export_steps's file on hash and step
---for the epoch and the other series. Runs without grad_hist have no
---rows: they are named on stderr and their hashes returned second; when
---no run has any, it is an error and nothing is written (so is a
---malformed grad_hist). runs_or_dir: a runs folder (default
---<plots>/runs; an error if it does not exist), a wb.Runs or a list of
---records. Returns the number of rows written and the list of skipped
---runs' hashes.
---@param path string
---@param runs_or_dir? string|wb.Runs|table
---@return integer
---@return string[]
---Example: wb.runs.export_grad_hist("grad_hist.csv", wb.runs.find{task = "task11_cockpit"})
function M.export_grad_hist(path, runs_or_dir)
  argcheck(type(path) == "string", 1, "export_grad_hist", "string", path)
  local recs, where, label = records_of(runs_or_dir, "export_grad_hist")
  local keep, _, skipped = with_rows(recs, where, "export_grad_hist", n_hist,
    "grad_hist (history.instruments.grad_hist: instruments with grad_hist in the config)")
  local flat, ckeys = configs(keep)
  local bins = 0
  for _, r in ipairs(keep) do bins = math.max(bins, math.tointeger(hist_of(r, "grad_hist").bins)) end
  local head = {"step", "lo", "hi"}
  for b = 1, bins do head[#head + 1] = "count_" .. b end
  local lines, n = {id_head(ckeys, head)}, 0
  for i, r in ipairs(keep) do
    local prefix, gh = id_cells(r, flat[i], ckeys, label), hist_of(r, "grad_hist")
    local lo, hi = cell(gh.lo), cell(gh.hi)
    for j = 1, maxn(gh.counts) do
      local row = {prefix, cell(gh.step[j]), lo, hi}
      for b = 1, bins do row[b + 4] = cell(gh.counts[j][b]) end
      lines[#lines + 1] = table.concat(row, ",")
      n = n + 1
    end
  end
  write(path, lines, "export_grad_hist")
  return n, skipped
end

-- no return value: package.loaded keeps true, so a traceback names the
-- functions after the module they extend, not after this file
