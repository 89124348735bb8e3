-- wb/landscape.lua: looking at a loss surface through low-dimensional
-- cuts. Filter-normalised random directions (Li et al. 2018), 1-D and 2-D
-- slices of the loss around a point, linear interpolation between two
-- weight vectors with its barrier (Goodfellow et al. 2015; Frankle et al.
-- 2020), and the PCA of a training trajectory. It knows nothing of a study:
-- points are lists of tensors shaped like model:get_weights(), data is
-- what model:evaluate takes (a dataset, or {x = tensor, y = labels}).
-- This file: the directions (random, filter-normalised) and the PCA of a
-- trajectory; evaluating the loss at points (slices, interpolation and its
-- barrier) is wb/landscape_eval.lua, which adds its functions to the same
-- table.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"

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
local options = args.options

-- v: a list of tensors shaped like the list `like`, else an error naming both
-- (M._check_list)
local function check_list(fname, pos, v, like)
  args.check(fname, pos, v, "table", 4)
  if #v ~= #like then args.input_fail(string.format("%s: argument #%d: expected %d tensors "
    .. "(shaped like the weights), got %d", fname, pos, #like, #v), 4) end
  for i = 1, #like do
    args.check(fname .. ": tensor " .. i, pos, v[i], "wb.Tensor", 5)
    local a, b = like[i]:shape(), v[i]:shape()
    if table.concat(a, ",") ~= table.concat(b, ",") then
      args.input_fail(string.format("%s: argument #%d: tensor %d: expected [%s], got [%s]", fname,
        pos, i, table.concat(a, ", "), table.concat(b, ", ")), 4)
    end
    -- a NaN would surface as the walker's SGD step refusing a "gradient"
    args.check_finite(fname, "argument #" .. pos .. ": tensor " .. i, v[i], 4)
  end
end

M._check_list = check_list

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
        args.input_fail(string.format("filter_normalize: tensor %d has a zero column: no direction "
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
  local seed = opts.seed
  if seed ~= nil and math.type(seed) ~= "integer" and not (math.type(seed) == "float"
      and math.tointeger(seed)) then -- else wb.seed's error, from this file's line
    args.input_fail(string.format("direction: opts.seed: expected an integer, got %s",
      type(seed) == "number" and tostring(seed) or type(seed)), 2)
  end
  local state = wb.rng_state()
  wb.seed(math.tointeger(seed or 1))
  local raw = {}
  for i, w in ipairs(weights) do raw[i] = wb.randn(table.unpack(w:shape())) end
  wb.set_rng_state(state)
  if opts.normalize == false then return raw end
  return M.filter_normalize(raw, weights, {bias = opts.bias})
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
---At least k + 2 points (4 for the default k = 2: n centred differences
---span at most n - 2 directions); a trajectory that does not move, or
---spans fewer than k directions, raises.
---@param points table
---@param opts? table
---@return table
---Example: local tr = wb.landscape.trajectory(snaps); print(tr.explained[1] + tr.explained[2])
function M.trajectory(points, opts)
  args.check("trajectory", 1, points, "table")
  opts = options("trajectory", 2, opts, {"k"})
  local n, k = #points, opts.k or 2
  k = math.type(k) == "float" and math.tointeger(k) or k -- 2.0 is 2, as for a C count
  if math.type(k) ~= "integer" or k < 1 then
    args.input_fail(string.format("trajectory: k: expected an integer >= 1, got %s", tostring(k)),
      2)
  end
  -- n points give n - 1 differences from the last, and centred they span at
  -- most n - 2 directions: with 3 points the second "direction" was the
  -- rounding's (explained 3e-11, then inf / NaN in float32 on Fashion)
  if n < k + 2 then
    args.input_fail(string.format("trajectory: %d direction%s need%s at least %d points (the "
      .. "centred differences of n points span at most n - 2 directions), got %d", k,
      k == 1 and "" or "s", k == 1 and "s" or "", k + 2, n), 2)
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
  if not (total > 0) then args.input_fail("trajectory: the points do not move", 2) end
  local out = {explained = {}, dirs = {}, x = {}, y = {}, origin = last}
  for r, v in ipairs(values) do out.explained[r] = math.max(v, 0) / total end
  for r = 1, k do
    -- a direction of no variance (the points lie on a line, or fewer
    -- dimensions than k) is rounding, not the trajectory's: refused. Float
    -- weights' rounding left 3e-11 of the variance on such an axis; 1e-8
    -- is far above it and far below any plane worth drawing
    if not (values[r] > 1e-8 * values[1]) then
      args.input_fail(string.format("trajectory: the points span fewer than %d directions "
        .. "(direction %d explains %.3g of the variance)", k, r, out.explained[r]), 2)
    end
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

-- slice, interpolate, barrier
require "wb.landscape_eval"

return M
