-- wb/checkpoint_build.lua: one layer of wb.load's model built from its
-- config in a file's workbench.architecture metadata (wb/checkpoint.lua,
-- wb/arch.lua writes it). The file is input: every field is checked here.
local _ENV = require "wb.std"
local wb = require "wb"

-- What each built-in kind's config must hold (the file is input: a field of
-- the wrong type is named here, not met as a nil deep inside a constructor).
local function field(cfg, key, want, optional)
  local v = cfg[key]
  if v == nil and optional then return nil end
  if want == "count" then
    local n = math.type(v) and math.tointeger(v)
    if n and n > 0 then return nil end
    return string.format("%s must be a positive integer, got %s", key, tostring(v))
  end
  if type(v) ~= want then
    return string.format("%s must be a %s, got %s", key, want, type(v))
  end
end

local fields = {
  Dense = {{"n_in", "count"}, {"n_out", "count"}, {"activation", "string", true},
           {"l2", "number", true}, {"init", "string", true}, {"use_bias", "boolean", true}},
  Dropout = {{"rate", "number"}},
  Activation = {{"activation", "string"}},
  Flatten = {},
}

-- Build one layer from its config; raises a message without the path.
return function(cfg)
  local nn = wb.nn
  if type(cfg) ~= "table" then error("expected an object, got " .. type(cfg), 0) end
  local kind = cfg.kind
  for _, f in ipairs(fields[kind] or {}) do
    local why = field(cfg, f[1], f[2], f[3])
    if why then error(why, 0) end
  end
  -- a key the layer does not take (a file written by hand: "activaton")
  -- would leave its default in place (a linear layer): an error naming it
  if fields[kind] then
    local valid, known = {"kind"}, {kind = true}
    for _, f in ipairs(fields[kind]) do valid[#valid + 1], known[f[1]] = f[1], true end
    for k in pairs(cfg) do
      if not known[k] then
        local near = type(k) == "string" and wb.spec.nearest(k, valid)
        error(string.format("unknown key '%s'%s (a %s layer's keys: %s)", tostring(k),
          near and (" (did you mean '" .. near .. "'?)") or "", kind,
          table.concat(valid, ", ")), 0)
      end
    end
  end
  if kind == "Dense" then
    return nn.Dense(math.tointeger(cfg.n_in), math.tointeger(cfg.n_out),
      {activation = cfg.activation, l2 = cfg.l2, init = cfg.init,
       bias = cfg.use_bias ~= false})
  elseif kind == "Dropout" then
    return nn.Dropout(cfg.rate)
  elseif kind == "Activation" then
    return nn.Activation(cfg.activation)
  elseif kind == "Flatten" then
    return nn.Flatten()
  elseif type(kind) == "string" and type(rawget(nn, kind)) == "function" then
    return nn[kind](cfg)
  end
  error(string.format("cannot be rebuilt: no wb.nn.%s (a Lua layer's config()? define "
    .. "wb.nn.%s(config) to build it, or build the model and call model:load_weights(path))",
    tostring(kind), tostring(kind)), 0)
end
