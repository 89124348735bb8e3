-- wb/identity_reads.lua: the files a run actually read, like a compiler's
-- depfile. identity.lua identifies what a hook names literally; a hook that
-- computes a name at run time (dofile(dir .. "/params.lua"),
-- require(cfg.arch_module), io.lines(dir .. "/vocab.txt"),
-- m:load_weights(dir .. "/init.safetensors")) is seen only while it runs.
-- So while a run trains and measures (wb/train.lua), the global require,
-- dofile, loadfile, io.open (read modes), io.lines and io.input are
-- wrapped, and the workbench's C loaders report the paths they open
-- (wb.io._observe, bindings/lwb.h lwb_note_file: wb.io.load_safetensors and
-- so wb.load, load_weights and resumed states, wb.image.load, wb.data.idx,
-- wb.sys.hash_file; their writers too, wb.io.save_safetensors,
-- wb.image.save, wb.sys.write_atomic, as outputs). The C side is hooked,
-- not the wb table: modules keep its functions in locals (wb/image.lua). The
-- runner records each file read with its content id (the record's
-- read_files = {{path = ..., id = ...}}) and reuses a recorded run only
-- while every one is unchanged.
--
-- Not recorded: the workbench's own modules (their code is in
-- identity.code()), Lua's standard library (no files), the run's dataset
-- files (in the data identity), the runs folder (records, weights, states
-- the runner writes and reads: a resumed state, an adopted donor's weights),
-- files the run itself opened for writing (its outputs), the runner's own
-- hashing (M.file_id), and /dev, /proc, /sys. What a hook reaches through
-- a copy of a Lua function taken before the run (`local open = io.open` at
-- a script's top) is not seen (the C loaders are, however reached); what
-- the script reads at its top level is not either (its values reach the
-- hooks as upvalues, which identity.lua fingerprints). A command whose
-- output a hook reads (io.popen in read mode; not the workbench's own
-- gnuplot or git) depends on what cannot be known: it is recorded as such,
-- and the runner never reuses that run (it says so). os.execute's status is
-- not tracked.
-- Private to the runner: not part of the wb table.
local wb = require "wb"
local ropts -- wb.runner_options (absolute paths), at the first track: it requires train

local M = {}

-- The id of a command's output read by a hook (io.popen): never as recorded.
local COMMAND = "command"
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

-- Whether absolute path p is under folder dir.
local function under(p, dir)
  return dir ~= nil and p:sub(1, #dir + 1) == dir .. "/"
end

-- M.track(skip) -> tracker
-- Starts recording what require, dofile, loadfile, io.open, io.lines,
-- io.input and the C loaders read, until tracker:stop(). skip = {dirs = {...}, files = {...}}:
-- absolute folders and files never recorded (the runs folder, the dataset
-- files). Trackers nest: stop them in reverse order; stop restores the originals.
function M.track(skip)
  ropts = ropts or require "wb.runner_options"
  forget_changed()
  local t = {seen = {}, order = {}, written = {}, ids = {}, names = {}, saved = {require = require,
    dofile = dofile, loadfile = loadfile, open = io.open, lines = io.lines, input = io.input}}
  local dirs = {wb.luadir .. "/wb", "/dev", "/proc", "/sys"}
  for _, d in ipairs(skip and skip.dirs or {}) do dirs[#dirs + 1] = ropts.absolute(d) end
  local files = {[wb.luadir .. "/wb.lua"] = true}
  for _, f in ipairs(skip and skip.files or {}) do files[ropts.absolute(f)] = true end
  local function note(path, id)
    if type(path) ~= "string" then return end -- stdin, a file handle
    local p = ropts.absolute(path)
    if t.seen[p] or files[p] then return end
    for _, d in ipairs(dirs) do if under(p, d) then return end end
    t.seen[p], t.ids[p] = true, id
    t.order[#t.order + 1] = p
  end
  local s = t.saved
  rawset(_G, "require", function(name, ...)
    local fresh = package.loaded[name] == nil
    local m, where = s.require(name, ...)
    if type(name) == "string" and not t.names[name] and name ~= "wb"
        and not name:match("^wb%.") then
      t.names[name] = true -- once a run: a require in a loop stays cheap
      -- loaded before (by an earlier run of this process): where it resolves
      local p = fresh and type(where) == "string" and where:match("%.lua$") and where
        or package.searchpath(name, package.path)
      if p then
        p = ropts.absolute(p)
        if fresh then loaded_as[p] = {name = name, id = M.file_id(p)} end
        note(p, loaded_as[p] and loaded_as[p].id)
      end
    end
    return m, where
  end)
  rawset(_G, "dofile", function(path, ...) note(path); return s.dofile(path, ...) end)
  rawset(_G, "loadfile", function(path, ...) note(path); return s.loadfile(path, ...) end)
  io.open = function(path, mode, ...)
    if mode == nil or (type(mode) == "string" and mode:sub(1, 1) == "r") then note(path)
    elseif type(path) == "string" then t.written[ropts.absolute(path)] = true end
    return s.open(path, mode, ...)
  end
  io.lines = function(path, ...) note(path); return s.lines(path, ...) end
  -- a command whose output a hook reads (not the workbench's own: gnuplot,
  -- git): what it depends on cannot be known, so the run is never reused
  s.popen = io.popen
  io.popen = function(cmd, mode, ...)
    local own = (debug.getinfo(2, "S").source or ""):sub(1, #OWN) == OWN
    if not own and type(cmd) == "string" and (mode == nil or mode == "r") then
      local key = "io.popen(" .. string.format("%q", cmd) .. ")"
      if not t.seen[key] then
        t.seen[key], t.ids[key] = true, COMMAND
        t.order[#t.order + 1] = key
      end
    end
    return s.popen(cmd, mode, ...)
  end
  io.input = function(f, ...) note(f); return s.input(f, ...) end
  -- the C loaders and writers; an outer tracker's observer sees them too
  s.observer = wb.io._observe(function(path, mode)
    if quiet then return end
    if mode == "r" then note(path) else t.written[ropts.absolute(path)] = true end
    if s.observer then s.observer(path, mode) end
  end)
  t.stop = M.stop
  return t
end

-- tracker:stop() -> table
-- Restores the wrapped functions (idempotent) and returns what was read:
-- {{path = absolute path, id = M.file_id(path)}, ...} in the order first
-- read, without the files the run wrote itself.
function M.stop(t)
  if t.list then return t.list end
  local s = t.saved
  rawset(_G, "require", s.require); rawset(_G, "dofile", s.dofile)
  rawset(_G, "loadfile", s.loadfile)
  io.open, io.lines, io.input, io.popen = s.open, s.lines, s.input, s.popen
  wb.io._observe(s.observer)
  t.list = {}
  for _, p in ipairs(t.order) do
    if not t.written[p] then t.list[#t.list + 1] = {path = p, id = t.ids[p] or M.file_id(p)} end
  end
  return t.list
end

-- M.merge(a, b) -> table|nil
-- The read_files lists a then b, each path once (a's entry kept); nil when
-- both are empty (a record without reads has no key).
function M.merge(a, b)
  local out, seen = {}, {}
  for _, list in ipairs{a or {}, b or {}} do
    for _, e in ipairs(list) do
      if type(e) == "table" and e.path and not seen[e.path] then
        seen[e.path] = true
        out[#out + 1] = e
      end
    end
  end
  return #out > 0 and out or nil
end

-- M.changed(read_files, memo) -> string|nil, string
-- The first recorded file whose content id is not the recorded one, and
-- what happened to it ("changed since it was recorded", ...); nil when all
-- are as recorded, or the record predates read_files (nil list). memo
-- (path -> id) saves hashing one file for many runs of a plan.
function M.changed(list, memo)
  if type(list) ~= "table" then return nil end
  memo = memo or {}
  for _, e in ipairs(list) do
    if type(e) ~= "table" or type(e.path) ~= "string" or type(e.id) ~= "string" then
      return tostring(type(e) == "table" and e.path), "has a malformed entry in the record"
    end
    if e.id == COMMAND then
      return e.path, "was read by a hook: a command's output cannot be checked against "
        .. "the record, so the run is never reused"
    end
    local now = memo[e.path] or M.file_id(e.path)
    memo[e.path] = now
    if now ~= e.id then
      if now == "absent" then return e.path, "was removed since it was recorded" end
      if e.id == "absent" then return e.path, "was created since it was recorded" end
      return e.path, "changed since it was recorded"
    end
  end
  return nil
end

return M
