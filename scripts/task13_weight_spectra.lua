-- Task 13: the spectra of the trained baseline's Dense kernels against random
-- matrices (Martin and Mahoney 2021; WeightWatcher): the eigenvalues of
-- W^T W (squared singular values) against the Marchenko-Pastur law fitted
-- to their bulk (spikes: the eigenvalues beyond its edge; P.fit_bulk) and a
-- random matrix of the same shape, spectral norm, stable rank, and the
-- power-law exponent alpha of the tail. The training is the baseline's
-- (tasks 1, 2 and 10): an equal recorded training is adopted, not redone.
local S = require "study"
local P = require "study.spectra"
local B = require "study.beyond"

local function fmt(x) return string.format("%.3g", x) end

-- A fresh Glorot-uniform kernel of the same shape (the initialisation's
-- distribution: a random matrix to hold the trained one against).
local function random_like(W, seed)
  local sh = W:shape()
  wb.seed(1000 + seed)
  return wb.nn.Dense(sh[1], sh[2]).weight
end

-- Binned empirical density of the eigenvalues in [0, hi] (nbins), as a
-- share of all `total` of them: those beyond the plot keep their weight
-- out of it, so the histogram stands against the MP curve scaled to the
-- bulk's share.
local function density(ev, hi, nbins, total)
  local x, y = {}, {}
  local w = hi / nbins
  for b = 1, nbins do x[b], y[b] = (b - 0.5) * w, 0 end
  for _, v in ipairs(ev) do
    if v <= hi then
      local b = math.min(nbins, math.floor(v / w) + 1)
      y[b] = y[b] + 1 / (total * w)
    end
  end
  return x, y
end

-- The share of ||W||_F^2 the spikes (the eigenvalues beyond the edge) carry.
local function spike_share(d)
  local all, out = 0, 0
  for _, v in ipairs(d.eigs) do
    all = all + v
    if v > d.edge then out = out + v end
  end
  return all > 0 and out / all or 0
end

-- One seed's alpha with Clauset's sigma, (alpha - 1) / sqrt(tail): not
-- "±", which a table's note reads as the standard deviation over seeds
-- (wb.Task:text; audit T4)
local function alpha_text(d)
  if not d.fit then return d.not_fitted end
  return string.format("%.2f (sigma %.2f, tail of %d)", d.fit.alpha, d.fit.sigma, d.fit.k)
end

-- WeightWatcher's reading of alpha
local function ww_range(a)
  if a < 2 then return "is below 2 (its over-trained range)" end
  if a > 6 then return "is above 6 (its under-trained range)" end
  return "lies in [2, 6]"
end

-- The report's "Beyond the study" row: the hidden kernel's alpha over seeds
-- against WeightWatcher's well-trained range, and its spikes against a
-- random matrix's.
local function beyond_row(task, list, recs)
  local alphas, spikes, rspikes, each = {}, {}, {}, {}
  for k, e in ipairs(list) do
    if e.trained.fit then alphas[#alphas + 1] = e.trained.fit.alpha end
    spikes[#spikes + 1], rspikes[#rspikes + 1] = e.trained.spikes, e.random.spikes
    each[#each + 1] = string.format("seed %d: %s, %d", recs[k].seed, e.trained.fit
      and string.format("%.2f", e.trained.fit.alpha) or "not fitted", e.trained.spikes)
  end
  local sh = list[1].trained.shape
  local am, as = wb.runs.mean_std(alphas)
  local sm, rm = wb.runs.mean_std(spikes), wb.runs.mean_std(rspikes)
  -- the row's numbers over the seeds, here too: they were in REPORT.md alone (tryJ)
  task:text(string.format("- The report's Beyond row, over the %d seeds: the hidden kernel's "
    .. "alpha and eigenvalues beyond the spike edge, per seed (%s); a fresh random Glorot "
    .. "matrix's, %.1f on average.", #list, table.concat(each, "; "), rm))
  local in_range = am and am >= 2 and am <= 6
  B.write(task, {experiment = string.format("weight spectra of the trained %dx%d kernel",
      sh[1], sh[2]),
    ours = string.format("alpha %s over %d seed%s; %.1f of %d eigenvalues beyond the edge "
      .. "of the Marchenko-Pastur bulk fitted without them (a random Glorot matrix: %.1f)", not am and "not fitted" or #alphas > 1
      and string.format("%.2f ± %.2f", am, as) or string.format("%.2f", am), #alphas,
      #alphas == 1 and "" or "s", sm, #list[1].trained.eigs, rm),
    published = "alpha in [2, 6] for well-trained layers (below 2 over-trained, above 6 "
      .. "under-trained); training puts spikes beyond the Marchenko-Pastur bulk",
    source = "Martin and Mahoney 2021, JMLR 22(165); WeightWatcher's documentation",
    verdict = B.verdict((in_range and 1 or 0) + (sm > rm and 1 or 0), 2)})
end

-- The model and training the runs had (S.trained: from their config).
local function intro(task, runs)
  local r = runs.records[1]
  task:text("The baseline's Dense kernels (" .. (r and S.trained(r.config) or "no run")
    .. ") against random matrices: the Marchenko-Pastur bulk fitted to each spectrum and "
    .. "the spikes beyond its edge, spectral norm, stable "
    .. "rank, and the power-law exponent alpha of the spectrum's tail (Clauset et al. "
    .. "2009, as WeightWatcher fits it; Martin and Mahoney 2021).")
end

local function report(task, runs)
  intro(task, runs)
  local recs = {}
  for _, r in ipairs(runs.records) do if r.status == "ok" then recs[#recs + 1] = r end end
  if #recs == 0 then task:text("No trained run."); return end
  local t0 = wb.sys.time()
  -- per seed and layer: the trained kernel's spectrum and a random one's
  local layers, per = {}, {}
  for _, r in ipairs(recs) do
    local m = r:model()
    local li = 0
    for i = 1, #m do
      if m[i].kind == "Dense" then
        li = li + 1
        layers[li] = layers[li] or i
        per[li] = per[li] or {}
        table.insert(per[li], {trained = P.describe(m[i].weight),
          random = P.describe(random_like(m[i].weight, r.seed)), seed = r.seed})
      end
    end
  end
  local figs = {}
  for li, list in ipairs(per) do
    local d, rnd = list[1].trained, list[1].random
    local n, m = d.shape[1], d.shape[2]
    local init_mp = P.mp(n, m, 2 / (n + m))
    local hi = 1.5 * math.max(d.edge, init_mp.hi)
    local shown = 0
    for _, v in ipairs(d.eigs) do if v <= hi then shown = shown + 1 end end
    local ex, ey = density(d.eigs, hi, 40, #d.eigs)
    local rx, ry = density(rnd.eigs, hi, 40, #rnd.eigs)
    -- the fitted law describes the bulk only: its density times the bulk's share
    local share = (#d.eigs - d.spikes) / #d.eigs
    local gx, g1, g2, top = {}, {}, {}, 0
    for k = 1, 200 do
      gx[k] = hi * (k - 0.5) / 200
      g1[k], g2[k] = share * d.mp.density(gx[k]), init_mp.density(gx[k])
      top = math.max(top, g1[k], g2[k], ey[math.min(40, k)], ry[math.min(40, k)])
    end
    figs[#figs + 1] = wb.plot.lines{title = string.format("Dense %dx%d: eigenvalues of "
      .. "W^T W (seed %d; %d of %d beyond the plot)", n, m, list[1].seed, #d.eigs - shown,
      #d.eigs), xlabel = "eigenvalue", ylabel = "density", points = false, series = {
      {label = "trained", x = ex, y = ey}, {label = "random (Glorot)", x = rx, y = ry},
      {label = string.format("MP fit to its bulk (%d)", #d.eigs - d.spikes), x = gx, y = g1},
      {label = "MP, Glorot variance", x = gx, y = g2},
      {label = string.format("spike edge: %d beyond", d.spikes),
        x = {d.edge, d.edge}, y = {0, top}}}}
    -- the tail on log-log axes: empirical CCDF and the fitted power law
    local cx, cy = {}, {}
    for k, v in ipairs(d.eigs) do cx[k], cy[k] = v, k / #d.eigs end
    local series = {{label = "trained: P(lambda >= x)", x = cx, y = cy}}
    if d.fit then
      local fx, fy = {}, {}
      for k, v in ipairs(d.eigs) do
        if v >= d.fit.xmin then
          fx[#fx + 1], fy[#fy + 1] = v, d.fit.k / #d.eigs * (v / d.fit.xmin) ^ (1 - d.fit.alpha)
        end
      end
      series[2] = {label = string.format("power law, alpha = %.2f", d.fit.alpha), x = fx,
        y = fy}
    end
    figs[#figs + 1] = wb.plot.lines{title = string.format("Dense %dx%d: tail of the "
      .. "spectrum", n, m), xlabel = "eigenvalue of W^T W", ylabel = "fraction >= x",
      logx = true, logy = true, points = false, series = series}
  end
  task:section(string.format("Spectra of the trained kernels (%d seeds)", #recs))
  task:figure("spectra", wb.plot.panels{cols = 2, plots = figs, size = {1400, 500 * #per}},
    "Left: the eigenvalue density of W^T W (as a share of all its eigenvalues) against "
    .. "the Marchenko-Pastur law fitted to the trained bulk without its spikes (scaled to "
    .. "the bulk's share; the vertical line is the spike edge: the fitted bulk's edge plus "
    .. "Tracy-Widom's 99 % allowance) and the law at Glorot's variance 2/(n+m); right: the "
    .. "tail on log-log axes with Clauset's power-law fit.")

  task:section("Findings (computed)")
  local rows = {"| layer | spectral norm: trained / random | spike edge of the fitted MP "
    .. "bulk, as a singular value | eigenvalues beyond it | stable rank: trained / "
    .. "random | alpha trained (seed " .. recs[1].seed .. ") | alpha random |",
    "|---|---|---|---|---|---|---|"}
  for _, list in ipairs(per) do
    local sn, rsn, edge, spikes, sr, rsr = {}, {}, {}, {}, {}, {}
    for i, e in ipairs(list) do
      sn[i], rsn[i], edge[i] = e.trained.spectral_norm, e.random.spectral_norm,
        math.sqrt(e.trained.edge)
      spikes[i], sr[i], rsr[i] = e.trained.spikes, e.trained.stable_rank,
        e.random.stable_rank
    end
    -- mean ± sd to the same decimals (%.3g wrote 13.0 as "13 ± 0.279": tryJ)
    local function ms(t)
      local mu, sd = wb.runs.mean_std(t)
      return #t > 1 and wb.runs.fmt_mean_std(mu, sd, "value", #t) or fmt(mu)
    end
    local d = list[1].trained
    rows[#rows + 1] = string.format("| Dense %dx%d | %s / %s | %s | %s of %d | %s / %s | %s "
      .. "| %s |", d.shape[1], d.shape[2], ms(sn), ms(rsn), ms(edge), ms(spikes), #d.eigs,
      ms(sr), ms(rsr), alpha_text(d), alpha_text(list[1].random))
  end
  task:text(table.concat(rows, "\n") .. "\n")
  for _, list in ipairs(per) do
    local d, rnd = list[1].trained, list[1].random
    local name = string.format("Dense %dx%d", d.shape[1], d.shape[2])
    local lines = {}
    lines[#lines + 1] = string.format("%s: %d of its %d eigenvalues lie beyond the edge "
      .. "of the Marchenko-Pastur bulk fitted to its spectrum without them (seed %d; "
      .. "sigma2 %.3g, %.0f %% of the mean squared entry; edge %.3g with Tracy-Widom's 99 %% "
      .. "allowance; %d eigenvalues below the bulk's lower edge %.3g) and carry %.0f %% of "
      .. "||W||_F^2 (an edge from the whole matrix's mean squared entry would sit at %.3g "
      .. "and leave %d beyond it); the random one of the same shape has %d: %s", name,
      d.spikes, #d.eigs, list[1].seed, d.sigma2, 100 * d.sigma2 / d.mean_square, d.edge,
      d.below, d.mp.lo, 100 * spike_share(d), d.whole_edge, d.whole_spikes, rnd.spikes,
      d.spikes > rnd.spikes and "training has put structure (spikes) outside the random "
      .. "bulk, as Martin and Mahoney describe" or "no more spikes than a random matrix")
    lines[#lines + 1] = string.format("its stable rank is %.1f against %.1f for the "
      .. "random matrix (%s)", d.stable_rank, rnd.stable_rank, d.stable_rank
      < rnd.stable_rank and "lower: energy concentrated in fewer directions"
      or "not lower")
    if d.fit and rnd.fit then
      local z = math.abs(d.fit.alpha - rnd.fit.alpha) / math.sqrt(d.fit.sigma ^ 2
        + rnd.fit.sigma ^ 2)
      lines[#lines + 1] = string.format("alpha %.2f (sigma %.2f) against %.2f (sigma %.2f) "
        .. "for the random matrix (%.1f combined sigma apart): %s; WeightWatcher reads alpha in "
        .. "[2, 6] as well trained (below 2 over-trained, above 6 under-trained): ours "
        .. "%s, and the random matrix's %s", d.fit.alpha, d.fit.sigma, rnd.fit.alpha,
        rnd.fit.sigma, z, z > 2 and "alpha separates the trained layer from a random one"
        or "alpha does not separate the trained layer from a random one at this size",
        ww_range(d.fit.alpha), ww_range(rnd.fit.alpha))
    else
      lines[#lines + 1] = string.format("alpha %s: with so few eigenvalues a tail fit "
        .. "means nothing (the question of WeightWatcher's issues #15 and #328)",
        d.not_fitted or "fitted")
    end
    task:text("- " .. table.concat(lines, "; ") .. ".")
  end
  task:text(string.format("- Cost: %.1f s for the spectra of %d trained and %d random "
    .. "kernels (Householder and QL on W^T W in Lua, double precision); no training beyond the "
    .. "baseline's.", wb.sys.time() - t0, #recs * #per, #recs * #per))
  beyond_row(task, per[1], recs)
  local h = per[1][1].trained
  task:text(string.format("- Caveat: the hidden kernel has only %d eigenvalues, where "
    .. "WeightWatcher's fits use layers with hundreds to thousands; alpha's sigma is "
    .. "Clauset's (alpha - 1)/sqrt(tail), which ignores the choice of x_min. The random "
    .. "matrix is a fresh Glorot draw, not the run's own initialisation. The bulk is "
    .. "fitted by its mean (the eigenvalues under the edge, until none leaves), where "
    .. "WeightWatcher fits a kernel density: where the spikes are many, the count reads "
    .. "the fit (seed %d: %d beyond the fitted bulk's edge, %d beyond one from the whole "
    .. "matrix's variance, which they inflate).%s", #h.eigs, per[1][1].seed, h.spikes,
    h.whole_spikes, h.fit and h.fit.alpha < 2 and " A tail exponent below 2 is what Martin "
    .. "and Mahoney call very heavy-tailed, a spectrum no Marchenko-Pastur bulk describes "
    .. "well." or ""))
end

-- (the intro is the report's first paragraph: it says what the runs trained)
return wb.task{name = "task13_weight_spectra", title = "Task 13: weight spectra",
  experiment = S.baseline(), report = report}
