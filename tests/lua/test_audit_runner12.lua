-- Audit of the runner (runner12): what wb.experiment takes silently, what
-- fails only once runs start, what a record or an export leaves out. Each
-- test fails without its fix.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local q = T.quote

local function declare(spec, opts)
  spec.name = spec.name or "a"
  spec.base = spec.base or {hidden = 8, epochs = 1, subset = {train = 200, test = 50}}
  return wb.experiment(spec, {root = dir .. "/r", options = opts})
end

T.test("an unknown or mistyped experiment option is an error naming it and the valid ones",
  function()
  -- before: quik and epoch dropped without a word; full data trained for the base's epochs
  local err = T.check_error("unknown option 'epoch'", declare, {}, {quik = true, seeds = 1,
    epoch = 5})
  T.ok(err:find("did you mean 'epochs'?", 1, true), err)
  T.ok(err:find("valid: dataset, epochs, fresh, quick, seeds", 1, true), err)
  err = T.check_error("unknown option 'quik'", declare, {}, {quik = true})
  T.ok(err:find("did you mean 'quick'?", 1, true), err)
  err = T.check_error("options.seeds: expected a positive integer", declare, {}, {seeds = "2"})
  T.check_error("options.quick: expected true or false", declare, {}, {quick = 1})
  T.check_error("options.dataset: expected one of mnist, fashion", declare, {},
    {dataset = "cifar"})
  T.eq(#declare({}, {seeds = 2, quick = true}).specs, 2)
end)

T.test("a validation fraction that leaves an empty part is refused when declared", function()
  -- before: each run FAILED at its start ("validation_split 0.999 of 500 rows leaves an
  -- empty part"), exit 1 after work
  local err = T.check_error("validation = 0.999 of 500 training rows leaves no rows to train on",
    declare, {base = {hidden = 8, validation = 0.999, subset = {train = 500, test = 100}}})
  T.ok(err:find("variant base", 1, true), err)
  T.check_error("validation = 0.5 of 1 training rows leaves no rows to train on", declare,
    {base = {hidden = 8, validation = 0.5, subset = {train = 1, test = 100}}})
end)

T.test("fit_options as a function of the config: its keys are checked when declared",
  function()
  -- before: "unknown fit option 'verbos'" once per seed, each run FAILED after work
  local err = T.check_error("unknown fit option 'verbos'", declare,
    {fit_options = function() return {verbos = false} end})
  T.ok(err:find("did you mean 'verbose'?", 1, true), err)
  T.check_error("fit_options.batch_size: set by the config", declare,
    {fit_options = function(cfg) return cfg.hidden == 8 and {batch_size = 5} or nil end})
  -- one that reads the model is checked when its run calls it
  T.eq(#declare({fit_options = function(_, model) return {verbose = model ~= nil} end}).specs, 3)
end)

T.test("subset with a misspelt key names it and the key meant", function()
  -- before: "expected a table {train = n, test = n} of positive integers, got table
  -- {test=100,trian=500}": which key was wrong, not said
  local err = T.check_error("unknown key 'trian' (did you mean 'train'?)", declare,
    {base = {hidden = 8, subset = {trian = 500, test = 100}}})
  T.ok(err:find("experiment.base.subset", 1, true), err)
end)

T.test("a loss function: fit_options and base say the same true thing", function()
  -- before: fit_options said "put it in base or vary"; base said "expected one of ...,
  -- got function": each sent the user to the other
  local function myloss(out) return out:sum(), out end
  local a = T.check_error("experiment.fit_options.loss", declare,
    {fit_options = {loss = myloss}})
  local b = T.check_error("experiment.base.loss", declare, {base = {hidden = 8, loss = myloss}})
  local c = T.check_error("experiment.fit_options.loss", declare,
    {fit_options = function() return {loss = myloss} end})
  for _, err in ipairs{a, b, c} do
    T.ok(err:find("the runner takes only these named losses", 1, true), err)
    T.ok(err:find("model:fit(data, {loss = f})", 1, true), err)
    T.ok(err:find("sparse_categorical_crossentropy", 1, true), err)
  end
end)

T.test("a record made by ex:run() from a plain script or -e names its command", function()
  -- before: "command": null, and export_csv's command column empty
  local script, root = dir .. "/plain.lua", dir .. "/plain"
  util.write_file(script, string.format([[
local ex = wb.experiment({name = "p", seeds = {1}, base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 50}}}, {root = %q})
ex:run{verbose = false}
]], root))
  local st, _, err = T.sh(string.format("%s %s --x 'a b'", q(T.wb), q(script)))
  T.eq(st, 0, err)
  local r = wb.runs.find{root = root, task = "p"}.records[1]
  T.eq(r.command, "workbench " .. script .. " --x 'a b'")
  wb.runs.export_csv(dir .. "/plain.csv", root .. "/runs")
  local csv = T.slurp(dir .. "/plain.csv")
  T.ok(csv:find("workbench " .. script, 1, true), csv)
  st, _, err = T.sh(string.format("%s -e %s", q(T.wb), q(string.format("wb.experiment({name "
    .. "= 'e', seeds = {1}, base = {hidden = 8, epochs = 1, subset = {train = 200, test = "
    .. "50}}}, {root = %q}):run{verbose = false}", root))))
  T.eq(st, 0, err)
  r = wb.runs.find{root = root, task = "e"}.records[1]
  T.ok(r.command:find("^workbench %-e 'wb.experiment"), r.command)
  -- -e and the REPL run no script: their records named the workbench executable (arg[0])
  T.eq(util.canonical(r.script), util.canonical{typed = "-e"}, "-e is no script")
  st, _, err = T.sh(string.format("printf '%%s\\n' %s | %s", q(string.format("wb.experiment("
    .. "{name = 'r', seeds = {1}, base = {hidden = 8, epochs = 1, subset = {train = 200, test "
    .. "= 50}}}, {root = %q}):run{verbose = false}", root)), q(T.wb)))
  T.eq(st, 0, err)
  r = wb.runs.find{root = root, task = "r"}.records[1]
  T.eq(r.command, "workbench (REPL: typed, no command line)")
  T.eq(util.canonical(r.script), util.canonical{typed = "the REPL"}, "the REPL is no script")
  wb.runs.export_csv(dir .. "/typed.csv", root .. "/runs")
  csv = T.slurp(dir .. "/typed.csv")
  T.ok(csv:find(",no script file (-e: its command says what ran),", 1, true), csv)
  T.ok(csv:find(",no script file (typed at the REPL),", 1, true), csv)
  local exe = require("wb.runner_options").absolute(T.wb)
  T.ok(not csv:find(exe, 1, true), "no row names the executable as its script: " .. csv)
end)

T.test("export_history has export_csv's trace columns: git_commit, command", function()
  -- before: hash ... status, then the config: which commit and command made a row, unsaid
  local root = dir .. "/plain" -- the runs of the test above
  wb.runs.export_history(dir .. "/plain_h.csv", root .. "/runs")
  local rows = T.csv_rows(dir .. "/plain_h.csv")
  T.eq(table.concat(rows[1], ",", 1, 10), "hash,task,variant,label,seed,group_key,status,"
    .. "git_commit,"
    .. "git_uncommitted,command")
  local text = T.slurp(dir .. "/plain_h.csv")
  T.ok(select(2, text:gsub("workbench " .. dir:gsub("%p", "%%%0") .. "/plain%.lua", "")) >= 2,
    text)
end)

T.test("--run takes a unique prefix of a hash (8+ digits); an ambiguous one names the runs",
  function()
  -- before: "--run b760cadb" was "no run with hash b760cadb in this task", exit 64
  local path = dir .. "/pre.lua"
  util.write_file(path, [[
return wb.task{name = "pre", experiment = {base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 50}}, seeds = {1, 2}}}
]])
  local root = dir .. "/pre"
  local st, out, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --list-runs", q(T.wb),
    q(path), q(root)))
  T.eq(st, 0, err)
  local hash = out:match("%-%-run (%x+)")
  T.ok(hash and #hash == 16, out)
  st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --run %s", q(T.wb), q(path),
    q(root), hash:sub(1, 8)))
  T.eq(st, 0, err)
  T.eq(#wb.runs.find{root = root, task = "pre"}.records, 1)
  T.eq(wb.runs.find{root = root, task = "pre"}.records[1].hash, hash)
  local resolve = require("wb.runner_options").resolve_run
  local specs = {{hash = "b760cadb00000001", variant = "v", seed = 1},
    {hash = "b760cadb00000002", variant = "v", seed = 2}}
  T.eq(resolve("b760cadb00000002", specs), "b760cadb00000002")
  T.eq(resolve("b760cadb0000000", specs), nil)
  local _, why = resolve("b760cadb", specs)
  T.ok(why:find("2 runs begin with it: b760cadb00000001 (v seed 1), b760cadb00000002 (v seed "
    .. "2)", 1, true), why)
  _, why = resolve("b760", specs)
  T.ok(why:find("at least 8 hex digits", 1, true), why)
  T.eq(resolve("ffff0000", specs), "ffff0000", "no match: the caller says so")
end)

T.test("SIGTERM or SIGINT on a task: one line saying what is done, no traceback", function()
  -- before: "workbench: .../runner_children.lua:58: interrupted!" and a stack traceback
  local path, root = dir .. "/long.lua", dir .. "/long"
  util.write_file(path, [[
return wb.task{name = "lg", experiment = {base = {hidden = 64, epochs = 200,
  subset = {train = 5000, test = 100}}, seeds = {1}}}
]])
  for _, case in ipairs{{"TERM", 143}, {"INT", 130}} do
    local out, pidf, stf = root .. case[1] .. ".out", root .. case[1] .. ".pid",
      root .. case[1] .. ".status"
    os.execute(string.format("sh -c 'WB_ECHO=0 %s %s --root %s >%s 2>&1 & echo $! > %s; "
      .. "wait $!; echo $? > %s' >/dev/null 2>&1 &", q(T.wb), q(path), q(root), q(out),
      q(pidf), q(stf)))
    T.wait_until("a run training under " .. root, 600, function()
      local ok, names = pcall(wb.sys.listdir, root .. "/runs/logs")
      return ok and #names > 0 and T.slurp(out):find("to train", 1, true)
    end)
    os.execute("kill -" .. case[1] .. " " .. T.wait_line(pidf, 60):match("%d+"))
    T.eq(T.wait_status(stf, 600), case[2], T.slurp(out))
    local text = T.slurp(out)
    T.ok(text:find("[lg] interrupted: 0 of 1 runs done (0 trained now, 0 recorded before); "
      .. "run the same command again to continue", 1, true), text)
    T.ok(not text:find("traceback", 1, true), text)
    T.ok(not text:find("runner_children", 1, true), text)
    -- popen's shell, waiting for the stopped group, said "Terminated" above the one line
    T.ok(not text:find("Terminated", 1, true), text)
    for _, f in ipairs(wb.sys.listdir(root .. "/runs/logs")) do -- the next case waits anew
      os.remove(root .. "/runs/logs/" .. f)
    end
  end
end)

T.test("a measure that is not a number: a table asked for it says so, not n/a", function()
  -- before: the record kept "x" and the table showed n/a, exit 0. Strings, booleans and
  -- lists stay allowed in the record (the study keeps stop = "target", false for never)
  local runs = declare({name = "m", seeds = {1}, measure = function()
    return {acc2 = "x", n = 3} end}):run{verbose = false}
  T.eq(runs.records[1].measures.acc2, "x")
  T.ok(runs:table{"n"}:find("| 3 |", 1, true))
  local err = T.check_error("'acc2' is not a number in the measures of run", runs.table, runs,
    {"test_accuracy", "acc2"})
  T.ok(err:find('string "x"', 1, true) and err:find("r.measures.acc2", 1, true), err)
end)

T.done()
