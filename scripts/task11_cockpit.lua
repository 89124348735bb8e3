-- Task 11: watching SGD from the inside with Cockpit's instruments
-- (Schneider, Dangel, Hennig, NeurIPS 2021): the baseline MLP (hidden 128,
-- batch 32) trained with plain SGD at three learning rates (too small
-- 1e-3, good 0.1, too large 1) for 3 epochs. Each rate is trained twice
-- with identical training (instruments change nothing, a tested property):
-- economy every step, and full (plus the Hessian: lambda_max, trace, TIC)
-- every 16 steps. Figures: the instruments against steps, each rate's mean
-- over seeds faint and its running mean bold (5000 noisy steps of three
-- rates drawn raw overlapped into one band of colour), seed bands; the
-- findings are computed from the records, each comparison with Cockpit's
-- reading of alpha decided by the 95 % interval of the per-seed medians.
-- Part of scripts/report.lua, beyond the study (its row: alpha at the best
-- rate), with its own three seeds. Cost, alone on the 2-core machine: 44-53 s
-- wall for the 18 runs (43-47 s user + 7-8 s system), 10 s with --quick, so
-- it keeps its 3 epochs and full rows.
local S = require "study"
local B = require "study.beyond"
local C = require "study.cockpit"

local RATES = {{name = "too small", lr = 1e-3}, {name = "good", lr = 0.1},
  {name = "too large", lr = 1}}
local function eco(lr) return string.format("lr=%g", lr) end
local function full(lr) return string.format("lr=%g full/16", lr) end

local variants = {}
for _, r in ipairs(RATES) do
  variants[#variants + 1] = {label = eco(r.lr), lr = r.lr, instruments = "economy", every = 1}
  variants[#variants + 1] = {label = full(r.lr), lr = r.lr, instruments = "full", every = 16}
end

-- The runs of one kind (economy every step, or full every 16 steps),
-- labelled by their rate alone.
local function subset(runs, fulls)
  local recs = {}
  for _, rec in ipairs(runs.records) do
    local v, n = rec.variant:gsub(" full/16$", "")
    if (n == 1) == fulls then
      local c = {}
      for k, x in pairs(rec) do c[k] = x end
      c.variant, recs[#recs + 1] = v, c
    end
  end
  return wb.runs.Runs(recs, runs.experiment)
end

-- The findings: a table per rate, then Cockpit's readings of alpha decided,
-- and the report's row.
local function findings(task, economy, fulls)
  task:section("Findings (computed)")
  local best, epochs
  local rows = {"| rate | lr | final train loss | median alpha (epoch 2 on) | alpha > 0 | "
    .. "median lambda_max | 2/lr | lambda_max > 2/lr | runs diverged |",
    "|---|---|---|---|---|---|---|---|---|"}
  for _, r in ipairs(RATES) do
    local rs = economy:of(eco(r.lr))
    local losses, diverged = {}, 0
    for _, rec in ipairs(rs) do
      -- a diverged run's last finite loss is no final loss
      local h = rec.status == "ok" and rec.history or {}
      if rec.status ~= "ok" then diverged = diverged + 1 end
      if h.loss and #h.loss > 0 then losses[#losses + 1] = h.loss[#h.loss] end
      epochs = rec.config.epochs
    end
    table.sort(losses)
    r.loss = C.median(losses)
    if r.loss == r.loss and (not best or r.loss < best.loss) then best = r end
    local alpha = C.values(rs, "alpha", true)
    r.alpha, r.alpha_up, r.seeds = C.median(alpha), C.share_above(alpha, 0), C.per_seed(rs)
    local hmax = C.values(fulls:of(eco(r.lr)), "hess_max")
    rows[#rows + 1] = string.format("| %s | %g | %.4f | %.3f | %.0f %% | %.3g | %g | %.0f %% "
      .. "| %d of %d |", r.name, r.lr, r.loss, r.alpha, 100 * r.alpha_up, C.median(hmax), 2 / r.lr,
      100 * C.share_above(hmax, 2 / r.lr), diverged, #rs)
  end
  task:text(table.concat(rows, "\n"))
  if not best then task:text("No run has a final training loss."); return end
  -- Cockpit's readings of alpha, each decided by the interval over seeds
  local checks = {{best, "best", "above 0 (overshooting the minimum), not at 0"},
    {RATES[1], "too small", "near -1 (far short of the minimum)", true},
    {RATES[3], "too large", "above 0 (overshooting)"}}
  rows = {"| rate | lr | Cockpit's reading of alpha | ours: per-seed median alpha after "
    .. "epoch 1 | verdict |", "|---|---|---|---|---|"}
  for _, c in ipairs(checks) do
    c.verdict = C.verdict(c[1].seeds, c[4])
    rows[#rows + 1] = string.format("| %s | %g | %s | %s | **%s** |", c[2], c[1].lr, c[3],
      c[1].seeds.text, c.verdict)
  end
  task:text(table.concat(rows, "\n"))
  task:text(string.format("- The best of the three rates by final training loss is lr = %g "
    .. "(%s): median alpha after the first epoch %.3f, %.0f %% of the steps above 0. "
    .. "Cockpit's paper reports that with the best learning rate alpha sits above 0, not at "
    .. "0; ours **%s**. A verdict above is agree when the 95 %% interval of the per-seed "
    .. "medians lies on Cockpit's side (above 0, or below %g for near -1), partly when only "
    .. "the mean lies above 0 (for near -1: when the interval lies below 0 only), else differ; "
    .. "with one seed there is no interval and nothing is decided.",
    best.lr, best.name, best.alpha, 100 * best.alpha_up, C.SAYS[checks[1].verdict],
    C.NEAR_MINUS_ONE))
  local function side(m) return m > 0 and "above 0" or m < 0 and "below 0" or "at 0" end
  task:text(string.format("- Where alpha sits (mean of the per-seed medians): %.3f (%s) at the "
    .. "best rate and %.3f (%s) at the too-large one, on a scale where 0 is the minimum along "
    .. "the step and 1 the far side of the valley.", best.seeds.m, side(best.seeds.m),
    RATES[3].seeds.m, side(RATES[3].seeds.m)))
  B.write(task, {experiment = string.format("Cockpit's alpha for plain SGD at three learning "
      .. "rates (1e-3, 0.1, 1), baseline MLP, %d epochs, every step", epochs),
    ours = string.format("best rate lr %g: median alpha %.3f after epoch 1, %.0f %% of steps "
      .. "above 0; per-seed medians %s", best.lr, best.alpha, 100 * best.alpha_up,
      best.seeds.text),
    published = "with the best learning rate alpha sits above 0 (the step overshoots the "
      .. "minimum along its direction), not at 0",
    source = "Schneider, Dangel and Hennig 2021, NeurIPS (Cockpit)", verdict = checks[1].verdict})
end

-- The running mean drawn bold over a per-step series: 2 % of a run's logged
-- steps, odd to be centred (101 of 5067 every step, 7 of 317 every 16), at
-- least 3.
local function window(rs)
  local n = 0
  for _, r in ipairs(rs.records) do
    local st = type(r.history) == "table" and r.history.steps
    n = math.max(n, st and st.step and #st.step or 0)
  end
  return math.max(3, n // 50 | 1)
end

local function report(task, runs)
  local economy, fulls = subset(runs, false), subset(runs, true)
  task:section("The instruments against steps (economy, every step)")
  local k = window(economy)
  -- by = "median" for the tests: heavy-tailed (alpha at lr = 1 reaches 1e3
  -- at a few steps, which dragged a running mean far from the steps around)
  local function curves(specs, by)
    local plots = {}
    for i, o in ipairs(specs) do
      local name = table.remove(o, 1)
      o.x, o.smooth, o.smooth_by, o.title = "step", k, by, o.title or o.ylabel
      plots[i] = economy:plot_curves(name, o)
    end
    return wb.plot.panels{cols = 2, plots = plots}
  end
  local function drawn(by)
    return string.format("Each rate's mean over seeds at each step is drawn faint, its "
      .. "running %s over %d steps bold (centred, narrower near the ends; a step without a "
      .. "value is skipped), the band the running %s of the band's edges.", by, k, by)
  end
  task:figure("training", curves({{"loss", title = "Training loss (mini-batch)",
      ylabel = "training loss"},
    {"grad_norm", title = "Gradient norm ||g||", ylabel = "gradient norm (all layers)",
      logy = true},
    {"distance", title = "Distance from the start", ylabel = "distance ||θ - θ0||"},
    {"update_size", title = "Update size", ylabel = "update size ||Δθ||", logy = true}},
    "mean"), drawn("mean"))
  local alpha = C.values(economy.records, "alpha")
  task:figure("tests", curves({{"alpha", title = "alpha",
      ylabel = "alpha (0: the step ends at the minimum)", yrange = {-1.5, 1.5}},
    {"norm_test", title = "Norm test", ylabel = "norm test", logy = true},
    {"inner_test", title = "Inner product test", ylabel = "inner product test", logy = true},
    {"ortho_test", title = "Orthogonality test", ylabel = "orthogonality test"}}, "median"),
    string.format("%s alpha is drawn in [-1.5, 1.5]; %.2f %% of its measurements lie outside "
      .. "(a nearly flat fitted parabola gives a large alpha).", drawn("median"),
      100 * (1 - C.share_above(alpha, -1.5) + C.share_above(alpha, 1.5))))
  task:section("Curvature (full, every 16 steps)")
  local refs = {}
  for i, r in ipairs(RATES) do -- each rate's line dashed in its curve's colour
    refs[i] = {label = ("2/lr=%g (%s)"):format(2 / r.lr, eco(r.lr)), y = 2 / r.lr,
      like = eco(r.lr)}
  end
  local kf = window(fulls)
  task:figure("curvature", wb.plot.panels{cols = 2, plots = {
    fulls:plot_curves("hess_max", {x = "step", logy = true, refs = refs, smooth = kf,
      title = "lambda_max", ylabel = "lambda_max (batch Hessian's top eigenvalue)"}),
    fulls:plot_curves("hess_trace", {x = "step", logy = true, smooth = kf,
      title = "Hessian trace", ylabel = "trace of the batch Hessian"})}},
    string.format("Measured every 16 steps: each rate's mean over seeds faint, its running "
      .. "mean over %d measurements bold. The horizontal lines are 2/lr for the three rates "
      .. "(2000, 20 and 2): a quadratic model says plain SGD is unstable along the top "
      .. "eigenvector when lambda_max is above its rate's line (the column lambda_max > 2/lr "
      .. "below).", kf))

  findings(task, economy, fulls)
end

return wb.task{name = "task11_cockpit", title = "Task 11: SGD through Cockpit's instruments",
  experiment = S.experiment{base = {epochs = 3, optimizer = "sgd"}, variants = variants},
  report = report}
