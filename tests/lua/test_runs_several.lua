-- test_runs_several.lua: after edits, wb.runs.find returns several records of
-- one variant and seed (other identities), labelled apart in label order, so
-- rs[1] may be an old run; but tostring(rs[i]) had no sign of it ("Run t
-- width=64 seed 1: test acc 84.2%" for each), the list's head counted the
-- labels as "6 variants", and nothing said that latest = true keeps the newest
-- (tryV 4). A Run now shows the label the list shows, the head counts the
-- variants under their identities, and find says so once on stderr.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local dir = T.tmpdir()

-- A record of run `hash` (task t, variant width=64 unless given) with build identity
-- `build`, finished at second `at`.
local function rec(hash, seed, build, at, variant)
  local r = {hash = hash, task = "t", variant = variant or "width=64", seed = seed,
    config = {width = variant and 128 or 64, seed = seed}, status = "ok", group_key = build,
    identity = {build = build},
    metrics = {test_accuracy = 0.842, test_loss = 0.4},
    finished_at = string.format("2026-01-01T00:00:%02d", at)}
  wb.record.write(string.format("%s/%s-%s.json", dir, r.task, r.hash), r)
end
rec("00000000000000a1", 1, "096f3f8b00000000", 1)
rec("00000000000000b1", 1, "1aaaaaaa00000000", 2)
rec("00000000000000b2", 2, "1aaaaaaa00000000", 3)
rec("00000000000000c1", 1, "05bbbbbb00000000", 3)
rec("00000000000000d1", 1, "none", 4, "width=128")

T.test("a Run alone shows the label its list shows it under", function()
  local rs = T.stderr_of(function() return wb.runs.find{dir = dir, width = 64} end)
  T.eq(#rs, 4)
  local list = tostring(rs)
  for i = 1, #rs do
    local one = tostring(rs[i])
    T.ok(one:find("[identity.build=", 1, true), one)
    T.ok(list:find("[" .. i .. "] " .. one, 1, true), one .. "\nnot in\n" .. list)
  end
  local plain = T.stderr_of(function() return wb.runs.find{dir = dir, variant = "width=128"} end)
  T.eq(tostring(plain[1]), "Run t width=128 seed 1: test acc 84.20 %")
end)

T.test("the head counts variants, and the identities they are listed under", function()
  local rs = T.stderr_of(function() return wb.runs.find{dir = dir, width = 64} end)
  T.eq(tostring(rs):match("^[^\n]*"), "Runs(4 runs, 1 variant under 3 identities)")
  local all = T.stderr_of(function() return wb.runs.find{dir = dir} end)
  T.eq(tostring(all):match("^[^\n]*"), "Runs(5 runs, 2 variants under 4 identities)")
  -- the newest of seed 1 and of seed 2 are of two identities still
  local latest = T.stderr_of(function() return wb.runs.find{dir = dir, latest = true} end)
  T.eq(tostring(latest):match("^[^\n]*"), "Runs(3 runs, 2 variants under 3 identities)")
  local one = T.stderr_of(function() return wb.runs.find{dir = dir, width = 128} end)
  T.eq(tostring(one):match("^[^\n]*"), "Runs(1 run, 1 variant)")
end)

T.test("find says once how many variant/seed pairs have several records", function()
  local _, err = T.stderr_of(function() wb.runs.find{dir = dir} end)
  T.eq(err, "wb.runs.find: 1 variant/seed pair has several records (other identities); "
    .. "latest = true keeps the newest\n")
  rec("00000000000000c2", 2, "05bbbbbb00000000", 5)
  _, err = T.stderr_of(function() wb.runs.find{dir = dir} end)
  T.eq(err, "wb.runs.find: 2 variant/seed pairs have several records (other identities); "
    .. "latest = true keeps the newest\n")
  local rs
  rs, err = T.stderr_of(function() return wb.runs.find{dir = dir, latest = true} end)
  T.eq(err, "")
  T.eq(#rs, 3)
  _, err = T.stderr_of(function() wb.runs.find{dir = dir, seed = 2,
    ["identity.build"] = "05bbbbbb00000000"} end)
  T.eq(err, "", "one record per variant and seed: nothing to say")
end)

T.done()
