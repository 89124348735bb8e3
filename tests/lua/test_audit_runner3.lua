-- Audit of the experiment runner's trust (runner3): what a user hits with a
-- small task and --quick-sized runs. Each test fails without its fix.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local q = T.quote

local path = dir .. "/g.lua"
util.write_file(path, [[
return wb.task{name = "g", experiment = {base = {hidden = 8}, seeds = {1, 2}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
local function run(args)
  return T.sh(string.format("WB_ECHO=0 %s %s --jobs 2 %s", q(T.wb), q(path), args))
end

T.test("--gather of a folder holding none of the task's runs: exit 66 naming it, nothing "
  .. "trained", function()
  -- before: "0 imported", then every run trained as if --gather had not been given
  local empty, here = dir .. "/empty", dir .. "/here"
  wb.sys.mkdir_p(empty)
  local st, _, err = run("--quick --root " .. q(here) .. " --gather " .. q(empty))
  T.eq(st, 66, err)
  T.ok(err:find("--gather " .. empty .. ": " .. empty .. " holds none of the 2 runs", 1, true),
    err)
  T.ok(err:find("no record of task g in it", 1, true), err)
  T.ok(not err:find("to train", 1, true), err)
  T.ok(not err:find("stack traceback", 1, true), err)
  T.eq(#wb.runs.load_all(here .. "/quick/runs"), 0, "nothing trained")
  -- a full root gathered with --quick: its records are other runs, said so
  st, _, err = run("--epochs 1 --root " .. q(dir .. "/full"))
  T.eq(st, 0, err)
  st, _, err = run("--quick --root " .. q(here) .. " --gather " .. q(dir .. "/full"))
  T.eq(st, 66, err)
  T.ok(err:find("it holds 2 records of task g made with other options", 1, true), err)
  T.eq(#wb.runs.load_all(here .. "/quick/runs"), 0, "nothing trained")
  -- a good folder beside an empty one: nothing imported from either
  st, _, err = run("--quick --root " .. q(dir .. "/q1"))
  T.eq(st, 0, err)
  st, _, err = run("--quick --root " .. q(here) .. " --gather " .. q(dir .. "/q1")
    .. " --gather " .. q(empty))
  T.eq(st, 66, err)
  T.ok(not err:find("gathered from", 1, true), err)
  T.eq(#wb.runs.load_all(here .. "/quick/runs"), 0, "nothing imported")
  -- the good one alone is imported, nothing trains
  st, _, err = run("--quick --root " .. q(here) .. " --gather " .. q(dir .. "/q1"))
  T.eq(st, 0, err)
  T.ok(err:find("2 imported", 1, true) and err:find("0 to train", 1, true), err)
end)

-- An experiment whose build hook reads its hidden width from file wfile as it
-- runs (a read the runner records: read_files).
local function width_experiment(name, seeds, wfile, root)
  return wb.experiment({name = name, seeds = seeds, keys = {},
    base = {epochs = 1, subset = {train = 300, test = 100}},
    build = function()
      local f = assert(io.open(wfile)); local w = tonumber(f:read("a")); f:close()
      return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
        wb.nn.Dense(w, 10, {activation = "softmax"})}
    end}, {root = root})
end

T.test("a retraining killed as it writes its files leaves no earlier record beside new weights",
  function()
  -- before: the earlier record stayed until the new one was written, so a kill between the
  -- new weights and the new record left the old record (width 8) naming new weights (width 12)
  local root, wfile = dir .. "/torn", dir .. "/width.txt"
  util.write_file(wfile, "8")
  local function ex() return width_experiment("torn", {1}, wfile, root) end
  local runs = ex():run{verbose = false}
  T.eq(#runs.records, 1)
  local old = runs.records[1]
  util.write_file(wfile, "12") -- a file the build hook read: the run is retrained
  -- killed just before the new record is written: a call hook, not a patch of util (a
  -- change to the library's tables is in every run's identity: another hash)
  local write_file = util.write_file
  debug.sethook(function()
    local f = debug.getinfo(2, "f")
    if f and f.func == write_file then
      local _, p = debug.getlocal(2, 1)
      if type(p) == "string" and p:match("/torn%-%x+%.json$") then
        debug.sethook(); error("killed", 0)
      end
    end
  end, "c")
  local ok, err = pcall(function() return ex():run{verbose = false} end)
  debug.sethook()
  T.ok(not ok and tostring(err):find("killed", 1, true), tostring(err))
  local found = wb.runs.find{root = root, task = "torn", allow_empty = true}
  for _, r in ipairs(found.records) do -- an earlier record left is whole: its own weights
    T.eq(r:model():parameters()[1]:shape()[2], r.hash == old.hash and 8 or 12, r.hash)
  end
  T.eq(#found.records, 0, "the earlier training's record is gone with its weights")
  -- the next run trains it again, whole
  runs = ex():run{verbose = false}
  T.eq(#runs.records, 1)
  T.eq(runs.records[1]:model():parameters()[1]:shape()[2], 12)
end)

local group_read_id = require("wb.runs_group").read_id

T.test("seeds whose hooks read a shared file as other contents are not pooled", function()
  -- before: one group ("2 seeds"), averaging a width-8 seed with a width-32 one: a retraining
  -- stopped halfway after the file was edited (here: seed 1 alone run again)
  local root, wfile = dir .. "/mix", dir .. "/mix_width.txt"
  util.write_file(wfile, "8")
  local function ex(seeds) return width_experiment("mix", seeds, wfile, root) end
  ex{1, 2}:run{verbose = false}
  local pooled = wb.runs.find{root = root, task = "mix"}
  T.eq(pooled.labels, nil, "read as the same contents: seeds of one configuration")
  util.write_file(wfile, "32")
  ex{1}:run{verbose = false}
  local rs = wb.runs.find{root = root, task = "mix"}
  T.eq(#rs.records, 2)
  local tbl = rs:table{"test_accuracy"}
  local rows = 0
  for line in tbl:gmatch("[^\n]+") do
    if line:find("^| base %[read:" .. wfile:gsub("%p", "%%%0") .. "=") then
      rows = rows + 1
      T.ok(line:find("| 1 |", 1, true), line)
    end
  end
  T.eq(rows, 2, tbl)
  -- each label's read:<path>=<id> is a filter of find, shortened as shown or whole
  local n = 0
  for _, label in pairs(rs.labels or {}) do -- record -> its label
    n = n + 1
    local k, v = label:match("%[(read:[^=]+)=([^%]]+)%]")
    T.ok(k, label)
    local one = wb.runs.find{root = root, task = "mix", [k] = v}
    T.eq(#one.records, 1, label)
    local id = group_read_id(one.records[1], k:sub(6))
    T.eq(#wb.runs.find{root = root, task = "mix", [k] = id}.records, 1, id)
  end
  T.eq(n, 2)
  T.ok(not tbl:find("identity.run", 1, true), "per-seed hashes set no group apart: " .. tbl)
  -- the CSV's group_key (pandas' groupby) keeps them apart too, from a folder or a list
  for _, from in ipairs{root .. "/runs", rs} do
    local csv = dir .. "/mix.csv"
    wb.runs.export_csv(csv, from)
    local keys = {}
    for line in io.lines(csv) do
      local k = line:match("^%x+,mix,base,[^,]*,%d+,([^,]+),") -- after the label
      if k then keys[#keys + 1] = k end
    end
    T.eq(#keys, 2); T.ok(keys[1] ~= keys[2], table.concat(keys, " "))
  end
  -- a file each seed reads on its own is no difference
  local files = {}
  for s = 1, 2 do
    files[s] = string.format("%s/mix_init%d.txt", dir, s)
    util.write_file(files[s], tostring(s))
  end
  local own = wb.experiment({name = "own", seeds = {1, 2}, keys = {},
    base = {epochs = 1, subset = {train = 300, test = 100}},
    build = function(cfg)
      local f = assert(io.open(files[cfg.seed])); f:close()
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})}
    end}, {root = root})
  own:run{verbose = false}
  T.eq(wb.runs.find{root = root, task = "own"}.labels, nil)
end)

T.test("a resume refuses a state trained on a file a Lua layer read as it trained, now edited",
  function()
  -- before: the tag covered what hooks read before fit only; a layer that reads its file on
  -- its first forward resumed the epochs trained with the old file and recorded the new one
  local root, sfile = dir .. "/resume", dir .. "/scale.txt"
  util.write_file(sfile, "1")
  -- the kill: a file there (a value the hook closes over, changed between runs, is another
  -- identity: ex:run() identifies the hooks as they are when it is called)
  local kill = dir .. "/kill"
  local function Scale()
    local L = {}
    function L:forward(x)
      if not self.k then
        local f = assert(io.open(sfile)); self.k = tonumber(f:read("a")); f:close()
      end
      return x * self.k
    end
    function L:backward(_, g) return g * self.k end
    function L:parameters() return {}, {} end
    function L:zero_grad() end
    return L
  end
  local ex = wb.experiment({name = "res", seeds = {1}, keys = {},
    base = {epochs = 3, subset = {train = 300, test = 100}},
    build = function()
      return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}), Scale(),
        wb.nn.Dense(8, 10, {activation = "softmax"})}
    end,
    callbacks = function() -- a kill at the end of epoch 2, before its save
      return {{on_epoch_end = function(_, e)
        if e == 2 and wb.sys.exists(kill) then error("killed", 0) end end,
        get_state = function() return {} end, set_state = function() end}}
    end}, {root = root})
  local state = wb.record.path(root, "res", ex.specs[1].hash, "state.safetensors")
  local function killed(fresh)
    util.write_file(kill, "")
    T.ok(not pcall(ex.run, ex, {verbose = false, fresh = fresh}), "killed")
    T.ok(wb.sys.exists(state), "the state of epoch 1 is there")
    os.remove(kill)
  end
  -- the file as it was: the run goes on from epoch 1, and its record lists the file
  killed()
  local r = ex:run{verbose = false}.records[1]
  T.eq(r.resumed_after_epoch, 1)
  -- the file, and the kill switch the callback tests (wb.sys.exists is recorded too)
  local paths = {}
  for _, e in ipairs(r.read_files or {}) do paths[#paths + 1] = e.path end
  table.sort(paths)
  T.eq(table.concat(paths, " "), kill .. " " .. sfile)
  -- the file edited after the kill: trained from scratch
  killed(true) -- trained again, killed again
  util.write_file(sfile, "3")
  r = ex:run{verbose = false}.records[1]
  T.eq(r.resumed_after_epoch, nil, "not resumed from the epochs trained on the old file")
  T.eq(r.history.epochs, 3)
end)

T.test("ex:run and wb.runner.run_experiment refuse an unknown option before training",
  function()
  -- before: ex:run{fersh = true} reused every recorded run, as if nothing had been asked
  local root = dir .. "/opts"
  local ex = wb.experiment({name = "opt", seeds = {1}, base = {hidden = 8, epochs = 1,
    subset = {train = 100, test = 50}}}, {root = root})
  T.check_error("run: unknown option 'fersh' (valid: fresh, verbose)",
    function() ex:run{fersh = true} end)
  T.check_error("run_experiment: unknown option 'verbos' (valid: fresh, verbose)",
    function() wb.runner.run_experiment(ex, {verbos = false}) end)
  T.eq(#wb.runs.load_all(root .. "/runs"), 0, "nothing trained")
end)

T.done()
