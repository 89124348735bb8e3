-- wb/instruments_fit.lua: the instruments of model:fit{instruments = {...},
-- every = k | "log"}, a per-step callback (wb.instruments._callback) that
-- fit puts first in its callback list.
--
-- Where the numbers come from. At the end of a step (on_train_batch_end)
-- the parameters already moved to theta_{t+1}, but every layer still holds
-- what step t's forward and backward computed at theta_t: its input a and,
-- with keep_dz set for the step, dL/dz. Per-sample statistics (core/
-- persample.h) are read from those; parameter-based instruments from the
-- optimizer, which sums them (and writes the update alpha needs) in its
-- own update of the measured step (core/optim.h wb_optim_watch), so no
-- copy of theta_t is taken unless a Hessian instrument or a per-sample one
-- with L2 needs one (taken in on_train_batch_begin, or later: instruments_moved);
-- Hutchinson's trace swaps theta_t back in for the call and restores theta_{t+1} after,
-- hess_max, tic and the exact trace read it (Cb:_hessian). Nothing an
-- instrument does reaches training: no random numbers are drawn (the
-- Hessian calls use their own generators), weights are restored bit for
-- bit, and keep_dz only copies a buffer.
--
-- Definitions follow Cockpit (cockpit/quantities/*.py; see wb/instruments.lua
-- for the test statistics and alpha). tic is Cockpit's TICDiag (tic.py,
-- the presets' curvature "diag_h"): sum over parameters j of E[g_ij^2] /
-- (H_jj + 1e-7), H_jj the exact Hessian diagonal (persample.h hess_diag;
-- for relu/linear Dense chains under cross-entropy it is the Gauss-Newton
-- diagonal), refused at fit's start on other models (Cockpit's BackPACK
-- DiagHessian is exact there too, and an estimated diagonal in a
-- denominator is meaningless); tic_trace is TICTrace (Thomas et al. 2020).
-- The trace behind hess_trace and tic_trace is, as in Cockpit, the sum of
-- the exact Hessian diagonal (the trace alone) on such chains
-- (history.instruments.hess_trace_method
-- "exact"); otherwise Hutchinson's estimate ("hutchinson", HESS_PROBES
-- probes in history.instruments.hess_trace_probes, step t's drawn with
-- a seed hashed from the fit's seed s and t (hess_trace_probe_seed "fit
-- seed and step", s in hess_trace_probe_fit_seed: M.probe_seed; a fit
-- without a seed: seed t, "step"), its standard error in
-- hess_trace_se and, carried to first order, tic_trace_se). hess_max, the largest
-- eigenvalue (algebraic, as Cockpit's eigsh "LA"), is three-term
-- Lanczos on the batch's Hessian (op:top, core/hvp_eig.h wb_hvp_top; in the
-- first Dense's row space where it pays, core/hvp_reduce.h: the same value),
-- stopped when the Kato-Temple bound r^2 / (gap |l|) on the eigenvalue's
-- relative error is below tol (cold, at most `cold` products, from the
-- batch gradient) or warm_tol (warm, at most `warm`, from the last Ritz
-- vector and the batch gradient kept apart, band Lanczos of block size 2,
-- core/hvp_band.h: the gradient catches the top two eigenvalues swapping
-- between batches; gradient_weight > 0 turns it on; the constants:
-- wb/instruments_hessian.lua's L); each measured step records the relative
-- residual ||H v - l v|| / |l| of the value it reports (hess_max_residual,
-- from the recurrence), and one above resid_max is redone cold, then NaN
-- if still above (Cb:_hess_max). Alpha uses the
-- optimizer's update: measured, or, with plain SGD and no L2 (history.instruments.update =
-- "sgd"), -lr times the mean gradient, which it is (Cockpit's alpha assumes this); costs at
-- Cb:_project; a hook that moves the weights after it: wb/instruments_moved.lua.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local M = wb.instruments
local clock = wb.sys._time -- the unwrapped clock (bindings/l_sys.c): the library's own timings

local HIST_BINS, HIST_LO, HIST_HI = 64, -1, 1 -- grad_hist: fixed bins over [-1, 1)
-- grad_hist_2d: Cockpit's GradHist2d bins, entries x parameter values
local H2 = {x_bins = 40, x_lo = -1, x_hi = 1, y_bins = 50, y_lo = -2, y_hi = 2}
-- Hutchinson's probes per trace, where the exact diagonal is not computed
-- (history.instruments.hess_trace_probes; wb/instruments_hessian.lua)
local HESS_PROBES = 8
-- Their seed (history.instruments.hess_trace_probe_seed): hashed from the
-- fit's seed and the step's number (M.probe_seed), so steps draw
-- independent probes, and so do fits of other seeds (their estimates' errors
-- were one at each step), reproducibly, none from training's generator; a
-- fit without a seed: the step's number (the fits share probes then)
local PROBE_SEED, PROBE_STEP = "fit seed and step", "step"

local KNOWN = {}
for _, n in ipairs(M.NAMES) do KNOWN[n] = true end
local NEEDS_SAMPLES = {norm_test = true, inner_test = true, ortho_test = true, gsnr = true,
  tic = true, tic_trace = true, grad_hist = true, grad_hist_2d = true, alpha = true}
local NEEDS_LOSS = {alpha = "per-sample losses", tic = "the Hessian", hess_max = "the Hessian",
  hess_trace = "the Hessian", tic_trace = "the Hessian"}

-- {==================== schedule ====================

-- every = k: steps 1, 1 + k, 1 + 2k, ... (Cockpit's linear schedule counts
-- from step 0); "log": steps 1..10, then about 20 per decade (where
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
Cb.__name = "wb.instruments" -- the kind of its saved state (wb/state.lua)
Cb.__fit_errors = true -- its refusals at the start are fit's own (wb/fit_hooks.lua call_cbs)
require("wb.state_fit").leaves_weights[Cb] = true -- its on_train_end: no copy to check it

local function clones(list)
  local out = {}
  for k = 1, #list do out[k] = list[k]:clone() end
  return out
end

-- The fit callback for names (a list) every k steps (or "log"); loss is
-- fit's loss option. Errors name the fit option at fault.
function M._callback(names, every, loss)
  if names == "economy" or names == "full" then names = M[names] end -- as experiments take
  local want = '"economy", "full" or a list of names (wb.instruments.economy, {"grad_norm"}, ...)'
  if type(names) ~= "table" or next(names) == nil then
    local near = type(names) == "string" and wb.spec.nearest(names, {"economy", "full"})
    args.input_fail(string.format("fit: instruments must be %s, got %s%s", want,
      type(names) == "table" and "an empty list" or tostring(names),
      near and (" (did you mean \"" .. near .. "\"?)") or ""), 3)
  end
  local on = {}
  for k, n in pairs(names) do
    if math.type(k) ~= "integer" then
      args.input_fail(string.format("fit: instruments must be %s, got a table with key %s = %s",
        want, tostring(k), tostring(n)), 3)
    elseif not KNOWN[n] then
      local near = type(n) == "string" and wb.spec.nearest(n, M.NAMES)
      args.input_fail(string.format("fit: instruments: unknown instrument %s%s (expected %s)",
        tostring(n), near and (" (did you mean " .. near .. "?)") or "",
        table.concat(M.NAMES, ", ")), 3)
    end
    on[n] = true
  end
  every = every == nil and 1 or every
  -- 1e3 is 1000, as luaL_checkinteger and wb.args take a whole float
  if math.type(every) == "float" then every = math.tointeger(every) or every end
  if every ~= "log" and (math.type(every) ~= "integer" or every < 1) then
    args.input_fail("fit: every must be a positive integer or \"log\", got " .. tostring(every), 3)
  end
  local lossname = loss == nil and "cross_entropy" or loss == "sparse_categorical_crossentropy"
    and "cross_entropy" or loss == "mse" and "mse" or nil
  for n, what in pairs(NEEDS_LOSS) do
    if on[n] and (not lossname or (n == "alpha" and lossname ~= "cross_entropy")) then
      args.input_fail(string.format("fit: instrument %s needs %s, which %s computed for the "
        .. "default cross-entropy%s only, not for %s", n, what, n == "alpha" and "are" or "is",
        n == "alpha" and "" or " and mse", type(loss) == "function"
        and "a loss function of one's own" or "loss " .. tostring(loss)), 3)
    end
  end
  local samples = false
  for n in pairs(on) do samples = samples or NEEDS_SAMPLES[n] or false end
  return setmetatable({on = on, every = every, tracked = schedule(every), loss = lossname,
    samples = samples, sec = {}, calls = {}, sharing = {}}, Cb)
end

function Cb:on_train_begin(model)
  self.model = model
  local on = self.on
  local pos = M._dense_positions(model, "fit: instruments")
  local act = model[#model].activation
  for _, n in ipairs{"tic", "tic_trace", "hess_max", "hess_trace"} do -- core/hvp.c: no softmax with mse
    if on[n] and self.loss == "mse" and act == "softmax" then
      error(string.format("fit: instrument %s needs the Hessian, which is computed for "
        .. "loss mse only with a last layer that is not softmax (this model's last "
        .. "activation is softmax)", n), 0)
    end
  end
  local params, grads = model:parameters()
  self.params, self.grads, self.layers, self.sums = params, grads, {}, {}
  local k = 0
  for j, i in ipairs(pos) do
    local layer = model[i]
    local p, g = layer:parameters()
    -- k: where this layer's parameters start in model:parameters()
    while params[k + 1] ~= p[1] do k = k + 1 end
    self.sums[j] = {0, 0, 0, 0}
    self.layers[j] = {i = i, layer = layer, p = p, g = g, k = k, l2 = layer.l2,
      names = {grad_norm = "grad_norm_" .. j, distance = "distance_" .. j,
        update_size = "update_size_" .. j}}
  end
  if on.distance then self.theta0 = clones(params) end
  local trace = on.hess_trace or on.tic_trace -- the Hessian's trace is taken
  local hess = on.hess_max or trace or on.tic
  -- plain SGD without L2: an update is -lr times the mean gradient
  local cfg = self.ctx and self.ctx.opt and self.ctx.opt:config()
  self.fast = cfg ~= nil and cfg.name == "sgd" and cfg.momentum == 0 and not rawget(M, "_measured_update")
  -- per layer (Cb:_project): its kept batches' pair; under L2 gw, the mean kernel gradient
  -- without L2's term, which strip (lr 2 l2) takes off in place (was 2 new tensors a step)
  local l2 = false
  self.cur = {}
  for j, l in ipairs(self.layers) do
    l2 = l2 or l.l2 > 0
    self.cur[j] = l.l2 > 0 and {gw = l.layer:parameters()[1]:clone(),
      strip = wb.optim.new("sgd", {lr = 2 * l.l2})} or {}
  end
  self.fast = self.fast and not l2
  self.need_sums = on.grad_norm or on.distance or on.update_size or on.alpha or
    on.norm_test or on.inner_test or on.ortho_test
  -- the optimizer sums what they read from the parameters in its own
  -- update, and writes the update for alpha (core/optim.h wb_optim_watch):
  -- a pass of their own cost as much as the update, and the copy of
  -- theta_t it needs as much again. c: 2 l2 of each L2 term (kernels);
  -- only the sums read are taken (each costs about an Adam update).
  -- M._measured_update (for tests) forces that pass and copy instead.
  self.watch = self.need_sums and not rawget(M, "_measured_update") and self.ctx and self.ctx.opt or nil
  if self.watch then
    local c = {}
    for k = 1, #params do c[k] = 0 end
    for _, l in ipairs(self.layers) do c[l.k + 1] = 2 * l.l2 end
    local tests = on.norm_test or on.inner_test or on.ortho_test
    self.watch:_watch(params, self.theta0, c, (on.grad_norm and "g" or "")
      .. (tests and "m" or "") .. (on.distance and "d" or "")
      .. ((on.update_size or on.alpha) and "u" or ""))
    self.watched = {}
  end
  -- two buffers for the update: a step's end of alpha reads the last one
  if on.alpha and not self.fast then self.dir, self.dir_b = clones(params), clones(params) end
  if on.alpha and self.fast then self.gsave = clones(params) end
  self.exact, self.exact_pos = nil, nil
  local why
  if trace or on.tic then self.exact, self.exact_pos, why = M._exact_chain(model, #pos,
    self.loss) end
  M._exact_or_say(on, trace, self.exact, why) -- wb/instruments_hessian.lua
  -- theta_t, copied before each measured step (self.theta), when the
  -- Hessian is taken there (all or some: Cb:_hessian_begin), when the mean
  -- per-sample gradient strips L2's term from it (Cb:_project), or for the
  -- pass of the sums' own (without the watch) when the update is not known
  -- from the gradient (with the Hessian's: as before _hessian_begin)
  self:_hessian_begin(params, hess, trace, on.grad_hist_2d or self.samples and l2 or
    self.need_sums and (hess or not self.watch and not self.fast))
  if self.exact then self.hinputs = {} end
  self.hdata, self.dot_args = {}, {}
  if self.samples or self.exact then self.ps = M.Scratch() end
  self.hlayers = M._hessian_layers(model, hess and (on.hess_max and "hess_max" or on.hess_trace
    and "hess_trace" or on.tic_trace and "tic_trace" or "tic"))
  local h = model.history
  local fit_seed = self.ctx and self.ctx.seed -- nil: a fit without seed
  self.probe_fit_seed = fit_seed -- a resume's: the saved fit's (Cb:set_state)
  -- a resume's saved history holds them: Cb:set_state keeps those
  -- hess_said: this fit said hess_max's unconverged warning (once per fit;
  -- the count in the history may be a resumed fit's first part's)
  self.prev_instr, self.final, self.hess_top, self.hess_said = h.instruments, nil, nil, false
  local t = {names = {}, every = self.every, seconds = self.sec, calls = self.calls,
    grad_hist = on.grad_hist and {lo = HIST_LO, hi = HIST_HI, bins = HIST_BINS, step = {},
      counts = {}} or nil,
    grad_hist_2d = on.grad_hist_2d and {x_lo = H2.x_lo, x_hi = H2.x_hi, x_bins = H2.x_bins,
      y_lo = H2.y_lo, y_hi = H2.y_hi, y_bins = H2.y_bins, step = {}, counts = {}} or nil,
    update = on.alpha and (self.fast and "sgd" or "measured") or nil,
    hess_trace_method = (trace or on.tic) and (self.exact and "exact" or
      "hutchinson") or nil,
    hess_trace_probes = trace and not self.exact and HESS_PROBES or nil,
    hess_trace_probe_seed = trace and not self.exact and (fit_seed and PROBE_SEED
      or PROBE_STEP) or nil,
    hess_trace_probe_fit_seed = trace and not self.exact and fit_seed or nil,
    hess_max = on.hess_max and M._hess_max_record() or nil} -- wb/instruments_hessian.lua
  self.alpha_start = nil
  self.alpha_rec = {}
  for _, n in ipairs(M.NAMES) do
    if on[n] then t.names[#t.names + 1] = n end
  end
  -- the guard keeps it now, before the other hooks (first: this is fit's first callback)
  require("wb.history_guard").set_instruments(h, t)
  self:_moved_begin(model) -- a hook or a Lua layer that may move the weights: checked
end

-- The copies of the parameters (and the kept batches) are released now, not when the
-- collector gets to them: Lua sees only their small boxes, so a script fitting many
-- models would hold every fit's copies and fault in fresh pages for each.
local COPIES = {"theta0", "theta", "swap", "dir", "dir_b", "gsave", "prev", "after"}

function Cb:on_train_end()
  if self.movers then self:_moved_end() end -- the last step's check (instruments_moved)
  if self.watch then self.watch:_watch(nil); self.watch = nil end -- before theta0 goes
  if self.layers then self.kept = nil; self:_keep(false); self:_final() end
  if self.hop then self.hop:free(); self.hop = nil end
  for _, name in ipairs(COPIES) do
    for _, t in pairs(self[name] or {}) do t:free() end -- theta: some (_hessian_begin)
    self[name] = nil
  end
  for _, kept in ipairs(self.cur or {}) do for _, t in pairs{kept.at, kept.gw} do t:free() end end
  self.cur = nil
end

-- }====================
-- {==================== per step ====================

local function timed(self, name, t0)
  local t1 = clock()
  self.sec[name] = (self.sec[name] or 0) + (t1 - t0)
  self.calls[name] = (self.calls[name] or 0) + 1
  return t1
end
Cb._timed = timed

-- Seconds of work shared by several instruments (one pass serving them
-- all), split evenly among those of names that are on; `none` when none is.
-- Which of names are on is found once per list (self.sharing).
local function shared(self, t0, names, none)
  local list = self.sharing[names]
  if not list then
    list = {}
    for i = 1, #names do if self.on[names[i]] then list[#list + 1] = names[i] end end
    self.sharing[names] = list
  end
  local n = #list
  if n == 0 then return timed(self, none, t0) end
  local t1, sec, calls = clock(), self.sec, self.calls
  local part = (t1 - t0) / n
  for i = 1, n do
    local name = list[i]
    sec[name] = (sec[name] or 0) + part
    calls[name] = (calls[name] or 0) + 1
  end
  return t1
end
Cb._shared = shared

-- The one pass of _param_sums serves grad_norm, distance and update_size.
local PARAM_NAMES = {"grad_norm", "distance", "update_size"}
function Cb:_shared_time(t0)
  return shared(self, t0, PARAM_NAMES, "_params")
end

-- keep_dz on (or off) for every Dense layer, when it is not already: a
-- layer keeps its dL/dz for the measured steps and the one after (alpha's
-- end), and only those; toggling it each step was four calls a step.
function Cb:_keep(on)
  if self.kept == on then return end
  for _, l in ipairs(self.layers) do M.keep_dz(l.layer, on) end
  self.kept = on
end

function Cb:on_train_batch_begin(step)
  self.track = self.tracked(step)
  self.alpha_end = self.alpha_start ~= nil
  if not (self.track or self.alpha_end) then return end
  local t0 = clock()
  if self.samples then self:_keep(true) end
  -- the update goes where Cb:_param_sums's swap makes it self.dir
  if self.track and self.watch then self.watch:_arm(self.dir_b) end
  -- theta_t now, or (late) just before the update, after any hook or Lua layer
  if self.track and not self.late then self:_copy_theta() end
  timed(self, "_base", t0)
end

function Cb:on_train_batch_end(step, logs)
  if not (self.track or self.alpha_end) then return end
  local on, B, t0 = self.on, logs.batch_size, clock()
  local track = self.track
  if track then
    self.ctx.record_now = true
    if self.need_sums then
      self:_param_sums(logs.lr)
      t0 = self:_shared_time(t0)
    end
    if on.grad_norm or on.distance or on.update_size then self:_norms(logs) end
    if self.check then self:_moved_mark(step) end
  end
  local sq = 0
  if self.ps then
    self.ps:begin(B, on.grad_hist and HIST_BINS or 0,
      on.grad_hist_2d and H2.x_bins * H2.y_bins or 0)
  end
  if self.ps then
    self:_project(B)
    t0 = timed(self, "_samples", t0)
  end
  if self.samples and track then sq, t0 = self:_samples(logs, B, t0) end
  if on.alpha then self:_alpha(logs, B, t0) end
  if track and (on.hess_max or on.hess_trace or on.tic or on.tic_trace) then
    self:_hessian(logs, B, sq)
  end
  -- the next step reads dL/dz when measured or when it ends alpha's fit
  if self.samples and not (self.tracked(step + 1) or self.alpha_start ~= nil) then
    self:_keep(false)
  end
end

-- the per-sample and parameter statistics (Cb:_param_sums, _project,
-- _samples, _alpha), the Hessian's (Cb:_hessian) and the state
M._Cb, M._HIST, M._HIST2D = Cb, {lo = HIST_LO, hi = HIST_HI, bins = HIST_BINS}, H2
M._HESS_PROBES = HESS_PROBES
require "wb.instruments_samples"
require "wb.instruments_hessian"
require "wb.instruments_state" -- get_state, set_state
require "wb.instruments_moved" -- a move of the weights between steps

-- no return value: package.loaded keeps true, so a traceback names the
-- functions after the module they extend, not after this file
