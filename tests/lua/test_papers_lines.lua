-- test_papers_lines.lua - a declaration's error names the line of its own
-- mistake (audit B10): the line was the first in the file where the key
-- appears, so in a script declaring two experiments the second's unknown
-- key `hidden` was said at the first's line ("line.lua:2: b: ..."; b's base
-- is line 4). Now the key is looked for from the declaration's line on, and
-- a table built above the declaration is found before it.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local q = T.quote

local function error_of(name, text)
  local path = dir .. "/" .. name
  util.write_file(path, text)
  local st, _, err = T.run_wb(q(path) .. " --root " .. q(dir .. "/root"))
  T.ok(st ~= 0, "an error")
  return err, path
end

T.test("two experiments: the second's unknown key at its own line", function()
  local err, path = error_of("two.lua", [[
local a = wb.experiment({name = "a", seeds = {1},
  base = {hidden = 8, epochs = 1}}, {root = "]] .. dir .. [[/rl"})
local b = wb.experiment({name = "b", seeds = {1}, keys = {},
  base = {hidden = 8, epochs = 1},
  build = function() return nil end}, {root = "]] .. dir .. [[/rl"})
]])
  T.ok(err:find("workbench: " .. path .. ":4: b: experiment.base: unknown config key 'hidden'",
    1, true), err)
end)

T.test("a value's error at the second declaration's line too", function()
  local err, path = error_of("two_values.lua", [[
local a = wb.experiment({name = "a", seeds = {1},
  base = {hidden = 8, epochs = 1}}, {root = "]] .. dir .. [[/rl"})

local b = wb.experiment({name = "b", seeds = {1},
  base = {hidden = 8,
    epochs = 0}}, {root = "]] .. dir .. [[/rl"})
]])
  T.ok(err:find(path .. ":6: b: experiment.base.epochs: expected a positive integer", 1, true),
    err)
end)

T.test("a table built above the declaration: its line, not an earlier one's", function()
  local err, path = error_of("above.lua", [[
-- hiden: a comment naming the key is no line of code
local other = {hiden = 1}
local base = {hiden = 8, epochs = 1}

local ex = wb.experiment({name = "x", seeds = {1},
  base = base}, {root = "]] .. dir .. [[/rl"})
]])
  T.ok(err:find(path .. ":3: x: experiment.base: unknown config key 'hiden'", 1, true), err)
end)

T.test("one declaration: the key's line, as before", function()
  local err, path = error_of("one.lua", [[
-- a task whose experiment's base has a typo
return wb.task{name = "tt", title = "t",
  experiment = {seeds = {1},
    base = {hiden = 8, epochs = 1}},
  report = function(task, runs) end}
]])
  T.ok(err:find(path .. ":4: tt: experiment.base: unknown config key 'hiden'", 1, true), err)
end)

T.done()
