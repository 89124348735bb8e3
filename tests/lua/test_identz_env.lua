-- An environment variable a hook read while it was unset, set since: the
-- runner's line named no values ("$BW ... is not as it was when the run was
-- recorded: retraining"), though both are known: unset then, the value now
-- (wb/identity_reads_check.lua). A secret's value is still not shown.
local T = dofile("tests/lua/harness.lua")
local reads = require "wb.identity_reads"

T.test("a variable unset when recorded and set now is named with both values", function()
  local st, out, err = T.sh("IDZ_W=2 IDZ_TOKEN=1 " .. T.wb .. " -e " .. T.quote([[
local reads = require "wb.identity_reads"
print(reads.entry_changed({path = "$IDZ_W", id = "env:unset"}, {}))
print(reads.entry_changed({path = "$IDZ_TOKEN", id = "env:unset"}, {}))]]))
  T.eq(st, 0, err)
  T.ok(out:find("$IDZ_W", 1, true) == nil, out)
  local a, b = out:match("^([^\n]*)\n([^\n]*)")
  T.ok(a:find("is not as it was when the run was recorded (unset then, 2 now)", 1, true), out)
  T.ok(b:find("recorded\ttrue", 1, true), "a secret's value shown: " .. out)
  -- as recorded: unset then and now
  T.eq(reads.entry_changed({path = "$IDZ_SURELY_UNSET", id = "env:unset"}, {}), nil)
end)

T.done()
