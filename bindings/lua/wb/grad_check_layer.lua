-- wb/grad_check_layer.lua: fit checks the backward of a Lua layer in the
-- model (a table with forward, backward and optionally parameters,
-- zero_grad) against central differences of its forward, on the first
-- batch and on a batch of the short last one's size (a backward that
-- hard-codes n is wrong there only). What is differenced is s(x, p) =
-- sum(w * forward(x)), w a fixed random cotangent, so that backward(x, w)
-- is s's gradient w.r.t. the input x and (through parameters()) w.r.t.
-- each parameter.
--
-- As for a loss (wb/grad_check.lua), never along the gradient's own
-- direction: along it a backward with rows zeroed, its last row skipped or
-- a scale of 1.03 agrees, and a single random direction sees one entry's
-- error as 1 / sqrt(entries) of its slope. So the input gradient and each
-- parameter's are checked entry by entry (2 forwards an entry), at most
-- ENTRIES of each, whole rows (the first and the last always, others from
-- the check's own generator), then along DIRS random +-1 directions over
-- all entries (what the entries left out share). Not public: fit calls
-- M.layers (through wb.grad_check.layers).
local _ENV = require "wb.std"
local wb = require "wb"
local gc = require "wb.grad_check"
local M = {}

local is_tensor = require("wb.fit_args").is_tensor
local generator, chosen, hint, ratio_of = gc._generator, gc._chosen, gc._hint, gc._ratio_of
local CHECK_SEED, DIRS = gc.CHECK_SEED, 4
-- Step HL (times |x| beyond 1): a forward is float32 throughout, so its
-- rounding over the step weighs more than a loss's; at 1e-2 a smooth
-- layer's truncation (h^2 f''' / 6) stays near 1e-5 of the slope. Past
-- the allowance (half the gap of the one-sided slopes: a kink, a
-- curvature; ULPS float32 roundings of each output that moved, of |w y|,
-- over the step) an entry may differ by TOL_ENTRY = 1 % of its slope (a
-- scale of 1.03 is 3 %, a zero 100 %); below FLOOR of the largest slope it
-- is not called wrong. A direction: TOL_DIR = 5 % of the larger slope.
local HL, TOL_ENTRY, FLOOR, TOL_DIR, ULPS = 1e-2, 0.01, 1e-3, 0.05, 16 * 2 ^ -24

local function dot(a, b) return (a * b):sum() end

-- {==================== the layer's fields, put back ====================

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

-- }====================
-- {==================== entries and directions ====================

-- t as a matrix [rows, rest] sharing its storage (a 1-D t: one entry a row).
local function as_rows(t)
  local n = t:shape()[1]
  return t:reshape(n, t:numel() // n)
end

-- The slope of s along a move: move(sign) sets the point at +-h (sign 1,
-- -1; 0 puts it back) and returns the size of the step taken; the slopes
-- forward, backward and central, and the allowance for rounding.
local function slopes(s_at, move, y0, w)
  local dp = move(1); local yp = s_at()
  local dm = move(-1); local ym = s_at()
  move(0)
  local vp, vm, v0 = dot(w, yp), dot(w, ym), dot(w, y0)
  local moved = (yp - ym):abs():sign()
  local round = ULPS * ((w:abs() * (yp:abs() + ym:abs())) * moved):sum()
  return (vp - v0) / dp, (v0 - vm) / dm, (vp - vm) / (dp + dm), round / (dp + dm)
end

-- Each chosen entry of g (a clone of the gradient) against the slope of s
-- when the same entry of t (the input's copy or the parameter) moves.
local function entry_list(t, g, s_at, y0, w, rand)
  local tr, gr = as_rows(t), as_rows(g)
  local shape = tr:shape()
  local list = {}
  for _, r in ipairs(chosen(shape[1], shape[2], rand)) do
    for _, j in ipairs(r.cols) do
      local x0 = tr:get(r.i, j)
      local h = HL * math.max(1, math.abs(x0))
      local f, b, d, round = slopes(s_at, function(sign)
        tr:set(r.i, j, x0 + sign * h)
        return math.abs(tr:get(r.i, j) - x0)
      end, y0, w)
      if d == d and math.abs(d) < math.huge then
        list[#list + 1] = {i = r.i, j = j, g = gr:get(r.i, j), d = d,
          w = math.abs(f - b) / 2 + round}
      end
    end
  end
  return list
end

local SURROGATE = " (s = sum(w * forward(x)), w a fixed random cotangent, its gradient "
  .. "backward(x, w, true) as a layer's backward(x, grad_y, need_grad_input) is called; a "
  .. "backward that is a surrogate on purpose: fit{grad_check = false})"

local function check_entries(where, name, list, n)
  local top = 0
  for _, e in ipairs(list) do top = math.max(top, math.abs(e.d)) end
  local bad, rows, seen = {}, {}, {}
  for _, e in ipairs(list) do
    if math.abs(e.g - e.d) > e.w + TOL_ENTRY * math.abs(e.d) + FLOOR * top then
      bad[#bad + 1] = e
      if not seen[e.i] then seen[e.i] = true; rows[#rows + 1] = e.i end
    end
  end
  if #bad == 0 then return end
  local more = #rows > 8 and ", ..." or ""
  rows = table.move(rows, 1, math.min(#rows, 8), 1, {})
  local e, r = bad[1], ratio_of(bad)
  error(string.format("%s %d of the %d entries checked disagree (rows %s%s); at %s[%d, %d], "
    .. "(s(+h) - s(-h)) / 2h = %.6g (h = %g), but the gradient is %.6g%s%s%s", where, #bad,
    #list, table.concat(rows, ", "), more, name, e.i, e.j, e.d, HL, e.g,
    r and string.format("; over them the gradient is %.4g times the slope", r) or "",
    r and hint(r, n) or "", SURROGATE), 0)
end

-- DIRS random +-1 directions u over all of t's entries.
local function check_directions(where, t, g, s_at, y0, w, rand, n)
  local kept = t:clone()
  for _ = 1, DIRS do
    local s = {}
    for k = 1, t:numel() do s[k] = rand(2) == 1 and HL or -HL end
    local u = wb.tensor(s):reshape(table.unpack(t:shape()))
    local f, b, want, round = slopes(s_at, function(sign)
      t:copy(kept + u * sign)
      return 1
    end, y0, w)
    local got = dot(g, u) / HL
    want = want / HL
    local tol = TOL_DIR * math.max(math.abs(want), math.abs(got)) + round / HL
      + math.abs(f - b) / HL / 2
    if want == want and math.abs(want) < math.huge and math.abs(got - want) > tol then
      error(string.format("%s along a random direction u (entries +-1), (s(x + h u) - "
        .. "s(x - h u)) / 2h = %.6g (h = %g), but sum(gradient * u) = %.6g%s%s", where, want, HL,
        got, want ~= 0 and hint(got / want, n) or "", SURROGATE), 0)
    end
  end
end

-- }====================
-- {==================== a layer ====================

-- The field of L holding p, for the message ("" when none does).
local function field_of(L, p)
  for k, v in next, L do
    if rawequal(v, p) and type(k) == "string" then return " (" .. k .. ")" end
  end
  return ""
end

-- Why L's backward may be wrong in its signature, not its arithmetic (tryN 4: a
-- backward(gy) took the input x as gy, and the message said its gradient was -0.0036 times
-- the slope, offering grad_check = false): its parameters other than self, when fewer than
-- (x, grad_y), or gx, what it returned, equal to x, its input. "" when neither.
local function signature_note(L, gx, x)
  local f, names = L.backward, {}
  local info = type(f) == "function" and debug.getinfo(f, "u")
  if info and not info.isvararg and info.nparams < 3 then
    for k = 2, info.nparams do names[#names + 1] = debug.getlocal(f, k) end
    return string.format(" (its backward takes (%s) after self; it is called as "
      .. "backward(x, grad_y, need_grad_input), so its first argument was the input x)",
      table.concat(names, ", "))
  end
  if gx and gx:numel() == x:numel() and gx:numel() > 0
      and (gx:reshape(gx:numel()) - x:reshape(x:numel())):abs():max() == 0 then
    return " (the gradient w.r.t. its input it returned equals the input x: backward is "
      .. "called as backward(x, grad_y, need_grad_input), a backward(grad_y) takes x for grad_y)"
  end
  return ""
end

-- Layer i (L) at x (its input, training on): its backward's gradients
-- against s's central differences. Each forward runs from the same
-- generator state (a dropout of its own draws alike); L's fields, its
-- parameters and the generator are put back.
local function check_layer(i, L, x, what)
  local state, saved = wb.rng_state(), snapshot(L, 2)
  local params, grads = {}, {} -- parameters and zero_grad are optional, as Sequential's
  if L.parameters then params, grads = L:parameters() end
  -- one list alone failed below as a bare "attempt to index a nil value"
  if type(params) ~= "table" or type(grads) ~= "table" or #params ~= #grads then
    error(string.format("fit: layer %d (a Lua layer): parameters() must return two lists of "
      .. "tensors, its parameters and their gradients ({}, {} for none), got %s and %s", i,
      type(params) == "table" and #params .. " parameters" or type(params),
      type(grads) == "table" and #grads .. " gradients" or type(grads)), 0)
  end
  local function zero() if L.zero_grad then L:zero_grad() end end
  local kept = {}
  for k, p in ipairs(params) do kept[k] = p:clone() end
  wb.seed(CHECK_SEED)
  local fstate = wb.rng_state()
  local xx = x:clone()
  local function fwd() wb.set_rng_state(fstate); return L:forward(xx, true):clone() end
  local ok, err = pcall(function()
    local y0 = fwd()
    local w = wb.randn(table.unpack(y0:shape()))
    zero()
    fwd()
    local gx = L:backward(xx, w, true)
    gx = is_tensor(gx) and gx:clone() or nil
    local g = {}
    for k, gk in ipairs(grads) do g[k] = gk:clone() end
    local n = x:shape()[1]
    local rand = generator(CHECK_SEED + n)
    local where = string.format("fit: layer %d (a Lua layer): its backward does not match its "
      .. "forward on %s (%d rows)%s:", i, what, n, signature_note(L, gx, xx))
    if gx and x:numel() > 0 then
      local at = where .. " the gradient w.r.t. its input,"
      check_entries(at, "input", entry_list(xx, gx, fwd, y0, w, rand), n)
      check_directions(at, xx, gx, fwd, y0, w, rand, n)
    end
    for k, p in ipairs(params) do
      if p:numel() > 0 then
        local name = string.format("its parameter %d%s", k, field_of(L, p))
        local at = string.format("%s the gradient of %s,", where, name)
        check_entries(at, "parameter " .. k, entry_list(p, g[k], fwd, y0, w, rand), n)
        check_directions(at, p, g[k], fwd, y0, w, rand, n)
      end
    end
  end)
  for k, p in ipairs(params) do p:copy(kept[k]) end
  zero()
  restore(L, saved)
  wb.set_rng_state(state)
  if not ok then error(err, 0) end
end

-- Checks every Lua layer of model on the first bs rows of train and, when
-- the last batch is short, on its last #train % bs rows (that size), before
-- fit's first step. The layers before one make its input with training
-- off (a dropout draws nothing); the generator is put back.
function M.layers(model, train, bs)
  local lua = {}
  for i = 1, #model do if type(model[i]) == "table" then lua[#lua + 1] = i end end
  if #lua == 0 then return end
  local batches = {{1, math.min(bs, #train), "the first batch"}}
  if #train > bs and #train % bs ~= 0 then
    batches[2] = {#train - #train % bs + 1, #train, "a batch of the short last one's size"}
  end
  local state = wb.rng_state()
  local ok, err = pcall(function()
    for _, b in ipairs(batches) do
      local idx = {}
      for r = b[1], b[2] do idx[#idx + 1] = r end
      local x = train:batch(wb.tensor(idx), 1, #idx)
      local at = 1
      for _, i in ipairs(lua) do
        for j = at, i - 1 do x = model[j]:forward(x, false):clone() end
        at = i
        check_layer(i, model[i], x, b[3])
      end
    end
  end)
  wb.set_rng_state(state)
  if not ok then error(err, 0) end
end

-- }====================

return M
