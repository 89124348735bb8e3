-- test_mutants_study.lua: the report's rule for claims (study/claim_parts.lua)
-- on numbers whose verdict is known in closed form: Holm's step-down
-- correction over a claim's parts (the smallest p against 0.05 / k, the
-- next against 0.05 / (k - 1), ..., stopping at the first kept), and the
-- direction of a two-sided part and of a one-sample part, and the claim's
-- verdict from its parts. Found by mutation testing: decide() without Holm
-- (each part at 0.05 on its own), and a claim with a failed part and an
-- undecided one called "not supported" instead of "mixed", passed every
-- other test.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local P = require "study.claim_parts"

-- Parts with these p-values, each in the claimed direction (sign 1) unless
-- signs says otherwise; decided by P.decide. Returns the parts.
local function decided(ps, signs)
  local parts = {}
  for i, p in ipairs(ps) do
    parts[i] = {p = p, sign = signs and signs[i] or 1, text = "part " .. i, name = "x"}
  end
  P.decide(parts)
  return parts
end

T.test("decide: Holm's correction over a claim's parts, not 0.05 each", function()
  -- 0.03 > 0.05 / 2: nothing is rejected (each alone is below 0.05)
  local parts = decided({0.03, 0.04})
  T.eq(parts[1].ok, nil, parts[1].text); T.eq(parts[2].ok, nil, parts[2].text)
  -- its own p would decide alone: the verdict says Holm's does not (tryT T5)
  T.ok(parts[1].text:find("(undecided: Holm-adjusted p = 0.06, above 0.05)", 1, true),
    parts[1].text)
  T.eq(P.combine(parts), "undecided")
  -- 0.02 <= 0.025, then 0.04 <= 0.05: both rejected
  parts = decided({0.04, 0.02})
  T.eq(parts[1].ok, true); T.eq(parts[2].ok, true)
  T.eq(P.combine(parts), "supported")
  -- step-down stops at the first kept: 0.01 <= 0.05 / 3; 0.03 > 0.05 / 2
  -- (0.04 would pass 0.05 alone, but Holm stops)
  parts = decided({0.04, 0.01, 0.03})
  T.eq(parts[2].ok, true); T.eq(parts[1].ok, nil); T.eq(parts[3].ok, nil)
  T.eq(P.combine(parts), "partly supported (1 holds, 2 undecided, none fails)")
  -- a rejected part against the claimed direction fails
  parts = decided({0.001, 0.002}, {1, -1})
  T.eq(parts[1].ok, true); T.eq(parts[2].ok, false)
  T.eq(P.combine(parts), "mixed (1 holds, 1 fails)")
  parts = decided({0.001, 0.002}, {-1, -1})
  T.eq(P.combine(parts), "not supported")
end)

-- Records of one variant with metric x = each of xs.
local function runs(xs)
  local rs = {}
  for i, v in ipairs(xs) do rs[i] = {status = "ok", seed = i, metrics = {x = v}} end
  return rs
end

T.test("part: the direction is a's mean against b's, lower or higher as claimed", function()
  local a = {1.00, 1.10, 0.90, 1.05, 0.95}
  local b = {2.00, 2.10, 1.90, 2.05, 1.95}
  local w = wb.welch(a, b)
  -- a is lower: a claim "a is lower" holds, "a is higher" fails
  local lower = P.part("x of a vs b", runs(a), runs(b), "x", true, "A", "B")
  T.near(lower.p, w.p, 1e-15)
  T.ok(lower.p < 1e-6, "a clear difference: p " .. lower.p)
  P.decide({lower})
  T.eq(lower.ok, true, lower.text)
  local higher = P.part("x of a vs b", runs(a), runs(b), "x", false, "A", "B")
  P.decide({higher})
  T.eq(higher.ok, false, higher.text)
  -- the same with the sides swapped
  local swapped = P.part("x of b vs a", runs(b), runs(a), "x", true, "B", "A")
  P.decide({swapped})
  T.eq(swapped.ok, false, swapped.text)
end)

T.test("positive: a one-sample part holds when the mean is on the claimed side", function()
  local xs = {0.5, 0.7, 0.6, 0.55, 0.65}
  local m = 0.6
  local s = math.sqrt((0.01 + 0.01 + 0 + 0.0025 + 0.0025) / 4)
  -- Student's t of the mean against 0, 4 degrees of freedom
  local p = wb.inference.t_two_sided(m / (s / math.sqrt(5)), 4)
  local above = P.positive("x above 0", runs(xs), "x")
  T.near(above.p, p, 1e-12)
  P.decide({above})
  T.eq(above.ok, true, above.text)
  local below = P.positive("x below 0", runs(xs), "x", true)
  P.decide({below})
  T.eq(below.ok, false, below.text)
  local neg = {}
  for i, v in ipairs(xs) do neg[i] = -v end
  local nb = P.positive("x below 0", runs(neg), "x", true)
  P.decide({nb})
  T.eq(nb.ok, true, nb.text)
end)

T.test("combine: supported, not supported, undecided, partly or mixed, as claims.lua says",
    function()
  local function parts(...)
    local t = {}
    for i, ok in ipairs{...} do
      t[i] = {}
      if ok ~= "nil" then t[i].ok = ok end
    end
    return t
  end
  T.eq(P.combine(parts(true, true)), "supported")
  T.eq(P.combine(parts(false, false)), "not supported")
  T.eq(P.combine(parts("nil", "nil")), "undecided")
  -- some parts undecided: neither every part holds nor every part fails;
  -- "holds and undecided" and "holds and fails" were both "mixed"
  local v, kind = P.combine(parts(false, "nil"))
  T.eq(v, "partly not supported (1 fails, 1 undecided, none holds)"); T.eq(kind,
    "partly not supported")
  v, kind = P.combine(parts(true, true, "nil"))
  T.eq(v, "partly supported (2 hold, 1 undecided, none fails)"); T.eq(kind, "partly supported")
  v, kind = P.combine(parts(true, false))
  T.eq(v, "mixed (1 holds, 1 fails)"); T.eq(kind, "mixed")
  T.eq(P.combine(parts(true, true, false, false, "nil")), "mixed (2 hold, 2 fail, 1 undecided)")
  -- the report's rule says each of these words, as combine uses them
  local rule = require("study.claims").claims_section({})
  for _, w in ipairs{"*supported* when every part holds", "*not supported* when every part "
      .. "fails", "*undecided* when no part holds or fails", "*partly supported* when some "
      .. "hold, none fails", "*partly not supported* when some fail, none holds", "*mixed* "
      .. "when some hold and some fail"} do
    T.ok(rule:find(w, 1, true), w)
  end
end)

T.test("decide: a part prints its Holm-adjusted p beside its own", function()
  -- Holm over 0.013, 0.2, 0.01: adjusted 0.03 (max(3 * 0.01, 2 * 0.013)),
  -- 0.2, 0.03
  local parts = {}
  for i, p in ipairs{0.013, 0.2, 0.01} do
    parts[i] = {p = p, sign = 1, text = "part " .. i .. ": p = " .. p, name = "x"}
  end
  P.decide(parts, "C9")
  T.eq(parts[1].text, "part 1: p = 0.013, Holm-adjusted over C9's 3 parts 0.03 (holds)")
  T.eq(parts[2].text, "part 2: p = 0.2, Holm-adjusted over C9's 3 parts 0.2 (undecided)")
  T.near(parts[3].p_holm, 0.03, 1e-12)
  -- an untested part (no p) is not in the family
  parts = {{p = 0.013, sign = 1, text = "a", name = "x"}, {text = "b"},
    {p = 0.04, sign = 1, text = "c", name = "x"}}
  P.decide(parts, "C9")
  T.eq(parts[1].text, "a, Holm-adjusted over C9's 2 tested parts 0.026 (holds)")
  T.eq(parts[2].text, "b")
  -- one tested part: its p is its own Holm-adjusted p, not said twice
  parts = {{p = 0.013, sign = 1, text = "a", name = "x"}}
  P.decide(parts, "C9")
  T.eq(parts[1].text, "a (holds)")
end)

T.done()
