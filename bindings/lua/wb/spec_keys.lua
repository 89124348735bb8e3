-- wb/spec_keys.lua: the config keys an experiment knows and the check of
-- each value (used by wb/spec.lua). A check returns nil when the value is
-- fine, else what was expected ("a positive integer"). Not public: wb.spec
-- is the interface.
local wb = require "wb"
local util = require "wb.util"

local M = {}


local function is_int(v, lo) return math.type(v) == "integer" and v >= (lo or 1) end
local function is_num(v) return type(v) == "number" and v == v and v > -math.huge
  and v < math.huge end

-- Each check returns nil when the value is fine, else what was expected.
local function positive_int(v) if not is_int(v) then return "a positive integer" end end
local function positive_num(v) if not (is_num(v) and v > 0) then return "a positive number" end end
local function boolean(v) if type(v) ~= "boolean" then return "true or false" end end
local function fraction(v)
  if not (is_num(v) and v >= 0 and v < 1) then return "a number in [0, 1)" end
end
local function nonneg(v) if not (is_num(v) and v >= 0) then return "a number >= 0" end end
local function name_in(list)
  return function(v)
    for _, x in ipairs(list) do if v == x then return nil end end
    return "one of " .. table.concat(list, ", ")
  end
end

M.train = {
  optimizer = name_in{"adam", "adamw", "sgd", "rmsprop"},
  lr = positive_num, momentum = fraction, nesterov = boolean, beta1 = fraction,
  beta2 = fraction, eps = positive_num, weight_decay = nonneg, rho = fraction,
  batch_size = positive_int, epochs = positive_int, shuffle = boolean,
  log_every = positive_int, -- fit's step series (history.steps), kept in the record
  -- fit's and the test metrics' loss; absent means the default
  -- sparse_categorical_crossentropy (no default entry: hashes stay as they were)
  -- (the names of wb.losses, required here lazily: wb.losses needs wb loaded)
  loss = function(v) return name_in(require("wb.losses").NAMES)(v) end,
  instruments = function(v) -- wb.instruments: a preset's name or a list of names
    local want = '"economy", "full" or a list of instrument names (wb.instruments)'
    if v == "economy" or v == "full" then return nil end
    if type(v) ~= "table" or #v == 0 then return want end
    for _, n in pairs(v) do
      if name_in(wb.instruments.NAMES)(n) then
        local near = require("wb.spec").nearest(n, wb.instruments.NAMES)
        return string.format("%s; '%s' is not one%s", want, tostring(n),
          near and " (did you mean '" .. near .. "'?)" or "")
      end
    end
  end,
  every = function(v) -- how often instruments measure
    if v ~= "log" and not is_int(v) then return 'a positive integer or "log"' end
  end,
  validation = function(v)
    if v == "test" or (is_num(v) and v > 0 and v < 1) or v == false then return nil end
    return '"test", a fraction in (0, 1) of the training rows, or false'
  end,
  early_stopping = function(v)
    if type(v) ~= "table" then return "a table of EarlyStopping options" end
    local ok, err = pcall(wb.callbacks.EarlyStopping, util.copy(v))
    if not ok then return "EarlyStopping options (" .. tostring(err):gsub("^.-: ", "") .. ")" end
  end,
  dataset = name_in{"mnist", "fashion"},
  subset = function(v)
    if type(v) ~= "table" then return "a table {train = n, test = n}" end
    for k, n in pairs(v) do
      if (k ~= "train" and k ~= "test") or not is_int(n) then
        return "a table {train = n, test = n} of positive integers"
      end
    end
  end,
}

local function hidden(v)
  if is_int(v) then return nil end
  if type(v) == "table" and #v > 0 then
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    local ok = n == #v
    for i = 1, #v do ok = ok and is_int(v[i]) end
    if ok then return nil end
  end
  return "a positive integer or a non-empty list of them ({256, 128}: two hidden layers)"
end

M.model = {
  hidden = hidden,
  activation = function(v)
    if type(v) ~= "string" then return "an activation name" end
    if not pcall(wb.nn.Dense, 1, 1, {activation = v}) then
      return "an activation name (relu, tanh, softsign, gelu, sigmoid, ...)"
    end
  end,
  dropout = fraction, l2 = nonneg,
  init = function(v)
    if type(v) ~= "string" or not pcall(wb.nn.Dense, 1, 1, {init = v}) then
      return "an initializer name (glorot_uniform, ...)"
    end
  end,
}

-- Defaults of the training loop (Keras's, and validation held out as
-- Keras's validation_split = 0.1) and of the default model.
M.train_defaults = {optimizer = "adam", batch_size = 32, epochs = 10, validation = 0.1,
  dataset = "mnist"}
M.model_defaults = {activation = "relu", dropout = 0, l2 = 0, init = "glorot_uniform"}

return M
