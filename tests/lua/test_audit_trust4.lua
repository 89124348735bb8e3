-- test_audit_trust4.lua: a run record whose numbers were changed after it
-- was written (edited by hand, damaged by a partial copy, a merge tool, a
-- sync conflict) but that still parses and still names its run was taken
-- by the runner and by wb.runs.find as the run's numbers: the report
-- printed numbers no training made, without a word. A record now carries
-- the checksum of its content (wb.record.write); the runner retrains a
-- record that does not match it, or has none, and find leaves it out,
-- naming its file.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

local base = T.tmpdir()
local root = base .. "/root"
local script = base .. "/tiny.lua"
-- the report prints the table, each run's own test accuracy and its weights'
-- (loaded from the file beside its record, as tasks 1, 2, 6, 10, 13 do)
util.write_file(script, [[
return wb.task{name = "tiny", title = "tiny",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 300, test = 100}},
    seeds = {1, 2}},
  report = function(task, runs)
    task:text(runs:table{"test_accuracy"})
    for _, r in ipairs(runs.records) do
      task:text(string.format("seed %d: test_accuracy %.17g, its weights' %.17g", r.seed,
        r.metrics.test_accuracy, r:evaluate().accuracy))
    end
  end}
]])

local function run_task()
  return T.run_wb(T.quote(script) .. " --root " .. T.quote(root) .. " --jobs 1")
end

-- the record files of the task, by seed: path, record as read, text
local function records()
  local out = {}
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    if wb.record.is_record_file(n) then
      local path = root .. "/runs/" .. n
      local r = assert(wb.record.read(path))
      out[r.seed] = {path = path, rec = r, text = util.read_file(path)}
    end
  end
  return out
end

-- the number of runs the runner trained, from its plan line
local function trained(err)
  return tonumber(err:match("%d+ cached, (%d+) to train"))
end

local first_out -- the report of the first training, with each seed's own numbers

T.test("wb.record.write: a record reads back with its checksum, however its JSON is spelled",
    function()
  local dir = T.tmpdir()
  local path = dir .. "/t-0123456789abcdef.json"
  -- floats that need 17 digits, a hole (a NaN epoch: null), integers, booleans
  local r = {hash = "0123456789abcdef", task = "t", variant = "base", seed = 3,
    config = {lr = 0.1, hidden = {256, 128}, quick = true},
    -- util.plain, as a run's history is recorded (NaN as JSON null)
    status = "diverged", history = util.plain{loss = {1 / 3, 0 / 0, 1e-300, 0 / 0},
      epochs = 4},
    metrics = {test_accuracy = 0.1 + 0.2}}
  wb.record.write(path, r)
  local back, why = wb.record.read(path)
  T.ok(back, why)
  T.ok(type(back.checksum) == "string", "written with a checksum")
  T.eq(back.history.loss[1], 1 / 3)
  T.ok(back.history.loss[2] == nil, "the NaN epoch is a hole")
  -- the same content spelled otherwise (spaces, number spellings): still this record
  local text = util.read_file(path)
  local spaced = text:gsub(",", ", "):gsub('"seed":3', '"seed": 3.0')
  T.ok(spaced ~= text)
  util.write_file(path, spaced)
  back, why = wb.record.read(path)
  T.ok(back, why)
  -- one digit of a number changed: not this record any more
  local edited, n = text:gsub('"seed":3', '"seed":4')
  T.eq(n, 1)
  util.write_file(path, edited)
  local none, why2, kind = wb.record.read(path)
  T.ok(none == nil and kind == "checksum", why2)
  T.ok(tostring(why2):find("its content does not match the checksum written with it ("
    .. back.checksum, 1, true), why2)
  -- a number edited past a double (inf once read): not this record either
  util.write_file(path, (text:gsub('"seed":3', '"seed":3,"wall_time":1e999')))
  none, why2, kind = wb.record.read(path)
  T.ok(none == nil and kind == "checksum", why2)
end)

T.test("runner: an untouched record is reused, checked against its checksum", function()
  local st, out, err = run_task()
  T.eq(st, 0, err)
  T.eq(trained(err), 2, err)
  first_out = out
  local before = records()
  for seed = 1, 2 do
    local r = before[seed].rec
    T.ok(type(r.checksum) == "string", "seed " .. seed .. " is written with a checksum")
  end
  st, out, err = run_task()
  T.eq(st, 0, err)
  T.eq(trained(err), 0, err) -- no training: every record reused
  T.ok(not err:find("retraining", 1, true), err)
  T.eq(out, first_out)
  local after = records()
  for seed = 1, 2 do T.eq(after[seed].text, before[seed].text, "not written again") end
end)

T.test("runner: a number edited by hand in a record is retrained, naming the file", function()
  local recs = records()
  local path, own = recs[1].path, recs[1].rec.metrics.test_accuracy
  -- a test accuracy no run of 100 test images can have: still JSON, still this run's
  local edited, n = recs[1].text:gsub('"test_accuracy":%s*[%d%.eE%-]+',
    '"test_accuracy":0.987654321', 1)
  T.eq(n, 1, "one test_accuracy in the record")
  util.write_file(path, edited)
  local st, out, err = run_task()
  T.eq(st, 0, err)
  T.ok(err:find("[tiny] run " .. recs[1].rec.hash .. ": " .. path .. " is not as written: "
    .. "its content does not match the checksum written with it (" .. recs[1].rec.checksum,
    1, true), err)
  T.eq(trained(err), 1, err)
  -- the table and the run's line show the retrained number, not the edited one
  T.ok(not out:find("0.98765", 1, true) and not out:find("98.8", 1, true), out)
  T.eq(out, first_out)
  T.ok(out:find(string.format("seed 1: test_accuracy %.17g,", own), 1, true), out)
  local again = assert(wb.record.read(path))
  T.eq(again.metrics.test_accuracy, own, "retrained: its own number again")
end)

T.test("runner: a record without a checksum (an older workbench's) is retrained, saying why",
    function()
  local recs = records()
  local r = recs[2].rec
  r.checksum = nil
  util.write_json(recs[2].path, r) -- as a workbench without checksums wrote it
  T.ok(wb.record.read(recs[2].path), "still a well-formed record")
  local st, out, err = run_task()
  T.eq(st, 0, err)
  T.ok(err:find(recs[2].path .. " has no checksum (written by a workbench from before "
    .. "records had one, or by hand)", 1, true), err)
  T.eq(trained(err), 1, err)
  T.eq(out, first_out)
  T.ok(assert(wb.record.read(recs[2].path)).checksum, "written again with a checksum")
end)

T.test("wb.runs.find: an edited record is left out, naming its file; one without a "
    .. "checksum is said", function()
  local find = string.format("local rs = wb.runs.find{root = %q}; print(#rs)", root)
  local st, out, err = T.run_wb("-e " .. T.quote(find))
  T.eq(st, 0, err)
  T.eq(out, "2\n")
  T.ok(not err:find("wb.runs", 1, true), "nothing to say: " .. err)
  local recs = records()
  local edited, n = recs[1].text:gsub('"test_accuracy":%s*[%d%.eE%-]+',
    '"test_accuracy":0.987654321', 1)
  T.eq(n, 1)
  util.write_file(recs[1].path, edited)
  st, out, err = T.run_wb("-e " .. T.quote(find))
  T.eq(st, 0, err)
  T.eq(out, "1\n", "the edited run is left out")
  T.ok(err:find("wb.runs: skipping " .. recs[1].path .. ": its content does not match the "
    .. "checksum written with it", 1, true), err)
  -- the other one without a checksum: returned, counted and named
  local r = recs[2].rec
  r.checksum = nil
  util.write_json(recs[2].path, r)
  st, out, err = T.run_wb("-e " .. T.quote(find))
  T.eq(st, 0, err)
  T.eq(out, "1\n")
  T.ok(err:find("wb.runs.find: 1 of 1 runs have records without a checksum ("
    .. recs[2].path .. ";", 1, true), err)
  -- and the runner retrains both
  st, out, err = run_task()
  T.eq(st, 0, err)
  T.eq(trained(err), 2, err)
  T.eq(out, first_out)
end)

T.test("weights: a record's weights file replaced by another run's is retrained; "
    .. "Run:model refuses it", function()
  local recs = records()
  for seed = 1, 2 do
    local r = recs[seed].rec
    T.ok(type(r.weights_ids) == "table" and r.weights_ids[r.weights], "seed " .. seed
      .. " records the id of its weights")
  end
  local w1 = root .. "/runs/" .. recs[1].rec.weights
  local w2 = root .. "/runs/" .. recs[2].rec.weights
  local own = util.read_file(w1)
  T.ok(own ~= util.read_file(w2), "two seeds, two weights")
  -- a sync conflict, a copy gone wrong: seed 2's weights under seed 1's name
  util.write_file(w1, util.read_file(w2))
  local run = wb.runs.find{root = root, seed = 1}[1]
  T.check_error(w1 .. " is not the file its record was written with", run.model, run)
  T.check_error(w1 .. " is not the file its record was written with", run.evaluate, run)
  local st, out, err = run_task()
  T.eq(st, 0, err)
  T.ok(err:find("[tiny] run " .. recs[1].rec.hash .. ": " .. w1 .. " is not the file its "
    .. "record was written with", 1, true), err)
  T.eq(trained(err), 1, err)
  T.eq(out, first_out, "seed 1's weights evaluated, not seed 2's")
  T.eq(util.read_file(w1), own, "retrained: its own weights again")
  -- gone: retrained too (the report would raise loading them)
  os.remove(w2)
  st, out, err = run_task()
  T.eq(st, 0, err)
  T.ok(err:find(w2 .. " is gone", 1, true), err)
  T.eq(trained(err), 1, err)
  T.eq(out, first_out)
end)

T.test("--gather: an edited record is not taken, naming it (it crashed: a nil reason)",
    function()
  -- a copy of the root made elsewhere, one record edited there
  local other, here = base .. "/other", base .. "/here"
  T.eq(T.sh("cp -r " .. T.quote(root) .. " " .. T.quote(other)), 0)
  local recs = records()
  local name = util.basename(recs[1].path)
  local edited, n = recs[1].text:gsub('"test_accuracy":%s*[%d%.eE%-]+',
    '"test_accuracy":0.987654321', 1)
  T.eq(n, 1)
  util.write_file(other .. "/runs/" .. name, edited)
  local st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(here)
    .. " --jobs 1 --gather " .. T.quote(other))
  T.eq(st, 1, err) -- a problem met while gathering
  T.ok(err:find("--gather: " .. other .. "/runs/" .. name .. ": not taken: its content does "
    .. "not match the checksum written with it", 1, true), err)
  T.ok(err:find("1 imported", 1, true), err)
  T.eq(trained(err), 1, err) -- the edited one trained here, the other taken
  T.eq(out, first_out)
end)

T.done()
