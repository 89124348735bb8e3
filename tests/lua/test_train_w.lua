-- test_train_w.lua: what wb.train checks of its hooks (audits W6, W15) and
-- of the dataset files (X3, X13).
-- W6: a build hook returning no model, a callbacks hook whose list holds a
-- non-callback: an error naming the hook and its line, not an index error
-- inside train.lua.
-- W15: a hook that changes data.test is refused (the test set gives the
-- final numbers); one that changes data.train is recorded (which hook, how,
-- rows, content id) and said on the README's Data line; a training set
-- holding a test image is refused (validation would see the test set).
-- X3: a corrupt MNIST file is one error naming it before any run, exit 65.
-- X13: files that are not the published MNIST: one line naming the folder,
-- the record's data_published = false and the README's Data files.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"
local here = os.getenv("PWD")

local BASE = {hidden = 8, epochs = 1, batch_size = 32, subset = {train = 300, test = 100}}
local function experiment(spec)
  local root = T.tmpdir()
  wb.sys.mkdir_p(root .. "/runs")
  spec.base, spec.seeds = util.copy(BASE), {1}
  if spec.build then spec.base.hidden = nil end -- a build hook's model has its own
  return wb.experiment.new(spec, {name = "t", root = root, command = function() end})
end
local function mlp()
  return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
    wb.nn.Dense(8, 10, {activation = "softmax"})}
end
local function train(ex) return wb.train.run(ex, ex.specs[1]) end
local LINE = debug.getinfo(1, "S").short_src

T.test("W6: a build hook that returns no model: named, with its line", function()
  local ex = experiment{build = function() return nil end}
  local err = T.check_error("the build hook (", train, ex)
  T.ok(err:find(LINE .. ":%d+%) returned nil, expected a model %(wb.nn.Sequential"), err)
  ex = experiment{build = function() return {1} end}
  err = T.check_error("returned a table without fit, evaluate, save, expected a model", train, ex)
  T.ok(not err:find("attempt to index"), err)
end)

T.test("W6: a callbacks hook whose list holds a non-callback: named, with its line",
  function()
  local ex = experiment{callbacks = function() return {1} end}
  local err = T.check_error("returned a list whose item 1 is a number (1), expected a "
    .. "callback", train, ex)
  T.ok(err:find("the callbacks hook (" .. LINE .. ":", 1, true), err)
  ex = experiment{callbacks = function() return {{on_epoch_ends = function() end}} end}
  err = T.check_error("has a method 'on_epoch_ends', which is no callback hook", train, ex)
  T.ok(err:find("^the callbacks hook %("), err)
end)

T.test("W15: a hook that changes data.test is refused, naming it", function()
  local ex = experiment{build = function(_, d) d.test = d.train:subset(1, 100); return mlp() end}
  T.check_error("the build hook (" .. LINE, train, ex)
  T.check_error("changed data.test (replaced): the test set gives the run's final numbers",
    train, ex)
  ex = experiment{fit_options = function(_, _, d) d.test.labels:fill(3); return {} end}
  T.check_error("the fit_options hook (" .. LINE, train, ex)
  T.check_error("changed data.test (its labels changed in place)", train, ex)
  ex = experiment{callbacks = function(_, _, d)
    return {wb.callbacks.Lambda{on_epoch_end = function() d.test = d.train end}} end}
  T.check_error("a callback (during training) changed data.test", train, ex)
  T.eq(#wb.sys.listdir(ex.root .. "/runs"), 0, "no record")
end)

T.test("W15: a training set holding a test image is refused", function()
  local ex = experiment{build = function(_, d) d.train = wb.data.mnist().test:subset(50, 400)
    return mlp() end}
  T.check_error("its row 1 is test row 50 (the same image): training and validation must "
    .. "never see the test set", train, ex)
end)

T.test("W15: other training rows are recorded and said in the README", function()
  local ex = experiment{fit_options = function(_, _, d)
    d.train = d.train:subset(1, 100); return {} end}
  local rec = train(ex)
  T.eq(rec.status, "ok")
  local t = rec.train_data
  T.ok(t, "train_data recorded")
  T.ok(t.changed_by:find("^the fit_options hook %(" .. LINE:gsub("%p", "%%%0")), t.changed_by)
  T.eq(t.how, "replaced")
  T.eq(t.rows, 100)
  T.eq(t.name, "mnist-train[1:300][1:100]")
  T.ok(t.id:match("^%x+$"), t.id)
  local back = wb.record.read(wb.record.path(ex.root, "t", rec.hash, "json"))
  T.eq(back.train_data.id, t.id, "in the file")
  T.eq(back.data_published, true, "the published MNIST")
  local note = require("wb.train_hooks").readme_note({rec, {}})
  T.ok(note:find("1 of 2 runs trained on other training rows", 1, true), note)
  T.ok(note:find("100 rows (mnist-train[1:300][1:100], content id " .. t.id, 1, true), note)
  -- the config's rows: no field, no note
  ex = experiment{}
  rec = train(ex)
  T.eq(rec.train_data, nil)
  T.eq(require("wb.train_hooks").readme_note({rec}), "")
end)

-- A copy of MNIST under dir/mnist, f(path) applied to file name.
local function copy(name, f)
  local dir = T.tmpdir()
  os.execute("mkdir -p " .. dir .. "/mnist && cp " .. here .. "/data/mnist/*ubyte " .. dir
    .. "/mnist/")
  f(dir .. "/mnist/" .. name)
  return dir
end
local script = T.tmpdir() .. "/t.lua"
util.write_file(script, [[
return wb.task{name = "xd", title = "t",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 200, test = 100}},
    seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
local function run(data, root)
  return T.sh(string.format("WB_DATA=%s %s %s --root %s </dev/null", T.quote(data),
    T.quote(T.wb), T.quote(script), T.quote(root)))
end

T.test("X3: a truncated or corrupt MNIST file: one error naming it, exit 65, nothing run",
  function()
  local dir = copy("t10k-images-idx3-ubyte", function(p) os.execute("truncate -s 5000000 " .. p) end)
  local root = T.tmpdir()
  local st, out, err = run(dir, root)
  T.eq(st, 65, err)
  T.eq(out, "")
  T.ok(err:find("t10k-images-idx3-ubyte: truncated: header declares [10000, 28, 28] "
    .. "(7840000 data bytes), expected a file of 7840016 bytes, got 5000000; nothing trained",
    1, true), err)
  T.eq(select(2, err:gsub("\n", "")), 1, "one line: " .. err)
  T.ok(not wb.sys.exists(root .. "/runs/logs") or #wb.sys.listdir(root .. "/runs/logs") == 0)
  dir = copy("train-labels-idx1-ubyte", function(p)
    local b = T.slurp(p); util.write_file(p, "\0\0\12\1" .. b:sub(5)) end)
  st, _, err = run(dir, root)
  T.eq(st, 65, err)
  T.ok(err:find("train-labels-idx1-ubyte: magic 00000c01, expected 00000801 (uint8 labels "
    .. "[n])", 1, true), err)
  dir = copy("t10k-labels-idx1-ubyte", function(p)
    local b = T.slurp(p); util.write_file(p, b .. "xx") end)
  st, _, err = run(dir, root)
  T.eq(st, 65, err)
  T.ok(err:find("2 bytes of trailing data", 1, true), err)
end)

T.test("X13: files that are not the published MNIST: said once, recorded, in the README",
  function()
  local dir = copy("train-labels-idx1-ubyte", function(p)
    local b = T.slurp(p)
    util.write_file(p, b:sub(1, 8) .. (b:sub(9, 9) == "\1" and "\2" or "\1") .. b:sub(10))
  end)
  local root = T.tmpdir()
  local st, _, err = run(dir, root)
  T.eq(st, 0, err)
  local line = "[xd] mnist in " .. dir .. "/mnist is not the published MNIST (DATA.md): "
    .. "train-labels-idx1-ubyte has other content; results are of other data"
  T.ok(err:find(line, 1, true), err)
  T.eq(select(2, err:gsub("not the published", "")), 1, "once: " .. err)
  local recs = {}
  for _, f in ipairs(wb.sys.listdir(root .. "/runs")) do
    if f:match("^xd%-%x+%.json$") then recs[#recs + 1] = wb.record.read(root .. "/runs/" .. f) end
  end
  T.eq(#recs, 1, "one record")
  T.eq(recs[1].data_published, false)
  local readme = T.slurp(root .. "/xd/README.md")
  T.ok(readme:find("(**not the published MNIST (DATA.md): results are of other data**)", 1,
    true), readme)
  -- the real files: no line, no note
  root = T.tmpdir()
  st, _, err = run(here .. "/data", root)
  T.eq(st, 0, err)
  T.ok(not err:find("not the published", 1, true), err)
  T.ok(not T.slurp(root .. "/xd/README.md"):find("not the published", 1, true))
end)

T.test("X16e: int8 labels given as MNIST: the message names the file's own type", function()
  local dir = copy("t10k-labels-idx1-ubyte", function(p)
    local b = T.slurp(p); util.write_file(p, "\0\0\9\1" .. b:sub(5)) end)
  local st, _, err = T.sh(string.format("WB_DATA=%s %s -e 'wb.data.mnist()'", T.quote(dir),
    T.quote(T.wb)))
  T.eq(st, 65, err)
  T.ok(err:find("t10k-labels-idx1-ubyte: expected uint8 labels [n], got int8 [10000] (IDX "
    .. "type 0x09, read as float32)", 1, true), err)
end)

-- W17, W18: a run whose measure hook alone changed (or another task's run
-- of equal training) is measured on the recorded training. W17: when that
-- training's hooks chose other rows, the measure hook got the config's
-- (same hash, 2000 rows measured where 300 trained); W18: a model with a
-- Lua layer does not load (wb.load), and every rerun failed until --fresh.
-- Both are now trained again, said on stderr.
local function pair(build, k1, k2)
  local root = T.tmpdir()
  wb.sys.mkdir_p(root .. "/runs")
  local function ex_with(k)
    local spec = {build = build, seeds = {1}, base = util.copy(BASE),
      measure = function(_, _, d) return {rows = #d.train * k} end}
    spec.base.hidden = nil
    return wb.experiment.new(spec, {name = "t", root = root, command = function() end})
  end
  local a, b = ex_with(k1), ex_with(k2)
  require("wb.train_donor").forget() -- as a new process: the root's records read anew
  T.eq(a.specs[1].identity.train, b.specs[1].identity.train, "equal training")
  T.ok(a.specs[1].hash ~= b.specs[1].hash, "another measure hook")
  local first = train(a)
  require("wb.train_donor").forget()
  return first, b
end

T.test("W17: a training on a hook's rows is not re-measured on the config's", function()
  local first, b = pair(function(_, d) d.train = d.train:subset(1, 200); return mlp() end, 1, 2)
  T.eq(first.measures.rows, 200)
  local rec, err = T.stderr_of(function() return train(b) end)
  T.eq(rec.measures.rows, 400, "measured on the rows the hook chose")
  T.eq(rec.reused_from, nil)
  T.ok(err:find("not measured on the recorded training t-" .. first.hash .. ": its hooks "
    .. "trained it on other rows than the config's", 1, true), err)
end)

T.test("W18: a model with a Lua layer is trained again, not adopted through wb.load", function()
  local function double()
    local l = {}
    function l.forward(_, x) return x * 2 end
    function l.backward(_, _, g) return g * 2 end
    function l.parameters() return {}, {} end
    function l.zero_grad() end
    return l
  end
  local first, b = pair(function()
    return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}), double(),
      wb.nn.Dense(8, 10, {activation = "softmax"})}
  end, 1, 3)
  T.eq(first.measures.rows, 300)
  local rec, err = T.stderr_of(function() return train(b) end)
  T.eq(rec.measures.rows, 900)
  T.ok(err:find("its weights do not load as a model", 1, true), err)
end)

T.done()
