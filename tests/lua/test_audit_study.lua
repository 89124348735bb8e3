-- test_audit_study.lua: the study's verdicts and findings say no more than
-- their numbers support (an audit of scripts/study and the task scripts):
-- one seed decides nothing, seeds without spread are not "p = 0", findings
-- read their direction from the runs. Synthetic run records; no training.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local C = require "study.cockpit"
local B = require "study.beyond"
local claims = require "study.claims"

-- {==================== task 11: Cockpit's alpha ====================

-- A record of task 11: alphas after a first-epoch value, at rate label v.
local function cockpit_rec(v, lr, seed, alphas, loss)
  local st = {step = {1}, epoch = {1}}
  local names = {"alpha", "loss", "grad_norm", "distance", "update_size", "norm_test",
    "inner_test", "ortho_test", "hess_max", "hess_trace"}
  for _, n in ipairs(names) do st[n] = {9} end
  for i, a in ipairs(alphas) do
    st.step[i + 1], st.epoch[i + 1] = i + 1, 2
    for _, n in ipairs(names) do st[n][i + 1] = 1 end
    st.alpha[i + 1] = a
  end
  return {task = "task11_cockpit", variant = v, seed = seed, status = "ok", hash = v .. seed,
    config = {epochs = 2, lr = lr, optimizer = "sgd", seed = seed},
    history = {loss = {loss, loss}, steps = st}, metrics = {}}
end

-- Task 11's report step on synthetic records (figures not drawn): the
-- README's paragraphs, and the beyond.json row it wrote.
local function task11_report(seeds, alpha_of)
  local recs = {}
  for _, lr in ipairs{1e-3, 0.1, 1} do
    for s = 1, seeds do
      for _, v in ipairs{string.format("lr=%g", lr), string.format("lr=%g full/16", lr)} do
        recs[#recs + 1] = cockpit_rec(v, lr, s, alpha_of(lr, s), lr == 0.1 and 0.1 or 1)
      end
    end
  end
  local dir = T.tmpdir()
  local texts, row = {}, nil
  local fake = {name = "task11_cockpit", dir = dir,
    text = function(_, s) texts[#texts + 1] = s end,
    section = function(_, s) texts[#texts + 1] = "## " .. s end,
    figure = function() end,
    path = function(_, f) return dir .. "/" .. f end}
  local saved = io.stdout
  local task = dofile("scripts/task11_cockpit.lua")
  task.report(fake, wb.runs.Runs(recs))
  io.stdout = saved
  row = T.ok(B.read(dir .. "/beyond.json"))
  return table.concat(texts, "\n"), row
end

T.test("task 11, one seed: no infinite interval, no verdict (Cockpit's alpha)", function()
  local p = C.per_seed{cockpit_rec("lr=0.1", 0.1, 1, {0.2, 0.3}, 0.1)}
  T.ok(not p.text:find("inf", 1, true), p.text)
  T.ok(p.text:find("an interval needs 2 seeds", 1, true), p.text)
  T.eq(C.verdict(p), "undecided")
  T.eq(C.verdict(p, true), "undecided", "near -1 too")
  local md, row = task11_report(1, function() return {0.2, 0.3} end)
  T.eq(row.verdict, "undecided", row.ours)
  T.ok(not md:find("inf]", 1, true) and not md:find("**partly**", 1, true), md)
  -- two seeds: an interval, and a verdict from it
  md, row = task11_report(2, function(_, s) return {0.2 + s / 100, 0.3} end)
  T.ok(row.ours:find("95 % CI [", 1, true) and row.verdict ~= "undecided", row.ours)
end)

T.test("task 11's findings: the side of 0 alpha sits on is read from the runs", function()
  local md = task11_report(2, function(lr, s) return {lr == 1 and 0.3 or -0.2 - s / 100} end)
  T.ok(md:find("-0.215 (below 0) at the best rate and 0.300 (above 0)", 1, true), md)
  T.ok(not md:find("How far above 0", 1, true), "no direction typed by hand")
end)

T.test("beyond.json: undecided is a verdict of the contract", function()
  local dir = T.tmpdir()
  B.write({name = "t", path = function(_, f) return dir .. "/" .. f end},
    {experiment = "e", ours = "o", published = "p", source = "s", verdict = "undecided"})
  T.eq(T.ok(B.read(dir .. "/beyond.json")).verdict, "undecided")
end)

-- }====================

-- {==================== the claims (C1-C7) ====================

-- A record of a claims task: metrics and measures as given.
local function rec(task, v, seed, metrics, measures)
  return {task = task, variant = v, seed = seed, status = "ok", config = {seed = seed},
    metrics = metrics or {}, measures = measures or {}, history = {}}
end

local function claim(rows, id)
  for _, r in ipairs(rows) do if r.id == id then return r end end
end

T.test("claims: two seeds without spread are no 'p = 0' (Welch undefined)", function()
  -- Adam reaches the target at epoch 2 in both seeds, SGD at 5, AdamW at 3:
  -- Welch's t is 0/0; its p of 0 made C5 "supported" on two seeds
  local recs = {}
  for s = 1, 2 do
    recs[#recs + 1] = rec("task07_optimizers", "Adam", s, nil,
      {epochs_to_target = 2, target = 0.97, late_val_loss_jitter = 0.01 * s})
    recs[#recs + 1] = rec("task07_optimizers", "AdamW wd=0.004", s, nil,
      {epochs_to_target = 3, target = 0.97, late_val_loss_jitter = 0.001 * s})
    recs[#recs + 1] = rec("task07_optimizers", "SGD lr=0.01", s, nil,
      {epochs_to_target = 5, target = 0.97, late_val_loss_jitter = 0.02})
  end
  local c5 = claim(claims.claims{task07_optimizers = recs}, "C5")
  T.eq(c5.parts[1].p, 1 / 3, "rank test's exact p of 2 against 2")
  T.ok(c5.parts[1].ok == nil, "undecided")
  T.ok(c5.numbers:find("no spread on either side", 1, true), c5.numbers)
  T.ok(c5.verdict ~= "supported" and c5.verdict ~= "mixed", c5.verdict)
  -- five a side, separated: the rank test decides (2 / 252)
  recs = {}
  for s = 1, 5 do
    recs[#recs + 1] = rec("task07_optimizers", "Adam", s, nil, {epochs_to_target = 2})
    recs[#recs + 1] = rec("task07_optimizers", "SGD lr=0.01", s, nil, {epochs_to_target = 5})
  end
  c5 = claim(claims.claims{task07_optimizers = recs}, "C5")
  T.near(c5.parts[1].p, 2 / 252, 1e-12)
  T.eq(c5.parts[1].ok, true)
end)

T.test("claims: a one-sample part whose seeds all agree exactly is no 'p = 0'", function()
  -- every seed stops with the same gain: Student's t is undefined
  local recs = {}
  for s = 1, 2 do
    recs[s] = rec("task04_early_stopping", "v", s, {restore_gain_loss_2 = 0.01,
      restore_gain_loss_5 = 0.01, restore_gain_loss_10 = 0.01})
  end
  local c2 = claim(claims.claims{task04_early_stopping = recs}, "C2")
  T.eq(c2.verdict, "undecided", c2.numbers)
  T.ok(c2.numbers:find("every seed the same: p = 0.5 (sign test, exact)", 1, true), c2.numbers)
end)

T.test("C2 weighs test accuracy too: a lower loss at a lower accuracy is no support",
  function()
  -- restored weights: test loss lower by 0.02, test accuracy lower by 0.5
  -- points in every seed; C2 read the loss alone and was "supported"
  local recs = {}
  for s = 1, 5 do
    local m = {}
    for _, p in ipairs{2, 5, 10} do
      m["restore_gain_loss_" .. p] = 0.02 + s / 1000
      m["restore_gain_acc_" .. p] = -0.005 - s / 10000
    end
    recs[s] = rec("task04_early_stopping", "v", s, m)
  end
  local c2 = claim(claims.claims{task04_early_stopping = recs}, "C2")
  T.eq(#c2.parts, 6, "loss and accuracy per patience")
  T.eq(c2.kind, "mixed", c2.numbers)
  T.eq(c2.verdict, "mixed (3 hold, 3 fail)", c2.numbers)
  T.eq(c2.parts[4].ok, false, "restored weights are less accurate: that part fails")
end)

T.test("claims: a target neither side reached is said so; a missing value is no 'never'",
  function()
  local recs = {}
  for s = 1, 2 do
    recs[#recs + 1] = rec("task09_activations", "activation=gelu", s, {test_accuracy = 0.9},
      {epochs_to_target = false})
    recs[#recs + 1] = rec("task09_activations", "activation=relu", s, {test_accuracy = 0.9 +
      s / 100}, {epochs_to_target = false})
  end
  local c7 = claim(claims.claims{task09_activations = recs}, "C7")
  T.ok(c7.numbers:find("neither GELU (n = 2) nor ReLU (n = 2) reached it", 1, true),
    c7.numbers)
  -- a side whose records lack the value never "never reached" it: no rank
  -- test, no verdict (it had decided for the other side)
  recs = {}
  for s = 1, 5 do
    recs[#recs + 1] = rec("task07_optimizers", "Adam", s, nil, {epochs_to_target = 2 + s % 2})
    recs[#recs + 1] = rec("task07_optimizers", "SGD lr=0.01", s, nil, {})
  end
  local c5 = claim(claims.claims{task07_optimizers = recs}, "C5")
  T.ok(c5.parts[1].p == nil and c5.parts[1].text:find(": no data", 1, true), c5.parts[1].text)
end)

-- Task 3's records: val loss curve(seed) -> list, training loss falling.
local function c1_of(curve, seeds)
  local recs = {}
  for s = 1, seeds or 5 do
    local vl, tl = curve(s), {}
    for e = 1, #vl do tl[e] = (1 + s / 100) / e end
    local best = 1
    for e = 2, #vl do if vl[e] < vl[best] then best = e end end
    recs[s] = rec("task03_epochs", "v", s, {epochs_run = #vl, val_loss = vl[#vl],
      best_val_loss = vl[best], best_epoch = best})
    recs[s].history = {val_loss = vl, loss = tl}
  end
  return claim(claims.claims{task03_epochs = recs}, "C1")
end

T.test("C1: a flat, noisy validation loss is no overfitting", function()
  -- val loss flat from epoch 3 on, plus noise (a fixed LCG): each seed's
  -- own minimum made 'last minus minimum' and 'epochs after it' >= 0 by
  -- construction, and C1 was "supported" on pure noise
  local x = 12345
  local function noise() x = (1103515245 * x + 12345) % 2147483648; return x / 2147483648 end
  local c1 = c1_of(function()
    local vl = {0.5, 0.3}
    for e = 3, 20 do vl[e] = 0.1 + 0.01 * noise() end
    return vl
  end, 10)
  T.ok(c1.verdict ~= "supported" and c1.parts[1].ok ~= true, c1.numbers)
  -- a real rise after epoch 8 holds
  c1 = c1_of(function(s)
    local vl = {}
    for e = 1, 20 do vl[e] = 0.1 + 0.002 * (e - 8) ^ 2 / 8 + 0.0001 * s * (e % 3) end
    return vl
  end)
  T.eq(c1.verdict, "supported", c1.numbers)
  T.ok(c1.numbers:find("other seeds' mean val loss is lowest (9 ± 0)", 1, true), c1.numbers)
end)

T.test("C6 says where the curvature was read: the runs' final training losses", function()
  -- lambda_max of a batch-6000 run stopped at twice batch 32's loss was
  -- called a "sharper minimum" with nothing beside it saying so
  local recs = {}
  for s = 1, 3 do
    recs[#recs + 1] = rec("task08_batch_size", "batch_size=6000", s, {loss = 0.04 + s / 1000,
      epochs_run = 50}, {lambda_max = 3 + s / 10, hessian_trace = 30 + s})
    recs[#recs + 1] = rec("task08_batch_size", "batch_size=32", s, {loss = 0.02 + s / 1000,
      epochs_run = 10}, {lambda_max = 0.7 + s / 100, hessian_trace = 8 + s / 10})
  end
  local c6 = claim(claims.claims{task08_batch_size = recs}, "C6")
  T.ok(c6.numbers:find("read where each run stopped: final training loss 0.0420 after 50 "
    .. "epochs (6000) vs 0.0220 after 10 (32); the large batch is further from a minimum",
    1, true), c6.numbers)
  -- the Holm-adjusted p and the verdict follow the part's own p, before the
  -- note (they came after it)
  local tp -- the trace's part (by its quantity: C6's parts are not numbered here)
  for _, p in ipairs(c6.parts) do if p.name == "hessian_trace" then tp = p end end
  local trace = tp.text .. tp.note
  T.ok(trace:find("p = [^;(]+, Holm%-adjusted over C6's %d tested parts [%d.e-]+ %(%a+"), trace)
end)

T.test("C3 reads the gap in inference mode (clean_gap), not Keras's gap", function()
  -- Keras's gap falls with dropout by construction (its training loss is a
  -- running mean with dropout active); the clean gaps here are equal: the
  -- gap part must not hold, whatever Keras's gap says
  local recs = {}
  for s = 1, 3 do
    recs[#recs + 1] = rec("task05_dropout", "dropout=0.3", s, {gap = 0.01 + s / 1000},
      {clean_gap = 0.05 + s / 1000})
    recs[#recs + 1] = rec("task05_dropout", "dropout=0", s, {gap = 0.07 + s / 1000},
      {clean_gap = 0.05 + (4 - s) / 1000})
  end
  local c3 = claim(claims.claims{task05_dropout = recs}, "C3")
  T.ok(c3.numbers:find("clean_gap", 1, true), c3.numbers)
  T.ok(c3.verdict ~= "supported" and c3.verdict ~= "mixed", c3.verdict .. ": " .. c3.numbers)
end)

T.test("C4 reads the gap in inference mode (clean_gap) too, not Keras's gap", function()
  -- Keras's training loss is a running mean over the epoch: as for C3, the
  -- claim reads the gap of the final weights; here Keras's gap falls with
  -- L2 and the clean gaps are equal, so the gap part must not hold
  local recs = {}
  for s = 1, 3 do
    recs[#recs + 1] = rec("task06_l2", "l2=0.001", s, {gap = -0.02 + s / 1000},
      {clean_gap = 0.05 + s / 1000, w1_norm = 10 + s / 10})
    recs[#recs + 1] = rec("task06_l2", "l2=0", s, {gap = 0.07 + s / 1000},
      {clean_gap = 0.05 + (4 - s) / 1000, w1_norm = 48 + s / 10})
    recs[#recs + 1] = rec("task06_l2", "l2=0.01", s, {}, {w1_norm = 4 + s / 10})
  end
  local c4 = claim(claims.claims{task06_l2 = recs}, "C4")
  T.ok(c4.numbers:find("gap in inference mode (clean_gap)", 1, true), c4.numbers)
  -- the norm part holds, the gap part does not: "partly supported" (it was
  -- "mixed", as for a claim one part of which fails)
  T.eq(c4.verdict, "partly supported (1 holds, 1 undecided, none fails)", c4.numbers)
end)

T.test("claims: runs that diverged are left out, said, and leave the part undecided",
  function()
  -- the report gave the claims its finished runs only: a tuned SGD losing 2
  -- of 5 seeds to divergence read "n = 3" with nothing saying why, and its
  -- survivors' mean decided the part
  local recs = {}
  for s = 1, 5 do
    recs[#recs + 1] = rec("task09_activations", "activation=gelu", s,
      {test_accuracy = 0.980 + s / 10000})
    recs[#recs + 1] = rec("task09_activations", "activation=relu", s,
      {test_accuracy = 0.970 + s / 10000})
    if s > 3 then recs[#recs].status, recs[#recs].metrics = "diverged", {} end
  end
  local c7 = claim(claims.claims{task09_activations = recs}, "C7")
  T.ok(c7.parts[1].text:find("n = 5, 3); difference", 1, true), c7.parts[1].text)
  T.ok(c7.parts[1].text:find("2 of 5 ReLU seeds diverged or failed (left out)", 1, true),
    c7.parts[1].text)
  T.eq(c7.parts[1].ok, nil, "undecided")
  T.ok(c7.parts[1].text:find("could flatter either side", 1, true), c7.parts[1].text)
  -- the report hands the claims every listed run, not only the finished (and
  -- the runs that failed: test_audit_trust3)
  local src = require("wb.util").read_file("scripts/report.lua")
  T.ok(src:find("claims.claims_section(counted,", 1, true), "report.lua passes listed runs")
end)

T.test("claims over one seed print no '± 0' spread", function()
  local recs = {}
  recs[1] = rec("task09_activations", "activation=gelu", 1, {test_accuracy = 0.876})
  recs[2] = rec("task09_activations", "activation=relu", 1, {test_accuracy = 0.882})
  recs[3] = rec("task04_early_stopping", "v", 1, {restore_gain_loss_2 = 0.01})
  local rows = claims.claims{task09_activations = {recs[1], recs[2]},
    task04_early_stopping = {recs[3]}}
  local c7, c2 = claim(rows, "C7"), claim(rows, "C2")
  T.ok(c7.numbers:find("test accuracy: GELU 87.60 % vs ReLU 88.20 % (n = 1, 1)", 1, true),
    c7.numbers)
  T.ok(c2.numbers:find("(patience 2): 0.0100 (n = 1)", 1, true), c2.numbers)
end)

-- }====================

T.done()
