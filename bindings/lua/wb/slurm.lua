-- wb/slurm.lua: a task's runs on other machines.
--
--   --slurm: the runs still to train go to one Slurm job array (sbatch
--     --array=1-N; several of at most MaxArraySize - 1 runs when more),
--     element i training the run on line i of its list with the command
--     --list-runs prints (cd to the folder, then the script as named;
--     wb/slurm_submit.lua); the runner then waits (polling squeue, on the
--     cluster sbatch names: --sbatch "-M other"), and gathers and draws as
--     after a local training. A run whose element left no record is a
--     failure named with its Slurm job id and log. --detach submits,
--     prints the job ids and returns. Runs still in the queue from an
--     earlier submission are not trained again, here or there (M.busy);
--     two runners of a root at once (--slurm or local) are one after the
--     other (a lock, wb/root_lock.lua), the second refused, naming the first.
--   --gather DIR: records (and their weights) of this task's runs, copied
--     from another root (GNU parallel over ssh without a shared folder),
--     each checked by identity and never over a different record here
--     (wb/gather.lua).
-- The cluster must see this root (records are written there by the array's
-- elements), as Slurm clusters share home or project folders.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local record = require "wb.record"
local queue = require "wb.slurm_queue"
local reads = require "wb.identity_reads"

---wb.slurm
---A task's pending runs as one Slurm job array (--slurm, --sbatch OPTS,
-----detach) and records imported from another root (--gather DIR). The
---runner calls these; a script never needs to.
---Example: -- workbench scripts/task05_dropout.lua --slurm --sbatch "--time=1:00:00"
local M = {}

local sopts = require "wb.slurm_options" -- --sbatch and --slurm checked
M.RESERVED, M.check_options = sopts.RESERVED, sopts.check_options

-- {==================== the job array ====================

local run = queue.run

local submit = require "wb.slurm_submit" -- the arrays, sbatch
local one = require "wb.runner_one" -- an element's check of a stale run's record (file_id)

-- The file that says which element run `hash` was last sent to.
local function marker(ex, hash)
  return string.format("%s/slurm/%s-%s.job", record.dir(ex.root), ex.name, hash)
end

-- Slurm's states of an element that has not ended (a requeued one's too).
local LIVE = {PENDING = true, RUNNING = true, SUSPENDED = true, REQUEUED = true,
  REQUEUE_HOLD = true, REQUEUE_FED = true, CONFIGURING = true, RESIZING = true,
  SIGNALING = true, STOPPED = true, SPECIAL_EXIT = true}

-- scontrol's answer for an array element cancelled while it was pending:
-- "Job 5_4 not found" (a finished array is "Invalid job id" instead).
local function gone_pending(st)
  return st:find("^%s*Job %d+_%d+ not found") ~= nil
    or st:find("\nJob %d+_%d+ not found") ~= nil
end

---wb.slurm.busy(ex, runs) -> string | nil
---Why runs (specs of ex) may not be trained now, or nil: some are still in
---Slurm's queue (pending, running, requeued), sent there from ex's root by
---an earlier --slurm (--detach), and training them again would train them
---twice at once, over each other's files. An element is known by its
---submission (<root>/runs/slurm/<task>-<hash>.job names its job and its
---log's stamp: job ids come again after a controller lost its state); nil
---when none was sent or Slurm cannot be asked, then with a notice naming
---the runs Slurm could not be asked about (the caller says it: they are
---trained here, the per-run lock keeps a copy still running there off
---their files).
---@param ex wb.Experiment
---@param runs table
---@return string|nil, string|nil
---Example: -- called by wb.runner.main before any training
function M.busy(ex, runs)
  local out, jobs, unasked, why, waiting = {}, {}, {}, nil, {}
  for _, s in ipairs(runs) do
    local m = util.read_json(marker(ex, s.hash)) or {}
    local job, stamp = tostring(m.job), tostring(m.stamp)
    local cluster = type(m.cluster) == "string" and m.cluster or nil
    if job:match("^%d+_%d+$") then
      local st, ok = run("scontrol" .. queue.on(cluster) .. " -o show job " .. job)
      -- "Invalid job id": the job left the queue (forgotten after MinJobAge);
      -- "Job A_i not found": an element cancelled while pending (audit V2);
      -- anything else (no controller, a timeout) leaves it unknown
      if not ok and not st:find("Invalid job id", 1, true) and not gone_pending(st) then
        unasked[#unasked + 1] = string.format("%s seed %d (Slurm job %s)", s.variant, s.seed,
          job)
        why = why or (st:match("[^\n]+") or "no output")
      end
      -- its log's name holds the stamp, or its script's (Command=)
      local state = ok and st:find("-" .. stamp .. ".", 1, true) and st:match("JobState=(%S+)")
      if state and LIVE[state] then
        local pid, host = tostring(m.waiter):match("^workbench pid (%d+) on (%S+)$")
        if pid and host == wb.sys.hostname() and util.pid_alive(pid) then
          waiting[m.waiter] = true
        end
        out[#out + 1] = string.format("%s seed %d (Slurm job %s%s, %s)", s.variant, s.seed, job,
          cluster and (" on cluster " .. cluster) or "", state)
        local id = job:match("^%d+")
        if not jobs[id .. ";" .. (cluster or "")] then
          jobs[id .. ";" .. (cluster or "")] = true
          jobs[#jobs + 1] = {job = id, cluster = cluster}
        end
      end
    end
  end
  if #out == 0 then
    if #unasked == 0 then return nil end
    return nil, string.format("[%s] Slurm could not be asked about %d run%s an earlier "
      .. "--slurm sent (%s: %s): trained again now; if still queued there, the per-run lock keeps "
      .. "the two off each other's files", ex.name, #unasked, #unasked == 1 and "" or "s",
      table.concat(unasked, ", "), why)
  end
  table.sort(jobs, function(a, b) return tonumber(a.job) < tonumber(b.job) end)
  local waiters = util.sorted_keys(waiting)
  local cancel = #waiters > 0 and string.format("; %s waits on them (the runner that sent "
    .. "them): let it finish, or stop it (Ctrl-C cancels its array); cancelling them "
    .. "(%s) makes it report them failed", table.concat(waiters, ", "),
    queue.commands("scancel", jobs, " ")) or string.format(", or cancel them (%s)",
    queue.commands("scancel", jobs, " "))
  return string.format("[%s] %d of the runs to train %s still in Slurm's queue, sent by an "
    .. "earlier --slurm: %s; nothing trained or submitted: run the task again once they have "
    .. "left it (%s)%s", ex.name, #out, #out == 1 and "is" or "are", table.concat(out, ", "),
    queue.commands("squeue", jobs, ",", "-j "), cancel)
end

-- The first file or variable record rec's hooks read that is not here as
-- its element found it, and how; nil when all are, or cannot be checked (a
-- command's output is as recorded nowhere: such a run is never reused).
local function not_as_here(rec, memo)
  for _, e in ipairs(type(rec.read_files) == "table" and rec.read_files or {}) do
    local how, checked = reads.entry_changed(e, memo, true)
    if how and checked then return tostring(e.path), how end
  end
end

-- Why element `id`'s run left no record: its log's error line, else what
-- Slurm says of the element (a killed element has no "EXIT" line).
local function why_failed(id, log, cluster)
  local s = util.read_file(log)
  if not s then
    local st = run("scontrol" .. queue.on(cluster) .. " -o show job " .. id)
    local state, reason = st:match("JobState=%S+"), st:match("Reason=(%S+)")
    if not state and gone_pending(st) then
      return "cancelled or removed before it started (no log; Slurm no longer knows it)"
    end
    if not state then return "no log; Slurm says " .. st:gsub("%s+$", "") end
    -- a launch that failed: the node could not open the log in the root
    -- a cancelled job keeps its last pending reason ("CANCELLED (Resources)": tryK)
    local shown = reason and reason ~= "None" and state ~= "JobState=CANCELLED"
    return string.format("no log; Slurm says %s%s%s", state, shown and (" (" .. reason .. ")")
      or "", state == "JobState=FAILED" and string.format(
      ": %s could not write it (the root must be on a folder the nodes share)",
      st:match("BatchHost=(%S+)") or "its node") or "")
  end
  -- a requeued element's log holds each attempt after a line of its own: the last one's
  s = ("\n" .. s):match(".*\n%-%-%-%- requeued: [^\n]*\n(.*)$") or s
  local code = s:match("\nEXIT (%d+)%s*$") or s:match("^EXIT (%d+)%s*$")
  local first
  for l in s:gmatch("[^\n]+") do
    if not (l:match("^%s") or l:match("^stack traceback") or l:match("^epoch %d")
      or l:match("^EXIT %d")) then first = first or l end
  end
  if not code then
    local st = run("scontrol" .. queue.on(cluster) .. " -o show job " .. id)
    return string.format("cut short (%s)%s", st:match("JobState=%S+") or "Slurm forgot it",
      first and (": " .. first) or "")
  end
  -- exit 0 and no new record: the element found it recorded where it ran
  return string.format("exit %s%s: %s", code, code == "0" and " without writing a new record"
    or "", first or "no message")
end

---wb.slurm.train(ex, pending, opts, describe, release) -> table | nil, integer
---Trains the pending runs of experiment ex as one Slurm job array (several
---when they are more than the cluster's MaxArraySize lets one hold) and
---waits for them, on the cluster sbatch put them on (-M in opts.sbatch);
---returns the failures ({spec, error, log, job}); or nil and the exit
---status after submitting with opts.detach (0), or (1, the reason on
---stderr) when sbatch refused (arrays queued before are cancelled), an
---earlier --slurm has the runs in the queue, squeue kept failing while
---waiting (the arrays are then left as they are), or Slurm will never start
---an array by itself (the arrays are cancelled, and the reason said with
---what to do: DependencyNeverSatisfied, BadConstraints, PartitionTimeLimit,
---InvalidAccount, InvalidQOS, AccountNotAllowed, QOSNotAllowed,
---ReservationDeleted, a QOS's or association's per-job limit). While
---waiting, why an array's elements are pending is said when it changes.
---A run recorded but not reusable here is trained again by its element
---(not judged again where the element runs) while its record is the one
---judged here: one written since by another process (a later runner that
---could not ask Slurm, a requeued element's first try) is kept, and the
---element trains nothing and says so in its log. A record whose hooks'
---reads are not as here (the element's environment differs) is said; one
---not written by its element is said as recorded by another process.
---opts.sbatch: more sbatch options (shell text). describe(record) says how
---a run ended.
---release() frees the root's lock the caller took (wb/root_lock.lua):
---called once the submitted runs are noted.
---@param ex wb.Experiment
---@param pending table
---@param opts table
---@param describe function
---@param release function
---@return table|nil
---@return integer|nil
---Example: -- called by wb.runner.main for --slurm
function M.train(ex, pending, opts, describe, release)
  -- a record is new when its file differs from before (--fresh keeps the
  -- old); read before sbatch: an element may have finished when it returns
  local before, seen, done, stale = {}, {}, 0, {}
  for i, s in ipairs(pending) do
    before[i] = util.read_file(record.path(ex.root, ex.name, s.hash)) or ""
    -- recorded, yet to train: not reusable here, so its element trains it,
    -- not judging it again in its own environment (audit V3), while the
    -- record is still this one (its file id: wb/runner_one.lua, audit W1)
    stale[i] = before[i] ~= "" and not opts.fresh and one.file_id(before[i])
  end
  -- the caller holds the root's lock (wb/root_lock.lua) from its plan: one
  -- runner at a time from the queue check to the notes of what was
  -- submitted (two at once both passed the check); released once noted
  local _, found = run("command -v sbatch")
  if not found then
    release()
    io.stderr:write(string.format("[%s] --slurm: sbatch is not on PATH (run where Slurm's "
      .. "client commands are, or install slurm-client)\n", ex.name))
    return nil, 1
  end
  local ok, sub, why = pcall(function()
    local busy = M.busy(ex, pending)
    if busy then return nil, busy end
    -- each array's runs noted as soon as it is queued
    local done_sub, err = submit(ex, pending, opts.sbatch, function(a)
      for k = 1, a.n do
        -- and the runner that waits on it (none with --detach): a second runner is told
        -- that one is waiting, not only to cancel the array under it (tryK)
        util.write_json(marker(ex, pending[a.first + k - 1].hash), {job = a.job .. "_" .. k,
          stamp = a.stamp, cluster = a.cluster, waiter = not opts.detach and
          string.format("workbench pid %d on %s", wb.sys.getpid(), wb.sys.hostname()) or nil})
      end
    end, stale)
    if not done_sub then return nil, string.format("[%s] --slurm: %s", ex.name, err) end
    return done_sub
  end)
  release()
  if not ok then error(sub, 0) end
  if not sub then
    io.stderr:write(why, "\n")
    return nil, 1
  end
  local arrays = sub.arrays
  for _, l in ipairs(sub.notes) do io.stderr:write(string.format("[%s] %s\n", ex.name, l)) end
  if #arrays > 1 then
    io.stderr:write(string.format("[%s] %d runs to train in %d job arrays: this cluster's "
      .. "MaxArraySize is %d (scontrol show config), at most %d runs an array\n", ex.name,
      #pending, #arrays, sub.max, sub.max - 1))
  end
  for _, a in ipairs(arrays) do
    io.stderr:write(string.format("[%s] Slurm job array %s%s: %d run%s (logs %s)\n", ex.name,
      a.job, a.cluster and (" on cluster " .. a.cluster) or "", a.n, a.n == 1 and "" or "s",
      (sub.log(a.first):gsub("_1%-([^/]*)$", "_*-%1"))))
  end
  if opts.detach then
    for _, a in ipairs(arrays) do io.stdout:write(a.job, "\n") end
    io.stderr:write(string.format("[%s] detached: run the task again without --slurm once "
      .. "%s %s left the queue (%s) to draw from its records\n", ex.name, queue.named(arrays),
      #arrays == 1 and "has" or "have", queue.commands("squeue", arrays, ",", "-j ")))
    return nil, 0
  end
  local function element(i)
    local a, k = sub.at(i)
    return a.job .. "_" .. k, a.cluster
  end
  local function report(i, what)
    done = done + 1
    local s = pending[i]
    io.stderr:write(string.format("[%s %d/%d] %s seed %d: %s\n", ex.name, done, #pending,
      s.variant, s.seed, what))
  end
  -- a record whose hooks read what is not so here (an environment variable
  -- the element did not get: --export, a site's SBATCH_EXPORT=NONE, a node's
  -- own): it describes the element's environment; said, as a run here
  -- would not reuse it
  local memo, elsewhere = {}, {}
  local function look()
    for i, s in ipairs(pending) do
      local path = record.path(ex.root, ex.name, s.hash)
      local rec = not seen[i] and (util.read_file(path) or before[i]) ~= before[i]
        and util.read_json(path)
      if rec then
        seen[i] = true
        local what, how = not_as_here(rec, memo)
        if what then -- machine: a value of the node's (its entry says what to do)
          elsewhere[#elsewhere + 1] = {s = s, what = what .. " " .. how,
            machine = reads.machine_only(rec.read_files, memo) ~= nil}
        end
        -- not its element's: another process recorded it meanwhile (a runner
        -- that could not ask Slurm); the element then trains nothing (audit W1)
        local id = element(i)
        local by = type(rec.slurm) == "table" and (tostring(rec.slurm.array_job) .. "_"
          .. tostring(rec.slurm.task))
        report(i, describe(rec) .. (by == id and (" (Slurm job " .. id) or (" (recorded by "
          .. "another process, not by Slurm job " .. id)) .. (what and ("; trained where "
          .. what .. " is not as here") or "") .. ")")
      end
    end
  end
  -- a signal: the local runner's line (the runs recorded by then: a last look), then what
  -- became of the arrays (tryK 7: it was another line, without the count)
  local left, last = queue.wait(ex.name, arrays, look, function(detail)
    pcall(look)
    return require("wb.runner_stop")("interrupted!", ex, done, #pending, detail)
  end)
  if left == nil then -- never to start (a failed dependency): cancelled
    io.stderr:write(last, "\n")
    return nil, 1
  end
  if not left then
    -- nothing known of the elements: none is called failed, none cancelled
    local one = #arrays == 1
    io.stderr:write(string.format("[%s] --slurm: squeue failed %d times in a row (last: %s): "
      .. "stopped waiting for %s, left as it is (not cancelled: its elements may still train "
      .. "and write their records); run the task again without --slurm once %s left the "
      .. "queue (%s) to draw from its records, or cancel %s (%s)\n", ex.name,
      queue.SQUEUE_TRIES, last, queue.named(arrays), one and "it has" or "they have",
      queue.commands("squeue", arrays, ",", "-j "), one and "it" or "them",
      queue.commands("scancel", arrays, " ")))
    return nil, 1
  end
  -- a shared folder may show a record a little after its element ended (NFS
  -- attribute caches): a few more looks while an element said EXIT 0 alone
  for _ = 1, 10 do
    local late = false
    for i in ipairs(pending) do
      local log = util.read_file(sub.log(i)) or ""
      late = late or (not seen[i] and log:find("EXIT 0%s*$") ~= nil)
    end
    if not late then break end
    wb.sys.sleep(1) -- in this process: a Ctrl-C is not lost with a sleep child
    look()
  end
  if #elsewhere > 0 then
    local one, machine = #elsewhere == 1, true
    for _, e in ipairs(elsewhere) do machine = machine and e.machine end
    io.stderr:write(string.format("[%s] %d run%s trained on Slurm in another environment "
      .. "than this one (here %s): %s record%s describe%s the element%s environment (sbatch "
      .. "--export, a site's SBATCH_EXPORT=NONE, a node's own), drawn from now; a run here "
      .. "will train %s again. %s\n", ex.name, #elsewhere, one and " was" or "s were",
      elsewhere[1].what, one and "its" or "their", one and "" or "s", one and "s" or "",
      one and "'s" or "s'", one and "it" or "them", machine and "A value of the machine "
      .. "cannot be exported: put what the hooks derive from it in the config (identZ, K3)"
      or "Give the elements what the hooks read (--sbatch --export=ALL), or set it in the job"))
  end
  local failures = {}
  for i, s in ipairs(pending) do
    if not seen[i] then
      local id, cluster = element(i)
      local log = sub.log(i)
      local why_ = why_failed(id, log, cluster)
      -- a log named only when there is one ("no log ... (log: <a file not there>)": tryK)
      local at = wb.sys.exists(log) and (" (log: " .. log .. ")") or ""
      failures[#failures + 1] = {spec = s, job = id, log = log,
        error = string.format("Slurm job %s: %s%s", id, why_, at)}
      report(i, "FAILED on Slurm job " .. id .. ": " .. why_ .. at)
    end
  end
  return failures
end

-- }====================

M.gather = require "wb.gather" -- --gather DIR (wb/gather.lua)

wb.slurm = M
return M
