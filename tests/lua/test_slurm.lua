-- --slurm end to end on a one-node Slurm cluster of its own: munged,
-- slurmctld and slurmd on localhost with a generated slurm.conf, munge key,
-- state and spool in a temporary folder and their own ports. A task's runs
-- go to one job array, every record is written by an array element, the
-- figures are drawn and a second run trains nothing; failures name their
-- element and log; --detach returns at once; a signal cancels the array.
-- Every daemon is stopped by pid, whatever happens. A cluster that does not
-- start is a failure with the daemons' logs (make deps installs slurm-wlm).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local pwd = os.getenv("PWD")
local exe = T.wb:sub(1, 1) == "/" and T.wb or (pwd .. "/" .. T.wb)
local task05 = pwd .. "/scripts/task05_dropout.lua"
-- every wait is bounded: a test that hangs is a failure, not a stuck suite
local TIMEOUT = 600

local function sh(cmd)
  return T.sh(string.format("{ export SLURM_CONF=%s/slurm.conf; %s; }", dir, cmd))
end

-- Two free TCP ports next to each other (none listening on them now).
local function free_ports()
  local used = {}
  for _, f in ipairs{"/proc/net/tcp", "/proc/net/tcp6"} do
    for port in (util.read_file(f) or ""):gmatch(":(%x%x%x%x) %x+:%x+ 0A") do
      used[tonumber(port, 16)] = true
    end
  end
  math.randomseed(wb.sys.getpid())
  for _ = 1, 100 do
    local p = math.random(20000, 60000)
    if not used[p] and not used[p + 1] then return p, p + 1 end
  end
  error("no two free ports found")
end

-- {==================== the cluster ====================

local daemons = {} -- name -> pid file
local function pid_of(name)
  return tonumber((util.read_file(daemons[name] or "") or ""):match("%d+"))
end

local function logs()
  local out = {}
  for _, f in ipairs{"munged.log", "slurmctld.log", "slurmd.log"} do
    out[#out + 1] = "--- " .. f .. ":\n" .. util.tail(dir .. "/" .. f, 15)
  end
  return table.concat(out, "\n")
end

local function write_conf(user)
  local ctld, slurmd = free_ports()
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
local function poll(n, check)
  for _ = 1, n do
    if check() then return true end
    os.execute("sleep 0.2")
  end
  return false
end

local function start_cluster()
  for _, b in ipairs{"munged", "slurmctld", "slurmd", "sbatch", "squeue"} do
    if T.sh("{ command -v " .. b .. " || test -x /usr/sbin/" .. b .. "; }") ~= 0 then
      error(b .. " not found: `make deps` installs slurm-wlm and munge")
    end
  end
  local p = io.popen("id -un"); local user = p:read("l"); p:close()
  -- munged wants its socket's folder searchable by all and its key private
  os.execute(string.format("chmod 755 %s && mkdir -p %s/munge %s/state %s/spool && chmod 755 "
    .. "%s/munge && dd if=/dev/urandom of=%s/munge/key bs=1024 count=1 2>/dev/null && chmod "
    .. "400 %s/munge/key", dir, dir, dir, dir, dir, dir, dir))
  write_conf(user)
  daemons.munged = dir .. "/munged.pid"
  -- a daemon that cannot start says why on stderr (a bad config) or in its log
  local function start(name, cmd)
    local st, out, err = sh("PATH=$PATH:/usr/sbin " .. cmd)
    if st ~= 0 then error(string.format("%s did not start (exit %s): %s%s\n%s", name,
      tostring(st), out, err, logs())) end
  end
  start("munged", string.format("munged --socket=%s/munge/socket --key-file=%s/munge/key "
    .. "--pid-file=%s --log-file=%s/munged.log --seed-file=%s/munge/seed", dir, dir,
    daemons.munged, dir, dir))
  daemons.slurmctld, daemons.slurmd = dir .. "/slurmctld.pid", dir .. "/slurmd.pid"
  start("slurmctld", "slurmctld -f " .. dir .. "/slurm.conf")
  start("slurmd", "slurmd -f " .. dir .. "/slurm.conf -N wbnode")
  -- the node is up when the controller calls it idle (at most 60 s)
  if not poll(300, function()
    local s, out = sh("sinfo -h -o %T")
    return s == 0 and out:match("^idle")
  end) then error("the node never became idle:\n" .. logs()) end
end

-- Cancels every job, then stops the daemons by pid: TERM, and KILL after
-- 10 s. Safe to call when nothing started.
local function stop_cluster()
  if pid_of("slurmctld") then
    sh("scancel --user=$(id -un)")
    poll(100, function() local _, out = sh("squeue -h"); return not out:find("%S") end)
  end
  for _, name in ipairs{"slurmd", "slurmctld", "munged"} do
    local pid = pid_of(name)
    if pid then
      os.execute("kill -TERM " .. pid .. " 2>/dev/null")
      if not poll(50, function() return not util.pid_alive(pid) end) then
        os.execute("kill -KILL " .. pid .. " 2>/dev/null")
      end
    end
  end
end

-- }====================

local function records(root, task)
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
local function workbench(args, env)
  return sh(string.format("cd / && %s timeout %d %s %s", env and ("env " .. env) or "",
    TIMEOUT, exe, args))
end

local function tests()
  T.test("task 5 --quick --slurm: one array, every run by an element, figures drawn",
    function()
    local base = dir .. "/t5"
    local root = base .. "/quick" -- --root DIR --quick: DIR/quick
    local st, out, err = workbench(task05 .. " --quick --seeds 2 --slurm --root " .. base)
    T.eq(st, 0, out .. err .. logs())
    local job = err:match("Slurm job array (%d+): 6 runs")
    T.ok(job, "one array of 6 runs announced: " .. err)
    local recs = records(root, "task05_dropout")
    T.eq(#recs, 6, "six records")
    local elements = {}
    for _, r in ipairs(recs) do
      T.ok(r.slurm, "record " .. r.hash .. " notes its Slurm job")
      T.eq(r.slurm.array_job, job, "written by the array")
      local i = math.tointeger(tonumber(r.slurm.task))
      T.ok(i and i >= 1 and i <= 6 and not elements[i], "one element per run: " ..
        tostring(r.slurm.task))
      elements[i] = true
    end
    for _, f in ipairs{"val_loss.png", "gap.png", "robustness.png", "README.md"} do
      T.ok(wb.sys.exists(root .. "/task05_dropout/" .. f), f .. " drawn")
    end
    st, out, err = workbench(task05 .. " --quick --seeds 2 --slurm --root " .. base)
    T.eq(st, 0, err)
    T.ok(err:find("6 runs: 6 cached, 0 to train", 1, true), err)
    T.ok(not err:find("Slurm job array", 1, true), "nothing submitted: " .. err)
  end)

  local tiny = dir .. "/tiny.lua"
  util.write_file(tiny, [[
return wb.task{name = "tiny", experiment = {base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 100}}, seeds = {1, 2},
  measure = function(_, cfg)
    if cfg.seed == 2 and os.getenv("TINY_FAIL") then error("planned failure of seed 2") end
    return {}
  end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

  T.test("a run that fails on the cluster is named with its element and log; exit 1",
    function()
    local root = dir .. "/failing"
    local st, out, err = workbench(tiny .. " --slurm --root " .. root, "TINY_FAIL=1")
    T.eq(st, 1, out .. err)
    local job = err:match("Slurm job array (%d+)")
    T.ok(job, err)
    local log = err:match("FAILED on Slurm job " .. job .. "_2: [^\n]*%(log: ([^)]+)%)")
    T.ok(log, "failure names element 2 and its log: " .. err)
    T.ok((util.read_file(log) or ""):find("planned failure of seed 2", 1, true), log)
    T.eq(#records(root, "tiny"), 1, "the other run recorded")
    T.ok((util.read_file(root .. "/tiny/README.md") or ""):find(job .. "_2", 1, true),
      "the README lists the failure with its job")
  end)

  T.test("--detach submits, prints the job id and exits 0; a later run draws", function()
    local root = dir .. "/detached"
    local st, out, err = workbench(tiny .. " --slurm --detach --root " .. root)
    T.eq(st, 0, err)
    local job = out:match("^(%d+)\n$")
    T.ok(job, "the job id alone on stdout: " .. out)
    T.ok(not wb.sys.exists(root .. "/tiny/README.md"), "nothing drawn yet")
    T.ok(poll(TIMEOUT * 5, function()
      local _, q = sh("squeue -h -j " .. job)
      return not q:find("%S")
    end), "the array finished")
    st, _, err = workbench(tiny .. " --root " .. root)
    T.eq(st, 0, err)
    T.ok(err:find("2 runs: 2 cached, 0 to train", 1, true), err)
  end)

  T.test("SIGTERM while waiting cancels the array; 143", function()
    local root = dir .. "/held"
    local outf = dir .. "/held.err"
    -- --hold: the array never starts, so the signal comes while waiting
    os.execute(string.format("sh -c 'SLURM_CONF=%s/slurm.conf %s %s --slurm --sbatch --hold "
      .. "--root %s 2>%s & echo $! > %s.pid; wait $!; echo $? > %s.status' >/dev/null 2>&1 &",
      dir, exe, tiny, root, outf, outf, outf))
    T.ok(poll(TIMEOUT * 5, function()
      return (util.read_file(outf) or ""):find("Slurm job array %d+")
    end), "submitted: " .. tostring(util.read_file(outf)))
    local job = util.read_file(outf):match("Slurm job array (%d+)")
    os.execute("kill -TERM " .. util.read_file(outf .. ".pid"):match("%d+"))
    T.ok(poll(TIMEOUT * 5, function() return util.read_file(outf .. ".status") end))
    T.eq(tonumber(util.read_file(outf .. ".status"):match("%d+")), 143,
      util.read_file(outf))
    T.ok(util.read_file(outf):find("cancelled Slurm job array " .. job, 1, true))
    local _, q = sh("squeue -h -j " .. job)
    T.ok(not q:find("%S"), "nothing of the array left in the queue: " .. q)
  end)
end

T.test("bad --slurm options are usage errors (64), before anything is submitted", function()
  local cases = {{"--sbatch --time=5", "needs --slurm"}, {"--detach", "needs --slurm"},
    {"--slurm --sbatch --array=1-3", "--array=1-3 is set by workbench"},
    {"--slurm --sbatch '-o x'", "-o is set by workbench"},
    {"--slurm --jobs 2", "--jobs is the number of local processes"},
    {"--slurm --list-runs", "--slurm does not go with --list-runs"},
    {"--gather /tmp --run 0123", "--gather does not go with --run"},
    {"--slurm --sbatch", "needs a value"}}
  for _, c in ipairs(cases) do
    local st, _, err = T.sh(string.format("%s %s --root %s/usage %s", exe, task05, dir, c[1]))
    T.eq(st, 64, c[1] .. ": " .. err)
    T.ok(err:find(c[2], 1, true), c[1] .. ": " .. err)
  end
  T.ok(not wb.sys.exists(dir .. "/usage/runs"), "nothing planned or written")
end)

local ok, err = pcall(start_cluster)
if ok then
  ok, err = pcall(tests)
  if not ok then T.test("the Slurm tests ran", function() error(err, 0) end) end
else
  T.test("a one-node Slurm cluster starts on localhost", function() error(err, 0) end)
end
stop_cluster()
T.test("every daemon started is stopped", function()
  for name in pairs(daemons) do
    local pid = pid_of(name)
    T.ok(not pid or not util.pid_alive(pid), name .. " (pid " .. tostring(pid) .. ") stopped")
  end
end)
T.done()
