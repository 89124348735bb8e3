-- scripts/study/cockpit.lua (`local C = require "study.cockpit"`): task 11's
-- reading of Cockpit's alpha (Schneider et al. 2021) from run records: the
-- values of a step series, each seed's median alpha after the first epoch
-- with the 95 % interval of their mean, and the verdict of a reading of
-- Cockpit's against that interval. Reads records only.

local M = {}

---C.values(recs, name, late) -> table
---The finite values of step series `name` (history.steps) over the records
---that finished (a diverged or failed run's steps up to its end are left
---out, as the claims leave such runs out), sorted; only the steps after
---the first epoch when late (alpha settles once the initial transient is
---over).
---Example: local a = C.values(runs:of("lr=0.1"), "alpha", true)
function M.values(recs, name, late)
  local out = {}
  for _, rec in ipairs(recs) do
    if rec.status ~= nil and rec.status ~= "ok" then goto next end
    local st = rec.history and rec.history.steps or {}
    local from = 0
    for i, e in ipairs(late and st.epoch or {}) do if e == 1 then from = st.step[i] + 1 end end
    for i, v in ipairs(st[name] or {}) do
      if v == v and math.abs(v) < math.huge and st.step[i] >= from then out[#out + 1] = v end
    end
    ::next::
  end
  table.sort(out)
  return out
end

---C.median(t) -> number
---The median of a sorted list (NaN when empty).
function M.median(t) return #t > 0 and (t[(#t + 1) // 2] + t[#t // 2 + 1]) / 2 or 0 / 0 end

---C.share_above(t, x) -> number
---The share of the values of t above x (NaN when empty).
function M.share_above(t, x)
  local n = 0
  for _, v in ipairs(t) do if v > x then n = n + 1 end end
  return #t > 0 and n / #t or 0 / 0
end

---C.per_seed(recs) -> table
---Each record's (seed's) median alpha after epoch 1; their mean m and its
---95 % interval [lo, hi] over seeds (Student's t), n, and text = "m, 95 % CI
---[lo, hi] over n seeds". An interval needs 2 seeds: with fewer, lo and hi
---are NaN and text says so (C.verdict then decides nothing).
---Example: print(C.per_seed(runs:of("lr=0.1")).text)
function M.per_seed(recs)
  local ms = {}
  for _, rec in ipairs(recs) do
    local a = M.values({rec}, "alpha", true)
    if #a > 0 then ms[#ms + 1] = M.median(a) end
  end
  local m = wb.runs.mean_std(ms) or 0 / 0
  if #ms < 2 then
    return {m = m, lo = 0 / 0, hi = 0 / 0, n = #ms, text = #ms == 0
      and "no seed has alpha after epoch 1: no interval"
      or string.format("%.3f over 1 seed (an interval needs 2 seeds: no verdict)", m)}
  end
  local h = wb.inference.ci_half(ms)
  return {m = m, lo = m - h, hi = m + h, n = #ms,
    text = string.format("%.3f, 95 %% CI [%.3f, %.3f] over %d seeds", m, m - h, m + h, #ms)}
end

-- "near -1" is read as below -0.5: nearer no step at all (-1) than the
-- minimum along the step (0).
M.NEAR_MINUS_ONE = -0.5

---C.verdict(p, near_minus_one) -> string
---A reading of Cockpit's decided by the interval p of C.per_seed: alpha
---above 0 ("agree" when the interval lies above 0, "partly" when only the
---mean does, else "differ"), or with near_minus_one alpha near -1 ("agree"
---when the interval lies below -0.5, "partly" when it lies below 0 only).
---"undecided" when the interval is not finite (fewer than 2 seeds).
---Example: print(C.verdict({m = 0.1, lo = 0.05, hi = 0.15})) -- agree
function M.verdict(p, near_minus_one)
  local function finite(x) return x == x and math.abs(x) < math.huge end
  if not (finite(p.lo) and finite(p.hi) and finite(p.m)) then return "undecided" end
  if near_minus_one then
    return p.hi < M.NEAR_MINUS_ONE and "agree" or p.hi < 0 and "partly" or "differ"
  end
  return p.lo > 0 and "agree" or p.m > 0 and "partly" or "differ"
end

-- A verdict in a sentence: "ours agrees".
M.SAYS = {agree = "agrees", partly = "partly agrees", differ = "disagrees",
  undecided = "decides nothing (an interval needs 2 seeds)"}

return M
