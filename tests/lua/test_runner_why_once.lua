-- The runner's "changed since" line (wb/runner_why.lua) compares each older
-- record of a pending run's task, variant and seed with the run to find the
-- nearest. Each comparison re-checks the files the record's hooks read
-- (hashing them), and the plan compared the nearest so far again at every
-- record, then once more for the line: 8 checks for the 5 records here. Each
-- record is now compared once, and the line is as before.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local why = require "wb.runner_why"
local dir = T.tmpdir()

local file = dir .. "/w.txt"
util.write_file(file, "16\n")

-- A record of task "once" under hash `hash`, its build hook's identity `build`
-- (not the pending run's: its hooks' reads are checked), finished at second `at`.
local function record(hash, seed, config, identity, id, at)
  wb.record.write(wb.record.path(dir, "once", hash), {hash = hash, task = "once",
    variant = "base", seed = seed, config = config, status = "ok", identity = identity,
    read_files = {{path = file, id = id}},
    finished_at = string.format("2026-01-01T00:00:%02d", at)})
end

T.test("each older record is compared with the pending run once", function()
  local now = reads.file_id(file)
  record("a1", 1, {width = 8}, {build = "B-a"}, now, 1) -- a config key and the hook
  record("b1", 1, {width = 16}, {build = "B-b"}, "stale", 2) -- the hook and w.txt: nearest
  record("c1", 1, {width = 16}, {build = "B-c", callbacks = "C-c", measure = "M-c"}, now, 3)
  record("d2", 2, {width = 4}, {build = "B-d"}, now, 4)
  record("e2", 2, {width = 32}, {build = "B-e"}, now, 5) -- as near as d2, later: named
  local pending = {}
  for seed = 1, 2 do
    pending[seed] = {variant = "base", seed = seed, hash = "new" .. seed,
      identity = {build = "B-new"}, config = {width = 16}}
  end
  local checks, entry_changed = 0, reads.entry_changed
  reads.entry_changed = function(...)
    checks = checks + 1
    return entry_changed(...)
  end
  local ok, line = pcall(why.note, {name = "once", root = dir}, pending)
  reads.entry_changed = entry_changed
  T.ok(ok, tostring(line))
  T.eq(line, "[once] 2 of the runs not cached were recorded under another identity (same "
    .. "variant and seed): " .. file .. " (read by the hooks), config key width (32 -> 16), "
    .. "the build hook (its code or what it closes over: upvalues, the modules they hold) "
    .. "changed since; the old records stay (wb.runs.find lists both)")
  T.eq(checks, 5, "the files read by the hooks of 5 records, each checked once")
end)

T.done()
