-- What a run's hooks read twice must be the same each time, as a file is
-- (wb/identity_reads_again.lua, test_reads_changed_mid_run): a record names one id per
-- read. A folder listed again with other names was recorded as first listed, silently, over
-- numbers that came from both; now the run fails naming it and both ids. What the run did
-- itself (a file it wrote in a folder it lists) and a thing first absent, then there (a hook
-- waiting for it) are not failures.
local T = dofile("tests/lua/harness.lua")
local reads = require "wb.identity_reads"
local util = require "wb.util"
local dir = T.tmpdir()
local HERE = "test_reads_twice.lua:%d+: "

-- f() run as a hook would be (a frame newer than the tracker's start): ok, error, the list
local function tracked(f)
  local t = reads.track{}
  local ok, err = pcall(f)
  return ok, tostring(err), t:stop()
end
local function sh(cmd) assert(os.execute(cmd), cmd) end

T.test("a folder listed again with a name more: the run fails naming it and both ids",
  function()
  local d = dir .. "/listed"
  wb.sys.mkdir_p(d)
  util.write_file(d .. "/a.txt", "a")
  local ok, err, list = tracked(function()
    T.eq(#wb.sys.listdir(d), 1)
    sh("touch '" .. d .. "/b.txt'") -- another process, as a user's shell
    wb.sys.listdir(d)
  end)
  T.ok(not ok, "no error")
  T.ok(err:find(HERE .. d .. " changed during the run"), err)
  T.ok(err:find("first with the names %(id names:%x+%), then again with the names %(id "
    .. "names:%x+%)"), err)
  T.ok(list.changed and list.changed:find(d .. " changed during the run", 1, true))
  T.check_error("changed during the run", reads.merge, list, nil) -- no record is written
end)

T.test("a folder listed, then found gone by wb.sys.exists: changed", function()
  local d = dir .. "/gone"
  wb.sys.mkdir_p(d)
  local ok, err = tracked(function()
    wb.sys.listdir(d)
    sh("rmdir '" .. d .. "'")
    T.eq(wb.sys.exists(d), false)
  end)
  T.ok(not ok and err:find(d .. " changed during the run", 1, true), err)
  T.ok(err:find("then again with content id absent", 1, true), err)
end)

T.test("the run's own file in a folder it lists, a folder first absent: not failed",
  function()
  local d = dir .. "/own"
  wb.sys.mkdir_p(d)
  local ok, err, list = tracked(function()
    wb.sys.listdir(d)
    local f = assert(io.open(d .. "/ckpt.txt", "w")) -- its output
    f:write("1")
    f:close()
    wb.sys.listdir(d)
    T.eq(wb.sys.exists(dir .. "/later"), false)
    wb.sys.mkdir_p(dir .. "/later")
    T.eq(wb.sys.exists(dir .. "/later"), true) -- a hook waiting for a folder
  end)
  T.ok(ok, err)
  T.eq(list.changed, nil)
end)

T.done()
