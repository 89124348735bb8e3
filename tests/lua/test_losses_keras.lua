-- test_losses_keras.lua: the losses of wb.losses on the output
-- (categorical_crossentropy, mse, hinge, squared_hinge) and the fused
-- cross-entropies: value and gradient against Keras's formulas written out
-- here (fixed numbers, Keras's documented values, the clip and the kinks
-- included), against central differences in float64 on the arithmetic of
-- wb/losses_keras.lua, and against PyTorch in float64 on the same numbers
-- (/usr/bin/python3 with torch, Debian's python3-torch; without it the
-- test fails naming the package, as README says).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local keras = require "wb.losses_keras"
local nn = wb.nn

-- {==================== Keras's formulas, written out ====================

local function hot(id, j) return j == id + 1 and 1 or 0 end

-- categorical_crossentropy on probabilities (Keras's backend when the
-- output is not a softmax's): p = out / row sum, clipped to [1e-7, 1 - 1e-7],
-- -sum_k t_k log p_k per row, mean over rows. The gradient by the chain
-- rule through the division, a clipped p passing nothing (bounds included:
-- TF's clip_by_value and torch.clamp pass the gradient at lo and hi).
local function ref_cce(rows, ids)
  local eps, n, v, g = 1e-7, #rows, 0, {}
  for i, r in ipairs(rows) do
    local c, s, dp = #r, 0, {}
    for j = 1, c do s = s + r[j] end
    for k = 1, c do
      local p = r[k] / s
      v = v - hot(ids[i], k) * math.log(math.max(eps, math.min(1 - eps, p)))
      dp[k] = (p < eps or p > 1 - eps) and 0 or -hot(ids[i], k) / p
    end
    g[i] = {}
    for j = 1, c do
      local sum = 0
      for k = 1, c do sum = sum + dp[k] * (hot(0, k - j + 1) / s - r[k] / (s * s)) end
      g[i][j] = sum / n
    end
  end
  return v / n, g
end

-- hinge and squared_hinge: t = 2 onehot - 1, mean over classes of
-- max(1 - t out, 0) (squared), mean over rows; TF's maximum passes the
-- gradient to 1 - t out where it is >= 0, the kink included.
local function ref_hinge(rows, ids, squared)
  local n, v, g = #rows, 0, {}
  for i, r in ipairs(rows) do
    local c, row = #r, 0
    g[i] = {}
    for j = 1, c do
      local t = 2 * hot(ids[i], j) - 1
      local a = math.max(1 - t * r[j], 0)
      row = row + (squared and a ^ 2 or a)
      local pass = 1 - t * r[j] >= 0 and 1 or 0
      g[i][j] = (squared and 2 * a or 1) * pass * -t / (c * n)
    end
    v = v + row / c
  end
  return v / n, g
end

local function ref_mse(rows, ids)
  local n, v, g = #rows, 0, {}
  for i, r in ipairs(rows) do
    local c, row = #r, 0
    g[i] = {}
    for j = 1, c do
      local d = r[j] - hot(ids[i], j)
      row, g[i][j] = row + d * d, 2 * d / (c * n)
    end
    v = v + row / c
  end
  return v / n, g
end

local REF = {categorical_crossentropy = ref_cce, mse = ref_mse, hinge = ref_hinge,
  squared_hinge = function(r, k) return ref_hinge(r, k, true) end}
local ON_OUTPUT = {"categorical_crossentropy", "mse", "hinge", "squared_hinge"}

local FIXED = {
  -- Keras's docstring of categorical_crossentropy: rows 0.10536 0.11653 0.06188
  {rows = {{0.9, 0.05, 0.05}, {0.05, 0.89, 0.06}, {0.05, 0.01, 0.94}}, ids = {0, 1, 2}},
  -- Keras's CategoricalCrossentropy metric docstring: 1.1769392
  {rows = {{0.05, 0.95, 0}, {0.1, 0.8, 0.1}}, ids = {1, 2}},
  -- rows not summing to 1; a true class at p = 0 (clipped low), at p = 1 (high)
  {rows = {{2, 1, 1}, {0, 1, 1}, {0, 1, 0}, {0.25, 0.5, 0.25}}, ids = {0, 0, 1, 2}},
  -- hinge's kinks, 1 - t out = 0: out = 1 at the true class, -1 elsewhere
  {rows = {{1, -1, 0.5}, {-1, 1, -0.25}, {0.3, 2, -2}, {-1, -1, 1}}, ids = {0, 1, 2, 2}},
}

local function tensors(rows, ids)
  local out, y = wb.tensor(rows), wb.new_tensor({#ids}, "uint8")
  for i, k in ipairs(ids) do y:set(i, k) end
  return out, y, out:totable() -- the rows as float32 holds them
end

local function same_grad(g, want, tol, what)
  for i = 1, #want do
    for j = 1, #want[i] do
      local gij = type(g) == "table" and g[i][j] or g:get(i, j)
      T.near(gij, want[i][j], tol * math.max(1, math.abs(want[i][j])),
        string.format("%s: gradient [%d][%d]", what, i, j))
    end
  end
end

-- }====================

T.test("each loss on the output: value and gradient equal Keras's formula on fixed numbers",
    function()
  for si, set in ipairs(FIXED) do
    local out, y, rows = tensors(set.rows, set.ids)
    for _, name in ipairs(ON_OUTPUT) do
      local what = string.format("%s, set %d", name, si)
      local v, g = wb.losses[name](out, y)
      local rv, rg = REF[name](rows, set.ids)
      T.near(v, rv, 1e-6 * math.max(1, math.abs(rv)), what)
      same_grad(g, rg, 1e-6, what)
    end
  end
  local function cce(set)
    return (wb.losses.categorical_crossentropy(tensors(set.rows, set.ids)))
  end
  T.near(cce(FIXED[1]), (0.10536 + 0.11653 + 0.06188) / 3, 2e-6, "Keras's docstring")
  T.near(cce(FIXED[2]), 1.1769392, 1e-6, "Keras's metric docstring")
  local v, g = wb.losses.categorical_crossentropy(tensors({{0, 1, 1}, {0, 1, 0}}, {0, 1}))
  T.near(v, (-math.log(1e-7) - math.log(1 - 1e-7)) / 2, 1e-9, "clipped both ways")
  T.eq(g:abs():sum(), 0, "no gradient through the clip")
  -- hinge at the kink: TF's -t/(n C); squared_hinge 0
  local out, y = tensors({{1, -1, 0.5}}, {0})
  local _, gh = wb.losses.hinge(out, y)
  local _, gs = wb.losses.squared_hinge(out, y)
  T.near(gh:get(1, 1), -1 / 3, 1e-7); T.near(gh:get(1, 2), 1 / 3, 1e-7)
  T.eq(gs:get(1, 1), 0); T.eq(gs:get(1, 2), 0)
  T.check_error("hinge: labels: label 1 %(1%-based position%) is 3, expected an integer in 0..2",
    wb.losses.hinge, out, wb.tensor({3}):float())
  T.check_error("squared_hinge: 2 labels for an output of 1 rows", wb.losses.squared_hinge,
    out, wb.tensor({0, 1}):float())
end)

-- Random rows away from the kinks (and for cross-entropy positive, inside
-- the clip bounds but for one row whose true class is clipped).
local function random_rows(n, c, positive)
  local rows, ids = {}, {}
  for i = 1, n do
    ids[i] = math.random(0, c - 1)
    rows[i] = {}
    for j = 1, c do
      local o
      repeat
        o = positive and 0.05 + 0.95 * math.random() or 4 * math.random() - 2
      until math.abs(1 - math.abs(o)) > 1e-3
      rows[i][j] = o
    end
  end
  return rows, ids
end

T.test("each loss on the output against central differences in float64", function()
  math.randomseed(11)
  local fns = {categorical_crossentropy = keras.categorical_crossentropy, hinge = keras.hinge,
    squared_hinge = function(r, k) return keras.hinge(r, k, true) end}
  for trial = 1, 4 do
    for name, f in pairs(fns) do
      local what = string.format("%s, trial %d", name, trial)
      local rows, ids = random_rows(2 + trial % 3, 3 + trial, name == "categorical_crossentropy")
      if trial == 4 and name == "categorical_crossentropy" then rows[1][ids[1] + 1] = 1e-9 end
      local _, g = f(rows, ids)
      for i = 1, #rows do
        for j = 1, #rows[i] do
          local o = rows[i][j]
          local h = 1e-6 * math.max(math.abs(o), 1e-3) -- the 1e-9 stays clipped
          rows[i][j] = o + h; local up = f(rows, ids)
          rows[i][j] = o - h; local down = f(rows, ids)
          rows[i][j] = o
          T.near(g[i][j], (up - down) / (2 * h), 1e-7 * math.max(1, math.abs(g[i][j])),
            string.format("%s [%d][%d]", what, i, j))
        end
      end
      if trial == 4 and name == "categorical_crossentropy" then
        T.eq(g[1][1], 0, "clipped row: no gradient")
      end
      -- the tensor function is this arithmetic on the float32 rows
      local out, y, rows32 = tensors(rows, ids)
      local v32, g32 = f(rows32, ids)
      local v, gt = wb.losses[name](out, y)
      T.eq(v, v32, what .. ": tensor value"); same_grad(gt, g32, 1e-7, what .. " (tensor)")
    end
  end
end)

-- The fused path through a model Dense(c, c, softmax) whose weight holds
-- the logits z and whose inputs are the identity: evaluate gives the loss
-- of z, one SGD step (lr 1) subtracts its gradient from the weight.
local Z = {{-20, 0, 0, 0}, {0.5, -1, 2, 0.25}, {1, 1, 1, 1}, {3, -2, 0.5, -0.5}}
local ZIDS = {0, 2, 3, 1}
local function fused(loss)
  local c = #Z
  local m = nn.Sequential{nn.Dense(c, c, {activation = "softmax"})}
  local eye = wb.zeros(c, c)
  for i = 1, c do
    eye:set(i, i, 1)
    for j = 1, c do m[1].weight:set(i, j, Z[i][j]) end
  end
  local _, y = tensors(Z, ZIDS)
  local v = m:evaluate(eye, y, {loss = loss}).loss
  m:fit(eye, y, {loss = loss, batch_size = c, shuffle = false, verbose = false,
    optimizer = wb.optim.SGD{lr = 1}})
  local g = {}
  for i = 1, c do
    g[i] = {}
    for j = 1, c do g[i][j] = Z[i][j] - m[1].weight:get(i, j) end
  end
  return v, g
end

T.test("on a softmax head both cross-entropies are Keras's from the logits, unclipped",
    function()
  -- Keras on TensorFlow takes the logits of a softmax output
  -- (softmax_cross_entropy_with_logits): logsumexp(z) - z_y, gradient
  -- (softmax(z) - onehot)/n. Row 1 has p = 2e-9 < 1e-7: no clip.
  local n, want, wg = #Z, 0, {}
  for i, z in ipairs(Z) do
    local se = 0
    for _, zj in ipairs(z) do se = se + math.exp(zj) end
    want = want + (math.log(se) - z[ZIDS[i] + 1]) / n
    wg[i] = {}
    for j, zj in ipairs(z) do wg[i][j] = (math.exp(zj) / se - hot(ZIDS[i], j)) / n end
  end
  T.ok(want > -math.log(1e-7) / n, "the first row alone is past the clip's bound")
  for _, loss in ipairs{"sparse_categorical_crossentropy", "categorical_crossentropy"} do
    local v, g = fused(loss)
    T.near(v, want, 1e-5, loss)
    same_grad(g, wg, 1e-6, loss)
  end
end)

local py = "/usr/bin/python3"
local function against_torch()
  math.randomseed(5)
  local cases, lines = {}, {}
  local function add(name, rows, ids, v, g)
    cases[#cases + 1] = {name = name, v = v, g = g}
    local r = {}
    for i, row in ipairs(rows) do
      local f = {}
      for j, o in ipairs(row) do f[j] = string.format("%.17g", o) end
      r[i] = "[" .. table.concat(f, ",") .. "]"
    end
    lines[#lines + 1] = string.format('{"loss": "%s", "out": [%s], "ids": [%s]}', name,
      table.concat(r, ","), table.concat(ids, ","))
  end
  local sets = {table.unpack(FIXED)}
  for k = 1, 3 do
    local rows, ids = random_rows(3 + k, 5, k ~= 3)
    sets[#sets + 1] = {rows = rows, ids = ids}
  end
  for _, set in ipairs(sets) do
    local out, y, rows = tensors(set.rows, set.ids)
    for _, name in ipairs(ON_OUTPUT) do add(name, rows, set.ids, wb.losses[name](out, y)) end
  end
  for _, loss in ipairs{"sparse_categorical_crossentropy", "categorical_crossentropy"} do
    local v, g = fused(loss)
    add("logits " .. loss, Z, ZIDS, v, g)
  end
  local f = os.tmpname()
  local fh = assert(io.open(f, "w")); fh:write(table.concat(lines, "\n"), "\n"); fh:close()
  local p = io.popen(py .. [[ -c '
import sys, json, torch
F = torch.nn.functional
for line in open(sys.argv[1]):
    c = json.loads(line)
    o = torch.tensor(c["out"], dtype=torch.float64, requires_grad=True)
    y = torch.tensor(c["ids"], dtype=torch.long)
    t = F.one_hot(y, o.shape[1]).double()
    if c["loss"].startswith("logits"):
        v = F.cross_entropy(o, y)
    elif c["loss"] == "categorical_crossentropy":
        v = F.nll_loss(torch.log(torch.clamp(o / o.sum(1, keepdim=True), 1e-7, 1 - 1e-7)), y)
    elif c["loss"] == "mse":
        v = F.mse_loss(o, t)
    else:
        a = torch.clamp(1 - (2 * t - 1) * o, min=0)
        v = (a if c["loss"] == "hinge" else a ** 2).mean()
    v.backward()
    print(" ".join("%.17g" % x for x in [v.item()] + o.grad.flatten().tolist()))
' ]] .. f .. " 2>&1")
  local text = p:read("a"); p:close(); os.remove(f)
  local n = 0
  for line in text:gmatch("[^\n]+") do
    n = n + 1
    local c, nums = cases[n], {}
    T.ok(c, "an extra line from python: " .. line)
    for x in line:gmatch("%S+") do nums[#nums + 1] = tonumber(x) end
    T.ok(#nums > 1 and nums[1], "python: " .. line)
    local what = c.name .. ", case " .. n
    T.near(c.v, nums[1], (c.name == "mse" and 1e-6 or 1e-5) * math.max(1, math.abs(nums[1])),
      what)
    local want, k = {}, 1
    local cols = type(c.g) == "table" and #c.g[1] or c.g:size(2)
    for i = 1, (#nums - 1) // cols do
      want[i] = {}
      for j = 1, cols do k = k + 1; want[i][j] = nums[k] end
    end
    same_grad(c.g, want, 1e-6, what)
  end
  T.eq(n, #cases, text)
end

local TORCH_TEST = "each loss equals PyTorch's in float64 on the same numbers"
if os.execute(py .. " -c 'import torch' 2>/dev/null") then T.test(TORCH_TEST, against_torch)
else T.test(TORCH_TEST, function() T.missing("python3-torch") end) end

T.done()
