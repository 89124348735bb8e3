-- The --slurm path as a researcher meets it on a real cluster (a one-node
-- cluster of the test's own, slurm_cluster.lua): job ids used again after
-- the controller lost its state, elements cancelled, sbatch refusing, the
-- same sweep submitted twice, records compared with a local run's.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local C = dofile("tests/lua/slurm_cluster.lua")(T, dir)
local q = T.quote

local tiny = dir .. "/tiny.lua"
util.write_file(tiny, C.TINY)

-- workbench ARGS started in the background (env: "NAME=value ..." or nil):
-- its stderr file, and wait() -> exit status, stderr.
local function background(name, args, env)
  local errf = dir .. "/" .. name .. ".err"
  os.execute(string.format("sh -c 'SLURM_CONF=%s/slurm.conf %s timeout %d %s %s 2>%s; "
    .. "echo $? > %s.status' >/dev/null 2>&1 &", dir, env and ("env " .. env) or "",
    C.TIMEOUT, C.exe, args, errf, errf))
  local b = {err = errf}
  -- the array's job id, once submitted
  function b.job()
    T.ok(C.poll(C.TIMEOUT * 5, function()
      return (util.read_file(errf) or ""):find("Slurm job array %d+")
    end), "submitted: " .. tostring(util.read_file(errf)))
    return util.read_file(errf):match("Slurm job array (%d+)")
  end
  function b.wait()
    return T.wait_status(errf .. ".status", C.TIMEOUT), util.read_file(errf)
  end
  return b
end

local function tests()
  T.test("a job id used again (controller state lost): an element that never ran is not "
    .. "given the old job's log", function()
    -- before: the logs were named by job id alone; the new array's elements,
    -- cancelled before they ran, were reported with the old job's logs:
    -- "FAILED on Slurm job 1_2: exit 1: ... planned failure of seed 2"
    local root = dir .. "/reused"
    C.reset_controller()
    local st, out, err = C.workbench(tiny .. " --slurm --root " .. root, "TINY_FAIL=1")
    T.eq(st, 1, out .. err)
    local old = err:match("Slurm job array (%d+)")
    T.ok(err:find("planned failure of seed 2", 1, true), err)
    -- a root whose runs were sent to the old job (its notes, copied)
    local other = dir .. "/reused_copy"
    T.eq(C.sh(string.format("mkdir -p %s/runs && cp -r %s/runs/slurm %s/runs/", q(other),
      q(root), q(other))), 0)
    C.reset_controller()
    local b = background("reused", tiny .. " --slurm --fresh --sbatch --hold --root " .. root)
    local job = b.job()
    T.eq(job, old, "the job id is used again")
    st, _, err = C.workbench(tiny .. " --root " .. other)
    T.eq(st, 0, "the old job's runs are not taken for the new job's: " .. err)
    C.sh("scancel " .. job)
    st, err = b.wait()
    T.eq(st, 1, err)
    T.ok(not err:find("planned failure", 1, true), "no old log read: " .. err)
    for i = 1, 2 do
      T.ok(err:find(string.format("FAILED on Slurm job %s_%d: no log; Slurm says "
        .. "JobState=CANCELLED", job, i), 1, true), err)
    end
  end)

  T.test("a sweep still in the queue is not submitted or trained again (exit 1, named)",
    function()
    -- before: a second --slurm submitted a second array of the same runs, and a
    -- plain run after --detach trained them here, both at once with the array
    local root = dir .. "/twice"
    local st, out, err = C.workbench(tiny .. " --slurm --detach --sbatch --hold --root " .. root)
    T.eq(st, 0, err)
    local job = out:match("^(%d+)\n$")
    for _, extra in ipairs{"--slurm", "", "--fresh"} do
      st, _, err = C.workbench(tiny .. " " .. extra .. " --root " .. root)
      T.eq(st, 1, extra .. ": " .. err)
      T.ok(err:find("2 of the runs to train are still in Slurm's queue", 1, true), err)
      T.ok(err:find("base seed 2 (Slurm job " .. job .. "_2, PENDING)", 1, true), err)
      T.ok(not err:find("Slurm job array", 1, true), "nothing submitted: " .. err)
      -- --detach: no runner waits on them
      T.ok(err:find(", or cancel them (scancel " .. job .. ")", 1, true), err)
    end
    local _, queue = C.sh("squeue -h -o '%F %o'") -- array job, script (in the root)
    local arrays = {}
    for id in queue:gmatch("(%d+) [^\n]*/twice/") do arrays[#arrays + 1] = id end
    T.eq(table.concat(arrays, " "), job, "one array of the root in the queue: " .. queue)
    T.eq(#C.records(root, "tiny"), 0, "nothing trained")
    C.sh("scancel " .. job)
    T.ok(C.poll(C.TIMEOUT * 5, function()
      local _, left = C.sh("squeue -h -j " .. job)
      return not left:find("%S")
    end), "cancelled")
    st, _, err = C.workbench(tiny .. " --root " .. root)
    T.eq(st, 0, err)
    T.eq(#C.records(root, "tiny"), 2, "trained once the array left the queue")
  end)

  -- the advice to cancel an array a live runner waits on made it report every run
  -- failed, and never said a runner waits (tryK)
  T.test("a sweep a runner waits on: the second runner names it, cancelling is not advised "
    .. "alone", function()
    local root = dir .. "/waited"
    local b = background("waited", tiny .. " --slurm --sbatch --hold --root " .. root)
    local job = b.job()
    local st, _, err = C.workbench(tiny .. " --root " .. root)
    C.sh("scancel " .. job) -- first: a failed check below leaves no runner waiting
    local st_b = b.wait()
    T.eq(st, 1, err)
    T.ok(err:find("2 of the runs to train are still in Slurm's queue", 1, true), err)
    T.ok(err:find("; workbench pid %d+ on %S+ waits on them %(the runner that sent them%): "
      .. "let it finish, or stop it %(Ctrl%-C cancels its array%); cancelling them %(scancel "
      .. job .. "%) makes it report them failed"), err)
    T.eq(st_b, 1, "the waiting runner, its array cancelled")
  end)

  T.test("task 5 on Slurm equals its local run (hash, history, metrics) and notes where it "
    .. "ran", function()
    local task05 = os.getenv("PWD") .. "/scripts/task05_dropout.lua"
    local st, _, err = C.workbench(task05 .. " --quick --seeds 1 --slurm --root "
      .. q(dir .. "/t5s"))
    T.eq(st, 0, err)
    st, _, err = C.workbench(task05 .. " --quick --seeds 1 --jobs 1 --root " .. q(dir .. "/t5l"))
    T.eq(st, 0, err)
    local remote = C.records(dir .. "/t5s/quick", "task05_dropout")
    local by_hash = {}
    for _, r in ipairs(C.records(dir .. "/t5l/quick", "task05_dropout")) do by_hash[r.hash] = r end
    T.ok(#remote >= 2, "runs on the cluster: " .. #remote)
    for _, r in ipairs(remote) do
      local l = by_hash[r.hash]
      T.ok(l, r.variant .. ": the same run hash locally")
      T.eq(table.concat(T.history_diff(r.history, l.history, "history", {}), "; "), "",
        r.variant)
      T.eq(util.canonical(r.metrics.test_accuracy), util.canonical(l.metrics.test_accuracy))
      T.ok(r.slurm and r.slurm.array_job and r.slurm.task and r.host and r.git_commit
        and r.version and r.command, r.variant .. ": job, host, commit, version, command")
      T.eq(r.command:gsub("t5s", "t5l"), l.command, "the same command, but its root")
    end
  end)

  T.test("an element whose node cannot write its log (root not shared) says so", function()
    -- before: "no log; Slurm says JobState=FAILED", nothing on why
    local root = dir .. "/unshared"
    local b = background("unshared", tiny .. " --slurm --sbatch --hold --root " .. root)
    local job = b.job()
    -- the logs folder as a node without the root sees it: not there
    T.eq(C.sh(string.format("rm -rf %s/runs/logs && touch %s/runs/logs && scontrol release %s",
      q(root), q(root), job)), 0)
    local st, err = b.wait()
    T.eq(st, 1, err)
    T.ok(err:find("FAILED on Slurm job " .. job .. "_1: no log; Slurm says JobState=FAILED "
      .. "(JobLaunchFailure): wbnode could not write it (the root must be on a folder the "
      .. "nodes share)", 1, true), err)
  end)

  T.test("sbatch refusing (a bad partition) or missing: its message, exit 1, no record or "
    .. "README", function()
    local root = dir .. "/refused"
    local st, _, err = C.workbench(tiny .. " --slurm --sbatch --partition=nope --root " .. root)
    T.eq(st, 1, err)
    T.ok(err:find("sbatch failed (exit 1): sbatch: error: invalid partition specified: nope",
      1, true), err)
    T.ok(err:find("command: sbatch --job-name=wb-tiny --partition=nope", 1, true), err)
    -- before: "sbatch failed (exit 0): sbatch: Job 3 to start at ..."
    st, _, err = C.workbench(tiny .. " --slurm --sbatch --test-only --root " .. root)
    T.eq(st, 1, err)
    T.ok(err:find("sbatch submitted nothing (it printed no job id): sbatch: Job", 1, true), err)
    -- nothing queued, nothing left: each refusal left its element script (tryK)
    local ok_l, left = pcall(wb.sys.listdir, root .. "/runs/slurm")
    for _, f in ipairs(ok_l and left or {}) do
      T.ok(not f:match("%.sh$") and not f:match("%.runs$"), "left after a refusal: " .. f)
    end
    -- a PATH of sh (and flock, tail, which the lock once needed), without sbatch
    local bin = dir .. "/bin-nosbatch"
    os.execute("mkdir -p " .. q(bin) .. " && for c in sh flock tail; do ln -sf \"$(command -v "
      .. "$c)\" " .. q(bin) .. "/$c; done")
    st, _, err = C.sh("env PATH=" .. q(bin) .. " " .. q(C.exe) .. " " .. q(tiny) .. " --slurm "
      .. "--root " .. q(root))
    T.eq(st, 1, err)
    T.ok(err:find("--slurm: sbatch is not on PATH", 1, true), err)
    T.eq(#C.records(root, "tiny"), 0, "no record")
    T.ok(not wb.sys.exists(root .. "/tiny/README.md"), "no README")
  end)
end

T.test("--sbatch with the start of an option the array sets (--out=F for --output) is "
  .. "refused (64), before anything is written", function()
  -- before: sbatch took --out=F for --output and the array's own --output
  -- replaced it without a word; --err=F sent the elements' errors away from
  -- their logs, so a failure was reported with "no message"
  for _, c in ipairs{{"--out=/tmp/x", "--output"}, {"--err=/tmp/y", "--error"},
    {"--arr=1-3", "--array"}, {"--wai", "--wait"}, {"--open=truncate", "--open-mode"}} do
    local root = dir .. "/abbrev"
    local st, _, err = T.sh(string.format("%s %s --slurm --sbatch %s --root %s", q(C.exe),
      q(tiny), q("--time=5 " .. c[1]), q(root)))
    T.eq(st, 64, c[1] .. ": " .. err)
    T.ok(err:find(c[1] .. " (sbatch reads " .. c[2] .. ") is set by workbench", 1, true), err)
    T.ok(not wb.sys.exists(root .. "/runs"), "nothing planned or written")
  end
  T.eq(wb.slurm.check_options{slurm = true, sbatch = "--account=a --exclusive --output-x"},
    nil, "options that only begin like a reserved one pass")
end)

T.test("--sbatch asking for several processes (--ntasks=4, -N 2) is refused (64): an "
  .. "element trains as one process", function()
  -- before: the array got 4 CPUs an element, trained with one BLAS thread on
  -- one of them, and the other three sat idle without a word
  for _, c in ipairs{{"--ntasks=4", "--ntasks=4"}, {"-N 2", "-N 2"}, {"-n3", "-n3"},
    {"--ntasks-per-node 2", "--ntasks-per-node 2"}} do
    local st, _, err = T.sh(string.format("%s %s --slurm --sbatch %s --root %s", q(C.exe),
      q(tiny), q(c[1]), q(dir .. "/many")))
    T.eq(st, 64, c[1] .. ": " .. err)
    T.ok(err:find("--sbatch: " .. c[2] .. " asks for more than one process", 1, true), err)
  end
  T.ok(not wb.sys.exists(dir .. "/many/runs"), "nothing planned or written")
  -- nor CPUs: a run trains on one BLAS thread (its numbers may not depend
  -- on them), so --cpus-per-task=4 gave three idle CPUs
  for _, c in ipairs{"--cpus-per-task=4", "-c 2", "-c2", "--cpus-per-task 3"} do
    T.ok((wb.slurm.check_options{slurm = true, sbatch = c} or ""):find("--sbatch: " .. c
      .. " asks for more than one CPU, but a run trains on one BLAS thread", 1, true), c)
  end
  for _, ok in ipairs{"-n1", "--ntasks=1", "--nodes 1", "--cpus-per-task=1 -c 1"} do
    T.eq(wb.slurm.check_options{slurm = true, sbatch = ok}, nil, ok)
  end
end)

T.test("--slurm with sbatch's variable for an option the array sets (SBATCH_WAIT, ...) "
  .. "is refused (64), naming it", function()
  -- before: SBATCH_WAIT=1 made --detach wait for the whole array, SBATCH_ERROR
  -- took the elements' errors out of their logs, without a word
  for _, v in ipairs{"SBATCH_WAIT=1", "SBATCH_ERROR=/tmp/e", "SBATCH_OUTPUT=/tmp/o",
    "SBATCH_ARRAY_INX=1-3", "SBATCH_OPEN_MODE=truncate"} do
    local root = dir .. "/env"
    local st, _, err = T.sh(string.format("env %s %s %s --slurm --detach --root %s", v,
      q(C.exe), q(tiny), q(root)))
    T.eq(st, 64, v .. ": " .. err)
    T.ok(err:find("--slurm: " .. v .. " is set: sbatch reads it as", 1, true), err)
    T.ok(not wb.sys.exists(root .. "/runs"), "nothing planned or written")
  end
  local st, _, err = T.sh(string.format("env SBATCH_WAIT=1 %s %s --list-runs --root %s",
    q(C.exe), q(tiny), q(dir .. "/env")))
  T.eq(st, 0, "only --slurm runs sbatch: " .. err)
end)

C.run(tests)
T.done()
