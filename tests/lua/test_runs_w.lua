-- test_runs_w.lua: findings of audits W and X on run lists and declarations.
-- W9/X6: a record copied under another run's file name was listed, averaged
-- and exported twice without a word; rs:table's "appears twice" named the
-- hash twice, not the files. W11: rs:table{..., variant_header = ...} dropped
-- the option. W12: a float query printed like a recorded value (0.1*3 as
-- 0.3). W13: experiment.name inside a task, an experiment object as the
-- declaration. W7: fit_options = {lr = ...} named another config key. W8:
-- "changed since" left out a key present before and absent now.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"

local n_written = 0
local function rec(seed, extra)
  n_written = n_written + 1
  local r = {hash = string.format("%016x", n_written), task = "t", variant = "v", seed = seed,
    config = {epochs = 2, hidden = 64, seed = seed}, status = "ok",
    history = {loss = {1, 0.5}, val_loss = {1, 0.6}, epochs = 2},
    metrics = {test_accuracy = 0.9, best_epoch = 2}, measures = {}}
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end
local function write(dir, r, name)
  wb.record.write(dir .. "/" .. (name or string.format("%s-%s.json", r.task, r.hash)), r)
end

T.test("W9: a record under another run's file name is left out, naming the file", function()
  local dir = T.tmpdir()
  local a, b = rec(1), rec(1, {variant = "w"})
  write(dir, a)
  write(dir, a, "t-" .. b.hash .. ".json") -- cp a's record over b's file
  write(dir, rec(2), "t-backup.json") -- a backup copy under a name of its own
  write(dir, rec(3, {task = "u"}), "t-" .. string.format("%016x", n_written) .. ".json")
  local rs, err = T.stderr_of(function() return wb.runs.find{dir = dir} end)
  T.eq(#rs, 1, err)
  T.eq(rs[1].hash, a.hash)
  for _, name in ipairs{"t-" .. b.hash .. ".json", "t-backup.json"} do
    T.ok(err:find("skipping " .. dir .. "/" .. name .. ": it is the record of task t, run ", 1,
      true), err)
  end
  T.ok(err:find("a copy of t-" .. a.hash .. ".json, listed once from there", 1, true), err)
  T.ok(err:find("its own file t-" .. string.format("%016x", n_written - 1) .. ".json is not "
    .. "there", 1, true), err) -- a renamed record: the name to give it back
  T.ok(err:find("it is the record of task u, run", 1, true), err) -- the task differs
  local _, n = err:gsub("\n", "")
  T.eq(n, 3, err) -- one line each
  local all = T.stderr_of(function() return wb.runs.load_all(dir) end)
  T.eq(#all, 1)
  local csv = T.tmpdir() .. "/r.csv"
  T.stderr_of(function() wb.runs.export_csv(csv, dir) end)
  T.eq(#T.csv_rows(csv), 2) -- the header and one row per run, not the copy's too
end)

T.test("W9: 'appears twice' names the files the two records came from", function()
  local d1, d2 = T.tmpdir(), T.tmpdir()
  local a = rec(1)
  write(d1, a); write(d2, a)
  local r1, r2 = wb.runs.load_all(d1), wb.runs.load_all(d2)
  local rs = wb.runs.Runs{r1[1], r2[1]}
  local ok, err = pcall(rs.table, rs, {"test_accuracy"})
  T.ok(not ok)
  T.ok(err:find("from " .. d1 .. "/t-" .. a.hash .. ".json and " .. d2 .. "/t-" .. a.hash
    .. ".json", 1, true), err)
  rs = wb.runs.Runs{r1[1], r1[1]}
  ok, err = pcall(rs.table, rs, {"test_accuracy"})
  T.ok(err:find("both from " .. d1 .. "/t-" .. a.hash .. ".json: the same record listed twice",
    1, true), err)
end)

T.test("W11: an option in rs:table's names list is an error, not dropped", function()
  local dir = T.tmpdir()
  write(dir, rec(1)); write(dir, rec(2))
  local rs = wb.runs.find{dir = dir}
  T.check_error("wb.Runs:table: names: key 'variant_header' is not a list index: names is a "
    .. "list of metric names; options go in the second argument: rs:table({...}, "
    .. "{variant_header = ...})", rs.table, rs, {"test_accuracy", variant_header = "width"})
  T.check_error("key 'per_seed' is not a list index", rs.table, rs,
    {"test_accuracy", per_seed = true})
  T.ok(rs:table({"test_accuracy"}, {variant_header = "width"}):find("^| width |"))
  T.ok(rs:table{"test_accuracy"}:find("^| variant |"))
end)

T.test("W12: a float query printed like a recorded value says they are not equal", function()
  local dir = T.tmpdir()
  for i, d in ipairs{0, 0.1, 0.3} do
    local r = rec(1, {variant = "d" .. i})
    r.config.dropout = d
    write(dir, r)
  end
  local ok, err = pcall(wb.runs.find, {dir = dir, dropout = 0.1 * 3})
  err = tostring(err) -- an input error (wb.spec.input_error): its text
  T.ok(not ok)
  T.ok(err:find("matches {dropout = 0.30000000000000004}", 1, true), err)
  T.ok(err:find("have 0, 0.1, 0.3 (not equal: the query's 0.30000000000000004 is not the "
    .. "runs' 0.3", 1, true), err)
  ok, err = pcall(wb.runs.find, {dir = dir, dropout = {0, 0.1 * 3}}) -- an item of a list
  err = tostring(err)
  T.ok(err:find("dropout = 0.30000000000000004, in {dropout = {0, 0.30000000000000004}}", 1,
    true), err)
  T.ok(err:find("(not equal: the query's 0.30000000000000004 is not the runs' 0.3", 1, true),
    err)
  ok, err = pcall(wb.runs.find, {dir = dir, dropout = 0.5}) -- no value alike: no such note
  err = tostring(err)
  T.ok(not err:find("not equal", 1, true), err)
  T.eq(#wb.runs.find{dir = dir, dropout = 0.3}, 1)
end)

T.test("W7: fit_options = {lr = ...} says 'lr' is a config key", function()
  local ok, err = pcall(wb.experiment, {name = "w7", base = {epochs = 1, lr = 0.1},
    fit_options = {lr = 0.5}})
  T.ok(not ok)
  T.ok(tostring(err):find("unknown fit option 'lr' (valid: verbose) ('lr' is a config key: "
    .. "put it in base or vary)", 1, true), tostring(err))
  ok, err = pcall(wb.experiment, {name = "w7", fit_options = {log_evry = 5}}) -- a misspelling
  T.ok(tostring(err):find("('log_every' is a config key", 1, true), tostring(err))
end)

T.test("W13: a task's experiment named otherwise, or made already, is refused", function()
  local base = {epochs = 1, hidden = 8, subset = {train = 500, test = 100}}
  local function report(task, runs) task:text(runs:table{"test_accuracy"}) end
  T.check_error('task.experiment.name: string "other" is not the task\'s name "tk4": the '
    .. "experiment takes the task's name", wb.task, {name = "tk4", title = "x",
    experiment = {name = "other", base = base}, report = report})
  local t = wb.task{name = "tk4", title = "x", experiment = {name = "tk4", base = base},
    report = report} -- the same name: as before
  T.eq(t.name, "tk4")
  local ex = wb.experiment{name = "tk5", base = base}
  local ok, err = pcall(wb.task, {name = "tk5", title = "x", experiment = ex, report = report})
  T.ok(not ok)
  err = tostring(err)
  T.ok(err:find("task.experiment: expected the experiment's declaration table ({base = ..., "
    .. "vary = ...}), got a wb.Experiment", 1, true), err)
  T.ok(not err:find("_hooks", 1, true), err)
end)

T.test("W8: 'changed since' names a config key set before and unset now", function()
  local root = T.tmpdir()
  util.mkdir_p(root .. "/runs")
  local old = rec(1, {task = "w8", variant = "base", identity = {code = "c"},
    config = {epochs = 2, seed = 1, subset = {train = 2000, test = 500}}})
  write(root .. "/runs", old)
  local s = {variant = "base", seed = 1, hash = "ffffffffffffffff", identity = {code = "c"},
    config = {epochs = 1, seed = 1}}
  local note = require("wb.runner_why").note({name = "w8", root = root}, {s})
  T.ok(note:find('config key subset ({"test":500,"train":2000} -> unset)', 1, true), note)
  T.ok(note:find("config key epochs (2 -> 1)", 1, true), note)
  -- a copy of that record under another name is no run's record: not named
  os.remove(root .. "/runs/w8-" .. old.hash .. ".json")
  write(root .. "/runs", old, "w8-backup.json")
  T.eq(require("wb.runner_why").note({name = "w8", root = root}, {s}), nil)
end)

T.test("X16j: seeds that failed or diverged are not said to have missed a target", function()
  local function r(v, seed, acc, status)
    return {hash = v .. seed, task = "t", variant = v, seed = seed, status = status or "ok",
      config = {seed = seed, v = v}, metrics = {test_accuracy = acc}, history = {}}
  end
  local rs = wb.runs.Runs{r("a", 1, 0.90), r("a", 2, 0.91), r("b", 1, 0.50), r("b", 2, 0.51),
    r("b", 3, nil, "diverged"), r("d", 1, nil), r("d", 2, 0.3)}
  rs.failures = {{spec = {variant = "a", seed = 3}}, {spec = {variant = "c", seed = 1}}}
  local s = wb.compare(rs, "test_accuracy", {better = "higher"})
  T.ok(s:find("Seeds that did not finish have no value: c (1 of 1 seeds: 1 failed, no "
    .. "record), a (1 of 3 seeds: 1 failed, no record), b (1 of 3 seeds: 1 diverged).", 1,
    true), s)
  -- only a finished run without the value may have missed a target
  T.ok(s:find("No value for d (1 of 2 seeds: none recorded).", 1, true), s)
  T.ok(s:find("Not decided: 1 of 3 seeds of a have no value", 1, true), s)
  -- every run of the list failed: the findings say so, no target
  local gone = wb.runs.Runs{r("a", 1, 0.9)}
  gone.failures = {{spec = {variant = "c", seed = 1}}, {spec = {variant = "c", seed = 2}}}
  s = wb.compare(gone, "test_accuracy")
  T.eq(s, "- test_accuracy: Seeds that did not finish have no value: c (2 of 2 seeds: 2 "
    .. "failed, no record).")
end)

-- W16: a measure's list of another length than the epochs run (per-layer
-- norms) was a per-epoch series: its last entry tabled and compared as the
-- run's value, drawn against epochs. Now only a list with an entry per
-- epoch run is a series; another is kept in the record, and a table asked
-- for it says so.
T.test("W16: a measure list is a series only with an entry per epoch run", function()
  local dir = T.tmpdir()
  for seed = 1, 2 do
    write(dir, rec(seed, {metrics = {test_accuracy = 0.9, epochs_run = 2},
      measures = {norms = {3, 4, 5, 6}, per_epoch = {0.5, 0.25 * seed}}}))
  end
  local rs = wb.runs.find{dir = dir}
  T.eq(wb.runs.series(rs[1], "norms"), nil, "4 entries, 2 epochs: no series")
  T.eq(wb.runs.value(rs[1], "norms"), nil)
  T.eq(wb.runs.value(rs[2], "per_epoch"), 0.5, "a list per epoch: its last entry")
  T.check_error("'norms' is not a number in the measures of run", rs.table, rs, {"norms"})
  T.ok(rs:table{"per_epoch"}:find("per_epoch", 1, true))
  -- a diverged run's series may end early (its NaN epochs are null)
  local d = rec(3, {status = "diverged", metrics = {epochs_run = 2}, measures = {g = {1}}})
  T.eq(#wb.runs.series(d, "g"), 1)
end)

-- X20: a FIFO named like a record blocked wb.runs.find (and --gather) for
-- ever, a link to /dev/zero read until memory ran out: only regular files
-- are read, the others skipped with a line naming them
T.test("X20: a FIFO or a device named like a record is skipped, naming it", function()
  local dir = T.tmpdir()
  write(dir, rec(1))
  T.ok(os.execute("mkfifo " .. dir .. "/t-ffffffffffffffff.json"), "mkfifo")
  T.ok(os.execute("ln -s /dev/zero " .. dir .. "/t-cccccccccccccccc.json"), "ln")
  local rs, err = T.stderr_of(function() return wb.runs.load_all(dir) end)
  T.eq(#rs, 1, err)
  T.ok(err:find("t-ffffffffffffffff.json: not a regular file (a fifo)", 1, true), err)
  T.ok(err:find("t-cccccccccccccccc.json: not a regular file (a device)", 1, true), err)
  T.eq(wb.sys.kind(dir), "folder"); T.eq(wb.sys.kind(dir .. "/nope"), nil)
end)

T.done()
