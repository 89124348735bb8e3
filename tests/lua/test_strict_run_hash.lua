-- test_strict_run_hash.lua: `--run 1234567` (a hash cut too short) said
-- "no run with hash 1234567" without the minimum of 8 digits (audit I 7g).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local q = T.quote

T.test("--run with fewer than 8 digits names the minimum, matching or not", function()
  local resolve = require("wb.runner_options").resolve_run
  local specs = {{hash = "b760cadb00000001", variant = "v", seed = 1}}
  local full, why = resolve("1234567", specs)
  T.eq(full, nil)
  T.ok(why:find("give at least 8 hex digits of a run's hash, got 7 (no run's hash begins "
    .. "with these", 1, true), why)
  _, why = resolve("b760", specs)
  T.ok(why:find("at least 8 hex digits of a run's hash, got 4 (1 run begins with these",
    1, true), why)
  T.eq(resolve("b760cadb", specs), "b760cadb00000001")
  T.eq(resolve("ffff0000", specs), "ffff0000", "8 digits, no match: the caller says so")
end)

T.test("the command line: exit 64 and the minimum", function()
  local dir = T.tmpdir()
  local path = dir .. "/short.lua"
  util.write_file(path, [[
return wb.task{name = "short", experiment = {base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 50}}, seeds = {1}}}
]])
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --run 1234567", q(T.wb),
    q(path), q(dir .. "/root")))
  T.eq(st, 64, err)
  T.ok(err:find("--run 1234567: give at least 8 hex digits", 1, true), err)
  -- refused before anything is written: no <root>/runs/logs for a run that is not there
  st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --run 12345678", q(T.wb),
    q(path), q(dir .. "/root")))
  T.eq(st, 64, err)
  T.eq(wb.sys.kind(dir .. "/root"), nil, "the root was made")
end)

T.done()
