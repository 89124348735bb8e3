-- test_study_cockpit.lua: task 11's reading of Cockpit's alpha
-- (scripts/study/cockpit.lua): the values after the first epoch, the
-- per-seed medians and their interval, and each verdict's boundaries.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local C = require "study.cockpit"

-- A record whose alpha series has the given values at steps 1..n, the
-- first `first` of them in epoch 1.
local function rec(alphas, first)
  local st = {step = {}, epoch = {}, alpha = {}}
  for i, a in ipairs(alphas) do
    st.step[i], st.epoch[i], st.alpha[i] = i, i <= first and 1 or 2, a
  end
  return {history = {steps = st}}
end

T.test("values: finite, sorted, after the first epoch when late", function()
  local r = rec({5, 0 / 0, 3, math.huge, 1, 2}, 2)
  T.eq(table.concat(C.values({r}, "alpha"), ","), "1,2,3,5")
  T.eq(table.concat(C.values({r}, "alpha", true), ","), "1,2,3")
  T.eq(#C.values({r}, "hess_max"), 0, "a series the record lacks")
  T.eq(C.median({1, 2, 3}), 2); T.eq(C.median({1, 2, 3, 10}), 2.5)
  T.ok(C.median({}) ~= C.median({}), "NaN for none")
  T.eq(C.share_above({-1, 0, 1, 2}, 0), 0.5)
end)

T.test("a run that diverged or failed is left out of the values and the seeds (audit T7)",
  function()
  local ok, gone, old = rec({1, 2}, 0), rec({50, 60}, 0), rec({3, 4}, 0)
  ok.status, gone.status = "ok", "diverged" -- old: a record before status
  T.eq(table.concat(C.values({ok, gone, old}, "alpha"), ","), "1,2,3,4")
  local p = C.per_seed({ok, gone, old})
  T.eq(p.n, 2)
  T.eq(p.m, 2.5)
  gone.status = "failed"
  T.eq(C.per_seed({ok, gone}).n, 1, "one finished seed: no interval")
end)

T.test("per_seed: each seed's median after epoch 1, the t interval of their mean",
  function()
  -- epoch 1's values (9) are left out: medians 0.1, 0.2, 0.3
  local p = C.per_seed{rec({9, 0.1, 0.1}, 1), rec({9, 0.2}, 1), rec({9, 0.3, 0.2, 0.4}, 1)}
  T.near(p.m, 0.2, 1e-12)
  local h = 4.302652729749464 * 0.1 / math.sqrt(3) -- t(0.975, 2) * sd / sqrt(n)
  T.near(p.lo, 0.2 - h, 1e-9); T.near(p.hi, 0.2 + h, 1e-9)
  T.eq(p.n, 3)
  T.ok(p.text:find("0.200, 95 % CI [-0.048, 0.448] over 3 seeds", 1, true), p.text)
  local one = C.per_seed{rec({9, 0.5}, 1)}
  T.ok(one.lo ~= one.lo and one.hi ~= one.hi, "one seed: no interval")
  T.ok(one.text:find("0.500 over 1 seed (an interval needs 2 seeds", 1, true), one.text)
end)

T.test("verdict: above 0 and near -1, decided by the interval", function()
  local function p(lo, hi) return {lo = lo, hi = hi, m = (lo + hi) / 2} end
  T.eq(C.verdict(p(0.01, 0.03)), "agree")
  T.eq(C.verdict(p(-0.01, 0.05)), "partly", "mean above 0, interval not")
  T.eq(C.verdict(p(-0.05, 0.01)), "differ")
  T.eq(C.verdict(p(-0.9, -0.6), true), "agree")
  T.eq(C.verdict(p(-0.6, -0.4), true), "partly", "below 0, not below -0.5")
  T.eq(C.verdict(p(-0.2, 0.1), true), "differ")
  T.eq(C.verdict({m = 0.5, lo = 0 / 0, hi = 0 / 0}), "undecided", "one seed")
  T.eq(C.SAYS.partly, "partly agrees")
end)

T.done()
