-- test_runner_schedule_resume.lua: a task whose callbacks hook returns
-- wb.callbacks.LearningRateScheduler (tryN 3). The runner restarted every
-- such run from epoch 1 ("has no get_state") though fit{resume} resumes the
-- scheduler. Now a run killed after epoch 2 resumes after it, bit for bit
-- an uninterrupted run's; a schedule that keeps state in what it closes
-- over (a count in a local or in a table) is not resumed but trained from
-- scratch, said so, its numbers an uninterrupted run's.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- Run the experiment of callbacks hook `hook` straight (root a), and killed
-- in epoch 3 (its state saved after epoch 2) then run again (root b): both
-- records, and what the run said as it ran again.
local function straight_and_again(hook)
  local dir = T.tmpdir()
  local spec = {base = {epochs = 4, hidden = 8, subset = {train = 600, test = 100},
    optimizer = "sgd", lr = 0.1}, seeds = {1}, variants = {{label = "s"}}, callbacks = hook}
  local function ex(root)
    wb.sys.mkdir_p(root .. "/runs")
    return wb.experiment.new(spec, {name = "t", root = root, command = function() end})
  end
  local a, b = ex(dir .. "/a"), ex(dir .. "/b")
  local ra, said = T.stderr_of(function() return wb.train.run(a, a.specs[1]) end)
  T.ok(not said:find("restarts from epoch 1", 1, true), said)
  local kill = {on_epoch_end = function(_, e) if e == 3 then error("killed", 0) end end}
  local ok, err
  T.stderr_of(function() ok, err = pcall(wb.train.run, b, b.specs[1], {callbacks = {kill}}) end)
  T.ok(not ok and tostring(err):find("killed", 1, true), tostring(err))
  local rb, again = T.stderr_of(function() return wb.train.run(b, b.specs[1]) end)
  for _, k in ipairs{"loss", "val_loss", "lr", "accuracy"} do
    T.eq(table.concat(rb.history[k], ","), table.concat(ra.history[k], ","), k)
  end
  T.eq(rb.metrics.test_loss, ra.metrics.test_loss, "test_loss")
  local wa = wb.io.load_safetensors(dir .. "/a/runs/" .. ra.weights)
  local wb_ = wb.io.load_safetensors(dir .. "/b/runs/" .. rb.weights)
  for name, t in pairs(wa) do
    T.ok((t - wb_[name]):abs():max() == 0, "weights " .. name .. " bit for bit")
  end
  return ra, rb, again
end

T.test("a schedule of the epoch: a run killed after epoch 2 resumes after it, bit for bit",
  function()
  local ra, rb, said = straight_and_again(function()
    return {wb.callbacks.LearningRateScheduler(function(epoch) return 0.2 * 0.5 ^ epoch end)}
  end)
  T.eq(rb.resumed_after_epoch, 2, "resumed after epoch 2: " .. said)
  T.ok(not said:find("restarts from epoch 1", 1, true), said)
  T.eq(ra.history.lr[4], 0.2 * 0.5 ^ 4, "the schedule's lr")
end)

T.test("a schedule counting its calls in a local: trained from scratch, said so", function()
  local ra, rb, said = straight_and_again(function()
    local calls = 0
    return {wb.callbacks.LearningRateScheduler(function()
      calls = calls + 1
      return 0.2 * 0.5 ^ calls
    end)}
  end)
  T.eq(rb.resumed_after_epoch, nil, "not resumed")
  T.ok(said:find("upvalue calls saved 2, given 0", 1, true), said)
  T.ok(said:find("training from scratch", 1, true), said)
  T.eq(ra.history.lr[4], 0.2 * 0.5 ^ 4, "the schedule's lr")
end)

T.test("a schedule counting its calls in a table: trained from scratch, said so", function()
  local ra, rb, said = straight_and_again(function()
    local count = {n = 0}
    return {wb.callbacks.LearningRateScheduler(function()
      count.n = count.n + 1
      return 0.2 * 0.5 ^ count.n
    end)}
  end)
  T.eq(rb.resumed_after_epoch, nil, "not resumed")
  T.ok(said:find("(wb.callbacks.LearningRateScheduler) schedule: its code and the values it "
    .. "closes over (tables by content) saved", 1, true), said)
  T.ok(said:find("training from scratch", 1, true), said)
  T.eq(ra.history.lr[4], 0.2 * 0.5 ^ 4, "the schedule's lr")
end)

T.done()
