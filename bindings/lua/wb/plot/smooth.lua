-- wb/plot/smooth.lua: the running statistics of wb.plot.lines{smooth = k,
-- smooth_by = "mean" | "median"}.
--
-- Both are centred over k points by index, of the finite values in each
-- window; NaN where v[j] is not finite (a gap stays a gap) or where the
-- window has no finite value. Near an end the window shrinks to stay
-- centred (with an odd k the first point is its own): a window cut on one
-- side only pulled a fast first descent (task 11's loss, 2.3 to 0.3 in 100
-- steps) towards the later values, drawing 1.2 at step 1. The median
-- resists a few huge values a mean follows (task 11's alpha at lr = 1: a
-- handful of steps of 1e3 pulled the running mean of its 101 steps far
-- from where the steps around it lay).
local _ENV = require "wb.std"
local U = require "wb.plot.util"

local M = {}

-- The window [a, b] of point j among n for k points (centred; shrunk at the
-- ends). a and b never decrease with j, so a window is slid, not rebuilt.
local function window(j, n, k)
  local before = (k - 1) // 2
  local a, b = j - before, j + (k - 1 - before)
  if a < 1 then a, b = 1, b - (1 - a) end
  if b > n then a, b = a + (b - n), n end
  return math.min(math.max(a, 1), j), math.max(math.min(b, n), j)
end

function M.mean(v, k)
  local sum, cnt, out, n = {[0] = 0}, {[0] = 0}, {}, #v
  for j = 1, n do
    local f = U.is_finite(v[j])
    sum[j], cnt[j] = sum[j - 1] + (f and v[j] or 0), cnt[j - 1] + (f and 1 or 0)
  end
  for j = 1, n do
    local a, b = window(j, n, k)
    local c = cnt[b] - cnt[a - 1]
    out[j] = (U.is_finite(v[j]) and c > 0) and (sum[b] - sum[a - 1]) / c or 0 / 0
  end
  return out
end

-- The position in sorted list s (length m) before which x goes: the first
-- element > x.
local function upper(s, m, x)
  local lo, hi = 1, m + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    if s[mid] > x then hi = mid else lo = mid + 1 end
  end
  return lo
end

-- The window's finite values kept sorted as it slides (a binary search and
-- one table.insert or table.remove per point entering or leaving); the
-- median of an even count is the mean of the middle two.
function M.median(v, k)
  local s, m, out, n, a0, b0 = {}, 0, {}, #v, 1, 0
  for j = 1, n do
    local a, b = window(j, n, k)
    for i = b0 + 1, b do
      if U.is_finite(v[i]) then table.insert(s, upper(s, m, v[i]), v[i]); m = m + 1 end
    end
    for i = a0, a - 1 do
      if U.is_finite(v[i]) then table.remove(s, upper(s, m, v[i]) - 1); m = m - 1 end
    end
    a0, b0 = a, b
    if not U.is_finite(v[j]) or m == 0 then out[j] = 0 / 0
    elseif m % 2 == 1 then out[j] = s[(m + 1) // 2]
    else out[j] = (s[m // 2] + s[m // 2 + 1]) / 2 end
  end
  return out
end

return M
