-- test_resumez_track.lua: wb.measures.track across a resume (audit Z6). It
-- had no get_state/set_state: a fit{resume}'s series held the resumed
-- epochs only, and the runner restarted every run that tracks (the study's
-- S.track) from epoch 1 after an interrupt. Now 3 epochs = 2 + save + 1 for
-- its series too, and the runner resumes such a run.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local data = T.synthetic(4242, 90, 8)
local dir = T.tmpdir()

local function model()
  wb.seed(1)
  return nn.Sequential{nn.Dense(8, 12, {activation = "relu"}), nn.Dropout(0.2),
    nn.Dense(12, 3, {activation = "softmax"})}
end

T.test("track's series: 3 epochs = 2 + save_state + resume 1, bit for bit", function()
  local o = {batch_size = 16, seed = 9, verbose = false}
  local t3 = wb.measures.track{data = data, n = 32}
  o.epochs, o.callbacks = 3, {t3}
  model():fit(data, o)
  local t2 = wb.measures.track{data = data, n = 32}
  o.epochs, o.callbacks = 2, {t2}
  local first = model()
  first:fit(data, o)
  local path = dir .. "/track.safetensors"
  first:save_state(path)
  local tr = wb.measures.track{data = data, n = 32}
  o.epochs, o.callbacks, o.resume, o.seed = 3, {tr}, path, nil
  model():fit(data, o)
  for _, k in ipairs{"grad_norm_1", "grad_norm_2", "weight_norm_1", "weight_norm_2"} do
    T.eq(#tr.series[k], 3, k)
    for e = 1, 3 do T.eq(tr.series[k][e], t3.series[k][e], k .. " epoch " .. e) end
  end
end)

T.test("a run whose callbacks hook gives track is resumable (wb/train_resume.lua)",
    function()
  os.execute("mkdir -p " .. T.quote(dir .. "/root/runs")) -- the runner makes it
  local _, said = T.stderr_of(function()
    local ex = wb.experiment({name = "zt", base = {epochs = 1, hidden = 4,
      subset = {train = 64, test = 32}, validation = false}, seeds = {1},
      callbacks = function(_, _, d) return {wb.measures.track{data = d.train, n = 16}} end},
      {root = dir .. "/root"})
    wb.train.run(ex, ex.specs[1])
  end)
  T.ok(not said:find("an interrupted run restarts from epoch 1", 1, true), said)
end)

T.done()
