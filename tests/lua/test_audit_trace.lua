-- test_audit_trace.lua: every number traceable and never stale. A recorded
-- run is reused only while it is what the script asks for now, and what
-- made it (threads, environment, commit and whether the tree had edits)
-- is what its record and README say.
local T = dofile("tests/lua/harness.lua")
local q = T.quote
local dir = T.tmpdir()
local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)

local function write(path, s)
  local fh = assert(io.open(path, "wb"))
  fh:write(s)
  fh:close()
end

-- Runs Lua source src as a script in dir with shell environment env;
-- returns T.sh's status, stdout, stderr.
local function wb_script(name, src, env, args)
  write(dir .. "/" .. name, src)
  return T.sh(string.format("cd %s && env -u OPENBLAS_NUM_THREADS -u GOTO_NUM_THREADS "
    .. "-u OMP_NUM_THREADS %s %s %s %s", q(dir), env or "", q(exe),
    q(name), args or ""))
end

T.test("a run trains on one BLAS thread whatever $OPENBLAS_NUM_THREADS says", function()
  -- ex:run() in a shell that set it trained on 2 threads, and its record
  -- (other sums, other numbers) was reused as this hash's by the task
  local st, out, err = wb_script("threads.lua", [[
local ex = wb.experiment.new({base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 50}}, seeds = {1},
  measure = function() return {blas = wb.sys.blas_threads()} end},
  {name = "threads", root = arg[1]})
local rs = ex:run{verbose = false}
print(string.format("%g %g", rs[1].measures.blas, wb.sys.blas_threads()))
]], "OPENBLAS_NUM_THREADS=2", q(dir .. "/p_threads"))
  T.eq(st, 0, err)
  T.eq(out, "1 2\n", "trained on 1 thread, the process's 2 restored after")
end)

T.test("a hook that reads $VAR: its run is retrained when the variable changes", function()
  -- WIDTH=64 reused the run trained with WIDTH=8: another model's numbers
  local task = [[
return wb.task{name = "envw", experiment = {base = {epochs = 1,
  subset = {train = 200, test = 50}}, seeds = {1}, keys = {},
  build = function(cfg, d)
    local w = tonumber(os.getenv("WIDTH") or "4")
    return wb.nn.Sequential{wb.nn.Dense(784, w), wb.nn.Dense(w, 10, {activation = "softmax"})}
  end},
  report = function(task, runs) print(runs[1]:model()[1].weight:size(2)) end}
]]
  local root = q(dir .. "/p_env")
  local function run(env)
    local st, out, err = wb_script("envw.lua", task, env, "--jobs 1 --root " .. root)
    T.eq(st, 0, err)
    return out:match("%d+"), err
  end
  T.eq(run("WIDTH=8"), "8")
  local w, err = run("WIDTH=8")
  T.eq(w, "8")
  T.ok(err:find("1 cached, 0 to train", 1, true), err)
  w, err = run("WIDTH=16")
  T.eq(w, "16", "the model of WIDTH=16, not the recorded WIDTH=8 one")
  T.ok(err:find("$WIDTH (an environment variable a hook read) is not as it was", 1, true), err)
  T.eq(run(""), "4", "unset is a value too")
  -- the record names the variable, with a hash of its value (not the value)
  local recs = wb.runs.load_all(dir .. "/p_env/runs")
  T.eq(#recs, 1)
  local e = recs[1].read_files[1]
  T.eq(e.path, "$WIDTH")
  T.ok(e.id:match("^env:"), e.id)
end)

T.test("a file added to the tree, not committed, is an uncommitted change", function()
  -- a new module under wb/ (in the code version of every run) left the
  -- README and records saying the clean commit made them
  local tree = dir .. "/tree"
  wb.sys.mkdir_p(tree)
  local data = os.getenv("WB_DATA") or (wb.luadir:gsub("/bindings/lua$", "") .. "/data")
  local git = "git -C " .. q(tree) .. " -c user.name=t -c user.email=t@t "
  -- and its C sources: without them the tree is not the binary's, and no commit is named
  local src = wb.luadir:gsub("/bindings/lua$", "")
  local st, _, err = T.sh(string.format("cp %s %s/workbench && mkdir %s/bindings && cp -r %s "
    .. "%s/bindings/lua && cp %s/bindings/*.[ch] %s/bindings/ && cp -r %s/core %s/ && %s init "
    .. "-q && %s add workbench bindings core && %s commit -q -m t", q(exe), q(tree), q(tree),
    q(wb.luadir), q(tree), q(src), q(tree), q(src), q(tree), git, git, git))
  T.eq(st, 0, err)
  write(dir .. "/new.lua", [[
return wb.task{name = "new", experiment = {base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 50}}, seeds = {1}}}
]])
  local function made(root)
    st, _, err = T.sh(string.format("WB_ECHO=0 WB_DATA=%s %s/workbench %s --root %s --jobs 1",
      q(data), q(tree), q(dir .. "/new.lua"), q(root)))
    T.eq(st, 0, err)
    local rs = wb.runs.load_all(root .. "/runs")
    T.eq(#rs, 1, root)
    local f = io.open(root .. "/new/README.md", "rb")
    local md = f and f:read("a") or ""
    if f then f:close() end
    return rs[1].git_uncommitted, md
  end
  local n, md = made(dir .. "/t_clean")
  T.eq(n, 0, "the committed tree")
  T.ok(not md:find("uncommitted", 1, true), md)
  write(tree .. "/bindings/lua/wb/zz_helper.lua", "return {}\n")
  n, md = made(dir .. "/t_added")
  T.eq(n, 1, "the tree with a file not committed")
  T.ok(md:find("with uncommitted changes to 1 file", 1, true), md)
end)

T.test("the runner's bookkeeping is outside the code version, training inside", function()
  -- runner_options, runner_watch and cockpit_run were in it: editing how a
  -- task's options are parsed retrained every run
  local function outside(f)
    for _, m in ipairs(require("wb.identity_code").presentation_modules) do
      if f:sub(1, #m) == m then return true end
    end
    return false
  end
  for _, f in ipairs{"wb/runner.lua", "wb/runner_options.lua", "wb/runner_watch.lua",
      "wb/runner_children.lua", "wb/cockpit_run.lua", "wb/slurm.lua", "wb/gather.lua"} do
    T.ok(outside(f), f .. " is bookkeeping")
  end
  -- a measure hook may compute with the lab bench's wb.stats or wb.welch
  for _, f in ipairs{"wb/train.lua", "wb/fit.lua", "wb/fit_loop.lua", "wb/instruments.lua",
      "wb/cockpit.lua", "wb/experiment.lua", "wb/spec.lua", "wb/lab.lua", "wb/inference.lua",
      "wb/train_measures.lua"} do
    T.ok(not outside(f), f .. " is in the code version")
  end
end)

T.test("train.run (in the code version) seeds math.random and pins one BLAS thread", function()
  -- the runner did both, and wb/runner.lua is outside the code version: an
  -- edit there changed a run's numbers without retraining it; the cockpit's
  -- foreground run, which calls train.run, did them on its own
  for _, m in ipairs(require("wb.identity_code").presentation_modules) do
    for _, f in ipairs{"wb/train.lua", "wb/train_resume.lua"} do
      T.ok(f:sub(1, #m) ~= m, f .. " is in the code version")
    end
  end
  local function measured(k, before)
    local ex = wb.experiment.new({base = {hidden = 4, epochs = 1,
      subset = {train = 100, test = 20}}, seeds = {3},
      measure = function() return {r = math.random(1 << 30), blas = wb.sys.blas_threads()} end},
      {name = "seeded", root = dir .. "/p_seed" .. k})
    math.randomseed(before)
    wb.sys.set_blas_threads(2)
    local rec = wb.train.run(ex, ex.specs[1])
    T.eq(wb.sys.blas_threads(), 2, "the process's threads restored")
    wb.sys.set_blas_threads(1)
    return rec.measures
  end
  local a, b = measured(1, 11), measured(2, 22)
  T.eq(a.r, b.r, "math.random drew the run's sequence, whatever came before")
  T.eq(a.blas, 1, "trained on one thread")
end)

T.test("a run retrained under its hash keeps no best weights of the training before", function()
  -- retrained for a file or $VAR its hooks read (same hash), its last epoch
  -- its best: run:model("best") loaded the earlier training's best file
  local root = dir .. "/p_best"
  local ex = wb.experiment.new({base = {hidden = 4, epochs = 1,
    subset = {train = 100, test = 20}}, seeds = {1}}, {name = "best", root = root})
  local s = ex.specs[1]
  wb.sys.mkdir_p(root .. "/runs")
  local left = wb.record.path(root, "best", s.hash, "best.safetensors")
  wb.nn.Sequential{wb.nn.Dense(784, 3), wb.nn.Dense(3, 10)}:save(left) -- the earlier one's
  local rec = wb.train.run(ex, s)
  T.eq(rec.best_weights, nil, "one epoch: the last is the best")
  T.ok(not wb.sys.exists(left), "the earlier training's best file is gone")
  local r = wb.runs.Runs({rec}, ex)[1]
  -- "best" is its one epoch's: the final weights (not the earlier file)
  T.eq(r:weights_path("best"), r:weights_path())
end)

T.test("a killed run resumes only a training its hooks' reads still make", function()
  -- killed with bias.txt saying 0, run again once it says 1 (retrained: its
  -- hook read it), it resumed the 0 training (the hash is the same: the file
  -- is read, not named) and recorded the file as it says now
  local bias = dir .. "/bias.txt"
  local function ex_in(root)
    wb.sys.mkdir_p(root .. "/runs")
    return wb.experiment.new({base = {epochs = 3, subset = {train = 200, test = 50}},
      seeds = {1}, keys = {}, build = function()
        local m = wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
          wb.nn.Dense(8, 10, {activation = "softmax"})}
        local f = io.open(bias)
        m[1].bias:fill(tonumber(f:read("a")))
        f:close()
        return m
      end}, {name = "killed", root = root})
  end
  local root = dir .. "/p_killed"
  local ex = ex_in(root)
  write(bias, "0")
  local boom = wb.callbacks.Lambda{on_epoch_end = function(e)
    if e == 2 then error("killed", 0) end end}
  T.ok(not pcall(wb.train.run, ex, ex.specs[1], {callbacks = {boom}}))
  T.ok(wb.sys.exists(wb.record.path(root, "killed", ex.specs[1].hash, "state.safetensors")),
    "a state left by the killed training")
  write(bias, "1")
  ex = ex_in(root)
  local rec = wb.train.run(ex, ex.specs[1])
  local fresh_ex = ex_in(dir .. "/p_fresh")
  local fresh = wb.train.run(fresh_ex, fresh_ex.specs[1])
  T.eq(rec.resumed_after_epoch, nil, "not resumed")
  T.eq(rec.metrics.loss, fresh.metrics.loss, "the bias 1 training, start to end")
  -- and with the file as it was, a killed run resumes (bit-identical)
  boom = wb.callbacks.Lambda{on_epoch_end = function(e) if e == 2 then error("killed", 0) end end}
  T.ok(not pcall(wb.train.run, fresh_ex, fresh_ex.specs[1], {callbacks = {boom}}))
  rec = wb.train.run(fresh_ex, fresh_ex.specs[1])
  T.eq(rec.resumed_after_epoch, 1, "resumed")
  T.eq(rec.metrics.loss, fresh.metrics.loss, "as the uninterrupted training")
end)

T.test("a killed run whose hooks cannot be identified is not resumed", function()
  -- its hash does not cover its hooks' code: an edit there, then a rerun,
  -- resumed the training made by the code before the edit
  local root = dir .. "/p_unid"
  wb.sys.mkdir_p(root .. "/runs")
  local t = wb.zeros(1)
  local ex = wb.experiment.new({base = {hidden = 4, epochs = 3, subset = {train = 100,
    test = 20}}, seeds = {1}, callbacks = function() local _ = t end}, {name = "unid",
    root = root})
  T.eq(ex.specs[1].cacheable, false)
  local boom = wb.callbacks.Lambda{on_epoch_end = function(e) if e == 2 then error("k", 0) end end}
  T.ok(not pcall(wb.train.run, ex, ex.specs[1], {callbacks = {boom}}))
  local rec = wb.train.run(ex, ex.specs[1])
  T.eq(rec.resumed_after_epoch, nil)
end)

T.test("a README names the commits its runs were trained at, not only its own", function()
  -- every run reused from records trained at another commit: the README named
  -- only the commit of the process that wrote it, as if it had made them
  local root = dir .. "/p_commits"
  local task = [[
return wb.task{name = "cm", experiment = {base = {hidden = 4, epochs = 1,
  subset = {train = 100, test = 20}}, seeds = {1, 2}}}
]]
  local st, _, err = wb_script("cm.lua", task, "WB_ECHO=0", "--jobs 1 --root " .. q(root))
  T.eq(st, 0, err)
  local recs = wb.runs.load_all(root .. "/runs")
  T.eq(#recs, 2)
  for i, c in ipairs{{"0ld0c0m", 2}, {"1ater00", 0}} do
    local r = setmetatable(recs[i], nil)
    r.git_commit, r.git_uncommitted = c[1], c[2]
    wb.record.write(wb.record.path(root, "cm", r.hash), r) -- as that commit wrote it
  end
  st, _, err = wb_script("cm.lua", task, "WB_ECHO=0", "--jobs 1 --root " .. q(root))
  T.eq(st, 0, err)
  T.ok(err:find("2 cached, 0 to train", 1, true), err)
  local f = assert(io.open(root .. "/cm/README.md", "rb"))
  local md = f:read("a")
  f:close()
  T.ok(md:find("2 from records; trained at commit 0ld0c0m (1), 1ater00 (1); 1 of them with "
    .. "uncommitted edits. OpenBLAS kernel: " .. wb.sys.blas_core() .. " (2). Timings "
    .. "(seconds per epoch and the like) measured with up to 1 "
    .. "run training at once on " .. wb.sys.nproc() .. " cores.*", 1, true), md)
end)

T.test("a figure not drawn leaves no earlier PNG beside its new CSV", function()
  -- gnuplot failing: the README said the figure could not be drawn, while
  -- x.png in its folder was still the earlier figure, beside the new x.csv
  local d = dir .. "/fig"
  wb.sys.mkdir_p(d)
  write(d .. "/x.png", "an earlier figure")
  local saved = wb.plot.gnuplot
  wb.plot.gnuplot = "/nonexistent/gnuplot"
  local p = wb.plot.lines{series = {{label = "a", x = {1, 2}, y = {3, 4}}}}
  local ok = pcall(p.save, p, d .. "/x.png")
  wb.plot.gnuplot = saved
  T.ok(not ok, "not drawn")
  T.ok(not wb.sys.exists(d .. "/x.png"), "no PNG of other data")
  T.ok(wb.sys.exists(d .. "/x.csv") and wb.sys.exists(d .. "/x.gp"), "the data and script kept")
end)

T.test("run:evaluate() on other data files than the run's is an error, not a number", function()
  -- $WB_DATA at a copy with other test labels: evaluate gave 12 % for a run
  -- recorded at 17 %, without a word
  local root = dir .. "/p_data"
  local st, _, err = wb_script("dtrain.lua", [[
wb.experiment.new({base = {hidden = 4, epochs = 1, subset = {train = 100, test = 200}},
  seeds = {1}}, {name = "d", root = arg[1]}):run{verbose = false}
]], "", q(root))
  T.eq(st, 0, err)
  local src = os.getenv("WB_DATA") or (wb.luadir:gsub("/bindings/lua$", "") .. "/data")
  local copy = dir .. "/data_copy/mnist"
  wb.sys.mkdir_p(copy)
  for _, f in ipairs{"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
      "t10k-images-idx3-ubyte"} do
    T.eq(T.sh(string.format("ln -s %s %s", q(src .. "/mnist/" .. f), q(copy .. "/" .. f))), 0)
  end
  local labels = require("wb.util").read_file(src .. "/mnist/t10k-labels-idx1-ubyte")
  write(copy .. "/t10k-labels-idx1-ubyte", labels:sub(1, 8)
    .. labels:sub(9, 208):gsub(".", function(c) return string.char((c:byte() + 1) % 10) end)
    .. labels:sub(209))
  local eval = [[
local r = wb.runs.find{root = arg[1]}[1]
local ok, e = pcall(r.evaluate, r)
print(ok and string.format("%g %g", e.accuracy, r.metrics.test_accuracy) or e)
]]
  local out
  st, out, err = wb_script("deval.lua", eval, "", q(root))
  T.eq(st, 0, err)
  local a, b = out:match("^(%S+) (%S+)\n$")
  T.ok(a and a == b, "its own data: the recorded accuracy: " .. out)
  st, out, err = wb_script("deval.lua", eval, "WB_DATA=" .. q(dir .. "/data_copy"), q(root))
  T.eq(st, 0, err)
  T.ok(out:find("wb.Run:evaluate: Run d base seed 1: test acc [%d.]+ %% was trained on other "
    .. "mnist files than those in " .. (dir .. "/data_copy/mnist"):gsub("%p", "%%%0")), out)
end)

T.test("a run whose retraining failed is not reported from its earlier record", function()
  -- an unidentified hook (always retrained): its earlier record, made by
  -- other code, filled the table as "1 of 2 (1 failed)" for one seed
  local root = dir .. "/p_failed"
  local task = [[
local t = wb.zeros(1)
return wb.task{name = "fl", experiment = {base = {hidden = 4, epochs = 1,
  subset = {train = 100, test = 20}}, seeds = {1},
  callbacks = function() local _ = t; if os.getenv("FAIL") then error("boom", 0) end end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]]
  local st, _, err = wb_script("fl.lua", task, "WB_ECHO=0", "--jobs 1 --root " .. q(root))
  T.eq(st, 0, err)
  st, _, err = wb_script("fl.lua", task, "WB_ECHO=0 FAIL=1", "--jobs 1 --root " .. q(root))
  T.eq(st, 1, err)
  local f = assert(io.open(root .. "/fl/README.md", "rb"))
  local md = f:read("a")
  f:close()
  T.ok(md:find("| base | 0 of 1 (1 failed) | n/a |", 1, true), md)
end)

T.test("a README says which data files its runs read: folder and identity", function()
  -- with $WB_DATA at an edited copy it said "Data: mnist" as for the real one
  local copy = dir .. "/data_readme/mnist"
  wb.sys.mkdir_p(copy)
  local src = os.getenv("WB_DATA") or (wb.luadir:gsub("/bindings/lua$", "") .. "/data")
  for _, f in ipairs{"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} do
    T.eq(T.sh(string.format("ln -s %s %s", q(src .. "/mnist/" .. f), q(copy .. "/" .. f))), 0)
  end
  local root = dir .. "/p_readme_data"
  local st, _, err = wb_script("rd.lua", [[
return wb.task{name = "rd", experiment = {base = {hidden = 4, epochs = 1,
  subset = {train = 100, test = 20}}, seeds = {1}}}
]], "WB_ECHO=0 WB_DATA=" .. q(dir .. "/data_readme"), "--jobs 1 --root " .. q(root))
  T.eq(st, 0, err)
  local r = wb.runs.load_all(root .. "/runs")[1]
  local f = assert(io.open(root .. "/rd/README.md", "rb"))
  local md = f:read("a")
  f:close()
  T.ok(md:find("Data files: mnist in " .. copy .. ", identity " .. r.identity.data .. ".", 1,
    true), md)
end)

T.test("a record names the BLAS kernel that computed it", function()
  -- OpenBLAS picks a kernel per CPU (or $OPENBLAS_CORETYPE): Haswell's and
  -- Sandybridge's sums differ in the last bits, and no record said which
  local st, out, err = wb_script("core.lua", [[
local ex = wb.experiment.new({base = {hidden = 4, epochs = 1,
  subset = {train = 100, test = 20}}, seeds = {1}}, {name = "core", root = arg[1]})
print(ex:run{verbose = false}[1].blas_core, wb.sys.blas_core())
]], "OPENBLAS_CORETYPE=Sandybridge", q(dir .. "/p_core"))
  T.eq(st, 0, err)
  local rec_core, now = out:match("^(%S+)\t(%S+)\n$")
  T.ok(rec_core and rec_core == now and rec_core ~= "nil", out) -- Sandybridge when dynamic
end)

T.done()
