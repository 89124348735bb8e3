-- test_audit_trust7.lua: ways a number could be silently wrong, or a run
-- wrongly blamed, found by the seventh trust audit.
-- 1. A history's series took any value: a hook's model.history.loss[1] = "x"
--    (or a table, or val_loss = "x") was kept; fit went on, the run's record
--    was written with it, then refused when read ("not a well-formed run
--    record ... while the task ran (another runner on this root?)") and the
--    run retrained at every rerun. Now fit stops at the end of that epoch
--    with an error naming the series, and wb.record.write refuses a record
--    wb.record.read would refuse, naming the field (an on_train_end hook's
--    history.loss[1] = "x", after fit's last check). After fit, h:last and
--    tostring(h) of a series made a string said "wb.History has no series
--    'val_loss'; did you mean val_loss?", and gave a string last entry back
--    as a value: now an error naming the series and what it holds.
-- 2. A run recorded by another process while this one trained the runs
--    before it (run_experiment's "recorded meanwhile" path, untested until
--    now) is taken as recorded, said so, and not trained again.
-- 3. A process that had loaded MNIST (wb.data.mnist() in a REPL) trained its
--    in-process runs on the data as loaded but recorded them under the
--    identity of the files as they were when its experiment was made:
--    changed in between, a new process on the changed files reused those
--    numbers silently (and the other way round: identified, then loaded
--    after a change). Now a set's identity is that of its files as the
--    process loaded them, and loading a set whose files no longer match
--    what the process identified is an error naming them.
-- 4. In one process (ex:run(), the REPL), a build hook that changed the
--    cached training set in place (labels shifted for a label-noise
--    variant) changed the data of every later run: the clean variant was
--    recorded, under the clean runs' hash, with the noisy labels' numbers.
--    The caches now notice (a hash of each tensor they hand out) and read
--    the data again; and since test_audit_lead10, each run of ex:run()
--    trains in a forked child, where such a change stays.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
local q = T.quote

-- {==== 1. a history's series hold numbers ====

-- A callback that runs edit(history, epoch) in its on_epoch_end.
local function editing(edit)
  return {on_train_begin = function(self, model) self.model = model end,
    on_epoch_end = function(self, epoch) edit(self.model.history, epoch) end}
end

local function fit_with(edit, epochs)
  local m = T.tiny_mlp(1)
  return m:fit(T.tiny_data(), {epochs = epochs or 2, batch_size = 16, verbose = false,
    callbacks = {editing(edit)}})
end

T.test("a hook that makes a series a string, or puts a string or table in one: fit fails "
  .. "at that epoch's end naming the series and the epoch", function()
  T.check_error("fit: epoch 1: the history's series 'val_loss' is a string (\"x\"), not a "
    .. "list of numbers (one per epoch) (a hook changed it)", fit_with, function(h)
      h.val_loss = "x"
    end)
  T.check_error("fit: epoch 2: the history's series 'loss' holds a string (\"x\") at epoch "
    .. "1: a series holds numbers only (a hook changed it)", fit_with, function(h, e)
      if e == 2 then h.loss[1] = "x" end
    end)
  T.check_error("fit: epoch 2: the history's series 'accuracy' holds a table", fit_with,
    function(h, e) if e == 2 then h.accuracy = {0.5, {1}} end end)
  T.check_error("fit: epoch 1: the history's series 'lr' is a nil", fit_with,
    function(h) h.lr = nil end)
  -- numbers (NaN too) of one's own in place of fit's: a list of numbers, but not what
  -- training measured (test_audit_hist8.lua)
  T.check_error("fit: an on_epoch_end hook of epoch 2 changed history.loss[1] from ",
    fit_with, function(hist, e) if e == 2 then hist.loss[1] = 0 / 0 end end)
end)

T.test("run_experiment: a callback that puts a string in a series fails its run naming the "
  .. "series; no record, nothing blamed on another runner", function()
  local root = dir .. "/series"
  local ex = wb.experiment({name = "series", base = {hidden = 4, epochs = 2,
    subset = {train = 100, test = 50}},
    callbacks = function()
      return {editing(function(h, e) if e == 2 then h.val_loss[1] = "x" end end)}
    end}, {root = root})
  local ok, err
  local _, text = T.stderr_of(function() ok, err = pcall(ex.run, ex, {verbose = false}) end)
  T.ok(not ok, "the run fails")
  T.ok(tostring(err):find("the history's series 'val_loss' holds a string (\"x\") at epoch 1",
    1, true), tostring(err))
  T.ok(not text:find("another runner", 1, true), text)
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    T.ok(not wb.record.is_record_file(n), "no record: " .. n)
  end
end)

T.test("h:last and tostring(h) of a series set to a non-list, or ending in a non-number, "
  .. "after fit: an error naming the series, not 'no series' nor the value", function()
  local h = fit_with(function() end)
  h.val_loss = "x"
  T.check_error("wb.History: series 'val_loss' is a string (\"x\"), not a list of numbers",
    h.last, h, "val_loss")
  T.check_error("wb.History: series 'val_loss' is a string", tostring, h)
  h.val_loss = {}
  h.loss[#h.loss] = "0.5"
  T.check_error("wb.History: series 'loss' holds a string (\"0.5\") at epoch 2, not a number",
    h.last, h, "loss")
  h.loss[2] = 0.5
  T.eq(h:last("loss"), 0.5)
  T.eq(h:last("val_loss"), nil)
end)

T.test("wb.record.write refuses a record wb.record.read would refuse, naming the field; "
  .. "nothing written", function()
  local path = dir .. "/bad.json"
  local function rec(history)
    return {hash = "0123456789abcdef", task = "t", variant = "base", seed = 1, config = {},
      status = "ok", history = history, metrics = {test_accuracy = 0.5}}
  end
  T.check_error("wb.record.write: " .. path .. ": not a well-formed run record (field "
    .. "'history.val_loss': list of numbers expected, got string at 1)", wb.record.write, path,
    rec({loss = {1, 2}, val_loss = {"x"}}))
  T.ok(not wb.sys.exists(path), "nothing written")
  local r = rec({loss = {1, 2}})
  r.metrics.test_loss = "0.3"
  T.check_error("field 'metrics.test_loss': number expected, got string", wb.record.write,
    path, r)
  T.ok(not wb.sys.exists(path), "nothing written")
  wb.record.write(path, rec({loss = {1, 2}}))
  T.eq(wb.record.read(path).history.loss[1], 1)
end)

T.test("run_experiment: an on_train_end hook that puts a string in the history fails its run "
  .. "naming the field; no record, nothing blamed on another runner", function()
  local root = dir .. "/measured"
  local ex = wb.experiment({name = "measured", base = {hidden = 4, epochs = 1,
    subset = {train = 100, test = 50}},
    callbacks = function()
      return {{on_train_begin = function(self, model) self.model = model end,
        on_train_end = function(self) self.model.history.lr[1] = "x" end}}
    end}, {root = root})
  local ok, err
  local _, text = T.stderr_of(function() ok, err = pcall(ex.run, ex, {verbose = false}) end)
  T.ok(not ok, "the run fails")
  T.ok(tostring(err):find("not a well-formed run record (field 'history.lr': list of "
    .. "numbers expected, got string at 1)", 1, true), tostring(err))
  T.ok(not text:find("another runner", 1, true), text)
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    T.ok(not wb.record.is_record_file(n), "no record: " .. n)
  end
end)

-- }====

-- {==== 2. a run recorded meanwhile by another process ====

-- run_experiment over seeds 1 and 2 ($ONLY: that seed alone) on $ROOT; its
-- measure hook notes each run in $STARTS, and seed 1's waits (bounded) for
-- the file $HOLD, having made $HOLD.in. Every process sees the same values
-- of the variables the hook reads: they are part of its runs' identity.
local script = dir .. "/meanwhile.lua"
util.write_file(script, [[
local only = tonumber(os.getenv("ONLY") or "")
local ex = wb.experiment({name = "meanwhile", base = {hidden = 4, epochs = 1,
  subset = {train = 100, test = 50}}, seeds = only and {only} or {1, 2},
  measure = function(_, cfg)
    local f = assert(io.open(os.getenv("STARTS"), "a")); f:write(cfg.seed, "\n"); f:close()
    local go = os.getenv("HOLD")
    if cfg.seed == 1 and not io.open(go) then
      local held = io.open(go .. ".in", "w"); held:close()
      for _ = 1, 6000 do
        if io.open(go) then return {} end
        os.execute("sleep 0.1")
      end
      error("never released")
    end
    return {}
  end}, {root = os.getenv("ROOT")})
local runs = ex:run()
print("recorded " .. #runs.records .. " pid " .. wb.sys.getpid())
]])

T.test("run_experiment: a run another process recorded while this one trained the run "
  .. "before it is taken as recorded, said so, and not trained again", function()
  local root, go, starts = dir .. "/mw", dir .. "/mw.go", dir .. "/mw.starts"
  local env = string.format("ROOT=%s HOLD=%s STARTS=%s", q(root), q(go), q(starts))
  local f = dir .. "/mw.first"
  os.execute(string.format("cd / && env %s %s %s >%s.out 2>%s.err </dev/null & echo $! > "
    .. "%s.pid", env, q(exe), q(script), f, f, f))
  local pid = T.wait_line(f .. ".pid", 60):match("%d+")
  T.wait_until("the first process in seed 1's measure hook", 600, function()
    return wb.sys.exists(go .. ".in")
  end)
  -- seed 2, trained and recorded by another process meanwhile
  local st, out, err = T.sh(string.format("cd / && env %s ONLY=2 timeout 600 %s %s "
    .. "</dev/null", env, q(exe), q(script)))
  T.eq(st, 0, err)
  local other = out:match("recorded 1 pid (%d+)")
  T.ok(other, out)
  util.write_file(go, "")
  T.wait_gone(pid, 600, "the first process")
  local out1, err1 = util.read_file(f .. ".out") or "", util.read_file(f .. ".err") or ""
  T.ok(out1:find("recorded 2 pid " .. pid, 1, true), out1 .. err1)
  T.ok(err1:find("[meanwhile 2/2] base seed 2: recorded meanwhile by another process: not "
    .. "trained again", 1, true), err1)
  local seeds = {}
  for l in util.read_file(starts):gmatch("[^\n]+") do seeds[#seeds + 1] = l end
  T.eq(table.concat(seeds, " "), "1 2", "each run trained once")
  local by_seed = {}
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    if wb.record.is_record_file(n) then
      local r = assert(wb.record.read(root .. "/runs/" .. n))
      by_seed[r.seed] = r
    end
  end
  -- (each run records the pid of the child of its process that trained it)
  T.ok(by_seed[1].pid ~= by_seed[2].pid, "two trainings")
  T.ok(by_seed[2].pid ~= math.tointeger(pid), "seed 2's record is not the first process's")
end)

-- }====

-- {==== 3. data files changed under a process that had read them ====

-- A copy of MNIST ($WB_DATA = ddir); data.lua: with "preload", MNIST loaded,
-- then the first 100 training images made negatives, then run_experiment
-- (100 training rows: the changed ones) on ROOT; with "planned", the same
-- with the experiment made before the change. Prints the run's hash and loss.
local ddir = dir .. "/data"
local copy_ok = os.execute("mkdir -p " .. q(ddir .. "/mnist") .. " && cp "
  .. q(wb.luadir:gsub("/bindings/lua$", "") .. "/data/mnist") .. "/*-ubyte " .. q(ddir
  .. "/mnist"))
local dscript = dir .. "/data.lua"
util.write_file(dscript, [[
local function negate()
  local f = assert(io.open(os.getenv("WB_DATA") .. "/mnist/train-images-idx3-ubyte", "r+b"))
  f:seek("set", 16)
  local px = f:read(100 * 784)
  f:seek("set", 16)
  f:write((px:gsub(".", function(c) return string.char(255 - c:byte()) end)))
  f:close()
end
if arg[1] == "preload" then wb.data.mnist(); negate() end
local ex = wb.experiment({name = "data", base = {hidden = 8, epochs = 1,
  subset = {train = 100, test = 100}}}, {root = os.getenv("ROOT")})
if arg[1] == "planned" then negate() end
local runs = ex:run{verbose = false}
print(string.format("run %s loss %.17g", runs.records[1].hash, runs.records[1].metrics.loss))
]])

local function run_data(root, how)
  return T.sh(string.format("cd / && WB_DATA=%s ROOT=%s timeout 600 %s %s %s </dev/null",
    q(ddir), q(root), q(exe), q(dscript), how or ""))
end

T.test("data files changed after this process loaded them: its runs are of the data as "
  .. "loaded; a new process on the changed files does not reuse them", function()
  T.ok(copy_ok, "a copy of MNIST in " .. ddir)
  local root = dir .. "/preload"
  local st, out, err = run_data(root, "preload")
  T.eq(st, 0, err)
  local st2, out2, err2 = run_data(root)
  T.eq(st2, 0, err2)
  T.ok(out2 ~= out, "another run: " .. out .. " / " .. out2)
  local st3, out3, err3 = run_data(dir .. "/preload_fresh")
  T.eq(st3, 0, err3)
  T.eq(out2, out3, "the same run and numbers as trained from scratch on those files")
end)

T.test("data files changed after this process identified them, before it loaded them: its "
  .. "run fails naming them, recording nothing", function()
  T.ok(copy_ok, "a copy of MNIST in " .. ddir)
  local root = dir .. "/planned"
  local st, out, err = run_data(root, "planned")
  T.ok(st ~= 0, "refused: " .. out)
  T.ok(err:find("wb.data: the files of 'mnist' in " .. ddir .. "/mnist have changed since "
    .. "this process identified them (its runs are planned on the data as it was): start a "
    .. "new process", 1, true), err)
  local ok, names = pcall(wb.sys.listdir, root .. "/runs")
  for _, n in ipairs(ok and names or {}) do
    T.ok(not wb.record.is_record_file(n), "no record: " .. n)
  end
  local st2, out2, err2 = run_data(root)
  T.eq(st2, 0, err2)
  local st3, out3, err3 = run_data(dir .. "/planned_fresh")
  T.eq(st3, 0, err3)
  T.eq(out2, out3, "the same run and numbers as trained from scratch on those files")
end)

-- }====

-- {==== 4. a dataset changed in place by a hook ====

-- run_experiment over noise = 1 then 0 ($ONLY: that one alone) on $ROOT:
-- noise = 1's build hook shifts the first 200 training labels in place
-- ($HOW = "replace": replaces the training set's labels tensor by a shifted
-- copy). Prints each run's variant, hash and loss.
local mscript = dir .. "/inplace.lua"
util.write_file(mscript, [[
local only, how = os.getenv("ONLY"), os.getenv("HOW")
local ex = wb.experiment({name = "inplace", base = {epochs = 1, validation = "test",
  subset = {train = 200, test = 100}}, vary = {noise = only and {tonumber(only)} or {1, 0}},
  keys = {"noise"},
  build = function(cfg, data)
    if cfg.noise > 0 then
      local y = how == "replace" and data.train.labels:clone() or data.train.labels
      for i = 1, 200 do y:set(i, (y:get(i) + 1) % 10) end
      if how == "replace" then data.train.labels = y end
    end
    return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
      wb.nn.Dense(8, 10, {activation = "softmax"})}
  end}, {root = os.getenv("ROOT")})
local runs = ex:run{verbose = false}
for _, r in ipairs(runs.records) do
  print(string.format("%s seed %d %s loss %.17g", r.variant, r.seed, r.hash, r.metrics.loss))
end
]])

local function run_inplace(root, env)
  return T.sh(string.format("cd / && ROOT=%s %s timeout 600 %s %s </dev/null", q(root),
    env or "", q(exe), q(mscript)))
end

-- noise=0's runs in out: their seeds and losses (the hook's identity, so
-- the hashes, depend on $HOW)
local function clean_runs(out)
  local lines = {}
  for seed, loss in out:gmatch("noise=0 seed (%d+) %x+ loss (%S+)") do
    lines[#lines + 1] = seed .. " " .. loss
  end
  return table.concat(lines, "; ")
end

T.test("in process, a hook that changes the cached training set in place (labels set, or "
  .. "replaced) changes no later run's data", function()
  local _, ref, rerr = run_inplace(dir .. "/inplace_ref", "ONLY=0")
  T.ok(clean_runs(ref):find("^1 %S+; 2 %S+; 3 %S+$"), ref .. rerr)
  for _, how in ipairs{"set", "replace"} do
    local st, out, err = run_inplace(dir .. "/inplace_" .. how, "HOW=" .. how)
    T.eq(st, 0, err)
    T.eq(clean_runs(out), clean_runs(ref), how .. ": noise=0 as trained alone")
    -- each run trains in a child of this process (wb/runner_fork.lua): the
    -- change stays there, and no cache here needs reading again
    T.eq(select(2, err:gsub("its datasets were changed in place", "")), 0, how .. ": " .. err)
  end
end)

-- }====

T.done()
