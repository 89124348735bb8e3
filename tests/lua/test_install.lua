-- `make install PREFIX=...` gives a workbench that finds its Lua library
-- without any environment variable, and wb.so loads in the stock lua5.4.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local prefix = T.tmpdir()
local out = util.dirname(T.wb)
local obj = T.build_dir() -- (O=<root> compiled every object into the source tree)

T.test("make install puts the executable, module, Lua library and man page in PREFIX", function()
  local st, o, err = T.sh(string.format("make --no-print-directory install PREFIX=%s O=%s OUT=%s",
    prefix, obj, out))
  T.eq(st, 0, o .. err)
  for _, f in ipairs{"/bin/workbench", "/lib/lua/5.4/wb.so",
      "/share/workbench/lua/wb/init.lua", "/share/workbench/lua/wb/plot/xy.lua"} do
    T.ok(wb.sys.exists(prefix .. f), f)
  end
end)

T.test("the installed workbench finds its Lua files from any folder, no env needed", function()
  local st, o, err = T.sh(string.format("cd / && env -u WB_PLOTS -u LUA_PATH %s/bin/workbench "
    .. "-e 'print(wb.luadir); print(wb.nn.Sequential ~= nil)'", prefix))
  T.eq(st, 0, err)
  T.ok(o:find(prefix .. "/bin/../share/workbench/lua", 1, true), o)
  T.ok(o:find("true", 1, true))
end)

T.test("editing an installed Lua file takes effect without a rebuild", function()
  local f = prefix .. "/share/workbench/lua/wb/util.lua"
  local s = util.read_file(f)
  util.write_file(f, s:gsub("\nreturn M%s*$", "\nM.edited = 42\nreturn M\n"))
  local st, o = T.sh(prefix .. "/bin/workbench -e 'print(require(\"wb.util\").edited)'")
  T.eq(st, 0); T.eq(o, "42\n")
end)

T.test("require 'wb' from the stock lua5.4 with LUA_CPATH", function()
  if not os.execute("command -v lua5.4 >/dev/null 2>&1") then
    T.skip("lua5.4", "lua5.4 not installed"); return
  end
  if os.getenv("WB_ASAN") then -- an ASan wb.so cannot load into an uninstrumented lua5.4
    T.skip("lua5.4 require under ASan", "the sanitizer runtime must come first"); return
  end
  local st, o, err = T.sh(string.format("cd / && LUA_CPATH='%s/lib/lua/5.4/?.so;;' lua5.4 -e "
    .. "'local wb = require \"wb\"; print(type(wb.zeros), wb.zeros(2, 3):numel(), "
    .. "rawget(_G, \"wb\"))'", prefix))
  T.eq(st, 0, err)
  T.eq(o, "function\t6\tnil\n", "require sets no global")
  -- and from the source tree
  local st2, o2, err2 = T.sh(string.format("LUA_CPATH='%s/?.so;;' lua5.4 -e "
    .. "'local wb = require \"wb\"; print(#wb.data.mnist().test)'", out))
  T.eq(st2, 0, err2); T.eq(o2, "10000\n")
end)

T.test("stock Lua C modules load in the workbench (shared liblua5.4)", function()
  local st, o, err = T.sh(T.wb .. " -e 'print(require(\"cjson\").encode({1, 2}))'")
  T.eq(st, 0, err); T.eq(o, "[1,2]\n")
end)

T.done()
