-- Numbers you can trust: every case where the runner once gave stale, pooled
-- or wrong numbers without a word (issue "Numbers you can trust") is a test
-- here. Each would fail on 8da3788.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local function records(root)
  local out = {}
  for _, r in ipairs(wb.runs.load_all(root .. "/runs")) do out[r.hash] = r end
  return out
end
local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end

-- A task script from pieces: the experiment's body and the report's.
local function script(name, experiment, report)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
return wb.task{name = %q, title = "t",
  experiment = {%s},
  report = function(task, runs) %s end}
]], name, experiment, report or "task:text(runs:table{\"test_accuracy\"})"))
  return path
end

local SMALL = "epochs = 1, subset = {train = 300, test = 100}"
local function run(path, root, extra)
  extra = extra or ""
  -- --list-runs trains nothing: --jobs with it is refused (it would be ignored)
  return T.sh(string.format("WB_ECHO=0 %s %s --root %s %s %s", T.wb, path, root,
    extra:find("--list-runs", 1, true) and "" or "--jobs 2", extra))
end
local function to_train(err) return tonumber(err:match("(%d+) to train")) end

T.test("editing a build hook retrains its runs; editing the report retrains nothing",
  function()
  local root = dir .. "/hook"
  local exp = [[base = {%s}, seeds = {1, 2}, keys = {"width"}, vary = {width = {8, 16}},
    build = function(cfg) return wb.nn.Sequential{wb.nn.Dense(784, cfg.width,
      {activation = "%s"}), wb.nn.Dense(cfg.width, 10, {activation = "softmax"})} end]]
  local p = script("hook", exp:format(SMALL, "relu"))
  local st, _, err = run(p, root)
  T.eq(st, 0, err); T.eq(to_train(err), 4)
  T.ok(err:find("test accuracy %d+%.%d%d %%"), "progress in the tables' unit (%): " .. err)
  local before = records(root)
  p = script("hook", exp:format(SMALL, "relu"), "task:text('only the report changed')")
  st, _, err = run(p, root)
  T.eq(st, 0, err); T.eq(to_train(err), 0, "a report edit trains nothing: " .. err)
  p = script("hook", exp:format(SMALL, "tanh"))
  st, _, err = run(p, root)
  T.eq(st, 0, err); T.eq(to_train(err), 4, "the build edit retrains: " .. err)
  local after = records(root)
  T.eq(count(after), 8, "old records stay, new ones beside them")
  for h in pairs(before) do T.ok(after[h], "the relu records are untouched") end
end)

T.test("a measure edit re-measures on the same training (no retraining)", function()
  local root = dir .. "/measure"
  local exp = "base = {hidden = 8, " .. SMALL .. "}, seeds = {1},"
    .. " measure = function() return {answer = %d} end"
  local st, _, err = run(script("meas", exp:format(1)), root)
  T.eq(st, 0, err)
  st, _, err = run(script("meas", exp:format(2)), root)
  T.eq(st, 0, err); T.eq(to_train(err), 0)
  T.ok(err:find("same training as meas-", 1, true), "adopts its own training: " .. err)
  -- the plan says so: it counted the run as to train (tryZ C3)
  T.ok(err:find("1 run: 0 cached, 1 to measure on a recorded training, 0 to train", 1, true),
    err)
  T.ok(err:find("[meas] the 1 to measure has an equal recorded training (only what "
    .. "comes after training changed): measured on it, not trained again, unless", 1,
    true), err)
  local answers = {}
  for _, r in pairs(records(root)) do answers[r.measures.answer] = r end
  T.ok(answers[1] and answers[2], "both measurements recorded")
  T.eq(answers[1].history.loss[1], answers[2].history.loss[1])
end)

T.test("fit options are recorded, refused when the config sets them, never adopted across",
  function()
  local root = dir .. "/fitopts"
  local st, _, err = run(script("fo1", "base = {hidden = 8, " .. SMALL .. "}, seeds = {1}"),
    root)
  T.eq(st, 0, err)
  st, _, err = run(script("fo2", "base = {hidden = 8, " .. SMALL .. "}, seeds = {1}, "
    .. "fit_options = {verbose = false}"), root)
  T.eq(st, 0, err)
  T.ok(not err:find("same training as"), "a different fit_options is another training")
  for _, r in pairs(records(root)) do
    T.eq(r.fit_options.batch_size, 32, "the record says the batch size used")
    if r.task == "fo2" then T.eq(r.fit_options.verbose, false) end
  end
  local p = script("fo3", "base = {hidden = 8, " .. SMALL .. "}, seeds = {1}, "
    .. "fit_options = function() return {batch_size = 500} end")
  st, _, err = run(p, root)
  T.eq(st, 1)
  T.ok(err:find("fit_options.batch_size: set by the config", 1, true), err)
  st, _, err = run(script("fo4", "base = {hidden = 8}, fit_options = {batch_size = 500}"), root)
  T.eq(st, 1); T.ok(err:find("fit_options.batch_size", 1, true), err)
  T.ok(not err:find("to train"), "refused before planning: " .. err)
end)

-- Each bad declaration fails before anything trains, naming key, place and line.
local bad = {
  {"unknown base key", "base = {hidden = 8, dropuot = 0.1}",
    "experiment.base: unknown config key 'dropuot' (did you mean 'dropout'?)", 2},
  {"key at the experiment level", "base = {hidden = 8}, batch_size = 128",
    "experiment: unknown key 'batch_size'", 2},
  {"an option in the spec", "base = {hidden = 8}, root = '/tmp/x'",
    "; root is an option, the second argument: wb.experiment(spec, {root = ...})", 2},
  {"a command-line option in the spec", "base = {hidden = 8}, quick = true",
    "; quick is an option: wb.experiment(spec, {options = {quick = ...}})", 2},
  {"unknown vary key", "base = {hidden = 8}, vary = {layers = {1, 2}}",
    "experiment.vary: unknown config key 'layers'", 2},
  {"undeclared key with a build hook", "base = {epochs = 1}, vary = {depth = {1, 2}}, "
    .. "build = function(cfg) return nil end", "unknown config key 'depth'", 2},
  {"build hook and a wrong optimizer key", "base = {optimiser = 'sgd'}, "
    .. "build = function(cfg) return nil end", "unknown config key 'optimiser' (did you mean "
    .. "'optimizer'?)", 2},
  {"scalar for a list", "base = {epochs = 1}, vary = {hidden = 64}",
    "experiment.vary.hidden: expected a non-empty list of values, got number 64", 2},
  {"a float for an integer (tryX 6: it said \"got number 2\")", "base = {hidden = 8, "
    .. "epochs = 2.0}", "experiment.base.epochs: expected a positive integer, got a float 2.0", 2},
  {"fit_options passing data.test on (tryX 6: refused only when its run started)",
    "base = {hidden = 8}, fit_options = function(cfg, model, data) return {validation_data = "
    .. "data.test} end", "experiment.fit_options.validation_data: set by the config", 2},
  {"string for a number", "base = {epochs = 1}, vary = {hidden = {'64'}}",
    "experiment.vary.hidden: expected a positive integer or a non-empty list", 2},
  {"empty value list", "base = {hidden = 8}, vary = {dropout = {}}",
    "experiment.vary.dropout: expected a non-empty list of values, got table", 2},
  {"seeds as a number", "base = {hidden = 8}, seeds = 2",
    "experiment.seeds: expected a non-empty list of integers", 2},
  {"fit_options of a wrong type", "base = {hidden = 8}, fit_options = 3",
    "experiment.fit_options: expected a table or a function", 2},
  {"no hidden for the default model", "base = {epochs = 1}",
    "the default model (an MLP) needs 'hidden'", nil},
}
for _, case in ipairs(bad) do
  T.test("refused before training: " .. case[1], function()
    local root = dir .. "/bad"
    local p = script("bad", case[2])
    local st, _, err = run(p, root)
    T.eq(st, 1, err)
    T.ok(err:find(case[3], 1, true), "message: " .. err)
    if case[4] then
      T.ok(err:find(p .. ":" .. case[4] .. ":", 1, true), "names the line: " .. err)
    end
    T.ok(not err:find("to train"), "nothing planned: " .. err)
    T.ok(not wb.sys.exists(root .. "/runs"), "nothing written")
  end)
end

T.test("keys at the task level are refused too", function()
  local p = dir .. "/tk.lua"
  util.write_file(p, "return wb.task{name = 'tk', epochs = 3,\n  experiment = {base = "
    .. "{hidden = 8}}}\n")
  local st, _, err = T.sh(T.wb .. " " .. p)
  T.eq(st, 1)
  T.ok(err:find(p .. ":1: tk: task: unknown key 'epochs'", 1, true), err)
end)

T.test("hidden = {64, 32} trains two hidden layers", function()
  local root = dir .. "/deep"
  local st, _, err = run(script("deep", "base = {hidden = {64, 32}, " .. SMALL
    .. "}, seeds = {1}"), root)
  T.eq(st, 0, err)
  local r = wb.runs.find{root = root, task = "deep"}[1]
  local m = r:model()
  T.eq(#m, 3, "Dense 784->64, Dense 64->32, Dense 32->10")
  T.eq(m[1].weight:shape()[2], 64); T.eq(m[2].weight:shape()[2], 32)
  T.ok(tostring(m:summary()):find("32", 1, true))
end)

T.test("--quick runs live under <plots>/quick, never beside full ones", function()
  local work = dir .. "/q"
  wb.sys.mkdir_p(work)
  local p = script("qq", "base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},"
    .. " seeds = {1}")
  local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
  local st, _, err = T.sh(string.format("cd %s && WB_ECHO=0 %s %s --quick --jobs 1", work,
    exe, p))
  T.eq(st, 0, err)
  T.ok(wb.sys.exists(work .. "/plots/quick/runs"), "quick records under plots/quick")
  T.ok(not wb.sys.exists(work .. "/plots/runs"), "none in the full runs folder")
  local md = util.read_file(work .. "/plots/quick/qq/README.md")
  -- the task's own rows, fewer than --quick's 2000 / 500 (never more: audit A4)
  T.ok(md:find("first 300 training / 100 test rows", 1, true), md)
  T.ok(md:find("--quick", 1, true) and md:find("commit", 1, true), "says how it was made")
  T.ok(md:find("held out", 1, true), "says validation is held out")
end)

T.test("--root DIR --quick writes under DIR/quick: a full README is never replaced by a "
  .. "quick one", function()
  local root = dir .. "/rq"
  local p = script("rq", "base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},"
    .. " seeds = {1, 2}")
  local st, _, err = run(p, root)
  T.eq(st, 0, err)
  local full = util.read_file(root .. "/rq/README.md")
  st, _, err = run(p, root, "--quick")
  T.eq(st, 0, err); T.eq(to_train(err), 2, err)
  T.eq(util.read_file(root .. "/rq/README.md"), full, "the full README is untouched")
  T.eq(#wb.runs.load_all(root .. "/runs"), 2, "no quick record among the full ones")
  T.eq(#wb.runs.load_all(root .. "/quick/runs"), 2, "the children wrote to DIR/quick/runs")
  local md = util.read_file(root .. "/quick/rq/README.md") or ""
  T.ok(md:find("^# t %(%-%-quick%)\n") and md:find("a smoke test", 1, true),
    "a quick README says so at its top: " .. md)
  -- the commands it lists train into the same place
  local out
  st, out, err = run(p, root, "--quick --list-runs")
  T.eq(st, 0, err)
  T.ok(out:find("--quick", 1, true) and not out:find("/quick --", 1, true),
    "a listed command names the root given, not its quick folder: " .. out)
  st, _, err = run(p, root, "--quick")
  T.eq(to_train(err), 0, "cached where it was written: " .. err)
end)

T.test("a README made by code with uncommitted changes says so beside the commit", function()
  -- a tree of its own: the binary, its Lua library, one commit
  local tree = dir .. "/tree"
  wb.sys.mkdir_p(tree .. "/bindings")
  local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
  local data = os.getenv("WB_DATA") or (wb.luadir:gsub("/bindings/lua$", "") .. "/data")
  local git = "git -C " .. tree .. " -c user.name=t -c user.email=t@t "
  -- and its C sources: without them the tree is not the binary's, and no commit is named
  local src = wb.luadir:gsub("/bindings/lua$", "")
  local st, _, err = T.sh(string.format("cp %s %s/workbench && cp -r %s %s/bindings/lua && "
    .. "cp %s/bindings/*.[ch] %s/bindings/ && cp -r %s/core %s/ && %s init -q && %s add "
    .. "workbench bindings core && %s commit -q -m t", exe, tree, wb.luadir, tree, src, tree,
    src, tree, git, git, git))
  T.eq(st, 0, err)
  local p = script("dirty", "base = {hidden = 8, epochs = 1, subset = {train = 300, "
    .. "test = 100}}, seeds = {1}")
  local function readme(root)
    st, _, err = T.sh(string.format("WB_ECHO=0 WB_DATA=%s %s/workbench %s --root %s --jobs 1",
      data, tree, p, root))
    T.eq(st, 0, err)
    return util.read_file(root .. "/dirty/README.md") or ""
  end
  local md = readme(dir .. "/clean")
  T.ok(md:find("commit %x+%)") and not md:find("uncommitted", 1, true), md)
  local f = io.open(tree .. "/bindings/lua/wb/plot.lua", "a") -- a tracked file, edited
  f:write("\n"); f:close()
  md = readme(dir .. "/edited")
  -- the file named: an edited module and a CSV left in the tree read differently
  T.ok(md:find("commit %x+ with uncommitted changes to 1 file: bindings/lua/wb/plot%.lua%)"), md)
  -- and each run's record, read without its README
  local function uncommitted(root)
    local rs = wb.runs.load_all(root .. "/runs")
    T.eq(#rs, 1, root)
    return rs[1].git_uncommitted
  end
  T.eq(uncommitted(dir .. "/clean"), 0, "a clean tree's record")
  T.eq(uncommitted(dir .. "/edited"), 1, "an edited tree's record")
  local rs = wb.runs.load_all(dir .. "/edited/runs")
  T.eq(table.concat(rs[1].git_changes, " "), "bindings/lua/wb/plot.lua", "the record names it")
end)

T.test("--quick over variants that set their own epochs says they are replaced", function()
  local p = script("qe", "base = {hidden = 8}, vary = {epochs = {3, 5}}, seeds = {1}")
  local st, _, err = run(p, dir .. "/qe", "--quick")
  T.eq(st, 0, err)
  T.ok(err:find("it replaced what the experiment sets: epochs = 3 (variant epochs=3); "
    .. "epochs = 5 (variant epochs=5)", 1, true), err)
  local md = util.read_file(dir .. "/qe/quick/qe/README.md") or ""
  T.ok(md:find("--quick replaced what the experiment sets: epochs = 3 (variant epochs=3); "
    .. "epochs = 5 (variant epochs=5)", 1, true), md)
  -- the base's epochs and subset are replaced too: said, as a variant's
  -- (they were not: a 20-epoch base ran 2 without a word)
  st, _, err = run(script("qb", "base = {hidden = 8, epochs = 3, subset = {train = 100}}, "
    .. "seeds = {1}"), dir .. "/qe", "--quick")
  T.eq(st, 0, err)
  T.ok(err:find("it replaced what the experiment sets: epochs = 3 (base); subset = "
    .. "{train=100} (base)", 1, true), err)
  md = util.read_file(dir .. "/qe/quick/qb/README.md") or ""
  T.ok(md:find("--quick replaced what the experiment sets: epochs = 3 (base)", 1, true), md)
  -- a base that sets the quick value itself: nothing replaced, nothing said
  st, _, err = run(script("q2", "base = {hidden = 8, epochs = 2}, seeds = {1}"), dir .. "/qe",
    "--quick")
  T.eq(st, 0, err); T.ok(not err:find("replaced", 1, true), "epochs = 2: no notice: " .. err)
end)

T.test("validation is held out by default: 10 % of the training rows, not the test set",
  function()
  local ex = wb.experiment{name = "v", base = {hidden = 8}}
  T.eq(ex.specs[1].config.validation, 0.1)
  local root = dir .. "/val"
  local st, _, err = run(script("val", "base = {hidden = 8, " .. SMALL .. "}, seeds = {1}"),
    root)
  T.eq(st, 0, err)
  local r = wb.runs.find{root = root, task = "val"}[1]
  local m = r:model()
  local d = r:data()
  -- the last 30 of the 300 training rows were the validation set
  T.near(m:evaluate(d.train:subset(271, 300)).loss, r.history.val_loss[1], 1e-5)
  T.ok(math.abs(m:evaluate(d.test).loss - r.history.val_loss[1]) > 1e-6, "not the test set")
end)

T.test("--fresh retrains every run: in the children, and in process, adopting no record",
  function()
  local root = dir .. "/fresh"
  local p = script("fresh", "base = {hidden = 8, " .. SMALL .. "}, seeds = {1, 2}")
  local st, _, err = run(p, root)
  T.eq(st, 0, err); T.eq(to_train(err), 2)
  -- a mark in each record: gone when the run is trained again, kept when skipped
  local function mark()
    for h in pairs(records(root)) do
      local path = string.format("%s/runs/fresh-%s.json", root, h)
      local r = util.read_json(path)
      r.stale = true
      util.write_json(path, r)
    end
  end
  mark()
  st, _, err = run(p, root, "--fresh")
  T.eq(st, 0, err); T.eq(to_train(err), 2, err)
  local n = 0
  for h, r in pairs(records(root)) do
    n = n + 1
    T.ok(not r.stale, "the child trained " .. h .. " again")
    T.eq(r.reused_from, nil, "trained, not adopted from its own record")
  end
  T.eq(n, 2)
  mark() -- in process (wb.runner.run_experiment), where a run could adopt its own record
  -- as the task's script: another (this file) is refused its task name and root (tryR 4)
  local this = arg[0]
  arg[0] = p
  local ex = wb.experiment({name = "fresh", base = {hidden = 8, epochs = 1,
    subset = {train = 300, test = 100}}, seeds = {1, 2}}, {root = root, options = {fresh = true}})
  local ok, e = pcall(wb.runner.run_experiment, ex, {fresh = true, verbose = false})
  arg[0] = this
  T.ok(ok, e)
  for h, r in pairs(records(root)) do
    T.ok(not r.stale, "trained again in process: " .. h)
    T.eq(r.reused_from, nil, "not adopted in process")
  end
end)

T.done()
