-- wb/slurm.lua: a task's runs on other machines.
--
--   --slurm: the runs still to train go to ONE Slurm job array (sbatch
--     --array=1-N), element i running line i of a commands file (the same
--     command --list-runs prints: cd to the folder, then the script as
--     named); the runner then waits (polling squeue), and gathers and
--     draws as after a local training. A run whose element left no record
--     is a failure named with its Slurm job id and log. --detach submits,
--     prints the job id and returns. Runs still in the queue from an
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

---wb.slurm
---A task's pending runs as one Slurm job array (--slurm, --sbatch OPTS,
-----detach) and records imported from another root (--gather DIR). The
---runner calls these; a script never needs to.
---Example: -- workbench scripts/task05_dropout.lua --slurm --sbatch "--time=1:00:00"
local M = {}

-- sbatch options the array itself sets: given in --sbatch they would break
-- the mapping from elements to runs or the wait.
M.RESERVED = {"--array", "-a", "--output", "-o", "--error", "-e", "--wait", "-W",
  "--parsable", "--wrap"}

-- sbatch options asking for several processes (an element runs one) or
-- CPUs (a run trains on one BLAS thread, wb/train.lua: its numbers must
-- not depend on the thread count)
local MANY = {["--ntasks"] = "process", ["-n"] = "process", ["--nodes"] = "process",
  ["-N"] = "process", ["--ntasks-per-node"] = "process", ["--cpus-per-task"] = "CPU",
  ["-c"] = "CPU"}

-- sbatch's environment variables for them (sbatch reads them as options)
local RESERVED_ENV = {{"SBATCH_ARRAY_INX", "--array"}, {"SBATCH_OUTPUT", "--output"},
  {"SBATCH_ERROR", "--error"}, {"SBATCH_WAIT", "--wait"}}

---wb.slurm.check_options(opts) -> string | nil
---Why a parsed command line's --slurm, --sbatch, --detach and --gather
---options do not go together (nil when they do): --sbatch and --detach need
-----slurm; --slurm and --gather train or import, so not with --run or
-----list-runs; --jobs is for local processes; --sbatch may not set the
---options the array sets itself (M.RESERVED, or their starts), nor may
---sbatch's variables for them be set with --slurm (SBATCH_OUTPUT, ...).
---@param opts table
---@return string|nil
---Example: print(wb.slurm.check_options{sbatch = "--time=5"})
function M.check_options(o)
  if o.sbatch and not o.slurm then return "--sbatch passes options to sbatch: it needs --slurm" end
  if o.detach and not o.slurm then return "--detach leaves a Slurm job array: it needs --slurm" end
  for _, x in ipairs{"slurm", "gather"} do
    for _, y in ipairs{"run", "list_runs"} do
      if o[x] and o[y] then
        return string.format("--%s does not go with --%s", x, (y:gsub("_", "-")))
      end
    end
  end
  if o.slurm and o.jobs then
    return "--jobs is the number of local processes; with --slurm, Slurm places the runs, "
      .. "one CPU each (give it --sbatch \"--time=...\" and the like)"
  end
  for _, e in ipairs(RESERVED_ENV) do
    -- SBATCH_WAIT made --detach wait; SBATCH_ERROR took errors out of the logs
    local v = e[1]
    if o.slurm and os.getenv(v) then
      return string.format("--slurm: %s=%s is set: sbatch reads it as %s, which workbench "
        .. "sets itself (one array element per run, its log, the wait); unset it for this "
        .. "command (env -u %s workbench ...)", v, os.getenv(v), e[2], v)
    end
  end
  local words = {}
  for word in (o.sbatch or ""):gmatch("%S+") do words[#words + 1] = word end
  for i, word in ipairs(words) do
    local name = word:match("^(%-%-?[%w%-]+)")
    -- an element runs its run as one process: more were allocated and idle
    local inline = MANY[name] and word:match("=(.*)$")
      or MANY[word:sub(1, 2)] and #word > 2 and word:sub(3)
    local many = inline or MANY[name] and words[i + 1]
    if many and many ~= "1" and many ~= "1-1" then
      local what = inline and word or (word .. " " .. many)
      if (MANY[name] or MANY[word:sub(1, 2)]) == "CPU" then
        return string.format("--sbatch: %s asks for more than one CPU, but a run trains on "
          .. "one BLAS thread, whatever the CPUs (more threads sum in another order: other "
          .. "numbers under the same run), so the others would sit idle; leave it out", what)
      end
      return string.format("--sbatch: %s asks for more than one process, but an array "
        .. "element trains its run as one process on one CPU (the others would sit idle); "
        .. "leave it out", what)
    end
    for _, r in ipairs(M.RESERVED) do
      -- sbatch takes the start of a long option for it (--out=F: --output),
      -- which was let through: ignored, or a log without its errors
      local start = name and name ~= r and #name > 2 and name:sub(1, 2) == "--"
        and r:sub(1, #name) == name
      if name == r or start or (#r == 2 and word:sub(1, 2) == r) then
        return string.format("--sbatch: %s%s is set by workbench (one array element per run, "
          .. "its log, the wait); leave it out", word, start and (" (sbatch reads " .. r .. ")")
          or "")
      end
    end
  end
  return nil
end

-- {==================== the job array ====================

local run = queue.run

-- The element script: line $SLURM_ARRAY_TASK_ID of the commands file, run
-- with one BLAS thread per CPU Slurm gave it; "EXIT n" ends its log (a log
-- without it was cut short: time limit, cancellation, a lost node).
local function element_script(commands)
  return table.concat({"#!/bin/sh",
    "# written by workbench --slurm: array element i trains the run on line i of",
    "# " .. commands,
    "cmd=$(sed -n \"${SLURM_ARRAY_TASK_ID}p\" " .. util.shell_quote(commands) .. ")",
    "if [ -z \"$cmd\" ]; then",
    "  echo \"no run on line $SLURM_ARRAY_TASK_ID of " .. commands:gsub("[\"$`\\]", "") .. "\"",
    "  echo 'EXIT 2'; exit 2",
    "fi",
    "export OPENBLAS_NUM_THREADS=1 # a run trains on one thread (wb/train.lua)",
    "sh -c \"$cmd\"", "st=$?", "echo \"EXIT $st\"", "exit $st"}, "\n") .. "\n"
end

-- Submits the array; returns its job id, its log path of an index, its stamp
-- and what sbatch said besides the id (lines);
-- or nil and why sbatch could not.
local function submit(ex, pending, sbatch)
  local many = queue.too_many(#pending)
  if many then return nil, many end
  local dir = record.dir(ex.root) .. "/slurm"
  local lines, hashes = {}, {}
  for i, s in ipairs(pending) do lines[i] = ex.command(s.hash); hashes[i] = s.hash end
  local tag = ex.name .. "-" .. util.fnv1a64(table.concat(hashes, " "))
  local commands, script = dir .. "/" .. tag .. ".commands", dir .. "/" .. tag .. ".sh"
  util.write_file(commands, table.concat(lines, "\n") .. "\n")
  util.write_file(script, element_script(commands))
  local logs = record.dir(ex.root) .. "/logs"
  wb.sys.mkdir_p(logs)
  -- a log's name is this submission's own: a controller that lost its state
  -- gives job ids again, and an element that never ran (cancelled, its node
  -- lost) was reported with the old job's log, or a log appended to one
  -- (JobFileAppend, --open-mode=append) with the old job's first error
  local stamp = os.date("!%Y%m%dT%H%M%SZ-") .. wb.sys.getpid()
  local function log(job, i) return string.format("%s/%s-slurm-%s_%s-%s.log", logs, ex.name,
    job, i, stamp) end
  -- sbatch's pattern, the root's "%" escaped: "/r%j" was expanded, and the
  -- elements could not open their logs (launch failures)
  local pattern = (logs .. "/" .. ex.name):gsub("%%", "%%%%") .. "-slurm-%A_%a-" .. stamp
    .. ".log"
  -- our defaults first: a --job-name in --sbatch wins; the shell splits OPTS
  local cmd = string.format("sbatch --job-name=%s %s --parsable --array=1-%d --output=%s %s",
    util.shell_quote("wb-" .. ex.name), sbatch or "", #pending, util.shell_quote(pattern),
    util.shell_quote(script))
  local out, ok, code = run(cmd)
  -- the job id is a line of its own ("id" or "id;cluster"), after what sbatch
  -- says on stderr: a site's job_submit plugin's notes ("sbatch: ...") made a
  -- submitted array "submitted nothing", untracked and submitted again later
  local job, notes = nil, {}
  for l in out:gmatch("[^\n]+") do
    local id = l:match("^%s*(%d+)%s*$") or l:match("^%s*(%d+);%S*%s*$")
    if id and not job then job = id else notes[#notes + 1] = l end
  end
  if not ok or not job then
    -- --test-only: exit 0, a forecast and no job
    return nil, string.format("sbatch %s: %s\ncommand: %s", ok and "submitted nothing (it "
      .. "printed no job id)" or ("failed (exit " .. tostring(code) .. ")"),
      out:gsub("%s+$", ""), cmd)
  end
  return job, function(i) return log(job, i) end, stamp, notes
end

-- The file that says which element run `hash` was last sent to.
local function marker(ex, hash)
  return string.format("%s/slurm/%s-%s.job", record.dir(ex.root), ex.name, hash)
end

-- Slurm's states of an element that has not ended (a requeued one's too).
local LIVE = {PENDING = true, RUNNING = true, SUSPENDED = true, REQUEUED = true,
  REQUEUE_HOLD = true, REQUEUE_FED = true, CONFIGURING = true, RESIZING = true,
  SIGNALING = true, STOPPED = true, SPECIAL_EXIT = true}

---wb.slurm.busy(ex, runs) -> string | nil
---Why runs (specs of ex) may not be trained now, or nil: some are still in
---Slurm's queue (pending, running, requeued), sent there from ex's root by
---an earlier --slurm (--detach), and training them again would train them
---twice at once, over each other's files. An element is known by its
---submission (<root>/runs/slurm/<task>-<hash>.job names its job and its
---log's stamp: job ids come again after a controller lost its state); nil
---when none was sent or Slurm cannot be asked.
---@param ex wb.Experiment
---@param runs table
---@return string|nil
---Example: -- called by wb.runner.main before any training
function M.busy(ex, runs)
  local out, jobs = {}, {}
  for _, s in ipairs(runs) do
    local m = util.read_json(marker(ex, s.hash)) or {}
    local job, stamp = tostring(m.job), tostring(m.stamp)
    if job:match("^%d+_%d+$") then
      local st, ok = run("scontrol -o show job " .. job)
      local state = ok and st:find("-" .. stamp .. ".log", 1, true) and st:match("JobState=(%S+)")
      if state and LIVE[state] then
        out[#out + 1] = string.format("%s seed %d (Slurm job %s, %s)", s.variant, s.seed, job,
          state)
        jobs[#jobs + 1] = job:match("^%d+")
      end
    end
  end
  if #out == 0 then return nil end
  table.sort(jobs)
  for i = #jobs, 2, -1 do if jobs[i] == jobs[i - 1] then table.remove(jobs, i) end end
  return string.format("[%s] %d of the runs to train %s still in Slurm's queue, sent by an "
    .. "earlier --slurm: %s; nothing trained or submitted: run the task again once they have "
    .. "left it (squeue -j %s), or cancel them (scancel %s)", ex.name, #out, #out == 1 and "is"
    or "are", table.concat(out, ", "), table.concat(jobs, ","), table.concat(jobs, " "))
end

-- Why element `id`'s run left no record: its log's error line, else what
-- Slurm says of the element (a killed element has no "EXIT" line).
local function why_failed(id, log)
  local s = util.read_file(log)
  if not s then
    local st = run("scontrol -o show job " .. id)
    local state, reason = st:match("JobState=%S+"), st:match("Reason=(%S+)")
    if not state then return "no log; Slurm says " .. st:gsub("%s+$", "") end
    -- a launch that failed: the node could not open the log in the root
    return string.format("no log; Slurm says %s%s%s", state, reason and reason ~= "None"
      and (" (" .. reason .. ")") or "", state == "JobState=FAILED" and string.format(
      ": %s could not write it (the root must be on a folder the nodes share)",
      st:match("BatchHost=(%S+)") or "its node") or "")
  end
  local code = s:match("\nEXIT (%d+)%s*$") or s:match("^EXIT (%d+)%s*$")
  local first
  for l in s:gmatch("[^\n]+") do
    if not (l:match("^%s") or l:match("^stack traceback") or l:match("^epoch %d")
      or l:match("^EXIT %d")) then first = first or l end
  end
  if not code then
    local st = run("scontrol -o show job " .. id)
    return string.format("cut short (%s)%s", st:match("JobState=%S+") or "Slurm forgot it",
      first and (": " .. first) or "")
  end
  return string.format("exit %s: %s", code, first or "no message")
end

---wb.slurm.train(ex, pending, opts, describe, release) -> table | nil, integer
---Trains the pending runs of experiment ex as one Slurm job array and waits
---for it; returns the failures ({spec, error, log, job}); or nil and the
---exit status after submitting with opts.detach (0), or (1, the reason on
---stderr) when sbatch refused, the runs do not fit in one array
---(MaxArraySize), an earlier --slurm has them in the queue, or squeue kept failing while waiting (the array
---is then left as it is). opts.sbatch: more sbatch options (split as
---the shell splits words). describe(record) says how a run ended.
---release() frees the root's lock the caller took (wb/root_lock.lua):
---called once the submitted runs are noted.
---@param ex wb.Experiment
---@param pending table
---@param opts table
---@param describe function
---@return table|nil
---@return integer|nil
---Example: -- called by wb.runner.main for --slurm
function M.train(ex, pending, opts, describe, release)
  -- a record is new when its file differs from before (--fresh keeps the
  -- old); read before sbatch: an element may have finished when it returns
  local before, seen, done = {}, {}, 0
  for i, s in ipairs(pending) do before[i] = util.read_file(record.path(ex.root, ex.name,
    s.hash)) or "" end
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
  local ok, job, log_of, stamp, notes = pcall(function()
    local busy = M.busy(ex, pending)
    if busy then return nil, busy end
    local j, l, st, said = submit(ex, pending, opts.sbatch)
    if not j then return nil, string.format("[%s] --slurm: %s", ex.name, l) end
    for i, s in ipairs(pending) do
      util.write_json(marker(ex, s.hash), {job = j .. "_" .. i, stamp = st})
    end
    return j, l, st, said
  end)
  release()
  if not ok then error(job, 0) end
  if not job then
    io.stderr:write(log_of, "\n")
    return nil, 1
  end
  for _, l in ipairs(notes) do io.stderr:write(string.format("[%s] %s\n", ex.name, l)) end
  io.stderr:write(string.format("[%s] Slurm job array %s: %d runs (logs %s)\n", ex.name, job,
    #pending, log_of("*")))
  if opts.detach then
    io.stdout:write(job, "\n")
    io.stderr:write(string.format("[%s] detached: run the task again without --slurm once "
      .. "job %s has left the queue (squeue -j %s) to draw from its records\n", ex.name, job,
      job))
    return nil, 0
  end
  local function report(i, what)
    done = done + 1
    local s = pending[i]
    io.stderr:write(string.format("[%s %d/%d] %s seed %d: %s\n", ex.name, done, #pending,
      s.variant, s.seed, what))
  end
  local function look()
    for i, s in ipairs(pending) do
      local path = record.path(ex.root, ex.name, s.hash)
      local rec = not seen[i] and (util.read_file(path) or before[i]) ~= before[i]
        and util.read_json(path)
      if rec then seen[i] = true; report(i, describe(rec) .. " (Slurm job " .. job .. "_"
        .. i .. ")") end
    end
  end
  local left, last = queue.wait(ex.name, job, look)
  if not left then
    -- nothing known of the elements: none is called failed, none cancelled
    io.stderr:write(string.format("[%s] --slurm: squeue failed %d times in a row (last: %s): "
      .. "stopped waiting for Slurm job array %s, left as it is (not cancelled: its elements "
      .. "may still train and write their records); run the task again without --slurm once "
      .. "it has left the queue (squeue -j %s) to draw from its records, or cancel it "
      .. "(scancel %s)\n", ex.name, queue.SQUEUE_TRIES, last, job, job, job))
    return nil, 1
  end
  -- a shared folder may show a record a little after its element ended (NFS
  -- attribute caches): a few more looks while an element said EXIT 0 alone
  for _ = 1, 10 do
    local late = false
    for i in ipairs(pending) do
      local log = util.read_file(log_of(i)) or ""
      late = late or (not seen[i] and log:find("EXIT 0%s*$") ~= nil)
    end
    if not late then break end
    os.execute("sleep 1")
    look()
  end
  local failures = {}
  for i, s in ipairs(pending) do
    if not seen[i] then
      local id, log = job .. "_" .. i, log_of(i)
      local why = why_failed(id, log)
      failures[#failures + 1] = {spec = s, job = id, log = log,
        error = string.format("Slurm job %s: %s (log: %s)", id, why, log)}
      report(i, "FAILED on Slurm job " .. id .. ": " .. why .. " (log: " .. log .. ")")
    end
  end
  return failures
end

-- }====================

M.gather = require "wb.gather" -- --gather DIR (wb/gather.lua)

wb.slurm = M
return M
