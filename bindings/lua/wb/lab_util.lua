-- wb/lab_util.lua: the argument checks and helpers of wb/lab.lua (wb.stats,
-- wb.lab): a model or a run as a model, its Dense layers by number, options
-- checked before any work, data as wide as the model's input.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local args = require "wb.args"
-- a mistake in the call: printed alone, at the caller's line, no traceback
local fail = args.input_fail

local M = {}

-- Argument #1 of fname: a model or a run (checked before any work: a
-- run's model is loaded from disk).
function M.check_model(x, fname)
  args.check(fname, 1, x, "wb.Sequential|wb.Run", 4)
end

-- The model of x: a Sequential as is, a Run through run:model(). x is
-- `what` (argument #1 checked by check_model, or a list element) of fname.
function M.model_of(x, fname, what)
  if type(x) == "table" and getmetatable(x) == wb.runs.Run then
    -- run:model()'s error is about the user's run: raised from their line, not
    -- prefixed "lab.lua:38:" (a wb.Error, a missing file's, goes on as it is; an
    -- input error, args' checks', stays one: one line, no traceback)
    local ok, m = pcall(x.model, x)
    if not ok and wb.is_error(m) then error(m, 0) end
    if not ok then args.raise(args.reprefix(m, "", "^[^\n]-%.lua:%d+: "), 3) end
    return m, tostring(x)
  end
  if type(x) == "table" and getmetatable(x) == wb.nn.SequentialClass then return x end
  fail(string.format("%s: %s: expected a model (wb.Sequential) or a run, got %s", fname,
    what or "argument 1", args.typename(x)), 3)
end

-- The Dense layers of a model with their Sequential indices.
function M.dense_layers(model)
  local out = {}
  for i = 1, #model do
    if model[i].kind == "Dense" then out[#out + 1] = {index = i, layer = model[i]} end
  end
  return out
end

function M.dense(model, k, fname)
  local ls = M.dense_layers(model)
  k = math.type(k) == "float" and math.tointeger(k) or k
  if math.type(k) ~= "integer" or not ls[k] then
    fail(string.format("%s: layer %s: expected 1..%d (the model's Dense layers)", fname,
      tostring(k), #ls), 3)
  end
  return ls[k]
end

-- The keys of opts (argument #n of `name`, "wb.lab.weight_grid") are among
-- `valid`, and each key of `want` that is set passes its check: {key =
-- {test, "expected"}}. A misspelt option (unit = 3, dta = ds) is an error,
-- never a default.
function M.check_opts(name, n, opts, valid, want)
  util.check_options(opts, valid, name, 3)
  local out = {}
  for k, v in pairs(opts) do
    -- a whole float (units = n / 2) is the integer, as wb.args takes it
    out[k] = math.type(v) == "float" and math.tointeger(v) or v
  end
  for k, w in pairs(want) do
    local v = out[k]
    if v ~= nil and not w[1](v) then
      fail(string.format("bad argument #%d to '%s' (opts.%s: %s expected, got %s)", n,
        name:match("[^.]*$"), k,
        w[2], type(v) == "string" and string.format("%q", v) or args.typename(v)
          .. (type(v) == "number" and " " .. tostring(v) or "")), 3)
    end
  end
  return out
end
function M.positive_int(v) return math.type(v) == "integer" and v >= 1 end

-- Raise (at the caller of fname's caller) unless dataset ds (`what` of fname) has
-- rows as wide as model m's input: the first Dense layer's, when only layers that
-- keep the width come before it. Was "measures.lua:283: bad argument #1 to
-- 'forward'", naming neither the data nor the function called.
function M.check_width(fname, what, m, ds)
  for i = 1, #m do
    local kind = m[i].kind
    if kind == "Dense" then
      if ds:input_size() ~= m[i].n_in then
        fail(string.format("%s: %s: expected rows of %d inputs (layer %d, %s), got %s, "
          .. "rows of %d", fname, what, m[i].n_in, i, tostring(m[i]), tostring(ds.name),
          ds:input_size()), 3)
      end
      return
    end
    if kind ~= "Dropout" and kind ~= "Activation" then return end
  end
end
function M.is_dataset(v) return args.typename(v) == "wb.Dataset" end
function M.is_list(v) return type(v) == "table" end

-- Values of a tensor as one flat Lua array.
function M.flat(t) return t:reshape(t:numel()):totable() end

-- 100352 -> "100,352"
local function thousands(n)
  local s, k = tostring(n), 0
  repeat s, k = s:gsub("^(%d+)(%d%d%d)", "%1,%2") until k == 0
  return s
end

-- When the histograms pool different numbers of values, counts made a layer
-- twice as wide look twice as tall (tryV 10): the figure is for comparing
-- shapes, so unless density is given it draws densities, and this note (nil
-- when the sizes agree) says why in the title: a note beside a misleading
-- count plot, or on stderr, would still leave the picture misleading.
function M.size_note(series, what)
  local lo, hi, sizes = math.huge, 0, {}
  for i, s in ipairs(series) do
    lo, hi, sizes[i] = math.min(lo, #s.values), math.max(hi, #s.values), thousands(#s.values)
  end
  if lo == hi then return nil end
  return string.format("densities: the histograms pool %s %s; density = false draws counts",
    #sizes <= 3 and table.concat(sizes, " vs ") or thousands(lo) .. " to " .. thousands(hi),
    what)
end

-- "pooled over 3 seeds" ("2 to 3 seeds"), nil when no histogram of series
-- pools more than one run (pooled: series -> its runs): a histogram of
-- several seeds' weights counted as one layer read as one model's (tryZ E4).
function M.pooled_note(series, pooled)
  local lo, hi = math.huge, 0
  for _, s in ipairs(series) do
    lo, hi = math.min(lo, pooled[s] or 1), math.max(hi, pooled[s] or 1)
  end
  if hi < 2 then return nil end
  return "pooled over " .. (lo < hi and lo .. " to " .. hi or tostring(hi)) .. " seeds"
end

return M
