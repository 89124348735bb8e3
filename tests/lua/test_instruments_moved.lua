-- test_instruments_moved.lua: update_size is ||theta_{t+1} - theta_t|| of
-- the parameters the forward passes read, also when a hook moves the
-- weights after the optimizer's update (wb/instruments_moved.lua; tryN
-- finding 2: a hook scaling the weights after even steps left update_size
-- at the update's norm, 0.109 for an actual 0.670), and alpha there is NaN.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(31, 48, 10)

local function model()
  wb.seed(3)
  return nn.Sequential{nn.Dense(10, 6, {activation = "relu"}),
    nn.Dense(6, 3, {activation = "softmax"})}
end

local function flat(m)
  local t = {}
  for _, p in ipairs(m:parameters()) do
    for _, v in ipairs(p:reshape(p:numel()):totable()) do t[#t + 1] = v end
  end
  return t
end

-- sqrt of sum over entries [from, to] of (a - b)^2
local function dist(a, b, from, to)
  local s = 0
  for i = from or 1, to or #a do s = s + (a[i] - b[i]) ^ 2 end
  return math.sqrt(s)
end

local function opts(opt, cbs, epochs)
  return {epochs = epochs or 2, batch_size = 8, shuffle = false, verbose = false,
    optimizer = opt == "sgd" and wb.optim.SGD{lr = 0.1} or wb.optim.Adam{lr = 0.01},
    instruments = {"update_size", "alpha", "distance"}, every = 1, callbacks = cbs}
end

-- A hook scaling every parameter by 0.9 after the even steps' updates; the
-- parameters each step's forward pass reads (seen by a batch-begin hook,
-- after the instruments': nothing moves them between it and the forward).
local function mover(seen)
  return wb.callbacks.Lambda{
    on_train_batch_begin = function(step) seen[step] = flat(seen.m) end,
    on_train_batch_end = function(step)
      if step % 2 == 0 then
        for _, p in ipairs(seen.m:parameters()) do p:copy(p * 0.9) end
      end
    end}
end

for _, opt in ipairs{"sgd", "adam"} do
  T.test("update_size is the parameters' difference around a hook's move (" .. opt .. ")",
    function()
      local m = model()
      local seen = {m = m}
      local h
      local _, err = T.stderr_of(function() h = m:fit(data, opts(opt, {mover(seen)})) end)
      local n = #h.steps.step
      T.eq(n, 12, "steps")
      seen[n + 1] = flat(m) -- after the last step: what the next one would read
      local k1 = 10 * 6 + 6 -- the first Dense's entries (kernel and bias)
      for i = 1, n do
        local want = dist(seen[i + 1], seen[i])
        local got = h.steps.update_size[i]
        T.near(got, want, 1e-6 * want, "update_size at step " .. i)
        T.near(h.steps.update_size_1[i], dist(seen[i + 1], seen[i], 1, k1), 1e-6 * want)
        T.near(h.steps.update_size_2[i], dist(seen[i + 1], seen[i], k1 + 1), 1e-6 * want)
        -- distance reads theta_t as the forward pass does
        T.near(h.steps.distance[i], dist(seen[i], seen[1]), 1e-6 * (want + 1))
        local a = h.steps.alpha[i]
        if i % 2 == 0 or i == n then
          T.ok(a ~= a, "alpha NaN at step " .. i .. ", got " .. tostring(a))
        else
          T.ok(a == a, "alpha measured at step " .. i)
        end
      end
      T.ok(err:find("the weights moved after step 2's update", 1, true), err)
      T.ok(err:find("callbacks[1] (Lambda at", 1, true), err)
      local _, count = err:gsub("the weights moved", "")
      T.eq(count, 1, "said once per fit")
    end)
end

T.test("a hook that leaves the weights changes no instrument's number", function()
  local plain = model():fit(data, opts("adam"))
  local m = model()
  local seen = {m = m}
  local reader = wb.callbacks.Lambda{on_train_batch_begin = function(step)
    seen[step] = flat(m) end, on_epoch_end = function() end}
  local h
  local _, err = T.stderr_of(function() h = m:fit(data, opts("adam", {reader})) end)
  T.eq(err, "")
  for _, k in ipairs{"update_size", "update_size_1", "alpha", "distance"} do
    for i = 1, #plain.steps.step do
      local a, b = plain.steps[k][i], h.steps[k][i]
      T.ok(a == b or (a ~= a and b ~= b), string.format("%s row %d: %.17g vs %.17g", k, i, a, b))
    end
  end
end)

T.test("wb's own callback objects (state_fit.still) are taken not to move weights", function()
  local m = model()
  local seen = {m = m}
  local cb = mover(seen)
  require("wb.state_fit").still[cb] = true
  local h
  local _, err = T.stderr_of(function() h = m:fit(data, opts("sgd", {cb})) end)
  T.eq(err, "")
  -- unchecked: step 2's update_size is the update's, below the move's difference
  T.ok(h.steps.update_size[2] < 0.9 * dist(seen[3], seen[2]))
end)

-- A move at each epoch's end, after which ModelCheckpoint saves the state:
-- the check of the epoch's last step is pending at the save, and goes on
-- after the resume.
T.test("a move pending at a save_state is checked after the resume", function()
  local dir = T.tmpdir()
  local function fit(m, epochs, resume, save)
    local cbs = {wb.callbacks.Lambda{on_epoch_end = function()
      for _, p in ipairs(m:parameters()) do p:copy(p * 0.5) end
    end}}
    cbs[2] = wb.callbacks.ModelCheckpoint{save, save_state = true}
    local o = opts("adam", cbs, epochs)
    o.resume = resume
    local h
    T.stderr_of(function() h = m:fit(data, o) end)
    return h
  end
  local h1 = fit(model(), 3, nil, dir .. "/straight.safetensors")
  local path = dir .. "/moved.safetensors"
  fit(model(), 2, nil, path)
  local h3 = fit(model(), 3, path, dir .. "/resumed.safetensors")
  T.eq(#h3.steps.step, #h1.steps.step)
  for i = 1, #h1.steps.step do
    for _, k in ipairs{"update_size", "alpha"} do
      local a, b = h1.steps[k][i], h3.steps[k][i]
      T.ok(a == b or (a ~= a and b ~= b), string.format("%s row %d: %.17g vs %.17g", k, i, a, b))
    end
  end
  -- the epochs' last steps: moved (6 steps an epoch)
  T.ok(h1.steps.alpha[6] ~= h1.steps.alpha[6] and h1.steps.update_size[6] > 0)
end)

-- {==================== a Lua layer that moves weights ====================

-- A Lua layer with no parameters of its own (one that owns some is refused
-- by the instruments) that scales the first Dense's kernel in its training
-- forward at even calls, and records the parameters after its move: what
-- the step's update starts from (tryN's "Left": update_size missed it).
local function lua_mover(m, d1, moves)
  local l = {n = 0, seen = {}}
  function l:forward(x, training)
    if training then
      self.n = self.n + 1
      if moves and self.n % 2 == 0 then d1.weight:copy(d1.weight * 0.9) end
      self.seen[self.n] = flat(m.model)
    end
    return x
  end
  function l:backward(_, grad_y) return grad_y end
  return l
end

local function lua_model(moves)
  wb.seed(3)
  local d1 = nn.Dense(10, 6, {activation = "relu"})
  local box = {}
  local l = lua_mover(box, d1, moves)
  box.model = nn.Sequential{d1, l, nn.Dense(6, 3, {activation = "softmax"})}
  return box.model, l
end

for _, opt in ipairs{"sgd", "adam"} do
  T.test("update_size sees a Lua layer's move in forward (" .. opt .. ")", function()
    local m, l = lua_model(true)
    local o = opts(opt)
    o.grad_check = false -- its forwards would be counted as moves
    local h
    local _, err = T.stderr_of(function() h = m:fit(data, o) end)
    local n = #h.steps.step
    T.eq(n, 12, "steps")
    l.seen[n + 1] = flat(m)
    for i = 1, n do
      local want = dist(l.seen[i + 1], l.seen[i])
      T.near(h.steps.update_size[i], want, 1e-6 * want, "update_size at step " .. i)
      T.near(h.steps.distance[i], dist(l.seen[i], l.seen[1]), 1e-6 * (want + 1), "distance")
      local a = h.steps.alpha[i]
      -- the moves come in the forward passes of the even steps: rows 1, 3, ... moved
      if i % 2 == 1 or i == n then
        T.ok(a ~= a, "alpha NaN at step " .. i .. ", got " .. tostring(a))
      else
        T.ok(a == a, "alpha measured at step " .. i)
      end
    end
    T.ok(err:find("the weights moved after step 1's update", 1, true), err)
    T.ok(err:find("layer 2 (a Lua layer", 1, true), err)
  end)
end

T.test("a Lua layer that leaves the weights changes no instrument's number", function()
  local plain = model():fit(data, opts("adam"))
  local m = lua_model(false)
  local h
  local _, err = T.stderr_of(function() h = m:fit(data, opts("adam")) end)
  T.eq(err, "")
  local diff = T.history_diff(plain.steps, h.steps, "steps", {})
  T.eq(#diff, 0, table.concat(diff, "\n"))
end)

-- Counted, not timed: a fit with neither a callback of one's own nor a
-- Lua layer never calls the check (fit_loop's pre_update stays nil).
T.test("the check runs only in fits that may move weights", function()
  local Cb = wb.instruments._Cb
  local orig, calls = Cb._pre_update, 0
  Cb._pre_update = function(...) calls = calls + 1; return orig(...) end
  local ok, e = pcall(function()
    T.stderr_of(function() model():fit(data, opts("adam")) end)
    local o = opts("adam")
    o.instruments = "full"
    T.stderr_of(function() model():fit(data, o) end)
    T.eq(calls, 0, "plain instrumented fits")
    T.stderr_of(function() lua_model(false):fit(data, opts("adam")) end)
    T.eq(calls, 12, "with a Lua layer: one call a step")
  end)
  Cb._pre_update = orig
  if not ok then error(e, 0) end
end)

-- }====================

T.done()
