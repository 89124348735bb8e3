-- Task 3: 5, 10 and 20 epochs, and the generalization gap.
-- One 20-epoch run per seed: with the same seed the first 5 and 10 epochs of
-- it are bit-identical to 5- and 10-epoch runs, so those are its prefixes.
local S = require "study"

local function report(task, runs)
  local v = runs:variants()[1]
  if not v then return end
  local function band(name, label)
    local x, m, s = runs:curve(v, name)
    return {label = label, x = x, y = m, err = s}
  end
  task:section("Curves (mean ± sd over seeds)")
  task:figure("loss", wb.plot.panels{cols = 2, plots = {
    wb.plot.lines{title = "Loss (mean ± sd over seeds)", xlabel = "epoch",
      ylabel = "cross-entropy", err_is = "sd",
      series = {band("loss", "train"), band("val_loss", "validation (held out)")}},
    wb.plot.lines{title = "Accuracy (mean ± sd over seeds)", xlabel = "epoch", ylabel = "accuracy",
      err_is = "sd",
      series = {band("accuracy", "train"), band("val_accuracy", "validation (held out)")}}}})
  task:figure("gap", wb.plot.lines{title = "Generalization gap: validation loss - "
    .. "train loss (mean ± sd over seeds)",
    xlabel = "epoch", ylabel = "gap", err_is = "sd", series = {band("gap", "gap")}}, S.GAP_NOTE)
  local n = #select(2, runs:curve(v, "loss"))
  local marks = n >= 20 and {5, 10, 20} or {math.max(1, n // 2), n}
  local shorter = {}
  for i = 1, #marks - 1 do shorter[i] = tostring(marks[i]) end
  task:text(string.format("The %s-epoch models are the first epochs of the %d-epoch runs: "
    .. "with the same seed, shuffling and initialisation, the first epochs of a longer run "
    .. "are bit-identical to a shorter run, so one run per seed serves all %d lengths, and "
    .. "task 4's early stops (patience %s) are read off the same runs.",
    table.concat(shorter, "- and "), n, #marks, table.concat(S.PATIENCES, ", ")))
  task:section("At " .. table.concat(marks, ", ") .. " epochs")
  local rows = {"| epochs | train loss | val loss | gap | val accuracy |", "|---|---|---|---|---|"}
  for _, e in ipairs(marks) do
    local cols = {}
    for _, name in ipairs{"loss", "val_loss", "gap", "val_accuracy"} do
      local _, m, s = runs:curve(v, name)
      cols[#cols + 1] = wb.runs.fmt_mean_std(m[e], s[e], name)
    end
    rows[#rows + 1] = string.format("| %d | %s |", e, table.concat(cols, " | "))
  end
  task:text(table.concat(rows, "\n"))
  task:section("Findings (computed)")
  local mins = runs:values(v, "best_epoch")
  local m, s = wb.runs.mean_std(mins)
  local shown = {} -- epochs as whole numbers (JSON reads 7 back as 7.0)
  for i, e in ipairs(mins) do shown[i] = string.format("%g", e) end
  local _, vl = runs:curve(v, "val_loss")
  -- the mean curve's own minimum (it was read at the epoch of the per-seed minima's mean,
  -- round(7.0), and called the minimum: 0.0814 there, 0.0803 at epoch 6)
  local at = 1
  for e = 2, n do if vl[e] and vl[e] < vl[at] then at = e end end
  task:text(string.format("- Validation loss is lowest at epoch %.1f ± %.1f (per seed: %s); "
    .. "the mean curve's minimum is %.4f, at epoch %d, and it then %s: %.4f at epoch %d.", m,
    s, table.concat(shown, ", "), vl[at], at, vl[n] > vl[at] and "rises" or "does not rise",
    vl[n], n))
  local _, g = runs:curve(v, "gap")
  local _, tl = runs:curve(v, "loss")
  task:text(string.format("- The gap goes from %.4f at epoch %d to %.4f at epoch %d while "
    .. "training loss goes from %.4f to %.4f.", g[marks[1]], marks[1], g[n], n,
    tl[marks[1]], tl[n]))
end

-- The same runs serve task 4: S.long_runs reads each patience's early
-- stop off them (see study/init.lua).
return wb.task{name = "task03_epochs", title = "Task 3: training length and the "
  .. "generalization gap", experiment = S.long_runs(), report = report}
