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

T.test("C6: own-batch noise is named 1/B by construction; noise at batch 32 is a part", function()
  -- batch 8's noise at its own batch is 16x batch 128's in every seed (as
  -- any model's would be); at a common batch of 32 the models are alike:
  -- the common-batch part must not hold
  local recs = {}
  for s = 1, 3 do
    recs[#recs + 1] = rec("task08_batch_size", "batch_size=8", s, nil,
      {grad_noise = 1.6 + s / 100, grad_noise_32 = 0.4 + s / 1000})
    recs[#recs + 1] = rec("task08_batch_size", "batch_size=128", s, nil,
      {grad_noise = 0.1 + s / 1000, grad_noise_32 = 0.4 + (4 - s) / 1000})
  end
  local c6 = claim(claims.claims{task08_batch_size = recs}, "C6")
  local own, common
  for _, p in ipairs(c6.parts) do
    if p.name == "grad_noise" then own = p elseif p.name == "grad_noise_32" then common = p end
  end
  T.ok(own and own.text:find("about 1/B by construction", 1, true), c6.numbers)
  T.ok(common, "a part reads grad_noise_32: " .. c6.numbers)
  T.ok(common.text:find("common batch of 32", 1, true), common.text)
  T.ok(common.text:find("batch 8 0.4020 ± 0.0010 vs 128 0.4020 ± 0.0010 (n = 3, 3)", 1, true),
    common.text)
  T.eq(common.ok, nil, common.text) -- equal models: undecided
  T.eq(own.ok, true, own.text)
  -- batch 8's models noisier at batch 32 in every seed: the part holds
  for _, r in ipairs(recs) do
    if r.variant == "batch_size=8" then r.measures.grad_noise_32 = 0.8 + r.seed / 1000 end
  end
  c6 = claim(claims.claims{task08_batch_size = recs}, "C6")
  for _, p in ipairs(c6.parts) do if p.name == "grad_noise_32" then common = p end end
  T.eq(common.ok, true, common.text)
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

T.done()
