-- wb/runs_kernels.lua: which OpenBLAS kernels the seeds of a mean were
-- trained with. The kernel (a record's blas_core, wb.sys.blas_core; set by
-- the CPU or OPENBLAS_CORETYPE) is deliberately no part of a run's identity:
-- seeds trained with two kernels pool as seeds of one configuration. But
-- another kernel sums in another order, so the same run gives other numbers
-- from the last bits on: a mean over both says so, naming the kernels and
-- their counts, as find says of other mixes (wb/runs_warn.lua). Private to
-- wb/runs.lua (which makes M.mixed public as wb.runs.kernels_mixed),
-- wb/runs_warn.lua, wb/runs_curve_note.lua and wb/task_readme.lua.
local _ENV = require "wb.std"
local record = require "wb.record"
local argcheck = require("wb.runs_group").argcheck

local M = {}

local function finished(r) return r.status == nil or r.status == "ok" end

---wb.runs.kernels_mixed(records) -> string|nil
---The OpenBLAS kernels (a record's blas_core) of the records that enter a
---mean (finished: status nil or "ok"), as wb.record.tally gives them
---("Haswell (1), SkylakeX (2)"), when there are more than one (a record
---without blas_core counts as "unknown"); nil when one or none. Another
---kernel sums in another order: a mean over both differs in its last bits.
---@param records table
---@return string|nil
---Example: print(wb.runs.kernels_mixed(wb.runs.find{}.records))
function M.mixed(rs)
  argcheck(type(rs) == "table", 1, "kernels_mixed", "table", rs)
  local in_mean, seen, n = {}, {}, 0
  for _, r in ipairs(rs) do
    if finished(r) then
      in_mean[#in_mean + 1] = r
      local c = type(r.blas_core) == "string" and r.blas_core or "unknown"
      if not seen[c] then seen[c], n = true, n + 1 end
    end
  end
  return n > 1 and record.tally(in_mean, "blas_core") or nil
end

-- The groups of records recs (by label_of(r): a run list's variant label)
-- whose seeds mix kernels, in order of first appearance: {"base: Haswell (1),
-- SkylakeX (1)", ...}; an empty list when none do.
function M.groups(recs, label_of)
  local by, order = {}, {}
  for _, r in ipairs(recs) do
    local l = tostring(label_of(r))
    if not by[l] then by[l] = {}; order[#order + 1] = l end
    table.insert(by[l], r)
  end
  local out = {}
  for _, l in ipairs(order) do
    local t = M.mixed(by[l])
    if t then out[#out + 1] = l .. ": " .. t end
  end
  return out
end

-- Why a kernel matters, said after the kernels of a mixed group.
M.WHY = "the kernel is no part of a run's identity, but another kernel sums in another "
  .. "order: the same run gives other numbers from the last bits on"

-- The note under a table whose rows mix kernels (groups: M.groups), "" when none do.
function M.note(groups)
  if #groups == 0 then return "" end
  return string.format("\n*Rows averaging seeds trained with more than one OpenBLAS kernel "
    .. "(%s): %s.*\n", table.concat(groups, "; "), M.WHY)
end

-- Says on stderr, once per run list and label, that the mean of label v's
-- runs rs that method fname takes mixes kernels (wb.Runs:stat, values, curve,
-- plot_curves: a number or a figure has no room for the note a table has).
local said = setmetatable({}, {__mode = "k"})
function M.say(list, v, rs, fname)
  local t = M.mixed(rs)
  if not t then return end
  said[list] = said[list] or {}
  if said[list][v] then return end
  said[list][v] = true
  io.stderr:write(string.format("wb.Runs:%s: variant '%s' averages seeds trained with more "
    .. "than one OpenBLAS kernel (%s): %s\n", fname, tostring(v), t, M.WHY))
end

return M
