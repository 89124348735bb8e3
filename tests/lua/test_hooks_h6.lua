-- test_hooks_h6.lua: audit H, item 6: a hook's epoch series that starts
-- after epoch 1 (or skips an epoch) holds NaN there, as a step series's gap
-- and as the same history after save_state and a resume: it held nil, so
-- #h.foo was 0 and h:last("foo") nil, and the resumed history differed.
local T = dofile("tests/lua/harness.lua")
local train = T.tiny_data()

local function hooks(from)
  return {wb.callbacks.Lambda{on_epoch_end = function(e, logs)
    if e >= from and e ~= 3 then logs.foo = e * 10 end
    if e >= 2 then logs.bar = e end
  end}}
end

local function go(o)
  local m = T.tiny_mlp(1)
  o.batch_size, o.verbose, o.seed = 16, false, 5
  return m:fit(train, o), m
end

local function isnan(v) return v ~= v end

T.test("a series begun late, or skipping an epoch, holds NaN there", function()
  local h = go{epochs = 4, callbacks = hooks(1)}
  T.eq(#h.bar, 4)
  T.ok(isnan(h.bar[1]), "bar[1] NaN")
  T.eq(h.bar[2], 2)
  T.eq(h:last("bar"), 4)
  T.eq(#h.foo, 4)
  T.ok(isnan(h.foo[3]), "foo[3] NaN (skipped)")
  T.eq(h.foo[4], 40)
end)

T.test("the same after save_state and a resume", function()
  local path = os.tmpname()
  local _, m1 = go{epochs = 2, callbacks = hooks(1)}
  m1:save_state(path)
  local h2 = go{epochs = 4, callbacks = hooks(1), resume = path}
  local h = go{epochs = 4, callbacks = hooks(1)}
  os.remove(path)
  for _, k in ipairs{"foo", "bar"} do
    T.eq(#h2[k], #h[k], k)
    for i = 1, #h[k] do
      T.ok(h[k][i] == h2[k][i] or isnan(h[k][i]) and isnan(h2[k][i]), k .. "[" .. i .. "]")
    end
  end
end)

T.done()
