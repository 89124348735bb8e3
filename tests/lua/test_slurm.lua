-- --slurm end to end on a one-node Slurm cluster of its own
-- (slurm_cluster.lua). A task's runs go to one job array, every record is
-- written by an array element, the figures are drawn and a second run
-- trains nothing; failures name their element and log; --detach returns at
-- once; a signal cancels the array.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local C = dofile("tests/lua/slurm_cluster.lua")(T, dir)
local pwd = os.getenv("PWD")
local exe, TIMEOUT = C.exe, C.TIMEOUT
local task05 = pwd .. "/scripts/task05_dropout.lua"
local sh, logs, poll, records, workbench = C.sh, C.logs, C.poll, C.records, C.workbench

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
  util.write_file(tiny, C.TINY)

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

  -- A held array (--hold: it never starts, so the signal comes while the
  -- runner waits), signalled by kill_args (e.g. "-TERM %d"); returns the
  -- exit status, the runner's stderr and the job. extra: more options;
  -- before(job, outf): called before the signals.
  local function held(name, kills, extra, before)
    local root = dir .. "/" .. name
    local outf = dir .. "/" .. name .. ".err"
    os.execute(string.format("sh -c 'SLURM_CONF=%s/slurm.conf %s %s --slurm --sbatch --hold "
      .. "--root %s %s 2>%s & echo $! > %s.pid; wait $!; echo $? > %s.status' >/dev/null 2>&1 &",
      dir, exe, tiny, root, extra or "", outf, outf, outf))
    T.ok(poll(TIMEOUT * 5, function()
      return (util.read_file(outf) or ""):find("Slurm job array %d+")
    end), "submitted: " .. tostring(util.read_file(outf)))
    local job = util.read_file(outf):match("Slurm job array (%d+)")
    local pid = util.read_file(outf .. ".pid"):match("%d+")
    if before then before(job, outf) end
    for _, k in ipairs(kills) do os.execute(string.format("kill %s %s", k, pid)) end
    local st = T.wait_status(outf .. ".status", TIMEOUT)
    return st, util.read_file(outf), job
  end

  -- cancelled, said in one line, nothing of the array left queued; the
  -- line is the local runner's, then the array's (before: "interrupted
  -- while waiting for Slurm job array N: cancelled; ...", without the
  -- count README gives: tryK 7)
  local function cancelled(st, want, err, job)
    T.eq(st, want, err)
    T.ok(err:find("cancelled Slurm job array " .. job, 1, true), err)
    T.ok(err:find("\nworkbench: [tiny] interrupted: 0 of 2 runs done (0 trained now, 0 "
      .. "recorded before); run the same command again to continue: finished runs are kept, "
      .. "and a stopped run resumes from its last saved epoch where it can; it was waiting "
      .. "for Slurm job array " .. job .. ": cancelled it (a --slurm submits again the runs "
      .. "not recorded)\n", 1, true), err)
    T.ok(not err:find("traceback", 1, true), "no traceback: " .. err)
    local _, q = sh("squeue -h -j " .. job)
    T.ok(not q:find("%S"), "nothing of the array left in the queue: " .. q)
  end

  T.test("SIGTERM while waiting cancels the array; 143", function()
    local st, err, job = held("held", {"-TERM"})
    cancelled(st, 143, err, job)
  end)

  T.test("SIGINT (Ctrl-C) while waiting cancels the array; 130 (audit V1: system()'s sleep "
    .. "ignored it)", function()
    local st, err, job = held("held_int", {"-INT"})
    cancelled(st, 130, err, job)
  end)

  T.test("SIGTERM after a --fresh run was retrained on Slurm: the advice keeps it (without "
    .. "--fresh)", function()
    -- before: "run the same command again", whose --fresh retrained it again (tryK)
    local st, err, job = held("held_fresh", {"-TERM"}, "--fresh", function(job, outf)
      sh("scontrol release " .. job .. "_1")
      T.ok(poll(TIMEOUT * 5, function()
        return (util.read_file(outf) or ""):find("[tiny 1/2] base seed 1: ", 1, true)
      end), "element 1 recorded: " .. tostring(util.read_file(outf)))
    end)
    T.eq(st, 143, err)
    T.ok(err:find("[tiny] interrupted: 1 of 2 runs done (1 trained now, 0 recorded before); "
      .. "run the same command without --fresh to keep the 1 run retrained now (the 1 other "
      .. "then trains only if not recorded); with --fresh again, it is retrained again too; "
      .. "it was waiting for Slurm job array " .. job .. ": cancelled it", 1, true), err)
  end)

  T.test("an element cancelled while pending is said so, and the next run does not blame "
    .. "Slurm (audit V2)", function()
    local root = dir .. "/pending"
    local outf = dir .. "/pending.err"
    os.execute(string.format("sh -c 'SLURM_CONF=%s/slurm.conf %s %s --slurm --sbatch --hold "
      .. "--root %s 2>%s; echo $? > %s.status' >/dev/null 2>&1 &", dir, exe, tiny, root, outf,
      outf))
    T.ok(poll(TIMEOUT * 5, function()
      return (util.read_file(outf) or ""):find("Slurm job array %d+")
    end), "submitted: " .. tostring(util.read_file(outf)))
    local job = util.read_file(outf):match("Slurm job array (%d+)")
    sh("scancel " .. job .. "_2")
    sh("scontrol release " .. job .. "_1")
    T.eq(T.wait_status(outf .. ".status", TIMEOUT * 5), 1, util.read_file(outf))
    local err = util.read_file(outf)
    T.ok(err:find("FAILED on Slurm job " .. job .. "_2: cancelled or removed before it "
      .. "started", 1, true), err)
    local st, _, err2 = workbench(tiny .. " --root " .. root)
    T.eq(st, 0, err2)
    T.ok(not err2:find("could not be asked", 1, true), err2)
    T.ok(err2:find("2 runs: 1 cached, 1 to train", 1, true), err2)
  end)

  T.test("two SIGTERMs at once (timeout's, a process group's) still cancel; 143 (audit V1)",
    function()
    local st, err, job = held("held_twice", {"-TERM", "-TERM"})
    cancelled(st, 143, err, job)
  end)

  T.test("a run the runner found stale is trained by its element, whose environment differs, "
    .. "and said so (audit V3: 'FAILED ... exit 0', nothing to train there)", function()
    local envt, root = dir .. "/envt.lua", dir .. "/envt"
    util.write_file(envt, (C.TINY:gsub('name = "tiny"', 'name = "envt"')
      :gsub("return {}", 'return {x = os.getenv("ENVT_X") and 1 or 0}')))
    local st, out, err = workbench(envt .. " --slurm --root " .. root)
    T.eq(st, 0, out .. err)
    -- a site's SBATCH_EXPORT=NONE: the elements do not get ENVT_X
    st, out, err = workbench(envt .. " --slurm --sbatch --export=NONE --root " .. root,
      "ENVT_X=1")
    T.eq(st, 0, out .. err .. logs())
    T.ok(err:find("$ENVT_X (an environment variable a hook read) is not as it was when the run "
      .. "was recorded", 1, true), "stale here: " .. err)
    T.ok(not err:find("FAILED", 1, true), err)
    local job = err:match("Slurm job array (%d+)")
    T.ok(err:find("(Slurm job " .. job .. "_1; trained where $ENVT_X is not as here)", 1, true),
      err)
    T.ok(err:find("2 runs were trained on Slurm in another environment than this one", 1, true),
      err)
    local recs = records(root, "envt")
    T.eq(#recs, 2, "two records")
    for _, r in ipairs(recs) do T.eq(r.slurm.array_job, job, "retrained by the array") end
  end)

  T.test("an array Slurm will never start (its dependency failed) is said, with why it waits "
    .. "before, and cancelled; exit 1 (audit V6)", function()
    local _, jout = sh("sbatch --parsable --hold -o /dev/null --wrap 'exit 3'")
    local dep = jout:match("(%d+)")
    T.ok(dep, jout)
    local b = C.background("never", string.format("%s %s --slurm --sbatch "
      .. "--dependency=afterok:%s --root %s/never", exe, tiny, dep, dir), 150)
    local function said(pat, n)
      return poll(n, function() return (util.read_file(b.err) or ""):find(pat) end)
    end
    -- waited for whatever is seen: no runner is left behind a failed check
    local waits = said("Slurm job array %d+", TIMEOUT * 5)
      and said("2 of 2 runs pending %(Dependency%)", 150)
    sh("scontrol release " .. dep)
    local st, _, err = b.wait()
    T.ok(waits, "why it waits: " .. err)
    T.eq(st, 1, err)
    local job = err:match("Slurm job array (%d+)")
    T.ok(err:find("cancelled Slurm job array " .. job .. "\n", 1, true), err)
    T.ok(err:find("Slurm will never start Slurm job array " .. job .. " (Reason=Dependency"
      .. "NeverSatisfied, Dependency=afterok:" .. dep .. "(failed)", 1, true), err)
    T.ok(not err:find("traceback", 1, true), err)
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
    {"--slurm --sbatch", "needs a value"},
    -- audit V4: a bundle hid -W (--detach then waited); OPTS goes to sh -c
    {"--slurm --sbatch -vW", "-W is set by workbench"},
    {"--slurm --sbatch '--constraint=intel&avx'", "an unquoted '&' would end or redirect"}}
  for _, c in ipairs(cases) do
    local st, _, err = T.sh(string.format("%s %s --root %s/usage %s", exe, task05, dir, c[1]))
    T.eq(st, 64, c[1] .. ": " .. err)
    T.ok(err:find(c[2], 1, true), c[1] .. ": " .. err)
  end
  T.ok(not wb.sys.exists(dir .. "/usage/runs"), "nothing planned or written")
end)

C.run(tests)
T.done()
