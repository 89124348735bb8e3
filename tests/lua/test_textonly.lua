-- What a script loads is Lua source unless it asks for a precompiled chunk
-- (bindings/workbench_textonly.c): Lua does not check bytecode, and a
-- damaged chunk crashed the process (audit X8; the script itself, `-` and
-- `-e` already load as text, test_faults_x). Here: load, loadfile, dofile
-- and require, with a good chunk and with damaged ones, each run in its own
-- process (a crash would be its status, not this test's).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local bc = string.dump(function(a) return (a or 0) + 1 end)
util.write_file(dir .. "/bc.lua", bc)
util.write_file(dir .. "/txt.lua", "return {x = 5}")

T.test("a precompiled chunk is refused by default, naming the file and mode 'b'", function()
  local ok, err = loadfile(dir .. "/bc.lua")
  T.eq(ok, nil)
  T.ok(err:find(dir .. "/bc.lua: a precompiled Lua chunk", 1, true), err)
  T.ok(err:find('mode argument says "b"', 1, true), err)
  local fine, e2 = pcall(dofile, dir .. "/bc.lua")
  T.ok(not fine and e2:find(dir .. "/bc.lua: a precompiled Lua chunk", 1, true), e2)
  local f, e3 = load(bc)
  T.ok(f == nil and e3:find("load: a precompiled Lua chunk", 1, true), e3)
  package.path = dir .. "/?.lua;" .. package.path
  local r, e4 = pcall(require, "bc")
  T.ok(not r and e4:find("error loading module 'bc' from file '" .. dir .. "/bc.lua'", 1, true)
    and e4:find("a precompiled Lua chunk", 1, true), tostring(e4))
  -- a mode the script gives is kept, Lua's own words
  local _, e5 = load(bc, "x", "t")
  T.eq(e5, "attempt to load a binary chunk (mode is 't')")
end)

T.test("asked for ('b', 'bt'), a chunk loads; text loads as before", function()
  T.eq(load(bc, "x", "b")(41), 42)
  T.eq(loadfile(dir .. "/bc.lua", "bt")(1), 2)
  T.eq(load("return ...", "c", nil, {})(7), 7)
  local parts = {"return ", "3"}
  T.eq(load(function() return table.remove(parts, 1) end)(), 3) -- a reader function
  T.eq(dofile(dir .. "/txt.lua").x, 5)
  T.eq(require("txt").x, 5)
  local f = loadfile(dir .. "/txt.lua", nil, {})
  T.eq(f().x, 5)
end)

T.test("damaged chunks: an error, never a crash, through every loader", function()
  -- the same kind of mutation as the audit's: bytes of the chunk replaced
  local crashes = {}
  for i = 1, 40 do
    local at = 1 + (i * 7919) % #bc
    local bad = bc:sub(1, at - 1) .. string.char((bc:byte(at) + 1 + i) % 256) .. bc:sub(at + 1)
    util.write_file(dir .. "/m.lua", bad)
    for _, code in ipairs{"local f = loadfile(arg[1]); if f then f() end",
        "pcall(dofile, arg[1])", "pcall(require, 'm')",
        "local f = load(io.open(arg[1], 'rb'):read('a')); if f then f() end"} do
      local st = T.sh(T.quote(T.wb) .. " -e " .. T.quote("package.path = "
        .. string.format("%q", dir .. "/?.lua;") .. " .. package.path; arg = {"
        .. string.format("%q", dir .. "/m.lua") .. "}; " .. code) .. " 2>/dev/null")
      if st ~= 0 then crashes[#crashes + 1] = string.format("byte %d, %s: status %s", at, code,
        tostring(st)) end
    end
  end
  T.eq(#crashes, 0, table.concat(crashes, "\n"))
end)

T.done()
