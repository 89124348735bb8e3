-- A value a run's hooks read twice must be the same each time, as a file is
-- (wb/identity_reads_again.lua, test_reads_changed_mid_run): a record names one value per
-- read. A folder listed again with other names, an environment variable or a link's target
-- read again with another value were recorded as first read, silently, over numbers that
-- came from both; now the run fails naming what changed and both values. What the run did
-- itself (a file it wrote in a folder it lists) and a thing first absent, then there (a hook
-- waiting for it) are not failures. The file rules checked here too: a file removed during
-- the run (present, then absent) and one rewritten in place with the same size and its
-- modification time put back (the stat signature's change time tells it).
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

T.test("a link's target (wb.sys.realpath) read again pointing elsewhere: changed", function()
  util.write_file(dir .. "/one", "1")
  util.write_file(dir .. "/two", "2")
  local l = dir .. "/latest"
  sh("ln -sfn one '" .. l .. "'")
  local ok, err, list = tracked(function()
    wb.sys.realpath(l)
    sh("ln -sfn two '" .. l .. "'")
    wb.sys.realpath(l)
  end)
  T.ok(not ok, "no error")
  T.ok(err:find(HERE .. "wb%.sys%.realpath%(" .. l:gsub("%p", "%%%0") .. "%) changed during"),
    err)
  T.ok(err:find(string.format("first with the value %q, then again with the value %q",
    dir .. "/one", dir .. "/two"), 1, true), err)
  T.ok(list.changed ~= nil)
  -- not there, then there: as it came
  ok, err, list = tracked(function()
    wb.sys.realpath(dir .. "/new")
    util.write_file(dir .. "/new", "n")
    wb.sys.realpath(dir .. "/new")
  end)
  T.ok(ok, err)
  T.eq(list.changed, nil)
end)

-- os.setenv is not Lua's; a C module's is (luaposix's stdlib.setenv): built here.
local function setenv_module()
  local src, so = dir .. "/setenv.c", dir .. "/wbtest_setenv.so"
  util.write_file(src, [[
#include <stdlib.h>
#include <lua.h>
#include <lauxlib.h>
static int f(lua_State *L)
{
    setenv(luaL_checkstring(L, 1), luaL_checkstring(L, 2), 1);
    return 0;
}
int luaopen_wbtest_setenv(lua_State *L)
{
    lua_pushcfunction(L, f);
    return 1;
}
]])
  if not os.execute("cc -shared -fPIC -I/usr/include/lua5.4 -o '" .. so .. "' '" .. src
      .. "' 2>/dev/null") then
    return nil
  end
  return assert(package.loadlib(so, "luaopen_wbtest_setenv"))()
end
local setenv = setenv_module()

if not setenv then
  T.skip("an environment variable read again with another value", "no C compiler (cc)")
else
  T.test("an environment variable read again with another value: changed, both named",
    function()
    setenv("WB_TEST_TWICE", "1")
    local ok, err, list = tracked(function()
      T.eq(os.getenv("WB_TEST_TWICE"), "1")
      setenv("WB_TEST_TWICE", "2")
      T.eq(os.getenv("WB_TEST_TWICE"), "2")
    end)
    T.ok(not ok, "no error")
    T.ok(err:find(HERE .. "%$WB_TEST_TWICE changed during the run"), err)
    T.ok(err:find('first with the value "1", then again with the value "2"', 1, true), err)
    T.ok(list.changed ~= nil)
    -- a secret's values stay out of the message
    setenv("WB_TEST_TOKEN", "s3cret")
    ok, err = tracked(function()
      os.getenv("WB_TEST_TOKEN")
      setenv("WB_TEST_TOKEN", "other")
      os.getenv("WB_TEST_TOKEN")
    end)
    T.ok(not ok and err:find("first with value id env:%x+, then again with value id env:%x+"),
      err)
    T.ok(not err:find("s3cret", 1, true) and not err:find("other", 1, true), err)
    -- the same value read again: recorded once, no error
    ok, err, list = tracked(function()
      os.getenv("WB_TEST_TWICE")
      os.getenv("WB_TEST_TWICE")
    end)
    T.ok(ok, err)
    T.eq(list[1].path, "$WB_TEST_TWICE")
    T.eq(list[1].value, "2")
  end)
end

T.test("a file read, removed by another process, read again (absent): changed", function()
  local p = dir .. "/params.txt"
  util.write_file(p, "lr = 1")
  local ok, err, list = tracked(function()
    assert(io.open(p)):close()
    sh("rm '" .. p .. "'")
    T.eq(io.open(p), nil)
  end)
  T.ok(not ok and err:find(HERE .. p:gsub("%p", "%%%0") .. " changed during the run"), err)
  T.ok(err:find("then again with content id absent", 1, true), err)
  T.ok(list.changed ~= nil)
end)

-- Waits until path's times are 2 s old: its stat signature is trusted (wb.sys._stat_sig).
local function settled(path)
  T.wait_until(path .. "'s times 2 s old", 120, function() return wb.sys._stat_sig(path) end)
end

T.test("a file rewritten in place, same size, its time put back: changed", function()
  local p = dir .. "/same.txt"
  util.write_file(p, "aaaa")
  sh("touch -d '2020-01-01 00:00:00' '" .. p .. "'")
  settled(p)
  local ok, err = tracked(function()
    assert(io.open(p)):close()
    -- the same inode, size and modification time: only the change time tells
    sh("printf bbbb > '" .. p .. "' && touch -d '2020-01-01 00:00:00' '" .. p .. "'")
    settled(p) -- read again with no time within the clock tick: the signature decides
    assert(io.open(p)):close()
  end)
  T.ok(not ok and err:find(p .. " changed during the run", 1, true), err)
end)

T.test("a file rewritten in place, same size, within the clock tick: changed", function()
  local p = dir .. "/tick.txt"
  local h = assert(io.open(p, "w")) -- opened before the run: not its output
  local ok, err = tracked(function()
    h:write("cccc")
    h:flush()
    assert(io.open(p)):close()
    h:seek("set")
    h:write("dddd")
    h:flush() -- microseconds after the first write: most often the same modification time
    assert(io.open(p)):close()
  end)
  h:close()
  T.ok(not ok and err:find(p .. " changed during the run", 1, true), err)
  -- what makes it so where a file system's times are coarse (a kernel tick, FAT's 2 s),
  -- which this one's may not be: a file written within 2 s has no signature to trust
  T.eq(wb.sys._stat_sig(p), nil, "a file written just now")
end)

T.done()
