-- A run that did not finish (diverged) is not a seed like the others: its
-- last epoch's loss once entered a variant's mean beside the finished
-- runs' final losses, and its missing test accuracy shrank the mean to the
-- survivors while the table said "3 seeds". Found by the new-user audit.
-- Records are written by hand: nothing trains.
local T = dofile("tests/lua/harness.lua")

local function rec(seed, status, loss, acc)
  return {hash = string.format("%016x", seed), task = "t", variant = "lr=1", seed = seed,
    config = {hidden = 8, lr = 1, seed = seed}, status = status, group_key = "g",
    history = {loss = loss, val_loss = loss},
    metrics = acc and {test_accuracy = acc, loss = loss[#loss]} or nil}
end

local function runs()
  return wb.runs.Runs{rec(1, "ok", {0.5, 0.3}, 0.9), rec(2, "ok", {0.5, 0.1}, 0.8),
    rec(3, "diverged", {2.0}, nil)}
end

T.test("a diverged run is counted apart and never averaged with finished ones", function()
  local rs = runs()
  local xs = rs:values("lr=1", "loss")
  T.eq(#xs, 2, "only the finished runs' final loss")
  local m = rs:stat("lr=1", "loss")
  T.near(m, 0.2, 1e-12)
  local tab = rs:table{"test_accuracy", "loss"}
  T.ok(tab:find("| lr=1 | 2 of 3 (1 diverged) |", 1, true), "the seeds cell says so: " .. tab)
  T.ok(tab:find("85.00 ± 7.07 %", 1, true), tab)
end)

T.test("a metric some finished runs lack says over how many it is", function()
  local a, b = rec(1, "ok", {0.5}, 0.9), rec(2, "ok", {0.5}, 0.8)
  a.metrics.extra = 3
  local tab = wb.runs.Runs{a, b}:table{"test_accuracy", "extra"}
  T.ok(tab:find("| lr=1 | 2 |", 1, true), tab)
  T.ok(tab:find("3 (n = 1)", 1, true), "the cell names its count: " .. tab)
end)

T.test("the README of a task lists the runs that diverged", function()
  local dir = T.tmpdir()
  local util = require "wb.util"
  local path = dir .. "/div.lua"
  util.write_file(path, [[
return wb.task{name = "div", experiment = {seeds = {1},
  base = {hidden = 8, epochs = 1, optimizer = "sgd", lr = 1e300, subset = {train = 300,
    test = 100}}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", T.wb, path, dir))
  T.eq(st, 0, err)
  local md = util.read_file(dir .. "/div/README.md") or ""
  T.ok(md:find("**1 run(s) diverged**", 1, true), md)
  T.ok(md:find("| base | 0 of 1 (1 diverged) | n/a |", 1, true), md)
end)

T.test("wb.runs.find says which runs read a file that has changed since (stale records)", function()
  -- the runner retrains such runs; find returned them without a word, so an
  -- analysis in the REPL after editing a hook's params file read old numbers
  local util = require "wb.util"
  local reads = require "wb.identity_reads"
  local dir = T.tmpdir()
  local params = dir .. "/params.lua"
  util.write_file(params, "return {width = 8}\n")
  local id = reads.file_id(params)
  local recs = {rec(1, "ok", {0.5}, 0.9), rec(2, "ok", {0.5}, 0.8), rec(3, "ok", {0.5}, 0.7)}
  recs[1].read_files = {{path = params, id = id}}
  recs[2].read_files = {{path = "io.popen: date", id = "command"}, {path = params, id = id}}
  recs[3].read_files = {{path = "io.popen: date", id = "command"}} -- cannot be checked
  for _, r in ipairs(recs) do
    wb.record.write(string.format("%s/runs/t-%s.json", dir, r.hash), r)
  end
  local code = "local rs = wb.runs.find{root = " .. string.format("%q", dir) .. "}; io.write(#rs)"
  local st, out, err = T.sh(T.quote(T.wb) .. " -e " .. T.quote(code))
  T.eq(st, 0, err); T.eq(out, "3"); T.eq(err, "", "as recorded: not a word")
  util.write_file(params, "return {width = 16}\n")
  st, out, err = T.sh(T.quote(T.wb) .. " -e " .. T.quote(code))
  T.eq(st, 0, err); T.eq(out, "3", "still returned: their numbers are what they are")
  T.eq(err, string.format("wb.runs.find: 2 of 3 runs read what is not as it was when they were "
    .. "recorded (%s changed since it was recorded, ...): their numbers are of it as it was; "
    .. "running their task retrains them\n", params))
end)

T.done()
