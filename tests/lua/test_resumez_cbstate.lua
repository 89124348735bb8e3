-- test_resumez_cbstate.lua: a callback's get_state comes back to its
-- set_state as it was saved (wb/state_callbacks.lua, audit Z4). Lost
-- before: -0.0's sign, a hole in a list (back as cjson.null, a truthy
-- userdata), string keys that read as integers ("1", "07" back as 1 and 7),
-- and one of two tensors whose names collided (a key "a.b" and a nested a.b).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(4242, 40, 8)
local dir = T.tmpdir()

local function model()
  wb.seed(1)
  return nn.Sequential{nn.Dense(8, 3, {activation = "softmax"})}
end

local function round_trip(saved)
  local got
  local function cb()
    return {on_epoch_end = function() end, get_state = function() return saved end,
      set_state = function(_, s) got = s end}
  end
  local m = model()
  m:fit(data, {epochs = 1, batch_size = 8, verbose = false, callbacks = {cb()}})
  local path = dir .. "/cb.safetensors"
  m:save_state(path)
  model():fit(data, {epochs = 2, batch_size = 8, verbose = false, callbacks = {cb()},
    resume = path})
  return got
end

T.test("-0.0 keeps its sign; inf, nan, integers and floats as before", function()
  local got = round_trip{neg0 = -0.0, zero = 0.0, inf = -math.huge, n = 3, x = 2.5}
  T.eq(1 / got.neg0, -math.huge, "-0.0")
  T.eq(1 / got.zero, math.huge, "0.0")
  T.eq(got.inf, -math.huge)
  T.eq(math.type(got.n), "integer")
  T.eq(got.x, 2.5)
end)

T.test("a hole in a list comes back as nil", function()
  local got = round_trip{holes = {[1] = 1, [3] = 3}}
  T.eq(got.holes[1], 1)
  T.eq(got.holes[2], nil, "holes[2]")
  T.eq(got.holes[3], 3)
end)

T.test("string keys that read as numbers stay strings; integer keys stay integers",
    function()
  local got = round_trip{by_name = {["1"] = "a", ["07"] = "b", ["~x"] = "c", y = "d"},
    list = {"p", "q"}, mixed = {[1] = "int", ["1"] = "str"}}
  T.eq(got.by_name["1"], "a")
  T.eq(got.by_name["07"], "b")
  T.eq(got.by_name["~x"], "c")
  T.eq(got.by_name.y, "d")
  T.eq(got.by_name[1], nil, "no integer key 1")
  T.eq(got.list[1], "p")
  T.eq(got.list[2], "q")
  T.eq(got.mixed[1], "int")
  T.eq(got.mixed["1"], "str")
end)

T.test("two tensors whose names would collide both come back", function()
  local got = round_trip{dots = {["a.b"] = wb.tensor{1}, a = {b = wb.tensor{2}}}}
  T.eq(got.dots["a.b"]:get(1), 1)
  T.eq(got.dots.a.b:get(1), 2)
end)

T.test("a callback with get_state but no set_state is named as such on resume (Z5)",
    function()
  local function cb()
    local c = {n = 0}
    function c:on_epoch_end() self.n = self.n + 1 end
    function c:get_state() return {n = self.n} end
    return c
  end
  local m = model()
  m:fit(data, {epochs = 1, batch_size = 8, verbose = false, callbacks = {cb()}})
  local path = dir .. "/noset.safetensors"
  m:save_state(path)
  local m2 = model()
  T.check_error("has get_state but no set_state, so its saved state cannot be given back",
    m2.fit, m2, data, {epochs = 2, batch_size = 8, verbose = false, callbacks = {cb()},
    resume = path})
end)

T.done()
