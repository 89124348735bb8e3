-- One runner of a sweep on a root at a time (wb/root_lock.lua), local or
-- --slurm: a second is refused (exit 1) naming the first, before it trains
-- or submits anything. Before, only --slurm took the lock: a local runner
-- and a --slurm (or two local runners) of one root both found the same
-- runs pending and trained them twice at once, over each other's files.
-- Slurm's commands are fakes here (the lock is taken before any is asked);
-- test_audit_slurm3 has two --slurm on a real cluster.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
local q = T.quote

-- Two runs; each notes its start in $STARTS, and with $HOLD waits (bounded)
-- until the file $HOLD exists.
local task = dir .. "/held.lua"
util.write_file(task, [[
return wb.task{name = "held", experiment = {base = {hidden = 4, epochs = 1,
  subset = {train = 100, test = 50}}, seeds = {1, 2},
  measure = function(_, cfg)
    local f = assert(io.open(os.getenv("STARTS"), "a")); f:write(cfg.seed, "\n"); f:close()
    local go = os.getenv("HOLD")
    if go then
      local held = io.open(go .. ".in", "w"); held:close()
      for _ = 1, 6000 do
        if io.open(go) then return {} end
        os.execute("sleep 0.1")
      end
      error("never released")
    end
    return {}
  end},
  report = function(t, runs) t:text(runs:table{"test_accuracy"}) end}
]])

-- fake sbatch (waits for $SBATCH_GO when set, notes its call, prints a job
-- id) and scontrol (no cluster)
local bin = dir .. "/bin"
util.write_file(bin .. "/sbatch", "#!/bin/sh\nif [ -n \"$SBATCH_GO\" ]; then touch "
  .. "\"$SBATCH_GO.in\"; i=0; while [ ! -e \"$SBATCH_GO\" ] && [ $i -lt 6000 ]; do sleep 0.1; "
  .. "i=$((i+1)); done; fi\necho \"$@\" >> " .. q(dir .. "/sbatch.calls") .. "\necho 77\n")
util.write_file(bin .. "/scontrol", "#!/bin/sh\necho 'no cluster' >&2\nexit 1\n")
os.execute("chmod +x " .. q(bin) .. "/*")

local function lines(path)
  local n = 0
  for _ in (util.read_file(path) or ""):gmatch("[^\n]+") do n = n + 1 end
  return n
end

-- `args` in the background: wait() -> status, stderr
local function background(name, args, env)
  local f = dir .. "/" .. name
  os.execute(string.format("sh -c %s >/dev/null 2>&1 &", q(string.format("cd / && env "
    .. "PATH=%s:$PATH %s timeout 600 %s %s %s >%s.out 2>%s.err & echo $! > %s.pid; wait $!; "
    .. "echo $? > %s.st", q(bin), env or "", q(exe), q(task), args, f, f, f, f))))
  return function()
    local st = T.wait_status(f .. ".st", 600)
    return st, util.read_file(f .. ".err") or ""
  end
end

local function workbench(args, env)
  return T.sh(string.format("cd / && env PATH=%s:$PATH %s timeout 600 %s %s %s", q(bin),
    env or "", q(exe), q(task), args))
end

T.test("a local runner training: a second local one, or a --slurm, is refused (exit 1) "
  .. "naming it; each run trained once", function()
  local root, go, starts = dir .. "/local", dir .. "/local.go", dir .. "/local.starts"
  local wait = background("first", "--jobs 1 --root " .. q(root), string.format("HOLD=%s "
    .. "STARTS=%s", q(go), q(starts)))
  T.wait_until("the first runner training", 600, function() return wb.sys.exists(go .. ".in") end)
  local lock = root .. "/runs/slurm/held.lock"
  local who = (util.read_file(lock) or "?"):gsub("%s+$", "")
  T.ok(who:find("^workbench pid %d+ on %S+, training locally since "), who)
  local st, _, err = workbench("--root " .. q(root), "STARTS=" .. q(starts))
  T.eq(st, 1, err)
  T.ok(err:find("[held] another runner of this sweep is using this root (" .. who
    .. "; it holds " .. lock .. "): nothing trained or submitted here", 1, true), err)
  st, _, err = workbench("--slurm --detach --root " .. q(root), "STARTS=" .. q(starts))
  T.eq(st, 1, err)
  T.ok(err:find("[held] another runner of this sweep is using this root (" .. who, 1, true),
    err)
  T.ok(not wb.sys.exists(dir .. "/sbatch.calls"), "nothing submitted")
  util.write_file(go, "")
  local st1, err1 = wait()
  T.eq(st1, 0, err1)
  T.eq(lines(starts), 2, "each run trained once")
  -- the lock is free again once the first has ended
  st, _, err = workbench("--root " .. q(root), string.format("HOLD=%s STARTS=%s", q(go),
    q(starts)))
  T.eq(st, 0, err)
  T.ok(not err:find("another runner", 1, true), err)
end)

T.test("a --slurm submitting: a local runner is refused (exit 1) naming it, trains nothing",
  function()
  local root, go, starts = dir .. "/slurm", dir .. "/slurm.go", dir .. "/slurm.starts"
  local wait = background("submitter", "--slurm --detach --root " .. q(root),
    "SBATCH_GO=" .. q(go))
  T.wait_until("the --slurm in sbatch", 600, function() return wb.sys.exists(go .. ".in") end)
  local st, _, err = workbench("--root " .. q(root), "STARTS=" .. q(starts))
  T.eq(st, 1, err)
  T.ok(err:find("%[held%] another runner of this sweep is using this root %(workbench pid %d+ "
    .. "on %S+, submitting to Slurm since "), err)
  T.eq(lines(starts), 0, "nothing trained here")
  util.write_file(go, "")
  local st1, err1 = wait()
  T.eq(st1, 0, err1)
  T.ok(err1:find("Slurm job array 77: 2 runs", 1, true), err1)
end)

T.test("a runner killed a moment ago (its lock's holder not yet ended): the rerun waits "
  .. "for the lock, is not refused", function()
  local root_lock = require "wb.root_lock"
  local ex = {root = dir .. "/killed", name = "held"}
  local lock = root_lock.path(ex.root, ex.name)
  wb.sys.mkdir_p(util.dirname(lock))
  -- a pid that has ended
  local p = io.popen("sh -c 'echo $$'"); local dead = p:read("l"); p:close()
  T.ok(not util.pid_alive(dead), dead)
  -- a holder naming that dead runner, alive 1 s more (as tail's poll was)
  local holder = string.format("echo 'workbench pid %s on %s, training locally since x' > %s; "
    .. "touch %s.in; sleep 1", dead, wb.sys.hostname(), q(lock), q(lock))
  os.execute(string.format("flock -n %s sh -c %s >/dev/null 2>&1 &", q(lock), q(holder)))
  T.wait_until("the holder", 60, function() return wb.sys.exists(lock .. ".in") end)
  local release, why = root_lock.take(ex, "training locally")
  T.ok(release, why)
  T.ok((util.read_file(lock) or ""):find("^workbench pid " .. wb.sys.getpid() .. " "),
    "the lock is this runner's now")
  release()
  -- a live holder is still refused at once
  local live = string.format("echo 'workbench pid %d on %s, training locally since x' > %s; "
    .. "touch %s.live; sleep 30", wb.sys.getpid(), wb.sys.hostname(), q(lock), q(lock))
  os.execute(string.format("flock -n %s sh -c %s >/dev/null 2>&1 & echo $! > %s.pid", q(lock),
    q(live), q(lock)))
  T.wait_until("the live holder", 60, function() return wb.sys.exists(lock .. ".live") end)
  release, why = root_lock.take(ex, "training locally")
  T.ok(not release and why:find("another runner of this sweep", 1, true), tostring(why))
  os.execute("pkill -f " .. q("touch " .. lock .. ".live"))
end)

T.test("a task whose report errors: the traceback names the report's line, and the lock "
  .. "is free again", function()
  local root = dir .. "/report_error"
  local bad = dir .. "/bad_report.lua"
  util.write_file(bad, (util.read_file(task):gsub('report = function%(t, runs%) t:text%(runs:'
    .. 'table{"test_accuracy"}%) end', 'report = function(t, runs)\n  t:text(runs:table{'
    .. '"test_accuracy"} .. nil)\nend'))) -- a bug (a mistyped column is one line: tryZ C2)
  local function run()
    return T.sh(string.format("cd / && env STARTS=%s %s %s --root %s", q(dir .. "/bad.starts"),
      q(exe), q(bad), q(root)))
  end
  local st, _, err = run()
  T.eq(st, 1, err)
  T.ok(err:find("attempt to concatenate a nil value", 1, true), err)
  -- was only the runner's line (a pcall around the plan rethrew it)
  T.ok(err:find("bad_report%.lua:%d+: in field 'report'"), err)
  st, _, err = run()
  T.eq(st, 1, err)
  T.ok(not err:find("another runner", 1, true), err)
end)

-- {==== --run HASH: one run by hand, or a runner's child ====
-- A --run by hand took no lock: beside a runner of the sweep training the
-- same run, both wrote its files at once. It now shares the root's lock
-- (runners exclude it, --runs go together) and holds its run's own; the
-- runner's children and a --slurm's array elements skip the root's lock
-- their parent took (they were refused by it).

-- the hashes of the task's runs (seed 1's first), from --list-runs
local function hashes(root)
  local st, out, err = workbench("--list-runs --root " .. q(root), "STARTS=/dev/null")
  T.eq(st, 0, err)
  local hs = {}
  for h in out:gmatch("%-%-run (%x+)") do hs[#hs + 1] = h end
  T.eq(#hs, 2, out)
  return hs
end

T.test("--run by hand while a local runner trains: refused (exit 1) naming it; the "
  .. "runner's own children are not", function()
  local root, go, starts = dir .. "/byhand", dir .. "/byhand.go", dir .. "/byhand.starts"
  local hs = hashes(root)
  local wait = background("byhand", "--jobs 1 --root " .. q(root), string.format("HOLD=%s "
    .. "STARTS=%s", q(go), q(starts)))
  -- (or ended: its child refused by the lock the runner holds)
  T.wait_until("the runner training", 600, function() return wb.sys.exists(go .. ".in")
    or wb.sys.exists(dir .. "/byhand.st") end)
  T.ok(wb.sys.exists(go .. ".in"), "the runner's child trains: " .. (util.read_file(dir
    .. "/byhand.err") or ""))
  local lock = root .. "/runs/slurm/held.lock"
  local who = (util.read_file(lock) or "?"):gsub("%s+$", "")
  for _, h in ipairs(hs) do
    local st, _, err = workbench("--root " .. q(root) .. " --run " .. h, "STARTS=" .. q(starts))
    T.eq(st, 1, err)
    T.ok(err:find("[held] a runner of this sweep is using this root (" .. who .. "; it holds "
      .. lock .. "): run " .. h .. " (base seed ", 1, true), err)
    -- a variable naming a runner that does not hold the lock changes nothing
    st, _, err = workbench("--root " .. q(root) .. " --run " .. h, string.format("STARTS=%s "
      .. "WB_LOCK_PARENT='runner %d'", q(starts), wb.sys.getpid()))
    T.eq(st, 1, err)
    -- "slurm" outside a Slurm array element neither
    st, _, err = workbench("--root " .. q(root) .. " --run " .. h, string.format("STARTS=%s "
      .. "WB_LOCK_PARENT=slurm SLURM_ARRAY_TASK_ID=", q(starts)))
    T.eq(st, 1, err)
  end
  T.eq(lines(starts), 1, "only the runner's first child started")
  util.write_file(go, "")
  local st1, err1 = wait()
  T.eq(st1, 0, err1)
  T.ok(not err1:find("FAILED", 1, true), err1)
  T.eq(lines(starts), 2, "each run trained once, by the runner's children")
end)

T.test("--run: the same run twice at once is refused naming the first; another run goes "
  .. "along; a runner waits for them (refused)", function()
  local root, go, starts = dir .. "/tworuns", dir .. "/tworuns.go", dir .. "/tworuns.starts"
  local hs = hashes(root)
  local wait = background("tworuns", "--root " .. q(root) .. " --run " .. hs[1],
    string.format("HOLD=%s STARTS=%s", q(go), q(starts)))
  T.wait_until("the --run training", 600, function() return wb.sys.exists(go .. ".in") end)
  local lock = root .. "/runs/slurm/held-" .. hs[1] .. ".lock"
  local who = (util.read_file(lock) or "?"):gsub("%s+$", "")
  T.ok(who:find("^workbench pid %d+ on %S+, training run " .. hs[1] .. " %(base seed %d%) "
    .. "%(%-%-run%) since "), who)
  local st, _, err = workbench("--root " .. q(root) .. " --run " .. hs[1], "STARTS=" .. q(starts))
  T.eq(st, 1, err)
  T.ok(err:find("[held] run " .. hs[1] .. " (base seed ", 1, true)
    and err:find("is being trained by another process (" .. who .. "; it holds " .. lock
    .. "): not trained here twice at once", 1, true), err)
  -- the other run trains beside it
  st, _, err = workbench("--root " .. q(root) .. " --run " .. hs[2], "STARTS=" .. q(starts))
  T.eq(st, 0, err)
  T.eq(lines(starts), 2, "the first --run and the other run")
  -- a runner is refused while a --run trains (it would train the same run)
  st, _, err = workbench("--root " .. q(root), "STARTS=" .. q(starts))
  T.eq(st, 1, err)
  T.ok(err:find("[held] another runner of this sweep is using this root (", 1, true), err)
  -- an array element of a --slurm is refused only by its run's own lock
  st, _, err = workbench("--root " .. q(root) .. " --run " .. hs[1], string.format("STARTS=%s "
    .. "WB_LOCK_PARENT=slurm SLURM_ARRAY_TASK_ID=1", q(starts)))
  T.eq(st, 1, err)
  T.ok(err:find("is being trained by another process (" .. who, 1, true), err)
  util.write_file(go, "")
  local st1, err1 = wait()
  T.eq(st1, 0, err1)
  T.eq(lines(starts), 2, "each run trained once")
  -- the --runs ended: the root's lock is free
  st, _, err = workbench("--root " .. q(root), "STARTS=" .. q(starts))
  T.eq(st, 0, err)
  T.ok(not err:find("another runner", 1, true), err)
end)

T.test("a --slurm array element trains while its runner still holds the lock (not refused "
  .. "by its parent's lock)", function()
  local root, go, starts = dir .. "/element", dir .. "/element.go", dir .. "/element.starts"
  local hs = hashes(root)
  local wait = background("element", "--slurm --detach --root " .. q(root),
    "SBATCH_GO=" .. q(go))
  T.wait_until("the --slurm in sbatch", 600, function() return wb.sys.exists(go .. ".in") end)
  local st, _, err = workbench("--root " .. q(root) .. " --run " .. hs[1], string.format(
    "STARTS=%s WB_LOCK_PARENT=slurm SLURM_ARRAY_TASK_ID=1", q(starts)))
  T.eq(st, 0, err)
  T.eq(lines(starts), 1, "the element trained its run")
  util.write_file(go, "")
  local st1, err1 = wait()
  T.eq(st1, 0, err1)
  -- the element script says so
  local _, ls = T.sh("ls " .. q(root .. "/runs/slurm") .. "/*.sh")
  local script = assert(util.read_file((ls:gsub("%s+$", ""))))
  T.ok(script:find("\nexport WB_LOCK_PARENT=slurm", 1, true), script)
end)

-- }====

-- The lock was held by a child (sh, flock, tail --pid): ending the runner's
-- children (a `pkill tail`, a job control's cleanup) freed it while the
-- runner trained on, and a second runner of the sweep was let in.
T.test("the root's lock is the runner's own: killing its child processes does not free it",
  function()
  local root_lock = require "wb.root_lock"
  local ex = {root = dir .. "/own", name = "held"}
  local go = dir .. "/own.go"
  util.write_file(go, "")
  local code = string.format("local rl = require 'wb.root_lock'; "
    .. "local release = assert(rl.take({root = %q, name = 'held'}, 'training locally')); "
    .. "util = require 'wb.util'; util.write_file(%q, ''); "
    .. "for _ = 1, 6000 do if not wb.sys.exists(%q) then break end; os.execute('sleep 0.1') end; "
    .. "release()", ex.root, go .. ".in", go)
  os.execute(string.format("%s -e %s >/dev/null 2>&1 & echo $! > %s", q(exe), q(code),
    q(go .. ".pid")))
  T.wait_until("the holder", 60, function() return wb.sys.exists(go .. ".in") end)
  local pid = (util.read_file(go .. ".pid") or ""):match("%d+")
  -- every descendant of the holder, killed (its sleeps; the old lock's sh, flock and tail)
  local function kill_below(p)
    local h = io.popen("pgrep -P " .. p)
    local kids = h:read("a"); h:close()
    for c in kids:gmatch("%d+") do kill_below(c); os.execute("kill -KILL " .. c .. " 2>/dev/null") end
  end
  for _ = 1, 3 do kill_below(pid); os.execute("sleep 0.2") end
  T.ok(util.pid_alive(pid), "the holder itself lives")
  local release, why = root_lock.take(ex, "training locally")
  T.ok(not release and tostring(why):find("another runner of this sweep", 1, true),
    "a second runner let in: " .. tostring(why))
  if release then release() end
  os.remove(go)
  T.wait_gone(pid, 60, "the holder")
  release, why = root_lock.take(ex, "training locally")
  T.ok(release, why)
  if release then release() end
end)

T.test("a new lock file's mode is 0666 less the umask (a group-shared root's group may lock "
    .. "it)", function()
  -- it was 0644 whatever the umask: under umask 002 another user of the group was refused
  local f = dir .. "/mode.lock"
  local st, out, err = T.sh(string.format("umask 002 && %s -e %s && stat -c %%a %s", q(exe),
    q(string.format("assert(wb.sys.lock(%q, false, 0, 'me')):release()", f)), q(f)))
  T.eq(st, 0, err)
  T.eq(out:gsub("%s+$", ""), "664")
end)

T.done()
