-- test_resume_blas.lua: what a resume is given beyond fit's options (tryW 1
-- and 2). A state records the OpenBLAS kernel and thread count its fit
-- computed with, and a resume with another is refused before any work (it
-- went on without a word, and was no longer bit for bit); a state from
-- before they were kept resumes as before. The optimizer of the original
-- script is accepted when a schedule changed the lr in epoch 1 already (the
-- state keeps the lr the fit started with), and the run stays bit for bit.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"
local nn = wb.nn

local train, val = T.tiny_data()
local dir = T.tmpdir()

local function model()
  wb.seed(1)
  return nn.Sequential{nn.Dense(8, 12, {activation = "relu"}),
    nn.Dense(12, 3, {activation = "softmax"})}
end

-- The state at path with the fields `drop` of workbench.state's fit record
-- removed, as a workbench from before they were kept wrote it (checksum
-- and all).
local function as_older(path, drop)
  local tensors, meta = wb.io.load_safetensors(path)
  local st = cjson.decode(meta["workbench.state"])
  for _, k in ipairs(drop) do T.ok(st.fit[k] ~= nil, k); st.fit[k] = nil end
  meta["workbench.state"] = require("wb.checkpoint").exact_json(st)
  local fitstate = require "wb.state_fit"
  meta[fitstate.CHECKSUM] = fitstate.checksum(tensors, meta)
  wb.io.save_safetensors(path, tensors, meta)
end

local function with_threads(n, f)
  local was = wb.sys.blas_threads()
  wb.sys.set_blas_threads(n)
  local ok, err = pcall(f)
  wb.sys.set_blas_threads(was)
  if not ok then error(err, 0) end
end

-- {==================== the BLAS kernel and thread count ====================

-- A script run in a child process: "save" trains 2 epochs and saves the
-- state, "resume" goes on to 3 and writes "resumed" to the state's path
-- .. ".done"; either prints the kernel it computes with first.
local script = dir .. "/child.lua"
do
  local f = assert(io.open(script, "w"))
  f:write([[
local T = dofile("tests/lua/harness.lua")
local phase, path = arg[1], arg[2]
print("core " .. wb.sys.blas_core())
local train = T.tiny_data()
local m = T.tiny_mlp(1)
local o = {batch_size = 16, verbose = false, seed = 9, epochs = 2,
  optimizer = wb.optim.Adam{lr = 0.01}}
if phase == "save" then m:fit(train, o); m:save_state(path); return end
o.epochs, o.resume, o.seed = 3, path, nil
m:fit(train, o)
local f = assert(io.open(path .. ".done", "w")); f:write("resumed"); f:close()
]])
  f:close()
end

local function child(env, phase, path)
  return T.sh(string.format("env %s timeout 600 %s %s %s %s </dev/null", env, T.quote(T.wb),
    T.quote(script), phase, T.quote(path)))
end

local function two_threads() -- 1 on a machine of one core: OpenBLAS caps the count
  local was = wb.sys.blas_threads()
  local n = wb.sys.set_blas_threads(2)
  wb.sys.set_blas_threads(was)
  return n == 2
end

local function core_with(env) -- the kernel a workbench computes with under env
  local st, out = T.sh("env " .. env .. " " .. T.quote(T.wb) .. " -e 'print(wb.sys.blas_core())'")
  return st == 0 and out:match("%S+") or nil
end
local here = core_with("OPENBLAS_NUM_THREADS=1")
local other = here == "Prescott" and "Nehalem" or "Prescott" -- any x86-64 CPU runs these

local THREADS = "a resume on another BLAS thread count is refused, naming both (child processes)"
if not two_threads() then T.skip(THREADS, "OpenBLAS runs one thread here") else
T.test(THREADS, function()
  local path = dir .. "/threads.safetensors"
  local st, out, err = child("OPENBLAS_NUM_THREADS=1", "save", path)
  T.eq(st, 0, err)
  local core = out:match("core (%S+)")
  st, _, err = child("OPENBLAS_NUM_THREADS=2", "resume", path)
  T.eq(st, 1, "an input error's status")
  T.ok(err:find("was saved with OpenBLAS's " .. core .. " kernel on 1 thread, this process "
    .. "has " .. core .. " on 2 threads", 1, true), err)
  T.ok(err:find("set OPENBLAS_CORETYPE=" .. core .. " OPENBLAS_NUM_THREADS=1 to resume it",
    1, true), err)
  T.ok(not io.open(path .. ".done"), "refused before it trained")
  st, _, err = child("OPENBLAS_NUM_THREADS=1", "resume", path)
  T.eq(st, 0, err)
  T.eq(T.slurp(path .. ".done"), "resumed")
end)
end

local KERNEL = "a resume on another OpenBLAS kernel (OPENBLAS_CORETYPE) is refused, naming both"
if core_with("OPENBLAS_CORETYPE=" .. other) == here then
  T.skip(KERNEL, "OPENBLAS_CORETYPE has no effect on this OpenBLAS")
else

T.test(KERNEL, function()
  local path = dir .. "/kernel.safetensors"
  local st, out, err = child("OPENBLAS_NUM_THREADS=1", "save", path)
  T.eq(st, 0, err)
  local core = out:match("core (%S+)")
  st, out, err = child("OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=" .. other, "resume", path)
  T.eq(st, 1, "an input error's status")
  T.ok(err:find("kernel on 1 thread, this process has " .. out:match("core (%S+)")
    .. " on 1 thread", 1, true), err)
  T.ok(err:find("OpenBLAS's " .. core .. " kernel", 1, true), err)
  T.ok(err:find("set OPENBLAS_CORETYPE=" .. core .. " OPENBLAS_NUM_THREADS=1", 1, true), err)
  T.ok(not io.open(path .. ".done"), "refused before it trained")
end)
end

T.test("in one process: another thread count refused; a state from before: resumed",
    function()
  local path = dir .. "/inproc.safetensors"
  local o = {batch_size = 16, verbose = false, seed = 9, epochs = 2}
  with_threads(1, function()
    local m = model()
    m:fit(train, o)
    m:save_state(path)
  end)
  o.epochs, o.resume, o.seed = 3, path, nil
  with_threads(2, function()
    if wb.sys.blas_threads() == 1 then return end -- one core: nothing to compare
    T.check_error("this process has %S+ on %d threads", function() model():fit(train, o) end)
  end)
  as_older(path, {"blas_core", "blas_threads"})
  with_threads(2, function()
    local h = model():fit(train, o)
    T.eq(#h.loss, 3)
  end)
end)

-- }====================
-- {==================== the lr the fit started with ====================

-- sched2 and stepsched of tryW: a schedule already acting in epoch 1.
local SCHEDULES = {
  halving = {opt = function() return wb.optim.SGD{lr = 0.1} end,
    cbs = function() return {wb.callbacks.LearningRateScheduler(function(_, lr)
      return lr * 0.5 end)} end},
  per_step = {opt = function() return wb.optim.SGD{lr = 0.1, momentum = 0.9} end,
    cbs = function() return {{set_model = function(self, m) self.model = m end,
      on_train_batch_begin = function(self, step)
        self.model.optimizer.lr = 0.1 * 0.98 ^ step end}} end},
}

for _, name in ipairs{"halving", "per_step"} do
  local c = SCHEDULES[name]
  T.test("the original script's optimizer resumes a schedule acting in epoch 1 (" .. name
      .. "), bit for bit", function()
    local function opts(epochs)
      return {batch_size = 16, validation = val, verbose = false, seed = 9, log_every = 1,
        epochs = epochs, optimizer = c.opt(), callbacks = c.cbs()}
    end
    local straight = model()
    local h3 = straight:fit(train, opts(3))
    local first = model()
    first:fit(train, opts(2))
    local path = dir .. "/" .. name .. ".safetensors"
    first:save_state(path)
    local o = opts(3)
    o.resume, o.seed = path, nil
    local resumed, hr = model(), nil
    local _, err = T.stderr_of(function() hr = resumed:fit(train, o) end)
    T.ok(err:find("lr = 0.1, the one the saved fit started with", 1, true), err)
    for _, k in ipairs{"loss", "val_loss", "lr"} do
      for e = 1, 3 do T.eq(hr[k][e], h3[k][e], k .. " epoch " .. e) end
    end
    T.eq(table.concat(hr.steps.loss, ","), table.concat(h3.steps.loss, ","), "steps.loss")
    T.ok(T.same_weights(straight, resumed), "weights")
    -- the resumed fit's own state keeps the start: a third fit takes it again
    local path2 = dir .. "/" .. name .. "2.safetensors"
    resumed:save_state(path2)
    o = opts(4)
    o.resume, o.seed = path2, nil
    _, err = T.stderr_of(function() model():fit(train, o) end)
    T.ok(err:find("lr = 0.1, the one the saved fit started with", 1, true), err)
    -- another lr is refused, naming the one accepted besides the saved one
    o = opts(4)
    o.resume, o.seed, o.optimizer = path, nil, name == "halving" and wb.optim.SGD{lr = 0.2}
      or wb.optim.SGD{lr = 0.2, momentum = 0.9}
    T.check_error("or the one the saved fit started with, 0%.1[,)]", function()
      model():fit(train, o) end)
    -- a state from before the start was kept: refused as before
    as_older(path, {"start_lr"})
    o = opts(3)
    o.resume, o.seed = path, nil
    T.check_error("was saved with lr = ", function() model():fit(train, o) end)
  end)
end

-- }====================

T.done()
