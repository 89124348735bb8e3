-- --slurm on a real cluster (a one-node cluster of the test's own,
-- slurm_cluster.lua): two submissions of a sweep at once, squeue failing
-- while the runner waits (a controller down, timeouts), roots whose path
-- holds shell-special characters, an array sent to another cluster (-M),
-- a sweep larger than the cluster's MaxArraySize (several arrays).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local C = dofile("tests/lua/slurm_cluster.lua")(T, dir)
local q = T.quote

local tiny = dir .. "/tiny.lua"
util.write_file(tiny, C.TINY)

-- A runner that gives up on squeue after 2 failures in a row, polls
-- every second at most and says a squeue slow after 2 s (the defaults,
-- 30, 10 and 5 s, are for a real cluster), then runs the task as
-- `workbench TASK ARGS` would.
local driver = dir .. "/driver.lua"
util.write_file(driver, [[
local ok, queue = pcall(require, "wb.slurm_queue")
if ok then queue.SQUEUE_TRIES, queue.MAX_POLL, queue.SLOW = 2, 1, 2 end
local script = arg[1]
os.exit(wb.runner.main(dofile(script), table.move(arg, 2, #arg, 1, {}), script))
]])

local wrapper, background, bump, calls = C.wrapper, C.background, C.bump, C.calls
local arrays_of, gone = C.arrays_of, C.gone

local function tests()
  T.test("a --slurm while another is submitting the same sweep is refused (exit 1), naming it; "
    .. "one array", function()
    -- before: both passed the queue check before either's array was queued,
    -- and two arrays trained the same runs over each other's files
    local root = dir .. "/twice"
    local go = dir .. "/twice.go"
    -- the first's sbatch waits until the second has been tried
    local slow = wrapper("sbatch", "touch " .. q(go .. ".in") .. "\nwhile [ ! -e " .. q(go)
      .. " ]; do sleep 0.1; done\nexec \"$real\" \"$@\"")
    local a = background("first", string.format("env PATH=%s:$PATH %s %s --slurm --detach "
      .. "--sbatch --hold --root %s", q(slow), q(C.exe), q(tiny), q(root)))
    local lock = root .. "/runs/slurm/tiny.lock"
    T.ok(C.poll(C.TIMEOUT * 5, function() return wb.sys.exists(go .. ".in") end),
      "the first is in sbatch")
    local held = (util.read_file(lock) or ""):find("workbench pid", 1, true)
    local st, out, err = C.workbench(tiny .. " --slurm --detach --sbatch --hold --root " .. root)
    util.write_file(go, "")
    local st1, out1, err1 = a.wait()
    T.eq(st, 1, "the second: " .. out .. err)
    T.ok(held, "the first holds " .. lock)
    local who = (util.read_file(lock) or "?"):gsub("%s+$", "")
    T.ok(who:find(", submitting to Slurm since ", 1, true), who)
    T.ok(err:find("[tiny] another runner of this sweep is using this root (" .. who
      .. "; it holds " .. lock .. "): nothing trained or submitted here", 1, true), err)
    T.eq(st1, 0, "the first: " .. err1)
    local job = out1:match("^(%d+)\n$")
    T.eq(table.concat(arrays_of(root), " "), job, "one array of the root in the queue")
    -- once the first has submitted, the queue check names its job
    st, _, err = C.workbench(tiny .. " --slurm --root " .. root)
    T.eq(st, 1, err)
    T.ok(err:find("base seed 1 (Slurm job " .. tostring(job) .. "_1, PENDING)", 1, true), err)
    T.ok(gone(job), "cancelled")
  end)

  T.test("two --slurm of the same sweep started at once: one array", function()
    for k = 1, 3 do
      local root = dir .. "/once" .. k
      local args = string.format("%s %s --slurm --detach --sbatch --hold --root %s", q(C.exe),
        q(tiny), q(root))
      local a, b = background("once_a" .. k, args), background("once_b" .. k, args)
      local sa, _, ea = a.wait()
      local sb, _, eb = b.wait()
      T.eq(sa + sb, 1, "one submitted, one refused: " .. ea .. eb)
      local ids = arrays_of(root)
      T.eq(#ids, 1, "one array: " .. table.concat(ids, " "))
      for _, id in ipairs(ids) do gone(id) end
    end
  end)

  T.test("squeue failing now and then while waiting: said, waited on, not a give-up",
    function()
    -- before: nothing said, and the failures were counted over the whole
    -- wait, so a long sweep was cancelled after 30 scattered timeouts
    local root = dir .. "/flaky"
    local count = dir .. "/flaky.count"
    local flaky = wrapper("squeue", bump(count)
      .. "if [ $((n % 2)) = 0 ]; then echo 'slurm_load_jobs error: Socket timed out on "
      .. "send/recv operation' >&2; exit 1; fi\nexec \"$real\" \"$@\"")
    local b = background("flaky", string.format("env PATH=%s:$PATH %s %s %s --slurm --sbatch "
      .. "--hold --root %s", q(flaky), q(C.exe), q(driver), q(tiny), q(root)))
    -- held until squeue has failed 3 times (more than 2, the limit in a row)
    T.ok(C.poll(C.TIMEOUT * 5, function() return calls(count) >= 6 end), "squeue asked")
    local _, queue = C.sh("squeue -h -o '%F %o'")
    local job = queue:match("(%d+) [^\n]*/flaky/")
    T.ok(job, "submitted: " .. queue)
    C.sh("scontrol release " .. tostring(job))
    local st, _, err = b.wait()
    T.eq(st, 0, err)
    T.ok(err:find("[tiny] squeue failed (slurm_load_jobs error: Socket timed out on send/recv "
      .. "operation): asking again; after 2 failures in a row the wait stops and leaves Slurm "
      .. "job array " .. job .. " as it is", 1, true), err)
    T.ok(err:find("[tiny] squeue answers again (after 1 failure)", 1, true), err)
    T.ok(not err:find("FAILED", 1, true) and not err:find("cancel", 1, true), err)
    T.eq(#C.records(root, "tiny"), 2, "both runs trained")
  end)

  T.test("squeue not answering while waiting: said at once, while it still has not",
    function()
    -- before: said only once squeue failed, which Slurm's client does after
    -- trying for its MessageTimeout and more: 37 s after the controller stopped (tryK 4)
    local root = dir .. "/slow"
    local count, go = dir .. "/slow.count", dir .. "/slow.go"
    local hang = wrapper("squeue", bump(count) .. "if [ \"$n\" = 1 ]; then\n  while [ ! -e "
      .. q(go) .. " ]; do sleep 0.1; done\n  echo 'slurm_load_jobs error: Socket timed out on "
      .. "send/recv operation' >&2; exit 1\nfi\nexec \"$real\" \"$@\"", "hang")
    local b = background("slow", string.format("env PATH=%s:$PATH %s %s %s --slurm --sbatch "
      .. "--hold --root %s", q(hang), q(C.exe), q(driver), q(tiny), q(root)))
    T.ok(C.poll(C.TIMEOUT * 5, function() return calls(count) >= 2 end), "squeue hangs")
    -- said while the second squeue still hangs (it ends once `go` is there, so a loaded
    -- machine may take long: ci46 missed it within 60 s under two test runs at once)
    local said = C.poll(C.TIMEOUT * 5, function()
      return (util.read_file(b.err) or ""):find("[tiny] squeue has not answered in 2 s (the "
        .. "controller down, stopped or busy?): waiting for its answer\n", 1, true)
    end)
    -- the array ends while squeue hangs: the next look finds it gone, and the wait
    -- says squeue answers again (it did only for a queued array: a fast ci lost it)
    local job = tostring(arrays_of(root)[1])
    C.sh("scontrol release " .. job)
    T.ok(C.ended(job), "the array ended")
    util.write_file(go, "")
    local st, _, err = b.wait()
    T.ok(said, "said while squeue hung: " .. err)
    T.eq(st, 0, err)
    T.ok(err:find("[tiny] squeue failed (slurm_load_jobs error: Socket timed out on send/"
      .. "recv operation): asking again", 1, true) and err:find("[tiny] squeue answers again "
      .. "(after 1 failure)", 1, true) and #C.records(root, "tiny") == 2, err)
  end)

  T.test("squeue's filters in the environment (SQUEUE_STATES=RUNNING, SQUEUE_USERS): a "
    .. "pending array is waited for, not taken for ended", function()
    -- before: squeue -j listed nothing while the array was pending, and both
    -- runs were reported "FAILED on Slurm job N_1: no log; Slurm says
    -- JobState=PENDING" (exit 1, a README of failures) before they trained
    local root = dir .. "/filtered"
    local count = dir .. "/filtered.count"
    local counting = wrapper("squeue", bump(count) .. "exec \"$real\" \"$@\"", "counting")
    local b = background("filtered", string.format("env PATH=%s:$PATH SQUEUE_STATES=RUNNING "
      .. "SQUEUE_USERS=nobody %s %s --slurm --sbatch --hold --root %s", q(counting), q(C.exe),
      q(tiny), q(root)))
    -- held until the runner has looked twice (or has ended)
    T.ok(C.poll(C.TIMEOUT * 5, function()
      return calls(count) >= 2 or wb.sys.exists(dir .. "/filtered.st") end), "squeue asked")
    local job = arrays_of(root)[1]
    if job then C.sh("scontrol release " .. job) end
    local st, _, err = b.wait()
    T.eq(st, 0, err)
    T.ok(not err:find("FAILED", 1, true), err)
    T.eq(#C.records(root, "tiny"), 2, "both runs trained")
  end)

  T.test("the controller down while waiting: the wait stops, saying so; no run called failed, "
    .. "the array not cancelled", function()
    -- before: squeue failed in silence (18 s a try here) for 30 tries, then
    -- "cancelled Slurm job array N" while scancel had failed too
    local root = dir .. "/down"
    local b = background("down", string.format("%s %s %s --slurm --sbatch --hold --root %s",
      q(C.exe), q(driver), q(tiny), q(root)), 300)
    T.ok(C.poll(C.TIMEOUT * 5, function()
      return (util.read_file(b.err) or ""):find("Slurm job array %d+")
    end), "submitted")
    local job = util.read_file(b.err):match("Slurm job array (%d+)")
    local pid = C.pid_of("slurmctld")
    os.execute("kill -TERM " .. pid)
    T.ok(C.poll(C.TIMEOUT * 5, function() return not util.pid_alive(pid) end), "stopped")
    local st, _, err = b.wait()
    -- the controller again, with its state: the array is still there
    T.eq(C.sh(string.format("PATH=$PATH:/usr/sbin slurmctld -f %s/slurm.conf", q(dir))), 0)
    T.ok(C.poll(C.TIMEOUT * 5, function() return C.pid_of("slurmctld") ~= pid
      and (C.sh("squeue -h")) == 0 end), "the controller is back:\n" .. C.logs())
    T.eq(st, 1, err)
    T.ok(err:find("[tiny] --slurm: squeue failed 2 times in a row (last: slurm_load_jobs "
      .. "error: Unable to contact slurm controller", 1, true), err)
    T.ok(err:find("stopped waiting for Slurm job array " .. job .. ", left as it is (not "
      .. "cancelled", 1, true), err)
    T.ok(not err:find("FAILED", 1, true) and not err:find("cancelled Slurm", 1, true), err)
    local _, left = C.sh("squeue -h -j " .. job .. " -o %T")
    T.ok(left:find("PENDING", 1, true), "still queued: " .. left)
    T.ok(gone(job), "cancelled")
  end)

  -- Runs tiny with seed 2 failing on Slurm in root: seed 1 trains, seed 2's
  -- failure is named with its log, which is where it is named.
  local function one_fails_in(root)
    local st, _, err = C.workbench(tiny .. " --slurm --root " .. q(root), "TINY_FAIL=1")
    T.eq(st, 1, err)
    local job = err:match("Slurm job array (%d+)")
    T.ok(err:find("base seed 1: test accuracy", 1, true), err)
    local log = string.format("%s/runs/logs/tiny-slurm-%s_2-", root, job)
    T.ok(err:find("FAILED on Slurm job " .. job .. "_2: exit 1: workbench: ", 1, true)
      and err:find("planned failure of seed 2 (log: " .. log, 1, true), err)
    T.ok((util.read_file(err:match("%(log: (.-)%)\n")) or ""):find("planned failure", 1, true),
      "the log is where it is named")
  end

  T.test("a root whose path has a '%' (r%j %a): the elements log there, a failure is named "
    .. "with its log", function()
    -- before: sbatch expanded "%j" in --output, the elements could not open
    -- their logs, and both runs failed: "no log; Slurm says JobState=FAILED
    -- (JobLaunchFailure): wbnode could not write it"
    one_fails_in(dir .. "/r%j %a")
  end)

  T.test("a root whose path has a backslash, quotes, $, ` and spaces: the elements train "
    .. "and log there, a failure is named with its log", function()
    -- before: a backslash in --output turned sbatch's %A_%a off and was
    -- dropped (no element could open its log: launch failures). (A newline
    -- in a root is refused before anything starts since audit X16f: no
    -- figure can be saved there; test_faults_x)
    local root = dir .. "/r\\b 'q\" $HOME `x` %j"
    one_fails_in(root)
    T.eq(#C.records(root, "tiny"), 1, "seed 1's record in the root")
    local st, _, err, job
    -- its element queued (held): found by the queue check (its log is
    -- /dev/null to Slurm there: the job is known by its script's name)
    st, _, err = C.workbench(tiny .. " --slurm --detach --sbatch --hold --root " .. q(root))
    T.eq(st, 0, err)
    job = err:match("Slurm job array (%d+)")
    st, _, err = C.workbench(tiny .. " --root " .. q(root))
    T.eq(st, 1, err)
    T.ok(err:find("base seed 2 (Slurm job " .. tostring(job) .. "_1, PENDING)", 1, true), err)
    T.ok(gone(job), "cancelled")
  end)

  T.test("--sbatch \"-M other\": sbatch gets it, and the array is watched and checked on "
    .. "that cluster (squeue -M, scontrol -M)", function()
    -- before: sbatch said "id;other" and the id alone was asked of this
    -- cluster: "Invalid job id", taken for an array that had ended, every
    -- run called failed while queued; and a later --slurm found no run
    -- queued and submitted the sweep again. Here "other" is this cluster
    -- behind wrappers: with -M other they ask it, without they say what a
    -- cluster that never had the job says.
    local root = dir .. "/other"
    local calls = dir .. "/other.calls"
    local strip = "for a in \"$@\"; do shift; if [ \"$skip\" = 1 ]; then skip=; m=1; continue; "
      .. "fi; case \"$a\" in -M) skip=1; continue;; --clusters=other|-Mother) m=1; continue;; "
      .. "esac; set -- \"$@\" \"$a\"; done\necho \"$(basename \"$0\") m=$m $*\" >> " .. q(calls)
      .. "\n"
    local unknown = "if [ -z \"$m\" ]; then echo 'slurm_load_jobs error: Invalid job id "
      .. "specified' >&2; exit 1; fi\n"
    wrapper("sbatch", strip .. "out=$(\"$real\" \"$@\") || exit $?\n"
      .. "if [ -n \"$m\" ]; then echo \"$out;other\"; else echo \"$out\"; fi", "other")
    wrapper("squeue", strip .. unknown .. "echo 'CLUSTER: other'\nexec \"$real\" \"$@\"",
      "other")
    wrapper("scancel", strip .. unknown .. "exec \"$real\" \"$@\"", "other")
    local bin = wrapper("scontrol", "case \"$*\" in *config*) exec \"$real\" \"$@\";; esac\n"
      .. strip .. unknown .. "exec \"$real\" \"$@\"", "other")
    local st, out, err = C.workbench(string.format("%s --slurm --detach --sbatch %s --root %s",
      q(tiny), q("-M other --hold"), q(root)), "PATH=" .. q(bin) .. ":$PATH")
    T.eq(st, 0, err)
    local job = out:match("^(%d+)\n$")
    T.ok(job, out)
    T.ok(err:find("Slurm job array " .. tostring(job) .. " on cluster other: 2 runs", 1, true),
      err)
    T.ok((util.read_file(calls) or ""):find("sbatch m=1 ", 1, true), "sbatch got -M other")
    -- the queue check asks that cluster
    st, _, err = C.workbench(string.format("%s --slurm --root %s", q(tiny), q(root)),
      "PATH=" .. q(bin) .. ":$PATH")
    T.eq(st, 1, err)
    T.ok(err:find("base seed 1 (Slurm job " .. tostring(job) .. "_1 on cluster other, PENDING)",
      1, true) and err:find("(squeue -M other -j " .. tostring(job) .. ")", 1, true), err)
    T.ok(gone(job), "cancelled")
    -- the wait asks that cluster
    local b = background("other", string.format("env PATH=%s:$PATH %s %s --slurm --fresh "
      .. "--sbatch %s --root %s", q(bin), q(C.exe), q(tiny), q("--clusters=other --hold"),
      q(root)))
    T.ok(C.poll(C.TIMEOUT * 5, function()
      return (util.read_file(b.err) or ""):find("Slurm job array %d+")
        or wb.sys.exists(dir .. "/other.st")
    end), "submitted")
    job = (util.read_file(b.err) or ""):match("Slurm job array (%d+)")
    if job then C.sh("scontrol release " .. job) end
    local st2, _, err2 = b.wait()
    T.eq(st2, 0, err2)
    T.ok(not err2:find("FAILED", 1, true), err2)
    T.eq(#C.records(root, "tiny"), 2, "both runs trained")
    for l in (util.read_file(calls) or ""):gmatch("[^\n]+") do
      T.ok(l:find(" m=1 ", 1, true) or l:find("^scontrol m= show config"), l)
    end
  end)

  T.test("a plain run of a sweep an earlier --slurm --detach queued, Slurm not answering: "
    .. "it says so, naming the runs and scontrol's error, then trains them", function()
    -- before: the runs were trained here without a word, though README says queued
    -- runs are not trained again (the queue check took "cannot ask" for "gone")
    local root = dir .. "/unasked"
    local st, out, err = C.workbench(string.format("%s --slurm --detach --sbatch --hold "
      .. "--root %s", q(tiny), q(root)))
    T.eq(st, 0, err)
    local job = out:match("^(%d+)\n$")
    T.ok(job, out)
    local down = wrapper("scontrol", "echo 'slurm_load_jobs error: Unable to contact slurm "
      .. "controller (connect failure)' >&2; exit 1", "down")
    st, _, err = C.workbench(string.format("%s --root %s", q(tiny), q(root)),
      "PATH=" .. q(down) .. ":$PATH")
    T.eq(st, 0, err)
    T.ok(err:find("[tiny] Slurm could not be asked about 2 runs an earlier --slurm sent "
      .. "(base seed 1 (Slurm job " .. tostring(job) .. "_1), base seed 2 (Slurm job "
      .. tostring(job) .. "_2): slurm_load_jobs error: Unable to contact slurm controller "
      .. "(connect failure))", 1, true), err)
    T.eq(#C.records(root, "tiny"), 2, "both runs trained here")
    T.ok(gone(job), "cancelled")
  end)

  -- the cluster from here on: arrays of at most 2 elements, and a site's
  -- job_submit plugin that talks to every submitter (on sbatch's stderr)
  util.write_file(dir .. "/job_submit.lua", [=[
function slurm_job_submit() slurm.log_user("note: jobs are accounted to your project") return
  slurm.SUCCESS end
function slurm_job_modify() return slurm.SUCCESS end
return slurm.SUCCESS
]=])
  util.write_file(dir .. "/slurm.conf", util.read_file(dir .. "/slurm.conf")
    .. "MaxArraySize=3\nJobSubmitPlugins=lua\n")
  C.reset_controller()

  T.test("a site's note on sbatch's stderr (job_submit plugin): the array is taken as "
    .. "submitted, the note shown", function()
    -- before: "sbatch submitted nothing (it printed no job id): sbatch: note:
    -- ...\n16": exit 1, while the array was queued; no run noted as sent, so
    -- the next --slurm submitted the sweep again
    local root = dir .. "/noted"
    local st, out, err = C.workbench(tiny .. " --slurm --detach --sbatch --hold --root " .. root)
    T.eq(st, 0, err)
    local job = out:match("^(%d+)\n$")
    T.ok(job, out)
    T.ok(err:find("[tiny] sbatch: note: jobs are accounted to your project\n[tiny] Slurm job "
      .. "array " .. tostring(job) .. ": 2 runs", 1, true), err)
    st, _, err = C.workbench(tiny .. " --slurm --root " .. root)
    T.eq(st, 1, err)
    T.ok(err:find("base seed 2 (Slurm job " .. tostring(job) .. "_2, PENDING)", 1, true), err)
    T.eq(table.concat(arrays_of(root), " "), job, "one array")
    T.ok(gone(job), "cancelled")
  end)

  T.test("more runs than MaxArraySize allows: several arrays (2 + 1 runs), each watched; "
    .. "every run trained by one element", function()
    -- before: refused, "3 runs to train, but this cluster's MaxArraySize
    -- is 3 ... nothing submitted"
    local root = dir .. "/big"
    local st, _, err = C.workbench(tiny .. " --seeds 3 --slurm --root " .. root)
    T.eq(st, 0, err)
    T.ok(err:find("[tiny] 3 runs to train in 2 job arrays: this cluster's MaxArraySize is 3 "
      .. "(scontrol show config), at most 2 runs an array", 1, true), err)
    local a, b = err:match("Slurm job array (%d+): 2 runs.-Slurm job array (%d+): 1 run ")
    T.ok(a and b and a ~= b, err)
    local by = {}
    for _, r in ipairs(C.records(root, "tiny")) do
      local k = r.slurm.array_job .. "_" .. r.slurm.task
      T.ok(not by[k], "one run per element: " .. k)
      by[k] = true
    end
    T.ok(by[tostring(a) .. "_1"] and by[tostring(a) .. "_2"] and by[tostring(b) .. "_1"],
      "the three elements wrote the three records")
    st, _, err = C.workbench(tiny .. " --seeds 3 --slurm --root " .. root)
    T.eq(st, 0, err)
    T.ok(err:find("3 runs: 3 cached, 0 to train", 1, true), err)
  end)

  T.test("several arrays, --detach: every id printed, every run noted as queued; a later "
    .. "--slurm names them; sbatch refusing the second cancels the first", function()
    local root = dir .. "/bigd"
    local st, out, err = C.workbench(tiny .. " --seeds 3 --slurm --detach --sbatch --hold "
      .. "--root " .. root)
    T.eq(st, 0, err)
    local a, b = out:match("^(%d+)\n(%d+)\n$")
    T.ok(a and b, out)
    st, _, err = C.workbench(tiny .. " --seeds 3 --slurm --root " .. root)
    T.eq(st, 1, err)
    T.ok(err:find("3 of the runs to train are still in Slurm's queue", 1, true)
      and err:find("(squeue -j " .. tostring(a) .. "," .. tostring(b) .. ")", 1, true), err)
    T.ok(gone(a) and gone(b), "cancelled")
    -- the second sbatch refused: nothing of the sweep left queued
    local count = dir .. "/second.count"
    local second = wrapper("sbatch", bump(count) .. "if [ \"$n\" = 1 ]; then echo 'sbatch: "
      .. "error: QOSMaxSubmitJobPerUserLimit' >&2; exit 1; fi\nexec \"$real\" \"$@\"", "second")
    local root2 = dir .. "/bigr"
    st, _, err = C.workbench(string.format("%s --seeds 3 --slurm --sbatch --hold --root %s",
      q(tiny), q(root2)), "PATH=" .. q(second) .. ":$PATH")
    T.eq(st, 1, err)
    local first = err:match("; Slurm job array (%d+), submitted before it, cancelled: nothing "
      .. "left queued")
    T.ok(first and err:find("sbatch failed (exit 1): sbatch: error: "
      .. "QOSMaxSubmitJobPerUserLimit", 1, true), err)
    T.eq(#arrays_of(root2), 0, "nothing queued")
  end)
end

C.run(tests)
T.done()
