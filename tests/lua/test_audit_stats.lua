-- The trust audit of the statistics and the run records: do the verdicts,
-- intervals and tables say what the numbers say? Each defect found has a
-- test here that failed before its fix, and runs that differ in more than
-- the seed must never pool; the checks against scipy and pandas are
-- test_audit_stats_python.lua. Records are written by hand: nothing trains.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local nan = 0 / 0

-- A run record by hand: variant v, seed, metrics m (and a history h).
local function rec(v, seed, m, h, status, task)
  return {hash = string.format("%s%04d", v:gsub("%W", ""), seed), task = task or "t",
    variant = v, seed = seed, status = status or "ok", group_key = "g-" .. v,
    config = {hidden = 8, seed = seed, v = v}, metrics = m, history = h}
end

-- {==== defects: each test failed before its fix ====

T.test("NaN in a record still in memory is a missing value, as JSON null is", function()
  -- a list made by hand over records with NaN once gave "-nan ± -nan" cells
  -- and a crash in curve (ci_half refused the NaN)
  local rs = wb.runs.Runs{rec("a", 1, {test_accuracy = 0.9}, {val_loss = {1, 0.6}}),
    rec("a", 2, {test_accuracy = nan}, {val_loss = {1, nan}}),
    rec("a", 3, {test_accuracy = 0.8}, {val_loss = {1, 0.7}})}
  local tab = rs:table{"test_accuracy", "val_loss"}
  T.ok(tab:find("| a | 3 | 85.00 ± 7.07 % (n = 2) | 0.6500 ± 0.0707 (n = 2) |", 1, true), tab)
  T.ok(not tab:find("nan", 1, true), tab)
  local m = rs:stat("a", "test_accuracy")
  T.near(m, 0.85, 1e-12)
  T.eq(#rs:values("a", "val_loss"), 2)
  local x, mean, std = rs:curve("a", "val_loss")
  T.eq(#x, 2); T.near(mean[2], 0.65, 1e-12); T.near(std[2], math.sqrt(0.005), 1e-12)
  -- the step curves too
  local st = rec("a", 4, {}, {steps = {step = {1, 2}, loss = {nan, 2}}})
  local st2 = rec("a", 5, {}, {steps = {step = {1, 2}, loss = {1, 4}}})
  local xs, sm = require("wb.runs_steps").curve({st, st2}, "loss", "a")
  T.eq(#xs, 2); T.eq(sm[1], 1); T.eq(sm[2], 3)
end)

T.test("a series NaN at its last epoch has no final value, not an earlier epoch's", function()
  -- JSON null (the run's NaN) read back is a hole, and # stopped at any
  -- hole: the 'final' val_loss of seed 1 was its epoch 1, of seed 2 its
  -- epoch 3; a curve lost the epochs past the first hole
  local dir = T.tmpdir()
  util.write_file(dir .. "/t-00000000000000a1.json", '{"hash": "00000000000000a1", "task": '
    .. '"t", "variant": "v", "seed": 1, "status": "ok", "config": {"seed": 1}, "history": '
    .. '{"loss": [1, 0.5, 0.4, 0.3], "val_loss": [0.9, null, null, 0.2]}, "metrics": '
    .. '{"val_loss": 0.2, "epochs_run": 4}}')
  util.write_file(dir .. "/t-00000000000000a2.json", '{"hash": "00000000000000a2", "task": '
    .. '"t", "variant": "v", "seed": 2, "status": "ok", "config": {"seed": 2}, "history": '
    .. '{"loss": [1, 0.5, 0.4, 0.3], "val_loss": [0.8, 0.7, 0.6, null]}, "metrics": '
    .. '{"val_loss": null, "epochs_run": 4}}')
  local rs = wb.runs.find{dir = dir}
  T.eq(wb.runs.value(rs[1], "val_loss"), 0.2)
  T.eq(wb.runs.value(rs[2], "val_loss"), nil)
  T.eq(wb.runs.value(rs[2], "gap"), nil)
  T.near(wb.runs.value(rs[1], "gap"), -0.1, 1e-12)
  local tab = rs:table{"val_loss", "gap"}
  T.ok(tab:find("| v | 2 | 0.2000 (n = 1) | -0.1000 (n = 1) |", 1, true), tab)
  local x, m = rs:curve("v", "val_loss")
  T.eq(#x, 4); T.near(m[1], 0.85, 1e-12); T.eq(m[2], 0.7); T.eq(m[3], 0.6); T.eq(m[4], 0.2)
  -- an epoch no seed has a value for is NaN: a gap in the figure, not an error
  util.write_file(dir .. "/t-00000000000000a3.json", '{"hash": "00000000000000a3", "task": '
    .. '"t", "variant": "w", "seed": 1, "status": "ok", "config": {"seed": 1, "w": 1}, '
    .. '"history": {"loss": [1, 0.5, 0.4], "val_loss": [0.9, null, 0.3]}}')
  rs = wb.runs.find{dir = dir, variant = "w"}
  x, m = rs:curve("w", "val_loss")
  T.eq(#x, 3); T.ok(m[2] ~= m[2], "NaN"); T.eq(m[3], 0.3)
  T.ok(rs:plot_curves("val_loss"))
end)

T.test("wb.compare: unknown options and a bad 'better' are errors naming them", function()
  local rs = wb.runs.Runs{rec("a", 1, {x = 1}), rec("a", 2, {x = 2})}
  -- {beter = "higher"} once sorted lower-is-better without a word
  T.check_error("wb.compare: unknown option 'beter' (valid: better)", wb.compare, rs, "x",
    {beter = "higher"})
  T.check_error([[option 'better': "higher", "lower" or "neither" expected, got "Higher"]],
    wb.compare, rs, "x", {better = "Higher"})
  T.check_error("bad argument #1 to 'compare' (wb.Runs expected, got table)", wb.compare,
    {}, "x")
  T.check_error([[bad argument #4 to 'decide' ("higher" or "lower" expected, got "up")]],
    wb.compare.decide, {1, 2}, {3, 4}, "x", "up")
  T.check_error([[bad argument #4 to 'decide' ("higher" or "lower" expected, got nil)]],
    wb.compare.decide, {1, 2}, {3, 4}, "x")
  T.eq(select(2, pcall(wb.compare, rs, "x", {better = "lower"})), "")
end)

-- a weight norm's or the sharpness's "lower is better" ... "Better beyond the seeds'
-- uncertainty" judged a quantity that is no goal (tryJ)
T.test("wb.compare better = 'neither': ranked from the lowest, said lower, not better",
    function()
  local rs = wb.runs.Runs{rec("a", 1, {x = 1}), rec("a", 2, {x = 1.1}), rec("a", 3, {x = 0.9}),
    rec("b", 1, {x = 5}), rec("b", 2, {x = 5.2}), rec("b", 3, {x = 4.9})}
  local s, best = wb.compare(rs, "x", {better = "neither"})
  T.eq(best.v, "a")
  T.ok(s:find("- x (lowest first; neither direction is better): **a**", 1, true), s)
  T.ok(s:find("Lower beyond the seeds' uncertainty: difference", 1, true), s)
  T.ok(not s:find("better beyond", 1, true) and not s:find("Better", 1, true), s)
  local lo = wb.compare(rs, "x", {better = "lower"})
  T.ok(lo:find("- x (lower is better): **a**", 1, true), lo)
  T.ok(lo:find("Better beyond the seeds' uncertainty", 1, true), lo)
  -- three variants: the other end is the highest, not the "worst" (tryO 5)
  rs = wb.runs.Runs{rec("a", 1, {x = 1}), rec("a", 2, {x = 1.1}), rec("b", 1, {x = 5}),
    rec("b", 2, {x = 5.2}), rec("c", 1, {x = 9}), rec("c", 2, {x = 9.1})}
  s = wb.compare(rs, "x", {better = "neither"})
  T.ok(s:find(" Highest: c ", 1, true) and not s:find("Worst", 1, true), s)
  T.ok(wb.compare(rs, "x", {better = "lower"}):find(" Worst: c ", 1, true))
end)

T.test("wb.welch: an unknown option is an error naming it", function()
  T.check_error("wb.welch: unknown option 'conf' (valid: confidence)", wb.welch, {1, 2},
    {3, 4}, {conf = 0.9})
  T.ok(wb.welch({1, 2}, {3, 5}, {confidence = 0.9}).half > 0)
end)

T.test("wb.Run:plot: an unknown option is an error naming it", function()
  local r = wb.runs.Runs{rec("a", 1, {}, {loss = {1, 0.5}})}[1]
  -- {xlabel = ...} was once ignored without a word
  T.check_error("wb.Run:plot: unknown option 'xlabel' (valid: title, ylabel, logy)", r.plot, r,
    "loss", {xlabel = "step"})
  T.ok(r:plot("loss", {title = "x", logy = true}))
end)

-- A variant whose 2 of 5 seeds never reached the target, faster on the 3
-- that did, than one that reached it every time.
local function target_runs(task, va, vb)
  local out = {}
  for i, e in ipairs{3, 3, 4, false, false} do
    out[#out + 1] = rec(va, i, {epochs_to_target = e}, nil, nil, task)
  end
  for i, e in ipairs{5, 5, 6, 5, 6} do
    out[#out + 1] = rec(vb, i, {epochs_to_target = e}, nil, nil, task)
  end
  return out
end

T.test("wb.compare never calls better a variant whose missing seeds made it best", function()
  local s = wb.compare(wb.runs.Runs(target_runs("t", "A", "B")), "epochs_to_target")
  -- once "Better beyond the seeds' uncertainty" on the 3 seeds that got there
  T.ok(not s:find("Better beyond", 1, true), s)
  T.ok(s:find("Not decided: 2 of 5 seeds of A have no value", 1, true), s)
  T.ok(s:find("No value for A (2 of 5 seeds: target never reached)", 1, true), s)
  -- a diverged seed of the best is the same case
  local rs = {rec("A", 1, {x = 1}), rec("A", 2, {x = 1.1}), rec("A", 3, {}, nil, "diverged"),
    rec("B", 1, {x = 5}), rec("B", 2, {x = 5.1}), rec("B", 3, {x = 5.2})}
  s = wb.compare(wb.runs.Runs(rs), "x")
  T.ok(s:find("Not decided: 1 of 3 seeds of A have no value", 1, true), s)
  -- every seed has a value: the rule decides as before
  s = wb.compare(wb.runs.Runs{rec("A", 1, {x = 1}), rec("A", 2, {x = 1.1}),
    rec("B", 1, {x = 5}), rec("B", 2, {x = 5.1})}, "x", {better = "lower"})
  T.ok(s:find("Better beyond the seeds' uncertainty", 1, true), s)
end)

T.test("wb.compare: an accuracy's best variant is its highest unless told otherwise", function()
  -- the default was "lower" for every metric: the least accurate variant
  -- came out in bold as the best
  local rs = wb.runs.Runs{rec("A", 1, {test_accuracy = 0.90, loss = 0.3}),
    rec("A", 2, {test_accuracy = 0.91, loss = 0.31}), rec("B", 1, {test_accuracy = 0.80,
    loss = 0.5}), rec("B", 2, {test_accuracy = 0.81, loss = 0.52})}
  local s, best = wb.compare(rs, "test_accuracy")
  T.ok(s:find("test_accuracy (higher is better): **A**", 1, true), s)
  T.eq(best.v, "A")
  T.ok(wb.compare(rs, "loss"):find("loss (lower is better): **A**", 1, true))
  T.ok(wb.compare(rs, "test_accuracy", {better = "lower"}):find("**B**", 1, true))
end)

-- untold, "lower is better" for any name but an accuracy's: a measure of
-- one's own (w1_norm, a val/train loss ratio) got "Better beyond the seeds'
-- uncertainty" in a README, a direction nobody chose (tryZ E3)
T.test("wb.compare untold: a direction only the library knows, none for one's own measure",
    function()
  local function runs(k)
    return wb.runs.Runs{rec("a", 1, {[k] = 1}), rec("a", 2, {[k] = 1.1}), rec("a", 3, {[k] = 0.9}),
      rec("b", 1, {[k] = 5}), rec("b", 2, {[k] = 5.2}), rec("b", 3, {[k] = 4.9})}
  end
  for _, k in ipairs{"w1_norm", "ratio", "wn", "sharpness", "gap"} do
    local s, best = wb.compare(runs(k), k)
    T.eq(best.v, "a", k)
    T.ok(s:find("- " .. k .. ' (lowest first; no direction given: better = "higher"/"lower" to '
      .. "call one better): **a**", 1, true), s)
    T.ok(s:find("Lower beyond the seeds' uncertainty", 1, true), s)
    T.ok(not s:find("Better", 1, true) and not s:find("is better", 1, true), s)
  end
  -- known (a loss, the clock's, a *_to_target, an accuracy), or told: as told
  for _, c in ipairs{{"loss", "lower"}, {"val_loss", "lower"}, {"test_loss", "lower"},
      {"epochs_to_target", "lower"}, {"sec_per_epoch", "lower"}, {"accuracy", "higher"},
      {"test_accuracy", "higher"}, {"val_acc", "higher"}, {"silenced_50", "higher"},
      {"w1_norm", "higher", "higher"}, {"ratio", "lower", "lower"}, {"loss", "higher", "higher"},
      {"test_accuracy", "lower", "lower"}} do
    local s = wb.compare(runs(c[1]), c[1], c[3] and {better = c[3]})
    T.ok(s:find(string.format("- %s (%s is better): **%s**", c[1], c[2], c[2] == "lower"
      and "a" or "b"), 1, true) and s:find("Better beyond the seeds' uncertainty", 1, true), s)
  end
  local s = wb.compare(runs("loss"), "loss", {better = "neither"})
  T.ok(s:find("- loss (lowest first; neither direction is better): **a**", 1, true), s)
end)

T.test("the report's claims: seeds that never reached the target do not decide", function()
  local claims = require "study.claims"
  local recs = target_runs("task09_activations", "activation=gelu", "activation=relu")
  for _, r in ipairs(recs) do r.measures = {target = 0.97} end
  local c7
  for _, r in ipairs(claims.claims({task09_activations = recs})) do
    if r.id == "C7" then c7 = r end
  end
  -- the GELU part once held on GELU's 3 seeds that reached 97 %: "mixed"
  T.eq(c7.verdict, "undecided", c7.numbers)
  T.ok(c7.numbers:find("2 of 5 GELU seeds never reached it", 1, true), c7.numbers)
  T.ok(c7.numbers:find("the faster side's seeds that never reached the target", 1, true),
    c7.numbers)
  -- the slower side's missing seeds make it look faster, not slower: the
  -- verdict for the side that reached it every time stands
  recs = {}
  for i, e in ipairs{3, 3, 4, 3, 4} do
    recs[#recs + 1] = rec("activation=gelu", i, {epochs_to_target = e}, nil, nil, "t9")
  end
  for i, e in ipairs{5, 5, 6, false, false} do
    recs[#recs + 1] = rec("activation=relu", i, {epochs_to_target = e}, nil, nil, "t9")
  end
  for _, r in ipairs(recs) do r.measures = {target = 0.97} end
  for _, r in ipairs(claims.claims({task09_activations = recs})) do
    if r.id == "C7" then c7 = r end
  end
  T.ok(c7.numbers:find("2 of 5 ReLU seeds never reached it", 1, true), c7.numbers)
  T.eq(c7.parts[2].ok, true, c7.numbers) -- GELU is faster: the part holds
end)

-- C7's claims over task 9 runs: GELU seeds with epochs_to_target ge, ReLU
-- seeds re (false: never reached the target).
local function c7_of(ge, re)
  local claims, recs = require "study.claims", {}
  for i, e in ipairs(ge) do
    recs[#recs + 1] = rec("activation=gelu", i, {epochs_to_target = e}, nil, nil, "t9")
  end
  for i, e in ipairs(re) do
    recs[#recs + 1] = rec("activation=relu", i, {epochs_to_target = e}, nil, nil, "t9")
  end
  for _, r in ipairs(recs) do r.measures = {target = 0.97} end
  for _, r in ipairs(claims.claims({task09_activations = recs})) do
    if r.id == "C7" then return r end
  end
end

T.test("the report's claims: a side that never reached the target, by the rank test", function()
  -- every seed of one side reaching it and none of the other was once
  -- decided outright, at any number of seeds: 2 a side 'held'
  local c7 = c7_of({3, 4}, {false, false})
  T.eq(c7.parts[2].ok, nil, c7.numbers)
  T.ok(c7.numbers:find("ReLU never reached it (n = 2); every seed of one faster than every "
    .. "seed of the other: p = 0.33 (rank test, exact) (undecided)", 1, true), c7.numbers)
  c7 = c7_of({3, 4, 3, 4, 3}, {false, false, false, false, false})
  T.eq(c7.parts[2].ok, true, c7.numbers)
  T.near(c7.parts[2].p, 2 / 252, 1e-15) -- scipy's mannwhitneyu(method="exact"): 0.0079365
  c7 = c7_of({false, false, false, false, false}, {3, 4, 3, 4, 3})
  T.eq(c7.parts[2].ok, false, c7.numbers) -- GELU never reached it: the part fails
  -- the faster side missing the target in some seeds too: no verdict
  c7 = c7_of({3, 4, 3, false, false}, {false, false, false, false, false})
  T.eq(c7.parts[2].ok, nil, c7.numbers)
  T.ok(c7.numbers:find("2 of 5 GELU seeds did not either: no verdict", 1, true), c7.numbers)
end)

T.test("the report's C1 reads the last epoch past a NaN one, and the epochs run", function()
  -- a val loss NaN at epoch 4 of 5 (null) once made seed 1's 'last' epoch
  -- its third: rise 0.05 and 1 epoch after the minimum instead of 0.1 and 3
  local claims = require "study.claims"
  local recs, dir = {}, T.tmpdir()
  for sd = 1, 3 do
    local vl = sd == 1 and "[0.5, 0.3, 0.35, null, 0.4]" or "[0.5, 0.3, 0.35, 0.38, 0.4]"
    local path = string.format("%s/r%d.json", dir, sd)
    util.write_file(path, string.format('{"hash": "h%d", "task": "task03_epochs", "variant": '
      .. '"base", "seed": %d, "status": "ok", "config": {"seed": %d}, "history": {"loss": '
      .. '[0.6, 0.4, 0.3, 0.2, 0.1], "val_loss": %s}, "metrics": {"best_val_loss": 0.3, '
      .. '"best_epoch": 2, "epochs_run": 5, "val_loss": 0.4}}', sd, sd, sd, vl))
    recs[sd] = assert(wb.record.read(path))
  end
  local c1
  for _, r in ipairs(claims.claims({task03_epochs = recs})) do
    if r.id == "C1" then c1 = r end
  end
  -- (the minimum is read off the other seeds' mean: test_audit_study)
  T.ok(c1.numbers:find("val loss at the last epoch (5) minus at the epoch where the other "
    .. "seeds' mean val loss is lowest (2 ± 0): 0.1000 ± 0.0000 (n = 3)", 1, true), c1.numbers)
  T.ok(c1.numbers:find("training loss, the same epochs: -0.3000 ± 0.0000 (n = 3)", 1, true),
    c1.numbers)
  -- three seeds alike to the digit: the sign test's p of 0.25 decides nothing
  T.eq(c1.verdict, "undecided", c1.numbers)
end)

T.test("export_csv names what made each run: commit, edits since, command", function()
  local dir = T.tmpdir()
  local r = rec("a", 1, {test_accuracy = 0.9})
  r.git_commit, r.git_uncommitted = "abc1234", 2
  r.command = "WB_ECHO=0 workbench 'scripts/t.lua' --run a0001"
  local old = rec("a", 2, {test_accuracy = 0.8}) -- a record without them
  wb.runs.export_csv(dir .. "/f.csv", {r, old})
  local lines = {}
  for l in util.read_file(dir .. "/f.csv"):gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.ok(lines[1]:find("^hash,task,variant,label,seed,group_key,status,git_commit,"
    .. "git_uncommitted,command,script,hooks_read,config%."), lines[1])
  T.ok(lines[2]:find(",ok,abc1234,2,WB_ECHO=0 workbench 'scripts/t.lua' --run a0001,,,", 1,
    true), lines[2])
  T.ok(lines[3]:find(",ok,,,,,,", 1, true), lines[3])
end)

T.test("REPORT.md counts a diverged run apart and names its runs' commits", function()
  -- its table once listed only finished runs: a variant whose every seed
  -- diverged had no row at all, one with 1 of 2 diverged said "1"
  local dir, here = T.tmpdir(), os.getenv("PWD")
  local st, _, err = T.sh(string.format("cp %s/scripts/report.lua %s/ && ln -s %s/scripts/study "
    .. "%s/study", here, dir, here, dir))
  T.eq(st, 0, err)
  util.write_file(dir .. "/div.lua", [[
return wb.task{name = "div", experiment = {seeds = {1},
  base = {hidden = 8, epochs = 1, optimizer = "sgd", subset = {train = 300, test = 100}},
  vary = {lr = {0.01, 1e300}}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
  local st2, _, err2 = T.sh(string.format("WB_ECHO=0 %s %s/report.lua --root %s/r --seeds 1 "
    .. "--jobs 1 div", T.wb, dir, dir))
  T.eq(st2, 0, err2)
  local md = util.read_file(dir .. "/r/REPORT.md") or ""
  T.ok(md:find("| div | lr=0.01 | 1 | ", 1, true), md)
  T.ok(md:find("| div | lr=1e+300 | 0 of 1 (1 diverged) | n/a | n/a | n/a | n/a |", 1, true),
    md)
  -- the commit its runs were trained at, which a reused run's may not share
  -- with the report's own (once the only commit named)
  local commit = util.git_commit() or "unknown"
  T.ok(md:find("*The 2 runs were trained at commit " .. commit .. " (2)", 1, true), md)
  -- and the BLAS kernel, which moves the numbers as a commit may (REPORT.md named none)
  T.ok(md:find(", with OpenBLAS's " .. wb.sys.blas_core() .. " (2) kernel (another kernel", 1,
    true), md)
end)

-- }====

-- {==== pooling: runs that differ in more than the seed ====

T.test("runs differing in config, --quick, data, code or a hook never pool", function()
  local function specs(extra, o)
    local e = {name = "gk", base = {hidden = 8, epochs = 3, subset = {train = 100, test = 50}},
      seeds = {1, 2}}
    for k, v in pairs(extra or {}) do e[k] = v end
    return wb.experiment.new(e, {options = o or {}, root = T.tmpdir()}).specs
  end
  local base = specs()
  T.eq(base[1].group_key, base[2].group_key, "seeds of one config share a key")
  local others = {quick = specs(nil, {quick = true}), epochs = specs(nil, {epochs = 5}),
    lr = specs({base = {hidden = 8, epochs = 3, lr = 0.01, subset = {train = 100, test = 50}}}),
    build = specs({keys = {"hidden"}, build = function(cfg)
      return wb.nn.Sequential{wb.nn.Dense(784, cfg.hidden), wb.nn.Dense(cfg.hidden, 10)} end}),
    measure = specs({measure = function() return {x = 1} end})}
  if wb.sys.exists("/usr/share/datasets/fashion-mnist") then
    others.data = specs(nil, {dataset = "fashion"})
  end
  local code = wb.identity.code
  wb.identity.code = function() return "0123456789abcdef" end -- another commit's code
  local ok, s = pcall(specs)
  wb.identity.code = code
  T.ok(ok, s)
  others.code = s
  for what, sp in pairs(others) do
    T.ok(sp[1].group_key ~= base[1].group_key, what .. ": same group key")
    -- records of both under one label: refused by a list, kept apart by find
    local dir = T.tmpdir() .. "/runs"
    wb.sys.mkdir_p(dir)
    for _, x in ipairs{base[1], base[2], sp[1], sp[2]} do
      util.write_json(string.format("%s/gk-%s.json", dir, x.hash), {hash = x.hash, task = "gk",
        variant = x.variant, seed = x.seed, status = "ok", config = x.config,
        identity = x.identity, group_key = x.group_key, metrics = {test_accuracy = 0.9}})
    end
    local rs = wb.runs.Runs(wb.runs.load_all(dir))
    T.check_error("are not seeds of one configuration", rs.table, rs, {"test_accuracy"})
    T.check_error("are not seeds of one configuration", wb.compare, rs, "test_accuracy")
    local found = wb.runs.find{dir = dir}
    T.eq(#found:variants(), 2, what .. ": " .. table.concat(found:variants(), "; "))
    T.ok(found:table{"test_accuracy"}:find("| 2 | 90.00 ± 0.00 % |", 1, true), what)
  end
end)

T.test("one seed listed twice is refused, not counted as two seeds", function()
  -- a list made from two folders holding a copy of one run once said
  -- "4" seeds and narrowed the interval by a factor of about sqrt(2)
  local rs = {rec("a", 1, {x = 1}), rec("a", 2, {x = 2})}
  local list = wb.runs.Runs{rs[1], rs[2], util.copy(rs[1]), util.copy(rs[2])}
  local want = "variant 'a': seed 1 appears twice (runs a0001 and a0001); a seed is counted once"
  T.check_error(want, list.table, list, {"x"})
  T.check_error(want, list.stat, list, "a", "x")
  T.check_error(want, list.values, list, "a", "x")
  T.check_error(want, list.curve, list, "a", "x")
  T.check_error(want, wb.compare, list, "x")
  local m, s = wb.runs.Runs(rs):stat("a", "x")
  T.eq(m, 1.5); T.near(s, math.sqrt(0.5), 1e-15)
end)

-- }====

T.done()
