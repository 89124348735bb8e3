-- wb/instruments_state.lua: the fit instruments' state across a resume
-- (model:save_state, fit{resume = path}; wb/state.lua): Cb:get_state and
-- Cb:set_state of wb/instruments_fit.lua's callback.
--
-- What continues: theta0 (distance is measured from the first fit's start),
-- the start of alpha's fit when the last step before the save was measured
-- (its numbers and the update it projects on: the mean gradient for plain
-- SGD, else the measured update) and history.instruments (already in the
-- saved history: kept instead of started afresh; seconds and calls go on
-- adding up). What is equal to rounding only, not bit for bit: the end of
-- that alpha at the first step after the resume when plain SGD kept the
-- last batch's rows in a C pair (Cb:_project: the projections then come
-- from dot products on the saved mean gradient instead), and hess_max from
-- then on (Lanczos warm-starts from its saved Ritz vector, normalised and
-- rounded to float32, not the operator's unnormalised one, so a stop on
-- the tolerance can fall a product earlier or later: values, residuals and
-- history.instruments.hess_max.products agree to the tolerance).
local _ENV = require "wb.std"
local wb = require "wb"
local M = wb.instruments
local Cb = M._Cb

local ALPHA_KEYS = {"t", "f", "vf", "df", "vd", "row", "lr"}

-- The vector the pending alpha start projects on: with plain SGD the step's
-- mean gradient (in self.gsave, else still the parameters' gradient: the
-- step was the last one, and with the kept pair it was never copied),
-- else the measured update.
local function alpha_vector(self)
  if not self.fast then return self.alpha_start.dir end
  for _, l in ipairs(self.layers) do
    for q = 1, #l.g do self.gsave[l.k + q]:copy(l.g[q]) end
  end
  return self.gsave
end

-- The state now (during the fit: tensors by reference, written at once by
-- save_state; at on_train_end the tensors are kept for a save after fit).
function Cb:_state()
  local names = {}
  for _, n in ipairs(M.NAMES) do if self.on[n] then names[#names + 1] = n end end
  local s = {names = names, every = self.every, theta0 = self.theta0,
    hess_warm = self.hess_warm or nil}
  local a = self.alpha_start
  if a then
    s.alpha = {}
    for _, k in ipairs(ALPHA_KEYS) do s.alpha[k] = a[k] end
    s.alpha.dir = alpha_vector(self)
  end
  if self.hop and self.hess_warm then s.hess_top = self.hop:top_vector() end
  s.moved = self:_moved_state() -- a check of a move of the weights, pending
  s.odd = {} -- per layer: its pair was put an odd number of times
  for j, kept in ipairs(self.cur or {}) do s.odd[j] = kept.odd or false end
  return s
end

-- on_train_end: the state a later save_state writes; what it references is
-- not freed (theta0, the alpha vector and hess_max's Ritz vector: up to
-- three copies of the parameters stay with the model until its next fit).
function Cb:_final()
  self.final = self:_state()
  if self.final.theta0 then self.theta0 = nil end
  local a = self.final.alpha
  if a then
    if a.dir == self.gsave then self.gsave = nil end
    if a.dir == self.dir then self.dir = nil end
    if a.dir == self.dir_b then self.dir_b = nil end
  end
end

function Cb:get_state()
  return self.final or self:_state()
end

local function int(v) return math.tointeger(v) or v end

-- The saved history's instruments (read back from JSON: counts as floats)
-- continue: integers where the straight fit has them; what a state saved
-- before they were recorded lacks (the trace's probes and their seed, which
-- eigenvalue hess_max is) is this fit's, which measures the same.
local function continue(self, prev)
  local fresh = self.model.history.instruments
  prev.every = int(prev.every)
  prev.hess_trace_probes = int(prev.hess_trace_probes) or fresh.hess_trace_probes
  prev.hess_trace_probe_seed = prev.hess_trace_probe_seed or fresh.hess_trace_probe_seed
  -- the saved fit's probes go on (a state saved before they were hashed
  -- with the fit's seed, or by a fit without one: the step's number)
  if prev.hess_trace_probe_seed == "step" then prev.hess_trace_probe_fit_seed = nil
  else prev.hess_trace_probe_fit_seed = int(prev.hess_trace_probe_fit_seed) end
  if prev.hess_trace_probe_seed then self.probe_fit_seed = prev.hess_trace_probe_fit_seed end
  prev.seconds, prev.calls = prev.seconds or {}, prev.calls or {}
  for k, v in pairs(prev.calls) do prev.calls[k] = int(v) end
  local gh = prev.grad_hist
  if gh then
    gh.bins, gh.lo, gh.hi = int(gh.bins), int(gh.lo), int(gh.hi)
    for i, v in ipairs(gh.step) do gh.step[i] = int(v) end
  end
  local g2 = prev.grad_hist_2d
  if g2 then
    for _, k in ipairs{"x_lo", "x_hi", "x_bins", "y_lo", "y_hi", "y_bins"} do g2[k] = int(g2[k]) end
    for i, v in ipairs(g2.step) do g2.step[i] = int(v) end
  end
  local hm = prev.hess_max
  if hm then
    for _, k in ipairs{"products", "cold", "warm", "gradient_weight"} do hm[k] = int(hm[k]) end
    hm.row_space = int(hm.row_space or 0) -- a state saved before it was recorded: 0
    hm.redone, hm.unconverged = int(hm.redone or 0), int(hm.unconverged or 0) -- likewise
    hm.resid_max = hm.resid_max or fresh.hess_max and fresh.hess_max.resid_max
    hm.eigenvalue = hm.eigenvalue or fresh.hess_max and fresh.hess_max.eigenvalue
  end
  self.sec, self.calls = prev.seconds, prev.calls
  require("wb.history_guard").set_instruments(self.model.history, prev) -- and kept
end

-- After on_train_begin, on resume: the instruments must be the saved fit's
-- (the same names and schedule), errors say so.
function Cb:set_state(s)
  local names = table.concat(s.names or {}, ", ")
  local mine = table.concat(self.model.history.instruments.names, ", ")
  if names ~= mine or s.every ~= self.every then
    error(string.format("fit: resume: the saved fit measured instruments {%s} every %s, "
      .. "this fit asks for {%s} every %s (give the saved fit's instruments and every)",
      names, tostring(s.every), mine, tostring(self.every)), 0)
  end
  if s.theta0 and self.theta0 then
    for k = 1, #self.theta0 do self.theta0[k]:copy(s.theta0[k]) end
  end
  if s.alpha then
    local r = self.alpha_rec
    for _, k in ipairs(ALPHA_KEYS) do r[k] = s.alpha[k] end
    local v = self.fast and self.gsave or self.dir
    for k = 1, #v do v[k]:copy(s.alpha.dir[k]) end
    r.dir = v
    self.alpha_start = r
  end
  self:_moved_set(s.moved)
  for j, odd in ipairs(s.odd or {}) do self.cur[j].odd, self.cur[j].flip = odd, odd end
  self.hess_warm = s.hess_warm or nil
  self.hess_top = s.hess_top
  if self.prev_instr then continue(self, self.prev_instr) end
  self.prev_instr = nil
end
