-- Task 4: early stopping on validation loss, with a patience sweep (claim
-- C2). Validation is the last 10% of the training set (Keras
-- validation_split), so the test set stays untouched for judging
-- restored-best against last-epoch weights. Nothing trains here: with the
-- same seed, a run that early stopping ends at epoch e is bit-identical to
-- the first e epochs of task 3's 20-epoch run, so each patience's stop is
-- read off those runs (S.patience_track, the Keras 3 rule itself) and this
-- task adopts them.
local S = require "study"

-- signed differences as every finding writes them: an accuracy's in
-- percentage points ("+0.05 %" read as a relative change), never as 0
local signed = wb.compare.signed

-- "restored - last" over seeds, paired (the same run's two weights), by
-- Welch's test against zero.
local function verdict(xs, what, name, lower)
  local zeros = {}
  for i = 1, #xs do zeros[i] = 0 end
  local w = wb.welch(xs, zeros)
  local change = string.format("%s %s", what, signed(w.diff, name))
  if not w.p then return change .. " (one seed: no verdict)" end
  if w.no_spread then return change .. " (the same in every seed: no test)" end
  local interval = string.format(", 95 %% CI [%s, %s]", signed(w.lo, name), signed(w.hi, name))
  local better = lower and w.hi < 0 or not lower and w.lo > 0
  local worse = lower and w.lo > 0 or not lower and w.hi < 0
  -- one comparison of several: the report's C2 decides its parts with Holm's
  -- correction over all of them, which may leave undecided what this says
  return change .. interval .. (better and ": better with the restored weights"
    or worse and ": better with the last weights" or ": not decided by the seeds")
    .. ((better or worse) and " (this comparison alone, uncorrected; the report's C2 "
    .. "corrects over its parts)" or "")
end

-- The finished runs of variant v, and what is said of the others: a run
-- that diverged (NaN loss) has no stops or test metrics (the measure hook
-- runs on finished runs only), so it is left out of every number here, as
-- of every table of the report, and counted.
local function finished(runs, v)
  local recs, n_out = S.finished(runs:of(v)) -- (n_out: for the figure's title too)
  local said = n_out == 0 and "" or string.format(" %d of %d seeds diverged (NaN loss), left "
    .. "out of every number and curve here: such a run, stopped by a patience before it "
    .. "diverged, would have finished, but the training it shares with task 3 records no "
    .. "stop once it diverged.", n_out, n_out + #recs)
  return recs, said, n_out
end

local function report(task, runs)
  local v = runs:variants()[1]
  if not v then return end
  local recs, said, n_out = finished(runs, v)
  if #recs == 0 then
    task:section("Findings (computed)")
    task:text("No run finished: nothing to read early stops from." .. said)
    return
  end
  local epochs = recs[1].config.epochs
  task:section("Where training stopped, and what restoring the best weights bought")
  task:text(string.format("Each patience's run trains for at most %d epochs and stops when "
    .. "the validation loss has not improved for `patience` epochs; the best weights are "
    .. "restored at the end (Keras 3 semantics, also when the rule never fires). The runs "
    .. "are task 3's: with the same seed, a run stopped at epoch e is bit-identical to the "
    .. "first e epochs of a longer one, so the rule is applied to those runs as they train "
    .. "and the weights are evaluated where it fires. Test metrics of the restored weights "
    .. "vs the last epoch's (mean ± sd over %d seeds):%s", epochs, #recs, said))
  local rows = {"| early stopping | seeds stopped before the end | stopped_epoch | best_epoch "
    .. "| test_loss | last_test_loss | test_accuracy | last_test_accuracy |",
    "|---|---|---|---|---|---|---|---|"}
  for _, p in ipairs(S.PATIENCES) do
    local cols, fired = {}, 0
    for _, r in ipairs(recs) do -- a rule firing at the last epoch cut nothing short (tryO 4)
      local at = r.metrics["stopped_epoch_" .. p]
      if r.metrics["stopped_" .. p] == 1 and at and at < epochs then fired = fired + 1 end
    end
    for _, name in ipairs{"stopped_epoch", "best_epoch", "test_loss", "last_test_loss",
        "test_accuracy", "last_test_accuracy"} do
      local m, s = runs:stat(v, name .. "_" .. p)
      cols[#cols + 1] = m and wb.runs.fmt_mean_std(m, s, name) or "n/a"
    end
    rows[#rows + 1] = string.format("| patience=%d | %d of %d | %s |", p, fired, #recs,
      table.concat(cols, " | "))
  end
  task:text(table.concat(rows, "\n"))
  -- every patience reads the same runs: one curve of them all, and where each
  -- patience stopped on average (a vertical line). A curve per patience over
  -- "the seeds still running" changed with who had stopped, not with the
  -- patience: the same runs gave 0.084 at epoch 13 for patience 5, 0.090 for 10
  local x, y, err, lo, hi = {}, {}, {}, math.huge, -math.huge
  for e = 1, epochs do
    local vals = {}
    for _, r in ipairs(recs) do vals[#vals + 1] = r.history.val_loss[e] end
    if #vals > 0 then
      x[#x + 1] = e
      y[#y + 1], err[#err + 1] = wb.runs.mean_std(vals)
      lo, hi = math.min(lo, y[#y] - (err[#err] or 0)), math.max(hi, y[#y] + (err[#err] or 0))
    end
  end
  local series = {{label = string.format("validation loss, %d epochs", epochs), x = x, y = y,
    err = err}}
  for _, p in ipairs(S.PATIENCES) do
    local at = wb.runs.mean_std(runs:values(v, "stopped_epoch_" .. p))
    if at then
      series[#series + 1] = {label = string.format("patience=%d: stops at %.1f", p, at),
        x = {at, at}, y = {lo, hi}}
    end
  end
  task:figure("val_loss", wb.plot.lines{title = "Validation loss of the runs (mean ± sd over "
    .. #recs .. " seeds" .. (n_out > 0 and ("; " .. n_out .. " diverged, not shown") or "")
    .. ") and each patience's mean stop", xlabel = "epoch", ylabel = "validation loss",
    err_is = "sd", series = series, points = false})
  task:section("Findings (computed)")
  if said ~= "" then task:text("-" .. said) end
  for _, p in ipairs(S.PATIENCES) do
    local loss, acc = runs:values(v, "restore_gain_loss_" .. p),
      runs:values(v, "restore_gain_acc_" .. p)
    for i = 1, #loss do loss[i] = -loss[i] end -- restored - last
    local sm = wb.runs.mean_std(runs:values(v, "stopped_epoch_" .. p))
    task:text(string.format("- patience=%d: stopped at epoch %.1f on average; restored - "
      .. "last: %s; %s.", p, sm or 0, verdict(loss, "test loss", "test_loss", true),
      verdict(acc, "test accuracy", "test_accuracy", false)))
  end
end

return wb.task{name = "task04_early_stopping",
  title = "Task 4: early stopping (patience sweep)",
  experiment = S.long_runs(), report = report}
