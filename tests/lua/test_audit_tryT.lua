-- The tryT audit of the verdicts' statistics: values equal up to rounding
-- were tested as if they spread (T1). Values by hand, checked against scipy
-- 1.10 (stats.binomtest, stats.mannwhitneyu(method="exact")); nothing trains.
local T = dofile("tests/lua/harness.lua")
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local P = require "study.claim_parts"
local A = require "study.anova"

-- A gain of one image in 10000 in every seed, as a difference of two
-- accuracies: (k + 1) / 10000 - k / 10000 is a different double for k = 9702
-- than for k = 9700 (rounding of each ratio), the same count of images.
local function gains(n)
  local out = {}
  for i = 1, n do
    local k = i % 2 == 0 and 9702 or 9700
    out[i] = (k + 1) / 10000 - k / 10000
  end
  return out
end

local function recs(name, xs)
  local out = {}
  for i, x in ipairs(xs) do out[i] = {status = "ok", metrics = {}, measures = {[name] = x}} end
  return out
end

T.test("T1: values equal up to rounding have no spread (one rule for every caller)", function()
  local g = gains(5)
  T.ok(g[1] ~= g[2], "the doubles differ")
  T.eq(wb.inference._constant(g), true)
  local m, sd = wb.runs.mean_std(g)
  T.eq(sd, 0); T.eq(m, g[1])
  -- a real spread, however small next to its magnitude as seeds give, stays
  T.eq(wb.inference._constant{0.97, 0.97 + 1e-7}, false)
  T.eq(wb.inference._constant{1, 1 / 0}, false)
  T.eq(wb.inference._constant{1 / 0, 1 / 0}, true)
  T.eq(wb.inference._constant{}, false)
end)

T.test("T1: a one-sample part of such gains is the sign test's (scipy binomtest(5, 5): "
    .. "0.0625), not Student's p = 3e-50", function()
  local parts = {P.positive("gain", recs("g", gains(5)), "g")}
  P.decide(parts, "CX")
  T.eq(parts[1].p, 0.0625)
  T.eq(parts[1].ok, nil)
  T.ok(parts[1].text:find("every seed the same: p = 0.062 (sign test, exact) (undecided)",
    1, true), parts[1].text)
end)

T.test("T1: two sides of such values: the rank test's exact p (scipy mannwhitneyu "
    .. "exact: 0.1), not Welch's 1e-25", function()
  local d = gains(3)
  local w = wb.welch(d, {0, 0, 0})
  T.eq(w.no_spread, true); T.eq(w.same, false)
  local verdict, _, clause = wb.compare.decide(d, {0, 0, 0}, "gain_acc", "higher")
  T.eq(verdict, "not decided")
  T.ok(clause:find("p = 0.1 (rank test, exact", 1, true), clause)
  local parts = {P.part("gain", recs("g", d), recs("g", {0, 0, 0}), "g", false, "A", "B")}
  P.decide(parts, "CX")
  T.eq(parts[1].p, 0.1)
  -- two sides that agree up to rounding: equal (p = 1), not separated
  local e = gains(6)
  local a, b = {e[1], e[3], e[5]}, {e[2], e[4], e[6]}
  w = wb.welch(a, b)
  T.eq(w.same, true)
  T.eq(select(1, wb.compare.decide(a, b, "gain_acc", "higher")), "not decided")
  parts = {P.part("gain", recs("g", a), recs("g", b), "g", false, "A", "B")}
  T.eq(parts[1].p, 1)
end)

T.test("T1: the ANOVA's groups: equal up to rounding is no spread, and one value",
    function()
  local e = gains(6)
  local r = A.oneway{{e[1], e[2]}, {e[3], e[4]}, {e[5], e[6]}}
  T.eq(r.no_spread, true); T.eq(r.p, 1)
  -- {a, a}, {a', a'}, {0, 0}: two values, as {1, 1}, {1, 1}, {0, 0}
  T.eq(A.oneway{{e[1], e[1]}, {e[2], e[2]}, {0, 0}}.p, A.oneway{{1, 1}, {1, 1}, {0, 0}}.p)
  local part = A.part("gain", {recs("g", {e[1], e[2], e[1]}), recs("g", {0.1, 0.2, 0.3}),
    recs("g", {0.2, 0.3, 0.5})}, {"a", "b", "c"}, "g")
  T.ok(part.text:find("1 of the 3 variants' seeds do not spread", 1, true), part.text)
end)

T.test("T2: one side of whole epochs without spread: the exact permutation test "
    .. "(scipy mannwhitneyu exact and permutation_test: 0.1), not Welch's 0.038", function()
  local function part(a, b)
    local parts = {P.part("epochs", recs("epochs_to_target", a), recs("epochs_to_target", b),
      "epochs_to_target", true, "A", "B")}
    P.decide(parts, "CX")
    return parts[1]
  end
  local r = part({2, 2, 2}, {3, 4, 4})
  T.near(r.p, 0.1, 1e-12); T.eq(r.ok, nil)
  T.ok(r.text:find("no spread on one side: p = 0.1 (permutation test, exact) (undecided)", 1,
    true), r.text)
  -- overlapping sides: scipy permutation_test({2,2,2}, {2,3,3}, exact): 0.4
  T.near(part({2, 2, 2}, {2, 3, 3}).p, 0.4, 1e-12)
  -- 5 a side: 2 / C(10, 5) = 0.0079 (scipy's exact permutation p too): holds
  r = part({2, 2, 2, 2, 2}, {3, 3, 3, 3, 4})
  T.near(r.p, 0.0079365079365079, 1e-12); T.eq(r.ok, true)
  local verdict, _, clause = wb.compare.decide({2, 2, 2}, {3, 4, 4}, "epochs_to_target",
    "lower")
  T.eq(verdict, "not decided")
  T.ok(clause:find("p = 0.1 (permutation test, exact; n = 3 and 3)", 1, true), clause)
  T.eq(select(1, wb.compare.decide({2, 2, 2, 2, 2}, {3, 3, 3, 3, 4}, "epochs_to_target",
    "lower")), "a is better")
end)

T.test("T2 for any values: one side without spread (accuracies, not whole numbers) is the "
    .. "exact permutation test's (scipy permutation_test, n_resamples=inf), not Welch's",
    function()
  local function part(a, b, name)
    local parts = {P.part("acc", recs(name, a), recs(name, b), name, false, "A", "B")}
    P.decide(parts, "CX")
    return parts[1]
  end
  -- Welch (ttest_ind equal_var=False): 0.0027, "holds"; every deal: 0.1
  local r = part({0.1, 0.1, 0.1}, {0.2, 0.21, 0.22}, "test_accuracy")
  T.near(r.p, 0.1, 1e-12); T.eq(r.ok, nil)
  T.ok(r.text:find("no spread on one side: p = 0.1 (permutation test, exact) (undecided)", 1,
    true), r.text)
  -- scipy: 0.1 (Welch 0.118); 5 a side, overlapping: 0.12698 (Welch 0.115)
  T.near(part({1, 1, 1}, {1.5, 2, 3}, "x").p, 0.1, 1e-12)
  T.near(part({0.5, 0.5, 0.5, 0.5, 0.5}, {0.48, 0.52, 0.53, 0.55, 0.56}, "x").p,
    0.12698412698412698, 1e-12)
  local verdict, _, clause = wb.compare.decide({0.1, 0.1, 0.1}, {0.2, 0.21, 0.22},
    "test_accuracy", "higher")
  T.eq(verdict, "not decided", clause)
  T.ok(clause:find("no spread in one group: p = 0.1 (permutation test, exact; n = 3 and 3)",
    1, true), clause)
  -- past permutation_p's budget: Welch's test, as before
  local many = {}
  for k = 1, 400 do many[k] = k / 7 end
  local ones = {}
  for k = 1, 400 do ones[k] = 1 end
  r = part(ones, many, "x")
  T.near(r.p, wb.welch(ones, many).p, 0)
  T.ok(r.text:find("(Welch", 1, true) or r.text:find("CI", 1, true), r.text)
end)

T.test("T2: wb.inference.permutation_p counts every deal (scipy permutation_test, "
    .. "n_resamples=inf)", function()
  T.near(wb.inference.permutation_p{{2, 2, 2}, {3, 4, 4}}, 0.1, 1e-12)
  T.near(wb.inference.permutation_p{{2, 2, 2}, {2, 3, 3}}, 0.4, 1e-12)
  -- F's permutation p (scipy: f_oneway's statistic, alternative "greater")
  T.near(wb.inference.permutation_p{{2, 2, 2}, {3, 3, 3}, {3, 4, 3}, {2, 2, 2}},
    0.006493506493506494, 1e-12)
  T.near(wb.inference.permutation_p{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, 0.0035714285714285713,
    1e-12)
  -- constant groups: the exact p of constant groups, 2 / C(12, 6)
  T.near(wb.inference.permutation_p{{1, 1, 1, 1, 1, 1}, {2, 2, 2, 2, 2, 2}}, 2 / 924, 1e-12)
  T.eq(wb.inference.permutation_p({{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}}, 10), nil)
end)

T.test("T3: C7's groups with ties: the permutation p of F decides (scipy permutation_test "
    .. "of f_oneway, every deal: 0.0065), not F's 0.00079", function()
  local gs = {recs("epochs_to_target", {2, 2, 2}), recs("epochs_to_target", {3, 3, 3}),
    recs("epochs_to_target", {3, 4, 3}), recs("epochs_to_target", {2, 2, 2})}
  local r = A.part("epochs", gs, {"ReLU", "tanh", "softsign", "GELU"}, "epochs_to_target")
  T.near(r.p, 0.006493506493506494, 1e-12)
  T.ok(r.text:find("F(3, 8) = 17, p = 0.0065 (permutation test of F, exact: 3 of the 4 "
    .. "variants' seeds do not spread; F's own p, 0.00079, assumes they do)", 1, true), r.text)
  -- too many distinct values to count every deal: F's p, said approximate
  local many = {}
  for i = 1, 4 do
    local xs = {}
    for k = 1, 8 do xs[k] = i == 1 and 1 or i + k / 10 + i * k / 97 end
    many[i] = recs("x", xs)
  end
  r = A.part("x", many, {"a", "b", "c", "d"}, "x")
  T.ok(r.text:find("(F's p is approximate: 1 of the 4 variants' seeds do not spread)", 1,
    true), r.text)
end)

-- {==== T5: wb.compare's words ====

local function runs(spec)
  local out = {}
  for _, vs in ipairs(spec) do
    for seed, x in ipairs(vs[2]) do
      local r = {hash = string.format("%s%04d", vs[1]:gsub("%W", ""), seed), task = "t",
        variant = vs[1], seed = seed, status = "ok", config = {seed = seed, v = vs[1]},
        metrics = {}, measures = {}, history = {}}
      if x == "nan" then r.measures_missing = {vs[3]} -- as train_measures records a NaN
      else r.measures[vs[3]] = x; r.metrics[vs[3]] = x or nil end
      out[#out + 1] = r
    end
  end
  return wb.runs.Runs(out)
end

T.test("T5: a variant that never reached the target is the worst, not the slowest number",
    function()
  local rs = runs{{"Adam", {2, 2, 2}, "epochs_to_target"},
    {"SGD+m", {3, 3, 3}, "epochs_to_target"}, {"RMSprop", {3, 3, 2}, "epochs_to_target"},
    {"SGD", {false, false, false}, "epochs_to_target"}}
  local s = wb.compare(rs, "epochs_to_target")
  T.ok(s:find(" Worst: SGD (target never reached in 3 of 3 seeds); a never counts as slower "
    .. "than any number.", 1, true), s)
  T.ok(not s:find("Worst: SGD+m", 1, true), s)
  T.ok(s:find("No value for SGD (3 of 3 seeds: target never reached).", 1, true), s)
  T.ok(not s:find("e.g.", 1, true), s)
  -- no never: the slowest number, as before
  s = wb.compare(runs{{"a", {2, 2, 2}, "epochs_to_target"}, {"b", {3, 3, 3},
    "epochs_to_target"}, {"c", {4, 4, 5}, "epochs_to_target"}}, "epochs_to_target")
  T.ok(s:find(" Worst: c 4.3 ± 0.6.", 1, true) or s:find(" Worst: c ", 1, true), s)
end)

T.test("T5: a measure that was NaN is said to be not finite, not a target never reached",
    function()
  local rs = runs{{"lr small", {1.5, "nan", 1.5}, "partnan"},
    {"lr huge", {1.5, 1.5, 1.5}, "partnan"}}
  local s = wb.compare(rs, "partnan")
  T.ok(s:find("No value for lr small (1 of 3 seeds: not finite (NaN or inf)).", 1, true), s)
  T.ok(not s:find("never", 1, true), s)
  -- a measure recorded false that is no target: said as recorded
  s = wb.compare(runs{{"a", {1, 1, false}, "flag"}, {"b", {2, 2, 2}, "flag"}}, "flag")
  T.ok(s:find("No value for a (1 of 3 seeds: recorded false).", 1, true), s)
end)

T.test("T5: a part whose own p would decide, undecided by Holm, says why at its verdict",
    function()
  local parts = {{p = 0.037, sign = 1, half = 0.0172, name = "gap",
      text = "g: 95 % CI [+0.00297, +0.0374], p = 0.037"},
    {p = 0.5, sign = 1, half = 0.01, name = "gap", text = "h: p = 0.5"}}
  P.decide(parts, "CX")
  T.ok(parts[1].text:find("p = 0.037, Holm-adjusted over CX's 2 parts 0.074 (undecided: "
    .. "Holm-adjusted p = 0.074, above 0.05; the seeds resolve about 0.0172)", 1, true),
    parts[1].text)
  -- a part undecided on its own p says only what the seeds resolve
  T.ok(parts[2].text:find("0.5 (undecided: the seeds resolve about 0.0100)", 1, true)
    or parts[2].text:find("(undecided: the seeds resolve about 0.01", 1, true), parts[2].text)
  T.ok(not parts[2].text:find("above 0.05", 1, true), parts[2].text)
end)

T.test("T4: -h wb.runs.export_csv gives README's never recipe with its groupby caveat",
    function()
  local st, out, err = T.sh(T.wb .. " -h wb.runs.export_csv")
  T.eq(st, 0, out .. err)
  local readme = require("wb.util").read_file("README.md")
  for _, text in ipairs{"[\"']never[\"'], [\"']inf[\"']", "groupby%(%.%.%.%)%.mean%(%)",
      "every seed is `?never", "inf %- inf", "%.median%(%)"} do
    T.ok(out:find(text), "help: " .. text .. "\n" .. out)
    T.ok(readme:find(text), "README: " .. text)
  end
end)

T.done()
