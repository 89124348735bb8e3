-- scripts/study/claim_parts.lua (`local P = require "study.claim_parts"`):
-- the parts of the report's claims (study/claims.lua) and the one rule that
-- decides them: a two-sided Welch test between two variants' per-seed
-- values (P.part) or a one-sample t-test of one variant's (P.positive), the
-- exact rank or sign test where the seeds have no spread, Holm's correction
-- over the parts of one claim (P.decide) and the claim's verdict
-- (P.combine). Runs that did not finish are left out of every number and
-- said. Reads records only.
local runs_mod = wb.runs

local M = {}

local function vals(rs, name)
  local out = {}
  for _, r in ipairs(rs or {}) do
    local v = (r.status == nil or r.status == "ok") and runs_mod.value(r, name)
    if type(v) == "number" then out[#out + 1] = v end
  end
  return out
end

local function fmt(m, s, name) return runs_mod.fmt_mean_std(m, s, name) end

-- mean ± sd of n seeds; one seed has no sd ("0.97", not "0.97 ± 0.00")
local function ms(m, s, n, name) return fmt(m, n > 1 and s or nil, name) end

-- A side's finished runs, and how many of its runs did not finish (diverged
-- or failed): those are left out of every number, and said.
local function finished(g)
  if not g then return nil, 0 end
  local out = {}
  for _, r in ipairs(g) do
    if r.status == nil or r.status == "ok" then out[#out + 1] = r end
  end
  return out, #g - #out
end

-- Wraps a part's function: its sides' unfinished runs are left out, named in
-- its text, and a part with any cannot be decided (the runs left out could
-- flatter either side).
local function unfinished_said(f, sides)
  return function(desc, ...)
    local args, bad, n = table.pack(...), {}, 0
    for _, i in ipairs(sides) do
      local ok_runs, k = finished(args[i])
      args[i] = ok_runs
      if k > 0 then bad[#bad + 1] = {i = i, k = k, n = #ok_runs + k}; n = n + k end
    end
    local res = f(desc, table.unpack(args, 1, args.n))
    for _, b in ipairs(bad) do
      local label = args[b.i + 4]
      res.text = string.format("%s; %d of %d %sseeds diverged or failed (left out)",
        res.text, b.k, b.n, label and label .. " " or "")
    end
    res.dropped = n > 0
    -- seeds that trained the same to the bit (a fixed seed in a hook) are
    -- copies of one training, no samples: their p decides nothing (tryX 2)
    for _, i in ipairs(sides) do
      local n_eff, copies = wb.compare.distinct(args[i] or {})
      if #copies > 0 then
        local label = args[i + 4]
        res.text = string.format("%s; %sseeds trained the same, to the bit: %d distinct "
          .. "training%s of %d, not independent samples", res.text, label and label .. " "
          or "", n_eff, n_eff == 1 and "" or "s", #args[i])
        res.copies = true
      end
    end
    return res
  end
end

-- signed numbers that never print 0 when they are not (a bound of an
-- interval that excludes 0 printed "+0.0"), p-values on their side of 5 %
local signed, fmt_p = wb.compare.signed, wb.compare.fmt_p

-- The interval clause of a part: difference (or mean), 95 % CI, p.
local function clause(what, d, lo, hi, p, name)
  return string.format("%s %s, 95 %% CI [%s, %s], p = %s", what, signed(d, name),
    signed(lo, name), signed(hi, name), fmt_p(p))
end

-- The rank test's exact two-sided p of a complete separation (the library's,
-- as wb.compare's findings decide with it)
local separation_p = wb.compare.separation_p

-- A part of a claim: "a is larger than b" in quantity `name` (or smaller
-- with lower = true), by Welch's test. Returns {p, sign (the claimed
-- direction agrees: +1, disagrees: -1), text}; decided later (Holm).
-- Every run of g recorded quantity name as false ("never": a target not
-- reached); a seed lacking the value is no "never". Also study/anova's.
local function never(g, name)
  if not g or #g == 0 then return false end
  for _, r in ipairs(g) do
    if not ((r.measures and r.measures[name] == false)
        or (r.metrics and rawget(r.metrics, name) == false)) then return false end
  end
  return true
end

local function part(desc, ga, gb, name, lower, la, lb)
  local a, b = vals(ga, name), vals(gb, name)
  -- "epochs to a target": a variant whose every seed has runs but never
  -- reached the target is slower than one that did (treated as infinity)
  local never_a, never_b = never(ga, name), never(gb, name)
  if name:find("_to_target") and (never_a or never_b) and not (never_a and never_b) then
    local reached, missed = never_b and la or lb, never_b and lb or la
    local xs, n_got, n_missed = never_b and a or b, never_b and #ga or #gb, never_b and #gb or #ga
    local m, s = runs_mod.mean_std(xs)
    local text = string.format("%s: %s %s (n = %d); %s never reached it (n = %d)", desc,
      reached, ms(m, s, #xs, name), #xs, missed, n_missed)
    if #xs < n_got then
      return {text = string.format("%s; %d of %d %s seeds did not either: no verdict", text,
        n_got - #xs, n_got, reached)}
    end
    -- every seed of one side is faster than every seed of the other: the
    -- rank test's exact p of that separation, corrected (Holm) with the
    -- other parts of the claim
    local p = separation_p(n_got, n_missed)
    return {p = p, sign = never_b == (lower == true) and 1 or -1, name = name,
      text = string.format("%s; every seed of one faster than every seed of the other: p = "
        .. "%s (rank test, exact)", text, fmt_p(p))}
  end
  if never_a and never_b then
    return {text = string.format("%s: neither %s (n = %d) nor %s (n = %d) reached it", desc,
      la, #ga, lb, #gb)}
  end
  if #a == 0 or #b == 0 then return {text = desc .. ": no data"} end
  local w = wb.welch(a, b)
  -- seeds without a value (a target never reached) are not in a side's
  -- mean: say so
  local miss_a, miss_b = ga and #ga - #a or 0, gb and #gb - #b or 0
  local what = name:find("_to_target") and "never reached it" or "have no value"
  local function never(l, k, n)
    return k > 0 and string.format("; %d of %d %s seeds %s", k, n, l, what) or ""
  end
  local text = string.format("%s: %s %s vs %s %s (n = %d, %d)%s%s", desc, la,
    ms(w.mean_a, w.sd_a, #a, name), lb, ms(w.mean_b, w.sd_b, #b, name), #a, #b,
    never(la, miss_a, ga and #ga or 0), never(lb, miss_b, gb and #gb or 0))
  if not w.p then return {text = text .. "; fewer than 2 seeds a side: no verdict"} end
  local sign = (w.diff < 0) == (lower == true) and 1 or -1
  -- no spread on either side (epochs to a target are whole numbers): the
  -- t statistic is undefined and Welch's p of 0 would decide on any two
  -- seeds; the sides are then completely separated (or equal), and the
  -- rank test's exact p of that separation decides
  if w.sd_a == 0 and w.sd_b == 0 then
    w.p = w.same and 1 or separation_p(#a, #b)
    text = text .. string.format("; no spread on either side: p = %s (rank test, exact)",
      fmt_p(w.p))
    return {p = w.p, sign = sign, name = name, flattered = name:find("_to_target")
      and (w.diff < 0 and miss_a or miss_b) > 0, text = text}
  end
  -- the side found faster must have reached the target in every seed: its
  -- mean over the seeds that did would flatter it (decide leaves it open)
  local flattered = name:find("_to_target") and (w.diff < 0 and miss_a or miss_b) > 0
  -- no spread on one side (any values: whole epochs, accuracies k / n):
  -- Welch's df then comes from the other side alone, and {2,2,2} vs {3,4,4}
  -- held at p = 0.038 (tryT T2), {0.1,0.1,0.1} vs {0.2,0.21,0.22} at 0.0027,
  -- where no deal of 3 and 3 seeds can go below 0.1; the exact permutation
  -- test of the difference decides (Welch only past its budget)
  local p_exact = (w.sd_a == 0 or w.sd_b == 0) and wb.inference.permutation_p({a, b})
  if p_exact then
    return {p = p_exact, sign = sign, name = name, flattered = flattered,
      text = string.format("%s; difference %s; no spread on one side: p = %s (permutation "
        .. "test, exact)", text, signed(w.diff, name), fmt_p(p_exact))}
  end
  return {p = w.p, sign = sign, half = w.half, name = name, flattered = flattered,
    text = text .. "; " .. clause("difference", w.diff, w.lo, w.hi, w.p, name)}
end

-- A one-sample part: quantity `name` per seed is positive (negative with
-- below = true; t-test of the mean against 0).
local function positive(desc, g, name, below)
  local a = vals(g, name)
  if #a == 0 then return {text = desc .. ": no data"} end
  local m, s = runs_mod.mean_std(a)
  local text = string.format("%s: %s (n = %d)", desc, ms(m, s, #a, name), #a)
  if #a < 2 then return {text = text .. "; one seed: no verdict"} end
  if s == 0 then
    -- every seed the same value: the t statistic is undefined (Student's p
    -- of 0 would decide on any two seeds); the sign test's exact p of n
    -- values of one sign, 2 / 2^n (5 seeds: 0.0625, never a verdict alone)
    local p = m == 0 and 1 or math.min(1, 2 / 2 ^ #a)
    return {p = p, sign = (m < 0) == (below == true) and 1 or -1, name = name,
      text = string.format(
      "%s; every seed the same: p = %s (sign test, exact)", text, fmt_p(p))}
  end
  local half = wb.inference.ci_half(a)
  local p = wb.inference.t_two_sided(math.abs(m) / (s / math.sqrt(#a)), #a - 1)
  return {p = p, sign = (m < 0) == (below == true) and 1 or -1, half = half, name = name,
    text = text .. "; " .. clause("mean", m, m - half, m + half, p, name)}
end

part = unfinished_said(part, {1, 2})
positive = unfinished_said(positive, {1})

-- Decides the parts of one claim together: Holm's correction over their
-- p-values at 5 %; a rejected part holds when its direction is the claimed
-- one and fails otherwise; an undecided part says what the seeds could
-- have detected. With more than one p, each part prints its Holm-adjusted p
-- beside its own (the adjusted one decides: p = 0.013 was undecided among 6
-- parts, and only the raw p was printed). id names the claim ("C2").
local function decide(parts, id)
  local ps, idx = {}, {}
  for i, p in ipairs(parts) do
    if p.p then ps[#ps + 1] = p.p; idx[#idx + 1] = i end
  end
  local reject, adj = {}, {}
  if #ps > 0 then reject, adj = wb.inference.holm(ps, 0.05) end
  for k, i in ipairs(idx) do
    local p = parts[i]
    if #ps > 1 then
      p.p_holm = adj[k]
      p.text = string.format("%s, Holm-adjusted over %s's %d %sparts %s", p.text, id or "the claim",
        #ps, #ps < #parts and "tested " or "", fmt_p(adj[k]))
    end
    if p.copies then
      p.text = p.text .. " (undecided: the copies of one training are no independent seeds)"
    elseif reject[k] and p.dropped then
      p.text = p.text .. " (undecided: the runs that did not finish are left out, which "
        .. "could flatter either side)"
    elseif reject[k] and p.flattered then
      p.text = p.text .. " (undecided: the faster side's seeds that never reached the "
        .. "target are not in its mean)"
    elseif reject[k] then
      p.ok, p.decided = p.sign > 0, true
      p.text = p.text .. (p.ok and " (holds)" or " (fails)")
    else
      -- a part whose own p (and CI, excluding 0) would decide alone is
      -- undecided by Holm: say so where the verdict is, not only in the rule
      -- ("CI [+0.00297, +0.0374], p = 0.037 ... (undecided)" read as a
      -- contradiction: tryT T5); a half-width is a difference: an
      -- accuracy's in percentage points
      local why = {}
      if p.p_holm and p.p <= 0.05 then
        why[1] = string.format("Holm-adjusted p = %s, above 0.05", fmt_p(p.p_holm))
      end
      if p.half then
        why[#why + 1] = string.format("the seeds resolve about %s", signed(p.half, p.name):sub(2))
      end
      p.text = p.text .. (#why > 0 and " (undecided: " .. table.concat(why, "; ") .. ")"
        or " (undecided)")
    end
  end
end

local function plural(n, one, many) return string.format("%d %s", n, n == 1 and one or many) end

-- A claim's verdict from its parts, and its kind: "supported" (every part
-- holds), "not supported" (every part fails), "undecided" (none holds or
-- fails), "partly supported" (some hold, none fails, the others undecided),
-- "partly not supported" (some fail, none holds, the others undecided),
-- "mixed" (some hold and some fail); the partial ones say their counts,
-- e.g. "partly supported (2 hold, 1 undecided, none fails)".
local function combine(parts)
  local yes, no = 0, 0
  for _, p in ipairs(parts) do
    if p.ok == true then yes = yes + 1 elseif p.ok == false then no = no + 1 end
  end
  local open = #parts - yes - no
  if yes == #parts then return "supported", "supported" end
  if no == #parts then return "not supported", "not supported" end
  if yes == 0 and no == 0 then return "undecided", "undecided" end
  local holds, fails = plural(yes, "holds", "hold"), plural(no, "fails", "fail")
  local und = plural(open, "undecided", "undecided")
  if no == 0 then
    return string.format("partly supported (%s, %s, none fails)", holds, und),
      "partly supported"
  elseif yes == 0 then
    return string.format("partly not supported (%s, %s, none holds)", fails, und),
      "partly not supported"
  end
  return string.format("mixed (%s, %s%s)", holds, fails, open > 0 and ", " .. und or ""),
    "mixed"
end

M.vals, M.fmt, M.finished, M.never = vals, fmt, finished, never
M.part, M.positive, M.decide, M.combine = part, positive, decide, combine

return M
