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
-- Not compared: a file the run wrote itself (its output, not in the
-- record) or removed or renamed away (recorded as at its end), entries
-- with ids of their own (folders' names, variables, modules as loaded,
-- commands). Installed into wb.identity_reads by it.
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

-- Installs r.first(t, p, now) -> id and r.again(t, p, now) into wb.identity_reads (r):
-- now() -> path p's content id at this read (hashed once for all trackers).
return function(r)
  -- Tracker t's first read of file p: its content id, and how the file looked then.
  function r.first(t, p, now)
    t.first = t.first or {}
    local sig = wb.sys._stat_sig(p)
    t.first[p] = {id = now(), sig = sig}
    return t.first[p].id
  end

  -- Tracker t's later read of file p: an error naming both contents when it has changed.
  function r.again(t, p, now)
    local f = t.first and t.first[p]
    if not f or t.written[p] or t.gone[p] then return end -- its own id, the run's doing
    local sig = wb.sys._stat_sig(p)
    if sig and sig == f.sig then return end
    local id = now()
    if id == f.id then f.sig = sig return end -- touched, or a racy time: the same content
    -- first read absent (a hook waiting for a file to appear, a stop file): the record holds
    -- its content as it came, as it held the content at the run's end before
    if f.id == "absent" then f.id, f.sig, t.ids[p] = id, sig, id return end
    local msg = string.format("%s changed during the run: its hooks read it first with "
      .. "content id %s, then again with content id %s, so the run's numbers come from "
      .. "both; the run fails and no record is written (a record names one content per "
      .. "file). Edit files a run reads between runs, not during one", p, f.id, id)
    t.changed = t.changed or msg -- the record's writer fails on it too (M.merge)
    if not t.load then error(msg, user_level()) end
  end
end
