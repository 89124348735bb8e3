-- wb/identity_reads_check.lua: whether the entries of a record's
-- read_files (wb/identity_reads.lua: files, environment variables, folders
-- and commands its hooks read) are as recorded, and which kind each is.
-- Installed into wb.identity_reads by it; private to the runner.
local _ENV = require "wb.std"

local M = {}
-- wb.identity_reads's ids' prefixes and functions, set when it installs this
-- (the function this module returns)
local COMMAND, ENV, LISTING, MODULE, ARG, env_id, listing_id, orig, reads
local ropts -- wb.runner_options (absolute paths), at the first check

-- M.kind(e) -> string: what read_files entry e is: "env" (an environment
-- variable, path "$NAME", or a value of the machine recorded as one is, by
-- value, path "wb.sys.nproc()": wb/identity_reads_sys.lua), "listing" (a
-- folder's names), "command" (a
-- command a hook ran or read), "module" (a module a hook required that no
-- file holds: wb/identity_require.lua), "arg" (the command line a hook read
-- by rawget(_G, "arg")), "clock" (the time, the date or the process id a
-- hook read: wb/identity_reads_sys.lua), "device" (one under /dev that gives
-- other bytes at each read, /dev/urandom: the same), "runs" (the records a hook found
-- with wb.runs.find: wb/identity_reads_runs.lua) or "file".
function M.kind(e)
  local id = type(e) == "table" and type(e.id) == "string" and e.id or ""
  if type(e) == "table" and e.found ~= nil then return "runs" end
  if id == COMMAND then return "command" end
  if id == reads.sys.CLOCK then return "clock" end
  if id == reads.sys.DEVICE then return "device" end
  if id == ARG then return "arg" end
  if id:sub(1, #ENV) == ENV then return "env" end
  if id:sub(1, #LISTING) == LISTING then return "listing" end
  if id:sub(1, #MODULE) == MODULE then return "module" end
  return "file"
end

-- What happened to how file entry e was found (its asked: wb/identity_reads.lua
-- note_in): a module name or a relative path that now finds another file,
-- or none (run from another folder, a module now shadowing it on
-- package.path), or nil. The recorded file, re-hashed, was reused as what
-- the hook would read (audit N1). here: found as this process would (its
-- folder and package.path: the runner's, about to reuse the run), else as
-- the run did (its folder and package.path as recorded: wb.runs.find in a
-- REPL elsewhere, which lacks the script's folder on package.path).
local function resolved_elsewhere(e, here)
  if type(e.asked) ~= "table" then return nil end
  ropts = ropts or require "wb.runner_options"
  for _, a in ipairs(e.asked) do
    local now, how
    local cwd = not here and type(a) == "table" and type(a.cwd) == "string" and a.cwd
    local search = not here and type(a) == "table" and type(a.search) == "string" and a.search
      or package.path
    if cwd then -- its relative templates ("./?.lua") as they were: in its folder
      search = search:gsub("[^;]+", function(t) return t:sub(1, 1) ~= "/" and cwd .. "/" .. t end)
    end
    if type(a) == "table" and type(a.module) == "string" then
      now = package.searchpath(a.module, search)
      how = string.format("(found by require '%s'%s)", a.module,
        type(a.cwd) == "string" and " in " .. a.cwd or "")
    elseif type(a) == "table" and type(a.file) == "string" then
      now = a.file
      how = string.format("(opened as '%s'%s)", a.file,
        type(a.cwd) == "string" and " in " .. a.cwd or "")
    else
      return "has a malformed entry in the record"
    end
    if now then
      now = (now:sub(1, 1) == "/" and now or cwd and cwd .. "/" .. now or ropts.absolute(now))
        :gsub("/%./", "/")
    end
    if now ~= e.path then
      return how .. (now and " is now " .. now .. ", another file" or a.module
        and " now finds no file on package.path" or "")
        .. (here and string.format(" (this folder: %s)", ropts.cwd()) or "")
    end
  end
  return nil
end

-- M.entry_changed(e, memo, here) -> string|nil, boolean
-- What happened to read_files entry e since it was recorded ("changed
-- since it was recorded", ...), nil when it is as recorded; then whether
-- that could be checked at all (false for a command a hook ran or read:
-- never as recorded). memo (path -> id) saves hashing one file for many runs.
-- here: a file found by a name is found again as this process would find it
-- (resolved_elsewhere), as the runner does before it reuses a run.
function M.entry_changed(e, memo, here)
  if type(e) ~= "table" or type(e.path) ~= "string" or type(e.id) ~= "string" then
    return "has a malformed entry in the record", true
  end
  local found = reads.runs.changed(e, memo, here) -- the records a hook found
  if found ~= false then return found, true end
  if e.id == COMMAND and e.path:sub(1, 10) == "os.execute" then
    return "was run by a hook: what a command reads cannot be checked against the "
      .. "record, so the run is never reused", false
  elseif e.id == COMMAND then
    return "was read by a hook: a command's output cannot be checked against "
      .. "the record, so the run is never reused", false
  elseif e.id == reads.sys.CLOCK then -- the clock, the pid or its memory (identity_reads_sys)
    local memory = e.path:find("peak_rss", 1, true) ~= nil
    return string.format("was read by a hook%s: %s is other in every process, so the run is "
      .. "never reused (%s)", type(e.value) == "string" and " (" .. e.value .. ")" or "",
      memory and "the process's peak memory" or "the time or the process id", memory
      and "measure memory outside the hooks" or "time a hook with wb.sys.time() - t0 in one "
      .. "call of a function; take a seed from the config"), false
  elseif e.id == reads.sys.DEVICE then -- /dev/urandom (identity_reads_sys)
    return "(a device) was read by a hook: it gives other bytes at every read (randomness, a "
      .. "terminal), so the run is never reused (take a seed from the config: "
      .. "wb.seed(cfg.seed))", false
  elseif e.id == ARG then -- rawget(_G, "arg") in a hook (identity_require)
    return "(the command line) was read by a hook (rawget(_G, 'arg')): it is not part of a "
      .. "run's identity, so the run is never reused (read it at the script's top level into "
      .. "a local, which the hook closes over: an upvalue, whose value is identified)", false
  elseif e.id:sub(1, #MODULE) == MODULE then -- a module no file holds (identity_require)
    return string.format("(a module a hook required) came from %s, not from a file: its code "
      .. "and values cannot be checked against the record, so the run is never reused (put it "
      .. "in a file on package.path to have its runs cached)", e.id:sub(#MODULE + 1)), false
  elseif e.id:sub(1, #ENV) == ENV and reads.sys.machine_changed(e) ~= false then
    return reads.sys.machine_changed(e), true -- a value of the machine (identity_reads_sys)
  elseif e.id:sub(1, #ENV) == ENV then -- an environment variable a hook read
    local now = orig.getenv(e.path:sub(2))
    if env_id(now) == e.id then return nil, true end
    -- the values when the record has its own (not a secret's, not an older record),
    -- or says it was unset ("$BW ... not as it was" named no value when it was set since)
    local was = type(e.value) == "string" and e.value or e.id == env_id(nil) and "unset"
    local values = was and not reads.secret_name(e.path:sub(2))
      and string.format(" (%s then, %s now)", was, now or "unset") or ""
    return "(an environment variable a hook read) is not as it was when the run was "
      .. "recorded" .. values, true
  elseif e.id:sub(1, #LISTING) == LISTING then -- a folder a hook listed
    local ok, names = pcall(orig.listdir, e.path)
    local now = ok and listing_id(names) or "absent"
    return now == "absent" and "(a folder a hook listed) was removed since it was recorded"
      or now ~= e.id and "(a folder a hook listed) has other names since it was recorded"
      or nil, true
  end
  local moved = resolved_elsewhere(e, here)
  if moved then return moved, true end
  local now = memo[e.path] or reads.file_id(e.path)
  memo[e.path] = now
  if now == e.id and now ~= "absent" then -- Lua code a hook loaded: the globals it reads too
    return reads.chunk.changed(e, memo, here)
  end
  return now == "absent" and e.id ~= "absent" and "was removed since it was recorded"
    or now ~= "absent" and e.id == "absent" and "was created since it was recorded"
    or now ~= e.id and "changed since it was recorded" or nil, true
end

-- M.changed(read_files, memo) -> string|nil, string
-- The first recorded file whose content id is not the recorded one, or
-- that its name now finds elsewhere from here, and what happened to it
-- (M.entry_changed); nil when all are as recorded, or the record predates
-- read_files (nil list). What the runner (and its runs) reuse a record by.
function M.changed(list, memo)
  if type(list) ~= "table" then return nil end
  memo = memo or {}
  for _, e in ipairs(list) do
    local what = M.entry_changed(e, memo, true)
    if what then return tostring(type(e) == "table" and e.path), what end
  end
  return nil
end

-- M.machine_only(read_files, memo) -> string|nil, string
-- When every entry not as recorded is a value of the machine a hook read
-- (wb.sys.hostname(), nproc, blas_core: wb/identity_reads_sys.lua), the first
-- and what differs; nil when none differs or another does. A runner that
-- checks records on another machine than the one that will train (a Slurm
-- login node) cannot judge these: the machine that trains can (its runner
-- reuses the record when it gives the recorded values).
function M.machine_only(list, memo)
  if type(list) ~= "table" then return nil end
  memo = memo or {}
  local first, what
  for _, e in ipairs(list) do
    local how = M.entry_changed(e, memo, true)
    if how and (type(e) ~= "table" or type(e.path) ~= "string"
        or reads.sys.machine_changed(e) == false) then
      return nil
    end
    if how and not first then first, what = e.path, how end
  end
  return first, what
end

-- M.merge(a, b) -> table|nil
-- The read_files lists a then b, each path once (a's entry kept); nil when
-- both are empty (a record without reads has no key). An error when either
-- says a file was read as two contents (changed: wb/identity_reads_again.lua):
-- the run's record is not written.
function M.merge(a, b)
  local bad = a and a.changed or b and b.changed
  if bad then error(bad, 0) end
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

-- M.outputs_read(t) -> list | nil: the files tracker t's run both wrote and read (a build
-- hook writing a side file its measure hook reads), {{path, id}, ...} with their content ids
-- now, in the order first read; nil when none. Left out of read_files (the run's own output),
-- they are what a re-measure would read in the training's place: a file rewritten since (by
-- the next seed's training, at the same path) or removed gave another number, cached, without
-- a word (tryX t30; wb/train_remeasure.lua refuses the re-measure when one is not as now).
function M.outputs_read(t)
  local out = {}
  for _, p in ipairs(t.order) do
    if t.written[p] then out[#out + 1] = {path = p, id = reads.file_id(p)} end
  end
  return #out > 0 and out or nil
end

-- Installs M.kind, M.entry_changed, M.changed, M.merge and M.outputs_read into
-- wb.identity_reads (r);
-- I: its ids' prefixes and functions (COMMAND, ENV, LISTING, MODULE, ARG, env_id,
-- listing_id, orig = the unwrapped functions).
return function(r, I)
  COMMAND, ENV, LISTING, MODULE, ARG, env_id, listing_id, orig = I.COMMAND, I.ENV,
    I.LISTING, I.MODULE, I.ARG, I.env_id, I.listing_id, I.orig
  reads = r
  r.kind, r.entry_changed, r.changed, r.merge = M.kind, M.entry_changed, M.changed, M.merge
  r.machine_only, r.outputs_read = M.machine_only, M.outputs_read
end
