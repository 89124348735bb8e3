-- wb/hessian_ops.lua: what the functions of wb.hessian (wb/hessian.lua)
-- share: their options' checks, the C operator over a model and data
-- (wb.hessian.Operator, bindings/l_hessian.c) and the calls of its methods
-- with their errors prefixed and raised at the public function's caller.
-- Private: not part of wb's API. Error levels count from the public
-- function (a helper raising at level 3 names its caller's caller).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
-- a mistake in the call: printed alone, at the caller's line, no traceback
local fail = args.input_fail
local arch = require "wb.arch"

local M = {}

local COMMON = {loss = "string", precision = "string", max_rows = "integer", l2 = "boolean"}
-- seed is the own option of the functions that draw random numbers (own.seed); hvp, hvps
-- and full draw none, and took it without effect (tryY 6)
local SEEDED = "eigs (its start vector, without v0), trace and density (their probes)"
local INT_MAX = 2147483647

-- opts checked against COMMON plus `own` (key -> type); unknown keys are
-- errors naming the valid ones. Returns a copy in which the counts are Lua
-- integers (k = 1e3 is 1000, as luaL_checkinteger takes it; 2.5 is refused).
local function check_opts(fname, pos, opts, own)
  local keys = {}
  for name in pairs(own) do keys[#keys + 1] = name end
  for name in pairs(COMMON) do keys[#keys + 1] = name end
  table.sort(keys)
  if not own.seed and type(opts) == "table" and rawget(opts, "seed") ~= nil then
    args.input_fail(string.format("%s: option 'seed': %s draws no random numbers, so a seed "
      .. "would change nothing; the functions that draw them take it: %s", fname, fname,
      SEEDED), 3)
  end
  local given = args.options(fname, pos, opts, keys, 4)
  opts = {}
  for k, v in pairs(given) do
    local want = own[k] or COMMON[k]
    if want ~= "any" then args.option(fname, k, v, want, 4) end
    -- the core takes C ints: 2^32 + 1 would arrive as 1 (k) or a negative
    -- count (probes), and its message would be about that number (max_bytes
    -- is full's own, compared in Lua)
    if want == "integer" and k ~= "seed" and k ~= "max_bytes" and v > INT_MAX then
      fail(string.format("%s: %s: expected at most %d, got %.0f", fname, k, INT_MAX, v), 3)
    end
    opts[k] = want == "integer" and math.tointeger(v) or v
  end
  local p = opts.precision or "float32"
  if p ~= "float32" and p ~= "float64" then
    fail(fname .. ": precision: expected 'float32' or 'float64', got '" .. p .. "'", 3)
  end
  local l = opts.loss or "cross_entropy"
  if l ~= "cross_entropy" and l ~= "mse" then
    fail(fname .. ": loss: expected 'cross_entropy' or 'mse', got '" .. l .. "'", 3)
  end
  if opts.max_rows and opts.max_rows < 1 then
    fail(fname .. ": max_rows: expected >= 1, got " .. opts.max_rows, 3)
  end
  return opts
end

-- The types of model (#1) and data (#2), checked first by every public
-- function, before its other arguments and before any work.
local function check_model_data(fname, model, data)
  args.check(fname, 1, model, "wb.Sequential", 4)
  args.check(fname, 2, data, "wb.Dataset|table", 4)
end

local fin = args.finite

-- mse's targets as fit's mse loss takes them: class ids y [N] (a dataset's
-- labels) become one-hot rows [N, C], C the last Dense's width; float
-- targets [N, C] pass unchanged (core checks their shape).
local function mse_targets(fname, model, y)
  if y:dim() ~= 1 then return y end
  local C
  for i = #model, 1, -1 do
    if arch.kind_of(model[i]) == "Dense" then C = model[i].n_out; break end
  end
  if not C then return y end
  local t = wb.zeros(#y, C)
  for i, v in ipairs(args.class_ids(fname, y, C, " (mse's targets are one-hot rows of the "
      .. "class ids, as in fit)", 4)) do
    t:set(i, v + 1, 1)
  end
  return t
end

-- A layer as the operator of the data loss alone (opts.l2 = false) takes
-- it: the core adds each Dense's 2 l2 I on its kernel (core/hvp.c, reading
-- the layer's l2), so a Dense with l2 > 0 is replaced, for this operator
-- only, by a copy with l2 = 0 holding the same weights (init "zeros": no
-- draw from the global generator). Its products are then those of the same
-- model built without L2, bit for bit; the copy costs the layer's weights.
local function data_only(layer)
  if args.typename(layer) ~= "wb.Dense" or layer.l2 == 0 then return layer end
  local d = wb.nn.Dense(layer.n_in, layer.n_out, {activation = layer.activation,
    bias = layer.use_bias, init = "zeros"})
  d.weight:copy(layer.weight)
  if layer.use_bias then d.bias:copy(layer.bias) end
  return d
end

-- The Hessian's loss for a model trained with fit's loss l (a name; a
-- function's description): the loss it was trained with.
local TRAINED = {sparse_categorical_crossentropy = "cross_entropy",
  categorical_crossentropy = "cross_entropy", mse = "mse"}

-- The loss when opts.loss is not given: the one the model was trained with
-- when it knows it (its last fit's record, _fit_record; a run's model:
-- _trained_loss, wb/run.lua), else cross-entropy. Under another it was
-- trained with (hinge, a function) the call is refused: cross-entropy's
-- numbers would pass for that loss's curvature.
function M.default_loss(fname, model, level)
  local rec = rawget(model, "_fit_record")
  local l = rec and rec.loss or rawget(model, "_trained_loss")
  if l == nil or TRAINED[l] then return TRAINED[l] or "cross_entropy" end
  fail(string.format("%s: loss: the model was trained with loss %s, whose Hessian is not "
    .. "computed (only cross-entropy's and mse's): give loss = \"cross_entropy\" or \"mse\" "
    .. "to measure one of those", fname, tostring(l)), level + 1)
end

-- The operators computing in double (precision = "float64"): call's message on overflow
local float64 = setmetatable({}, {__mode = "k"})

-- The C operator over model's layers and data, at the current weights
-- (opts.l2 = false: of the data loss alone, data_only); opts.loss nil: the
-- model's training loss (M.default_loss).
local function operator(fname, model, data, opts)
  local trained = opts.loss == nil -- its training loss: a refusal says so
  if trained then opts.loss = M.default_loss(fname, model, 3) end
  local x, y = args.data_xy(fname, data, 3)
  if #model == 0 then fail(fname .. ": model: expected at least one layer (a Dense last)", 3) end
  if opts.loss == "mse" then y = mse_targets(fname, model, y) end
  args.check_finite(fname, "x", x, 3)
  if opts.loss == "mse" then args.check_finite(fname, "y", y, 3) end
  local params = model:parameters()
  args.check_finite_params(fname, params, 3)
  local layers = {}
  for i = 1, #model do layers[i] = opts.l2 == false and data_only(model[i]) or model[i] end
  -- Keras's Dense then Activation("softmax") under cross-entropy is the
  -- fused head fit trains it as (wb/fit_args.lua head_logits): the core
  -- takes a linear last Dense under cross-entropy as logits, the same
  -- function, so the Activation (no parameters) is left out
  local last, before = layers[#layers], layers[#layers - 1]
  if (opts.loss or "cross_entropy") == "cross_entropy" and arch.kind_of(last) == "Activation"
      and last.activation == "softmax" and before and arch.kind_of(before) == "Dense"
      and before.activation == "linear" then
    layers[#layers] = nil
  end
  -- at least 1: no rows at all is for the core to name (x), not max_rows
  local rows = opts.max_rows or math.max(1, math.min(#x, 4096))
  local ok, op = pcall(wb.hessian.Operator, layers, x, y, opts.loss or "cross_entropy",
    opts.precision == "float64", rows, opts.seed or 1)
  if not ok then
    local why = trained and opts.loss == "mse" and " (loss mse: the loss the model was "
      .. "trained with, the default without loss)" or ""
    if wb.is_error(op) then
      error(wb.Error{code = op.code, message = fname .. ": " .. op.message .. why,
        path = op.path}, 0)
    end
    error(fname .. ": " .. tostring(op) .. why, 3)
  end
  float64[op] = opts.precision == "float64" or nil
  return op
end

-- Are v's numbers finite (v a number, tensor, boolean or list of these)?
local function finite(v)
  if type(v) == "table" then
    for i = 1, #v do if not finite(v[i]) then return false end end
    return true
  end
  if args.typename(v) == "wb.Tensor" then v = v:sum() end -- in double: see args.check_finite
  return type(v) ~= "number" or fin(v)
end

-- Does v (as finite takes it) hold a NaN? (|t| sums an infinity to one, a NaN to NaN)
local function has_nan(v)
  if type(v) == "table" then
    for i = 1, #v do if has_nan(v[i]) then return true end end
    return false
  end
  if args.typename(v) == "wb.Tensor" then v = v:abs():sum() end
  return v ~= v
end

-- op:method(...), its failures prefixed with fname and raised at the caller
-- of the public function (a wb.Error keeps its code). Finite inputs can
-- still overflow (x of 1e38 makes infinite logits): a NaN or infinite
-- result is an error, never returned.
local function call(fname, op, method, ...)
  local res = table.pack(pcall(op[method], op, ...))
  local got = table.pack(table.unpack(res, 2, res.n))
  if res[1] and not finite(got) then
    -- in double, a result beyond float32's range (infinities, no NaN) is finite until it is
    -- stored in the float32 tensors returned: blaming the loss misled (tryY 6)
    local what = float64[op] and not has_nan(got) and "the result overflows float32: "
      .. "computed in double (precision = \"float64\") it is finite, but some of its values "
      .. "are beyond float32's range (about 3.4e38), and the tensors returned are float32"
      or "the result is not finite: the loss or its derivatives overflow at these weights "
      .. "and data (float32 ends near 3.4e38)"
    error(wb.Error{code = "ENONFINITE", message = fname .. ": " .. what}, 0)
  end
  if res[1] then return table.unpack(res, 2, res.n) end
  local err = res[2]
  if wb.is_error(err) then
    error(wb.Error{code = err.code, message = fname .. ": " .. err.message,
      path = err.path}, 0)
  end
  error(fname .. ": " .. tostring(err), 3)
end

-- The tensors of a list v shaped like the parameters must be finite (their
-- shapes and types are the core's to check, naming the tensor).
local function check_vector(fname, what, v)
  for i = 1, #v do
    if args.typename(v[i]) == "wb.Tensor" then
      args.check_finite(fname, what .. ": tensor " .. i, v[i], 3)
    end
  end
end

-- A layer option: a model position with parameters (a Dense's); the error
-- lists them, and says what is at the position given.
local function check_layer(fname, model, layer)
  if layer == nil then return nil end
  if layer < 1 or layer > #model or model[layer].kind ~= "Dense" then
    local dense = {}
    for i = 1, #model do if model[i].kind == "Dense" then dense[#dense + 1] = i end end
    local last = table.remove(dense)
    fail(string.format("%s: layer: expected the position of a Dense layer (%s), got %d (%s)",
      fname, #dense > 0 and table.concat(dense, ", ") .. " or " .. last or tostring(last),
      layer, (layer < 1 or layer > #model) and "the model has " .. #model .. " layers"
      or tostring(model[layer])), 3)
  end
  return layer
end

M.check_opts, M.check_model_data, M.operator, M.call = check_opts, check_model_data,
  operator, call
M.check_vector, M.check_layer = check_vector, check_layer

return M
