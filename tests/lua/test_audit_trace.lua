-- test_audit_trace.lua: every number traceable and never stale. A recorded
-- run is reused only while it is what the script asks for now, and what
-- made it (threads, environment, commit and whether the tree had edits)
-- is what its record and README say.
local T = dofile("tests/lua/harness.lua")
local q = T.quote
local dir = T.tmpdir()

local function write(path, s)
  local fh = assert(io.open(path, "wb"))
  fh:write(s)
  fh:close()
end

-- Runs Lua source src as a script in dir with shell environment env;
-- returns T.sh's status, stdout, stderr.
local function wb_script(name, src, env, args)
  write(dir .. "/" .. name, src)
  return T.sh(string.format("cd %s && env -u OPENBLAS_NUM_THREADS -u GOTO_NUM_THREADS "
    .. "-u OMP_NUM_THREADS %s %s %s %s", q(dir), env or "", q(os.getenv("PWD") .. "/" .. T.wb),
    q(name), args or ""))
end

T.test("a run trains on one BLAS thread whatever $OPENBLAS_NUM_THREADS says", function()
  -- ex:run() in a shell that set it trained on 2 threads, and its record
  -- (other sums, other numbers) was reused as this hash's by the task
  local st, out, err = wb_script("threads.lua", [[
local ex = wb.experiment.new({base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 50}}, seeds = {1},
  measure = function() return {blas = wb.sys.blas_threads()} end},
  {name = "threads", root = arg[1]})
local rs = ex:run{verbose = false}
print(string.format("%g %g", rs[1].measures.blas, wb.sys.blas_threads()))
]], "OPENBLAS_NUM_THREADS=2", q(dir .. "/p_threads"))
  T.eq(st, 0, err)
  T.eq(out, "1 2\n", "trained on 1 thread, the process's 2 restored after")
end)

T.done()
