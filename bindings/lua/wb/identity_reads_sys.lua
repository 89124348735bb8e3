-- wb/identity_reads_sys.lua: what a run's hooks learn from the system other
-- than by reading a file (wb/identity_reads.lua records those), and the
-- files of the runs folder a hook reads by path. Each was a way to reuse a
-- run that would now train otherwise (audit W2-W4):
-- - wb.sys.exists(path) in a hook decides as a failed io.open does (an
--   optional override file): it is recorded as io.open's read is, a file
--   (or nothing there) by its content id, a folder by its names (as
--   wb.sys.listdir's); creating or removing it retrains the run.
-- - The time of day and the date (os.time(), os.date()) and the process id
--   (wb.sys.getpid) are other in every process: a hook that reads one (a
--   seed from the clock) is recorded as such, and the runner never reuses
--   its run, saying so each time, as for a command a hook ran. The
--   duration clocks (wb.sys.time, os.clock: "seconds from an arbitrary
--   start") are how a callback or a measure hook times itself (t0 =
--   wb.sys.time(); ...; wb.sys.time() - t0): a function of the hook that
--   reads one twice in one call is timing; a read without its pair in
--   that call is a value taken from the clock, and the run is never reused
--   either (below: "paired per call").
-- - The machine's values (wb.sys.hostname, wb.sys.nproc, wb.sys.blas_core:
--   the kernel OpenBLAS picked for the CPU) are the same in every process
--   of one machine and other on another: a hook that branches on one (a
--   batch size from nproc) trains otherwise there. They are recorded by
--   value, as an environment variable is ("wb.sys.nproc()" = "8"): a run
--   is reused where the value is the same (on this machine, a rerun keeps
--   its runs cached), retrained where it is not, the runner naming both. Not
--   the clock's rule (never reused): these do not change from run to run.
--   The process's peak memory (wb.sys.peak_rss_kb) does, with whatever
--   else the process did before: the clock's rule. Not recorded:
--   wb.sys.blas_threads (a setting the runner fixes at one thread in its
--   children, while its own process, which checks a record, may have more),
--   isatty and term_columns (where output goes: the runner's children
--   write to pipes).
-- - The runs folder is not recorded (the records, weights and states the
--   runner itself reads and writes), but a file there that a hook reads by
--   path (m:load_weights("runs/pre-<hash>.safetensors"), wb.load(path),
--   io.open) is another run's output, which changes when that run is
--   retrained: it is recorded by content. Read by the hook's own code, any
--   file; read by the library on the hook's behalf (run:model() its
--   weights, wb.record.read a record), the weights, states and records
--   (.safetensors, .json). What wb.runs.find and load_all read is noted as
--   their answer instead (wb/identity_reads_runs.lua), and the run's own
--   record never (the runner writes it after the hooks ran).
-- Installed into wb.identity_reads by it; private to the runner.
local _ENV = require "wb.std"
local wb = require "wb"

local S = {}
-- the id of a clock or process id a hook read: never as recorded
S.CLOCK = "clock"
local realpath = wb.sys.realpath -- the binding's, whatever a script puts in wb.sys
local kind = wb.sys.kind -- the binding's (wrapped below)
local clock = require "wb.identity_reads_clock" -- the duration clocks' pairs
local hook = require "wb.identity_reads_hook" -- a hook's call, at the hook's line
local I -- wb.identity_reads's state and functions (set when it installs this)

-- The number of stack frames from the caller of this function down.
function S.height()
  local n = 2
  while debug.getinfo(n + 1, "S") do n = n + 1 end
  return n - 1
end

-- S.newer(t, total) -> integer: the deepest level, from a function whose
-- stack is total frames deep (S.height), of the frames newer than the one
-- that started tracker t (t.height). In a coroutine, all of its frames: its
-- stack is its own (the runner runs none; a hook's, read by frames of the
-- main stack only, was taken for the runner's and its reads not recorded).
function S.newer(t, total)
  local _, main = coroutine.running()
  return main and total - (t.height or total) + 1 or total
end

-- S.is_file(path) -> boolean: whether path is a file that can be opened
-- (else: a folder or nothing).
function S.is_file(path)
  local f = I.orig.open(path, "rb")
  if not f then return false end
  local ok = f:read(0) ~= nil or f:seek("end") == 0
  f:close()
  return ok
end

-- Whether a frame's source is the library's own code (wb/*.lua).
local function own(info) return info.source:sub(1, #I.OWN) == I.OWN end
local function reads_code(info) return info.source:match("/wb/identity_reads[%w_]*%.lua$") end

-- {==================== what a path really names ====================
-- A read of the runs folder was told by the path's spelling: one that
-- entered it by a link, or left it by ".." ("<runs>/../mask.png", read by a
-- library loader, was taken for the folder's and not recorded), was taken
-- for what its text began with. Paths are compared as realpath(3) gives
-- them (the folders skipped too, as track() notes them).

-- p with "." and ".." and repeated "/" taken out by its text alone (a path
-- whose folders are not there, which realpath cannot resolve).
local function lexical(p)
  local out = {}
  for part in p:gmatch("[^/]+") do
    if part == ".." then out[#out] = nil
    elseif part ~= "." then out[#out + 1] = part end
  end
  return "/" .. table.concat(out, "/")
end

-- S.real(p) -> string: what absolute path p names: realpath(3); for a file
-- not there (yet), its folder's realpath and its name; else lexical.
function S.real(p)
  local r = realpath(p)
  if r then return r end
  local dir, name = p:match("^(.*)/([^/]+)$")
  local rd = dir and name ~= "." and name ~= ".." and realpath(dir ~= "" and dir or "/")
  return rd and (rd == "/" and "/" or rd .. "/") .. name or lexical(p)
end

-- Whether path p (as real) is folder dir or under it.
local function under(p, dir)
  return p == dir or p:sub(1, #dir + 1) == dir .. "/"
end

-- {==================== /dev ====================
-- /dev was skipped whole, and with it /dev/shm, a file system (tmpfs) users
-- keep data on: a hook's params there, edited, reused the run. A file or
-- folder there is recorded as any other; a device that gives the same
-- bytes at every read is not; any other device (/dev/urandom, /dev/random,
-- a terminal) gives other bytes each time: a run whose hook read one (a
-- seed from /dev/urandom) is never reused, as one that read the clock.
S.DEVICE = "device" -- its id
local SAME = {["/dev/null"] = true, ["/dev/zero"] = true, ["/dev/full"] = true}

-- Whether a read of rp (real, under /dev; as spelled p) is not recorded as a file in t.
local testing = false -- wb.sys.exists or kind asks: a device there is not read
local function device(t, rp, p)
  local k = kind(rp)
  if k == "file" or k == "folder" or k == nil then return false end -- nil: not there
  -- a device a hook tests for (/dev/nvidia0): no bytes read, not recorded
  if not SAME[rp] and not testing and not t.seen[p] then
    t.seen[p], t.ids[p], t.order[#t.order + 1] = true, S.DEVICE, p
  end
  return true
end

-- }====================

-- /proc and /sys describe this machine and this process. They were skipped
-- whole: a hook that chose its width or threads from /proc/cpuinfo or
-- /sys/devices/system/cpu/online was reused on a machine that answers
-- otherwise. A hook's own read there (not the library's on its behalf: a
-- lock's /proc/<pid>/stat, git's limits) is recorded by content as any
-- file's: the same answer reuses the run, another (another machine, a
-- file that changes at every read, such as /proc/meminfo, or a process's
-- own /proc/<pid>) retrains it, naming the file.
local MACHINE = {["/proc"] = true, ["/sys"] = true}
local function hook_itself(t) -- a hook read it, not the library for it
  local user, direct = S.by_hook(t)
  return user and direct
end

-- S.skipped(t, p) -> boolean: whether absolute path p, read while tracker t
-- runs, is not recorded as a file: the workbench's own modules, the dataset
-- files, /proc and /sys but for a hook's own read there (above), a device
-- (/dev, above), and the runs folder but for a file a hook read there
-- (S.hook_read).
function S.skipped(t, p)
  if I.runs.reading() then return true end -- wb.runs.find's records: its answer is noted
  local rp = S.real(p)
  if t.files[rp] or rp == t.own then return true end -- the run's own record: written after
  for _, d in ipairs(t.dirs) do
    if d ~= "/dev" and under(rp, d) and not (t.runs[d] and S.hook_read(t, rp))
        and not (MACHINE[d] and hook_itself(t)) then
      return true
    end
  end
  return under(rp, "/dev") and device(t, rp, p)
end

-- }====================

-- A read function a hook may tail-call (`return io.open(p)`): the hook's
-- frame is then gone from the stack, and the read was taken for the
-- runner's. The wrapped io.open, io.lines, dofile, ... (wb.identity_reads'
-- standard): the library never tail-calls them. Not the library's loaders
-- (`return m:load_weights(p)`): every public function is called through a
-- checker that tail-calls it (wb/args.lua at_most), the runner's calls too,
-- so such a frame tells nothing (the identZ report: what is left).
local entries
local function entry(f)
  if not entries then
    entries = {}
    for w in pairs(I.reads.standard) do entries[w] = true end
  end
  return entries[f]
end

-- S.as_hook(place, f, ...) -> f(...): wb/train.lua calls a hook (build,
-- callbacks, fit_options, measure) through this frame, which S.by_hook
-- finds. A hook whose body ends in a tail call (`return m:load_weights(p)`,
-- `return wb.load(p)`) leaves no frame of its own, and the library function
-- it called looked like the runner's: its read was not recorded and the run
-- was reused after the file changed (audit identZ, K7). Not a tail call
-- itself, so that its frame stays. place (wb/train_hooks.lua's): the call
-- is made from a frame at the hook's first line, where such a call's error
-- is placed (wb/identity_reads_hook.lua), not at this line of the library.
function S.as_hook(place, f, ...)
  local r = place and hook.caller(place)(f, ...) or table.pack(f(...))
  return table.unpack(r, 1, r.n)
end

-- S.by_hook(t) -> boolean, boolean
-- Whether the frames newer than the one that started tracker t (t.height:
-- train.lua's, whose own reads of the runs folder, a resumed state, an
-- adopted donor's weights, find_donor's records, are the runner's) hold
-- user code (not the library's), or a read function a hook tail-called
-- (entry), or a hook's call (S.as_hook) with no user frame newer: the hook
-- tail-called the library; then whether the newest such frame read itself (not the library
-- for it).
function S.by_hook(t)
  local total = S.height() -- from this frame (level 1) down
  local direct = nil
  for level = 2, S.newer(t, total) do
    local info = debug.getinfo(level, "Sft")
    if info and info.istailcall and entry(info.func) then -- a hook's `return io.open(p)`
      return true, direct == nil or direct
    end
    -- a hook's call, no user frame newer: the hook tail-called the library
    if info and info.func == S.as_hook then return true, direct == nil or direct end
    if info and info.what ~= "C" and not reads_code(info) then
      if direct == nil then direct = not own(info) end
      if not own(info) then return true, direct end
    end
  end
  return false, false
end

-- S.hook_read(t, p) -> boolean
-- Whether file p of the runs folder is read by a hook of tracker t's run
-- (S.by_hook): by its own code, any file; by the library on its behalf,
-- weights, states and records (.safetensors, .json).
function S.hook_read(t, p)
  -- a file: not the folder's listing (its names change with every run trained there)
  if t.runs[p] or not S.is_file(p) then return false end
  local user, direct = S.by_hook(t)
  return user and (direct or p:match("%.safetensors$") ~= nil or p:match("%.json$") ~= nil)
end

-- The place a hook read a clock from ("t10.lua:5") and its function: the
-- first Lua frame above the wrapper.
local function caller()
  local info = I.wrapper_caller("Slf")
  if not info then return "?", nil end
  return info.short_src .. ":" .. tostring(info.currentline), info.func
end

-- Notes, in every running tracker, that a hook read `name` ("os.time()")
-- at `at`: never reused.
local function never(name, at)
  for _, t in ipairs(I.active) do
    if not t.seen[name] then
      t.seen[name], t.ids[name], t.values[name] = true, S.CLOCK, at
      t.order[#t.order + 1] = name
    end
  end
end

-- {==================== the machine's values ====================
-- "wb.sys.nproc()" -> the function giving it now (unwrapped: set at install)
S.machine = {}

-- S.machine_changed(e) -> string|nil, or false when read_files entry e is
-- not a machine's value: what differs from the value recorded.
-- A path a hook resolved (wb.sys.realpath) is noted so too, "wb.sys.realpath(<path>)":
-- where a link points decides what the hook goes on to read.
local RESOLVED = "^wb%.sys%.realpath%((.*)%)$"
function S.machine_changed(e)
  local f, path = S.machine[e.path], e.path:match(RESOLVED)
  if path then f = function() return realpath(path) end end
  if not f then return false end
  local now = tostring(f())
  if I.env_id(now) == e.id then return nil end
  return string.format("(%s a hook read) is not as it was when the run was recorded (%s then, "
    .. "%s now)%s", path and "what a path names, as" or "a value of the machine",
    type(e.value) == "string" and e.value or "?", now, path and "" or ": such a run is reused "
    .. "only on a machine that gives the same value (on a cluster, the node that trained it and "
    .. "the login node that checks records are two machines); to have it reused anywhere, put "
    .. "what the hook derives from the value in the config")
end

-- Notes, in every running tracker, that a hook read `name`: value v.
local function machine_read(name, v)
  for _, t in ipairs(I.active) do
    if t.seen[name] then -- read again: as at the first read, or the run fails
      I.reads.again_value(t, name, I.env_id(tostring(v)), tostring(v), false,
        name:match(RESOLVED) and I.env_id("nil")) -- a path created: as for a file
    else
      t.seen[name], t.ids[name], t.values[name] = true, I.env_id(tostring(v)), tostring(v)
      t.order[#t.order + 1] = name
    end
  end
end

-- }====================

-- Installs the wrappers; r: wb.identity_reads, i: its state and functions
-- (active, note, orig, through, own_caller, wrapper_caller, listing_id, env_id, OWN).
return function(r, i)
  I = i
  local orig = I.orig
  orig.exists, orig.time, orig.getpid = wb.sys.exists, wb.sys.time, wb.sys.getpid
  orig.os_time, orig.os_clock, orig.os_date = os.time, os.clock, os.date

  -- a path a hook tests (is it there, what is it): its answer decides the
  -- run, so the path is noted: a folder by its names (folder(v, path): the
  -- answer v says it is one), else by its content id, or as absent
  local function tested(short, f, folder)
    return function(path, ...)
      local v = I.through(short, f, path, ...)
      if #I.active > 0 and type(path) == "string" and not I.own_caller() then
        local ok, names = true, nil
        if folder(v, path) then ok, names = pcall(orig.listdir, path) end
        testing = true
        I.note(path, names and ok and I.listing_id(names) or nil)
        testing = false
      end
      return v
    end
  end
  orig.kind = wb.sys.kind
  wb.sys.exists = tested("exists", orig.exists, function(yes, path)
    return yes and not S.is_file(path) end)
  wb.sys.kind = tested("kind", orig.kind, function(k) return k == "folder" end)
  -- the time of day, the date and the process id: other in every process
  local function wall(name, short, f, reads_clock)
    return function(...)
      if #I.active > 0 and reads_clock(...) and not I.own_caller() then never(name, (caller())) end
      return I.through(short, f, ...)
    end
  end
  -- os.time{year = ...} and os.date(fmt, t) read no clock: a date given
  os.time = wall("os.time()", "time", orig.os_time, function(t) return t == nil end)
  os.date = wall("os.date()", "date", orig.os_date, function(_, t) return t == nil end)
  wb.sys.getpid = wall("wb.sys.getpid()", "getpid", orig.getpid, function() return true end)
  -- the duration clocks: counted by the function reading them
  local function duration(name, f)
    return function(...)
      if #I.active > 0 and not I.own_caller() then clock.timed(I.active, name, (caller())) end
      return f(...)
    end
  end
  -- the process's peak memory: other in every process, as the clock
  orig.peak_rss = wb.sys.peak_rss_kb
  wb.sys.peak_rss_kb = wall("wb.sys.peak_rss_kb()", "peak_rss_kb", orig.peak_rss,
    function() return true end)
  -- the machine's values: by value
  for _, k in ipairs{"hostname", "nproc", "blas_core"} do
    local name, f = "wb.sys." .. k .. "()", wb.sys[k]
    S.machine[name] = f
    wb.sys[k] = function(...)
      local v = I.through(k, f, ...)
      if #I.active > 0 and not I.own_caller() then machine_read(name, v) end
      return v
    end
    r.standard[wb.sys[k]] = "wb.sys." .. k
  end
  -- a path a hook resolves: by its answer (nil: nothing there)
  wb.sys.realpath = function(path, ...)
    local v, why = I.through("realpath", realpath, path, ...)
    if #I.active > 0 and type(path) == "string" and not I.own_caller() then
      machine_read("wb.sys.realpath(" .. path .. ")", v)
    end
    return v, why
  end
  os.clock = duration("os.clock()", orig.os_clock)
  wb.sys.time = duration("wb.sys.time()", orig.time)

  local std = r.standard
  std[wb.sys.exists], std[wb.sys.time], std[wb.sys.getpid] = "wb.sys.exists", "wb.sys.time",
    "wb.sys.getpid"
  std[os.time], std[os.clock], std[os.date] = "os.time", "os.clock", "os.date"
  std[wb.sys.kind], std[wb.sys.peak_rss_kb] = "wb.sys.kind", "wb.sys.peak_rss_kb"
  std[wb.sys.realpath] = "wb.sys.realpath"
  S.unpaired = function(t, list) return clock.unpaired(t, list, S.CLOCK) end
  r.sys = S
  -- the records a hook got from wb.runs.find or load_all (reads.runs)
  require("wb.identity_reads_runs")(r, {active = I.active, OWN = I.OWN,
    file_id = function(p) return r.file_id(p) end}, S)
  I.runs, I.reads = r.runs, r
end
