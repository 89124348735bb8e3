-- test_audit_readme8.lua: what README.md shows a new user in the first
-- hour, checked where it did not hold. A script's returned status is an
-- integer 0..255 (README, Exit status): 2.5 exited 0 without a word, where
-- 300 was an error. scripts/report.lua's unknown option listed a task's
-- options and suggested them (--slrum: did you mean --slurm?), which the
-- report then refused as a task's.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
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

-- {==================== the report's options ====================

T.test("the report's unknown option lists and suggests the report's options only", function()
  local st, _, err = T.run_wb("scripts/report.lua --slrum")
  T.eq(st, 64, err)
  T.ok(err:find("report: unknown option --slrum (options: --dataset mnist|fashion, "
    .. "--seeds N, --epochs N, --quick, --jobs N, --fresh, --root DIR, --help)", 1, true), err)
  T.ok(not err:find("slurm", 1, true) and not err:find("--list-runs", 1, true), err)
  st, _, err = T.run_wb("scripts/report.lua --fress")
  T.eq(st, 64, err)
  T.ok(err:find("unknown option --fress (did you mean --fresh?)", 1, true), err)
  -- a task still lists and suggests all of its options
  T.check_error("did you mean --slurm?", wb.runner.options, {"--slrum"})
  T.check_error("wb.runner.options: only[2]: unknown option --slurp",
    wb.runner.options, {}, {"--quick", "--slurp"})
end)

-- }====================

T.done()
