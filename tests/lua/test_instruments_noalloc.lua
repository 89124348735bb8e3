-- test_instruments_noalloc.lua: a measured step allocates nothing in the
-- core once the instruments' buffers have their size (the rule: no
-- allocation inside a training step). hess_max reset its Hessian
-- operator at every measured step, and wb_hvp_set_data allocated the
-- labels and two views of the batch each time (3 a step). Counted with
-- the core's own allocation counter (wb.io._faults' third number), not
-- timed.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- MNIST-like rows: a third of the pixels zero (the first layer's sparse
-- path), 10 classes, batches of 16 and a short last one
wb.seed(8)
local N, D = 200, 30
local X = wb.rand(N, D)
for i = 1, N do for j = 1, D do if (i + j) % 3 == 0 then X:set(i, j, 0) end end end
local Y = wb.new_tensor({N}, "uint8")
for i = 1, N do Y:set(i, (i * 7) % 10) end

-- the core allocations of each step after the third (the buffers sized by
-- then), as a list; x, y: other rows than X, Y
local function allocs(instruments, x, y, l2, bs)
  x, y = x or X, y or Y
  local D = x:size(2)
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(D, 16, {activation = "relu", l2 = l2}),
    wb.nn.Dense(16, 10, {activation = "softmax", l2 = l2})}
  local at = {}
  local cb = wb.callbacks.Lambda{on_train_batch_end = function(s)
    at[s] = select(3, wb.io._faults()) end}
  local h = m:fit(x, y, {batch_size = bs or 16, epochs = 3, seed = 1, verbose = false,
    optimizer = wb.optim.SGD{lr = 0.05}, instruments = instruments, every = 1,
    callbacks = {cb}})
  local out = {}
  for s = 4, #at do out[#out + 1] = at[s] - at[s - 1] end
  return out, h
end

T.test("every instrument of full, gsnr and tic_trace: a measured step allocates nothing",
  function()
  -- the fit's own: none but at an epoch's end and the next epoch's first
  -- step (the short last batch of 8 rows, then 16 again)
  local plain = allocs({"loss"})
  local steady = {}
  for i, n in ipairs(plain) do if n == 0 then steady[#steady + 1] = i end end
  T.ok(#steady >= 30, "steady steps: " .. table.concat(plain, " "))
  local names = {"gsnr", "tic_trace"}
  for _, n in ipairs(wb.instruments.full) do names[#names + 1] = n end
  names[#names + 1] = wb.instruments.full
  for _, n in ipairs(names) do
    local got, bad = allocs(type(n) == "table" and n or {n}), {}
    for _, i in ipairs(steady) do if got[i] ~= 0 then bad[#bad + 1] = i + 3 end end
    T.eq(table.concat(bad, " "), "", (type(n) == "table" and "full" or n) .. ": steps that "
      .. "allocated: " .. table.concat(got, " "))
  end
end)

-- 200 inputs, batches of 16 (and 8): hess_max in the first Dense's row
-- space (core/hvp_reduce.h), its two batch sets and the kept vector
T.test("hess_max in the row space: a measured step allocates nothing", function()
  local x = wb.rand(N, 200)
  for i = 1, N do for j = 1, 200 do if (i + j) % 3 == 0 then x:set(i, j, 0) end end end
  local plain, bad = allocs({"loss"}, x), {}
  local got, h = allocs({"hess_max"}, x)
  T.ok(h.instruments.hess_max.row_space > 0, "measured in the row space")
  for i, n in ipairs(plain) do
    if n == 0 and got[i] ~= 0 then bad[#bad + 1] = i + 3 end
  end
  T.eq(table.concat(bad, " "), "", "steps that allocated: " .. table.concat(got, " "))
end)

-- hess_max's safety net (wb/instruments_hessian.lua, Cb:_hess_max): a
-- measurement above resid_max is redone cold, and recorded NaN (warned once
-- on stderr) if that is above it too. At a resid_max no residual reaches,
-- every measured step takes that path, which steady runs never do; on the
-- whole operator (30 inputs) and in the row space (200)
T.test("hess_max redone cold and unconverged: a measured step allocates nothing", function()
  local L = wb.instruments._LANCZOS
  local keep = L.resid_max
  local wide = wb.rand(N, 200)
  for _, x in ipairs{X, wide} do
    local plain = allocs({"loss"}, x)
    L.resid_max = 1e-30
    local ok, r = pcall(T.stderr_of, function() return {allocs({"hess_max"}, x)} end)
    L.resid_max = keep
    if not ok then error(r, 0) end
    local got, h, what = r[1], r[2], x:size(2) .. " inputs: "
    local rec, bad = h.instruments.hess_max, {}
    T.eq(rec.redone, #h.steps.step, what .. "every measurement redone cold")
    T.eq(rec.unconverged, #h.steps.step, what .. "and recorded NaN")
    T.eq(rec.row_space > 0, x == wide, what .. "in the row space")
    for i, n in ipairs(plain) do
      if n == 0 and got[i] ~= 0 then bad[#bad + 1] = i + 3 end
    end
    T.ok(#got >= 30, what .. "steps: " .. #got)
    T.eq(table.concat(bad, " "), "", what .. "steps that allocated: " .. table.concat(got, " "))
  end
end)

-- with L2, above 16 rows on layers of 16 outputs, the tests' mean gradient
-- leaves out L2's 2 l2 theta_t (Cb:_project): it was g - theta * (2 l2), two
-- new tensors a layer (6 allocations a step here)
T.test("L2 and batches of 40: the inner and orthogonality tests allocate nothing", function()
  local plain, bad = allocs({"loss"}, nil, nil, 1e-3, 40), {}
  local got = allocs({"inner_test", "ortho_test"}, nil, nil, 1e-3, 40)
  for i, n in ipairs(plain) do
    if n == 0 and got[i] ~= 0 then bad[#bad + 1] = i + 3 end
  end
  T.ok(#got >= 8, "steps: " .. #got)
  T.eq(table.concat(bad, " "), "", "steps that allocated: " .. table.concat(got, " "))
end)

T.done()
