-- test_audit_readme8.lua: what README.md shows a new user in the first
-- hour, checked where it did not hold. A script's returned status is an
-- integer 0..255 (README, Exit status): 2.5 exited 0 without a word, where
-- 300 was an error.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

local function run_script(code)
  local path = dir .. "/s.lua"
  local fh = assert(io.open(path, "wb"))
  fh:write(code)
  fh:close()
  return T.sh(T.quote(T.wb) .. " " .. T.quote(path) .. " </dev/null")
end

-- {==================== a script's returned status ====================

T.test("a script returning a number that is not an integer 0..255 is an error naming it",
  function()
  local st, _, err = run_script("return 2.5")
  T.eq(st, 1, err)
  T.ok(err:find("the script returned exit status 2.5, expected an integer 0..255", 1, true),
    err)
  st, _, err = run_script("return 300")
  T.eq(st, 1, err)
  T.ok(err:find("exit status 300, expected 0..255", 1, true), err)
  -- an integral float is that integer; another value (a module's table) is 0
  T.eq((run_script("return 3.0")), 3)
  T.eq((run_script("return 7")), 7)
  T.eq((run_script("return {}")), 0)
end)

-- }====================

T.done()
