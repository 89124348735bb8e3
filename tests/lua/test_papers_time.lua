-- test_papers_time.lua - plot_curves{x = "time"} says how its x is made
-- (audit A3): epoch k is drawn at the sum of the per-epoch mean epoch_time
-- of epochs 1..k, each mean over the seeds that ran that epoch. After early
-- stopping those are different seed sets, so x is not the mean of the seeds'
-- own cumulative times; the help said only "cumulative training seconds".
-- Kept as it is (monotonic, and every epoch's time is used; the two agree
-- when every seed runs every epoch), and said in the help; the numbers
-- below pin that it is what the figure draws.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

T.test("help(plot_curves) says what x = \"time\" sums", function()
  local text = require("wb.help").text("wb.Runs:plot_curves")
  local flat = text:gsub("%s+", " ")
  T.ok(flat:find('x = "time": epoch k is drawn at the sum of the mean epoch_time of epochs 1 '
    .. "to k, each epoch's mean over the seeds that ran it; after early stopping those are "
    .. "fewer seeds than the earlier epochs', so it is not the mean of the seeds' own "
    .. "cumulative times", 1, true), text)
end)

T.test("the x drawn is that sum, where a seed stopped early", function()
  local ex = wb.experiment({name = "es", seeds = {1, 2, 3},
    base = {hidden = 16, epochs = 3, subset = {train = 600, test = 200},
      early_stopping = {monitor = "val_loss", patience = 0, min_delta = 0.4}}},
    {root = dir .. "/root"})
  ex:run{verbose = false}
  local rs = wb.runs.find{root = dir .. "/root"}
  local times, ran = {}, {0, 0, 0}
  for _, r in ipairs(rs.records) do
    for k, t in ipairs(r.history.epoch_time) do
      times[k] = (times[k] or 0) + t
      ran[k] = ran[k] + 1
    end
  end
  T.ok(ran[3] < 3, "a seed stopped before epoch 3 (seeds per epoch: "
    .. table.concat(ran, ", ") .. ")")
  local p = rs:plot_curves("val_loss", {x = "time"})
  local xs = p.d.series[1].x
  local acc = 0
  for k = 1, #xs do
    acc = acc + times[k] / ran[k]
    T.near(xs[k], acc, 1e-12, "epoch " .. k)
  end
end)

T.done()
