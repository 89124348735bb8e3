-- scripts/study/anova.lua (`local A = require "study.anova"`): whether a
-- quantity differs across more than two variants (C7: "activation choice
-- measurably changes convergence speed", over the four activations), by
-- one-way ANOVA's F test on the per-seed values (scipy.stats.f_oneway), and
-- that test as a part of a claim (A.part), decided with the claim's other
-- parts by claim_parts' rule (Holm).
--
-- The plain F test, not Welch's: Welch's weighs each variant by n / s^2 and
-- is undefined when one variant's seeds all agree, as whole epochs to a
-- target often do. When no variant spreads at all (F infinite or 0 / 0),
-- the exact permutation p that seeds fall into constant groups by chance
-- decides, as the two-sided rank test's 2 / C(n + m, n) does in
-- claim_parts; when some variant does not spread, the exact permutation
-- test of F (wb.inference.permutation_p) decides in A.part.
--
-- The F distribution's tail is the regularized incomplete beta function,
-- wb.inference's (the one its t tests use; checked against scipy in
-- tests/lua/test_audit_claims.lua).
local runs_mod = wb.runs
local P = require "study.claim_parts"
local betai = wb.inference._betai

local M = {}

---A.f_sf(f, d1, d2) -> number: P(F > f) for Snedecor's F with d1, d2
---degrees of freedom (scipy.stats.f.sf).
function M.f_sf(f, d1, d2)
  if f <= 0 then return 1 end
  if f == math.huge then return 0 end
  return betai(d2 / 2, d1 / 2, d2 / (d2 + d1 * f))
end

-- n! as a float (the counts here are seeds: small)
local function fact(n)
  local r = 1
  for i = 2, n do r = r * i end
  return r
end

-- The exact permutation p of "every group constant" (no variant's seeds
-- spread, some differ): the chance that the pooled values, dealt at random
-- into groups of these sizes, leave every group constant. Each way of giving
-- each group one value whose counts the groups' sizes add up to is
-- prod(c_v!) / prod(n_g!) deals; there are N! / prod(n_g!) deals in all.
-- Two groups of n and m with different values: 2 / C(n + m, n).
local function constant_groups_p(groups)
  local count, values, n = {}, {}, 0
  for _, g in ipairs(groups) do
    -- values that agree up to rounding (wb.inference's rule) are one value
    local v = g[1]
    for _, u in ipairs(values) do
      if wb.inference._constant({u}, {v}) then v = u; break end
    end
    if not count[v] then values[#values + 1] = v; count[v] = 0 end
    count[v] = count[v] + #g
    n = n + #g
  end
  local ways, left = 0, {}
  for _, v in ipairs(values) do left[v] = count[v] end
  local function deal(i)
    if i > #groups then ways = ways + 1; return end
    for _, v in ipairs(values) do
      if left[v] >= #groups[i] then
        left[v] = left[v] - #groups[i]
        deal(i + 1)
        left[v] = left[v] + #groups[i]
      end
    end
  end
  deal(1)
  local p = ways / fact(n)
  for _, v in ipairs(values) do p = p * fact(count[v]) end
  return math.min(1, p)
end

---A.oneway(groups) -> table: one-way ANOVA of lists of numbers (each at
---least one value; scipy.stats.f_oneway): {f, df1, df2, p}; no_spread =
---true when no group spreads (then p is the exact permutation p of that,
---1 when every value is equal, and f is nil). p is nil with fewer than 2
---groups or no more values than groups.
function M.oneway(groups)
  local k, n, total = #groups, 0, 0
  for _, g in ipairs(groups) do
    for _, x in ipairs(g) do total, n = total + x, n + 1 end
  end
  local r = {df1 = k - 1, df2 = n - k}
  if k < 2 or n <= k then return r end
  local grand, between, within = total / n, 0, 0
  for _, g in ipairs(groups) do
    local m = 0
    for _, x in ipairs(g) do m = m + x end
    m = m / #g
    -- a group of equal values adds no spread, exactly (rounding left ~1e-32 and the F
    -- test a p of 5e-93 where the exact one of constant groups is 3/84: tryO 1)
    if wb.inference._constant(g) then m = g[1] end
    between = between + #g * (m - grand) ^ 2
    if not wb.inference._constant(g) then
      for _, x in ipairs(g) do within = within + (x - m) ^ 2 end
    end
  end
  if within == 0 then
    r.no_spread = true
    r.p = wb.inference._constant(table.unpack(groups)) and 1 or constant_groups_p(groups)
    return r
  end
  r.f = (between / r.df1) / (within / r.df2)
  r.p = M.f_sf(r.f, r.df1, r.df2)
  return r
end

local never = P.never -- every run of a group recorded false

---A.part(desc, gs, labels, name) -> table: the part "quantity name differs
---across the variants gs (labels: their names)", for claim_parts.decide:
---{p, sign = 1 (a rejection can only support it), name, text}. A variant
---whose every seed never reached a target is named and left out of the
---test; one with only some seeds that never did, or with runs that did not
---finish, leaves the part without a verdict (their values would flatter it).
function M.part(desc, gs, labels, name)
  local groups, shown, nevers, issues, dropped, partial = {}, {}, {}, {}, false, false
  for i, g0 in ipairs(gs) do
    local g, bad = P.finished(g0 or {})
    if bad > 0 then
      dropped = true
      issues[#issues + 1] = string.format("%d of %d %s seeds diverged or failed (left out)",
        bad, #g + bad, labels[i])
    end
    local xs = P.vals(g, name)
    if #g > 0 and never(g, name) then
      nevers[#nevers + 1] = string.format("%s (n = %d)", labels[i], #g)
    elseif #xs > 0 then
      if #xs < #g then
        partial = true
        issues[#issues + 1] = string.format("%d of %d %s seeds %s", #g - #xs, #g, labels[i],
          name:find("_to_target") and "never reached it" or "have no value")
      end
      groups[#groups + 1] = xs
      local m, s = runs_mod.mean_std(xs)
      shown[#shown + 1] = string.format("%s %s (n = %d)", labels[i],
        P.fmt(m, #xs > 1 and s or nil, name), #xs)
    end
  end
  if #shown == 0 then
    return {text = desc .. ": " .. (#nevers > 0 and "no variant reached it: "
      .. table.concat(nevers, ", ") or "no data") .. "; no verdict"}
  end
  local text = desc .. ": " .. table.concat(shown, ", ")
  if #nevers > 0 then
    text = text .. "; never reached it, left out of the test: " .. table.concat(nevers, ", ")
  end
  if #issues > 0 then text = text .. "; " .. table.concat(issues, "; ") end
  local small = #groups < 2
  for _, g in ipairs(groups) do small = small or #g < 2 end
  if small then
    return {text = text .. "; fewer than 2 variants, or fewer than 2 seeds in one: no verdict"}
  end
  if partial then return {text = text .. " (their values are unknown): no verdict"} end
  local r = M.oneway(groups)
  if r.no_spread then
    text = string.format("%s; no variant's seeds spread: p = %s (permutation test, exact)",
      text, wb.compare.fmt_p(r.p))
  else
    text = string.format("%s; one-way ANOVA F(%d, %d) = %.3g", text, r.df1, r.df2, r.f)
    -- F's tail assumes normal groups of one variance; a variant whose seeds
    -- all tie (whole epochs) is far from that, and the permutation test of
    -- the same F gave a p 8 times larger (0.0065 for F's 0.00079, which
    -- decided: tryT T3), so that exact p decides; F's is said beside it. Past
    -- the permutation test's budget (many distinct values), F's p, flagged.
    local flat = 0
    for _, g in ipairs(groups) do
      if wb.inference._constant(g) then flat = flat + 1 end
    end
    local p_exact = flat > 0 and wb.inference.permutation_p(groups)
    if p_exact then
      text = string.format("%s, p = %s (permutation test of F, exact: %d of the %d variants' "
        .. "seeds do not spread; F's own p, %s, assumes they do)", text,
        wb.compare.fmt_p(p_exact), flat, #groups, wb.compare.fmt_p(r.p))
      r.p = p_exact
    else
      text = string.format("%s, p = %s", text, wb.compare.fmt_p(r.p))
      if flat > 0 then
        text = string.format("%s (F's p is approximate: %d of the %d variants' seeds do not "
          .. "spread)", text, flat, #groups)
      end
    end
  end
  return {p = r.p, sign = 1, name = name, dropped = dropped, text = text}
end

return M
