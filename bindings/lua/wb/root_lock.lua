-- wb/root_lock.lua: one runner of a task on a root at a time, local or
-- --slurm. Two runners of the same sweep on one root (a local one and a
-- --slurm, or two of either) both found the same runs pending and trained
-- or submitted them twice at once, over each other's files. The lock,
-- <root>/runs/slurm/<task>.lock (flock), is taken before the plan; a local
-- runner holds it until its report is written, a --slurm one until its
-- array is submitted and noted (its runs are then in Slurm's queue, and
-- wb.slurm.busy names them to the next runner). A second runner is refused
-- (exit 1) naming the holder: it did not wait, as a wait of hours behind a
-- sweep nobody remembers starting looks like a hang. A --run HASH (one run,
-- by hand) shares the lock and holds its run's own (M.take_run, below); so
-- does wb.runner.run_experiment (ex:run(), a script's or the REPL's) for
-- each run it trains: two of them, or one and a runner, on the same runs
-- wrote the same records and weights at once.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local record = require "wb.record"

local M = {}

-- The lock file of task `name` in `root`.
function M.path(root, name)
  return record.dir(root) .. "/slurm/" .. name .. ".lock"
end

-- Holds the lock `path` (flock(2); "-x" exclusive or "-s" shared) in this
-- process (wb.sys.lock: the kernel drops it when the process ends, killed
-- or not), having written `me` (who holds it) into the file. Returns
-- release() (safe to call twice), or nil, nil when another holds it
-- (`polls`: 0 refuses at once, N waits N times 0.1 s), or nil and why it
-- could not be tried. It used to be held by a child (sh, flock, tail
-- --pid), which a user's `pkill tail` ended while the runner trained on.
local function hold(path, me, mode, polls)
  local lock, err = wb.sys.lock(path, mode == "-s", polls, me .. "\n")
  if lock == false then return nil, nil end
  if not lock then return nil, "could not lock " .. err end
  return function() lock:release() end
end

local function whoami(doing)
  return string.format("workbench pid %d on %s, %s since %s", wb.sys.getpid(),
    wb.sys.hostname(), doing, os.date("!%Y-%m-%d %H:%M:%S UTC"))
end

-- The line the lock file at path holds (whoami's), and the pid it names
-- when that is a workbench of this host.
local function named_in(path)
  local who = (util.read_file(path) or ""):gsub("%s+$", "")
  local pid, host = who:match("^workbench pid (%d+) on (%S+),")
  return who, host == wb.sys.hostname() and pid or nil
end

-- What the lock file at path says of its holder, and whether that holder
-- is a workbench of this host that has ended.
local function holder_of(path)
  local who, pid = named_in(path)
  return who, pid ~= nil and not util.pid_alive(pid)
end

-- Takes `path` (mode "-x" or "-s") as `doing`: release, or nil and the
-- holder's line (or nil and an error, flagged by the third value).
local function take(path, doing, mode)
  wb.sys.mkdir_p(util.dirname(path))
  local me = whoami(doing)
  local release, err = hold(path, me, mode, 0)
  if release then return release end
  if err then return nil, err, true end
  local who, gone = holder_of(path)
  -- The lock file names a runner of this host that has ended, yet the lock
  -- is held: by a forked child of it, which ends with it (fork_call's
  -- SIGTERM) a moment later; a rerun started at once waits for that
  -- rather than being refused by a runner that is gone.
  if gone then
    release, err = hold(path, me, mode, 100)
    if release then return release end
    if err then return nil, err, true end
    who, gone = holder_of(path)
  end
  if who == "" then who = "a process that has not said who it is yet" end
  -- --run processes share the lock, each writing its line: the last to
  -- write may have ended while others still hold it
  if gone then who = who .. "; it has ended, and the lock is still held: by a training it "
    .. "forked (ex:run(), which ends with it) or by other --run processes of this sweep" end
  return nil, who
end

-- Takes the lock of ex's runs; `doing` says what this runner does with
-- them ("training locally", "submitting to Slurm"), for the message of one
-- refused. The lock is this process's (flock(2)): it ends with this one,
-- killed or not. Returns release() (safe to call
-- twice), or nil and why it was not taken (another runner holds it: named
-- by what it wrote in the file).
function M.take(ex, doing)
  local path = M.path(ex.root, ex.name)
  local release, who, bad = take(path, doing, "-x")
  if release then return release end
  if bad then return nil, who end
  return nil, string.format("another runner of this sweep is using this root (%s; it holds "
    .. "%s): nothing trained or submitted here; run the task again once it has ended (a "
    .. "--slurm one: once it has submitted; its runs are then in Slurm's queue, and named)",
    who, path)
end

-- {==================== one run (--run HASH) ====================
-- A --run trains one run's files. By hand, while a runner of the sweep
-- trains (the same run, likely), both wrote them at once: it now shares
-- the root's lock (-s: runners are refused while it trains, and it while a
-- runner holds the lock; --run processes, GNU parallel over --list-runs, go
-- together), and every --run holds its own run's lock (-x: the same run
-- twice at once is refused). The runner's own children do not take the
-- root's lock their runner holds (refused by their parent), nor do the
-- elements of a --slurm's array (their runner holds it until they are
-- queued, and wb.slurm.busy keeps later runners off them): each names its
-- parent in M.PARENT, set by the runner (wb/runner_children.lua) or the
-- element's script (wb/slurm_submit.lua).

-- The environment variable: "runner <pid>" (a local runner's child) or
-- "slurm" (an array element).
M.PARENT = "WB_LOCK_PARENT"

-- The lock file of run `hash` of task `name`.
function M.run_path(root, name, hash)
  return record.dir(root) .. "/slurm/" .. name .. "-" .. hash .. ".lock"
end

-- Whether this process's parent holds ex's root lock for it: a runner of
-- this host, alive, that the lock file names (a stale variable, copied to
-- a shell by hand, does not pass), or a Slurm array element.
local function parent_holds(ex)
  local parent = os.getenv(M.PARENT) or ""
  if parent == "slurm" then return (os.getenv("SLURM_ARRAY_TASK_ID") or "") ~= "" end
  local pid = parent:match("^runner (%d+)$")
  if not pid then return false end
  local _, named = named_in(M.path(ex.root, ex.name))
  return named == pid and util.pid_alive(pid)
end

-- Takes ex's root lock shared as `doing` (unless this process's parent
-- holds it): release(), or nil and why not; `refused` says what is not
-- done when a runner holds it.
function M.take_shared(ex, doing, refused)
  if parent_holds(ex) then return function() end end
  local path = M.path(ex.root, ex.name)
  local release, who, bad = take(path, doing, "-s")
  if release then return release end
  if bad then return nil, who end
  return nil, string.format("a runner of this sweep is using this root (%s; it holds %s): "
    .. "%s", who, path, refused)
end

-- Takes run s's own lock (exclusive) as `doing`: release(), or nil and
-- why not (another process trains it, named).
function M.take_one(ex, s, doing)
  local what = string.format("run %s (%s seed %d)", s.hash, s.variant, s.seed)
  local path = M.run_path(ex.root, ex.name, s.hash)
  local release, who, bad = take(path, doing, "-x")
  if release then return release end
  if bad then return nil, who end
  return nil, string.format("%s is being trained by another process (%s; it holds %s): not "
    .. "trained here twice at once", what, who, path)
end

-- Takes what a --run of spec s needs: the root's lock shared (unless its
-- parent holds it) and s's own. Returns release(), or nil and why not.
function M.take_run(ex, s)
  local what = string.format("run %s (%s seed %d)", s.hash, s.variant, s.seed)
  local doing = "training " .. what .. " (--run)"
  local root_release, why = M.take_shared(ex, doing, what .. " not trained here (it may be "
    .. "training it now); run it again once the runner has ended")
  if not root_release then return nil, why end
  local release, held = M.take_one(ex, s, doing)
  if not release then
    root_release()
    return nil, held
  end
  return function() release(); root_release() end
end

-- }====================

-- Raises the refusal of fname (a library function: run_experiment) to train ex while another
-- process holds a lock (why: take_shared's or take_one's message) as an input error: one
-- line, as the task runner's own refusals, not a failure with a traceback (tryX 5).
function M.refuse(fname, ex, why)
  error(wb.spec.input_error(string.format("%s: [%s] %s", fname, ex.name, why)), 0)
end

return M
