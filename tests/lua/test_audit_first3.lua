-- test_audit_first3.lua: a third first hour (after test_audit_firsthour
-- and firsthour2), as a Keras or PyTorch user writes: a method called with
-- a dot (model.summary()), Keras's names in a config (learning_rate), a
-- pandas user's names on a run list (rs:compare), a misspelt metric given
-- to wb.compare, a folder that is not there; and every help example run as
-- written, in a folder of its own (none did before: README's blocks were
-- tested, help's examples only by a few names).
local T = dofile("tests/lua/harness.lua")

local q = T.quote

-- A small untrained 784-16-10 model.
local function model()
  wb.seed(1)
  return wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
end

local function data()
  return wb.data.Dataset(wb.new_tensor({4, 784}, "uint8"), wb.new_tensor({4}, "uint8"))
end

-- {==== a method called with a dot ====

T.test("model.summary() and kin: an error saying to call with a colon, at the caller's line",
  function()
    local m, ds = model(), data()
    local x = ds:float_images()
    -- were: "nn_summary.lua:101: attempt to get length of a nil value (local
    -- 'self')", "bad argument #1 to 'evaluate' (... got nil)" (the dataset
    -- taken for the model, the next argument missing), "save: expected a
    -- file name, got nil"
    local cases = {
      {"summary", function() local _ = m.summary() end, "nil"},
      {"num_params", function() local _ = m.num_params() end, "nil"},
      {"evaluate", function() local _ = m.evaluate(ds) end, "a wb.Dataset"},
      {"predict", function() local _ = m.predict(x) end, "a wb.Tensor"},
      {"save", function() local _ = m.save("x.safetensors") end, "a string"},
      {"save_weights", function() local _ = m.save_weights("x.safetensors") end, "a string"},
      {"load_weights", function() local _ = m.load_weights("x.safetensors") end, "a string"},
      {"save_state", function() local _ = m.save_state("x.safetensors") end, "a string"},
      {"get_weights", function() local _ = m.get_weights() end, "nil"},
      {"set_weights", function() local _ = m.set_weights({}) end, "a table"},
      {"parameters", function() local _ = m.parameters() end, "nil"},
      {"zero_grad", function() local _ = m.zero_grad() end, "nil"},
      {"l2_penalty", function() local _ = m.l2_penalty() end, "nil"},
      {"add", function() local _ = m.add(wb.nn.Dense(10, 10)) end, "a wb.Dense"},
    }
    for _, c in ipairs(cases) do
      local err = T.check_error(string.format("wb.Sequential:%s: call it with a colon, "
        .. "model:%s(...): model.%s(...) passes no wb.Sequential (its first argument was %s)",
        c[1], c[1], c[1], c[3]), c[2])
      T.ok(err:find("^tests/lua/test_audit_first3.lua:%d+: "), err)
    end
    T.check_error("wb.Dataset:subset: call it with a colon, ds:subset(...)",
      function() local _ = ds.subset(1, 2) end)
    T.check_error("wb.Dataset:float_images: call it with a colon",
      function() local _ = ds.float_images() end)
    -- the colon still works, and so does a class built on Sequential
    T.eq(m:num_params(), 784 * 16 + 16 + 16 * 10 + 10)
    local Sub = setmetatable({}, {__index = wb.nn.SequentialClass})
    Sub.__index = Sub
    setmetatable(Sub, wb.nn.SequentialClass)
    local s = setmetatable({_h = {}, wb.nn.Dense(784, 4)}, Sub)
    T.eq(s:num_params(), 784 * 4 + 4)
    -- or one whose metatable's __index is Sequential (test_audit_strict3's Net)
    local Net = setmetatable({}, {__index = wb.nn.SequentialClass})
    Net.__index = Net
    T.eq(setmetatable(wb.nn.Sequential{wb.nn.Dense(784, 4)}, Net):num_params(), 784 * 4 + 4)
  end)

T.test("rs.table{...}, run.model(): the same for run lists and runs", function()
  local runs = wb.runs.Runs({{task = "t", variant = "v", seed = 1, status = "ok"}})
  -- were: "runs.lua:235: attempt to call a nil value (method 'variants')",
  -- "run.lua:80: attempt to index a nil value (local 'r')"
  T.check_error("wb.Runs:table: call it with a colon, rs:table(...): rs.table(...) passes "
    .. "no wb.Runs (its first argument was a table)", function() local _ = runs.table{"x"} end)
  T.check_error("wb.Runs:variants: call it with a colon", function() local _ = runs.variants() end)
  T.check_error("wb.Run:model: call it with a colon, run:model(...)",
    function() local _ = runs[1].model() end)
  T.check_error("wb.Run:evaluate: call it with a colon", function() local _ = runs[1].evaluate() end)
  -- model:evaluate(ds, opts)'s shape: "(string expected, got table)" named no argument
  T.check_error("bad argument #1 to 'evaluate' (which: \"final\" or \"best\", the weights "
    .. "evaluated on the run's own test set; got table)",
    function() local _ = runs[1]:evaluate({batch_size = 1}) end)
  T.eq(runs:variants()[1], "v")
end)

-- }====

-- {==== names from Keras and pandas ====

T.test("a config key under Keras's name: did you mean names the key here", function()
  local function spec(base) return {name = "w", base = base} end
  -- learning_rate listed the valid keys only; units was taken for init
  T.check_error("unknown config key 'learning_rate' (did you mean 'lr'?)", wb.experiment,
    spec{hidden = 8, learning_rate = 0.1})
  T.check_error("unknown config key 'units' (did you mean 'hidden'?)", wb.experiment,
    spec{units = 8})
  T.check_error("unknown config key 'epsilon' (did you mean 'eps'?)", wb.experiment,
    spec{hidden = 8, epsilon = 1e-7})
  T.check_error("experiment.vary: unknown config key 'learning_rate' (did you mean 'lr'?)",
    wb.experiment, {name = "w", base = {hidden = 8}, vary = {learning_rate = {0.1}}})
  -- a build hook that did not declare hidden: no key to point at
  local err = T.check_error("unknown config key 'units' (valid:", wb.experiment,
    {name = "w", keys = {"depth"}, build = function() return model() end,
      base = {units = 8, depth = 1}})
  T.ok(not err:find("did you mean", 1, true), err)
  -- and as a query of the runs
  local root = T.tmpdir()
  wb.record.write(wb.record.path(root, "k", "0123456789abcdef"), {hash = "0123456789abcdef",
    task = "k", variant = "base", seed = 1, status = "ok", config = {hidden = 8, seed = 1}})
  T.check_error("wb.runs.find: unknown key 'learning_rate' (did you mean 'lr'?)",
    wb.runs.find, {root = root, learning_rate = 0.1})
  T.check_error("wb.runs.find: unknown key 'units' (did you mean 'hidden'?)",
    wb.runs.find, {root = root, units = 8})
end)

T.test("rs:compare, rs:mean, rs:where: what a run list has instead", function()
  local runs = wb.runs.Runs({{task = "t", variant = "v", seed = 1, status = "ok"}})
  -- was: "wb.Runs has no field 'compare'; its fields and methods: curve, ..."
  T.check_error("wb.Runs has no field 'compare': wb.compare(rs, metric) compares its variants",
    function() local _ = runs:compare("test_accuracy") end)
  T.check_error("wb.Runs has no field 'mean': rs:stat(variant, metric)",
    function() local _ = runs.mean end)
  T.check_error("wb.Runs has no field 'where': wb.runs.find{task = ..., key = value}",
    function() local _ = runs.where end)
  T.check_error("did you mean table?", function() local _ = runs.tabel end)
end)

T.test("wb.compare: a misspelt metric is wb.compare's error, at the caller's line", function()
  local recs = {}
  for i, v in ipairs{"a", "a", "b", "b"} do
    recs[i] = {task = "t", variant = v, seed = i, status = "ok",
      config = {hidden = v == "a" and 8 or 16}, metrics = {test_accuracy = 0.9 + i / 100}}
  end
  local runs = wb.runs.Runs(recs)
  -- was: "bindings/lua/wb/compare.lua:96: wb.Runs:values: unknown metric ..."
  local err = T.check_error("wb.compare: unknown metric 'test_acc' (did you mean "
    .. "'test_accuracy'?)", function() local _ = wb.compare(runs, "test_acc") end)
  T.ok(err:find("^tests/lua/test_audit_first3.lua:%d+: "), err)
  T.ok(wb.compare(runs, "test_accuracy"):find("**b**", 1, true))
  -- the same through a task's report (was: "bindings/lua/wb/task.lua:173: ...")
  local task = wb.task{name = "first3_cmp", experiment = {base = {epochs = 1, hidden = 8}}}
  for _, bad in ipairs{function() task:compare(runs, "test_acc") end,
    function() task:compare(runs, "test_accuracy", {beter = "higher"}) end,
    function() task:compare(runs, "test_accuracy", {better = "up"}) end,
    function() task:compare(runs, 7) end} do
    local ok, e = pcall(bad)
    T.ok(not ok and tostring(e):find("^tests/lua/test_audit_first3.lua:%d+: "), tostring(e))
  end
  T.ok(task:compare(runs, "test_accuracy"):find("**b**", 1, true))
end)

if pcall(wb.data.mnist) then
  T.test("help(wb.Run) names every metric a run records; a best last epoch is run:model(\"best\")",
    function()
      local root = T.tmpdir()
      local ex = wb.experiment({name = "m", seeds = {1}, base = {hidden = 8, epochs = 1,
        subset = {train = 200, test = 50}}}, {root = root})
      local r = ex:run{verbose = false}[1]
      local text = wb.help.text(wb.runs.find{root = root, task = "m"}[1])
      local said = {}
      for w in text:gmatch("[%w_]+") do said[w] = true end
      local missing = {}
      for k in pairs(r.metrics) do
        if not said[k] then missing[#missing + 1] = k end
      end
      table.sort(missing)
      T.eq(table.concat(missing, ", "), "", "metrics help(wb.Run) does not name")
      T.ok(r.metrics.gap and text:find("gap (val_loss - loss)", 1, true), text)
      -- its one epoch was its best: run:model("best") is the final weights (it was
      -- "no best weights (status ok)"); without validation there is no best epoch
      T.eq(r.metrics.best_epoch, r.metrics.epochs_run)
      T.eq(r:weights_path("best"), r:weights_path())
      T.eq(r:evaluate("best").accuracy, r.metrics.test_accuracy)
      local nv = wb.experiment({name = "nv", seeds = {1}, base = {hidden = 8, epochs = 1,
        validation = false, subset = {train = 200, test = 50}}}, {root = root})
      T.check_error("no best weights (status ok: trained without validation, it has no best "
        .. "epoch)", function() local _ = nv:run{verbose = false}[1]:model("best") end)
    end)
end

-- }====

-- {==== files and folders ====

T.test("h:plot(\"loss\") says where figures are drawn, and its example runs", function()
  local m = model()
  local h = m:fit(data(), {epochs = 2, verbose = false})
  -- was: "wb.History has no field 'plot'; its fields and methods: ..."
  local ok, e = pcall(function() return h:plot("loss") end)
  T.ok(not ok and e:find("wb.plot.lines{", 1, true) and e:find("run:plot(", 1, true)
    and e:find("test_audit_first3", 1, true), "h:plot: " .. tostring(e))
  local ex = e:match("(wb%.plot%.lines%b{}):show%(%)")
  T.ok(ex, "no example in: " .. e)
  local p = assert(load("local h = ...; return " .. ex, "example", "t", _ENV))(h)
  T.eq(tostring(p), "Plot(lines)")
end)

T.test("wb.sys.listdir of a missing folder: the error is at the caller's line", function()
  -- was "bindings/lua/wb/identity_reads.lua:239: listdir: cannot open ..."
  local err = T.check_error("listdir: cannot open /nonexistent/first3: No such file or "
    .. "directory", function() local _ = wb.sys.listdir("/nonexistent/first3") end)
  T.ok(err:find("^tests/lua/test_audit_first3.lua:%d+: listdir"), err)
  T.eq(#wb.sys.listdir(T.tmpdir()), 0)
end)

T.test("model:save into a folder that is not there names the folder", function()
  local dir = T.tmpdir()
  local err = T.check_error("(folder " .. dir .. "/lab does not exist)", function()
    return model():save(dir .. "/lab/m.safetensors") end)
  T.ok(err:find(dir .. "/lab/m.safetensors: cannot create temporary file", 1, true), err)
end)

T.test("a task script without its return, or returning an experiment, is an error", function()
  local dir = T.tmpdir()
  local function script(name, text)
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(text)
    f:close()
    return T.sh(string.format("cd %s && %s %s --help </dev/null", q(dir),
      q(T.wb:sub(1, 1) == "/" and T.wb or os.getenv("PWD") .. "/" .. T.wb), name))
  end
  local decl = 'wb.task{name = "noret", experiment = {base = {epochs = 1, hidden = 8}}}\n'
  -- both exited 0, having trained nothing and said nothing
  local st, out, err = script("noret.lua", "local x = 1\n" .. decl)
  T.eq(st, 1, out .. err)
  T.ok(err:find("noret.lua:2: declares task 'noret' but returns nothing, so nothing was "
    .. "trained: write return wb.task{...}", 1, true), err)
  st, out, err = script("exp.lua", 'return wb.experiment{name = "e", base = {hidden = 8}}\n')
  T.eq(st, 1, out .. err)
  T.ok(err:find("exp.lua: the script returned an experiment, which nothing runs", 1, true), err)
  -- returned, by a local or at once, it runs (here: its --help); a script
  -- declaring none is as before
  st, out, err = script("ret.lua", "local t = " .. decl .. "return t\n")
  T.eq(st, 0, err); T.ok(out:find("usage:", 1, true), out)
  st, out, err = script("plain.lua", 'print("hi")\n')
  T.eq(st, 0, err); T.eq(out, "hi\n")
end)

-- }====

-- {==== every help example, as written ====

-- Runs every help entry's example in a fresh environment holding what the
-- examples call m (784-128 relu, Dropout 0.3, 128-10 softmax: help(wb.Dropout)
-- reads m[2].rate), d ({train, test}, small subsets), ds, x, y (a batch of
-- 32 test rows), layer, l and opt, in a folder of its own holding data/
-- (a link) and a digit.png. An example that reads a name beyond these (a
-- fragment: `op`, `cb`, `st`) is not run to its end; one that raises
-- anything else is a finding, but those that need recorded runs of the
-- study's tasks, and the few listed below with why. They run in the sorted
-- order of their names, in one folder: wb.io's reads the m.safetensors
-- that wb.Sequential:save's writes.
local CHILD = [=[
local out = assert(io.open(arg[1], "w"))
local idx = wb.help._index()
local names = {}
for n in pairs(idx) do names[#names + 1] = n end
table.sort(names)
local D = wb.data.mnist()
local img = D.test.images:row(1):float() / 255
wb.image.save(img * -1 + 1, "digit.png")
local keep = {wb.plot.gnuplot, wb.data.fashion_dir, wb.cockpit.EVERY}
local function env()
  wb.plot.gnuplot, wb.data.fashion_dir, wb.cockpit.EVERY = keep[1], keep[2], keep[3]
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}), wb.nn.Dropout(0.3),
    wb.nn.Dense(128, 10, {activation = "softmax"})}
  local d = {train = D.train:subset(1, 256), test = D.test:subset(1, 128)}
  local b = d.test:subset(1, 32)
  local g = {m = m, model = m, d = d, ds = d.test, x = b:float_images(), y = b.labels,
    layer = m[1], l = m[1], opt = wb.optim.Adam{}, print = function() end,
    io = setmetatable({write = function() end}, {__index = io})}
  return setmetatable(g, {__index = function(_, k)
    if _G[k] ~= nil then return _G[k] end
    error("\0undefined " .. tostring(k), 2)
  end})
end
for _, name in ipairs(names) do
  local code, on = {}, false
  for _, l in ipairs(idx[name].body) do
    if l:match("^Example") then on = true; code[#code + 1] = (l:gsub("^Example:%s*", ""))
    elseif on then
      if l:match("^%a+:") then break end
      code[#code + 1] = l
    end
  end
  code = table.concat(code, "\n"):gsub("; %.%.%.;", ";") -- `...`: code left out
  local f, err = load(code, "=" .. name, "t", env())
  local ok = f ~= nil
  if f then ok, err = pcall(f) end
  err = tostring(err or ""):gsub("\n.*", "")
  local kind = ok and "ok" or not f and "syntax" or err:find("\0undefined", 1, true)
    and "fragment" or "fail"
  out:write(kind, "\t", name, "\t", (err:gsub("%z", "")), "\n")
end
out:close()
]=]

-- name -> why its example cannot run here
local NEEDS = {
  ["wb.sys.fail"] = "raises on purpose",
  ["wb.HessianOperator"] = "mse on float targets [n, C]; here y is labels",
  ["wb.hessian.Operator"] = "m[2] is a Dense there; here the Dropout",
  ["wb.instruments.full"] = "its tic needs a model without Dropout, as it says; m has one",
  ["wb.image.bbox"] = "x is one image [1, 784] there; here a batch",
  ["wb.image.centre_of_mass"] = "x is one image [1, 784] there; here a batch",
}

T.test("every help example runs as written (but fragments and those needing runs)", function()
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/child.lua", "w"))
  f:write(CHILD)
  f:close()
  local here = os.getenv("PWD")
  local wbin = T.wb:sub(1, 1) == "/" and T.wb or here .. "/" .. T.wb
  local st, out, err = T.sh(string.format("cd %s && ln -s %s data && mkdir plots && "
    .. "WB_PLOTS=%s timeout 600 %s child.lua results.tsv </dev/null", q(dir),
    q(here .. "/data"), q(dir .. "/plots"), q(wbin)))
  T.eq(st, 0, err .. out:sub(-2000))
  local counts, bad = {ok = 0, fragment = 0, fail = 0, syntax = 0}, {}
  for line in io.lines(dir .. "/results.tsv") do
    local kind, name, msg = line:match("^(%a+)\t([^\t]+)\t(.*)$")
    counts[kind] = counts[kind] + 1
    local needs_runs = msg:find("wb.runs.find: no runs of task", 1, true)
    if (kind == "fail" and not NEEDS[name] and not needs_runs) or kind == "syntax" then
      bad[#bad + 1] = name .. ": " .. msg
    end
  end
  print(string.format("# help examples: %d ran, %d fragments, %d failed here (runs, NEEDS)",
    counts.ok, counts.fragment, counts.fail))
  T.eq(#bad, 0, "help examples that do not run as written:\n  " .. table.concat(bad, "\n  "))
  -- most examples run to their end: the test is not vacuous
  T.ok(counts.ok >= 250, string.format("only %d examples ran (%d fragments)", counts.ok,
    counts.fragment))
end)

-- }====

T.done()
