-- What a hook reaches without closing over it: a run's identity must change
-- when any code its hooks call changes, however the hook reaches that code.
-- Found by the new-user audit: each of these once reused the old runs
-- without a word (a global helper, an object's methods, a module required
-- inside the hook, a user module whose name starts with "wb").
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local id = wb.identity.hook
local dir = T.tmpdir()

-- a hook compiled from text, with _G as its environment (as a script's)
local function hook(src) return assert(load("return " .. src, "=hook", "t", _G))() end

T.test("editing a global helper a hook calls changes the hook's identity", function()
  rawset(_G, "audit_act", hook([[function() return "relu" end]]))
  local h = hook([[function(cfg) return audit_act() end]])
  local a = id(h)
  T.eq(id(h), a, "stable")
  rawset(_G, "audit_act", hook([[function() return "tanh" end]]))
  T.ok(id(h) ~= a, "the global's new body is another identity")
  rawset(_G, "audit_width", 8)
  local w = hook([[function(cfg) return audit_width * 2 end]])
  local b = id(w)
  rawset(_G, "audit_width", 16)
  T.ok(id(w) ~= b, "a global value the hook reads")
  rawset(_G, "audit_act", nil); rawset(_G, "audit_width", nil)
end)

T.test("the command line (arg) is not part of a hook's identity", function()
  local h = hook([[function() return #arg end]])
  local saved = rawget(_G, "arg")
  rawset(_G, "arg", {[0] = "x.lua", "--run", "0123"})
  local a = id(h)
  rawset(_G, "arg", {[0] = "x.lua"})
  T.eq(id(h), a, "a child with --run HASH computes the same identity")
  rawset(_G, "arg", saved)
end)

T.test("editing a method of an object a hook closes over changes its identity", function()
  local function make(body)
    local Sched = hook("{}")
    Sched.__index = Sched
    Sched.at = hook("function(self, step) return " .. body .. " end")
    local sched = setmetatable({base = 0.1}, Sched)
    return function(cfg) return sched:at(cfg.epochs) end
  end
  local a = id(make("self.base"))
  T.eq(id(make("self.base")), a, "stable")
  T.ok(id(make("self.base / step")) ~= a, "the method lives in the metatable")
end)

T.test("a module required inside a hook's body is part of its identity", function()
  local saved = package.path
  package.path = dir .. "/?.lua;" .. saved
  util.write_file(dir .. "/audit_helper.lua", 'return {act = function() return "relu" end}\n')
  local h = hook([[function(cfg) return require("audit_helper").act() end]])
  local a = id(h)
  T.eq(id(h), a, "stable")
  util.write_file(dir .. "/audit_helper.lua", 'return {act = function() return "tanh" end}\n')
  T.ok(id(h) ~= a, "the module's new source is another identity")
  -- and what that module requires in turn
  util.write_file(dir .. "/audit_helper.lua", 'return require "audit_deep"\n')
  util.write_file(dir .. "/audit_deep.lua", 'return {act = function() return "relu" end}\n')
  local b = id(h)
  util.write_file(dir .. "/audit_deep.lua", 'return {act = function() return "gelu" end}\n')
  T.ok(id(h) ~= b, "a module the module requires")
  -- dofile of a Lua file
  util.write_file(dir .. "/audit_file.lua", "return 1\n")
  local f = hook(string.format("function() return dofile(%q) end", dir .. "/audit_file.lua"))
  local c = id(f)
  util.write_file(dir .. "/audit_file.lua", "return 2\n")
  T.ok(id(f) ~= c, "a Lua file the hook runs")
  -- any other file it opens by a literal name (settings, initial weights)
  local js = dir .. "/audit_widths.json"
  util.write_file(js, "[8, 16]")
  local g = hook(string.format("function() return io.open(%q):read('a') end", js))
  local d = id(g)
  T.eq(id(g), d, "stable")
  util.write_file(js, "[8, 32]")
  T.ok(id(g) ~= d, "a file the hook reads")
  T.eq(id(hook([[function() return io.open("/tmp") end]])),
    id(hook([[function() return io.open("/tmp") end]])), "a folder named: no content")
  package.path = saved
end)

T.test("a user module named wb_* is the user's code, identified by value", function()
  local m = {act = hook([[function() return "relu" end]])}
  package.loaded["wb_helpers"] = m
  local h = function() return m.act() end
  local a = id(h)
  m.act = hook([[function() return "tanh" end]])
  T.ok(id(h) ~= a, "not taken for a workbench module by its name")
  package.loaded["wb_helpers"] = nil
end)

T.test("a task whose build calls a required helper retrains when the helper changes",
  function()
  util.write_file(dir .. "/mymodel.lua", 'return {act = function() return "relu" end}\n')
  local path = dir .. "/req.lua"
  util.write_file(path, [[
return wb.task{name = "req", experiment = {seeds = {1}, keys = {"width"},
  base = {width = 8, epochs = 1, subset = {train = 300, test = 100}},
  build = function(cfg) return wb.nn.Sequential{wb.nn.Dense(784, cfg.width,
    {activation = require("mymodel").act()}), wb.nn.Dense(cfg.width, 10,
    {activation = "softmax"})} end},
  report = function() end}
]])
  local cmd = string.format("WB_ECHO=0 %s %s --root %s/r --jobs 1", T.wb, path, dir)
  local st, _, err = T.sh(cmd)
  T.eq(st, 0, err); T.ok(err:find("1 to train", 1, true), err)
  st, _, err = T.sh(cmd)
  T.eq(st, 0, err); T.ok(err:find("0 to train", 1, true), "unchanged: cached: " .. err)
  util.write_file(dir .. "/mymodel.lua", 'return {act = function() return "tanh" end}\n')
  st, _, err = T.sh(cmd)
  T.eq(st, 0, err); T.ok(err:find("1 to train", 1, true), "helper edited: retrained: " .. err)
end)

T.test("runs on another copy of the data ($WB_DATA) are not taken for runs on this one",
  function()
  local real = wb.luadir:gsub("/bindings/lua$", "") .. "/data/mnist"
  local copy = dir .. "/data/mnist"
  wb.sys.mkdir_p(copy)
  local files = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte"}
  for _, f in ipairs(files) do
    T.eq(T.sh(string.format("ln -sf %s/%s %s/%s", real, f, copy, f)), 0)
  end
  local path = dir .. "/data.lua"
  util.write_file(path, [[
return wb.task{name = "data", experiment = {seeds = {1},
  base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}}}, report = function() end}
]])
  local function planned(env)
    local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s %s --root %s/d --jobs 1", env, T.wb,
      path, dir))
    T.eq(st, 0, err)
    return err
  end
  T.ok(planned(""):find("1 to train", 1, true))
  T.ok(planned("WB_DATA=" .. dir .. "/data"):find("0 to train", 1, true),
    "the same files elsewhere: the same runs")
  -- the training labels, every one moved to the next class: other data
  local labels = util.read_file(real .. "/train-labels-idx1-ubyte")
  os.remove(copy .. "/train-labels-idx1-ubyte")
  util.write_file(copy .. "/train-labels-idx1-ubyte", labels:sub(1, 8)
    .. labels:sub(9):gsub(".", function(c) return string.char((c:byte() + 1) % 10) end))
  T.ok(planned("WB_DATA=" .. dir .. "/data"):find("1 to train", 1, true),
    "other labels: other runs")
  T.ok(wb.identity.data("mnist"):match("^%x+$"))
end)

T.test("in process, a build hook that reassigns d.train changes no other run's data",
  function()
  -- found by the audit: the runs of one process shared the cached {train,
  -- test} table, so seed 2 trained on the half seed 1's hook had left
  -- (each run trains in a child of this process: the hook notes in a file)
  local note = dir .. "/half.seen"
  local ex = wb.experiment({name = "half", seeds = {1, 2}, keys = {"hidden"},
    base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    build = function(cfg, d)
      local f = assert(io.open(note, "a")); f:write(#d.train, "\n"); f:close()
      d.train = d.train:subset(1, #d.train // 2)
      return wb.nn.Sequential{wb.nn.Dense(784, cfg.hidden, {activation = "relu"}),
        wb.nn.Dense(cfg.hidden, 10, {activation = "softmax"})}
    end}, {root = dir .. "/half"})
  ex:run{verbose = false}
  local seen = {}
  for n in T.slurp(note):gmatch("%d+") do seen[#seen + 1] = tonumber(n) end
  T.eq(#seen, 2, "both seeds built")
  T.eq(seen[1], 300); T.eq(seen[2], 300, "the second run sees the whole subset")
  T.eq(#wb.data.for_config{dataset = "mnist", subset = {train = 300, test = 100}}.train, 300)
end)

T.test("an adopted run's measure hook reading a callback field trains it, saying so", function()
  -- adoption keeps the donor's callback series only: a field the callback
  -- set (its peak) once read as nil, a measure of something else
  local function task(name, measure)
    local path = dir .. "/" .. name .. ".lua"
    util.write_file(path, string.format([[
local function track()
  local cb = {series = {acc = {}}, peak = 0}
  function cb:on_epoch_end(_, logs)
    self.series.acc[#self.series.acc + 1] = logs.accuracy
    self.peak = math.max(self.peak, logs.accuracy)
  end
  return cb
end
return wb.task{name = %q, experiment = {seeds = {1},
  base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
  callbacks = function() return {track()} end,
  measure = function(_, _, _, _, cbs) return {%s} end},
  report = function() end}
]], name, measure))
    local st, out, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s/adopt --jobs 1", T.wb,
      path, dir))
    local recs = wb.runs.load_all(dir .. "/adopt/runs", function(r) return r.task == name end)
    return st, out .. err, recs[1]
  end
  local st, err, r = task("donor", "n = #cbs[1].series.acc")
  T.eq(st, 0, err); T.eq(r.reused_from, nil, "trained")
  st, err, r = task("adopter", "n = #cbs[1].series.acc")
  T.eq(st, 0, err); T.ok(r.reused_from, "adopted"); T.eq(r.measures.n, 1, "the series is there")
  -- (not named "peak": a script beside it named as a hook's string constant
  -- joins the hook's identity, and the training would not be equal)
  -- it failed, naming the field; now the run trains, saying why, and measures what a
  -- fresh training does (tryR 1)
  st, err, r = task("reads_field", "peak = cbs[1].peak")
  T.eq(st, 0, err)
  T.ok(err:find("its measure hook read field 'peak' of callback 1", 1, true), err)
  T.ok(r and not r.reused_from and type(r.measures.peak) == "number" and r.measures.peak > 0,
    "trained, its peak measured")
end)

T.test("a hook drawing from math.random gives the same run each time (--fresh)", function()
  local path = dir .. "/rnd.lua"
  util.write_file(path, [[
return wb.task{name = "rnd", experiment = {seeds = {1, 2},
  base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
  measure = function() return {draw = math.random(1, 1000000)} end},
  report = function() end}
]])
  local function draws(extra)
    local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s/rnd --jobs 2 --fresh %s",
      T.wb, path, dir, extra or ""))
    T.eq(st, 0, err)
    local out = {}
    for _, r in ipairs(wb.runs.load_all(dir .. "/rnd/runs")) do out[r.seed] = r.measures.draw end
    return out
  end
  local a, b = draws(), draws()
  T.ok(a[1] and a[2], "both seeds measured")
  T.eq(a[1], b[1], "seed 1 draws the same"); T.eq(a[2], b[2], "seed 2 draws the same")
  T.ok(a[1] ~= a[2], "seeds draw apart")
  local c = draws("--cockpit") -- seed 1 in the foreground, in the runner's process
  T.eq(c[1], a[1], "the foreground run draws as a child does"); T.eq(c[2], a[2])
end)

T.test("a subset larger than its dataset is refused before anything trains", function()
  local err = T.check_error("subset.test = 50000 rows, but the mnist test set has 10000",
    wb.experiment, {name = "big", base = {hidden = 8, subset = {train = 300, test = 50000}}})
  T.ok(err:find("ask for at most 10000", 1, true), err)
  T.check_error("subset.train = 60001 rows, but the mnist train set has 60000", wb.experiment,
    {name = "big", vary = {subset = {{train = 60000}, {train = 60001}}}, base = {hidden = 8}})
  T.eq(#wb.experiment{name = "fit", base = {hidden = 8, subset = {train = 60000}}}.specs, 3)
end)

T.test("a hook that reads a config key the experiment does not know fails, naming it",
  function()
  local ex = wb.experiment{name = "strict", keys = {"width"}, base = {width = 8}, seeds = {1},
    build = function(cfg) return cfg.widht end}
  local cfg = ex.specs[1].config
  T.eq(cfg.width, 8); T.eq(cfg.seed, 1)
  T.eq(cfg.early_stopping, nil, "a known key left unset reads as nil")
  T.eq(cfg.lr, 1e-3, "its optimizer's options are filled in (adam's lr)")
  local err = T.check_error("config key 'widht' is not a key of this experiment %(did you "
    .. "mean 'width'%?%)", ex.build, cfg)
  T.ok(err:find("keys = {...}", 1, true), "says a build hook declares its keys: " .. err)
  T.ok(err:find("test_trust_identity.lua:%d+"), "names the reader's line: " .. err)
  -- the default model's keys: a typo of one is refused too
  local mlp = wb.experiment{name = "strict2", base = {hidden = 8}, seeds = {1}}
  T.check_error("config key 'dropuot' is not a key of this experiment %(did you mean "
    .. "'dropout'%?%)", function() return mlp.specs[1].config.dropuot end)
  T.eq(mlp.specs[1].config.dropout, 0)
  -- nothing of this reaches the record: it is plain data
  T.eq(getmetatable(util.copy(cfg)), nil)
end)

T.test("a hook moved within its file keeps its identity; an edited one does not", function()
  -- stripped bytecode still holds each function's first and last line
  local src = "local k = 3\nreturn function(cfg) local g = function() return k end "
    .. "return cfg.hidden * g() end"
  local a = assert(load(src))()
  local moved = assert(load("\n\n-- a comment above\n" .. src:gsub("return function",
    "\nreturn function")))()
  local edited = assert(load((src:gsub("%*", "+"))))()
  T.ok(string.dump(a, true) ~= string.dump(moved, true), "the dumps differ by their lines")
  T.eq(id(moved), id(a), "moved down three lines")
  T.ok(id(edited) ~= id(a), "an edited hook is another hook")
end)

T.done()
