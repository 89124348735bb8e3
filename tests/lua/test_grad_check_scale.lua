-- test_grad_check_scale.lua: audit Q1. fit's check of a hand-written loss
-- gradient (wb/grad_check.lua) let a gradient 3 % or 5 % off train at
-- MNIST's shape (10 classes, batches of 32 and 128): an entry's slope there
-- is about the value's rounding over the step. Along the gradient's own
-- direction the slopes add up, and such a scale is an error on the first
-- batch; right gradients (the library's own losses, with kinks, a focal
-- loss, a sum, a softmax head) still pass.
local T = dofile("tests/lua/harness.lua")

wb.seed(41)
local N, D, C = 300, 20, 10
local X = wb.randn(N, D)
local Y = wb.new_tensor({N}, "uint8")
for i = 1, N do Y:set(i, (i * 7) % C) end

-- softmax cross-entropy (or focal, gamma) on logits, written with loops;
-- scale multiplies the gradient; sum: a sum over rows, not a mean
local function ce(scale, gamma, sum)
  return function(out, y)
    local n, c = out:size(1), out:size(2)
    local v, g, k = 0, wb.zeros(n, c), sum and 1 or n
    for i = 1, n do
      local mx, s = -math.huge, 0
      for j = 1, c do mx = math.max(mx, out:get(i, j)) end
      for j = 1, c do s = s + math.exp(out:get(i, j) - mx) end
      local t = y:get(i) + 1
      local pt = math.exp(out:get(i, t) - mx) / s
      local w = gamma and (1 - pt) ^ gamma or 1
      v = v - w * math.log(pt)
      -- d/dz_j of -(1 - pt)^g log pt, pt = softmax_t
      local dpt = gamma and (gamma * (1 - pt) ^ (gamma - 1) * math.log(pt) - w / pt) or -1 / pt
      for j = 1, c do
        local pj = math.exp(out:get(i, j) - mx) / s
        local dz = dpt * pt * ((j == t and 1 or 0) - pj)
        g:set(i, j, scale * dz / k)
      end
    end
    return v / k, g
  end
end

-- mse on one-hot targets with tensor operations (float32), scaled gradient
local function mse(scale)
  return function(out, y)
    local n, c = out:size(1), out:size(2)
    local t = wb.zeros(n, c)
    for i = 1, n do t:set(i, y:get(i) + 1, 1) end
    local d = out - t
    return (d * d):mean(), d * (scale * 2 / (n * c))
  end
end

local function fit(loss, bs, head)
  wb.seed(2)
  local m = wb.nn.Sequential{wb.nn.Dense(D, 16, {activation = "relu"}),
    wb.nn.Dense(16, C, head and {activation = head} or nil)}
  return m:fit(X, Y, {loss = loss, batch_size = bs, seed = 4, verbose = false,
    optimizer = wb.optim.SGD{lr = 0.1}})
end

local WHERE = "fit: the loss function's gradient does not match its value on the first batch "

T.test("a gradient 3 % or 5 % off is an error on the first batch at 10 classes, batch 32 and 128",
  function()
  for _, bs in ipairs{32, 128} do
    for _, k in ipairs{1.03, 0.97, 1.05} do
      T.check_error(WHERE .. "%(" .. bs .. " rows%): along the gradient's own direction .*: the "
        .. "gradient is " .. k .. " times the slope", fit, ce(k), bs)
      T.check_error(WHERE .. "%(" .. bs .. " rows%): along the gradient's own direction .*: the "
        .. "gradient is " .. k .. " times the slope", fit, mse(k), bs, "softmax")
    end
  end
end)

T.test("right gradients pass: cross-entropy, focal, a sum, mse, hinge and squared hinge (kinks), "
  .. "under linear and softmax heads", function()
  for _, bs in ipairs{32, 128} do
    fit(ce(1), bs)
    fit(ce(1, 2), bs)
    fit(ce(1, nil, true), bs)
    fit(mse(1), bs, "softmax")
    fit(mse(1), bs)
    for _, f in ipairs{wb.losses.mse, wb.losses.categorical_crossentropy, wb.losses.hinge,
        wb.losses.squared_hinge} do
      fit(f, bs, "softmax")
    end
    fit(wb.losses.hinge, bs)
    fit(wb.losses.squared_hinge, bs)
  end
end)

T.done()
