-- --slurm on a real cluster (a one-node cluster of the test's own,
-- slurm_cluster.lua): two submissions of a sweep at once, squeue failing
-- while the runner waits (a controller down, timeouts), a sweep larger
-- than the cluster's MaxArraySize.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local C = dofile("tests/lua/slurm_cluster.lua")(T, dir)
local q = T.quote

local tiny = dir .. "/tiny.lua"
util.write_file(tiny, C.TINY)

-- A runner that gives up on squeue after 2 failures in a row and polls
-- every second at most (the defaults, 30 and 10 s, are for a real
-- cluster), then runs the task as `workbench TASK ARGS` would.
local driver = dir .. "/driver.lua"
util.write_file(driver, [[
local ok, queue = pcall(require, "wb.slurm_queue")
if ok then queue.SQUEUE_TRIES, queue.MAX_POLL = 2, 1 end
local script = arg[1]
os.exit(wb.runner.main(dofile(script), table.move(arg, 2, #arg, 1, {}), script))
]])

-- A folder for PATH holding `name`, a shell script (body) before the real
-- one (exec'd as "$real"); `folder` tells two apart.
local function wrapper(name, body, folder)
  local bin = dir .. "/bin-" .. (folder or name)
  local _, real = C.sh("command -v " .. name)
  util.write_file(bin .. "/" .. name, "#!/bin/sh\nreal=" .. q(real:match("[^\n]+")) .. "\n"
    .. body .. "\n")
  os.execute("chmod +x " .. q(bin .. "/" .. name))
  return bin
end

-- `cmd` started in the background with this cluster's configuration: wait()
-- -> exit status, stdout, stderr (bounded by C.TIMEOUT or `limit` seconds).
local function background(name, cmd, limit)
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
local function bump(count)
  return "n=$(cat " .. q(count) .. " 2>/dev/null || echo 0)\n"
    .. "echo $((n + 1)) > " .. q(count .. ".new") .. " && mv -f " .. q(count .. ".new") .. " "
    .. q(count) .. "\n"
end
local function calls(count)
  return math.tointeger(tonumber((util.read_file(count) or ""):match("%d+") or "0"))
end

-- The array jobs in the queue whose script is in `root`.
local function arrays_of(root)
  local _, queue = C.sh("squeue -h -o '%F %o'")
  local out = {}
  for id in queue:gmatch("(%d+) [^\n]*" .. root:gsub("%p", "%%%0") .. "/") do
    out[#out + 1] = id
  end
  return out
end

local function gone(job)
  C.sh("scancel " .. job)
  return C.poll(C.TIMEOUT * 5, function()
    local _, left = C.sh("squeue -h -j " .. job)
    return not left:find("%S")
  end)
end

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
    T.ok(C.poll(C.TIMEOUT * 5, function()
      return calls(count) >= 6
    end), "squeue asked")
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
      return calls(count) >= 2
        or wb.sys.exists(dir .. "/filtered.st")
    end), "squeue asked")
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

  T.test("a root whose path has a '%' (r%j %a): the elements log there, a failure is named "
    .. "with its log", function()
    -- before: sbatch expanded "%j" in --output, the elements could not open
    -- their logs, and both runs failed: "no log; Slurm says JobState=FAILED
    -- (JobLaunchFailure): wbnode could not write it"
    local root = dir .. "/r%j %a"
    local st, _, err = C.workbench(tiny .. " --slurm --root " .. q(root), "TINY_FAIL=1")
    T.eq(st, 1, err)
    local job = err:match("Slurm job array (%d+)")
    T.ok(err:find("base seed 1: test accuracy", 1, true), err)
    local log = string.format("%s/runs/logs/tiny-slurm-%s_2-", root, job)
    T.ok(err:find("FAILED on Slurm job " .. job .. "_2: exit 1: workbench: ", 1, true)
      and err:find("planned failure of seed 2 (log: " .. log, 1, true), err)
    T.ok((util.read_file(err:match("%(log: ([^)]+)%)")) or ""):find("planned failure", 1, true),
      "the log is where it is named")
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

  T.test("more runs than MaxArraySize allows: refused (exit 1) naming the limit and the count, "
    .. "nothing queued", function()
    -- before: "sbatch: error: Batch job submission failed: Invalid job array
    -- specification", nothing on why
    local root = dir .. "/big"
    local st, _, err = C.workbench(tiny .. " --seeds 3 --slurm --root " .. root)
    T.eq(st, 1, err)
    T.ok(err:find("[tiny] --slurm: 3 runs to train, but this cluster's MaxArraySize is 3 "
      .. "(scontrol show config: an array's indices go up to 2, at most 2 runs), so they do not "
      .. "fit in one job array; nothing submitted", 1, true), err)
    T.eq(#arrays_of(root), 0, "nothing queued")
    st, _, err = C.workbench(tiny .. " --seeds 3 --root " .. root)
    T.eq(st, 0, "no run left noted as sent: " .. err)
    -- as many as fit: one array
    st, _, err = C.workbench(tiny .. " --seeds 2 --fresh --slurm --root " .. root)
    T.eq(st, 0, err)
    T.ok(err:find("Slurm job array %d+: 2 runs"), err)
  end)
end

C.run(tests)
T.done()
