-- test_audit_resume_layers.lua: fit{resume = path} into a model that is not
-- the saved one. A Lua layer was compared by its kind only: a resume into
-- the layer with another field (a scale, an activation name) or another
-- forward went on silently, the saved run's epochs continued by another
-- model. A Lua layer's config() holding a table refused every resume,
-- the same model's too (tables compared by address). wb.load of a file
-- with a Lua layer said "bad workbench.architecture metadata".
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local train = T.tiny_data()
local dir = T.tmpdir()

local function opts(o)
  local out = {batch_size = 16, verbose = false}
  for k, v in pairs(o or {}) do out[k] = v end
  return out
end

-- A parameter-free Lua layer y = k * x; `forward` sets a field as it runs
-- (state, not configuration); mult: a constant its methods close over.
local function Scale(k, act, mult)
  mult = mult or 1
  local L = {k = k, act = act or "linear", sizes = {1, 2}}
  function L:forward(x) self.rows = x:shape()[1]; return x * (self.k * mult) end
  function L:backward(_, g) return g * (self.k * mult) end
  function L:parameters() return {}, {} end
  function L:zero_grad() end
  return L
end

local function model(layer)
  wb.seed(1)
  return nn.Sequential{nn.Dense(8, 12, {activation = "relu"}), layer,
    nn.Dense(12, 3, {activation = "softmax"})}
end

local function saved_state(name, layer)
  local m = model(layer or Scale(2))
  m:fit(train, opts{epochs = 2})
  local path = dir .. "/" .. name .. ".safetensors"
  m:save_state(path)
  return path
end

local stderr_of = T.stderr_of -- f()'s result and what it wrote to io.stderr

-- A resume into m must be refused with an error matching pat, before
-- anything is restored.
local function refused(path, m, pat)
  local w = m[1].weight:clone()
  local err = T.check_error(pat, m.fit, m, train, opts{epochs = 3, resume = path})
  T.ok(err:find(path, 1, true), "names the file: " .. err)
  T.eq((m[1].weight - w):abs():max(), 0, "nothing restored")
  return err
end

T.test("a resume into a Lua layer with another field is refused", function()
  local path = saved_state("fields")
  refused(path, model(Scale(3)), "layer 2 (a Lua layer) has k = 2.0 there, 3.0 here")
  refused(path, model(Scale(2, "tanh")), "layer 2 (a Lua layer) has act = linear there, "
    .. "tanh here")
  local s = Scale(2)
  s.sizes = {1, 3}
  refused(path, model(s), "has sizes = [1,2] there, [1,3] here")
  -- the same layer resumes: the field forward set (rows) is on one side only
  local h, err = stderr_of(function()
    return model(Scale(2)):fit(train, opts{epochs = 3, resume = path})
  end)
  T.eq(h.epochs, 3)
  T.eq(err, "", "no warning")
end)

T.test("a resume into a Lua layer with other code is refused", function()
  local path = saved_state("code")
  refused(path, model(Scale(2, nil, 1.5)), "the code of layer 2 (a Lua layer)'s method "
    .. "'backward' differs")
  local s = Scale(2)
  function s:forward(x) self.rows = x:shape()[1]; return (x * self.k):relu() end
  refused(path, model(s), "layer 2 (a Lua layer)'s method 'forward' differs")
  s = Scale(2)
  function s:l2_penalty() return 0.1 end
  refused(path, model(s), "layer 2 (a Lua layer) has a method 'l2_penalty' here, not there")
end)

T.test("a Lua layer's method that cannot be identified is named in a warning", function()
  local buf = wb.zeros(1)
  local function Odd()
    local L = Scale(2)
    function L:zero_grad() return buf end -- closes over a tensor
    return L
  end
  local path = saved_state("odd", Odd())
  local h, err = stderr_of(function()
    return model(Odd()):fit(train, opts{epochs = 3, resume = path})
  end)
  T.eq(h.epochs, 3)
  T.ok(err:find("warning: fit: resume: " .. path .. ": the code of layer 2 (a Lua layer)'s "
    .. "method 'zero_grad' cannot be compared (upvalue 'buf'", 1, true), err)
  -- a method closing over the layer itself, which sets fields as it runs:
  -- a warning, not a refusal (its identity would hold those fields)
  local function Own()
    local L = Scale(2)
    L.forward = function(_, x) L.rows = x:shape()[1]; return x * L.k end
    return L
  end
  local own = saved_state("own", Own())
  h, err = stderr_of(function()
    return model(Own()):fit(train, opts{epochs = 3, resume = own})
  end)
  T.eq(h.epochs, 3)
  T.ok(err:find("layer 2 (a Lua layer)'s method 'forward' cannot be compared (it closes "
    .. "over the layer itself", 1, true), err)
  -- a layer whose members come from an __index function cannot be listed
  local function Proxy()
    local L = Scale(2)
    return setmetatable({}, {__index = function(_, k) return L[k] end})
  end
  local proxy = saved_state("proxy", Proxy())
  h, err = stderr_of(function()
    return model(Proxy()):fit(train, opts{epochs = 3, resume = proxy})
  end)
  T.eq(h.epochs, 3)
  T.ok(err:find("method '__index' cannot be compared (its class's members come from an "
    .. "__index function)", 1, true), err)
  -- the methods that can be compared still are
  local s = Odd()
  function s:forward(x) return x * 3 end
  refused(path, model(s), "layer 2 (a Lua layer)'s method 'forward' differs")
end)

T.test("a Lua layer's config() with a table resumes; another value is refused", function()
  local function Id(sizes)
    local L = {sizes = sizes}
    function L:forward(x) return x end
    function L:backward(_, g) return g end
    function L:parameters() return {}, {} end
    function L:zero_grad() end
    function L:config() return {kind = "Id", sizes = self.sizes} end
    return L
  end
  local path = saved_state("config", Id({4, 5}))
  T.eq(model(Id({4, 5})):fit(train, opts{epochs = 3, resume = path}).epochs, 3)
  refused(path, model(Id({4, 6})), "layer 2 (Id) has sizes = [4,5] there, [4,6] here")
end)

T.test("a state written before Lua layers' fields and code were kept resumes, warned",
function()
  local path = saved_state("old")
  local tensors, meta = wb.io.load_safetensors(path)
  meta["workbench.checksum"] = nil -- such a file had none
  local arch = require("cjson").decode(meta["workbench.architecture"])
  arch[2].fields = nil
  meta["workbench.architecture"] = require("wb.checkpoint").exact_json(arch)
  meta["workbench.layer_code"] = nil
  wb.io.save_safetensors(path, tensors, meta)
  local h, err = stderr_of(function()
    return model(Scale(3)):fit(train, opts{epochs = 3, resume = path})
  end)
  T.eq(h.epochs, 3)
  T.ok(err:find("layer 2 (a Lua layer) is compared by its kind only "
    .. "(the file was written before save_state kept a Lua layer's fields)", 1, true), err)
  T.ok(err:find("the code of layer 2 (a Lua layer) is not compared (the file was written "
    .. "before save_state kept it)", 1, true), err)
  -- malformed code metadata: EFORMAT naming the file, nothing restored
  meta["workbench.layer_code"] = "[1,"
  wb.io.save_safetensors(path, tensors, meta)
  local m = model(Scale(2))
  local ok, e = pcall(m.fit, m, train, opts{epochs = 3, resume = path})
  T.ok(not ok and wb.is_error(e) and e.code == "EFORMAT", tostring(e))
  T.ok(e.message:find(path .. ": bad workbench.layer_code metadata", 1, true), e.message)
  meta["workbench.layer_code"] = '{"2":{"methods":"x","unchecked":[]}}'
  wb.io.save_safetensors(path, tensors, meta)
  ok, e = pcall(m.fit, m, train, opts{epochs = 3, resume = path})
  T.ok(not ok and wb.is_error(e) and e.code == "EFORMAT", tostring(e))
  T.ok(e.message:find(path .. ": workbench.layer_code '2': expected {methods = {name = id}, "
    .. "unchecked = {name = why}}", 1, true), e.message)
end)

T.test("wb.load of a file with a Lua layer says it cannot rebuild it, and why", function()
  local path = saved_state("load")
  local ok, e = pcall(function() local m = wb.load(path); return m end) -- no tail call
  T.ok(not ok and wb.is_error(e) and e.code == "EFORMAT", tostring(e))
  T.ok(e.message:find(path .. ": layer 2 is a Lua layer, which wb.load cannot rebuild", 1, true)
    and e.message:find("which wb.load cannot rebuild: build the model as it was built and "
      .. "call model:load_weights(path)", 1, true), e.message)
  T.ok(e.message:find("test_audit_resume_layers.lua:", 1, true), "placed at the caller: "
    .. e.message)
  -- the weights load into the model built again
  local m = model(Scale(2))
  m:load_weights(path)
  -- a layer with config() but no wb.nn.<kind> to build it from
  local L = Scale(2)
  function L:config() return {kind = "MyScale", k = self.k} end
  path = saved_state("load_cfg", L)
  ok, e = pcall(function() local m2 = wb.load(path); return m2 end)
  T.ok(not ok and e.code == "EFORMAT" and e.message:find("layer 2 (MyScale): cannot be "
    .. "rebuilt: no wb.nn.MyScale (a Lua layer's config()? define wb.nn.MyScale(config) to "
    .. "build it, or build the model and call model:load_weights(path))", 1, true),
    tostring(e))
end)

T.test("a Lua layer edited between two processes: the resume is refused", function()
  local mod = dir .. "/scale_layer.lua"
  local src = [[
local SCALE = 2
return function()
  local L = {}
  function L:forward(x) return x * SCALE end
  function L:backward(_, g) return g * SCALE end
  function L:parameters() return {}, {} end
  function L:zero_grad() end
  return L
end
]]
  local f = assert(io.open(mod, "w")); f:write(src); f:close()
  local script = dir .. "/run.lua"
  f = assert(io.open(script, "w"))
  f:write(string.format([[
local T = dofile(%q)
package.path = %q .. "/?.lua;" .. package.path
local Scale = require "scale_layer"
wb.seed(1)
local m = wb.nn.Sequential{wb.nn.Dense(8, 12, {activation = "relu"}), Scale(),
  wb.nn.Dense(12, 3, {activation = "softmax"})}
local train = T.tiny_data()
local path = %q
if arg[1] == "save" then
  m:fit(train, {epochs = 2, batch_size = 16, verbose = false}); m:save_state(path)
else
  print(m:fit(train, {epochs = 3, batch_size = 16, verbose = false, resume = path}).epochs)
end
]], os.getenv("PWD") .. "/tests/lua/harness.lua", dir, dir .. "/proc.safetensors"))
  f:close()
  local st, out, err = T.run_wb(T.quote(script) .. " save")
  T.eq(st, 0, err)
  st, out, err = T.run_wb(T.quote(script) .. " resume")
  T.eq(st, 0, err)
  T.eq(out, "3\n")
  T.eq(err, "", "no warning")
  f = assert(io.open(mod, "w")); f:write((src:gsub("SCALE = 2", "SCALE = 3"))); f:close()
  st, out, err = T.run_wb(T.quote(script) .. " resume")
  T.ok(st ~= 0, "refused")
  T.ok(err:find(dir .. "/proc.safetensors was saved from another model (the code of layer 2 "
    .. "(a Lua layer)'s method 'backward' differs", 1, true), err)
end)

T.done()
