-- test_instruments_moved_theta.lua: the instruments' copies of theta_t
-- (hess_max, hess_trace, tic, the L2 strip of the tests' mean gradient,
-- grad_hist_2d) are of the parameters the step's update starts from, also
-- when a callback's on_train_batch_begin moves the weights (it runs after
-- the instruments' own, which took the copies: tryN's "Left", hess_max
-- at the weights before the move; wb/instruments_moved.lua, self.late).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(31, 48, 10)

local function model()
  wb.seed(3)
  return nn.Sequential{nn.Dense(10, 6, {activation = "relu", l2 = 1e-2}),
    nn.Dense(6, 3, {activation = "softmax"})}
end

local function halve(m)
  for _, p in ipairs(m:parameters()) do p:copy(p * 0.5) end
end

-- A fit whose weights are halved before the even steps: at the step's
-- batch begin (where) or at the previous step's end, which trains alike.
-- seen: the weights each step's update starts from, as a list per step.
local function fit(where, names, seen, bs)
  local m = model()
  local cbs = {wb.callbacks.Lambda{
    on_train_batch_begin = function(step)
      if where == "begin" and step % 2 == 0 then halve(m) end
    end,
    on_train_batch_end = function(step)
      if where == "end" and step % 2 == 1 then halve(m) end
    end}}
  if seen then
    cbs[2] = wb.callbacks.Lambda{on_train_batch_begin = function(step)
      local w = m:get_weights()
      for k = 1, #w do w[k] = w[k]:clone() end
      seen[step] = w
    end}
  end
  local h
  T.stderr_of(function()
    h = m:fit(data, {epochs = 2, batch_size = bs or 8, shuffle = false, verbose = false,
      optimizer = wb.optim.SGD{lr = 0.1, momentum = 0.5}, instruments = names, every = 1,
      callbacks = cbs})
  end)
  return h
end

T.test("a move at batch begin gives every instrument the numbers of a move at the "
  .. "previous step's end", function()
  -- batch 24: the inner test's mean gradient strips L2's term off theta_t
  -- (Cb:_project; at 16 rows or fewer it comes from per-sample products)
  for _, run in ipairs{{wb.instruments.full, 8}, {{"hess_max", "hess_trace"}, 8},
      {{"grad_hist_2d"}, 8}, {{"inner_test"}, 24}} do
    local names, bs = run[1], run[2]
    local a, b = fit("end", names, nil, bs), fit("begin", names, nil, bs)
    T.eq(#a.steps.step, 96 // bs)
    local diff = T.history_diff(a.steps, b.steps, "steps", {})
    T.eq(#diff, 0, table.concat(names, ",") .. ": " .. table.concat(diff, "\n"))
    T.eq(T.history_diff(a.instruments.grad_hist_2d, b.instruments.grad_hist_2d, "h2d", {})[1],
      nil, "grad_hist_2d")
  end
end)

T.test("hess_trace and hess_max are the Hessian's at the moved weights", function()
  local seen = {}
  local h = fit("begin", {"hess_max", "hess_trace"}, seen)
  T.eq(h.instruments.hess_trace_method, "exact")
  local r = model()
  for s = 1, 6 do
    r:set_weights(seen[s])
    local x, y = data:subset((s - 1) * 8 + 1, s * 8):batch{1, 2, 3, 4, 5, 6, 7, 8}
    local batch = {x = x:clone(), y = y:clone()}
    local H = wb.hessian.full(r, batch)
    local trace = 0
    for i = 1, H:size(1) do trace = trace + H:get(i, i) end
    T.near(h.steps.hess_trace[s], trace, 1e-4 * math.abs(trace), "hess_trace at step " .. s)
    local top = wb.hessian.eigs(r, batch, {k = 1, tol = 1e-6}).values[1]
    T.near(h.steps.hess_max[s], top, 1e-3 * math.abs(top), "hess_max at step " .. s)
  end
end)

T.done()
