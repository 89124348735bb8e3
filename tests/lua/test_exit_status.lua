-- test_exit_status.lua - `workbench script.lua` exits with the documented
-- status for each kind of failure (README.md, "Exit status";
-- bindings/workbench.c), and never dies of a signal it could handle.
local T = dofile("tests/lua/harness.lua")
local WB = T.wb
local dir = T.tmpdir()
local asan = os.getenv("WB_ASAN") ~= nil

local function write(path, s)
  local fh = assert(io.open(path, "wb"))
  fh:write(s)
  fh:close()
end

-- Run a chunk (written to a script file) and return status, stdout, stderr.
local n = 0
local function run(code, args)
  n = n + 1
  local path = string.format("%s/s%d.lua", dir, n)
  write(path, code)
  return T.sh(WB .. " " .. path .. " " .. (args or "") .. " </dev/null")
end

local function expect(code, want, pat)
  local st, _, err = run(code)
  T.eq(st, want, "status for " .. code .. " (stderr: " .. err .. ")")
  if pat then T.ok(err:find(pat, 1, true), "stderr lacks '" .. pat .. "': " .. err) end
  return err
end

T.test("0: success; 1: a plain error, a syntax error, a non-string error", function()
  expect("local x = 1", 0)
  expect("error('plain')", 1, "plain")
  expect("local x = = 1", 1, "unexpected symbol")
  expect("error({kind = 'other'})", 1)
  expect("wb.zeros(2, 3) + wb.zeros(3, 2)", 1)        -- shape mismatch: a script bug
  -- a core error caught by the script, then an unrelated error: 1, not 66
  expect("pcall(wb.data.idx, '/no/such/file'); error('later')", 1, "later")
end)

T.test("64: unknown option, -e without its chunk", function()
  T.eq(T.sh(WB .. " -z"), 64)
  T.eq(T.sh(WB .. " -e"), 64)
end)

T.test("65: malformed IDX, PNG and checkpoint files", function()
  write(dir .. "/bad.idx", "\0\0\8\3\0\0\0\1")
  write(dir .. "/bad.png", "\137PNG\r\n\26\n garbage")
  write(dir .. "/bad.safetensors", "\16\0\0\0\0\0\0\0{\"a\":1}        ")
  expect("wb.data.idx('" .. dir .. "/bad.idx')", 65, "bad.idx: truncated")
  expect("wb.image.load('" .. dir .. "/bad.png')", 65, "bad.png")
  expect("wb.load('" .. dir .. "/bad.safetensors')", 65, "bad.safetensors")
  expect("wb.io.load_safetensors('" .. dir .. "/bad.safetensors')", 65)
end)

T.test("66: missing script, missing input files", function()
  T.eq(T.sh(WB .. " " .. dir .. "/no_such_script.lua"), 66)
  expect("wb.data.idx('" .. dir .. "/none.idx')", 66, "none.idx")
  expect("wb.image.load('" .. dir .. "/none.png')", 66, "none.png")
  expect("wb.load('" .. dir .. "/none.safetensors')", 66, "none.safetensors")
end)

T.test("71: out of memory (Lua's own, and a core allocation)", function()
  if asan then return T.skip("71", "ulimit -v does not mix with ASan's shadow memory") end
  local st = T.sh("ulimit -v 1000000; " .. WB .. " -e 'local t = {} for i = 1, 1e9 do "
    .. "t[i] = {i} end'")
  T.eq(st, 71, "Lua out of memory")
  local st2, _, err = T.sh("ulimit -v 1000000; " .. WB .. " -e 'local t = wb.zeros(30000, 30000)'")
  T.eq(st2, 71, "core out of memory: " .. err)
end)

T.test("73: an output file cannot be created", function()
  expect("wb.sys.write_atomic('" .. dir .. "/missing/x.json', '{}')", 73, "cannot create")
  expect([[local m = wb.nn.Sequential{wb.nn.Dense(2, 2)}
    m:save(']] .. dir .. [[/missing/m.safetensors')]], 73, "m.safetensors")
  expect("wb.image.save(wb.zeros(4, 4), '" .. dir .. "/missing/x.png')", 73)
end)

T.test("73: ECREATE from a missing folder, from wb.sys.fail and through a layer", function()
  local ok, e = pcall(wb.sys.write_atomic, dir .. "/missing/x.json", "{}")
  T.ok(not ok and wb.is_error(e), tostring(e))
  T.eq(e.code, "ECREATE")
  T.eq(e.path, dir .. "/missing/x.json")
  ok, e = pcall(wb.sys.mkdir_p, "/proc/no/such")
  T.eq(e.code, "ECREATE", tostring(e))
  expect("wb.sys.fail('ECREATE', 'out/x: cannot create')", 73, "out/x: cannot create")
end)

T.test("73: a folder where the file goes, refused before writing (was 74 from the rename)",
  function()
  assert(os.execute("mkdir -p " .. dir .. "/afolder"))
  expect("wb.sys.write_atomic('" .. dir .. "/afolder', 'x')", 73, "is a folder")
end)

T.test("74: an I/O error, from wb.sys.fail", function()
  expect("wb.sys.fail('EIO', 'out/x: fsync failed')", 74, "out/x: fsync failed")
end)

T.test("3: training diverged (lr = 1e300)", function()
  local err = expect([[
    wb.seed(1)
    local x, y = wb.randn(64, 8), wb.new_tensor({64}, "uint8")
    for i = 1, 64 do y:set(i, i % 3) end
    local m = wb.nn.Sequential{wb.nn.Dense(8, 16, {activation = "relu"}),
                               wb.nn.Dense(16, 3, {activation = "softmax"})}
    m:fit(wb.data.Dataset(x, y), {epochs = 3, batch_size = 8, verbose = false,
                                  optimizer = wb.optim.SGD{lr = 1e300}})
    print("not reached")]], 3, "diverged")
  T.ok(not err:find("not reached"), err)
end)

-- {==== errors as values: wb.Error ====

T.test("a core failure is a wb.Error {code, message, path}; tostring is its text", function()
  local path = dir .. "/none.idx"
  local ok, e = pcall(wb.data.idx, path)
  T.ok(not ok and wb.is_error(e), tostring(e))
  T.eq(e.code, "ENOENT")
  T.eq(e.path, path)
  T.eq(tostring(e), e.message)
  T.ok(e.message:find(path, 1, true), e.message)
  T.eq(getmetatable(e), wb.Error)
  -- argument errors read as luaL_argerror's, position included
  local f = load("return wb.zeros(1e10, 1e10)", "=chunk")
  ok, e = pcall(f)
  T.ok(wb.is_error(e), tostring(e))
  T.ok(tostring(e):find("^chunk:1: "), tostring(e))
  T.eq(e.code, "ERANGE")
  f = load("local t = wb.zeros(2, 3)\nt:copy(wb.zeros(4))", "=chunk")
  ok, e = pcall(f)
  T.ok(tostring(e):find("^chunk:2: bad argument #1 to 'copy' %("), tostring(e))
  local t = wb.zeros(2, 3)
  ok, e = pcall(function() return t:reshape(7) end)
  T.eq(e.code, "ESHAPE"); T.eq(e.path, nil)
  -- "..." .. e builds a string, as with a string error
  T.eq("x: " .. e, "x: " .. e.message)
  T.eq(wb.is_error("x"), false); T.eq(wb.is_error({code = "EIO"}), false)
  local n = wb.Error{code = "EIO", message = "disk gone", path = "a/b"}
  T.ok(wb.is_error(n)); T.eq(tostring(n), "disk gone"); T.eq(n.path, "a/b")
  T.check_error("unknown key 'kind'", wb.Error, {code = "EIO", message = "m", kind = 1})
  T.check_error("unknown code 'EWHAT'", wb.Error, {code = "EWHAT", message = "m"})
  T.check_error("'message' must be a string", wb.Error, {code = "EIO"})
  T.check_error("kind: unknown 'ENOPE', expected one of EINVAL", wb.sys.fail, "ENOPE", "m")
end)

T.test("exit statuses come from .code, not from the text", function()
  expect("error(wb.Error{code = 'EFORMAT', message = 'my own words'})", 65, "my own words")
  expect("error(wb.Error{code = 'EIO', message = 'x'})", 74)
  -- a text that reads like a core failure is still a plain error
  expect("error('cannot create temporary file: No such file or directory')", 1)
  -- wb.sys.fail raises a wb.Error with the caller's position
  local err = expect("local function f() wb.sys.fail('ENOENT', 'data/x: missing') end\nf()",
    66, ":1: data/x: missing")
  T.ok(err:find("stack traceback:", 1, true), err)
end)

T.test("a layer's failure keeps its code through Sequential's prefix", function()
  local err = expect([[
    local bad = {forward = function() wb.sys.fail('EFORMAT', 'bad bytes') end,
                 parameters = function() return {} end, zero_grad = function() end}
    local m = wb.nn.Sequential{wb.nn.Dense(2, 2), bad}
    m:forward(wb.zeros(1, 2))]], 65, "layer 2 (")
  T.ok(err:find("bad bytes", 1, true), err)
  local ok, e = pcall(function()
    local m = wb.nn.Sequential{wb.nn.Dense(2, 2)}
    m:forward(wb.zeros(1, 3))
  end)
  T.ok(wb.is_error(e) and e.code == "ESHAPE", tostring(e))
  T.ok(e.message:find("^layer 1 %(Dense 2%->2%): "), e.message)
end)

T.test("a script returning a task runs its __main(task, arg); its result is the status",
  function()
  T.eq(run("return setmetatable({}, {__main = function(t, a) return 7 end})"), 7)
  local st, out = run("return setmetatable({n = 2}, {__main = function(t, a) "
    .. "io.write(t.n, ' ', #a, ' ', a[1]) end})", "x")
  T.eq(st, 0); T.eq(out, "2 1 x")
  -- errors in __main are handled as the script's own
  expect("return setmetatable({}, {__main = function() wb.sys.fail('ENOENT', 'gone') end})",
    66, "gone")
  expect("return setmetatable({}, {__main = 3})", 1, "__main is a number")
  expect("return wb.Error{code = 'EIO', message = 'returned failure'}", 74, "returned failure")
  expect("return 0", 0)
  expect("return 5", 5)
  expect("return 256", 1, "expected 0..255")
  expect("return 'a string'", 0)
end)

T.test("no classification by text in the sources (strstr, find(\"non)", function()
  if T.sh("git rev-parse --is-inside-work-tree") ~= 0 then return T.skip("grep", "no git") end
  local _, out = T.sh("git grep -n strstr -- bindings/*.c")
  for line in out:gmatch("[^\n]+") do
    T.ok(not line:find("msg") and not line:find("err"), "strstr on a message: " .. line)
  end
  local st
  st, out = T.sh("git grep -n 'find(\"non' -- bindings/lua")
  T.eq(out, "", "find(\"non in bindings/lua")
end)

-- }====

-- Start a script in the background, signal it once it printed "ready" and
-- has since run on (CPU time, which only passes while it runs: a fixed
-- sleep was too short on a loaded machine, too long before a quick C call
-- on a fast one), each signal after the one before was handled (its bit
-- gone from SigCgt: the handler restores the default action), and return
-- how the shell that waited for it ended (a death by signal N shows as
-- exit 128 + N), and the script's stderr.
local util = require "wb.util"
local function proc_field(pid, file, pat)
  return (util.read_file("/proc/" .. pid .. "/" .. file) or ""):match(pat)
end
local function cpu_ticks(pid) -- utime + stime, fields 14 and 15 of stat
  local u, s = proc_field(pid, "stat", "%)%s+%S+" .. string.rep("%s+%S+", 10) .. "%s+(%d+)%s+(%d+)")
  return u and tonumber(u) + tonumber(s)
end
local function catches(pid, sig) -- a handler is installed for the signal
  local mask = proc_field(pid, "status", "SigCgt:%s*(%x+)")
  local num = {INT = 2, TERM = 15}
  return mask and (tonumber(mask:sub(-8), 16) >> (num[sig] - 1)) & 1 == 1
end
local function signal_run(code, signals)
  n = n + 1
  local path = string.format("%s/s%d.lua", dir, n)
  write(path, code)
  local out, errf = dir .. "/sig" .. n .. ".out", dir .. "/sig" .. n .. ".err"
  local pidf, stf = dir .. "/sig" .. n .. ".pid", dir .. "/sig" .. n .. ".st"
  os.execute(string.format("sh -c '%s %s </dev/null >%s 2>%s & echo $! >%s; wait $!; "
    .. "echo $? >%s' >/dev/null 2>&1 &", WB, path, out, errf, pidf, stf))
  local pid = T.wait_line(pidf, 600):match("%d+")
  T.wait_until("'ready' from " .. path, 600, function()
    return (util.read_file(out) or ""):find("ready\n") or T.wait_status(stf, 0)
  end)
  local t0 = cpu_ticks(pid)
  for i, s in ipairs(signals) do
    if i == 1 and t0 then
      T.wait_until("2 ticks of CPU time after 'ready'", 600, function()
        local t = cpu_ticks(pid)
        return not t or t >= t0 + 2
      end)
    elseif i > 1 then -- sent anyway after the bound: then the checks say what happened
      T.poll(120, function() return not catches(pid, signals[i - 1]) end)
    end
    os.execute("kill -" .. s .. " " .. pid)
  end
  local st = T.wait_status(stf, 600)
  return st and "exit" or "no status", tostring(st), util.read_file(errf) or ""
end

T.test("130 / 143: SIGINT and SIGTERM stop a script with the interrupted status", function()
  local loop = "print('ready') io.stdout:flush() while true do end"
  local how, c, err = signal_run(loop, {"INT"})
  T.eq(how .. " " .. c, "exit 130", err)
  T.ok(err:find("interrupted!", 1, true), err)
  how, c, err = signal_run(loop, {"TERM"})
  T.eq(how .. " " .. c, "exit 143", err)
end)

T.test("SIGINT in a script's fit: one line with the epoch and step, no traceback, 130", function()
  -- before: "workbench: layer 1 (Dense 4->16): interrupted!" (whatever code
  -- ran then) and a traceback into fit.lua; 8 steps an epoch here
  local how, c, err = signal_run([[
local m = wb.nn.Sequential{wb.nn.Dense(4, 16, {activation = "relu"}),
  wb.nn.Dense(16, 3, {activation = "softmax"})}
local d = wb.data.Dataset(wb.randn(64, 4), wb.new_tensor({64}, "uint8"), "zeros")
m:fit(d, {epochs = 1e9, batch_size = 8, verbose = 0, callbacks = {wb.callbacks.Lambda{
  on_train_batch_end = function(step) if step == 20 then print("ready") io.stdout:flush() end
  end}}})
]], {"INT"})
  T.eq(how .. " " .. c, "exit 130", err)
  local epoch, step, done = err:match("^workbench: interrupted! fit stopped in epoch (%d+), at "
    .. "step (%d+) of the fit %((%d+) epochs? completed%)\n$")
  T.ok(epoch, err)
  epoch, step, done = tonumber(epoch), tonumber(step), tonumber(done)
  T.ok(step >= 20 and epoch == done + 1 and (epoch - 1) * 8 <= step and step <= epoch * 8,
    err)
end)

T.test("a SIGTERM a pcall caught is raised again by wb.sys.check_interrupt (143)", function()
  -- as in lua.c, the hook's error is an error like any other: a pcall that
  -- happens to be running catches it (the runner's record reading did)
  local st, _, err = run([[
wb.sys.check_interrupt() -- no signal yet: nothing
-- the loop keeps the pcall running until the signal's hook has run
local ok, e = pcall(function() os.execute("kill -TERM " .. wb.sys.getpid())
  local n = 0 while n < 1e9 do n = n + 1 end end)
io.stderr:write("caught: ", tostring(ok), " ", tostring(e), "\n")
wb.sys.check_interrupt()
io.stderr:write("went on after the signal\n")
]])
  T.eq(st, 143, err)
  T.ok(err:find("caught: false [^\n]*interrupted!"), err)
  T.ok(not err:find("went on", 1, true), err)
end)

T.test("an error raised by code that caught a SIGTERM still exits 143", function()
  -- a wrapper that adds context to what it caught makes a new error object
  local st, _, err = run([[
-- the loop keeps the pcall running until the signal's hook has run
local ok, e = pcall(function() os.execute("kill -TERM " .. wb.sys.getpid())
  local n = 0 while n < 1e9 do n = n + 1 end end)
error("while saving: " .. tostring(e))
]])
  T.eq(st, 143, err)
  T.ok(err:find("while saving: [^\n]*interrupted!"), err)
end)

T.test("fit stops on a SIGTERM a per-step hook's pcall caught", function()
  local st, out, err = run([[
local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
local d = wb.data.Dataset(wb.randn(64, 4), wb.new_tensor({64}, "uint8"), "zeros")
local pid = wb.sys.getpid()
m:fit(d, {epochs = 3, batch_size = 8, verbose = 0, callbacks = {{
  on_train_batch_end = function(_, step)
    print("step " .. step)
    if step == 2 then pcall(function() os.execute("kill -TERM " .. pid)
      local n = 0 while n < 1e9 do n = n + 1 end end) end
  end}}})
print("fit ended")
]])
  T.eq(st, 143, err)
  T.ok(out:find("step 2\n$"), "stopped after the step whose hook caught it: " .. out)
end)

T.test("a second SIGINT during one long C call ends the process at once", function()
  -- the hook only runs between Lua instructions; inside a long matmul the
  -- second SIGINT finds the default action restored
  -- (one 4000 x 4000 matmul: over a second on one thread; the first signal
  -- once it has run 2 ticks, the second once the first was handled)
  local how, c, err = signal_run("local a = wb.ones(4000, 4000) print('ready') "
    .. "io.stdout:flush() wb.matmul(a, a) print('finished')", {"INT", "INT"})
  -- the shell reports a death by SIGINT as 130 too: the hook's message
  -- tells the two apart
  T.eq(how .. " " .. c, "exit 130", err)
  T.ok(not err:find("interrupted!", 1, true), "the first SIGINT's hook ran: " .. err)
end)

T.test("a closed pipe on stdout does not kill the run (SIGPIPE)", function()
  local marker = dir .. "/finished"
  n = n + 1
  local path = string.format("%s/s%d.lua", dir, n)
  write(path, "for i = 1, 200000 do print(i) end\n"
    .. "local fh = io.open('" .. marker .. "', 'w') fh:write('yes') fh:close()")
  local st, out = T.sh("bash -c '" .. WB .. " " .. path .. " | head -1; "
    .. "echo status=${PIPESTATUS[0]}'")
  T.eq(st, 0)
  T.eq(out, "1\nstatus=0\n")
  local fh = io.open(marker, "rb")
  T.ok(fh, "the script did not run to its end")
  if fh then fh:close() end
end)

T.test("programs started by a script get the default SIGPIPE action", function()
  -- SigIgn in /proc is a hex mask; SIGPIPE is signal 13 (bit 0x1000)
  local st, out = run("os.execute('grep SigIgn /proc/self/status')")
  T.eq(st, 0)
  local mask = tonumber(out:match("SigIgn:%s*(%x+)"), 16)
  T.ok(mask, out)
  T.eq(mask & 0x1000, 0, "SIGPIPE ignored in a child: " .. out)
end)

T.done()
