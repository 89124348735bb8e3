-- test_resume_blas.lua: what a resume is given beyond fit's options (tryW
-- 1). A state records the OpenBLAS kernel and thread count its fit
-- computed with, and a resume with another is refused before any work (it
-- went on without a word, and was no longer bit for bit); a state from
-- before they were kept resumes as before.
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
T.done()
