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
-- = labels}) plus the L2 penalty, at the model's current weights, with
-- Dropout off (as at inference). The loss is the fused softmax
-- cross-entropy of fit (the last layer a softmax or linear Dense), or
-- loss = "mse". Random probes and start vectors come from the call's own
-- generator (opts.seed, default 1; trace's: wb/hessian_probes.lua),
-- never the global one: measuring curvature during training leaves its
-- shuffling and dropout as they were.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local arch = require "wb.arch"
local probes_seed = require "wb.hessian_probes"

---wb.hessian
---Exact curvature of a model's loss: Hessian-vector products in C
---(Pearlmutter's R-operator through Dense, Activation, Flatten, Dropout, the
---fused softmax cross-entropy or mse, and L2), and the instruments built on
---them: top eigenvalues (Lanczos), trace (Hutchinson), spectral density
---(stochastic Lanczos quadrature), the full matrix for small models. data
---is a dataset or {x = tensor, y = labels} (under mse, y may also be float
---targets [N, C]; class ids become one-hot rows, as in fit); x, y, the
---weights and vectors must be finite (an ENONFINITE error names the first
---NaN or infinity); every function also takes
---loss ("cross_entropy" default, "mse"), precision ("float32" default,
---"float64") and max_rows (rows per chunk, default 4096; data that fits in
---one chunk has its forward pass computed once and reused by every product).
---Example: print(wb.hessian.eigs(m, {x = x, y = y}, {k = 3}).values[1])
local M = wb.hessian or {}
wb.hessian = M

local COMMON = {loss = "string", precision = "string", max_rows = "integer",
  seed = "integer"}
local INT_MAX = 2147483647
-- full's default limit on its matrix: 1e8 bytes, P <= 5,000 (4 P^2 bytes)
local FULL_MAX_BYTES = 100000000

-- opts checked against COMMON plus `own` (key -> type); unknown keys are
-- errors naming the valid ones. Returns a copy in which the counts are Lua
-- integers (k = 1e3 is 1000, as luaL_checkinteger takes it; 2.5 is refused).
local function check_opts(fname, pos, opts, own)
  local keys = {}
  for name in pairs(own) do keys[#keys + 1] = name end
  for name in pairs(COMMON) do keys[#keys + 1] = name end
  table.sort(keys)
  local given = args.options(fname, pos, opts, keys, 4)
  opts = {}
  for k, v in pairs(given) do
    local want = own[k] or COMMON[k]
    if want ~= "any" then args.option(fname, k, v, want, 4) end
    -- the core takes C ints: 2^32 + 1 would arrive as 1 (k) or a negative
    -- count (probes), and its message would be about that number (max_bytes
    -- is full's own, compared in Lua)
    if want == "integer" and k ~= "seed" and k ~= "max_bytes" and v > INT_MAX then
      error(string.format("%s: %s: expected at most %d, got %.0f", fname, k, INT_MAX, v), 3)
    end
    opts[k] = want == "integer" and math.tointeger(v) or v
  end
  local p = opts.precision or "float32"
  if p ~= "float32" and p ~= "float64" then
    error(fname .. ": precision: expected 'float32' or 'float64', got '" .. p .. "'", 3)
  end
  local l = opts.loss or "cross_entropy"
  if l ~= "cross_entropy" and l ~= "mse" then
    error(fname .. ": loss: expected 'cross_entropy' or 'mse', got '" .. l .. "'", 3)
  end
  if opts.max_rows and opts.max_rows < 1 then
    error(fname .. ": max_rows: expected >= 1, got " .. opts.max_rows, 3)
  end
  return opts
end

-- The types of model (#1) and data (#2), checked first by every public
-- function, before its other arguments and before any work.
local function check_model_data(fname, model, data)
  args.check(fname, 1, model, "wb.Sequential", 4)
  args.check(fname, 2, data, "wb.Dataset|table", 4)
end

local fin = args.finite

-- mse's targets as fit's mse loss takes them: class ids y [N] (a dataset's
-- labels) become one-hot rows [N, C], C the last Dense's width; float
-- targets [N, C] pass unchanged (core checks their shape).
local function mse_targets(fname, model, y)
  if y:dim() ~= 1 then return y end
  local C
  for i = #model, 1, -1 do
    if arch.kind_of(model[i]) == "Dense" then C = model[i].n_out; break end
  end
  if not C then return y end
  local t = wb.zeros(#y, C)
  for i, v in ipairs(args.class_ids(fname, y, C, " (mse's targets are one-hot rows of the "
      .. "class ids, as in fit)", 4)) do
    t:set(i, v + 1, 1)
  end
  return t
end

-- The C operator over model's layers and data, at the current weights.
local function operator(fname, model, data, opts)
  local x, y = args.data_xy(fname, data, 3)
  if #model == 0 then error(fname .. ": model: expected at least one layer (a Dense last)", 3) end
  if opts.loss == "mse" then y = mse_targets(fname, model, y) end
  args.check_finite(fname, "x", x, 3)
  if opts.loss == "mse" then args.check_finite(fname, "y", y, 3) end
  local params = model:parameters()
  args.check_finite_params(fname, params, 3)
  local layers = {}
  for i = 1, #model do layers[i] = model[i] end
  -- at least 1: no rows at all is for the core to name (x), not max_rows
  local rows = opts.max_rows or math.max(1, math.min(#x, 4096))
  local ok, op = pcall(M.Operator, layers, x, y, opts.loss or "cross_entropy",
    opts.precision == "float64", rows, opts.seed or 1)
  if not ok then
    if wb.is_error(op) then
      error(wb.Error{code = op.code, message = fname .. ": " .. op.message, path = op.path}, 0)
    end
    error(fname .. ": " .. tostring(op), 3)
  end
  return op
end

-- Are v's numbers finite (v a number, tensor, boolean or list of these)?
local function finite(v)
  if type(v) == "table" then
    for i = 1, #v do if not finite(v[i]) then return false end end
    return true
  end
  if args.typename(v) == "wb.Tensor" then v = v:sum() end -- in double: see args.check_finite
  return type(v) ~= "number" or fin(v)
end

-- op:method(...), its failures prefixed with fname and raised at the caller
-- of the public function (a wb.Error keeps its code). Finite inputs can
-- still overflow (x of 1e38 makes infinite logits): a NaN or infinite
-- result is an error, never returned.
local function call(fname, op, method, ...)
  local res = table.pack(pcall(op[method], op, ...))
  if res[1] and not finite(table.pack(table.unpack(res, 2, res.n))) then
    error(wb.Error{code = "ENONFINITE", message = fname .. ": the result is not finite: the "
      .. "loss or its derivatives overflow at these weights and data (float32 ends near "
      .. "3.4e38)"}, 0)
  end
  if res[1] then return table.unpack(res, 2, res.n) end
  local err = res[2]
  if wb.is_error(err) then
    error(wb.Error{code = err.code, message = fname .. ": " .. err.message,
      path = err.path}, 0)
  end
  error(fname .. ": " .. tostring(err), 3)
end

-- The tensors of a list v shaped like the parameters must be finite (their
-- shapes and types are the core's to check, naming the tensor).
local function check_vector(fname, what, v)
  for i = 1, #v do
    if args.typename(v[i]) == "wb.Tensor" then
      args.check_finite(fname, what .. ": tensor " .. i, v[i], 3)
    end
  end
end

-- A layer option: a model position with parameters (a Dense's); the error
-- lists them, and says what is at the position given.
local function check_layer(fname, model, layer)
  if layer == nil then return nil end
  if layer < 1 or layer > #model or model[layer].kind ~= "Dense" then
    local dense = {}
    for i = 1, #model do if model[i].kind == "Dense" then dense[#dense + 1] = i end end
    local last = table.remove(dense)
    error(string.format("%s: layer: expected the position of a Dense layer (%s), got %d (%s)",
      fname, #dense > 0 and table.concat(dense, ", ") .. " or " .. last or tostring(last),
      layer, (layer < 1 or layer > #model) and "the model has " .. #model .. " layers"
      or tostring(model[layer])), 3)
  end
  return layer
end

---wb.hessian.hvp(model, data, v, opts) -> table
---H v for the Hessian H of the mean loss over data (L2 included) at the
---model's weights: a list of float32 tensors shaped like
---model:get_weights(); v is such a list. Exact (forward-over-backward),
---computed in float32 with double sums, or in double with precision =
---"float64". opts: loss, precision, max_rows, seed (the probes' own
---generator, 1) (see wb.hessian).
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

---wb.hessian.eigs(model, data, opts) -> table
---The k largest eigenvalues of the Hessian (algebraic, as Cockpit's eigsh
---"LA": not a negative one of larger magnitude), largest first, and their
---unit eigenvectors (lists shaped like get_weights()), by Lanczos with full
---reorthogonalisation: {values, vectors, hvps = products used, converged}.
---opts: k (1), tol (1e-4: each Ritz pair's residual <= tol * |value|),
---max_iter (products at most: 100, or k when k is larger), v0 (a start vector, e.g. an earlier
---result's vectors[1]: warm start), layer (a Dense's position in the
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
    max_iter = "integer", v0 = "table", layer = "integer"})
  -- max_iter's default is 100 products, or k when more are asked for (a k
  -- the user gave is never blamed on a max_iter they did not)
  local k, tol = opts.k or 1, opts.tol or 1e-4
  local max_iter = opts.max_iter or math.max(100, k)
  if k < 1 then error("eigs: k: expected >= 1, got " .. k, 2) end
  if not (tol > 0) then error("eigs: tol: expected a number > 0, got " .. tol, 2) end
  local layer = check_layer("eigs", model, opts.layer)
  local op <close> = operator("eigs", model, data, opts)
  local P = layer and (model[layer].n_in + (model[layer].use_bias and 1 or 0))
    * model[layer].n_out or op:numel()
  if k > P then
    error(string.format("eigs: k: expected at most %d (the %s), got %d", P, layer
      and "parameters of layer " .. layer or "model's parameters", k), 2)
  end
  if max_iter < k then
    error(string.format("eigs: max_iter: expected >= k (%d), got %s", k, max_iter), 2)
  end
  if opts.v0 then
    local n = #model:parameters()
    if #opts.v0 ~= n then
      error(string.format("eigs: v0: expected a list of %d tensors (shaped like the "
        .. "parameters), got a table of %d", n, #opts.v0), 2)
    end
    check_vector("eigs", "v0", opts.v0)
  end
  local values, vectors, converged = call("eigs", op, "eigs", k, tol,
    max_iter, opts.v0, layer)
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
  opts = check_opts("trace", 3, opts, {probes = "integer", layer = "integer"})
  local probes = opts.probes or 100
  if probes < 2 then error("trace: probes: expected >= 2, got " .. probes, 2) end
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
---(per probe) and hvps. opts: steps (80), probes (5), grid (1000 points),
---sigma (default 1% of the nodes' range), layer, loss, precision,
---max_rows, seed (the probes' own generator, 1).
---@param model wb.Sequential
---@param data wb.Dataset|table
---@param opts? table
---@return table
---Example: local d = wb.hessian.density(m, {x = x, y = y}); print(#d.x, d.y[1])
function M.density(model, data, opts)
  check_model_data("density", model, data)
  opts = check_opts("density", 3, opts, {steps = "integer", probes = "integer",
    grid = "integer", sigma = "number", layer = "integer"})
  local steps, probes, grid = opts.steps or 80, opts.probes or 5, opts.grid or 1000
  if steps < 1 or probes < 1 or grid < 2 then
    error(string.format("density: expected steps >= 1, probes >= 1, grid >= 2, got %s, "
      .. "%s, %s", steps, probes, grid), 2)
  end
  if opts.sigma and not (opts.sigma > 0) then
    error("density: sigma: expected a number > 0, got " .. opts.sigma, 2)
  end
  local layer = check_layer("density", model, opts.layer)
  local op <close> = operator("density", model, data, opts)
  local nodes, weights = call("density", op, "slq", probes, steps, layer)
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
  return {x = x, y = y, nodes = nodes, weights = weights, hvps = op:count(), sigma = sigma}
end

---wb.hessian.full(model, data, opts) -> wb.Tensor
---The whole Hessian as a float32 [P, P] tensor (column j is H e_j, one
---product each) for small models. Its 4 P^2 bytes above opts.max_bytes
---(1e8: P <= 5,000) are refused before any allocation, naming P and the
---limit (the study's MLP, P = 101,770, would take 41 GB: use eigs, trace
---or density). opts: max_bytes, loss, precision, max_rows, seed.
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
  if limit < 1 then error("full: max_bytes: expected >= 1, got " .. limit, 2) end
  -- P from the model, before the operator (its forward pass over data) or
  -- the matrix is allocated
  local P = 0
  for _, p in ipairs(model:parameters()) do P = P + p:numel() end
  local bytes = 4 * P * P
  if P > 0 and (bytes > limit or bytes // P // 4 ~= P) then -- the latter: overflow
    error(string.format("full: the model has %d parameters, more than %d: its P x P "
      .. "float32 matrix (P = %d) would take %.3g GB (4 P^2 bytes), over max_bytes = %.0f; "
      .. "pass a larger max_bytes to allow it, or use eigs, trace or density", P,
      math.floor(math.sqrt(limit / 4)), P, 4e-9 * P * P, limit), 2)
  end
  local op <close> = operator("full", model, data, opts)
  return call("full", op, "full")
end

return M
