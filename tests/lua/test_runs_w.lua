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
  T.ok(not ok)
  T.ok(err:find("matches {dropout = 0.30000000000000004}", 1, true), err)
  T.ok(err:find("have 0, 0.1, 0.3 (not equal: the query's 0.30000000000000004 is not the "
    .. "runs' 0.3", 1, true), err)
  ok, err = pcall(wb.runs.find, {dir = dir, dropout = {0, 0.1 * 3}}) -- an item of a list
  T.ok(err:find("dropout = 0.30000000000000004, in {dropout = {0, 0.30000000000000004}}", 1,
    true), err)
  T.ok(err:find("(not equal: the query's 0.30000000000000004 is not the runs' 0.3", 1, true),
    err)
  ok, err = pcall(wb.runs.find, {dir = dir, dropout = 0.5}) -- no value alike: no such note
  T.ok(not err:find("not equal", 1, true), err)
  T.eq(#wb.runs.find{dir = dir, dropout = 0.3}, 1)
end)

T.done()
