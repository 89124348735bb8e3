-- scripts/study/spectra.lua (`local P = require "study.spectra"`): the
-- spectra of weight matrices as random-matrix theory and WeightWatcher
-- read them: the eigenvalues of W^T W (cyclic Jacobi in double precision:
-- the study's kernels give at most 128 x 128), the Marchenko-Pastur law of
-- a random matrix of the same shape and variance, spectral norm, stable
-- rank, and the power-law exponent alpha of the tail fitted as Clauset,
-- Shalizi and Newman 2009 (and WeightWatcher) do.

local M = {}

-- Below this many eigenvalues no power law is fitted (the output kernel,
-- 128 x 10, has 10): a tail of a handful of points gives an alpha with no
-- meaning (WeightWatcher's users ask about exactly this, its issues #15,
-- #328). The tail itself needs at least MIN_TAIL points.
M.MIN_EVALS = 50
M.MIN_TAIL = 10

---P.eigh(A) -> table
---The eigenvalues of a symmetric matrix A (a list of rows, numbers),
---largest first, by cyclic Jacobi rotations until the off-diagonal mass is
---below 1e-22 of the total (at most 50 sweeps). A is not modified.
---Example: print(P.eigh{{2, 1}, {1, 2}}[1]) -- 3
function M.eigh(A0)
  local n = #A0
  local A = {}
  for i = 1, n do
    A[i] = {}
    for j = 1, n do A[i][j] = A0[i][j] end
  end
  local total = 0
  for i = 1, n do for j = 1, n do total = total + A[i][j] ^ 2 end end
  for _ = 1, 50 do
    local off = 0
    for i = 1, n - 1 do for j = i + 1, n do off = off + A[i][j] ^ 2 end end
    if off <= 1e-22 * total then break end
    for p = 1, n - 1 do
      for q = p + 1, n do
        local apq = A[p][q]
        if apq ~= 0 then
          -- the rotation that zeroes A[p][q] (Golub and Van Loan, 8.5.2)
          local theta = (A[q][q] - A[p][p]) / (2 * apq)
          local t = (theta >= 0 and 1 or -1) / (math.abs(theta) + math.sqrt(theta * theta + 1))
          local c = 1 / math.sqrt(t * t + 1)
          local s = t * c
          for k = 1, n do
            local akp, akq = A[k][p], A[k][q]
            A[k][p], A[k][q] = c * akp - s * akq, s * akp + c * akq
          end
          local rp, rq = A[p], A[q]
          for k = 1, n do
            local apk, aqk = rp[k], rq[k]
            rp[k], rq[k] = c * apk - s * aqk, s * apk + c * aqk
          end
        end
      end
    end
  end
  local ev = {}
  for i = 1, n do ev[i] = A[i][i] end
  table.sort(ev, function(a, b) return a > b end)
  return ev
end

---P.gram_eigs(W) -> table
---The eigenvalues of W^T W (or of W W^T, the smaller) of a 2-D tensor,
---largest first, clamped at 0: the squared singular values of W.
---Example: local ev = P.gram_eigs(model[2].weight)
function M.gram_eigs(W)
  local sh = W:shape()
  local G = sh[1] >= sh[2] and wb.matmul(W:t(), W) or wb.matmul(W, W:t())
  local ev = M.eigh(G:totable())
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

---P.describe(W) -> table
---The spectrum of a kernel W (n x m): eigs (of W^T W, largest first),
---shape, sigma2 (mean squared entry), spectral_norm, stable_rank
---(||W||_F^2 / ||W||_2^2), mp (P.mp at sigma2), spikes (eigenvalues above
---the MP edge), alpha fit (P.powerlaw) or why it was not fitted.
---Example: local d = P.describe(model[2].weight); print(d.spikes)
function M.describe(W)
  local sh = W:shape()
  local ev = M.gram_eigs(W)
  local fro = 0
  for _, v in ipairs(ev) do fro = fro + v end
  local sigma2 = fro / (sh[1] * sh[2])
  local mp = M.mp(sh[1], sh[2], sigma2)
  local spikes = 0
  for _, v in ipairs(ev) do if v > mp.hi then spikes = spikes + 1 end end
  local fit, why = M.powerlaw(ev)
  return {eigs = ev, shape = sh, sigma2 = sigma2, spectral_norm = math.sqrt(ev[1]),
    stable_rank = fro / ev[1], mp = mp, spikes = spikes, fit = fit, not_fitted = why}
end

return M
