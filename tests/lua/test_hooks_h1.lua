-- test_hooks_h1.lua: audit H, item 1: fit's check of a loss function's
-- hand-written gradient (wb/grad_check.lua) catches what one direction
-- along the gradient itself let through: rows or one entry zeroed, the last
-- row skipped (an off-by-one loop), a scale of 0.97 or 1.03, and a gradient
-- that hard-codes the batch size (wrong on the short last batch only); it
-- draws nothing from the global generator, even when the loss does, so
-- training is bit-identical with and without it.
local T = dofile("tests/lua/harness.lua")

wb.seed(99)
local X = wb.randn(70, 5)
local Y = wb.new_tensor({70}, "uint8")
for i = 1, 70 do Y:set(i, (i * 5) % 3) end

local function onehot(y, n)
  local t = wb.zeros(n, 3)
  for i = 1, n do t:set(i, y:get(i) + 1, 1) end
  return t
end

-- mse on one-hot targets; bug(g, n) -> the gradient fit is given
local function mse(bug)
  return function(out, y)
    local n = out:size(1)
    local d = out - onehot(y, n)
    local g = d * (2 / (n * 3))
    return (d * d):sum() / (n * 3), bug and bug(g:clone(), n, d) or g
  end
end

-- a softmax cross-entropy on logits written with loops; skip_last: the
-- gradient's loop stops at i < n
local function ce(skip_last)
  return function(out, y)
    local n, c = out:size(1), out:size(2)
    local v, g = 0, wb.zeros(n, c)
    for i = 1, n do
      local mx, s = -math.huge, 0
      for j = 1, c do mx = math.max(mx, out:get(i, j)) end
      for j = 1, c do s = s + math.exp(out:get(i, j) - mx) end
      v = v - (out:get(i, y:get(i) + 1) - mx - math.log(s))
      if not skip_last or i < n then
        for j = 1, c do
          g:set(i, j, (math.exp(out:get(i, j) - mx) / s - (j == y:get(i) + 1 and 1 or 0)) / n)
        end
      end
    end
    return v / n, g
  end
end

local function fit(loss, o)
  wb.seed(3)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 6, {activation = "tanh"}), wb.nn.Dense(6, 3)}
  o = o or {}
  o.loss, o.epochs, o.verbose, o.seed = loss, o.epochs or 1, false, 5
  o.batch_size, o.optimizer = o.batch_size or 32, wb.optim.SGD{lr = 0.5}
  return m:fit(X, Y, o), m
end

local WHERE = "fit: the loss function's gradient does not match its value on the first batch"

T.test("zeroed rows, one zeroed entry, a skipped last row, 3 % off: errors", function()
  fit(mse()) -- the right one passes
  fit(ce(false))
  -- (before: each trained without a word, to other numbers)
  T.check_error(WHERE .. " %(32 rows%): 4%d of the 96 entries checked disagree %(rows 2, 4, 6, ",
    fit, mse(function(g, n) for i = 2, n, 2 do g[i] = 0 end return g end))
  T.check_error(WHERE .. " %(32 rows%): 1 of the 96 entries checked disagree %(rows 7%); at "
    .. "output%[7, 2%]", fit, mse(function(g) g:set(7, 2, 0); return g end))
  T.check_error("entries checked disagree %(rows 1%)", fit,
    mse(function(g) g[1] = 0; return g end))
  T.check_error("entries checked disagree %(rows 32%); at output%[32, 1%]", fit, ce(true))
  -- a scale: on the first batch, along the gradient's own direction (its
  -- entries alone passed at 32 rows: before audit Q1 only the short batch
  -- of 6 rows, after 2 steps, caught it)
  for _, k in ipairs{0.97, 1.03} do
    T.check_error(WHERE .. " %(32 rows%): along the gradient's own direction u %(gradient / "
      .. "max|gradient|%).*: the gradient is " .. k .. " times the slope", fit,
      mse(function(g) return g * k end))
  end
end)

T.test("a gradient that hard-codes the batch size: an error before the first step, on the "
  .. "first batch's first rows at the short last batch's size", function()
  local function hard(n0) return mse(function(g, n, d) return d * (2 / (n0 * 3)) end) end
  -- 70 rows in batches of 32: the third has 6, checked on the first batch's
  -- first 6 rows (audit Q4: the error came when that batch did, an epoch on)
  local steps = 0
  T.check_error("fit: the loss function's gradient does not match its value on the first "
    .. "batch's first rows, the short last batch's size %(6 rows%): 18 of the 18 entries",
    fit, hard(32), {callbacks = {wb.callbacks.Lambda{on_train_batch_end = function()
      steps = steps + 1 end}}})
  T.eq(steps, 0, "no step trained")
  fit(hard(35), {batch_size = 35}) -- no short batch: nothing wrong to see
  -- the short batch itself is still checked: a gradient wrong on its rows only
  local third = false -- the third step's batch, the short one
  local function late(out, y)
    local v, g = mse()(out, y)
    return v, third and g * 0.5 or g
  end
  T.check_error("on the first batch of another size %(the short last one%) %(6 rows%)", fit,
    late, {callbacks = {wb.callbacks.Lambda{on_train_batch_begin = function(s)
      third = s == 3 end}}})
end)

T.test("more entries than checked: whole rows, the first and the last always", function()
  wb.seed(7)
  local x = wb.randn(200, 5)
  local y = wb.new_tensor({200}, "uint8")
  for i = 1, 200 do y:set(i, i % 3) end
  local function go(loss)
    wb.seed(3)
    local m = wb.nn.Sequential{wb.nn.Dense(5, 3)}
    return m:fit(x, y, {loss = loss, epochs = 1, batch_size = 200, verbose = false})
  end
  go(mse())
  -- 200 rows x 3 classes: 85 whole rows (255 entries)
  T.check_error("%(200 rows%): 1 of the 255 entries checked disagree %(rows 200%)", go,
    mse(function(g) g:set(200, 3, 0); return g end))
end)

T.test("the check draws nothing from the global generator, even when the loss does", function()
  local function drawing(out, y) wb.rand(1); return mse()(out, y) end
  local h1, m1 = fit(drawing, {epochs = 2})
  local after1 = wb.rand(4)
  local h2, m2 = fit(drawing, {epochs = 2, grad_check = false})
  local after2 = wb.rand(4)
  T.eq(h1.loss[2], h2.loss[2])
  T.eq(wb.io._hash(m1[2].weight), wb.io._hash(m2[2].weight), "weights bit for bit")
  T.eq(wb.io._hash(after1), wb.io._hash(after2), "the global generator where it was")
end)

T.done()
