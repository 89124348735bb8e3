-- test_runs_export_steps.lua: wb.runs.export_steps and export_grad_hist
-- (wb/runs_export_steps.lua) over the records of a tiny experiment that
-- trains (instruments every step, log_every only, neither): the header, one
-- row per run and recorded step, every cell equal to the record's value
-- (an empty cell where the record holds null), runs without the data named,
-- the errors that write nothing; and the per-epoch export keeps the epochs
-- after a null.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local rows_of = T.csv_rows

local ID = {"hash", "task", "variant", "label", "seed", "group_key", "status"}

-- The columns of a row as a table by header name.
local function by_name(head, row)
  local t = {}
  for i, k in ipairs(head) do t[k] = row[i] end
  return t
end

-- A cell against the record's value: the exact number, or empty for null (NaN read back).
local function same(c, v, what)
  if v == nil or v ~= v then T.eq(c, "", what .. " (null)")
  else T.eq(tonumber(c), v, what) end
end

-- {==== a tiny experiment ====

local dir = T.tmpdir()
local task = dir .. "/exs.lua"
util.write_file(task, [[
return wb.task{name = "exs", experiment = {base = {hidden = 8, epochs = 2, batch_size = 50,
  subset = {train = 200, test = 100}}, seeds = {1},
  variants = {{label = "econ", instruments = "economy"}, {label = "logged", log_every = 3},
    {label = "plain"}}},
  report = function(task, runs) end}
]])
local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", q(T.wb), q(task),
  q(dir .. "/root")))
local runs_dir = dir .. "/root/runs"
local recs = wb.runs.load_all(runs_dir)
local by_variant = {}
for _, r in ipairs(recs) do by_variant[r.variant] = r end
local econ, logged, plain = by_variant.econ, by_variant.logged, by_variant.plain

T.test("the experiment trained its three runs, econ with instruments every step", function()
  T.eq(st, 0, err)
  T.eq(#recs, 3)
  T.eq(#econ.history.steps.step, 8, "2 epochs of 4 steps (180 rows of 50)")
  T.eq(table.concat(logged.history.steps.step, ","), "3,6")
  T.eq(plain.history.steps, nil)
  -- alpha needs the next step: null at the last, which the export must keep; read back
  -- NaN, as the History had it (a hole made # and ipairs stop short: tryAA B1)
  local a = econ.history.steps.alpha
  T.ok(a[8] ~= a[8], "NaN at the last step"); T.eq(type(a[7]), "number"); T.eq(#a, 8)
end)

-- }====
-- {==== export_steps ====

local steps_path, steps_rows
T.test("export_steps: one row per run and step, every series a column, exact values", function()
  local path = dir .. "/steps.csv"
  local n, skipped = wb.runs.export_steps(path, runs_dir)
  T.eq(n, 8 + 2)
  T.eq(#skipped, 1); T.eq(skipped[1], plain.hash)
  local rows = rows_of(path)
  T.eq(#rows, n + 1)
  local head = rows[1]
  for i, r in ipairs(rows) do T.eq(#r, #head, "fields of row " .. i) end
  -- identity, config (the union over the exported runs), step, epoch, series
  local h = table.concat(head, ",")
  T.eq(table.concat(head, ",", 1, 7), table.concat(ID, ","))
  T.ok(h:find(",config.instruments,", 1, true) and h:find(",config.log_every,", 1, true), h)
  T.ok(h:find(",config.validation,step,epoch,accuracy,alpha,batch_size,distance,distance_1,"
    .. "distance_2,grad_norm,grad_norm_1,grad_norm_2,inner_test,loss,lr,norm_test,ortho_test,"
    .. "update_size,update_size_1,update_size_2$"), h)
  local series, first = {}, nil
  for i, k in ipairs(head) do
    if k == "step" then first = i end
    if first then series[#series + 1] = k end
  end
  T.eq(#series, 19)
  -- 19 config columns: the optimizer's options are filled in (adam's lr, beta1, beta2, eps)
  T.eq(first, 7 + 5 + 19 + 1, "7 identity, 5 trace and 19 config columns")
  -- every cell against the record, run by run in file order (by hash: a
  -- run's hash moves with the library's source, so either may come first)
  local order = {econ, logged}
  table.sort(order, function(a, b) return a.hash < b.hash end)
  local at, empties, first_row, last_row = 2, 0, {}, {}
  for _, r in ipairs(order) do
    local s = r.history.steps
    first_row[r] = at
    last_row[r] = at + #s.step - 1
    for j = 1, #s.step do
      local c = by_name(head, rows[at])
      T.eq(c.hash, r.hash); T.eq(c.variant, r.variant); T.eq(c.seed, tostring(r.seed))
      T.eq(c.label, r.variant)
      T.eq(c.group_key, wb.record.group_key(r)); T.eq(c.status, "ok")
      -- what made the run, as export_csv says it (audit I 7c)
      T.eq(c.git_commit, r.git_commit or ""); T.eq(c.command, r.command)
      T.eq(c.git_uncommitted, r.git_uncommitted and tostring(r.git_uncommitted) or "")
      T.eq(c["config.hidden"], "8"); T.eq(c["config.subset.train"], "200")
      for _, k in ipairs(series) do
        same(c[k], s[k] and s[k][j], string.format("%s step %d %s", r.variant, j, k))
        if c[k] == "" then empties = empties + 1 end
      end
      at = at + 1
    end
  end
  -- econ's last alpha; logged has only its 6 series (the rest empty)
  T.eq(by_name(head, rows[last_row[econ]]).alpha, "")
  T.eq(empties, 1 + 2 * (19 - 6))
  T.eq(by_name(head, rows[first_row[logged]])["config.instruments"], "")
  steps_path, steps_rows = path, n
end)

T.test("export_steps: a wb.Runs, NaN held in memory, series names with numbers", function()
  local rs = wb.runs.find{dir = runs_dir, variant = "logged"}
  T.eq((wb.runs.export_steps(dir .. "/l.csv", rs)), 2)
  local r = {hash = "00000000000000aa", task = "t", variant = "v", seed = 1, status = "ok",
    config = {}, history = {steps = {step = {1, 2, 3}, grad_norm_10 = {1, 0 / 0, 3},
      grad_norm_2 = {0.1, 0.2}, epoch = {1, 1, 1}}}}
  T.eq((wb.runs.export_steps(dir .. "/m.csv", {r})), 3)
  local rows = rows_of(dir .. "/m.csv")
  T.eq(table.concat(rows[1], ",", 8), "git_commit,git_uncommitted,command,script,hooks_read,"
    .. "step,epoch,grad_norm_2,grad_norm_10")
  T.eq(table.concat(rows[3], ",", 13), "2,1,0.2,")
  T.eq(table.concat(rows[4], ",", 13), "3,1,,3", "a short list is null at its end")
end)

T.test("export_steps: runs without step series are named on stderr", function()
  local st2, out, e2 = T.sh(string.format("%s -e %s", q(T.wb), q(string.format(
    "local n, s = wb.runs.export_steps(%q, %q); io.write(n, ' ', #s)", dir .. "/s2.csv",
    runs_dir))))
  T.eq(st2, 0, e2); T.eq(out, "10 1")
  T.eq(e2, string.format("wb.runs.export_steps: 1 of 3 runs have no step series (history.steps: "
    .. "set log_every, or instruments and every, in the config), not in the file: "
    .. "exs-%s (plain seed 1)\n", plain.hash))
end)

T.test("export_steps, export_grad_hist: errors write nothing", function()
  local keep = dir .. "/keep.csv"
  util.write_file(keep, "old\n")
  local function untouched() T.eq(util.read_file(keep), "old\n", "the file is untouched") end
  T.check_error("wb.runs.export_steps: no runs folder " .. dir .. "/nope; nothing written",
    wb.runs.export_steps, keep, dir .. "/nope")
  untouched()
  T.check_error("wb.runs.export_history: no runs folder " .. dir .. "/nope; nothing written",
    wb.runs.export_history, keep, dir .. "/nope")
  untouched()
  local err = T.check_error("wb.runs.export_steps: the run of the run list has no step series "
    .. "(history.steps: set log_every", function() wb.runs.export_steps(keep, {plain}) end)
  T.ok(err:find("^tests/lua/test_runs_export_steps.lua:%d+:"), "at the caller: " .. err)
  untouched()
  T.check_error("wb.runs.export_grad_hist: none of the 2 runs of the run list has grad_hist",
    wb.runs.export_grad_hist, keep, {plain, logged})
  untouched()
  local empty = dir .. "/empty"
  os.execute("mkdir -p " .. q(empty))
  T.check_error("wb.runs.export_steps: no runs in " .. empty .. "; nothing written",
    wb.runs.export_steps, keep, empty)
  untouched()
  -- a path under a file cannot be written
  err = T.check_error("wb.runs.export_steps: ", function()
    wb.runs.export_steps(keep .. "/x.csv", runs_dir) end)
  T.ok(err:find(keep, 1, true), err)
  untouched()
  local bad = {hash = "b", task = "t", variant = "v", seed = 1, history = {instruments =
    {grad_hist = {lo = -1, hi = 1, bins = 4, step = {1, 2}, counts = {{1, 2, 3, 4}, {1, 2}}}}}}
  T.check_error("wb.runs.export_grad_hist: t-b (v seed 1): grad_hist counts[2]: expected 4 "
    .. "counts, got 2 counts; nothing written", wb.runs.export_grad_hist, keep, {bad})
  untouched()
  T.check_error("bad argument #1 to 'export_steps' (string expected, got nil)",
    wb.runs.export_steps)
  T.check_error("bad argument #2 to 'export_grad_hist' (runs folder or run list expected, "
    .. "got number)", wb.runs.export_grad_hist, "x.csv", 3)
end)

-- }====
-- {==== export_grad_hist ====

T.test("export_grad_hist: one row per run and measured step, the counts as columns", function()
  local path = dir .. "/gh.csv"
  local n, skipped = wb.runs.export_grad_hist(path, runs_dir)
  local gh = econ.history.instruments.grad_hist
  T.eq(n, 8); T.eq(#gh.step, 8)
  T.eq(#skipped, 2)
  local rows = rows_of(path)
  T.eq(#rows, n + 1)
  local head = rows[1]
  local h = table.concat(head, ",")
  T.ok(h:find(",config.validation,step,lo,hi,count_1,count_2,", 1, true), h)
  T.eq(head[#head], "count_64"); T.eq(head[#head - 64], "hi")
  for j = 1, n do
    local row = rows[j + 1]
    T.eq(#row, #head)
    local c = by_name(head, row)
    T.eq(c.hash, econ.hash); T.eq(tonumber(c.step), gh.step[j])
    T.eq(c.lo, "-1"); T.eq(c.hi, "1")
    local sum = 0
    for b = 1, 64 do
      T.eq(math.tointeger(tonumber(c["count_" .. b])), gh.counts[j][b], "bin " .. b)
      sum = sum + gh.counts[j][b]
    end
    T.ok(sum > 0, "a histogram of step " .. j)
  end
end)

-- }====
-- {==== export_history: nulls inside a series ====

T.test("export_history: the epochs after a null and a series that starts with one", function()
  local r = {hash = "00000000000000ab", task = "t", variant = "v", seed = 1, status = "ok",
    config = {}, history = {loss = {1, 0 / 0, 3}, val_loss = {0 / 0, 2}}}
  local p = dir .. "/r/t-00000000000000ab.json"
  util.write_json(p, util.plain(r))
  for _, src in ipairs{dir .. "/r", {r}} do -- read back (null) and in memory (NaN)
    T.eq(wb.runs.export_history(dir .. "/h.csv", src), 3)
    local rows = rows_of(dir .. "/h.csv")
    local got = {}
    -- (after the trace columns: git_commit, git_uncommitted, command, script, hooks_read)
    for i = 2, #rows do got[#got + 1] = table.concat(rows[i], "|", 13) end
    T.eq(table.concat(got, " "), "1|loss|1 3|loss|3 2|val_loss|2")
  end
end)

-- }====
-- {==== python reads the step export ====

-- pandas is not needed: python3's csv module checks the shape and that
-- every series cell is empty or a float; skipped without python3.
local py = [[
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
head = rows[0]
first = head.index("step")
for r in rows[1:]:
    for c in r[first:]:
        if c != "": float(c)
print(len(rows) - 1, len(head), len({len(r) for r in rows}), head[first:first + 3])
]]
local pst, pout = 1, ""
if steps_path then
  util.write_file(dir .. "/read.py", py)
  pst, pout = T.sh("python3 " .. q(dir .. "/read.py") .. " " .. q(steps_path))
end
T.test("python3's csv module reads the step export: equal rows, floats or empty", function()
  T.ok(steps_path, "the export was not written")
  T.eq(pst, 0, "python3 reading the export: " .. pout)
  T.eq(pout, string.format("%d 50 1 ['step', 'epoch', 'accuracy']\n", steps_rows))
end)

-- }====

T.done()
