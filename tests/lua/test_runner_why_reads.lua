-- The runner's "recorded under another identity" line (wb/runner_why.lua) when
-- a build hook reads a file: a file it opens by name is in its identity, so a
-- change of the file alone changed the hook's identity too, and the line
-- named "the file (read by the hooks), the build hook (its code ...)" as if
-- both had changed (tryV 9). With the script and its modules as they were
-- (the record's script files, or its spec's sources), only the file is named;
-- and the nearest record is then the one with the same code, not an older one
-- whose hook read no file (the mixed history named only the hook).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local why = require "wb.runner_why"
local dir = T.tmpdir()

local act, src, other = dir .. "/act.txt", dir .. "/mylib.lua", dir .. "/old.lua"
util.write_file(act, "tanh\n")
util.write_file(src, "return {}\n")
util.write_file(other, "return {1}\n")
local HOOK = "the build hook (its code or what it closes over: upvalues, the modules they hold)"

-- A record of task `task` (seed 1) with build identity `build`, its hooks' reads
-- `read_files`, the script files `files` it came from, finished at second `at`.
local function record(task, hash, build, read_files, files, at)
  wb.record.write(wb.record.path(dir, task, hash), {hash = hash, task = task,
    variant = "base", seed = 1, config = {width = 16}, status = "ok",
    identity = {build = build}, read_files = read_files,
    script = files and {files = files} or nil,
    finished_at = string.format("2026-01-01T00:00:%02d", at)})
end

local function note(task)
  local pending = {{variant = "base", seed = 1, hash = "new1", identity = {build = "B-new"},
    config = {width = 16}}}
  local ok, line = pcall(why.note, {name = task, root = dir}, pending)
  T.ok(ok, tostring(line))
  return line
end

local function line(task, what)
  return "[" .. task .. "] 1 of the runs not cached was recorded under another identity (same "
    .. "variant and seed): " .. what .. " changed since; the old records stay (wb.runs.find "
    .. "lists both)"
end

T.test("a file the build hook read changed, its code did not: the file alone", function()
  record("fileonly", "a1", "B-old", {{path = act, id = "stale"}},
    {{path = src, id = reads.file_id(src)}}, 1)
  T.eq(note("fileonly"), line("fileonly", act .. " (read by the hooks)"))
end)

T.test("a file the build hook read and its module changed: both", function()
  record("both", "b1", "B-old", {{path = act, id = "stale"}},
    {{path = src, id = "edited"}}, 1)
  T.eq(note("both"), line("both", act .. " (read by the hooks), " .. HOOK))
end)

T.test("the spec file's sources tell when the record's files have no id", function()
  record("spec", "c1", "B-old", {{path = act, id = "stale"}}, {{path = src}}, 1)
  util.write_json(wb.record.path(dir, "spec", "c1", "spec"),
    {hash = "c1", sources = {{path = src, id = reads.file_id(src)}}})
  T.eq(note("spec"), line("spec", act .. " (read by the hooks)"))
end)

T.test("mixed history: the record of the same code is the nearest, its file named", function()
  -- an older hook that read no file (another module), then this code with another file
  record("mixed", "d1", "B-first", nil, {{path = other, id = "before"}}, 1)
  record("mixed", "e1", "B-old", {{path = act, id = "stale"}},
    {{path = src, id = reads.file_id(src)}}, 2)
  T.eq(note("mixed"), line("mixed", act .. " (read by the hooks)"))
end)

-- A pending run whose own record is there trains again for what that record read (said as it
-- runs); an older record under another identity was named as the reason (tryAB A3).
T.test("a run with its own record: no older record named as why", function()
  record("own", "old1", "B-old", nil, nil, 1)
  record("own", "new1", "B-new", {{path = act, id = "stale"}}, nil, 2)
  T.eq(note("own"), nil)
  T.eq(note("fileonly") ~= nil, true, "without its own record: said, as before")
end)

T.done()
