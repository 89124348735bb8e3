-- wb/runner_gather_same.lua: whether two records of one run (one hash: same
-- config, code, data and hooks) hold the same results and differ only in
-- provenance: where, when, by which command and in which checkout it was
-- trained, and how long it took. --gather called such a record "recorded
-- here with other results" and exited 1, for a training that was
-- bit-identical (history, metrics, weight tensors) and only had, say, an
-- untracked file more in its checkout (git_uncommitted, and the weights
-- files' metadata that says so).
local _ENV = require "wb.std"
local util = require "wb.util"
local cjson = require "cjson"

local M = {}

-- The fields that say how a run came about, not what it gave (wb/train.lua
-- write): a difference in any other field is a difference in results.
local PROVENANCE = {"command", "finished_at", "pid", "host", "blas_core", "slurm",
  "version", "git_commit", "git_uncommitted", "git_changes", "script", "reused_from",
  "resumed_after_epoch", "concurrent_jobs", "cores"}
-- Timings, one name for them all in what gather says (M.TIMINGS: also which of a record's
-- metrics are the clock's, wb/runs_copies.lua).
local TIMINGS = {{"wall_time"}, {"sec_per_epoch"}, {"measure_seconds"},
  {"history", "epoch_time"}, {"history", "instruments", "seconds"},
  {"metrics", "train_seconds"}, {"metrics", "sec_per_epoch"}}
M.TIMINGS = TIMINGS
-- Shown with both values (short), the others by name.
local SHOWN = {git_commit = true, git_uncommitted = true, host = true, version = true,
  blas_core = true}

-- M.results(r) -> table: a deep copy of record r without its provenance,
-- timings, checksum and weights' file ids (the weights are compared by
-- their tensors). Also what identifies a record a hook's wb.runs.find
-- answered (wb/identity_reads_runs.lua).
local function results(r)
  local c = util.plain(r)
  for _, k in ipairs(PROVENANCE) do c[k] = nil end
  c.checksum, c.weights_ids = nil, nil
  for _, path in ipairs(TIMINGS) do
    local t = c
    for i = 1, #path - 1 do t = type(t) == "table" and t[path[i]] or nil end
    if type(t) == "table" then t[path[#path]] = nil end
  end
  return c
end
M.results = results

-- A safetensors file's tensors (its header without __metadata__, and the
-- data), or nil when it cannot be read as one.
local function tensors(path)
  local s = util.read_file(path)
  if not s or #s < 8 then return nil end
  local n = string.unpack("<I8", s)
  if n > #s - 8 then return nil end
  local ok, h = pcall(cjson.decode, s:sub(9, 8 + n))
  if not ok or type(h) ~= "table" then return nil end
  h.__metadata__ = nil
  return util.canonical(h) .. "\0" .. s:sub(9 + n)
end

-- M.compare(a, adir, b, bdir) -> table|nil:
-- Records a (in runs folder adir) and b (in bdir) of one run: the names of
-- the provenance fields in which they differ ("timings" for them all; both
-- values for git_commit, git_uncommitted, host, version, blas_core; "weights
-- metadata" when the weights files differ only there), when their results
-- are the same: every other field equal, and their weights files' tensors
-- bit-identical; nil when the results differ.
function M.compare(a, adir, b, bdir)
  if util.canonical(results(a)) ~= util.canonical(results(b)) then return nil end
  local out, timings = {}, false
  for _, k in ipairs(PROVENANCE) do
    if util.canonical(a[k]) ~= util.canonical(b[k]) then
      out[#out + 1] = SHOWN[k] and string.format("%s %s vs %s", k, util.canonical(a[k]),
        util.canonical(b[k])):gsub('"', "") or k
    end
  end
  for _, path in ipairs(TIMINGS) do
    local x, y = a, b
    for _, p in ipairs(path) do
      x, y = type(x) == "table" and x[p] or nil, type(y) == "table" and y[p] or nil
    end
    timings = timings or util.canonical(x) ~= util.canonical(y)
  end
  if timings then out[#out + 1] = "timings" end
  if util.canonical(a.weights_ids) ~= util.canonical(b.weights_ids) then
    for _, w in ipairs{a.weights or false, a.best_weights or false} do
      if w then
        local x = tensors(adir .. "/" .. util.basename(w))
        if not x or x ~= tensors(bdir .. "/" .. util.basename(w)) then return nil end
      end
    end
    out[#out + 1] = "weights metadata"
  end
  return out
end

return M
