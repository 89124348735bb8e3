-- wb/runs_copies.lua: seeds of one variant that trained the same, to the
-- bit (every epoch's loss and val_loss, and the test loss, as
-- wb/runs_same.lua compares variants). wb.seed(123) in a build hook with
-- shuffle = false made 5 seeds one training; the table said "38.00 ± 0.00"
-- and wb.compare "better beyond the seeds' uncertainty, p = 0.0079 (n = 5
-- and 5)" of one run a side (tryX 2). Copies are no independent samples:
-- the table marks their rows, wb.compare decides nothing from them, and the
-- runner warns (wb/task_readme.lua). Private to those and wb/runs.lua.
local _ENV = require "wb.std"
local identical = require("wb.runs_same").identical

-- The metrics that are the clock's (wb/runner_gather_same.lua's timings), as a set.
local CLOCK = {}
for _, path in ipairs(require("wb.runner_gather_same").TIMINGS) do
  if path[1] == "metrics" then CLOCK[path[2]] = true end
end

local M = {}

-- Whether records ra and rb (seeds of one variant) trained the same: their
-- losses to the bit (wb/runs_same.lua's test), and every final metric but
-- the clock's (sec_per_epoch, train_seconds) too. Records made by hand with
-- one loss list for every seed and other accuracies are no copies: a real
-- training with the same losses has the same accuracies.
function M.same(ra, rb)
  if not identical(ra, rb) then return false end
  local ma, mb = ra.metrics, rb.metrics -- tables: identical read their test_loss
  for _, pair in ipairs{{ma, mb}, {mb, ma}} do
    for k, x in pairs(pair[1]) do
      local y = rawget(pair[2], k) -- NaN is its own copy
      if not CLOCK[k] and type(x) == "number" and x ~= y and (x == x or y == y) then
        return false
      end
    end
  end
  return true
end

-- M.init_id(model) -> string: a digest of model's weights as built (each tensor's shape, sum,
-- norm and first and last entries, hashed), recorded before training (rec.init_id): seeds of
-- one variant that started from the same weights (wb.seed(123) in a build hook, with
-- shuffle on) trained apart, no copies, yet their spread is not the initialisation's, and
-- the table's ± said nothing of it (tryX t4c). Equal sums and norms to the bit of two
-- different draws do not happen.
function M.init_id(model)
  local parts = {}
  for i, w in ipairs(model:get_weights()) do
    local n = w:numel()
    local flat = w:reshape({n})
    parts[i] = string.format("%s %a %a %a %a", table.concat(w:shape(), "x"), w:sum(), w:norm(),
      n > 0 and flat[1] or 0, n > 0 and flat[n] or 0)
  end
  return wb.sys.hash_string(table.concat(parts, ";"))
end

-- The likely causes, said wherever copies are.
M.CAUSE = "a fixed seed in a hook, such as wb.seed in build or callbacks, or shuffle = false "
  .. "with an initialisation that does not depend on the run's seed"

-- Records rs (the seeds of one variant) in groups that trained the same:
-- the number of distinct trainings among the finished ones, and the groups
-- of two or more, each a sorted list of seeds (groups sorted by first seed).
function M.groups(rs)
  local reps, groups = {}, {}
  for _, r in ipairs(rs) do
    if r.status == nil or r.status == "ok" then
      local found
      for i, o in ipairs(reps) do
        if M.same(o, r) then found = i; break end
      end
      if found then table.insert(groups[found], r.seed)
      else reps[#reps + 1] = r; groups[#groups + 1] = {r.seed} end
    end
  end
  local copies = {}
  for _, g in ipairs(groups) do
    if #g > 1 then
      table.sort(g)
      copies[#copies + 1] = g
    end
  end
  table.sort(copies, function(a, b) return a[1] < b[1] end)
  return #reps, copies
end

-- Records rs (the seeds of one variant) that started from the same weights (rec.init_id) but
-- did not all train the same (those are copies, said as such): groups of two or more, each a
-- sorted list of seeds, sorted by first seed. Records without init_id (older) are left out.
function M.same_init(rs)
  local by, order = {}, {}
  for _, r in ipairs(rs) do
    if (r.status == nil or r.status == "ok") and type(r.init_id) == "string" then
      if not by[r.init_id] then by[r.init_id] = {}; order[#order + 1] = r.init_id end
      table.insert(by[r.init_id], r)
    end
  end
  local out = {}
  for _, id in ipairs(order) do
    local g = by[id]
    local n = M.groups(g)
    if #g > 1 and n > 1 then
      local seeds = {}
      for i, r in ipairs(g) do seeds[i] = r.seed end
      table.sort(seeds)
      out[#out + 1] = seeds
    end
  end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

-- "seeds 1, 2, 3 and seeds 4, 5" of groups.
local function said(copies)
  local parts = {}
  for i, g in ipairs(copies) do
    local s = {}
    for j, x in ipairs(g) do s[j] = tostring(x) end
    parts[i] = "seeds " .. table.concat(s, ", ")
  end
  return table.concat(parts, " and ")
end

-- What a table's seeds cell of records rs adds when some of them are
-- copies: " (1 distinct training)"; "" when none are.
function M.seeds_mark(rs)
  local n, copies = M.groups(rs)
  if #copies == 0 then return "" end
  return string.format(" (%d distinct training%s)", n, n == 1 and "" or "s")
end

-- The line per variant of runs (a wb.Runs) with copies among its seeds:
-- the warning on stderr and README, and the table's note.
function M.lines(runs)
  local out = {}
  for _, v in ipairs(runs:variants()) do
    local rs = runs:of(v)
    local n, copies = M.groups(rs)
    if #copies > 0 then
      local fin = 0
      for _, r in ipairs(rs) do fin = fin + ((r.status == nil or r.status == "ok") and 1 or 0) end
      out[#out + 1] = string.format("- %s: %s trained the same, to the bit (losses of every "
        .. "epoch and the test loss): %d distinct training%s of %d seeds, not %d independent "
        .. "samples; its ± and any test over its seeds count copies. Likely cause: %s.", v,
        said(copies), n, n == 1 and "" or "s", fin, fin, M.CAUSE)
    end
  end
  return out
end

-- The line per variant of runs with seeds that started from the same weights and trained
-- apart: the warning on stderr and README (tryX t4c).
function M.init_lines(runs)
  local out = {}
  for _, v in ipairs(runs:variants()) do
    local shared = M.same_init(runs:of(v))
    if #shared > 0 then
      out[#out + 1] = string.format("- %s: %s started from the same initial weights (no "
        .. "copies: they trained apart): its ± and any test over its seeds measure the data "
        .. "order and dropout only, not the initialisation. Likely cause: a fixed seed in a "
        .. "hook, such as wb.seed in build.", v, said(shared))
    end
  end
  return out
end

-- The note under a table of runs (a wb.Runs): "" without copies.
function M.note(runs)
  local l = {}
  for _, v in ipairs(runs:variants()) do
    local _, copies = M.groups(runs:of(v))
    if #copies > 0 then l[#l + 1] = v .. " " .. said(copies) end
  end
  local shared = {}
  for _, v in ipairs(runs:variants()) do
    local g = M.same_init(runs:of(v))
    if #g > 0 then shared[#shared + 1] = v .. " " .. said(g) end
  end
  local out = #l == 0 and "" or string.format("\n*Seeds that trained the same, to the bit "
    .. "(copies: their ± is no spread over independent seeds): %s.*\n", table.concat(l, "; "))
  if #shared > 0 then
    out = out .. string.format("\n*Seeds that started from the same initial weights (their ± "
      .. "is not the initialisation's spread): %s.*\n", table.concat(shared, "; "))
  end
  return out
end

-- wb.compare's refusal for variants a and b of runs when either has copies
-- among its seeds: the sentence saying so, with the difference diff (as
-- said) and n effective (the distinct trainings a side); nil when both
-- sides' seeds are distinct trainings.
function M.refusal(runs, a, b, diff)
  local na, ca = M.groups(runs:of(a))
  local nb, cb = M.groups(runs:of(b))
  if #ca == 0 and #cb == 0 then return nil end
  local who = {}
  if #ca > 0 then who[#who + 1] = a .. "'s " .. said(ca) end
  if #cb > 0 then who[#who + 1] = b .. "'s " .. said(cb) end
  return string.format("Not decided: difference %s, but the seeds are not independent "
    .. "samples (%s trained the same, to the bit; n effective = %d and %d distinct "
    .. "trainings), so no test or interval is made from copies (likely cause: %s)", diff,
    table.concat(who, "; "), na, nb, M.CAUSE)
end

return M
