-- REPORT.md's time line: a copy of another task's training (reused_from)
-- took no training time here, and its measurements were made anew. The line
-- said "Training time summed over runs" leaving the copies out unsaid, and
-- its share divided the measurements of every run by the training of the
-- others. A run task 14 stopped as failed sat in the summary table unflagged.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local notes = require "study.report_notes"

local recs = {
  {metrics = {train_seconds = 100}, measure_seconds = 10},
  {metrics = {train_seconds = 100}, measure_seconds = 10},
  {reused_from = "task03_epochs-ab12", metrics = {train_seconds = 100}, measure_seconds = 30},
}
local function secs(s) return string.format("%g s", s) end

T.test("the time line says what it sums; the share is over the same runs", function()
  local line = notes.summary(recs, secs)
  T.ok(line:find("3 runs, 1 of them a copy of an identical training in another task (same "
    .. "numbers, not trained again)", 1, true), line)
  T.ok(line:find("Training time summed over the 2 runs trained: 200 s", 1, true), line)
  T.ok(line:find("added 20 s over those runs (10.0 % of their training time), and 30 s over "
    .. "the copies (measured anew)", 1, true), line)
end)

T.test("the commit line counts the copies recorded at that commit", function()
  T.eq(notes.copies_note(recs), " (1 of them a copy of an identical training in "
    .. "another task, recorded at that commit)")
  T.eq(notes.copies_note({recs[1]}), "")
end)

T.test("a variant with a run its task stopped as failed is flagged in the summary", function()
  T.eq(notes.failed_flag({{measures = {stop = "target"}}, {measures = {stop = "failed"}}}),
    " **(stopped as failed: see its README)**")
  T.eq(notes.failed_flag({{measures = {stop = "cap"}}, {}}), "")
end)

T.done()
