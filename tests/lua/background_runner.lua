-- background_runner.lua: a task's runner started in the background, for a test to
-- signal it as it trains (test_runner_sigint_twice, test_runner_sigint_n4). Not in
-- harness.lua: that file is at the 400-line limit (test_file_sizes).
--
--   local background = dofile("tests/lua/background_runner.lua")(T)
--   local pidf, stf, out = background(script, root, jobs)
--
-- Runs `T.wb script --root root --jobs jobs` (T.wb by its absolute path) under a shell
-- that writes the runner's pid to pidf (root.pid: T.wait_line) and, once it ends, its
-- exit status to stf (root.status: T.wait_status); its stdout and stderr go to out
-- (root.out). The pid is the runner's, not the shell's: the shell lives on to record
-- the runner's status.
return function(T)
  local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
  return function(script, root, jobs)
    local pidf, stf, out = root .. ".pid", root .. ".status", root .. ".out"
    os.execute(string.format("sh -c '%s %s --root %s --jobs %d >%s 2>&1 & echo $! > %s; "
      .. "wait $!; echo $? > %s' >/dev/null 2>&1 &", exe, script, root, jobs, out, pidf, stf))
    return pidf, stf, out
  end
end
