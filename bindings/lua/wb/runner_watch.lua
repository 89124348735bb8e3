-- wb/runner_watch.lua: a child run's side of the runner's pipe. The runner
-- (wb/runner.lua, run_children) hands each child its output pipe as fd 3
-- (WB_RUNNER_FD); a runner killed with SIGKILL leaves no other trace (its
-- pid may be a zombie's or reused), so a child that finds no one reading
-- that pipe any more stops itself instead of training for no one.
local wb = require "wb"

-- In a child the runner started (WB_RUNNER_FD: run_children), a function
-- that ends this process, recording nothing, once the runner is gone (no one
-- reads its pipe); it checks at once too. Elsewhere, one that does nothing.
-- Called between epochs: a checkpoint is written after them, so a rerun
-- resumes from the last one as after any kill.
local function runner_watch()
  local fd = math.tointeger(tonumber(os.getenv("WB_RUNNER_FD") or ""))
  if not fd or wb.sys.reader_gone(fd) == nil then return function() end end
  local function check()
    if wb.sys.reader_gone(fd) then
      io.stderr:write("the runner is gone (killed?): stopping, no record written\n")
      os.exit(129, false) -- as a hang-up would; no finalizer runs
    end
  end
  check()
  return check
end

return runner_watch
