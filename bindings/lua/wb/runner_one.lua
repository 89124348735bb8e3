-- wb/runner_one.lua: a task's --run HASH: one run trained alone (a local
-- runner's child, a line of --list-runs, a --slurm array element), under
-- its own lock (wb/root_lock.lua), unless it is recorded.
--
-- A --slurm element of a run its runner found recorded but not reusable
-- (audit V3) gets $WB_STALE_RECORD, the id of that record's file as the
-- runner read it (wb/slurm_submit.lua). It trains the run only while the
-- record is still that one: a record written since (a later runner that
-- could not ask Slurm trained the run here; an earlier try of this same
-- element, requeued) is someone's training of it, and training again would
-- be the run twice (audit W1). It does not judge the record itself: its
-- own environment may differ from the runner's (a site's
-- SBATCH_EXPORT=NONE), and the runner decided.
local _ENV = require "wb.std"
local wb = require "wb"
local util, record = require "wb.util", require "wb.record"
local cockpit_run = require "wb.cockpit_run" -- a run's epoch lines
local runner_watch = require "wb.runner_watch" -- a child's side of the pipe
local reusable = require("wb.runner_records").reusable

local M = {}

-- The environment variable (internal: the element script sets it).
M.STALE = "WB_STALE_RECORD"

-- The id of a record file's bytes, as $WB_STALE_RECORD holds it.
function M.file_id(bytes) return util.fnv1a64(bytes) end

-- What $WB_STALE_RECORD asks of run s: "train" (the record is still the one
-- the runner judged, or gone), "skip" and why (another record since), or
-- nil when it is not set.
local function stale_check(ex, s)
  local id = os.getenv(M.STALE)
  if id == nil or id == "" then return nil end
  if not id:match("^%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x$") then
    error(wb.spec.input_error(string.format("[%s] $%s is '%s'; expected the 16 hex digits of "
      .. "a record file's id (set by a --slurm element's script, not by hand)", ex.name,
      M.STALE, id)), 0)
  end
  local path = record.path(ex.root, ex.name, s.hash)
  local now = util.read_file(path)
  if now == nil or M.file_id(now) == id then return "train" end
  return "skip", string.format("its record %s is not the one the runner that submitted this "
    .. "element found not reusable (file id %s then, %s now): written since by another "
    .. "process (a later runner trained the run, or an earlier try of this element did before "
    .. "it was requeued): nothing trained here", path, id, M.file_id(now))
end

-- Trains run s alone (--run HASH), unless it is recorded: a listed command
-- run twice is said, not a silent success. train_run(ex, s, o) trains.
function M.train(ex, s, opts, train_run)
  local stale, why = stale_check(ex, s)
  if stale == "skip" then
    io.stderr:write(string.format("[%s] run %s (%s seed %d): %s\n", ex.name, s.hash, s.variant,
      s.seed, why))
  elseif stale == "train" or opts.fresh or not s.cacheable or not reusable(ex, s) then
    local line, look, cbs = cockpit_run.epoch_line(s), runner_watch()
    train_run(ex, s, {callbacks = cbs, on_epoch = function(...) look() return line(...) end})
  else
    io.stderr:write(string.format("[%s] run %s (%s seed %d) is recorded: nothing to "
      .. "train (--fresh retrains it)\n", ex.name, s.hash, s.variant, s.seed))
  end
end

return M
