-- tryI: a variant renamed ({label = "a"} -> "b") while one of its runs was
-- interrupted: the run restarted from epoch 1, and its saved state was said
-- to be of a run "interrupted, then the config or options changed". The
-- label is not part of the training's identity (a run's hash is, so the
-- state file's name changed): now the renamed run resumes that state, said
-- so, and ends bit-identical to an uninterrupted run. A state whose training
-- differs is not resumed, and its note says what changed.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
local script = dir .. "/ren.lua"

local function write_task(label, lr)
  util.write_file(script, string.format([[
return wb.task{name = "ren", title = "rename",
  experiment = {base = {epochs = 300, hidden = 8, subset = {train = 600, test = 100}},
    seeds = {1}, variants = {{label = %q, lr = %s}}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], label, lr))
end

local function run(root)
  local st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(root))
  T.eq(st, 0, out .. err)
  return err
end

local function the_run(root)
  local runs = wb.runs.find{task = "ren", root = root}
  T.eq(#runs, 1)
  return runs[1]
end

-- label a, interrupted (SIGTERM to the runner) once epoch 5 is saved
local root = dir .. "/r"
write_task("a", "0.01")
os.execute(string.format("sh -c '%s %s --root %s >%s.out 2>&1 & echo $! > %s.pid; wait $!; "
  .. "echo $? > %s.status' >/dev/null 2>&1 &", exe, script, root, root, root, root))
T.wait_until("epoch 5 of run a", 600, function()
  local ok, names = pcall(wb.sys.listdir, root .. "/runs/logs")
  return ok and #names == 1 and (util.read_file(root .. "/runs/logs/" .. names[1]) or "")
    :find("epoch 5/300", 1, true)
end)
os.execute("kill -TERM " .. T.wait_line(root .. ".pid", 60):match("%d+"))
T.eq(T.wait_status(root .. ".status", 600), 143, util.read_file(root .. ".out"))
local old = wb.runs.find{task = "ren", root = root, allow_empty = true} -- none recorded
T.eq(#old, 0)
local state
for _, f in ipairs(wb.sys.listdir(root .. "/runs")) do
  state = state or f:match("^ren%-(%x+)%.state%.safetensors$")
end
T.ok(state, "run a's saved state")
for _, c in ipairs{"c1", "c2", "c3"} do -- copies of the interrupted root
  T.eq(os.execute("cp -R " .. root .. " " .. dir .. "/" .. c), true)
end

T.test("renamed a -> b: the run resumes a's state, said so, bit-identical to an "
  .. "uninterrupted run", function()
  write_task("b", "0.01")
  local err = run(root)
  local r = the_run(root)
  T.ok(err:find(string.format("[ren] run %s (b seed 1) resumes the saved state of run %s (a seed "
    .. "1): the same training, only its variant's label (a -> b) changed", r.hash, state), 1,
    true), err)
  T.ok(not err:find("saved training state", 1, true), err)
  T.ok(err:find("(resumed after epoch", 1, true), err)
  T.ok(r.resumed_after_epoch and r.resumed_after_epoch >= 5, tostring(r.resumed_after_epoch))
  local ref = the_run(dir .. "/ref", run(dir .. "/ref")) -- label b, uninterrupted
  T.eq(ref.hash, r.hash)
  T.ok(not ref.resumed_after_epoch)
  for _, k in ipairs{"loss", "val_loss", "accuracy", "val_accuracy"} do
    T.eq(#r.history[k], 300, k)
    for e = 1, 300 do T.eq(r.history[k][e], ref.history[k][e], k .. " epoch " .. e) end
  end
  T.eq(r.metrics.test_loss, ref.metrics.test_loss)
  local a = wb.io.load_safetensors(root .. "/runs/" .. r.weights)
  local b = wb.io.load_safetensors(dir .. "/ref/runs/" .. ref.weights)
  for name, t in pairs(b) do
    local d = a[name] - t
    T.ok(d:max() == 0 and d:min() == 0, "weights " .. name)
  end
end)

T.test("another training is not resumed: its note says what changed", function()
  write_task("a", "0.02") -- same label, another lr
  local err = run(dir .. "/c1")
  T.ok(err:find("[ren] 1 saved training state (", 1, true) and err:find("of runs this plan "
    .. "does not hold (interrupted, then config key lr (0.01 -> 0.02) changed) kept", 1, true),
    err)
  T.ok(not err:find("resumes the saved state", 1, true), err)
  T.ok(not err:find("resumed after", 1, true), err)
  T.ok(not the_run(dir .. "/c1").resumed_after_epoch)
  write_task("b", "0.02") -- renamed and another lr
  err = run(dir .. "/c2")
  T.ok(err:find("(interrupted, not planned now: a seed 1) kept", 1, true), err)
  T.ok(not err:find("resumed after", 1, true), err)
  T.ok(wb.sys.exists(dir .. "/c2/runs/ren-" .. state .. ".state.safetensors"), "kept")
  write_task("b", "0.01") -- renamed only, but --fresh: trained again
  local st, out
  st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(dir .. "/c3") .. " --fresh")
  T.eq(st, 0, out .. err)
  T.ok(not err:find("resumes the saved state", 1, true), err)
  T.ok(not err:find("resumed after", 1, true), err)
  T.ok(not the_run(dir .. "/c3").resumed_after_epoch)
end)

T.done()
