-- test_grad_check_small.lua: tryZ C1. fit's check of a hand-written loss
-- gradient (wb/grad_check.lua) took central differences at a fixed step
-- h = 1e-3, and a right label-smoothed cross-entropy -(1/n) sum q log p was
-- refused once training had brought probabilities p below h (p - h < 0
-- was clamped). The step now shrinks where the loss bends or ends within
-- it, and under a softmax an entry weighs by its probability: the right
-- loss passes at probabilities down to 1e-9, one clamped at 1e-7 (flat
-- below, its gradient not) is refused saying so, and the same loss with
-- its gradient doubled, of flipped sign or without the smoothing's term is
-- still refused on the first batch, at first and at small probabilities.
local T = dofile("tests/lua/harness.lua")

wb.seed(7)
local N, C = 64, 10
local X = wb.randn(N, 20)
local Y = wb.new_tensor({N}, "uint8")
for i = 1, N do Y:set(i, (i * 7) % C) end

-- label-smoothed cross-entropy of probabilities, as tryZ wrote it, p
-- clamped at lo (1e-30: the value is -q log p at any p reached here);
-- wrong: "double", "sign" or "term" (the gradient without eps / C's part)
local function smoothed(eps, wrong, lo)
  return function(out, y)
    local n = out:size(1)
    local q, t = wb.zeros(n, C), wb.zeros(n, C)
    for i = 1, n do
      for c = 1, C do
        local hit = c == y:get(i) + 1
        q:set(i, c, hit and 1 - eps + eps / C or eps / C)
        t:set(i, c, hit and 1 - eps + eps / C or 0)
      end
    end
    local p = out:clamp(lo or 1e-30, 1)
    local g = -((wrong == "term" and t or q) / p) / n
    if wrong == "double" then g = g * 2 elseif wrong == "sign" then g = g * -1 end
    return -((q * p:log()):sum()) / n, g
  end
end

local function model()
  wb.seed(3)
  return wb.nn.Sequential{wb.nn.Dense(20, 32, {activation = "relu"}),
    wb.nn.Dense(32, C, {activation = "softmax"})}
end

-- a model whose probabilities reach far below 1e-3: plain cross-entropy,
-- a large step, until its smallest probability is under 1e-6
local function trained()
  local m = model()
  m:fit(X, Y, {epochs = 30, verbose = false, optimizer = wb.optim.SGD{lr = 1}})
  return m, m:predict(X):min()
end

T.test("a right label-smoothed loss passes at probabilities far below the step", function()
  local m, low = trained()
  print(string.format("# smallest probability before the check: %.3g", low))
  T.ok(low < 1e-6, "the probabilities are small: " .. low)
  -- batch 20: the first batch and the short last one (4 rows) are checked
  local h = m:fit(X, Y, {epochs = 2, batch_size = 20, verbose = false, loss = smoothed(0.1)})
  T.eq(#h.loss, 2)
  -- tryZ's clamp at 1e-7: below it the value is flat and -q / 1e-7 n is
  -- no slope of it (in training, p times that is as large as a dropped
  -- term's error): refused, saying so
  m = trained()
  T.check_error("the value does not change with output%[%d+, %d+%] %(clamped there%?%), the "
    .. "gradient does: clamp the gradient too, or clamp lower", function()
    m:fit(X, Y, {epochs = 1, batch_size = 20, verbose = false, loss = smoothed(0.1, nil, 1e-7)})
  end)
end)

T.test("a wrong gradient of that loss is refused on the first batch", function()
  for _, wrong in ipairs{"double", "sign", "term"} do
    T.check_error("fit: the loss function's gradient does not match its value on the first "
      .. "batch %(32 rows%)", function()
      model():fit(X, Y, {epochs = 1, verbose = false, loss = smoothed(0.1, wrong)})
    end)
    local m = trained() -- and at small probabilities
    T.check_error("does not match its value on the first batch", function()
      m:fit(X, Y, {epochs = 1, verbose = false, loss = smoothed(0.1, wrong)})
    end)
  end
end)
