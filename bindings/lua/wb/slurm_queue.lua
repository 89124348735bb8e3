-- wb/slurm_queue.lua: what wb/slurm.lua asks of Slurm besides sbatch itself:
-- the cluster's limit on an array's size, and the wait for an array to
-- leave the queue (the lock of a root's runners is wb/root_lock.lua).
local _ENV = require "wb.std"
local util = require "wb.util"

local M = {}

-- Longest pause between two squeue polls, in seconds (a signal waits at
-- most this long for sleep to end; clusters ask for sparse polling).
M.MAX_POLL = 10

-- squeue failures in a row (the controller down or timing out, each try
-- taking its MessageTimeout and more) after which the wait stops, leaving
-- the array as it is.
M.SQUEUE_TRIES = 30

-- Output of a shell command (stderr included, the shell's own syntax
-- errors too) and whether it exited 0.
function M.run(cmd)
  local p = assert(io.popen("sh -c " .. util.shell_quote(cmd) .. " 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok == true, code
end

-- Why n runs do not fit in one job array of this cluster (MaxArraySize:
-- sbatch refused a larger one with "Invalid job array specification"), or
-- nil (they fit, or scontrol cannot say: sbatch then decides).
function M.too_many(n)
  local out, ok = M.run("scontrol show config")
  local max = ok and tonumber(out:match("\nMaxArraySize%s*=%s*(%d+)"))
  if not max or n <= max - 1 then return nil end
  return string.format("%d runs to train, but this cluster's MaxArraySize is %d (scontrol show "
    .. "config: %s), so they do not fit in one job array; nothing submitted. Train fewer at "
    .. "once (--seeds N), or submit the lines of --list-runs in parts yourself and then run "
    .. "the task again to draw", n, max, max == 0 and "job arrays are disabled"
    or string.format("an array's indices go up to %d, at most %d runs", max - 1, max - 1))
end

-- squeue listing a job while it is in the queue, whatever the caller's
-- environment: squeue reads filters from it (SQUEUE_STATES=RUNNING left a
-- pending array out, SQUEUE_USERS, SQUEUE_PARTITION, ... any array), and an
-- array not listed was taken for one that had ended: every run was called
-- failed while it was still to train. --all: hidden partitions' jobs too.
local SQUEUE = "env -u SQUEUE_STATES -u SQUEUE_USERS -u SQUEUE_ACCOUNT -u SQUEUE_PARTITION "
  .. "-u SQUEUE_QOS -u SQUEUE_NAMES -u SQUEUE_LICENSES -u SQUEUE_FORMAT2 squeue --all -h "
  .. "-o %i -j "

-- Waits until array `job` has left the queue; on_poll() after each look.
-- Returns true; or false and squeue's last message when squeue failed
-- M.SQUEUE_TRIES times in a row (said at the first): the array is left
-- alone, as its elements may still run. An error (a signal) cancels the
-- array first.
function M.wait(name, job, on_poll)
  local pause, misses = 1, 0
  local ok, left, last = pcall(function()
    while true do
      local out, fine = M.run(SQUEUE .. job)
      on_poll()
      -- a finished array is forgotten after MinJobAge: "Invalid job id"
      if (fine and not out:find("%S")) or (not fine and out:find("Invalid job id", 1, true)) then
        return true
      end
      if fine then
        if misses > 0 then
          io.stderr:write(string.format("[%s] squeue answers again (after %d failure%s)\n",
            name, misses, misses == 1 and "" or "s"))
        end
        misses = 0
      else
        misses = misses + 1
        if misses == 1 then
          io.stderr:write(string.format("[%s] squeue failed (%s): asking again; after %d "
            .. "failures in a row the wait stops and leaves Slurm job array %s as it is\n",
            name, out:gsub("%s+$", ""), M.SQUEUE_TRIES, job))
        end
        if misses >= M.SQUEUE_TRIES then return false, out:gsub("%s+$", "") end
      end
      os.execute("sleep " .. pause)
      pause = math.min(M.MAX_POLL, pause + 1)
    end
  end)
  if not ok then
    -- bounded: the controller may be gone
    local out, cancelled = M.run("timeout 60 scancel " .. job)
    io.stderr:write(cancelled and ("cancelled Slurm job array " .. job .. "\n")
      or string.format("could not cancel Slurm job array %s (scancel %s: %s)\n", job, job,
      out:gsub("%s+$", "")))
    error(left, 0)
  end
  return left, last
end

return M
