-- wb/root_lock.lua: one runner of a task on a root at a time, local or
-- --slurm. Two runners of the same sweep on one root (a local one and a
-- --slurm, or two of either) both found the same runs pending and trained
-- or submitted them twice at once, over each other's files. The lock,
-- <root>/runs/slurm/<task>.lock (flock), is taken before the plan; a local
-- runner holds it until its report is written, a --slurm one until its
-- array is submitted and noted (its runs are then in Slurm's queue, and
-- wb.slurm.busy names them to the next runner). A second runner is refused
-- (exit 1) naming the holder: it did not wait, as a wait of hours behind a
-- sweep nobody remembers starting looks like a hang.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local record = require "wb.record"

local M = {}

-- The lock file of task `name` in `root`.
function M.path(root, name)
  return record.dir(root) .. "/slurm/" .. name .. ".lock"
end

-- Takes the lock of ex's runs; `doing` says what this runner does with
-- them ("training locally", "submitting to Slurm"), for the message of one
-- refused. The lock is held by a child process (flock, then tail --pid)
-- that ends with this one, killed or not. Returns release() (safe to call
-- twice), or nil and why it was not taken (another runner holds it: named
-- by what it wrote in the file).
function M.take(ex, doing)
  local path = M.path(ex.root, ex.name)
  wb.sys.mkdir_p(util.dirname(path))
  local p0 = io.popen("command -v flock && command -v tail")
  local found = p0:read("a"); local ok0 = p0:close()
  if not ok0 or select(2, found:gsub("\n", "")) < 2 then
    return nil, "flock or tail is not on PATH (util-linux, coreutils): needed to keep two "
      .. "runners of a sweep from training the same runs at once"
  end
  local me = string.format("workbench pid %d on %s, %s since %s", wb.sys.getpid(),
    wb.sys.hostname(), doing, os.date("!%Y-%m-%d %H:%M:%S UTC"))
  local q = util.shell_quote
  -- tail polls its pid every 0.1 s (-s), so the lock outlives its runner
  -- by about that much
  local holder = string.format("echo %s > %s; echo \"locked $$\"; exec tail --pid=%d -s 0.1 "
    .. "-f /dev/null", q(me), q(path), wb.sys.getpid())
  -- wait: "-n" (refuse at once) or "-w N" (a dead runner's holder ending)
  local function try(wait)
    local p = assert(io.popen(string.format("flock %s -E 75 %s sh -c %s 2>&1; echo \"exit $?\"",
      wait, q(path), q(holder))))
    local line = p:read("l") or ""
    local pid = line:match("^locked (%d+)$")
    if pid then
      local held = true
      return function()
        if not held then return end
        held = false
        os.execute("kill " .. pid .. " 2>/dev/null")
        p:close()
      end
    end
    local rest = line .. "\n" .. (p:read("a") or "")
    p:close()
    return nil, rest
  end
  local release, rest = try("-n")
  if release then return release end
  if not rest:find("exit 75", 1, true) then
    return nil, string.format("could not lock %s: %s", path, rest:gsub("%s+$", ""))
  end
  local who = (util.read_file(path) or ""):gsub("%s+$", "")
  -- The holder of a runner killed a moment ago (SIGKILL: no release) lives
  -- until its tail notices, up to 0.1 s; a rerun started at once waits for
  -- it rather than being refused by a runner that is gone.
  local pid, host = who:match("^workbench pid (%d+) on (%S+),")
  if pid and host == wb.sys.hostname() and not util.pid_alive(pid) then
    release, rest = try("-w 10")
    if release then return release end
  end
  return nil, string.format("another runner of this sweep is using this root (%s; it holds "
    .. "%s): nothing trained or submitted here; run the task again once it has ended (a "
    .. "--slurm one: once it has submitted; its runs are then in Slurm's queue, and named)",
    who ~= "" and who or "a process that has not said who it is yet", path)
end

return M
