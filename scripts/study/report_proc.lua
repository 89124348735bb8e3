-- study/report_proc.lua: report.lua's processes and its lock on a root.
--
-- Not a task runner (that is wb/runner.lua): only what the report needs to
-- run whole tasks as children so that a signal to the report stops them,
-- and to keep two reports off one REPORT.md.
local util = require "wb.util"

local M = {}

-- The task options the report takes (and passes on), --help aside.
M.OPTIONS = {"--dataset", "--seeds", "--epochs", "--quick", "--jobs", "--fresh", "--root",
  "--help"}

M.USAGE = "usage: workbench scripts/report.lua [--dataset mnist|fashion] [--seeds N] "
  .. "[--epochs N] [--quick] [--jobs N] [--fresh] [--root DIR] [task names...]\n"
  .. "Runs each task (default: all) as its own process and gathers their READMEs into "
  .. "<root>/REPORT.md.\n"

-- --help: the usage, then the options as a task's --help says them (the
-- report passes each on to every task), and the report's own defaults:
-- `tasks` (its list) and `own_seeds` (the tasks that keep their seeds).
function M.help(tasks, own_seeds)
  local keep = {}
  for _, t in ipairs(tasks) do
    if own_seeds[t] then keep[#keep + 1] = t:match("^task(%w+)_") or t end
  end
  return M.USAGE .. wb.runner.help_text(M.OPTIONS) .. string.format("The report's own "
    .. "defaults: --seeds 5 (tasks %s keep their own seeds); all %d tasks unless task names "
    .. "are given; with --dataset fashion, REPORT.md and the tasks' folders go under "
    .. "<root>/fashion.\n", table.concat(keep, ", "), #tasks)
end

-- Why the report's command line is not one to run (exit 64), or nil; said
-- before anything runs. The task options the report does not pass on were
-- once dropped without a word (--run HASH made a whole report, --help
-- trained), and an unknown task was run (and failed) only after the tasks
-- before it had trained.
-- " (did you mean 'task05_dropout'?)" for task5_dropout or dropout: the task
-- script nearest by edit distance, else the one whose name holds t; "" when
-- none or several do.
function M.task_hint(t, script_dir)
  local names = {}
  for _, f in ipairs(wb.sys.listdir(script_dir)) do
    local n = f:match("^(task[%w_%-]*)%.lua$")
    if n then names[#names + 1] = n end
  end
  table.sort(names)
  local near = wb.spec.nearest(t, names)
  if not near then
    local holding = {}
    for _, n in ipairs(names) do
      if n:find(t, 1, true) then holding[#holding + 1] = n end
    end
    near = #holding == 1 and holding[1] or nil
  end
  return near and (" (did you mean '" .. near .. "'?)") or ""
end

function M.check_args(opts, tasks, script_dir)
  for _, k in ipairs{"run", "list_runs", "cockpit", "slurm", "sbatch", "detach", "gather"} do
    if opts[k] then
      return string.format("option --%s is a task's option, not the report's: run the task "
        .. "itself with it (the report takes %s)", (k:gsub("_", "-")),
        table.concat(M.OPTIONS, ", ", 1, #M.OPTIONS - 1))
    end
  end
  local named = {}
  for _, t in ipairs(tasks) do
    if named[t] then return "task " .. t .. " named twice: name it once" end
    named[t] = true
    if not t:match("^[%w_%-]+$") or not wb.sys.exists(script_dir .. "/" .. t .. ".lua") then
      return string.format("unknown task '%s': no %s/%s.lua%s (a task is a script's name "
        .. "without .lua, e.g. task01_predictions)", t, script_dir, t,
        M.task_hint(t, script_dir))
    end
  end
end

-- Runs shell command cmd in a session of its own and calls on_line(line)
-- for each line of its output; returns os.execute's three values for it.
-- Why a session of its own, read through a pipe: os.execute (system(3))
-- ignores SIGINT and holds a SIGTERM until its command ends, so a report
-- sent either kept its task training (with its trainers) to the end. Here
-- the signal raises in the read (no SA_RESTART), the whole group (the task,
-- its xargs and shells) gets SIGTERM and is waited for, and the error goes
-- on up (130 / 143). A terminal's Ctrl-C reaches only the report, which
-- stops the task the same way.
function M.each_line(cmd, on_line)
  local p = assert(io.popen("setsid sh -c " .. util.shell_quote("echo PGID $$; " .. cmd)))
  local pgid
  local ok, err = pcall(function()
    local ok2, err2 = pcall(function()
      for line in p:lines() do
        if not pgid then pgid = tonumber(line:match("^PGID (%d+)$"))
        else on_line(line) end
        wb.sys.check_interrupt()
      end
    end)
    if not ok2 then error(err2, 0) end -- a hook may raise once more: caught here too
  end)
  if not ok then
    -- then waits for the whole group (the task waits up to 10 s for its own
    -- trainers: wb/runner_children.lua), not only for its shell: 30 s
    if pgid then util.stop_group(pgid, 30) end
    pcall(p.close, p)
    wb.sys.check_interrupt() -- the signal's error, rather than EINTR's text
    error(err, 0)
  end
  return p:close()
end

-- The line of a task's output that says why it failed: the top level's
-- error ("workbench: ..."), else a run's "FAILED", else the last line.
function M.why(lines)
  for _, l in ipairs(lines) do
    if l:match("^workbench: ") then return (l:gsub("^workbench: ", "")) end
  end
  for _, l in ipairs(lines) do
    if l:find("FAILED", 1, true) then return l end
  end
  return lines[#lines] or "no output"
end

-- {==================== the lock ====================
-- <dir>/.report.lock, a folder (mkdir is atomic) holding the owner's pid.
-- Two reports on one root at once each gathered READMEs the other's tasks
-- were rewriting (other seeds or options), so the second refuses, naming
-- the first. A lock whose pid is gone (a report killed with SIGKILL) is
-- taken over: renamed aside first, which only one taker can do.

local function mkdir(path)
  return os.execute("mkdir " .. util.shell_quote(path) .. " 2>/dev/null") == true
end

-- Takes the lock of dir; returns a handle whose __close (or :release())
-- removes it, or nil and the pid of the report holding it.
function M.lock(dir)
  local path = dir .. "/.report.lock"
  for _ = 1, 3 do
    if mkdir(path) then
      util.write_file(path .. "/pid", tostring(wb.sys.getpid()) .. "\n")
      local h = {}
      function h.release()
        if h.done then return end
        h.done = true
        os.remove(path .. "/pid")
        os.remove(path)
      end
      return setmetatable(h, {__close = h.release})
    end
    local pid = tonumber((util.read_file(path .. "/pid") or ""):match("%d+"))
    -- no pid yet: its owner is between mkdir and writing it
    if pid == nil then
      os.execute("sleep 0.2")
      pid = tonumber((util.read_file(path .. "/pid") or ""):match("%d+"))
    end
    if pid and util.pid_alive(pid) then return nil, pid end
    local aside = string.format("%s.stale.%d", path, wb.sys.getpid())
    if os.rename(path, aside) then
      os.remove(aside .. "/pid")
      os.remove(aside)
    end
  end
  return nil, "unknown"
end

-- }====================

---proc.seeds_text(recs, tasks, own_seeds) -> string
---The report's "Seeds:": those of the runs given --seeds, then, apart, each
---task's that keeps its own (own_seeds[task]): task 11's three seeds are not
---the claims' ("1 (tasks with their own seeds: task11_cockpit 1, 2, 3)").
---Example: print(proc.seeds_text(recs, {"t1", "t11"}, {t11 = true}))
function M.seeds_text(recs, tasks, own_seeds)
  local function seeds(keep)
    local set, list = {}, {}
    for _, r in ipairs(recs) do
      if keep(r.task) and not set[r.seed] then set[r.seed] = true; list[#list + 1] = r.seed end
    end
    table.sort(list)
    return table.concat(list, ", ")
  end
  local own = {}
  for _, t in ipairs(tasks) do
    local s = own_seeds[t] and seeds(function(x) return x == t end) or ""
    if s ~= "" then own[#own + 1] = t .. " " .. s end
  end
  -- only tasks with their own seeds run (a report of task 12 alone): no
  -- empty "Seeds:  (tasks with ...)"
  local shared = seeds(function(t) return not own_seeds[t] end)
  if shared == "" then return #own > 0 and table.concat(own, "; ") or "none" end
  return shared .. (#own > 0 and " (tasks with their own seeds: " .. table.concat(own, "; ")
    .. ")" or "")
end

return M
