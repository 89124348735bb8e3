-- wb/identity_reads.lua: the files a run actually read, like a compiler's
-- depfile. identity.lua identifies what a hook names literally; a hook that
-- computes a name at run time (dofile(dir .. "/params.lua"),
-- require(cfg.arch_module), io.lines(dir .. "/vocab.txt"),
-- m:load_weights(dir .. "/init.safetensors")) is seen only while it runs.
-- So while a run trains and measures (wb/train.lua), what the global
-- require, dofile, loadfile and the io library (wb/identity_reads_io.lua:
-- io.open in read modes, io.lines, io.input, the default input) read is
-- noted, and so are the paths the workbench's C loaders open
-- (wb.io._observe, bindings/lwb.h lwb_note_file: wb.io.load_safetensors and
-- so wb.load, load_weights and resumed states, wb.image.load, wb.data.idx,
-- wb.sys.hash_file; their writers too, wb.io.save_safetensors,
-- wb.image.save, wb.sys.write_atomic, as outputs). The Lua functions are
-- wrapped once, when `wb` loads, before any script runs: a script that keeps
-- one in a local (`local open = io.open` at its top) keeps the wrapper.
-- The C side is hooked, not the wb table: modules keep its functions in
-- locals (wb/image.lua). The runner records each file read with its content
-- id (the record's read_files = {{path = ..., id = ...}}) and reuses a
-- recorded run only while every one is unchanged; a file of Lua code it
-- loaded (require, dofile, loadfile), only while the globals its code names
-- are as they were when the run started too (wb/identity_chunk.lua). A
-- folder a hook lists (wb.sys.listdir; or a wb helper for it:
-- wb.image.png_files, for_run) is recorded with an id of its names: a file
-- added there retrains the run; so is a file or folder it tests with
-- wb.sys.exists, and the clock or process id it reads makes its run never
-- reused (wb/identity_reads_sys.lua). An environment variable a hook reads
-- is recorded as "$NAME" with a hash of its value (wb/identity_reads_env.lua).
-- What a module read as it loaded (at the script's top level too) is added
-- to a run that requires it (wb/identity_require.lua).
--
-- Not recorded: the workbench's own modules (their code is in
-- identity.code()) and their own listings, Lua's standard library (no
-- files), the run's dataset files (in the data identity), the runs folder
-- (records, weights, states the runner writes and reads: a resumed state,
-- an adopted donor's weights; a file there a hook reads by path is, by
-- content, and a path is taken for what it names, links and ".." resolved:
-- wb/identity_reads_sys.lua; the records a hook gets from wb.runs.find are,
-- as its answer: wb/identity_reads_runs.lua), files the run itself opened
-- for writing (its outputs), the runner's own hashing (M.file_id), /proc
-- and /sys read by the library (a hook's own read there is, by content),
-- and the devices of /dev (not its files, /dev/shm: wb/identity_reads_sys.lua).
-- What the script reads at its top level is not either (its values reach
-- the hooks as upvalues, which identity.lua fingerprints), nor a file
-- handle's reads (its io.open was seen; a handle the hook closes over is
-- not identified). A command a hook runs (io.popen in read mode, os.execute;
-- not the workbench's own gnuplot or git) depends on what cannot be known:
-- it is recorded as such, and the runner never reuses that run (it says so).
-- Private to the runner: not part of the wb table.
local _ENV = require "wb.std"
local wb = require "wb"
local ropts -- wb.runner_options (absolute paths), at the first track: it requires train

local M = {}

-- The id of a command's output read by a hook (io.popen): never as recorded.
local COMMAND = "command"
-- The ids of a folder's names (a hook's wb.sys.listdir) begin so.
local LISTING = "names:"
-- The chunk names of the workbench's own modules begin so ("@.../wb/").
local OWN = debug.getinfo(1, "S").source:match("^(@.*/)[^/]*$") or "@wb/"

-- The content id of file path: XXH3-128 of its whole content
-- (wb.sys.hash_file, in C, in chunks; a big vocabulary edited in its
-- middle must not keep its id: a stale cache is a bug), "absent" when it
-- cannot be read. Not through io.open, and quiet to the C observer: a
-- tracked run would count the runner's hashing (a donor's files checked
-- while it trains, train.lua find_donor) as its own reads.
local quiet = false
function M.file_id(path)
  quiet = true
  local h = wb.sys.hash_file(path)
  quiet = false
  return h or "absent"
end

-- path -> {name, id} of each Lua module a tracked require loaded in this
-- process, with its content id as loaded: package.loaded would hand a later
-- run (ex:run() again, in the REPL) that module whatever the file says now.
local loaded_as = {}
-- The same of modules loaded outside a run (a script's top, the REPL's
-- require), with the path require gave, taken into loaded_as at the next
-- run: a module required in the REPL, then edited, was handed to the run
-- retrained for the edit as first loaded, its record naming the new file.
local loaded_before = {}

-- Forgets (package.loaded) the modules loaded by a tracked require whose
-- file has changed since: the next require loads the file as it is, so a
-- run retrained for that edit trains on it.
local function forget_changed()
  for p, l in pairs(loaded_as) do
    if M.file_id(p) ~= l.id then
      package.loaded[l.name], loaded_as[p] = nil, nil
    end
  end
end

-- The trackers running, innermost last: a read goes to each of them.
local active = {}
-- The functions as Lua and the C bindings made them, taken when this module
-- loads (at `wb`'s, before any script runs).
local orig = {require = require, dofile = dofile, loadfile = loadfile, open = io.open,
  lines = io.lines, input = io.input, read = io.read, popen = io.popen, execute = os.execute,
  listdir = wb.sys.listdir, getenv = os.getenv}

-- through(name, f, ...), through_after(name, after, f, ...): f(...) with a C function's
-- error at the caller's line (wb/identity_reads_through.lua; HERE: the files of the wrappers).
local HERE = {[debug.getinfo(1, "S").short_src .. ":"] = true}
local through, through_after = require("wb.identity_reads_through")(HERE)

-- The debug.getinfo (fields, with "S") of a wrapper's caller, past C
-- functions (pcall), asked from a function the wrapper calls (level 4 from
-- here; its callers must not tail-call it, which would drop a level).
local function wrapper_caller(fields)
  local level, info = 4, debug.getinfo(4, fields)
  while info and info.what == "C" do
    level = level + 1
    info = debug.getinfo(level, fields)
  end
  return info
end

-- Whether a wrapper's caller is the workbench's own code: its gnuplot, git
-- and folder listings are not a run's.
local function own_caller()
  local info = wrapper_caller("S")
  return info ~= nil and info.source:sub(1, #OWN) == OWN
end
-- Whether a read is a run's: by user code, or by the library on a hook's behalf (a user
-- frame above the outermost tracker's start: wb.image.png_files(dir) in a build hook listed
-- the user's folder, which was not recorded, tryL 3).
local function for_run() return not own_caller() or M.sys.by_hook(active[1]) end

-- Notes absolute path p (a file, or key: a command, a folder's listing)
-- with its id (nil: the file's content id, taken at stop) in tracker t;
-- asked: how a name found it ({module = name, search = package.path, cwd}
-- or {file = relative path, cwd}), each way once: another folder or a
-- module shadowing it finds another file (wb/identity_reads_check.lua).
local function note_in(t, p, id, asked, code, now)
  if M.sys.skipped(t, p) then return end -- wb's own, the data, the runs folder (mostly)
  if code and not t.code[p] then t.code[p] = M.chunk.read(p, t.g0) end -- its globals
  local key = asked and p .. "\0" .. (asked.module or "") .. "\0" .. (asked.file or "")
  if key and not t.seen[key] then
    t.seen[key], t.asked[p] = true, t.asked[p] or {}
    table.insert(t.asked[p], asked)
  end
  if t.seen[p] then -- read again: as at its first read, or the run fails
    if id == nil then M.again(t, p, now) else M.again_names(t, p, id) end
    return
  end
  t.seen[p], t.ids[p] = true, id or M.first(t, p, now) -- a file's id: as first read
  t.order[#t.order + 1] = p
end

-- Notes a file a run read, in every running tracker (module: the name
-- require was given; a relative path is noted as asked too; code: Lua code
-- the run loaded, whose globals are noted: wb/identity_chunk.lua).
local function note(path, id, module, code)
  if #active == 0 or type(path) ~= "string" then return end -- stdin, a file handle
  local p = ropts.absolute(path)
  local asked = module and {module = module, search = package.path, cwd = ropts.cwd()}
    or path:sub(1, 1) ~= "/" and {file = path, cwd = ropts.cwd()} or nil
  local cur -- the file's content id at this read: hashed once for every tracker
  local function now() cur = cur or M.file_id(p) return cur end
  for _, t in ipairs(active) do note_in(t, p, id, asked, code or module ~= nil, now) end
end

-- Adds read_files entries (what a module read as it loaded: wb/identity_require.lua) to every
-- running tracker, with the ids they had then (the module's value was made of those contents);
-- Lua code, with the globals as that tracker's run started (note_in).
local function add(list)
  for _, t in ipairs(active) do
    for _, e in ipairs(list) do
      local p = e.path
      if not t.seen[p] and not t.files[M.sys.real(p)] then
        t.seen[p], t.ids[p], t.values[p], t.asked[p] = true, e.id, e.value, e.asked
        t.found[p], t.code[p] = e.found, e.code and M.chunk.read(p, t.g0) or nil
        t.order[#t.order + 1] = p
      end
    end
  end
end

-- Whether a run's tracker is running (not only a module's as it loads: track_load).
local function running()
  for _, t in ipairs(active) do
    if not t.load then return true end
  end
  return false
end

-- Notes a file a run wrote (not a dependency: its output).
local function wrote(path)
  if #active == 0 or type(path) ~= "string" then return end
  local p = ropts.absolute(path)
  for _, t in ipairs(active) do t.written[p] = true end
end

-- Notes a file a run removed or renamed away: its id is taken when the run stops.
local function gone(path)
  if #active == 0 or type(path) ~= "string" then return end
  local p = ropts.absolute(path)
  for _, t in ipairs(active) do t.gone[p] = true end
end

-- Notes a command a hook ran (own: run by the workbench's code): what it
-- read or did cannot be known.
local function ran(what, cmd, own)
  if own then return end
  local key = what .. "(" .. string.format("%q", cmd) .. ")"
  for _, t in ipairs(active) do
    if not t.seen[key] then
      t.seen[key], t.ids[key] = true, COMMAND
      t.order[#t.order + 1] = key
    end
  end
end

-- The id of the names in a folder (in byte order, as listdir gives them):
-- FNV-1a 64 over them, each ended by a 0 byte; a name added or removed
-- changes it.
local function listing_id(names)
  local h = -3750763034362895579 -- 14695981039346656037 as a signed integer
  for _, n in ipairs(names) do
    for i = 1, #n + 1 do
      h = ((h ~ (n:byte(i) or 0)) * 1099511628211)
    end
  end
  return LISTING .. string.format("%016x", h)
end

-- The wrappers, in place for good from here: with no tracker running each
-- costs one test. Installed once, when `wb` loads, so a script that keeps
-- io.open in a local (`local open = io.open` at its top, a common Lua idiom)
-- keeps the wrapper, and its hooks' reads are seen.
-- require and rawget: wb/identity_require.lua (a module no file holds, the
-- command line read by rawget(_G, "arg"): noted as such, never reused)
local track_load -- below
local function absolute(p) ropts = ropts or require "wb.runner_options" return ropts.absolute(p) end
local MODULE, ARG = require("wb.identity_require")(M, {active = active, loaded_as = loaded_as,
  loaded_before = loaded_before, note = note, through = through, orig = orig, add = add,
  through_after = through_after, running = running, absolute = absolute, here = HERE,
  track_load = function() return track_load() end}) -- and M.modules()
rawset(_G, "dofile", function(path, ...)
  note(path, nil, nil, true)
  return orig.dofile(path, ...)
end)
rawset(_G, "loadfile", function(path, ...)
  note(path, nil, nil, true)
  return orig.loadfile(path, ...)
end)
-- io.open, io.lines, io.input, io.read and a handle's read: wb/identity_reads_io.lua
require("wb.identity_reads_io")({active = active, note = note, wrote = wrote, gone = gone,
  ran = ran, through = through, orig = orig, own_caller = own_caller, running = running,
  here = HERE})
-- a command whose output a hook reads (not the workbench's own: gnuplot,
-- git): what it depends on cannot be known, so the run is never reused
io.popen = function(cmd, mode, ...)
  if #active > 0 and type(cmd) == "string" and (mode == nil or mode == "r") then
    ran("io.popen", cmd, own_caller())
  end
  return through("popen", orig.popen, cmd, mode, ...)
end
-- nor can what a command run by os.execute read (a generator writing the
-- params a hook then loads, a download)
os.execute = function(cmd, ...)
  if #active > 0 and type(cmd) == "string" then ran("os.execute", cmd, own_caller()) end
  return orig.execute(cmd, ...)
end
-- a hook that lists a folder depends on its names (a file added there)
wb.sys.listdir = function(path, ...)
  local names = through("listdir", orig.listdir, path, ...) -- an error at the caller's line
  if #active > 0 and type(path) == "string" and for_run() then note(path, listing_id(names)) end
  return names
end

-- os.getenv: "$NAME" with an id of its value (wb/identity_reads_env.lua)
local ENV, env_id = require("wb.identity_reads_env")(M, {active = active, orig = orig,
  own_caller = own_caller})

-- wrapper -> the name of the function it wraps: identity.lua identifies a
-- hook calling `dofile` as it did before the wrapping (by that name), not by
-- the wrapper's code.
M.standard = {[require] = "require", [dofile] = "dofile", [loadfile] = "loadfile",
  [io.open] = "io.open", [io.lines] = "io.lines", [io.input] = "io.input", [io.read] = "io.read",
  [io.popen] = "io.popen", [os.execute] = "os.execute", [wb.sys.listdir] = "wb.sys.listdir",
  [os.getenv] = "os.getenv", [_G.rawget] = "rawget", [os.rename] = "os.rename",
  [os.remove] = "os.remove"}
-- wb.sys.exists, the clocks and the process id, and which reads of the runs
-- folder are a hook's (M.sys: wb/identity_reads_sys.lua)
require("wb.identity_reads_sys")(M, {active = active, note = note, orig = orig,
  through = through, own_caller = own_caller, wrapper_caller = wrapper_caller,
  listing_id = listing_id, env_id = env_id, OWN = OWN})

-- The C loaders and writers, through one observer set while a tracker runs
-- (none set: the bindings' check is one registry lookup).
local function observer(path, mode)
  if quiet then return end
  if mode == "r" then note(path) else wrote(path) end
end

-- M.track(skip) -> tracker
-- Starts recording what require, dofile, loadfile, io.open, io.lines,
-- io.input, io.popen, os.execute, wb.sys.listdir and the C loaders read,
-- until tracker:stop(). skip = {dirs = {...}, files = {...}, own = path}:
-- folders and files never recorded (the runs folder, the dataset files; own:
-- the run's record, also left out of what wb.runs.find answers a hook).
-- Trackers nest: each sees what was read while it ran.
local function new_tracker(skip)
  ropts = ropts or require "wb.runner_options"
  local t = {seen = {}, order = {}, written = {}, gone = {}, ids = {}, names = {}, values = {},
    asked = {}, code = {}, g0 = M.chunk.snapshot(), -- the globals as the run starts
    dirs = {}, files = {[M.sys.real(wb.luadir .. "/wb.lua")] = true}, found = {},
    own = skip and skip.own and M.sys.real(ropts.absolute(skip.own))} -- the run's record
  t.runs, t.height = {}, M.sys.height() -- the frames below are the runner's, not the run's
  -- each as it really is (links, "..": wb.sys.realpath), as a read is told apart
  for i, d in ipairs{wb.luadir .. "/wb", "/dev", "/proc", "/sys", table.unpack(skip
      and skip.dirs or {})} do
    t.dirs[#t.dirs + 1] = M.sys.real(ropts.absolute(d))
    t.runs[t.dirs[#t.dirs]] = i > 4 or nil
  end
  for _, f in ipairs(skip and skip.files or {}) do t.files[M.sys.real(ropts.absolute(f))] = true end
  if #active == 0 then wb.io._observe(observer) end
  active[#active + 1] = t
  t.stop = M.stop
  return t
end
function M.track(skip)
  ropts = ropts or require "wb.runner_options"
  for _, l in ipairs(loaded_before) do
    loaded_as[ropts.absolute(l.path)] = {name = l.name, id = l.id}
  end
  for i = #loaded_before, 1, -1 do loaded_before[i] = nil end -- in place: shared
  forget_changed()
  return new_tracker(skip)
end
-- A tracker of what a module reads as it loads (wb/identity_require.lua), outside a run too:
-- not a run's (t.load: the require wrapper tells a run by its trackers)
function track_load()
  local t = new_tracker()
  t.load = true
  return t
end

-- tracker:stop() -> table
-- Stops t (idempotent) and returns what was read: {{path = absolute path,
-- id = M.file_id(path)}, ...} in the order first read, without the files
-- the run wrote itself; an environment variable's entry ({path = "$NAME"})
-- has its value too (value; none when unset or named as a secret); a file
-- found by a name (a module, a relative path) how (asked, note_in); Lua
-- code the run loaded, the globals it reads (code, globals: identity_chunk).
function M.stop(t)
  if t.list then return t.list end
  for i = #active, 1, -1 do
    if active[i] == t then table.remove(active, i) end
  end
  if #active == 0 then wb.io._observe(nil) end
  t.list = M.so_far(t)
  return t.list
end

-- M.so_far(t) -> table
-- What tracker t has seen until now, as stop would list it ({{path, id}, ...}, ids taken
-- now), without stopping it: a killed run's state is tagged with it (wb/train_resume.lua).
function M.so_far(t)
  local list = {}
  for _, p in ipairs(t.order) do
    if not t.written[p] then
      local id = not (t.gone[p] and t.first and t.first[p]) and t.ids[p] or M.file_id(p)
      list[#list + 1] = {path = p, id = id, value = t.values[p],
        asked = t.asked[p], found = t.found[p]} -- found: wb/identity_reads_runs.lua
      if t.code[p] then M.chunk.entry(list[#list], t.code[p]) end
    end
  end
  M.sys.unpaired(t, list) -- a duration clock read without its pair
  list.changed = t.changed -- a file read as two contents: M.merge raises it
  return list
end

-- M.entry_changed(e, memo), M.changed(list, memo), M.kind(e): whether the
-- files (and variables, folders, commands) a record lists are as recorded
-- (wb/identity_reads_check.lua).
-- M.merge(a, b): read_files a then b, each path once (wb/identity_reads_check.lua too).
require("wb.identity_reads_check")(M, {COMMAND = COMMAND, ENV = ENV, LISTING = LISTING,
  MODULE = MODULE, ARG = ARG,
  env_id = env_id, listing_id = listing_id, orig = orig})
-- M.first, M.again, M.again_names: a file's content id (a folder's names) at its first read,
-- checked at the others
require("wb.identity_reads_again")(M, orig)
-- M.chunk: the globals of Lua code a run loaded (wb/identity_chunk.lua)
require("wb.identity_chunk")(M)

return M
