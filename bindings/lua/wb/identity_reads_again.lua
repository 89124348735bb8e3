-- wb/identity_reads_again.lua: a file a run's hooks read more than once
-- must be the same each time. A record lists each file it read with one
-- content id; that id was taken when the run stopped, so a schedule file
-- (lr.txt, read each epoch by a callback) edited between epochs 3 and 4 gave
-- a record of the new content alone over numbers that mixed both, reused as
-- the new content's by the next run (tryR 2). Now a file's id is taken at
-- its first read, and a later read with other content fails the run: no
-- record is written, as a process whose data files changed after it hashed
-- them fails its runs (wb/identity.lua _data_loaded). A record of such a
-- run, even one never reused, would put numbers of no one content into
-- tables and means.
-- Cost: one hash at a file's first read (as at the run's stop before); a
-- later read compares the file's device, inode, size and times with the
-- first's (wb.sys._stat_sig) and hashes only when they differ or may not
-- tell (an edit within the clock tick): a hook reading a big file each
-- step does not hash it each step.
-- The same rule for a folder's names (wb.sys.listdir, wb.sys.exists) and a
-- value recorded by value (an environment variable, the machine's values, a
-- link's target: wb/identity_reads_env.lua, _sys.lua), which were kept as
-- first read, silently: listed again with other names, read again with
-- another value, the run fails naming both. A file the run wrote, renamed
-- or removed in a folder it lists is its own doing; a file, folder or link
-- first found absent, then there, is recorded as it came (a hook waiting).
-- Not compared: a file the run wrote itself (its output, not in the
-- record) or removed or renamed away (recorded as at its end), modules as
-- loaded, commands. Installed into wb.identity_reads by it.
local _ENV = require "wb.std"
local wb = require "wb"

local OWN = debug.getinfo(1, "S").source:match("^(@.*/)[^/]*$") or "@wb/"

-- The level, for error() called from the function that calls this, of the first frame of
-- user code (the hook's read): the message names its line; 0 when none is there.
local function user_level()
  local level = 3
  while true do
    local info = debug.getinfo(level, "S")
    if not info then return 0 end
    if info.what ~= "C" and info.source:sub(1, #OWN) ~= OWN then return level - 1 end
    level = level + 1
  end
end

-- Installs r.first(t, p, now) -> id, r.again(t, p, now) and r.again_names(t, p, id) into
-- wb.identity_reads (r): now() -> path p's content id at this read (hashed once for all
-- trackers); orig: its unwrapped functions (kind).
return function(r, orig)
  -- Tracker t's first read of file p: its content id, and how the file looked then.
  function r.first(t, p, now)
    t.first = t.first or {}
    local sig = wb.sys._stat_sig(p)
    t.first[p] = {id = now(), sig = sig}
    return t.first[p].id
  end

  -- The error of key read twice during tracker t's run as first, then now (what each was:
  -- "content id ...", "names id ...", a value).
  local function changed(t, key, first, now)
    local msg = string.format("%s changed during the run: its hooks read it first with "
      .. "%s, then again with %s, so the run's numbers come from both; the run fails and no "
      .. "record is written (a record names one content per file, folder or value). Edit what a "
      .. "run reads between runs, not during one", key, first, now)
    t.changed = t.changed or msg -- the record's writer fails on it too (M.merge)
    if not t.load then error(msg, user_level()) end
  end
  r.changed_during = changed

  -- Tracker t's later read of file p: an error naming both contents when it has changed.
  function r.again(t, p, now)
    local f = t.first and t.first[p]
    if not f and r.kind{id = t.ids[p]} == "listing" and not orig.kind(p) then -- a folder gone
      return r.again_names(t, p, "absent")
    end
    if not f or t.written[p] or t.gone[p] then return end -- its own id, the run's doing
    local sig = wb.sys._stat_sig(p)
    if sig and sig == f.sig then return end
    local id = now()
    if id == f.id then f.sig = sig return end -- touched, or a racy time: the same content
    -- first read absent (a hook waiting for a file to appear, a stop file): the record holds
    -- its content as it came, as it held the content at the run's end before
    if f.id == "absent" then f.id, f.sig, t.ids[p] = id, sig, id return end
    changed(t, p, "content id " .. f.id, "content id " .. id)
  end

  -- Tracker t's later listing of folder p (or wb.sys.exists finding one there), id: its
  -- names' id: an error naming both when they changed, but for a file the run itself wrote,
  -- renamed or removed there (its outputs: a checkpoint folder it prunes).
  function r.again_names(t, p, id)
    local was = t.ids[p]
    if was == id or t.written[p] or t.gone[p] then return end
    if was == "absent" then -- found absent (wb.sys.exists), then there: as it came
      t.ids[p] = id
      if t.first then t.first[p] = nil end
      return
    end
    for _, made in ipairs{t.written, t.gone} do
      for w in pairs(made) do
        if w:sub(1, #p + 1) == p .. "/" then return end
      end
    end
    local function what(v)
      return r.kind{id = v} == "listing" and "the names (id " .. v .. ")" or "content id " .. v
    end
    changed(t, p, what(was), what(id))
  end

  -- Tracker t's later read of value key ("$NAME", "wb.sys.nproc()": recorded by value, with
  -- id), now its value (nil: unset; secret: a secret's, named by id alone): an error naming
  -- both values when it changed (a C module's setenv, a link pointed elsewhere). absent: the
  -- id of "nothing there" (a path wb.sys.realpath found unresolved): then a value is as it came.
  function r.again_value(t, key, id, now, secret, absent)
    if t.ids[key] == id then return end
    if absent and t.ids[key] == absent then t.ids[key], t.values[key] = id, now return end
    local function what(i, v)
      return secret and "value id " .. i or v and string.format("the value %q", v)
        or "no value (unset)"
    end
    changed(t, key, what(t.ids[key], t.values[key]), what(id, now))
  end
end
