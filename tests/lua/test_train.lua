-- test_train.lua: wb.train.run's callbacks option (the runner's watch
-- trains with it): the caller's callbacks see every step of the run's fit
-- but are not the run's: not in its record, its measure hook's callbacks or
-- its state file; one that keeps state is refused; a run they stopped
-- resumes, without them, bit for bit as an uninterrupted run.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"
local util = require "wb.util"
local record = require "wb.record"

-- 300 training rows (270 after the 10 % validation split): 9 steps of 32
-- per epoch
local BASE = {hidden = 8, epochs = 2, batch_size = 32, subset = {train = 300, test = 100}}
local STEPS = 9

local function experiment(spec)
  local root = T.tmpdir()
  wb.sys.mkdir_p(root .. "/runs")
  spec.base, spec.seeds = BASE, {1}
  return wb.experiment.new(spec, {name = "t", root = root, command = function() end})
end

local function counter()
  local cb = {n = 0}
  function cb.on_train_batch_end() cb.n = cb.n + 1 end
  return cb
end

T.test("train.run's callbacks see every step, and are not the run's", function()
  local seen
  local ex = experiment{callbacks = function() return {} end,
    measure = function(_, _, _, _, extra) seen = #extra; return {} end}
  local cb = counter()
  local rec = wb.train.run(ex, ex.specs[1], {callbacks = {cb}})
  T.eq(cb.n, 2 * STEPS, "steps seen")
  T.eq(rec.status, "ok")
  T.eq(rec.hash, ex.specs[1].hash, "the run's identity")
  T.eq(seen, 0, "the measure hook's callbacks are the run's own")
  T.eq(rec.callback_series, nil, "no series of the caller's callback in the record")
  T.eq(rec.fit_options.callbacks, nil, "nor in its fit options")
end)

T.test("train.run refuses a callback of the caller's that keeps state", function()
  local ex = experiment{}
  T.check_error("train.run: opts.callbacks[2]: expected a callback without state",
    wb.train.run, ex, ex.specs[1], {callbacks = {counter(),
      {get_state = function() return {} end, set_state = function() end}}})
  T.eq(#wb.sys.listdir(ex.root .. "/runs"), 0, "nothing trained")
end)

T.test("a run stopped by the caller's callback resumes without it, bit for bit", function()
  local straight = experiment{}
  local want = wb.train.run(straight, straight.specs[1])
  local ex = experiment{}
  local s = ex.specs[1]
  local stop = {on_train_batch_end = function(_, step)
    if step == STEPS + 4 then error("stopped in epoch 2") end
  end}
  T.check_error("stopped in epoch 2", wb.train.run, ex, s, {callbacks = {stop}})
  local path = record.path(ex.root, ex.name, s.hash, "state.safetensors")
  T.ok(wb.sys.exists(path), "epoch 1's state is there")
  local _, meta = wb.io.load_safetensors(path)
  local saved = cjson.decode(meta["workbench.callbacks"])
  -- the run's own callbacks with state only: its best-weights keeper (a
  -- plain table) and the ModelCheckpoint that wrote the file
  local kinds = {}
  for i, e in ipairs(saved) do kinds[i] = e.kind end
  T.eq(table.concat(kinds, " "), "callback wb.callbacks.ModelCheckpoint", "callback states")
  local cb = counter()
  local rec = wb.train.run(ex, s, {callbacks = {cb}})
  T.eq(rec.resumed_after_epoch, 1, "resumed")
  T.eq(cb.n, STEPS, "the resumed fit's steps, seen")
  local diff = T.history_diff(util.plain(want.history), util.plain(rec.history), "history", {})
  T.eq(#diff, 0, table.concat(diff, "; "))
  T.eq(rec.metrics.test_loss, want.metrics.test_loss, "the same final weights")
end)

T.done()
