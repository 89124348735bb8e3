-- What a hook gets from wb.runs.find or wb.runs.load_all (another task's
-- records) is part of its run's identity (wb/identity_reads_runs.lua). It
-- was not: a task whose hook chose its width from another task's best
-- accuracy was reused, with stale numbers, after that task retrained with
-- other numbers or got another run.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()
local root = dir .. "/plots"
local runs = root .. "/runs"
T.sh("mkdir -p " .. runs)

-- Writes a well-formed record of task `task`, hash h, with test accuracy acc.
local function put(task, h, acc, seed)
  wb.record.write(string.format("%s/%s-%s.json", runs, task, h), {hash = h, task = task,
    variant = "base", seed = seed or 1, config = {seed = seed or 1}, status = "ok",
    metrics = {test_accuracy = acc}})
end

-- Calls f(...) as a hook would: from a frame newer than the tracker's start.
local function hook(f, ...)
  local r = table.pack(f(...))
  return table.unpack(r, 1, r.n)
end

T.test("the records find answers a hook are recorded as its answer, and asked again", function()
  put("B", "000000000000000b", 0.5)
  put("C", "000000000000000c", 0.7)
  local own = runs .. "/A-000000000000000a.json"
  local t = reads.track{dirs = {runs}, own = own}
  local rs = hook(wb.runs.find, {root = root, task = "B"})
  local list = t:stop()
  T.eq(#rs, 1)
  T.eq(#list, 1, util.canonical(list))
  local e = list[1]
  T.eq(e.path, 'wb.runs.find{task = "B"} in ' .. runs)
  T.eq(reads.kind(e), "runs")
  T.eq(util.canonical(util.sorted_keys(e.found.records)), util.canonical{"B-000000000000000b.json"})
  T.eq(e.found.own, "A-000000000000000a.json")
  -- through a record, as the runner reads it back
  util.write_file(dir .. "/list.json", util.encode_json(list))
  local back = util.read_json(dir .. "/list.json")
  T.eq(reads.changed(back), nil, "as recorded")
  put("C", "000000000000000c", 0.9) -- another task's: not what the hook got
  put("A", "000000000000000a", 0.1) -- the run's own record, written after its hooks ran
  T.eq(reads.changed(back), nil, "another task's record or the run's own changed")
  put("B", "000000000000000b", 0.25) -- B retrained: other numbers
  local path, what = reads.changed(back)
  T.eq(path, e.path)
  T.ok(what:find(runs .. "/B-000000000000000b.json has other numbers than when it was recorded", 1, true),
    what)
  T.ok(require("wb.runner_provenance").read_text(e):find('wb.runs.find{task = "B"} in', 1,
    true))
  put("B", "000000000000000b", 0.5) -- as it was (the same bytes: the same id)
  T.eq(reads.changed(back), nil)
  put("B", "00000000000000b2", 0.6, 2) -- another run of B
  path, what = reads.changed(back)
  T.ok(what and what:find("B-00000000000000b2.json is new (1 record then, 2 now)", 1, true),
    tostring(what))
  os.remove(runs .. "/B-00000000000000b2.json")
  os.remove(runs .. "/B-000000000000000b.json")
  path, what = reads.changed(back)
  T.ok(what and what:find("B-000000000000000b.json is gone", 1, true), tostring(what))
  put("B", "000000000000000b", 0.5)
end)

T.test("a function in the query, load_all, an error taken for 'none yet', a record read by path",
  function()
  local t = reads.track{dirs = {runs}}
  -- a function cannot be asked again: the records the other keys match decide
  local rs = hook(wb.runs.find, {root = root, task = {"B", "C"},
    seed = function(s) return s == 1 end})
  local ok = hook(pcall, wb.runs.find, {root = root, task = "D"}) -- no run of D yet
  local all = hook(wb.runs.load_all, runs, function(r) return r.task == "C" end)
  local rec = hook(wb.record.read, runs .. "/C-000000000000000c.json") -- by the library
  local list = t:stop()
  T.eq(#rs, 2); T.eq(ok, false); T.eq(#all, 1); T.ok(rec)
  T.eq(#list, 4, util.canonical(list))
  T.eq(list[1].path, 'wb.runs.find{seed = a function, task = {"B", "C"}} in ' .. runs)
  T.eq(util.canonical(list[1].found.query), util.canonical{task = {"B", "C"}})
  T.eq(list[2].path, 'wb.runs.find{task = "D"} in ' .. runs)
  T.eq(list[3].path, "wb.runs.load_all() in " .. runs)
  T.eq(list[4].path, runs .. "/C-000000000000000c.json")
  T.eq(reads.kind(list[4]), "file")
  T.eq(reads.changed(list), nil)
  put("B", "00000000000000b3", 0.6, 3) -- the function would leave it out: asked anyway
  T.eq(reads.changed(list), list[1].path)
  os.remove(runs .. "/B-00000000000000b3.json")
  put("D", "000000000000000d", 0.3)
  T.eq(reads.changed(list), list[2].path, "D's first run")
  os.remove(runs .. "/D-000000000000000d.json")
  put("C", "000000000000000c", 0.8) -- C retrained: load_all and the record read saw it
  for i, how in pairs{[3] = "has other numbers than when it was recorded", -- load_all's answer
      [4] = "changed since it was recorded"} do -- the record read by path: a file
    local what = reads.entry_changed(list[i], {}, true)
    T.ok(what and what:find(how, 1, true), tostring(what))
  end
  put("C", "000000000000000c", 0.7)
  -- another root: its records are the answer, not each a file read
  local other = dir .. "/other"
  T.sh("mkdir -p " .. other .. "/runs && cp " .. runs .. "/B-*.json " .. other .. "/runs/")
  t = reads.track{dirs = {runs}}
  hook(wb.runs.find, {root = other, task = "B"})
  list = t:stop()
  T.eq(#list, 1, util.canonical(list))
  T.eq(reads.kind(list[1]), "runs")
end)

T.test("a hook's find or read of another run's file inside a coroutine is recorded", function()
  -- a coroutine's stack is its own: its frames were not seen as newer than the
  -- tracker's start, and were taken for the runner's
  local t = reads.track{dirs = {runs}}
  hook(function()
    coroutine.wrap(function()
      wb.runs.find{root = root, task = "B"}
      io.open(runs .. "/C-000000000000000c.json"):close()
    end)()
  end)
  local list = t:stop()
  T.eq(#list, 2, util.canonical(list))
  T.eq(list[1].path, 'wb.runs.find{task = "B"} in ' .. runs)
  T.eq(list[2].path, runs .. "/C-000000000000000c.json")
end)

T.test("a hook's tail call of io.open on another run's record is the hook's read", function()
  -- `return io.open(p)`: the hook's frame is gone, the read was taken for the runner's
  local function starter(f) -- as train.lua starts a tracker and calls a hook
    local t = reads.track{dirs = {runs}}
    f():close()
    return t:stop()
  end
  local list = starter(function() return io.open(runs .. "/C-000000000000000c.json") end)
  T.eq(#list, 1, util.canonical(list))
  T.eq(list[1].path, runs .. "/C-000000000000000c.json")
end)

T.test("find without a root asks the folder $WB_PLOTS names where the runner checks", function()
  T.sh("mkdir -p " .. dir .. "/p2/runs && cp " .. runs .. "/B-000000000000000b.json " .. dir
    .. "/p2/runs/")
  local list = dir .. "/default.json"
  local st, _, err = T.sh(string.format("WB_PLOTS=%s %s -e %s", root, T.wb, T.quote(string.format([[
local reads, util = require "wb.identity_reads", require "wb.util"
local t = reads.track{}
local function hook() local rs = wb.runs.find{task = "B"}; return rs end
hook()
util.write_file(%q, util.encode_json(t:stop()))]], list))))
  T.eq(st, 0, err)
  local check = T.quote(string.format([[
local reads, util = require "wb.identity_reads", require "wb.util"
print(reads.changed(util.read_json(%q)))]], list))
  local out
  st, out, err = T.sh(string.format("WB_PLOTS=%s %s -e %s", root, T.wb, check))
  T.eq(out, "nil\n", err)
  st, out, err = T.sh(string.format("WB_PLOTS=%s %s -e %s", dir .. "/p2", T.wb, check))
  T.ok(out:find("(the runs a hook found, in '" .. runs .. "' from ", 1, true)
    and out:find("would be looked for in " .. dir .. "/p2/runs from here", 1, true), out .. err)
end)

-- Script `name` of task `name` with hooks `hooks` (text), under root.
local function script(name, top, hooks)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
%s
local ex = wb.experiment({name = %q, base = {epochs = 1, lr = LR or 0.01,
  subset = {train = 300, test = 100}, validation = false}, seeds = {1}, %s}, {root = %q})
for _, r in ipairs(ex:run()) do print("m", util.canonical(r.measures or {})) end
]], top, name, hooks, root))
  return function(env) return T.sh((env or "") .. " WB_ECHO=0 " .. T.wb .. " " .. path) end
end

T.test("a task whose hook reads another task's runs retrains when they change, says why",
  function()
  local broot = root
  local b = script("tb", [[util = require "wb.util"; LR = tonumber(os.getenv("BLR"))]],
    [[build = function(cfg)
      local w = tonumber(os.getenv("BW") or "8")
      return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
        wb.nn.Dense(w, 10, {activation = "softmax"})}
    end]])
  local a = script("ta", string.format([[util = require "wb.util"
local function best()
  local b = 0
  for _, r in ipairs(wb.runs.find{root = %q, task = "tb"}.records) do
    b = math.max(b, r.metrics.test_accuracy)
  end
  -- and its own task's runs: not its own record, which the runner writes after
  wb.runs.find{root = %q, task = "ta", allow_empty = true}
  return b
end]], broot, broot), [[build = function(cfg)
      local w = best() > 0.4 and 24 or 12
      return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
        wb.nn.Dense(w, 10, {activation = "softmax"})}
    end,
    measure = function(model) return {best = best(), width = model:get_weights()[1]:size(2)} end]])
  local st, out, err = b()
  T.eq(st, 0, err)
  st, out, err = a()
  T.eq(st, 0, err)
  local first = out
  T.ok(out:find('"width":24', 1, true), out)
  st, out, err = a()
  T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  T.eq(out, first)
  st, out, err = b() -- cached: its record as it was
  T.ok(err:find("1 cached", 1, true), err)
  st, out, err = a()
  T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  -- tb retrained under the same hash with other numbers ($BW its hook reads)
  st, out, err = b("BW=2")
  T.ok(err:find("0 cached, 1 to train", 1, true), err)
  st, out, err = a()
  T.eq(st, 0, err)
  T.ok(err:find('wb.runs.find{task = "tb"} in ' .. runs .. " (the runs a hook found) are not "
    .. "as they were: " .. runs .. "/tb-", 1, true), err)
  T.ok(err:find(".json has other numbers than when it was recorded (1 record then, 1 now): retraining", 1,
    true), err)
  T.ok(out:find('"width":12', 1, true), "stale width: " .. out)
  st, out, err = a()
  T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  -- another run of tb (another lr: another hash, a record beside the old one)
  st, out, err = b("BW=2 BLR=0.05")
  st, out, err = a()
  T.ok(err:find(".json is new (1 record then, 2 now): retraining", 1, true), err)
  -- what its record lists: the two answers, not the runner's own reads of the folder
  local rec = wb.runs.find{root = root, task = "ta"}.records[1]
  local paths = {}
  for _, e in ipairs(rec.read_files) do paths[#paths + 1] = e.path end
  T.eq(util.canonical(paths), util.canonical{'wb.runs.find{task = "tb"} in ' .. runs,
    'wb.runs.find{task = "ta"} in ' .. runs})
end)

T.done()
