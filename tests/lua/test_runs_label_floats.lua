-- test_runs_label_floats.lua: runs that differ only by a float (lr = 0.001
-- vs 0.0010000000000000002) were labelled "base [lr=0.001]" and "base
-- [lr=0.001, group_key=...]" by wb.runs.find and export_csv: the key named
-- as the difference printed equal values on both sides (audit N5). A label
-- shows a config value in the shortest text that reads back as the same
-- double. Records are written by hand: nothing trains.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"

local n_written = 0
local function write(dir, lr, seed)
  n_written = n_written + 1
  local r = {hash = string.format("%016x", n_written), task = "t", variant = "base",
    seed = seed, config = {epochs = 1, hidden = 8, lr = lr, seed = seed}, status = "ok",
    group_key = util.fnv1a64(util.canonical(lr)),
    history = {loss = {1}, val_loss = {1}, epochs = 1},
    metrics = {test_accuracy = 0.9}, measures = {}}
  wb.record.write(string.format("%s/%s-%s.json", dir, r.task, r.hash), r)
end

T.test("labels of runs apart by one ulp of a float show both values exactly", function()
  local dir = T.tmpdir()
  local lr2 = 0.0010000000000000002
  T.ok(lr2 ~= 0.001, "two doubles")
  write(dir, 0.001, 1)
  write(dir, lr2, 1)
  local rs = wb.runs.find{dir = dir}
  local vs = rs:variants()
  T.eq(#vs, 2, table.concat(vs, " | "))
  local set = {[vs[1]] = true, [vs[2]] = true}
  T.ok(set["base [lr=0.001]"] and set["base [lr=0.0010000000000000002]"],
    table.concat(vs, " | "))
  -- each label's value reads back as the run's own lr
  for _, r in ipairs(rs) do
    T.eq(tonumber(rs.labels[r]:match("lr=([^,%]]+)")), r.config.lr, rs.labels[r])
  end
  local text = tostring(rs)
  T.ok(text:find("lr=0.0010000000000000002", 1, true), text)
  -- export_csv's label column
  local csv = dir .. "/runs.csv"
  wb.runs.export_csv(csv, rs)
  local body = util.read_file(csv)
  T.ok(body:find("base [lr=0.0010000000000000002]", 1, true), body)
  T.ok(not body:find("group_key=", 1, true), "no group key needed to tell them apart: " .. body)
end)

T.test("short floats keep their short text; tables show their floats exactly", function()
  local show = require("wb.runs_group").show_exact
  T.eq(show(0.3), "0.3")
  T.eq(show(1e-05), "1e-05")
  T.eq(show(1e300), "1e+300")
  T.eq(show(0.1 + 0.2), "0.30000000000000004")
  T.eq(show(2), "2")
  T.eq(show(2.0), "2")
  T.eq(show({a = 0.1 + 0.2, b = 500}), "{a=0.30000000000000004,b=500}")
  for _, x in ipairs{1 / 3, 2 / 3, 1e-7 / 3, 123456.7891, 5e-324, 1.7976931348623157e308} do
    T.eq(tonumber(show(x)), x, show(x))
  end
end)

T.done()
