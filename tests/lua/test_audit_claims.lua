-- test_audit_claims.lua: a new user's audit of REPORT.md's claims section
-- (scripts/study/claims.lua, claim_parts.lua, report_notes.lua): a --quick
-- report says it is a smoke test above its verdicts; C6's own-batch noise
-- is named as 1/B by construction and the noise at a common batch is a part
-- of its own; C7 tests whether the four activations differ in convergence
-- speed (one-way ANOVA, checked against scipy); C4 says why its two parts
-- read different L2 strengths. Synthetic run records; no training.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local claims = require "study.claims"
local notes = require "study.report_notes"

-- A record of a claims task: metrics and measures as given.
local function rec(task, v, seed, metrics, measures)
  return {task = task, variant = v, seed = seed, status = "ok", config = {seed = seed},
    metrics = metrics or {}, measures = measures or {}, history = {}}
end

local function claim(rows, id)
  for _, r in ipairs(rows) do if r.id == id then return r end end
end

-- {==================== a --quick report ====================

T.test("a --quick REPORT.md says above its claims table that it is a smoke test", function()
  local recs = {}
  for s = 1, 2 do
    recs[#recs + 1] = rec("task07_optimizers", "Adam", s, nil, {epochs_to_target = s})
    recs[#recs + 1] = rec("task07_optimizers", "SGD lr=0.01", s, nil, {epochs_to_target = 3})
  end
  local md = claims.claims_section({task07_optimizers = recs}, "mnist", true)
  local heading = md:match("^[^\n]*")
  T.ok(heading:find("QUICK: a smoke test, not the results", 1, true), heading)
  local banner = md:find("QUICK (smoke test, not the results)", 1, true)
  local table_at = md:find("| # | claim (study) |", 1, true)
  T.ok(banner and table_at and banner < table_at, md)
  T.ok(md:find("say nothing about the study's claims", 1, true), md)
  -- a full report says none of it
  md = claims.claims_section({task07_optimizers = recs}, "mnist")
  T.ok(not md:find("QUICK", 1, true), md)
  -- the title line too
  T.ok(notes.title(true):find("^# .*QUICK: a smoke test, not the results"), notes.title(true))
  T.ok(not notes.title(nil):find("QUICK", 1, true), notes.title(nil))
  -- report.lua passes --quick to both
  local src = util.read_file("scripts/report.lua")
  T.ok(src:find("notes.title(opts.quick)", 1, true), "report.lua's title")
  T.ok(src:find("claims_section(counted, opts.dataset or \"mnist\", opts.quick)", 1, true),
    "report.lua's claims section")
end)

-- {==================== C6's gradient noise ====================

T.test("C6: own-batch noise is named 1/B by construction; noise at batch 32 is shown "
  .. "beside it and does not vote", function()
  -- batch 8's noise at its own batch is 16x batch 128's in every seed (as
  -- any model's would be); the noise of the final models at a common batch
  -- of 32 is another question (where training ended): shown, never a part
  local recs = {}
  for s = 1, 3 do
    recs[#recs + 1] = rec("task08_batch_size", "batch_size=8", s, nil,
      {grad_noise = 1.6 + s / 100, grad_noise_32 = 0.4 + s / 1000})
    recs[#recs + 1] = rec("task08_batch_size", "batch_size=128", s, nil,
      {grad_noise = 0.1 + s / 1000, grad_noise_32 = 0.4 + (4 - s) / 1000})
  end
  local c6 = claim(claims.claims{task08_batch_size = recs}, "C6")
  local own
  for _, p in ipairs(c6.parts) do
    T.ok(p.name ~= "grad_noise_32", "grad_noise_32 is no part: " .. c6.numbers)
    if p.name == "grad_noise" then own = p end
  end
  T.ok(own and own.text:find("about 1/B by construction", 1, true), c6.numbers)
  T.eq(own.ok, true, own.text)
  T.ok(c6.numbers:find("not deciding: the noise of each run's final model at a common batch "
    .. "of 32", 1, true), c6.numbers)
  T.ok(c6.numbers:find("batch 8 0.4020 ± 0.0010 vs 128 0.4020 ± 0.0010 (n = 3, 3)", 1, true),
    c6.numbers)
  -- batch 8's models less noisy at batch 32 in every seed: shown, the verdict unchanged
  for _, r in ipairs(recs) do
    if r.variant == "batch_size=8" then r.measures.grad_noise_32 = 0.2 + r.seed / 1000 end
  end
  local before = c6.verdict
  c6 = claim(claims.claims{task08_batch_size = recs}, "C6")
  T.eq(c6.verdict, before, c6.numbers)
  T.ok(not c6.numbers:find("(fails)", 1, true), c6.numbers)
  -- and says where each model was read: their final training losses
  for _, r in ipairs(recs) do
    r.metrics.loss = r.variant == "batch_size=8" and 0.05 or 0.2
  end
  c6 = claim(claims.claims{task08_batch_size = recs}, "C6")
  T.ok(c6.numbers:find("final training loss 0.0500 (8) vs 0.2000 (128); "
    .. "batch 8 got further, which by itself can lower its noise", 1, true), c6.numbers)
  -- task 8's README shows it too
  local src = util.read_file("scripts/task08_batch_size.lua")
  T.ok(src:find('"grad_noise_32", "lambda_max"', 1, true), "task 8's table")
end)

-- {==================== C4's two strengths ====================

T.test("C4 says why its norm part reads l2 1e-2 and its gap part 1e-3", function()
  local recs = {}
  for s = 1, 3 do
    recs[#recs + 1] = rec("task06_l2", "l2=0.001", s, {test_accuracy = 0.978},
      {clean_gap = 0.01 + s / 1000})
    recs[#recs + 1] = rec("task06_l2", "l2=0", s, {test_accuracy = 0.977 + s / 10000},
      {clean_gap = 0.07 + s / 1000, w1_norm = 48 + s / 10})
    recs[#recs + 1] = rec("task06_l2", "l2=0.01", s, {test_accuracy = 0.95 + s / 1000},
      {w1_norm = 4 + s / 10})
  end
  local c4 = claim(claims.claims{task06_l2 = recs}, "C4")
  T.ok(c4.parts[1].text:find("at the strongest L2 (1e-2)", 1, true), c4.parts[1].text)
  T.ok(c4.parts[2].text:find("at 1e-3 (at 1e-2 a smaller gap could be underfitting, not "
    .. "less overfitting: test accuracy 95.20 % at 1e-2 vs 97.72 % at 0)", 1, true),
    c4.parts[2].text)
  T.eq(c4.verdict, "supported", c4.numbers)
end)

T.test("a claim row names the variants whose seeds mix OpenBLAS kernels, and only them",
  function()
  local function c4_recs(core_of)
    local recs = {}
    for s = 1, 3 do
      local function r(v, m, me)
        local x = rec("task06_l2", v, s, m, me)
        x.blas_core = core_of(v, s)
        return x
      end
      recs[#recs + 1] = r("l2=0.001", {test_accuracy = 0.978}, {clean_gap = 0.01 + s / 1000})
      recs[#recs + 1] = r("l2=0", {test_accuracy = 0.977 + s / 10000},
        {clean_gap = 0.07 + s / 1000, w1_norm = 48 + s / 10})
      recs[#recs + 1] = r("l2=0.01", {test_accuracy = 0.95 + s / 1000}, {w1_norm = 4 + s / 10})
    end
    return recs
  end
  -- one kernel everywhere: nothing said
  local c4 = claim(claims.claims{task06_l2 = c4_recs(function() return "SkylakeX" end)}, "C4")
  T.ok(not c4.numbers:find("OpenBLAS kernel", 1, true), c4.numbers)
  -- l2=0's third seed on another kernel (it is in both parts: named once)
  c4 = claim(claims.claims{task06_l2 = c4_recs(function(v, s)
    return (v == "l2=0" and s == 3) and "Haswell" or "SkylakeX" end)}, "C4")
  T.ok(c4.numbers:find("; seeds trained with more than one OpenBLAS kernel (l2=0: "
    .. "Haswell (1), SkylakeX (2)): another kernel sums in another order", 1, true), c4.numbers)
  T.eq(select(2, c4.numbers:gsub("l2=0: Haswell", "")), 1, c4.numbers)
  T.ok(not c4.numbers:find("l2=0.01:", 1, true), c4.numbers)
  T.eq(c4.verdict, "supported", c4.numbers) -- the note decides nothing
  -- a failed seed on another kernel is in no mean: not a mix
  local recs = c4_recs(function(v, s) return (v == "l2=0" and s == 3) and "Haswell" or "SkylakeX" end)
  for _, r in ipairs(recs) do if r.blas_core == "Haswell" then r.status = "failed" end end
  c4 = claim(claims.claims{task06_l2 = recs}, "C4")
  T.ok(not c4.numbers:find("OpenBLAS kernel", 1, true), c4.numbers)
  -- C7's ANOVA part reads all four activations: a mix in tanh's seeds is named
  local r7 = {}
  for _, a in ipairs{"relu", "tanh", "softsign", "gelu"} do
    for s = 1, 3 do
      local x = rec("task09_activations", "activation=" .. a, s, {test_accuracy = 0.97},
        {epochs_to_target = s + (a == "tanh" and 1 or 0)})
      x.blas_core = (a == "tanh" and s == 1) and "Haswell" or "SkylakeX"
      r7[#r7 + 1] = x
    end
  end
  local c7 = claim(claims.claims{task09_activations = r7}, "C7")
  T.ok(c7.numbers:find("(activation=tanh: Haswell (1), SkylakeX (2))", 1, true), c7.numbers)
end)

-- {==================== C7: do the four activations differ? ====================

local A = require "study.anova"

-- Runs python code on a JSON input file; returns its stdout.
local function python(py, code, input)
  local dir = T.tmpdir()
  util.write_file(dir .. "/in.json", util.encode_json(input))
  util.write_file(dir .. "/p.py", code)
  local st, out, err = T.sh(py .. " " .. dir .. "/p.py " .. dir .. "/in.json")
  T.eq(st, 0, err)
  return out
end

-- per-seed epochs to a target and other values: ties, unequal sizes, one
-- group without spread, large and small F
local anova_cases = {
  {{2, 2, 3, 2, 2}, {3, 4, 3, 3, 4}, {4, 5, 4, 4, 6}, {2, 3, 2, 2, 2}},
  {{2, 3}, {2, 3}, {3, 2}, {2, 2}},
  {{0.9812, 0.9790, 0.9801}, {0.9755, 0.9801, 0.9760, 0.9772}, {0.97, 0.975}},
  {{1, 2, 3, 4, 5}, {2, 3, 4, 5, 9}},
  {{5, 5, 5, 5, 5}, {5, 6, 5, 5, 5}, {5, 5, 5, 6, 5}, {5, 5, 5, 5, 6}},
  {{10, 11, 12}, {1, 2, 3}, {20, 21, 23}},
}

T.test("scipy: one-way ANOVA's F and p (f_oneway) and the F tail (f.sf)", function()
  local py = T.python_with("scipy.stats")
  if not py then T.missing("python3-scipy") end
  local fs = {{0.5, 3, 16}, {2.5, 3, 16}, {12.3, 3, 4}, {1, 1, 1}, {4.1, 2, 7.5},
    {0.01, 3, 100}, {30, 5, 3}}
  local out = python(py, [[
import sys, json, warnings
from scipy import stats
warnings.simplefilter("ignore")
cases, fs = json.load(open(sys.argv[1]))
for g in cases:
    r = stats.f_oneway(*g)
    print("%.17g %.17g" % (r.statistic, r.pvalue))
for f, d1, d2 in fs:
    print("%.17g" % stats.f.sf(f, d1, d2))
]], {anova_cases, fs})
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  for i, g in ipairs(anova_cases) do
    local f, p = lines[i]:match("(%S+) (%S+)")
    local r = A.oneway(g)
    T.near(r.f, tonumber(f), 1e-10 * tonumber(f), "F of case " .. i)
    T.near(r.p, tonumber(p), 1e-10, "p of case " .. i)
    T.eq(r.df1, #g - 1)
  end
  for i, c in ipairs(fs) do
    local want = tonumber(lines[#anova_cases + i])
    T.near(A.f_sf(c[1], c[2], c[3]), want, 1e-10 * math.max(want, 1e-3),
      string.format("f.sf(%g, %g, %g)", c[1], c[2], c[3]))
  end
end)

T.test("no activation's seeds spread: the exact permutation p (by enumeration)", function()
  -- two groups: the rank test's 2 / C(n + m, n), as claim_parts' separation
  T.near(A.oneway{{2, 2, 2, 2, 2}, {3, 3, 3, 3, 3}}.p, 2 / 252, 1e-15)
  -- two groups share a value: 6 ways of giving ReLU and GELU the 2s, of
  -- C(20, 10) deals of ten 2s and ten 3s among twenty seeds: 6 / 184756
  local r = A.oneway{{2, 2, 2, 2, 2}, {3, 3, 3, 3, 3}, {3, 3, 3, 3, 3}, {2, 2, 2, 2, 2}}
  T.ok(r.no_spread and r.f == nil, "no F")
  T.near(r.p, 6 / 184756, 1e-15)
  -- unequal sizes, against every deal enumerated
  local g = {{1, 1}, {2, 2, 2}, {1}, {3}}
  local pool = {}
  for _, xs in ipairs(g) do for _, x in ipairs(xs) do pool[#pool + 1] = x end end
  local hits, all = 0, 0
  local function perms(a, n)
    if n == 0 then
      all = all + 1
      local i, constant = 1, true
      for _, xs in ipairs(g) do
        for j = 1, #xs do constant = constant and a[i + j - 1] == a[i] end
        i = i + #xs
      end
      if constant then hits = hits + 1 end
      return
    end
    for i = 1, n do
      a[i], a[n] = a[n], a[i]
      perms(a, n - 1)
      a[i], a[n] = a[n], a[i]
    end
  end
  perms(pool, #pool)
  T.near(A.oneway(g).p, hits / all, 1e-15)
  T.eq(A.oneway{{2, 2}, {2, 2}, {2}}.p, 1, "every value equal")
end)

-- C7's records: epochs to the target per activation and seed
local function c7_recs(epochs)
  local recs = {}
  for a, es in pairs(epochs) do
    for s, e in ipairs(es) do
      recs[#recs + 1] = rec("task09_activations", "activation=" .. a, s,
        {test_accuracy = 0.97 + s / 1000}, {epochs_to_target = e, target = 0.97,
        grad_norm_1 = {0.1 + s / 100}})
    end
  end
  return recs
end

local function anova_part(c7)
  for _, p in ipairs(c7.parts) do if p.text:find("ANOVA", 1, true) then return p end end
end

T.test("C7: when a variant's seeds all tie, the permutation test of F decides, F's p said "
    .. "(audit T6, tryT T3)", function()
  local flat = {relu = {2, 2, 2, 2, 2}, tanh = {3, 3, 3, 3, 2}, softsign = {3, 3, 3, 3, 4},
    gelu = {2, 2, 2, 2, 2}}
  local p = anova_part(claim(claims.claims{task09_activations = c7_recs(flat)}, "C7"))
  -- every one of the 20! / 5!^4 deals counted (exact fractions in Python: 0.00019846;
  -- scipy f_oneway's p 2.2e-5)
  T.near(p.p, 0.0001984599507819322, 1e-12)
  T.ok(p.text:find("p = 0.0002 (permutation test of F, exact: 2 of the 4 variants' seeds do "
    .. "not spread; F's own p, 2.2e-05, assumes they do)", 1, true), p.text)
  local spread = {relu = {2, 2, 3, 2, 2}, tanh = {3, 4, 3, 3, 4}, softsign = {4, 5, 4, 4, 6},
    gelu = {2, 3, 2, 2, 2}}
  p = anova_part(claim(claims.claims{task09_activations = c7_recs(spread)}, "C7"))
  T.ok(not p.text:find("approximate", 1, true), p.text)
end)

T.test("C7 tests whether the four activations differ in epochs to the target", function()
  local e = {relu = {2, 2, 3, 2, 2}, tanh = {3, 4, 3, 3, 4}, softsign = {4, 5, 4, 4, 6},
    gelu = {2, 3, 2, 2, 2}}
  local c7 = claim(claims.claims{task09_activations = c7_recs(e)}, "C7")
  T.ok(c7.claim:find("activation choice changes convergence speed", 1, true), c7.claim)
  local p = anova_part(c7)
  T.ok(p, "a part over the four activations: " .. c7.numbers)
  T.near(p.p, A.oneway{e.relu, e.tanh, e.softsign, e.gelu}.p, 1e-15)
  T.ok(p.text:find("ReLU 2.2 ± 0.4 (n = 5), tanh 3.4 ± 0.5 (n = 5), softsign 4.6 ± 0.9 "
    .. "(n = 5), GELU 2.2 ± 0.4 (n = 5); one-way ANOVA F(3, 16) = ", 1, true), p.text)
  T.eq(p.ok, true, p.text)
  T.ok(p.text:find("Holm-adjusted over C7's", 1, true), p.text)
  -- the same speed everywhere: undecided, never "fails"
  c7 = claim(claims.claims{task09_activations = c7_recs{relu = {2, 3, 2}, tanh = {3, 2, 2},
    softsign = {2, 2, 3}, gelu = {2, 3, 3}}}, "C7")
  p = anova_part(c7)
  T.eq(p.ok, nil, p.text)
  -- an activation that never reached the target is named, left out of the test
  c7 = claim(claims.claims{task09_activations = c7_recs{relu = {2, 2, 3},
    tanh = {false, false, false}, softsign = {4, 5, 4}, gelu = {2, 3, 2}}}, "C7")
  p = anova_part(c7)
  T.ok(p.text:find("never reached it, left out of the test: tanh (n = 3)", 1, true), p.text)
  T.ok(p.text:find("F(2, 6)", 1, true), p.text)
  -- none reached it: no verdict, said plainly
  c7 = claim(claims.claims{task09_activations = c7_recs{relu = {false, false},
    tanh = {false, false}, softsign = {false, false}, gelu = {false, false}}}, "C7")
  p = c7.parts[4]
  T.ok(p.p == nil and p.text:find("no variant reached it: ReLU (n = 2), tanh (n = 2)", 1, true)
    and p.text:find("; no verdict", 1, true) and not p.text:find("no data", 1, true), p.text)
  -- some seeds of one never did: no verdict (their epochs are unknown)
  c7 = claim(claims.claims{task09_activations = c7_recs{relu = {2, 2, 3},
    tanh = {3, false, 4}, softsign = {4, 5, 4}, gelu = {2, 3, 2}}}, "C7")
  p = c7.parts[4]
  T.ok(p.p == nil and p.text:find("1 of 3 tanh seeds never reached it", 1, true)
    and p.text:find("no verdict", 1, true), p.text)
  -- a diverged run: left out, said, undecided
  local recs = c7_recs(e)
  recs[1].status = "diverged"
  p = anova_part(claim(claims.claims{task09_activations = recs}, "C7"))
  T.ok(p.text:find("seeds diverged or failed (left out)", 1, true), p.text)
  T.eq(p.ok, nil, p.text)
end)

T.done()
