-- scripts/study/spectra.lua (`local P = require "study.spectra"`): the
-- spectra of weight matrices as random-matrix theory and WeightWatcher
-- read them: the eigenvalues of W^T W (Householder and QL in double
-- precision: the study's kernels give at most 128 x 128), the
-- Marchenko-Pastur law fitted to the bulk and the spikes beyond it,
-- spectral norm, stable rank, and the power-law exponent alpha of the tail
-- fitted as Clauset, Shalizi and Newman 2009 (and WeightWatcher) do.

local M = {}

-- Below this many eigenvalues no power law is fitted (the output kernel,
-- 128 x 10, has 10): a tail of a handful of points gives an alpha with no
-- meaning (WeightWatcher's users ask about exactly this, its issues #15,
-- #328). The tail itself needs at least MIN_TAIL points.
M.MIN_EVALS = 50
M.MIN_TAIL = 10

---P.eigh(A) -> table
---The eigenvalues of a symmetric matrix A (a list of rows, numbers),
---largest first: Householder reduction to tridiagonal form, then the
---implicit QL method (Numerical Recipes' tred2 and tqli, eigenvalues only),
---in double precision. O(n^3) with a small constant: a 128 x 128 Gram
---matrix takes a fraction of a second in Lua, where cyclic Jacobi took
---seconds (the report draws task 13 on every run, cached or not). A is not
---modified; raises when QL has not converged after 60 iterations.
---Example: print(P.eigh{{2, 1}, {1, 2}}[1]) -- 3
function M.eigh(A0)
  local n = #A0
  local a, d, e = {}, {}, {}
  for i = 1, n do
    a[i] = {}
    for j = 1, n do a[i][j] = A0[i][j] end
  end
  -- tred2: Householder reflections on the lower triangle
  for i = n, 2, -1 do
    local l = i - 1
    local h, scale = 0, 0
    local ai = a[i]
    if l > 1 then
      for k = 1, l do scale = scale + math.abs(ai[k]) end
      if scale == 0 then
        e[i] = ai[l]
      else
        for k = 1, l do
          ai[k] = ai[k] / scale
          h = h + ai[k] * ai[k]
        end
        local f = ai[l]
        local g = f >= 0 and -math.sqrt(h) or math.sqrt(h)
        e[i] = scale * g
        h = h - f * g
        ai[l] = f - g
        f = 0
        for j = 1, l do
          local aj = a[j]
          g = 0
          for k = 1, j do g = g + aj[k] * ai[k] end
          for k = j + 1, l do g = g + a[k][j] * ai[k] end
          e[j] = g / h
          f = f + e[j] * ai[j]
        end
        local hh = f / (h + h)
        for j = 1, l do
          f = ai[j]
          g = e[j] - hh * f
          e[j] = g
          local aj = a[j]
          for k = 1, j do aj[k] = aj[k] - (f * e[k] + g * ai[k]) end
        end
      end
    else
      e[i] = ai[l]
    end
  end
  e[1] = 0
  for i = 1, n do d[i] = a[i][i] end
  -- tqli: implicit QL shifts on the tridiagonal (d, e)
  for i = 2, n do e[i - 1] = e[i] end
  e[n] = 0
  local function hyp(x, y) return math.sqrt(x * x + y * y) end
  for l = 1, n do
    local iter = 0
    repeat
      local m = l
      while m < n do
        local dd = math.abs(d[m]) + math.abs(d[m + 1])
        if math.abs(e[m]) + dd == dd then break end
        m = m + 1
      end
      if m ~= l then
        iter = iter + 1
        if iter > 60 then error("eigh: QL did not converge", 2) end
        local g = (d[l + 1] - d[l]) / (2 * e[l])
        local r = hyp(g, 1)
        g = d[m] - d[l] + e[l] / (g + (g >= 0 and r or -r))
        local s, c, p = 1, 1, 0
        local i = m - 1
        local split = false
        while i >= l do
          local f, b = s * e[i], c * e[i]
          r = hyp(f, g)
          e[i + 1] = r
          if r == 0 then
            d[i + 1] = d[i + 1] - p
            e[m] = 0
            split = true
            break
          end
          s, c = f / r, g / r
          g = d[i + 1] - p
          r = (d[i] - g) * s + 2 * c * b
          p = s * r
          d[i + 1] = g + p
          g = c * r - b
          i = i - 1
        end
        if not split then
          d[l] = d[l] - p
          e[l] = g
          e[m] = 0
        end
      end
    until m == l
  end
  table.sort(d, function(x, y) return x > y end)
  return d
end

---P.gram_eigs(W) -> table
---The eigenvalues of W^T W (or of W W^T, the smaller) of a 2-D tensor,
---largest first, clamped at 0: the squared singular values of W.
---Example: local ev = P.gram_eigs(model[2].weight)
function M.gram_eigs(W)
  local sh = W:shape()
  local G = sh[1] >= sh[2] and wb.matmul(W:t(), W) or wb.matmul(W, W:t())
  -- float32 products leave G symmetric only to rounding; eigh reads one
  -- triangle, so both are averaged first
  local g = G:totable()
  for i = 1, #g do
    for j = i + 1, #g do
      local v = 0.5 * (g[i][j] + g[j][i])
      g[i][j], g[j][i] = v, v
    end
  end
  local ev = M.eigh(g)
  for i, v in ipairs(ev) do if v < 0 then ev[i] = 0 end end
  return ev
end

---P.mp(n, m, sigma2) -> table
---The Marchenko-Pastur law of the eigenvalues of W^T W for an n x m
---matrix W of i.i.d. entries of variance sigma2: {lo, hi} (the bulk's
---edges, sigma2 (sqrt(n) -+ sqrt(m))^2) and density(lambda), normalised over
---the min(n, m) eigenvalues.
---Example: print(P.mp(784, 128, 2 / 912).hi)
function M.mp(n, m, sigma2)
  local big, small = math.max(n, m), math.min(n, m)
  local y = small / big
  local lo, hi = sigma2 * (math.sqrt(big) - math.sqrt(small)) ^ 2,
    sigma2 * (math.sqrt(big) + math.sqrt(small)) ^ 2
  local function density(l)
    if l <= lo or l >= hi then return 0 end
    -- x = l / big follows MP with ratio y; the density of l is its density / big
    return math.sqrt((hi - l) * (l - lo)) / (2 * math.pi * sigma2 * y * l * big)
  end
  return {lo = lo, hi = hi, density = density}
end

---P.powerlaw(x) -> table|nil, string
---Clauset et al.'s fit of p(x) ~ x^-alpha to the tail of the positive
---numbers x (those above 1e-6 of the largest): for every candidate x_min (each value with at least MIN_TAIL
---values at or above it) alpha = 1 + k / sum ln(x_i / x_min) (maximum
---likelihood over the k tail values), and the x_min whose tail is closest
---to its fit in Kolmogorov-Smirnov distance wins. Returns {alpha, sigma
---((alpha - 1) / sqrt(k)), xmin, k, D}, or nil and why when there are
---fewer than MIN_EVALS values.
---Example: local f = P.powerlaw(P.gram_eigs(W)); print(f and f.alpha)
function M.powerlaw(x0)
  -- eigenvalues below 1e-6 of the largest are zeros that float32 rounding
  -- made positive (a rank-deficient W): not part of any tail
  local top = 0
  for _, v in ipairs(x0) do top = math.max(top, v) end
  local x = {}
  for _, v in ipairs(x0) do if v > 1e-6 * top then x[#x + 1] = v end end
  if #x < M.MIN_EVALS then
    return nil, string.format("not fitted: %d eigenvalues, fewer than %d", #x, M.MIN_EVALS)
  end
  table.sort(x)
  local n, best = #x, nil
  for i = 1, n - M.MIN_TAIL + 1 do
    local xmin = x[i]
    if i == 1 or x[i - 1] < xmin then
      local k, s = n - i + 1, 0
      for j = i, n do s = s + math.log(x[j] / xmin) end
      if s > 0 then
        local alpha = 1 + k / s
        -- KS distance between the tail's empirical CDF and the fitted one
        local D = 0
        for j = i, n do
          local F = 1 - (x[j] / xmin) ^ (1 - alpha)
          local lo, hi = (j - i) / k, (j - i + 1) / k
          D = math.max(D, math.abs(F - lo), math.abs(F - hi))
        end
        if not best or D < best.D then
          best = {alpha = alpha, sigma = (alpha - 1) / math.sqrt(k), xmin = xmin, k = k, D = D}
        end
      end
    end
  end
  if not best then return nil, "not fitted: no tail of distinct values" end
  return best
end

-- The 99th percentile of the Tracy-Widom law (beta = 1), the limit law of
-- a real random matrix's largest eigenvalue (Johnstone 2001): an
-- eigenvalue beyond the bulk's edge by less than this many of its
-- fluctuations is the edge's own noise, not a spike (a Gaussian 784 x 128
-- matrix's largest eigenvalue passes the MP edge itself 14 % of the time).
M.TW99 = 2.0234

---P.spike_edge(n, m, sigma2) -> number
---Where spikes begin for an n x m matrix of i.i.d. entries of variance
---sigma2: the 99 % point of its largest eigenvalue of W^T W, sigma2 (mu +
---TW99 s) with Johnstone's (2001, Ann. Statist. 29(2), theorem 1.1)
---centre mu = (sqrt(N - 1) + sqrt(p))^2 and scale s = (sqrt(N - 1) +
---sqrt(p)) (1 / sqrt(N - 1) + 1 / sqrt(p))^(1/3), N, p the larger and the
---smaller side. A little above P.mp's edge (2.6 % for 784 x 128).
---Example: print(P.spike_edge(784, 128, 2 / 912))
function M.spike_edge(n, m, sigma2)
  local big, small = math.max(n, m), math.min(n, m)
  local a = math.sqrt(big - 1) + math.sqrt(small)
  return sigma2 * (a * a + M.TW99 * a * (1 / math.sqrt(big - 1) + 1 / math.sqrt(small))
    ^ (1 / 3))
end

---P.fit_bulk(eigs, n, m) -> table
---The Marchenko-Pastur bulk fitted to the eigenvalues of W^T W (an n x m
---W) with its spikes left out: sigma2 starts at the mean squared entry
---(every eigenvalue's mean over max(n, m), MP's mean), then is the mean of
---the eigenvalues at or below P.spike_edge at the current sigma2 (over
---max(n, m)), until no eigenvalue leaves the bulk. The bulk only shrinks
---and its mean only falls, so this ends (within #eigs steps). Returns
---{sigma2, mp (P.mp at sigma2), edge (P.spike_edge), spikes (eigenvalues
---beyond the edge), bulk (the others), steps}.
---Why a fit: spikes carry much of ||W||_F^2 (60 % in the trained 784 x 128
---kernel), so the whole matrix's mean square puts the edge far beyond the
---bulk and calls most spikes bulk. WeightWatcher fits the bulk too
---(CalculatedContent/WeightWatcher, weightwatcher.py, mp_fit: sigma by
---least squares between a kernel density estimate of the rescaled
---eigenvalues and the MP density, spikes the eigenvalues beyond the fitted
---bulk_max plus a Tracy-Widom allowance); we fit the bulk's mean instead (a
---density estimate of 128 eigenvalues is coarse) and take Johnstone's
---exact allowance.
---Example: local f = P.fit_bulk(P.gram_eigs(W), 784, 128); print(f.spikes)
function M.fit_bulk(ev, n, m)
  local big, sum = math.max(n, m), 0
  for _, v in ipairs(ev) do sum = sum + v end
  local sigma2, inside, steps = sum / #ev / big, #ev, 0
  while true do
    local edge, s, k = M.spike_edge(n, m, sigma2), 0, 0
    for _, v in ipairs(ev) do if v <= edge then s, k = s + v, k + 1 end end
    -- the smallest eigenvalue is below the bulk's mean, hence below the edge: k >= 1
    if k == inside then
      return {sigma2 = sigma2, mp = M.mp(n, m, sigma2), edge = edge, spikes = #ev - k,
        bulk = k, steps = steps}
    end
    inside, sigma2, steps = k, s / k / big, steps + 1
  end
end

---P.describe(W) -> table
---The spectrum of a kernel W (n x m): eigs (of W^T W, largest first),
---shape, mean_square (the mean squared entry), spectral_norm, stable_rank
---(||W||_F^2 / ||W||_2^2), the MP bulk fitted without the spikes
---(P.fit_bulk: sigma2, mp, edge, spikes, below: eigenvalues under the
---fitted bulk's lower edge), whole_edge and whole_spikes (P.spike_edge at
---the mean squared entry, and the eigenvalues beyond it: the spikes
---inflate that variance, so it is no fit), alpha fit (P.powerlaw) or why
---it was not fitted.
---Example: local d = P.describe(model[2].weight); print(d.spikes)
function M.describe(W)
  local sh = W:shape()
  local ev = M.gram_eigs(W)
  local fro = 0
  for _, v in ipairs(ev) do fro = fro + v end
  local ms = fro / (sh[1] * sh[2])
  local bulk = M.fit_bulk(ev, sh[1], sh[2])
  local whole_edge, whole_spikes, below = M.spike_edge(sh[1], sh[2], ms), 0, 0
  for _, v in ipairs(ev) do
    if v > whole_edge then whole_spikes = whole_spikes + 1 end
    if v < bulk.mp.lo then below = below + 1 end
  end
  local fit, why = M.powerlaw(ev)
  return {eigs = ev, shape = sh, mean_square = ms, sigma2 = bulk.sigma2, mp = bulk.mp,
    edge = bulk.edge, spikes = bulk.spikes, below = below, whole_edge = whole_edge,
    whole_spikes = whole_spikes, spectral_norm = math.sqrt(ev[1]), stable_rank = fro / ev[1],
    fit = fit, not_fitted = why}
end

return M
