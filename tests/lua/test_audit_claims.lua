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

T.done()
