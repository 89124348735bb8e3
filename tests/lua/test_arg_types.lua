-- test_arg_types.lua: every public function of wb.data, wb.callbacks,
-- wb.measures, wb.Sequential's methods, wb.plot, wb.lab (with wb.stats,
-- wb.show), wb.image, wb.runs (with wb.Runs's and wb.Run's methods),
-- wb.record, wb.inference, wb.welch, wb.hessian and wb.losses, called with
-- arguments of the wrong type, raises "bad argument #n to 'name' (X
-- expected, got Y)" -- never an internal "attempt to index a nil value"
-- from somewhere inside.
--
-- The sweep is driven by the help index: each function's ---@param lines
-- (name, type, "?" when optional) say what it takes. For each parameter n
-- the function is called with valid values before n and, at n, nil (when
-- required) and a value of a type it does not take: a number where a
-- table, tensor or dataset is expected, a string where a number is, a
-- table where a string is. Booleans and `any` take every value. Methods
-- are called with method syntax on a real object, so n counts as Lua
-- counts (self not included). A function added to these modules is swept
-- as soon as it has its doc block.
--
-- Not swept here: wb.experiment, whose errors for a bad spec name the
-- script line and the spec's key by design (issue 11: "<file:line>:
-- wb.experiment: expected a table", not the bad-argument form); modules
-- other people are changing now (wb.task, wb.runner, wb.spec, wb.train, and
-- wb/checkpoint.lua's Sequential:save, save_weights, load_weights: their
-- "save: expected a file name, got nil" is clear but not in the
-- bad-argument form); and the functions without parameters
-- (wb.data.mnist ...), which have no argument to get wrong.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local SKIPPED = {"wb.experiment", "wb.task", "wb.runner", "wb.spec", "wb.train",
  "wb.Sequential:save", "wb.Sequential:save_weights", "wb.Sequential:load_weights"}
local SWEPT = {"wb.data.", "wb.Dataset:", "wb.callbacks.", "wb.measures.", "wb.nn.Sequential",
  "wb.Sequential:", "wb.plot.", "wb.Plot:", "wb.lab.", "wb.stats", "wb.Stats:", "wb.show",
  "wb.image.", "wb.runs.", "wb.Runs:", "wb.Run:", "wb.record.", "wb.inference.", "wb.welch",
  "wb.hessian.", "wb.losses."}

local dir = T.tmpdir()

-- {==================== valid values ====================

local function dataset()
  local x, y = wb.new_tensor({4, 2, 2}, "uint8"), wb.new_tensor({4}, "uint8")
  for i = 1, 4 do y:set(i, i % 2); x:set(i, 1, 1, 200 * (i % 2)) end
  return wb.data.Dataset(x, y, "tiny")
end

local function model() return nn.Sequential{nn.Flatten(), nn.Dense(4, 2)} end

-- A run list over one hand-written record (nothing on disk is read).
local function runs()
  return wb.runs.Runs({{hash = "0123456789abcdef", task = "t", variant = "v", seed = 1,
    config = {}, status = "ok", history = {loss = {1, 0.5}}, metrics = {test_accuracy = 0.9}}})
end

-- A value of each documented type (the first alternative of "a|b").
local valid = {
  ["wb.Tensor"] = function() return wb.zeros(2, 2) end,
  ["wb.Tensor[]"] = function() return {} end,
  ["wb.Dataset"] = dataset,
  ["wb.Sequential"] = model,
  ["wb.Runs"] = function() return runs() end, -- wb.runs.same_histories(runs, a, b)
  table = function() return {} end,
  string = function() return dir .. "/x" end,
  number = function() return 0.5 end,
  integer = function() return 1 end,
  boolean = function() return true end,
  any = function() return 1 end,
}

-- Objects whose methods are swept, by class name.
local objects = {
  ["wb.Dataset"] = dataset,
  ["wb.Sequential"] = model,
  ["wb.Plot"] = function() return wb.plot.lines{series = {{y = {1, 2}}}} end,
  ["wb.Stats"] = function() return wb.stats(model()) end,
  ["wb.History"] = function() return wb.fit.new_history() end,
  ["wb.callbacks.EarlyStopping"] = function() return wb.callbacks.EarlyStopping{} end,
  ["wb.callbacks.ModelCheckpoint"] = function()
    return wb.callbacks.ModelCheckpoint{filepath = dir .. "/ckpt"} end,
  ["wb.callbacks.ReduceLROnPlateau"] = function() return wb.callbacks.ReduceLROnPlateau{} end,
  ["wb.callbacks.CSVLogger"] = function() return wb.callbacks.CSVLogger(dir .. "/log.csv") end,
  ["wb.Runs"] = runs,
  ["wb.Run"] = function() return runs()[1] end,
}

-- }====================

-- {==================== the sweep ====================

-- A value none of the types in spec ("wb.Tensor|table") takes, or nil when
-- every value is taken (boolean, any).
local function wrong_value(spec)
  local takes = {}
  for t in spec:gmatch("[^|]+") do takes[t] = true end
  if takes.any or takes.boolean then return nil end
  if takes.number or takes.integer then return "x" end     -- not convertible
  if takes.string then return takes.table and true or {} end -- a number would be
  return 5                                                   -- converted to a string
end

-- The function named `name` and the object to call it on (methods).
local function target(name, w)
  local class, method = name:match("^(.-):([%w_]+)$")
  if not class then return w.names[name], nil end
  local make = objects[class]
  if not make then return nil, "no object of class " .. class end
  return method, make()
end

-- Call f (or obj:method) with args; the error message, or nil if none.
local function call(f, obj, args, n)
  local ok, err
  if obj then
    local chunk = load("local o, n, a = ...; return o:" .. f .. "(table.unpack(a, 1, n))")
    ok, err = pcall(chunk, obj, n, args)
  else
    ok, err = pcall(f, table.unpack(args, 1, n))
  end
  return not ok and tostring(err) or nil
end

-- Each parameter of the entry, mistyped in turn; a list of failures.
local function sweep(name, e, w)
  local params = {}
  for _, p in ipairs(e.params) do
    local pname, spec = p:match("^([%w_]+%??)%s+(%S+)")
    if pname then params[#params + 1] = {opt = pname:sub(-1) == "?", spec = spec} end
  end
  local f, obj = target(name, w)
  if f == nil then return {name .. ": not found (" .. tostring(obj) .. ")"} end
  local fails, calls = {}, 0
  for n, p in ipairs(params) do
    local cases = {}
    if not p.opt and p.spec ~= "any" then cases[#cases + 1] = {nil, "nil"} end
    local bad = wrong_value(p.spec)
    if bad ~= nil then cases[#cases + 1] = {bad, type(bad)} end
    for _, c in ipairs(cases) do
      local args = {}
      for i = 1, n - 1 do
        local first = params[i].spec:match("^[^|]+")
        args[i] = (valid[first] or valid.table)()
      end
      args[n] = c[1]
      calls = calls + 1
      local err = call(f, obj, args, n)
      local what = string.format("%s with a %s as #%d (%s expected)", name, c[2], n, p.spec)
      if not err then
        fails[#fails + 1] = what .. ": no error"
      elseif err:find("attempt to", 1, true) or not err:find("bad argument #" .. n, 1, true) then
        fails[#fails + 1] = what .. ": " .. err:match("^[^\n]*")
      end
    end
  end
  return fails, calls
end

local function swept(name)
  if name:find(":__", 1, true) then return false end
  for _, p in ipairs(SKIPPED) do
    if name == p or name:sub(1, #p + 1) == p .. "." then return false end
  end
  for _, p in ipairs(SWEPT) do
    if name == p or name:sub(1, #p) == p then return true end
  end
  return false
end

T.test("every public function in the swept modules refuses wrong types with 'bad argument'",
    function()
  local idx, w = wb.help._index(), wb.help._walk()
  local names = {}
  for name, e in pairs(idx) do
    if swept(name) and #e.params > 0 then names[#names + 1] = name end
  end
  table.sort(names)
  local fails, calls = {}, 0
  for _, name in ipairs(names) do
    local f, c = sweep(name, idx[name], w)
    calls = calls + (c or 0)
    for _, x in ipairs(f) do fails[#fails + 1] = x end
  end
  io.write(string.format("# %d functions, %d wrong-typed calls; not swept: %s\n", #names,
    calls, table.concat(SKIPPED, ", ")))
  T.ok(#names >= 60 and calls >= 100, "the sweep found too little: " .. #names)
  T.ok(#fails == 0, #fails .. " failures:\n" .. table.concat(fails, "\n"))
end)

-- The cases the reliability run found (issue 12), spelled out.
T.test("the reported cases name the argument, its expected and its actual type", function()
  local ds, m = dataset(), model()
  T.check_error("bad argument #1 to 'Dataset' (wb.Tensor expected, got nil)",
    wb.data.Dataset)
  T.check_error("bad argument #2 to 'Dataset' (wb.Tensor expected, got number)",
    wb.data.Dataset, wb.zeros(2, 2), 5)
  T.check_error("bad argument #1 to 'batch' (wb.Tensor or table expected, got number)",
    function() ds:batch(5) end)
  T.check_error("bad argument #2 to 'batch' (number expected, got string)",
    function() ds:batch({1}, "x") end)
  T.check_error("bad argument #1 to 'ModelCheckpoint' (table or string expected, got number)",
    wb.callbacks.ModelCheckpoint, 5)
  T.check_error("bad argument #1 to 'weight_norms' (wb.Sequential expected, got nil)",
    wb.measures.weight_norms)
  T.check_error("bad argument #2 to 'silenced_accuracy' (wb.Dataset expected, got number)",
    wb.measures.silenced_accuracy, m, 5, 0.3)
  T.check_error("bad argument #1 to 'get_weights' (table expected, got number)",
    function() m:get_weights(5) end)
end)

-- The order of the checks: a wrong type is reported at its own position,
-- before the values of the arguments before it are judged.
T.test("wb.hessian checks model and data first, the C operator each type in order", function()
  T.check_error("bad argument #1 to 'hvp' (wb.Sequential expected, got number)",
    wb.hessian.hvp, 5, 5, 5, 5)
  T.check_error("bad argument #2 to 'eigs' (wb.Dataset or table expected, got number)",
    wb.hessian.eigs, model(), 5, {k = "x"})
  -- no layers and an unknown loss, but max_rows (#6) is the first wrong type
  T.check_error("bad argument #6 to '[%w.]*Operator' %(number expected, got string%)",
    wb.hessian.Operator, {}, wb.zeros(2, 2), wb.zeros(2), "bogus", false, "x")
  T.check_error("bad argument #4 to '[%w.]*Operator' %(invalid option 'bogus'%)",
    wb.hessian.Operator, {}, wb.zeros(2, 2), wb.zeros(2), "bogus", false, 4)
end)

-- }====================

T.done()
