-- test_audit_report.lua - scripts/report.lua broken the way a researcher
-- breaks it (the report audit): bad command lines are refused before any
-- task runs, a failing task is named in REPORT.md with why, two reports on
-- one root do not both write it, and a signal to the report stops its task
-- and that task's trainers. Each finding's test fails without its fix.
--
-- report.lua runs the tasks named on its command line from its own folder:
-- a copy beside tasks of ours (a few hundred rows, one epoch), with the
-- study's modules, as test_trust_report.lua does.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.report_sandbox()
local here = os.getenv("PWD")
-- t1: one run; fails when loaded with T1_FAIL, in its report with T1_REPORT_FAIL
util.write_file(dir .. "/t1.lua", [[
if os.getenv("T1_FAIL") then error("t1: planned failure") end
return wb.task{name = "t1", title = "T1",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    seeds = {1}},
  report = function(task, runs)
    if os.getenv("T1_REPORT_FAIL") then error("t1: planned failure in its report") end
    local nap = os.getenv("T1_REPORT_SLEEP")
    if nap then os.execute("sleep " .. nap) end
    task:text(runs:table{"test_accuracy"})
  end}
]])
-- slow: one run of $SLOW_EPOCHS epochs (thousands: it trains while signalled)
util.write_file(dir .. "/slow.lua", [[
return wb.task{name = "slow", title = "Slow",
  experiment = {base = {hidden = 8, epochs = tonumber(os.getenv("SLOW_EPOCHS") or "1"),
    subset = {train = 300, test = 100}}, seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

local wbx = T.wb:sub(1, 1) == "/" and T.wb or (here .. "/" .. T.wb) -- run from dir
local function report(root, args, env)
  return T.sh(string.format("cd %s && %s WB_ECHO=0 %s report.lua --root %s %s", dir,
    env or "", wbx, root, args))
end

-- {==================== the command line ====================

T.test("bad command lines are refused (64) before any task runs, naming what", function()
  local root = dir .. "/usage"
  local cases = {
    {"--seeds 1 t1 nosuch", "unknown task 'nosuch'"},
    {"--seeds 1 t1 t1", "task t1 named twice"},
    {"--run abcdef t1", "option --run is a task's option, not the report's"},
    {"--gather /tmp t1", "option --gather is a task's option"},
    {"--list-runs t1", "option --list-runs is a task's option"},
    {"--slurm t1", "option --slurm is a task's option"},
    {"--seeds 0 t1", "option --seeds expects an integer from 1 to 1000, got '0'"},
    {"--jobs -1 t1", "option --jobs expects an integer from 1 to 256, got '-1'"},
    {"--bogus t1", "unknown option --bogus"},
  }
  for _, c in ipairs(cases) do
    local st, _, err = report(root, c[1])
    T.eq(st, 64, c[1] .. ": " .. err)
    T.ok(err:find(c[2], 1, true), c[1] .. ": " .. err)
    T.ok(not err:find("== t1", 1, true), c[1] .. ": no task ran: " .. err)
    T.ok(not wb.sys.exists(root .. "/runs"), c[1] .. ": nothing trained")
  end
  -- --help says what the report takes, and runs nothing
  local st, out, err = report(root, "--help t1")
  T.eq(st, 0, err)
  T.ok(out:find("usage: workbench scripts/report.lua", 1, true), out)
  T.ok(not wb.sys.exists(root), "--help trained nothing")
end)

T.test("a root that is a file is one line (73) before any task runs", function()
  util.write_file(dir .. "/afile", "x")
  for _, r in ipairs{dir .. "/afile", dir .. "/afile/sub"} do
    local st, _, err = report(r, "--seeds 1 t1")
    T.eq(st, 73, err)
    T.ok(err:find("report: --root " .. r .. ": cannot write the report's folder", 1, true), err)
    T.ok(not err:find("traceback", 1, true) and not err:find("== t1", 1, true), err)
  end
end)

-- }====================

-- {==================== failing tasks ====================

T.test("REPORT.md says why a task failed, even when it made no folder", function()
  -- a fresh root the failing task never created: REPORT.md's write raised
  local root = dir .. "/fail/deep"
  local st, _, err = report(root, "--seeds 1 t1", "T1_FAIL=1")
  T.eq(st, 1, err)
  local md = util.read_file(root .. "/REPORT.md") or ""
  T.ok(md:find("**Failed tasks:** t1", 1, true), md)
  T.ok(md:find("- t1: exit status 1: ./t1.lua:1: t1: planned failure", 1, true), md)
  T.ok(md:find("*No README: the task failed (exit status 1:", 1, true), md)
  -- a task every run of which is recorded fails in its report (run side by side)
  T.eq((report(root, "--seeds 1 t1")), 0)
  local st2, _, err2 = report(root, "--seeds 1 t1", "T1_REPORT_FAIL=1")
  T.eq(st2, 1, err2)
  T.ok(err2:find("== t1 (every run recorded)", 1, true), err2)
  T.ok(err2:find("planned failure in its report", 1, true), "its error is shown: " .. err2)
  md = util.read_file(root .. "/REPORT.md") or ""
  T.ok(md:find("- t1: exit status 1: ./t1.lua:6: t1: planned failure in its report",
    1, true), md)
end)

T.test("a torn record is said, then retrained, and the report is whole", function()
  local root = dir .. "/torn"
  T.eq((report(root, "--seeds 1 t1")), 0)
  local names = wb.sys.listdir(root .. "/runs")
  local rec
  for _, n in ipairs(names) do if n:match("^t1%-%x+%.json$") then rec = n end end
  T.ok(rec, table.concat(names, " "))
  local path = root .. "/runs/" .. rec
  util.write_file(path, util.read_file(path):sub(1, 100))
  local st, _, err = report(root, "--seeds 1 t1")
  T.eq(st, 0, err)
  T.ok(err:find("[t1] run " .. rec:match("%-(%x+)%.") .. ": " .. path .. " is not valid JSON: "
    .. "retraining", 1, true), err)
  -- retrained in the first phase (shown as it trains), not run side by side
  T.ok(err:find("== t1\n", 1, true), err)
  T.ok(util.read_json(path), "the record is whole again")
  T.ok((util.read_file(root .. "/REPORT.md") or ""):find("| t1 | base | 1 |", 1, true))
end)

-- }====================

-- {==================== one report at a time ====================

T.test("a second report on a root refuses (73), naming the first; a dead one's lock "
  .. "is taken over", function()
  local root = dir .. "/lock"
  wb.sys.mkdir_p(root .. "/.report.lock")
  -- a live report: this process
  util.write_file(root .. "/.report.lock/pid", wb.sys.getpid() .. "\n")
  local st, _, err = report(root, "--seeds 1 t1")
  T.eq(st, 73, err)
  T.ok(err:find(string.format("another report (pid %d) is running on %s", wb.sys.getpid(),
    root), 1, true), err)
  T.ok(not wb.sys.exists(root .. "/runs"), "nothing trained")
  T.ok(not wb.sys.exists(root .. "/REPORT.md"), "no REPORT.md")
  -- a report killed with SIGKILL: its pid is gone
  local _, out = T.sh("sh -c 'echo $$'")
  util.write_file(root .. "/.report.lock/pid", out)
  st, _, err = report(root, "--seeds 1 t1")
  T.eq(st, 0, err)
  T.ok(wb.sys.exists(root .. "/REPORT.md"), "the report ran")
  T.ok(not wb.sys.exists(root .. "/.report.lock"), "and left no lock")
end)

-- }====================

-- {==================== signals ====================

-- Processes whose command line names root (the report, its task, trainers).
local function procs(root)
  local _, out = T.sh("ps -eo pid,args | grep -F -- " .. util.shell_quote(root)
    .. " | grep -v grep")
  return out
end

-- The number of processes whose command line holds `text`.
local function running(text)
  local _, out = T.sh("ps -eo args | grep -F -- " .. util.shell_quote(text) .. " | grep -cv grep")
  return tonumber(out) or 0
end

-- Every wait below is for an event, bounded (10 minutes) and named.
local LONG = 600

T.test("SIGTERM to the report stops its task and trainers (143); the next report runs",
  function()
  local root = dir .. "/sig"
  local pidf, rcf = dir .. "/sig.pid", dir .. "/sig.rc"
  -- the report alone gets the signal (not its process group, as a terminal's
  -- Ctrl-C would send): os.execute held it while the task trained on
  T.eq(os.execute(string.format("cd %s && (SLOW_EPOCHS=3000 WB_ECHO=0 %s report.lua --root "
    .. "%s --seeds 1 slow >%s/sig.out 2>&1 & echo $! >%s; wait $!; echo $? >%s) "
    .. ">/dev/null 2>&1 &", dir, wbx, root, dir, pidf, rcf)), true)
  -- until the trainer runs (its command names the run: --run HASH), or the
  -- report has ended (then the status below says why)
  T.wait_until("a trainer of " .. root, LONG, function()
    return running(root .. " --run") > 0 or T.wait_status(rcf, 0)
  end)
  local pid = T.wait_line(pidf, LONG):match("%d+")
  T.eq(os.execute("kill -TERM " .. pid), true)
  local st = T.wait_status(rcf, LONG)
  local out = util.read_file(dir .. "/sig.out")
  T.eq(st, 143, out)
  T.eq(procs(root), "", "nothing left running")
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    T.ok(not n:match("%.json$"), "the run was stopped, not finished: " .. n)
  end
  T.ok(not wb.sys.exists(root .. "/REPORT.md"), "no REPORT.md from a stopped report")
  T.ok(not wb.sys.exists(root .. "/.report.lock"), "no lock left")
  local st, _, err = report(root, "--seeds 1 slow", "SLOW_EPOCHS=1")
  T.eq(st, 0, err)
end)

T.test("a task stopped by SIGTERM ends after its trainers, not before", function()
  -- a report that waits for its task then ends with no trainer left; the
  -- runner waited only for xargs, and its trainers stopped a moment later
  -- (a trainer writing an epoch's state as the signal came: without the fix
  -- this failed in 2 of 7 runs, as a race does)
  local root = dir .. "/stopped" -- a name no other command line here holds
  local pidf, rcf, leftf = dir .. "/sig3.pid", dir .. "/sig3.rc", dir .. "/sig3.left"
  -- what is left is listed the moment the task has ended, by the shell that waited
  T.eq(os.execute(string.format("cd %s && (SLOW_EPOCHS=3000 WB_ECHO=0 %s slow.lua --root %s "
    .. "--seeds 2 >%s/sig3.out 2>&1 & echo $! >%s; wait $!; s=$?; ps -eo pid,args | grep -F "
    .. "-- %s | grep -v grep >%s; echo $s >%s) >/dev/null 2>&1 &", dir, wbx, root, dir, pidf,
    util.shell_quote(root .. " --run"), leftf, rcf)), true)
  T.wait_until("two trainers of " .. root, LONG, function()
    return running(root .. " --run") >= 2 or T.wait_status(rcf, 0)
  end)
  T.eq(os.execute("kill -TERM " .. T.wait_line(pidf, LONG):match("%d+")), true)
  T.eq(T.wait_status(rcf, LONG), 143, util.read_file(dir .. "/sig3.out"))
  T.eq(util.read_file(leftf), "", "no trainer left when the task had ended")
end)

T.test("SIGKILL to the report: its task stops its trainers at their next epoch", function()
  -- the task trained on until its run ended (3000 epochs) and wrote its
  -- record, its next line then raising SIGPIPE; the report knew nothing of it
  local root = dir .. "/killed"
  local pidf = dir .. "/sig4.pid"
  T.eq(os.execute(string.format("cd %s && (SLOW_EPOCHS=3000 WB_ECHO=0 %s report.lua --root "
    .. "%s --seeds 1 slow >%s/sig4.out 2>&1 & echo $! >%s) >/dev/null 2>&1", dir, wbx, root,
    dir, pidf)), true)
  T.wait_until("a trainer of " .. root, LONG, function() return running(root .. " --run") > 0 end)
  T.eq(os.execute("kill -KILL " .. T.wait_line(pidf, LONG):match("%d+")), true)
  -- the trainer stops at its next epoch (3000 epochs: it would train on for minutes)
  T.wait_until("no process of " .. root .. " left", LONG, function()
    return running(root) == 0
  end)
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    T.ok(not n:match("%.json$"), "the run was stopped, not finished: " .. n)
  end
end)

T.test("SIGINT to the report while tasks with every run recorded draw stops them (130)",
  function()
  local root = dir .. "/sig2"
  local pidf, rcf = dir .. "/sig2.pid", dir .. "/sig2.rc"
  T.eq((report(root, "--seeds 1 t1")), 0)
  os.remove(root .. "/t1/README.md")
  -- t1's report sleeps this long: a length of this test's own, as another
  -- clone's suite may run the same test at the same time
  local nap = T.sleep_mark(61)
  local function napping() return os.execute("ps -eo args | grep -qx 'sleep " .. nap .. "'") end
  T.eq(os.execute(string.format("cd %s && (T1_REPORT_SLEEP=%s WB_ECHO=0 %s report.lua --root "
    .. "%s --seeds 1 t1 >%s/sig2.out 2>&1 & echo $! >%s; wait $!; echo $? >%s) "
    .. ">/dev/null 2>&1 &", dir, nap, wbx, root, dir, pidf, rcf)), true)
  -- until t1's report sleeps (it draws in the second phase: every run recorded)
  T.wait_until("t1's report to sleep", LONG, function()
    return napping() or T.wait_status(rcf, 0)
  end)
  -- a backgrounded shell job ignores SIGINT: the report's handler is its own
  T.eq(os.execute("kill -INT " .. T.wait_line(pidf, LONG):match("%d+")), true)
  local st = T.wait_status(rcf, LONG)
  local out = util.read_file(dir .. "/sig2.out")
  T.eq(st, 130, out)
  T.ok(out:find("== t1 (every run recorded)", 1, true), out)
  T.eq(procs(root), "", "nothing left running")
  T.ok(not napping(), "not even its sleep")
  -- the task was stopped, not left to finish after the report had gone
  T.ok(not wb.sys.exists(root .. "/t1/README.md"), "t1 did not finish: " .. out)
end)

-- }====================

T.done()
