-- scripts/study/landscape.lua (`local LS = require "study.landscape"`): the
-- loss landscape of the study's baseline (task 15), measured once in the
-- run's measure hook so that a cached report only draws: filter-normalised
-- slices around the trained weights, slices along the top Hessian
-- eigenvectors, interpolation from the initialisation to the solution
-- (Goodfellow et al. 2015) and between two solutions from the same
-- initialisation (Frankle et al. 2020), and the trajectory's principal
-- plane (Li et al. 2018). The generic pieces are wb.landscape's.
--
-- The baseline's training is adopted from task 1 (equal training identity:
-- same config, same callbacks hook), so its initial weights were never
-- saved: initial_model rebuilds them from the seed, as the runner built
-- them (tests/lua/test_landscape.lua checks they are equal). The second
-- solution is trained here, from those weights, with another data order.

local M = {}
-- The constants (also M's: LS.ROWS ...). The measure hook reaches only
-- locals, so the run's identity covers them and the hook's helpers, not
-- the reporting helpers below it: editing those re-measures nothing.
local C = {}

-- Every slice point is evaluated on the first ROWS training images and the
-- interpolations also on the first TEST_ROWS test images (Frankle et al.
-- measure the barrier in test error). One evaluation = one forward pass
-- over those rows.
C.ROWS, C.TEST_ROWS = 2000, 2000
C.GRID = 21 -- 2-D slices: GRID x GRID points
C.LINE = 41 -- 1-D slices
C.PATH = 21 -- interpolations: t = 0, 0.05, ..., 1
-- A run on a subset (--quick) gets coarse grids on fewer rows: it checks
-- that everything runs, not what the landscape looks like.
C.QUICK = {ROWS = 500, TEST_ROWS = 500, GRID = 7, LINE = 11, PATH = 11}
-- The second solution's data order: fit's seed is the run's + ORDER_SEED
-- (its initial weights are the run's own).
C.ORDER_SEED = 1000
-- Along the Hessian's eigenvectors the slice spans |a| <= sqrt(2 RISE /
-- lambda_1): where the quadratic 1/2 lambda_1 a^2 predicts a rise of RISE.
C.RISE = 0.5
-- The heavy measurements are made for this seed only; other seeds adopt
-- the baseline and measure nothing.
C.SEED = 1

local OPT_KEYS = {"lr", "momentum", "nesterov", "beta1", "beta2", "eps", "weight_decay",
  "rho"}

---LS.initial_model(cfg, n_in, n_out) -> wb.Sequential
---The default MLP of a run's config at its initial weights: wb.seed(cfg.seed)
---then the layers in the order the runner builds them (one hidden layer,
---no dropout: the baseline's shape; anything else raises).
---Example: local m0 = LS.initial_model(r.config, 784, 10)
local function initial_model(cfg, n_in, n_out)
  -- a config read back from JSON may hold 128.0: an integral float counts
  if not math.tointeger(cfg.hidden) or (cfg.dropout or 0) ~= 0 then
    error("initial_model: expected one hidden layer and no dropout (the baseline)", 2)
  end
  local l2 = cfg.l2 ~= 0 and cfg.l2 or nil
  wb.seed(cfg.seed)
  return wb.nn.Sequential{
    wb.nn.Dense(n_in, cfg.hidden, {activation = cfg.activation, l2 = l2, init = cfg.init}),
    wb.nn.Dense(cfg.hidden, n_out, {activation = "softmax", l2 = l2, init = cfg.init})}
end

---LS.train_second(cfg, data) -> wb.Sequential, table, table
---The second solution: the run's config trained from its initial weights
---(LS.initial_model) with fit's seed cfg.seed + ORDER_SEED, so only the
---order of the batches differs. Returns the model, the weights before
---training and after every epoch (the trajectory), and fit's history.
---Example: local mb, snaps = LS.train_second(r.config, wb.data.for_config(r.config))
local function train_second(cfg, d)
  local m = initial_model(cfg, d.train:input_size(), 10)
  local o = {}
  for _, k in ipairs(OPT_KEYS) do o[k] = cfg[k] end
  local snaps = {m:get_weights()}
  local keep = {}
  function keep.on_epoch_end() snaps[#snaps + 1] = m:get_weights() end
  local fo = {epochs = cfg.epochs, batch_size = cfg.batch_size, verbose = false,
    optimizer = wb.optim.new(cfg.optimizer, o), seed = cfg.seed + C.ORDER_SEED,
    shuffle = cfg.shuffle, callbacks = {keep}, loss = cfg.loss}
  -- the same validation split: the same rows are trained on
  if cfg.validation == "test" then fo.validation = d.test
  elseif type(cfg.validation) == "number" then fo.validation_split = cfg.validation end
  local h = m:fit(d.train, fo)
  return m, snaps, h
end

-- JSON holds no inf or NaN: a diverging point is stored as 1e30
local function finite(t)
  for i, v in ipairs(t) do
    if type(v) == "table" then finite(v) elseif not (v < 1e30) then t[i] = 1e30 end
  end
  return t
end

local function curve(c, extra)
  local err = {}
  for i, a in ipairs(c.accuracy) do err[i] = 1 - a end
  local out = {t = c.t, loss = finite(c.loss), error = err, passes = c.passes}
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

---LS.rises(values) -> integer, number, integer|nil
---How often a list goes up from one entry to the next, the largest such
---rise, and the index of the first (nil when it never rises).
---Example: local n, top, first = LS.rises{3, 2, 2.5, 1}
local function rises(v)
  local n, top, first = 0, 0, nil
  for i = 2, #v do
    if v[i] > v[i - 1] then
      n, top, first = n + 1, math.max(top, v[i] - v[i - 1]), first or i
    end
  end
  return n, top, first
end

---LS.measure(model, cfg, data, history) -> table
---Task 15's measure hook; for seed LS.SEED only (others: {}): the
---slices, interpolations and trajectory (see the file's header), each with
---its cost in forward passes. Numbers at the top level become the run's
---metrics: error_barrier (test), loss_barrier (train), init_path_rises,
---pca_explained_2, second_test_accuracy, measure_passes. A training of one
---epoch or two has no trajectory plane: traj_missing says so instead of traj.
---Example: experiment = S.experiment{callbacks = S.track, measure = LS.measure, ...}
local function measure(model, cfg, d)
  if cfg.seed ~= C.SEED then return {} end
  local L, Z = wb.landscape, cfg.subset and C.QUICK or C
  local sub = d.train:subset(1, math.min(Z.ROWS, #d.train))
  local tsub = d.test:subset(1, math.min(Z.TEST_ROWS, #d.test))
  local wa = model:get_weights()
  local out = {rows = #sub, test_rows = #tsub, path_points = Z.PATH}
  local centre = model:evaluate(sub)
  out.centre_loss, out.centre_error = centre.loss, 1 - centre.accuracy
  -- filter-normalised random directions (Li et al.), seeds 1 and 2
  local d1, d2 = L.direction(wa, {seed = 1}), L.direction(wa, {seed = 2})
  local s1 = L.slice(model, sub, {dirs = {d1}, points = Z.LINE})
  out.fn1 = {x = s1.x, loss = finite(s1.loss), passes = s1.passes}
  local s2 = L.slice(model, sub, {dirs = {d1, d2}, points = Z.GRID})
  out.fn2 = {x = s2.x, y = s2.y, loss = finite(s2.loss), passes = s2.passes}
  -- the top two Hessian eigenvectors (Lanczos on the same rows)
  local e = wb.hessian.eigs(model, sub, {k = 2, tol = 1e-3})
  local amax = math.sqrt(2 * C.RISE / e.values[1])
  out.eig = {values = e.values, hvps = e.hvps, passes = 0}
  for k = 1, 2 do
    local s = L.slice(model, sub, {dirs = {e.vectors[k]}, points = Z.LINE,
      range = {-amax, amax}})
    out.eig["x"], out.eig["loss" .. k] = s.x, finite(s.loss)
    out.eig.passes = out.eig.passes + s.passes
  end
  -- the second solution, and the straight paths
  local t0 = wb.sys.time()
  local mb, snaps = train_second(cfg, d)
  out.second_seconds = wb.sys.time() - t0
  out.second_test_accuracy = mb:evaluate(d.test).accuracy
  local w0, wb_ = snaps[1], snaps[#snaps]
  local paths = {}
  for _, p in ipairs{{"init_a", w0, wa}, {"init_b", w0, wb_}, {"a_b", wa, wb_}} do
    local tr = L.interpolate(model, sub, p[2], p[3], {points = Z.PATH})
    local te = L.interpolate(model, tsub, p[2], p[3], {points = Z.PATH})
    local bt, be = L.barrier(tr), L.barrier(te)
    paths[p[1]] = {train = curve(tr, {barrier = bt}), test = curve(te, {barrier = be})}
  end
  out.paths = paths
  out.error_barrier = paths.a_b.test.barrier.error
  out.error_barrier_train = paths.a_b.train.barrier.error
  out.loss_barrier = paths.a_b.train.barrier.loss
  out.init_path_rises, out.init_path_max_rise = rises(paths.init_a.train.loss)
  out.measure_passes = 1 + out.fn1.passes + out.fn2.passes + out.eig.passes + 6 * Z.PATH
  -- the second run's trajectory in its principal plane: a plane needs four
  -- snapshots (the initialisation and three epochs: centred, n snapshots'
  -- differences from the last span n - 2 directions); fewer, and it is said
  -- why (with 3 the plane's second axis was rounding: NaN on Fashion)
  if #snaps < 4 then
    out.traj_missing = string.format("the trajectory's principal plane needs at least 4 "
      .. "snapshots (the initialisation and 3 epochs); this training ran %d epoch%s",
      #snaps - 1, #snaps == 2 and "" or "s")
    return out
  end
  local ok, tr = pcall(L.trajectory, snaps)
  if not ok then -- a trajectory along a line has no plane
    out.traj_missing = "the trajectory has no principal plane: "
      .. tostring(tr):gsub("^.-trajectory: ", "")
    return out
  end
  local function span(v)
    local lo, hi = math.min(table.unpack(v)), math.max(table.unpack(v))
    local m = 0.25 * math.max(hi - lo, 1e-6)
    return {lo - m, hi + m}
  end
  local s = L.slice(model, sub, {dirs = tr.dirs, origin = tr.origin, points = Z.GRID,
    range = span(tr.x), yrange = span(tr.y)})
  local along = {}
  for i, w in ipairs(snaps) do
    model:set_weights(w)
    along[i] = model:evaluate(sub).loss
  end
  model:set_weights(wa)
  out.traj = {x = tr.x, y = tr.y, explained = tr.explained, loss = finite(along),
    grid = {x = s.x, y = s.y, loss = finite(s.loss)}, passes = s.passes + #snaps}
  out.pca_explained_2 = tr.explained[1] + (tr.explained[2] or 0)
  out.measure_passes = out.measure_passes + out.traj.passes
  return out
end

M.initial_model, M.train_second, M.measure, M.rises = initial_model, train_second, measure,
  rises
for k, v in pairs(C) do M[k] = v end

-- {==================== reading the measures (report only) ====================

---LS.curvature(measures) -> table
---The eigenvector slices against the quadratic 1/2 lambda_k a^2, each side
---on its own: the mean of L(a) and L(-a) hides a first-order term (a
---slope: the centre is no stationary point along v_k). For k = 1, 2,
---dirs[k] = {lambda, near, far, lowest}: near and far at |a| = a_near
---(about a quarter of the range) and a_far (the ends), each {plus, minus
---(the measured over the predicted rise at +a and at -a), even ((L(a) +
---L(-a)) / 2 - L0), odd ((L(a) - L(-a)) / 2: the first-order part), both
---over the predicted rise, holds (both sides within 20 %)}; lowest: the
---slice's lowest point {a, loss} when it is below the centre's loss (the
---centre is then not a minimum along v_k), else nil. reads(ratio) says
---"holds" (within 20 %), "underestimates the rise" or "overestimates the
---rise".
---Example: local c = LS.curvature(r.measures); print(c.dirs[1].near.minus)
function M.curvature(m)
  local e = m.eig
  local n = #e.x
  local qi = math.floor(3 * n / 8) + 1
  local function reads(r)
    return r > 1.2 and "underestimates the rise" or r < 0.8 and "overestimates the rise"
      or "holds"
  end
  -- e.x runs from -a to +a: index i is -|a|, n + 1 - i is +|a|
  local function at(l, k, i)
    local pred = 0.5 * e.values[k] * e.x[i] * e.x[i]
    local plus, minus = l[n + 1 - i] - m.centre_loss, l[i] - m.centre_loss
    local out = {plus = plus / pred, minus = minus / pred, even = (plus + minus) / 2 / pred,
      odd = (plus - minus) / 2 / pred}
    out.holds = reads(out.plus) == "holds" and reads(out.minus) == "holds"
    return out
  end
  local dirs = {}
  for k = 1, 2 do
    local l = e["loss" .. k]
    local d = {lambda = e.values[k], near = at(l, k, qi), far = at(l, k, 1)}
    for i, v in ipairs(l) do
      if v < m.centre_loss and (not d.lowest or v < d.lowest.loss) then
        d.lowest = {a = e.x[i], loss = v}
      end
    end
    dirs[k] = d
  end
  return {a_near = math.abs(e.x[qi]), a_far = math.abs(e.x[1]), dirs = dirs, reads = reads}
end

-- How the quadratic reads at one distance (c.dirs[k][which], |a| = a) over
-- both directions: one phrase when all four sides read alike, else each
-- direction's sides (it "holds" only where it holds on that side).
local function verdict(c, which, where, a)
  local r, same = {}, true
  for k = 1, 2 do
    local s = c.dirs[k][which]
    r[k] = {c.reads(s.plus), c.reads(s.minus)}
    same = same and r[k][1] == r[1][1] and r[k][2] == r[1][1]
  end
  local head = string.format("%s (|a| = %.2g) the quadratic 1/2 lambda a^2 ", where, a)
  if same then return head .. r[1][1] .. " along both directions, on both sides" end
  local parts, some = {}, false
  for k = 1, 2 do
    some = some or c.dirs[k][which].holds or r[k][1] == "holds" or r[k][2] == "holds"
    parts[k] = r[k][1] == r[k][2] and string.format("along v%d it %s on both sides", k,
      r[k][1]) or string.format("along v%d it %s at +a and %s at -a", k, r[k][1], r[k][2])
  end
  return head .. (some and "holds only on some sides: " or "does not hold: ")
    .. table.concat(parts, "; ")
end

---LS.curvature_text(measures) -> string
---Task 15's curvature finding from LS.curvature: per direction and side
---the measured over the predicted rise, the even and the odd part; where
---the centre is not a minimum along a direction (the loss falls on one
---side), said plainly; the quadratic's reading near the solution and at
---the ends (LS.curvature's 20 %), over both directions and sides.
---Example: task:text(LS.curvature_text(r.measures))
function M.curvature_text(m)
  local c = M.curvature(m)
  local function dist(s, a)
    return string.format("at |a| = %.2g: %.2f at +a, %.2f at -a (even part %.2f, odd %+.2f)",
      a, s.plus, s.minus, s.even, s.odd)
  end
  local per, mins = {}, {}
  for k, d in ipairs(c.dirs) do
    per[k] = string.format("v%d (lambda = %.3g) %s; %s", k, d.lambda, dist(d.near, c.a_near),
      dist(d.far, c.a_far))
    if d.lowest then
      mins[#mins + 1] = string.format("along v%d the centre is not a minimum: the loss falls "
        .. "below the centre's %.3g on the %s side, to %.3g at a = %.2g", k, m.centre_loss,
        d.lowest.a < 0 and "-" or "+", d.lowest.loss, d.lowest.a)
    else
      mins[#mins + 1] = string.format("along v%d no point of the slice lies below the "
        .. "centre", k)
    end
  end
  return string.format("- Curvature: the Hessian's top eigenvalues on these rows are %.3g "
    .. "and %.3g (the training loss there is %.3g). The measured over the predicted rise "
    .. "(1/2 lambda a^2), each side on its own (their mean hides a slope), with the even "
    .. "part ((L(a) + L(-a))/2 - L0) and the odd, first-order part ((L(a) - L(-a))/2), "
    .. "both over the predicted rise: %s. %s. %s. %s.", c.dirs[1].lambda, c.dirs[2].lambda,
    m.centre_loss, table.concat(per, "; "), (table.concat(mins, "; "):gsub("^%l",
    string.upper)), verdict(c, "near", "Near the solution", c.a_near),
    verdict(c, "far", "At the ends", c.a_far))
end

-- tick labels for a heatmap: every fifth value, the rest blank
local function ticks(v)
  local out = {}
  for i, x in ipairs(v) do out[i] = (i - 1) % 5 == 0 and string.format("%.2g", x) or "" end
  return out
end

---LS.heatmap(grid, title, xlabel, ylabel) -> wb.Plot
---A 2-D slice ({x, y, loss[j][i]}) as a heatmap of log10 loss, the largest
---y at the top, every fifth coordinate labelled.
---Example: task:figure("slices", LS.heatmap(r.measures.fn2, "loss", "a", "b"))
function M.heatmap(g, title, xlabel, ylabel)
  local z, yl = {}, {}
  for j = #g.y, 1, -1 do
    local row = {}
    for i, v in ipairs(g.loss[j]) do row[i] = math.log(v, 10) end
    z[#z + 1], yl[#yl + 1] = row, ticks(g.y)[j]
  end
  return wb.plot.heatmap{title = title, z = z, xlabels = ticks(g.x), ylabels = yl,
    xlabel = xlabel, ylabel = ylabel}
end

---LS.read(measures) -> table
---The two published checks: along init -> A (training rows) rises,
---top, first (LS.rises) and monotone (no rise: Goodfellow et al.); the
---test-error barrier A -> B (barrier: wb.landscape.barrier's) and stable
---(under 2 %, Frankle et al.'s threshold); verdict "agree" (both as
---published), "partly" (one) or "differ".
---Example: print(LS.read(r.measures).verdict)
function M.read(m)
  local ia = m.paths.init_a.train
  local out = {barrier = m.paths.a_b.test.barrier}
  out.rises, out.top, out.first = rises(ia.loss)
  out.monotone = out.rises == 0
  out.stable = out.barrier.error < 0.02
  out.verdict = (out.monotone and out.stable) and "agree"
    or (out.monotone or out.stable) and "partly" or "differ"
  return out
end

---LS.beyond(read, seed) -> table
---The report's "Beyond the study" row (beyond.json) from LS.read.
---Example: local row = LS.beyond(LS.read(r.measures), r.seed)
function M.beyond(rd, seed)
  return {experiment = "loss landscape: interpolation and barrier (Goodfellow et al. "
      .. "2015; Frankle et al. 2020)",
    ours = string.format("init -> solution loss %s; error barrier between two solutions "
      .. "from one init %.2f %% (test, seed %d)", rd.monotone and "monotone"
      or string.format("not monotone (%d rises)", rd.rises), 100 * rd.barrier.error, seed),
    published = "monotone decrease on MNIST MLPs (Goodfellow et al.); error barrier "
      .. "near 0 (stable: < 2 %) for LeNet-300-100 from step 0 (Frankle et al.)",
    source = "Goodfellow, Vinyals and Saxe, ICLR 2015; Frankle, Dziugaite, Roy and "
      .. "Carbin, ICML 2020",
    verdict = rd.verdict}
end

-- }====================

return M
