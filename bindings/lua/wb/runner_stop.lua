-- wb/runner_stop.lua: what a task (or ex:run()) stopped by SIGINT or SIGTERM
-- says. The interrupt's error went up to the executable, which printed
-- "workbench: .../runner_children.lua:58: interrupted!" and a Lua traceback
-- (where the runner was, not what the user can do); now one line, as an
-- input error is printed: how many runs are done and how to go on. The exit
-- status stays 130 / 143 (the executable reads the signal, not the error).
--
-- The lock files (runs/slurm/<task>.lock, <task>-<hash>.lock) stay, and
-- that is harmless: a lock is the flock a holder process keeps on the file
-- (wb/root_lock.lua), and that process ends with this one, so nothing is
-- held; the file only names the last holder. Removing it would be the race
-- flock avoids: a runner waiting on the old file would hold a lock on a
-- file no longer there while the next one locks a new file.
local _ENV = require "wb.std"
local wb = require "wb"

-- What to run to go on. After --fresh (ex._fresh: how the option is
-- named, set by wb/runner.lua), the same command again retrained the runs
-- it had just retrained (tryK): without it, they are kept.
local function go_on(ex, done, n)
  if not ex._fresh or done == 0 then
    return "run the same command again to continue: finished runs are kept, and a stopped "
      .. "run resumes from its last saved epoch where it can"
  end
  local rest = n - done
  return string.format("run the same command without %s to keep the %d run%s retrained "
    .. "now%s; with %s again, %s retrained again too", ex._fresh, done, done == 1 and ""
    or "s", rest > 0 and string.format(" (the %d other%s then train%s only if not "
    .. "recorded)", rest, rest == 1 and "" or "s", rest == 1 and "s" or "") or "", ex._fresh,
    done == 1 and "it is" or "they are")
end

-- err: the error that stopped the runs; done: the runs finished by then, of
-- n pending, of ex's; detail: what the Slurm wait adds (its arrays
-- cancelled, wb/slurm_queue.lua), or nil. Returns the error to raise: err
-- itself unless a signal came (a run's own failure is still said as it was).
return function(err, ex, done, n, detail)
  if pcall(wb.sys.check_interrupt) then return err end
  local cached = #ex.specs - n
  return wb.spec.input_error(string.format("[%s] interrupted: %d of %d runs done (%d trained "
    .. "now, %d recorded before); %s%s", ex.name, cached + done, #ex.specs, done, cached,
    go_on(ex, done, n), detail and ("; " .. detail) or ""))
end
