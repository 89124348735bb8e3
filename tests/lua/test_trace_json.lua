-- JSON lists are lists when empty too (audit I, item 8): a record's
-- git_changes was {} when the tree was clean and [...] when dirty, and
-- runs.json's figures {} when no figure was drawn: a Python reader got a
-- dict one time, a list the next.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local function rec(extra)
  local r = {hash = "0123456789abcdef", task = "t", variant = "base", seed = 1, config = {},
    status = "ok", history = {loss = {}}, metrics = {}}
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

T.test("util.array and opts.lists write [] for an empty list; objects stay {}", function()
  T.eq(util.encode_json(util.array()), "[]")
  T.eq(util.encode_json({a = {}, b = util.array({1})}), '{"a":{},"b":[1]}')
  T.eq(util.encode_json({a = {x = {}}, y = {}}, {lists = {["a.x"] = true}}),
    '{"a":{"x":[]},"y":{}}')
  local ch = util.git_changes()
  if ch and #ch == 0 then T.eq(util.encode_json(ch), "[]") end
end)

T.test("a record's list fields are [] when empty, and read back", function()
  local path = dir .. "/t-0123456789abcdef.json"
  wb.record.write(path, rec{git_changes = {}})
  local text = util.read_file(path)
  T.ok(text:find('"git_changes":[]', 1, true), text)
  T.ok(text:find('"loss":[]', 1, true), text)
  T.ok(text:find('"metrics":{}', 1, true), text)
  local r, why = wb.record.read(path)
  T.ok(r, why)
  T.eq(#r.git_changes, 0)
end)

T.test("a record written before (an empty list as {}), respaced, still reads", function()
  local body = util.encode_json(rec{git_changes = {}}) -- the old writer's text
  T.ok(body:find('"git_changes":{}', 1, true), body)
  local sum = wb.sys.hash_string(body)
  local path = dir .. "/old-0123456789abcdef.json"
  util.write_file(path, '{ "checksum": "' .. sum .. '", ' .. body:sub(2):gsub(",", ", ") .. "\n")
  local r, why = wb.record.read(path)
  T.ok(r, why)
end)

T.test("runs.json: figures [] when the report draws none", function()
  local script = dir .. "/nofig.lua"
  util.write_file(script, [[
return wb.task{name = "nofig", title = "t",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 200, test = 100}},
    seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s", T.wb, script, dir .. "/r"))
  T.eq(st, 0, err)
  local text = util.read_file(dir .. "/r/nofig/runs.json")
  T.ok(text:find('"figures":[]', 1, true), text)
  local r = wb.runs.load_all(dir .. "/r/runs")[1]
  local rec_path = dir .. "/r/runs/nofig-" .. r.hash .. ".json"
  local raw = util.read_file(rec_path)
  T.ok(raw:find('"git_changes":%[') or not raw:find('"git_changes"'), raw:sub(1, 300))
  -- as Python reads them (when /usr/bin/python3 is there: never needed to run the tests)
  if wb.sys.exists("/usr/bin/python3") then
    local st, out, perr = T.sh(string.format("/usr/bin/python3 -c %s %s %s", T.quote(
      "import json, sys\n"
      .. "r = json.load(open(sys.argv[1])); j = json.load(open(sys.argv[2]))\n"
      .. "print(type(r.get('git_changes', [])).__name__, type(r['history']['loss']).__name__,"
      .. " type(j['figures']).__name__, type(j['hooks_read']).__name__)"),
      T.quote(rec_path), T.quote(dir .. "/r/nofig/runs.json")))
    T.eq(st, 0, perr)
    T.eq(out, "list list list list\n")
  end
end)

T.done()
