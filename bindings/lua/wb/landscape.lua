-- wb/landscape.lua: looking at a loss surface through low-dimensional
-- cuts. Filter-normalised random directions (Li et al. 2018), 1-D and 2-D
-- slices of the loss around a point, linear interpolation between two
-- weight vectors with its barrier (Goodfellow et al. 2015; Frankle et al.
-- 2020), and the PCA of a training trajectory. It knows nothing of a study:
-- points are lists of tensors shaped like model:get_weights(), data is
-- what model:evaluate takes (a dataset, or {x = tensor, y = labels}).
-- Weights move in place by SGD steps (p <- p - lr g): tensor arithmetic
-- allocates per operation, costlier than a forward pass at this size.
local wb = require "wb"
local args = require "wb.args"
local hessian = require "wb.hessian"

---wb.landscape
---Cuts through a loss surface: filter-normalised random directions (Li et
---al. 2018), 1-D and 2-D slices around a point, linear interpolation between
---two points with its barrier (Frankle et al. 2020), and the principal
---directions of a training trajectory. Points and directions are lists of
---tensors shaped like model:get_weights(); each evaluated point costs one
---forward pass over the data (results count them: passes).
---Example: local s = wb.landscape.slice(m, ds, {dirs = {wb.landscape.direction(m:get_weights())}})
local M = {}
wb.landscape = M

-- {==================== vectors ====================

-- opts checked: a table or nil, with only the keys of valid (a sorted list)
local function options(fname, pos, opts, valid)
  args.opt(fname, pos, opts, "table", 4)
  for k in pairs(opts or {}) do
    local ok = false
    for _, v in ipairs(valid) do ok = ok or k == v end
    if not ok then
      error(string.format("%s: unknown option '%s' (valid keys: %s)", fname, tostring(k),
        table.concat(valid, ", ")), 3)
    end
  end
  return opts or {}
end

-- v: a list of tensors shaped like the list `like`, else an error naming both
local function check_list(fname, pos, v, like)
  args.check(fname, pos, v, "table", 4)
  if #v ~= #like then error(string.format("%s: argument #%d: expected %d tensors "
    .. "(shaped like the weights), got %d", fname, pos, #like, #v), 4) end
  for i = 1, #like do
    args.check(fname .. ": tensor " .. i, pos, v[i], "wb.Tensor", 5)
    local a, b = like[i]:shape(), v[i]:shape()
    if table.concat(a, ",") ~= table.concat(b, ",") then
      error(string.format("%s: argument #%d: tensor %d: expected [%s], got [%s]", fname,
        pos, i, table.concat(a, ", "), table.concat(b, ", ")), 4)
    end
    -- a NaN would surface as the walker's SGD step refusing a "gradient"
    args.check_finite(fname, "argument #" .. pos .. ": tensor " .. i, v[i], 4)
  end
end

-- <a, b> for two lists of tensors of equal shapes (sums in double)
local function dot(a, b)
  local s = 0
  for i = 1, #a do s = s + (a[i] * b[i]):sum() end
  return s
end

---wb.landscape.filter_normalize(dir, weights, opts) -> table
---A new direction: dir rescaled filter by filter to the norms of weights
---(Li et al. 2018). A 2-D tensor is a Dense kernel [n_in, n_out]: each
---column (the incoming weights of one unit, a row of PyTorch's [out, in])
---is scaled to the norm of the same column of weights. A 1-D tensor (a
---bias) gets a zero direction, as in Li et al.'s default, unless
---opts.bias = true, which scales it as a whole to the bias's norm.
---Example: local d = wb.landscape.filter_normalize(raw, m:get_weights())
function M.filter_normalize(dir, weights, opts)
  args.check("filter_normalize", 2, weights, "table")
  check_list("filter_normalize", 1, dir, weights)
  opts = options("filter_normalize", 3, opts, {"bias"})
  local out = {}
  for i, d in ipairs(dir) do
    local sh = d:shape()
    if #sh == 2 then
      -- column norms as [1, n_out]: ones[1, n_in] x (d .* d)
      local ones = wb.ones(1, sh[1])
      local dn = wb.matmul(ones, d * d):sqrt()
      local wn = wb.matmul(ones, weights[i] * weights[i]):sqrt()
      if dn:min() == 0 then
        error(string.format("filter_normalize: tensor %d has a zero column: no direction "
          .. "to rescale", i), 2)
      end
      out[i] = d * (wn / dn)
    elseif opts.bias and d:norm() > 0 then
      out[i] = d * (weights[i]:norm() / d:norm())
    else
      out[i] = d * 0
    end
  end
  return out
end

---wb.landscape.direction(weights, opts) -> table
---A random Gaussian direction shaped like weights, filter-normalised to
---them (wb.landscape.filter_normalize; opts.normalize = false keeps it
---raw). opts.seed (1) seeds it; the global generator is left as it was.
---opts.bias is passed to filter_normalize.
---@param weights wb.Tensor[]
---@param opts? table
---@return wb.Tensor[]
---Example: local d1 = wb.landscape.direction(m:get_weights(), {seed = 1})
function M.direction(weights, opts)
  args.check("direction", 1, weights, "table")
  opts = options("direction", 2, opts, {"bias", "normalize", "seed"})
  check_list("direction", 1, weights, weights)
  local state = wb.rng_state()
  wb.seed(opts.seed or 1)
  local raw = {}
  for i, w in ipairs(weights) do raw[i] = wb.randn(table.unpack(w:shape())) end
  wb.set_rng_state(state)
  if opts.normalize == false then return raw end
  return M.filter_normalize(raw, weights, {bias = opts.bias})
end

-- }====================

-- {==================== evaluating points ====================

-- A walker moves the model's parameters to origin + sum_k c_k dir_k in
-- place: copy, then one SGD step per non-zero coordinate with lr = |c_k|
-- and gradient -dir_k (c_k > 0) or dir_k (c_k < 0). It evaluates there,
-- counts the passes and puts the saved weights back when done.
local function walker(fname, model, data, origin, dirs, loss)
  args.check(fname, 1, model, "wb.Sequential", 4)
  args.check(fname, 2, data, "wb.Dataset|table", 4)
  local ps = model:parameters()
  check_list(fname, 3, origin, ps)
  local neg = {}
  for k, d in ipairs(dirs) do
    check_list(fname .. ": direction " .. k, 3, d, ps)
    neg[k] = {}
    for i = 1, #d do neg[k][i] = -d[i] end
  end
  local w = {model = model, ps = ps, saved = model:get_weights(), passes = 0}
  local sgd = wb.optim.new("sgd", {lr = 0})
  local x, y = data, nil
  if args.typename(data) ~= "wb.Dataset" then x, y = data.x, data.y end
  local eval_opts = {loss = loss}
  function w.at(coords)
    for i = 1, #ps do ps[i]:copy(origin[i]) end
    for k, c in ipairs(coords) do
      if c ~= 0 then
        sgd.lr = math.abs(c)
        sgd:step(ps, c > 0 and neg[k] or dirs[k])
      end
    end
    return w.eval()
  end
  function w.eval()
    w.passes = w.passes + 1
    local r = y and model:evaluate(x, y, eval_opts) or model:evaluate(x, eval_opts)
    return r.loss, r.accuracy
  end
  function w.run(f) -- f(), then the saved weights back, also on error
    local ok, err = pcall(f)
    model:set_weights(w.saved)
    if not ok then error(err, 0) end
  end
  return w
end

local function axis(fname, range, points)
  range = range or {-1, 1}
  if type(range) ~= "table" or type(range[1]) ~= "number" or type(range[2]) ~= "number"
      or not (range[1] < range[2]) then
    error(fname .. ": range: expected {lo, hi} with lo < hi", 3)
  end
  if math.type(points) ~= "integer" or points < 2 then
    error(fname .. ": points: expected an integer >= 2, got " .. tostring(points), 3)
  end
  local xs = {}
  for i = 1, points do
    xs[i] = range[1] + (range[2] - range[1]) * (i - 1) / (points - 1)
    if math.abs(xs[i]) < 1e-12 * (range[2] - range[1]) then xs[i] = 0 end
  end
  return xs
end

---wb.landscape.slice(model, data, opts) -> table
---The loss and accuracy of model on data at origin + a d1 (1-D, one
---direction) or origin + a d1 + b d2 (2-D, two), on a grid of `points`
---values per axis spaced evenly over range. opts: dirs ({d1} or {d1, d2},
---required), origin (default: the model's weights), range ({-1, 1}),
---yrange (the second axis's, default range), points (21), loss (evaluate's
---loss option). The grid includes 0 when the range does, where the
---weights are exactly origin. Returns {x, loss, accuracy} (1-D: lists),
---or {x, y, loss, accuracy} (2-D: loss[j][i] at (x[i], y[j])), and passes
---(points evaluated). The model's weights are restored afterwards.
---@param model wb.Sequential
---@param data wb.Dataset|table
---@param opts table
---@return table
---Example: local s = wb.landscape.slice(m, ds, {dirs = {d1, d2}, points = 11})
function M.slice(model, data, opts)
  args.check("slice", 1, model, "wb.Sequential") -- before its weights are read
  args.check("slice", 3, opts, "table")
  options("slice", 3, opts, {"dirs", "loss", "origin", "points", "range", "yrange"})
  local dirs = opts.dirs
  if type(dirs) ~= "table" or (#dirs ~= 1 and #dirs ~= 2) then
    error("slice: dirs: expected a list of one or two directions", 2)
  end
  local origin = opts.origin or model:get_weights()
  local w = walker("slice", model, data, origin, dirs, opts.loss)
  local xs = axis("slice", opts.range, opts.points or 21)
  local out = {x = xs, loss = {}, accuracy = {}}
  w.run(function()
    if #dirs == 1 then
      for i, a in ipairs(xs) do out.loss[i], out.accuracy[i] = w.at{a} end
    else
      out.y = axis("slice", opts.yrange or opts.range, opts.points or 21)
      for j, b in ipairs(out.y) do
        out.loss[j], out.accuracy[j] = {}, {}
        for i, a in ipairs(xs) do out.loss[j][i], out.accuracy[j][i] = w.at{a, b} end
      end
    end
  end)
  out.passes = w.passes
  return out
end

---wb.landscape.interpolate(model, data, from, to, opts) -> table
---Loss and accuracy along the line (1 - t) from + t to at `points` values
---of t spaced evenly over range ({0, 1}: from one end to the other;
---{-0.5, 1.5} also looks beyond). At t = 0 and t = 1 the weights are
---exactly from and to. opts: points (21), range, loss. Returns {t, loss,
---accuracy, passes}; the model's weights are restored afterwards.
---Example: local c = wb.landscape.interpolate(m, ds, w_init, w_final)
function M.interpolate(model, data, from, to, opts)
  opts = options("interpolate", 5, opts, {"loss", "points", "range"})
  args.check("interpolate", 1, model, "wb.Sequential")
  check_list("interpolate", 4, to, model:parameters())
  check_list("interpolate", 3, from, model:parameters())
  local delta = {}
  for i = 1, #from do delta[i] = to[i] - from[i] end
  local w = walker("interpolate", model, data, from, {delta}, opts.loss)
  local ts = axis("interpolate", opts.range or {0, 1}, opts.points or 21)
  local out = {t = ts, loss = {}, accuracy = {}}
  w.run(function()
    for i, t in ipairs(ts) do
      if t == 1 then
        model:set_weights(to)
        out.loss[i], out.accuracy[i] = w.eval()
      else
        out.loss[i], out.accuracy[i] = w.at{t}
      end
    end
  end)
  out.passes = w.passes
  return out
end

---wb.landscape.barrier(curve) -> table
---The barrier of an interpolation (wb.landscape.interpolate with t = 0
---and t = 1 among its points), as Frankle et al. 2020 define it: the
---largest value along the path minus the mean of the two ends'. Returns
---{error, loss} (error = 1 - accuracy) and error_at, loss_at (the t of the
---maximum), ends = {error0, error1}.
---@param curve table
---@return table
---Example: print(wb.landscape.barrier(c).error)
function M.barrier(curve)
  args.check("barrier", 1, curve, "table")
  local i0, i1
  for i, t in ipairs(curve.t or {}) do
    if t == 0 then i0 = i elseif t == 1 then i1 = i end
  end
  if not (i0 and i1) then error("barrier: the curve has no point at t = 0 and t = 1", 2) end
  local out = {ends = {1 - curve.accuracy[i0], 1 - curve.accuracy[i1]}}
  local e_mid = (out.ends[1] + out.ends[2]) / 2
  local l_mid = (curve.loss[i0] + curve.loss[i1]) / 2
  local emax, lmax = -math.huge, -math.huge
  for i, t in ipairs(curve.t) do
    if t >= 0 and t <= 1 then
      local e = 1 - curve.accuracy[i]
      if e > emax then emax, out.error_at = e, t end
      if curve.loss[i] > lmax then lmax, out.loss_at = curve.loss[i], t end
    end
  end
  out.error, out.loss = emax - e_mid, lmax - l_mid
  return out
end

-- }====================

-- {==================== trajectories ====================

-- Eigenvalues and eigenvectors of a small symmetric matrix (rows of
-- numbers) by cyclic Jacobi rotations (Golub and Van Loan 8.5), largest
-- first: values, vectors[k][i].
local function eigh(A0)
  local n = #A0
  local A, V = {}, {}
  for i = 1, n do
    A[i], V[i] = {}, {}
    for j = 1, n do A[i][j], V[i][j] = A0[i][j], i == j and 1 or 0 end
  end
  for _ = 1, 100 do
    local off = 0
    for i = 1, n - 1 do for j = i + 1, n do off = off + A[i][j] ^ 2 end end
    if off < 1e-30 then break end
    for p = 1, n - 1 do
      for q = p + 1, n do
        if A[p][q] ~= 0 then
          local theta = (A[q][q] - A[p][p]) / (2 * A[p][q])
          local t = (theta >= 0 and 1 or -1) / (math.abs(theta) + math.sqrt(theta ^ 2 + 1))
          local c = 1 / math.sqrt(t * t + 1)
          local s = t * c
          for k = 1, n do
            A[k][p], A[k][q] = c * A[k][p] - s * A[k][q], s * A[k][p] + c * A[k][q]
          end
          for k = 1, n do
            A[p][k], A[q][k] = c * A[p][k] - s * A[q][k], s * A[p][k] + c * A[q][k]
            V[k][p], V[k][q] = c * V[k][p] - s * V[k][q], s * V[k][p] + c * V[k][q]
          end
        end
      end
    end
  end
  local order = {}
  for i = 1, n do order[i] = i end
  table.sort(order, function(a, b) return A[a][a] > A[b][b] end)
  local values, vectors = {}, {}
  for r, i in ipairs(order) do
    values[r], vectors[r] = A[i][i], {}
    for k = 1, n do vectors[r][k] = V[k][i] end
  end
  return values, vectors
end

---wb.landscape.trajectory(points, opts) -> table
---The principal directions of a trajectory (Li et al. 2018, section 7):
---points (lists of tensors, e.g. per-epoch weights) minus the last one,
---centred, and their PCA through the points x points Gram matrix. Returns
---dirs (opts.k unit directions, default 2, each a list of tensors), x and
---y (each point's coordinates along dirs[1] and dirs[2], relative to the
---last point, which is at 0, 0), explained (the fraction of the variance
---along each direction, all n - 1 of them) and origin (the last point).
---At least 3 points; a trajectory that does not move raises.
---@param points table
---@param opts? table
---@return table
---Example: local tr = wb.landscape.trajectory(snaps); print(tr.explained[1] + tr.explained[2])
function M.trajectory(points, opts)
  args.check("trajectory", 1, points, "table")
  opts = options("trajectory", 2, opts, {"k"})
  local n, k = #points, opts.k or 2
  if n < 3 then error("trajectory: expected at least 3 points, got " .. n, 2) end
  if math.type(k) ~= "integer" or k < 1 or k > n - 1 then
    error(string.format("trajectory: k: expected an integer in 1..%d, got %s", n - 1,
      tostring(k)), 2)
  end
  local last = points[n]
  local D, C, mean, G = {}, {}, {}, {}
  for p = 1, n - 1 do
    check_list("trajectory: point " .. p, 1, points[p], last)
    D[p] = {}
    for i = 1, #last do D[p][i] = points[p][i] - last[i] end
  end
  for i = 1, #last do
    mean[i] = D[1][i] / (n - 1)
    for p = 2, n - 1 do mean[i] = mean[i] + D[p][i] / (n - 1) end
  end
  for p = 1, n - 1 do
    C[p] = {}
    for i = 1, #last do C[p][i] = D[p][i] - mean[i] end
  end
  for p = 1, n - 1 do
    G[p] = {}
    for q = 1, p do G[p][q] = dot(C[p], C[q]); G[q][p] = G[p][q] end
  end
  local values, vectors = eigh(G)
  local total = 0
  for _, v in ipairs(values) do total = total + math.max(v, 0) end
  if not (total > 0) then error("trajectory: the points do not move", 2) end
  local out = {explained = {}, dirs = {}, x = {}, y = {}, origin = last}
  for r, v in ipairs(values) do out.explained[r] = math.max(v, 0) / total end
  for r = 1, k do
    -- u_r = sum_p c_p C_p / sqrt(lambda_r): unit length since c is a unit eigenvector
    local u = {}
    local s = 1 / math.sqrt(math.max(values[r], 1e-300))
    for i = 1, #last do
      local acc = C[1][i] * (vectors[r][1] * s)
      for p = 2, n - 1 do acc = acc + C[p][i] * (vectors[r][p] * s) end
      u[i] = acc
    end
    out.dirs[r] = u
  end
  local coords = {out.x, out.y}
  for r = 1, math.min(k, 2) do
    for p = 1, n - 1 do coords[r][p] = dot(D[p], out.dirs[r]) end
    coords[r][n] = 0
  end
  return out
end

-- }====================

return M
