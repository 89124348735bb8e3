-- bench_common.lua: what make bench's scripts (tests/bench.lua,
-- tests/bench_instruments.lua, tests/bench_hooks.lua) share, loaded with
-- dofile: the environment every timed child runs in, the threads a process
-- actually uses, and the baseline model.
--
-- Threads: the children run with exactly WB_BENCH_THREADS threads (default
-- 1) whatever the caller's environment says. l_sys.c keeps a user's
-- OPENBLAS/GOTO/OMP_NUM_THREADS (the runner forces 1, but the bench calls
-- fit directly), and Debian's torch links the same openblas-pthread, whose
-- pool torch.set_num_threads does not cap: an exported OMP_NUM_THREADS=2
-- made workbench's rows two-threaded under a "1 thread" label. So every
-- child's command sets all four variables, and each child reports the
-- count it ran with.
local M = {}

M.VARS = {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS"}

--- threads() -> n, asked: the threads each timed child runs with:
--- $WB_BENCH_THREADS (an integer 1..64) when set, else 1; asked is true
--- when the caller set it (more than one thread on purpose).
function M.threads()
  local v = os.getenv("WB_BENCH_THREADS")
  if v == nil or v == "" then return 1, false end
  local n = math.tointeger(tonumber(v))
  if not n or n < 1 or n > 64 then
    error("WB_BENCH_THREADS: expected an integer 1..64, got '" .. v .. "'", 0)
  end
  return n, true
end

--- count(name, default, max) -> integer: the environment variable name
--- (default when unset), an integer 1..max, else an error naming it.
function M.count(name, default, max)
  local v = os.getenv(name)
  local n = math.tointeger(tonumber(v or default))
  if not n or n < 1 or n > max then
    error(string.format("%s: expected an integer 1..%d, got %s", name, max, v), 0)
  end
  return n
end

--- env() -> string: the `env VAR=n ...` prefix of a child's command, the
--- four thread variables set to threads().
function M.env()
  local n, t = M.threads(), {"env"}
  for _, v in ipairs(M.VARS) do t[#t + 1] = v .. "=" .. n end
  return table.concat(t, " ")
end

--- settings() -> string: one line for the output's header: what the
--- children run with and what of the caller's environment that overrides.
function M.settings()
  local n, asked = M.threads()
  local own = {}
  for _, v in ipairs(M.VARS) do
    local c = os.getenv(v)
    if c and c ~= "" and c ~= tostring(n) then own[#own + 1] = v .. "=" .. c end
  end
  return string.format("threads: every timed child runs with %s=%d%s%s", table.concat(M.VARS,
    "/"), n, asked and string.format(" (WB_BENCH_THREADS=%d: %s)", n, n == 1 and "asked"
    or "MORE THAN ONE THREAD, ON PURPOSE") or " (one thread)", #own > 0 and ("; the caller's "
    .. table.concat(own, " ") .. " overridden") or "")
end

--- os_threads() -> integer|nil: the OS threads of this process now
--- (/proc/self/task), nil where there is no /proc.
function M.os_threads()
  local ok, names = pcall(wb.sys.listdir, "/proc/self/task")
  return ok and #names or nil
end

--- label(blas, os) -> string: a row's thread column from what a child
--- reported ("1/1": library threads / OS threads; "?" when not reported).
function M.label(blas, os_n)
  return string.format("%s/%s", blas or "?", os_n or "?")
end

--- check(blas, os) -> string|nil: a warning when a child ran with another
--- count than threads() (library or OS threads), else nil.
function M.check(who, blas, os_n)
  local n = M.threads()
  if blas ~= n or os_n ~= n then
    return string.format("WARNING: %s ran with %s library / %s OS threads, not %d", who,
      tostring(blas), tostring(os_n), n)
  end
end

local function first_line(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  local l = p and p:read("l")
  if p then p:close() end
  return l
end

--- loadavg() -> string: /proc/loadavg's line ("unknown" without /proc).
function M.loadavg()
  return first_line("cat /proc/loadavg") or "unknown"
end

-- The CPU as /proc/cpuinfo names it (a virtual machine's "model name" can
-- be as vague as "AMD EPYC": family, model and stepping tell the part).
local function cpu_model()
  local f = io.open("/proc/cpuinfo")
  if not f then return "unknown (no /proc/cpuinfo)" end
  local t = f:read("a")
  f:close()
  local field = function(k) return t:match("\n" .. k .. "%s*:%s*([^\n]+)") or
    t:match("^" .. k .. "%s*:%s*([^\n]+)") or "?" end
  return string.format("%s (family %s, model %s, stepping %s; %d logical CPUs)",
    field("model name"), field("cpu family"), field("model"), field("stepping"),
    wb.sys.nproc())
end

--- provenance(args) -> string: the lines a bench output starts with: the
--- commit, the CPU, OpenBLAS, torch, the threads and the exact command
--- (args: the script's arguments, a list).
function M.provenance(args)
  local env = {}
  for _, k in ipairs{"WB_BENCH_REPS", "WB_BENCH_EPOCHS", "WB_BENCH_THREADS",
      "WB_BENCH_TRAIN_ROWS", "WB_BENCH_BATCHES", "WB_BENCH_SMALL", "WB_BENCH_ROWS",
      "WB_BENCH_INPUT", "WB_BENCH_ONLY", "OPENBLAS_CORETYPE"} do
    if os.getenv(k) then env[#env + 1] = k .. "=" .. os.getenv(k) end
  end
  local torch = first_line("/usr/bin/python3 -c 'import torch; print(torch.__version__)'")
  return table.concat({
    string.format("workbench %s, commit %s (%s)", wb.version,
      first_line("git describe --always --dirty") or "unknown",
      first_line("git rev-parse HEAD") or "no git"),
    "command (after the variables it read from its environment): " .. table.concat(env, " ")
      .. (#env > 0 and " " or "")
      .. table.concat({arg[-1] or "./workbench", arg[0], table.unpack(args)}, " ")
      .. " (make bench: ./workbench tests/bench.lua)",
    "CPU: " .. cpu_model(),
    string.format("OpenBLAS: kernel %s (%s), Debian libopenblas0-pthread %s", wb.sys.blas_core(),
      os.getenv("OPENBLAS_CORETYPE") and ("OPENBLAS_CORETYPE=" .. os.getenv("OPENBLAS_CORETYPE"))
      or "core type auto", first_line("dpkg-query -W -f '${Version}' libopenblas0-pthread")
      or "version unknown"),
    "PyTorch: " .. (torch and (torch .. " (/usr/bin/python3)") or "not installed"),
    M.settings(),
    "load average at start: " .. M.loadavg()}, "\n")
end

--- verdict(x, lo, hi, target, at_most) -> string: "met" or "NOT met" for
--- x against target (x <= target when at_most, else x >= target), and
--- whether the spread lo..hi agrees.
function M.verdict(x, lo, hi, target, at_most)
  local ok = function(v) if at_most then return v <= target end return v >= target end
  local s = ok(x) and "met" or "NOT met"
  if ok(lo) ~= ok(hi) then
    s = s .. string.format(" (by the median; the spread %.2f..%.2f straddles %g)", lo, hi,
      target)
  end
  return s
end

--- STD: the dense input, as the benches' headers name it. The one
--- definition of it on the workbench side is standardised() below;
--- tests/bench_torch.py's INPUT std does the same float32 arithmetic.
M.STD = "MNIST standardised, (x / 255 - 0.1307) / 0.3081, no pixel 0"

--- standardised(ds) -> wb.Dataset: ds's images as a new float32 [n, 784]
--- set, (x / 255 - 0.1307) / 0.3081: no pixel is 0, so the Dense
--- products' skipping of zero inputs saves nothing (dense input). Converted
--- a block of rows at a time (no whole-set temporaries), as PyTorch's strong
--- loop converts its set in place.
function M.standardised(ds)
  local n = ds.images:size(1)
  local x = wb.zeros{n, 784}
  for i = 1, n, 1000 do
    local j = math.min(i + 999, n)
    local f = ds.images:rows(i, j):float()
    local a = f / 255
    local b = a - 0.1307
    local c = b / 0.3081
    x:rows(i, j):copy(c:reshape(j - i + 1, 784))
    f:free(); a:free(); b:free(); c:free()
  end
  return wb.data.Dataset(x, ds.labels, "mnist standardised")
end

--- baseline() -> wb.nn.Sequential: the baseline MLP (784-128-10
--- relu/softmax), its weights drawn after wb.seed(1).
function M.baseline()
  wb.seed(1)
  return wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
    wb.nn.Dense(128, 10, {activation = "softmax"})}
end

--- fit_timed(train, batch, epochs, optimizer) -> model, history, cpu
--- The baseline MLP (baseline()) fitted on train, and each epoch's CPU
--- seconds (a list): both bench scripts' workbench side.
function M.fit_timed(train, batch, epochs, optimizer)
  local model = M.baseline()
  local cpu, c0 = {}, 0
  local timer = {on_epoch_begin = function() c0 = os.clock() end,
    on_epoch_end = function() cpu[#cpu + 1] = os.clock() - c0 end}
  local h = model:fit(train, {epochs = epochs, batch_size = batch, optimizer = optimizer,
    seed = 1, verbose = false, callbacks = {timer}})
  return model, h, cpu
end

--- median(xs) -> number: the median of a list of numbers (sorts a copy).
function M.median(xs)
  local s = table.move(xs, 1, #xs, 1, {})
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

--- range(xs) -> min, max: of a list of numbers.
function M.range(xs)
  return math.min(table.unpack(xs)), math.max(table.unpack(xs))
end

--- spread(xs) -> string: "min..max" of a list of numbers, in format fmt
--- (default "%.2f").
function M.spread(xs, fmt)
  fmt = fmt or "%.2f"
  return string.format(fmt .. ".." .. fmt, math.min(table.unpack(xs)),
    math.max(table.unpack(xs)))
end

return M
