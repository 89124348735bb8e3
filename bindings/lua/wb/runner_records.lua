-- wb/runner_records.lua: a task's runs against the records on its root
-- (wb/runner.lua's plan and gather): which may be reused, which are to
-- train, and the records the report is made from. Private to the runner.
local _ENV = require "wb.std"
local wb, record = require "wb", require "wb.record"
local util = require "wb.util"
local reads = require "wb.identity_reads"

local M = {}

-- The files the runs' hooks come from as this process loaded them: the
-- script and the Lua modules it required, {{path, id}} (content ids); once
-- a plan. A --run that finds no run of its hash names those changed since
-- (wb/runner_norun.lua): a helper edited in the middle of a sweep.
local function sources(ex, script)
  if ex._sources then return ex._sources end
  local paths, ids = reads.modules()
  local out = util.array()
  if script and wb.sys.kind(script) == "file" then
    local p = require("wb.runner_options").absolute(script)
    out[1] = {path = p, id = reads.file_id(p)}
  end
  for _, p in ipairs(paths) do out[#out + 1] = {path = p, id = ids[p]} end
  ex._sources = out
  return out
end

-- Writes run s's spec file (its plan: config, identity, command; the files
-- its hooks come from). One that cannot be written (a folder in its place,
-- a full disk) is one line naming it, its status 73 / 74, not a traceback.
function M.write_spec(ex, s, script)
  local ok, err = pcall(util.write_json, record.path(ex.root, ex.name, s.hash, "spec"),
    {hash = s.hash, task = ex.name, variant = s.variant, seed = s.seed, config = s.config,
    identity = s.identity, group_key = s.group_key, command = ex.command(s.hash),
    sources = sources(ex, script)})
  if ok then return end
  if not wb.is_error(err) then error(err, 0) end
  error(wb.spec.input_error(string.format("[%s] cannot write the spec of run %s: %s",
    ex.name, s.hash, util.error_line(err)), err.code), 0)
end

function M.load_record(ex, hash)
  return util.read_json(record.path(ex.root, ex.name, hash, "json"))
end

-- Run s's record when it may be reused; nil when there is none, or nil,
-- the file and what happened to it when a file its hooks read as it ran
-- (read_files, wb/identity_reads.lua) is not as recorded: a cache that
-- might be stale is a bug. A record from before read_files is reused. A
-- record that is there but not JSON (torn, edited) is said too: it was once
-- retrained without a word. So is one that is JSON but not a well-formed
-- record (wb.record.read: a metric edited into a string, a field gone),
-- or not this run's (a record copied over another's file: its hash, task,
-- variant or seed are another run's): reused, its numbers were another
-- run's or left out of the task's tables. So is one whose content does not
-- match the checksum written with it (wb.record.write: a number edited by
-- hand, a partial copy, a merge or sync conflict), or that has none (an
-- older workbench's, or written by hand: nothing vouches for its numbers),
-- or whose weights are not the files it was written with (weights_ids).
function M.reusable(ex, s, memo, just_trained)
  local hash = s.hash
  local file = record.path(ex.root, ex.name, hash, "json")
  -- read once (a record of every step's instruments is megabytes of JSON);
  -- read_json only to say why one that wb.record.read refuses is refused
  local ok, bad, kind = record.read(file)
  if not ok and not M.load_record(ex, hash) then
    return nil, wb.sys.exists(file) and file or nil, "is not valid JSON"
  elseif not ok then
    return nil, file, kind == "checksum" and ("is not as written: " .. bad)
      or ("is not a well-formed run record (" .. bad .. ")")
  end
  if ok.hash ~= hash or ok.task ~= ex.name or ok.variant ~= s.variant or ok.seed ~= s.seed then
    return nil, file, string.format("is not this run's record (it says task %s, run %s, "
      .. "variant %s, seed %s; this run is %s seed %d)", ok.task, ok.hash, ok.variant,
      tostring(ok.seed), s.variant, s.seed)
  end
  if ok.checksum == nil then
    return nil, file, "has no checksum (written by a workbench from before records had one, "
      .. "or by hand): nothing vouches that its numbers are a training's"
  end
  -- its weights (tasks load them to report): the files it was written with
  local wpath, wwhy = record.weights_changed(record.dir(ex.root), ok)
  if wpath then return nil, wpath, wwhy end
  -- a run trained by this invocation is this training, whatever it read (a command's output)
  local path, what = reads.changed(not just_trained and ok.read_files or nil, memo)
  if path then return nil, path, what end
  return ok
end

-- A run's cost for the order: epochs x rows x (the per-step overhead of
-- small batches) x its hidden width (a default MLP's; 128 otherwise: a
-- build hook's model is not known here). Epochs alone put hidden = 512
-- last of {32, 128, 512}.
local function cost_of(c) -- rawget: a build hook's config refuses keys it does not declare
  local hidden, subset = rawget(c, "hidden"), rawget(c, "subset")
  local width = 0
  for _, h in ipairs(type(hidden) == "table" and hidden or {hidden or 128}) do
    width = width + (tonumber(h) or 128)
  end
  local rows = type(subset) == "table" and tonumber(rawget(subset, "train")) or 60000
  return (rawget(c, "epochs") or 10) * rows * (1 + 16 / (rawget(c, "batch_size") or 32)) * width
end

-- The runs to train, longest first (cost_of): a long run started last
-- would leave the other jobs idle; and the lines saying why recorded runs
-- train again, for the caller to print after its plan line (the first).
function M.pending_of(ex, fresh)
  -- --fresh retrains: no run adopts a recorded equal training (its own included)
  local pending, cost, memo, said = {}, {}, {}, {}
  ex.reuse = not fresh and ex.reuse
  for i, s in ipairs(ex.specs) do
    local rec, path, what
    if not fresh and s.cacheable then
      rec, path, what = M.reusable(ex, s, memo)
      if path then
        said[#said + 1] = string.format("[%s] run %s: %s %s: retraining\n", ex.name, s.hash,
          path, what)
      end
    end
    if not rec then
      pending[#pending + 1] = s
      cost[s] = cost_of(s.config) * (1 - i * 1e-12)
    end
  end
  table.sort(pending, function(a, b) return cost[a] > cost[b] end)
  return pending, table.concat(said)
end

-- The records of ex's runs; failures gets those whose record is not there (or no longer
-- reusable) though it was cached or trained: removed or edited while the task ran (another
-- runner on this root, a hook). Counted as failed ("2 of 3 (1 failed)"), never a seed
-- fewer without a word.
function M.gather(ex, failures, pending)
  local recs, memo, failed, trained = {}, {}, {}, {}
  for _, s in ipairs(pending) do trained[s.hash] = true end
  for _, f in ipairs(failures) do failed[f.spec.hash] = true end
  for _, s in ipairs(ex.specs) do
    -- a stale record whose retraining failed is not reported as this run (an
    -- unidentified hook's is another code's: it was reported, "1 of 2 (1 failed)")
    local r, path, what
    if failed[s.hash] then r = nil
    elseif s.cacheable then r, path, what = M.reusable(ex, s, memo, trained[s.hash])
    else r = M.load_record(ex, s.hash) end
    if r then recs[#recs + 1] = r
    elseif not failed[s.hash] then
      local why = string.format("%s %s while the task ran (another runner on this root?)",
        path or record.path(ex.root, ex.name, s.hash, "json"), path and what
        or "was removed")
      io.stderr:write(string.format("[%s] run %s (%s seed %d): %s\n", ex.name, s.hash,
        s.variant, s.seed, why))
      failures[#failures + 1] = {spec = s, error = why, status = 1}
    end
  end
  local runs = wb.runs.Runs(recs, ex)
  runs.failures = failures
  return runs
end

return M
