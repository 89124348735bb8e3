-- wb/runner_plan.lua: the plan's lines, a task's (wb/runner.lua's main) and
-- ex:run()'s alike. The first counts the runs of three kinds apart:
--   "[name] N runs: C cached, M to measure on a recorded training, T to train (J jobs)"
-- (the middle one only when M > 0); the next say why the runs not cached
-- are not. Runs only measured again on their recorded training (a measure
-- hook edited) were counted "to train" (tryZ C3: "16 to train", nothing
-- trained), and ex:run() said only the count, never what had changed since
-- its runs were recorded (tryZ C4: `SCALE = 3` at the REPL, then "0 cached,
-- 4 to train" and no reason, where a task named the build hook).
local _ENV = require "wb.std"

local M = {}

-- How many of the runs `pending` will be measured on an equal recorded
-- training rather than trained (wb/train_donor.lua). The records are read
-- anew: a process's second ex:run() must see those its first wrote, and its
-- forked runs find their training in what this reads (the index is theirs).
function M.measured(ex, pending)
  local donor = require "wb.train_donor"
  donor.forget()
  return donor.count(ex, pending)
end

-- The first line: jobs, the jobs that train at once (nil: on Slurm), not
-- said when nothing is to train ("0 to train (2 jobs)", tryM 12) and at
-- most one a run ("(2 jobs)" for one run to train was one).
function M.header(ex, pending, jobs, measured)
  local n, train = #ex.specs, #pending - measured
  jobs = jobs and #pending > 0 and math.min(jobs, #pending) or jobs
  return string.format("[%s] %d run%s: %d cached, %s%d to train%s", ex.name, n,
    n == 1 and "" or "s", n - #pending,
    measured > 0 and string.format("%d to measure on a recorded training, ", measured) or "",
    train, #pending == 0 and "" or string.format(" (%s)", jobs and string.format("%d job%s",
      jobs, jobs == 1 and "" or "s") or "on Slurm: job arrays"))
end

-- What "to measure" means, nil when none is. Said as an intent: what the
-- measure hook reads shows only as it runs, in the run's process
-- (model.optimizer.lr: trained after all, said then, and counted as trained
-- in the task's README).
function M.measured_note(ex, measured)
  if measured == 0 then return nil end
  return string.format("[%s] the %d to measure %s an equal recorded training (only what "
    .. "comes after training changed): measured on it, not trained again, unless the "
    .. "measure hook reads what the record does not keep (then trained, said)", ex.name,
    measured, measured == 1 and "has" or "have")
end

-- The lines after the first, each ending in "\n" ("" when none): what
-- "to measure" means, and what changed since the runs not cached were
-- recorded under another identity (wb/runner_why.lua; not after --fresh,
-- which retrains recorded runs as asked).
function M.why(ex, pending, measured, fresh)
  local out = {}
  out[#out + 1] = M.measured_note(ex, measured)
  out[#out + 1] = not fresh and require("wb.runner_why").note(ex, pending) or nil
  return #out == 0 and "" or (table.concat(out, "\n") .. "\n")
end

return M
