-- Audit W: four ways a run was reused though what its hooks depend on had
-- changed (wb/identity*.lua).
-- W1: a value a script put in wb.* or a standard table (a layer registered
-- in wb.nn, a replaced wb.nn.Dense, math.width, a module wb/mine.lua beside
-- the script) was taken for the library's and identified by name: editing
-- it reused the old run. The library's values are now noted when wb loads
-- (wb/identity_lib.lua); anything else there is identified by content.
-- W2: wb.sys.exists in a hook was not recorded: creating or removing the
-- file it tests reused the old run.
-- W3: a file of the runs folder a hook read by path (load_weights of
-- another run's weights) was not recorded: that run retrained, the reader
-- was reused.
-- W4: a hook reading the clock or the process id (os.time, wb.sys.getpid,
-- ...) was cached as if its seed decided it.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()

-- A script whose experiment (name) is `body` (its top level: it sets BUILD,
-- maybe MEASURE) and ex:run(); it prints each run's first kernel's width.
-- Returns a function running it (with arguments) -> status, stdout, stderr.
local function script(name, body)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
package.path = %q .. package.path
%s
local ex = wb.experiment({name = %q, base = {hidden = not BUILD and 16 or nil, epochs = 1,
  subset = {train = 300, test = 100}, validation = false}, seeds = {1}, build = BUILD,
  measure = function(model) return {width = model:get_weights()[1]:size(2)} end}, {root = %q})
for _, r in ipairs(ex:run()) do print("width", r.measures.width) end
]], dir .. "/?.lua;", body, name, dir .. "/plots"))
  return function(...)
    return T.sh(table.concat({"WB_ECHO=0", T.wb, path, ...}, " "))
  end
end

-- Runs body with width a (trains), a again (cached), then b (must train b).
local function edited(name, template, a, b)
  local function run(w) return script(name, (template:gsub("WIDTH", tostring(w))))() end
  local st, out, err = run(a)
  T.eq(st, 0, err); T.ok(out:find("width\t" .. a, 1, true), out .. err)
  st, out, err = run(a)
  T.eq(st, 0, err); T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  T.ok(not err:find("not cached", 1, true), err)
  st, out, err = run(b)
  T.eq(st, 0, err); T.ok(out:find("width\t" .. b, 1, true), "stale: " .. out .. err)
end

T.test("W1: a layer the script registered in wb.nn, edited, retrains", function()
  edited("w1_layer", [[
function wb.nn.MyDense(i) return wb.nn.Dense(i, WIDTH, {activation = "relu"}) end
BUILD = function() return wb.nn.Sequential{wb.nn.MyDense(784),
  wb.nn.Dense(WIDTH, 10, {activation = "softmax"})} end
]], 16, 24)
end)

T.test("W1: wb.nn.Dense replaced by the script (no build hook), edited, retrains", function()
  edited("w1_patch", [[
local D = wb.nn.Dense
wb.nn.Dense = function(i, o, opts)
  if o ~= 10 then o = WIDTH else i = WIDTH end
  return D(i, o, opts)
end
]], 16, 24)
end)

T.test("W1: a function the script added to math, edited, retrains", function()
  edited("w1_math", [[
function math.width() return WIDTH end
BUILD = function() local w = math.width(); return wb.nn.Sequential{wb.nn.Dense(784, w,
  {activation = "relu"}), wb.nn.Dense(w, 10, {activation = "softmax"})} end
]], 16, 24)
end)

T.test("W1: a module wb/mine.lua beside the script is the user's: edited, retrains", function()
  T.sh("mkdir -p " .. dir .. "/wb")
  local body = [[
local mine = require "wb.mine"
BUILD = function() return wb.nn.Sequential{wb.nn.Dense(784, mine.w, {activation = "relu"}),
  wb.nn.Dense(mine.w, 10, {activation = "softmax"})} end
]]
  util.write_file(dir .. "/wb/mine.lua", "return {w = 16}\n")
  local run = script("w1_mine", body)
  local st, out, err = run()
  T.eq(st, 0, err); T.ok(out:find("width\t16", 1, true), out .. err)
  st, out, err = run()
  T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  util.write_file(dir .. "/wb/mine.lua", "return {w = 24}\n")
  st, out, err = run()
  T.eq(st, 0, err); T.ok(out:find("width\t24", 1, true), "stale: " .. out .. err)
  -- required in a hook: recorded as its file, like any module
  local list = (function()
    package.loaded["wb.mine"] = nil
    package.path = dir .. "/?.lua;" .. package.path
    local t = reads.track{}
    require("wb.mine")
    return t:stop()
  end)()
  T.ok(#list == 1 and list[1].path:find("/wb/mine.lua", 1, true), util.canonical(list))
  package.loaded["wb.mine"] = nil
end)

T.test("W1: the library's own values are named, the script's are not", function()
  local lib = require "wb.identity_lib"
  T.eq(lib.name(wb.nn.Dense), "wb.nn.Dense")
  T.eq(lib.name(math.floor), "math.floor")
  local f = function() return wb.nn.Dense(1, 2) end
  local before = wb.identity.hook(f)
  wb.nn.W1Helper = function() return 1 end
  T.eq(lib.name(wb.nn.W1Helper), nil)
  local with = wb.identity.hook(f)
  wb.nn.W1Helper = function() return 2 end
  local other = wb.identity.hook(f)
  T.ok(before ~= with and with ~= other, "the script's change to wb.nn is in the identity")
  wb.nn.W1Helper = nil
  T.eq(wb.identity.hook(f), before, "removed: as before")
end)

T.test("W2: a file a hook tests with wb.sys.exists, created then removed, retrains", function()
  local flag = dir .. "/wide"
  os.remove(flag)
  -- a computed name (a literal one is in the hook's identity: wb/identity.lua)
  local run = script("w2_exists", string.format([[
local d = %q
BUILD = function()
  local w = wb.sys.exists(d .. "/wide") and 24 or 16
  return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
    wb.nn.Dense(w, 10, {activation = "softmax"})}
end
]], dir))
  local st, out, err = run()
  T.eq(st, 0, err); T.ok(out:find("width\t16", 1, true), out .. err)
  st, out, err = run()
  T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  util.write_file(flag, "")
  st, out, err = run()
  T.eq(st, 0, err); T.ok(out:find("width\t24", 1, true), "stale: " .. out .. err)
  T.ok(err:find(flag .. " was created since it was recorded", 1, true), err)
  os.remove(flag)
  st, out, err = run()
  T.eq(st, 0, err); T.ok(out:find("width\t16", 1, true), "stale: " .. out .. err)
  T.ok(err:find(flag .. " was removed since it was recorded", 1, true), err)
  -- a folder: recorded by its names, as wb.sys.listdir's
  T.sh("mkdir -p " .. dir .. "/w2dir")
  local t = reads.track{}
  wb.sys.exists(dir .. "/w2dir")
  local list = t:stop()
  T.eq(reads.kind(list[1]), "listing", util.canonical(list))
  -- wb.sys.kind decides as exists does: recorded alike
  t = reads.track{}
  wb.sys.kind(dir .. "/w2dir")
  wb.sys.kind(flag)
  list = t:stop()
  T.eq(#list, 2, util.canonical(list))
  T.eq(reads.kind(list[1]), "listing", util.canonical(list))
  T.eq(list[2].id, "absent", util.canonical(list))
  T.sh("rmdir " .. dir .. "/w2dir")
  T.ok(select(2, reads.changed(list)):find("removed", 1, true), "folder removed")
end)

T.test("W3: another run's weights a hook loads by path, retrained, retrain the reader",
  function()
  local runs = dir .. "/plots/runs"
  T.sh("mkdir -p " .. runs)
  local donor = runs .. "/pre-w3.safetensors"
  local m = wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
  wb.seed(1); m:save(donor)
  local run = script("w3_weights", string.format([[
BUILD = function()
  local m = wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
  m:load_weights(%q .. "/pre-w3.safetensors")
  return m
end
]], runs))
  local st, out, err = run()
  T.eq(st, 0, err)
  st, out, err = run()
  T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  wb.seed(2); m = wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
  m:save(donor) -- the donor retrained: new weights under the same name
  st, out, err = run()
  T.eq(st, 0, err)
  T.ok(err:find(donor .. " changed since it was recorded: retraining", 1, true),
    "stale: " .. err)
  -- the library's own reads of the folder on the runner's behalf stay out
  local t = reads.track{dirs = {runs}}
  wb.load(donor)
  local list = t:stop()
  T.eq(#list, 0, util.canonical(list))
end)

-- The clock is the subject here, not a measure: the hooks below read it so
-- that the runner must notice; nothing asserts how long anything took (the
-- assertions count cached runs and the lines naming the read).
T.test("W4: a hook reading the clock or the process id is never reused, said each time",
  function()
  for _, read in ipairs{"os.time()", "os.date('%S')", "wb.sys.getpid()",
      "wb.sys.time() * 1000", "os.clock() * 1000"} do
    local name = read:match("^[%w.]+")
    local run = script("w4_" .. name:gsub("%.", "_"), string.format([[
BUILD = function(cfg)
  wb.seed(math.floor(tonumber(%s)) %% 1000 + cfg.seed)
  return wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
end
]], read))
    local st, _, err = run()
    T.eq(st, 0, err)
    for _ = 1, 2 do
      st, _, err = run()
      T.eq(st, 0, err)
      T.ok(err:find("0 cached, 1 to train", 1, true), name .. ": cached: " .. err)
      local _, n = err:gsub(name:gsub("%.", "%%.") .. "%(%) was read by a hook %(.-w4_.-%.lua:%d+%)"
        .. ": the time or the process id is other in every process, so the run is never reused", "")
      T.eq(n, 1, name .. ": one line naming it: " .. err)
    end
  end
  -- timing itself (a pair of reads in one function) is not a value of the clock
  local run = script("w4_timing", [[
local seconds = 0
BUILD = function()
  local t0 = wb.sys.time()
  local m = wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
  seconds = seconds + (wb.sys.time() - t0) + os.clock() - os.clock()
  return m
end
]])
  local st, _, err = run()
  T.eq(st, 0, err)
  st, _, err = run()
  T.ok(err:find("1 cached, 0 to train", 1, true), "timing: not cached: " .. err)
end)

-- The library's own state as it runs is no script change: wb.runs.find
-- fills a weak table (the files records came from), which put every record
-- read in each hook's identity after it (a report's later tasks got other
-- hashes than alone). Nothing the library does on its own is a patch.
T.test("W1: the library at work (find, table, fit, plot, an experiment) is no patch", function()
  local lib = require "wb.identity_lib"
  local function text(v) return type(v) == "table" and "table" or tostring(v) end
  local root = T.tmpdir()
  local ex = wb.experiment({name = "libwork", base = {epochs = 1, hidden = 8,
    subset = {train = 200, test = 50}}, seeds = {1, 2}}, {root = root})
  ex:run{verbose = false}
  local rs = wb.runs.find{root = root, task = "libwork"}
  T.eq(#rs, 2)
  rs:table{"test_accuracy"}
  rs:plot_curves("val_loss"):save(root .. "/v.png")
  T.eq(lib.patches(text), "", "no change to the library's tables")
  -- a setting of a module that only presents runs (which gnuplot draws, its
  -- timeout) changes no training: not a patch (all runs retrained on it)
  local gp, timeout = wb.plot.gnuplot, wb.plot.timeout
  wb.plot.gnuplot, wb.plot.timeout = "/usr/bin/gnuplot", 77
  local p = lib.patches(text)
  wb.plot.gnuplot, wb.plot.timeout = gp, timeout
  T.eq(p, "", "a plot setting")
end)

-- A README's "Hooks read" names a clock read as such (it said "os.time()
-- (xxh128 clock)", as if a file's content id)
T.test("W4: a clock read is shown as the clock in a README's list of reads", function()
  local prov = require "wb.runner_provenance"
  local reads = require "wb.identity_reads"
  local text = prov.read_text({path = "os.time()", id = reads.sys.CLOCK, value = "t.lua:3"})
  T.eq(text, "os.time() (the clock, the process id or its peak memory, read at t.lua:3)")
end)

T.done()
