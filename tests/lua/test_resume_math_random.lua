-- test_resume_math_random.lua: a hook drawing from Lua's math.random resumes
-- where the stopped fit had got to. The state held wb's generator only, and
-- Lua gives no way to read math.random's: a new user's callback drawing each
-- epoch's lr from math.random repeated epoch 1's after a resume (the runner
-- seeds math.random with the run's seed at every start), so the resumed run
-- was another training under the same hash. wb.sys.math_random_state reads
-- Lua 5.4's xoshiro256** state from math.random's upvalue.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

T.test("math_random_state and set_math_random_state: the same numbers again", function()
  math.randomseed(11)
  local s = wb.sys.math_random_state()
  T.ok(type(s) == "string" and #s == 64 and s:match("^[0-9a-f]+$"), tostring(s))
  local a = {math.random(), math.random(1, 7), math.random(1 << 40)}
  wb.sys.set_math_random_state(s)
  T.eq(table.concat({math.random(), math.random(1, 7), math.random(1 << 40)}, " "),
    table.concat(a, " "))
  T.check_error("64 hex digits", wb.sys.set_math_random_state, "12ab")
  T.check_error("takes no argument", wb.sys.math_random_state, s)
end)

-- A fit whose hook sets each epoch's lr from math.random, as the new user's did.
local function fit(m, epochs, resume)
  local cb = {}
  function cb:on_train_begin(model) self.model = model end
  function cb:on_epoch_begin() self.model.optimizer.lr = 0.05 * (0.5 + math.random()) end
  function cb:get_state() return {} end
  function cb:set_state() end
  return m:fit(T.tiny_data(), {epochs = epochs, batch_size = 16, verbose = false,
    optimizer = not resume and "sgd" or nil, callbacks = {cb}, resume = resume})
end

T.test("2 epochs + save_state + resume to 4 = 4 straight, math.random reseeded between", function()
  math.randomseed(7)
  local a = T.tiny_mlp(1)
  local ha = fit(a, 4)
  math.randomseed(7)
  local b = T.tiny_mlp(1)
  fit(b, 2)
  b:save_state(dir .. "/s.safetensors")
  math.randomseed(7) -- a new process, or the runner's run seed: the seed's first numbers
  local c = T.tiny_mlp(1)
  local hc = fit(c, 4, dir .. "/s.safetensors")
  T.eq(table.concat(hc.lr, " "), table.concat(ha.lr, " "), "each epoch's lr")
  local wa, wc = a:get_weights(), c:get_weights()
  for i = 1, #wa do
    local d = wa[i] - wc[i]
    T.ok(d:max() == 0 and d:min() == 0, "weights " .. i)
  end
end)

T.test("a fit that never drew from math.random saves none (its bytes are every process's)",
    function()
  local function lua_rng_of(path)
    local _, meta = wb.io.load_safetensors(path)
    return require("cjson").decode(meta["workbench.state"]).lua_rng
  end
  local m = T.tiny_mlp(1)
  m:fit(T.tiny_data(), {epochs = 1, batch_size = 16, verbose = false})
  m:save_state(dir .. "/none.safetensors")
  T.eq(lua_rng_of(dir .. "/none.safetensors"), nil)
  local b = T.tiny_mlp(1)
  fit(b, 1)
  b:save_state(dir .. "/drew.safetensors")
  T.eq(#lua_rng_of(dir .. "/drew.safetensors"), 64)
end)

T.done()
