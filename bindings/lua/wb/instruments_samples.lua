-- wb/instruments_samples.lua: the per-step statistics of the fit
-- instruments (wb/instruments_fit.lua's callback, Cb): the one pass over
-- the parameters (gradient norm, distance, update size), the per-sample
-- projections, Cockpit's test statistics, GSNR, the gradient histogram and
-- alpha. Definitions and where the numbers come from: the header of
-- wb/instruments_fit.lua and wb/instruments.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local M = wb.instruments
local Cb = M._Cb
local timed = Cb._timed
local HIST_LO, HIST_HI = M._HIST.lo, M._HIST.hi
local sqrt = math.sqrt
local GSNR_EPS = 1e-5 -- Cockpit's stabiliser
local TESTS = {"norm_test", "inner_test", "ortho_test"}
-- the Scratch's accumulators by slot number (l_instruments.c ps_moments)
local SQ, PROJ1, PROJ2, PROJ3, LOSS = 1, 2, 3, 4, 5

-- A tensor's sums redone in double (persample.h wb_persample_params, a
-- pass over it) when the float32 blocks of the update's sums overflowed
-- (an entry past about 1.8e19: a run exploding; inf, or NaN): g2 always
-- (the gradient is still there), m2 too (with L2, theta_t is kept whenever
-- a per-sample instrument reads it: Cb:_hessian_begin), d2 and u2 where
-- theta_t is kept, u2 from the update kept for alpha, or from g2 with
-- plain SGD (fast); what cannot be redone keeps its inf or NaN, visibly no
-- number. Only such a step pays the pass.
local function redo(self, k, c, lr, m2, d2, u2)
  local T = self.need_theta and self.theta or nil
  local G, P, T0 = self.grads, self.params, self.theta0
  local e1, e2, e3, e4 = M._params(G[k], P[k], T and T[k], T and T0 and T0[k], nil, c, 0)
  if T then return e1, e2, e3, e4 end
  if c == 0 then m2 = e1 end -- else unread: no per-sample instrument is on
  if self.fast then u2 = lr * lr * e1
  elseif self.dir then u2 = M._params(self.dir[k], P[k], nil, nil, nil, 0, 0) end
  return e1, m2, d2, u2
end

-- The parameter sums of the step, per Dense layer j (the update's own,
-- core/optim.h wb_optim_watch; else persample.h wb_persample_params, one
-- pass over each tensor): sums[j] = {g2, m2, d2, u2} (squared norms of the
-- gradient, of the mean per-sample gradient, of theta_t - theta0 and of
-- the update); the update is in self.dir when alpha needs it (the other
-- buffer keeps the last step's, whose end alpha still has to read).
-- Reused tables: nothing allocated per step.
function Cb:_param_sums(lr)
  if self.dir then self.dir, self.dir_b = self.dir_b, self.dir end
  local per = self.watch and self.watch:_watched(self.watched)
  local w = self.watched
  if per == 2 then -- plain SGD without L2: the rest follows from g2
    local layers = self.layers
    for j = 1, #layers do -- numeric loops here: each ipairs step is a C call
      local l = layers[j]
      local g2, d2 = 0, 0
      for k = l.k + 1, l.k + #l.p do
        local gk, dk = w[2 * k - 1], w[2 * k]
        if (gk + dk) * 0 ~= 0 then -- inf or NaN
          local e1, _, e3 = redo(self, k, 0, lr, gk, dk, 0)
          gk, dk = e1, e3
        end
        g2, d2 = g2 + gk, d2 + dk
      end
      local s = self.sums[j]
      s[1], s[2], s[3], s[4] = g2, g2, d2, lr * lr * g2
    end
    return
  end
  if self.watch and not per and not self.fast then
    error("instruments: the optimizer did not measure the step's update", 0)
  end
  local P, G, T0, D = self.params, self.grads, self.theta0, self.dir
  local T = self.need_theta and self.theta or nil -- else theta_t = theta + lr g (plain SGD)
  local layers = self.layers
  for j = 1, #layers do
    local l = layers[j]
    local s = self.sums[j]
    s[1], s[2], s[3], s[4] = 0, 0, 0, 0
    for q = 1, #l.p do
      local k = l.k + q
      local g2, m2, d2, u2
      if per then
        local b = 4 * (k - 1)
        g2, m2, d2, u2 = w[b + 1], w[b + 2], w[b + 3], w[b + 4]
      else
        g2, m2, d2, u2 = M._params(G[k], P[k], T and T[k], T0 and T0[k], D and D[k],
          q == 1 and 2 * l.l2 or 0, lr)
      end
      if (g2 + m2 + d2 + u2) * 0 ~= 0 then -- one of them inf or NaN
        g2, m2, d2, u2 = redo(self, k, q == 1 and 2 * l.l2 or 0, lr, m2, d2, u2)
      end
      s[1], s[2], s[3], s[4] = s[1] + g2, s[2] + m2, s[3] + d2, s[4] + u2
    end
  end
end

-- Per layer and total norms of the step's sums, as logs name_j and name,
-- for those of grad_norm (slot 1), distance (3) and update_size (4) that
-- are on, in that order: one call, the names listed once per fit.
local NORMS = {{"grad_norm", 1}, {"distance", 3}, {"update_size", 4}}
function Cb:_norms(logs)
  local sums, layers, list = self.sums, self.layers, self.norm_list
  if not list or list.layers ~= layers then
    list = {layers = layers}
    for _, nc in ipairs(NORMS) do
      if self.on[nc[1]] then
        local names = {}
        for j = 1, #layers do names[j] = layers[j].names[nc[1]] end
        list[#list + 1] = {nc[1], nc[2], names}
      end
    end
    self.norm_list = list
  end
  for q = 1, #list do
    local e = list[q]
    local name, c, names, total = e[1], e[2], e[3], 0
    for j = 1, #layers do
      local v = sums[j][c]
      logs[names[j]] = sqrt(v)
      total = total + v
    end
    logs[name] = sqrt(total)
  end
end

-- The per-sample projections g_i . v the step needs: slot 1 on the mean
-- gradient (inner and orthogonality tests), 2 on the last measured update
-- (the end of alpha's fit), 3 on this update (its start). Up to GRAM_MAX
-- rows, projections on a mean gradient come from products of per-sample
-- gradients (persample.h wb_persample_cross: the layer's last two batches
-- kept in a pair, one walk over each row's non-zeros for both: at least
-- two 16-float vectors per non-zero above 16 rows), above it, and for
-- layers of at most 16 outputs (one such vector per non-zero, e.g. the
-- baseline's last), from walking the vector's rows for each sample
-- (wb_persample_dots). With plain
-- SGD and no L2 (self.fast) an update is -lr times the mean gradient, so
-- slot 3 is slot 1 (times -lr in Cb:_alpha) and slot 2 the projection on
-- the last measured batch's mean gradient (its rows, the pair's older
-- batch, or the gradient in self.gsave); otherwise slots 2 and 3 walk the
-- updates.
local GRAM_MAX = 64

function Cb:_project(B)
  local on, h, args, a, ps = self.on, self.model._h, self.dot_args, self.alpha_start, self.ps
  local fast, gram = self.fast, B <= GRAM_MAX
  local mean = self.track and (on.inner_test or on.ortho_test or (on.alpha and fast))
  local start = self.track and on.alpha
  local layers = self.layers
  for j = 1, #layers do
    local l = layers[j]
    local x, n, gw = h[l.i], 0, nil
    local kept = self.cur[j] -- the pair sits in .at, which on_train_end frees
    if kept.wide == nil then kept.wide = l.layer.n_out > 16 end
    -- put: this batch joins the pair; last: the last measured batch is in it
    local put = mean and gram and (kept.wide or B <= 16)
    local last = a and fast and kept.put
    if (put or last) and not kept.at then kept.at = M._pair() end
    -- which half a put fills alternates (persample.h); a resumed fit's new
    -- pair puts once more first when the saved fit had put an odd number
    -- of times, so that the sums run in the same order (instruments_state)
    if put and kept.flip then ps:add_cross(l.layer, x, kept.at, true, 1, 0) end
    if put then kept.odd, kept.flip = not kept.odd, nil end
    if put and last then -- the newest is this batch, the older the last one
      ps:add_cross(l.layer, x, kept.at, true, 1, B, 2, B)
    elseif put then
      ps:add_cross(l.layer, x, kept.at, true, 1, B)
    elseif last then -- the newest is the last measured batch
      ps:add_cross(l.layer, x, kept.at, false, 2, B)
    end
    if mean and not put then -- the mean per-sample gradient: without L2's 2 l2 theta_t
      gw = l.g[1]
      if l.l2 > 0 then -- in kept.gw, made at on_train_begin: nothing allocated here
        if not kept.gw_list then kept.gw_list, kept.th_list = {kept.gw}, {self.theta[l.k + 1]} end
        gw = kept.gw:copy(gw)
        kept.strip:step(kept.gw_list, kept.th_list)
      end
      args[1], args[2], args[3], n = 1, gw, l.g[2], 3
    end
    if a and not last then
      local v = fast and self.gsave or a.dir
      args[n + 1], args[n + 2], args[n + 3], n = 2, v[l.k + 1], v[l.k + 2], n + 3
    end
    if start and not fast then
      args[n + 1], args[n + 2], args[n + 3], n = 3, self.dir[l.k + 1], self.dir[l.k + 2], n + 3
    end
    if n == 3 then -- the arguments spelt out: table.unpack is one more C call
      ps:add_dot(l.layer, x, B, args[1], args[2], args[3])
    elseif n == 6 then
      ps:add_dot(l.layer, x, B, args[1], args[2], args[3], args[4], args[5], args[6])
    elseif n == 9 then
      ps:add_dot(l.layer, x, B, args[1], args[2], args[3], args[4], args[5], args[6],
        args[7], args[8], args[9])
    end
    if start and fast and not put then -- this step's mean gradient, for the end of its alpha
      for q = 1, #l.g do self.gsave[l.k + q]:copy(l.g[q]) end
    end
    if start then kept.put = put end
  end
end

-- Cockpit's test statistics (wb.instruments.norm_test, inner_test,
-- ortho_test: their definitions there), unchecked: the callback passes its
-- own numbers at every measured step, where the public functions' checks
-- were ten C calls.
-- A variance is >= 0 (Cauchy-Schwarz): one that rounding puts below 0
-- (every row's gradient the same) is 0, not the NaN of its root, which
-- history.steps could not tell from a step not measured. A sum that is inf
-- or NaN (float32 sums past their range: an exploding run) gives NaN: that
-- clamp, and a division by an inf g2, made them a silent 0.
function M._norm_test(B, sq, g2)
  if B < 2 or g2 == 0 or (sq + g2) * 0 ~= 0 then return 0 / 0 end
  local var_l1 = (sq - B * g2) / (B - 1)
  return sqrt((var_l1 > 0 and var_l1 or 0) / B / g2)
end

function M._inner_test(B, p2, g2)
  if B < 2 or g2 == 0 or (p2 + g2) * 0 ~= 0 then return 0 / 0 end
  local var = (p2 - B * g2 * g2) / (B - 1)
  return sqrt((var > 0 and var or 0) / B / (g2 * g2))
end

function M._ortho_test(B, sq, p2, g2)
  if B < 2 or g2 == 0 or (sq + p2 + g2) * 0 ~= 0 then return 0 / 0 end
  local var = (sq - p2 / g2) / (B - 1)
  return sqrt((var > 0 and var or 0) / B / g2)
end

-- Per-sample statistics of the step (norms, projections, losses, hist);
-- t0: when its timing starts. Returns the sum of the squared norms and
-- when the timing ended.
function Cb:_samples(logs, B, t0)
  local on, ps, h = self.on, self.ps, self.model._h
  local g2, layers = 0, self.layers
  for j = 1, #layers do
    local l = layers[j]
    local a = h[l.i]
    if on.norm_test or on.ortho_test or on.tic_trace then ps:add_norms(l.layer, a, B) end
    g2 = g2 + self.sums[j][2]
  end
  local sq, _, _, p2 = ps:moments(SQ, PROJ1)
  t0 = timed(self, "_samples", t0)
  -- the three tests are a few operations each: timed once, shared
  if on.norm_test then logs.norm_test = M._norm_test(B, sq, g2) end
  if on.inner_test then logs.inner_test = M._inner_test(B, p2, g2) end
  if on.ortho_test then logs.ortho_test = M._ortho_test(B, sq, p2, g2) end
  t0 = self:_shared(t0, TESTS, "_samples")
  if on.gsnr then self:_gsnr(logs, B); t0 = timed(self, "gsnr", t0) end
  if on.grad_hist and self.track then
    for j = 1, #layers do
      local l = layers[j]
      ps:add_hist(l.layer, h[l.i], B, HIST_LO, HIST_HI)
    end
    local gh = self.model.history.instruments.grad_hist
    gh.step[#gh.step + 1] = logs.step
    gh.counts[#gh.counts + 1] = ps:counts()
    t0 = timed(self, "grad_hist", t0)
  end
  if on.grad_hist_2d and self.track then -- against theta_t, the gradient's weights
    local T, H2 = self.theta, M._HIST2D
    for j = 1, #layers do
      local l = layers[j]
      ps:add_hist2d(l.layer, h[l.i], B, T[l.k + 1], #l.p > 1 and T[l.k + 2] or nil,
        H2.x_bins, H2.x_lo, H2.x_hi, H2.y_bins, H2.y_lo, H2.y_hi)
    end
    local h2d = self.model.history.instruments.grad_hist_2d
    h2d.step[#h2d.step + 1] = logs.step
    h2d.counts[#h2d.counts + 1] = ps:counts2d()
    t0 = timed(self, "grad_hist_2d", t0)
  end
  return sq, t0
end

-- Cockpit's MeanGSNR: mean over parameters of g^2 / (E[g_i^2] - g^2 + eps);
-- NaN for one row, where the variance is undefined (Cockpit's 0 makes it
-- g^2 / eps: 1e5 g^2, a spike at a last batch of one row), as the tests'.
-- g is the mean per-sample gradient (L2's term is no sample's), g and the
-- variance from sums of the same per-sample products, in double where the
-- variance is small (persample.h wb_persample_gsnr_layer: float32 sums
-- left a variance of 0 off by 1e-9).
function Cb:_gsnr(logs, B)
  if B < 2 then logs.gsnr = 0 / 0; return end
  local total, count, h = 0, 0, self.model._h
  for _, l in ipairs(self.layers) do
    total = total + self.ps:gsnr(l.layer, h[l.i], B, GSNR_EPS)
    for q = 1, #l.p do count = count + l.p[q]:numel() end
  end
  logs.gsnr = total / count
end

-- Mean and variance of the slope along a step of length len from the sum s
-- and sum of squares s2 of the projections (a slot's moments), times c. The
-- variance of one row is NaN (M._alpha is then NaN): its 0 / 0 can round to
-- +-x / 0.
local function slope(s, s2, B, len, c)
  s, s2 = s * c, s2 * c * c
  return s / B / len, B < 2 and 0 / 0 or (s2 - s * s / B) / (B - 1) / (len * len)
end

-- Alpha: the end of the fit started last step (this batch, theta_{t+1},
-- projected on last step's update), then the start of this step's; t0:
-- when its timing starts.
function Cb:_alpha(logs, B, t0)
  local ps, lr = self.ps, logs.lr
  local z = self.model[#self.model]:logits()
  ps:ce(z, self.ctx.batch_y)
  local a, track, fast = self.alpha_start, self.track, self.fast
  -- the moments of the losses and of the projections the step reads, in
  -- one call: the end's (proj2) and the start's (proj1 with plain SGD, the
  -- update a multiple of the mean gradient; else proj3)
  local fs, fs2, es, es2, ss, ss2
  local slot = fast and PROJ1 or PROJ3
  if a and track then
    fs, fs2, es, es2, ss, ss2 = ps:moments(LOSS, PROJ2, slot)
  elseif a then
    fs, fs2, es, es2 = ps:moments(LOSS, PROJ2)
  elseif track then
    fs, fs2, ss, ss2 = ps:moments(LOSS, slot)
  else
    fs, fs2 = ps:moments(LOSS)
  end
  local f, vf = fs / B, B < 2 and 0 / 0 or (fs2 - fs * fs / B) / (B - 1)
  if a then
    local df, vd = slope(es, es2, B, a.t, fast and -a.lr or 1)
    -- NaN when the weights moved after the update (wb/instruments_moved.lua)
    local alpha = a.moved and 0 / 0 or M._alpha(a.t, a.f, f, a.df, df, a.vf, vf, a.vd, vd)
    local steps = self.model.history.steps
    local s = steps.alpha or {}
    for r = #s + 1, #steps.step do s[r] = 0 / 0 end
    steps.alpha, s[a.row] = s, alpha
    self.alpha_start = nil
  end
  if track then
    -- this step's alpha is known at the next one: NaN in its row until then
    -- (as a series missing from the logs gets)
    logs.alpha = 0 / 0
    local len2, c = 0, 1
    for j = 1, #self.layers do len2 = len2 + self.sums[j][fast and 2 or 4] end
    local len = math.sqrt(len2)
    if fast then -- the update is -lr times the mean gradient (Cb:_project)
      c, len = -lr, lr * len
    end
    local df, vd = slope(ss, ss2, B, len, c)
    local r = self.alpha_rec -- reused: no table per step
    r.t, r.f, r.vf, r.df, r.vd, r.row = len, f, vf, df, vd, #self.model.history.steps.step + 1
    r.dir, r.lr, r.moved = self.dir, lr, nil
    self.alpha_start = r
  end
  timed(self, "alpha", t0)
end
