-- test_mutants_harness.lua: tests/run.sh's counting, on a sandbox of small
-- test files whose right count is known. Each way a test file can go wrong
-- must count as a failure: a "not ok" line, a Lua file that errors halfway
-- (the tests after the error never print), one that exits non-zero after
-- printing only "ok" lines, a C test that crashes; each "not ok" line is
-- one failure, also in a file that forgot T.done() (exit status 0). A skip is not a pass:
-- it is counted apart and listed again at the end; the exit status is non-zero with any
-- failure. Found by mutation testing: no test ran run.sh itself, so a
-- run.sh that dropped its exit-status check still passed every test.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

-- A sandbox holding a copy of run.sh and the harness, the Lua test files
-- lua (name -> text) and the executable C tests c (name -> shell script);
-- returns run.sh's exit status and output.
local function run(lua, c)
  local dir = T.tmpdir()
  assert(os.execute("mkdir -p " .. dir .. "/tests/lua " .. dir .. "/ctests"))
  util.write_file(dir .. "/tests/run.sh", util.read_file("tests/run.sh"))
  for _, f in ipairs{"harness.lua", "harness_runs.lua"} do -- harness.lua loads the second
    util.write_file(dir .. "/tests/lua/" .. f, util.read_file("tests/lua/" .. f))
  end
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
  T.ok(out:find("\n5 passed, 6 failed\n$"), "the count, the skip not a pass: " .. out)
  -- each failing file named once in the last list
  local failing = out:match("\nfailing: ([^\n]*)")
  T.ok(failing, "a 'failing:' line: " .. out)
  for _, name in ipairs{"lua/test_b_halfway %(exit 1%)", "lua/test_c_exit %(exit 3%)",
      "lua/test_d_notok", "lua/test_f_nodone", "c/test_crash %(exit 139%)"} do
    T.ok(failing:find(name), name .. " in " .. failing)
  end
  T.ok(not failing:find("test_a_pass") and not failing:find("test_fine"), failing)
  T.ok(out:find("1 skipped here (not counted as passed):\n[lua/test_e_skip] sk # SKIP no widget "
    .. "here\n", 1, true), "the skip counted and listed again: " .. out)
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

-- The next float32 after x away from zero: one ulp apart.
local function ulp_away(x)
  return (string.unpack("<f", string.pack("<I4", string.unpack("<I4", string.pack("<f", x)) + 1)))
end

T.test("harness: T.same_weights tells models one ulp apart, and NaN, shape, count", function()
  local a, b = T.tiny_mlp(1), T.tiny_mlp(1)
  T.ok(T.same_weights(a, b))
  local w = b:get_weights()
  local x = w[1]:get(2, 3)
  w[1]:set(2, 3, ulp_away(x))
  T.ok(w[1]:get(2, 3) ~= x and math.abs(w[1]:get(2, 3) - x) < 1e-6, "one ulp away")
  b:set_weights(w)
  local same, where = T.same_weights(a, b)
  T.ok(not same, "models one ulp apart reported the same")
  T.eq(where, string.format("parameter 1 [8, 12], element 15: %.9g vs %.9g", x,
    w[1]:get(2, 3)))
  local nan, t = 0 / 0, wb.tensor{1, 2}
  T.ok(not T.same_weights({wb.tensor{nan}}, {wb.tensor{nan}}), "NaN equal to NaN")
  T.eq(select(2, T.same_weights({t}, {t, t})), "1 parameters vs 2")
  -- a subtraction broadcasts [2] against [1, 2] and finds no difference
  T.eq(select(2, T.same_weights({t}, {wb.tensor{{1, 2}}})), "parameter 1: shape [2] vs [1, 2]")
  T.ok(T.same_weights({wb.tensor{0}}, {wb.tensor{-0.0}}), "-0 == 0, as == has it")
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

T.test("harness: T.wait_line waits for a whole line, not for the file's first bytes", function()
  -- a fake writer that stops mid-line: "12" now, "34\n" 0.3 s later (as a
  -- shell's `echo $! > f` may be seen between its open and its write)
  local f = os.tmpname()
  os.execute("(printf '12' > " .. f .. "; sleep 0.3; printf '34\\n' >> " .. f .. ") &")
  T.eq(T.wait_line(f, 30), "1234")
  local err = T.check_error("gave up after 0.1 s waiting for a whole line in " .. f .. ".none",
    function() T.wait_line(f .. ".none", 0.1) end)
  T.ok(err:find("test_mutants_harness", 1, true), "the error points at the caller: " .. err)
  os.remove(f)
end)

T.test("harness: T.wait_until returns the value awaited, fails naming it", function()
  local n = 0
  T.eq(T.wait_until("n to reach 3", 30, function() n = n + 1 return n >= 3 and n end), 3)
  local err = T.check_error("gave up after 0.1 s waiting for the impossible", function()
    T.wait_until("the impossible", 0.1, function() return false end)
  end)
  T.ok(err:find("test_mutants_harness", 1, true), "the error points at the caller: " .. err)
  T.eq(T.poll(0.1, function() return false end), nil, "T.poll: nil once its polls are spent")
end)

T.test("harness: T.wait_gone waits for a process to end", function()
  local f = os.tmpname()
  os.execute("sleep 0.3 & echo $! > " .. f)
  local pid = T.wait_line(f, 30)
  T.ok(require("wb.util").pid_alive(pid), "the sleep runs")
  T.wait_gone(pid, 30, "the sleep")
  T.ok(not require("wb.util").pid_alive(pid), "ended")
  os.remove(f)
  T.check_error("gave up after 0.1 s waiting for this process " .. wb.sys.getpid()
    .. " to end", T.wait_gone, wb.sys.getpid(), 0.1, "this process")
end)

T.test("harness: T.sleep_mark is a sleep length of this process's own", function()
  local m = T.sleep_mark(61)
  T.eq(m, "61." .. wb.sys.getpid())
  T.ok(os.execute("sleep 0." .. wb.sys.getpid() % 10 .. " 2>/dev/null"), "sleep takes such a length")
end)

T.test("harness: T.slurp reads bytes as they are, fails naming a missing file", function()
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/b", "wb"))
  f:write("a\0\r\nb")
  f:close()
  T.eq(T.slurp(dir .. "/b"), "a\0\r\nb")
  T.check_error("cannot read " .. dir .. "/missing", T.slurp, dir .. "/missing")
end)

T.test("harness: a port T.free_ports gave is claimed from other test processes until its "
  .. "claimer ends", function()
  local p = T.free_ports(1)
  -- another test process (another suite's) asking for the same port
  local other = string.format("%s -e %s", T.quote(T.wb), T.quote(string.format(
    'local T = dofile("tests/lua/harness.lua"); io.write(tostring(T.claim_port(%d)))', p)))
  local st, out = T.sh(other)
  T.eq(st, 0)
  T.eq(out, "false", "claimed by a live test process: refused")
  -- a claim left by a process that has ended is taken over
  local q = io.popen("sh -c 'echo $$'"); local dead = q:read("l"); q:close()
  require("wb.util").write_file("/tmp/wb-test-ports/" .. p .. "/pid", dead)
  st, out = T.sh(other)
  T.eq(out, "true", "a dead claimer's port is taken over")
end)

T.done()
