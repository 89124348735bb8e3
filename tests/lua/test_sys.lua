-- test_sys.lua: wb.sys, the OS helpers (bindings/l_sys.c, core/fsutil.c).
local T = dofile("tests/lua/harness.lua")
local sys = wb.sys
local dir = T.tmpdir()

local slurp = require("wb.util").read_file -- the file's bytes, nil when absent

-- Only lower bounds and the smallest of many steps: a loaded machine can
-- stretch any interval, never shrink one.
T.test("time is monotonic seconds with sub-millisecond resolution", function()
  T.eq(math.type(sys.time()), "float")
  local step = math.huge
  for _ = 1, 100 do
    local t0 = sys.time()
    local t1 = t0
    for _ = 1, 1e6 do
      t1 = sys.time()
      if t1 ~= t0 then break end
    end
    T.ok(t1 > t0, "time went back or stood still")
    step = math.min(step, t1 - t0)
  end
  T.ok(step < 1e-3, string.format("smallest step %.9g", step))
  local t1 = sys.time()
  os.execute("sleep 0.1")
  local dt = sys.time() - t1
  T.ok(dt >= 0.09, "sleep 0.1 measured " .. dt)
end)

T.test("getpid, hostname, nproc, peak_rss_kb", function()
  local pid = sys.getpid()
  T.eq(math.type(pid), "integer")
  local fh = io.open("/proc/self/stat")
  if fh then -- /proc/self of io.open is this process
    T.eq(tonumber(fh:read("a"):match("^(%d+)")), pid)
    fh:close()
  end
  local _, out = T.sh("hostname")
  T.eq(sys.hostname(), (out:gsub("%s+$", "")))
  T.ok(sys.nproc() >= 1)
  local rss = sys.peak_rss_kb()
  T.ok(math.type(rss) == "integer" and rss > 1000 and rss < 1e8, "rss " .. rss)
  local big = wb.zeros(4096, 1024) -- 16 MiB, zero-filled: touched
  T.ok(sys.peak_rss_kb() >= rss, "peak went down")
  big:free()
end)

T.test("isatty takes an fd or a file", function()
  local st0, out0 = T.sh(T.wb .. " -e 'io.write(tostring(wb.sys.isatty(0)), " ..
    "tostring(wb.sys.isatty(io.stdout)))' </dev/null")
  T.eq(st0, 0)
  T.eq(out0, "falsefalse")
  local fh = io.open(dir .. "/f", "w")
  T.eq(sys.isatty(fh), false)
  fh:close()
  T.check_error("closed file", sys.isatty, fh)
  T.check_error("file descriptor", sys.isatty, -1)
  T.check_error("number expected", sys.isatty, "x")
  local st, out = T.sh("script -qc " .. "\"" .. T.wb ..
    " -e 'io.write(tostring(wb.sys.isatty(0)))'\" /dev/null")
  if st == 0 then T.eq((out:gsub("%s", "")), "true") end -- script(1) gives a pty
end)

T.test("mkdir_p creates parents, accepts existing, names the failure", function()
  local p = dir .. "/a/b/c"
  T.eq(sys.mkdir_p(p), true)
  T.eq(sys.exists(p), true)
  T.eq(sys.mkdir_p(p), true)
  sys.write_atomic(dir .. "/plain", "x")
  T.check_error(dir .. "/plain exists and is not a directory", sys.mkdir_p,
    dir .. "/plain/sub")
  T.check_error("empty path", sys.mkdir_p, "")
  T.check_error("string expected", sys.mkdir_p)
end)

T.test("write_atomic replaces the file and leaves no temporary", function()
  local p = dir .. "/rec.json"
  T.eq(sys.write_atomic(p, '{"a":1}'), true)
  T.eq(slurp(p), '{"a":1}')
  local blob = string.rep("\0\1\2\255", 100000)
  sys.write_atomic(p, blob)
  T.eq(slurp(p), blob)
  for _, name in ipairs(sys.listdir(dir)) do
    T.ok(not name:find(".tmp.", 1, true), "temporary left: " .. name)
  end
end)

T.test("write_atomic errors name the path and strerror", function()
  local p = dir .. "/missing/x.json"
  T.check_error("write_atomic: " .. p .. ": cannot create temporary file", sys.write_atomic,
    p, "x")
  T.check_error("No such file or directory", sys.write_atomic, p, "x")
  T.check_error("string expected", sys.write_atomic, dir .. "/y")
  T.eq(sys.exists(p), false)
end)

T.test("exists and listdir (sorted, no dot entries)", function()
  local d = dir .. "/ls"
  sys.mkdir_p(d .. "/sub")
  for _, n in ipairs({"b", "a", "C", "a.b", "_z"}) do sys.write_atomic(d .. "/" .. n, n) end
  T.eq(table.concat(sys.listdir(d), ","), "C,_z,a,a.b,b,sub")
  T.eq(#sys.listdir(d .. "/sub"), 0)
  T.eq(sys.exists(d .. "/a"), true)
  T.eq(sys.exists(d .. "/nope"), false)
  T.check_error("listdir: cannot open " .. d .. "/nope: No such file or directory",
    sys.listdir, d .. "/nope")
  T.check_error("Not a directory", sys.listdir, d .. "/a")
end)

T.test("blas_threads and set_blas_threads", function()
  local n0 = sys.blas_threads()
  T.ok(n0 >= 1)
  T.eq(sys.set_blas_threads(1), 1)
  T.eq(sys.blas_threads(), 1)
  T.check_error("expected 1..1024 threads", sys.set_blas_threads, 0)
  T.check_error("number has no integer representation", sys.set_blas_threads, 1.5)
  sys.set_blas_threads(n0)
  T.eq(sys.blas_threads(), n0)
end)

T.done()
