-- test_runs.lua: reading run records (wb.record, wb.runs, wb.Run) over
-- records written by hand into temporary folders, so nothing trains:
-- runs that differ in more than the seed are never averaged together,
-- malformed records are skipped with a warning naming the file, the
-- history export reads back as a table, integers print as integers, and
-- wrong argument types give "bad argument" errors.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local cjson = require "cjson"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A record of task/variant/seed with config cfg (seed added), a 2-epoch
-- (or cfg.epochs) history and test accuracy acc; extra fields merged in.
local n_written = 0
local function rec(task, variant, seed, cfg, acc, extra)
  n_written = n_written + 1
  local c = util.copy(cfg)
  c.seed = seed
  local epochs = c.epochs or 2
  local loss, val = {}, {}
  for e = 1, epochs do loss[e] = 1 / (e + seed); val[e] = 1.5 / (e + seed) end
  local r = {hash = string.format("%016x", n_written), task = task, variant = variant,
    seed = seed, config = c, status = "ok", history = {loss = loss, val_loss = val,
      epochs = epochs}, metrics = {test_accuracy = acc, best_epoch = epochs},
    measures = {}}
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

-- as the workbench writes a record: with the checksum of its content
local function write(dir, r)
  wb.record.write(string.format("%s/%s-%s.json", dir, r.task, r.hash), r)
end

local quick = {epochs = 2, hidden = 64, subset = {train = 2000, test = 500}}
local full = {epochs = 10, hidden = 64}

-- {==== wb.record ====

T.test("wb.record: the runs folder and a run's files, in one place", function()
  T.eq(wb.record.dir("r"), "r/runs")
  T.eq(wb.record.dir(), (os.getenv("WB_PLOTS") or "plots") .. "/runs")
  T.eq(wb.record.path("r", "t", "0123456789abcdef"), "r/runs/t-0123456789abcdef.json")
  T.eq(wb.record.path("r", "t", "ab", "safetensors"), "r/runs/t-ab.safetensors")
  T.ok(wb.record.is_record_file("t-ab.json"))
  T.ok(not wb.record.is_record_file("t-ab.spec.json"))
  T.ok(not wb.record.is_record_file("t-ab.safetensors"))
  local st, out = T.sh("WB_PLOTS=/x/y " .. q(T.wb)
    .. " -e 'io.write(wb.record.path(nil, \"t\", \"h\"))'")
  T.eq(st, 0); T.eq(out, "/x/y/runs/t-h.json")
  T.check_error("bad argument #2 to 'path' (string expected, got number)",
    wb.record.path, "r", 1, "h")
  T.check_error("bad argument #3 to 'path' (a name without '/' expected",
    wb.record.path, "r", "t", "../x")
  T.check_error("bad argument #1 to 'dir' (string expected, got table)", wb.record.dir, {})
end)

T.test("group_key: the record's own, else task + config without the seed", function()
  local a = rec("t", "base", 1, quick, 0.9)
  local b = rec("t", "base", 2, quick, 0.9)
  local c = rec("t", "base", 1, full, 0.9)
  T.eq(wb.record.group_key(a), wb.record.group_key(b))
  T.ok(wb.record.group_key(a) ~= wb.record.group_key(c))
  local cfg = util.copy(a.config); cfg.seed = nil
  T.eq(wb.record.group_key(a), util.fnv1a64(util.canonical{task = "t", config = cfg}))
  a.group_key = "00000000000000aa"
  T.eq(wb.record.group_key(a), "00000000000000aa")
end)

-- }====

-- {==== nothing pooled that differs ====

-- my_width: two --quick runs and two full runs under one label "base".
local mixed = T.tmpdir() .. "/runs"
util.mkdir_p(mixed)
for s = 1, 2 do
  write(mixed, rec("my_width", "base", s, quick, 0.85 + s / 100))
  write(mixed, rec("my_width", "base", s, full, 0.97 + s / 1000))
end

T.test("find keeps --quick and full runs of one label apart; :table never pools them", function()
  local rs = wb.runs.find{dir = mixed, task = "my_width"}
  T.eq(#rs, 4)
  local vs = rs:variants()
  T.eq(#vs, 2, table.concat(vs, " | "))
  T.eq(vs[1], "base [epochs=2, subset={test=500,train=2000}]")
  T.eq(vs[2], "base [epochs=10, subset=none]")
  local listed = tostring(rs)
  T.ok(listed:find("\n  [1] Run my_width base [epochs=2, subset={test=500,train=2000}] seed 1: "
    .. "test acc 86.00 %\n", 1, true), listed)
  local md = rs:table{"test_accuracy"}
  T.ok(not md:find("| 4 |", 1, true), md)
  T.ok(md:find("| base [epochs=2, subset={test=500,train=2000}] | 2 | 86.50 ± 0.71 % |",
    1, true), md)
  T.ok(md:find("| base [epochs=10, subset=none] | 2 | 97.15 ± 0.07 % |", 1, true), md)
  T.eq(#rs:of(vs[2]), 2)
  for _, r in ipairs(rs:of(vs[2])) do T.eq(r.config.epochs, 10); T.eq(r.variant, "base") end
  -- a query that selects one configuration keeps the plain label
  local only = wb.runs.find{dir = mixed, task = "my_width", epochs = 10}
  T.eq(table.concat(only:variants(), ","), "base")
  T.ok(only:table{"test_accuracy"}:find("| base | 2 | 97.15 ± 0.07 % |", 1, true))
end)

T.test("a hand-made list refuses to average runs that are not seeds of one config", function()
  local rs = wb.runs.Runs(wb.runs.load_all(mixed))
  T.eq(table.concat(rs:variants(), ","), "base")
  local want = "variant 'base': 4 runs are not seeds of one configuration: "
  local err = T.check_error(want, rs.table, rs, {"test_accuracy"})
  T.ok(err:find("config.epochs 2 vs 10", 1, true) or err:find("config.epochs 10 vs 2", 1, true),
    err)
  T.ok(err:find("config.subset", 1, true), err)
  err = T.check_error(want, function() return (rs:table{"test_accuracy"}) end)
  T.ok(err:find("^tests/lua/test_runs.lua:%d+:"), "error not at the caller: " .. err)
  T.check_error(want, rs.stat, rs, "base", "test_accuracy")
  T.check_error(want, rs.values, rs, "base", "test_accuracy")
  T.check_error(want, rs.curve, rs, "base", "val_loss")
  T.check_error(want, rs.plot_curves, rs, "val_loss")
  T.check_error(want, wb.compare, rs, "test_accuracy")
  -- seeds of one configuration still pool
  local one = wb.runs.Runs(wb.runs.load_all(mixed, function(r) return r.config.epochs == 2 end))
  local m = one:stat("base", "test_accuracy")
  T.near(m, 0.865, 1e-12)
  local x, mean = one:curve("base", "loss")
  T.eq(#x, 2); T.near(mean[1], (1 / 2 + 1 / 3) / 2, 1e-12)
end)

T.test("what differs: task, fit options, identity, else the group keys", function()
  local a = rec("t1", "v", 1, full, 0.9)
  local b = rec("t2", "v", 1, full, 0.9)
  T.check_error("task t1 vs t2", wb.runs.Runs({a, b}).table, wb.runs.Runs({a, b}), {"x"})
  local dir = T.tmpdir()
  write(dir, rec("t", "v", 1, full, 0.9, {group_key = "000000000000000a",
    fit_options = {batch_size = 32}, identity = {build = "aa"}}))
  write(dir, rec("t", "v", 2, full, 0.9, {group_key = "000000000000000b",
    fit_options = {batch_size = 500}, identity = {build = "bb"}}))
  write(dir, rec("t", "v", 3, full, 0.9, {group_key = "000000000000000c"}))
  local rs = wb.runs.Runs(wb.runs.load_all(dir))
  local err = T.check_error("3 runs are not seeds", rs.stat, rs, "v", "test_accuracy")
  T.ok(err:find("fit_options.batch_size 32 vs 500 vs none", 1, true), err)
  T.ok(err:find("identity.build aa vs bb vs none", 1, true), err)
  local vs = wb.runs.find{dir = dir}:variants()
  T.eq(#vs, 3)
  T.eq(vs[1], "v [fit_options.batch_size=32, identity.build=aa]")
  -- records that differ only in their group key
  local d2 = T.tmpdir()
  write(d2, rec("t", "v", 1, full, 0.9, {group_key = "000000000000000a"}))
  write(d2, rec("t", "v", 2, full, 0.9, {group_key = "000000000000000b"}))
  local r2 = wb.runs.Runs(wb.runs.load_all(d2))
  T.check_error("group_key 000000000000000a vs 000000000000000b", r2.values, r2, "v", "x")
  T.eq(wb.runs.find{dir = d2}:variants()[1], "v [group_key=000000000000000a]")
end)

-- }====

-- {==== malformed records ====

T.test("malformed records are skipped with one warning each, naming file and fault", function()
  local dir = T.tmpdir()
  write(dir, rec("t", "v", 1, full, 0.9))
  local good = util.encode_json(rec("t", "v", 2, full, 0.9))
  local bad = {
    ["t-truncated.json"] = {good:sub(1, 40), "not valid JSON"},
    ["t-array.json"] = {"[]", "not a JSON object"},
    ["t-empty.json"] = {"", "empty file"},
    ["t-nohash.json"] = {'{"task": "t", "variant": "v", "seed": 1, "config": {}, '
      .. '"status": "ok"}', "missing field 'hash'"},
    ["t-seedstr.json"] = {'{"hash": "x", "task": "t", "variant": "v", "seed": "1", '
      .. '"config": {}, "status": "ok"}', "field 'seed': integer expected, got string"},
    ["t-seedfrac.json"] = {'{"hash": "x", "task": "t", "variant": "v", "seed": 1.5, '
      .. '"config": {}, "status": "ok"}', "field 'seed': integer expected, got number 1.5"},
    ["t-config.json"] = {'{"hash": "x", "task": "t", "variant": "v", "seed": 1, '
      .. '"config": "big", "status": "ok"}', "field 'config': table expected, got string"},
    ["t-metrics.json"] = {'{"hash": "x", "task": "t", "variant": "v", "seed": 1, '
      .. '"config": {}, "status": "ok", "metrics": 5}', "field 'metrics': table expected"},
  }
  for name, b in pairs(bad) do util.write_file(dir .. "/" .. name, b[1]) end
  util.write_file(dir .. "/t-x.spec.json", "{}") -- an artefact beside records: not a record
  local st, out, err = T.sh(q(T.wb) .. " -e " .. q("local rs = wb.runs.find{dir = "
    .. string.format("%q", dir) .. "}; io.write(#rs, ' ', tostring(rs[1]))"))
  T.eq(st, 0, err)
  T.eq(out, "1 Run t v seed 1: test acc 90.00 %")
  local lines = {}
  for l in err:gmatch("[^\n]+") do lines[#lines + 1] = l end
  local n = 0
  for _ in pairs(bad) do n = n + 1 end
  T.eq(#lines, n, err)
  for name, b in pairs(bad) do
    T.ok(err:find("wb.runs: skipping " .. dir .. "/" .. name .. ": " .. b[2], 1, true),
      name .. " not named with '" .. b[2] .. "' in:\n" .. err)
  end
  T.ok(not err:find("spec.json", 1, true), err)
  -- wb.record.read gives the reason as a value
  local r, why = wb.record.read(dir .. "/t-array.json")
  T.eq(r, nil); T.ok(why:find("not a JSON object", 1, true), why)
  T.eq(select(2, wb.record.read(dir .. "/nope.json")):match("^cannot read"), "cannot read")
  -- a folder that does not exist holds no runs, without a warning
  T.eq(#wb.runs.load_all(dir .. "/none"), 0)
end)

-- }====

-- {==== history export ====

-- RFC 4180 rows of a CSV text.
local function parse_csv(s)
  local rows, row, field, i, quoted = {}, {}, {}, 1, false
  while i <= #s do
    local c = s:sub(i, i)
    if quoted then
      if c == '"' and s:sub(i + 1, i + 1) == '"' then field[#field + 1] = '"'; i = i + 1
      elseif c == '"' then quoted = false
      else field[#field + 1] = c end
    elseif c == '"' then quoted = true
    elseif c == "," then row[#row + 1] = table.concat(field); field = {}
    elseif c == "\n" then
      row[#row + 1] = table.concat(field); field = {}
      rows[#rows + 1] = row; row = {}
    else field[#field + 1] = c end
    i = i + 1
  end
  return rows
end

local hist_path, hist_rows -- the export of the test below, read by pandas after it
T.test("export_history: long format, union of flattened config columns, RFC 4180", function()
  local dir = T.tmpdir()
  local a = rec("t", 'width=64, note="x"', 1, quick, 0.9)
  local b = rec("t", "deep", 1, {epochs = 3, hidden = {256, 128}, lr = 0.001}, 0.95)
  b.measures = {grad_norm_1 = {0.5, 0.25, 0.125}, dead = 3}
  write(dir, a); write(dir, b)
  local path = dir .. "/history.csv"
  local n = wb.runs.export_history(path, dir .. "/" .. "")
  T.eq(n, 2 * 2 + 3 * 3) -- a: loss, val_loss x 2 epochs; b: + grad_norm_1, x 3 epochs
  local text = util.read_file(path)
  local rows = parse_csv(text)
  T.eq(table.concat(rows[1], ","), "hash,task,variant,label,seed,group_key,status,git_commit,"
    .. "git_uncommitted,command,script,hooks_read,config.epochs,"
    .. "config.hidden,config.lr,config.seed,config.subset.test,config.subset.train,"
    .. "epoch,metric,value")
  T.eq(#rows, n + 1)
  for i, r in ipairs(rows) do T.eq(#r, 21, "row " .. i) end
  T.eq(table.concat(rows[2], "|"), table.concat({a.hash, "t", 'width=64, note="x"',
    'width=64, note="x"', "1",
    wb.record.group_key(a), "ok", "", "", "", "", "", "2", "64", "", "1", "500", "2000", "1",
    "loss",
    "0.5"}, "|"))
  T.ok(text:find('"width=64, note=""x"""', 1, true), "variant not quoted per RFC 4180")
  T.eq(table.concat(rows[#rows - 3], "|"), table.concat({b.hash, "t", "deep", "deep", "1",
    wb.record.group_key(b), "ok", "", "", "", "", "", "3", "[256,128]", "0.001", "1", "", "",
    "3",
    "val_loss", "0.375"}, "|"))
  -- the measures' per-epoch series come after the history's
  T.eq(table.concat(rows[#rows], "|", 19), "3|grad_norm_1|0.125")
  -- a run list works too; the final-metrics CSV has the same config columns
  T.eq(wb.runs.export_history(dir .. "/h2.csv", wb.runs.find{dir = dir, variant = "deep"}), 9)
  T.eq(wb.runs.export_csv(dir .. "/final.csv", dir), 2)
  local final = parse_csv(util.read_file(dir .. "/final.csv"))
  T.eq(#final, 3)
  T.ok(table.concat(final[1], ","):find("config.subset.train,best_epoch,test_accuracy$"),
    table.concat(final[1], ","))
  hist_path, hist_rows = path, n
end)

-- pandas reads the history export as it is; python3's csv module stands in
-- (and the pandas check is reported skipped) when pandas is missing.
local py = [[
import sys
try:
    import pandas
except ImportError:
    import csv
    rows = list(csv.reader(open(sys.argv[1], newline="")))
    print("nopandas", len(rows) - 1, len(rows[0]), len({len(r) for r in rows}))
    sys.exit(0)
d = pandas.read_csv(sys.argv[1])
print("pandas", d.shape[0], d.shape[1], d["value"].dtype, d["variant"].iloc[0])
]]
local st, out = 1, ""
if hist_path then
  util.write_file(hist_path .. ".py", py)
  -- Debian's python3-pandas is for /usr/bin/python3, which pyenv may shadow
  for _, python in ipairs{"python3", "/usr/bin/python3"} do
    local s2, o2 = T.sh(python .. " " .. q(hist_path .. ".py") .. " " .. q(hist_path))
    if s2 == 0 and (st ~= 0 or o2:find("^pandas")) then st, out = s2, o2 end
  end
end
if st ~= 0 then
  T.test("pandas.read_csv reads the history export", function()
    error("python3 failed reading the history export (or it was not written): " .. out)
  end)
elseif out:find("^nopandas") then
  T.test("python3's csv module reads the history export: 21 fields in every row", function()
    T.eq(out, string.format("nopandas %d 21 1\n", hist_rows))
  end)
  T.test("pandas.read_csv reads the history export", function() T.missing("python3-pandas") end)
else
  T.test("pandas.read_csv reads the history export with the expected shape", function()
    T.eq(out, string.format('pandas %d 21 float64 width=64, note="x"\n', hist_rows))
  end)
end

-- }====

-- {==== integers print as integers ====

T.test("seeds, epochs and counts print as integers, also from JSON floats", function()
  local dir = T.tmpdir()
  util.write_file(dir .. "/t-00000000000000f1.json", '{"hash": "00000000000000f1", "task": "t", '
    .. '"variant": "v", "seed": 1.0, "status": "ok", "config": {"epochs": 2.0, "seed": 1.0}, '
    .. '"metrics": {"test_accuracy": 0.5, "best_epoch": 2.0}}')
  local rs = wb.runs.find{dir = dir}
  T.eq(tostring(rs[1]), "Run t v seed 1: test acc 50.00 %")
  -- two decimals, as tables and the runner's lines: "92.3%" was 92.33 and 92.35 % (tryV 11)
  rs[1].metrics.test_accuracy = 0.9235
  T.eq(tostring(rs[1]), "Run t v seed 1: test acc 92.35 %")
  T.eq(require("wb.run").pct(0.99996), "99.996 %", "never 100.00 % below 100 %")
  T.eq(math.type(rs[1].seed), "integer"); T.eq(math.type(rs[1].config.epochs), "integer")
  T.ok(rs:table{"best_epoch"}:find("| v | 1 | 2 |", 1, true), "one seed: no ±, " .. rs:table{"best_epoch"})
  -- a record handed over as decoded JSON (floats) prints the same
  local r = cjson.decode('{"hash": "h", "task": "t", "variant": "v", "seed": 3.0, '
    .. '"status": "failed", "config": {}}')
  T.eq(math.type(r.seed), "float")
  local list = wb.runs.Runs({r})
  T.eq(tostring(list[1]), "Run t v seed 3: failed")
  T.ok(tostring(list):find("^Runs%(1 run, 1 variant%)\n  %[1%] Run t v seed 3: failed"))
  T.eq(wb.runs.fmt_mean_std(12, 0, "stopped_epoch"), "12 ± 0")
  T.eq(wb.runs.fmt_mean_std(12.5, 0.5, "stopped_epoch"), "12.5 ± 0.5")
  -- labels that tell groups apart show integral values as integers
  write(dir, rec("t", "v", 1, {epochs = 3.0}, 0.5))
  T.eq(wb.runs.find{dir = dir}:variants()[2], "v [epochs=3]")
end)

-- }====

-- {==== wrong argument types ====

T.test("wrong argument types: 'bad argument #n to name (X expected, got Y)'", function()
  local cases = {
    {"bad argument #1 to 'Runs' (table expected, got number)", wb.runs.Runs, 5},
    {"bad argument #1 to 'Runs' (list of run records expected, got number at [2])",
      wb.runs.Runs, {{}, 7}},
    {"bad argument #2 to 'Runs' (table expected, got string)", wb.runs.Runs, {}, "ex"},
    {"bad argument #1 to 'export_csv' (string expected, got nil)", wb.runs.export_csv},
    {"bad argument #2 to 'export_csv' (runs folder or run list expected, got number)",
      wb.runs.export_csv, "x.csv", 5},
    {"bad argument #1 to 'export_history' (string expected, got boolean)",
      wb.runs.export_history, true},
    {"bad argument #1 to 'mean_std' (table expected, got nil)", wb.runs.mean_std},
    {"bad argument #1 to 'mean_std' (list of numbers expected, got string at [2])",
      wb.runs.mean_std, {1, "2"}},
    {"bad argument #1 to 'series' (table expected, got string)", wb.runs.series, "r", "loss"},
    {"bad argument #2 to 'series' (string expected, got nil)", wb.runs.series, {}},
    {"bad argument #1 to 'value' (table expected, got nil)", wb.runs.value, nil, "loss"},
    {"bad argument #2 to 'value' (string expected, got number)", wb.runs.value, {}, 1},
    {"bad argument #1 to 'load_all' (string expected, got number)", wb.runs.load_all, 1},
    {"bad argument #2 to 'load_all' (function expected, got table)", wb.runs.load_all, nil, {}},
    {"bad argument #1 to 'read' (string expected, got nil)", wb.record.read},
    {"bad argument #1 to 'group_key' (table expected, got string)", wb.record.group_key, "r"},
  }
  local rs = wb.runs.Runs({rec("t", "v", 1, full, 0.9)})
  local methods = {
    {"bad argument #1 to 'table' (table expected, got string)", rs.table, rs, "acc"},
    {"bad argument #1 to 'stat' (string expected, got number)", rs.stat, rs, 1, "acc"},
    {"bad argument #2 to 'curve' (string expected, got nil)", rs.curve, rs, "v"},
    {"bad argument #1 to 'of' (string expected, got nil)", rs.of, rs},
    {"unknown option 'titel'", rs.plot_curves, rs, "loss", {titel = "x"}},
  }
  table.move(methods, 1, #methods, #cases + 1, cases)
  for _, c in ipairs(cases) do
    local err = T.check_error(c[1], function() return (c[2](table.unpack(c, 3, 5))) end)
    T.ok(not err:find("attempt to", 1, true), err)
    T.ok(err:find("^tests/lua/test_runs.lua:%d+:"), "error not at the caller: " .. err)
  end
  T.eq(wb.runs.mean_std{}, nil)
  T.eq(wb.runs.series({}, "loss"), nil); T.eq(wb.runs.value({}, "loss"), nil)
end)

-- }====

T.test("a step series measured on some steps only is written as a list with nulls", function()
  local util = require "wb.util"
  local dir = T.tmpdir()
  local ys = {1.5}
  for i = 2, 40 do ys[i] = 0 / 0 end
  ys[41] = 2.5
  local path = dir .. "/t-00000000000000aa.json"
  util.write_json(path, util.plain({hash = "00000000000000aa", task = "t", variant = "v",
    seed = 1, status = "ok", config = {}, history = {steps = {hess = ys}}}))
  local r = wb.runs.find{dir = dir}[1]
  -- read back as NaN, as the History had it: a hole made # and ipairs stop short (tryAA B1)
  local h = r.history.steps.hess
  T.eq(h[1], 1.5); T.ok(h[2] ~= h[2], "NaN"); T.eq(h[41], 2.5); T.eq(#h, 41)
  T.eq(util.read_file(path):match('"hess":%[1.5,null,'), '"hess":[1.5,null,', "null in the file")
end)

T.done()
