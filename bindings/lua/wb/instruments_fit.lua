-- wb/instruments_fit.lua: the instruments of model:fit{instruments = {...},
-- every = k | "log"}, a per-step callback (wb.instruments._callback) that
-- fit puts first in its callback list.
--
-- Where the numbers come from. At the end of a step (on_train_batch_end)
-- the parameters already moved to theta_{t+1}, but every layer still holds
-- what step t's forward and backward computed at theta_t: its input a and,
-- with keep_dz set for the step, dL/dz. Per-sample statistics (core/
-- persample.h) are read from those; parameter-based instruments use a copy
-- of theta_t taken in on_train_batch_begin; the Hessian instruments swap
-- theta_t back in for the call and restore theta_{t+1} after. Nothing an
-- instrument does reaches training: no random numbers are drawn (the
-- Hessian calls use their own generators), weights are restored bit for
-- bit, and keep_dz only copies a buffer.
--
-- Definitions follow Cockpit (cockpit/quantities/*.py; see wb/instruments.lua
-- for the test statistics and alpha). Differences: tic is Cockpit's TICTrace
-- (sum of second moments over the Hessian trace, Thomas et al. 2020), not
-- TICDiag. The trace behind hess_trace and tic is, as in Cockpit, the sum of
-- the exact Hessian diagonal (persample.h hess_diag: for relu/linear Dense
-- chains the Hessian is the Gauss-Newton matrix) when every layer is such a
-- Dense and the loss is cross-entropy (history.instruments.hess_trace_method
-- "exact"); otherwise Hutchinson's estimate ("hutchinson", HESS_PROBES
-- probes, its standard error in hess_trace_se). hess_max is Lanczos
-- (tol LANCZOS_TOL), cold for at most LANCZOS_COLD products, then
-- warm-started from the last eigenvector for at most LANCZOS_WARM; each
-- measured step records the relative residual ||H v - l v|| / |l| of the
-- value it reports (hess_max_residual; one more product). Alpha uses the
-- update the optimizer actually made (Cockpit's optimized alpha assumes
-- plain SGD).
local wb = require "wb"
local M = wb.instruments
local clock = (wb.sys and wb.sys.time) or os.clock

local HIST_BINS, HIST_LO, HIST_HI = 64, -1, 1 -- grad_hist: fixed bins over [-1, 1)
local HESS_PROBES = 8                          -- Hutchinson probes per trace
local LANCZOS_TOL, LANCZOS_COLD, LANCZOS_WARM, LANCZOS_WTOL, LANCZOS_GRAD = 1e-4, 30, 8, 1e-3, 1
local GSNR_EPS, TIC_EPS = 1e-5, 1e-7           -- Cockpit's stabilisers

local KNOWN = {}
for _, n in ipairs(M.NAMES) do KNOWN[n] = true end
local NEEDS_SAMPLES = {norm_test = true, inner_test = true, ortho_test = true, gsnr = true,
  tic = true, grad_hist = true, alpha = true}
local NEEDS_LOSS = {alpha = "per-sample losses", tic = "the Hessian", hess_max = "the Hessian",
  hess_trace = "the Hessian"}

-- {==================== schedule ====================

-- every = k: steps 1, 1 + k, 1 + 2k, ... (Cockpit's linear schedule counts
-- from step 0); "log": steps 1..9, then about 20 per decade (where
-- floor(20 log10 step) changes).
local function schedule(every)
  if every == "log" then
    return function(s)
      return s == 1 or math.floor(20 * math.log(s, 10)) ~= math.floor(20 * math.log(s - 1, 10))
    end
  end
  return function(s) return (s - 1) % every == 0 end
end

-- }====================
-- {==================== construction ====================

local Cb = {}
Cb.__index = Cb

local function clones(list)
  local out = {}
  for k = 1, #list do out[k] = list[k]:clone() end
  return out
end

-- The fit callback for names (a list) every k steps (or "log"); loss is
-- fit's loss option. Errors name the fit option at fault.
function M._callback(names, every, loss)
  if type(names) ~= "table" then
    error("fit: instruments must be a list of names (wb.instruments.economy, ...), got "
      .. tostring(names), 3)
  end
  local on = {}
  for k, n in pairs(names) do
    if math.type(k) ~= "integer" or not KNOWN[n] then
      error(string.format("fit: instruments: unknown instrument %s (expected %s)",
        tostring(n), table.concat(M.NAMES, ", ")), 3)
    end
    on[n] = true
  end
  every = every == nil and 1 or every
  if every ~= "log" and (math.type(every) ~= "integer" or every < 1) then
    error("fit: every must be a positive integer or \"log\", got " .. tostring(every), 3)
  end
  local lossname = loss == nil and "cross_entropy" or loss == "sparse_categorical_crossentropy"
    and "cross_entropy" or loss == "mse" and "mse" or nil
  for n, what in pairs(NEEDS_LOSS) do
    if on[n] and (not lossname or (n == "alpha" and lossname ~= "cross_entropy")) then
      error(string.format("fit: instrument %s needs %s, which are computed for the "
        .. "default cross-entropy%s only, not for loss %s", n, what,
        n == "alpha" and "" or " and mse", tostring(loss)), 3)
    end
  end
  local samples = false
  for n in pairs(on) do samples = samples or NEEDS_SAMPLES[n] or false end
  return setmetatable({on = on, every = every, tracked = schedule(every), loss = lossname,
    samples = samples, sec = {}, calls = {}}, Cb)
end

function Cb:on_train_begin(model)
  self.model = model
  local on = self.on
  local pos = M._dense_positions(model, "fit: instruments")
  local params, grads = model:parameters()
  self.params, self.grads, self.layers = params, grads, {}
  local k = 0
  for j, i in ipairs(pos) do
    local layer = model[i]
    local p, g = layer:parameters()
    -- k: where this layer's parameters start in model:parameters()
    while params[k + 1] ~= p[1] do k = k + 1 end
    self.layers[j] = {i = i, layer = layer, p = p, g = g, k = k, l2 = layer.l2,
      names = {grad_norm = "grad_norm_" .. j, distance = "distance_" .. j,
        update_size = "update_size_" .. j}}
  end
  if on.distance then self.theta0 = clones(params) end
  self.theta = clones(params) -- theta_t of the step
  if on.hess_max or on.hess_trace or on.tic then self.swap = clones(params) end
  if on.alpha then self.dir = clones(params) end
  if on.gsnr then self.sumsq = clones(params) end
  self.exact = (on.hess_trace or on.tic) and M._exact_chain(model, #pos, self.loss) or nil
  if self.exact then self.diag, self.hinputs = clones(params), {} end
  self.hdata = {}
  if self.samples or self.exact then self.ps = M.Scratch() end
  self.hlayers = {}
  for i = 1, #model do self.hlayers[i] = model[i] end
  local h = model.history
  h.instruments = {names = {}, every = self.every, seconds = self.sec, calls = self.calls,
    grad_hist = on.grad_hist and {lo = HIST_LO, hi = HIST_HI, bins = HIST_BINS, step = {},
      counts = {}} or nil,
    hess_trace_method = (on.hess_trace or on.tic) and (self.exact and "exact" or
      "hutchinson") or nil,
    hess_max = on.hess_max and {products = 0, max_residual = 0, tol = LANCZOS_TOL,
      cold = LANCZOS_COLD, warm = LANCZOS_WARM} or nil}
  self.alpha_start = nil
  self.alpha_rec = {}
  for _, n in ipairs(M.NAMES) do
    if on[n] then h.instruments.names[#h.instruments.names + 1] = n end
  end
end

function Cb:on_train_end()
  for _, l in ipairs(self.layers or {}) do M.keep_dz(l.layer, false) end
  if self.hop then self.hop:free(); self.hop = nil end
end

-- }====================
-- {==================== per step ====================

local function timed(self, name, t0)
  local t1 = clock()
  self.sec[name] = (self.sec[name] or 0) + (t1 - t0)
  self.calls[name] = (self.calls[name] or 0) + 1
  return t1
end

function Cb:on_train_batch_begin(step)
  self.track = self.tracked(step)
  self.alpha_end = self.alpha_start ~= nil
  if not (self.track or self.alpha_end) then return end
  local t0 = clock()
  if self.samples then
    for _, l in ipairs(self.layers) do M.keep_dz(l.layer, true) end
  end
  if self.track then
    for k = 1, #self.params do self.theta[k]:copy(self.params[k]) end
  end
  timed(self, "_base", t0)
end

-- Per layer and total norms of list a (or a - b), as logs name_j, name.
local function norms(logs, name, layers, a, b)
  local total, sqdist = 0, M._sqdist
  for j, l in ipairs(layers) do
    local s = 0
    for q = 1, #l.p do
      local k = l.k + q
      s = s + sqdist(a[k], b and b[k])
    end
    logs[l.names[name]] = math.sqrt(s)
    total = total + s
  end
  logs[name] = math.sqrt(total)
end

-- The mean per-sample gradient of layer l's parameter q: the gradient
-- without its L2 term 2 l2 theta_t (a temporary when l2 > 0).
local function gbar(self, l, q)
  local g = l.g[q]
  if q == 1 and l.l2 > 0 then return g - self.theta[l.k + 1] * (2 * l.l2), true end
  return g, false
end

-- Per-sample statistics of the step (norms, projections, losses, hist).
function Cb:_samples(logs, B)
  local on, ps, h = self.on, self.ps, self.model._h
  local t0 = clock()
  local g2 = 0
  for _, l in ipairs(self.layers) do
    local a = h[l.i]
    if on.norm_test or on.ortho_test or on.tic then ps:add_norms(l.layer, a, B) end
    local gw, tw = gbar(self, l, 1)
    g2 = g2 + M._sqdist(gw) + (l.g[2] and M._sqdist(l.g[2]) or 0)
    if on.inner_test or on.ortho_test then ps:add_dot(l.layer, a, B, 1, gw, l.g[2]) end
    if tw then gw:free() end
  end
  local sq = ps:moments("sq")
  local _, p2 = ps:moments("proj1")
  t0 = timed(self, "_samples", t0)
  if on.norm_test then
    logs.norm_test = M.norm_test(B, sq, g2); t0 = timed(self, "norm_test", t0)
  end
  if on.inner_test then
    logs.inner_test = M.inner_test(B, p2, g2); t0 = timed(self, "inner_test", t0)
  end
  if on.ortho_test then
    logs.ortho_test = M.ortho_test(B, sq, p2, g2); t0 = timed(self, "ortho_test", t0)
  end
  if on.gsnr then self:_gsnr(logs, B); t0 = timed(self, "gsnr", t0) end
  if on.grad_hist and self.track then
    for _, l in ipairs(self.layers) do ps:add_hist(l.layer, h[l.i], B, HIST_LO, HIST_HI) end
    local gh = self.model.history.instruments.grad_hist
    gh.step[#gh.step + 1] = logs.step
    gh.counts[#gh.counts + 1] = ps:counts()
    t0 = timed(self, "grad_hist", t0)
  end
  return sq
end

-- Cockpit's MeanGSNR: mean over parameters of g^2 / (E[g_i^2] - g^2 + eps).
function Cb:_gsnr(logs, B)
  local total, count, h, S = 0, 0, self.model._h, self.sumsq
  for _, l in ipairs(self.layers) do
    self.ps:sum_sq(l.layer, h[l.i], B, S[l.k + 1], S[l.k + 2])
    for q = 1, #l.p do
      local k = l.k + q
      if q == 1 and l.l2 > 0 then -- the mean gradient is g - 2 l2 theta_t
        total = total + M._gsnr(l.g[q], S[k], B, GSNR_EPS, self.theta[k], 2 * l.l2)
      else
        total = total + M._gsnr(l.g[q], S[k], B, GSNR_EPS)
      end
      count = count + S[k]:numel()
    end
  end
  logs.gsnr = total / count
end

-- Mean and variance of the slope along a step of length len from the
-- projections in slot ("proj2", "proj3").
local function slope(ps, slot, B, len)
  local s, s2 = ps:moments(slot)
  return s / B / len, (s2 - s * s / B) / (B - 1) / (len * len)
end

-- Alpha: the end of the fit started last step (this batch, theta_{t+1},
-- projected on last step's update), then the start of this step's.
function Cb:_alpha(logs, B)
  local ps, h, t0 = self.ps, self.model._h, clock()
  local z = self.model[#self.model]:logits()
  ps:ce(z, self.ctx.batch_y)
  local fs, fs2 = ps:moments("loss")
  local f, vf = fs / B, (fs2 - fs * fs / B) / (B - 1)
  local a = self.alpha_start
  if a then
    for _, l in ipairs(self.layers) do
      ps:add_dot(l.layer, h[l.i], B, 2, self.dir[l.k + 1], self.dir[l.k + 2])
    end
    local df, vd = slope(ps, "proj2", B, a.t)
    local alpha = M.alpha(a.t, a.f, f, a.df, df, a.vf, vf, a.vd, vd)
    local steps = self.model.history.steps
    local s = steps.alpha or {}
    for r = #s + 1, #steps.step do s[r] = 0 / 0 end
    steps.alpha, s[a.row] = s, alpha
    self.alpha_start = nil
  end
  if self.track then
    local len2 = 0
    for k = 1, #self.params do
      len2 = len2 + M._diff(self.dir[k], self.params[k], self.theta[k])
    end
    local len = math.sqrt(len2)
    for _, l in ipairs(self.layers) do
      ps:add_dot(l.layer, h[l.i], B, 3, self.dir[l.k + 1], self.dir[l.k + 2])
    end
    local df, vd = slope(ps, "proj3", B, len)
    local r = self.alpha_rec -- reused: no table per step
    r.t, r.f, r.vf, r.df, r.vd, r.row = len, f, vf, df, vd, #self.model.history.steps.step + 1
    self.alpha_start = r
  end
  timed(self, "alpha", t0)
end

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
  local lam, res, n = op:top(warm and LANCZOS_WARM or LANCZOS_COLD,
    warm and LANCZOS_WTOL or LANCZOS_TOL, nil, LANCZOS_GRAD)
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
  for i = 1, #self.exact do inputs[i] = h[i] end
  return self.ps:hess_diag(self.exact, inputs, self.diag), 0
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
      logs.tic = (sq / B) / (mean + TIC_EPS)
      timed(self, "tic", t0)
    end
  end
end

-- Hessian instruments at theta_t on this batch (weights swapped in and
-- out; no closure or table per step).
function Cb:_hessian(logs, B, sq)
  local params = self.params
  for k = 1, #params do self.swap[k]:copy(params[k]); params[k]:copy(self.theta[k]) end
  local data = self.hdata
  data.x, data.y = self.ctx.batch_x, self.ctx.batch_y
  local ok, err = pcall(self._hessian_at, self, logs, B, sq, data)
  for k = 1, #params do params[k]:copy(self.swap[k]) end
  if not ok then error(err, 0) end
end

function Cb:on_train_batch_end(step, logs)
  if not (self.track or self.alpha_end) then return end
  local on, B, t0 = self.on, logs.batch_size, clock()
  local track = self.track
  if track then
    self.ctx.record_now = true
    if on.grad_norm then norms(logs, "grad_norm", self.layers, self.grads)
      t0 = timed(self, "grad_norm", t0) end
    if on.distance then norms(logs, "distance", self.layers, self.theta, self.theta0)
      t0 = timed(self, "distance", t0) end
    if on.update_size then norms(logs, "update_size", self.layers, self.params, self.theta)
      t0 = timed(self, "update_size", t0) end
  end
  local sq = 0
  if self.ps then self.ps:begin(B, on.grad_hist and HIST_BINS or 0) end
  if self.samples and track then sq = self:_samples(logs, B) end
  if on.alpha then self:_alpha(logs, B) end
  if track and (on.hess_max or on.hess_trace or on.tic) then self:_hessian(logs, B, sq) end
  if self.samples then
    for _, l in ipairs(self.layers) do M.keep_dz(l.layer, false) end
  end
end

return M
