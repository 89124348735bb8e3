-- test_fault_loop.lua - a whole small program under injected faults, in the
-- manner of SQLite's anomaly tests: for N = 1, 2, ..., a child `workbench`
-- runs with WB_FAULT_ALLOC=N (the Nth core allocation fails, core/alloc.c)
-- or WB_FAULT_IO=N (the Nth write/fsync/rename of the atomic writer fails,
-- core/fsutil.c). The program: read a 300-row MNIST subset (IDX), build a
-- model, fit 1 epoch, model:save a checkpoint, write a run record
-- atomically, save one wb.plot.lines figure.
--
-- For every N the child must exit 0 (fault not reached), 71 (ENOMEM) or 74
-- (EIO) -- never a crash or another status; leave no temporary file beside
-- its outputs, and only whole outputs (each one that exists loads); and
-- free what it allocated: its count of live core allocations at the end is
-- the clean run's (under `make test-asan`, LeakSanitizer checks too, and a
-- leak report changes the exit status). An exit 0 must mean the fault was
-- not reached: an injected fault that a program gets through unnoticed
-- would be a failure ignored somewhere. The loop covers every N up to FIRST, then a stride so that
-- about BUDGET children run per kind; the last operation is always covered.
-- How many faults were injected is printed in the test name.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"

local FIRST, BUDGET = 30, 50
local mnist = os.getenv("WB_MNIST_DIR") or "data/mnist"
local dir = T.tmpdir()

local slurp = require("wb.util").read_file -- the file's bytes, nil when absent

local function spit(path, s)
  local fh = assert(io.open(path, "wb"))
  fh:write(s)
  fh:close()
end

-- The first n rows of an IDX file (big-endian dimensions after 4 bytes).
local function idx_head(src, dst, n)
  local s = slurp(src)
  if not s then return false end
  local nd = s:byte(4)
  local row = 1
  for d = 2, nd do row = row * string.unpack(">I4", s, 5 + 4 * (d - 1)) end
  local head = s:sub(1, 4) .. string.pack(">I4", n) .. s:sub(9, 4 + 4 * nd)
  spit(dst, head .. s:sub(4 + 4 * nd + 1, 4 + 4 * nd + n * row))
  return true
end

if not (idx_head(mnist .. "/t10k-images-idx3-ubyte", dir .. "/img.idx", 300)
    and idx_head(mnist .. "/t10k-labels-idx1-ubyte", dir .. "/lab.idx", 300)) then
  T.skip("fault loop: allocations", "no MNIST in " .. mnist)
  T.skip("fault loop: I/O", "no MNIST in " .. mnist)
  T.done()
end

-- The program. Its last line reports the fault counters, also on failure
-- (the error is raised again as it was, so the exit status is unchanged).
local child = dir .. "/child.lua"
spit(child, [=[
local data, out = arg[1], arg[2]
local function main()
  wb.seed(3)
  local ds = wb.data.Dataset(wb.data.idx(data .. "/img.idx"), wb.data.idx(data .. "/lab.idx"),
    "mnist300")
  local model = wb.nn.Sequential{
    wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"}),
  }
  local h = model:fit(ds, {epochs = 1, batch_size = 50, seed = 3, verbose = false})
  model:save(out .. "/m.safetensors")
  wb.sys.write_atomic(out .. "/record.json",
    require("cjson").encode{loss = h.loss, status = "done"})
  wb.plot.lines{title = "loss", series = {{y = {1, 0.5, 0.25}}}}:save(out .. "/loss.png")
end
local ok, err = pcall(main)
collectgarbage()
collectgarbage()
io.write(string.format("faults %d %d %d %d %d\n", wb.io._faults()))
if not ok then error(err, 0) end
]=])

-- Run the child with env; returns status, counters {alloc_injected,
-- io_injected, allocs, ios, live} (nil when not printed), stderr.
local function run(env, out)
  os.execute("rm -rf " .. out .. " && mkdir -p " .. out)
  local st, so, se = T.sh(env .. " " .. T.wb .. " " .. child .. " " .. dir .. " " .. out)
  local a, i, na, ni, live = so:match("faults (%d+) (%d+) (%d+) (%d+) (%d+)")
  local c = a and {tonumber(a), tonumber(i), tonumber(na), tonumber(ni), tonumber(live)}
  return st, c, se
end

-- What the folder holds after a run: no temporary, every output whole.
local function check_outputs(out, what)
  for _, f in ipairs(wb.sys.listdir(out)) do
    T.ok(not f:find("%.tmp[%.%d]"), what .. ": temporary file left: " .. f)
  end
  if slurp(out .. "/m.safetensors") then
    local ok, err = pcall(wb.load, out .. "/m.safetensors")
    T.ok(ok, what .. ": partial checkpoint: " .. tostring(err))
  end
  local rec = slurp(out .. "/record.json")
  if rec then
    local ok, r = pcall(cjson.decode, rec)
    T.ok(ok and r.status == "done", what .. ": partial record: " .. rec:sub(1, 80))
  end
  if slurp(out .. "/loss.png") then
    local ok, err = pcall(wb.image.load, out .. "/loss.png")
    T.ok(ok, what .. ": partial figure: " .. tostring(err))
  end
end

-- The clean run: its totals bound the loops; its live count is the baseline.
local st0, clean, err0 = run("", dir .. "/clean")
T.test("fault loop: the program runs clean", function()
  T.eq(st0, 0, "exit status (" .. err0 .. ")")
  T.ok(clean and clean[1] == 0 and clean[2] == 0, "counters printed, nothing injected")
  check_outputs(dir .. "/clean", "clean run")
end)
if st0 ~= 0 or not clean then T.done() end

-- Failures are collected, then reported under a test name that carries
-- the number of faults actually injected (known only after the loop).
local function loop(kind, var, total, want_status, slot)
  local stride = math.max(1, (total - FIRST) // (BUDGET - FIRST))
  local ns, n = {}, 1
  while n <= total do
    ns[#ns + 1] = n
    n = n + (n < FIRST and 1 or stride)
  end
  if ns[#ns] ~= total then ns[#ns + 1] = total end
  ns[#ns + 1] = total + 1 -- past the end: nothing to inject, exit 0
  local injected, stopped, bad = 0, 0, {}
  for _, k in ipairs(ns) do
    local out = dir .. "/" .. kind .. k
    local st, c, se = run(var .. "=" .. k, out)
    local what = string.format("%s=%d", var, k)
    local ok, err = pcall(function()
      T.ok(st == 0 or st == want_status,
        string.format("exit %d, expected 0 or %d: %s", st, want_status, se))
      T.ok(c, "no counters printed (died?): " .. se)
      injected, stopped = injected + c[slot], stopped + (st ~= 0 and 1 or 0)
      T.eq(c[slot], k <= total and 1 or 0, "faults injected")
      T.eq(st == 0, c[slot] == 0, "exit 0 exactly when the fault was not reached")
      T.eq(c[5], clean[5], "live core allocations at exit (a leak)")
      check_outputs(out, what)
    end)
    if not ok then bad[#bad + 1] = what .. ": " .. tostring(err) end
    os.execute("rm -rf " .. out)
  end
  T.test(string.format("fault loop: %s, %d points of %d, %d stopped with exit %d "
    .. "(%d faults injected)", kind, #ns - 1, total, stopped, want_status, injected),
    function()
      if #bad > 0 then error(#bad .. " failures:\n" .. table.concat(bad, "\n"), 0) end
      T.ok(injected == #ns - 1, "every point below the end injects one fault")
    end)
end

loop("allocations", "WB_FAULT_ALLOC", clean[3], 71, 1)
loop("io", "WB_FAULT_IO", clean[4], 74, 2)
T.done()
