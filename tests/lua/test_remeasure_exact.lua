-- test_remeasure_exact.lua: after an edit of the measure hook only, a run measured again on
-- its recorded training gives the measures a fresh training gives, or trains again, saying
-- why; never other numbers (tryR 1: an EarlyStopping's stopped_epoch 3 trained, 0
-- re-measured; an upvalue the build hook filled, a field it set on data, a list a Lambda
-- filled: each re-measured to another number, cached). A measure hook that reads only the
-- model, history and data as given is still measured again without training.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local BASE = "epochs = 4, lr = 0.05, subset = {train = 300, test = 100}"

-- Task `name` with hooks `hooks` (Lua source of the experiment's build, callbacks and
-- measure fields, the measure's result holding `v = V`), run with V = v; its root its own.
local function task(name, v, head, hooks)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
%s
local V = %d
return wb.task{name = %q, experiment = {base = {%s}, seeds = {1},
%s},
  report = function(task, runs) end}
]], head, v, name, BASE .. (hooks:find("build =") and "" or ", hidden = 8"), hooks))
  return T.sh(string.format("WB_ECHO=0 %s %s --root %s", T.quote(T.wb), T.quote(path),
    T.quote(dir .. "/" .. name)))
end

-- The record of task name whose measures have v = V.
local function record(name, v)
  local runs = dir .. "/" .. name .. "/runs/"
  for _, f in ipairs(wb.sys.listdir(runs)) do
    local r = f:match("%.json$") and util.read_json(runs .. f)
    if r and r.measures and r.measures.v == v then return r end
  end
end

-- Trains task name with V = 1, then runs it with V = 2 (the measure hook edited only): the
-- measures other than v are equal. Returns the second run's record and its stderr.
local function edited(name, head, hooks)
  local st, _, err = task(name, 1, head, hooks)
  T.eq(st, 0, err)
  local fresh = record(name, 1)
  T.ok(fresh and not fresh.reused_from, "trained first")
  st, _, err = task(name, 2, head, hooks)
  T.eq(st, 0, err)
  local again = record(name, 2)
  T.ok(again, "a record of the edited measure hook: " .. err)
  for k, x in pairs(fresh.measures) do
    if k ~= "v" then T.eq(util.canonical(again.measures[k]), util.canonical(x), k) end
  end
  return again, err
end

local function trained_again(rec, err, why)
  T.ok(not rec.reused_from, "trained again, not measured on the recorded training")
  T.ok(err:find("not measured on the recorded training", 1, true), err)
  T.ok(err:find(why, 1, true), "says why (" .. why .. "): " .. err)
end

T.test("an EarlyStopping's stopped_epoch: trained again, as a fresh training gives it", function()
  local rec, err = edited("es", "", [[
    callbacks = function(cfg, model, data)
      return {wb.callbacks.EarlyStopping{monitor = "loss", patience = 0, min_delta = 10}} end,
    measure = function(model, cfg, data, history, callbacks)
      local stopped, ncb = 0, 0
      for _, cb in ipairs(callbacks) do
        ncb = ncb + 1
        if cb.stopped_epoch then stopped = cb.stopped_epoch end
      end
      return {stopped = stopped, ncb = ncb, v = V} end]])
  T.eq(rec.measures.ncb, 1)
  T.ok(rec.measures.stopped > 0, "stopped early")
  trained_again(rec, err, "read field 'stopped_epoch' of callback 1 "
    .. "(wb.callbacks.EarlyStopping)")
end)

T.test("an upvalue the build hook fills: trained again", function()
  local rec, err = edited("init", "local shared = {}", [[
    build = function(cfg, data)
      local m = wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})}
      shared.w0 = m[1].weight:clone()
      return m end,
    measure = function(model, cfg, data, history)
      local w0 = shared.w0 or wb.zeros(784, 8)
      return {dist = (model[1].weight - w0):pow(2):sum() ^ 0.5, v = V} end]])
  trained_again(rec, err, "shares the upvalue 'shared'")
end)

T.test("a field the build hook sets on data: trained again", function()
  local rec, err = edited("side", "", [[
    build = function(cfg, data)
      data.tag = 5
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {tag = data.tag or -1, v = V} end]])
  T.eq(rec.measures.tag, 5)
  trained_again(rec, err, "read data.tag")
end)

T.test("a list a Lambda fills per epoch: trained again", function()
  local rec, err = edited("curve", "local norms = {}", [[
    callbacks = function(cfg, model, data)
      return {wb.callbacks.Lambda{on_epoch_end = function(epoch, logs)
        norms[#norms + 1] = model[1].weight:pow(2):sum() ^ 0.5 end}} end,
    measure = function(model, cfg, data, history)
      return {wnorm = norms, last = norms[#norms] or 0, v = V} end]])
  T.eq(#rec.measures.wnorm, 4)
  trained_again(rec, err, "shares the upvalue 'norms'")
end)

T.test("a Lambda's own field: trained again", function()
  local rec, err = edited("cbm", "", [[
    callbacks = function(cfg, model, data)
      local st = {n = 0}
      local cb = wb.callbacks.Lambda{on_train_batch_end = function() st.n = st.n + 1 end}
      cb.st = st
      return {cb} end,
    measure = function(model, cfg, data, history, callbacks)
      return {steps = callbacks[1].st.n, ncb = #callbacks, v = V} end]])
  T.ok(rec.measures.steps > 0, "steps counted")
  trained_again(rec, err, "read field 'st' of callback 1 (Lambda at ")
end)

T.test("a measure of the model, history and data as given: measured again, not trained",
    function()
  local rec, err = edited("plain", "", [[
    callbacks = function(cfg, model, data)
      return {wb.callbacks.Lambda{on_epoch_end = function() end}} end,
    measure = function(model, cfg, data, history, callbacks)
      return {n = #callbacks, ep = #history.loss, acc = model:evaluate(data.test).accuracy,
        v = V} end]])
  T.ok(rec.reused_from, "measured on the recorded training")
  T.ok(not err:find("; trained again", 1, true), err)
  T.eq(rec.measures.n, 1)
end)

T.test("a constant table the callbacks and measure hooks both read: measured again (task 4's "
    .. "PATIENCES)", function()
  local rec, err = edited("const", "local PAT = {2, 5}", [[
    callbacks = function(cfg, model, data)
      return {wb.callbacks.Lambda{on_epoch_end = function() local _ = PAT[1] end}} end,
    measure = function(model, cfg, data, history)
      return {p = PAT[2], ep = #history.loss, v = V} end]])
  T.ok(rec.reused_from, "measured on the recorded training: " .. err)
  T.ok(not err:find("; trained again", 1, true), err)
  T.eq(rec.measures.p, 5)
end)

T.test("a scalar upvalue the build hook assigns: trained again", function()
  local rec, err = edited("scalar", "local width", [[
    build = function(cfg, data)
      width = 8
      return wb.nn.Sequential{wb.nn.Dense(784, width, {activation = "relu"}),
        wb.nn.Dense(width, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {w = width or -1, v = V} end]])
  T.eq(rec.measures.w, 8)
  trained_again(rec, err, "shares the upvalue 'width' (nil) with the build hook, which the "
    .. "training changed")
end)

T.test("a global the build hook sets: trained again (a re-measure runs no build)", function()
  local rec, err = edited("glob", "", [[
    build = function(cfg, data)
      SCALE = 3
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {s = SCALE or -1, v = V} end]])
  T.eq(rec.measures.s, 3)
  trained_again(rec, err, "read the global SCALE")
  -- one its measure hook does not read: measured again (and a record of no globals: {})
  rec, err = edited("glob2", "", [[
    build = function(cfg, data)
      SCALE2 = 3
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {ep = #history.loss, v = V} end]])
  T.ok(rec.reused_from, "measured on the recorded training: " .. err)
  T.eq(util.canonical(rec.remeasure.globals), '{"SCALE2":true}')
  local plain = record("plain", 2)
  T.eq(util.canonical(plain and plain.remeasure.globals), "{}", "no globals set")
end)

T.test("a field the build hook sets on the model: trained again (wb.load's model has none: "
    .. "the re-measure failed; a layer's are read-only)", function()
  local rec, err = edited("mfield", "", [[
    build = function(cfg, data)
      local m = wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})}
      m.note = 7
      return m end,
    measure = function(model, cfg, data, history)
      return {note = model.note or -1, v = V} end]])
  T.eq(rec.measures.note, 7)
  trained_again(rec, err, "set the model's own field 'note'")
end)

-- A global that existed before the training (the script's top sets it) and that a hook fills
-- in place, not assigns: the name is the same, its content is not. A re-measure runs no build,
-- so the value it would read is the top's ({}, zeros): a fresh training measures 3 (12).
T.test("a global table the build hook fills in place: trained again", function()
  local rec, err = edited("gfill", "STATS = {}", [[
    build = function(cfg, data)
      STATS.scale = 3
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {s = STATS.scale or -1, v = V} end]])
  T.eq(rec.measures.s, 3)
  trained_again(rec, err, "read the global STATS")
end)

T.test("a global tensor the build hook fills in place: trained again", function()
  local rec, err = edited("gten", "W0 = wb.zeros(4)", [[
    build = function(cfg, data)
      W0:fill(3)
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {w = W0:sum(), v = V} end]])
  -- a hook that uses a tensor global cannot be identified: never cached, trained each time
  T.eq(rec.measures.w, 12)
  T.ok(not rec.reused_from, "trained again")
  T.ok(err:find("cannot be identified (global 'W0'", 1, true), err)
end)

T.test("a global table the build hook fills, the measure hook reads by another name: "
    .. "trained again", function()
  local rec, err = edited("galias", "STATS = {}\nlocal S = STATS", [[
    build = function(cfg, data)
      STATS.scale = 3
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {s = S.scale or -1, v = V} end]])
  T.eq(rec.measures.s, 3)
  trained_again(rec, err, "its measure hook's upvalue 'S' was changed by the training")
end)

T.test("a global table the build hook fills, inside a table the measure hook holds: "
    .. "trained again", function()
  local rec, err = edited("ginside", "STATS = {}\nlocal H = {s = STATS}", [[
    build = function(cfg, data)
      STATS.scale = 3
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {s = H.s.scale or -1, v = V} end]])
  T.eq(rec.measures.s, 3) -- re-measured: -1, cached
  trained_again(rec, err, "its measure hook's upvalue 'H' was changed by the training")
end)

T.test("a local table the build hook fills, inside another the measure hook holds: "
    .. "trained again", function()
  local rec, err = edited("linside", "local R = {}\nlocal Q = {r = R}", [[
    build = function(cfg, data)
      R.scale = 3
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {s = Q.r.scale or -1, v = V} end]])
  T.eq(rec.measures.s, 3) -- re-measured: -1, cached
  trained_again(rec, err, "its measure hook's upvalue 'Q' was changed by the training")
end)

-- A module of the user's beside the task (its folder is on package.path): {} to fill.
local function module_file(name) util.write_file(dir .. "/" .. name .. ".lua", "return {}\n") end

T.test("a module the build hook fills, held by both hooks: trained again (tryX 1)", function()
  module_file("tstate_a")
  local rec, err = edited("modup", 'local S = require "tstate_a"', [[
    build = function(cfg, data)
      S.n = 3
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {s = S.n or -1, v = V} end]])
  T.eq(rec.measures.s, 3) -- re-measured: -1, cached
  trained_again(rec, err, "the upvalue 'S'")
end)

T.test("a module the hooks load and fill in their bodies: trained again (tryX 1)", function()
  module_file("tstate_b")
  local rec, err = edited("modbody", "", [[
    build = function(cfg, data)
      require("tstate_b").n = 3
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history)
      return {s = require("tstate_b").n or -1, v = V} end]])
  T.eq(rec.measures.s, 3) -- re-measured: -1, cached
  trained_again(rec, err, "the training changed the module 'tstate_b' (filled it, or loaded it")
end)

T.test("a module both hooks only read: measured again, not trained", function()
  util.write_file(dir .. "/tconst_c.lua", "return {n = 3}\n")
  local rec, err = edited("modconst", 'local C = require "tconst_c"', [[
    build = function(cfg, data)
      return wb.nn.Sequential{wb.nn.Dense(784, 8 + C.n - 3, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})} end,
    measure = function(model, cfg, data, history) return {s = C.n, v = V} end]])
  T.eq(rec.measures.s, 3)
  T.ok(rec.reused_from, "measured on the recorded training: " .. err)
end)

-- A side file the build hook writes and the measure hook reads (tryX t30): kept out of the
-- run's reads (its own output), it is what a re-measure reads in the training's place.
local SIDE = [[
    build = function(cfg, data)
      wb.sys.write_atomic(SIDE, "12730")
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})}
    end,
    measure = function(model, cfg, data, history)
      local f = io.open(SIDE)
      local n = f and tonumber(f:read("a")) or -1
      if f then f:close() end
      return {n = n, v = V} end]]

-- Trains task name (V = 1), applies change to the side file, runs it with V = 2.
local function side_edited(name, change)
  local side = dir .. "/" .. name .. "_side.txt"
  local head = string.format("local SIDE = %q", side)
  local st, _, err = task(name, 1, head, SIDE)
  T.eq(st, 0, err)
  T.eq((record(name, 1) or {measures = {}}).measures.n, 12730, "trained: " .. err)
  change(side)
  st, _, err = task(name, 2, head, SIDE)
  T.eq(st, 0, err)
  return record(name, 2) or {measures = {}}, err
end

T.test("a side file the training wrote, rewritten since: trained again (tryX t30)", function()
  local rec, err = side_edited("side_rewritten", function(p) util.write_file(p, "-2") end)
  T.eq(rec.measures.n, 12730, "as a fresh training measures it")
  trained_again(rec, err, "which its training wrote, and the file changed since")
end)

T.test("a side file the training wrote, removed since: trained again (tryX t30)", function()
  local rec, err = side_edited("side_removed", function(p) os.remove(p) end)
  T.eq(rec.measures.n, 12730, "as a fresh training measures it")
  trained_again(rec, err, "which its training wrote, and the file was removed since")
end)

T.test("a side file the training wrote, as it was: measured again, not trained", function()
  local rec, err = side_edited("side_kept", function() end)
  T.eq(rec.measures.n, 12730)
  T.ok(rec.reused_from, "measured on the recorded training: " .. err)
end)

T.done()
