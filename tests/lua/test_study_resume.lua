-- test_study_resume.lua: the study's callbacks hooks across an interrupted
-- run. S.patience_track (tasks 3, 4), S.curvature_track (task 10) and task
-- 14's tracker and stopper had no get_state, so the runner restarted each
-- such run from epoch 1 ("has no get_state"). Now a run killed after epoch
-- k and run again resumes after epoch k, and its record's measures, series
-- and losses equal an uninterrupted run's bit for bit.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local S = require "study"
local Z = require "study.noise"

local RESTART = "an interrupted run restarts from epoch 1"

-- the first difference between a and b (nil when equal, NaN equal to NaN)
local function diff(a, b, path)
  if type(a) == "table" and type(b) == "table" then
    for k, v in pairs(a) do
      local d = diff(v, b[k], path .. "." .. tostring(k))
      if d then return d end
    end
    for k in pairs(b) do
      if a[k] == nil then return path .. "." .. tostring(k) .. ": only resumed" end
    end
    return nil
  end
  if a == b or (a ~= a and b ~= b) then return nil end
  return string.format("%s: %s vs %s", path, tostring(a), tostring(b))
end

-- Run spec i of experiment spec straight (root a), and killed in epoch k + 1
-- (its state saved after epoch k) then run again (root b): both records, and
-- what the run said as it started again.
local function straight_and_resumed(spec, i, k, restarts)
  local dir = T.tmpdir()
  local function ex(root)
    wb.sys.mkdir_p(root .. "/runs")
    return wb.experiment.new(spec, {name = "t", root = root, command = function() end})
  end
  local a, b = ex(dir .. "/a"), ex(dir .. "/b")
  local ra, said = T.stderr_of(function() return wb.train.run(a, a.specs[i]) end)
  T.ok(restarts or not said:find(RESTART, 1, true), said)
  -- the runner's watch (outside the run's identity): epoch k + 1 is not saved
  local kill = {on_epoch_end = function(_, e) if e == k + 1 then error("killed", 0) end end}
  local ok, err
  T.stderr_of(function() ok, err = pcall(wb.train.run, b, b.specs[i], {callbacks = {kill}}) end)
  T.ok(not ok and tostring(err):find("killed", 1, true), tostring(err))
  local rb, again = T.stderr_of(function() return wb.train.run(b, b.specs[i]) end)
  if restarts then return ra, rb, again end
  T.eq(rb.resumed_after_epoch, k, "resumed after epoch " .. k)
  return ra, rb, again
end

local function same(ra, rb, skip)
  for _, key in ipairs{"measures", "callback_series"} do
    local x, y = ra[key] or {}, rb[key] or {}
    for _, s in ipairs(skip or {}) do x[s], y[s] = nil, nil end
    T.eq(diff(x, y, key), nil, key)
  end
  for _, key in ipairs{"loss", "val_loss"} do
    T.eq(table.concat(rb.history[key], ","), table.concat(ra.history[key], ","), key)
  end
end

local SMALL = {train = 1000, test = 500}

T.test("S.patience_track: a run killed after epoch 6 resumes with the rules' state", function()
  local spec = S.long_runs()
  spec.base.hidden, spec.base.epochs, spec.base.lr, spec.base.subset = 16, 12, 0.01, SMALL
  spec.seeds = {1}
  local ra, rb = straight_and_resumed(spec, 1, 6)
  same(ra, rb)
  local m, before, after = ra.measures, 0, 0
  for _, p in ipairs(S.PATIENCES) do
    if m["stopped_" .. p] == 1 and m["stopped_epoch_" .. p] <= 6 then before = before + 1 end
    if m["stopped_epoch_" .. p] > 6 then after = after + 1 end
  end
  T.ok(before >= 1 and after >= 1, "a rule fired before the kill and one decided after: "
    .. before .. ", " .. after)
end)

T.test("S.curvature_track: a run killed after epoch 2 resumes its lambda_max series",
  function()
  local spec = S.baseline_curvature()
  spec.base.hidden, spec.base.epochs, spec.base.subset = 16, 4, SMALL
  -- not seed 1: its density's probes are seeded by the call's count on the
  -- same weights in this process (wb/hessian_probes.lua), and both runs here
  -- end with the same weights; a runner trains each run in its own process
  spec.seeds = {2}
  local ra, rb = straight_and_resumed(spec, 1, 2)
  same(ra, rb)
  T.eq(#rb.measures.lambda_max, 4, "four epochs' lambda_max")
end)

T.test("task 14's tracker and stopper: runs killed after epoch 1 resume their series",
  function()
  local spec = S.experiment{base = {optimizer = "sgd", validation = Z.VALIDATION, hidden = 16,
    subset = {train = 2000, test = 500}}, seeds = {1}, callbacks = Z.callbacks,
    measure = Z.measure, variants = {{label = "track", batch_size = 128, lr = 0.5,
      epochs = 2, log_every = Z.EVERY}, {label = "B=32", batch_size = 32, lr = 0.01, epochs = 3}}}
  local ra, rb = straight_and_resumed(spec, 1, 1)
  same(ra, rb, {"measure_seconds_track"}) -- seconds: no two runs take the same
  T.ok(#rb.callback_series[1].noise_step >= 2, "B_noise at both ends")
  ra, rb = straight_and_resumed(spec, 2, 1)
  same(ra, rb)
  T.eq(rb.measures.stop, "end", "no stop: the checks of all three epochs")
end)

-- Task 11's runs measure instruments (fit{instruments}), whose resume
-- (wb/instruments_state.lua) equals an uninterrupted fit only to rounding
-- (test_instruments_resume): the runner trains such a run again from epoch
-- 1, its series whole, and says why as it starts.
T.test("task 11: a run with instruments killed after epoch 1 trains again from epoch 1, "
  .. "its instruments' series an uninterrupted run's, and says why", function()
  local task = dofile("scripts/task11_cockpit.lua")
  local spec = {base = {}, variants = {}, seeds = {1}}
  for k, v in pairs(task.experiment.base) do spec.base[k] = v end
  spec.base.hidden, spec.base.subset = 16, {train = 640, test = 200}
  for _, v in ipairs(task.experiment.variants) do
    if v.lr == 0.1 then spec.variants[#spec.variants + 1] = v end
  end
  T.eq(#spec.variants, 2, "economy every step, full every 16")
  for i, v in ipairs(spec.variants) do
    local ra, rb, said = straight_and_resumed(spec, i, 1, true)
    T.eq(rb.resumed_after_epoch, nil, v.label .. ": not resumed")
    T.ok(said:find("and the runner resumes no run that does: their series a resumed fit "
      .. "would continue equal to an uninterrupted run's only to rounding", 1, true), said)
    T.ok(said:find(RESTART, 1, true), said)
    T.eq(#rb.history.loss, 3, v.label .. ": 3 epochs")
    T.ok(rb.history.steps.alpha and #rb.history.steps.step >= 4, v.label .. ": measured")
    T.eq(diff(ra.history.steps, rb.history.steps, "steps"), nil, v.label .. ": series")
    for _, k in ipairs{"names", "calls", "grad_hist"} do
      T.eq(diff(ra.history.instruments[k], rb.history.instruments[k], k), nil, v.label)
    end
  end
end)

T.done()
