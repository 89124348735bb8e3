-- wb/runner_children.lua: the runner's side of its pipe to the child
-- processes that train a task's pending runs (wb/runner.lua's phase 3; the
-- child's side is wb/runner_watch.lua).
local _ENV = require "wb.std"
local wb, util, record = require "wb", require "wb.util", require "wb.record"
local root_lock = require "wb.root_lock"

-- Why a run that never said its exit status did not run: its shell step
-- failed (no run was started, or it ended unseen), said with what the
-- shell last said, not as a raw shell line and "removed while the task
-- ran" (audit X21).
local function not_run(started, raw)
  local limit = util.low_fd_limit() -- ulimit -n 12
  return string.format("could not start: %s%s%s", started
    and "its shell step ended without the run's exit status (killed?)"
    or "the shell step that starts it failed before the run began",
    #raw > 0 and (" (the shell said: " .. raw[#raw] .. ")") or "",
    limit and string.format("; this process may hold only %d files open (ulimit -n %d): "
      .. "too few to start a run", limit, limit) or "")
end

-- Runs `pending` in child processes, J at a time; on_done(hash, status, log,
-- first error line) for each; status nil: the run was not started (its log
-- could not be created, its shell step failed), the line says why. Children run in their
-- own session: a signal to this process
-- stops them here, and its error goes on up. A runner killed with SIGKILL
-- cannot stop them, so they watch it: its pipe (their stdout) is their fd 3
-- (WB_RUNNER_FD), and when no one reads it any more a child stops within 64
-- steps (runner_watch) and the next one does not start (exit 255 stops xargs).
return function(ex, pending, jobs, on_done, on_line)
  local logs = record.dir(ex.root) .. "/logs"
  local function log_of(h) return logs .. "/" .. ex.name .. "-" .. h .. ".log" end
  -- a folder in a log's place: that run is not started, said so. The
  -- shell's `> "$log"` printed a raw line, and the run was said to be
  -- "removed while the task ran (another runner on this root?)" (audit
  -- X21). Checked, not created: a log here is a run that started (a runner
  -- killed with SIGKILL left empty logs of runs it never began); one that
  -- cannot be written otherwise is the shell's LOGLOST, below.
  local startable = {}
  for _, s in ipairs(pending) do
    if wb.sys.kind(log_of(s.hash)) == "folder" then
      on_done(s.hash, nil, log_of(s.hash), "could not start: cannot create its log "
        .. log_of(s.hash) .. ": Is a directory")
    else
      startable[#startable + 1] = s
    end
  end
  pending = startable
  if #pending == 0 then return end
  -- a second Ctrl-C (0.01 s after the first) took the default action and
  -- killed this runner in the middle of its stop, which then said nothing
  -- of the runs done (tryI): now the first signal holds the next ones
  wb.sys.hold_after_signal(true)
  local _ <close> = setmetatable({}, {__close = function() wb.sys.hold_after_signal(false) end})
  local script, list = util.tmpname(), util.tmpname()
  util.write_file(script, table.concat({"#!/bin/sh", "h=\"$1\"", "exec 3>&1",
    "printf '%s started\\n' \"$h\" 2>/dev/null || exit 255",
    -- a log that cannot be written (a full disk) is said once, in the
    -- runner's line (LOGLOST), not as a shell's "printf: I/O error" per line
    "log=" .. util.shell_quote(logs) .. "/" .. ex.name .. "-\"$h\".log",
    -- a run with a saved training state (a kill, an interrupt) resumes: its
    -- log goes on after the earlier attempt's lines (it began at the resumed
    -- epoch); otherwise it is begun anew. not `:`: its failed redirection ends sh
    "state=" .. util.shell_quote(record.dir(ex.root)) .. "/" .. ex.name
    .. "-\"$h\".state.safetensors",
    "lost=; if [ -f \"$state\" ]; then printf -- '---- %s\\n' 'started again: it resumes from "
    .. "its saved state where it can (the lines above are the earlier attempt'\\''s)' "
    .. "2>/dev/null >> \"$log\" || lost=1; else true 2>/dev/null > \"$log\" || lost=1; fi",
    -- WB_LOCK_PARENT: this runner holds the root's lock for its children
    -- (wb/root_lock.lua): their --run does not take it
    -- WB_CONCURRENT_JOBS: how many train at once, recorded with each (wb/train.lua)
    "( export OPENBLAS_NUM_THREADS=1 WB_RUNNER_FD=3 WB_CONCURRENT_JOBS="
    .. math.min(jobs, #pending) .. " " .. root_lock.PARENT .. "='runner "
    .. wb.sys.getpid() .. "'; " .. ex.command("\"$h\"", true)
    .. " 2>&1; echo \"EXIT $?\" ) |",
    "while IFS= read -r l; do",
    "  case $l in 'EXIT '*) [ -z \"$lost\" ] || printf '%s LOGLOST\\n' \"$h\";; esac",
    "  printf '%s\\n' \"$l\" 2>/dev/null >> \"$log\" || lost=1; printf '%s %s\\n' \"$h\" \"$l\"",
    "done",
  }, "\n") .. "\n")
  local hashes, by_hash = {}, {}
  for i, s in ipairs(pending) do hashes[i] = s.hash; by_hash[s.hash] = s end
  local tty = require("wb.progress").live(2)
  util.write_file(list, table.concat(hashes, "\n") .. "\n")
  -- exec: no shell of popen's waits for setsid, to print "Terminated"
  -- when a signal stops the group (the one line the runner says was two)
  -- 2>&1: what xargs and the shells say of their own failures comes here
  -- (raw, below), said with the runs it stopped, not as stray lines
  local p = assert(io.popen(string.format("exec setsid sh -c 'echo PGID $$; exec xargs -P %d -n 1 "
    .. "sh %s 2>&1' < %s", jobs, util.shell_quote(script), util.shell_quote(list))))
  local pgid
  -- This task's own output, when a pipe (a report reads it): a report
  -- killed with SIGKILL left its task training until the run ended and its
  -- next line raised SIGPIPE; now a child's next line (an epoch's) finds
  -- the reader gone and stops them all, recording nothing.
  local watch_out = wb.sys.reader_gone(1) ~= nil
  local said, lost = {}, {} -- by hash: the lines a child said, whether its log lost some
  local started, ended, raw = {}, {}, {} -- by hash; raw: the shells' own last lines
  local function loop()
    for line in p:lines() do
      pgid = pgid or tonumber(line:match("^PGID (%d+)"))
      if watch_out and wb.sys.reader_gone(1) then
        -- one line, as a signal's stop (wb/runner_stop.lua): it came with a traceback, and
        -- "no record written" read as if the runs finished before were lost too (tryX 4)
        error(wb.spec.input_error(string.format("[%s] no one reads this task's output any "
          .. "more (its reader ended: a report killed, or `| head`): the runs training are "
          .. "stopped, unrecorded; finished runs stay recorded, and a stopped run resumes from "
          .. "its last saved epoch where it can: run the same command again to continue",
          ex.name)), 0)
      end
      local h, rest = line:match("^(%x+) (.*)$")
      if h and not by_hash[h] then h, rest = nil, nil end -- a shell's line that looks like one
      if not h and not line:match("^PGID %d+$") then
        raw[#raw + 1] = line
        if #raw > 5 then table.remove(raw, 1) end
      end
      local code = rest and rest:match("^EXIT (%d+)$")
      if rest == "started" then started[h] = true end
      if code then ended[h] = true end
      -- the child's last lines, as its log has them; not the shell's marker
      -- "started" (a failure without a "workbench:" line was said as `started`)
      if h and rest ~= "LOGLOST" and rest ~= "started" then
        said[h] = said[h] or {}
        table.insert(said[h], rest)
        if #said[h] > 200 then table.remove(said[h], 1) end
      end
      if rest == "LOGLOST" then lost[h] = true
      elseif code then
        -- its error from what it said here: its log may not hold it (a full disk)
        local log = log_of(h)
        on_done(h, tonumber(code), log .. (lost[h] and ", not written whole: "
          .. "no space left on its disk?" or ""), util.first_error_of(table.concat(said[h], "\n")))
        said[h] = nil
      elseif rest and rest:match("^warning: ") and by_hash[h] then
        -- a child's warning (a measure's NaN) is this terminal's too, not
        -- only its log's: which run said it
        io.stderr:write(string.format("%s[%s] %s seed %d (run %s): %s\n", tty and "\r\27[K"
          or "", ex.name, by_hash[h].variant, by_hash[h].seed, h, rest))
      elseif rest and rest:find("^%[[^%]]*%] run %x+ %b(): not measured on the recorded "
          .. "training ") then
        -- why it trained rather than measured again (wb/train_donor.lua): the plan said
        -- "measured on it", and only the child could find it would not be exact
        io.stderr:write((tty and "\r\27[K" or "") .. rest .. "\n")
      elseif rest then on_line(h, rest) end
      -- a signal whose error a pcall in on_done caught (reading a record
      -- decodes JSON under one) still stops the task
      wb.sys.check_interrupt()
    end
  end
  -- a signal's hook may raise after the first error too: both are caught
  local ok, err = pcall(function()
    local ok2, err2 = pcall(loop)
    if not ok2 then error(err2, 0) end
  end)
  if not ok then
    -- and waits for the group to be gone: xargs ends at once, a child at
    -- its next step, so the task once ended first
    -- xargs first, then reaped (p:close): as a zombie it kept the group
    -- alive to stop_group's check, which waited its 10 s while the children
    -- had long stopped and this runner held the task's lock (audit N4)
    if pgid then os.execute(string.format("kill -TERM -%d 2>/dev/null", pgid)) end
    pcall(p.close, p)
    -- said when it comes to that (that wait once ran out every time, unseen)
    if pgid and util.stop_group(pgid, 10) then
      io.stderr:write(string.format("[%s] its runs did not stop within 10 s of the signal: "
        .. "killed (SIGKILL; a run resumes from its last saved epoch)\n", ex.name))
    end
    os.remove(script); os.remove(list)
    error(err, 0)
  end
  p:close()
  os.remove(script); os.remove(list)
  local missed = false
  for _, s in ipairs(pending) do
    if not ended[s.hash] then
      missed = true
      on_done(s.hash, nil, log_of(s.hash), not_run(started[s.hash], raw))
    end
  end
  -- every run said its status: a shell's line is not lost, nor taken for a run's failure
  if not missed then
    for _, l in ipairs(raw) do io.stderr:write(string.format("[%s] %s\n", ex.name, l)) end
  end
end
