-- scripts/study/claims.lua: the "Claims" section of the report (STUDY.md C1-C7).
--
-- For each claim the study drew from single runs, the quantity that decides
-- it is read from the run records of the task that tests it (per seed), and
-- a verdict is derived by one rule, stated in the report: Welch's t-test
-- with the 95 % confidence interval of the difference of means; the parts
-- of one claim are corrected together (Holm, 5 %); a part holds when its
-- test rejects in the claimed direction and fails when it rejects the other
-- way. A claim's verdict counts its parts (claim_parts.combine, stated in
-- the report's rule). Nothing here is typed by hand.
local runs_mod = wb.runs
local P = require "study.claim_parts"
local A = require "study.anova"
local vals, fmt, finished = P.vals, P.fmt, P.finished
local decide, combine = P.decide, P.combine

-- A part keeps the seed groups it compares (p.groups), for kernels_note.
local function keeping(p, groups) p.groups = groups; return p end
local function part(desc, ga, gb, ...) return keeping(P.part(desc, ga, gb, ...), {ga, gb}) end
local function positive(desc, g, ...) return keeping(P.positive(desc, g, ...), {g}) end
local function anova_part(desc, gs, ...) return keeping(A.part(desc, gs, ...), gs) end

-- The OpenBLAS kernel is no part of a run's identity (wb.runs), so the
-- seeds of one variant can come from two kernels (a cluster's nodes, a run
-- reused from another machine); another kernel sums in another order, so
-- the same run gives other numbers from the last bits on. A row says which
-- of its variants' finished seeds mix kernels, as a task README's tables
-- do; "" when none do.
local function kernels_note(parts)
  local out, said = {}, {}
  for _, p in ipairs(parts) do
    for _, g in pairs(p.groups or {}) do
      local mixed, v = wb.runs.kernels_mixed(g), g[1] and tostring(g[1].variant)
      if mixed and not said[v] then
        said[v] = true
        out[#out + 1] = string.format("%s: %s", v, mixed)
      end
    end
  end
  if #out == 0 then return "" end
  return "; seeds trained with more than one OpenBLAS kernel (" .. table.concat(out, "; ")
    .. "): another kernel sums in another order, so a verdict near its threshold can move"
end

local M = {}

local function group(recs)
  local g = {}
  for _, r in ipairs(recs) do
    g[r.variant] = g[r.variant] or {}
    table.insert(g[r.variant], r)
  end
  return g
end

-- C1's quantities, per seed of one variant: the val loss and the training
-- loss at the last epoch minus those at the epoch where the OTHER seeds'
-- mean val loss is lowest. A seed's own minimum would make the rise >= 0
-- by construction (a flat, noisy curve would "hold"); an epoch chosen from
-- the others is independent of this seed's noise. One seed: no value.
local function rise_after_min(rs)
  for i, r in ipairs(rs or {}) do
    local m, h = r.metrics or {}, r.history or {}
    local vl, tl = h.val_loss or {}, h.loss or {}
    -- the epochs run (a NaN val loss is a JSON null: a hole # may stop before)
    local n = m.epochs_run or #tl
    local best, at = math.huge, nil
    for e = 1, n do
      local sum, k = 0, 0
      for j, o in ipairs(rs) do
        local v = j ~= i and o.history and o.history.val_loss and o.history.val_loss[e]
        if type(v) == "number" then sum, k = sum + v, k + 1 end
      end
      if k == #rs - 1 and k > 0 and sum / k < best then best, at = sum / k, e end
    end
    if at then
      m.min_epoch_others = at
      if type(vl[n]) == "number" and type(vl[at]) == "number" then
        m.val_rise_after_min = vl[n] - vl[at]
      end
      if type(tl[n]) == "number" and type(tl[at]) == "number" then
        m.train_change_after_min = tl[n] - tl[at]
      end
    end
  end
end

-- Derived per-record quantities the claims need.
local function derive(r)
  local m = r.metrics or {}
  r.metrics = m
  local g = r.measures and r.measures.grad_norm_1
  if type(g) == "table" and #g > 0 then
    local s = 0
    for _, x in ipairs(g) do s = s + x end
    m.mean_grad_norm_1 = s / #g
  end
end

-- "epochs to 97% val accuracy": the target the task recorded (per dataset).
local function to_target(groups)
  for _, rs in pairs(groups) do
    for _, r in ipairs(rs) do
      local t = r.measures and r.measures.target
      if t then return string.format("epochs to %g%% val accuracy", 100 * t) end
    end
  end
  return "epochs to the target val accuracy"
end

-- Rows of the claims table, {id, claim, verdict, numbers, figure, parts},
-- from by_task: task name -> the records its README was made from.
function M.claims(by_task)
  local function task(name)
    local recs = by_task[name] or {}
    for _, r in ipairs(recs) do derive(r) end
    return group(recs)
  end
  local rows = {}
  local function add(id, claim, parts, fig)
    decide(parts, id)
    local texts = {}
    -- a part's note comes after its verdict (the Holm-adjusted p follows its own p)
    for _, p in ipairs(parts) do texts[#texts + 1] = p.text .. (p.note or "") end
    local verdict, kind = combine(parts)
    rows[#rows + 1] = {id = id, claim = claim, verdict = verdict, kind = kind,
      numbers = table.concat(texts, "; ") .. kernels_note(parts), figure = fig, parts = parts}
  end

  local t3 = task("task03_epochs")
  local base = t3[next(t3) or ""]
  local done = finished(base)
  rise_after_min(done)
  local at = vals(base, "min_epoch_others")
  local am, as = runs_mod.mean_std(at)
  -- the epochs of a finished run (a diverged first seed has none)
  local n_ep = done and done[1] and done[1].metrics.epochs_run
  local c1 = {
    positive(string.format("val loss at the last epoch%s minus at the epoch where the other "
      .. "seeds' mean val loss is lowest (%s)", n_ep and " (" .. n_ep .. ")" or "",
      am and fmt(am, as, "best_epoch") or "one seed: none"), base, "val_rise_after_min"),
    positive("training loss, the same epochs", base, "train_change_after_min", true)}
  add("C1", "without regularisation, validation loss rises after a few epochs while "
    .. "training loss keeps falling", c1, "task03_epochs/loss.png")

  local t4 = task("task04_early_stopping")
  local stops = t4[next(t4) or ""]
  -- one part per patience: the stops of different patiences are never pooled;
  -- test loss and test accuracy both (STUDY.md: a lower loss may come with a
  -- lower accuracy, as task 4's findings show)
  local c2 = {}
  for _, p in ipairs{2, 5, 10} do
    c2[#c2 + 1] = positive(string.format("test loss, last-epoch minus restored weights "
      .. "(patience %d)", p), stops, "restore_gain_loss_" .. p)
  end
  for _, p in ipairs{2, 5, 10} do
    c2[#c2 + 1] = positive(string.format("test accuracy (a fraction), restored minus "
      .. "last-epoch weights (patience %d)", p), stops, "restore_gain_acc_" .. p)
  end
  add("C2", "early stopping keeps the best generalising weights", c2,
    "task04_early_stopping/val_loss.png")

  local t5 = task("task05_dropout")
  -- the gap of the final weights in inference mode: Keras's logged training
  -- loss is a running mean with dropout active, which dropout raises, so its
  -- gap falls with dropout by construction (task 5's gap figure)
  local gap = part("gap without dropout's training-loss artefact (clean_gap)",
    t5["dropout=0.3"], t5["dropout=0"], "clean_gap", true, "dropout 0.3", "0")
  add("C3", "higher dropout reduces overfitting and makes features robust", {gap,
      part("accuracy with 50% of hidden units silenced", t5["dropout=0.3"], t5["dropout=0"],
        "silenced_50", false, "dropout 0.3", "0")},
    "task05_dropout/robustness.png")

  local t6 = task("task06_l2")
  -- the norm at the strongest L2, where the suppression the claim names
  -- shows; the gap at 1e-3: at 1e-2 the penalty also raises the training
  -- loss, and a smaller gap there could be underfitting, not less
  -- overfitting (the test accuracies say how far it underfits)
  local acc = {}
  for _, v in ipairs{"l2=0.01", "l2=0"} do
    local m = runs_mod.mean_std(vals(finished(t6[v]), "test_accuracy"))
    acc[#acc + 1] = m and fmt(m, nil, "test_accuracy")
  end
  add("C4", "stronger L2 suppresses large weights and reduces the gap", {
      part("hidden kernel norm, at the strongest L2 (1e-2)", t6["l2=0.01"], t6["l2=0"],
        "w1_norm", true, "l2 1e-2", "0"),
      -- the gap as C3 reads it: Keras's logged training loss is a running
      -- mean over the epoch, which lags the final weights (0.009 of gap at
      -- l2 1e-3, 0.004 at 0, in the report at ec17cd6)
      part("gap in inference mode (clean_gap), at 1e-3 (at 1e-2 a smaller gap could be "
        .. "underfitting, not less overfitting" .. (acc[1] and acc[2] and string.format(
        ": test accuracy %s at 1e-2 vs %s at 0", acc[1], acc[2]) or "") .. ")",
        t6["l2=0.001"], t6["l2=0"], "clean_gap", true, "l2 1e-3", "0")},
    "task06_l2/weights_hist.png")

  local t7 = task("task07_optimizers")
  add("C5", "Adam and AdamW converge faster than SGD; AdamW is more stable late", {
      part(to_target(t7), t7["Adam"], t7["SGD lr=0.01"], "epochs_to_target",
        true, "Adam", "SGD"),
      part(to_target(t7), t7["AdamW wd=0.004"], t7["SGD lr=0.01"],
        "epochs_to_target", true, "AdamW", "SGD"),
      part("late val-loss jitter", t7["AdamW wd=0.004"], t7["Adam"], "late_val_loss_jitter",
        true, "AdamW", "Adam")},
    "task07_optimizers/val_accuracy.png")

  local t7c = task("task07c_tuned_optimizers")
  add("C5 tuned", "the same, each optimizer at its tuned learning rate (task 7b's grid)", {
      part(to_target(t7c), t7c["Adam (tuned)"], t7c["SGD (tuned)"], "epochs_to_target",
        true, "Adam", "SGD"),
      part(to_target(t7c), t7c["AdamW (tuned)"], t7c["SGD (tuned)"], "epochs_to_target",
        true, "AdamW", "SGD"),
      part("late val-loss jitter", t7c["AdamW (tuned)"], t7c["Adam (tuned)"],
        "late_val_loss_jitter", true, "AdamW", "Adam")},
    "task07c_tuned_optimizers/val_accuracy.png")

  local t8 = task("task08_batch_size")
  local large, b32 = t8["batch_size=6000"], t8["batch_size=32"]
  -- the noise at each run's own batch size is the per-sample gradient
  -- variance over B (16x from 8 to 128) whatever the model: the noise
  -- training sees, which is the claim. The noise of every final model at
  -- one batch size (32) asks another question, where small-batch training
  -- ends, and is confounded by how far each run got (its note): shown
  -- beside the first part, not decided (it would make the claim's verdict
  -- rest on a question the study did not ask)
  local g32 = part("not deciding: the noise of each run's final model at a common batch of "
    .. "32 (where small-batch training ends, not the noise it saw)", t8["batch_size=8"],
    t8["batch_size=128"], "grad_noise_32", false, "batch 8", "128")
  local c6 = {
      part("gradient noise at own batch size (about 1/B by construction: a minibatch "
        .. "gradient's variance is the per-sample variance over B)", t8["batch_size=8"],
        t8["batch_size=128"], "grad_noise", false, "batch 8", "128"),
      part("seconds per epoch", t8["batch_size=128"], t8["batch_size=8"], "sec_per_epoch",
        true, "batch 128", "8"),
      part("Hessian lambda_max", large, b32, "lambda_max", false, "batch 6000", "32"),
      part("Hessian trace", large, b32, "hessian_trace", false, "batch 6000", "32")}
  -- "sharper minima": the curvature is read where each run stopped, which
  -- need not be a minimum; say how far each got (its final training loss)
  local ll, ls = runs_mod.mean_std(vals(large, "loss")), runs_mod.mean_std(vals(b32, "loss"))
  if ll and ls then
    local function epochs(g) return g[1].metrics.epochs_run or g[1].config.epochs or "?" end
    c6[4].note = string.format(" (read where each run stopped: final training "
      .. "loss %s after %s epochs (6000) vs %s after %s (32)%s)", fmt(ll, nil, "loss"),
      epochs(large), fmt(ls, nil, "loss"), epochs(b32), ll > ls and "; the large batch is "
      .. "further from a minimum, which can raise its curvature by itself" or "")
  end
  -- the noise at batch 32 is read where each run stopped too: a model further
  -- from a minimum has larger per-sample gradients, noisier at any batch
  local l8 = runs_mod.mean_std(vals(t8["batch_size=8"], "loss"))
  local l128 = runs_mod.mean_std(vals(t8["batch_size=128"], "loss"))
  local where = ""
  if l8 and l128 and l8 ~= l128 then
    where = string.format(" (read where each run stopped: final training loss %s (8) "
      .. "vs %s (128); batch 8 %s, which by itself can %s its noise)", fmt(l8, nil, "loss"),
      fmt(l128, nil, "loss"), l8 < l128 and "got further" or "stopped further from a "
      .. "minimum", l8 < l128 and "lower" or "raise")
  end
  c6[1].note = "; " .. g32.text .. where
  add("C6", "small batches give noisier gradients; large batches are faster per epoch "
    .. "but reach sharper minima", c6, "task08_batch_size/lambda_max.png")

  local t9 = task("task09_activations")
  local acts = {"relu", "tanh", "softsign", "gelu"}
  local act_groups = {}
  for i, a in ipairs(acts) do act_groups[i] = t9["activation=" .. a] end
  add("C7", "GELU improves gradient flow and convergence over ReLU; activation choice "
    .. "changes convergence speed", {
      part("test accuracy", t9["activation=gelu"], t9["activation=relu"], "test_accuracy",
        false, "GELU", "ReLU"),
      part(to_target(t9), t9["activation=gelu"], t9["activation=relu"],
        "epochs_to_target", true, "GELU", "ReLU"),
      part("mean hidden-kernel gradient norm", t9["activation=gelu"], t9["activation=relu"],
        "mean_grad_norm_1", false, "GELU", "ReLU"),
      -- the study's "activation choice measurably changes convergence
      -- speed": any of the four against the others, not GELU against ReLU
      anova_part(to_target(t9) .. " across the four activations (one-way ANOVA: whether any "
        .. "converges at another speed, not which)", act_groups,
        {"ReLU", "tanh", "softsign", "GELU"}, "epochs_to_target")},
    "task09_activations/grad_norms.png")
  return rows
end

-- Above a --quick report's claims table: its verdicts are no results.
M.QUICK_BANNER = "**QUICK (smoke test, not the results): these runs are --quick's (the "
  .. "first rows, at most 2 epochs); the verdicts below check that the report runs and "
  .. "say nothing about the study's claims. Run the report without --quick for them.**"

-- The claims as a markdown section: the rule, then one table row per claim
-- (verdict, deciding numbers, figure link). quick: the runs are --quick's
-- smoke test, said in the heading and above the table (its figures and
-- task READMEs said so; the verdicts read like the study's results).
function M.claims_section(by_task, dataset, quick)
  local rows = M.claims(by_task)
  local out = {"## Claims of the original study, tested (" .. (dataset or "mnist")
    .. (quick and "; QUICK: a smoke test, not the results" or "") .. ")", "",
    "Rule: each part of a claim compares per-seed values by Welch's t-test (two-sided, "
    .. "95 % confidence interval of the difference of means, Welch-Satterthwaite degrees "
    .. "of freedom; a one-sample t-test for a quantity that should be positive or "
    .. "negative; when no seed of one variant reached a target that every seed of the "
    .. "other reached, or when neither side's seeds spread at all, the rank test's exact p "
    .. "of the separation, 2 / C(n + m, n), when one side does not spread, the exact "
    .. "permutation test of the difference, and for one variant whose "
    .. "seeds all agree the sign test's, 2 / 2^n; values that agree up to rounding, within "
    .. "1e-9 of the largest, do not spread); the parts "
    .. "of one claim are corrected together (Holm, family-wise 5 %): each part prints its "
    .. "own p and, with more than one tested part, the Holm-adjusted p that decides it "
    .. "(at most 0.05: the test rejects). A part holds when its "
    .. "test rejects in the claimed direction, fails when it rejects the other way, and is "
    .. "undecided otherwise (then the half-width of the interval says what the seeds could "
    .. "have resolved, and a part whose own p, and so its interval, would decide alone names "
    .. "the Holm-adjusted p that does not); with fewer than 2 seeds a side there is no "
    .. "verdict, and runs that diverged or failed are left out, counted in the part's "
    .. "text, and leave it undecided. C1 reads each seed at the epoch where the other "
    .. "seeds' mean validation "
    .. "loss is lowest (its own minimum would make any noise a rise). C7's last part asks "
    .. "whether the four activations differ at all: one-way ANOVA's F test over the "
    .. "per-seed values (Welch's version is undefined when one activation's seeds all "
    .. "agree); when some activation's seeds do not spread, the exact permutation test of "
    .. "F (every deal of the seeds counted) decides, F's own p said beside it. A claim is "
    .. "*supported* when every part holds, *not supported* when every part fails, "
    .. "*undecided* when no part holds or fails, *partly supported* when some hold, none "
    .. "fails and the others are undecided, *partly not supported* when some fail, none "
    .. "holds and the others are undecided, and *mixed* when some hold and some fail; "
    .. "the partial verdicts give their counts.",
    "", "| # | claim (study) | verdict | deciding numbers (mean ± sd over seeds, n, 95 % CI, "
    .. "p) | figure |",
    "|---|---|---|---|---|"}
  if quick then table.insert(out, #out - 1, M.QUICK_BANNER .. "\n") end
  for _, r in ipairs(rows) do
    -- a claim of a task this report did not run (a report of some tasks): said
    -- so, not "undecided: no data" beside a link to a figure that is not there
    local t = r.figure:match("^([^/]+)/")
    if t and by_task[t] == nil then
      out[#out + 1] = string.format("| %s | %s | **not tested** | %s was not run in this "
        .. "report | |", r.id, r.claim, t)
    else
      out[#out + 1] = string.format("| %s | %s | **%s** | %s | [%s](%s) |", r.id, r.claim,
        r.verdict, r.numbers, r.figure:match("[^/]+$"), r.figure)
    end
  end
  return table.concat(out, "\n") .. "\n"
end

return M
