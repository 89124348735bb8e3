-- wb/grad_check.lua: fit checks the gradients written by hand against
-- central differences of the values they belong to (a loss's at a step
-- that shrinks where it bends or ends: wb/grad_check_step.lua): a loss function of
-- one's own (fit{loss = function(output, labels) -> value, grad_output}) on
-- the first batch and on the first batch of another size (a short last
-- one: a gradient that hard-codes n is wrong there only), and the backward
-- of a Lua layer in the model (wb/grad_check_layer.lua: entry by entry and
-- along random directions, on the first batch and one of the short last
-- one's size). A wrong one (a missing 1 / n of the mean, a flipped sign,
-- zeros, a row skipped, a forgotten term) otherwise trains without a word
-- to other numbers than the model's. Not public: wb.losses and fit call
-- it; fit's option grad_check = false turns it off, for a gradient that
-- is a surrogate on purpose (a straight-through estimator).
--
-- Under a softmax last layer a loss's directions have each row's mean
-- removed: the softmax's backward drops a constant added to a row of the
-- gradient, so a gradient that differs from the loss's by one (the loss
-- divides a row by its sum, the gradient ignores it) trains exactly right
-- and is not called wrong.
local _ENV = require "wb.std"
local wb = require "wb"
local step = require "wb.grad_check_step"
local M = {}

local CHECK_SEED = 20261204

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

-- A hint for a ratio of the gradient's slope to the value's.
local function hint(ratio, n)
  local function near(x) return math.abs(ratio - x) <= 0.05 * math.abs(x) end
  if near(-1) then return "; the gradient's sign is flipped" end
  if near(n) and n > 1 then
    return string.format("; the gradient is %d (the batch size) times too large: a mean over "
      .. "rows needs its 1 / n", n)
  end
  if near(1 / n) and n > 1 then
    return string.format("; the gradient is 1 / %d (the batch size) of the value's: the "
      .. "value is a mean, the gradient divided by n twice?", n)
  end
  return ""
end

-- {==================== a loss function ====================

-- The loss's check is not the layers' random direction alone: along one
-- direction a gradient with rows or entries zeroed, a last row skipped or
-- a scale of 1.03 can agree (along its own direction exactly), and in a
-- batch of n C entries a random direction sees one entry's error as 1 /
-- sqrt(n C) of its slope. So each entry of the output gradient is checked
-- by itself (a loss is cheap: 2 calls an entry), at most ENTRIES of them:
-- rows chosen whole (the first, the last, then others at random), all
-- classes of a row if C <= ROW_ENTRIES. Then DIRS random +-1 directions
-- over all entries (what the entries left out share: a scale, a region).
-- The random numbers come from a generator of this file's own (seeded by
-- CHECK_SEED), never the global one: training draws what it would draw.
local ENTRIES, ROW_ENTRIES, DIRS, HE = 256, 16, 4, 1e-3
-- Tolerances. An entry: the central difference D at step h (HE, times |x|
-- beyond 1; smaller where the loss bends or ends within it, down to where
-- it is smooth: wb/grad_check_step.lua) has an error of h^2 f''' / 6 (1e-7 relative for a softmax
-- cross-entropy, 0 for a square) plus the value's rounding over 2h; the
-- value is a float64 sum of float32 terms (wb's sum), so ROUND (32 float32
-- roundings of |value|, over the step) bounds that rounding with room. A
-- kink within h (a hinge, a clip) makes D any mean of the two one-sided
-- slopes F and B, and a right gradient lies between them: |g - D| <= |F -
-- B| / 2 is allowed (for a smooth loss, h f'' / 2: 0.1 % of the slope of a
-- square at distance 0.5). Past that, TOL_ENTRY = 1 % of |D|: a scale of
-- 0.97 or 1.03 is 3 %, a zero 100 %; an entry below FLOOR of the largest
-- slope is not called wrong (it barely trains). A direction u (+-1
-- entries): TOL_DIR = 5 % of the larger slope, plus half the one-sided
-- slopes' gap, as for an entry. 5 % alone refused right mean absolute
-- errors and hinges (tryD 3: 12 of 36 fits): each kink crossed within h
-- moves the central difference by up to its entry's whole slope, a +-1
-- sum over few entries (a short batch of 2 rows) or one that cancels is
-- small, and training such a loss brings many entries to their kink.
local TOL_ENTRY, FLOOR, TOL_DIR, ROUND = 0.01, 1e-3, 0.05, step.ROUND

-- A generator of the check's own (a 64-bit LCG, Knuth's MMIX constants):
-- rand(k) -> an integer in [1, k].
local function generator(seed)
  local s = seed
  return function(k)
    s = s * 6364136223846793005 + 1442695040888963407
    return (s >> 33) % k + 1
  end
end

-- The entries to check of an output [n, C]: a list of rows {i, cols}.
local function chosen(n, c, rand)
  local per = math.min(c, ROW_ENTRIES)
  local count = math.min(n, math.max(2, ENTRIES // per))
  local rows, seen = {}, {}
  local function add(i) if not seen[i] then seen[i] = true; rows[#rows + 1] = i end end
  add(1); add(n)
  if count >= n then for i = 1, n do add(i) end end
  while #rows < count do add(rand(n)) end
  table.sort(rows)
  local out = {}
  for k, i in ipairs(rows) do
    local cols, pick = {}, {}
    if per == c then for j = 1, c do cols[j] = j end
    else
      while #cols < per do
        local j = rand(c)
        if not pick[j] then pick[j] = true; cols[#cols + 1] = j end
      end
      table.sort(cols)
    end
    out[k] = {i = i, cols = cols}
  end
  return out
end

-- Each chosen entry's slopes: e.g = g's entry, e.d the central difference,
-- e.w its allowance (half the one-sided slopes' gap, the rounding), e.x the
-- output. Under softmax each row's mean over its chosen entries, weighted
-- by their probabilities e.s = e.x, is taken out of g, d (the constant the
-- softmax drops) and added to w: the softmax's backward passes p (g - <g,
-- p>) on, so an entry of tiny p trains by little; its slope q / p n is
-- huge (tryZ C1), and an unweighted mean spread its error over the row.
local function entry_slopes(fn, out, y, v, g, rows, softmax)
  local x, list = out:clone(), {}
  for _, r in ipairs(rows) do
    local row = {}
    for _, j in ipairs(r.cols) do
      local x0 = out:get(r.i, j)
      local vp, vm, dp, dm, h = step.probe(fn, y, v, HE * math.max(1, math.abs(x0)), function(t)
        x:set(r.i, j, x0 + t)
        return x, math.abs(x:get(r.i, j) - x0)
      end, function(t) return t > step.BEND * math.abs(x0) end)
      if vp then
        local f, b = (vp - v) / dp, (v - vm) / dm
        row[#row + 1] = {i = r.i, j = j, x = x0, h = h, g = g:get(r.i, j), flat = vp == vm,
          d = (vp - vm) / (dp + dm), w = math.abs(f - b) / 2
          + 2 * ROUND * math.max(math.abs(v), math.abs(vp), math.abs(vm)) / (dp + dm)}
      end
    end
    if softmax and #row > 0 then
      local sp, mg, md, mw = 0, 0, 0, 0
      for _, e in ipairs(row) do
        e.s = math.max(e.x, 0)
        sp, mg, md, mw = sp + e.s, mg + e.s * e.g, md + e.s * e.d, mw + e.s * e.w
      end
      for _, e in ipairs(row) do
        if sp > 0 then e.g, e.d, e.w = e.g - mg / sp, e.d - md / sp, e.w + mw / sp end
      end
    end
    table.move(row, 1, #row, #list + 1, list)
  end
  return list
end

-- gradient / slope over the entries (least squares), for the hint.
local function ratio_of(list)
  local gd, dd = 0, 0
  for _, e in ipairs(list) do gd, dd = gd + e.g * e.d, dd + e.d * e.d end
  return dd > 0 and gd / dd or nil
end

local function check_entries(where, list, n)
  local top = 0
  for _, e in ipairs(list) do top = math.max(top, (e.s or 1) * math.abs(e.d)) end
  local bad = {}
  for _, e in ipairs(list) do
    local s = e.s or 1
    if s * math.abs(e.g - e.d) > s * (e.w + TOL_ENTRY * math.abs(e.d)) + FLOOR * top then
      bad[#bad + 1] = e
    end
  end
  if #bad == 0 then return end
  local rows, seen = {}, {}
  for _, e in ipairs(bad) do
    if not seen[e.i] then seen[e.i] = true; rows[#rows + 1] = e.i end
  end
  local more = #rows > 8 and ", ..." or ""
  rows = table.move(rows, 1, math.min(#rows, 8), 1, {})
  local e, r = bad[1], ratio_of(bad)
  for _, b in ipairs(bad) do if b.flat then e = b; break end end
  -- a value clamped there (log(clamp(p, 1e-7, 1)) at p < 1e-7) has slope 0
  local flat = e.flat and string.format("; the value does not change with output[%d, %d] "
    .. "(clamped there?), the gradient does: clamp the gradient too, or clamp lower", e.i, e.j)
    or ""
  error(string.format("%s %d of the %d entries checked disagree (rows %s%s); at "
    .. "output[%d, %d] = %.6g, (value(x + h e) - value(x - h e)) / 2h = %.6g (h = %.3g), but "
    .. "the gradient is %.6g%s%s%s (a gradient that is a surrogate on purpose: fit{grad_check "
    .. "= false})", where, #bad, #list, table.concat(rows, ", "), more,
    e.i, e.j, e.x, e.d, e.h, e.g, flat, r and string.format("; over them the gradient is %.4g "
    .. "times the slope", r) or "", r and hint(r, n) or ""), 0)
end

-- DIRS random +-1 directions (rows centred under softmax) over all entries.
local function check_directions(where, fn, out, y, v, g, softmax, rand, n)
  local shape = out:shape()
  for _ = 1, DIRS do
    local s = {}
    for i = 1, shape[1] do
      local row = {}
      for j = 1, shape[2] do row[j] = rand(2) == 1 and 1 or -1 end
      s[i] = row
    end
    local u = wb.tensor(s)
    if softmax then u = centre_rows(u) end
    local vp, vm, _, _, h = step.probe(fn, y, v, HE, function(t) return out + u * t, math.abs(t) end,
      step.wide_along(out, u))
    if vp then
      -- float32 rounds out + h u: the steps taken, not h u
      local want, got = (vp - vm) / (2 * h), dot(g, (out + u * h) - (out - u * h)) / (2 * h)
      -- a loss convex along u (each entry's kink: |d|, max(m, 0)) has
      -- sum(g u) between its one-sided slopes however many kinks u crosses
      -- within h (subgradient inequality); a concave one, too
      local tol = TOL_DIR * math.max(math.abs(want), math.abs(got))
        + math.abs((vp - v) - (v - vm)) / h / 2
        + ROUND * math.max(math.abs(v), math.abs(vp), math.abs(vm)) / h
      if math.abs(got - want) > tol then
        error(string.format("%s along a random direction u (entries +-1), (value(x + h u) "
          .. "- value(x - h u)) / 2h = %.6g (h = %.3g), but sum(gradient * u) = %.6g%s (a "
          .. "gradient that is a surrogate on purpose: fit{grad_check = false})", where, want,
          h, got, want ~= 0 and hint(got / want, n) or ""), 0)
      end
    end
  end
end

-- Along the gradient's own direction u = g / max|g| (rows centred under
-- softmax): a scale (1.03, a missing factor) moves every entry's slope the
-- same way, and here they add up. A lone entry's slope is about |g| / n C of
-- the value and a +-1 direction's about |g|: beside the value's rounding
-- (ROUND |value| / h, a cross-entropy's 2.3 at h = 1e-3: 4e-3) a 3 % error
-- in either was lost at MNIST's 10 classes and batch 32 (audit Q1). Along u
-- the slope is |g|^2 / max|g| (a cross-entropy's about 1 at any batch size):
-- the rounding is under 0.5 % of it. Allowed: TOL_ENTRY of the slope, half
-- the one-sided slopes' gap (a kink crossed), the rounding.
local function check_own_direction(where, fn, out, y, v, g, softmax, n)
  local u = softmax and centre_rows(g) or g
  local top = u:abs():max()
  if not (top > 0 and top < math.huge) then return end
  u = u * (1 / top)
  local vp, vm, _, _, h = step.probe(fn, y, v, HE, function(t) return out + u * t, math.abs(t) end,
      step.wide_along(out, u))
  if not vp then return end
  local want, got = (vp - vm) / (2 * h), dot(g, (out + u * h) - (out - u * h)) / (2 * h)
  local tol = TOL_ENTRY * math.abs(want) + math.abs((vp - v) - (v - vm)) / h / 2
    + ROUND * math.max(math.abs(v), math.abs(vp), math.abs(vm)) / h
  if math.abs(got - want) > tol then
    error(string.format("%s along the gradient's own direction u (gradient / max|gradient|), "
      .. "(value(x + h u) - value(x - h u)) / 2h = %.6g (h = %.3g), but sum(gradient * u) = "
      .. "%.6g: the gradient is %.4g times the slope%s (a gradient that is a surrogate on "
      .. "purpose: fit{grad_check = false})", where, want, h, got, want ~= 0 and got / want
      or 0 / 0, want ~= 0 and hint(got / want, n) or ""), 0)
  end
end

-- M.loss on g, a copy of the gradient that is the check's own: the check
-- only reads it, and its calls of fn may overwrite the buffer fn returned.
local function loss_of_copy(fname, fn, out, y, v, g, softmax, what)
  if out:dim() ~= 2 then return end
  local n, c = out:shape()[1], out:shape()[2]
  local where = string.format("%s: the loss function's gradient does not match its value on "
    .. "%s (%d row%s):", fname, what or "the first batch", n, n == 1 and "" or "s")
  local state = wb.rng_state()
  local ok, err = pcall(function()
    local rand = generator(CHECK_SEED + n)
    check_entries(where, entry_slopes(fn, out, y, v, g, chosen(n, c, rand), softmax), n)
    check_own_direction(where, fn, out, y, v, g, softmax, n)
    check_directions(where, fn, out, y, v, g, softmax, rand, n)
  end)
  wb.set_rng_state(state)
  if not ok then error(err, 0) end
end

-- Raises (fname: fit) when grad g of fn's value v at out [n, C] disagrees
-- with the value's central differences; softmax: the model's last layer is
-- one; what: which batch ("the first batch", ...). The global generator is
-- put back (fn may draw).
function M.loss(fname, fn, out, y, v, g, softmax, what)
  if out:dim() ~= 2 then return end
  -- the check calls fn again, which may write its gradient into the
  -- buffer it returned before (as wb.losses keeps its one-hot targets)
  loss_of_copy(fname, fn, out, y, v, g:clone(), softmax, what)
end

-- The short last batch's size (l.short rows), on the first rows of the
-- first batch, before any step: a gradient that hard-codes n is wrong on
-- that batch only, and it comes an epoch later (audit Q4). A slice whose
-- results are not a value and a gradient of its shape is left to that
-- batch (wb/losses.lua names what is wrong).
local function short_slice(l, out, y, n)
  local r = l.short
  if not (n and math.type(r) == "integer" and r > 0 and r < n) then return end
  local xs, ys, state = out:rows(1, r):clone(), y:rows(1, r):clone(), wb.rng_state()
  local ok, v, g = pcall(l.fn, xs, ys)
  wb.set_rng_state(state)
  v = ok and number_of(v)
  if type(v) ~= "number" or type(g) ~= "userdata" or not g.shape or g:dim() ~= 2
      or g:shape()[1] ~= r or g:shape()[2] ~= out:shape()[2] or g:dtype() ~= "float32" then
    return
  end
  M.loss(l.fname, l.fn, xs, ys, v, g, l.softmax, "the first batch's first rows, the short "
    .. "last batch's size")
end

-- fit's loss object l (wb/losses.lua) on a training batch: l.check is true
-- before the first batch (checked with its first l.short rows, the short
-- last batch's size, when fit has one), then that batch's rows until a
-- batch of another size (the short last one), which is checked too;
-- returns the next l.check.
function M.batch(l, out, y, v, g)
  local n = out:dim() == 2 and out:shape()[1] or false
  if l.check ~= true and n == l.check then return n end
  -- g may be a buffer fn reuses: the check's calls overwrite it, and the
  -- step trains with it after, so it gets back what fn returned here; the
  -- check reads that one copy, kept, as the gradient (it never writes it)
  local kept, nxt = g:clone(), false
  if l.check == true then
    loss_of_copy(l.fname, l.fn, out, y, v, kept, l.softmax, "the first batch")
    short_slice(l, out, y, n)
    nxt = n
  else
    loss_of_copy(l.fname, l.fn, out, y, v, kept, l.softmax, "the first batch of another "
      .. "size (the short last one)")
  end
  g:copy(kept)
  return nxt
end

-- }====================
-- The check of a Lua layer's backward: wb/grad_check_layer.lua.
function M.layers(model, train, bs) return require("wb.grad_check_layer").layers(model, train, bs) end

-- For wb/grad_check_layer.lua.
M.CHECK_SEED, M._generator, M._chosen, M._hint, M._ratio_of =
  CHECK_SEED, generator, chosen, hint, ratio_of

return M
