-- wb/runner_provenance.lua: two parts of a task README's provenance
-- paragraph (wb/task.lua), from the records of its runs: which are copies of
-- another task's identical training, and how many runs trained at once when
-- they were timed.
local _ENV = require "wb.std"

local M = {}

-- " (M of them copies of an identical training in T: ...)" for the records
-- `recs` that are a copy of another task's training (reused_from): their
-- numbers are that training's, it was not done again.
function M.copies(recs)
  local n, from, seen = 0, {}, {}
  for _, r in ipairs(recs) do
    if r.reused_from then
      n = n + 1
      local t = tostring(r.reused_from):match("^(.*)%-%x+$") or tostring(r.reused_from)
      if not seen[t] then seen[t] = true; from[#from + 1] = t end
    end
  end
  if n == 0 then return "" end
  return string.format(" (%d of them %s of an identical training in %s: same numbers, not "
    .. "trained again)", n, n == 1 and "a copy" or "copies", table.concat(from, ", "))
end

-- How many runs trained at once when these were timed (seconds per epoch
-- depend on it): the records' concurrent_jobs and cores (wb/train.lua).
function M.timing(recs)
  local j, cores, seen, unknown = 0, {}, {}, 0
  for _, r in ipairs(recs) do
    local n = math.tointeger(r.concurrent_jobs) -- JSON may read 2 back as 2.0
    if n then
      j = math.max(j, n)
      local c = tostring(r.cores or "?")
      if not seen[c] then seen[c] = true; cores[#cores + 1] = c end
    else unknown = unknown + 1 end
  end
  if #recs == 0 then return "" end
  if j == 0 then
    return " Timings: how many runs trained at once (they share the cores) is not recorded."
  end
  return string.format(" Timings (seconds per epoch and the like) measured with up to %d "
    .. "run%s training at once on %s cores%s.", j, j == 1 and "" or "s",
    table.concat(cores, " or "), unknown > 0 and string.format(" (%d run%s: not recorded)",
    unknown, unknown == 1 and "" or "s") or "")
end

return M
