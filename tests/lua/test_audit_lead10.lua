-- test_audit_lead10.lua: ex:run() trains each run in a forked child. In one
-- process, what a hook kept from one run to the next (a global counting its
-- calls) reached the runs after it: seed 2 of a sweep trained another model
-- than seed 2 alone, under the same hash, and later sweeps reused its
-- numbers as that run's (trust7 found it). Each run now starts from this
-- process as it was before the first; only records and weights come back,
-- and a run's error comes back as it was raised (a wb.Error's kind too).
-- Also: a run's best weights are those of the epoch its record names as
-- best; with early stopping's min_delta (or another monitor) the record
-- named its EarlyStopping's best epoch while the .best weights file held
-- the lowest validation loss's (or none: the last epoch's weights).
-- And three papercuts first3 found: wb.experiment's misspelt option
-- (rot = ...) dropped, the runs going to plots/; model.fit(...) and
-- h.last(...) with a dot; --quick raising a run of 1 epoch to 2.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

local BASE = {hidden = 4, epochs = 1, subset = {train = 100, test = 50}}

-- A build hook that remembers its calls in a global: from the second call
-- on, it draws a random number first, so its model starts elsewhere.
local function counting(cfg)
  CALLS_LEAD10 = (CALLS_LEAD10 or 0) + 1
  if CALLS_LEAD10 > 1 then wb.randn({1}) end
  return wb.nn.Sequential{wb.nn.Dense(784, cfg.hidden, {activation = "relu"}),
    wb.nn.Dense(cfg.hidden, 10, {activation = "softmax"})}
end

local function losses(root, seeds, build)
  local ex = wb.experiment({name = "counting", base = BASE, seeds = seeds,
    build = build or counting, keys = {"hidden"}}, {root = root})
  local runs = T.stderr_of(function() return ex:run{verbose = false} end)
  local by_seed = {}
  for _, r in ipairs(runs.records) do by_seed[r.seed] = {loss = r.metrics.loss, hash = r.hash} end
  return by_seed
end

T.test("a hook's state does not reach the next run: seed 2 in a sweep is seed 2 alone",
  function()
  local sweep = losses(dir .. "/sweep", {1, 2})
  CALLS_LEAD10 = nil
  local alone = losses(dir .. "/alone", {2})
  T.eq(sweep[2].hash, alone[2].hash, "the same run")
  T.eq(sweep[2].loss, alone[2].loss, "seed 2's loss, in the sweep and alone")
  T.eq(CALLS_LEAD10, nil, "the hook ran in the children, not here")
end)

T.test("a run's error comes back as raised: a wb.Error keeps its kind", function()
  local function failing(how)
    local ex = wb.experiment({name = "failing_" .. how, base = BASE, seeds = {1},
      keys = {"hidden"}, build = function()
        if how == "fail" then wb.sys.fail("ENOENT", "no such thing: /x/y") end
        if how == "exit" then os.exit(7) end
        error("plain text " .. how, 0)
      end}, {root = dir .. "/fail"})
    local ok, err
    T.stderr_of(function() ok, err = pcall(ex.run, ex, {verbose = false}) end)
    T.ok(not ok, how .. " raised")
    return err
  end
  local err = failing("fail")
  T.ok(wb.is_error(err), "a wb.Error: " .. tostring(err))
  T.eq(err.code, "ENOENT")
  T.ok(tostring(err.message):find("no such thing: /x/y", 1, true), tostring(err.message))
  T.eq(failing("text"), "plain text text")
  err = failing("exit")
  T.ok(tostring(err):find("run_experiment: %[failing_exit%] run %x+ %(base seed 1%): its "
    .. "process ended with status 7 and said nothing"), tostring(err))
end)

T.test("a process a run starts in the background does not hold ex:run() up", function()
  -- the child's pipe was inherited: ex:run() waited for the sleep to end
  local pidfile = dir .. "/sleeper.pid"
  local ex = wb.experiment({name = "background", base = BASE, seeds = {1}, keys = {"hidden"},
    build = function(cfg)
      os.execute("sleep 30 >/dev/null 2>&1 & echo $! > " .. pidfile)
      return counting(cfg)
    end}, {root = dir .. "/bg"})
  T.stderr_of(function() return ex:run{verbose = false} end)
  local pid = T.slurp(pidfile):match("%d+")
  -- running (not gone, nor a zombie nobody reaps, as in a container)
  local f = pid and io.open("/proc/" .. pid .. "/stat")
  local state = f and f:read("a"):match("^%d+ %b() (%a)")
  if f then f:close() end
  T.ok(state and state ~= "Z" and state ~= "X", "the sleeper still runs: " .. tostring(state))
  if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
end)

T.test("the run's record and model come back; a second ex:run() trains nothing", function()
  local root = dir .. "/again"
  local first = losses(root, {1})
  local ex = wb.experiment({name = "counting", base = BASE, seeds = {1}, build = counting,
    keys = {"hidden"}}, {root = root})
  local _, err = T.stderr_of(function() return ex:run() end)
  T.ok(err:find("1 cached, 0 to train", 1, true), err)
  local runs = T.stderr_of(function() return ex:run{verbose = false} end)
  T.eq(runs.records[1].metrics.loss, first[1].loss)
  -- what a run writes to a captured io.stderr comes back to it
  ex = wb.experiment({name = "saying", base = BASE, seeds = {1}, keys = {"hidden"},
    build = function(cfg) io.stderr:write("built ", cfg.hidden, "\n") return counting(cfg) end},
    {root = root})
  _, err = T.stderr_of(function() return ex:run{verbose = false} end)
  T.ok(err:find("built 4\n[saying 1/1] base seed 1: test accuracy", 1, true), err)
  T.ok(runs:of("base")[1]:model() ~= nil, "the model loads")
end)

T.test("the best weights are those of the epoch the record names best (early stopping's)",
  function()
  local root = dir .. "/best"
  local function run(name, base)
    local ex = wb.experiment({name = name, base = base, seeds = {1}}, {root = root})
    return T.stderr_of(function() return ex:run{verbose = false} end)
  end
  -- min_delta = 10: no epoch after the first improves on it
  local runs = run("es", {hidden = 4, epochs = 3, subset = {train = 200, test = 50},
    early_stopping = {min_delta = 10, patience = 10}})
  local r = runs.records[1]
  T.eq(r.metrics.best_epoch, 1)
  T.ok(r.history.val_loss[3] < r.history.val_loss[1], "epoch 1 is not the lowest val_loss")
  local one = run("one", {hidden = 4, epochs = 1, subset = {train = 200, test = 50},
    early_stopping = {min_delta = 10, patience = 10}})
  local best = runs:of("base")[1]:model("best"):get_weights()
  local first = one:of("base")[1]:model():get_weights()
  for i = 1, #first do T.eq(best[i]:sum(), first[i]:sum(), "parameter " .. i .. " of epoch 1") end
end)

T.test("first hour: a misspelt experiment option, a dot for a colon, --quick's epochs",
  function()
  T.check_error("experiment: unknown option 'rot' (valid: options, root, where, name, "
    .. "command)", function()
    wb.experiment({name = "w", base = {epochs = 1, hidden = 8}}, {rot = dir .. "/x"})
  end)
  local m = wb.nn.Sequential{wb.nn.Dense(784, 10, {activation = "softmax"})}
  local rows = wb.data.mnist().train:subset(1, 50)
  T.check_error("wb.Sequential:fit: call it with a colon, model:fit(...)", function()
    m.fit(rows, {epochs = 1, verbose = false})
  end)
  local h = m:fit(rows, {epochs = 1, verbose = false})
  T.check_error("wb.History:last: call it with a colon, h:last(...)", function()
    h.last("loss")
  end)
  local ex = wb.experiment({name = "q", base = {epochs = 1, hidden = 8},
    variants = {{label = "one"}, {label = "five", epochs = 5}}},
    {options = {quick = true}, root = dir .. "/q"})
  local epochs = {}
  for _, sp in ipairs(ex.specs) do epochs[sp.variant] = sp.config.epochs end
  T.eq(epochs.one, 1, "a run of 1 epoch stays 1")
  T.eq(epochs.five, 2)
  T.eq(table.concat(ex.quick_replaced, "; "), "epochs = 5 (variant five)")
end)

T.done()
