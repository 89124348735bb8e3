-- wb/hessian.lua: curvature of a model's loss, exactly, from Hessian-vector
-- products computed in C (core/hvp.c, forward-over-backward; the operator
-- is wb.hessian.Operator, bindings/l_hessian.c).
--
--   wb.hessian.hvp(model, data, v)      H v, a list shaped like get_weights()
--   wb.hessian.eigs(model, data, opts)  top eigenpairs (Lanczos)
--   wb.hessian.trace(model, data, opts) Hutchinson's trace estimate
--   wb.hessian.density(model, data, opts) spectral density (SLQ)
--   wb.hessian.full(model, data, opts)  the P x P matrix (small P: max_bytes)
--
-- H is the Hessian of the mean loss over data (a dataset, or {x = tensor, y
-- = labels}) plus the L2 penalty (opts.l2 = false: without it), at the
-- model's current weights, with Dropout off (as at inference). The loss is
-- the fused softmax cross-entropy of fit (the last layer a softmax or
-- linear Dense), or loss = "mse"; by default the one the model was trained
-- with (wb/hessian_ops.lua default_loss). Random probes and start vectors come
-- from the call's own generator (opts.seed, default 1; trace's and
-- density's: wb/hessian_probes.lua), never the global one: measuring
-- curvature during training leaves its shuffling and dropout as they were.
-- The options' checks and the operator are wb/hessian_ops.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
-- a mistake in the call: printed alone, at the caller's line, no traceback
local fail = args.input_fail
local probes_seed = require "wb.hessian_probes"

---wb.hessian
---Exact curvature of a model's loss: Hessian-vector products in C
---(Pearlmutter's R-operator through Dense, Activation, Flatten, Dropout, the
---fused softmax cross-entropy or mse, and L2; a last Activation("softmax")
---after a linear Dense is that fused head, under cross-entropy as in fit),
---and the instruments built on
---them: top eigenvalues (Lanczos), trace (Hutchinson), spectral density
---(stochastic Lanczos quadrature), the full matrix for small models. data
---is a dataset or {x = tensor, y = labels} (under mse, y may also be float
---targets [N, C]; class ids become one-hot rows, as in fit); x, y, the
---weights and vectors must be finite (an ENONFINITE error names the first
---NaN or infinity); every function also takes
---loss ("cross_entropy" or "mse"; default: the loss the model was trained
---with when it knows it (its last fit's, or config.loss for run:model()),
---else "cross_entropy" (a model built or wb.load-ed: say loss = "mse" for
---an mse model; evaluate's default is cross-entropy always); a model
---trained with another loss is refused without loss), precision ("float32" default,
---"float64"), max_rows (rows per chunk, default 4096; data that fits in
---one chunk has its forward pass computed once and reused by every product)
---and l2 (true, the default: the Hessian of the loss fit minimises, L2's
---2 l2 on the diagonal of each Dense's kernel included; false: of the data
---loss alone, as the same weights without L2 give it, e.g. to pair with
---the data loss's gradients of wb.measures.loss_and_grads).
---Example: print(wb.hessian.eigs(m, {x = x, y = y}, {k = 3}).values[1])
local M = wb.hessian or {}
wb.hessian = M

-- full's default limit on its matrix: 1e8 bytes, P <= 5,000 (4 P^2 bytes)
local FULL_MAX_BYTES = 100000000
local ops = require "wb.hessian_ops" -- the checks and the operator
local check_opts, check_model_data, operator, call = ops.check_opts, ops.check_model_data,
  ops.operator, ops.call
local check_vector, check_layer = ops.check_vector, ops.check_layer

---wb.hessian.hvp(model, data, v, opts) -> table
---H v for the Hessian H of the mean loss over data (L2 included unless
---l2 = false) at the model's weights: a list of float32 tensors shaped like
---model:get_weights(); v is such a list. Exact (forward-over-backward),
---computed in float32 with double sums, or in double with precision =
---"float64". opts: loss, precision, max_rows, l2 (see wb.hessian).
---@param model wb.Sequential
---@param data wb.Dataset|table
---@param v wb.Tensor[]
---@param opts? table
---@return wb.Tensor[]
---Example: local hv = wb.hessian.hvp(m, {x = x, y = y}, m:get_weights())
function M.hvp(model, data, v, opts)
  check_model_data("hvp", model, data)
  args.check("hvp", 3, v, "table")
  opts = check_opts("hvp", 4, opts, {})
  local op <close> = operator("hvp", model, data, opts)
  check_vector("hvp", "v", v)
  return call("hvp", op, "hvp", v)
end

---wb.hessian.hvps(model, data, vs, opts) -> table
---The same as wb.hessian.hvp for each vector of the list vs, through one
---operator (the forward pass over data is done once): {H vs[1], ...}.
---opts as wb.hessian.hvp's.
---@param model wb.Sequential
---@param data wb.Dataset|table
---@param vs wb.Tensor[][]
---@param opts? table
---@return wb.Tensor[][]
---Example: local hg = wb.hessian.hvps(m, {x = x, y = y}, {g1, g2})
function M.hvps(model, data, vs, opts)
  check_model_data("hvps", model, data)
  args.check("hvps", 3, vs, "table")
  opts = check_opts("hvps", 4, opts, {})
  local op <close> = operator("hvps", model, data, opts)
  local out = {}
  for i, v in ipairs(vs) do
    if type(v) == "table" then check_vector("hvps", "vs[" .. i .. "]", v) end
    out[i] = call("hvps", op, "hvp", v)
  end
  return out
end

local eigs_said = false -- eigs' warning, once a process

---wb.hessian.eigs(model, data, opts) -> table
---The k largest eigenvalues of the Hessian (algebraic, as Cockpit's eigsh
---"LA": not a negative one of larger magnitude), largest first, and their
---unit eigenvectors (lists shaped like get_weights()), by Lanczos with full
---reorthogonalisation: {values, vectors, hvps = products used, converged}.
---converged is false when max_iter products ran out before every pair met
---tol (a line on stderr says so, once a process): the values are then estimates, each at most the true
---one, the last ones furthest off (k = 40 on 2,048 MNIST rows needs more than
---the default 100: check converged, give a larger max_iter).
---opts: k (1), tol (1e-4: each Ritz pair's residual <= tol * |value|),
---max_iter (products at most: 100, or k when k is larger), v0 (a start vector, e.g. an earlier
---result's vectors[1]: warm start; no stop comes before k + 7 products, as a start
---near a lower eigenvector meets tol at once; where the Krylov space ends early, as
---for a repeated eigenvalue, a restart from a fixed direction adds k + 7; for k > 1 a
---second Lanczos run with the pairs found projected out checks for copies the first missed,
---about as many products again, within max_iter), layer (a Dense's position in the
---model: that layer's diagonal block only), loss, precision, max_rows,
---seed (the probes' own generator, 1).
---@param model wb.Sequential
---@param data wb.Dataset|table
---@param opts? table
---@return table
---Example: local e = wb.hessian.eigs(m, {x = x, y = y}, {k = 5}); print(e.values[1])
function M.eigs(model, data, opts)
  check_model_data("eigs", model, data)
  opts = check_opts("eigs", 3, opts, {k = "integer", tol = "number",
    max_iter = "integer", v0 = "table", layer = "integer", seed = "integer"})
  -- max_iter's default is 100 products, or k when more are asked for (a k
  -- the user gave is never blamed on a max_iter they did not)
  local k, tol = opts.k or 1, opts.tol or 1e-4
  local max_iter = opts.max_iter or math.max(100, k)
  if k < 1 then fail("eigs: k: expected >= 1, got " .. k, 2) end
  if not (tol > 0) then fail("eigs: tol: expected a number > 0, got " .. tol, 2) end
  local layer = check_layer("eigs", model, opts.layer)
  local op <close> = operator("eigs", model, data, opts)
  local P = layer and (model[layer].n_in + (model[layer].use_bias and 1 or 0))
    * model[layer].n_out or op:numel()
  if k > P then
    fail(string.format("eigs: k: expected at most %d (the %s), got %d", P, layer
      and "parameters of layer " .. layer or "model's parameters", k), 2)
  end
  if max_iter < k then
    fail(string.format("eigs: max_iter: expected >= k (%d), got %s", k, max_iter), 2)
  end
  if opts.v0 then
    local n = #model:parameters()
    if #opts.v0 ~= n then
      fail(string.format("eigs: v0: expected a list of %d tensors (shaped like the "
        .. "parameters), got a table of %d", n, #opts.v0), 2)
    end
    check_vector("eigs", "v0", opts.v0)
  end
  local values, vectors, converged = call("eigs", op, "eigs", k, tol,
    max_iter, opts.v0, layer)
  -- a script reading .values alone would not see it (audit Q8): said once
  -- a process, the result's converged says it every time
  if not converged and not eigs_said then
    eigs_said = true
    io.stderr:write(string.format("wb.hessian.eigs: not converged after %d products (k = %d, "
      .. "tol = %g): the values are estimates, the last ones too low; give a larger max_iter "
      .. "(the result's converged is false; said once)\n", max_iter, k, tol))
  end
  return {values = values, vectors = vectors, hvps = op:count(), converged = converged}
end

---wb.hessian.trace(model, data, opts) -> table
---Hutchinson's estimate of the Hessian's trace, the mean of z^T H z over
---Rademacher probes z: {mean, stderr (their spread / sqrt(probes)), hvps,
---seed (the probes': {seed = r.seed} draws them again)}. opts: probes
---(100), layer (a Dense's position: its block's trace), loss, precision,
---max_rows, seed (the probes' own generator; without it each call draws
---fresh probes, the k-th call on the same weights and data a seed hashed
---from them and k: repeated calls' errors are independent, a script's
---numbers the same at every run; a given seed draws the same probes always).
---@param model wb.Sequential
---@param data wb.Dataset|table
---@param opts? table
---@return table
---Example: local t = wb.hessian.trace(m, {x = x, y = y}, {probes = 200}); print(t.mean, t.stderr)
function M.trace(model, data, opts)
  check_model_data("trace", model, data)
  opts = check_opts("trace", 3, opts, {probes = "integer", layer = "integer",
    seed = "integer"})
  local probes = opts.probes or 100
  if probes < 2 then fail("trace: probes: expected >= 2, got " .. probes, 2) end
  local layer = check_layer("trace", model, opts.layer)
  local commit = nil
  if not opts.seed then opts.seed, commit = probes_seed.next_seed("trace", model, data) end
  local op <close> = operator("trace", model, data, opts)
  local mean, se = call("trace", op, "trace", probes, layer)
  if commit then commit() end
  return {mean = mean, stderr = se, hvps = op:count(), seed = opts.seed}
end

---wb.hessian.density(model, data, opts) -> table
---The Hessian's eigenvalue density by stochastic Lanczos quadrature
---(Ghorbani et al. 2019): per Gaussian probe, `steps` Lanczos steps give
---nodes (Ritz values) and weights summing to 1; the density is their
---average, each node smoothed by a Gaussian of width sigma. Returns {x, y}
---(grid points and density, integrating to about 1) and nodes, weights
---(per probe), hvps and seed (the probes': {seed = r.seed} draws them
---again). opts: steps (80), probes (5), grid (1000 points), sigma (default
---1% of the nodes' range), layer, loss, precision, max_rows, l2, seed (the
---probes' own generator; without it each call draws fresh probes, as
---wb.hessian.trace's: the k-th density call on the same weights and data a
---seed hashed from them and k, apart from trace's calls; a given seed draws
---the same probes always).
---@param model wb.Sequential
---@param data wb.Dataset|table
---@param opts? table
---@return table
---Example: local d = wb.hessian.density(m, {x = x, y = y}); print(#d.x, d.y[1])
function M.density(model, data, opts)
  check_model_data("density", model, data)
  opts = check_opts("density", 3, opts, {steps = "integer", probes = "integer",
    grid = "integer", sigma = "number", layer = "integer", seed = "integer"})
  local steps, probes, grid = opts.steps or 80, opts.probes or 5, opts.grid or 1000
  if steps < 1 or probes < 1 or grid < 2 then
    fail(string.format("density: expected steps >= 1, probes >= 1, grid >= 2, got %s, "
      .. "%s, %s", steps, probes, grid), 2)
  end
  if opts.sigma and not (opts.sigma > 0) then
    fail("density: sigma: expected a number > 0, got " .. opts.sigma, 2)
  end
  local layer = check_layer("density", model, opts.layer)
  local commit = nil
  if not opts.seed then opts.seed, commit = probes_seed.next_seed("density", model, data) end
  local op <close> = operator("density", model, data, opts)
  local nodes, weights = call("density", op, "slq", probes, steps, layer)
  if commit then commit() end
  local lo, hi = math.huge, -math.huge
  for _, row in ipairs(nodes) do
    for _, t in ipairs(row) do lo, hi = math.min(lo, t), math.max(hi, t) end
  end
  local sigma = opts.sigma or math.max((hi - lo) * 0.01, 1e-12)
  lo, hi = lo - 5 * sigma, hi + 5 * sigma
  local x, y = {}, {}
  local c = 1 / (probes * sigma * math.sqrt(2 * math.pi))
  for g = 1, grid do
    local t = lo + (hi - lo) * (g - 1) / (grid - 1)
    local s = 0
    for p = 1, #nodes do
      local np, wp = nodes[p], weights[p]
      for i = 1, #np do
        local u = (t - np[i]) / sigma
        if u > -8 and u < 8 then s = s + wp[i] * math.exp(-0.5 * u * u) end
      end
    end
    x[g], y[g] = t, s * c
  end
  return {x = x, y = y, nodes = nodes, weights = weights, hvps = op:count(), sigma = sigma,
    seed = opts.seed}
end

---wb.hessian.full(model, data, opts) -> wb.Tensor
---The whole Hessian as a float32 [P, P] tensor (column j is H e_j, one
---product each) for small models. Its 4 P^2 bytes above opts.max_bytes
---(1e8: P <= 5,000) are refused before any allocation, naming P and the
---limit (the study's MLP, P = 101,770, would take 41 GB: use eigs, trace
---or density). opts: max_bytes, loss, precision, max_rows.
---@param model wb.Sequential
---@param data wb.Dataset|table
---@param opts? table
---@return wb.Tensor
---Example: local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
---  local H = wb.hessian.full(m, {x = wb.randn(6, 4), y = wb.tensor{0, 1, 2, 0, 1, 2}})
---  print(H:shape()[1]) --> 15 (4 x 3 weights and 3 biases)
function M.full(model, data, opts)
  check_model_data("full", model, data)
  opts = check_opts("full", 3, opts, {max_bytes = "integer"})
  local limit = opts.max_bytes or FULL_MAX_BYTES
  if limit < 1 then fail("full: max_bytes: expected >= 1, got " .. limit, 2) end
  -- P from the model, before the operator (its forward pass over data) or
  -- the matrix is allocated
  local P = 0
  for _, p in ipairs(model:parameters()) do P = P + p:numel() end
  local bytes = 4 * P * P
  if P > 0 and (bytes > limit or bytes // P // 4 ~= P) then -- the latter: overflow
    -- a limit under 4 bytes allows no parameter: "more than 0" read as a miscount (tryY 6)
    local allowed = math.floor(math.sqrt(limit / 4))
    local size = 4.0 * P * P
    fail(string.format("full: the model has %d parameters, %s: its P x P float32 matrix "
      .. "(P = %d) would take %s (4 P^2 bytes), over max_bytes = %.0f; pass a larger "
      .. "max_bytes to allow it, or use eigs, trace or density", P, allowed > 0 and
      "more than " .. allowed or "and max_bytes allows none (one float32 takes 4 bytes)", P,
      size >= 1e8 and string.format("%.3g GB", size / 1e9) or string.format("%.0f bytes",
      size), limit), 2)
  end
  local op <close> = operator("full", model, data, opts)
  return call("full", op, "full")
end

return M
