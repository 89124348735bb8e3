-- test_runs_export_cells.lua: what export_csv's cells say to a reader who
-- has only the CSV, over records written by hand (nothing trains): a
-- measure recorded false (a target never reached) is the word never, not
-- the empty cell of a missing value that pandas averaged past (tryO F5).
local T = dofile("tests/lua/harness.lua")

-- A record of variant v and seed s with final metrics m and measures ms.
local n_written = 0
local function rec(v, s, m, ms)
  n_written = n_written + 1
  return {hash = string.format("%016x", n_written), task = "t", variant = v, seed = s,
    config = {seed = s, hidden = 8}, status = "ok", history = {loss = {1, 0.5}},
    metrics = m, measures = ms}
end

-- The rows of the CSV at path as tables keyed by the header's names.
local function rows_of(path)
  local rows, out = T.csv_rows(path), {}
  for i = 2, #rows do
    out[i - 1] = {}
    for j, k in ipairs(rows[1]) do out[i - 1][k] = rows[i][j] end
  end
  return out, rows[1]
end

T.test("export_csv: a measure recorded false is 'never', a missing value empty", function()
  local dir = T.tmpdir()
  local recs = {
    rec("a", 1, {test_accuracy = 0.9, epochs_to_target = 2}, {epochs_to_target = 2}),
    rec("a", 2, {test_accuracy = 0.8}, {epochs_to_target = false, all_false = false}),
    rec("a", 3, {test_accuracy = 0.85}, {}), -- no such measure: missing, empty
    rec("a", 4, {}, {flag = true}),
    rec("a", 5, {}, {flag = false}), -- a yes/no measure's false is not "never"
  }
  T.eq(wb.runs.export_csv(dir .. "/m.csv", recs), 5)
  local rows, head = rows_of(dir .. "/m.csv")
  local by = {}
  for _, r in ipairs(rows) do by[r.seed] = r end
  T.eq(by["1"].epochs_to_target, "2")
  T.eq(by["2"].epochs_to_target, "never")
  T.eq(by["3"].epochs_to_target, "")
  T.eq(by["4"].epochs_to_target, "")
  -- a measure every run that has it recorded false still has its column
  T.eq(by["2"].all_false, "never")
  T.eq(by["1"].all_false, "")
  T.ok(not table.concat(head, ","):find("flag", 1, true), table.concat(head, ","))
  T.eq(by["2"].test_accuracy, "0.8")
end)

-- best_val_accuracy (the highest of any epoch) and best_val_loss (val_loss
-- at best_epoch) sit side by side in the CSV and read as one epoch's pair
-- (tryO F5: restored weights of val_accuracy 0.7 beside best_val_accuracy
-- 0.8); the export's own documentation says which is which.
T.test("export_csv's help and README define best_val_loss and best_val_accuracy", function()
  local help = wb.help.text(wb.runs.export_csv):gsub("%s*\n%-*%s*", " ")
  T.ok(help:find("best_val_loss is val_loss at best_epoch", 1, true), help)
  T.ok(help:find("best_val_accuracy the highest val_accuracy of any epoch", 1, true), help)
  local readme = T.slurp("README.md"):gsub("\n", " ")
  T.ok(readme:find("`best_val_loss` is the `val_loss` at `best_epoch`", 1, true))
  T.ok(readme:find("`best_val_accuracy` the highest `val_accuracy` of any epoch", 1, true))
  local run = wb.help.text(wb.runs.Run):gsub("%s*\n%-*%s*", " ")
  T.ok(run:find("best_val_accuracy (the highest val_accuracy of any epoch: not best_epoch's", 1,
    true), run)
end)

-- {==== README's read_csv recipe ====

-- README's recipe (the keywords of its snippet's read_csv of the history
-- export) reads labels pandas takes for NaN by default (nan, NA, null; None
-- from pandas 2.0) as the texts they are, an empty cell as NaN, and never as
-- text. (tryO F5: a variant "nan" read back as NaN.)
T.test("README's read_csv recipe: labels nan, NA, None, null stay text", function()
  local py = T.python_with("pandas")
  if not py then T.missing("python3-pandas") end
  local readme = T.slurp("README.md")
  local kw = T.ok(readme:match('read_csv%("plots/history%.csv",%s*(.-)%)'), "no recipe")
  local dir, recs = T.tmpdir(), {}
  for i, v in ipairs{"nan", "NA", "None", "null"} do
    recs[i] = rec(v, 1, {test_accuracy = 0.5 + i / 10, epochs_to_target = i < 4 and i or nil},
      {epochs_to_target = i < 4 and i or nil})
  end
  recs[5] = rec("b", 1, {test_accuracy = 0.9}, {epochs_to_target = false})
  wb.runs.export_csv(dir .. "/m.csv", recs)
  wb.runs.export_history(dir .. "/h.csv", recs)
  require("wb.util").write_file(dir .. "/r.py", string.format([=[
import pandas
d = pandas.read_csv(%q, %s)
assert list(d.variant) == ["nan", "NA", "None", "null", "b"], list(d.variant)
assert list(d.label) == list(d.variant), list(d.label)
assert d.test_accuracy.dtype == "float64", d.test_accuracy.dtype
assert list(d.epochs_to_target)[:3] == ["1", "2", "3"], list(d.epochs_to_target)
e = list(d.epochs_to_target)[3:]
assert e[0] != e[0] and e[1] == "never", e  # empty: missing (NaN); never: text
h = pandas.read_csv(%q, %s)
assert sorted(set(h.variant)) == sorted(["nan", "NA", "None", "null", "b"]), set(h.variant)
assert h.value.dtype == "float64" and h.hooks_read.isna().all(), h.dtypes
print("ok")
]=], dir .. "/m.csv", kw, dir .. "/h.csv", kw))
  local st, out, err = T.sh(py .. " " .. T.quote(dir .. "/r.py"))
  T.eq(st, 0, out .. (err or ""))
  T.eq(out, "ok\n")
end)

-- }====

T.done()
