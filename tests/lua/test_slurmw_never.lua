-- --slurm on a one-node Slurm cluster of its own (slurm_cluster.lua): an
-- array Slurm will never start by itself, for a reason in the job's own
-- request (audit W2), is cancelled and said with the reason and what to
-- do; exit 1. Before, only DependencyNeverSatisfied stopped the wait: a
-- --time over the partition's MaxTime (PartitionTimeLimit) was waited on
-- for ever.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local C = dofile("tests/lua/slurm_cluster.lua")(T, dir)
local sh = C.sh

-- the runner, bounded by `limit` seconds (the old code waited for ever)
local function runner(args, env, limit)
  return sh(string.format("cd / && %s timeout %d %s %s", env and ("env " .. env) or "", limit,
    C.exe, args))
end

local function nothing_left(job)
  local _, q = sh("squeue -h -j " .. job)
  T.ok(not q:find("%S"), "nothing of the array left in the queue: " .. q)
end

local function tests()
  local tiny = dir .. "/tiny.lua"
  util.write_file(tiny, C.TINY)

  T.test("--time over the partition's MaxTime (PartitionTimeLimit): cancelled, said with the "
    .. "limits and what to do; exit 1 (audit W2: waited on for ever)", function()
    -- the test's user is the cluster's SlurmUser: it may change the partition
    local ust, uout, uerr = sh("scontrol update PartitionName=wb MaxTime=5")
    T.eq(ust, 0, uout .. uerr)
    local st, _, err = runner(tiny .. " --slurm --sbatch --time=10 --root " .. dir .. "/time",
      nil, 120)
    sh("scontrol update PartitionName=wb MaxTime=INFINITE")
    T.eq(st, 1, err)
    local job = err:match("Slurm job array (%d+)")
    T.ok(job, err)
    T.ok(err:find("cancelled Slurm job array " .. tostring(job) .. "\n", 1, true), err)
    T.ok(err:find("Slurm will never start Slurm job array " .. tostring(job) .. " (Reason="
      .. "PartitionTimeLimit, Partition=wb, TimeLimit=00:10:00: its time limit (--time, else "
      .. "its partition's DefaultTime) is over its partition's MaxTime): cancelled it; run the "
      .. "task again with a --sbatch --time within that MaxTime", 1, true), err)
    T.ok(not err:find("traceback", 1, true), err)
    T.ok(not err:find("FAILED", 1, true), "no run called failed: " .. err)
    nothing_left(job)
  end)

  -- the other final reasons need an accounting database or nodes this
  -- cluster has not: squeue, wrapped, shows them for a held array
  local reasons = {
    {"BadConstraints", "no node can meet its constraints", "with constraints its nodes meet"},
    {"InvalidAccount", "its account (--account, $SBATCH_ACCOUNT, else your default) is not "
      .. "valid", "with an account you belong to"},
    {"InvalidQOS", "its QOS (--qos, $SBATCH_QOS, else your default) is not valid",
      "with a QOS you may use"},
    {"AccountNotAllowed", "its partition does not allow its account", "with another account"},
    {"QOSNotAllowed", "its QOS is not allowed", "with another QOS or partition"},
    {"ReservationDeleted", "no longer exists", "with a reservation that exists"},
    {"QOSMaxWallDurationPerJobLimit", "it asks for more than one job may under its QOS's "
      .. "limits (sacctmgr show qos)", "asking for less (--sbatch --time, --mem, ...), or "
      .. "with another QOS"},
  }
  for _, r in ipairs(reasons) do
    T.test(r[1] .. ": cancelled and said; exit 1 (audit W2)", function()
      local bin = C.wrapper("squeue", "\"$real\" \"$@\" | sed 's/|PENDING|.*/|PENDING|" .. r[1]
        .. "/'", r[1])
      local st, _, err = runner(tiny .. " --slurm --sbatch --hold --root " .. dir .. "/"
        .. r[1], "PATH=" .. bin .. ":$PATH", 120)
      T.eq(st, 1, err)
      local job = err:match("Slurm job array (%d+)")
      T.ok(err:find("Slurm will never start Slurm job array " .. tostring(job) .. " (Reason="
        .. r[1], 1, true), err)
      T.ok(err:find(r[2], 1, true), err)
      T.ok(err:find("cancelled it; run the task again " .. r[3], 1, true), err)
      T.ok(not err:find("pending (" .. r[1], 1, true), "said once, on stopping: " .. err)
      nothing_left(job)
    end)
  end

  T.test("a reason an administrator or time clears (JobHeldUser, PartitionDown) is waited on "
    .. "and said", function()
    local bin = C.wrapper("squeue", "\"$real\" \"$@\" | sed 's/|PENDING|.*/|PENDING|PartitionDown/'",
      "down")
    local b = C.background("down", string.format("env PATH=%s:$PATH %s %s --slurm --sbatch "
      .. "--hold --root %s/down", bin, C.exe, tiny, dir), 150)
    local said = C.poll(C.TIMEOUT * 5, function()
      return (util.read_file(b.err) or ""):find("2 of 2 runs pending %(PartitionDown%)")
    end)
    os.execute("sleep 3")
    local err = util.read_file(b.err) or ""
    local job = err:match("Slurm job array (%d+)")
    T.ok(said, "why it waits: " .. err)
    T.ok(not err:find("will never start", 1, true), "still waiting: " .. err)
    if job then sh("scontrol release " .. job) end
    local st, _, err2 = b.wait()
    T.eq(st, 0, err2)
  end)
end

C.run(tests)
T.done()
