-- test_audit_spec.lua: an ablation as a new researcher writes it (README
-- "Writing an ablation", "Spreading a sweep over machines", "Lab bench"),
-- tried for results that are wrong, stale, mixed or silently partial. A
-- declaration whose runs would fail in every child or train other than
-- asked is an error before anything trains; a run that fails says its own
-- error and counts in its variant's seeds cell and comparisons; a measure
-- never overwrites a metric; a callback is never dropped; quick runs and
-- other configurations are never pooled with full ones; --gather takes no
-- record without its weights; a Slurm element that finishes before sbatch
-- returns is counted, not called failed.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local q = T.quote

-- A task script in dir: name, the experiment's Lua text; returns its path.
local function script(name, experiment, report)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format("return wb.task{name = %q, experiment = {%s},\n"
    .. "  report = %s}\n", name, experiment, report
    or "function(task, runs) task:text(runs:table{'test_accuracy'}) end"))
  return path
end

local TINY = "hidden = 4, epochs = 1, subset = {train = 200, test = 100}"

-- The task at path run into root with args: status, stdout, stderr.
local function task(path, root, args, env)
  return T.sh(string.format("%s WB_ECHO=0 timeout 600 %s %s --root %s %s </dev/null",
    env or "", q(T.wb), q(path), q(root), args or ""))
end

local function records(root)
  local ok, names = pcall(wb.sys.listdir, root .. "/runs")
  local n = 0
  for _, f in ipairs(ok and names or {}) do if f:match("%.json$") then n = n + 1 end end
  return n
end

-- {==================== declarations: refused before any run ====================

local function refused(pat, ex)
  return T.check_error(pat, wb.spec.check_experiment, ex, "x.lua:1: t")
end

T.test("a seed listed twice is an error naming both places, before any run", function()
  refused("x.lua:1: t: experiment.seeds[3]: seed 1 is also seeds[1]: each seed is one run",
    {base = {hidden = 4}, seeds = {1, 2, 1}})
  -- before: two children trained one run into one record, then the report
  -- died with a traceback ("seed 1 appears twice")
  local path = script("dup", "base = {" .. TINY .. "}, seeds = {1, 1}")
  local st, _, err = task(path, dir .. "/dup")
  T.eq(st, 1, err)
  T.ok(err:find("experiment.seeds[2]: seed 1 is also seeds[1]", 1, true), err)
  T.ok(not err:find("traceback", 1, true), err)
  T.eq(records(dir .. "/dup"), 0, "nothing trained")
end)

T.test("an optimizer option its optimizer does not take: refused where it is set", function()
  -- before: every run's child failed with wb.optim.new's error, one by one
  refused("experiment.base.momentum: optimizer adam (the default): Adam: unknown option "
    .. "'momentum' (valid: lr, beta1, beta2, eps)", {base = {hidden = 4, momentum = 0.9}})
  refused("experiment.vary.rho: optimizer sgd: SGD: unknown option 'rho'",
    {base = {hidden = 4, optimizer = "sgd"}, vary = {rho = {0.9}}})
  refused("experiment.base.nesterov: optimizer adam: Adam: unknown option 'nesterov'",
    {base = {hidden = 4, nesterov = true},
    variants = {{optimizer = "sgd", momentum = 0.9}, {optimizer = "adam"}}})
  -- a value that changes nothing: nesterov without momentum is plain SGD (the
  -- variants nesterov = false and true trained the same)
  refused("optimizer sgd: SGD: nesterov = true needs a momentum > 0",
    {base = {hidden = 4, optimizer = "sgd"}, vary = {nesterov = {false, true}}})
  -- a value each check passes that the optimizer cannot hold (float32 eps)
  refused("experiment.base.eps: optimizer rmsprop: RMSprop: eps must be a finite number > 0",
    {base = {hidden = 4, optimizer = "rmsprop", eps = 1e-50}})
  -- what each optimizer takes still goes
  wb.spec.check_experiment({base = {hidden = 4}, variants = {
    {optimizer = "sgd", momentum = 0.9, nesterov = true}, {optimizer = "adamw",
    weight_decay = 0.01, beta1 = 0.8}, {optimizer = "rmsprop", rho = 0.8}, {lr = 1e-3}}}, "x")
  local path = script("mom", "base = {" .. TINY .. ", momentum = 0.9}, seeds = {1}")
  local st, _, err = task(path, dir .. "/mom")
  T.eq(st, 1, err)
  T.ok(err:find("mom.lua:1: mom: experiment.base.momentum: optimizer adam", 1, true), err)
  T.eq(records(dir .. "/mom"), 0, "nothing trained")
end)

T.test("early_stopping on a log fit will not have is refused (it would never stop)",
  function()
  -- before: the run trained every epoch, fit's warning in a log nobody reads
  refused("experiment.base.early_stopping: monitor 'val_loss' is not in fit's logs (accuracy, "
    .. "data_loss, loss, lr, reg_loss): validation = false holds no rows out",
    {base = {hidden = 4, validation = false, early_stopping = {patience = 1}}})
  refused("experiment.vary.early_stopping: monitor 'val_los' is not in fit's logs "
    .. "(accuracy, data_loss, loss, lr, reg_loss, val_accuracy, val_loss) (did you mean "
    .. "'val_loss'?)", {base = {hidden = 4}, vary = {early_stopping = {{monitor =
    "val_los"}}}})
  refused("experiment.base.early_stopping: monitor 'val_loss'", {base = {hidden = 4, early_stopping = {}},
    variants = {{validation = false}}})
  wb.spec.check_experiment({base = {hidden = 4, early_stopping = {monitor = "loss"},
    validation = false}}, "x")
  wb.spec.check_experiment({base = {hidden = 4, early_stopping = {monitor = "val_accuracy"},
    validation = "test"}}, "x")
  -- a callbacks hook may add logs of its own: then fit decides
  wb.spec.check_experiment({base = {hidden = 4, early_stopping = {monitor = "mine"}},
    callbacks = function() return {} end}, "x")
end)

T.test("a build hook's key holding a tensor, a function or NaN is refused, not a traceback",
  function()
  -- before: "Cannot serialise userdata" with a traceback, when the first spec was written
  local function ex(v)
    return {build = function() end, keys = {"extra"}, base = {extra = v}}
  end
  local want = "experiment.base.extra: expected plain data (a finite number, a string, a "
    .. "boolean or a table of them), got "
  refused(want .. "userdata", ex(wb.zeros(2)))
  refused(want .. "function", ex(print))
  refused(want .. "number ", ex(0 / 0))
  refused(want .. "number inf", ex(math.huge))
  refused(want .. "table", ex({sizes = {8, {f = print}}}))
  wb.spec.check_experiment(ex({sizes = {8, 16}, act = "relu", deep = true}), "x")
end)

-- }====================

-- {==================== runs that fail: said with their own error ====================

T.test("a run failing after its epochs is reported with its error, not a progress line",
  function()
  -- before: "FAILED (exit 1): epoch 1/1 loss 2.2410 ..." in the output and the README
  local path = script("late", "base = {" .. TINY .. "}, seeds = {1, 2},\n"
    .. "  measure = function(_, cfg) if cfg.seed == 2 then error('planned failure') end "
    .. "return {} end")
  local st, _, err = task(path, dir .. "/late")
  T.eq(st, 1, err)
  T.ok(err:find("seed 2: FAILED (exit 1): workbench: " .. path .. ":2: planned failure (log: ",
    1, true), err)
  local readme = util.read_file(dir .. "/late/late/README.md") or ""
  T.ok(readme:find("- base seed 2: `workbench: " .. path .. ":2: planned failure`", 1, true),
    readme)
end)

T.test("a measure named as a metric fails its run; never the recorded test accuracy",
  function()
  -- before: the hook's 0.99 was recorded as the run's test_accuracy
  local path = script("clash", "base = {" .. TINY .. "}, seeds = {1},\n"
    .. "  measure = function() return {test_accuracy = 0.99, mine = 1} end")
  local st, _, err = task(path, dir .. "/clash")
  T.eq(st, 1, err)
  T.ok(err:find("measure: 'test_accuracy' is a metric the run records itself "
    .. "(test_accuracy = ", 1, true), err)
  T.eq(records(dir .. "/clash"), 0, "no record with the hook's number")
  -- a run's own column: the CSV exports wrote a second 'seed' or 'status', or a 'config.lr'
  -- for runs with no lr (tryO 3)
  for _, name in ipairs{"seed", "status", "config.lr"} do
    path = script("own" .. #name, "base = {" .. TINY .. "}, seeds = {1},\n"
      .. "  measure = function() return {[\"" .. name .. "\"] = 7} end")
    st, _, err = task(path, dir .. "/own" .. #name)
    T.eq(st, 1, err)
    T.ok(err:find("measure: '" .. name .. "' is the name of a run's own column", 1, true), err)
  end
end)

T.test("runs that left no record count in the table's seeds cell and in comparisons",
  function()
  -- before: the table said "1" seed and a variant whose runs all failed had
  -- no row; the comparison called the best better on the seeds it had left
  local path = script("gone", "base = {" .. TINY .. "}, seeds = {1, 2},\n"
    .. "  vary = {dropout = {0, 0.1, 0.2}},\n  measure = function(_, cfg)\n"
    .. "    if cfg.dropout == 0.2 or (cfg.dropout == 0 and cfg.seed == 2) then "
    .. "error('planned failure') end\n    return {} end", "function(task, runs) "
    .. "task:text(runs:table{'test_accuracy', 'loss'}) end")
  local st, _, err = task(path, dir .. "/gone")
  T.eq(st, 1, err)
  local readme = util.read_file(dir .. "/gone/gone/README.md") or ""
  T.ok(readme:find("| dropout=0 | 1 of 2 (1 failed) | ", 1, true), readme)
  T.ok(readme:find("| dropout=0.1 | 2 | ", 1, true), readme)
  T.ok(readme:find("| dropout=0.2 | 0 of 2 (2 failed) | n/a | n/a |", 1, true), readme)
  -- by hand: the best variant's missing seed is a seed without a value
  local function r(v, seed, acc)
    return {hash = v .. seed, task = "t", variant = v, seed = seed, status = "ok",
      config = {seed = seed, v = v}, metrics = {test_accuracy = acc}, history = {}}
  end
  local rs = wb.runs.Runs{r("a", 1, 0.90), r("a", 2, 0.91), r("b", 1, 0.50),
    r("b", 2, 0.51), r("b", 3, 0.50)}
  T.ok(wb.compare(rs, "test_accuracy", {better = "higher"}):find("Better beyond", 1, true))
  rs.failures = {{spec = {variant = "a", seed = 3}}, {spec = {variant = "c", seed = 1}}}
  local s = wb.compare(rs, "test_accuracy", {better = "higher"})
  T.ok(s:find("Not decided: 1 of 3 seeds of a have no value", 1, true), s)
  T.ok(s:find("Seeds that did not finish have no value: c (1 of 1 seeds: 1 failed, no "
    .. "record), a (1 of 3 seeds: 1 failed, no record)", 1, true), s)
  T.ok(rs:table{"test_accuracy"}:find("| a | 2 of 3 (1 failed) |", 1, true))
end)

T.test("wb.compare on an accuracy without better: its highest is best, not its worst",
  function()
  -- before: "test_accuracy (lower is better): **b** 50.33 %", b the worse
  local function r(v, seed, acc)
    return {hash = v .. seed, task = "t", variant = v, seed = seed, status = "ok",
      config = {seed = seed, v = v}, metrics = {test_accuracy = acc, loss = acc}, history = {}}
  end
  local rs = wb.runs.Runs{r("a", 1, 0.90), r("a", 2, 0.91), r("b", 1, 0.50), r("b", 2, 0.51)}
  T.ok(wb.compare(rs, "test_accuracy"):find("(higher is better): **a**", 1, true))
  T.ok(wb.compare(rs, "test_accuracy", {better = "higher"}):find("**a**", 1, true))
  T.ok(wb.compare(rs, "loss"):find("(lower is better): **b**", 1, true)) -- as before
end)

T.test("--gather takes no record whose weights are not beside it", function()
  -- before: "2 imported", both cached, and run:model() of one failed with
  -- "cannot open" (only the records had been copied back)
  local path = script("gath", "base = {" .. TINY .. "}, seeds = {1, 2}")
  local st, _, err = task(path, dir .. "/gath_a")
  T.eq(st, 0, err)
  local from = dir .. "/gath_copy"
  wb.sys.mkdir_p(from .. "/runs")
  local kept
  for _, r in ipairs(wb.runs.find{root = dir .. "/gath_a", task = "gath"}) do
    local name = "gath-" .. r.hash
    util.write_file(from .. "/runs/" .. name .. ".json", util.read_file(dir .. "/gath_a/runs/"
      .. name .. ".json"))
    if r.seed == 1 then
      kept = r.hash
      util.write_file(from .. "/runs/" .. r.weights, util.read_file(r:weights_path()))
    end
  end
  local root = dir .. "/gath_b"
  st, _, err = task(path, root, "--gather " .. q(from))
  T.eq(st, 1, err)
  T.ok(err:find("not taken: its weights gath%-%x+%.safetensors are not beside it"), err)
  T.ok(err:find("gathered from " .. from .. "/runs: 1 imported", 1, true), err)
  T.ok(err:find("2 runs: 1 cached, 1 to train", 1, true), err)
  for _, r in ipairs(wb.runs.find{root = root, task = "gath"}) do
    T.eq(r:evaluate().accuracy, r.metrics.test_accuracy, r.hash)
  end
  -- gathered again: the record taken is counted as here, nothing trains
  st, _, err = task(path, root, "--gather " .. q(from))
  -- seed 2, trained here since, is the copy's training made again: the same results,
  -- other provenance (command, pid, timings), counted as here (a conflict, exit 1, before:
  -- audit J3)
  T.eq(st, 0, err)
  T.ok(err:find("1 imported", 1, true) == nil and err:find("2 already here (1 with other "
    .. "provenance)", 1, true) and err:find("same results as", 1, true), err)
  T.ok(err:find("2 runs: 2 cached, 0 to train", 1, true), err)
  T.ok(kept)
end)

T.test("wb.experiment's quick runs from the REPL go under <root>/quick, as a task's",
  function()
  -- before: into <root>/runs, beside the full runs wb.runs.find reads there
  local root = dir .. "/repl"
  local st, out, err = T.sh(string.format("WB_PLOTS=%s timeout 600 %s -e %s </dev/null",
    q(root), q(T.wb), q("local ex = wb.experiment({name = 'qq', base = {hidden = 4}, "
    .. "seeds = {1}}, {options = {quick = true}}); print(ex:run()[1].config.epochs)")))
  T.eq(st, 0, err)
  T.eq(tonumber(out), 2, out)
  T.eq(records(root .. "/quick"), 1)
  T.ok(not wb.sys.exists(root .. "/runs"), "nothing in the full root")
  -- a root given to wb.experiment too (tryO 2: its runs/ held the quick runs beside the full)
  local given = dir .. "/given"
  st, out, err = T.sh(string.format("timeout 600 %s -e %s </dev/null", q(T.wb),
    q("local ex = wb.experiment({name = 'qg', base = {hidden = 4}, seeds = {1}}, {root = '"
    .. given .. "', options = {quick = true}}); print(ex:run()[1].config.epochs)")))
  T.eq(st, 0, err)
  T.eq(records(given .. "/quick"), 1)
  T.ok(not wb.sys.exists(given .. "/runs"), "nothing in the full root")
end)

T.test("a callbacks hook returning one callback alone fails its run, not drops it",
  function()
  -- before: the run trained without the callback, and said nothing
  local path = script("cb1", "base = {" .. TINY .. "}, seeds = {1},\n"
    .. "  callbacks = function() return wb.callbacks.Lambda{on_epoch_end = function() end} end")
  local st, _, err = task(path, dir .. "/cb1")
  T.eq(st, 1, err)
  T.ok(err:find("cb1: callbacks: expected a list of callbacks ({cb, ...}) or nil, got a table "
    .. "that is not a list (one callback alone? return {cb})", 1, true), err)
  local ex = wb.experiment{name = "cb2", base = {hidden = 4}, callbacks = function() return 3 end}
  T.check_error("cb2: callbacks: expected a list of callbacks ({cb, ...}) or nil, got number",
    ex.callbacks)
  ex = wb.experiment{name = "cb3", base = {hidden = 4}, callbacks = function(_, m)
    return m and {wb.callbacks.Lambda{}} or nil end}
  T.eq(ex.callbacks(), nil)
  T.eq(#ex.callbacks({}, true), 1)
end)

T.test("a README names every dataset and subset its runs use, not the first's", function()
  -- before: "Data: mnist, first 200 training / 100 test rows." for both variants
  local path = script("subs", "base = {hidden = 4, epochs = 1}, seeds = {1},\n"
    .. "  vary = {subset = {{train = 200, test = 100}, {train = 300, test = 50}}}")
  local st, _, err = task(path, dir .. "/subs")
  T.eq(st, 0, err)
  local readme = util.read_file(dir .. "/subs/subs/README.md") or ""
  T.ok(readme:find("Data: mnist, first 200 training / 100 test rows; mnist, first 300 "
    .. "training / 50 test rows. Data files:", 1, true), readme)
end)

-- }====================

-- {==================== the lab bench ====================

T.test("compare_weights pools only seeds of one configuration under a label", function()
  -- before: one histogram 'base' pooling the weights of hidden = 4 and 5
  local root = dir .. "/lab"
  for _, h in ipairs{4, 5} do
    local path = script("lab1", "base = {hidden = " .. h .. ", epochs = 1, subset = {train = "
      .. "200, test = 100}}, seeds = {1}")
    local st, _, err = task(path, root)
    T.eq(st, 0, err)
  end
  local rs = wb.runs.find{root = root, task = "lab1"}
  T.eq(#rs, 2)
  local p = wb.lab.compare_weights(rs, 1)
  T.eq(#p.d.series, 2, "labelled apart, as wb.runs.find lists them")
  T.ok(p.d.series[1].label:find("^base %["), p.d.series[1].label)
  T.check_error("wb.lab.compare_weights: runs[2] (Run lab1 base [hidden=5] seed 1: test acc ",
    wb.lab.compare_weights, {rs[1], rs[2]}, 1)
  T.check_error("labelled 'base seed 1' (another group key)", wb.lab.compare_weights,
    {rs[1], rs[2]}, 1, {by = "run"})
  T.eq(#wb.lab.compare_weights(rs, 1, {by = "run"}).d.series, 2)
end)

-- }====================

-- {==================== --slurm, with a cluster that is quick ====================

-- A fake sbatch on PATH that runs every element of the array itself, to the
-- end, before it prints the job id (an idle cluster can be that quick), and
-- a squeue that finds the array gone.
local function quick_cluster()
  local bin = dir .. "/bin"
  wb.sys.mkdir_p(bin)
  util.write_file(bin .. "/sbatch", [[#!/bin/sh
for a in "$@"; do
  case "$a" in
    --array=1-*) n=${a#--array=1-} ;;
    --output=*) out=${a#--output=} ;;
  esac
  script=$a
done
i=1
while [ "$i" -le "$n" ]; do
  log=$(printf '%s' "$out" | sed "s/%A/77/; s/%a/$i/")
  SLURM_ARRAY_TASK_ID=$i SLURM_JOB_ID=7$i SLURM_ARRAY_JOB_ID=77 sh "$script" > "$log" 2>&1
  i=$((i + 1))
done
echo 77
]])
  util.write_file(bin .. "/squeue", "#!/bin/sh\nexit 0\n")
  os.execute("chmod +x " .. q(bin) .. "/sbatch " .. q(bin) .. "/squeue")
  return "PATH=" .. q(bin) .. ":$PATH"
end

T.test("--slurm: runs an element finished before sbatch returned are counted, not failed",
  function()
  -- before: the records were read after sbatch returned, so records already
  -- written looked old: every run "FAILED on Slurm job 77_i: exit 0", exit 1
  local env = quick_cluster()
  local path = script("fast", "base = {" .. TINY .. "}, seeds = {1, 2}")
  local root = dir .. "/fast"
  local st, _, err = task(path, root, "--slurm", env)
  T.eq(st, 0, err)
  T.ok(err:find("Slurm job array 77: 2 runs", 1, true), err)
  T.ok(not err:find("FAILED", 1, true), err)
  T.eq(select(2, err:gsub("test accuracy [%d.]+ %% %(Slurm job 77_%d%)", "")), 2, err)
  T.eq(records(root), 2)
  -- the same records as a local run of the same task
  local st2, _, err2 = task(path, dir .. "/fast_local")
  T.eq(st2, 0, err2)
  for _, s in ipairs(wb.runs.find{root = root, task = "fast"}) do
    local l = wb.runs.find{root = dir .. "/fast_local", task = "fast", seed = s.seed}[1]
    T.eq(l.hash, s.hash)
    T.eq(util.canonical(l.history.loss), util.canonical(s.history.loss))
    T.eq(l.metrics.test_accuracy, s.metrics.test_accuracy)
    T.eq(s.slurm.array_job, "77")
  end
end)

-- }====================

T.done()
