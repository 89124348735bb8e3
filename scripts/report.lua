-- report.lua: run the 18 tasks (or those named) and write <plots>/REPORT.md.
--
--   workbench scripts/report.lua [--dataset fashion] [--seeds N] [--quick]
--                                [--jobs N] [--fresh] [--root DIR]   (5 seeds by default)
-- Each task runs as its own process (the tasks' runs are cached, so a second
-- report retrains nothing); then the tasks' READMEs are gathered into one
-- report with a summary table of every variant. A failing task is reported
-- and the others still run; the exit status is 1 if any failed, and REPORT.md
-- names each with its exit status and error. One report at a time on a root
-- (73 for a second); a SIGINT or SIGTERM stops the task running (its
-- trainers too) and the report (130 / 143), writing no REPORT.md.
local claims = require "study.claims"
local B = require "study.beyond"
local proc = require "study.report_proc"
local notes = require "study.report_notes"
local util = require "wb.util"
local function usage(msg)
  io.stderr:write("report: ", msg, "\n")
  os.exit(64)
end
local ok_opts, opts = pcall(wb.runner.options, arg, proc.OPTIONS)
if not ok_opts then usage(tostring(opts)) end
local tasks = {"task01_predictions", "task02_custom_digit", "task03_epochs",
  "task04_early_stopping", "task05_dropout", "task06_l2", "task07_optimizers",
  "task07b_lr_grid", "task07c_tuned_optimizers",
  "task08_batch_size", "task09_activations", "task10_weights", "task11_cockpit",
  "task12_edge_of_stability", "task13_weight_spectra", "task14_noise_scale",
  "task15_landscape", "task16_keras_mnist_mlp"} -- task 15 measures task 1's baselines: after it
-- Experiments beyond the notebook's ten (issue 17): a row each in the "Beyond the study" table,
-- from the beyond.json their report step writes (study/beyond.lua), and their READMEs under their
-- own heading. Task 11, Cockpit's instruments, costs about 55 CPU-seconds (43-47 s user + 7-8 s
-- system, its 18 runs on two cores, 44-53 s wall); task 12, the edge of stability, about 40 (37 s
-- user + 3 s system, its three runs on two cores), task 14 about 25, task 15 about 60, task 16
-- about 33 a seed (the report's seeds).
local beyond = {task11_cockpit = true, task12_edge_of_stability = true,
  task13_weight_spectra = true, task14_noise_scale = true, task15_landscape = true,
  task16_keras_mnist_mlp = true}
-- Tasks that keep their own seeds (no --seeds): the learning-rate grid its
-- one seed per rate (DeepOBS's protocol); the beyond-the-study readings of
-- trajectories (12), the noise scale's batch sweep (14) and the landscape
-- (15) measure one seed, as their READMEs say: five would cost five times
-- the time budget's share for no test; Cockpit's instruments (11) run its
-- three seeds, enough for the interval its verdict reads, at 3/5 the cost
local own_seeds = {task07b_lr_grid = true, task11_cockpit = true,
  task12_edge_of_stability = true, task14_noise_scale = true, task15_landscape = true}
if opts.help then io.stdout:write(proc.help(tasks, own_seeds)); os.exit(0) end
-- five seeds unless told: enough for the intervals to decide most parts
opts.seeds = opts.seeds or 5
if opts.rest[1] then tasks = opts.rest end
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
local bad = proc.check_args(opts, tasks, script_dir)
if bad then usage(bad) end

local function q(s)
  s = tostring(s)
  if s:match("^[%w%./_%-=:,+]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
local root = wb.runner.root_of(opts)
local out_dir = opts.dataset == "fashion" and root .. "/fashion" or root
-- The root can be written, before any task runs (73, one line): a root that
-- is a file failed every task, then REPORT.md's write raised a traceback.
do
  local ok, err = pcall(function()
    wb.sys.mkdir_p(out_dir)
    local probe = string.format("%s/.report-probe-%d", out_dir, wb.sys.getpid())
    wb.sys.write_atomic(probe, "")
    os.remove(probe)
  end)
  if not ok then
    io.stderr:write(string.format("report: %s: cannot write the report's folder %s: %s\n",
      opts.root and ("--root " .. opts.root) or ("the root " .. root), out_dir,
      (tostring(wb.is_error(err) and err.message or err):gsub("^[^:]*%.lua:%d+: ", ""))))
    os.exit(73)
  end
end
-- One report at a time on a root (study/report_proc.lua says why).
local lock <close>, holder = proc.lock(out_dir)
if not lock then
  io.stderr:write(string.format("report: another report (pid %s) is running on %s; wait for "
    .. "it, or remove %s/.report.lock if no such report runs\n", holder, out_dir, out_dir))
  os.exit(73)
end
-- os.exit skips __close: the lock goes first
local function finish(code)
  lock.release()
  os.exit(code)
end
-- A task's command line (its options, as a list).
-- (--root as given: a task puts its --quick runs under <root>/quick itself)
local function argv_of(t)
  local a = opts.root and {"--root", opts.root} or {}
  for _, k in ipairs{"dataset", "epochs", "jobs"} do
    if opts[k] then a[#a + 1] = "--" .. k; a[#a + 1] = tostring(opts[k]) end
  end
  if opts.quick then a[#a + 1] = "--quick" end
  if opts.fresh then a[#a + 1] = "--fresh" end
  if not own_seeds[t] then a[#a + 1] = "--seeds"; a[#a + 1] = tostring(opts.seeds) end
  return a
end

local exe = arg[-1] or "workbench"
local function command(t)
  local parts = {"WB_ECHO=0", q(exe), q(script_dir .. "/" .. t .. ".lua")}
  for _, a in ipairs(argv_of(t)) do parts[#parts + 1] = q(a) end
  return table.concat(parts, " ")
end

-- Whether every run of task t is recorded: its script is loaded here and its
-- runs planned as its own process would plan them (same options). Any doubt
-- (an error, an uncacheable hook, --fresh) says no.
local function all_recorded(t)
  if opts.fresh then return false end
  local saved = rawget(_G, "arg")
  local argv = argv_of(t)
  argv[0] = script_dir .. "/" .. t .. ".lua"
  _G.arg = argv -- the scripts that read their command line when loaded (tasks 2, 7c)
  local ok, res = pcall(function()
    local task = dofile(argv[0])
    local o = wb.runner.options(argv)
    local ex = wb.experiment.new(task.experiment, {name = task.name, options = o,
      root = root})
    for _, s in ipairs(ex.specs) do
      -- read, not only found: a torn record, an edited one (its checksum) or one
      -- without a checksum is retrained, and a task that trains runs in the
      -- first phase (with every job and its output shown)
      local r = s.cacheable and wb.record.read(wb.record.path(root, ex.name, s.hash, "json"))
      if not (r and r.checksum) then return false end
    end
    return true
  end)
  _G.arg = saved
  return ok and res == true
end

-- A task stopped by a signal stops the report: nothing is written.
local function stop_on_signal(t, how, code)
  if how == "signal" or code == 130 or code == 143 then
    io.stderr:write("report: stopped while running ", t, "\n")
    finish(how == "signal" and 128 + code or code)
  end
end

local t0, failed, timings = wb.sys.time(), {}, {}
-- Why each failed task failed ("exit status 1: <its error line>"), for
-- REPORT.md: the terminal's scrollback is not where a reader looks.
local why = {}
local function fail(t, code, lines)
  failed[#failed + 1] = t
  why[t] = string.format("exit status %s: %s", tostring(code), proc.why(lines))
end

-- Runs task t in the foreground, its output (stdout and stderr, through
-- one pipe) shown as it comes; returns ok, how, code as os.execute does.
local function run_task(t)
  local lines = {}
  local ok, how, code = proc.each_line(command(t) .. " 2>&1", function(l)
    io.stderr:write(l, "\n")
    lines[#lines + 1] = l
  end)
  return ok, how, code, lines
end

-- Tasks with runs to train run one after another, in order (a later task
-- adopts an earlier one's trainings, task 7c reads 7b's grid), each using
-- every job; then the tasks with every run recorded, which only draw their
-- figures and READMEs, run side by side, `jobs` at a time.
-- Each task's README before it runs: a task that fails before writing its
-- own leaves an earlier invocation's there (other seeds, options or code)
local before = {}
for _, t in ipairs(tasks) do
  before[t] = util.read_file(out_dir .. "/" .. t .. "/README.md")
end
local deferred = {}
for _, t in ipairs(tasks) do
  if all_recorded(t) then
    deferred[#deferred + 1] = t
  else
    io.stderr:write(string.format("== %s\n", t))
    local ts = wb.sys.time()
    local ok, how, code, lines = run_task(t)
    timings[t] = wb.sys.time() - ts
    stop_on_signal(t, how, code)
    if not ok then fail(t, code, lines) end
  end
end
if #deferred > 0 then
  -- one shell case per task, run by xargs `jobs` at a time; each prints
  -- "DONE task status start end" when it ends; its stderr goes to a file
  -- of its own, shown whole when it ends (no lines of two tasks mixed)
  local script, list = os.tmpname(), os.tmpname()
  local sh = {"#!/bin/sh", "s=$(date +%s.%N)", "case \"$1\" in"}
  for _, t in ipairs(deferred) do
    io.stderr:write(string.format("== %s (every run recorded)\n", t))
    sh[#sh + 1] = string.format("%s) %s >/dev/null 2>%s ;;", t, command(t),
      q(script .. "." .. t))
  end
  sh[#sh + 1] = "esac"
  sh[#sh + 1] = "echo \"DONE $1 $? $s $(date +%s.%N)\""
  wb.sys.write_atomic(script, table.concat(sh, "\n") .. "\n")
  wb.sys.write_atomic(list, table.concat(deferred, "\n") .. "\n")
  local stopped
  local ok, err = pcall(proc.each_line, string.format("exec xargs -P %d -n 1 sh %s < %s",
    opts.jobs or wb.sys.nproc(), q(script), q(list)), function(line)
    local t, code, from, to = line:match("^DONE (%S+) (%d+) (%S+) (%S+)")
    if t then
      local out = util.read_file(script .. "." .. t) or ""
      os.remove(script .. "." .. t)
      io.stderr:write(out)
      timings[t] = (tonumber(to) or 0) - (tonumber(from) or 0)
      -- a task stopped by a signal stops the others too (each_line's error)
      if code == "130" or code == "143" then stopped = {t, tonumber(code)}; error(out, 0) end
      local lines = {}
      for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
      if tonumber(code) ~= 0 then fail(t, code, lines) end
    end
  end)
  os.remove(script); os.remove(list)
  for _, t in ipairs(deferred) do os.remove(script .. "." .. t) end
  if stopped then stop_on_signal(stopped[1], "exit", stopped[2]) end
  if not ok then error(err, 0) end
end
local total = wb.sys.time() - t0
-- a failed task whose README is still the one it had: not this invocation's,
-- so neither it nor its runs (runs.json) nor its beyond.json are used
local stale = {}
for _, t in ipairs(failed) do
  stale[t] = util.read_file(out_dir .. "/" .. t .. "/README.md") == before[t]
end

local function duration(s)
  if s < 60 then return string.format("%.0f s", s) end
  return string.format("%d min %02d s", s // 60, math.floor(s % 60))
end
local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- {==================== REPORT.md ====================
-- Only the runs each task's README was made from (its runs.json), never
-- other records that happen to share the folder.
-- The claims and the summary table read every listed run: a run that
-- diverged is counted apart, never dropped silently.
-- A run the task could not record (its runs.json's "failed": a child that
-- failed) is counted too, as status "failed": the claims leave it out and say
-- so (a part with one is undecided, as with a diverged run), the summary's
-- seeds cell says "2 of 3 (1 failed)"; it had just made the side smaller.
local recs, listed, counted, all = {}, {}, {}, {}
for _, r in ipairs(wb.runs.load_all(wb.record.dir(root))) do all[r.task .. "-" .. r.hash] = r end
for _, t in ipairs(tasks) do
  local list = not stale[t] and read(out_dir .. "/" .. t .. "/runs.json")
  local ok, doc = pcall(require("cjson").decode, list)
  doc = ok and type(doc) == "table" and util.denull(doc) or {}
  listed[t], counted[t] = {}, {}
  for _, h in ipairs(type(doc.runs) == "table" and doc.runs or {}) do
    local r = all[t .. "-" .. h]
    if r then table.insert(listed[t], r); table.insert(counted[t], r) end
    if r and r.status == "ok" then recs[#recs + 1] = r end
  end
  for _, f in ipairs(type(doc.failed) == "table" and doc.failed or {}) do
    table.insert(counted[t], {task = t, hash = f.hash, variant = f.variant,
      seed = math.tointeger(f.seed) or f.seed, group_key = f.group_key, status = "failed",
      config = {}})
  end
end
local first = recs[1] and recs[1].config or {}
-- the seeds of every listed run: a seed that diverged or failed was run
-- all the same (the claims count it), not one fewer
local every = {}
for _, t in ipairs(tasks) do table.move(counted[t], 1, #counted[t], #every + 1, every) end
local seed_list = {proc.seeds_text(every, tasks, own_seeds)}
local cmd = {"workbench", arg[0]}
for _, a in ipairs(arg) do cmd[#cmd + 1] = q(a) end
local lines = {notes.title(opts.quick), "",
  string.format("*Produced by `%s` (workbench %s, commit %s) on %s, %s, in %s (this "
    .. "invocation; recorded runs are reused). Data: **%s**, %s. Validation: the last 10 %% "
    .. "of the training rows, held out (Keras's validation_split); the test set only gives "
    .. "the final test metrics. Seeds: %s. Every task's README below names its epochs.*",
    table.concat(cmd, " "), wb.version, util.commit_text(), wb.sys.hostname(),
    os.date("!%Y-%m-%d %H:%M UTC"), duration(total), opts.dataset or "mnist",
    first.subset and string.format("first %s training / %s test rows%s",
      first.subset.train or "all", first.subset.test or "all", opts.quick and " (--quick)" or "")
      or "full training and test sets",
    table.concat(seed_list, ", ")), ""}
-- The commits the runs were trained at: a reused run may be older than
-- this invocation's commit (its training code was the same).
local trained = {}
for _, t in ipairs(tasks) do table.move(listed[t], 1, #listed[t], #trained + 1, trained) end
local commits = wb.record.commits(trained)
if commits then
  lines[#lines + 1] = string.format("*The %d runs were trained at commit %s%s, with "
    .. "OpenBLAS's %s kernel (another kernel sums in another order: the same runs give "
    .. "other numbers, and a verdict near its threshold can move). Each run's "
    .. "record (`runs/<task>-<hash>.json`) names its config, seed, command, commit and "
    .. "kernel; `wb.runs.export_csv` lists them.*\n", #trained, commits,
    notes.copies_note(trained), notes.kernels(trained))
end
if #failed > 0 then
  lines[#lines + 1] = "**Failed tasks:** " .. table.concat(failed, ", ") .. "\n"
  for _, t in ipairs(failed) do lines[#lines + 1] = why[t] and ("- " .. t .. ": " .. why[t]) end
  lines[#lines + 1] = ""
end
-- every listed run: a claim leaves out the runs that did not finish, and says so
lines[#lines + 1] = claims.claims_section(counted, opts.dataset or "mnist", opts.quick)

-- {==================== beyond the study ====================
local rows = {}
for _, t in ipairs(tasks) do
  if beyond[t] then
    local row, why = nil, "the task failed in this invocation"
    if not stale[t] then row, why = B.read(out_dir .. "/" .. t .. "/beyond.json") end
    if row then
      local function cell(x) return (x:gsub("|", "\\|"):gsub("\n", " ")) end
      rows[#rows + 1] = string.format("| %s | %s | %s | %s | **%s** | [%s](%s/README.md) |",
        cell(row.experiment), cell(row.ours), cell(row.published), cell(row.source),
        row.verdict, t, t)
    else
      io.stderr:write("report: ", why, "\n")
      rows[#rows + 1] = string.format("| %s | **no row**: %s | | | | |", t, why)
      local listed = false
      for _, f in ipairs(failed) do listed = listed or f == t end
      if not listed then failed[#failed + 1] = t end
    end
  end
end
if #rows > 0 then
  lines[#lines + 1] = "## Beyond the study\n\nExperiments the notebook did not run, each "
    .. "held against a published result: our deciding number, the published one and "
    .. "where it is published, and whether they agree. Tasks 12, 14 and 15 read one seed (their "
    .. "READMEs say why): their verdicts are readings of one run, not tests; task 11's "
    .. "rests on a 95 % confidence interval over its own three seeds, task 13's on the mean "
    .. "over the report's seeds against a published range, task 16's on a 95 % CI against "
    .. "one published run.\n"
  -- its verdicts read as firm as the claims' (whose table had the banner)
  if opts.quick then lines[#lines + 1] = claims.QUICK_BANNER .. "\n" end
  lines[#lines + 1] = "| experiment | ours | published | source | verdict | details |"
  lines[#lines + 1] = "|---|---|---|---|---|---|"
  for _, r in ipairs(rows) do lines[#lines + 1] = r end
  lines[#lines + 1] = ""
end
-- }====================

lines[#lines + 1] = "## Summary of every variant (mean ± sd over seeds)\n"
-- what a row is (tryJ: task 4's row read as early stopping's, L2's loss as the data's)
lines[#lines + 1] = "*Each row is its runs' final weights after their last epoch; the test loss "
  .. "includes the L2 penalty where there is one, as Keras's evaluate does. Task 4 trains "
  .. "nothing: its row is task 3's runs at their last epoch, and the restored weights' numbers "
  .. "are in its README and in C2. s/epoch is wall time with the validation pass, other "
  .. "runs training beside it (--jobs; make bench's are CPU seconds).*\n"
lines[#lines + 1] = "| task | variant | seeds | test accuracy | test loss | gap (val - train "
  .. "loss) | s/epoch |"
lines[#lines + 1] = "|---|---|---|---|---|---|---|"
local seeds_cell = require("wb.runs_stats").raw.seeds_cell -- "4 of 5 (1 diverged)"
for _, t in ipairs(tasks) do
  local rs = wb.runs.Runs(counted[t])
  for _, v in ipairs(rs:variants()) do
    local function col(name)
      local m, s = rs:stat(v, name)
      return wb.runs.fmt_mean_std(m, s, name, #rs:values(v, name))
    end
    lines[#lines + 1] = string.format("| %s | %s%s | %s | %s | %s | %s | %s |", t, v,
      notes.failed_flag(rs:of(v)), seeds_cell(rs:of(v)), col("test_accuracy"), col("test_loss"),
      col("gap"), col("sec_per_epoch"))
  end
end
lines[#lines + 1] = notes.summary(recs, duration)
local beyond_said = false
for _, t in ipairs(tasks) do
  if beyond[t] and not beyond_said then
    beyond_said = true
    lines[#lines + 1] = "## Beyond the study: the experiments\n\nEach one's README, with "
      .. "where ours agrees with the published result and where not.\n"
  end
  local md = not stale[t] and read(out_dir .. "/" .. t .. "/README.md")
  if stale[t] and before[t] then
    lines[#lines + 1] = "## " .. t .. "\n\n*The task failed in this invocation"
      .. (why[t] and (" (" .. why[t] .. ")") or "") .. "; the README "
      .. "in its folder is an earlier invocation's and is not used here.*\n"
  elseif md then
    md = md:gsub("^# ", "## "):gsub("\n## ", "\n### ")
    md = md:gsub("%]%(([%w_%-]+%.png)%)", "](" .. t .. "/%1)")
    lines[#lines + 1] = md
    lines[#lines + 1] = string.format("*(task time in this invocation: %s)*\n",
      duration(timings[t]))
  else
    lines[#lines + 1] = "## " .. t .. "\n\n*No README: the task failed"
      .. (why[t] and (" (" .. why[t] .. ")") or "") .. ".*\n"
  end
end
wb.sys.write_atomic(out_dir .. "/REPORT.md", table.concat(lines, "\n"))
io.stderr:write(string.format("report: wrote %s in %s\n", out_dir .. "/REPORT.md",
  duration(total)))
-- }====================
finish(#failed == 0 and 0 or 1)
