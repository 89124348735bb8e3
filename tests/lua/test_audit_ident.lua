-- test_audit_ident.lua: a run's identity is what ex:run() trains.
-- 1. The identity was fixed when the experiment was made: a global a build
--    hook reads (P.act), changed between wb.experiment{...} and ex:run(),
--    trained tanh under relu's hash, and relu's next run reused it. Now
--    ex:run() identifies the hooks as they are when it is called.
-- 2. The same within one process (a REPL): ex:run(), then a table a
--    callbacks hook reads changed, ex:run() again said "1 cached".
-- 3. Two variants with the same config were accepted: the second trained
--    as "same training as" the first, reported as another variant. Now an
--    error naming both, before anything is trained.
-- 4. A run that cannot resume (a plain Lambda callback, instruments)
--    restarted from epoch 1 after a kill without a word; now it says why
--    as it starts, in ex:run() and in a task's runner.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local root = T.tmpdir()

local SMALL = {epochs = 1, subset = {train = 300, test = 100}}

local function base(extra)
  local b = {}
  for k, v in pairs(SMALL) do b[k] = v end
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

-- {==== 1. the hooks as they are at ex:run() ====

AUDIT_IDENT_P = {act = "relu"}
local function act_ex()
  return wb.experiment({name = "act", seeds = {1}, keys = {}, base = base(),
    build = function()
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = AUDIT_IDENT_P.act}),
        wb.nn.Dense(8, 10, {activation = "softmax"})}
    end}, {root = root})
end

T.test("a global the build hook reads, changed after wb.experiment{...}: ex:run() trains "
  .. "and records it under the identity of what it trained", function()
  AUDIT_IDENT_P.act = "relu"
  local ex = act_ex()
  local relu_hash = ex.specs[1].hash
  AUDIT_IDENT_P.act = "tanh"
  local rs = T.stderr_of(function() return ex:run{verbose = false} end)
  T.eq(rs[1]:model()[1].activation, "tanh")
  T.ok(rs[1].hash ~= relu_hash, "tanh's run is not under relu's hash")
  T.eq(ex.specs[1].hash, rs[1].hash, "ex.specs says what was trained")
  T.eq(act_ex().specs[1].hash, rs[1].hash, "a tanh experiment made now has its hash")
  -- relu now: not the tanh run reused
  AUDIT_IDENT_P.act = "relu"
  local rs2, err = T.stderr_of(function() return act_ex():run() end)
  T.ok(err:find("1 run: 0 cached, 1 to train", 1, true), err)
  T.eq(rs2[1]:model()[1].activation, "relu")
  T.eq(rs2[1].hash, relu_hash)
end)

-- }====
-- {==== 2. ex:run() twice in one process ====

AUDIT_IDENT_CONF = {lr = 0.05}
T.test("a table the callbacks hook reads, changed between two ex:run(): the second retrains",
  function()
  local ex = wb.experiment({name = "conf", seeds = {1}, base = base{hidden = 8,
    optimizer = "sgd", lr = 0.1},
    callbacks = function(cfg, model)
      return {wb.callbacks.Lambda{on_epoch_begin = function()
        model.optimizer.lr = AUDIT_IDENT_CONF.lr end}}
    end}, {root = root})
  local first = T.stderr_of(function() return ex:run() end)
  T.eq(first[1].history.lr[1], 0.05)
  AUDIT_IDENT_CONF.lr = 0.01
  local second, err = T.stderr_of(function() return ex:run() end)
  T.ok(err:find("1 run: 0 cached, 1 to train", 1, true), err)
  T.eq(second[1].history.lr[1], 0.01)
  T.ok(second[1].hash ~= first[1].hash)
  T.eq(ex.specs[1].hash, second[1].hash)
  -- unchanged: cached
  local _, err2 = T.stderr_of(function() return ex:run() end)
  T.ok(err2:find("1 run: 1 cached, 0 to train", 1, true), err2)
end)

-- }====
-- {==== 3. two variants that would train the same ====

T.test("two variants with the same config are an error naming both, before any work",
  function()
  local where = T.tmpdir()
  T.check_error("variants a and b have the same config, so they would train the same",
    function()
      wb.experiment({name = "dup", base = base{hidden = 8}, variants = {{label = "a",
        dropout = 0.1}, {label = "c", dropout = 0.2}, {label = "b", dropout = 0.1}}},
        {root = where})
    end)
  -- a value equal to the default is the same training too
  T.check_error("variants base and bs32 have the same config", function()
    wb.experiment({name = "dup2", base = base{hidden = 8}, variants = {{label = "base"},
      {label = "bs32", batch_size = 32}}}, {root = where})
  end)
  T.eq(#(wb.sys.listdir(where)), 0, "nothing written")
  -- different ones are fine
  local ex = wb.experiment({name = "nodup", base = base{hidden = 8}, variants = {
    {label = "a", dropout = 0.1}, {label = "b", dropout = 0.2}}}, {root = where})
  T.eq(#ex.specs, 2 * #ex.seeds)
end)

-- }====
-- {==== 4. a run that cannot resume says why ====

local RESTART = ": an interrupted run restarts from epoch 1"

T.test("a run with a Lambda callback, or instruments, says as it starts that it cannot "
  .. "resume; one that can says nothing", function()
  local line = debug.getinfo(1, "l").currentline + 3
  local ex = wb.experiment({name = "lam", seeds = {1}, base = base{hidden = 8},
    callbacks = function()
      return {wb.callbacks.Lambda{on_epoch_end = function() end}}
    end}, {root = root})
  local _, err = T.stderr_of(function() return ex:run() end)
  T.ok(err:find("callback 1 of the callbacks hook (Lambda at "
    .. "tests/lua/test_audit_ident.lua:" .. line .. ") has no get_state" .. RESTART, 1,
    true), err)
  ex = wb.experiment({name = "ins", seeds = {1}, base = base{hidden = 8,
    instruments = "economy"}}, {root = root})
  _, err = T.stderr_of(function() return ex:run() end)
  -- which it measures, named (tryAA E1: grad_norm and gsnr read as refused for alpha's sake)
  T.ok(err:find("it measures instruments (alpha, distance, grad_hist, grad_norm, inner_test, "
    .. "loss, norm_test, ortho_test, update_size), and the runner resumes no run that does",
    1, true)
    and err:find("wb/instruments_state.lua)" .. RESTART, 1, true), err)
  ex = wb.experiment({name = "keeps", seeds = {1}, base = base{hidden = 8},
    callbacks = function()
      return {{on_epoch_end = function() end, get_state = function() return {} end,
        set_state = function() end}}
    end}, {root = root})
  _, err = T.stderr_of(function() return ex:run() end)
  T.ok(not err:find(RESTART, 1, true), err)
end)

T.test("a task's runner says it too (its runs train in child processes)", function()
  local dir = T.tmpdir()
  local script = dir .. "/t.lua"
  local f = assert(io.open(script, "w"))
  f:write([[
return wb.task{name = "h6", experiment = {
  base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
  callbacks = function(cfg, model, data)
    return {wb.callbacks.Lambda{on_epoch_begin = function() end}}
  end, seeds = {1, 2}},
  report = function(t, runs) end}
]])
  f:close()
  local st, _, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(dir .. "/r"))
  T.eq(st, 0, err)
  T.ok(err:find("[h6] callback 1 of the callbacks hook (Lambda at " .. script .. ":4) has no "
    .. "get_state" .. RESTART .. " (said once for the runs it applies to)", 1, true), err)
  local _, n = err:gsub(RESTART:gsub("%p", "%%%0"), "")
  T.eq(n, 1, "said once for the task's two runs: " .. err)
end)

-- }====

T.done()
