-- test_reprefix_kinds.lua: the three places that put a caught error in their
-- own context keep its kind: Sequential's "layer i (...): " (forward and
-- backward), wb.landscape's "slice: " (w.run) and wb.lab's run:model() error
-- raised from the user's line (lab_util.model_of). Each kind is checked: an
-- input error (one line, code kept), a wb.Error (code and path kept) and a
-- string, plus any other value passing as it is.
local T = dofile("tests/lua/harness.lua")

-- A layer whose forward (or backward) raises what raise() returns.
local function bad_layer(raise, in_backward)
  local layer = {}
  function layer.forward(_, x)
    if not in_backward then error(raise(), 0) end
    return x
  end
  function layer.backward(_, g)
    error(raise(), 0)
    return g
  end
  return setmetatable(layer, {__tostring = function() return "Bad" end})
end

local function caught(f, ...)
  local ok, err = pcall(f, ...)
  T.ok(not ok, "expected an error")
  return err
end

local X = wb.zeros(2, 4)

T.test("Sequential: an input error stays one, prefixed, its code kept", function()
  local m = wb.nn.Sequential{bad_layer(function()
    return wb.spec.input_error("x.lua:3: bad x", "EUSAGE") end)}
  local err = caught(m.forward, m, X)
  T.ok(wb.spec.is_input_error(err), tostring(err))
  T.eq(err.message, "layer 1 (Bad): x.lua:3: bad x")
  T.eq(err.code, "EUSAGE")
end)

T.test("Sequential: a wb.Error stays one, its reason prefixed, code and path kept", function()
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3)}
  local err = caught(m.forward, m, wb.zeros(2, 5))
  T.ok(wb.is_error(err), tostring(err))
  T.ok(err.message:find("^layer 1 %(Dense 4%->3%): "), err.message)
  T.ok(not err.message:find("bad argument", 1, true), err.message)
  T.eq(err.code, "ESHAPE")
  local made = wb.Error{code = "EIO", message = "x.lua:1: whole", path = "/p"}
  m = wb.nn.Sequential{bad_layer(function() return made end)}
  err = caught(m.forward, m, X)
  T.ok(wb.is_error(err) and err ~= made, tostring(err))
  T.eq(err.message, "layer 1 (Bad): x.lua:1: whole") -- (no reason: its message)
  T.eq(err.code, "EIO")
  T.eq(err.path, "/p")
end)

T.test("Sequential: a string is prefixed, any other value passes as it is", function()
  local m = wb.nn.Sequential{wb.nn.Dense(4, 4), bad_layer(function() return "boom" end, true)}
  m:forward(X)
  local err = caught(m.backward, m, X, wb.zeros(2, 4))
  T.eq(err, "layer 2 (Bad): boom")
  local obj = {}
  m = wb.nn.Sequential{bad_layer(function() return obj end)}
  T.eq(caught(m.forward, m, X), obj)
end)

-- wb.landscape.slice of a layer raising what raise() gives when armed (after
-- the walker's set-up), then a Dense.
local function slice_error(raise)
  wb.seed(1)
  local armed = false
  local m = wb.nn.Sequential{bad_layer(function() return raise() end),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  local layer = m[1]
  local fwd = layer.forward
  layer.forward = function(self, x, ...)
    if armed then return fwd(self, x, ...) end
    return x
  end
  local data = {x = wb.zeros(2, 4), y = wb.new_tensor({2}, "uint8")}
  local before = m:get_weights()[1]:clone()
  armed = true
  local err = caught(wb.landscape.slice, m, data, {dirs = {m:get_weights()}, points = 2})
  T.eq((m:get_weights()[1] - before):abs():max(), 0, "weights restored")
  return err
end

T.test("landscape: an input error stays one, 'slice: ' before it, its code kept", function()
  local err = slice_error(function() return wb.spec.input_error("bad x", "EUSAGE") end)
  T.ok(wb.spec.is_input_error(err), tostring(err))
  T.eq(err.message, "slice: layer 1 (Bad): bad x")
  T.eq(err.code, "EUSAGE")
  -- evaluate's own check, raised at its caller's line in landscape_eval.lua: that
  -- position dropped
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"}), bad_layer(
    function() return "unused" end, true)}
  err = caught(wb.landscape.slice, m, {x = wb.zeros(2, 4), y = wb.new_tensor({2}, "uint8")},
    {dirs = {m:get_weights()}, points = 2})
  T.ok(wb.spec.is_input_error(err), tostring(err))
  T.ok(err.message:find("^slice: evaluate: the last layer must be Dense"), err.message)
  T.eq(err.code, nil)
end)

T.test("landscape: a string gets 'slice: ' once; a wb.Error passes as it is", function()
  T.eq(slice_error(function() return "boom" end), "slice: layer 1 (Bad): boom")
  local err = slice_error(function() return wb.Error{code = "EIO", message = "m", path = "/p"} end)
  T.ok(wb.is_error(err), tostring(err))
  T.eq(err.message, "layer 1 (Bad): m") -- (Sequential's prefix alone)
  T.eq(err.code, "EIO")
  -- landscape_eval's own position is dropped and "slice: " not doubled
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
  err = caught(wb.landscape.slice, m, {x = wb.zeros(2, 4), y = wb.new_tensor({2}, "uint8")},
    {dirs = {m:get_weights(), m:get_weights()}, points = 2, yrange = {2, 1}})
  T.ok(wb.spec.is_input_error(err), tostring(err)) -- the caller's mistake: one line
  T.ok(tostring(err):find("^slice: yrange: expected {lo, hi} with lo < hi"), tostring(err))
end)

-- wb.stats(run) where run:model() raises what raise() gives; the line of the call.
local function stats_error(raise)
  local run = setmetatable({}, wb.runs.Run)
  rawset(run, "model", function() error(raise(), 0) end)
  local line = debug.getinfo(1, "l").currentline + 1
  local ok, err = pcall(function() local s = wb.stats(run); return s end)
  T.ok(not ok, "expected an error")
  return err, debug.getinfo(1, "S").short_src .. ":" .. line .. ": "
end

T.test("wb.stats(run): run:model()'s error raised from the caller's line", function()
  local err, at = stats_error(function() return wb.spec.input_error("/x/run.lua:12: no run") end)
  T.ok(wb.spec.is_input_error(err), tostring(err))
  T.eq(err.message, at .. "no run")
  T.eq(err.code, nil)
  err, at = stats_error(function() return "/x/run.lua:12: gone" end)
  T.eq(err, at .. "gone")
  err, at = stats_error(function() return "no position" end)
  T.eq(err, at .. "no position")
  local made = wb.Error{code = "ENOENT", message = "/x/run.lua:1: missing", path = "/w"}
  err = stats_error(function() return made end)
  T.eq(err, made) -- (the same object: position, code and path as they were)
end)

-- args.raise's error, raised by f(err) two frames down, and the position of the line
-- calling f (as error(msg, 2) in f would name it).
local function raised(err, level)
  local args = require "wb.args"
  local function f(e) args.raise(e, level) end
  local line = debug.getinfo(1, "l").currentline + 1
  local ok, got = pcall(function() f(err); return 1 end)
  T.ok(not ok, "expected an error")
  return got, debug.getinfo(1, "S").short_src .. ":" .. line .. ": "
end

T.test("args.reprefix strips and prefixes; args.raise places at a level, kind kept", function()
  local args = require "wb.args"
  local POS = "^[^\n]-%.lua:%d+: "
  T.eq(args.reprefix("a.lua:1: x", "p: ", POS), "p: x")
  T.eq(args.reprefix("b\na.lua:1: x", "p: ", POS), "p: b\na.lua:1: x") -- (the first line)
  local e = args.reprefix(wb.spec.input_error("a.lua:1: x", "EUSAGE"), "p: ", POS)
  T.ok(wb.spec.is_input_error(e), tostring(e))
  T.eq(e.message, "p: x")
  T.eq(e.code, "EUSAGE")
  local got, at = raised(e, 2)
  T.ok(wb.spec.is_input_error(got), tostring(got))
  T.eq(got.message, at .. "p: x")
  T.eq(got.code, "EUSAGE")
  got, at = raised("s", 2)
  T.eq(got, at .. "s")
  T.eq(raised(e, 0), e)
  T.eq(raised("s", 0), "s")
end)

T.done()
