-- test_runs_kernels.lua: seeds trained with two OpenBLAS kernels (a record's
-- blas_core; OPENBLAS_CORETYPE sets it; the kernel is no part of a run's
-- identity) were averaged as seeds of one configuration without a word in
-- a table, wb.runs.find or the task's README, and a run killed and resumed
-- with another kernel recorded only the last (audit N3). A mean over seeds
-- of two kernels now says so, naming the kernels and their counts; a task's
-- README names its runs' kernels; a state saved by training with another
-- kernel is not resumed (the run trains from scratch, warned).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"

local here = wb.sys.blas_core()
local other = here == "Haswell" and "Sandybridge" or "Haswell"
local dir = T.tmpdir()

local function rec(seed, core, status)
  return {hash = string.format("%016x", seed), task = "t", variant = "base", seed = seed,
    config = {hidden = 8, seed = seed}, status = status or "ok", group_key = "g",
    blas_core = core, history = {loss = {0.5, 0.4}, val_loss = {0.6, 0.5}},
    metrics = {test_accuracy = 0.8 + seed / 100, test_loss = 0.4}}
end

T.test("a table whose row mixes kernels says so under it, naming them and counts", function()
  local tab = wb.runs.Runs{rec(1, "SkylakeX"), rec(2, "Haswell"), rec(3, "SkylakeX")}:table()
  T.ok(tab:find("| base | 3 |", 1, true), tab)
  T.ok(tab:find("*Rows averaging seeds trained with more than one OpenBLAS kernel (base: "
    .. "Haswell (1), SkylakeX (2)): the kernel is no part of a run's identity", 1, true), tab)
  -- one kernel, or the other kernel's run only diverged (in no mean): no note
  for _, rs in ipairs{{rec(1, "SkylakeX"), rec(2, "SkylakeX")},
      {rec(1, "SkylakeX"), rec(2, "Haswell", "diverged")}} do
    local t = wb.runs.Runs(rs):table()
    T.ok(not t:find("kernel", 1, true), t)
  end
  -- a record without blas_core (older) beside one with: unknown is another kernel
  local t = wb.runs.Runs{rec(1, "SkylakeX"), rec(2, nil)}:table()
  T.ok(t:find("(base: SkylakeX (1), unknown (1))", 1, true), t)
end)

T.test("stat, values and curve over seeds of two kernels say so on stderr, once", function()
  local rs = wb.runs.Runs{rec(1, "SkylakeX"), rec(2, "Haswell")}
  local _, err = T.stderr_of(function()
    rs:stat("base", "test_accuracy")
    rs:stat("base", "test_loss")
    rs:curve("base", "loss")
  end)
  T.ok(err:find("wb.Runs:stat: variant 'base' averages seeds trained with more than one "
    .. "OpenBLAS kernel (Haswell (1), SkylakeX (1))", 1, true), err)
  local _, n = err:gsub("OpenBLAS kernel", "")
  T.eq(n, 1, "once per list and variant: " .. err)
  T.eq(select(2, T.stderr_of(function()
    wb.runs.Runs{rec(1, "SkylakeX"), rec(2, "SkylakeX")}:stat("base", "test_accuracy")
  end)), "")
end)

T.test("plot_curves' title names the variants whose seeds mix kernels (a figure keeps no "
  .. "stderr)", function()
  local mixed = wb.runs.Runs{rec(1, "SkylakeX"), rec(2, "Haswell")}
  local title
  T.stderr_of(function() title = mixed:plot_curves("loss").d.title end)
  T.ok(title:find("; seeds of base mix OpenBLAS kernels (their last bits differ)", 1, true),
    title)
  -- one kernel, or the other kernel's run only diverged: nothing said
  for _, rs in ipairs{{rec(1, "SkylakeX"), rec(2, "SkylakeX")},
      {rec(1, "SkylakeX"), rec(2, "Haswell", "diverged")}} do
    local t = wb.runs.Runs(rs):plot_curves("loss").d.title
    T.ok(not t:find("kernel", 1, true), t)
  end
end)

T.test("wb.runs.find says which groups' seeds mix kernels", function()
  local d = dir .. "/find"
  os.execute("mkdir -p " .. T.quote(d))
  for _, r in ipairs{rec(1, "SkylakeX"), rec(2, "Haswell")} do
    wb.record.write(string.format("%s/%s-%s.json", d, r.task, r.hash), r)
  end
  local _, err = T.stderr_of(function() wb.runs.find{dir = d} end)
  T.ok(err:find("wb.runs.find: 1 group of seeds was trained with more than one OpenBLAS "
    .. "kernel (t base: Haswell (1), SkylakeX (1))", 1, true), err)
end)

-- a task of two seeds, its README's table
local script = dir .. "/k.lua"
util.write_file(script, [[
return wb.task{name = "k", title = "k",
  experiment = {base = {epochs = 1, hidden = 4, subset = {train = 200, test = 50}},
    seeds = {1, 2}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
local function run_task(root, env)
  local st, _, err = T.sh(string.format("env WB_ECHO=0 %s %s %s --root %s --jobs 1",
    env or "", T.wb, T.quote(script), T.quote(root)))
  T.eq(st, 0, err)
  return util.read_file(root .. "/k/README.md") or ""
end

T.test("a task's README names its runs' kernels, and the seeds averaged across two", function()
  local root = dir .. "/readme"
  local md = run_task(root)
  T.ok(md:find(" OpenBLAS kernel: " .. here .. " (2).", 1, true), md)
  T.ok(not md:find("Seeds averaged across kernels", 1, true), md)
  -- seed 2 trained again with another kernel
  for _, r in ipairs(wb.runs.load_all(root .. "/runs")) do
    if r.seed == 2 then os.remove(wb.record.path(root, "k", r.hash)) end
  end
  md = run_task(root, "OPENBLAS_CORETYPE=" .. other)
  local a, b = here, other
  if b < a then a, b = b, a end
  local both = string.format("%s (1), %s (1)", a, b)
  T.ok(md:find(" OpenBLAS kernels: " .. both .. ".", 1, true), md)
  T.ok(md:find("**Seeds averaged across kernels** (base: " .. both .. ")", 1, true), md)
  T.ok(md:find("Rows averaging seeds trained with more than one OpenBLAS kernel (base: "
    .. both .. ")", 1, true), md)
end)

-- {==== a killed run resumed with another kernel ====

-- kill: seed 1 stops in epoch 2 of 3 (an error once epoch 1's state was saved)
local rscript = dir .. "/resume.lua"
util.write_file(rscript, [[
local ex = wb.experiment({name = "rk", base = {epochs = 3, hidden = 4,
  subset = {train = 200, test = 50}}, seeds = {1}}, {root = arg[1]})
if arg[2] == "kill" then
  local ok, err = pcall(wb.train.run, ex, ex.specs[1], {callbacks = {wb.callbacks.Lambda{
    on_epoch_end = function(e) if e == 2 then error("killed", 0) end end}}})
  assert(not ok and tostring(err):find("killed$"), tostring(err))
  return
end
local r = wb.train.run(ex, ex.specs[1])
print(string.format("resumed=%s core=%s loss=%.17g", tostring(r.resumed_after_epoch),
  r.blas_core, r.history.loss[3]))
]])
local function resume(root, how, env)
  local st, out, err = T.sh(string.format("env %s %s %s %s %s", env or "", T.wb,
    T.quote(rscript), T.quote(root), how or ""))
  T.eq(st, 0, err)
  return out, err
end

T.test("a run killed with one kernel and run again with another trains from scratch, "
  .. "warned", function()
  local env = "OPENBLAS_CORETYPE=" .. other
  local straight = resume(dir .. "/straight", nil, env) -- never killed, the other kernel
  T.ok(straight:find("resumed=nil core=" .. other, 1, true), straight)
  -- the control: killed and resumed with this kernel
  resume(dir .. "/same", "kill")
  local out = resume(dir .. "/same")
  T.ok(out:find("^resumed=%d+ core=" .. here), out)
  -- killed with this kernel, run again with the other
  resume(dir .. "/two", "kill")
  local err
  out, err = resume(dir .. "/two", nil, env)
  T.ok(out:find("resumed=nil core=" .. other, 1, true), out)
  T.eq(out:match("loss=(%S+)"), straight:match("loss=(%S+)"), "as a training on one kernel")
  T.ok(err:find("warning: " .. dir .. "/two/runs/rk-", 1, true) and err:find("were computed "
    .. "with OpenBLAS's " .. here .. " kernel, this process has " .. other, 1, true)
    and err:find("not resumed, as its epochs would come from two kernels", 1, true)
    and err:find("training from scratch with " .. other, 1, true), err)
end)

-- }====

T.done()
