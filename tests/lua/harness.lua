-- harness.lua: the Lua test harness (after Lua's testes/ checkerror).
--
-- A test file does
--   local T = dofile("tests/lua/harness.lua")
--   T.test("name", function() T.eq(1 + 1, 2) end)
--   T.done()
-- Each test prints "ok - name" or "not ok - name: message"; tests/run.sh
-- counts them. T.done() exits non-zero when any test failed.
local T = {failed = 0, passed = 0}

local function fmt(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function T.test(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    T.passed = T.passed + 1
    io.write("ok - ", name, "\n")
  else
    T.failed = T.failed + 1
    local first = tostring(err):gsub("\n", "\n#   ")
    io.write("not ok - ", name, ": ", first, "\n")
  end
  io.stdout:flush()
end

-- Skipped tests print "ok - name # SKIP reason"; run.sh counts them apart, not passed.
function T.skip(name, reason)
  io.write("ok - ", name, " # SKIP ", reason, "\n")
  T.passed = T.passed + 1
end

-- Inside a test against an independent implementation whose Debian
-- package (python3-torch, python3-numpy, python3-scipy, python3-pandas) is
-- missing: the test fails naming it, not a skip. `make deps` installs them,
-- and a comparison that skips where nobody reads the log (CI) can never
-- fail.
function T.missing(package)
  error("needs /usr/bin/python3 with Debian's " .. package .. " (make deps installs it)", 2)
end

function T.ok(cond, msg)
  if not cond then error(msg or "assertion failed", 2) end
  return cond
end

function T.eq(a, b, msg)
  if a ~= b then
    error((msg and msg .. ": " or "") .. "expected " .. fmt(b) .. ", got " .. fmt(a), 2)
  end
end

function T.near(a, b, tol, msg)
  tol = tol or 1e-6
  if not (math.abs(a - b) <= tol) then
    error(string.format("%sexpected %.9g, got %.9g (tol %g)",
      msg and msg .. ": " or "", b, a, tol), 2)
  end
end

-- f()'s result and what it wrote to io.stderr (an error: raised again).
function T.stderr_of(f)
  local real, text = io.stderr, {}
  io.stderr = {write = function(self, ...) table.move({...}, 1, select("#", ...), #text + 1,
    text); return self end}
  local ok, r = pcall(f)
  io.stderr = real
  if not ok then error(r, 0) end
  return r, table.concat(text)
end

-- f(...) must raise an error whose message matches the Lua pattern `pat`
-- (plain substring match when plain is true).
function T.check_error(pat, f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected an error matching " .. fmt(pat) .. ", got none", 2) end
  err = tostring(err)
  if not err:find(pat, 1, true) and not err:find(pat) then
    error("error " .. fmt(err) .. " does not match " .. fmt(pat), 2)
  end
  return err
end

-- The bytes of a file; an error naming it when it cannot be read.
function T.slurp(path)
  local fh, err = io.open(path, "rb")
  if not fh then error("cannot read " .. tostring(path) .. ": " .. tostring(err), 2) end
  local s = fh:read("a")
  fh:close()
  return s
end

-- Run a shell command; returns exit status (number), stdout, stderr.
function T.sh(cmd)
  local out = os.tmpname()
  local errf = os.tmpname()
  local ok, how, code = os.execute(cmd .. " >" .. out .. " 2>" .. errf)
  local status = code
  if how == "signal" then status = 128 + code end
  local o, e = T.slurp(out), T.slurp(errf)
  os.remove(out)
  os.remove(errf)
  return status, o, e
end

-- Polls fn() every 0.05 s, at most seconds / 0.05 times (a count of polls,
-- not a clock: a loaded machine stretches the wait, never shortens it);
-- returns fn's first true value, or nil once the polls are spent.
function T.poll(seconds, fn)
  for _ = 1, math.max(1, math.ceil(seconds / 0.05)) do
    local v = fn()
    if v then return v end
    os.execute("sleep 0.05")
  end
end
local poll = T.poll

-- Waits for an event another process causes: fn() true (its value is
-- returned). A wait is no synchronisation by a fixed sleep, and its bound
-- is generous (minutes: ASan on a loaded 2-core machine is 10x slower);
-- when the bound is reached it fails saying what was awaited.
local function await(what, seconds, fn, level) -- level: the caller the error names
  local v = poll(seconds, fn)
  if not v then
    error(string.format("gave up after %g s waiting for %s", seconds, what), level + 1)
  end
  return v
end
function T.wait_until(what, seconds, fn)
  local v = await(what, seconds, fn, 2) -- (no tail call: the level counts this frame)
  return v
end

-- The exit status a background shell writes with `echo $? > path`, once
-- there (nil after `seconds`). The shell creates the file empty and writes
-- the digits after: waiting for the file alone read nothing (a race).
function T.wait_status(path, seconds)
  local code = poll(seconds, function()
    local fh = io.open(path, "rb")
    local s = fh and fh:read("a")
    if fh then fh:close() end
    return s and s:match("^(%d+)%s")
  end)
  return code and tonumber(code)
end

-- The first line of a file another process writes (a pid from `echo $! >
-- path`, a marker), once that line is whole (ended by a newline); fails
-- after `seconds` naming the file.
function T.wait_line(path, seconds)
  local line = await("a whole line in " .. path, seconds, function()
    local fh = io.open(path, "rb")
    local s = fh and fh:read("a")
    if fh then fh:close() end
    return s and s:match("^([^\n]*)\n")
  end, 2)
  return line
end

-- Waits until process pid has ended (gone or a zombie): a signal is sent
-- at once, its effect comes later. Fails after `seconds` naming the pid.
function T.wait_gone(pid, seconds, what)
  await((what or "process") .. " " .. tostring(pid) .. " to end", seconds, function()
    return not require("wb.util").pid_alive(pid)
  end, 2)
end

-- A sleep length (`seconds` and a fraction unique to this test process) for
-- a fake program to hang on, found again with `ps -eo args` as exactly
-- "sleep <mark>": a fixed length would also match the same test of another
-- clone running at the same time on the machine.
function T.sleep_mark(seconds)
  return string.format("%d.%d", seconds, wb.sys.getpid())
end

-- The python3 that has `module` (Debian's packages are for /usr/bin/python3,
-- which pyenv may shadow), or nil: tests against numpy, scipy or pandas
-- skip without it.
function T.python_with(module)
  for _, py in ipairs{"/usr/bin/python3", "python3"} do
    if os.execute(py .. " -c 'import " .. module .. "' 2>/dev/null") then return py end
  end
end

-- The object folder (make's O) of the build that made T.wb: build/ beside
-- the Makefile when T.wb is the source tree's (OUT = ., given as "." or by
-- its absolute path, as tests/run.sh does), else its own folder (make
-- test-asan: O = OUT = build/asan).
function T.build_dir()
  local out = T.wb:match("^(.*)/[^/]*$") or "."
  local f = io.open(out .. "/Makefile", "r")
  if f then f:close() end
  return (out == "." or f) and out .. "/build" or out
end

-- The rows of a CSV file without quoted fields (the exports, CSVLogger): a
-- list of lists of text, one per line ended by a newline; "# " lines (a
-- figure's provenance) are comments, as pandas' comment="#" reads them.
function T.csv_rows(path)
  local rows = {}
  for line in T.slurp(path):gmatch("([^\n]*)\n") do
    if line:sub(1, 1) ~= "#" then -- a figure's provenance lines
      local row = {}
      for field in (line .. ","):gmatch("([^,]*),") do row[#row + 1] = field end
      rows[#rows + 1] = row
    end
  end
  return rows
end

-- Claims TCP port p for this process until it ends: another test process
-- (another clone's or worktree's suite) that looked at the same moment saw
-- the port free too, as neither had started its server yet. A claim is a
-- folder (mkdir is atomic) holding the claimer's pid; a dead claimer's is
-- taken over.
local PORT_CLAIMS = "/tmp/wb-test-ports"
function T.claim_port(p)
  local util = require "wb.util"
  local d = PORT_CLAIMS .. "/" .. p
  for _ = 1, 2 do
    if T.sh("mkdir -p " .. PORT_CLAIMS .. " && chmod 1777 " .. PORT_CLAIMS
      .. " 2>/dev/null; mkdir " .. d) == 0 then
      util.write_file(d .. "/pid", tostring(wb.sys.getpid()))
      return true
    end
    local pid = (util.read_file(d .. "/pid") or ""):match("^%d+$")
    if not pid or pid == tostring(wb.sys.getpid()) or util.pid_alive(pid) then return false end
    os.execute("rm -rf " .. d)
  end
  return false
end

-- n free TCP ports next to each other (none listening on them now, none
-- claimed by another test process), for a test's own servers (sshd,
-- Slurm's daemons).
function T.free_ports(n)
  local used = {}
  for _, f in ipairs{"/proc/net/tcp", "/proc/net/tcp6"} do
    local fh = io.open(f)
    for port in (fh and fh:read("a") or ""):gmatch(":(%x%x%x%x) %x+:%x+ 0A") do
      used[tonumber(port, 16)] = true
    end
    if fh then fh:close() end
  end
  math.randomseed(wb.sys.getpid())
  for _ = 1, 100 do
    local p, free = math.random(20000, 60000), true
    for k = 0, n - 1 do free = free and not used[p + k] and T.claim_port(p + k) end
    if free then
      local out = {}
      for k = 0, n - 1 do out[k + 1] = p + k end
      return table.unpack(out)
    end
  end
  error(string.format("no %d free ports found", n))
end

-- s as one shell word (single-quoted).
function T.quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Run the workbench under test with a shell argument string and stdin text
-- (or none); returns T.sh's status, stdout, stderr. Killed after 600 s (124):
-- a guard against a hang, not a speed limit (20 s was hit by a --quick task
-- under ASan on a loaded machine).
function T.run_wb(args, stdin)
  local cmd = T.quote(T.wb) .. " " .. args
  if stdin then cmd = "printf '%s' " .. T.quote(stdin) .. " | " .. cmd
  else cmd = cmd .. " </dev/null" end
  return T.sh("timeout 600 " .. cmd)
end

-- A fresh temporary directory, removed by T.done().
local tmpdirs = {}
function T.tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. p))
  tmpdirs[#tmpdirs + 1] = p
  return p
end

-- A fresh folder holding a copy of scripts/report.lua and a link to the
-- study's modules: report.lua runs the tasks named on its command line from
-- its own folder, so a test puts its own small tasks beside it.
function T.report_sandbox()
  local dir, here = T.tmpdir(), os.getenv("PWD")
  local st, _, err = T.sh(string.format("cp %s/scripts/report.lua %s/ && ln -s "
    .. "%s/scripts/study %s/study", here, dir, here, dir))
  T.eq(st, 0, err)
  return dir
end

-- A small three-class dataset of n rows and d features in [0, 1) from a
-- linear congruential generator started at seed (no draw from wb's own
-- generators): class 2, 1 or 0 by a fixed linear score of the row.
function T.synthetic(seed, n, d)
  local s = seed
  local function rnd()
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  end
  local rows, y = {}, wb.new_tensor({n}, "uint8")
  for i = 1, n do
    rows[i] = {}
    local z = 0
    for j = 1, d do rows[i][j] = rnd(); z = z + rows[i][j] * (j % 3 - 1) end
    y:set(i, z > 0.2 and 2 or (z > -0.3 and 1 or 0))
  end
  return wb.data.Dataset(wb.tensor(rows), y, "synthetic")
end

-- The training-loop audits' small problem: T.synthetic(4242, 90, 8) split
-- into 70 training and 20 validation rows. Returns train, val and the whole.
function T.tiny_data()
  local data = T.synthetic(4242, 90, 8)
  return data:subset(1, 70), data:subset(71, 90), data
end

-- A tiny MLP for T.tiny_data, built after wb.seed(seed or 1): Dense 8 -> 12
-- relu, Dense 12 -> 3 softmax; with dropout, the first Dense has l2 = 1e-3
-- and a Dropout(0.3) follows it.
function T.tiny_mlp(seed, dropout)
  wb.seed(seed or 1)
  if dropout then
    return wb.nn.Sequential{wb.nn.Dense(8, 12, {activation = "relu", l2 = 1e-3}),
      wb.nn.Dropout(0.3), wb.nn.Dense(12, 3, {activation = "softmax"})}
  end
  return wb.nn.Sequential{wb.nn.Dense(8, 12, {activation = "relu"}),
    wb.nn.Dense(12, 3, {activation = "softmax"})}
end

-- A learnable synthetic problem: n rows of d features in [0, 1], k classes
-- given by the argmax of a fixed random linear map. Deterministic (its own
-- LCG started at seed, default 1; no draw from wb's own generators).
function T.linear_data(n, d, k, seed)
  local s = seed or 1
  local function rnd()
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  end
  local proj = {}
  for j = 1, d * k do proj[j] = rnd() - 0.5 end
  local rows, labels = {}, wb.new_tensor({n}, "uint8")
  for i = 1, n do
    local r = {}
    for j = 1, d do r[j] = rnd() end
    local best, arg = -math.huge, 0
    for c = 1, k do
      local z = 0
      for j = 1, d do z = z + r[j] * proj[(c - 1) * d + j] end
      if z > best then best, arg = z, c - 1 end
    end
    rows[i] = r
    labels:set(i, arg)
  end
  return wb.data.Dataset(wb.tensor(rows), labels, "synthetic")
end

-- A tiny MLP for T.linear_data(n, 20, 3), built after wb.seed(seed or 1):
-- Dense 20 -> 16 relu (l2 = opts.l2), a Dropout(opts.dropout) when given,
-- Dense 16 -> 3 softmax.
function T.linear_mlp(seed, opts)
  opts = opts or {}
  wb.seed(seed or 1)
  local layers = {wb.nn.Dense(20, 16, {activation = "relu", l2 = opts.l2})}
  if opts.dropout then layers[#layers + 1] = wb.nn.Dropout(opts.dropout) end
  layers[#layers + 1] = wb.nn.Dense(16, 3, {activation = "softmax"})
  return wb.nn.Sequential(layers)
end

-- T.history_diff and T.same_weights, from beside harness.lua wherever that was loaded
-- from (a test may dofile it by an absolute path from another folder).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "harness_runs.lua")(T)

-- The workbench binary under test (tests/run.sh exports WB).
T.wb = os.getenv("WB") or "./workbench"

function T.done()
  for _, d in ipairs(tmpdirs) do os.execute("rm -rf " .. d) end
  os.exit(T.failed == 0 and 0 or 1)
end

return T
