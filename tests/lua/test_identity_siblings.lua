-- Two runs of one task whose build hook asks wb.runs.find for the task's
-- runs never settled: each retraining gave its record another finished_at,
-- pid and epoch_time, so the other run found that record changed and
-- retrained, at every invocation, saying "another runner on this root?".
-- What a hook's query answered is now identified by the records' numbers,
-- without their provenance and timings (wb/identity_reads_runs.lua).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()

T.test("a record retrained to the same numbers is as the hook's query answered", function()
  local runs = dir .. "/unit/runs"
  T.sh("mkdir -p " .. runs)
  local function put(acc, pid, at)
    wb.record.write(runs .. "/B-000000000000000b.json", {hash = "000000000000000b", task = "B",
      variant = "base", seed = 1, config = {seed = 1}, status = "ok", pid = pid,
      finished_at = at, wall_time = pid / 1000, history = {loss = {0.5}, epoch_time = {pid / 100}},
      metrics = {test_accuracy = acc, train_seconds = pid / 10}})
  end
  put(0.5, 11, "2026-12-06T03:00:00Z")
  local t = reads.track{dirs = {runs}}
  local function hook() -- not a tail call: a frame of the hook's stays
    local rs = wb.runs.find{root = dir .. "/unit", task = "B"}
    return rs
  end
  T.eq(#hook(), 1)
  local list = t:stop()
  T.eq(#list, 1, util.canonical(list))
  T.eq(reads.changed(list), nil, "as recorded")
  put(0.5, 12, "2026-12-06T04:00:00Z") -- retrained: same numbers, other times
  T.eq(reads.changed(list), nil, "same numbers, another pid, time and timings")
  put(0.25, 12, "2026-12-06T04:00:00Z")
  local _, what = reads.changed(list)
  T.ok(what and what:find("B-000000000000000b.json has other numbers than when it was "
    .. "recorded", 1, true), tostring(what))
end)

T.test("two runs of a task whose hook asks for the task's runs settle", function()
  local path = dir .. "/own.lua"
  util.write_file(path, string.format([[
local ex = wb.experiment({name = "own", base = {epochs = 1,
  subset = {train = 300, test = 100}, validation = false}, seeds = {1},
  vary = {width = {8, 9}}, keys = {"width"},
  build = function(cfg)
    local others = wb.runs.find{root = %q, task = "own", allow_empty = true}
    return wb.nn.Sequential{wb.nn.Dense(784, cfg.width, {activation = "relu"}),
      wb.nn.Dense(cfg.width, 10, {activation = "softmax"})}
  end}, {root = %q})
ex:run()
]], dir .. "/plots", dir .. "/plots"))
  local cmd = "WB_ECHO=0 " .. T.wb .. " " .. path
  local st, _, err = T.sh(cmd)
  T.eq(st, 0, err)
  T.ok(err:find("0 cached, 2 to train", 1, true), err)
  -- the first run trained before the second had a record: it retrains once
  st, _, err = T.sh(cmd)
  T.eq(st, 0, err)
  T.ok(err:find("is new (0 records then, 1 now): retraining", 1, true), err)
  T.ok(not err:find("another runner", 1, true), err)
  for _ = 1, 2 do
    st, _, err = T.sh(cmd)
    T.ok(err:find("2 cached, 0 to train", 1, true), "not settled: " .. err)
  end
end)

T.done()
