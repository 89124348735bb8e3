-- test_instruments_sgd.lua: with plain SGD and no L2 the instruments take
-- the update as -lr times the mean gradient (wb/instruments_samples.lua
-- Cb:_project: alpha's projections from products of per-sample gradients,
-- no walk over the update's rows); the series must equal those measured
-- from the update the optimizer made (the general path, forced with
-- wb.instruments._measured_update), and the path used is recorded.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local NAMES = {"alpha", "inner_test", "ortho_test", "norm_test", "grad_norm", "distance",
  "update_size", "loss"}

-- Data with exact zeros, as pixels have (the layers keep their non-zeros).
local function data(n)
  wb.seed(4)
  local x = wb.rand(n, 30)
  for i = 1, n do
    for k = 1, 30 do if (i + k) % 3 == 0 then x:set(i, k, 0) end end
  end
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, (i * 5) % 4) end
  return x, y
end

local function run(opt, every, measured, l2, bs)
  wb.instruments._measured_update = measured
  wb.seed(2)
  local m = wb.nn.Sequential{wb.nn.Dense(30, 16, {activation = "relu", l2 = l2 or 0}),
    wb.nn.Dense(16, 4, {activation = "softmax"})}
  local x, y = data(330) -- each epoch ends on a partial batch: alpha's end then
  -- crosses a full batch with a partial one (and the reverse at batch 80)
  local ok, h = pcall(m.fit, m, x, y, {batch_size = bs or 16, epochs = 2, verbose = false, seed = 1,
    optimizer = opt(), instruments = NAMES, every = every})
  wb.instruments._measured_update = nil
  if not ok then error(h, 0) end
  return h
end

local function sgd() return wb.optim.SGD{lr = 0.3} end

-- Batch 16 takes projections on mean gradients from products of
-- per-sample gradients, batch 80 walks the gradients' rows (GRAM_MAX 64).
for _, case in ipairs{{16, 1}, {16, 3}, {80, 1}, {80, 3}} do
  local bs, every = case[1], case[2]
  T.test(string.format("plain SGD's series equal the measured update's, batch %d, every %d",
    bs, every), function()
    local fast, slow = run(sgd, every, nil, 0, bs), run(sgd, every, true, 0, bs)
    T.eq(fast.instruments.update, "sgd")
    T.eq(slow.instruments.update, "measured")
    local st, sm = fast.steps, slow.steps
    T.eq(#st.step, #sm.step)
    T.ok(#st.alpha >= 2, "alpha recorded")
    local finite = 0
    for _, k in ipairs(NAMES) do
      for s = 1, #st.step do
        local a, b = st[k][s], sm[k][s]
        if b ~= b then
          T.ok(a ~= a, k .. " step " .. s .. ": NaN in one path only")
        else
          finite = finite + 1
          T.ok(math.abs(a - b) <= 1e-3 * math.max(1, math.abs(b)), string.format(
            "%s step %d: %.9g (sgd) vs %.9g (measured)", k, s, a, b))
        end
      end
    end
    T.ok(finite >= 2 * #NAMES, "compared " .. finite .. " values")
  end)
end

T.test("the measured update is used with momentum, L2 or Adam", function()
  T.eq(run(function() return wb.optim.SGD{lr = 0.1, momentum = 0.9} end, 1).instruments.update,
    "measured")
  T.eq(run(sgd, 1, nil, 1e-3).instruments.update, "measured")
  T.eq(run(function() return wb.optim.Adam{lr = 1e-3} end, 1).instruments.update, "measured")
end)

T.done()
