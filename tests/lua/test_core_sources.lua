-- test_core_sources.lua: a binary and the C sources of its tree (tryL 4).
-- WB_CORE_ID is fixed when the binary is built, and a record's git fields
-- come from the tree at run time: a core edited without make (or made, then
-- edited back) trained and recorded "commit X" (or "uncommitted changes to
-- core/dropout.c") beside numbers that code did not give. The binary now
-- holds each source's cksum (wb.core_files), and the runner refuses to
-- train when the tree's differ, naming them; a binary without its source
-- tree records no commit (wb/runner_provenance.lua).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"
local q = T.quote
local dir = T.tmpdir()
local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
local src = wb.luadir:gsub("/bindings/lua$", "")
local data = os.getenv("WB_DATA") or (src .. "/data")

T.test("wb.sys._cksum gives what cksum gives", function()
  local big = dir .. "/big.bin"
  local f = assert(io.open(big, "wb"))
  for i = 1, 70000 do f:write(string.char(i % 251)) end -- over one 64 KiB read
  f:close()
  util.write_file(dir .. "/empty", "")
  for _, p in ipairs{big, dir .. "/empty", src .. "/core/dropout.c"} do
    local _, out = T.sh("cksum " .. q(p))
    local crc, size = wb.sys._cksum(p)
    T.eq(string.format("%d %d", crc, size), out:match("^(%d+ %d+)"), p)
  end
  local none, err = wb.sys._cksum(dir .. "/none")
  T.eq(none, nil)
  T.ok(err:find("cannot open " .. dir .. "/none", 1, true), err)
end)

T.test("this binary's sources are its tree's", function()
  local s = require("wb.runner_provenance").core_sources()
  T.eq(s.tree, src)
  T.eq(s.differ, nil, table.concat(s.differ or {}, ", "))
  T.ok(wb.core_files:find("core/dropout.c\n", 1, true), wb.core_files)
end)

-- A tree of its own: the binary, its Lua library and C sources, one commit.
local tree = dir .. "/tree"
local git = "git -C " .. q(tree) .. " -c user.name=t -c user.email=t@t "
local st, _, err = T.sh(string.format("mkdir -p %s/bindings && cp %s %s/workbench && cp -r %s "
  .. "%s/bindings/lua && cp %s/bindings/*.c %s/bindings/*.h %s/bindings/ && cp -r %s/core %s/ "
  .. "&& %s init -q && %s add workbench bindings core && %s commit -q -m t", q(tree), q(exe),
  q(tree), q(wb.luadir), q(tree), q(src), q(src), q(tree), q(src), q(tree), git, git, git))
assert(st == 0, err)
util.write_file(dir .. "/t.lua", [[
return wb.task{name = "t", experiment = {base = {hidden = 8, epochs = 1, subset = {train = 200,
  test = 50}}, seeds = {1}}}
]])

local function run(binary, root, rest)
  return T.sh(string.format("cd %s && WB_ECHO=0 WB_DATA=%s %s t.lua --root %s %s </dev/null",
    q(dir), q(data), q(binary), q(root), rest or "--jobs 1"))
end

T.test("a core edited after the build: refused before any work, naming the file", function()
  local st1, _, err1 = run(tree .. "/workbench", dir .. "/clean")
  T.eq(st1, 0, err1)
  local rs = wb.runs.load_all(dir .. "/clean/runs")
  T.eq(#rs, 1)
  T.ok(type(rs[1].git_commit) == "string" and rs[1].git_uncommitted == 0, "the clean commit")
  local f = assert(io.open(tree .. "/core/dropout.c", "a"))
  f:write("/* edited, not made */\n")
  f:close()
  local st2, _, err2 = run(tree .. "/workbench", dir .. "/edited")
  T.eq(st2, 1, err2)
  T.ok(err2:find("t: this workbench binary was built from other C sources than " .. tree
    .. " holds (core/dropout.c)", 1, true), err2)
  T.ok(err2:find("run make in " .. tree, 1, true), err2)
  T.eq(wb.sys.kind(dir .. "/edited"), nil, "nothing written")
  -- --list-runs trains nothing: listed
  T.eq((run(tree .. "/workbench", dir .. "/edited", "--list-runs")), 0)
  -- a core file added is another source too; the edit undone, the tree is the binary's again
  T.eq(T.sh(git .. "checkout -q core/dropout.c && touch " .. q(tree .. "/core/x.h")), 0)
  local _, _, err3 = run(tree .. "/workbench", dir .. "/edited")
  T.ok(err3:find("(core/x.h (new))", 1, true), err3)
  os.remove(tree .. "/core/x.h")
  T.eq((run(tree .. "/workbench", dir .. "/edited")), 0)
end)

T.test("wb.train.run refuses too (ex:run from a plain script)", function()
  local f = assert(io.open(tree .. "/bindings/l_sys.c", "a"))
  f:write("\n")
  f:close()
  util.write_file(dir .. "/plain.lua", [[
local ex = wb.experiment.new({base = {hidden = 8, epochs = 1, subset = {train = 200, test = 50}},
  seeds = {1}}, {name = "p", root = ...})
ex:run()
]])
  local st4, _, err4 = T.sh(string.format("WB_DATA=%s %s %s %s </dev/null", q(data),
    q(tree .. "/workbench"), q(dir .. "/plain.lua"), q(dir .. "/plain")))
  T.ok(st4 ~= 0, err4)
  T.ok(err4:find("train.run: this workbench binary was built from other C sources than "
    .. tree .. " holds (bindings/l_sys.c)", 1, true), err4)
  T.eq(T.sh(git .. "checkout -q bindings/l_sys.c"), 0)
end)

T.test("a binary without its source tree records no commit", function()
  -- its Lua library beside it, in a git repository, without the C sources
  local bare = dir .. "/bare"
  local g = "git -C " .. q(bare) .. " -c user.name=t -c user.email=t@t "
  local st5, _, err5 = T.sh(string.format("mkdir -p %s/bindings && cp %s %s/workbench && cp -r "
    .. "%s %s/bindings/lua && %s init -q && %s add . && %s commit -q -m t", q(bare), q(exe),
    q(bare), q(wb.luadir), q(bare), g, g, g))
  T.eq(st5, 0, err5)
  local st6, _, err6 = run(bare .. "/workbench", dir .. "/bare_root")
  T.eq(st6, 0, err6)
  local rs = wb.runs.load_all(dir .. "/bare_root/runs")
  T.eq(#rs, 1)
  T.eq(rs[1].git_commit, nil, "no commit named")
  local md = util.read_file(dir .. "/bare_root/t/README.md") or ""
  T.ok(md:find("unknown (this binary runs without its source tree)", 1, true), md)
end)

T.done()
