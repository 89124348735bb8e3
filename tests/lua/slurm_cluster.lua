-- slurm_cluster.lua: a one-node Slurm cluster of a test's own (test_slurm,
-- test_audit_slurm): munged, slurmctld and slurmd on localhost with a
-- generated slurm.conf, munge key, state and spool in the test's temporary
-- folder and their own ports. Every daemon is stopped by pid, whatever
-- happens. A cluster that does not start is a failure with the daemons'
-- logs (make deps installs slurm-wlm).
--
--   local C = dofile("tests/lua/slurm_cluster.lua")(T, dir)
--   local ok, err = pcall(C.start) ... C.stop()
local util = require "wb.util"

return function(T, dir)
  local C = {dir = dir}
  local q = T.quote
  local pwd = os.getenv("PWD")
  C.exe = T.wb:sub(1, 1) == "/" and T.wb or (pwd .. "/" .. T.wb)
  -- every wait is bounded: a test that hangs is a failure, not a stuck suite
  C.TIMEOUT = 600

  -- A two-seed task whose seed 2 fails when TINY_FAIL is set (the Slurm
  -- tests' sweep), as the source of a task file.
  C.TINY = [[
return wb.task{name = "tiny", experiment = {base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 100}}, seeds = {1, 2},
  measure = function(_, cfg)
    if cfg.seed == 2 and os.getenv("TINY_FAIL") then error("planned failure of seed 2") end
    return {}
  end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]]

  -- A shell command with this cluster's configuration: status, out, err.
  function C.sh(cmd)
    return T.sh(string.format("{ export SLURM_CONF=%s/slurm.conf; %s; }", dir, cmd))
  end

  C.daemons = {} -- name -> pid file
  local pids = {} -- name -> pid, once read: stopped even if its file went
  -- (a whole line only: a daemon writing its file may have put "12" of "1234")
  function C.pid_of(name)
    pids[name] = tonumber((util.read_file(C.daemons[name] or "") or ""):match("^(%d+)\n"))
      or pids[name]
    return pids[name]
  end

  function C.logs()
    local out = {}
    for _, f in ipairs{"munged.log", "slurmctld.log", "slurmd.log"} do
      out[#out + 1] = "--- " .. f .. ":\n" .. util.tail(dir .. "/" .. f, 15)
    end
    return table.concat(out, "\n")
  end

  local function write_conf(user)
    local ctld, slurmd = T.free_ports(2)
    util.write_file(dir .. "/slurm.conf", (([[
ClusterName=wbtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=CTLD
SlurmdPort=SLURMD
SlurmUser=USER
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=DIR/munge/socket
CredType=cred/munge
StateSaveLocation=DIR/state
SlurmdSpoolDir=DIR/spool
SlurmctldPidFile=DIR/slurmctld.pid
SlurmdPidFile=DIR/slurmd.pid
SlurmctldLogFile=DIR/slurmctld.log
SlurmdLogFile=DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=wbnode NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=wb Nodes=wbnode Default=YES MaxTime=INFINITE State=UP
]]):gsub("CTLD", tostring(ctld)):gsub("SLURMD", tostring(slurmd)):gsub("USER", user)
      :gsub("DIR", dir)))
  end

  -- Polls check() every 0.2 s, at most n times; true once it holds.
  function C.poll(n, check)
    for _ = 1, n do
      if check() then return true end
      os.execute("sleep 0.2")
    end
    return false
  end

  -- a daemon that cannot start says why on stderr (a bad config) or in its log
  local function start(name, cmd)
    local st, out, err = C.sh("PATH=$PATH:/usr/sbin " .. cmd)
    if st ~= 0 then error(string.format("%s did not start (exit %s): %s%s\n%s", name,
      tostring(st), out, err, C.logs())) end
    C.pid_of(name)
  end

  -- the node is up when the controller calls it idle (at most 60 s)
  local function wait_idle()
    if not C.poll(300, function()
      local s, out = C.sh("sinfo -h -o %T")
      return s == 0 and out:match("^idle")
    end) then error("the node never became idle:\n" .. C.logs()) end
  end

  function C.start()
    for _, b in ipairs{"munged", "slurmctld", "slurmd", "sbatch", "squeue"} do
      if T.sh("{ command -v " .. b .. " || test -x /usr/sbin/" .. b .. "; }") ~= 0 then
        error(b .. " not found: `make deps` installs slurm-wlm and munge")
      end
    end
    local p = io.popen("id -un"); local user = p:read("l"); p:close()
    -- munged wants its socket's folder searchable by all and its key private
    os.execute(string.format("chmod 755 %s && mkdir -p %s/munge %s/state %s/spool && chmod "
      .. "755 %s/munge && dd if=/dev/urandom of=%s/munge/key bs=1024 count=1 2>/dev/null && "
      .. "chmod 400 %s/munge/key", dir, dir, dir, dir, dir, dir, dir))
    write_conf(user)
    C.daemons.munged = dir .. "/munged.pid"
    start("munged", string.format("munged --socket=%s/munge/socket --key-file=%s/munge/key "
      .. "--pid-file=%s --log-file=%s/munged.log --seed-file=%s/munge/seed", dir, dir,
      C.daemons.munged, dir, dir))
    C.daemons.slurmctld, C.daemons.slurmd = dir .. "/slurmctld.pid", dir .. "/slurmd.pid"
    start("slurmctld", "slurmctld -f " .. dir .. "/slurm.conf")
    start("slurmd", "slurmd -f " .. dir .. "/slurm.conf -N wbnode")
    wait_idle()
  end

  -- Stops the daemon `name` by pid: TERM, and KILL after 10 s.
  local function stop(name)
    local pid = C.pid_of(name)
    if pid then
      os.execute("kill -TERM " .. pid .. " 2>/dev/null")
      if not C.poll(50, function() return not util.pid_alive(pid) end) then
        os.execute("kill -KILL " .. pid .. " 2>/dev/null")
      end
    end
  end

  -- The controller loses its state (a new StateSaveLocation, a cluster
  -- reinstalled): it starts again with nothing queued, and job ids start
  -- again from 1.
  function C.reset_controller()
    stop("slurmctld")
    os.execute(string.format("rm -rf %s/state && mkdir -p %s/state", dir, dir))
    start("slurmctld", "slurmctld -f " .. dir .. "/slurm.conf")
    wait_idle()
  end

  -- Cancels every job, then stops the daemons. Safe when nothing started.
  function C.stop()
    if C.pid_of("slurmctld") then
      C.sh("scancel --user=$(id -un)")
      C.poll(100, function() local _, out = C.sh("squeue -h"); return not out:find("%S") end)
    end
    for _, name in ipairs{"slurmd", "slurmctld", "munged"} do stop(name) end
  end

  -- The test "every daemon started is stopped".
  function C.check_stopped()
    T.test("every daemon started is stopped", function()
      for name in pairs(C.daemons) do
        local pid = C.pid_of(name)
        T.ok(not pid or not util.pid_alive(pid), name .. " (pid " .. tostring(pid)
          .. ") stopped")
      end
    end)
  end

  -- The records of task in root, read.
  function C.records(root, task)
    local out = {}
    local ok, names = pcall(wb.sys.listdir, root .. "/runs")
    for _, f in ipairs(ok and names or {}) do
      if f:match("^" .. task:gsub("%-", "%%-") .. "%-%x+%.json$") then
        out[#out + 1] = assert(wb.record.read(root .. "/runs/" .. f))
      end
    end
    return out
  end

  -- workbench from another folder, bounded; env: "NAME=value ..." or nil
  function C.workbench(args, env)
    return C.sh(string.format("cd / && %s timeout %d %s %s", env and ("env " .. env) or "",
      C.TIMEOUT, C.exe, args))
  end

  -- A folder for PATH holding `name`, a shell script (body) before the real
  -- one (exec'd as "$real"); `folder` tells two apart.
  function C.wrapper(name, body, folder)
    local bin = dir .. "/bin-" .. (folder or name)
    local _, real = C.sh("command -v " .. name)
    util.write_file(bin .. "/" .. name, "#!/bin/sh\nreal=" .. q(real:match("[^\n]+")) .. "\n"
      .. body .. "\n")
    os.execute("chmod +x " .. q(bin .. "/" .. name))
    return bin
  end

  -- `cmd` started in the background with this cluster's configuration: wait()
  -- -> exit status, stdout, stderr (bounded by C.TIMEOUT or `limit` seconds).
  function C.background(name, cmd, limit)
    local f = dir .. "/" .. name
    os.execute(string.format("sh -c %s >/dev/null 2>&1 &", q(string.format("{ export "
      .. "SLURM_CONF=%s/slurm.conf; cd / && timeout %d %s >%s.out 2>%s.err; echo $? >%s.st; }",
      dir, limit or C.TIMEOUT, cmd, f, f, f))))
    return {err = f .. ".err", wait = function()
      local st = T.wait_status(f .. ".st", C.TIMEOUT)
      T.ok(st, name)
      return st, util.read_file(f .. ".out"), util.read_file(f .. ".err")
    end}
  end

  -- Shell lines for a wrapper that counts its calls in the file `count`,
  -- replaced whole (a new file renamed over it): written in place, the test
  -- polling it read the file between its truncation and its digits ("" is
  -- no number: 'attempt to compare number with nil' in a loaded run).
  function C.bump(count)
    return "n=$(cat " .. q(count) .. " 2>/dev/null || echo 0)\n"
      .. "echo $((n + 1)) > " .. q(count .. ".new") .. " && mv -f " .. q(count .. ".new") .. " "
      .. q(count) .. "\n"
  end
  function C.calls(count)
    return math.tointeger(tonumber((util.read_file(count) or ""):match("%d+") or "0"))
  end

  -- The array jobs in the queue whose script is in `root`.
  function C.arrays_of(root)
    local _, queue = C.sh("squeue -h -o '%F %o'")
    local out = {}
    for id in queue:gmatch("(%d+) [^\n]*" .. root:gsub("%p", "%%%0") .. "/") do
      out[#out + 1] = id
    end
    return out
  end

  -- Waits until `job` has left the queue; true once gone.
  function C.ended(job)
    return C.poll(C.TIMEOUT * 5, function()
      local _, left = C.sh("squeue -h -j " .. job)
      return not left:find("%S")
    end)
  end

  -- Cancels `job` and waits until it has left the queue; true once gone.
  function C.gone(job)
    C.sh("scancel " .. job)
    return C.ended(job)
  end

  -- Runs all(): the cluster started, the tests, the cluster stopped.
  function C.run(all)
    local ok, err = pcall(C.start)
    if ok then
      ok, err = pcall(all)
      if not ok then T.test("the Slurm tests ran", function() error(err, 0) end) end
    else
      T.test("a one-node Slurm cluster starts on localhost", function() error(err, 0) end)
    end
    C.stop()
    C.check_stopped()
  end

  return C
end
