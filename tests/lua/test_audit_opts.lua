-- The task runner's options and errors as a new user meets them (audit of
-- `workbench scripts/task05_dropout.lua --quick --seeds 2 ...`): --opt=value
-- for every option that takes a value, a repeated option is an error naming
-- both values, --help says what each option does (from the one list the
-- parser reads), a bad --gather folder, a bad declaration or a wrong call
-- of wb.spec's checks is a clear message without a traceback, options that
-- would be ignored together are refused, and a killed runner's child stops
-- within a bounded number of steps, not at the end of its epoch.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local function q(s) return util.shell_quote(s) end
local TASK = "scripts/task05_dropout.lua"

-- A task's command line, run: status, stdout, stderr.
local function task(args, script)
  return T.sh(string.format("WB_ECHO=0 %s %s %s", q(T.wb), script or TASK, args))
end

local function usage(pat, argv)
  local ok, e = pcall(wb.runner.options, argv)
  T.ok(not ok, "no error for " .. table.concat(argv, " "))
  T.ok(tostring(e):find(pat, 1, true), tostring(e))
end

-- A value each option that takes one accepts (with what else it needs).
local SAMPLE = {["--dataset"] = {"fashion"}, ["--seeds"] = {"2"}, ["--epochs"] = {"2"},
  ["--jobs"] = {"3"}, ["--root"] = {"/tmp/r"}, ["--run"] = {"abc123"},
  ["--sbatch"] = {"--time=5", "--slurm"}, ["--gather"] = {"/tmp/g"}}

-- {==================== --opt=value, repeats ====================

T.test("every option that takes a value takes it after '=' too, the same", function()
  local n = 0
  for _, opt in ipairs(wb.runner.OPTIONS) do
    if opt[2] then
      local s = T.ok(SAMPLE[opt[1]], "no sample value for " .. opt[1])
      local spaced = {opt[1], s[1], table.unpack(s, 2)}
      local glued = {opt[1] .. "=" .. s[1], table.unpack(s, 2)}
      local a, b = wb.runner.options(spaced), wb.runner.options(glued)
      T.eq(util.canonical(b), util.canonical(a), opt[1])
      T.ok(a[opt.field] ~= nil, opt[1] .. " sets " .. opt.field)
      n = n + 1
    end
  end
  T.eq(n, 8, "options with a value")
  -- the value may hold '=' itself; only the first one splits
  T.eq(wb.runner.options{"--slurm", "--sbatch=--time=5"}.sbatch, "--time=5")
  usage("option --root needs a value (--root DIR)", {"--root="})
  usage("option --root needs a value, got option --quick", {"--root=--quick"})
  usage("option --quick takes no value, got '--quick=1'", {"--quick=1"})
  usage("--seeds expects an integer from 1 to 1000, got 'two'", {"--seeds=two"})
end)

T.test("--seeds=2 on a task's command line: the runs of --seeds 2", function()
  local st, a, err = task("--quick --seeds=2 --list-runs --root " .. q(dir .. "/eq"))
  T.eq(st, 0, err)
  local st2, b, err2 = task("--quick --seeds 2 --list-runs --root " .. q(dir .. "/eq"))
  T.eq(st2, 0, err2)
  T.eq(a, b)
  T.eq(select(2, a:gsub("\n", "")), 6, a) -- 3 variants x 2 seeds
  T.ok(a:find("--seeds 2 ", 1, true), a)
end)

T.test("an option given twice is an error naming it and both values", function()
  usage("option --seeds given twice (--seeds 2, then --seeds 3): give it once",
    {"--seeds", "2", "--seeds", "3"})
  usage("option --dataset given twice (--dataset fashion, then --dataset mnist)",
    {"--dataset", "fashion", "--dataset=mnist"})
  usage("option --quick given twice (--quick, then --quick)", {"--quick", "--quick"})
  usage("option --help given twice (-h, then --help)", {"-h", "--help"})
  for _, opt in ipairs(wb.runner.OPTIONS) do
    local argv = {}
    for _ = 1, 2 do
      argv[#argv + 1] = opt[1]
      if opt[2] then argv[#argv + 1] = SAMPLE[opt[1]][1] end
    end
    for i = 2, #(SAMPLE[opt[1]] or {}) do argv[#argv + 1] = SAMPLE[opt[1]][i] end
    local ok, e = pcall(wb.runner.options, argv)
    if opt.many then
      T.ok(ok, tostring(e))
      T.eq(#e[opt.field], 2, opt[1] .. " twice: both kept")
    else
      T.ok(not ok and tostring(e):find("option " .. opt[1] .. " given twice", 1, true),
        opt[1] .. ": " .. tostring(e))
    end
  end
  local st, _, err = task("--quick --dataset fashion --dataset mnist --list-runs")
  T.eq(st, 64)
  T.ok(err:find("--dataset fashion, then --dataset mnist", 1, true), err)
end)

T.test("an unknown option hints at the nearest one", function()
  usage("unknown option --seed (did you mean --seeds?)", {"--seed", "2"})
  usage("unknown option --bogus (options: --dataset", {"--bogus"})
end)

-- }====================

-- {==================== --help ====================

T.test("--help gives each option one line saying what it does, from the parser's list",
  function()
  local st, out, err = task("--help")
  T.eq(st, 0, err)
  local lines = {}
  for l in out:gmatch("[^\n]+") do
    local name, desc = l:match("^  (%-%-[%w-]+)[^\n]-  +(%S.*)$")
    if name then lines[name] = desc end
  end
  local n = 0
  for _, opt in ipairs(wb.runner.OPTIONS) do
    n = n + 1
    T.ok(lines[opt[1]], opt[1] .. " has no line in --help:\n" .. out)
    T.ok(#lines[opt[1]] > 15 and lines[opt[1]]:find(opt[3], 1, true), opt[1])
  end
  local listed = 0
  for name in pairs(lines) do
    listed = listed + 1
    -- each listed option is one the parser knows (never a name only in the help)
    local argv = {name}
    if SAMPLE[name] then argv = {name, table.unpack(SAMPLE[name])} end
    local ok, e = pcall(wb.runner.options, argv)
    T.ok(ok or not tostring(e):find("unknown option", 1, true), name .. ": " .. tostring(e))
  end
  T.eq(listed, n, "one line per option")
  T.ok(out:find("--seeds=2", 1, true), "says that '=' works: " .. out)
  -- the usage line of an error is made from the same list
  for _, opt in ipairs(wb.runner.OPTIONS) do
    T.ok(wb.runner.USAGE:find(opt[1], 1, true), opt[1] .. " not in " .. wb.runner.USAGE)
  end
  -- a task's intro says what it trains and what its arguments are: task 2's
  -- labels from file names were in the script's comments only (tryM 10)
  local st2, out2, err2 = task("--help", "scripts/task02_custom_digit.lua")
  T.eq(st2, 0, err2)
  T.ok(out2:find("A file's label is the first digit in its name", 1, true), out2)
end)

-- }====================

-- {==================== options that do not go together ====================

T.test("options that would be ignored together are refused before any work", function()
  usage("--epochs 5 with --quick: a quick run trains at most 2 epochs",
    {"--quick", "--epochs", "5"})
  T.eq(wb.runner.options{"--quick", "--epochs", "1"}.epochs, 1)
  usage("--jobs sets how many runs train at once here; --run", {"--jobs", "2", "--run", "ab"})
  usage("--list-runs trains none", {"--jobs", "2", "--list-runs"})
  usage("--run trains one run; --list-runs lists them", {"--run", "ab", "--list-runs"})
  local root = dir .. "/refused"
  local st, out, err = task("--quick --epochs 5 --root " .. q(root))
  T.eq(st, 64); T.eq(out, "")
  T.ok(err:find("at most 2 epochs", 1, true), err)
  T.ok(not wb.sys.exists(root), "nothing written")
  -- an option over what the experiment varies: 64, the message alone
  st, _, err = task("--epochs 3 --list-runs --root " .. q(root), "scripts/task08_batch_size.lua")
  T.eq(st, 64, err)
  T.ok(err:find("--epochs 3 would replace the epochs the experiment varies", 1, true), err)
  T.ok(not err:find("stack traceback", 1, true), err)
end)

-- }====================

-- {==================== clear errors, no traceback ====================

T.test("--gather with a folder that is not there: its name, exit 66, no traceback", function()
  local root = dir .. "/gather"
  local st, out, err = task("--quick --gather /nonexistent/wb --root " .. q(root))
  T.eq(st, 66, err); T.eq(out, "")
  T.ok(err:find("--gather /nonexistent/wb: No such file or directory (expected a root", 1,
    true), err)
  T.ok(not err:find("stack traceback", 1, true), err)
  -- a good folder first and a bad one second: nothing imported from either
  st, _, err = task("--quick --gather " .. q(dir) .. " --gather " .. q(TASK) .. " --root "
    .. q(root))
  T.eq(st, 66, err)
  T.ok(err:find("--gather " .. TASK .. ": Not a directory", 1, true), err)
  T.ok(not err:find("gathered from", 1, true), err)
end)

local function script(name, body)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, body)
  return path
end

T.test("a declaration error is its message alone, exit 1; a bug keeps its traceback",
  function()
  local cases = {
    {"return wb.task{name = 'k', experiment = {base = {hiden = 8}}, report = function() end}",
      "experiment.base: unknown config key 'hiden' (did you mean 'hidden'?)"},
    {"return wb.task{name = 'v', experiment = {base = {hidden = 8},\n"
      .. "  vary = {dropout = {2}}}, report = function() end}",
      ":2: v: experiment.vary.dropout: expected a number in [0, 1), got number 2"},
    {"return wb.task{name = 't', experimnt = {}}", "unknown key 'experimnt'"},
    {"return wb.task{name = 'm', report = function() end}",
      "task.experiment: expected an experiment table, got nothing (it is missing)"},
    {"return wb.task{name = 'n', experiment = {base = {epochs = 1}}}",
      "the default model (an MLP) needs 'hidden'"},
  }
  for i, c in ipairs(cases) do
    local st, out, err = T.sh(q(T.wb) .. " " .. q(script("decl" .. i, c[1])) .. " --quick")
    T.eq(st, 1, err); T.eq(out, "")
    T.ok(err:find(c[2], 1, true), err)
    T.ok(not err:find("stack traceback", 1, true), "case " .. i .. ": " .. err)
    T.eq(select(2, err:gsub("\n", "")), 1, "one line: " .. err)
  end
  -- not a declaration error: an error in the script's own code
  local st, _, err = T.sh(q(T.wb) .. " " .. q(script("bug", "local t = nil\nreturn t.x\n")))
  T.eq(st, 1)
  T.ok(err:find("stack traceback", 1, true), err)
end)

T.test("wb.spec's checks called wrongly name the argument and what was expected", function()
  T.check_error("bad argument #2 to 'wb.spec.check_task' (where: expected a string",
    wb.spec.check_task, {name = "t", experiment = {}})
  T.check_error("x: task: expected a table {name, experiment, report}, got nothing",
    wb.spec.check_task, nil, "x")
  local e = T.check_error("x: task.experiment: expected an experiment table, got nothing "
    .. "(it is missing)", wb.spec.check_task, {name = "t", report = function() end}, "x")
  T.ok(not e:find("?:", 1, true) and not e:find("nil nil", 1, true), e)
  T.check_error("bad argument #2 to 'wb.spec.check_experiment' (where: expected a string",
    wb.spec.check_experiment, {})
  T.check_error("x: experiment: expected a table, got nothing", wb.spec.check_experiment,
    nil, "x")
  T.check_error("bad argument #2 to 'wb.spec.check_fit_options'", wb.spec.check_fit_options,
    {verbose = false})
  T.check_error("x: experiment.fit_options: expected a table, got nothing",
    wb.spec.check_fit_options, nil, "x")
  T.check_error("wb.spec.nearest: bad argument #2 (candidates: expected a list",
    wb.spec.nearest, "a")
  -- the help's example is a call that passes
  local help = wb.help.text("wb.spec.check_task")
  local example = help:match("Example: ([^\n]+)")
  T.ok(example, help)
  T.ok(load(example, "=example", "t", setmetatable({wb = wb}, {__index = _G})))
  assert(load(example, "=example", "t", setmetatable({wb = wb}, {__index = _G})))()
  -- an input error reads as a string does
  local ie = wb.spec.input_error("no such folder", "ENOENT")
  T.eq(tostring(ie), "no such folder"); T.eq("x: " .. ie, "x: no such folder")
  T.ok(wb.spec.is_input_error(ie)); T.eq(wb.spec.is_input_error("x"), false)
end)

-- }====================

-- {==================== the other options, as a new user tries them ====================

-- 600 test rows, above --quick's 500: its --quick runs are other runs (a
-- task within --quick's rows and epochs runs the same under it)
local tiny = script("tiny", [[
return wb.task{name = "tiny", experiment = {seeds = {1},
  base = {hidden = 4, epochs = 1, subset = {train = 200, test = 600}}}, report = function() end}
]])

T.test("a listed command run twice says its run is recorded, not a silent success", function()
  local root = dir .. "/twice"
  local st, out, err = T.sh(q(T.wb) .. " " .. q(tiny) .. " --list-runs --root " .. q(root))
  T.eq(st, 0, err)
  local cmd = out:match("[^\n]+")
  st, _, err = T.sh(cmd)
  T.eq(st, 0, err)
  T.ok(not err:find("is recorded", 1, true), err)
  st, out, err = T.sh(cmd)
  T.eq(st, 0, err); T.eq(out, "")
  T.ok(err:find("%(base seed 1%) is recorded: nothing to train %(%-%-fresh retrains it%)"), err)
  T.ok(not err:find("epoch 1/1", 1, true), "trained again: " .. err)
end)

T.test("--run HASH listed with --quick and run without it (or back) says which", function()
  local root = dir .. "/mixed"
  local st, out, err = T.sh(q(T.wb) .. " " .. q(tiny) .. " --quick --list-runs --root " .. q(root))
  T.eq(st, 0, err)
  local hash = out:match("%-%-run (%x+)")
  st, out, err = T.sh(q(T.wb) .. " " .. q(tiny) .. " --run " .. hash .. " --root " .. q(root))
  T.eq(st, 64, err)
  T.ok(err:find("it is a run listed with --quick (its spec is in " .. root
    .. "/quick/runs): add --quick", 1, true), err)
  st, out = T.sh(q(T.wb) .. " " .. q(tiny) .. " --list-runs --root " .. q(root))
  hash = out:match("%-%-run (%x+)")
  st, _, err = T.sh(q(T.wb) .. " " .. q(tiny) .. " --quick --run " .. hash .. " --root "
    .. q(root))
  T.eq(st, 64, err)
  T.ok(err:find("it is a run listed without --quick", 1, true) and err:find("leave out --quick",
    1, true), err)
end)

T.test("a root that cannot be written: named, exit 73, no traceback, before any work",
  function()
  local bad = dir .. "/a_file"
  util.write_file(bad, "x")
  for _, args in ipairs{"--list-runs", "", "--gather " .. q(dir)} do
    local st, out, err = T.sh(q(T.wb) .. " " .. q(tiny) .. " --root " .. q(bad) .. " " .. args)
    T.eq(st, 73, args .. ": " .. err); T.eq(out, "")
    T.ok(err:find("[tiny] --root " .. bad .. ": cannot write its runs folder " .. bad
      .. "/runs: mkdir_p: " .. bad .. " exists and is not a directory", 1, true), err)
    T.ok(not err:find("stack traceback", 1, true), err)
  end
end)

T.test("--slurm: the plan line names the job array, not local jobs", function()
  local bin = dir .. "/bin"
  os.execute("mkdir -p " .. q(bin))
  util.write_file(bin .. "/sbatch", "#!/bin/sh\necho 'sbatch: error: no cluster' >&2\nexit 1\n")
  os.execute("chmod +x " .. q(bin .. "/sbatch"))
  local st, _, err = T.sh("PATH=" .. q(bin) .. ":$PATH " .. q(T.wb) .. " " .. q(tiny)
    .. " --slurm --root " .. q(dir .. "/slurm"))
  T.eq(st, 1, err)
  T.ok(err:find("[tiny] 1 run: 0 cached, 1 to train (on Slurm: job arrays)", 1, true), err)
  T.ok(err:find("sbatch: error: no cluster", 1, true), err)
end)

-- }====================

-- {==================== a killed runner's child, within steps ====================

-- One run of one long epoch (1,800 steps at batch 1); each step's hook
-- writes the step number to $WB_TEST_STEP_FILE and spins a little, so that
-- the kill lands mid-epoch (the bound is in steps; the waits are for steps).
local long = script("long_epoch", [[
return wb.task{name = "long_epoch", experiment = {seeds = {1},
  base = {hidden = 4, epochs = 2, batch_size = 1, subset = {train = 2000, test = 100}},
  callbacks = function() return {{on_train_batch_end = function(_, step)
    local f = os.getenv("WB_TEST_STEP_FILE")
    if f then wb.sys.write_atomic(f, step .. "\n") end -- never read half-written
    for _ = 1, 200000 do end
  end, get_state = function() return {} end, set_state = function() end}} end},
  report = function() end}
]])

-- The training children of the task under root, counted from /proc ("[ ]"
-- keeps the pattern from matching pgrep's own shell), as test_trust_orphans.
local function children(root)
  local _, out = T.sh("(pgrep -f -- '--root[ ]" .. root .. " --run' || true)")
  return select(2, out:gsub("%d+", ""))
end

local function reap(root)
  os.execute("for p in $(pgrep -f -- '--root[ ]" .. root .. " --run'); do kill -KILL $p; "
    .. "done 2>/dev/null")
end

local function step_of(file)
  return math.tointeger(tonumber((util.read_file(file) or ""):match("%d+") or "")) or 0
end

T.test("kill -9 of the runner: its child stops within 64 steps, mid-epoch, recording nothing",
  function()
  local root, steps = dir .. "/killed", dir .. "/steps"
  os.execute(string.format("WB_TEST_STEP_FILE=%s WB_ECHO=0 %s %s --root %s --jobs 1 "
    .. ">/dev/null 2>&1 & echo $! > %s/pid", q(steps), q(T.wb), q(long), q(root), q(dir)))
  local pid = util.read_file(dir .. "/pid"):match("%d+")
  T.wait_until("step 100 of the run", 1800, function()
    return step_of(steps) >= 100 or not util.pid_alive(pid)
  end)
  T.ok(step_of(steps) >= 100, "the run trains")
  T.eq(children(root), 1, "one run training")
  os.execute("kill -KILL " .. pid)
  -- the step once the runner is dead (its pipe closed as it became a zombie)
  T.wait_gone(pid, 600, "the runner, killed,")
  -- and its other threads: a process's files (the pipe) close when its last
  -- thread ends, which can be after its leader shows as a zombie (ci25: the
  -- step read at the zombie was 3 steps before the pipe closed, 67 > 64)
  T.wait_until("the killed runner's threads to end", 600, function()
    local ok, names = pcall(wb.sys.listdir, "/proc/" .. pid .. "/task")
    return not ok or #names <= 1
  end)
  local at_kill = step_of(steps)
  -- wait until the child is gone, or has gone on 300 steps (the old child
  -- went on to the end of its 1,800-step epoch)
  T.poll(1800, function() return children(root) == 0 or step_of(steps) >= at_kill + 300 end)
  local left, last = children(root), step_of(steps)
  reap(root)
  T.eq(left, 0, "the child stopped (it was at step " .. last .. ", killed at " .. at_kill .. ")")
  T.ok(last - at_kill <= 64, string.format("stopped %d steps after the kill",
    last - at_kill))
  T.ok(last < 1800, "mid-epoch")
  local names = wb.sys.listdir(root .. "/runs")
  for _, name in ipairs(names) do
    T.ok(not name:find("%.json$") and not name:find("%.tmp"), "left " .. name)
  end
  local log = table.concat(wb.sys.listdir(root .. "/runs/logs"), " ")
  local text = util.read_file(root .. "/runs/logs/" .. log) or ""
  local said = math.tointeger(tonumber(text:match("stopping after step (%d+)") or ""))
  T.ok(said and said % 64 == 0 and said <= last, text)
end)

-- }====================

T.done()
