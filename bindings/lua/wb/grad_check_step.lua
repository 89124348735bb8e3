-- wb/grad_check_step.lua: the step of wb/grad_check.lua's central
-- differences of a loss's value, (value(x + h u) - value(x - h u)) / 2h,
-- along an entry or a direction u of the output x: h = 1e-3 (times |x|
-- beyond 1 for an entry) unless the loss bends or ends within it, then
-- smaller. Not public.
local _ENV = require "wb.std"
local M = {}

-- The value's rounding: a float64 sum of float32 terms (wb's sum), 32
-- float32 roundings of |value| with room (wb/grad_check.lua's tolerances).
-- BEND: a relative gap between slopes that counts as the loss bending.
M.ROUND, M.BEND, M.SHRINK = 32 * 2 ^ -24, 0.1, 12
local ROUND, BEND, SHRINK = M.ROUND, M.BEND, M.SHRINK

local function number_of(v)
  if type(v) ~= "number" and v ~= nil and v.numel and v:numel() == 1 then return v:item() end
  return v
end

-- value of fn at x (nil when not a finite number: that point is not used).
function M.value_at(fn, x, y)
  local v = number_of(fn(x, y))
  if type(v) ~= "number" or v ~= v or math.abs(v) == math.huge then return nil end
  return v
end

-- The values at x + h u and x - h u and the steps taken (float32 rounds
-- x + h u), for move(t): x at t along u, and |its step|; x is put back by
-- move(0). h is h0 at first, and h / 8 again (at most SHRINK times) while
-- the loss is not smooth over h: its one-sided slopes differ by more than
-- BEND of the larger, or a side is no finite number, or, where wide(h) (h
-- moves an entry by more than BEND of it: log x, 1 / x may end or bend
-- within h), its central differences at h and h / 8 differ as much. A
-- fixed h refused right losses once they reached small values (tryZ C1:
-- label smoothing's -q log p, probabilities trained to 1e-9 < h, p - h < 0
-- clamped to 1e-7; the one-sided test alone was fooled there: clamped, the
-- two one-sided slopes agreed). Where the loss is smooth the first h is
-- kept, so a wrong gradient is refused as it was. Returns vp, vm, dp, dm,
-- h (nil when no step has finite values on both sides).
function M.probe(fn, y, v, h0, move, wide)
  local function at(h)
    local xp, dp = move(h); local vp = M.value_at(fn, xp, y)
    local xm, dm = move(-h); local vm = M.value_at(fn, xm, y)
    move(0)
    if vp and vm and dp > 0 and dm > 0 then return {vp, vm, dp, dm, h} end
  end
  -- the central difference of a and its rounding (2 values of ROUND |v|)
  local function central(a)
    local r = 2 * ROUND * math.max(math.abs(v), math.abs(a[1]), math.abs(a[2])) / (a[3] + a[4])
    return (a[1] - a[2]) / (a[3] + a[4]), r
  end
  local function near(s, t, r)
    return math.abs(s - t) <= BEND * math.max(math.abs(s), math.abs(t)) + r
  end
  local a, h = at(h0), h0
  for _ = 1, SHRINK do
    local da, ra
    if a then da, ra = central(a) end
    local smooth = a and near((a[1] - v) / a[3], (v - a[2]) / a[4], 4 * ra)
    if smooth and not wide(h) then break end
    local b = at(h / 8)
    if smooth and b then
      local db, rb = central(b)
      if near(da, db, ra + rb) then break end
    end
    a, h = b, h / 8
  end
  if a then return table.unpack(a) end
end

-- For probe along u: whether t u moves an entry of out by more than BEND of it.
function M.wide_along(out, u)
  local au, ao = u:abs(), out:abs() * BEND
  return function(t) return (au * t - ao):max() > 0 end
end

return M
