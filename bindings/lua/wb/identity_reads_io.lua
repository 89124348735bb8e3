-- wb/identity_reads_io.lua: what a run's hooks read through Lua's io
-- library (wb/identity_reads.lua records a run's reads). io.open (modes
-- that read: r, r+, a+), io.lines(path) and io.input(path) are recorded as the file they
-- open; io.open in a write mode and os.rename's target as the run's output, and a file
-- it removes or renames away as it is when the run ends.
-- The default input: a hook reading it (io.read, io.lines() with no file,
-- io.input():read) after the script's top level set it with
-- io.input("drop.txt") read that file unrecorded, and editing the file
-- reused the run (tryL 2). Such a read is recorded as the file io.input (or
-- the io.open of the handle given to it) opened; a default input no path is
-- known of (io.tmpfile, io.popen's) as a command's output: never reused.
-- The standard input (io.stdin:read, io.stdin:lines, or the default input
-- while it is stdin: `echo 0.9 | workbench t.lua` with io.read in a hook)
-- is refused while a run trains: a runner's child gets end of file there,
-- so the hook read nothing and the run trained on its default without a
-- word (tryL 7), and what is piped is no part of any run's identity.
-- Installed into wb.identity_reads by it; private to the runner.
local _ENV = require "wb.std"

local STDIN = "a hook read the standard input (io.stdin, or io.read / io.lines() with no "
  .. "io.input file): a run has none of its own (a runner's child reads end of file there, "
  .. "so the hook would get nothing), and what is piped to the script is no part of a run's "
  .. "identity; give the value as a task argument, an environment variable or a file"

-- Installs the wrappers; I: wb.identity_reads's state and functions
-- (active, note, wrote, gone, ran, through, orig, own_caller, running).
return function(I)
  local active, note, through, orig = I.active, I.note, I.through, I.orig
  -- a C function's error (io.open's mode, io.lines' file) at the caller's line
  I.here[debug.getinfo(1, "S").short_src .. ":"] = true
  local stdin = io.stdin
  -- file handle -> the path it was opened with, in a read mode (weak: a closed handle goes)
  local opened = setmetatable({}, {__mode = "k"})

  -- A mode that can read what the file held is a read: "r", "r+" and "a+" (with "b"); "a+"
  -- counted as a write left a hook that seeks back and reads the file stale (tryX 3). "w+"
  -- empties the file first, so it reads back only what the run wrote: an output, not an input.
  io.open = function(path, mode, ...)
    local reading = mode == nil or (type(mode) == "string" and (mode:sub(1, 1) == "r"
      or mode:sub(1, 2) == "a+"))
    if reading then note(path) else I.wrote(path) end
    local f, e, c = through("open", orig.open, path, mode, ...)
    if f and reading and type(path) == "string" then opened[f] = path end
    return f, e, c
  end
  io.input = function(f, ...)
    note(f)
    local v = through("input", orig.input, f, ...)
    if type(f) == "string" then opened[orig.input()] = f end
    return v
  end

  -- Notes that a run read file handle f, the standard or the default input: as the
  -- file it was opened from, refused (stdin: an error at the wrappers' caller, past C
  -- functions: a tail call's pcall), or as a command's output. Called by the wrappers.
  local function input_read(f)
    if rawequal(f, stdin) then
      local level = 3
      while (debug.getinfo(level, "S") or {}).what == "C" do level = level + 1 end
      if I.running() then error(STDIN, debug.getinfo(level, "S") and level or 0) end
    elseif opened[f] then note(opened[f])
    else I.ran("io.read", "the default input, not opened from a file") end
  end
  io.read = function(...)
    if #active > 0 and not I.own_caller() then input_read(orig.input()) end
    return through("read", orig.read, ...)
  end
  io.lines = function(path, ...)
    if path == nil and #active > 0 and not I.own_caller() then input_read(orig.input()) end
    note(path)
    return through("lines", orig.lines, path, ...)
  end
  -- os.rename's target is the run's output, as a file it opens to write; a file it renames
  -- away or removes is recorded as it is when the run ends (gone), not as first read, and
  -- not checked again: wb.plot's PNG, drawn by gnuplot into a temporary file, read, renamed
  -- into place, its gnuplot's messages read and removed (recorded as first read since tryR 2,
  -- they retrained the run: the figure there, the temporary files gone)
  local rename, remove = os.rename, os.remove
  os.rename = function(from, to, ...)
    I.gone(from)
    I.wrote(to)
    return through("rename", rename, from, to, ...)
  end
  os.remove = function(path, ...)
    I.gone(path)
    return through("remove", remove, path, ...)
  end
  -- a handle's own methods (f:read, f:lines), for the standard and the default input
  local methods = getmetatable(stdin).__index
  for _, k in ipairs{"read", "lines"} do
    local m = methods[k]
    methods[k] = function(f, ...)
      if #active > 0 and (rawequal(f, stdin) or rawequal(f, orig.input()))
          and not I.own_caller() then
        input_read(f)
      end
      return through(k, m, f, ...)
    end
  end
end
