-- wb/slurm_submit.lua: wb.slurm.train's submission: the pending runs as job
-- arrays (one, or several when they are more than the cluster's
-- MaxArraySize lets one array hold), each element training one run.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local record = require "wb.record"
local queue = require "wb.slurm_queue"

local q, run = util.shell_quote, queue.run

-- A path in a comment or a message of the script: a newline in it (the
-- root's) ended the comment, and its next line ran as a command.
local function oneline(s) return (s:gsub("%c", "?")) end

-- The commit of the workbench that wrote the script, as a comment: a
-- script file found later (its job's Command=) names the code it was
-- written with, and whether that code had uncommitted edits (the files, as
-- a README names them: util.commit_text). Each run's record names the
-- commit it trained at (wb/train.lua), which the tree may have moved to
-- between submission and the element's start.
local function commit_line()
  local c = util.git_commit()
  if not c then return "# workbench commit: unknown (not run from a git tree)" end
  local changes = util.git_changes() or {}
  return "# workbench commit: " .. oneline(util.commit_text())
    .. (#changes == 0 and " (no uncommitted changes)" or "")
end

-- The element script: the run whose hash is on line $SLURM_ARRAY_TASK_ID of
-- the file `hashes`, trained by `command` (the one --list-runs prints, with
-- "$h" for the hash: hex, one a line, whatever the root's path holds; a
-- newline in the root split a listed command over two lines), with one BLAS
-- thread; "EXIT n" ends its log (a log without it was cut short: time
-- limit, cancellation, a lost node). `log`: the shell word of the log it
-- writes itself, when Slurm cannot name it (nil: Slurm's --output). Either
-- is appended to: a requeued attempt goes on after a line "---- requeued:
-- attempt N, ..." ($SLURM_RESTART_COUNT), below the earlier attempts.
-- stale: {index, file id} of the array's runs the runner found recorded but
-- not reusable: trained again, as the runner decided, not judged again
-- where the element runs (audit V3: a node's environment, or a site's
-- SBATCH_EXPORT=NONE, found the record reusable there: "nothing to train",
-- and the runner called the run failed with exit 0); but only while the
-- record is still the one it judged ($WB_STALE_RECORD, wb/runner_one.lua:
-- a later runner that trained it meanwhile, or a requeued element, left
-- the run trained twice, audit W1).
local function element_script(hashes, command, log, stale)
  local cases = {}
  for _, c in ipairs(stale) do cases[#cases + 1] = c[1] .. ") WB_STALE_RECORD=" .. c[2] .. " ;;" end
  return table.concat({"#!/bin/sh",
    "# written by workbench --slurm: array element i trains the run whose hash is on line i",
    "# of " .. oneline(hashes),
    commit_line(),
    log and ("exec >>" .. log .. " 2>&1") or "# (its log: sbatch --output --open-mode=append)",
    "# a requeued element (scontrol requeue, a node lost) appends its attempt to the log, so",
    "# the first attempt's lines stay (the log was written over: tryK)",
    "if [ \"${SLURM_RESTART_COUNT:-0}\" -gt 0 ] 2>/dev/null; then",
    "  echo \"---- requeued: attempt $((SLURM_RESTART_COUNT + 1)), $(date -u '+%Y-%m-%d %H:%M:%S "
      .. "UTC') on $(hostname)\"",
    "fi",
    "h=$(sed -n \"${SLURM_ARRAY_TASK_ID}p\" " .. q(hashes) .. ")",
    "if [ -z \"$h\" ]; then",
    "  printf 'no run on line %s of %s\\n' \"$SLURM_ARRAY_TASK_ID\" " .. q(hashes),
    "  echo 'EXIT 2'; exit 2",
    "fi",
    "export OPENBLAS_NUM_THREADS=1 # a run trains on one thread (wb/train.lua)",
    "# its runner held the root's lock until it was queued: the run takes its own only",
    "export WB_LOCK_PARENT=slurm # (wb/root_lock.lua)",
    "# the runs its runner found recorded but not reusable there, with their record's id:",
    "# trained again while their record is still that one (wb/runner_one.lua)",
    "case \"$SLURM_ARRAY_TASK_ID\" in " .. table.concat(cases, " ")
      .. (#cases > 0 and " " or "") .. "*) WB_STALE_RECORD= ;; esac",
    "export WB_STALE_RECORD",
    "(" .. command .. ")", "st=$?", "echo \"EXIT $st\"", "exit $st"}, "\n") .. "\n"
end

-- Cancels the arrays submitted so far (a later one was refused): what to
-- add to the refusal.
local function cancel(arrays)
  if #arrays == 0 then return "" end
  local out, ok = run("timeout 60 " .. queue.commands("scancel", arrays, " "))
  return string.format("; %s, submitted before it, %s", queue.named(arrays), ok
    and "cancelled: nothing left queued" or string.format("could not be cancelled (%s): "
    .. "cancel %s yourself (%s)", out:gsub("%s+$", ""), #arrays == 1 and "it" or "them",
    queue.commands("scancel", arrays, " ")))
end

-- Submits ex's `pending` runs as job arrays of at most the cluster's limit
-- each; noted(array) once each is queued (array: job, cluster (nil: this
-- one), first (the index in pending of its element 1), n). Returns the
-- submission {arrays, stamp, notes (what sbatch said besides the ids),
-- max (MaxArraySize when split), at(i) -> array, index, log(i) -> path};
-- or nil and why (the arrays queued before a refusal are cancelled).
-- stale[i]: the file id of pending[i]'s record, which the runner found not
-- reusable: trained again while the record is that one (element_script).
return function(ex, pending, sbatch, noted, stale)
  local per, max = queue.array_max()
  if per == 0 then return nil, max end
  per = per or #pending
  local dir = record.dir(ex.root) .. "/slurm"
  local logs = record.dir(ex.root) .. "/logs"
  wb.sys.mkdir_p(logs)
  -- a log's name is this submission's own: a controller that lost its state
  -- gives job ids again, and an element that never ran (cancelled, its node
  -- lost) was reported with the old job's log, or a log appended to one
  -- (JobFileAppend, --open-mode=append) with the old job's first error
  local stamp = os.date("!%Y%m%dT%H%M%SZ-") .. wb.sys.getpid()
  -- sbatch's pattern, the root's "%" escaped: "/r%j" was expanded, and the
  -- elements could not open their logs (launch failures). A backslash
  -- anywhere in it turns every expansion off (and is dropped): no pattern
  -- names an element's log in such a root, so the element writes it itself
  -- (Slurm's own messages, a time limit's, go to /dev/null then)
  local base = logs .. "/" .. ex.name .. "-slurm-"
  local literal = base:find("\\", 1, true) ~= nil
  local output = literal and "/dev/null" or (base:gsub("%%", "%%%%") .. "%A_%a-" .. stamp
    .. ".log")
  local own = literal and (q(base) .. "\"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\""
    .. q("-" .. stamp .. ".log")) or nil
  local sub = {arrays = {}, stamp = stamp, notes = {}, max = #pending > per and max or nil}
  for first = 1, #pending, per do
    local n, hashes, ids = math.min(per, #pending - first + 1), {}, {}
    for k = 1, n do
      hashes[k] = pending[first + k - 1].hash
      if stale and stale[first + k - 1] then ids[#ids + 1] = {k, stale[first + k - 1]} end
    end
    local tag = ex.name .. "-" .. util.fnv1a64(table.concat(hashes, " "))
    -- the script's name holds the stamp: Slurm shows it (Command=) when it
    -- cannot show the log's (StdOut=/dev/null), and wb.slurm.busy tells a
    -- job of this submission by it
    local list, script = dir .. "/" .. tag .. ".runs", dir .. "/" .. tag .. "-" .. stamp .. ".sh"
    util.write_file(list, table.concat(hashes, "\n") .. "\n")
    util.write_file(script, element_script(list, ex.command("\"$h\"", true), own, ids))
    -- our defaults first: a --job-name in --sbatch wins; the shell splits OPTS
    local cmd = string.format("sbatch --job-name=%s %s --parsable --array=1-%d --output=%s "
      .. "--open-mode=append %s",
      q("wb-" .. ex.name), sbatch or "", n, q(output), q(script))
    local out, ok, code = run(cmd)
    -- the job id is a line of its own ("id", or "id;cluster" when sent to
    -- another cluster), after what sbatch says on stderr: a site's
    -- job_submit plugin's notes ("sbatch: ...") made a submitted array
    -- "submitted nothing", untracked and submitted again later
    local job, cluster
    for l in out:gmatch("[^\n]+") do
      local id, c = l:match("^%s*(%d+)%s*$"), nil
      if not id then id, c = l:match("^%s*(%d+);(%S+)%s*$") end
      if id and not job then job, cluster = id, c else sub.notes[#sub.notes + 1] = l end
    end
    if not ok or not job then
      -- nothing queued: its script and list go (each refusal left a .sh: tryK)
      os.remove(script); os.remove(list)
      -- --test-only: exit 0, a forecast and no job
      return nil, string.format("sbatch %s: %s\ncommand: %s%s", ok and "submitted nothing (it "
        .. "printed no job id)" or ("failed (exit " .. tostring(code) .. ")"),
        out:gsub("%s+$", ""), cmd, cancel(sub.arrays))
    end
    local a = {job = job, cluster = cluster, first = first, n = n, stamp = stamp}
    sub.arrays[#sub.arrays + 1] = a
    noted(a)
  end
  function sub.at(i)
    for _, a in ipairs(sub.arrays) do
      if i >= a.first and i < a.first + a.n then return a, i - a.first + 1 end
    end
  end
  function sub.log(i)
    local a, k = sub.at(i)
    return string.format("%s/%s-slurm-%s_%s-%s.log", logs, ex.name, a.job, k, stamp)
  end
  return sub
end
