-- wb/instruments_hessian.lua: the Hessian instruments of the fit
-- instruments (wb/instruments_fit.lua's callback, Cb): hess_max, hess_trace
-- and tic at theta_t on the step's batch. Definitions and where the numbers
-- come from: the header of wb/instruments_fit.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local M = wb.instruments
local Cb = M._Cb
local clock = (wb.sys and wb.sys.time) or os.clock
local timed = Cb._timed
local L = M._LANCZOS
local HESS_PROBES = M._HESS_PROBES -- Hutchinson probes per trace
local TIC_EPS = 1e-7  -- Cockpit's stabiliser

-- hess_max: Lanczos on this batch's Hessian, warm-started from the last
-- eigenvector, and the relative residual of the value it reports.
function Cb:_hess_max(logs, data, B)
  local op = self.hop
  if op then
    op:reset(data.x, data.y)
  else -- made once, at the first measured step's batch size, then reused
    op = wb.hessian.Operator(self.hlayers, data.x, data.y, self.loss, false, B, 1)
    self.hop = op
  end
  -- op:top starts from the Ritz vector it kept (none at first) plus the
  -- batch gradient (mostly in the top eigenspace: it catches the top two
  -- swapping between batches) and reads the residual from the recurrence
  local warm = self.hess_warm
  -- the step's own gradient at theta_t on this batch (the operator's
  -- would cost a forward and a backward pass; with L2 it includes L2's
  -- term, as the operator's loss does)
  local lam, res, n = op:top(warm and L.warm or L.cold,
    warm and L.warm_tol or L.tol, self.hess_top, L.gradient_weight, self.grads)
  self.hess_top = nil -- a resume's start (instruments_state.lua), once
  logs.hess_max, logs.hess_max_residual, self.hess_warm = lam, res, true
  local rec = self.model.history.instruments.hess_max
  rec.products = rec.products + n
  rec.max_residual = math.max(rec.max_residual, res)
end

-- The Hessian's trace on this batch: the exact diagonal's sum, or
-- Hutchinson's estimate and its standard error.
function Cb:_hess_trace(logs, data, B)
  if not self.exact then
    local r = wb.hessian.trace(self.model, data, {probes = HESS_PROBES, seed = logs.step,
      loss = self.loss})
    return r.mean, r.stderr
  end
  local h, inputs = self.model._h, self.hinputs -- reused: no table per step
  for i, p in ipairs(self.exact_pos) do inputs[i] = h[p] end
  return self.ps:hess_diag(self.exact, inputs), 0 -- the trace alone
end

-- The Hessian instruments at theta_t (Cb:_hessian swaps it in).
function Cb:_hessian_at(logs, B, sq, data)
  local on, t0 = self.on, clock()
  if on.hess_max then
    self:_hess_max(logs, data, B)
    t0 = timed(self, "hess_max", t0)
  end
  if on.hess_trace or on.tic then
    local mean, se = self:_hess_trace(logs, data, B)
    if on.hess_trace then
      logs.hess_trace, logs.hess_trace_se = mean, se
      t0 = timed(self, "hess_trace", t0)
    end
    if on.tic then
      -- tic = s / (T + eps), s = sq / B exact, T the trace; with Hutchinson's
      -- T (standard error se, the spread over its probes / sqrt(probes)) the
      -- first-order (delta method) error is s se / (T + eps)^2; 0 when exact
      local d = mean + TIC_EPS
      logs.tic, logs.tic_se = (sq / B) / d, se == 0 and 0 or (sq / B) * se / (d * d)
      timed(self, "tic", t0)
    end
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

-- Hessian instruments at theta_t on this batch (weights swapped in and
-- out; no closure or table per step).
function Cb:_hessian(logs, B, sq)
  local params = self.params
  for k = 1, #params do self.swap[k]:copy(params[k]); params[k]:copy(self.theta[k]) end
  local data = self.hdata
  data.x, data.y = self.ctx.batch_x, self.ctx.batch_y
  if self.loss == "mse" then data.y = self:_onehot(data.y, B) end
  local ok, err = pcall(self._hessian_at, self, logs, B, sq, data)
  for k = 1, #params do params[k]:copy(self.swap[k]) end
  if not ok then error(err, 0) end
end
