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

-- err: the error that stopped the runs; done: the runs finished by then, of
-- n pending, of ex's. Returns the error to raise: err itself unless a signal
-- came (a run's own failure is still said as it was).
return function(err, ex, done, n)
  if pcall(wb.sys.check_interrupt) then return err end
  local cached = #ex.specs - n
  return wb.spec.input_error(string.format("[%s] interrupted: %d of %d runs done (%d trained "
    .. "now, %d recorded before); run the same command again to continue: finished runs are "
    .. "kept, and a stopped run resumes from its last saved epoch where it can", ex.name,
    cached + done, #ex.specs, done, cached))
end
