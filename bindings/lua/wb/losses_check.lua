-- wb/losses_check.lua: a loss function of one's own (fit{loss = function(
-- output, labels) -> value, grad_output}) has its gradient checked against
-- its value on fit's first batch, by central differences along two
-- directions of the output. A hand-written gradient that is wrong (a
-- missing 1 / n of the mean, a flipped sign, zeros) otherwise trains
-- without a word to other numbers than the loss's. Not public: wb.losses
-- calls it (fit's option loss_check = false turns it off, for a gradient
-- that is a surrogate on purpose: a straight-through estimator, say).
--
-- The directions: the gradient itself (whose derivative, |g|, is large
-- against rounding) and a fixed random one (seed CHECK_SEED; the global
-- generator's state is put back, so training draws what it drew before).
-- Under a softmax last layer both are taken with each row's mean removed:
-- the softmax's backward drops a constant added to a row of the gradient,
-- so a gradient that differs from the loss's by one (the loss divides a
-- row by its sum, the gradient ignores it) trains exactly right and is not
-- called wrong. Step H in output units, TOL relative: a wrong gradient is
-- off by a factor or more; rounding of a float32 loss is far below.
local _ENV = require "wb.std"
local wb = require "wb"
local M = {}

local H, TOL, CHECK_SEED = 1e-2, 0.05, 20261204

local function number_of(v)
  if type(v) ~= "number" and v ~= nil and v.numel and v:numel() == 1 then return v:item() end
  return v
end

local function dot(a, b) return (a * b):sum() end

-- d with each row's mean removed (d [n, C]).
local function centre_rows(d)
  local dt = d:t()
  return (dt - dt:mean(1)):t()
end

-- The loss's derivative along unit direction u at out, by central
-- differences; nil when a value is not a finite number.
local function slope(fn, out, y, u)
  local vp, vm = number_of(fn(out + u * H, y)), number_of(fn(out - u * H, y))
  if type(vp) ~= "number" or type(vm) ~= "number" then return nil end
  local s = (vp - vm) / (2 * H)
  return s == s and math.abs(s) < math.huge and s or nil
end

-- A hint for a ratio of the gradient's slope to the loss's.
local function hint(ratio, n)
  local function near(x) return math.abs(ratio - x) <= 0.05 * math.abs(x) end
  if near(-1) then return "; the gradient's sign is flipped" end
  if near(n) and n > 1 then
    return string.format("; the gradient is %d (the batch size) times too large: a mean over "
      .. "rows needs its 1 / n", n)
  end
  if near(1 / n) and n > 1 then
    return string.format("; the gradient is 1 / %d (the batch size) of the loss's: the value "
      .. "is a mean, the gradient not divided by n?", n)
  end
  return ""
end

-- Raises (fname: fit) when grad g of fn's value v at out disagrees with the
-- value's central differences; softmax: the model's last layer is one.
function M.check(fname, fn, out, y, v, g, softmax)
  if out:dim() ~= 2 then return end
  local n = out:shape()[1]
  local gg = softmax and centre_rows(g) or g
  local state = wb.rng_state()
  wb.seed(CHECK_SEED)
  local r = wb.randn(table.unpack(out:shape()))
  wb.set_rng_state(state)
  if softmax then r = centre_rows(r) end
  local dirs = {}
  local gn = math.sqrt(dot(gg, gg))
  if gn > 0 then dirs[1] = {u = gg * (1 / gn), what = "the gradient's direction"} end
  local rn = math.sqrt(dot(r, r))
  if rn > 0 then dirs[#dirs + 1] = {u = r * (1 / rn), what = "a random direction"} end
  for _, d in ipairs(dirs) do
    local want, got = slope(fn, out, y, d.u), dot(g, d.u)
    if want and math.abs(got - want) > TOL * math.max(math.abs(want), gn) + 1e-4
        * math.abs(v) + 1e-12 then
      error(string.format("%s: the loss function's gradient does not match its value on the "
        .. "first batch: along %s u, (loss(output + h u) - loss(output - h u)) / 2h = %.6g "
        .. "(h = %g), but sum(grad_output * u) = %.6g%s (a gradient that is a surrogate on "
        .. "purpose: fit{loss_check = false})", fname, d.what, want, H, got,
        want ~= 0 and hint(got / want, n) or ""), 0)
    end
  end
end

return M
