-- wb/instruments.lua: Cockpit's instruments (Schneider, Dangel, Hennig,
-- "Cockpit: A Practical Debugging Tool for the Training of Deep Neural
-- Networks", NeurIPS 2021), computed exactly from per-sample statistics of
-- Dense layers in C (core/persample.h: no batch x parameters tensor).
--
--   wb.instruments.per_sample(model, x, y)  norms, Gram matrix, sum of squares
--   wb.instruments.economy / .full          Cockpit's presets (lists of names)
--   model:fit{instruments = {...}, every = k | "log"}  (wb/instruments_fit.lua)
--
-- The test statistics below are Cockpit's (cockpit/quantities/*.py), written
-- with true per-sample gradients g_i (BackPACK's batch_grad is g_i / B) and
-- the mean gradient g = (1/B) sum_i g_i of the data loss (L2 excluded).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local losses = require "wb.losses"
local hessian = require "wb.hessian"

---wb.instruments
---Cockpit's instruments (Schneider et al., NeurIPS 2021) for Dense models,
---exact and cheap: per-sample gradient statistics come from each Dense
---layer's input and output gradient (no batch x parameters tensor).
---model:fit{instruments = wb.instruments.economy, every = 1} records them in
---history.steps (grad_norm, distance, update_size, norm_test, inner_test,
---ortho_test, gsnr, alpha, tic (Cockpit's TICDiag, its presets' tic: sum
---over parameters j of E[g_ij^2] / (H_jj + 1e-7), H_jj the exact Hessian
---diagonal; only for relu/linear Dense layers, Flatten between them, a
---softmax or linear last, under cross-entropy: refused at fit's start
---otherwise), tic_trace and tic_trace_se (TICTrace, Thomas et al. 2020:
---sum_i ||g_i||^2 / B over the Hessian's trace + 1e-7), hess_max (the
---largest eigenvalue (algebraic, as Cockpit) of the batch's Hessian: a
---negative eigenvalue of larger magnitude is not it) and hess_max_residual
---(its Lanczos pair's ||H v - l v|| / |l|), hess_trace and hess_trace_se;
---per Dense layer j also grad_norm_j, distance_j, update_size_j) and
---history.instruments (grad_hist: per measured step, counts of the true
---per-sample gradient entries (as Cockpit's GradHist1d, which undoes
---BackPACK's 1/B) in 64 equal bins over [lo, hi) = [-1, 1), entries
---outside in the end bins (Cockpit's default: 100 bins over [-2, 2]);
---grad_hist_2d: Cockpit's GradHist2d, per measured step the counts of the
---same entries against their parameter's value at theta_t: x the gradient
---entry, x_bins = 40 over [x_lo, x_hi) = [-1, 1), y the parameter's value,
---y_bins = 50 over [y_lo, y_hi) = [-2, 2) (Cockpit's axes and bins), the
---outside in the end bins, a list of 2000 with bin (x, y) at (x - 1) * 50 + y;
---seconds and calls per instrument, hess_trace_method: the trace behind
---hess_trace and tic_trace, "exact" (the exact diagonal's sum, where tic is
---computed; standard errors 0) or "hutchinson" (other models or mse; the fit says so on stderr:
---hess_trace_probes = 8 Rademacher probes, hess_trace_probe_seed = "fit
---seed and step": step t's drawn with seed wb.instruments.probe_seed(s, t)
---for the fit's seed s (hess_trace_probe_fit_seed), as wb.hessian.trace's
---{seed = that} draws them, fresh at each step and for each fit seed; a
---fit without a seed: "step", seed t, shared by such fits; the trace T's
---standard error se
---(hess_trace_se) is their spread / sqrt(8), tic_trace_se = |tic_trace| se
---/ |T + 1e-7|, to first order; where |T| < 2 se neither hess_trace nor
---tic_trace means anything), and hess_max = {eigenvalue (which: "largest
---(algebraic, ...)"), products, max_residual, tol, cold, warm, warm_tol,
---gradient_weight, row_space: measurements in the first Dense's row space, resid_max,
---redone, unconverged}: Lanczos
---stopped on a Kato-Temple bound (tol, then warm_tol; the gap to the next Ritz value less its
---residual), cold from the batch gradient (at least 10 products), then warm from two
---directions kept apart, the last Ritz vector and the gradient (band
---Lanczos, 8 products before any stop; gradient_weight > 0 only says the
---gradient is one), at most `warm` products after the first; a measurement whose residual
---is above resid_max (1e-2) is redone cold to warm_tol (counted in redone), and recorded NaN
---(counted in unconverged, a warning once per fit) if still above; an estimate: a start that
---nearly misses the top eigenvector can stop lower, unflagged by its residual (rarely: README);
---update: "sgd" or "measured", how alpha read the update). distance at step t is ||theta_t -
---theta0||, update_size ||theta_{t+1} - theta_t||, the parameters step t's and t+1's updates start
---from (Cockpit's UpdateSize): the update plus any move a hook or a Lua layer makes after it (a
---max-norm projection, clipping, an EMA swap); such a step's row then holds the parameters'
---difference (its hooks saw the update's norm in logs), its alpha is NaN (its slopes are along
---the update), and a warning names the callbacks and Lua layers that may have moved them, once
---per fit. alpha is refused under loss mse (its losses are cross-entropy's), is -1 at
---lr 0 (no step, as Cockpit's), and NaN at a fit's last step (its end would be the next batch,
---which never comes) and at a step whose next batch has one row. alpha, gsnr and the three tests
---are NaN at batch size 1 (a variance of one row is undefined). tic_trace, hess_max and hess_trace
---with loss mse take one-hot targets; a softmax last layer is refused there (the Hessian is not
---computed for it). With Dropout in the model, the per-sample statistics are of the step's own
---gradients (its dropout masks), while hess_max, hess_trace and tic_trace's trace are of the loss
---with Dropout off, as wb.hessian's. With L2 in the model, loss, grad_norm, update_size and the
---Hessian's instruments (hess_max, hess_trace, the diagonal and trace in tic and tic_trace) are of
---the loss fit minimises (data + the L2 penalty); the per-sample ones (the tests, gsnr, grad_hist,
---tic's numerators, alpha's losses and slopes) of the data loss alone (L2's term is no sample's).
---Under a loss function of one's own, per-sample gradients are B times row i's share of its
---grad_output: right for a mean over rows of per-row terms (as every built-in loss is),
---meaningless for a loss that mixes rows. Across model:save_state and fit{resume = path} they go
---on as if trained straight (distance from the first fit's start, a pending alpha,
---history.instruments), bit for bit except, equal to rounding: plain SGD's alpha at the step
---before the save (batch <= 64) and hess_max after it (a float32 warm start). Presets (lists of
---names, listed below under Values): wb.instruments.economy (Cockpit's) and wb.instruments.full
---(economy + tic, hess_trace, hess_max); wb.instruments.NAMES is every instrument (gsnr and
---tic_trace are in neither preset, as in Cockpit).
---Example: local h = m:fit(d.train, {instruments = wb.instruments.economy, every = 16})
local M = wb.instruments or {}
wb.instruments = M

---wb.instruments.economy
---@type string[]
---Cockpit's "economy" preset (cockpit/utils/configuration.py): the
---instruments cheap enough to measure often. Pass it as
---model:fit{instruments = wb.instruments.economy, every = k} or as an
---experiment config's instruments key (the string "economy" is the same
---there); the numbers land in history.steps and
---history.instruments (see wb.instruments). To add one, extend a copy:
---local i = {table.unpack(wb.instruments.economy)}; i[#i + 1] = "gsnr".
---Example: local h = m:fit(d.train, {instruments = wb.instruments.economy, every = 16})
M.economy = {"alpha", "distance", "grad_hist", "grad_norm", "inner_test", "loss",
  "norm_test", "ortho_test", "update_size"}

---wb.instruments.full
---@type string[]
---Cockpit's "full" preset: wb.instruments.economy plus the curvature
---instruments tic (TICDiag), hess_trace (Cockpit's "business"), hess_max,
---each a few Hessian-vector products per measured step (use a larger
---every), and grad_hist_2d (GradHist2d); tic needs a relu/linear Dense
---model under cross-entropy. Pass it, or the string
---"full", as model:fit's or an experiment config's instruments.
---Example: local h = m:fit(d.train, {instruments = "full", every = 50}) -- m: no Dropout
M.full = {"alpha", "distance", "grad_hist", "grad_norm", "inner_test", "loss",
  "norm_test", "ortho_test", "update_size", "tic", "hess_trace", "hess_max", "grad_hist_2d"}

---wb.instruments.NAMES
---@type string[]
---Every instrument model:fit's instruments option accepts (any non-empty
---list of these names); gsnr (Cockpit's MeanGSNR) and tic_trace
---(Cockpit's TICTrace) are in neither preset.
---What each records: help(wb.instruments).
---Example: m:fit(d.train, {instruments = {"grad_norm", "gsnr"}, every = 10})
M.NAMES = {"loss", "grad_norm", "distance", "update_size", "norm_test", "inner_test",
  "ortho_test", "gsnr", "alpha", "tic", "tic_trace", "grad_hist", "grad_hist_2d", "hess_max",
  "hess_trace"}

-- {==================== the model's Dense layers ====================

-- The positions of model's Dense layers; other layers must have no
-- parameters (per-sample statistics are derived for Dense only), and the
-- last layer is a Dense.
function M._dense_positions(model, fname)
  local out = {}
  for i = 1, #model do
    local l = model[i]
    if args.typename(l) == "wb.Dense" then
      out[#out + 1] = i
    elseif type(l) == "table" and l.parameters and #(l:parameters()) > 0 then
      args.input_fail(string.format("%s: layer %d has parameters but is not a wb.Dense "
        .. "(per-sample statistics are computed for Dense layers only)", fname, i), 3)
    end
  end
  if #out == 0 then args.input_fail(fname .. ": the model has no Dense layer", 3) end
  -- the statistics read the last Dense's logits and n_out: an Activation
  -- head (Dense then Activation("softmax"), which fit trains) has neither
  if out[#out] ~= #model then
    args.input_fail(string.format("%s: the last layer must be the Dense whose logits the "
      .. "statistics read, got layer %d %s: for Dense then Activation('%s'), use Dense(..., "
      .. "{activation = '%s'}), which trains the same", fname, #model, tostring(model[#model]),
      tostring(model[#model].activation), tostring(model[#model].activation)), 3)
  end
  return out
end

-- }====================
-- {==================== per_sample ====================

-- per_sample's x [B, ...] and labels y [B], checked before any work: the
-- model's own checks would name forward and a file of the library, and a
-- NaN would come back as NaN norms.
local function check_samples(model, x, y)
  local xs, ys = x:shape(), y:shape()
  if #xs < 2 or xs[1] < 1 or x:dtype() ~= "float32" then
    args.input_fail(string.format("per_sample: x: expected a float32 tensor [B, features] with B "
      .. ">= 1, got %s %s", x:dtype(), tostring(x):match("%b[]") or "[]"), 4)
  end
  if #ys ~= 1 or ys[1] ~= xs[1] then
    args.input_fail(string.format("per_sample: y: expected labels [%d] (one per row of x), got "
      .. "[%s]", xs[1], table.concat(ys, ", ")), 4)
  end
  local C = model[#model].n_out
  if C then args.class_ids("per_sample", y, C, "", 4) end
  args.check_finite("per_sample", "x", x, 3)
  args.check_finite_params("per_sample", (model:parameters()), 3)
end

---wb.instruments.per_sample(model, x, y) -> table
---Per-sample gradient statistics of the mean softmax cross-entropy (the
---model's softmax or linear last Dense; L2 excluded; Dropout off) on x
---[B, features] and labels y [B]: {norms = tensor [B] (||g_i||),
---gram = tensor [B, B] (g_i . g_j), sum_sq = list shaped like
---get_weights() (sum_i g_i^2 per parameter)}, with g_i the gradient of row
---i's own loss (the batch gradient is their mean). Runs a forward and a
---backward pass; the parameter gradients are restored afterwards. x and
---the weights must be finite (an ENONFINITE error names the first NaN);
---there are no options (a fourth argument is an error).
---@param model wb.Sequential
---@param x wb.Tensor
---@param y wb.Tensor
---@return table
---Example: local s = wb.instruments.per_sample(m, x, y); print(s.norms:max())
function M.per_sample(model, x, y, ...)
  args.check("per_sample", 1, model, "wb.Sequential")
  args.check("per_sample", 2, x, "wb.Tensor")
  args.check("per_sample", 3, y, "wb.Tensor")
  if select("#", ...) > 0 then -- an options table would be ignored: loss = "mse" unmet
    args.input_fail("bad argument #4 to 'per_sample' (no options: it takes model, x, y and "
      .. "measures the fused softmax cross-entropy, got " .. args.typename(...) .. ")", 2)
  end
  local pos = M._dense_positions(model, "per_sample")
  check_samples(model, x, y)
  local B = x:size(1)
  local _, grads = model:parameters()
  local saved = {}
  for k = 1, #grads do saved[k] = grads[k]:clone() end
  local prev = {}
  for j, i in ipairs(pos) do prev[j] = M.keep_dz(model[i], true) end
  local ps = M.Scratch()
  local ok, res = pcall(function()
    local l = losses._get(nil, model, "instruments", "per_sample")
    l:value(model, x, y, false)
    model:zero_grad()
    l:backward(model, x)
    ps:begin(B)
    local h, sum_sq = model._h, {}
    for _, i in ipairs(pos) do
      local layer = model[i]
      ps:add_norms(layer, h[i], B)
      ps:add_gram(layer, h[i], B)
      local w = wb.zeros(layer.n_in, layer.n_out)
      local b = layer.use_bias and wb.zeros(layer.n_out) or nil
      ps:sum_sq(layer, h[i], B, w, b)
      sum_sq[#sum_sq + 1] = w
      if b then sum_sq[#sum_sq + 1] = b end
    end
    local out = {norms = ps:tensor("sq"):sqrt(), gram = ps:tensor("gram"), sum_sq = sum_sq}
    local total = out.norms:sum() + out.gram:sum()
    for _, t in ipairs(sum_sq) do total = total + t:sum() end
    if total ~= total or total == math.huge or total == -math.huge then -- finite x overflowed
      error(wb.Error{code = "ENONFINITE", message = "the statistics are not finite: the "
        .. "gradients or their squares overflow float32 (near 3.4e38) at these weights and "
        .. "data"}, 0)
    end
    return out
  end)
  for j, i in ipairs(pos) do M.keep_dz(model[i], prev[j]) end
  for k = 1, #grads do grads[k]:copy(saved[k]) end
  if not ok then
    if type(res) == "string" or wb.spec.is_input_error(res) then -- the loss's own checks
      args.raise(args.reprefix(res, "per_sample: ", "^per_sample: "), 2) -- say it once
    end
    if wb.is_error(res) then -- a layer's check (x's width): say whose call it was
      error(wb.Error{code = res.code, message = "per_sample: " .. res.message,
        path = res.path}, 0)
    end
    error(res, 0)
  end
  return res
end

-- }====================
-- {==================== Cockpit's statistics ====================

-- The arguments of a public statistic: B an integer, the rest numbers
-- (nil or a string would fail inside as "attempt to perform arithmetic").
-- n: how many numbers follow B (two or three). Fit's callback calls the
-- statistics at every measured step, so the plain case costs a type() each.
local function numbers(fname, B, n, x, y, z)
  if math.type(B) ~= "integer" then args.check(fname, 1, B, "integer", 4) end
  if type(x) ~= "number" then args.check(fname, 2, x, "number", 4) end
  if type(y) ~= "number" then args.check(fname, 3, y, "number", 4) end
  if n == 3 and type(z) ~= "number" then args.check(fname, 4, z, "number", 4) end
end
-- B rows; sq = sum_i ||g_i||^2; g2 = ||g||^2; p1, p2 = sum_i (g_i . g) and
-- sum_i (g_i . g)^2. NaN when B < 2 or g = 0, where they are undefined
-- (Cockpit's divisions give 0/0 or x/0 there); 0 when every row is the same.

---wb.instruments.norm_test(B, sq, g2) -> number
---Cockpit's norm test (Byrd et al. 2012, eq. 3.9): the largest theta it
---passes, from B rows, sq = sum_i ||g_i||^2 and g2 = ||g||^2. NaN when
---B < 2 or g2 = 0.
---@param B integer
---@param sq number
---@param g2 number
---@return number
---Example: print(wb.instruments.norm_test(32, 3.2, 0.05))
function M.norm_test(B, sq, g2)
  numbers("norm_test", B, 2, sq, g2)
  return M._norm_test(B, sq, g2) -- wb/instruments_samples.lua
end

---wb.instruments.inner_test(B, p2, g2) -> number
---Cockpit's inner-product test (Bollapragada et al. 2018, eq. 2.6) from B
---rows, p2 = sum_i (g_i . g)^2 and g2 = ||g||^2 (p2 >= B g2^2). NaN when B < 2 or g2 = 0.
---@param B integer
---@param p2 number
---@param g2 number
---@return number
---Example: print(wb.instruments.inner_test(32, 0.1, 0.05))
function M.inner_test(B, p2, g2)
  numbers("inner_test", B, 2, p2, g2)
  return M._inner_test(B, p2, g2)
end

---wb.instruments.ortho_test(B, sq, p2, g2) -> number
---Cockpit's orthogonality test (Bollapragada et al. 2018, eq. 3.3) from B
---rows, sq = sum_i ||g_i||^2, p2 = sum_i (g_i . g)^2 and g2 = ||g||^2. NaN
---when B < 2 or g2 = 0.
---@param B integer
---@param sq number
---@param p2 number
---@param g2 number
---@return number
---Example: print(wb.instruments.ortho_test(32, 3.2, 0.01, 0.05))
function M.ortho_test(B, sq, p2, g2)
  numbers("ortho_test", B, 3, sq, p2, g2)
  return M._ortho_test(B, sq, p2, g2)
end

-- Cockpit's alpha (alpha.py, _fit_quadratic and _get_alpha): the quadratic
-- q(s) = m0 + m1 s + m2 s^2 fitted by weighted least squares to the noisy
-- loss and slope at s = 0 (start) and s = t (end of the step), weights the
-- inverse variances (0 replaced by 1e-10); alpha = 2t / (-m1 / m2) - 1, so 0
-- is stepping to the minimum of q and 1 to the other side of the valley;
-- -1 when q is concave or flat (m2 <= 0) or t = 0, NaN when singular.
---wb.instruments.alpha(t, f0, f1, df0, df1, vf0, vf1, vd0, vd1) -> number
---Cockpit's alpha: the step of length t on the quadratic fitted to the
---loss f and slope df at its start and end (variances vf, vd): 0 is
---stepping to the minimum, 1 to the other side, -1 concave or no step;
---NaN when a variance is NaN (undefined: batches of one row, where fit's
---alpha is NaN on every step).
---@param t number
---@param f0 number
---@param f1 number
---@param df0 number
---@param df1 number
---@param vf0 number
---@param vf1 number
---@param vd0 number
---@param vd1 number
---@return number
---Example: print(wb.instruments.alpha(1, 1, 0, -2, 0, 1, 1, 1, 1)) --> 0
-- Written out in scalars: alpha is solved at every measured step, and the
-- loops over tables it was first written with cost 4 us a call, 4 % of a
-- batch-32 training step.
function M.alpha(t, f0, f1, df0, df1, vf0, vf1, vd0, vd1)
  local a = {t, f0, f1, df0, df1, vf0, vf1, vd0, vd1}
  for i = 1, 9 do args.check("alpha", i, a[i], "number", 3) end
  return M._alpha(t, f0, f1, df0, df1, vf0, vf1, vd0, vd1)
end

-- The same unchecked, for fit's callback (wb/instruments_samples.lua), which
-- passes its own numbers at every measured step.
function M._alpha(t, f0, f1, df0, df1, vf0, vf1, vd0, vd1)
  -- no step (lr 0): -1 first, as Cockpit's (its fit is singular at t = 0,
  -- and _get_alpha returns -1 then); fit's slopes there are 0 / 0
  if t == 0 then return -1 end
  -- a variance of one row (0/0: no weights, no fit) or any inf or NaN (an exploding run): NaN
  if (t + f0 + f1 + df0 + df1 + vf0 + vf1 + vd0 + vd1) * 0 ~= 0 then return 0 / 0 end
  -- the inverse variances, 0 taken as 1e-10 (written out: four calls a step)
  local w0, w1 = 1 / (vf0 == 0 and 1e-10 or vf0), 1 / (vf1 == 0 and 1e-10 or vf1)
  local w2, w3 = 1 / (vd0 == 0 and 1e-10 or vd0), 1 / (vd1 == 0 and 1e-10 or vd1)
  -- rows of Phi (with y): (1, 0, 0; f0), (1, t, t^2; f1), (0, 1, 0; df0),
  -- (0, 1, 2t; df1); normal equations A m = b, A = Phi W Phi^T, b = Phi W y
  local t2, u = t * t, 2 * t
  local a11, a12, a13 = w0 + w1, w1 * t, w1 * t2
  local a22, a23, a33 = w1 * t * t + w2 + w3, w1 * t * t2 + w3 * u, w1 * t2 * t2 + w3 * u * u
  local a21, a31, a32 = a12, a13, a23
  local b1, b2, b3 = w0 * f0 + w1 * f1, w1 * t * f1 + w2 * df0 + w3 * df1,
    w1 * t2 * f1 + w3 * u * df1
  -- Gaussian elimination with partial pivoting
  -- magnitudes written out (x < 0 and -x or x: math.abs was six C calls a
  -- step; the comparisons come out the same, NaN and -0 included)
  local m11, m21, m31 = a11 < 0 and -a11 or a11, a21 < 0 and -a21 or a21,
    a31 < 0 and -a31 or a31
  if m21 > m11 and m21 >= m31 then
    a11, a12, a13, b1, a21, a22, a23, b2 = a21, a22, a23, b2, a11, a12, a13, b1
  elseif m31 > m11 then
    a11, a12, a13, b1, a31, a32, a33, b3 = a31, a32, a33, b3, a11, a12, a13, b1
  end
  if a11 == 0 then return 0 / 0 end
  local f = a21 / a11
  a22, a23, b2 = a22 - f * a12, a23 - f * a13, b2 - f * b1
  f = a31 / a11
  a32, a33, b3 = a32 - f * a12, a33 - f * a13, b3 - f * b1
  if (a32 < 0 and -a32 or a32) > (a22 < 0 and -a22 or a22) then
    a22, a23, b2, a32, a33, b3 = a32, a33, b3, a22, a23, b2
  end
  if a22 == 0 then return 0 / 0 end
  f = a32 / a22
  a33, b3 = a33 - f * a23, b3 - f * b2
  if a33 == 0 then return 0 / 0 end
  local m3 = b3 / a33
  local m2 = (b2 - a23 * m3) / a22
  if not (m3 > 0) then return -1 end
  return 2 * t / (-m2 / m3) - 1
end

-- }====================

require "wb.instruments_fit" -- the fit callback (M._callback)

return M
