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
  T.ok(parts[1].text:find("(undecided)", 1, true), parts[1].text)
  T.eq(P.combine(parts), "undecided")
  -- 0.02 <= 0.025, then 0.04 <= 0.05: both rejected
  parts = decided({0.04, 0.02})
  T.eq(parts[1].ok, true); T.eq(parts[2].ok, true)
  T.eq(P.combine(parts), "supported")
  -- step-down stops at the first kept: 0.01 <= 0.05 / 3; 0.03 > 0.05 / 2
  -- (0.04 would pass 0.05 alone, but Holm stops)
  parts = decided({0.04, 0.01, 0.03})
  T.eq(parts[2].ok, true); T.eq(parts[1].ok, nil); T.eq(parts[3].ok, nil)
  T.eq(P.combine(parts), "mixed")
  -- a rejected part against the claimed direction fails
  parts = decided({0.001, 0.002}, {1, -1})
  T.eq(parts[1].ok, true); T.eq(parts[2].ok, false)
  T.eq(P.combine(parts), "mixed")
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

T.test("combine: supported, not supported, undecided or mixed, as claims.lua says", function()
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
  -- some parts undecided: neither every part holds nor every part fails
  T.eq(P.combine(parts(false, "nil")), "mixed")
  T.eq(P.combine(parts(true, "nil")), "mixed")
  T.eq(P.combine(parts(true, false)), "mixed")
end)

T.done()
