-- wb/slurm_queue.lua: what wb/slurm.lua asks of Slurm besides sbatch itself:
-- the cluster's limit on an array's size, and the wait for an array to
-- leave the queue (the lock of a root's runners is wb/root_lock.lua).
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"

local M = {}

-- Longest pause between two squeue polls, in seconds (clusters ask for
-- sparse polling; a signal ends the pause at once: wb.sys.sleep).
M.MAX_POLL = 10

-- squeue failures in a row (the controller down or timing out, each try
-- taking its MessageTimeout and more) after which the wait stops, leaving
-- the array as it is.
M.SQUEUE_TRIES = 30

-- Seconds squeue may take before the wait says it has not answered (it is
-- still waited for): a controller down or stopped makes Slurm's client try
-- for its MessageTimeout (10 s by default) and more before it fails, and
-- the first failure came 37 s after the controller stopped (tryK 4).
M.SLOW = 5

-- Output of a shell command (stderr included, the shell's own syntax
-- errors too) and whether it exited 0.
function M.run(cmd)
  local p = assert(io.popen("sh -c " .. util.shell_quote(cmd) .. " 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok == true, code
end

-- A line squeue never prints first: the timer's, M.SLOW seconds in.
local SLOW_MARK = "\1workbench: no answer yet"

-- The shell text of ask: the timer (its sleep killed with it: no stray
-- sleep), CMD's output held until it has ended and the timer is gone, so
-- the timer's line never lands inside it; CMD's exit status.
local ASK = "(trap 'kill $s; exit' TERM; sleep SLOW >/dev/null 2>&1 & s=$!; wait $s && "
  .. "printf '%s\\n' MARK) & t=$!\nout=$(CMD 2>&1); st=$?\nkill $t 2>/dev/null; wait $t "
  .. "2>/dev/null\nprintf '%s\\n' \"$out\"; exit $st"

-- M.run(cmd), with on_slow() called at once when cmd has not ended within
-- M.SLOW seconds (it is still waited for).
local function ask(cmd, on_slow)
  local text = ASK:gsub("SLOW", tostring(M.SLOW)):gsub("MARK", util.shell_quote(SLOW_MARK))
    :gsub("CMD", function() return cmd end)
  local p = assert(io.popen("sh -c " .. util.shell_quote(text)))
  local first = p:read("L")
  if first == SLOW_MARK .. "\n" then
    on_slow()
    first = ""
  end
  local out = (first or "") .. (p:read("a") or "")
  local ok, _, code = p:close()
  return out, ok == true, code
end

-- The most runs one job array of this cluster takes (its indices go from 1
-- to MaxArraySize - 1: sbatch refused a larger one with "Invalid job array
-- specification"); nil when scontrol cannot say (sbatch then decides); or
-- 0 and why when no run fits (MaxArraySize 0 or 1).
function M.array_max()
  local out, ok = M.run("scontrol show config")
  local max = ok and tonumber(out:match("\nMaxArraySize%s*=%s*(%d+)"))
  if not max then return nil end
  if max >= 2 then return max - 1, max end
  return 0, string.format("this cluster's MaxArraySize is %d (scontrol show config: %s), so "
    .. "no run fits in a job array; nothing submitted. Run the lines of --list-runs as jobs "
    .. "of your own, then the task again to draw", max, max == 0 and "job arrays are disabled"
    or "an array's only index is 0")
end

-- " -M CLUSTER" for the Slurm commands asking of a job on CLUSTER (sbatch
-- --parsable says "id;cluster" when sent elsewhere: -M or --clusters in
-- --sbatch, $SBATCH_CLUSTERS), else "": such a job asked of the local
-- cluster is unknown there ("Invalid job id"), taken for one that ended.
function M.on(cluster)
  return cluster and (" -M " .. util.shell_quote(cluster)) or ""
end

-- The shell commands `verb` (a Slurm command) of arrays ({job, cluster}),
-- one per cluster, ids joined by sep after `flag`: "squeue -j 12,13",
-- "scancel -M other 12 13".
function M.commands(verb, arrays, sep, flag)
  local out, at = {}, {}
  for _, a in ipairs(arrays) do
    local c = a.cluster or ""
    if not at[c] then
      out[#out + 1] = {on = M.on(a.cluster), jobs = {}}
      at[c] = out[#out]
    end
    table.insert(at[c].jobs, a.job)
  end
  for i, o in ipairs(out) do
    out[i] = verb .. o.on .. " " .. (flag or "") .. table.concat(o.jobs, sep)
  end
  return table.concat(out, "; ")
end

-- "Slurm job array 12" or "Slurm job arrays 12, 13".
function M.named(arrays)
  local ids = {}
  for i, a in ipairs(arrays) do ids[i] = a.job end
  return string.format("Slurm job array%s %s", #ids == 1 and "" or "s", table.concat(ids, ", "))
end

-- squeue listing a job while it is in the queue, whatever the caller's
-- environment: squeue reads filters from it (SQUEUE_STATES=RUNNING left a
-- pending array out, SQUEUE_USERS, SQUEUE_PARTITION, ... any array), and an
-- array not listed was taken for one that had ended: every run was called
-- failed while it was still to train. --all: hidden partitions' jobs too.
local SQUEUE = "env -u SQUEUE_STATES -u SQUEUE_USERS -u SQUEUE_ACCOUNT -u SQUEUE_PARTITION "
  .. "-u SQUEUE_QOS -u SQUEUE_NAMES -u SQUEUE_LICENSES -u SQUEUE_FORMAT2 squeue"

-- Whether array a has left the queue (true, false), or nil and squeue's
-- message when squeue failed; then, while it is queued, why its pending
-- elements wait ({[reason] = count}, one line an element: -r). With -M
-- squeue says "CLUSTER: name" first, even with -h: that line is no job.
local function left(a, on_slow)
  local out, fine = ask(string.format("%s%s --all -h -r -o '%%i|%%T|%%r' -j %s", SQUEUE,
    M.on(a.cluster), a.job), on_slow)
  -- a finished array is forgotten after MinJobAge: "Invalid job id"
  if not fine then
    if out:find("Invalid job id", 1, true) then return true end
    return nil, out
  end
  local queued, reasons = false, {}
  for l in out:gmatch("[^\n]+") do
    local state, reason = l:match("^%s*%d[^|]*|([^|]*)|(.-)%s*$")
    queued = queued or state ~= nil
    if state == "PENDING" then reasons[reason] = (reasons[reason] or 0) + 1 end
  end
  return not queued, reasons
end

-- Slurm's reasons for an element that it will never start by itself
-- (squeue's JOB REASON CODES, Slurm's job_reason_codes page): {what it
-- means, what to run the task again with, scontrol's fields to name}. Its
-- dependency failed (--sbatch --dependency=afterok:J and J failed; without
-- kill_invalid_depend it stays pending for ever: audit V6); or the job's
-- own request is one the cluster's configuration refuses: its constraints,
-- time limit, account, QOS or reservation, a per-job limit of its QOS or
-- association (audit W2). Left waiting on (said, not final): Resources,
-- Priority, holds, BeginTime, Dependency, the limits other jobs' use
-- reaches (Grp*, Max*PerUser, Max*PerAccount, MaxJobs), a partition or node
-- DOWN, drained or inactive (PartitionDown, PartitionInactive, NodeDown,
-- ReqNodeNotAvail, PartitionNodeLimit: also DOWN nodes), PartitionConfig
-- ("not available now"; Slurm shows it a moment before PartitionTimeLimit):
-- an administrator or time clears them.
local NEVER = {
  DependencyNeverSatisfied = {"a job it depends on ended in a way the dependency rules out; "
    .. "the dependency came from --sbatch or $SBATCH_DEPENDENCY", "once that dependency can "
    .. "be met, or without it", {"Dependency"}},
  BadConstraints = {"no node can meet its constraints (--constraint, --mem, --gres, ... from "
    .. "--sbatch or $SBATCH_*)", "with constraints its nodes meet (sinfo -o '%P %N %c %m %f "
    .. "%G')", {"Partition", "Features"}},
  PartitionTimeLimit = {"its time limit (--time, else its partition's DefaultTime) is over "
    .. "its partition's MaxTime", "with a --sbatch --time within that MaxTime (scontrol show "
    .. "partition), or on another partition", {"Partition", "TimeLimit"}},
  InvalidAccount = {"its account (--account, $SBATCH_ACCOUNT, else your default) is not "
    .. "valid on this cluster", "with an account you belong to (sacctmgr show assoc "
    .. "user=$USER)", {"Account"}},
  InvalidQOS = {"its QOS (--qos, $SBATCH_QOS, else your default) is not valid for it",
    "with a QOS you may use (sacctmgr show assoc user=$USER format=account,partition,qos)",
    {"QOS"}},
  AccountNotAllowed = {"its partition does not allow its account (AllowAccounts, "
    .. "DenyAccounts)", "with another account or partition (scontrol show partition)",
    {"Partition", "Account"}},
  QOSNotAllowed = {"its QOS is not allowed for its partition or association (AllowQos, "
    .. "DenyQos)", "with another QOS or partition (scontrol show partition; sacctmgr show "
    .. "assoc user=$USER)", {"Partition", "QOS"}},
  ReservationDeleted = {"the reservation it asked for (--reservation) no longer exists",
    "with a reservation that exists (scontrol show reservation), or without one",
    {"Reservation"}},
}

-- What Slurm's `reason` means when it will never start the job, or nil:
-- NEVER's, or a per-job limit of its QOS or association (QOSMax*PerJob*,
-- AssocMax*PerJob*: the job asks for more than one job may; other
-- users' jobs never change that).
local function never(reason)
  if NEVER[reason] then return NEVER[reason] end
  local of = reason:match("^(QOS)Max%a-PerJob") or reason:match("^(Assoc)Max%a-PerJob")
  if not of then return nil end
  return {string.format("it asks for more than one job may under its %s's limits (sacctmgr "
    .. "show %s)", of == "QOS" and "QOS" or "association", of == "QOS" and "qos"
    or "assoc user=$USER"), "asking for less (--sbatch --time, --mem, ...), or with another "
    .. (of == "QOS" and "QOS" or "account"), {"Partition", "Account", "QOS", "TimeLimit"}}
end

-- A line when the reasons array a's elements wait for changed ("None",
-- Slurm's word before it has looked, left out; a change back to reasons
-- said in the last M.RESAY seconds is not said again: a busy cluster's
-- Priority and Resources take turns); the reason it will never start, if
-- it is one.
M.RESAY = 600
local function pending_line(name, a, reasons)
  local keys, n, final = {}, 0, nil
  for r, c in pairs(reasons) do
    n = n + c
    if r ~= "None" then keys[#keys + 1] = r end
    final = final or (never(r) and r)
  end
  table.sort(keys)
  local key = table.concat(keys, ", ")
  local line
  a.said = a.said or {} -- reasons -> when last said
  if key ~= (a.waits or "") and key ~= "" and not final -- final: said on stopping
      and os.time() - (a.said[key] or -math.huge) >= M.RESAY then
    line = string.format("[%s] Slurm job array %s: %d of %d run%s pending (%s)\n", name, a.job,
      n, a.n or n, (a.n or n) == 1 and "" or "s", key)
    a.said[key] = os.time()
  end
  a.waits = key
  return line, final
end

-- Cancels arrays (bounded: the controller may be gone), each said; their
-- ids, and whether every one was cancelled.
local function cancel(arrays)
  local done, all = {}, true
  for _, a in ipairs(arrays) do
    local out, cancelled = M.run("timeout 60 scancel" .. M.on(a.cluster) .. " " .. a.job)
    io.stderr:write(cancelled and ("cancelled Slurm job array " .. a.job .. "\n")
      or string.format("could not cancel Slurm job array %s (%s: %s)\n", a.job,
      M.commands("scancel", {a}, " "), out:gsub("%s+$", "")))
    done[#done + 1], all = a.job, all and cancelled
  end
  return done, all
end

-- Why Slurm will never start array a (reason: its Reason=), the arrays
-- cancelled or not: one line, naming what scontrol says of the job that
-- matters (its dependency, "afterok:12(failed)"; its partition and time
-- limit, ...) and what to run the task with instead.
local function never_line(name, arrays, a, reason, cancelled)
  local st = M.run("scontrol" .. M.on(a.cluster) .. " -o show job " .. a.job)
  local why, fields = never(reason), {}
  for _, f in ipairs(why[3]) do
    local v = st:match("[ \n]" .. f .. "=(%S+)")
    if v then fields[#fields + 1] = ", " .. f .. "=" .. v end
  end
  return string.format("[%s] Slurm will never start Slurm job array %s (Reason=%s%s: %s): "
    .. "%s; run the task again %s", name, a.job, reason, table.concat(fields), why[1],
    cancelled and ("cancelled " .. (#arrays == 1 and "it" or M.named(arrays))) or ("not all "
    .. "cancelled (above): cancel them yourself (" .. M.commands("scancel", arrays, " ") .. ")"),
    why[2])
end

-- Waits until every array of `arrays` ({job, cluster, n}) has left the
-- queue; on_poll() after each look; says why an array's pending elements
-- wait when that changes. Returns true; or false and squeue's last
-- message when squeue failed M.SQUEUE_TRIES times in a row (said at the
-- first; a squeue that has not answered within M.SLOW s is said at once,
-- as a failure takes Slurm's client its MessageTimeout and more): the
-- arrays are left alone, as their elements may still run; or
-- nil and why when Slurm will never start one (DependencyNeverSatisfied,
-- BadConstraints, PartitionTimeLimit, ...: NEVER; the arrays are cancelled
-- first, as on a signal). An error (a signal) cancels the arrays first; a
-- signal's is stopped(detail): detail says what became of the arrays.
function M.wait(name, arrays, on_poll, stopped)
  local pause, misses = 1, 0
  -- slow: a squeue has not answered within M.SLOW s since one last did (said once: a busy
  -- cluster's every poll is not); owed: said, and its outcome not yet
  local slow, slow_now, owed = false, false, false
  local function on_slow()
    slow_now = true
    if slow or misses > 0 then return end -- said already
    slow, owed = true, true
    io.stderr:write(string.format("[%s] squeue has not answered in %s s (the controller "
      .. "down, stopped or busy?): waiting for its answer\n", name, M.SLOW))
  end
  local ok, gone, last = pcall(function()
    while true do
      local all, failed, never = true, nil, nil
      slow_now = false
      for _, a in ipairs(arrays) do
        if not a.left then
          local l, out = left(a, on_slow)
          a.left = l
          if l == nil then failed = failed or out end
          if l == false then -- still queued: why its pending elements wait, when that changed
            local line, why = pending_line(name, a, out)
            if line then io.stderr:write(line) end
            never = never or (why and {a, why})
          end
          all = all and l == true
        end
      end
      on_poll()
      -- squeue's recovery is said before the wait ends too: the arrays may have
      -- ended while it did not answer (the user was told it would be asked again)
      if not failed then
        if misses > 0 then
          io.stderr:write(string.format("[%s] squeue answers again (after %d failure%s)\n",
            name, misses, misses == 1 and "" or "s"))
        elseif owed then
          io.stderr:write(string.format("[%s] squeue answered (in more than %s s)\n", name,
            M.SLOW))
        end
        misses, owed, slow = 0, false, slow and slow_now
      end
      if all then return true end
      if never then return nil, never end
      if failed then
        misses, owed = misses + 1, false
        if misses == 1 then
          io.stderr:write(string.format("[%s] squeue failed (%s): asking again; after %d "
            .. "failures in a row the wait stops and leaves %s as it is\n",
            name, failed:gsub("%s+$", ""), M.SQUEUE_TRIES, M.named(arrays)))
        end
        if misses >= M.SQUEUE_TRIES then return false, failed:gsub("%s+$", "") end
      end
      -- in this process: os.execute("sleep") ran system(), which ignores
      -- Ctrl-C in the caller, so a Ctrl-C was lost with the sleep child
      wb.sys.sleep(pause)
      pause = math.min(M.MAX_POLL, pause + 1)
    end
  end)
  if not ok then
    local signal = not pcall(wb.sys.check_interrupt)
    -- a second signal (timeout's, or Ctrl-C again to the process group)
    -- took the default action and killed the runner before it cancelled
    if signal then wb.sys.hold_signals() end
    local _, all = cancel(arrays)
    -- the local runner's line (wb/runner_stop.lua: "[task] interrupted: D of
    -- N runs done ..."), then the arrays', not a traceback into the wait; the
    -- exit status stays 130 / 143
    if signal then
      local one = #arrays == 1
      error(stopped(string.format("it was waiting for %s: %s", M.named(arrays), all and
        ((one and "cancelled it" or "cancelled them") .. " (a --slurm submits again the "
        .. "runs not recorded)") or ("not all cancelled (above): cancel them yourself ("
        .. M.commands("scancel", arrays, " ") .. ")"))), 0)
    end
    error(gone, 0)
  end
  -- never to start: cancelled as an interrupt cancels, and said (exit 1)
  if gone == nil then
    local _, all = cancel(arrays)
    last = never_line(name, arrays, last[1], last[2], all)
  end
  return gone, last
end

return M
