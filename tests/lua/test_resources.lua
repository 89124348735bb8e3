-- test_resources.lua - misuse of the Lua API is a clear error, and failing
-- operations give back every file descriptor and leave no zombie child.
--
-- The API cases are the issue's list: wrong types, shape mismatches (both
-- shapes named), a 1e6 x 1e6 tensor, use after an explicit free, a view
-- outliving its parent, backward before forward, an optimizer given no
-- parameters. The resource check repeats failing loads, saves and plots
-- (with a gnuplot that fails) and compares /proc/self/fd before and after,
-- and lists this process's children with ps.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

T.test("API misuse: clear errors that name the argument and the numbers", function()
  T.check_error("bad argument #1 to 'wb.zeros' (dimension must be an integer)", wb.zeros, "a")
  T.check_error("[2, 3] and [3, 2]", function() return wb.zeros(2, 3) + wb.zeros(3, 2) end)
  T.check_error("[2, 3] and [2, 3]", wb.matmul, wb.zeros(2, 3), wb.zeros(2, 3))
  T.check_error("[1000000, 1000000] is too large", wb.zeros, 1e6, 1e6)
  T.check_error("released tensor", function()
    local t = wb.zeros(2, 2)
    t:free()
    return t:sum()
  end)
  T.check_error("before forward", function()
    return wb.nn.Dense(3, 2):backward(wb.zeros(1, 3), wb.zeros(1, 2))
  end)
  T.check_error("no parameters", function() return wb.optim.SGD{}:step({}, {}) end)
  T.check_error("expected [*, 3], got [2, 4]", function()
    return wb.nn.Dense(3, 2):forward(wb.zeros(2, 4))
  end)
end)

T.test("a view outlives its parent (collected, or freed explicitly)", function()
  local t = wb.ones(4, 4)
  local v = t[2]
  t = nil -- luacheck: ignore
  collectgarbage()
  collectgarbage()
  T.eq(v:sum(), 4)
  local u = wb.ones(3, 3)
  local w = u[1]
  u:free()
  T.eq(w:sum(), 3)
end)

local function fd_count()
  return #wb.sys.listdir("/proc/self/fd")
end

T.test("failing operations give back every file descriptor, no zombie", function()
  local bad = dir .. "/bad"
  local fh = assert(io.open(bad, "wb"))
  fh:write("\137PNG\r\n\26\nnot really\0\0\0\0")
  fh:close()
  local fail = dir .. "/gp"
  fh = assert(io.open(fail, "wb"))
  fh:write("#!/bin/sh\necho broken >&2\nexit 1\n")
  fh:close()
  assert(os.execute("chmod +x " .. fail))
  local m = wb.nn.Sequential{wb.nn.Dense(4, 2)}
  local function round()
    pcall(wb.data.idx, bad)
    pcall(wb.data.idx, dir .. "/missing")
    pcall(wb.data.idx, dir)
    pcall(wb.image.load, bad)
    pcall(wb.image.load, dir .. "/missing.png")
    pcall(wb.load, bad)
    pcall(wb.load, dir .. "/missing")
    pcall(m.save, m, dir .. "/no/such/dir/m.safetensors")
    pcall(wb.sys.write_atomic, dir, "x")            -- rename over a folder
    pcall(wb.image.save, wb.zeros(2, 2), dir .. "/no/x.png")
    m:save(dir .. "/ok.safetensors")
    wb.load(dir .. "/ok.safetensors")
  end
  round() -- first use may open libraries or caches
  local before = fd_count()
  for _ = 1, 100 do round() end
  wb.plot.gnuplot = fail
  for _ = 1, 5 do
    pcall(function() return wb.plot.lines{series = {{y = {1, 2}}}}:save(dir .. "/p.png") end)
  end
  wb.plot.gnuplot = nil
  collectgarbage()
  T.eq(fd_count(), before, "open file descriptors")
  local _, out = T.sh("ps -o stat=,pid=,comm= --ppid " .. wb.sys.getpid())
  for line in out:gmatch("[^\n]+") do
    T.ok(not line:match("^%s*Z"), "zombie child: " .. line)
  end
end)

T.done()
