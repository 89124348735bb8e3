-- test_resumez_args.lua: the functions of an open loop's exact resume refuse
-- arguments they do not take (audit Z3). wb.rng_state(saved) reads as a
-- setter: it returned the current state and restored nothing, so a manual
-- resume went on with other dropout masks without a word; opt:state(saved)
-- alike. Then a manual loop resumed with set_rng_state and opt:set_state
-- goes on bit for bit.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

T.test("wb.rng_state(s) is an error naming wb.set_rng_state, not a silent no-op", function()
  local s = wb.rng_state()
  T.check_error("wb.rng_state() takes no argument; wb.set_rng_state(s) restores a state",
    wb.rng_state, s)
  T.check_error("wb.set_rng_state(s) takes the state only", wb.set_rng_state, s, 5)
  wb.set_rng_state(s) -- the state alone: fine
  T.eq(wb.rng_state(), s)
end)

T.test("an optimizer's state, reset and config take no argument", function()
  local o = wb.optim.Adam{lr = 0.01}
  T.check_error("opt:state() takes no argument; opt:set_state", o.state, o, {})
  T.check_error("opt:reset() takes no argument", o.reset, o, 1)
  T.check_error("opt:config() takes no argument", o.config, o, 1)
  T.eq(o:config().name, "adam")
  T.eq(o:state().iterations, 0)
end)

T.test("a manual loop resumed with set_rng_state and set_state goes on bit for bit", function()
  local data = T.synthetic(4242, 64, 8)
  local x, y = data.images:float():reshape(64, 8), data.labels
  local ce = nn.SparseCrossEntropy()
  local function model()
    wb.seed(3)
    return nn.Sequential{nn.Dense(8, 12, {activation = "relu", l2 = 1e-3}), nn.Dropout(0.3),
      nn.Dense(12, 3)}
  end
  local function step(m, opt, i)
    local r = (i - 1) % 4 * 16 + 1
    local xb, yb = x:rows(r, r + 15), y:rows(r, r + 15)
    m:zero_grad()
    ce:forward(m:forward(xb, true), yb)
    m:backward_logits(xb, ce:backward())
    opt:step(m:parameters())
  end
  local m1, o1 = model(), wb.optim.SGD{lr = 0.1, momentum = 0.9, nesterov = true}
  for i = 1, 5 do step(m1, o1, i) end
  local st, w, rng = o1:state(), m1:get_weights(), wb.rng_state()
  for i = 6, 10 do step(m1, o1, i) end
  local m2, o2 = model(), wb.optim.SGD{lr = 0.1, momentum = 0.9, nesterov = true}
  m2:set_weights(w)
  wb.set_rng_state(rng)
  o2:set_state(m2:parameters(), st.buffers, st.iterations)
  for i = 6, 10 do step(m2, o2, i) end
  local a, b = m1:get_weights(), m2:get_weights()
  for i = 1, #a do
    local d = a[i] - b[i]
    T.ok(d:max() == 0 and d:min() == 0, "weight " .. i)
  end
end)

T.done()
