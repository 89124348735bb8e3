-- test_smallfix.lua: small fixes without a test file of their own module.
-- The Slurm batch script names the workbench commit it was written at (a
-- fake sbatch on PATH keeps the script and refuses the job: no cluster).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local function q(s) return util.shell_quote(s) end

-- {==================== the Slurm script's commit ====================

T.test("--slurm: the element script names the commit it was written at, and its edits",
    function()
  -- before: the script named its runs' list only; a script file found
  -- later (a job's Command=) could not be traced to the code that wrote it
  local bin = dir .. "/bin"
  wb.sys.mkdir_p(bin)
  local kept = dir .. "/kept.sh"
  util.write_file(bin .. "/sbatch", "#!/bin/sh\nfor a in \"$@\"; do s=$a; done\n"
    .. "cp \"$s\" " .. q(kept) .. "\necho 'sbatch: error: no cluster' >&2\nexit 1\n")
  util.write_file(bin .. "/scontrol", "#!/bin/sh\nexit 1\n")
  os.execute("chmod +x " .. q(bin) .. "/sbatch " .. q(bin) .. "/scontrol")
  local tiny = dir .. "/tiny.lua"
  util.write_file(tiny, [[
return wb.task{name = "tiny", experiment = {seeds = {1},
  base = {hidden = 4, epochs = 1, subset = {train = 200, test = 50}}}, report = function() end}
]])
  local st, _, err = T.sh("PATH=" .. q(bin) .. ":$PATH " .. q(T.wb) .. " " .. q(tiny)
    .. " --slurm --root " .. q(dir .. "/root"))
  T.eq(st, 1, err)
  T.ok(err:find("sbatch: error: no cluster", 1, true), err)
  local script = util.read_file(kept)
  T.ok(script, "sbatch was given the script")
  local line = script:match("\n(# workbench commit: [^\n]*)\n")
  T.ok(line, script)
  -- this process's view of the same tree (the test writes nothing into it)
  local c = util.git_commit()
  if not c then
    T.eq(line, "# workbench commit: unknown (not run from a git tree)")
  else
    local want = "# workbench commit: " .. util.commit_text()
      .. (#util.git_changes() == 0 and " (no uncommitted changes)" or "")
    T.eq(line, want)
    T.ok(line:find(c, 1, true), "the commit " .. c)
  end
  -- a comment: the shell runs the script's commands as before
  T.ok(script:find("\nexport OPENBLAS_NUM_THREADS=1", 1, true), script)
end)

-- }====================

T.test("a loss name in another case is that loss for fit's instruments too", function()
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(6, 4, {activation = "tanh"}), wb.nn.Dense(4, 3)}
  local x, y = wb.rand(12, 6), wb.tensor({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}, "uint8")
  -- "MSE" was passed on as given: the Hessian instruments refused "loss MSE"
  local h = m:fit(x, y, {loss = "MSE", instruments = {"hess_trace"}, every = 1, batch_size = 6,
    verbose = false, seed = 3})
  T.eq(#h.steps.hess_trace, 2, "measured at both steps")
end)

T.done()
