-- The trust audit of the statistics and the run records, against Python:
-- Welch's test, the bands' intervals and the one-sample test checked
-- against scipy (Debian's python3-scipy), and the CSV exports read back by
-- csv and pandas, where present (skipped otherwise). The defects the audit
-- found are test_audit_stats.lua. Records are written by hand: nothing trains.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local nan = 0 / 0


-- Runs python code on a JSON input file; returns its stdout.
local function python(py, code, input)
  local dir = T.tmpdir()
  util.write_file(dir .. "/in.json", util.encode_json(input))
  util.write_file(dir .. "/p.py", code)
  local st, out, err = T.sh(py .. " " .. dir .. "/p.py " .. dir .. "/in.json")
  T.eq(st, 0, err)
  return out
end

-- A run record by hand: variant v, seed, metrics m (and a history h).
local function rec(v, seed, m, h, status, task)
  return {hash = string.format("%s%04d", v:gsub("%W", ""), seed), task = task or "t",
    variant = v, seed = seed, status = status or "ok", group_key = "g-" .. v,
    config = {hidden = 8, seed = seed, v = v}, metrics = m, history = h}
end

-- {==== against scipy ====

local scipy_py = T.python_with("scipy.stats")

-- Welch cases: n = 2, 3, 5 a side, ties, one side constant, both constant
-- and equal, both constant and different; and 90 % intervals.
local cases = {
  {{0.97, 0.98}, {0.95, 0.96}}, {{0.97, 0.98, 0.975}, {0.95, 0.96, 0.955}},
  {{1, 2, 3, 4, 5}, {2, 3, 4, 5, 9}}, {{1, 1, 2}, {1, 2, 2}}, {{0.5, 0.5}, {0.5, 0.6}},
  {{0.98, 0.98, 0.98, 0.98, 0.98}, {0.97, 0.98, 0.97, 0.98, 0.97}},
  {{3, 3, 4}, {5, 5, 6, 5, 6}}, {{0.9812, 0.9790}, {0.9755, 0.9801, 0.9760, 0.9772, 0.9790}},
  {{2, 2, 2}, {5, 5, 5}}, {{2, 2}, {2, 2}},
}

T.test("scipy: Welch's p, df and interval at n = 2, 3, 5, ties, zero variance", function()
  if not scipy_py then T.missing("python3-scipy") end
  local out = python(scipy_py, [[
import sys, json, warnings
import numpy as np
from scipy import stats
warnings.simplefilter("ignore")
for a, b in json.load(open(sys.argv[1])):
    a, b = np.array(a, float), np.array(b, float)
    r = stats.ttest_ind(a, b, equal_var=False)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    for conf in (0.95, 0.90):
        if va + vb > 0:
            df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
            h = stats.t.ppf(0.5 + conf / 2, df) * np.sqrt(va + vb)
        else:
            df, h = float("nan"), float("nan")
        print("%.17g %.17g %.17g %.17g %d" % (a.mean() - b.mean(), r.pvalue, df, h,
                                           va + vb == 0))
]], cases)
  local i = 0
  for line in out:gmatch("[^\n]+") do
    i = i + 1
    local c, conf = cases[(i + 1) // 2], i % 2 == 1 and 0.95 or 0.90
    local d, p, df, h, flat = line:match("(%S+) (%S+) (%S+) (%S+) (%S+)")
    local function num(x) return x:find("nan") and nan or tonumber(x) end
    d, p, df, h = num(d), num(p), num(df), num(h)
    local w = wb.welch(c[1], c[2], {confidence = conf})
    local what = string.format("case %d (%s vs %s), %g", (i + 1) // 2,
      table.concat(c[1], " "), table.concat(c[2], " "), conf)
    T.near(w.diff, d, 1e-15, what)
    if flat == "1" then
      -- both sides constant: scipy's df and interval are NaN, its p NaN for
      -- equal means and 0 for different ones (t = +-inf); ours is NaN for
      -- both (a p of 0 from two equal seeds a side is no evidence)
      T.ok(df ~= df and h ~= h, what .. ": scipy's df and interval are NaN")
      T.ok(w.no_spread and w.p ~= w.p and w.df ~= w.df and w.half ~= w.half
        and w.lo ~= w.lo and w.hi ~= w.hi, what .. ": NaN p, df and interval")
      T.ok(p ~= p or p == 0, what .. ": scipy's p")
    else
      T.ok(not w.no_spread, what)
      T.near(w.half, h, 1e-8 * math.max(h, 1e-12), what .. ": half-width")
      T.near(w.p, p, 1e-9 * math.max(p, 1e-300), what .. ": p")
      T.near(w.df, df, 1e-9 * df, what .. ": df")
    end
  end
  T.eq(i, 2 * #cases, out)
  -- constant sides, different or equal: the rank test's exact p, not
  -- decided at 3 or 2 seeds a side (it was "a is better, CI [-3, -3], p = 0")
  for _, c in ipairs{{{2, 2, 2}, {5, 5, 5}, "0.1"}, {{2, 2}, {3, 3}, "0.33"},
      {{2, 2}, {2, 2}, "1"}} do
    local v, _, clause = wb.compare.decide(c[1], c[2], "x", "lower")
    T.eq(v, "not decided", clause)
    T.ok(clause:find("no spread in either group (all values equal): p = " .. c[3]
      .. " (rank test, exact", 1, true), clause)
    T.ok(not clause:find("CI"), clause)
  end
end)

T.test("scipy: the bands' interval of a mean and the one-sample test", function()
  if not scipy_py then T.missing("python3-scipy") end
  local lists = {{1, 2}, {1, 2, 4}, {0.1, 0.2, 0.3, 0.4, 0.5}, {0.97, 0.98, 0.98},
    {3, 3, 3, 4, 3}, {-0.01, 0.02, 0.005, 0.03, -0.004}}
  local out = python(scipy_py, [[
import sys, json
import numpy as np
from scipy import stats
for xs in json.load(open(sys.argv[1])):
    xs = np.array(xs, float)
    h = stats.t.ppf(0.975, len(xs) - 1) * xs.std(ddof=1) / np.sqrt(len(xs))
    r = stats.ttest_1samp(xs, 0.0)
    print("%.17g %.17g %.17g %.17g" % (xs.mean(), xs.std(ddof=1), h, r.pvalue))
]], lists)
  local i = 0
  for line in out:gmatch("[^\n]+") do
    i = i + 1
    local xs = lists[i]
    local m, s, h, p = line:match("(%S+) (%S+) (%S+) (%S+)")
    m, s, h, p = tonumber(m), tonumber(s), tonumber(h), tonumber(p)
    local lm, ls = wb.runs.mean_std(xs)
    T.near(lm, m, 1e-15 * math.max(1, math.abs(m)), "mean " .. i)
    T.near(ls, s, 1e-12 * s, "sd " .. i)
    T.near(wb.inference.ci_half(xs), h, 1e-8 * h, "ci half " .. i)
    -- the one-sample test of claims.lua's positive(): t = m / (s / sqrt(n))
    T.near(wb.inference.t_two_sided(math.abs(lm) / (ls / math.sqrt(#xs)), #xs - 1), p,
      1e-9 * math.max(p, 1e-300), "one-sample p " .. i)
  end
  T.eq(i, #lists, out)
  -- a curve's band is this interval, over the seeds at each epoch
  local rs = wb.runs.Runs{rec("a", 1, {}, {loss = {1, 0.97}}), rec("a", 2, {}, {loss = {2, 0.98}}),
    rec("a", 3, {}, {loss = {4, 0.98}})}
  local _, _, _, ci = require("wb.runs_stats").raw.curve(rs.records, "loss")
  T.near(ci[1], wb.inference.ci_half({1, 2, 4}), 1e-15)
end)

-- }====

-- {==== exports read back by Python ====

T.test("exports read back by csv and pandas: NaN, inf, diverged, missing series", function()
  local py = T.python_with("pandas")
  if not py then T.missing("python3-pandas") end
  local dir = T.tmpdir()
  local a = rec("a", 1, {test_accuracy = 0.9, best_epoch = 3},
    {loss = {0.5, nan, 0.25}, val_loss = {0.6, 0.5, 0.4},
      steps = {step = {1, 2, 3}, loss = {1, nan, math.huge}}})
  a.config.note = 'a,b"c'
  local b = rec("a", 2, nil, {loss = {0.5}}, "diverged")
  local c = rec("b", 1, {test_accuracy = nan, best_epoch = 2}, {})
  c.config.hidden, c.config.flag = {4, 2}, true
  local recs = {a, b, c}
  T.eq(wb.runs.export_csv(dir .. "/final.csv", recs), 3)
  T.eq(wb.runs.export_history(dir .. "/hist.csv", recs), 6)
  T.eq(wb.runs.export_steps(dir .. "/steps.csv", recs), 3)
  local out = python(py, [[
import sys, csv, json
import pandas as pd
d = json.load(open(sys.argv[1]))["dir"]
for f in ("final", "hist", "steps"):
    p = "%s/%s.csv" % (d, f)
    rows = list(csv.reader(open(p, newline="")))
    widths = sorted({len(r) for r in rows})
    t = pd.read_csv(p)
    print(f, len(rows) - 1, widths, t.shape[0], t.shape[1])
    if f == "final":
        print(str(t["test_accuracy"].dtype), int(t["test_accuracy"].isna().sum()),
              str(t["seed"].dtype), t["config.note"].iloc[0], t["status"].tolist())
    if f == "hist":
        print(str(t["value"].dtype), t[t.metric == "loss"].epoch.tolist())
    if f == "steps":
        print(t["loss"].tolist())
]], {dir = dir})
  T.eq(out, table.concat({
    -- the columns of what made a run (script, hooks_read; steps: git_commit,
    -- git_uncommitted and command too) in every row
    "final 3 [19] 3 19",
    "float64 2 int64 a,b\"c ['ok', 'diverged', 'ok']",
    "hist 6 [20] 6 20",
    "float64 [1, 3, 1]", -- epoch 2 of a's loss was NaN: no row
    "steps 3 [19] 3 19",
    "[1.0, nan, inf]"}, "\n") .. "\n")
end)

-- }====

T.done()
