-- wb/instruments_hessian.lua: the Hessian instruments of the fit
-- instruments (wb/instruments_fit.lua's callback, Cb): hess_max, hess_trace,
-- tic and tic_trace at theta_t on the step's batch. Definitions and where the numbers
-- come from: the header of wb/instruments_fit.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local M = wb.instruments
local Cb = M._Cb
local clock = wb.sys._time -- the unwrapped clock (bindings/l_sys.c): the library's own timings
local timed = Cb._timed
-- hess_max: cold Lanczos (tol, products), then warm (products, tol, the
-- batch gradient's weight in the start). Warm at most 24: on 3000
-- small models (12-6-3, batch 8) 46 of 21000 warm steps stopped at 16 > 1e-4
-- low (up to 3 %); at 24, 2 > 1e-4 high (0.8 %, residual 0.02), for 10.12
-- products a step, not 10.08 (MNIST benchmark: 470, not 469, b32 every 16).
-- resid_max: a measurement whose relative residual is above it is redone
-- cold, and recorded NaN if that is above it too (Cb:_hess_max).
local L = {tol = 1e-4, cold = 30, warm = 24, warm_tol = 1e-5, gradient_weight = 1,
  resid_max = 1e-2}
-- Which eigenvalue hess_max is (history.instruments.hess_max.eigenvalue)
local HESS_MAX_IS = "largest (algebraic, as Cockpit's eigsh 'LA'; not the largest in magnitude)"
M._LANCZOS = L
local HESS_PROBES = M._HESS_PROBES -- Hutchinson probes per trace
local TIC_EPS = 1e-7  -- Cockpit's stabiliser
local fnv1a64 = require("wb.util").fnv1a64

-- Step t's probe seed in a fit of seed s (nil: none), unchecked (a step's
-- own call). With the step alone (the rule before), every seed's fit drew
-- step t's probes alike, so the seeds' trace estimates shared their errors
-- and their spread over seeds understated it.
local function probe_seed(s, t)
  if s == nil then return t end
  return tonumber(fnv1a64(string.format("%d %d", s, t)):sub(-13), 16)
end

---wb.instruments.probe_seed(s, t) -> integer
---The seed of the Hutchinson probes behind fit's hess_trace and tic_trace
---at step t of a fit of seed s (history.instruments.hess_trace_probe_fit_seed;
---hess_trace_probe_seed "fit seed and step"): the low 52 bits of the 64-bit
---FNV-1a hash of the text "s t", decimal integers and one space; >= 0 and
---exact in a JSON number, as wb.hessian.trace's seeds. s nil (a fit
---without a seed, "step"): t. wb.hessian.trace(model, batch, {probes = 8,
---seed = wb.instruments.probe_seed(s, t)}) draws step t's probes again.
---@param s integer|nil
---@param t integer
---@return integer
---Example: print(wb.instruments.probe_seed(1, 10), wb.instruments.probe_seed(nil, 10))
function M.probe_seed(s, t)
  if s ~= nil and not args.is(s, "integer") or not args.is(t, "integer") then
    args.input_fail(string.format("probe_seed: expected integers s (or nil) and t, got %s and %s",
      tostring(s), tostring(t)), 2)
  end
  return probe_seed(s and math.tointeger(s), math.tointeger(t))
end

-- The model's Dense layers when they are a chain (n of them, Flatten
-- layers anywhere but last: pure reshapes), relu or linear with a softmax
-- or linear last, under cross-entropy: the chain whose Hessian diagonal
-- PerSample:hess_diag computes exactly (the Hessian is the Gauss-Newton
-- matrix there), and their positions in the model (each Dense reads its
-- own input there). Otherwise nil, nil and why not.
-- The model's layers for wb.hessian's engine (bindings/l_hessian.c takes
-- these four kinds). With a Hessian instrument on (its name: which), any
-- other is refused at fit's start: it was refused at the first measured
-- step, after training had begun, as "layer 2: table is not supported".
local HESSIAN_KINDS = {["wb.Dense"] = true, ["wb.Activation"] = true, ["wb.Dropout"] = true,
  ["wb.Flatten"] = true}
function M._hessian_layers(model, which)
  local out = {}
  for i = 1, #model do
    local mt = getmetatable(model[i])
    local kind = type(mt) == "table" and rawget(mt, "__name")
    if which and not HESSIAN_KINDS[kind] then
      error(string.format("fit: instrument %s needs wb.hessian, which takes Dense, Activation, "
        .. "Dropout and Flatten layers; layer %d is %s", which, i, type(kind) == "string"
        and kind or "a Lua layer (a " .. type(model[i]) .. ")"), 0)
    end
    out[i] = model[i]
  end
  return out
end

function M._exact_chain(model, n, loss)
  if loss ~= "cross_entropy" then return nil, nil, "this fit's loss is " .. tostring(loss) end
  if args.typename(model[#model]) ~= "wb.Dense" then
    return nil, nil, "this model's last layer is a " .. args.typename(model[#model])
  end
  local chain, pos = {}, {}
  for i = 1, #model do
    local l, kind = model[i], args.typename(model[i])
    if kind == "wb.Dense" then
      local act, last = l.activation, #chain + 1 == n
      if not (not last and (act == "relu" or act == "linear") or
          last and (act == "softmax" or act == "linear")) then
        return nil, nil, string.format("this model's layer %d is a Dense with activation %s",
          i, tostring(act))
      end
      chain[#chain + 1], pos[#chain + 1] = l, i
    elseif kind ~= "wb.Flatten" then
      return nil, nil, string.format("this model's layer %d is a %s", i, kind)
    end
  end
  return chain, pos
end

-- What a fit's start says of the exact Hessian diagonal (M._exact_chain):
-- tic without it is refused; a trace without it is Hutchinson's estimate,
-- said, not only recorded: dropping tic to pass the error traded an exact
-- trace for one with error bars of 8-34 % (tryU 2).
local NEEDS = "relu/linear Dense layers (Flatten between them) with a softmax or linear last, "
  .. "under cross-entropy"
function M._exact_or_say(on, trace, exact, why)
  if on.tic and not exact then
    error("fit: instrument tic needs the exact Hessian diagonal: " .. NEEDS .. "; " .. why
      .. " (tic_trace divides by an estimated trace instead)", 0)
  end
  if trace and not exact then
    io.stderr:write(string.format("fit: instruments: %s from Hutchinson's estimate of the "
      .. "trace (%d probes a measured step; %s), its standard error in history.steps.%s; the "
      .. "exact trace needs %s (said once per fit)\n", on.hess_trace and on.tic_trace and
      "hess_trace and tic_trace" or on.hess_trace and "hess_trace" or "tic_trace",
      M._HESS_PROBES, why, on.hess_trace and "hess_trace_se" or "tic_trace_se", NEEDS))
  end
end

-- history.instruments.hess_max at fit's start (wb/instruments_fit.lua):
-- redone counts the measurements redone cold, unconverged those recorded
-- NaN for a residual above resid_max both times.
function M._hess_max_record()
  return {eigenvalue = HESS_MAX_IS, products = 0, max_residual = 0, tol = L.tol,
    cold = L.cold, warm = L.warm, warm_tol = L.warm_tol, gradient_weight = L.gradient_weight,
    row_space = 0, resid_max = L.resid_max, redone = 0, unconverged = 0}
end

-- hess_max: Lanczos on this batch's Hessian, warm-started from the last
-- eigenvector, and the relative residual of the value it reports.
function Cb:_hess_max(logs, data, B)
  local op = self.hop
  -- the first Dense's pre-activation on this batch at theta_t (the step's
  -- forward), where no Dropout comes before it: the row space reads its
  -- kernel off it instead of multiplying X by it (hvp_reduce.h; checked)
  local z = self.z1 and self.model[self.layers[1].i]:logits() or nil
  if op then
    op:reset(data.x, data.y, self.theta, z) -- theta_t: the model holds theta_{t+1}
  else -- made once, at the first measured step's batch size, then reused;
    -- reduced (core/hvp_reduce.h): Lanczos in the first Dense's row space,
    -- the same eigenvalue from products of a fraction of the cost, for
    -- batches of a tenth as many rows as its inputs or fewer (M._hess_full:
    -- tests compare)
    op = wb.hessian.Operator(self.hlayers, data.x, data.y, self.loss, false, B, 1,
      not rawget(M, "_hess_full"))
    op:reset(data.x, data.y, self.theta, z)
    self.hop = op
  end
  -- op:top starts from the Ritz vector it kept (none at first) and the
  -- batch gradient (mostly in the top eigenspace: it catches the top two
  -- swapping between batches), kept apart (band Lanczos, core/hvp_band.h),
  -- and reads the residual from the recurrence
  local warm = self.hess_warm
  local lam, res, n = self:_hess_top(op, warm and L.warm or L.cold,
    warm and L.warm_tol or L.tol, self.hess_top)
  local rec = self.model.history.instruments.hess_max
  if lam == lam and not (res <= L.resid_max) then
    -- a residual that large is no converged pair (healthy runs': at most
    -- 3e-3, tryU's checks; Kato-Temple at tol 1e-4 allows up to 1e-2 when
    -- the gap is the value): it was how tryU's values 2x-45x above
    -- lambda_max showed, before hvp_band.c's reorth. Redone cold, to the
    -- warm tol (its Kato-Temple residual at most 3e-3 of the value at a
    -- gap of it), the products of both counted.
    local n1 = n
    lam, res, n = self:_hess_top(op, L.cold, L.warm_tol, false)
    n, rec.redone = n + n1, rec.redone + 1
  end
  if lam == lam and not (res <= L.resid_max) then
    -- still unconverged: NaN (as an exploding run's), counted; the
    -- residual stays recorded as it was
    lam, rec.unconverged = 0 / 0, rec.unconverged + 1
    -- once per fit (Cb.hess_said, reset at fit's start): not at a count
    -- of 1, which a resumed fit whose first part had one never reached
    if not self.hess_said then
      self.hess_said = true
      io.stderr:write(string.format("fit: instruments: hess_max at step %d did not converge "
        .. "(residual %.3g > %g, also redone cold): recorded NaN; "
        .. "history.instruments.hess_max.unconverged counts such steps (said once per fit)\n",
        logs.step, res, L.resid_max))
    end
  end
  self.hess_top = nil -- a resume's start (instruments_state.lua), once
  logs.hess_max, logs.hess_max_residual, self.hess_warm = lam, res, true
  rec.products = rec.products + n
  if op:reduced() then rec.row_space = rec.row_space + 1 end
  rec.max_residual = math.max(rec.max_residual, res)
end

-- One Lanczos run of hess_max, at most m products to tol: warm (from the
-- kept Ritz vector, or v0, a resume's) or cold (none kept yet, or v0
-- false: from the batch gradient alone); returns the value, its relative
-- residual and the products.
function Cb:_hess_top(op, m, tol, v0)
  -- the step's own gradient at theta_t on this batch (the operator's
  -- would cost a forward and a backward pass; with L2 it includes L2's
  -- term, as the operator's loss does)
  local ok, lam, res, n = pcall(op.top, op, m, tol, v0, L.gradient_weight, self.grads)
  if not ok then
    -- a Hessian-vector product or start past float32's range (a run
    -- exploding: ENONFINITE "Lanczos: a non-finite Hessian-vector product",
    -- or the last step's NaN vector as a start) is no eigenvalue: NaN, and
    -- the operator starts cold next time (it drops its vector on failure);
    -- any other error is one (a wb.Error's code: bindings/lwb.c)
    local code = wb.is_error(lam) and lam.code
    if not (code == "ENONFINITE" or code == "EINVAL" and
        tostring(lam):find("finite start vector", 1, true)) then
      error(lam, 0)
    end
    return 0 / 0, 0 / 0, 0
  elseif (lam + res) * 0 ~= 0 then
    -- a residual inf or NaN: a Lanczos norm overflowed float32 (at an
    -- eigenvalue past about 1.8e19, well before the gradient's sums do),
    -- which Lanczos takes for an invariant subspace (core/hvp_eig.c
    -- lanczos3) and stops on a Ritz value far below the eigenvalue (5e34
    -- recorded as 1e34): no eigenvalue either
    lam = 0 / 0
  end
  return lam, res, n
end

-- Cockpit's TICDiag (cockpit/quantities/tic.py, TICDiag._compute):
-- (B * sum_grad_squared / (diag_h + eps)).sum() with BackPACK's per-sample
-- gradients g_i / B, i.e. the sum over parameters j of (sum_i g_ij^2 / B) /
-- (H_jj + 1e-7): a sum, not a mean, over parameters. H_jj is the exact
-- diagonal at theta_t (self.kernels), of the loss fit minimises (with L2's
-- 2 l2 on kernels, as hess_trace); sum_i g_ij^2 is of the data loss, from
-- the layers' kept dL/dz. One C call (persample.h wb_persample_tic: the
-- same sums as hess_diag, sum_sq and _tic_diag over their outputs, without
-- the outputs). Returns the diagonal's sum, the trace (hess_trace's, for
-- free).
function Cb:_tic(logs, B)
  local h, inputs = self.model._h, self.hinputs
  for i, p in ipairs(self.exact_pos) do inputs[i] = h[p] end
  local tic, trace = self.ps:tic(self.exact, inputs, self.kernels, B, TIC_EPS)
  logs.tic = tic
  return trace
end

-- The Hessian's trace on this batch: the exact diagonal's sum, or
-- Hutchinson's estimate and its standard error, its probes drawn with a
-- seed hashed from the fit's seed and the step's number (M.probe_seed;
-- history.instruments.hess_trace_probe_seed): fresh at each step and for
-- each fit seed, so the estimates' errors are independent across steps and
-- seeds (averaging them helps), the same in a rerun or a resume, and taken
-- from no generator training draws from.
function Cb:_hess_trace(logs, data, B)
  if not self.exact then
    local ok, r = pcall(wb.hessian.trace, self.model, data, {probes = HESS_PROBES,
      seed = probe_seed(self.probe_fit_seed, logs.step), loss = self.loss})
    if ok then return r.mean, r.stderr end
    -- products past float32's range (a run exploding: wb.hessian's
    -- ENONFINITE) give no trace: NaN, and fit goes on; any other error is one
    if not (wb.is_error(r) and r.code == "ENONFINITE") then error(r, 0) end
    return 0 / 0, 0 / 0
  end
  local h, inputs = self.model._h, self.hinputs -- reused: no table per step
  for i, p in ipairs(self.exact_pos) do inputs[i] = h[p] end
  return self.ps:hess_diag(self.exact, inputs, nil, self.kernels), 0 -- the trace alone
end

-- The Hessian instruments at theta_t (Cb:_hessian).
function Cb:_hessian_at(logs, B, sq, data)
  local on, t0 = self.on, clock()
  local mean, se
  if on.tic then -- the exact diagonal, whose sum is the trace; before
    -- hess_max, whose products may overwrite the layers' dL/dz tic reads
    mean, se = self:_tic(logs, B), 0
    t0 = timed(self, "tic", t0)
  end
  if on.hess_max then
    self:_hess_max(logs, data, B)
    t0 = timed(self, "hess_max", t0)
  end
  if (on.hess_trace or on.tic_trace) and not mean then
    mean, se = self:_hess_trace(logs, data, B)
  end
  if on.hess_trace then
    logs.hess_trace, logs.hess_trace_se = mean, se
    t0 = timed(self, "hess_trace", t0)
  end
  if on.tic_trace then
    -- tic_trace = s / (T + eps), s = sq / B exact, T the trace; with
    -- Hutchinson's T (standard error se, the spread over its probes /
    -- sqrt(probes)) the first-order (delta method) error is s se / (T +
    -- eps)^2; 0 when exact
    local d = mean + TIC_EPS
    logs.tic_trace = (sq / B) / d
    logs.tic_trace_se = se == 0 and 0 or (sq / B) * se / (d * d)
    timed(self, "tic_trace", t0)
  end
end

-- mse's targets as fit's mse loss takes them: one-hot rows of the class
-- ids (wb/losses.lua), in a buffer reused while B stays.
function Cb:_onehot(y, B)
  local C, t = self.model[#self.model].n_out, self.onehot
  if not t or t:size(1) ~= B then t = wb.zeros(B, C); self.onehot = t else t:fill(0) end
  for i = 1, B do t:set(i, math.tointeger(y:get(i)) + 1, 1) end
  return t
end

-- Hessian instruments at theta_t on this batch (no closure or table per
-- step): with Hutchinson's trace the weights are swapped in and out (it
-- takes the model); hess_max's operator reads theta_t from self.theta (op:reset's
-- params), tic and the exact trace theta_t's kernels from self.kernels:
-- a swap is three copies of every parameter a step, as much as the
-- training step's own memory traffic.
function Cb:_hessian(logs, B, sq)
  local params, swap = self.params, self.swap
  if swap then
    for k = 1, #params do swap[k]:copy(params[k]); params[k]:copy(self.theta[k]) end
  end
  local data = self.hdata
  data.x, data.y = self.ctx.batch_x, self.ctx.batch_y
  if self.loss == "mse" then data.y = self:_onehot(data.y, B) end
  local ok, err = pcall(self._hessian_at, self, logs, B, sq, data)
  if swap then
    for k = 1, #params do params[k]:copy(swap[k]) end
  end
  if not ok then error(err, 0) end
end

-- theta_t's copies: self.theta whole (need_theta), or the kernels alone
-- (theta_k), at a measured step's start (Cb:on_train_batch_begin) or, when
-- Lua code of one's own may move the weights after that (a batch-begin hook
-- of a callback after the instruments, a Lua layer's forward), just before
-- the update (Cb:_pre_update; self.late): tryN's hook halving the weights at
-- on_train_batch_begin gave hess_max at the weights before it (5.06, not 1.96).
function Cb:_copy_theta()
  local P, T = self.params, self.theta
  if self.need_theta then
    for k = 1, #P do T[k]:copy(P[k]) end
  elseif self.theta_k then
    local K = self.theta_k
    for i = 1, #K do T[K[i]]:copy(P[K[i]]) end
  end
end

-- At fit's start (Cb:on_train_begin, after self.exact): what the Hessian
-- instruments keep. hess: one is on; trace: hess_trace or tic_trace; other:
-- theta_t is needed whole for another reason (hess_max's operator reads
-- it whole). A swap (Cb:_hessian) for Hutchinson's trace alone; tic and the
-- exact trace read theta_t, only the kernels of the layers after the first (the first's
-- is in no product: wb_persample_hess_diag), copied before each measured
-- step (self.theta_k, in on_train_batch_begin), unless theta_t is kept
-- whole anyway. self.need_theta: the whole is copied.
function Cb:_hessian_begin(params, hess, trace, other)
  -- hess_max's operator reads theta_t from self.theta (op:reset's params)
  local swap = trace and not self.exact
  self.need_theta = swap or other or self.on.hess_max or false
  -- hess_max's row space reads the first Dense's pre-activation from the
  -- step's forward: the Hessian's, where only Flatten comes before it
  -- (a Dropout there trained on other inputs than the Hessian's)
  self.z1 = self.on.hess_max or nil
  for i = 1, self.layers[1].i - 1 do
    if args.typename(self.model[i]) ~= "wb.Flatten" then self.z1 = nil end
  end
  self.theta, self.theta_k, self.swap, self.kernels = nil, nil, nil, nil
  if self.need_theta then
    self.theta = {}
    for k = 1, #params do self.theta[k] = params[k]:clone() end
  end
  if swap then
    self.swap = {}
    for k = 1, #params do self.swap[k] = params[k]:clone() end
  end
  if not hess or not self.exact then return end
  if not self.need_theta then self.theta, self.theta_k = {}, {} end
  self.kernels = {}
  for j = 2, #self.layers do
    local k = self.layers[j].k + 1
    if self.theta_k then
      self.theta[k] = params[k]:clone()
      self.theta_k[#self.theta_k + 1] = k
    end
    self.kernels[j] = self.theta[k]
  end
end
