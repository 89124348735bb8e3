-- wb/grad_check.lua: fit checks the gradients written by hand on its first
-- batch against central differences of the values they belong to: a loss
-- function of one's own (fit{loss = function(output, labels) -> value,
-- grad_output}) and the backward of a Lua layer in the model (a table with
-- forward, backward, parameters, zero_grad). A wrong one (a missing 1 / n
-- of the mean, a flipped sign, zeros, a forgotten term) otherwise trains
-- without a word to other numbers than the model's. Not public: wb.losses
-- and fit call it; fit's option grad_check = false turns it off, for a
-- gradient that is a surrogate on purpose (a straight-through estimator).
--
-- The directions: the gradient itself (whose derivative, |g|, is large
-- against rounding) and a fixed random one (seed CHECK_SEED; the global
-- generator's state is put back, so training draws what it drew before).
-- Under a softmax last layer a loss's directions have each row's mean
-- removed: the softmax's backward drops a constant added to a row of the
-- gradient, so a gradient that differs from the loss's by one (the loss
-- divides a row by its sum, the gradient ignores it) trains exactly right
-- and is not called wrong. Step H in the units of what moves, TOL
-- relative: a wrong gradient is off by a factor or more; rounding of
-- float32 values is far below.
local _ENV = require "wb.std"
local wb = require "wb"
local M = {}

local H, TOL, CHECK_SEED = 1e-2, 0.05, 20261204

local function number_of(v)
  if type(v) ~= "number" and v ~= nil and v.numel and v:numel() == 1 then return v:item() end
  return v
end

local function dot(a, b) return (a * b):sum() end

-- d with each row's mean removed (d [n, C]).
local function centre_rows(d)
  local dt = d:t()
  return (dt - dt:mean(1)):t()
end

-- A standard normal tensor shaped like t from the check's own seed.
local function randn_like(t)
  local state = wb.rng_state()
  wb.seed(CHECK_SEED)
  local r = wb.randn(table.unpack(t:shape()))
  wb.set_rng_state(state)
  return r
end

-- A hint for a ratio of the gradient's slope to the value's.
local function hint(ratio, n)
  local function near(x) return math.abs(ratio - x) <= 0.05 * math.abs(x) end
  if near(-1) then return "; the gradient's sign is flipped" end
  if near(n) and n > 1 then
    return string.format("; the gradient is %d (the batch size) times too large: a mean over "
      .. "rows needs its 1 / n", n)
  end
  if near(1 / n) and n > 1 then
    return string.format("; the gradient is 1 / %d (the batch size) of the value's: the "
      .. "value is a mean, the gradient divided by n twice?", n)
  end
  return ""
end

-- The unit directions to check along: g's (in the span of g, whose slope
-- is large) and r's; each with what to call it.
local function directions(g, r)
  local out = {}
  local gn = math.sqrt(dot(g, g))
  if gn > 0 then out[1] = {u = g * (1 / gn), what = "the gradient's direction"} end
  local rn = math.sqrt(dot(r, r))
  if rn > 0 then out[#out + 1] = {u = r * (1 / rn), what = "a random direction"} end
  return out, gn
end

-- Raises (prefix: what is checked) unless g agrees with the value's slope
-- along each direction: slope(u) the central difference, v the value (its
-- rounding), n the rows (for the hint).
local function compare(prefix, g, dirs, gn, slope, v, n)
  for _, d in ipairs(dirs) do
    local want, got = slope(d.u), dot(g, d.u)
    if want and want == want and math.abs(want) < math.huge
        and math.abs(got - want) > TOL * math.max(math.abs(want), gn) + 1e-4 * math.abs(v)
        + 1e-12 then
      error(string.format("%s along %s u, (value(x + h u) - value(x - h u)) / 2h = %.6g "
        .. "(h = %g), but sum(gradient * u) = %.6g%s (a gradient that is a surrogate on "
        .. "purpose: fit{grad_check = false})", prefix, d.what, want, H, got,
        want ~= 0 and hint(got / want, n) or ""), 0)
    end
  end
end

-- {==================== a loss function ====================

-- Raises (fname: fit) when grad g of fn's value v at out disagrees with the
-- value's central differences; softmax: the model's last layer is one.
function M.loss(fname, fn, out, y, v, g, softmax)
  if out:dim() ~= 2 then return end
  local gg, r = softmax and centre_rows(g) or g, randn_like(out)
  if softmax then r = centre_rows(r) end
  local dirs, gn = directions(gg, r)
  compare(fname .. ": the loss function's gradient does not match its value on the first "
    .. "batch:", g, dirs, gn, function(u)
    local vp, vm = number_of(fn(out + u * H, y)), number_of(fn(out - u * H, y))
    if type(vp) ~= "number" or type(vm) ~= "number" then return nil end
    return (vp - vm) / (2 * H)
  end, v, out:shape()[1])
end

-- }====================
-- {==================== a Lua layer's backward ====================

local is_tensor = require("wb.fit_args").is_tensor

-- What forward may change in layer L: its fields, tensors by content, and
-- tables of them (two levels down), to be put back after the check.
local function snapshot(t, depth)
  local s = {}
  for k, v in next, t do -- raw: no __pairs, no __index, no __newindex here
    if is_tensor(v) then s[k] = {tensor = v, copy = v:clone()}
    elseif type(v) == "table" and depth > 0 and getmetatable(v) == nil then
      s[k] = {table = v, fields = snapshot(v, depth - 1)}
    else s[k] = {value = v} end
  end
  return s
end

local function restore(t, s)
  for k in next, t do if s[k] == nil then rawset(t, k, nil) end end
  for k, e in next, s do
    if e.tensor then e.tensor:copy(e.copy); rawset(t, k, e.tensor)
    elseif e.table then restore(e.table, e.fields); rawset(t, k, e.table)
    else rawset(t, k, e.value) end
  end
end

-- Layer i (L, a Lua table) of fit's model: its backward's input gradient and
-- parameter gradients at x (its input on the first batch, training on)
-- against central differences of sum(w * forward(x)), w a fixed random
-- cotangent. Each forward runs from the same generator state, so that a
-- layer that draws (a dropout of its own) draws alike; L's fields, its
-- parameters and the generator are put back.
local function check_layer(i, L, x)
  local state, saved = wb.rng_state(), snapshot(L, 2)
  local params, grads = {}, {} -- parameters and zero_grad are optional, as Sequential's
  if L.parameters then params, grads = L:parameters() end
  local function zero() if L.zero_grad then L:zero_grad() end end
  local kept = {}
  for k, p in ipairs(params) do kept[k] = p:clone() end
  wb.seed(CHECK_SEED)
  local fstate = wb.rng_state()
  local function fwd(xx) wb.set_rng_state(fstate); return L:forward(xx, true) end
  local ok, err = pcall(function()
    local w = randn_like(fwd(x))
    zero()
    fwd(x)
    local gx = L:backward(x, w, true)
    local g = {}
    for k, gk in ipairs(grads) do g[k] = gk:clone() end
    local function s_at(xx) return dot(w, fwd(xx)) end
    local where = string.format("fit: layer %d (a Lua layer): its backward does not match its "
      .. "forward on the first batch:", i)
    if is_tensor(gx) then
      local dirs, gn = directions(gx, randn_like(x))
      compare(where .. " the gradient w.r.t. its input,", gx, dirs, gn, function(u)
        return (s_at(x + u * H) - s_at(x - u * H)) / (2 * H) end, s_at(x), x:shape()[1])
    end
    for k, p in ipairs(params) do
      local dirs, gn = directions(g[k], randn_like(p))
      compare(string.format("%s the gradient of its parameter %d,", where, k), g[k], dirs, gn,
        function(u)
          p:copy(kept[k] + u * H)
          local sp = s_at(x)
          p:copy(kept[k] - u * H)
          local sm = s_at(x)
          p:copy(kept[k])
          return (sp - sm) / (2 * H)
        end, s_at(x), x:shape()[1])
    end
  end)
  for k, p in ipairs(params) do p:copy(kept[k]) end
  zero()
  restore(L, saved)
  wb.set_rng_state(state)
  if not ok then error(err, 0) end
end

-- Checks every Lua layer of model on the first rows of train (a batch of
-- bs), before fit's first step. The layers before one make its input with
-- training off (a dropout draws nothing); the generator is put back.
function M.layers(model, train, bs)
  local lua = {}
  for i = 1, #model do if type(model[i]) == "table" then lua[#lua + 1] = i end end
  if #lua == 0 then return end
  local count = math.min(bs, #train)
  local idx = {}
  for r = 1, count do idx[r] = r end
  local x = train:batch(wb.tensor(idx), 1, count)
  local state = wb.rng_state()
  local at = 1
  local ok, err = pcall(function()
    for _, i in ipairs(lua) do
      for j = at, i - 1 do x = model[j]:forward(x, false):clone() end
      at = i
      check_layer(i, model[i], x)
    end
  end)
  wb.set_rng_state(state)
  if not ok then error(err, 0) end
end

-- }====================

return M
