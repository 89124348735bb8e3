-- test_losses.lua: fit's and evaluate's `loss` option. MSE against its
-- closed form and finite differences; each named loss (wb.losses.NAMES)
-- through a model: one SGD step against finite differences of the
-- weights, one epoch of fit lowers it on an MNIST subset; names are checked
-- by fit, evaluate and the experiment config. Also a hand-written loss and
-- fit(x, y, opts) with tensors. Keras's formulas, float64 finite
-- differences and PyTorch: test_losses_keras.lua.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local s = 777
local function rnd()
  s = (s * 1103515245 + 12345) % 2147483648
  return s / 2147483648
end
local function rand(m, n)
  local rows = {}
  for i = 1, m do
    rows[i] = {}
    for j = 1, n do rows[i][j] = rnd() end
  end
  return wb.tensor(rows)
end
local function labels(n, c)
  local y = wb.new_tensor({n}, "uint8")
  for i = 1, n do y:set(i, math.floor(rnd() * c)) end
  return y
end

local x, y = rand(24, 6), labels(24, 4)

local function model(seed, head, l2)
  wb.seed(seed)
  return nn.Sequential{nn.Dense(6, 5, {activation = "tanh", l2 = l2}),
    nn.Dense(5, 4, {activation = head or "softmax"})}
end

T.test("mse: value and gradient equal the closed form (Keras: mean over classes, batch)",
    function()
  local out, yy = rand(5, 3), labels(5, 3)
  local v, g = wb.losses.mse(out, yy)
  local sum = 0
  for i = 1, 5 do
    for j = 1, 3 do
      local d = out:get(i, j) - (yy:get(i) == j - 1 and 1 or 0)
      sum = sum + d * d
      T.near(g:get(i, j), 2 * d / 15, 1e-7, "grad " .. i .. "," .. j)
    end
  end
  T.near(v, sum / 15, 1e-7)
  -- central differences of the value
  for _, ij in ipairs{{1, 1}, {3, 2}, {5, 3}} do
    local i, j, h = ij[1], ij[2], 1e-2
    local o = out:get(i, j)
    out:set(i, j, o + h); local up = wb.losses.mse(out, yy)
    out:set(i, j, o - h); local down = wb.losses.mse(out, yy)
    out:set(i, j, o)
    T.near((up - down) / (2 * h), g:get(i, j), 1e-5, "fd " .. i .. "," .. j)
  end
  T.check_error("mse: labels: label 2 %(1%-based position%) is 3, expected an integer in 0..2",
    function() wb.losses.mse(out, wb.tensor({0, 3, 1, 1, 1}):float()) end)
end)

-- The heads: cross-entropy's probability path needs a positive output
-- (sigmoid), hinge a signed one (tanh keeps 1 - t out in (0, 2): no kink
-- between the finite-difference points).
local HEADS = {{"sparse_categorical_crossentropy", "softmax"},
  {"categorical_crossentropy", "softmax"}, {"categorical_crossentropy", "sigmoid"},
  {"mse", "softmax"}, {"hinge", "tanh"}, {"squared_hinge", "tanh"}}

T.test("fit with each loss: one SGD step moves the weights by the finite-difference gradient"
    .. " (with the L2 penalty)", function()
  for _, lh in ipairs(HEADS) do
    local loss, what = lh[1], lh[1] .. " on " .. lh[2]
    local m = model(1, lh[2], 0.05)
    T.ok(m:l2_penalty() > 1e-3, "a penalty")
    if rawget(wb.losses, loss) then -- the penalty is added to the data loss
      T.near(m:evaluate(x, y, {loss = loss}).loss,
        wb.losses[loss](m:predict(x), y) + m:l2_penalty(), 1e-6, what .. ": evaluate")
    end
    local before = {}
    for _, lij in ipairs{{1, 1, 1}, {1, 4, 3}, {1, 6, 5}, {2, 2, 3}} do
      local w, i, j, h = m[lij[1]].weight, lij[2], lij[3], 1e-2
      local o = w:get(i, j)
      w:set(i, j, o + h); local up = m:evaluate(x, y, {loss = loss, batch_size = 24}).loss
      w:set(i, j, o - h); local down = m:evaluate(x, y, {loss = loss, batch_size = 24}).loss
      w:set(i, j, o)
      before[#before + 1] = {w, i, j, o, (up - down) / (2 * h)}
    end
    m:fit(x, y, {loss = loss, batch_size = 24, epochs = 1, shuffle = false, verbose = false,
      optimizer = wb.optim.SGD{lr = 1}})
    for _, b in ipairs(before) do
      local step = b[4] - b[1]:get(b[2], b[3]) -- lr 1: the gradient
      T.ok(math.abs(step - b[5]) <= 2e-3 * math.abs(b[5]) + 2e-6, string.format(
        "%s, w[%d][%d]: step %.8g, fd gradient %.8g", what, b[2], b[3], step, b[5]))
    end
    T.ok(math.abs(before[1][5]) > 1e-5, what .. ": a gradient that is not zero")
  end
end)

T.test("a hand-written loss from the tensor basics equals the built-in mse", function()
  local function my_mse(out, labels)
    local n, c = out:size(1), out:size(2)
    local onehot = wb.zeros(n, c)
    for i = 1, n do onehot:set(i, labels:get(i) + 1, 1) end
    local d = out - onehot
    return d:pow(2):mean(), d * (2 / (n * c))
  end
  local h1 = model(2):fit(x, y, {loss = "mse", epochs = 3, batch_size = 8, seed = 1,
    verbose = false, optimizer = wb.optim.SGD{lr = 0.5}})
  local h2 = model(2):fit(x, y, {loss = my_mse, epochs = 3, batch_size = 8, seed = 1,
    verbose = false, optimizer = wb.optim.SGD{lr = 0.5}})
  for e = 1, 3 do T.near(h2.loss[e], h1.loss[e], 1e-6); T.eq(h2.accuracy[e], h1.accuracy[e]) end
  T.ok(h1.loss[3] < h1.loss[1], "it learns")
  local bad = function(out) return 1, out:sum(1) end
  T.check_error("second result must be the gradient w.r.t. the output, a float32 tensor of the "
    .. "output's shape %[8, 4%]", function()
    model(2):fit(x, y, {loss = bad, batch_size = 8, verbose = false}) end)
end)

T.test("evaluate's loss option; fit(x, y) equals fit on the dataset", function()
  local m = model(3)
  local p = m:predict(x)
  local want = wb.losses.mse(p, y)
  T.near(m:evaluate(x, y, {loss = "mse"}).loss, want, 1e-6)
  T.ok(math.abs(m:evaluate(x, y).loss - want) > 1e-3, "the default is cross-entropy")
  local o = {epochs = 2, batch_size = 5, seed = 4, verbose = false}
  local h1 = model(5):fit(x, y, o)
  local h2 = model(5):fit(wb.data.Dataset(x, y), o)
  T.eq(table.concat(h1.loss, ","), table.concat(h2.loss, ","))
  T.check_error("fit: fit%(train, opts%) takes no third argument", function()
    model(5):fit(wb.data.Dataset(x, y), o, {}) end)
end)

T.test("one epoch of fit lowers each loss on an MNIST subset", function()
  local d = wb.data.mnist()
  local train = d.train:subset(1, 600)
  for _, lh in ipairs(HEADS) do
    wb.seed(3)
    local m = nn.Sequential{nn.Flatten(), nn.Dense(784, 32, {activation = "relu"}),
      nn.Dense(32, 10, {activation = lh[2]})}
    local before = m:evaluate(train, {loss = lh[1]}).loss
    local h = m:fit(train, {loss = lh[1], epochs = 1, batch_size = 32, seed = 1,
      verbose = false})
    local after = m:evaluate(train, {loss = lh[1]}).loss
    T.ok(after < 0.9 * before, string.format("%s on %s: %.5g before, %.5g after", lh[1],
      lh[2], before, after))
    T.ok(h.loss[1] == h.loss[1] and h.loss[1] < before * 1.1, lh[1] .. ": history " .. h.loss[1])
  end
end)

T.test("loss names: unknown ones are refused naming them; the experiment key takes all",
    function()
  local list = table.concat(wb.losses.NAMES, ", ")
  T.eq(list, "sparse_categorical_crossentropy, categorical_crossentropy, mse, hinge, "
    .. "squared_hinge")
  T.check_error('fit: unknown loss "hinges", expected one of ' .. list, function()
    model(2):fit(x, y, {loss = "hinges", verbose = false}) end)
  T.check_error("evaluate: unknown loss 42, expected one of " .. list, function()
    model(2):evaluate(x, y, {loss = 42}) end)
  for _, name in ipairs(wb.losses.NAMES) do
    local e = wb.experiment{name = "l", base = {hidden = 8, loss = name}}
    T.ok(e, name)
  end
  T.check_error("loss: expected one of " .. list .. ', got string "hinges"', wb.experiment,
    {name = "l", base = {hidden = 8, loss = "hinges"}})
end)

T.test("loss names in another letter case are the names, as optimizer names are", function()
  -- before: fit{loss = "MSE"} was "unknown loss" while fit{optimizer =
  -- "Adam"} was Adam; now both take any case (an experiment's config takes
  -- both exactly as listed)
  local cases = {{"MSE", "mse", "linear"}, {"Mse", "mse", "linear"},
    {"Categorical_Crossentropy", "categorical_crossentropy", "sigmoid"},
    {"SPARSE_CATEGORICAL_CROSSENTROPY", "sparse_categorical_crossentropy", "softmax"},
    {"Hinge", "hinge", "linear"}, {"Squared_Hinge", "squared_hinge", "linear"}}
  for _, c in ipairs(cases) do
    local a, b = model(5, c[3]), model(5, c[3])
    T.eq(a:evaluate(x, y, {loss = c[1]}).loss, b:evaluate(x, y, {loss = c[2]}).loss, c[1])
    local ha = a:fit(x, y, {loss = c[1], epochs = 2, batch_size = 8, seed = 2,
      verbose = false, optimizer = "SGD"})
    local hb = b:fit(x, y, {loss = c[2], epochs = 2, batch_size = 8, seed = 2,
      verbose = false, optimizer = "sgd"})
    T.eq(table.concat(ha.loss, " "), table.concat(hb.loss, " "), c[1] .. ": the same training")
    T.eq(wb.losses._canonical(c[1]), c[2])
  end
  -- a near miss is refused, naming the nearest name
  T.check_error('fit: unknown loss "Hinges", expected one of ', function()
    model(2):fit(x, y, {loss = "Hinges", verbose = false}) end)
  T.check_error('grad_output (did you mean "hinge"?)', function()
    model(2):fit(x, y, {loss = "Hinges", verbose = false}) end)
  T.check_error('(did you mean "mse"?)', function()
    model(2):evaluate(x, y, {loss = "MSEE"}) end)
end)

T.done()
