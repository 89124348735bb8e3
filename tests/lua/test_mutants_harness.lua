-- test_mutants_harness.lua: tests/run.sh's counting, on a sandbox of small
-- test files whose right count is known. Each way a test file can go wrong
-- must count as a failure: a "not ok" line, a Lua file that errors halfway
-- (the tests after the error never print), one that exits non-zero after
-- printing only "ok" lines, a C test that crashes; each "not ok" line is
-- one failure, also in a file that forgot T.done() (exit status 0). A skip counts as passed
-- and is listed again at the end; the exit status is non-zero with any
-- failure. Found by mutation testing: no test ran run.sh itself, so a
-- run.sh that dropped its exit-status check still passed every test.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

-- A sandbox holding a copy of run.sh and harness.lua, the Lua test files
-- lua (name -> text) and the executable C tests c (name -> shell script);
-- returns run.sh's exit status and output.
local function run(lua, c)
  local dir = T.tmpdir()
  assert(os.execute("mkdir -p " .. dir .. "/tests/lua " .. dir .. "/ctests"))
  util.write_file(dir .. "/tests/run.sh", util.read_file("tests/run.sh"))
  util.write_file(dir .. "/tests/lua/harness.lua", util.read_file("tests/lua/harness.lua"))
  for name, text in pairs(lua) do util.write_file(dir .. "/tests/lua/" .. name, text) end
  for name, text in pairs(c) do
    util.write_file(dir .. "/ctests/" .. name, "#!/bin/sh\n" .. text)
    assert(os.execute("chmod +x " .. dir .. "/ctests/" .. name))
  end
  local st, out, err = T.sh("bash " .. T.quote(dir .. "/tests/run.sh") .. " " .. T.quote(T.wb)
    .. " " .. T.quote(dir .. "/ctests"))
  return st, out, err
end

local HEAD = 'local T = dofile("tests/lua/harness.lua")\n'

T.test("run.sh counts every way a test file fails, each once", function()
  local st, out, err = run({
    ["test_a_pass.lua"] = HEAD .. 'T.test("p1", function() end)\nT.done()\n',
    -- errors between its tests: h2 never prints, the file counts as failed
    ["test_b_halfway.lua"] = HEAD .. 'T.test("h1", function() end)\nerror("boom")\n'
      .. 'T.test("h2", function() end)\nT.done()\n',
    -- prints only "ok" lines, then exits 3
    ["test_c_exit.lua"] = 'print("ok - s1")\nos.exit(3)\n',
    ["test_d_notok.lua"] = HEAD .. 'T.test("f1", function() T.eq(1, 2) end)\n'
      .. 'T.test("f2", function() T.ok(false) end)\nT.done()\n', -- two failures
    -- a failing test in a file without T.done(): exits 0, still counted
    ["test_f_nodone.lua"] = HEAD .. 'T.test("n1", function() T.ok(false) end)\n',
    ["test_e_skip.lua"] = HEAD .. 'T.skip("sk", "no widget here")\nT.done()\n',
  }, {
    test_crash = 'echo "ok - c1"\nkill -SEGV $$\n', -- a C test crashing after one test
    test_fine = 'echo "ok - c2"\n',
    other = 'echo "not ok - not a test file"\n', -- not test_*: not run
  })
  T.ok(st ~= 0, "run.sh exits non-zero with failures: " .. out .. err)
  T.ok(out:find("\n6 passed, 6 failed\n$"), "the count: " .. out)
  -- each failing file named once in the last list
  local failing = out:match("\nfailing: ([^\n]*)")
  T.ok(failing, "a 'failing:' line: " .. out)
  for _, name in ipairs{"lua/test_b_halfway %(exit 1%)", "lua/test_c_exit %(exit 3%)",
      "lua/test_d_notok", "lua/test_f_nodone", "c/test_crash %(exit 139%)"} do
    T.ok(failing:find(name), name .. " in " .. failing)
  end
  T.ok(not failing:find("test_a_pass") and not failing:find("test_fine"), failing)
  T.ok(out:find("skipped here (counted as passed):\n[lua/test_e_skip] sk # SKIP no widget here\n",
    1, true), "the skip listed again: " .. out)
  T.ok(not out:find("not a test file", 1, true), "a file not named test_* is not run")
end)

T.test("run.sh exits 0 when every test passes, and counts them", function()
  local st, out, err = run({
    ["test_a.lua"] = HEAD .. 'T.test("a1", function() end)\nT.test("a2", function() end)\n'
      .. 'T.done()\n',
  }, {test_one = 'echo "ok - c1"\n'})
  T.eq(st, 0, out .. err)
  T.ok(out:find("\n3 passed, 0 failed\n$"), out)
  T.ok(not out:find("failing:", 1, true) and not out:find("skipped here", 1, true), out)
end)

T.test("harness: T.near and T.eq fail on NaN, T.check_error on no error", function()
  local nan = 0 / 0
  T.ok(not pcall(T.near, nan, 1, 1e300), "T.near(NaN, 1) passed")
  T.ok(not pcall(T.near, 1, nan, 1e300), "T.near(1, NaN) passed")
  T.ok(not pcall(T.eq, nan, nan), "T.eq(NaN, NaN) passed")
  T.ok(not pcall(T.check_error, "x", function() end), "no error passed T.check_error")
  T.ok(not pcall(T.check_error, "wanted", error, "other"), "another error passed")
end)

T.test("harness: T.wait_status waits for the digits, not for the file", function()
  -- a background shell's `echo $? > f` creates f empty, then writes: the
  -- CI once read the empty file as no status (test_runner_faults)
  local f = os.tmpname()
  os.execute("(sleep 0.3; printf '143\\n' > " .. f .. ") &")
  T.eq(T.wait_status(f, 30), 143)
  T.eq(T.wait_status(f .. ".none", 0.1), nil, "no file: nil after the wait")
  os.remove(f)
end)

T.done()
