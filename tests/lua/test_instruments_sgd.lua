-- test_instruments_sgd.lua: with plain SGD and no L2 the instruments take
-- the update as -lr times the mean gradient (wb/instruments_samples.lua
-- Cb:_project: alpha's projections from products of per-sample gradients,
-- no walk over the update's rows); the series must equal those measured
-- from the update the optimizer made (the general path, forced with
-- wb.instruments._measured_update), and the path used is recorded. With
-- any other optimizer, or L2, the optimizer sums what the instruments read
-- in its own update (core/optim.h wb_optim_watch): the series must be the
-- measured path's (a copy of theta_t and a pass of the instruments' own),
-- within the float blocks' rounding (bit for bit for the loss and the
-- histogram), and training bit for bit the same as without instruments.
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

-- names: the instruments (NAMES when nil, none when false); width: the
-- hidden layer's (16 when nil)
local function run(opt, every, measured, l2, bs, names, width)
  wb.instruments._measured_update = measured
  wb.seed(2)
  width = width or 16
  local m = wb.nn.Sequential{wb.nn.Dense(30, width, {activation = "relu", l2 = l2 or 0}),
    wb.nn.Dense(width, 4, {activation = "softmax"})}
  local x, y = data(330) -- each epoch ends on a partial batch: alpha's end then
  -- crosses a full batch with a partial one (and the reverse at batch 80)
  if names == nil then names = NAMES end
  local ok, h = pcall(m.fit, m, x, y, {batch_size = bs or 16, epochs = 2, verbose = false,
    seed = 1, optimizer = opt(), instruments = names or nil, every = names and every or nil})
  wb.instruments._measured_update = nil
  if not ok then error(h, 0) end
  return h, m:get_weights()
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

-- {==================== every optimizer: the update's own sums ====================

-- a and b the same number, NaN included
local function same(a, b) return a == b or (a ~= a and b ~= b) end

-- Without L2's term the update's own sums are float blocks widened to
-- double (core/optim.h wb_optim_watched: a relative rounding of at most
-- 6e-7 a sum), the measured path's all double: a norm (the square root of
-- a sum) and alpha may differ by 6e-7 of their value; Cockpit's tests
-- subtract such sums (a variance), which magnifies the difference (4.5e-8
-- seen), so 1e-5. Series not read from the sums (loss, ...) are equal.
local function tolerance(series)
  if series:match("_test") then return 1e-5 end
  for _, p in ipairs{"alpha", "grad_norm", "distance", "update_size"} do
    if series:sub(1, #p) == p then return 6e-7 end
  end
  return 0
end
local function near(a, b, tol) return same(a, b) or math.abs(a - b) <= tol * math.abs(b) end

local ECONOMY = wb.instruments.economy
-- the first kernel's 30 x 43 = 1290 entries: five of the optimizer's
-- blocks of 256 (core/optim_impl.h), then 10, whose last two are a tail
local WIDTH = 43
local CASES = {
  {"Adam", function() return wb.optim.Adam{lr = 1e-2} end, ECONOMY},
  {"SGD momentum", function() return wb.optim.SGD{lr = 0.1, momentum = 0.9} end, ECONOMY},
  {"SGD nesterov", function() return wb.optim.SGD{lr = 0.1, momentum = 0.9, nesterov = true} end,
    ECONOMY},
  {"RMSprop", function() return wb.optim.RMSprop{lr = 1e-2} end, ECONOMY},
  {"AdamW, L2", function() return wb.optim.AdamW{lr = 1e-2, weight_decay = 0.1} end, ECONOMY,
    1e-2},
  {"SGD, L2", sgd, ECONOMY, 1e-2},
  {"Adam, gradient norm alone", function() return wb.optim.Adam{lr = 1e-2} end,
    {"grad_norm", "norm_test"}},
  {"RMSprop, distance alone", function() return wb.optim.RMSprop{lr = 1e-2} end, {"distance"}},
  {"SGD momentum, alpha alone", function() return wb.optim.SGD{lr = 0.1, momentum = 0.9} end,
    {"alpha"}, 1e-2},
}

for _, case in ipairs(CASES) do
  local name, opt, names, l2 = case[1], case[2], case[3], case[4]
  for _, every in ipairs{1, 3} do
    T.test(string.format("%s: the update's own sums equal the measured path's (float "
      .. "blocks), every %d", name, every), function()
      -- the measured path's pass (persample.h wb_persample_params) runs
      -- only when forced
      local pass, calls = wb.instruments._params, 0
      wb.instruments._params = function(...) calls = calls + 1; return pass(...) end
      local ok, h, w = pcall(run, opt, every, nil, l2, 16, names, WIDTH)
      local n = calls
      local okm, hm, wm = pcall(run, opt, every, true, l2, 16, names, WIDTH)
      wb.instruments._params = pass
      if not (ok and okm) then error(ok and hm or h, 0) end
      T.eq(n, 0, "passes of the instruments' own")
      T.ok(calls > 0, "the measured path made no pass")
      local h0, w0 = run(opt, every, nil, l2, 16, false, WIDTH)
      local st, sm, compared = h.steps, hm.steps, 0
      T.eq(#st.step, #sm.step)
      for k, series in pairs(sm) do
        T.ok(st[k], "series " .. k)
        local tol = tolerance(k)
        for r = 1, #st.step do
          T.ok(near(st[k][r], series[r], tol), string.format("%s row %d: %.17g (watched) vs "
            .. "%.17g (measured, tolerance %g)", k, r, st[k][r], series[r], tol))
          compared = compared + 1
        end
      end
      for k in pairs(st) do T.ok(sm[k], "series " .. k .. " in one path only") end
      T.ok(compared >= (names == ECONOMY and 15 or 5) * #st.step, compared .. " values")
      if names == ECONOMY then
        T.ok(st.alpha[1] == st.alpha[1] and st.distance[2] > 0 and st.update_size[1] > 0,
          "the parameter series are there")
        local ch, cm = h.instruments.grad_hist.counts, hm.instruments.grad_hist.counts
        T.eq(#ch, #cm)
        for r = 1, #cm do
          T.eq(table.concat(ch[r], ","), table.concat(cm[r], ","), "hist " .. r)
        end
      end
      -- training is the same with either path and without instruments
      for e = 1, #h0.loss do
        T.eq(h.loss[e], h0.loss[e], "loss epoch " .. e)
        T.eq(hm.loss[e], h0.loss[e], "loss epoch " .. e .. " (measured)")
      end
      for i = 1, #w0 do
        T.eq((w[i] - w0[i]):abs():max(), 0, "weights " .. i)
        T.eq((wm[i] - w0[i]):abs():max(), 0, "weights " .. i .. " (measured)")
      end
    end)
  end
end

-- }====================

T.done()
