-- test_audit_trust3.lua: numbers a researcher is given stale or wrong
-- without a word. A record in the runs folder that is JSON but not a
-- well-formed record (a metric edited into a string), or that is another
-- run's (a record copied over another's file), was reused by the runner
-- as this run's: its numbers fell out of the table or stood for another
-- seed. A curve averaged a diverged run's epochs (a loss growing to 1e30)
-- that every table leaves out, and its title counted it as a seed.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

local base = T.tmpdir()
local root = base .. "/root"
local script = base .. "/tiny.lua"
util.write_file(script, [[
return wb.task{name = "tiny", title = "tiny",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 300, test = 100}},
    seeds = {1, 2}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

local function run_task()
  return T.run_wb(T.quote(script) .. " --root " .. T.quote(root) .. " --jobs 1")
end

-- the record files of the task, by seed
local function records()
  local out = {}
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    if wb.record.is_record_file(n) then
      local r = assert(wb.record.read(root .. "/runs/" .. n))
      out[r.seed] = {path = root .. "/runs/" .. n, rec = r}
    end
  end
  return out
end

T.test("runner: a record edited into a malformed one is retrained, saying why", function()
  local st, out, err = run_task()
  T.eq(st, 0, err)
  T.ok(out:find("| base | 2 |", 1, true), out)
  local recs = records()
  local path = recs[1].path
  local s = util.read_file(path)
  -- test_accuracy as a string: still JSON, no longer a record's metric
  local edited, n = s:gsub('"test_accuracy":%s*([%d%.eE%-]+)', '"test_accuracy":"%1"')
  T.eq(n, 1, "one test_accuracy in the record")
  util.write_file(path, edited)
  st, out, err = run_task()
  T.eq(st, 0, err)
  T.ok(err:find(path .. " is not a well-formed run record (field 'metrics.test_accuracy'",
    1, true), err)
  T.ok(err:find("1 cached, 1 to train", 1, true), err)
  -- the table's cell has both seeds again (was "(n = 1)" with "2" seeds)
  T.ok(out:find("| base | 2 |", 1, true) and not out:find("(n = 1)", 1, true), out)
  T.ok(wb.record.read(path), "retrained: a well-formed record again")
end)

T.test("runner: another run's record under this run's name is retrained", function()
  local recs = records()
  local want = recs[2].rec.metrics.test_accuracy
  -- seed 1's record copied over seed 2's file: its numbers stood for seed 2
  util.write_file(recs[2].path, util.read_file(recs[1].path))
  local st, out, err = run_task()
  T.eq(st, 0, err)
  T.ok(err:find(recs[2].path .. " is not this run's record (it says task tiny, run "
    .. recs[1].rec.hash .. ", variant base, seed 1; this run is base seed 2)", 1, true), err)
  T.ok(err:find("1 cached, 1 to train", 1, true), err)
  local again = assert(wb.record.read(recs[2].path))
  T.eq(again.seed, 2)
  T.eq(again.metrics.test_accuracy, want, "seed 2's own numbers")
  -- and with everything in place: all cached, nothing said
  st, out, err = run_task()
  T.eq(st, 0, err)
  T.ok(err:find("2 cached, 0 to train", 1, true) and not err:find("retraining", 1, true), err)
end)

-- {==== curves and diverged runs ====

local function rec(seed, status, vl, steps)
  return {hash = string.format("%016x", seed), task = "t", variant = "base", seed = seed,
    config = {seed = seed}, status = status, group_key = "g",
    history = {loss = vl, val_loss = vl, steps = steps and {step = {1, 2}, epoch = {1, 1},
      grad_norm = steps}},
    metrics = status == "ok" and {val_loss = vl[#vl], epochs_run = #vl} or nil}
end

T.test("curve: a diverged run's epochs are in no mean, as in a table", function()
  local rs = wb.runs.Runs{rec(1, "ok", {1, 0.5, 0.4}), rec(2, "ok", {1.2, 0.6, 0.5}),
    rec(3, "diverged", {5, 50, 500})}
  local _, m = rs:curve("base", "val_loss")
  T.near(m[1], 1.1, 1e-12)
  T.near(m[3], 0.45, 1e-12, "the table's mean at the last epoch")
  T.near(rs:stat("base", "val_loss"), m[3], 1e-12)
  local p = rs:plot_curves("val_loss")
  T.ok(p.d.title:find("mean over 2 seeds", 1, true)
    and p.d.title:find("1 run that diverged not shown", 1, true), p.d.title)
  T.near(p.d.series[1].y[3], 0.45, 1e-12)
end)

T.test("plot_curves x = step: a diverged run is in no mean; none finished: no line", function()
  local rs = wb.runs.Runs{rec(1, "ok", {1}, {2, 1}), rec(2, "ok", {1}, {4, 3}),
    rec(3, "diverged", {1}, {1e30, 1e31})}
  local p = rs:plot_curves("grad_norm", {x = "step"})
  T.eq(p.d.series[1].y[1], 3)
  T.eq(p.d.series[1].y[2], 2)
  T.ok(p.d.title:find("1 run that diverged not shown", 1, true), p.d.title)
  -- a variant all of whose runs diverged: no line, said; not an error
  local dv = wb.runs.Runs{rec(3, "diverged", {1}, {1e30, 1e31})}
  local q = dv:plot_curves("grad_norm", {x = "step"})
  T.eq(#q.d.series[1].y, 1)
  T.ok(q.d.series[1].y[1] ~= q.d.series[1].y[1], "NaN: no point")
  T.eq(q.d.series[1].label, "base (none finished)")
  local e = dv:plot_curves("val_loss") -- per epoch too
  T.eq(e.d.series[1].label, "base (none finished)")
  T.ok(q.d.title:find("no finished run; 1 run that diverged not shown", 1, true), q.d.title)
end)

-- }====

T.test("curve: an epoch only one seed reached has no interval, not a band of width 0",
    function()
  local a, b = rec(1, "ok", {1, 0.5, 0.4, 0.3}), rec(2, "ok", {1.2, 0.6})
  local p = wb.runs.Runs{a, b}:plot_curves("val_loss")
  local err = p.d.series[1].err
  T.near(err[2], wb.inference.ci_half({0.5, 0.6}), 1e-12)
  T.ok(err[3] ~= err[3] and err[4] ~= err[4], "NaN past epoch 2: " .. tostring(err[3]))
  T.near(p.d.series[1].y[4], 0.3, 1e-12, "the mean is the one seed's value")
end)

-- {==== the report and a run that failed ====

T.test("report: a run that failed is counted in the claims and the summary", function()
  local dir = T.report_sandbox()
  util.write_file(dir .. "/task09_activations.lua", [[
return wb.task{name = "task09_activations", title = "activations",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    vary = {activation = {"relu", "gelu"}}, seeds = {1, 2, 3},
    measure = function(model, cfg)
      if cfg.activation == "gelu" and cfg.seed == 3 then error("planned failure") end
      return {}
    end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s/report.lua --root %s/r --seeds 3 "
    .. "--jobs 2 task09_activations", T.quote(T.wb), dir, dir))
  T.eq(st, 1, err)
  T.ok(err:find("FAILED (exit 1)", 1, true), err)
  local md = util.read_file(dir .. "/r/REPORT.md") or ""
  -- the summary's seeds cell as the task's own table says it (was "2")
  T.ok(md:find("| task09_activations | activation=gelu | 2 of 3 (1 failed) |", 1, true), md)
  T.ok(md:find("| task09_activations | activation=relu | 3 |", 1, true), md)
  -- the claim's part counts it and is undecided, as with a diverged run
  local c7 = md:match("\n(| C7 |[^\n]*)") or ""
  T.ok(c7:find("(n = 2, 3)", 1, true) and c7:find("1 of 3 GELU seeds diverged or failed "
    .. "(left out)", 1, true), c7)
  T.ok(c7:find("| **undecided** |", 1, true), c7)
end)

-- }====

-- {==== task 7c's tuned rate from a grid of several seeds ====

T.test("study: the grid's best rate is by the mean over its seeds, not the luckiest run",
    function()
  package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
  local S = require "study"
  local n = 0
  local function r(lr, seed, v, status)
    n = n + 1
    return {hash = string.format("%016x", n), task = "task07b_lr_grid", variant =
      string.format("Adam lr=%g", lr), seed = seed, config = {lr = lr, seed = seed},
      status = status or "ok", metrics = status == nil and {val_loss = v} or nil}
  end
  -- lr 0.01: one lucky seed (0.10) but a mean of 0.40; lr 1e-3: 0.20 on every seed
  local grid = {r(0.01, 1, 0.10), r(0.01, 2, 0.55), r(0.01, 3, 0.55),
    r(1e-3, 1, 0.20), r(1e-3, 2, 0.20), r(1e-3, 3, 0.20)}
  local lr, loss = S.best_lr(grid, S.OPTIMIZERS[3])
  T.eq(lr, 1e-3)
  T.near(loss, 0.20, 1e-12, "the mean over its seeds")
  -- a rate one of whose seeds diverged does not count (its mean would flatter it)
  grid[#grid + 1] = r(0.1, 1, 0.01)
  grid[#grid + 1] = r(0.1, 2, nil, "diverged")
  T.eq(S.best_lr(grid, S.OPTIMIZERS[3]), 1e-3)
  -- one seed a rate: its value, as before
  T.eq(S.best_lr({r(0.01, 1, 0.3), r(1, 1, 0.1)}, S.OPTIMIZERS[3]), 1)
end)

-- }====

T.test("runner: a run whose hook read a command's output is in its own task's table",
    function()
  local r3 = T.tmpdir() .. "/root"
  local sc = T.tmpdir() .. "/pop.lua"
  util.write_file(sc, [[
return wb.task{name = "pop", title = "pop",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 300, test = 100}},
    seeds = {1},
    measure = function()
      local p = io.popen("echo 8"); local v = tonumber(p:read("a")); p:close()
      return {eight = v}
    end},
  report = function(task, runs) task:text(runs:table{"test_accuracy", "eight"}) end}
]])
  local st, out, err = T.run_wb(T.quote(sc) .. " --root " .. T.quote(r3) .. " --jobs 1")
  T.eq(st, 0, err)
  -- trained by this command: its record is this training (was left out of the table: it
  -- is never reused, and the gathering took it for a stale record)
  T.ok(out:find("| base | 1 | ", 1, true) and out:find(" | 8 |", 1, true), out)
end)

-- {==== a record gone while the task ran ====

T.test("runner: a record removed while the task runs is counted failed, not a seed fewer",
    function()
  local r2 = T.tmpdir() .. "/root"
  local sc = T.tmpdir() .. "/gone.lua"
  -- seed 2's measure hook removes seed 1's record (as another runner's --fresh
  -- or a hand would): seed 1 was trained first (cached on the second run)
  util.write_file(sc, string.format([[
return wb.task{name = "gone", title = "gone",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 300, test = 100}},
    seeds = {1, 2},
    measure = function(model, cfg)
      if cfg.seed == 2 and os.getenv("GONE") then
        for _, n in ipairs(wb.sys.listdir(%q)) do
          if n:match("%%.json$") and not n:match("%%.%%a+%%.json$") then
            os.remove(%q .. "/" .. n)
          end
        end
      end
      return {}
    end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], r2 .. "/runs", r2 .. "/runs"))
  local cmd = T.quote(sc) .. " --root " .. T.quote(r2) .. " --jobs 1"
  local st, out, err = T.run_wb(cmd)
  T.eq(st, 0, err)
  local seed2
  for _, n in ipairs(wb.sys.listdir(r2 .. "/runs")) do
    local r = n:match("%.json$") and not n:match("%.%a+%.json$") and wb.record.read(r2
      .. "/runs/" .. n)
    if r and r.seed == 2 then seed2 = r2 .. "/runs/" .. n end
  end
  os.remove(assert(seed2, "seed 2's record"))
  st, out, err = T.sh("GONE=1 " .. T.quote(T.wb) .. " " .. cmd .. " </dev/null")
  T.eq(st, 1, err)
  T.ok(err:find("1 cached, 1 to train", 1, true), err)
  T.ok(err:find("(base seed 1): ", 1, true) and err:find("was removed while the task ran",
    1, true), err)
  -- the table counts it (was "| base | 1 |": one seed fewer, said nowhere)
  T.ok(out:find("| base | 1 of 2 (1 failed) |", 1, true), out)
  local md = util.read_file(r2 .. "/gone/README.md")
  T.ok(md:find("**1 run(s) failed**", 1, true), md)
end)

-- }====

-- {==== wb.runs.find and runs of other code or data ====

T.test("wb.runs.find: runs of other training code or other data files are said", function()
  -- root: the tiny task's runs, trained above with this workbench and data/mnist
  local find = string.format("local rs = wb.runs.find{root = %q}; print(#rs)", root)
  local st, out, err = T.run_wb("-e " .. T.quote(find))
  T.eq(st, 0, err)
  T.eq(out, "2\n")
  T.ok(not err:find("wb.runs.find", 1, true), "nothing to say: " .. err)
  -- the same runs seen with another copy of MNIST (one test label changed)
  local alt = T.tmpdir()
  wb.sys.mkdir_p(alt .. "/mnist")
  local src = wb.data._location("mnist")
  for _, f in ipairs{"t10k-images-idx3-ubyte", "train-images-idx3-ubyte",
      "train-labels-idx1-ubyte"} do
    T.eq(T.sh(string.format("ln -s %s %s", T.quote(src .. "/" .. f),
      T.quote(alt .. "/mnist/" .. f))), 0)
  end
  local labels = util.read_file(src .. "/t10k-labels-idx1-ubyte")
  util.write_file(alt .. "/mnist/t10k-labels-idx1-ubyte", labels:sub(1, -2)
    .. string.char((labels:byte(-1) + 1) % 10))
  st, out, err = T.sh("WB_DATA=" .. T.quote(alt) .. " " .. T.quote(T.wb) .. " -e "
    .. T.quote(find) .. " </dev/null")
  T.eq(st, 0, err)
  T.eq(out, "2\n", "still listed")
  T.ok(err:find("wb.runs.find: 2 of 2 runs were trained on other data files than those "
    .. "found now (mnist " .. alt .. "/mnist;", 1, true), err)
  -- a record of other training code (an older workbench, another BLAS)
  -- (written as a workbench writes a record: with the checksum of its content)
  local recs = records()
  local r = recs[1].rec
  T.ok(type(r.identity.code) == "string", "the record names its code identity")
  r.identity.code = "0123456789abcdef"
  wb.record.write(recs[1].path, r)
  st, out, err = T.run_wb("-e " .. T.quote(find))
  T.eq(st, 0, err)
  T.ok(err:find("wb.runs.find: 1 of 2 runs were trained by other training code than this "
    .. "workbench's", 1, true), err)
  T.ok(not err:find("other data files", 1, true), err)
end)

-- }====

T.done()
