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

T.test("a measure's NaN warning reaches the terminal and the README", function()
  local script = dir .. "/nanw.lua"
  util.write_file(script, [[
return wb.task{name = "nanw", title = "t",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 200, test = 100}},
    seeds = {1, 2},
    measure = function(model, cfg) return {wn = cfg.seed == 2 and 0 / 0 or 1} end},
  report = function(task, runs) task:text(runs:table{"test_accuracy", "wn"}) end}
]])
  local root = dir .. "/nanw"
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 2", T.wb, script,
    root))
  T.eq(st, 0, err)
  T.ok(err:find("%[nanw%] base seed 2 %(run %x+%): warning: .*wn = nan: not finite"), err)
  local want = "- base seed 2 (run "
  for _ = 1, 2 do -- trained, then from records
    local md = util.read_file(root .. "/nanw/README.md")
    T.ok(md:find("**Warnings** (1, from the runs' records):", 1, true), md)
    T.ok(md:find(want, 1, true) and md:find("measure wn = nan: not finite, recorded as missing",
      1, true), md)
    st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s", T.wb, script, root))
    T.eq(st, 0, err)
  end
end)

T.done()
