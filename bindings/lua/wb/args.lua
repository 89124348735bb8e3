-- wb/args.lua: argument type checks for the Lua library, worded as
-- lauxlib's luaL_typeerror words them, so a wrong type reads the same from
-- a Lua function as from a C one:
--   bad argument #2 to 'batch' (number expected, got string)
-- A public function checks its arguments with these first, before doing any
-- work, so a wrong type never surfaces as "attempt to index a nil value"
-- from somewhere inside. Also the value checks several modules share
-- (finite tensors, class ids). Not part of the public API (no wb names).
-- Each check raises through M.input_fail: a wb.spec.input_error object at
-- the caller's line, which a script, -e and the REPL print as that line
-- alone (the mistake is in the call, a traceback into the library only
-- hides it); tostring gives its text, wb.spec.is_input_error its kind.
local _ENV = require "wb.std"
local M = {}

-- The type name luaL_typeerror shows: a metatable's __name ("wb.Tensor",
-- "wb.Dataset"), else the basic type.
function M.typename(v)
  local mt = getmetatable(v)
  if type(mt) == "table" then
    local name = rawget(mt, "__name")
    if type(name) == "string" then return name end
  end
  return type(v)
end

-- Does v have type `want`: a basic type ("table", "string", "number",
-- "function"), "integer" (a number with an integral value, as
-- luaL_checkinteger accepts 3.0), or a class name ("wb.Tensor").
local function is(v, want)
  if want == "integer" then
    return math.type(v) == "integer" or math.type(v) == "float" and v == math.floor(v)
  end
  if want:find(".", 1, true) then return M.typename(v) == want end
  return type(v) == want
end

-- "a|b" -> {"a", "b"}, split once per distinct text: checks run in every
-- training step (Sequential:forward), where nothing may be allocated.
local alternatives = {}
local function split(want)
  local list = alternatives[want]
  if not list then
    list = {}
    for w in want:gmatch("[^|]+") do list[#list + 1] = w end
    alternatives[want] = list
  end
  return list
end

-- Whether v is of one of the types in want ("integer", "number|string", ...).
function M.is(v, want)
  for _, w in ipairs(split(want)) do
    if is(v, w) then return true end
  end
  return false
end

-- Raise "bad argument #n to 'fname' (want expected, got T)" at `level`
-- (default 3: the caller of the function that called check) unless v has
-- one of the types in want, "a|b" for either.
function M.check(fname, n, v, want, level)
  -- the common cases in two or three C calls, before the general walk:
  -- checks run in every training step (Sequential:forward, Dataset:batch)
  local t, name = type(v), nil
  if t == want then return v end
  if t == "userdata" or t == "table" then
    local mt = getmetatable(v)
    name = type(mt) == "table" and rawget(mt, "__name") or nil
    if name == want then return v end
  end
  if want == "integer" and math.type(v) == "integer" then return v end
  local list = split(want)
  for i = 1, #list do
    local w = list[i]
    if w == t or w == name or is(v, w) then return v end
  end
  local msg
  if want == "integer" and type(v) == "number" then
    msg = "number has no integer representation"
  else
    -- lauxlib says "number expected" for an integer too
    msg = want:gsub("integer", "number"):gsub("|", " or ") .. " expected, got " .. M.typename(v)
  end
  M.input_fail(string.format("bad argument #%d to '%s' (%s)", n, fname, msg), level or 3)
end

-- The self of a Lua method: an object of class cls (its metatable, or a
-- class built on it), else "wb.Sequential:summary: call it with a colon,
-- model:summary(...): model.summary(...) passes no model (its first
-- argument was nil)", raised at level (default 3). A Keras or PyTorch user
-- writes model.summary(); the method then indexed nil in the library
-- ("attempt to get length of a nil value (local 'self')") or named its
-- first argument as missing. var names the object in the message.
function M.self(cls, self, method, var, level)
  local mt = getmetatable(self)
  if mt == cls then return end -- the common case first: checks run in training steps
  -- a class built on cls: setmetatable(Sub, cls), or {__index = cls} as Sub's metatable
  for _ = 1, 16 do -- (a cycle of metatables ends)
    if type(mt) ~= "table" then break end
    if mt == cls or rawget(mt, "__index") == cls then return end
    mt = getmetatable(mt)
  end
  local name = rawget(cls, "__name")
  M.input_fail(string.format("%s:%s: call it with a colon, %s:%s(...): %s.%s(...) passes no %s "
    .. "(its first argument was %s)", name, method, var, method, var, method, name,
    self == nil and "nil" or "a " .. M.typename(self)), level or 3)
end

-- The same for an optional argument: nil passes. Not a tail call: level
-- counts opt's own frame, which a tail call would drop (the error then
-- named the line that called the caller).
function M.opt(fname, n, v, want, level)
  if v == nil then return nil end
  M.check(fname, n, v, want, (level or 3) + 1)
  return v
end

-- The value of option `key` of fname (nil: not given) unless it is not of
-- the types in want: then "fname: option 'key': expected want, got T" (an
-- integer option given 1.5: "expected an integer, got 1.5"), raised at
-- level as check's. This is how an option's type is worded, as the C
-- layers word it ("option 'l2': expected a number, got string"); a
-- positional argument's is check's.
function M.option(fname, key, v, want, level)
  if v == nil or M.is(v, want) then return v end
  local got = want == "integer" and math.type(v) == "float" and tostring(v) or M.typename(v)
  local wanted = want:gsub("|", " or "):gsub("^integer$", "an integer")
  M.input_fail(string.format("%s: option '%s': expected %s, got %s", fname, key, wanted, got),
    level or 3)
end

-- An object (a table whose metatable has a __name: a wb.Dataset, a model)
-- where an options table belongs is an error saying so: its fields would
-- otherwise be reported as unknown options ("unknown option '_views'" for
-- m:evaluate(test, val), a dataset given twice).
function M.check_not_object(opts, fname, level)
  local mt = getmetatable(opts)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if name then
    M.input_fail(string.format("%s: expected an options table, got a %s", fname,
      tostring(name)), level + 1)
  end
end

-- Raise "fname: unknown option 'k' (valid: a, b)" for a key of table opts
-- not in the list valid (in its order: give it sorted), and name a dataset
-- or other object given where opts belongs; level is error()'s as seen by
-- the caller. The one wording of an unknown option in the Lua library.
function M.check_keys(opts, valid, fname, level)
  M.check_not_object(opts, fname, level + 1)
  for k in pairs(opts) do
    local known = false
    for _, v in ipairs(valid) do known = known or k == v end
    if not known then
      M.input_fail(string.format("%s: unknown option '%s' (valid: %s)", fname, tostring(k),
        table.concat(valid, ", ")), level + 1)
    end
  end
end

-- opts, argument #pos of fname: nil ({} is returned) or a table whose keys
-- are all in the list valid (check_keys), raised at level as check's.
-- A misspelt option is an error, never a default.
function M.options(fname, pos, opts, valid, level)
  level = level or 3
  M.opt(fname, pos, opts, "table", level + 1)
  if opts then M.check_keys(opts, valid, fname, level) end
  return opts or {}
end

-- Is number v finite (not NaN, not an infinity)?
function M.finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

-- Raise "fname: what: row i, column j is NaN" when float32 tensor t holds a
-- NaN or an infinity (else every product is NaN, silently). Its sum is
-- accumulated in double (core wb_tensor_stats): finite float32 numbers never
-- overflow it, so one pass finds whether; rows are searched only to say where.
function M.check_finite(fname, what, t, level)
  if t:dtype() ~= "float32" or t:numel() == 0 or M.finite(t:sum()) then return end
  local n = t:dim() <= 1 and t:numel() or t:size(1)
  local rows = t:reshape(n, t:numel() // n)
  for i = 1, n do
    for j, v in ipairs(M.finite(rows[i]:sum()) and {} or rows[i]:totable()) do
      if not M.finite(v) then
        local at = t:dim() <= 1 and "entry " .. i or "row " .. i .. ", column " .. j
        error(require("wb").Error{code = "ENONFINITE", message = string.format(
          "%s: %s: %s is %s, expected finite numbers", fname, what, at,
          v ~= v and "NaN" or tostring(v))}, level + 1)
      end
    end
  end
end

-- Raise check_finite's error for the first of params (a model's
-- parameters(), in order) holding a NaN or an infinity: "fname: the model's
-- parameter k: row i, column j is NaN, expected finite numbers". The one
-- check of a model's weights before it is used (evaluate, predict, fit's
-- start, wb.hessian, the measures): a NaN weight gives NaN, or a plausible
-- wrong accuracy (argmax of a NaN row), silently. One pass over each.
function M.check_finite_params(fname, params, level)
  for k, p in ipairs(params) do
    M.check_finite(fname, "the model's parameter " .. k, p, level + 1)
  end
end

-- The class ids of labels y [N] as Lua integers, each checked to be an
-- integer in 0..C-1, else "fname: y: label i (1-based position) is v,
-- expected an integer in 0..C-1" and `why`, raised at level; what names
-- the argument ("y" when nil).
function M.class_ids(fname, y, C, why, level, what)
  local ids = y:float():totable()
  for i, v in ipairs(ids) do
    if v ~= math.floor(v) or v < 0 or v >= C then
      M.input_fail(string.format("%s: %s: label %d (1-based position) is %s, expected an "
        .. "integer in 0..%d%s", fname, what or "y", i, tostring(math.tointeger(v) or v),
        C - 1, why), level + 1)
    end
    ids[i] = math.tointeger(v)
  end
  return ids
end

-- x, y of data as wb.hessian and wb.landscape take it: a dataset (its
-- stored images and labels) or {x = tensor, y = labels}, else "fname: data:
-- ..." (an unknown key, or x or y not a tensor) raised at level. y's dtype
-- and shape are the caller's to check.
function M.data_xy(fname, data, level)
  if M.typename(data) == "wb.Dataset" then return data.images, data.labels end
  for k in pairs(data) do
    if k ~= "x" and k ~= "y" then
      M.input_fail(string.format("%s: data: unknown key '%s' (expected a dataset or {x = "
        .. "tensor, y = labels})", fname, tostring(k)), level + 1)
    end
  end
  local x, y = data.x, data.y
  if M.typename(x) ~= "wb.Tensor" or M.typename(y) ~= "wb.Tensor" then
    M.input_fail(string.format("%s: data: expected a dataset or {x = tensor, y = labels}, got x = "
      .. "%s, y = %s", fname, M.typename(x), M.typename(y)), level + 1)
  end
  return x, y
end

-- Raises err, a C binding's error caught by a Lua function of the library,
-- as the caller's at level (error()'s, seen from the function calling
-- rethrow): its reason (the message without the library's position or a C
-- function's name, "gather: ", which the caller never called) put in
-- format ("bad argument #1 to 'batch' (perm: %s)"), located at the caller's
-- line, with its code and path kept; another error passes as it is.
function M.rethrow(err, format, level)
  if not (type(err) == "table" and err.reason) then error(err, 0) end
  local info = debug.getinfo(level, "Sl")
  local at = info and info.currentline > 0 and info.short_src .. ":" .. info.currentline .. ": "
  local why = err.reason:gsub("^gather: ", "")
  error(require("wb").Error{code = err.code, path = err.path,
    message = (at or "") .. string.format(format, why)}, 0)
end

-- Raises msg as an error in what the user wrote (wb.spec.input_error), at
-- the line of the caller `level` frames up as error(msg, level) places a
-- string: a script, -e and the REPL print it alone, with no traceback into
-- the library that only checked the input (tryV 11: wb.runs.find{tsk = 1}).
function M.input_fail(msg, level)
  M.raise(require("wb.spec_keys").input_error(msg), level + 1)
end

---args.reprefix(err, prefix, strip) -> error
---err, a caught error, as the same kind of error with prefix before its
---text, strip (an optional Lua pattern anchored with ^: a position,
---"^[^\n]-%.lua:%d+: ") first removed from it. An input error stays one
---with its code (a script prints it as one line). A wb.Error becomes a new
---one with its code and path, its text the core's reason when it has one
---(its message's "bad argument #2 to '?'" means nothing in the caller's
---context). A string stays a string; another value is returned as it is.
---Example: error(args.reprefix(err, "layer 2 (Dense 784->128): "), 0)
function M.reprefix(err, prefix, strip)
  local keys, wb = require "wb.spec_keys", require "wb"
  local function text(s) return strip and (s:gsub(strip, "", 1)) or s end
  if keys.is_input_error(err) then
    return keys.input_error(prefix .. text(err.message), err.code)
  elseif wb.is_error(err) then
    return wb.Error{code = err.code, path = err.path,
      message = prefix .. text(err.reason or err.message)}
  end
  return type(err) == "string" and prefix .. text(err) or err
end

---args.raise(err, level)
---Raises err at level, error()'s as seen from the function calling raise:
---a string or an input error (kept one, with its code: input_fail's way)
---gets that line's position in front; level 0, or another value, raises
---err as it is. A statement, never `return args.raise(...)`: a tail call
---drops the caller's frame, and the level then names another line.
---Example: args.raise(args.reprefix(err, "", "^[^\n]-%.lua:%d+: "), 3)
function M.raise(err, level)
  local keys = require "wb.spec_keys"
  if level > 0 and keys.is_input_error(err) then
    local info = debug.getinfo(level + 1, "Sl")
    local at = info and info.currentline > 0 and info.short_src .. ":" .. info.currentline .. ": "
    error(keys.input_error((at or "") .. err.message, err.code), 0)
  end
  error(err, level > 0 and level + 1 or 0)
end

-- What a C binding calls to make its input error (lwb_input_argerror):
-- the object is made here, in Lua, like every other one.
debug.getregistry()["wb.input_error"] = function(msg)
  return require("wb.spec_keys").input_error(msg)
end

-- {==================== how many arguments ====================

-- Lua drops a call's extra arguments without a word: wb.runs.export_csv(path,
-- dir, {task = "other"}) wrote every task's runs, rs:table(names, nil, "x")
-- and wb.welch(a, b, opts, "x") ran as if the last were not there. The C
-- bindings refuse them; the Lua modules' public functions go through
-- M.at_most (wb/init.lua applies it to whole modules and classes).

local originals = setmetatable({}, {__mode = "k"}) -- checker -> the function it calls
local checkers = setmetatable({}, {__mode = "k"})  -- function -> its checker

-- The parameters of f as its help signature names them ("path,
-- runs_or_dir"), else as its code does; self left out for a method.
local function params_of(name, f, n, method)
  local ok, idx = pcall(function() return require("wb.help")._index() end)
  local e = ok and idx[name]
  local list = e and e.sig and e.sig:match("^[^(]*%((.-)%)")
  -- (unless it names fewer: fit(train, opts) is also fit(x, y, opts))
  local count = list and select(2, list:gsub("[^,%s]+", "")) or -1
  if count == (method and n - 1 or n) then return list end
  local names = {}
  for i = method and 2 or 1, n do names[#names + 1] = debug.getlocal(f, i) end
  return table.concat(names, ", ")
end

-- f, checked: a call with more arguments than f has parameters (trailing
-- nils aside) raises
-- "name: takes at most N arguments (its parameters), got M" at the
-- caller's line, else it is f's call (a tail call: f's error levels and
-- debug.getinfo levels see the caller as before). method: f's first
-- parameter is self, not counted. A vararg function (and a C function) is
-- returned as it is; f already checked too, and one function is given one
-- checker wherever it is stored (wb.welch == wb.inference.welch).
function M.at_most(f, name, method)
  if originals[f] then return f end
  if checkers[f] then return checkers[f] end
  local info = debug.getinfo(f, "u")
  if info.isvararg then return f end
  local n = info.nparams
  local shown = method and n - 1 or n
  local function checker(...)
    local got = select("#", ...)
    -- trailing nils are no input (f(table.unpack(t, 1, 3)) passes them)
    while got > n and select(got, ...) == nil do got = got - 1 end
    if got > n then
      -- the hint: task:text(wb.compare(...)) passed compare's three results, and "got 3"
      -- puzzled a user who wrote one call (tryV 5)
      M.input_fail(string.format("%s: takes at most %d argument%s (%s), got %d (a call as the "
        .. "last argument passes all its results: wrap it in parentheses, f((g())), to pass "
        .. "its first)", name, shown, shown == 1 and "" or "s", params_of(name, f, n, method),
        got - (n - shown)), 2)
    end
    return f(...)
  end
  originals[checker], checkers[f] = f, checker
  return checker
end

-- The function a checker calls (f itself when it is none).
function M.unchecked(f) return originals[f] or f end

-- Every checker made, by the names it was installed under: {name -> checker}.
M.checked = {}

-- Puts checkers in place of table t's public functions (string keys not
-- beginning with "_"), named prefix .. key (prefix "wb.Runs:" for a class's
-- methods: method = true). In the keys' sorted order: a function under two
-- names gets its checker named after the first, the same in every process
-- (pairs' order is not; a hook's identity closes over such names).
function M.check_counts(t, prefix, method)
  local keys = {}
  for k in pairs(t) do if type(k) == "string" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local f = rawget(t, k)
    if k:sub(1, 1) ~= "_" and type(f) == "function" then
      local c = M.at_most(f, prefix .. k, method)
      if c ~= f or originals[f] then
        rawset(t, k, c)
        M.checked[prefix .. k] = c
      end
    end
  end
end

-- }====================

return M
