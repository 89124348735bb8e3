-- The experiment runner: cached and resumable runs, parallel children,
-- --list-runs handed to GNU parallel, failure isolation, run records.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

-- A small grid on a subset of MNIST: 2 variants x 2 seeds, 2 epochs.
local script = dir .. "/grid.lua"
util.write_file(script, [[
local n_train = tonumber(os.getenv("GRID_TRAIN") or 600)
return wb.task{name = "grid", title = "grid",
  experiment = {base = {hidden = 32, epochs = 2, subset = {train = n_train, test = 200}},
    vary = {activation = {"relu", "tanh"}}, seeds = {1, 2},
    -- GRID_BAD: the tanh runs fail while training (after the plan was made)
    build = os.getenv("GRID_BAD") and function(cfg, d)
      if cfg.activation == "tanh" then error("no tanh today") end
      return wb.nn.Sequential{wb.nn.Dense(784, 10, {activation = "softmax"})}
    end or nil, keys = os.getenv("GRID_BAD") and {"activation", "hidden"} or nil},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

local function run(root, extra, env)
  return T.sh(string.format("%s WB_ECHO=0 %s %s --root %s %s", env or "", T.wb, script,
    root, extra or ""))
end

local function records(root)
  local out = {}
  for _, r in ipairs(wb.runs.load_all(root .. "/runs")) do out[r.hash] = r end
  return out
end

local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end

T.test("a grid trains once, writes one record per run, and is cached afterwards", function()
  local root = dir .. "/a"
  local st, _, err = run(root, "--jobs 2")
  T.eq(st, 0, err)
  local recs = records(root)
  T.eq(count(recs), 4)
  for h, r in pairs(recs) do
    T.eq(r.hash, h); T.eq(r.task, "grid"); T.eq(r.status, "ok")
    T.ok(r.metrics.test_accuracy > 0.5, "learned something: " .. r.metrics.test_accuracy)
    T.eq(#r.history.loss, 2); T.ok(r.version and r.finished_at and r.wall_time)
    T.ok(wb.sys.exists(root .. "/runs/" .. r.weights), "weights saved beside the record")
  end
  local st2, _, err2 = run(root, "--jobs 2")
  T.eq(st2, 0)
  -- no "(2 jobs)" when nothing is to train (tryM 12)
  T.ok(err2:find("4 runs: 4 cached, 0 to train\n", 1, true), err2)
  T.ok(not err2:find("test accuracy"), "nothing retrained: " .. err2)
  for h in pairs(recs) do
    local log = util.read_file(root .. "/runs/logs/grid-" .. h .. ".log") or ""
    T.ok(log:find("epoch 1/2", 1, true) and log:find("epoch 2/2", 1, true),
      "the child's log has one line per epoch: " .. log)
  end
  T.ok(wb.sys.exists(root .. "/grid/README.md"))
end)

T.test("--jobs 1 and --jobs 2 give identical histories", function()
  local a, b = dir .. "/a", dir .. "/seq"
  T.eq((run(b, "--jobs 1")), 0)
  local ra, rb = records(a), records(b)
  T.eq(count(rb), 4)
  for h, r in pairs(ra) do
    T.ok(rb[h], "same hashes")
    for e = 1, 2 do T.eq(rb[h].history.loss[e], r.history.loss[e]) end
    T.eq(rb[h].metrics.test_accuracy, r.metrics.test_accuracy)
  end
end)

T.test("--list-runs piped to GNU parallel gives the same records as --jobs", function()
  if not os.execute("command -v parallel >/dev/null 2>&1") then
    T.skip("parallel", "GNU parallel is not installed (make deps installs it)")
    return
  end
  local root = dir .. "/par"
  local st, out = run(root, "--list-runs")
  T.eq(st, 0)
  local n = 0
  for line in out:gmatch("[^\n]+") do
    n = n + 1
    T.ok(line:find("--run %x+$"), line)
    T.ok(line:match("^cd '?/[^&]* && '?/"), "this folder, an absolute workbench path: " .. line)
  end
  T.eq(n, 4)
  T.eq((T.sh(string.format("%s %s --root %s --list-runs | (cd / && parallel -j 2)", T.wb,
    script, root))), 0)
  local rp, ra = records(root), records(dir .. "/a")
  T.eq(count(rp), 4)
  for h, r in pairs(ra) do
    T.ok(rp[h], "record " .. h .. " made by parallel")
    T.eq(rp[h].history.val_loss[2], r.history.val_loss[2])
  end
  local st2, _, err2 = run(root, "--jobs 2")
  T.eq(st2, 0)
  T.ok(not err2:find("test accuracy"), "the gathered records are reused")
end)

T.test("a failing variant is reported and the rest of the grid finishes", function()
  local root = dir .. "/bad"
  local st, _, err = run(root, "--jobs 2", "GRID_BAD=1")
  T.eq(st, 1)
  T.ok(err:find("FAILED"), err)
  T.ok(err:find("no tanh today"), "the error names the failure: " .. err)
  local n = 0
  for _, r in pairs(records(root)) do
    n = n + 1; T.eq(r.config.activation, "relu")
  end
  T.eq(n, 2)
  local md = util.read_file(root .. "/grid/README.md")
  T.ok(md and md:find("2 run%(s%) failed"), md)
end)

T.test("killed mid-way: finished runs are kept and not retrained", function()
  local root = dir .. "/kill"
  -- start sequentially in the background (runs long enough to be caught:
  -- 6000 images), kill it once the first record exists
  os.execute(string.format("GRID_TRAIN=6000 WB_ECHO=0 %s %s --root %s --jobs 1 >/dev/null "
    .. "2>&1 & echo $! > %s/pid", T.wb, script, root, dir))
  local pid = util.read_file(dir .. "/pid"):match("%d+")
  T.wait_until("the first record of " .. root, 1800, function()
    return count(records(root)) >= 1 or not util.pid_alive(pid)
  end)
  -- a crash takes the whole task: the runner and its training children,
  -- which run in a session of their own (xargs included), so SIGKILL to the
  -- runner alone would leave them training and writing records behind the
  -- test's back. Each child's session is killed, never this shell's own;
  -- "[ ]" keeps the pattern from matching pgrep's own shell.
  os.execute("kill -KILL " .. pid .. " 2>/dev/null")
  for _ = 1, 300 do
    os.execute("me=$(ps -o sid= -p $$ | tr -d ' '); for p in $(pgrep -f -- '--root[ ]"
      .. root .. "'); do s=$(ps -o sid= -p $p | tr -d ' '); if [ -n \"$s\" ] && "
      .. "[ \"$s\" != \"$me\" ]; then pkill -KILL -s $s; fi; kill -KILL $p; done 2>/dev/null")
    if not os.execute("pgrep -f -- '--root[ ]" .. root .. "' >/dev/null") then break end
    os.execute("sleep 0.05")
  end
  local before = records(root)
  T.ok(count(before) >= 1 and count(before) < 4, "killed mid-way: " .. count(before))
  local st, _, err = run(root, "--jobs 1", "GRID_TRAIN=6000")
  T.eq(st, 0, err)
  local after = records(root)
  T.eq(count(after), 4)
  for h, r in pairs(before) do T.eq(after[h].finished_at, r.finished_at, "kept, not retrained") end
  local trained = select(2, err:gsub("test accuracy", ""))
  T.eq(trained, 4 - count(before))
  local leftovers = 0
  for _, f in ipairs(wb.sys.listdir(root .. "/runs")) do
    if f:find("%.tmp") then leftovers = leftovers + 1 end
  end
  T.eq(leftovers, 0, "no temporary files left")
end)

T.test("a run killed (SIGKILL) mid-training resumes from its state, bit-identical", function()
  local ks = dir .. "/resume.lua"
  util.write_file(ks, [[
return wb.task{name = "resume", title = "resume",
  experiment = {base = {hidden = 64, epochs = 8, subset = {train = 8000, test = 200},
    early_stopping = {patience = 3}}, seeds = {1, 2}}}
]])
  local function go(root, extra)
    return T.sh(string.format("WB_ECHO=0 %s %s --root %s %s", T.wb, ks, root, extra))
  end
  local ref, root = dir .. "/resume_ref", dir .. "/resume"
  T.eq((go(ref, "--jobs 1")), 0)
  local _, list = go(root, "--list-runs")
  local cmds = {}
  for line in list:gmatch("[^\n]+") do cmds[#cmds + 1] = line end
  T.eq(#cmds, 2)
  local a, b = cmds[1]:match("%-%-run (%x+)$"), cmds[2]:match("%-%-run (%x+)$")
  local function path(h, ext) return wb.record.path(root, "resume", h, ext) end
  -- the child training run a, killed once its state after some epoch exists
  os.execute(string.format("WB_ECHO=0 %s >/dev/null 2>&1 & echo $! > %s/kpid", cmds[1], dir))
  local pid = util.read_file(dir .. "/kpid"):match("%d+")
  T.wait_until("run a's state after its first epoch", 1800, function()
    return wb.sys.exists(path(a, "state.safetensors")) or not util.pid_alive(pid)
  end)
  os.execute("kill -KILL " .. pid .. " 2>/dev/null")
  T.wait_gone(pid, 600, "run a, killed,")
  T.ok(not wb.sys.exists(path(a, "json")), "killed before its record")
  local _, meta = wb.io.load_safetensors(path(a, "state.safetensors"))
  local k = math.tointeger(require("cjson").decode(meta["workbench.state"]).epoch)
  T.ok(k >= 1 and k < 8, "killed mid-way, after epoch " .. tostring(k))
  -- a state of another run is never taken: run b finds a's state under its name
  util.write_file(path(b, "state.safetensors"), util.read_file(path(a, "state.safetensors")))
  local st, _, err = go(root, "--jobs 1")
  T.eq(st, 0, err)
  local blog = util.read_file(root .. "/runs/logs/resume-" .. b .. ".log") or ""
  T.ok(blog:find("is not a training state of run resume-" .. b, 1, true), blog)
  local recs, refs = records(root), records(ref)
  T.eq(recs[a].resumed_after_epoch, k, "run a resumed")
  -- the epochs before the kill were not trained again: their times are the killed run's
  local killed = require("cjson").decode(meta["workbench.history"])
  T.near(recs[a].history.epoch_time[k], killed.epoch_time[k], 1e-9, "epoch " .. k .. " kept")
  T.eq(recs[b].resumed_after_epoch, nil, "run b trained from scratch")
  for _, h in ipairs{a, b} do
    local r, want = recs[h], refs[h]
    T.eq(#r.history.loss, #want.history.loss, h)
    for e = 1, #want.history.loss do
      for _, key in ipairs{"loss", "val_loss", "accuracy", "lr"} do
        T.eq(r.history[key][e], want.history[key][e], h .. " " .. key .. " epoch " .. e)
      end
    end
    T.eq(r.metrics.test_loss, want.metrics.test_loss, h)
    T.eq(r.metrics.best_epoch, want.metrics.best_epoch, h)
    T.eq(r.best_weights ~= nil, want.best_weights ~= nil, h .. " best weights kept alike")
    local wa, wr = wb.load(path(h, "safetensors")):get_weights(),
      wb.load(wb.record.path(ref, "resume", h, "safetensors")):get_weights()
    for i = 1, #wa do
      local d = wa[i] - wr[i]
      T.ok(d:max() == 0 and d:min() == 0, h .. " weights " .. i .. " bit-identical")
    end
    T.eq(r.hash, h); T.eq(r.train_key, want.train_key, "the identity is unchanged")
    T.ok(not wb.sys.exists(path(h, "state.safetensors")), "the state is removed")
  end
end)

T.test("the loss config key trains and measures with that loss; bad names are refused",
    function()
  local ls = dir .. "/loss.lua"
  util.write_file(ls, [[
return wb.task{name = "loss", title = "loss", experiment = {base = {hidden = 16,
  epochs = 1, subset = {train = 300, test = 100}}, vary = {loss = {"mse",
  "sparse_categorical_crossentropy"}}, seeds = {1}}}
]])
  local root = dir .. "/loss"
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", T.wb, ls, root))
  T.eq(st, 0, err)
  local n = 0
  for _, r in pairs(records(root)) do
    n = n + 1
    local run = wb.runs.find{root = root, hash = r.hash}[1]
    local m, test = run:model(), run:data().test
    T.eq(r.fit_options.loss, r.config.loss)
    T.near(r.metrics.test_loss, m:evaluate(test, {loss = r.config.loss}).loss, 1e-6,
      "test_loss with " .. r.config.loss)
    T.ok(math.abs(r.metrics.test_loss - m:evaluate(test, {loss = r.config.loss == "mse"
      and "sparse_categorical_crossentropy" or "mse"}).loss) > 1e-3, "not the other loss")
    -- wb.hessian's default is the run's loss: mse's on this softmax head is refused, saying
    -- so (it was cross-entropy's, silently); cross-entropy's as before
    local sub = test:subset(1, 40)
    if r.config.loss == "mse" then
      T.check_error("(loss mse: the loss the model was trained with, the default without "
        .. "loss)", wb.hessian.eigs, m, sub, {k = 1})
    else
      T.eq(wb.hessian.eigs(m, sub, {k = 1}).values[1],
        wb.hessian.eigs(m, sub, {k = 1, loss = "cross_entropy"}).values[1])
    end
  end
  T.eq(n, 2)
  T.check_error("loss: expected one of sparse_categorical_crossentropy, "
    .. "categorical_crossentropy, mse, hinge, squared_hinge", wb.experiment,
    {name = "h", base = {hidden = 8, loss = "bogus"}})
end)

T.test("the example step_schedule runs with --quick: per-step lr follows the schedule",
    function()
  local root = dir .. "/example"
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s scripts/examples/step_schedule.lua "
    .. "--quick --seeds 2 --jobs 2 --root %s", T.wb, root))
  T.eq(st, 0, err)
  -- its callback keeps no state (get_state {}): the shipped example warned
  -- on every run that it could not be resumed (tryM 16)
  T.ok(not err:find("restarts from epoch 1", 1, true), err)
  root = root .. "/quick" -- --root DIR --quick: DIR/quick
  for _, f in ipairs{"loss.png", "lr.png", "README.md"} do
    T.ok(wb.sys.exists(root .. "/step_schedule/" .. f), f)
  end
  local n = 0
  for _, r in pairs(records(root)) do
    n = n + 1
    local s, lr0 = r.history.steps, r.config.lr
    T.eq(s.step[1], 10); T.eq(s.step[2], 20)
    T.near(s.lr[1], lr0, 1e-12, "the first third at lr")
    T.near(s.lr[#s.lr], lr0 / 100, 1e-12, "the last third at lr / 100")
    T.eq(#s.loss, #s.step)
  end
  T.eq(n, 4)
end)

T.test("stale temporaries of killed writers are swept at the next start", function()
  local root = dir .. "/kill"
  -- a temporary of a dead process (pid 1 is alive: use a pid that exited)
  local p = io.popen("sh -c 'echo $$'"); local dead = p:read("l"); p:close()
  local stale = root .. "/runs/x.json.tmp." .. dead
  local live = root .. "/runs/y.json.tmp." .. wb.sys.getpid()
  util.write_file(stale, "half"); util.write_file(live, "mine")
  local st = run(root, "--jobs 1")
  T.eq(st, 0)
  T.ok(not wb.sys.exists(stale), "the dead writer's temporary is gone")
  T.ok(wb.sys.exists(live), "a live writer's temporary is left alone")
  os.remove(live)
end)

T.test("an identical training of another task is adopted, not repeated", function()
  local root = dir .. "/a"
  local other = dir .. "/other.lua"
  util.write_file(other, [[
return wb.task{name = "other", title = "other",
  experiment = {base = {hidden = 32, epochs = 2, subset = {train = 600, test = 200}},
    vary = {activation = {"relu", "sigmoid"}}, seeds = {1, 2},
    measure = function(model) return {answer = 42, n_layers = #model,
      draw = wb.rand(1):get(1), lua_draw = math.random()} end}}
]])
  -- the donors as trained on another machine's kernel (a copy's history is theirs)
  for _, f in ipairs(wb.sys.listdir(root .. "/runs")) do
    if f:match("^grid%-%x+%.json$") then
      local path = root .. "/runs/" .. f
      local r = assert(wb.record.read(path))
      r.blas_core = "DonorKernel"
      wb.record.write(path, r)
    end
  end
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 2", T.wb, other, root))
  T.eq(st, 0, err)
  local grid, n_adopted = records(root), 0
  for _, r in pairs(grid) do
    if r.task == "other" then
      T.eq(r.measures.answer, 42, "its own measurements ran")
      if r.config.activation == "relu" then
        n_adopted = n_adopted + 1
        T.ok(r.reused_from and r.reused_from:find("^grid%-"), "adopted from grid")
        local src = grid[r.reused_from:match("%-(%x+)$")]
        T.eq(r.history.loss[2], src.history.loss[2])
        T.eq(r.metrics.test_accuracy, src.metrics.test_accuracy)
        -- the kernel its history was computed with: the donor's (was the copier's)
        T.eq(r.blas_core, "DonorKernel")
      else
        T.eq(r.reused_from, nil, "sigmoid was trained")
      end
    end
  end
  T.eq(n_adopted, 2)
  T.eq(select(2, err:gsub("same training as", "")), 2)
  -- trained alone (no donor), the same runs measure the same random draws:
  -- the hook's generators are seeded from the run's seed, not left where
  -- training (or adoption, which trains nothing) left them
  local alone = dir .. "/a_alone"
  st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 2", T.wb, other, alone))
  T.eq(st, 0, err)
  local solo, n = records(alone), 0
  for _, r in pairs(grid) do
    if r.task == "other" then
      for _, q in pairs(solo) do
        if q.variant == r.variant and q.seed == r.seed then
          n = n + 1
          T.eq(q.reused_from, nil, "trained alone")
          T.eq(q.metrics.test_accuracy, r.metrics.test_accuracy)
          T.eq(q.measures.draw, r.measures.draw, r.variant .. " seed " .. r.seed)
          T.eq(q.measures.lua_draw, r.measures.lua_draw)
        end
      end
    end
  end
  T.eq(n, 4)
end)

T.test("a run whose best epoch is not its last keeps the best weights too", function()
  local root = dir .. "/best"
  local long = dir .. "/long.lua"
  util.write_file(long, [[
return wb.task{name = "long", title = "long", experiment = {base = {hidden = 128,
  epochs = 15, lr = 0.01, validation = "test", subset = {train = 100, test = 300}},
  seeds = {1, 2}}}
]])
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", T.wb, long, root))
  T.eq(st, 0, err)
  local checked = 0
  for _, r in pairs(records(root)) do
    local h = r.history
    local best = r.metrics.best_epoch
    if best < #h.val_loss then
      checked = checked + 1
      T.eq(r.best_weights, r.weights:gsub("%.safetensors$", ".best.safetensors"))
      local run = wb.runs.find{root = root, hash = r.hash}[1]
      local m = run:model("best")
      T.near(m:evaluate(run:data().test).loss, h.val_loss[best], 1e-5,
        "the best file holds the weights of the best epoch")
      T.near(run:model():evaluate(run:data().test).loss, h.val_loss[#h.val_loss], 1e-5)
    else
      T.eq(r.best_weights, nil, "the final weights are the best: no second file")
    end
  end
  T.ok(checked > 0, "some run overfits 100 images within 15 epochs")
end)

T.done()
