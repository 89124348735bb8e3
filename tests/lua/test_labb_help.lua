-- test_labb_help.lua: help of a documented number given by value (audit audB
-- B8). `for k in pairs(wb.lab)` lists near_zero; help(wb.lab.near_zero)
-- passes 0.001 and said only "no help for 0.001". Failed before its fix.
local T = dofile("tests/lua/harness.lua")

T.test("B8: help of a number names the documented values equal to it", function()
  local text, msg = wb.help.text(wb.lab.near_zero)
  T.eq(text, nil)
  T.eq(msg, 'no help for 0.001; a value is found by its name: help("wb.lab.near_zero")')
  T.ok(wb.help.text("wb.lab.near_zero"):find("wb.stats", 1, true)) -- by name: its text
  local _, none = wb.help.text(123456.5) -- equal to no documented value: nothing added
  T.eq(none, "no help for 123456.5")
end)

T.done()
