-- wb.welch, wb.stats: known answers, and scipy (Debian's python3-scipy,
-- ttest_ind(equal_var=False) and t.ppf) on the same numbers when present.
local T = dofile("tests/lua/harness.lua")

T.test("known answers: t quantiles, Holm, equal samples", function()
  T.near(wb.inference.t_quantile(0.05, 2), 4.302652729911275, 1e-9)
  T.near(wb.inference.t_quantile(0.05, 30), 2.042272456301238, 1e-9)
  T.near(wb.inference.t_quantile(0.01, 1), 63.65674116287399, 1e-7)
  local rej, adj = wb.inference.holm({0.01, 0.04, 0.03})
  T.eq(rej[1], true); T.eq(rej[2], false); T.eq(rej[3], false)
  T.near(adj[1], 0.03, 1e-12); T.near(adj[3], 0.06, 1e-12); T.near(adj[2], 0.06, 1e-12)
  local w = wb.welch({1, 2, 3}, {1, 2, 3})
  T.eq(w.diff, 0); T.near(w.p, 1, 1e-12); T.ok(w.lo < 0 and w.hi > 0)
  local one = wb.welch({1}, {1, 2, 3})
  T.eq(one.p, nil, "one seed a side: nothing decided"); T.eq(one.lo, nil)
  T.check_error("bad argument #1 to 'welch'", wb.welch, nil, {1, 2})
  T.check_error("bad argument #2 to 'welch'", wb.welch, {1, 2}, {1, "x"})
end)

-- Audit T8: the squares of a variance overflowed beyond about 1e154 (p,
-- t and df NaN, then an error from inside holm) and underflowed below
-- about 1e-154; t, df and p do not depend on the unit. Scaled by powers of
-- ten, every quantity must equal the unscaled one's, times the unit for
-- diff, the interval and the sds (scipy: p 0.041914517471454, t
-- -3.16227766016838 for the unscaled lists).
T.test("welch and ci_half hold at any scale: 1e200 and 1e-170 as at 1", function()
  local a, b = {1, 2, 3}, {4, 5, 7}
  local w1 = wb.welch(a, b)
  T.near(w1.p, 0.041914517471454, 1e-12); T.near(w1.t, -3.1622776601683795, 1e-12)
  for _, unit in ipairs({1e200, 1e-170, 1e300, 1e-300}) do
    local as, bs = {}, {}
    for i, x in ipairs(a) do as[i] = x * unit end
    for i, x in ipairs(b) do bs[i] = x * unit end
    local w = wb.welch(as, bs)
    local what = string.format("unit %g", unit)
    T.near(w.p, w1.p, 1e-12, "p, " .. what); T.near(w.t, w1.t, 1e-12, "t, " .. what)
    T.near(w.df, w1.df, 1e-12, "df, " .. what)
    for _, k in ipairs({"diff", "lo", "hi", "half", "sd_a", "sd_b", "mean_a"}) do
      T.near(w[k] / unit, w1[k], 1e-12 * math.abs(w1[k]), k .. ", " .. what)
    end
    T.near(wb.inference.ci_half(as) / unit, wb.inference.ci_half(a), 1e-12, "ci_half, " .. what)
  end
  -- the audit's case: the other side's spread is negligible, df = 2
  local w = wb.welch({1e200, 2e200, 3e200}, {1, 2, 3})
  T.near(w.t, math.sqrt(12), 1e-12); T.near(w.df, 2, 1e-12)
  T.near(w.p, 0.07417990022744858, 1e-12)
end)

local py = "/usr/bin/python3"
local have_scipy = os.execute(py .. " -c 'import scipy.stats' 2>/dev/null")
T.test("Welch p-values and intervals match scipy on 24 cases", function()
  if not have_scipy then T.missing("python3-scipy") end
  math.randomseed(7)
  local cases = {}
  for c = 1, 24 do
    local na, nb = 2 + c % 5, 2 + (c * 7) % 6 -- unequal n
    local a, b = {}, {}
    for i = 1, na do a[i] = 0.9 + 0.01 * math.random() end
    for i = 1, nb do b[i] = 0.9 + 0.001 * c + 0.03 * (c % 3 + 1) * math.random() end
    cases[c] = {a, b}
  end
  local function list(xs)
    local p = {}
    for i, x in ipairs(xs) do p[i] = string.format("%.17g", x) end
    return "[" .. table.concat(p, ",") .. "]"
  end
  local lines = {}
  for _, c in ipairs(cases) do lines[#lines + 1] = list(c[1]) .. ";" .. list(c[2]) end
  local f = os.tmpname()
  local fh = io.open(f, "w"); fh:write(table.concat(lines, "\n"), "\n"); fh:close()
  local p = io.popen(py .. [[ -c '
import sys, json
from scipy import stats
import numpy as np
for line in open(sys.argv[1]):
    a, b = (np.array(json.loads(x)) for x in line.split(";"))
    r = stats.ttest_ind(a, b, equal_var=False)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    h = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    print("%.17g %.17g %.17g" % (r.pvalue, df, h))
' ]] .. f)
  local out = p:read("a"); p:close(); os.remove(f)
  local n = 0
  for line in out:gmatch("[^\n]+") do
    n = n + 1
    local pv, df, h = line:match("(%S+) (%S+) (%S+)")
    local w = wb.welch(cases[n][1], cases[n][2])
    T.near(w.p, tonumber(pv), 1e-9 * math.max(1, tonumber(pv)), "p, case " .. n)
    T.near(w.df, tonumber(df), 1e-9 * tonumber(df), "df, case " .. n)
    T.near(w.half, tonumber(h), 1e-7 * tonumber(h), "interval, case " .. n)
  end
  T.eq(n, 24, out)
end)

T.done()
