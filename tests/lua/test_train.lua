-- test_train.lua: wb.train.run's callbacks option (the runner's watch
-- trains with it): the caller's callbacks see every step of the run's fit
-- but are not the run's: not in its record, its measure hook's callbacks or
-- its state file; one that keeps state is refused; a run they stopped
-- resumes, without them, bit for bit as an uninterrupted run. A state
-- saved from another model (same hash) is trained over, with a warning.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"
local util = require "wb.util"
local record = require "wb.record"

-- 300 training rows (270 after the 10 % validation split): 9 steps of 32
-- per epoch
local BASE = {hidden = 8, epochs = 2, batch_size = 32, subset = {train = 300, test = 100}}
local STEPS = 9

local function experiment(spec)
  local root = T.tmpdir()
  wb.sys.mkdir_p(root .. "/runs")
  spec.base, spec.seeds = BASE, {1}
  return wb.experiment.new(spec, {name = "t", root = root, command = function() end})
end

local function counter()
  local cb = {n = 0}
  function cb.on_train_batch_end() cb.n = cb.n + 1 end
  return cb
end

T.test("train.run's callbacks see every step, and are not the run's", function()
  local seen
  local ex = experiment{callbacks = function() return {} end,
    measure = function(_, _, _, _, extra) seen = #extra; return {} end}
  local cb = counter()
  local rec = wb.train.run(ex, ex.specs[1], {callbacks = {cb}})
  T.eq(cb.n, 2 * STEPS, "steps seen")
  T.eq(rec.status, "ok")
  T.eq(rec.hash, ex.specs[1].hash, "the run's identity")
  T.eq(seen, 0, "the measure hook's callbacks are the run's own")
  T.eq(rec.callback_series, nil, "no series of the caller's callback in the record")
  T.eq(rec.fit_options.callbacks, nil, "nor in its fit options")
end)

T.test("train.run refuses a callback of the caller's that keeps state", function()
  local ex = experiment{}
  T.check_error("train.run: opts.callbacks[2]: expected a callback without state",
    wb.train.run, ex, ex.specs[1], {callbacks = {counter(),
      {get_state = function() return {} end, set_state = function() end}}})
  T.eq(#wb.sys.listdir(ex.root .. "/runs"), 0, "nothing trained")
end)

-- Runs spec s of ex until a callback errors in epoch 2, after epoch 1's
-- state was saved; returns that state's path.
local function stop_in_epoch_2(ex, s)
  local stop = {on_train_batch_end = function(_, step)
    if step == STEPS + 4 then error("stopped in epoch 2") end
  end}
  T.check_error("stopped in epoch 2", wb.train.run, ex, s, {callbacks = {stop}})
  local path = record.path(ex.root, ex.name, s.hash, "state.safetensors")
  T.ok(wb.sys.exists(path), "epoch 1's state is there")
  return path
end

T.test("a run stopped by the caller's callback resumes without it, bit for bit", function()
  local straight = experiment{}
  local want = wb.train.run(straight, straight.specs[1])
  local ex = experiment{}
  local s = ex.specs[1]
  local path = stop_in_epoch_2(ex, s)
  local _, meta = wb.io.load_safetensors(path)
  local saved = cjson.decode(meta["workbench.callbacks"])
  -- the run's own callbacks with state only: its best-weights keeper (a
  -- plain table) and the ModelCheckpoint that wrote the file
  local kinds = {}
  for i, e in ipairs(saved) do kinds[i] = e.kind end
  T.eq(table.concat(kinds, " "), "callback wb.callbacks.ModelCheckpoint", "callback states")
  local cb = counter()
  local rec = wb.train.run(ex, s, {callbacks = {cb}})
  T.eq(rec.resumed_after_epoch, 1, "resumed")
  T.eq(cb.n, STEPS, "the resumed fit's steps, seen")
  local diff = T.history_diff(util.plain(want.history), util.plain(rec.history), "history", {})
  T.eq(#diff, 0, table.concat(diff, "; "))
  T.eq(rec.metrics.test_loss, want.metrics.test_loss, "the same final weights")
end)

-- A Lua layer counting its calls in a local its forward closes over: the
-- run's hash is the same on a rerun (the count is 0 when it is taken), the
-- saved layer's code is not (its count was 5). fit refuses such a resume;
-- the runner failed the run on that, and on every retry, the state file
-- staying. It now trains the run over from scratch, saying why.
T.test("a killed run whose state is of another model trains over, not fails", function()
  local function build(cfg)
    local calls = 0
    local L = {sizes = {1, 8}}
    function L:forward(x) calls = calls + 1; return x end
    function L:backward(_, g) return g end
    function L:parameters() return {}, {} end
    function L:zero_grad() end
    wb.seed(cfg.seed)
    return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}), L,
      wb.nn.Dense(8, 10, {activation = "softmax"})}
  end
  local straight = experiment{build = build, keys = {"hidden"}}
  local want = wb.train.run(straight, straight.specs[1])
  local ex = experiment{build = build, keys = {"hidden"}}
  local s = ex.specs[1]
  stop_in_epoch_2(ex, s)
  local real, err = io.stderr, {}
  io.stderr = {write = function(self, t) err[#err + 1] = t; return self end}
  local ok, rec = pcall(wb.train.run, ex, s)
  io.stderr = real
  err = table.concat(err)
  T.ok(ok, tostring(rec))
  T.eq(rec.status, "ok")
  T.eq(rec.resumed_after_epoch, nil, "trained from scratch")
  T.ok(err:find("is not a training state of run t-" .. s.hash .. " (it was saved from "
    .. "another model: the code of layer 2 (a Lua layer)'s method 'forward'", 1, true), err)
  T.ok(err:find("training from scratch", 1, true), err)
  local diff = T.history_diff(util.plain(want.history), util.plain(rec.history), "history", {})
  T.eq(#diff, 0, table.concat(diff, "; "))
  T.eq(rec.metrics.test_loss, want.metrics.test_loss, "the same final weights")
end)

-- tryL 6: a killed run whose rows changed under the same hash (a hook's read the identity
-- missed) failed on every rerun, --fresh too: "fit: resume: ... was trained with training
-- rows 270, this fit has 180". fit would refuse the state for its data: trained over, warned.
T.test("a killed run whose state is of other data trains over, not fails", function()
  local rows = 300
  local function build(cfg, d) -- the rows a hook chose; the hash was taken with 300
    d.train = d.train:subset(1, rows)
    wb.seed(cfg.seed)
    return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
      wb.nn.Dense(8, 10, {activation = "softmax"})}
  end
  local ex = experiment{build = build, keys = {"hidden"}}
  local s = ex.specs[1]
  local path = stop_in_epoch_2(ex, s)
  rows = 200
  local rec, err = T.stderr_of(function() return wb.train.run(ex, s) end)
  T.eq(rec.status, "ok")
  T.eq(rec.resumed_after_epoch, nil, "trained from scratch")
  T.ok(err:find("warning: " .. path .. ", the state run t-" .. s.hash .. " saved before it "
    .. "stopped, was trained with training rows 270, this fit has 180", 1, true), err)
  T.ok(err:find("not resumed; training from scratch", 1, true), err)
  T.ok(not wb.sys.exists(path) or rec.status == "ok", "the refused state is gone")
  local other = experiment{build = build, keys = {"hidden"}} -- 200 rows from the start
  local want = wb.train.run(other, other.specs[1])
  T.eq(rec.metrics.test_loss, want.metrics.test_loss, "the numbers of 200 rows")
end)

-- audit X16h: a damaged state's warning carried a library file:line
-- (".../train_resume.lua:122: ..."): the user's file and what is wrong only
T.test("a damaged state is warned about without a library line, and trained from scratch",
  function()
  local ex = experiment{}
  local s = ex.specs[1]
  local path = stop_in_epoch_2(ex, s)
  local bytes = util.read_file(path)
  util.write_file(path, bytes:sub(1, #bytes - 100)) -- cut short
  local rec, err = T.stderr_of(function() return wb.train.run(ex, s) end)
  T.eq(rec.resumed_after_epoch, nil, "trained from scratch")
  T.ok(err:find("warning: " .. path .. " is not a training state of run t-" .. s.hash, 1, true),
    err)
  T.ok(not err:find("%.lua:%d+:"), "no library line: " .. err)
end)

T.done()
