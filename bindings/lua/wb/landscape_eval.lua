-- wb/landscape_eval.lua: the loss at points of a cut through the surface,
-- for wb.landscape (wb/landscape.lua has the directions and trajectories):
-- 1-D and 2-D slices around a point, linear interpolation between two
-- weight vectors and its barrier (Goodfellow et al. 2015; Frankle et al.
-- 2020). Each point is one model:evaluate over the data; the weights move
-- there in place by SGD steps (p <- p - lr g), as tensor arithmetic
-- allocates per operation, costlier than a forward pass at this size, and
-- are put back afterwards (also on error).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local M = wb.landscape
local options, check_list = args.options, M._check_list

-- {==================== evaluating points ====================

-- x, y of data (a dataset, or {x = tensor, y = labels}: wb.args.data_xy),
-- y as model:evaluate takes it: without y, evaluate(x) would score against
-- labels of 0. Float class ids (as wb.hessian takes them) become uint8
-- labels (checked integers in 0..C-1), since evaluate takes uint8 only.
local function data_xy(fname, model, data)
  local x, y = args.data_xy(fname, data, 4)
  if x:dim() == 0 or x:size(1) == 0 then -- else evaluate's error, from this file's line
    args.input_fail(fname .. ": data: expected at least 1 row, got none", 4)
  end
  if y:dim() >= 1 and y:size(1) ~= x:size(1) then
    args.input_fail(string.format("%s: data.y: expected %d labels (one per row of x), got %d",
      fname,
      x:size(1), y:size(1)), 4)
  end
  if y:dtype() == "uint8" then return x, y end
  if y:dim() ~= 1 then
    args.input_fail(string.format("%s: data.y: expected class labels [n] (uint8, or float class "
      .. "ids), got %s %s", fname, y:dtype(), tostring(y):match("%b[]") or "[]"), 4)
  end
  local C = math.min(require("wb.arch").member(model[#model], "n_out") or 256, 256)
  local ids = args.class_ids(fname, y, C, "", 4)
  local labels = wb.new_tensor({#ids}, "uint8")
  for i, v in ipairs(ids) do labels:set(i, v) end
  return x, labels
end

-- A walker moves the model's parameters to origin + sum_k c_k dir_k in
-- place: copy, then one SGD step per non-zero coordinate with lr = |c_k|
-- and gradient -dir_k (c_k > 0) or dir_k (c_k < 0). It evaluates there,
-- counts the passes and puts the saved weights back when done.
local function walker(fname, model, data, origin, dirs, loss)
  args.check(fname, 1, model, "wb.Sequential", 4)
  args.check(fname, 2, data, "wb.Dataset|table", 4)
  local ps = model:parameters()
  check_list(fname, 3, origin, ps)
  local neg = {}
  for k, d in ipairs(dirs) do
    check_list(fname .. ": direction " .. k, 3, d, ps)
    neg[k] = {}
    for i = 1, #d do neg[k][i] = -d[i] end
  end
  local w = {model = model, ps = ps, saved = model:get_weights(), passes = 0}
  local sgd = wb.optim.new("sgd", {lr = 0})
  local x, y = data_xy(fname, model, data)
  -- not given: the loss the model was trained with, as wb.hessian's (an mse
  -- model's surface drawn in cross-entropy's, evaluate's default: tryN)
  if loss == nil then
    local rec = rawget(model, "_fit_record")
    loss = rec and (require("wb.fit_args").loss_of(rec) or rec.loss) -- a function: itself
      or rawget(model, "_trained_loss")
  end
  local eval_opts = {loss = loss}
  function w.at(coords)
    for i = 1, #ps do ps[i]:copy(origin[i]) end
    for k, c in ipairs(coords) do
      if c ~= 0 then
        sgd.lr = math.abs(c)
        sgd:step(ps, c > 0 and neg[k] or dirs[k])
      end
    end
    -- a coordinate far enough out overflows float32: the loss there would
    -- be NaN, and the accuracy that of NaN rows, without a word
    local at = {}
    for k, c in ipairs(coords) do at[k] = string.format("%.17g", c) end
    at = fname == "interpolate" and "t = " .. at[1] or "(" .. table.concat(at, ", ") .. ")"
    for i = 1, #ps do
      if not args.finite(ps[i]:sum()) and not pcall(args.check_finite, fname, "", ps[i], 1) then
        error(string.format("%s: at %s parameter %d is not finite in float32 (it overflows "
          .. "past 3.4e38): expected a range whose points keep the weights finite", fname,
          at, i), 0)
      end
    end
    return w.eval(at)
  end
  function w.eval(at)
    w.passes = w.passes + 1
    local r = model:evaluate(x, y, eval_opts)
    if not args.finite(r.loss) then
      error(string.format("%s: the loss at %s is %s: the forward pass overflows float32 "
        .. "there, or the weights or data hold NaN; expected a range whose points keep "
        .. "the loss finite", fname, at or "t = 1 (the weights `to`)", r.loss ~= r.loss and "NaN" or tostring(r.loss)),
        0)
    end
    return r.loss, r.accuracy
  end
  function w.run(f) -- f(), then the saved weights back, also on error
    local ok, err = pcall(f)
    model:set_weights(w.saved)
    if not ok then -- evaluate's message, said to come from this call, not this file
      if wb.is_error(err) then error(err, 0) end -- (the core's, as it is)
      -- (an input error, the kind args' checks raise, stays one: its text is reworded;
      -- fname's prefix is put once: removed, then put back)
      err = args.reprefix(err, "", "^[^\n:]*landscape_eval%.lua:%d+: ")
      error(args.reprefix(err, fname .. ": ", "^" .. fname .. ": "), 0)
    end
  end
  return w
end

-- The grid of `points` values over range (opts[what]): finite ends lo < hi
-- (an infinite end would put NaN weights on the grid).
local function axis(fname, range, points, what)
  range = range or {-1, 1}
  local lo, hi = type(range) == "table" and range[1], type(range) == "table" and range[2]
  if type(lo) ~= "number" or type(hi) ~= "number" or not (lo < hi)
      or not (args.finite(lo) and args.finite(hi)) then
    args.input_fail(string.format("%s: %s: expected {lo, hi} with lo < hi (finite numbers), got %s",
      fname, what or "range", type(range) == "table" and "{" .. tostring(lo) .. ", "
      .. tostring(hi) .. "}" or tostring(range)), 3)
  end
  points = math.type(points) == "float" and math.tointeger(points) or points -- 21.0 is 21
  if math.type(points) ~= "integer" or points < 2 then
    args.input_fail(fname .. ": points: expected an integer >= 2, got " .. tostring(points), 3)
  end
  local xs = {}
  for i = 1, points do
    xs[i] = range[1] + (range[2] - range[1]) * (i - 1) / (points - 1)
    if math.abs(xs[i]) < 1e-12 * (range[2] - range[1]) then xs[i] = 0 end
  end
  return xs
end

---wb.landscape.slice(model, data, opts) -> table
---The loss and accuracy of model on data at origin + a d1 (1-D, one
---direction) or origin + a d1 + b d2 (2-D, two), on a grid of `points`
---values per axis spaced evenly over range. opts: dirs ({d1} or {d1, d2},
---required), origin (default: the model's weights), range ({-1, 1}),
---yrange (the second axis's, default range), points (21), loss (evaluate's
---loss option; default: the loss the model was trained with, when it knows it (its
---last fit, or a run's model), else cross-entropy, as wb.hessian's). The grid includes 0 when the range does, where the
---weights are exactly origin. Returns {x, loss, accuracy} (1-D: lists),
---or {x, y, loss, accuracy} (2-D: loss[j][i] at (x[i], y[j])), and passes
---(points evaluated). The model's weights are restored afterwards. A point
---whose weights or loss overflow float32 (NaN) is an error naming it.
---@param model wb.Sequential
---@param data wb.Dataset|table
---@param opts table
---@return table
---Example: local s = wb.landscape.slice(m, ds, {dirs = {d1, d2}, points = 11})
function M.slice(model, data, opts)
  args.check("slice", 1, model, "wb.Sequential") -- before its weights are read
  args.check("slice", 3, opts, "table")
  options("slice", 3, opts, {"dirs", "loss", "origin", "points", "range", "yrange"})
  local dirs = opts.dirs
  if type(dirs) ~= "table" or (#dirs ~= 1 and #dirs ~= 2) then
    args.input_fail("slice: dirs: expected a list of one or two directions", 2)
  end
  local origin = opts.origin or model:get_weights()
  local w = walker("slice", model, data, origin, dirs, opts.loss)
  local xs = axis("slice", opts.range, opts.points or 21)
  local out = {x = xs, loss = {}, accuracy = {}}
  w.run(function()
    if #dirs == 1 then
      for i, a in ipairs(xs) do out.loss[i], out.accuracy[i] = w.at{a} end
    else
      out.y = axis("slice", opts.yrange or opts.range, opts.points or 21,
        opts.yrange and "yrange" or "range")
      for j, b in ipairs(out.y) do
        out.loss[j], out.accuracy[j] = {}, {}
        for i, a in ipairs(xs) do out.loss[j][i], out.accuracy[j][i] = w.at{a, b} end
      end
    end
  end)
  out.passes = w.passes
  return out
end

-- The positions of t = 0 and t = 1 in the list ts (nil where absent): an
-- interpolation's ends, where the weights are exactly from and to, and
-- what its barrier is measured against.
local function ends(ts)
  local i0, i1
  for i, t in ipairs(ts) do
    if t == 0 then i0 = i elseif t == 1 then i1 = i end
  end
  return i0, i1
end

---wb.landscape.interpolate(model, data, from, to, opts) -> table
---Loss and accuracy along the line (1 - t) from + t to at `points` values
---of t spaced evenly over range ({0, 1}: from one end to the other;
---{-0.5, 1.5} also looks beyond). At t = 0 and t = 1 the weights are
---exactly from and to. opts: points (21), range, loss (as slice's). Returns {t, loss,
---accuracy, passes}; the model's weights are restored afterwards. A point
---whose weights or loss overflow float32 (NaN) is an error naming it.
---Example: local c = wb.landscape.interpolate(m, ds, w_init, w_final)
function M.interpolate(model, data, from, to, opts)
  opts = options("interpolate", 5, opts, {"loss", "points", "range"})
  args.check("interpolate", 1, model, "wb.Sequential")
  check_list("interpolate", 4, to, model:parameters())
  check_list("interpolate", 3, from, model:parameters())
  local delta = {}
  for i = 1, #from do delta[i] = to[i] - from[i] end
  local w = walker("interpolate", model, data, from, {delta}, opts.loss)
  local ts = axis("interpolate", opts.range or {0, 1}, opts.points or 21)
  local out = {t = ts, loss = {}, accuracy = {}}
  local _, i1 = ends(ts)
  w.run(function()
    for i, t in ipairs(ts) do
      if i == i1 then
        model:set_weights(to)
        out.loss[i], out.accuracy[i] = w.eval()
      else
        out.loss[i], out.accuracy[i] = w.at{t}
      end
    end
  end)
  out.passes = w.passes
  return out
end

---wb.landscape.barrier(curve) -> table
---The barrier of an interpolation (wb.landscape.interpolate with t = 0
---and t = 1 among its points), as Frankle et al. 2020 define it: the
---largest value along the path minus the mean of the two ends'. Returns
---{error, loss} (error = 1 - accuracy) and error_at, loss_at (the t of the
---maximum), ends = {error0, error1}.
---@param curve table
---@return table
---Example: print(wb.landscape.barrier(c).error)
function M.barrier(curve)
  args.check("barrier", 1, curve, "table")
  -- interpolate's {t, loss, accuracy}, each a list of numbers, one per t (a
  -- curve without accuracy failed inside: "attempt to index a nil value")
  for _, k in ipairs{"t", "loss", "accuracy"} do
    local v = curve[k]
    if type(v) ~= "table" then
      args.input_fail(string.format("barrier: curve.%s: expected a list of numbers (as "
        .. "wb.landscape.interpolate returns), got %s", k, args.typename(v)), 2)
    end
    if #v ~= #curve.t then
      args.input_fail(string.format("barrier: curve.%s has %d values for %d t, expected one per t",
        k,
        #v, #curve.t), 2)
    end
    for i = 1, #v do
      if type(v[i]) ~= "number" then
        args.input_fail(string.format("barrier: curve.%s[%d]: expected a number, got %s", k, i,
          args.typename(v[i])), 2)
      end
    end
  end
  local i0, i1 = ends(curve.t)
  if not (i0 and i1) then
    args.input_fail("barrier: the curve has no point at t = 0 and t = 1", 2)
  end
  local out = {ends = {1 - curve.accuracy[i0], 1 - curve.accuracy[i1]}}
  local e_mid = (out.ends[1] + out.ends[2]) / 2
  local l_mid = (curve.loss[i0] + curve.loss[i1]) / 2
  local emax, lmax = -math.huge, -math.huge
  for i, t in ipairs(curve.t) do
    if t >= 0 and t <= 1 then
      local e = 1 - curve.accuracy[i]
      if e > emax then emax, out.error_at = e, t end
      if curve.loss[i] > lmax then lmax, out.loss_at = curve.loss[i], t end
    end
  end
  out.error, out.loss = emax - e_mid, lmax - l_mid
  return out
end

-- }====================
