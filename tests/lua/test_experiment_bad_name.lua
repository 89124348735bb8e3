-- test_experiment_bad_name.lua - wb.experiment called by a script with no
-- name, a bad one, or no table says the user's mistake at the script's line
-- without a Lua traceback (a plain string error printed one; the helpers'
-- report paperS), as every other declaration error.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

for _, case in ipairs{
  {'wb.experiment{base = {hidden = 8}}', "experiment.name: expected a name of letters, digits, "
    .. "_ and -, got nil"},
  {'wb.experiment{name = "b c", base = {hidden = 8}}', "got b c"},
  {'wb.experiment(3)', "wb.experiment: expected a table"},
} do
  T.test("script calling " .. case[1] .. ": its line, the mistake, no traceback", function()
    local script = dir .. "/s.lua"
    util.write_file(script, "\nlocal ex = " .. case[1] .. "\n")
    local st, _, err = T.run_wb(T.quote(script))
    T.eq(st, 1, err)
    T.ok(err:find(script .. ":2: ", 1, true) and err:find(case[2], 1, true), err)
    T.ok(not err:find("stack traceback", 1, true), err)
  end)
end

T.done()
