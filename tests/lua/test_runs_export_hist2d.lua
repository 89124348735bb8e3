-- test_runs_export_hist2d.lua: wb.runs.export_grad_hist_2d
-- (wb/runs_export_hist2d.lua) over the records of a tiny experiment that
-- trains (grad_hist_2d every 2 steps, and a plain run): one row per run,
-- measured step and non-empty bin, every count the record's, each step's
-- counts summing to every per-sample entry, the plain run named and
-- skipped, the errors that write nothing; and pandas pivots a step's image.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local dir = T.tmpdir()
local task = dir .. "/exh.lua"
util.write_file(task, [[
return wb.task{name = "exh", experiment = {base = {hidden = 8, epochs = 1, batch_size = 50,
  subset = {train = 200, test = 100}}, seeds = {1},
  variants = {{label = "h2", instruments = {"grad_hist_2d"}, every = 2}, {label = "plain"}}},
  report = function(task, runs) end}
]])
local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", q(T.wb), q(task),
  q(dir .. "/root")))
local runs_dir = dir .. "/root/runs"
local recs = wb.runs.load_all(runs_dir)
local by = {}
for _, r in ipairs(recs) do by[r.variant] = r end

T.test("the experiment trained, h2 measured steps 1 and 3", function()
  T.eq(st, 0, err)
  T.eq(#recs, 2)
  T.eq(table.concat(by.h2.history.instruments.grad_hist_2d.step, ","), "1,3")
end)

T.test("export_grad_hist_2d: a row per run, step and non-empty bin, the record's counts", function()
  local path = dir .. "/h2.csv"
  local n, skipped = wb.runs.export_grad_hist_2d(path, runs_dir)
  T.eq(#skipped, 1); T.eq(skipped[1], by.plain.hash)
  local rows = T.csv_rows(path)
  local head = rows[1]
  local col = {}
  for i, k in ipairs(head) do col[k] = i end
  for _, k in ipairs{"hash", "label", "seed", "step", "x_lo", "x_hi", "x_bins", "y_lo", "y_hi",
    "y_bins", "x", "y", "count"} do T.ok(col[k], "column " .. k) end
  T.eq(#rows - 1, n)
  local g = by.h2.history.instruments.grad_hist_2d
  local seen, total = {}, {}
  for r = 2, #rows do
    local row = rows[r]
    local step, x, y = tonumber(row[col.step]), tonumber(row[col.x]), tonumber(row[col.y])
    local j = step == 1 and 1 or 2
    local c = tonumber(row[col.count])
    T.eq(c, g.counts[j][(x - 1) * 50 + y], "step " .. step .. " bin " .. x .. "," .. y)
    T.ok(c > 0, "no empty bin written")
    T.eq(row[col.hash], by.h2.hash)
    seen[j] = (seen[j] or 0) + 1
    total[j] = (total[j] or 0) + c
  end
  for j = 1, 2 do
    local nonzero = 0
    for _, c in ipairs(g.counts[j]) do if c ~= 0 then nonzero = nonzero + 1 end end
    T.eq(seen[j], nonzero, "every non-empty bin of step " .. j)
    T.eq(total[j], 50 * (784 * 8 + 8 + 8 * 10 + 10), "every per-sample entry of step " .. j)
  end
end)

T.test("export_grad_hist_2d: errors write nothing", function()
  local keep = dir .. "/keep.csv"
  util.write_file(keep, "old\n")
  T.check_error("wb.runs.export_grad_hist_2d: the run of the run list has no grad_hist_2d",
    wb.runs.export_grad_hist_2d, keep, {by.plain})
  local bad = {hash = "b", task = "t", variant = "v", seed = 1, history = {instruments =
    {grad_hist_2d = {x_lo = -1, x_hi = 1, x_bins = 2, y_lo = -2, y_hi = 2, y_bins = 2,
      step = {1}, counts = {{1, 2, 3}}}}}}
  T.check_error("wb.runs.export_grad_hist_2d: t-b (v seed 1): grad_hist_2d counts[1]: expected "
    .. "4 counts, got 3 counts; nothing written", wb.runs.export_grad_hist_2d, keep, {bad})
  bad.history.instruments.grad_hist_2d.counts[1][4] = 4
  bad.history.instruments.grad_hist_2d.step[2] = 3
  T.check_error("grad_hist_2d step: expected 1 steps (one per counts), got 2; nothing written",
    wb.runs.export_grad_hist_2d, keep, {bad})
  bad.history.instruments.grad_hist_2d.step[2] = nil
  bad.history.instruments.grad_hist_2d.counts[1][2] = "2"
  T.check_error("grad_hist_2d counts[1][2]: expected a number, got string; nothing written",
    wb.runs.export_grad_hist_2d, keep, {bad})
  T.check_error("bad argument #1 to 'export_grad_hist_2d' (string expected, got nil)",
    wb.runs.export_grad_hist_2d)
  T.eq(util.read_file(keep), "old\n", "the file is untouched")
end)

local PY = T.python_with("pandas")
if PY then
  T.test("pandas pivots a step's image from the file", function()
    local path = dir .. "/h2p.csv"
    wb.runs.export_grad_hist_2d(path, {by.h2})
    local ok, out, e = T.sh(PY .. " -c " .. q("import pandas as pd; d = pd.read_csv('" .. path
      .. "'); m = d[d.step == 3].pivot(index='y', columns='x', values='count').fillna(0); "
      .. "print(int(m.values.sum()))"))
    T.eq(ok, 0, e)
    T.eq(tonumber(out:match("%d+")), 50 * (784 * 8 + 8 + 8 * 10 + 10))
  end)
end

T.done()
