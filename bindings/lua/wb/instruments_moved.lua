-- wb/instruments_moved.lua: update_size and alpha, and the copies of
-- theta_t, when Lua code of one's own may move the weights outside the
-- optimizer's update (wb/instruments_fit.lua's callback, Cb).
--
-- update_size at step t is ||theta_{t+1} - theta_t||, theta_t the
-- parameters step t's update starts from, after its forward and backward
-- passes (Cockpit reads them there: its two-step UpdateSize); distance reads
-- them there too (the optimizer's watched update, core/optim_watch.c). The
-- optimizer's update is that difference unless something else writes into
-- the parameters before the next update: a hook of the fit's callbacks (a
-- max-norm projection, clipping, an EMA swap) or a Lua layer's forward or
-- backward (a constraint written as a layer, writing into a Dense's
-- kernel). wb's own callbacks, optimizers and C layers never do (there is
-- no clipnorm, clipvalue or kernel constraint option; EarlyStopping
-- restores weights at on_train_end, after the last step; the runner's and
-- wb.train.run's own tables and Lambdas read: state_fit.still), so only a
-- fit with a callback of another kind (a Lambda, a table of one's own) with
-- such a hook, or with a Lua layer in the model, checks. A Lua layer that
-- owns parameters is refused by the instruments (M._dense_positions), so one
-- that moves weights writes into another layer's: no cheap test tells one
-- that does from one that does not (y = 2 x), so any Lua layer arms the
-- check. At a measured step it copies theta_t just before the update (fit
-- calls ctx.pre_update after the backward pass) and theta_t + update at its
-- on_train_batch_end (fit's first callback: before the other hooks), and
-- compares the parameters with the latter, bit for bit, just before the
-- next update (or at on_train_end, after the last step). Equal: the
-- optimizer's numbers stand. Moved: the step's row of history.steps gets
-- the parameter difference's norm as update_size (and update_size_j; the
-- step's hooks saw the update's in logs) and NaN as alpha, whose slopes
-- were taken along the update at step t (redoing them along the difference
-- needs step t's per-sample gradients, gone by then); a warning names the
-- callbacks and layers once per fit. In such fits the copies of theta_t the
-- Hessian instruments, the L2 strip and grad_hist_2d read are taken just
-- before the update too (self.late; Cb:_copy_theta), not at the
-- instruments' on_train_batch_begin, which runs before the other callbacks'.
-- Cost, only in such fits: two copies of the parameters and a compare per
-- measured step (a copy of the baseline's parameters: about 2 % of a step
-- with the economy instruments), and a call per step; other fits: a nil
-- test per step (fit_loop's pre_update local).
local _ENV = require "wb.std"
local wb = require "wb"
local M = wb.instruments
local Cb = M._Cb
local guard = require "wb.history_guard"
local still = require("wb.state_fit").still -- wb's own objects: the runner's, train's
local clock = wb.sys._time -- the unwrapped clock (bindings/l_sys.c): the library's own timings

-- wb's callbacks (by their metatables' names), none of which moves weights
-- between two steps
local STILL = {["wb.instruments"] = true, ["wb.cockpit"] = true,
  ["wb.callbacks.EarlyStopping"] = true, ["wb.callbacks.ReduceLROnPlateau"] = true,
  ["wb.callbacks.LearningRateScheduler"] = true, ["wb.callbacks.CSVLogger"] = true,
  ["wb.callbacks.ModelCheckpoint"] = true}
-- the hooks fit runs between an update and the next
local BETWEEN = {"on_train_batch_end", "on_epoch_end", "on_epoch_begin", "on_train_batch_begin"}

-- What may move the weights between two updates, described as callbacks[i]
-- (the fit option's position) and layer i: the fit's callbacks cbs (the
-- instruments first) with a hook between steps, and the model's Lua layers;
-- nil when nothing may.
local function movers(cbs, self, model)
  local list, off = {}, cbs[1] == self and 1 or 0
  local describe = require("wb.fit_hooks").describe
  for i, cb in ipairs(cbs) do
    local mt = getmetatable(cb)
    local name = type(mt) == "table" and rawget(mt, "__name")
    if not (STILL[name] or still[cb]) then
      for _, hook in ipairs(BETWEEN) do
        if cb[hook] then
          list[#list + 1] = string.format("callbacks[%d] (%s)", i - off, describe(cb, hook))
          break
        end
      end
    end
  end
  for i = 1, #model do -- C layers are userdata; anything else runs Lua code in the step
    if type(model[i]) ~= "userdata" then
      list[#list + 1] = string.format("layer %d (a Lua layer: its forward or backward)", i)
    end
  end
  return #list > 0 and list or nil
end

-- on_train_begin (after Cb:_hessian_begin): whether this fit checks
-- (self.check: update_size or alpha is on), takes its copies of theta_t
-- just before the update (self.late), and its copies.
function Cb:_moved_begin(model)
  local cbs = rawget(model, "_fit_callbacks") or {}
  local check = (self.on.update_size or self.on.alpha) and true or nil
  local late = (self.need_theta or self.theta_k) and true or nil
  self.movers = (check or late) and self.ctx and movers(cbs, self, model) or nil
  self.check = self.movers and check
  self.late = self.movers and late
  self.moved_row, self.moved_warned = nil, nil
  if not self.movers then return end
  if self.check then
    self.prev, self.after = {}, {}
    for k, p in ipairs(self.params) do self.prev[k], self.after[k] = p:clone(), p:clone() end
  end
  self.ctx.pre_update = function() return self:_pre_update() end
end

-- fit's ctx.pre_update: after the step's forward and backward passes,
-- before the optimizer's update.
function Cb:_pre_update()
  if self.moved_row then self:_moved_check() end
  if not self.track then return end
  local t0 = clock()
  if self.check then
    for k = 1, #self.params do self.prev[k]:copy(self.params[k]) end
  end
  if self.late then self:_copy_theta() end
  Cb._timed(self, "_moved", t0)
end

-- A measured step's on_train_batch_end: theta_t + update, which the next
-- update starts from unless something moves it; row: the step's in
-- history.steps (recorded after the hooks).
function Cb:_moved_mark(step)
  for k = 1, #self.params do self.after[k]:copy(self.params[k]) end
  self.moved_row, self.moved_step = #self.model.history.steps.step + 1, step
end

-- The parameters now against theta_t + update: equal, nothing to do;
-- moved, the marked row's update_size from theta_t's copy and its alpha
-- NaN. M._params's fourth sum is sum (theta - theta_t)^2, in double.
function Cb:_moved_check()
  local row, P, A, T = self.moved_row, self.params, self.after, self.prev
  self.moved_row = nil
  local moved = false
  for k = 1, #P do
    local _, _, _, d = M._params(P[k], P[k], A[k], nil, nil, 0)
    if d ~= 0 then moved = true; break end -- d NaN: moved too
  end
  if not moved then return end
  local h = self.model.history
  if self.on.update_size then
    local total = 0
    for _, l in ipairs(self.layers) do
      local u2 = 0
      for k = l.k + 1, l.k + #l.p do
        local _, _, _, d = M._params(P[k], P[k], T[k], nil, nil, 0)
        u2 = u2 + d
      end
      guard.amend(h, l.names.update_size, row, math.sqrt(u2))
      total = total + u2
    end
    guard.amend(h, "update_size", row, math.sqrt(total))
  end
  local a = self.alpha_start
  if a and a.row == row then a.moved = true end -- Cb:_alpha: NaN
  if not self.moved_warned then
    self.moved_warned = true
    io.stderr:write(string.format("fit: instruments: the weights moved after step %d's "
      .. "update, before the next update started (%s may move them): update_size there is "
      .. "||theta_{t+1} - theta_t|| of the parameters, not the update's norm%s (said once "
      .. "per fit; see -h wb.instruments)\n", self.moved_step, table.concat(self.movers, ", "),
      self.on.alpha and ", and alpha NaN (its slopes are along the update)" or ""))
  end
end

-- For Cb:_state and Cb:set_state: a check pending at a save goes on
-- after the resume (the copies by reference, written at once).
function Cb:_moved_state()
  if not self.moved_row then return nil end
  return {row = self.moved_row, step = self.moved_step, prev = self.prev, after = self.after}
end

function Cb:_moved_set(s)
  if not (s and self.check) then return end -- nothing now may move the weights
  for k = 1, #self.params do
    self.prev[k]:copy(s.prev[k])
    self.after[k]:copy(s.after[k])
  end
  self.moved_row, self.moved_step = math.tointeger(s.row), math.tointeger(s.step)
end

-- on_train_end: the last step's check (the parameters fit leaves, before
-- the other callbacks' on_train_end), and fit's ctx without the hook.
function Cb:_moved_end()
  if self.moved_row then self:_moved_check() end
  self.ctx.pre_update = nil
end
