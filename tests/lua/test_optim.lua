-- test_optim.lua: wb.optim bindings (bindings/l_optim.c) and their errors.
-- The numerics are checked against double-precision references in
-- tests/c/test_optim.c; here: construction, options, step, lr, config,
-- reset, messages, no garbage per step, and convergence through Lua.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local function vals(t)
  local flat, out = t:reshape(t:numel()), {}
  for i = 1, t:numel() do out[i] = flat:get(i) end
  return out
end

-- {====  construction, defaults, names

T.test("defaults, names and tostring", function()
  local cases = {
    {wb.optim.SGD{}, "sgd", "SGD(lr=0.01, momentum=0, nesterov=false)"},
    {wb.optim.Adam{}, "adam", "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07)"},
    {wb.optim.AdamW{}, "adamw",
     "AdamW(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07, weight_decay=0.004)"},
    {wb.optim.RMSprop{}, "rmsprop", "RMSprop(lr=0.001, rho=0.9, eps=1e-07)"},
  }
  for _, c in ipairs(cases) do
    T.eq(c[1].name, c[2])
    T.eq(tostring(c[1]), c[3])
    T.eq(c[1].iterations, 0)
    T.eq(c[1].n_params, 0)
  end
  T.eq(wb.optim.SGD().lr, 0.01, "no table at all")
end)

T.test("options and config()", function()
  local o = wb.optim.SGD{lr = 0.1, momentum = 0.9, nesterov = true}
  T.eq(o.lr, 0.1); T.eq(o.momentum, 0.9); T.eq(o.nesterov, true)
  local c = o:config()
  T.eq(c.name, "sgd"); T.eq(c.lr, 0.1); T.eq(c.momentum, 0.9); T.eq(c.nesterov, true)
  local n = 0
  for _ in pairs(c) do n = n + 1 end
  T.eq(n, 4, "name + 3 hyper-parameters")
  c = wb.optim.AdamW{weight_decay = 0.01, beta2 = 0.99}:config()
  T.eq(c.name, "adamw"); T.eq(c.weight_decay, 0.01); T.eq(c.beta2, 0.99)
  T.eq(c.beta1, 0.9); T.eq(c.eps, 1e-7); T.eq(c.lr, 1e-3)
  c = wb.optim.RMSprop{rho = 0.8}:config()
  T.eq(c.rho, 0.8); T.eq(c.eps, 1e-7); T.eq(c.beta1, nil)
end)

T.test("wb.optim.new by name", function()
  for name, cls in pairs{sgd = "SGD", adam = "Adam", adamw = "AdamW", rmsprop = "RMSprop"} do
    T.eq(wb.optim.new(name).name, name)
    T.eq(wb.optim.new(cls).name, name, "class spelling")
  end
  local o = wb.optim.new("sgd", {lr = 0.5, momentum = 0.5})
  T.eq(o.lr, 0.5); T.eq(o.momentum, 0.5)
  T.check_error("bad argument #1 to 'new' (unknown optimizer 'adagrad' " ..
                "(valid: sgd, adam, adamw, rmsprop))", function() wb.optim.new("adagrad") end)
  T.check_error("bad argument #2 to 'new' (Adam: unknown option 'momentum'",
                function() wb.optim.new("adam", {momentum = 0.9}) end)
  T.check_error("bad argument #1 to 'new' (string expected, got no value)",
                function() wb.optim.new() end)
end)

T.test("Keras's option names are aliases: learning_rate, beta_1, beta_2, epsilon", function()
  for _, cls in ipairs{"SGD", "Adam", "AdamW", "RMSprop"} do
    local o = wb.optim[cls]{learning_rate = 0.25}
    T.eq(o.lr, 0.25, cls)
    T.eq(wb.optim.new(cls:lower(), {learning_rate = 0.5}).lr, 0.5, cls)
    T.check_error("bad argument #1 to '?' (" .. cls .. ": options 'learning_rate' " ..
                  "and 'lr' are the same (learning_rate is Keras's name for lr); give one)",
                  function() wb.optim[cls]{learning_rate = 0.1, lr = 0.1} end)
  end
  local c = wb.optim.Adam{beta_1 = 0.8, beta_2 = 0.99, epsilon = 1e-5}:config()
  T.near(c.beta1, 0.8, 1e-12); T.near(c.beta2, 0.99, 1e-12); T.near(c.eps, 1e-5, 1e-12)
  T.eq(c.beta_1, nil, "config() uses our names")
  T.near(wb.optim.RMSprop{epsilon = 1e-6}:config().eps, 1e-6, 1e-15)
  T.check_error("AdamW: options 'epsilon' and 'eps' are the same", wb.optim.AdamW,
                {epsilon = 1e-6, eps = 1e-6})
  -- An alias is checked like its name.
  T.check_error("Adam: option 'learning_rate' must be a number, got string", wb.optim.Adam,
                {learning_rate = "0.1"})
  T.check_error("SGD: lr must be a finite number >= 0, got -1", wb.optim.SGD,
                {learning_rate = -1})
  -- The unknown-key error lists the aliases the class takes.
  T.check_error("bad argument #1 to 'Adam' (Adam: unknown option 'beta' (valid: lr, " ..
                "beta1, beta2, eps); Keras names: learning_rate = lr, beta_1 = beta1, " ..
                "beta_2 = beta2, epsilon = eps)", function() wb.optim.Adam{beta = 0.9} end)
  T.check_error("RMSprop: unknown option 'beta_1' (valid: lr, rho, eps); Keras names: " ..
                "learning_rate = lr, epsilon = eps)", wb.optim.RMSprop, {beta_1 = 0.9})
end)

T.test("bad options are rejected with the option and value", function()
  T.check_error("SGD: unknown option 'beta_1' (valid: lr, momentum, nesterov); " ..
                "Keras names: learning_rate = lr)", wb.optim.SGD, {beta_1 = 0.9})
  T.check_error("Adam: option 'lr' must be a number, got string", wb.optim.Adam, {lr = "0.1"})
  T.check_error("SGD: option 'nesterov' must be a boolean, got number",
                wb.optim.SGD, {nesterov = 1})
  T.check_error("Adam: options are named (lr = ...), got a number key", wb.optim.Adam, {0.01})
  T.check_error("bad argument #1 to 'SGD' (SGD: options are a table, e.g. {lr = 0.1}",
                function() wb.optim.SGD(0.1) end)
  local bad = {
    {wb.optim.SGD, {lr = -1}, "SGD: lr must be a finite number >= 0, got -1"},
    {wb.optim.SGD, {lr = 0 / 0}, "lr must be a finite number >= 0, got "},
    {wb.optim.Adam, {lr = math.huge}, "Adam: lr must be a finite number >= 0, got inf"},
    {wb.optim.SGD, {momentum = 1.5}, "SGD: momentum must be in [0, 1], got 1.5"},
    {wb.optim.SGD, {momentum = -0.1}, "SGD: momentum must be in [0, 1], got -0.1"},
    {wb.optim.Adam, {beta1 = 1}, "Adam: beta1 must be in [0, 1), got 1"},
    {wb.optim.AdamW, {beta2 = 1.5}, "AdamW: beta2 must be in [0, 1), got 1.5"},
    {wb.optim.Adam, {eps = 0}, "Adam: eps must be a finite number > 0, got 0"},
    {wb.optim.RMSprop, {eps = -1e-7}, "RMSprop: eps must be a finite number > 0, got -1e-07"},
    {wb.optim.AdamW, {weight_decay = -0.1},
     "AdamW: weight_decay must be a finite number >= 0, got -0.1"},
    {wb.optim.RMSprop, {rho = 1}, "RMSprop: rho must be in [0, 1), got 1"},
  }
  for _, b in ipairs(bad) do T.check_error(b[3], b[1], b[2]) end
end)

-- {====  step

T.test("SGD step: w -= lr*g, returns self, counts iterations", function()
  local w, b = wb.tensor{{1, 2}, {3, 4}}, wb.tensor{0.5, -0.5}
  local gw, gb = wb.tensor{{1, -1}, {2, 0}}, wb.tensor{4, 8}
  local o = wb.optim.SGD{lr = 0.25}
  T.eq(o:step({w, b}, {gw, gb}), o)
  local got = vals(w)
  local want = {0.75, 2.25, 2.5, 4}
  for i = 1, 4 do T.eq(got[i], want[i]) end
  T.eq(b:get(1), -0.5); T.eq(b:get(2), -2.5)
  T.eq(o.iterations, 1); T.eq(o.n_params, 2)
end)

T.test("Adam first step moves each weight by about lr against the gradient", function()
  local w, g = wb.tensor{1, 1, 1, 1, 1}, wb.tensor{3, -0.2, 50, -7, 0}
  local o = wb.optim.Adam{lr = 0.01}
  o:step({w}, {g})
  local want = {0.99, 1.01, 0.99, 1.01, 1}
  for i = 1, 5 do T.near(w:get(i), want[i], 1e-6, "element " .. i) end
end)

T.test("AdamW decays biases too; RMSprop matches Keras's docstring", function()
  local w, b = wb.tensor{2}, wb.tensor{-4}
  local z1, z2 = wb.tensor{0}, wb.tensor{0}
  wb.optim.AdamW{lr = 0.1, weight_decay = 0.5}:step({w, b}, {z1, z2})
  T.near(w:get(1), 2 * 0.95, 1e-6); T.near(b:get(1), -4 * 0.95, 1e-6)
  local v = wb.tensor{10}
  wb.optim.RMSprop{lr = 0.1}:step({v}, {wb.tensor{10}})
  T.near(v:get(1), 9.683772, 1e-6)
end)

T.test("SGD momentum and nesterov over two steps", function()
  for _, nest in ipairs{false, true} do
    local w, g = wb.tensor{1}, wb.tensor{1}
    local o = wb.optim.SGD{lr = 0.1, momentum = 0.5, nesterov = nest}
    o:step({w}, {g}); o:step({w}, {g})
    -- v1 = -0.1, v2 = -0.15; plain: w = 1 + v1 + v2; nesterov adds mu*v - lr*g
    local want = nest and 1 + (0.5 * -0.1 - 0.1) + (0.5 * -0.15 - 0.1) or 1 - 0.1 - 0.15
    T.near(w:get(1), want, 1e-7, nest and "nesterov" or "momentum")
  end
end)

T.test("lr is readable and writable, and used by the next step", function()
  local o = wb.optim.SGD{}
  T.eq(o.lr, 0.01)
  o.lr = 0.5
  T.eq(o.lr, 0.5); T.eq(o:config().lr, 0.5)
  local w = wb.tensor{1}
  o:step({w}, {wb.tensor{1}})
  T.eq(w:get(1), 0.5)
  T.check_error("SGD: lr must be a finite number >= 0, got -1", function() o.lr = -1 end)
  T.check_error("lr must be a number, got string", function() o.lr = "0.1" end)
  T.check_error("SGD: cannot set field 'momentum' (only lr is writable)",
                function() o.momentum = 0.9 end)
  T.eq(o.lr, 0.5, "unchanged after failed sets")
end)

-- {====  step errors

T.test("step argument errors", function()
  local o = wb.optim.Adam{}
  local w, g = wb.tensor{1, 2, 3}, wb.tensor{1, 1, 1}
  T.check_error("bad argument #1 to 'step' (table expected, got nil)",
                function() o:step(nil, {g}) end)
  T.check_error("bad argument #2 to 'step' (table expected, got wb.Tensor)",
                function() o:step({w}, g) end)
  T.check_error("bad argument #1 to 'step' (no parameters to update (empty list))",
                function() o:step({}, {}) end)
  T.check_error("bad argument #2 to 'step' (1 gradients for 2 parameters)",
                function() o:step({w, w}, {g}) end)
  T.check_error("bad argument #1 to 'step' (parameter 2: wb.Tensor expected, got string)",
                function() o:step({w, "x"}, {g, g}) end)
  T.check_error("bad argument #2 to 'step' (gradient 1: wb.Tensor expected, got number)",
                function() o:step({w}, {5}) end)
  T.check_error("bad argument #2 to 'step' (gradient 1: expected [3] (the shape of " ..
                "parameter 1), got [2])", function() o:step({w}, {wb.tensor{1, 2}}) end)
  T.check_error("bad argument #1 to 'step' (parameter 1: expected float32, got uint8)",
                function() o:step({wb.tensor({1, 2, 3}, "uint8")}, {g}) end)
  T.check_error("parameter 1 and its gradient share memory", function() o:step({w}, {w}) end)
  T.check_error("wb.Optimizer expected, got number", function() o.step(5, {w}, {g}) end)
  T.eq(o.iterations, 0, "no failed step counted")
  T.eq(w:get(1), 1, "no failed step wrote")
end)

T.test("state: later steps must match the first; reset() starts over", function()
  local o = wb.optim.RMSprop{}
  local w, g = wb.tensor{{1, 2, 3}, {4, 5, 6}}, wb.zeros(2, 3)
  local b, gb = wb.tensor{1, 2}, wb.zeros(2)
  o:step({w, b}, {g, gb})
  T.check_error("bad argument #1 to 'step' (parameter 2: shape [3] differs from [2] at " ..
                "the first step (reset() the optimizer to start over))",
                function() o:step({w, wb.zeros(3)}, {g, wb.zeros(3)}) end)
  T.check_error("expected 2 parameters as at the first step, got 1",
                function() o:step({w}, {g}) end)
  T.eq(o.iterations, 1)
  T.eq(o:reset(), o)
  T.eq(o.iterations, 0); T.eq(o.n_params, 0)
  o:step({wb.zeros(3)}, {wb.ones(3)})
  T.eq(o.n_params, 1)
end)

T.test("a non-finite gradient updates nothing", function()
  local o = wb.optim.SGD{lr = 0.1, momentum = 0.9}
  local w, b = wb.tensor{1, 2}, wb.tensor{3}
  o:step({w, b}, {wb.tensor{1, 1}, wb.tensor{1}})
  local before = {w:get(1), w:get(2), b:get(1)}
  for _, bad in ipairs{0 / 0, math.huge, -math.huge} do
    T.check_error("bad argument #2 to 'step' (gradient 2 [1] has a non-finite value",
                  function() o:step({w, b}, {wb.tensor{1, 1}, wb.tensor{bad}}) end)
  end
  local err = T.check_error("no parameter was updated",
                            function() o:step({w, b}, {wb.tensor{0 / 0, 1}, wb.tensor{1}}) end)
  T.ok(err:find("gradient 1 [2]", 1, true) and err:find("element 1", 1, true), err)
  T.eq(w:get(1), before[1]); T.eq(w:get(2), before[2]); T.eq(b:get(1), before[3])
  T.eq(o.iterations, 1)
end)

T.test("a released optimizer raises", function()
  local o = wb.optim.Adam{}
  getmetatable(o).__close(o)
  getmetatable(o).__gc(o) -- idempotent
  T.eq(tostring(o), "Optimizer(released)")
  T.check_error("attempt to use a released optimizer", function() return o.lr end)
  T.check_error("attempt to use a released optimizer",
                function() o:step({wb.zeros(1)}, {wb.zeros(1)}) end)
end)

-- {====  memory and convergence

T.test("a steady-state step makes no Lua garbage", function()
  local ps, gs = {wb.zeros(64, 10), wb.zeros(10)}, {wb.ones(64, 10), wb.ones(10)}
  for _, name in ipairs{"sgd", "adam", "adamw", "rmsprop"} do
    local o = wb.optim.new(name)
    o:step(ps, gs)
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    for _ = 1, 200 do o:step(ps, gs) end
    local after = collectgarbage("count")
    collectgarbage("restart")
    T.eq(after, before, name .. ": KB of Lua memory before/after 200 steps")
  end
end)

T.test("every optimizer minimises sum((w - c)^2)", function()
  local c = wb.tensor{1.5, -2, 0.25, 3, -0.75, 0.1, 2.2}
  local cases = {
    {"sgd", {lr = 0.1}, 200, 1e-4},
    {"sgd", {lr = 0.05, momentum = 0.9, nesterov = true}, 400, 1e-4},
    {"adam", {lr = 0.05}, 2000, 1e-3},
    {"adamw", {lr = 0.05, weight_decay = 0}, 2000, 1e-3},
    {"rmsprop", {lr = 0.01}, 2000, 2e-2},
  }
  for _, k in ipairs(cases) do
    local o = wb.optim.new(k[1], k[2])
    local w = wb.zeros(7)
    for _ = 1, k[3] do o:step({w}, {(w - c) * 2}) end
    local worst = 0
    for i = 1, 7 do worst = math.max(worst, math.abs(w:get(i) - c:get(i))) end
    T.ok(worst < k[4], string.format("%s: max |w - c| = %g", tostring(o), worst))
  end
end)

-- One optimizer stepped for a second model's parameters gave it the first
-- one's moments and step count, without a word, when the shapes matched
-- (tryN 1, the manual loop's form of it: fit refuses it too, test_optim_bound).
T.test("a state is its parameters': other tensors are refused until reset()", function()
  local function params()
    local p = {wb.tensor({{1, 2}, {3, 4}}), wb.tensor({0.5, -0.5})}
    return p, {wb.tensor({{0.1, 0.1}, {0.1, 0.1}}), wb.tensor({0.2, 0.2})}
  end
  for _, opt in ipairs{wb.optim.Adam{}, wb.optim.SGD{lr = 0.1, momentum = 0.9}} do
    local pa, ga = params()
    local pb, gb = params()
    opt:step(pa, ga); opt:step(pa, ga)
    local before = vals(pb[1])
    T.check_error("parameter 1 is not the tensor this optimizer's state is for %(2 steps of "
      .. "other parameters", function() opt:step(pb, gb) end)
    T.eq(table.concat(vals(pb[1]), " "), table.concat(before, " "), "nothing updated")
    T.eq(opt.iterations, 2)
    opt:step(pa, ga) -- its own go on
    opt:reset():step(pb, gb)
    T.eq(opt.iterations, 1)
    T.check_error("is not the tensor", function() opt:step(pa, ga) end)
    -- set_state takes the state for the parameters it is given
    local st = opt:state()
    opt:set_state(pa, st.buffers, st.iterations)
    opt:step(pa, ga)
    T.check_error("is not the tensor", function() opt:step(pb, gb) end)
  end
end)

T.done()
