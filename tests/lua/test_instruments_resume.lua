-- test_instruments_resume.lua: the fit instruments across model:save_state
-- and fit{resume = path} (wb/instruments_state.lua): 3 epochs straight and
-- 2 + save_state + resume 1 give the same step series and
-- history.instruments, with economy every 1 and full every 3 (the last
-- step before the save measured: alpha's start pending), plain SGD and
-- Adam. Bit for bit except what the help documents as equal to rounding:
-- plain SGD's alpha at the step before the save, hess_max's Lanczos.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(777, 80, 10)

local function model()
  wb.seed(5)
  -- 24 outputs: the first layer's projections take the kept pair's path
  return nn.Sequential{nn.Dense(10, 24, {activation = "relu"}),
    nn.Dense(24, 3, {activation = "softmax"})}
end

local dir = T.tmpdir()
local ROUNDED = {hess_max = 1e-4, hess_max_residual = 1e-4}

local function same(a, b)
  return a == b or (a ~= a and b ~= b)
end

local function check_series(h1, h3, sgd, what)
  local n = #h1.steps.step
  T.eq(#h3.steps.step, n, what .. ": steps")
  local saved_row -- the last step of epoch 2: 5 batches of 16 per epoch
  for i = 1, n do if h1.steps.step[i] == 10 then saved_row = i end end
  for k, s1 in pairs(h1.steps) do
    local s3 = h3.steps[k]
    T.ok(s3, what .. ": series " .. k)
    for i = 1, n do
      local a, b = s1[i], s3[i]
      local tol = ROUNDED[k]
      if k == "alpha" and sgd and i == saved_row then tol = 1e-6 end
      if tol and a == a then
        T.near(b, a, tol * math.max(1, math.abs(a)), what .. ": " .. k .. " row " .. i)
      else
        T.ok(same(a, b), string.format("%s: %s row %d: %.17g vs %.17g", what, k, i, a, b))
      end
    end
  end
  if saved_row then -- alpha's start pending at the save
    T.ok(h1.steps.alpha[saved_row] == h1.steps.alpha[saved_row], what .. ": alpha measured")
  end
end

local function check_instruments(i1, i3, what)
  T.eq(table.concat(i3.names, ","), table.concat(i1.names, ","), what .. ": names")
  for k, v in pairs(i1.calls) do T.eq(i3.calls[k], v, what .. ": calls." .. k) end
  for k in pairs(i1.seconds) do T.ok(i3.seconds[k], what .. ": seconds." .. k) end
  local g1, g3 = i1.grad_hist, i3.grad_hist
  T.eq(table.concat(g3.step, ","), table.concat(g1.step, ","), what .. ": grad_hist.step")
  for r = 1, #g1.counts do
    T.eq(table.concat(g3.counts[r], ","), table.concat(g1.counts[r], ","),
      what .. ": grad_hist.counts " .. r)
  end
  T.eq(i3.update, i1.update); T.eq(i3.hess_trace_method, i1.hess_trace_method)
  if i1.hess_max then
    T.ok(math.abs(i3.hess_max.products - i1.hess_max.products) <= 16, what .. ": products")
    T.near(i3.hess_max.max_residual, i1.hess_max.max_residual, 1e-4, what)
  end
end

-- every 2: an odd number of puts into the kept pairs before the save (the
-- half the next fills must be the same: Cb:_project)
for _, c in ipairs{{"sgd", "economy", 1}, {"adam", "economy", 1}, {"sgd", "full", 3},
    {"adam", "full", 3}, {"sgd", "economy", 2}} do
  local opt, preset, every = c[1], c[2], c[3]
  local what = opt .. " " .. preset .. " every " .. every
  T.test("instruments resume: 3 epochs = 2 + save_state + 1 (" .. what .. ")", function()
    local function o(epochs, resume)
      return {epochs = epochs, batch_size = 16, verbose = false, resume = resume,
        optimizer = opt == "sgd" and wb.optim.SGD{lr = 0.1} or wb.optim.Adam{lr = 0.01},
        instruments = wb.instruments[preset], every = every}
    end
    local h1 = model():fit(data, o(3))
    local m2 = model()
    m2:fit(data, o(2))
    local path = dir .. "/" .. opt .. preset .. ".safetensors"
    m2:save_state(path)
    local h3 = model():fit(data, o(3, path))
    check_series(h1, h3, opt == "sgd", what)
    check_instruments(h1.instruments, h3.instruments, what)
  end)
end

T.test("instruments resume: other instruments than the saved fit's are refused", function()
  local m = model()
  m:fit(data, {epochs = 1, batch_size = 16, verbose = false, instruments = {"grad_norm"}})
  local path = dir .. "/other.safetensors"
  m:save_state(path)
  T.check_error("the saved fit measured instruments {grad_norm} every 1, this fit asks for "
    .. "{distance} every 1", function() model():fit(data, {epochs = 2, batch_size = 16,
      verbose = false, resume = path, instruments = {"distance"}}) end)
end)

T.done()
