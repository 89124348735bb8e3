-- test_audit_runsq.lua: the runs API as a new user meets it (README: find,
-- tables, curves, a Run's plot, exports), over real --quick runs of task 5
-- and task 11 trained once into a temporary root, and over records written
-- by hand. Nothing answers in silence: a misspelt column, series, variant
-- or task, a root that does not exist and a query that matches nothing are
-- errors naming the name and listing what is there, nearest first; the
-- help examples of the runs modules run as written against that root.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local base = T.tmpdir()
local root = base .. "/quick" -- --root DIR --quick: DIR/quick

-- {==== records by hand: names checked, nothing trained ====

-- A finished record of task/variant/seed: a 2-epoch history (validation
-- when val), a step series when steps.
local n_made = 0
local function rec(task, variant, seed, o)
  o = o or {}
  n_made = n_made + 1
  local h = {loss = {0.5, 0.4}, accuracy = {0.8, 0.9}, epochs = 2}
  if o.val ~= false then h.val_loss, h.val_accuracy = {0.6, 0.5}, {0.7, 0.8} end
  if o.steps then h.steps = {step = {1, 2}, epoch = {1, 1}, grad_norm = {1.5, 1.25}} end
  local m = {test_accuracy = 0.9 + seed / 100, test_loss = 0.3}
  if o.val ~= false then m.gap = 0.1 end
  return wb.runs.Runs({{hash = string.format("%016x", n_made), task = task, variant = variant,
    seed = seed, config = {dropout = o.dropout or 0, seed = seed}, status = o.status or "ok",
    history = h, metrics = m, measures = {silenced_10 = 0.5}}})[1]
end

T.test("table: a misspelt column is an error naming it, nearest first", function()
  local rs = wb.runs.Runs{rec("t", "a", 1), rec("t", "a", 2)}
  local err = T.check_error("wb.Runs:table: unknown column 'test_acuracy' (did you mean "
    .. "'test_accuracy'?) (columns of these runs, nearest first: test_accuracy, ", rs.table, rs,
    {"test_accuracy", "test_acuracy"})
  -- every kind of name is listed: metrics, measures, series
  for _, n in ipairs{"silenced_10", "val_loss", "gap", "accuracy"} do
    T.ok(err:find(n, 1, true), n .. " listed: " .. err)
  end
  T.ok(not err:find("steps", 1, true), "history.steps is not a column: " .. err)
  -- at the caller's line
  local line = debug.getinfo(1, "l").currentline + 1
  local ok, e = pcall(function() local t = rs:table{"tst_accuracy"}; return t end)
  -- an input error (one line, no traceback: tryZ C2), its text at that line
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  T.ok(tostring(e):find("test_audit_runsq.lua:" .. line .. ":", 1, true), tostring(e))
  T.check_error("wb.Runs:stat: unknown metric 'silenced10'", rs.stat, rs, "a", "silenced10")
  T.check_error("wb.Runs:values: unknown metric 'gapp'", rs.values, rs, "a", "gapp")
  -- a measure no run recorded, far from every name there (epochs_to_target
  -- when no run reached the target: the hook returns nil), is n/a
  T.ok(rs:table{"epochs_to_target"}:find("| a | 2 | n/a |", 1, true))
  T.eq(rs:stat("a", "epochs_to_target"), nil)
  -- a final metric these runs lack (no validation: no gap) is n/a, not an error
  local nv = wb.runs.Runs{rec("t", "a", 1, {val = false})}
  T.ok(nv:table{"gap", "test_accuracy"}:find("| a | 1 | n/a | 91.00 % |", 1, true))
  -- runs that all diverged have no metrics: the seeds cell says so, no error
  local dv = wb.runs.Runs{rec("t", "a", 1, {status = "diverged"})}
  T.ok(dv:table{"test_accuracy"}:find("| 0 of 1 (1 diverged) | n/a |", 1, true))
  -- no names: test accuracy and loss (was "bad argument #1 ... got nil")
  T.ok(rs:table():find("| variant | seeds | test_accuracy | test_loss |\n", 1, true), rs:table())
end)

T.test("curves: a misspelt series is an error listing the series, nearest first", function()
  local rs = wb.runs.Runs{rec("t", "a", 1, {steps = true}), rec("t", "a", 2, {steps = true})}
  T.check_error("wb.Runs:plot_curves: unknown series 'val_los' (did you mean 'val_loss'?) "
    .. "(series of these runs, nearest first: val_loss, ", rs.plot_curves, rs, "val_los")
  T.check_error("wb.Runs:curve: unknown series 'test_accuracy'", rs.curve, rs, "a",
    "test_accuracy")
  T.check_error("wb.Runs:plot_curves: the list has no step series 'grad_nrm' (did you mean "
    .. "'grad_norm'?)", rs.plot_curves, rs, "grad_nrm", {x = "step"})
  local plain = wb.runs.Runs{rec("t", "a", 1)}
  T.check_error("step series of this run: none; history.steps is kept when the config sets "
    .. "log_every", plain.plot_curves, plain, "loss", {x = "step"})
  -- a Run's plot: the run's own series, and where a step series is drawn
  T.check_error("has no series 'los' (did you mean 'loss'?) (series of this run, nearest "
    .. "first: loss, ", rs[1].plot, rs[1], "los")
  T.check_error("'grad_norm' is a step series: wb.runs.find{hash = \"" .. rs[1].hash
    .. "\"}:plot_curves(\"grad_norm\", {x = \"step\"})", rs[1].plot, rs[1], "grad_norm")
  -- history.steps is no per-epoch series
  T.eq(wb.runs.series(rs[1], "steps"), nil)
  T.ok(tostring(rs:plot_curves("grad_norm", {x = "step"})):find("grad_norm", 1, true))
end)

T.test("a variant label the list does not have is an error listing those it has", function()
  local rs = wb.runs.Runs{rec("t", "dropout=0", 1), rec("t", "dropout=0.3", 1)}
  for _, m in ipairs{"of", "stat", "values", "curve"} do
    T.check_error("wb.Runs:" .. m .. ": unknown variant 'dropout=0.5' (did you mean "
      .. "'dropout=0.3'?) (variants of these runs, nearest first: dropout=0.3, dropout=0)",
      rs[m], rs, "dropout=0.5", m ~= "of" and "loss" or nil) -- of takes no name
  end
end)

T.test("the CSV exports of an empty list are errors: no header-only file", function()
  local dir = T.tmpdir()
  for _, f in ipairs{"export_csv", "export_history", "export_steps"} do
    T.check_error("wb.runs." .. f .. ": no runs in the run list; nothing written",
      wb.runs[f], dir .. "/x.csv", wb.runs.Runs{})
    T.ok(not wb.sys.exists(dir .. "/x.csv"), f)
  end
end)

T.test("weights_path, model, evaluate: a bad `which` names the method called", function()
  local r = rec("t", "a", 1)
  for _, m in ipairs{"weights_path", "model", "evaluate"} do
    T.check_error("wb.Run:" .. m .. ': which: expected "final" or "best", got "bset"',
      r[m], r, "bset")
  end
end)

-- }====

-- {==== wb.runs.find over a root the runner made ====

local trained = false
if pcall(wb.data.mnist) then
  local st1, _, err1 = T.sh(string.format("WB_ECHO=0 %s scripts/task05_dropout.lua --quick "
    .. "--seeds 2 --root %s", q(T.wb), q(base)))
  local st2, _, err2 = T.sh(string.format("WB_ECHO=0 %s scripts/task11_cockpit.lua --quick "
    .. "--seeds 1 --root %s", q(T.wb), q(base)))
  trained = st1 == 0 and st2 == 0
  T.test("tasks 5 and 11 --quick train into a temporary root", function()
    T.eq(st1, 0, err1); T.eq(st2, 0, err2)
  end)
end

if not trained then
  T.skip("wb.runs.find over real runs", "MNIST missing (make data) or training failed")
else
  T.test("find: a root or runs folder that does not exist is an error naming it", function()
    T.check_error("wb.runs.find: no runs folder " .. base .. "/nope/runs: root " .. base
      .. "/nope does not exist", wb.runs.find, {root = base .. "/nope"})
    -- --root DIR --quick writes to DIR/quick: the error says so
    T.check_error("wb.runs.find: no runs folder " .. base .. "/runs: root " .. base
      .. " has no runs folder (--quick runs are under its quick/ folder: root = \"" .. base
      .. "/quick\")", wb.runs.find, {root = base, task = "task05_dropout"})
    T.check_error("no runs folder " .. base .. "/x", wb.runs.find, {dir = base .. "/x"})
    T.check_error("wb.runs.find: root and dir both given", wb.runs.find,
      {root = root, dir = base .. "/x"})
    local st, _, err = T.sh("WB_PLOTS=" .. q(base .. "/nope") .. " " .. q(T.wb)
      .. " -e 'wb.runs.find{}'")
    T.eq(st, 1); T.ok(err:find("root " .. base .. "/nope does not exist", 1, true), err)
    T.eq(#wb.runs.find{root = base .. "/nope", allow_empty = true}, 0)
    T.check_error("allow_empty: expected a boolean, got number", wb.runs.find,
      {root = root, allow_empty = 1})
  end)

  T.test("find: a task without runs there is an error listing the tasks, nearest first",
      function()
    T.check_error("wb.runs.find: no runs of task 'dropout' in " .. root .. "/runs (did you "
      .. "mean 'task05_dropout'?) (tasks with runs there: task05_dropout (6 runs), "
      .. "task11_cockpit (6 runs); allow_empty = true returns an empty list)",
      wb.runs.find, {root = root, task = "dropout"})
    T.check_error("no runs of task 'cockpit'", wb.runs.find,
      {root = root, task = {"task05_dropout", "cockpit"}})
    T.eq(#wb.runs.find{root = root, task = "cockpit", allow_empty = true}, 0)
    T.eq(#wb.runs.find{root = root, task = {"task05_dropout", "task11_cockpit"}}, 12)
  end)

  T.test("find: a query matching nothing names the key and the values there", function()
    T.check_error("wb.runs.find: no run in " .. root .. "/runs matches {dropout = 0.5, task = "
      .. "\"task05_dropout\"} (dropout: the 6 runs the other keys match have 0, 0.1, 0.3",
      wb.runs.find, {root = root, task = "task05_dropout", dropout = 0.5})
    T.check_error("seed: the 6 runs the other keys match have 1, 2 (numbers; the query gives "
      .. "a string)", wb.runs.find, {root = root, task = "task05_dropout", seed = "1"})
    -- a list's value that is not there is not dropped in silence
    T.check_error("wb.runs.find: dropout = 0.5, in {dropout = {0, 0.5}, task = "
      .. "\"task05_dropout\"}, matches none of the 6 runs", wb.runs.find,
      {root = root, task = "task05_dropout", dropout = {0, 0.5}})
    T.eq(#wb.runs.find{root = root, task = "task05_dropout", dropout = {0, 0.5},
      allow_empty = true}, 2)
    T.eq(#wb.runs.find{root = root, status = "diverged", allow_empty = true}, 0)
    -- a table-valued config matches as a whole
    T.eq(#wb.runs.find{root = root, task = "task05_dropout",
      subset = {train = 2000, test = 500}}, 6)
    T.check_error("unknown key 'dropuot' (did you mean 'dropout'?)", wb.runs.find,
      {root = root, dropuot = 0})
  end)

  T.test("names over real runs: table, plot_curves, plot, export", function()
    local rs = wb.runs.find{root = root, task = "task05_dropout"}
    T.check_error("unknown column 'test_acuracy' (did you mean 'test_accuracy'?)", rs.table,
      rs, {"test_acuracy"})
    T.check_error("unknown series 'val_los' (did you mean 'val_loss'?)", rs.plot_curves, rs,
      "val_los")
    T.check_error("has no series 'los' (did you mean 'loss'?)", rs[1].plot, rs[1], "los")
    T.ok(rs:table{"test_accuracy", "silenced_50"}:find("| dropout=0.3 | 2 |", 1, true))
    local ck = wb.runs.find{root = root, task = "task11_cockpit"}
    T.check_error("no step series 'alpah' (did you mean 'alpha'?)", ck.plot_curves, ck,
      "alpah", {x = "step"})
    T.check_error("wb.runs.export_history: no runs in", wb.runs.export_history,
      base .. "/h.csv", wb.runs.find{root = root, task = "nope", allow_empty = true})
  end)

  T.test("help examples of the runs modules run as written against the runner's root",
      function()
    local mods = {"runs.lua", "runs_find.lua", "runs_load.lua", "runs_export.lua",
      "runs_export_steps.lua", "runs_fmt.lua",
      "runs_stats.lua", "runs_group.lua", "runs_steps.lua", "run.lua", "record.lua"}
    local script = base .. "/examples.lua"
    util.write_file(script, string.format([[
local mods = {}
for _, m in ipairs(%s) do mods[m] = true end
local seen, names = {}, {}
for name, e in pairs(wb.help._index()) do
  local file = e.file and e.file:match("[^/]*$")
  if not seen[e] and (mods[file] or name == "wb.load") then
    seen[e] = true; names[#names + 1] = name
  end
end
table.sort(names)
local n = 0
for _, name in ipairs(names) do
  local out, on = {}, false
  for _, l in ipairs(wb.help._index()[name].body) do
    if l:match("^Example") then on = true; out[#out + 1] = (l:gsub("^Example:%%s*", ""))
    elseif on then out[#out + 1] = l end
  end
  local code = table.concat(out, "\n")
  for task in code:gmatch('task = "([^"]+)"') do
    local f = io.open(%q .. "/scripts/" .. task .. ".lua")
    if f then f:close() else print("NOTASK " .. name .. ": " .. task) end
  end
  -- the receivers the examples name: a run list of task 5, two of its runs
  local rs = wb.runs.find{task = "task05_dropout"}
  local env = setmetatable({rs = rs, run = rs[1], other = rs[2], print = function() end},
    {__index = _G})
  local f, err = load(code, "=" .. name, "t", env)
  local ok = f ~= nil
  if f then ok, err = pcall(f) end
  n = n + 1
  if not ok then print("FAIL " .. name .. ": " .. tostring(err)) end
end
print("ran " .. n)
]], util.encode_json(mods):gsub("%[", "{"):gsub("%]", "}"), os.getenv("PWD") or "."))
    local cwd = T.tmpdir() -- the examples write runs.csv, plots/lab/... here
    local wbin = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
    local st, out, err = T.sh(string.format("cd %s && WB_PLOTS=%s TERM=dumb %s %s", q(cwd),
      q(root), q(wbin), q(script)))
    T.eq(st, 0, err)
    T.ok(not out:find("FAIL ", 1, true) and not out:find("NOTASK ", 1, true),
      out:gsub("\n[^FNr][^\n]*", ""))
    local n = tonumber(out:match("ran (%d+)"))
    T.ok(n and n >= 30, "examples run: " .. tostring(n))
    T.ok(wb.sys.exists(cwd .. "/steps.csv") and wb.sys.exists(cwd .. "/grad_hist.csv"),
      "the step exports of task 11 were written")
  end)
end

-- }====

T.done()
