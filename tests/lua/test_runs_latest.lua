-- wb.runs.find{latest = true}: each record superseded by a later one of the
-- same task, variant and seed is left out. A user's edits (a measure hook,
-- --epochs 1, --dataset) left the old records beside the new, and find
-- listed 9 runs in 3 groups labelled by identity hashes, with no way to ask
-- for the runs as the task now makes them (tryM 8). Records are written by
-- hand: nothing trains.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"

local dir = T.tmpdir()
local root = dir .. "/plots"
local runs = root .. "/runs"
T.sh("mkdir -p " .. runs)

-- A record of task, variant and seed, hash h, finished at second s of a day.
local function put(task, variant, seed, h, s, acc, epochs)
  wb.record.write(string.format("%s/%s-%s.json", runs, task, h), {hash = h, task = task,
    variant = variant, seed = seed, config = {seed = seed, epochs = epochs or 2},
    identity = {measure = epochs and "none" or "cb9abca4c341ff1f"}, status = "ok",
    finished_at = string.format("2026-12-07T01:00:%02dZ", s), metrics = {test_accuracy = acc}})
end

local function hashes(rs)
  local out = {}
  for _, r in ipairs(rs) do out[#out + 1] = r.hash end
  table.sort(out)
  return table.concat(out, " ")
end

T.test("latest keeps the newest record of each task, variant and seed", function()
  put("A", "hidden=32", 1, "00000000000000a1", 10, 0.80)
  put("A", "hidden=32", 1, "00000000000000a2", 20, 0.81, 1) -- an edit: --epochs 1
  put("A", "hidden=32", 1, "00000000000000a3", 30, 0.82) -- and back
  put("A", "hidden=32", 2, "00000000000000a4", 15, 0.70) -- another seed: stays
  put("A", "hidden=64", 1, "00000000000000a5", 5, 0.90) -- another variant: stays
  put("B", "hidden=32", 1, "00000000000000b1", 40, 0.60) -- another task: supersedes none
  local all = wb.runs.find{root = root, task = "A"}
  T.eq(#all, 5)
  T.ok(tostring(all):find("identity.measure=", 1, true), "the old records apart: " .. tostring(all))
  local rs = wb.runs.find{root = root, task = "A", latest = true}
  T.eq(hashes(rs), "00000000000000a3 00000000000000a4 00000000000000a5")
  T.ok(not tostring(rs):find("identity.", 1, true), "nothing to tell apart: " .. tostring(rs))
  -- the newest is taken first, then the query: an older match is not the answer
  local old = wb.runs.find{root = root, task = "A", epochs = 1, latest = true, allow_empty = true}
  T.eq(#old, 0, hashes(old))
  T.eq(#wb.runs.find{root = root, task = "A", epochs = 1}, 1)
  T.eq(hashes(wb.runs.find{root = root, latest = true, seed = 1, variant = "hidden=32"}),
    "00000000000000a3 00000000000000b1")
  local ok, err = pcall(wb.runs.find, {root = root, latest = 1})
  T.ok(not ok and tostring(err):find("latest: expected a boolean, got number", 1, true),
    tostring(err))
end)

-- Calls f(...) as a hook would: from a frame newer than the tracker's start.
local function hook(f, ...)
  local r = table.pack(f(...))
  return table.unpack(r, 1, r.n)
end

T.test("a hook's latest answer is asked again the same way; its own record supersedes none",
  function()
  put("C", "base", 1, "00000000000000c1", 10, 0.5) -- an older record of the run's variant
  local own = runs .. "/C-00000000000000c2.json"
  local t = reads.track{dirs = {runs}, own = own}
  local rs = hook(wb.runs.find, {root = root, task = "C", latest = true})
  local list = t:stop()
  T.eq(hashes(rs), "00000000000000c1")
  T.eq(#list, 1, util.canonical(list))
  util.write_file(dir .. "/list.json", util.encode_json(list))
  local back = util.read_json(dir .. "/list.json")
  T.eq(reads.changed(back), nil, "as recorded")
  -- the run's own record, written after its hooks ran, is newer than c1:
  -- c1 is still what the hook got (a run that supersedes its own answer
  -- would retrain at every invocation)
  put("C", "base", 1, "00000000000000c2", 20, 0.6)
  T.eq(reads.changed(back), nil, "the run's own record changes nothing")
  -- another run of the variant, newer, supersedes what the hook got
  put("C", "base", 1, "00000000000000c3", 30, 0.7)
  local path, what = reads.changed(back)
  T.ok(path and what:find("C-00000000000000c1.json is gone", 1, true), tostring(what))
  T.ok(what:find("(1 record then, 1 now)", 1, true), what)
end)

T.done()
