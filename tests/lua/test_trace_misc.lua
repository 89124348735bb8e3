-- Small traceability fixes of audit I (item 7): what ± is in a README's
-- tables (a), a measure's NaN warning on the terminal and in the README (b),
-- export_steps's columns of what made a run (c), a second script with the
-- same task name (f).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

T.test("a README table with ± says under it that ± is the sd over seeds (n - 1)", function()
  local t = wb.task{name = "pm", experiment = {base = {epochs = 1, hidden = 8}}}
  local out = io.stdout
  io.stdout = {write = function() end} -- no echo
  t:text("| variant | seeds | test_accuracy |\n|---|---|---|\n| a | 3 | 97.10 ± 0.21 % |\n")
  t:text("| variant | seeds |\n|---|---|\n| a | 1 |\n")
  io.stdout = out
  T.ok(t.blocks[1]:find("| a | 3 | 97.10 ± 0.21 % |\n\n*±: the standard deviation over seeds "
    .. "(n - 1 in its denominator), not a confidence interval.*", 1, true), t.blocks[1])
  T.ok(not t.blocks[2]:find("standard deviation", 1, true), t.blocks[2])
end)

T.done()
