-- The audit of the statistics against scipy (its report recomputed every
-- number): seeds without spread made a certain-looking verdict (p = 0, an
-- interval of width 0), printed intervals and p-values hid the side of 0 or
-- of 5 % their verdicts took, the Holm-adjusted p that decided a claim's part
-- was never printed, and the claims' verdict words did not follow the
-- printed rule. Values by hand, checked against scipy 1.10
-- (stats.ttest_ind(equal_var=False)); nothing trains.
local T = dofile("tests/lua/harness.lua")
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path

-- {==== no spread: no test ====

T.test("wb.welch: both sides without spread give NaN p, df and interval (scipy's df "
    .. "and interval are NaN)", function()
  for _, c in ipairs{{{1, 1, 1}, {2, 2, 2}}, {{2, 2}, {3, 3}}, {{1, 1, 1}, {1, 1, 1}}} do
    local w = wb.welch(c[1], c[2])
    T.eq(w.no_spread, true)
    T.ok(w.p ~= w.p, "p is NaN, not " .. tostring(w.p))
    T.ok(w.lo ~= w.lo and w.hi ~= w.hi and w.half ~= w.half and w.df ~= w.df,
      "interval and df NaN")
    T.eq(w.diff, c[1][1] - c[2][1])
  end
  -- one side with spread: Welch's test as scipy (ttest_ind([1,1,1], [1,2,3],
  -- equal_var=False): t = -1.7320508075688774, p = 0.22540333075851657, df 2)
  local w = wb.welch({1, 1, 1}, {1, 2, 3})
  T.eq(w.no_spread, nil)
  T.near(w.p, 0.22540333075851657, 1e-9)
  T.near(w.df, 2, 1e-12)
  T.near(w.lo, -3.4841377118437524, 1e-8); T.near(w.hi, 1.4841377118437524, 1e-8)
  -- ttest_ind([2,2], [3,4]): p = 0.20483276469913345, df 1
  w = wb.welch({2, 2}, {3, 4})
  T.near(w.p, 0.20483276469913345, 1e-9)
  T.near(w.lo, -7.853102368216048, 1e-7); T.near(w.hi, 4.853102368216048, 1e-7)
end)

T.test("wb.compare.decide: no spread in either group is the rank test's, never p = 0",
    function()
  local v, w, clause = wb.compare.decide({2, 2}, {3, 3}, "epochs_to_target", "lower")
  T.eq(v, "not decided", clause) -- it was "a is better ... CI [-1, -1], p = 0"
  T.eq(clause, "difference -1; no spread in either group (all values equal): p = 0.33 (rank "
    .. "test, exact; n = 2 and 2)")
  T.eq(w.no_spread, true)
  -- 5 seeds a side, every one of a below every one of b: 2 / C(10, 5), as
  -- the report's claims decide it (a task's findings said "not decided"
  -- where the claim said "holds": tryE 2)
  v, _, clause = wb.compare.decide({2, 2, 2, 2, 2}, {3, 3, 3, 3, 3}, "epochs_to_target",
    "lower")
  T.eq(v, "a is better", clause)
  T.ok(clause:find("p = 0.0079 (rank test, exact; n = 5 and 5)", 1, true), clause)
  T.eq(wb.compare.separation_p(5, 5), 2 / 252)
  v = wb.compare.decide({2, 2, 2, 2, 2}, {3, 3, 3, 3, 3}, "test_accuracy", "higher")
  T.eq(v, "b is better")
  v, _, clause = wb.compare.decide({0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, "val_loss", "lower")
  T.eq(v, "not decided"); T.ok(clause:find("p = 1 (rank test", 1, true), clause)
  T.ok(not clause:find("CI"), clause) -- it was "95 % CI [+0, +0], p = 1"
  -- one side with spread: the exact permutation test's p (every deal of 2 and
  -- 2: 2/6), not Welch's 0.2 with df from the other side (test_audit_tryT T2)
  v, _, clause = wb.compare.decide({1, 1}, {1.5, 2}, "x", "lower")
  T.eq(v, "not decided"); T.ok(clause:find("p = 0.33 (permutation test", 1, true), clause)
  -- both sides spread: Welch's test
  v, _, clause = wb.compare.decide({1, 1.2}, {1.5, 2}, "x", "lower")
  T.eq(v, "not decided"); T.ok(clause:find("(Welch, n = 2 and 2)", 1, true), clause)
end)

-- {==== a CI's side of 0, a p's side of 5 % ====

T.test("wb.compare.signed: a bound the tables round to 0 keeps its side of 0", function()
  local s = wb.compare.signed
  T.eq(s(0.03, "epochs_to_target"), "+0.03") -- it was "+0.0" (one decimal for epochs)
  T.eq(s(-0.00004, "val_loss"), "-4.00e-05") -- as the tables show it since tryE 3
  -- no negative zero, no 100 % for a mean below it (tryO 5)
  T.eq(wb.runs.fmt_mean_std(-1e-12, 0.02, "gap"), "0.0000 ± 0.0200")
  T.eq(wb.runs.fmt_mean_std(0.99996, 0.0001, "test_accuracy"), "99.996 ± 0.01 %")
  T.eq(wb.runs.fmt_mean_std(1, 0, "test_accuracy"), "100.00 ± 0.00 %")
  T.eq(s(0.00003, "test_accuracy"), "+0.003 points") -- percentage points (tryE 4)
  T.eq(s(0.0176, "gap"), "+0.0176"); T.eq(s(1.6, "epochs_to_target"), "+1.6")
  T.eq(s(0, "gap"), "+0")
  local f = wb.compare.fmt_p
  T.eq(f(0.0496), "0.0496"); T.eq(f(0.0504), "0.0504"); T.eq(f(0.013), "0.013")
  T.eq(f(0.077), "0.077"); T.eq(f(0.5), "0.5")
end)

T.test("wb.compare.decide: the interval's bounds show their side of 0", function()
  -- epochs 1 decimal: lo = 0.0083 printed "+0.0" for an interval excluding 0
  -- (counts: whole epochs; fractional values are no counts and keep 4
  -- decimals, audit audA A1)
  local a, b = {3, 4, 5, 5, 6}, {3, 3, 3, 3, 4}
  local w = wb.welch(a, b)
  T.ok(w.lo > 0, "the interval excludes 0")
  local v, _, clause = wb.compare.decide(a, b, "epochs_to_target", "lower")
  T.eq(v, "b is better")
  T.ok(not clause:find("%[%+0%.0,"), clause)
  T.ok(clause:find("CI [+0.0083, +2.8]", 1, true), clause)
end)

T.test("claims: a part's interval shows its side of 0, its p its side of 5 %", function()
  local P = require "study.claim_parts"
  local function recs(xs)
    local out = {}
    for i, x in ipairs(xs) do
      out[i] = {status = "ok", seed = i, metrics = {epochs_to_target = x}}
    end
    return out
  end
  -- C5 tuned printed "CI [+0.0, +1.6], p = 0.05" of an interval excluding 0
  local pt = P.part("epochs", recs{5, 5.2, 5.1, 5.3, 5.2}, recs{4.83, 5.13, 4.93, 4.73, 5.03},
    "epochs_to_target", false, "A", "B")
  T.ok(pt.text:find("95 % CI [+0.025, +0.4], p = 0.032", 1, true), pt.text)
  -- p = 0.0496 (a 0.05 that was printed for either side)
  T.eq(wb.compare.fmt_p(0.04962), "0.0496")
end)

-- Equal values that are no whole numbers (accuracies k/500, k/10000): their
-- mean's rounding left a variance of ~1e-32, so "no spread" (sd exactly 0)
-- never held and Welch's t decided on it: 489/500 thrice against 480/500
-- thrice was "a is better, p = 1.9e-29", a claim's part held at p = 1.5e-50
-- and C7's ANOVA gave 5e-93 (tryO 1). Each now takes the exact test's p, as
-- the same comparison in whole numbers does.
T.test("values all equal but not whole: no spread, the exact tests' p", function()
  local a, b, c = 489 / 500, 480 / 500, 0.1 + 0.2
  local v, w = wb.compare.decide({a, a, a}, {b, b, b}, "test_accuracy", "higher")
  T.eq(v, "not decided")
  T.eq(w.no_spread, true)
  T.eq(select(2, wb.compare.decide({489, 489, 489}, {480, 480, 480}, "x", "higher")).diff, 9)
  local m, sd = wb.runs.mean_std{c, c, c, c, c}
  T.eq(m, c); T.eq(sd, 0)
  m, sd = wb.runs.mean_std{a, a, 1e-3 + a}
  T.ok(sd > 0, "a real spread stays")
  local A = require "study.anova"
  local r = A.oneway{{a, a, a}, {b, b, b}, {c, c, c}}
  T.eq(r.no_spread, true)
  T.eq(r.p, A.oneway{{3, 3, 3}, {2, 2, 2}, {1, 1, 1}}.p)
  T.ok(r.p > 1e-3, tostring(r.p))
end)

T.done()

