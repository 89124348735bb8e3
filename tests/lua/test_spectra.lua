-- test_spectra.lua: task 13's weight-spectrum helpers (scripts/study/spectra.lua)
-- against known answers: a known SVD, a rank-1 matrix's stable rank, the
-- Marchenko-Pastur edges of a Glorot-random matrix, Pareto samples' alpha,
-- and Clauset's fit on fixed numbers against a brute-force search.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local P = require "study.spectra"

local function lcg(seed)
  local s = seed
  return function()
    s = (s * 1103515245 + 12345) % 2147483648
    return (s + 0.5) / 2147483648
  end
end

T.test("eigh: a 2 x 2 and a diagonal-free 3 x 3", function()
  local ev = P.eigh{{2, 1}, {1, 2}}
  T.near(ev[1], 3, 1e-12)
  T.near(ev[2], 1, 1e-12)
  -- the path graph's Laplacian-like matrix: eigenvalues 2 + sqrt(2), 2, 2 - sqrt(2)
  ev = P.eigh{{2, -1, 0}, {-1, 2, -1}, {0, -1, 2}}
  T.near(ev[1], 2 + math.sqrt(2), 1e-12)
  T.near(ev[2], 2, 1e-12)
  T.near(ev[3], 2 - math.sqrt(2), 1e-12)
end)

-- W = U diag(s) V^T with U, V products of Givens rotations: its singular
-- values are s, whatever the rotations.
local function rotations(n, rnd)
  local Q = {}
  for i = 1, n do
    Q[i] = {}
    for j = 1, n do Q[i][j] = i == j and 1 or 0 end
  end
  for p = 1, n - 1 do
    for q = p + 1, n do
      local a = 2 * math.pi * rnd()
      local c, s = math.cos(a), math.sin(a)
      for k = 1, n do
        local x, y = Q[k][p], Q[k][q]
        Q[k][p], Q[k][q] = c * x - s * y, s * x + c * y
      end
    end
  end
  return Q
end

T.test("gram_eigs: a known SVD (6 x 4, singular values 5, 3, 1, 0.5)", function()
  local rnd = lcg(3)
  local s = {5, 3, 1, 0.5}
  local U, V = rotations(6, rnd), rotations(4, rnd)
  local rows = {}
  for i = 1, 6 do
    rows[i] = {}
    for j = 1, 4 do
      local v = 0
      for k = 1, 4 do v = v + U[i][k] * s[k] * V[j][k] end
      rows[i][j] = v
    end
  end
  for _, W in ipairs{wb.tensor(rows), wb.tensor(rows):t():clone()} do
    local ev = P.gram_eigs(W)
    T.eq(#ev, 4)
    for k = 1, 4 do T.near(math.sqrt(ev[k]), s[k], 1e-5 * s[1]) end
  end
end)

T.test("describe: a rank-1 matrix has stable rank 1", function()
  local rows = {}
  for i = 1, 12 do
    rows[i] = {}
    for j = 1, 5 do rows[i][j] = (i - 6.5) * (j + 1) end
  end
  local d = P.describe(wb.tensor(rows))
  T.near(d.stable_rank, 1, 1e-5)
  T.near(d.spectral_norm ^ 2, d.eigs[1], 1e-9)
  T.eq(d.fit, nil)
  T.eq(d.not_fitted, "not fitted: 1 eigenvalues, fewer than 50", "the float32 zeros are no tail")
end)

T.test("a Glorot-random 784 x 128 matrix at initialisation fills the MP bulk", function()
  wb.seed(7)
  local W = wb.nn.Dense(784, 128).weight
  local d = P.describe(W)
  -- Glorot uniform: variance 2 / (fan_in + fan_out)
  T.near(d.sigma2, 2 / 912, 0.02 * 2 / 912)
  local mp = P.mp(784, 128, 2 / 912)
  -- the extreme eigenvalues converge to the edges, with fluctuations of
  -- order m^(-2/3) (Tracy-Widom): a few % at the top, more at the bottom
  T.near(d.eigs[1], mp.hi, 0.05 * mp.hi)
  T.near(d.eigs[128], mp.lo, 0.12 * mp.lo)
  T.eq(d.spikes, 0, "no eigenvalue beyond the edge of its own variance")
  -- the density integrates to 1 over the bulk (midpoint rule)
  local s, steps = 0, 20000
  local h = (mp.hi - mp.lo) / steps
  for i = 1, steps do s = s + mp.density(mp.lo + (i - 0.5) * h) * h end
  T.near(s, 1, 2e-3)
end)

-- A Gaussian 784 x 128 matrix of entry variance 1/784 (MP's bulk of W^T W
-- then spans (1 -+ sqrt(128/784))^2: [0.35, 1.97]) plus rank-1 spikes
-- theta u v^T (u, v random unit vectors): a spike's eigenvalue leaves the
-- bulk when theta^2 > sqrt(128/784) = 0.40 (Baik, Ben Arous and Peche);
-- theta^2 = 3 puts it near 4.2 (3.2 to 5 in these draws), well past the edge.
local function planted(seed, thetas2)
  wb.seed(seed)
  local n, m = 784, 128
  local W = wb.randn(n, m) * (1 / math.sqrt(n))
  for _, t2 in ipairs(thetas2) do
    local u, v = wb.randn(n, 1), wb.randn(1, m)
    u, v = u * (1 / u:norm()), v * (1 / v:norm())
    W = W + wb.matmul(u, v) * math.sqrt(t2)
  end
  return W
end

T.test("fit_bulk: a Gaussian matrix has no spikes and its own variance", function()
  for _, seed in ipairs{1, 2, 3} do
    local d = P.describe(planted(seed, {}))
    T.eq(d.spikes, 0, "seed " .. seed .. ": no spike beyond the fitted edge")
    T.near(d.sigma2, 1 / 784, 0.02 / 784, "seed " .. seed .. ": sigma2 is the entries' variance")
    -- MP holds: the fit keeps every eigenvalue and agrees with the whole matrix
    T.near(d.sigma2, d.mean_square, 1e-12 * d.sigma2)
    T.eq(d.whole_spikes, 0)
    T.near(d.mp.hi, (1 + math.sqrt(128 / 784)) ^ 2, 0.02 * 1.97)
  end
end)

-- Found by an audit: the edge was built from the whole matrix's mean
-- squared entry, which the spikes inflate: two large spikes lifted it past
-- some planted ones (its edge near 4.5: 4 of the 6 counted).
T.test("fit_bulk: k planted spikes well above the edge are k spikes", function()
  for _, seed in ipairs{4, 5} do
    local d = P.describe(planted(seed, {100, 50, 3, 3, 3, 3}))
    T.eq(d.spikes, 6, "seed " .. seed .. ": the planted spikes")
    T.near(d.sigma2, 1 / 784, 0.05 / 784, "seed " .. seed .. ": the bulk's variance")
    T.ok(d.eigs[6] > d.edge and d.eigs[7] <= d.edge, "the six largest are the spikes")
    T.ok(d.whole_spikes < 6, "the whole matrix's variance hides some: "
      .. d.whole_spikes)
    local f = P.fit_bulk(d.eigs, 784, 128)
    T.eq(f.bulk, 122)
    T.ok(f.steps >= 1, "the fit moved off the whole matrix's variance")
  end
  -- the fit is a fixed point: the mean of the eigenvalues under its edge
  local d = P.describe(planted(6, {20, 3}))
  local s, k = 0, 0
  for _, v in ipairs(d.eigs) do if v <= d.edge then s, k = s + v, k + 1 end end
  T.near(d.sigma2, s / k / 784, 1e-12 * d.sigma2)
  T.eq(d.spikes, 2)
end)

T.test("spike_edge: Johnstone's 99 % point, above the MP edge", function()
  -- (sqrt(783) + sqrt(128))^2 + 2.0234 (sqrt(783) + sqrt(128)) (783^-1/2 + 128^-1/2)^(1/3)
  local a = math.sqrt(783) + math.sqrt(128)
  T.near(P.spike_edge(784, 128, 1), a * a + 2.0234 * a * (1 / math.sqrt(783)
    + 1 / math.sqrt(128)) ^ (1 / 3), 1e-9)
  T.near(P.spike_edge(128, 784, 2), P.spike_edge(784, 128, 2), 1e-12, "either orientation")
  T.ok(P.spike_edge(784, 128, 1) > P.mp(784, 128, 1).hi)
end)

T.test("powerlaw: Pareto samples with alpha = 3 are recovered within 2 sigma", function()
  -- 20 draws of 1,000: the mean alpha within 2 standard errors of 3 (the
  -- fit is unbiased), and no draw further than 3.5 of its own sigma
  wb.seed(11)
  local sum, se, draws = 0, 0, 20
  for _ = 1, draws do
    local u = wb.rand(1000):totable()
    local x = {}
    -- inverse CDF: P(X > x) = x^(1 - alpha) for x >= 1, density ~ x^-alpha
    for i = 1, #u do x[i] = u[i] ^ (-1 / 2) end
    local f = P.powerlaw(x)
    T.ok(math.abs(f.alpha - 3) <= 3.5 * f.sigma, string.format("alpha %.3f +- %.3f",
      f.alpha, f.sigma))
    sum, se = sum + f.alpha, se + f.sigma
  end
  local mean, sem = sum / draws, se / draws / math.sqrt(draws)
  T.ok(math.abs(mean - 3) <= 2 * sem, string.format("mean alpha %.4f +- %.4f", mean, sem))
end)

T.test("powerlaw: Clauset's choice equals a brute-force search on fixed numbers",
    function()
  local x = {}
  for i = 1, 60 do x[i] = 1 + (i % 7) * 0.3 + (i / 10) ^ 2.5 end
  local f = P.powerlaw(x)
  -- brute force: every x_min leaving >= MIN_TAIL values, alpha by MLE, KS by
  -- the largest gap between the fitted CDF and the empirical one on either
  -- side of every tail point
  local s = {}
  for i, v in ipairs(x) do s[i] = v end
  table.sort(s)
  local bestD, bestA, bestX = math.huge, nil, nil
  for i = 1, #s - P.MIN_TAIL + 1 do
    local tail = {}
    for j = i, #s do tail[#tail + 1] = s[j] end
    local L = 0
    for _, v in ipairs(tail) do L = L + math.log(v / s[i]) end
    local a = 1 + #tail / L
    local D = 0
    for j, v in ipairs(tail) do
      local F = 1 - (v / s[i]) ^ (1 - a)
      D = math.max(D, math.abs(F - (j - 1) / #tail), math.abs(F - j / #tail))
    end
    if D < bestD then bestD, bestA, bestX = D, a, s[i] end
  end
  T.near(f.alpha, bestA, 1e-12)
  T.eq(f.xmin, bestX)
  T.near(f.D, bestD, 1e-12)
  local none, why = P.powerlaw{1, 2, 3}
  T.eq(none, nil)
  T.eq(why, "not fitted: 3 eigenvalues, fewer than 50")
end)

-- Found by mutation testing: a fit whose tail started inside a run of equal
-- values (leaving some values equal to x_min out of the tail) passed every
-- test, as no data had ties. Clauset's tail is every value >= x_min.
T.test("powerlaw: with ties, the tail is every value >= x_min and alpha its MLE", function()
  local s = 12345 -- a linear congruential generator: fixed numbers
  local function rnd() s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 end
  for trial = 1, 10 do
    -- Pareto samples (alpha 2.5) rounded to one decimal: many ties
    local x = {}
    for i = 1, 80 do x[i] = math.floor(10 * (1 - rnd()) ^ (-1 / 1.5) + 0.5) / 10 end
    local f = P.powerlaw(x)
    local k, L = 0, 0
    for _, v in ipairs(x) do
      if v >= f.xmin then k, L = k + 1, L + math.log(v / f.xmin) end
    end
    T.eq(f.k, k, "trial " .. trial .. ": the tail's size")
    T.near(f.alpha, 1 + k / L, 1e-12, "trial " .. trial .. ": alpha")
  end
end)

T.done()
