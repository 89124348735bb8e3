-- wb/inference.lua: the one comparison every table, finding and claim uses:
-- Welch's t-test on per-seed values, with the confidence interval of the
-- difference of means (Welch-Satterthwaite degrees of freedom), and Holm's
-- correction for the parts of one claim. Student's t distribution comes
-- from the regularized incomplete beta function (Numerical Recipes' continued
-- fraction, Lanczos's log-gamma); tests/lua/test_inference.lua checks it against
-- scipy.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"

---wb.inference
---Statistics the comparisons use: Welch's test (wb.welch), confidence
---half-widths of means (the bands of curves), Student's t quantiles and
---Holm's correction.
---Example: print(wb.inference.ci_half({0.97, 0.98, 0.975}))
local M = {}

-- log Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms: ~15 digits)
local LANCZOS = {0.99999999999980993, 676.5203681218851, -1259.1392167224028,
  771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7}
local function lgamma(x)
  if x < 0.5 then return math.log(math.pi / math.abs(math.sin(math.pi * x))) - lgamma(1 - x) end
  x = x - 1
  local a = LANCZOS[1]
  local t = x + 7.5
  for i = 2, 9 do a = a + LANCZOS[i] / (x + i - 1) end
  return 0.5 * math.log(2 * math.pi) + (x + 0.5) * math.log(t) - t + math.log(a)
end

-- continued fraction of the incomplete beta function (modified Lentz)
local function betacf(a, b, x)
  local tiny = 1e-300
  local qab, qap, qam = a + b, a + 1, a - 1
  local c, d = 1, 1 - qab * x / qap
  if math.abs(d) < tiny then d = tiny end
  d = 1 / d
  local h = d
  for m = 1, 300 do
    local m2 = 2 * m
    local aa = m * (b - m) * x / ((qam + m2) * (a + m2))
    d = 1 + aa * d; if math.abs(d) < tiny then d = tiny end
    c = 1 + aa / c; if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    h = h * d * c
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
    d = 1 + aa * d; if math.abs(d) < tiny then d = tiny end
    c = 1 + aa / c; if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    local del = d * c
    h = h * del
    if math.abs(del - 1) < 1e-15 then break end
  end
  return h
end

-- I_x(a, b), the regularized incomplete beta function
local function betai(a, b, x)
  if x <= 0 then return 0 end
  if x >= 1 then return 1 end
  local bt = math.exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * math.log(x)
    + b * math.log(1 - x))
  if x < (a + 1) / (a + b + 2) then return bt * betacf(a, b, x) / a end
  return 1 - bt * betacf(b, a, 1 - x) / b
end

-- P(|T| > t) for Student's t with df degrees of freedom
local function t_two_sided(t, df)
  return betai(df / 2, 0.5, df / (df + t * t))
end

-- the t with P(|T| > t) = alpha (bisection: monotone, 200 halvings)
local function t_quantile(alpha, df)
  local lo, hi = 0, 1
  while t_two_sided(hi, df) > alpha do hi = hi * 2 end
  for _ = 1, 200 do
    local mid = (lo + hi) / 2
    if t_two_sided(mid, df) > alpha then lo = mid else hi = mid end
  end
  return (lo + hi) / 2
end

-- constant(...) -> boolean: whether the lists hold at least one value and
-- every value agrees with the first (no spread: exact tests decide, not
-- t's). The one test of "no spread": wb.welch's, claim_parts', wb.compare's,
-- wb.runs.mean_std's and the study's ANOVA's (M._constant). Values agree
-- within SAME_REL of the largest |value|, not only as equal doubles: a
-- difference of two accuracies over n images that gained the same count in
-- every seed ((k + 1) / n - k / n) carries each ratio's rounding, up to an
-- ulp of 1 (2.2e-16), so the seeds' doubles differ by ~1e-12 of a 1-image
-- gain at n = 10000 (2.2e-11 at n = 1e5), and Welch's test on that sd said
-- p = 3e-50 where the exact sign test's is 0.0625 (audit tryT T1). 1e-9
-- covers such rounding up to n ~ 4e6 and is far below any spread that seeds
-- of a training give. Infinite values agree only when equal.
local SAME_REL = 1e-9
local function constant(...)
  local big, first = 0, nil
  for _, xs in ipairs({...}) do
    for _, x in ipairs(xs) do
      big = math.max(big, math.abs(x))
      if first == nil then first = x end
    end
  end
  if first == nil then return false end
  local tol = big < math.huge and SAME_REL * big or 0
  for _, xs in ipairs({...}) do
    for _, x in ipairs(xs) do
      if x ~= first and not (math.abs(x - first) <= tol) then return false end
    end
  end
  return true
end
M._constant = constant

local function mean_var(xs)
  -- every value the same: that value and 0 exactly, not what rounding
  -- leaves (489/500 thrice: a variance of ~1e-32, and Welch's p of 1e-29
  -- against 480/500 thrice where the exact separation's is 0.1; tryO 1)
  if constant(xs) then return xs[1], 0 end
  local n, s = #xs, 0
  for i = 1, n do s = s + xs[i] end
  local m = s / n
  local v = 0
  for i = 1, n do v = v + (xs[i] - m) ^ 2 end
  return m, n > 1 and v / (n - 1) or 0
end

-- The lists divided by a power of two near their largest magnitude, and
-- that power. The squares of a variance overflow beyond about 1e154 (and
-- underflow below 1e-154), where a t, a df and a p are still defined; a
-- power of two scales every sum, square and quotient exactly, so values
-- that never came near those ends give the same bits as unscaled.
local function scaled(...)
  local big = 0
  for _, xs in ipairs({...}) do
    for _, x in ipairs(xs) do big = math.max(big, math.abs(x)) end
  end
  if big == 0 then return 1, ... end
  local s = 2.0 ^ math.floor(math.log(big, 2))
  local out = {}
  for k, xs in ipairs({...}) do
    local ys = {}
    for i, x in ipairs(xs) do ys[i] = x / s end
    out[k] = ys
  end
  return s, table.unpack(out)
end

-- xs must hold numbers, no NaN; finite: no infinity either (a mean and a
-- variance of inf are NaN: a NaN p, never a verdict); lo, hi: the range of
-- every item (p-values).
local function check_list(fname, n, xs, finite, lo, hi)
  args.check(fname, n, xs, "table")
  for i, x in ipairs(xs) do
    if type(x) ~= "number" or x ~= x or finite and (x == math.huge or x == -math.huge)
        or lo and (x < lo or x > hi) then
      args.input_fail(string.format("bad argument #%d to '%s' (%s expected, item %d is %s)", n,
        fname, lo and string.format("numbers in [%g, %g]", lo, hi)
        or finite and "finite numbers" or "numbers", i, tostring(x)), 3)
    end
  end
end

-- A probability strictly between 0 and 1 (a confidence or a level), else
-- "bad argument #n to 'fname'" at the caller's caller: out of (0, 1), the
-- quantile's search for t never ends.
local function check_prob(fname, n, what, v)
  if type(v) ~= "number" or not (v > 0 and v < 1) then
    args.input_fail(string.format("bad argument #%d to '%s' (%s in (0, 1) expected, got %s)", n,
      fname,
      what, tostring(v)), 3)
  end
end

-- Degrees of freedom: a number > 0 (not NaN, which every comparison lets by).
local function check_df(fname, n, df)
  if not (df > 0) then
    args.input_fail(string.format("bad argument #%d to '%s' (degrees of freedom > 0 expected, got "
      .. "%s)", n, fname, tostring(df)), 3)
  end
end

---wb.welch(a, b, opts) -> table
---Welch's t-test of two lists of per-seed values (finite numbers: NaN or
---infinity is an error): {diff = mean(a) - mean(b), lo, hi (the confidence
---interval of diff, Welch-Satterthwaite degrees of freedom), p (two-sided),
---df, t, n_a, n_b, mean_a, mean_b, sd_a, sd_b, half (the interval's
---half-width)}. With fewer than 2 values a side, lo, hi, p and df are
---nil: nothing can be decided. When neither side has spread (each side's
---values all equal), the test is undefined: p, df, lo, hi and half are
---NaN and no_spread = true (same = true when the sides agree too; values
---agree within 1e-9 of the largest |value|, not only as equal doubles,
---which rounding makes differ; scipy's df and interval are NaN too; its p is
---NaN for equal means and 0 for different ones, which would decide on two
---equal seeds a side). opts.confidence (default 0.95, in (0, 1)),
---the only option.
---@param a number[]
---@param b number[]
---@param opts? table
---@return table
---Example: local w = wb.welch({0.97, 0.98, 0.975}, {0.95, 0.96, 0.955}); print(w.lo, w.hi, w.p)
function M.welch(a, b, o)
  check_list("welch", 1, a, true)
  check_list("welch", 2, b, true)
  args.opt("welch", 3, o, "table")
  if o then require("wb.util").check_options(o, {"confidence"}, "wb.welch", 2) end
  local conf = o and o.confidence or 0.95
  if type(conf) ~= "number" or conf <= 0 or conf >= 1 then
    args.input_fail("bad argument #3 to 'welch' (confidence in (0, 1) expected, got "
      .. tostring(conf) .. ")", 2)
  end
  local k, as, bs = scaled(a, b) -- every quantity below is in units of k
  local ma, va = mean_var(as)
  local mb, vb = mean_var(bs)
  local r = {diff = (#a > 0 and #b > 0) and (ma - mb) * k or nil, n_a = #a, n_b = #b,
    mean_a = #a > 0 and ma * k or nil, mean_b = #b > 0 and mb * k or nil,
    sd_a = math.sqrt(va) * k, sd_b = math.sqrt(vb) * k, confidence = conf}
  if #a < 2 or #b < 2 then return r end
  local sa, sb = va / #a, vb / #b
  local se = math.sqrt(sa + sb)
  if se == 0 then
    -- both sides without spread: the test is undefined (scipy: df, interval
    -- and p NaN; t = +-inf, p = 0 when the means differ). A p of 0 or an
    -- interval of width 0 read as certainty from two equal seeds a side (it
    -- was p = 0 and [d, d]), so p, df and the interval are NaN, and
    -- no_spread says why.
    local nan = -(0 / 0) -- (prints "nan", not "-nan")
    -- same: the two sides agree too (within constant's rounding, where the
    -- exact tests' p is 1, not that of a separation)
    r.no_spread, r.same, r.t = true, constant(a, b), r.diff / 0
    r.lo, r.hi, r.half, r.df, r.p = nan, nan, nan, nan, nan
    return r
  end
  r.df = (sa + sb) ^ 2 / (sa ^ 2 / (#a - 1) + sb ^ 2 / (#b - 1))
  r.t = (ma - mb) / se
  r.p = t_two_sided(math.abs(r.t), r.df)
  r.half = t_quantile(1 - conf, r.df) * se * k
  r.lo, r.hi = r.diff - r.half, r.diff + r.half
  return r
end

---wb.inference.ci_half(xs, confidence) -> number|nil
---The half-width of the confidence interval of the mean of xs (Student's
---t, n - 1 degrees of freedom): what the bands of the curves show. nil
---with fewer than 2 values. confidence: in (0, 1), default 0.95.
---@param xs number[]
---@param confidence? number
---@return number|nil
---Example: print(wb.inference.ci_half({1, 2, 3}))
function M.ci_half(xs, conf)
  check_list("ci_half", 1, xs)
  args.opt("ci_half", 2, conf, "number")
  if conf ~= nil then check_prob("ci_half", 2, "confidence", conf) end
  if #xs < 2 then return nil end
  local k, ys = scaled(xs)
  local _, v = mean_var(ys)
  return t_quantile(1 - (conf or 0.95), #xs - 1) * math.sqrt(v / #xs) * k
end

---wb.inference.t_two_sided(t, df) -> number
---P(|T| > t) for Student's t with df degrees of freedom (a two-sided
---p-value).
---@param t number
---@param df number
---@return number
---Example: print(wb.inference.t_two_sided(2.0, 10))
function M.t_two_sided(t, df)
  args.check("t_two_sided", 1, t, "number")
  args.check("t_two_sided", 2, df, "number")
  if t ~= t then
    args.input_fail("bad argument #1 to 't_two_sided' (a number expected, got nan)", 2)
  end
  check_df("t_two_sided", 2, df)
  return t_two_sided(t, df)
end

---wb.inference.t_quantile(alpha, df) -> number
---The t with P(|T| > t) = alpha for Student's t with df degrees of freedom.
---@param alpha number
---@param df number
---@return number
---Example: print(wb.inference.t_quantile(0.05, 2)) -- 4.30265
function M.t_quantile(alpha, df)
  args.check("t_quantile", 1, alpha, "number")
  args.check("t_quantile", 2, df, "number")
  check_prob("t_quantile", 1, "alpha", alpha)
  check_df("t_quantile", 2, df)
  return t_quantile(alpha, df)
end

---wb.inference.holm(ps, alpha) -> table
---Holm's step-down correction: for p-values ps (each in [0, 1]), which are
---rejected at family-wise level alpha (in (0, 1), default 0.05): a list of
---booleans, and the adjusted p-values.
---@param ps number[]
---@param alpha? number
---@return boolean[]
---@return number[]
---Example: local reject, adj = wb.inference.holm({0.01, 0.04, 0.03})
---  print(reject[1], table.concat(adj, " ")) --> true 0.03 0.06 0.06
function M.holm(ps, alpha)
  check_list("holm", 1, ps, true, 0, 1)
  args.opt("holm", 2, alpha, "number")
  if alpha ~= nil then check_prob("holm", 2, "alpha", alpha) end
  alpha = alpha or 0.05
  local order = {}
  for i = 1, #ps do order[i] = i end
  table.sort(order, function(x, y) return ps[x] < ps[y] end)
  local reject, adj, running, stop = {}, {}, 0, false
  for rank, i in ipairs(order) do
    local a = math.min(1, (#ps - rank + 1) * ps[i])
    running = math.max(running, a)
    adj[i] = running
    if not stop and ps[i] <= alpha / (#ps - rank + 1) then reject[i] = true
    else stop = true; reject[i] = false end
  end
  return reject, adj
end

-- the exact permutation test (wb/inference_exact.lua)
M.permutation_p = require("wb.inference_exact").permutation_p

-- I_x(a, b) for the study's F test (scripts/study/anova.lua): one copy
M._betai = betai

wb.inference = M
wb.welch = M.welch
return M
