-- test_fmt_small.lua: the text of small numbers and of accuracy differences
-- (a statistician's findings, tryE 3 and 4). wb.runs.fmt_mean_std printed
-- every non-whole |m| < 100 with 4 decimals: a sharpness (C6's measure) of
-- 7e-4 showed one digit ("0.0007 ± 0.0001"), and 3e-5 read "0.0000 ±
-- 0.0000" beside "Better beyond the seeds' uncertainty". Differences of
-- accuracies, shown in percent, were written "+2.42 %", which reads as a
-- relative change: they are percentage points. Nothing trains.
local T = dofile("tests/lua/harness.lua")
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path

local f = wb.runs.fmt_mean_std

-- runs of variants {label, values per seed} with measure `name` (a metric
-- when metric is true)
local function runs_of(name, variants, metric)
  local rs = {}
  for _, v in ipairs(variants) do
    for s, x in ipairs(v[2]) do
      rs[#rs + 1] = {task = "t", variant = v[1], seed = s, hash = v[1] .. s, status = "ok",
        config = {seed = s}, metrics = {epochs_run = 1, [metric and name or "x"] = x},
        measures = {[name] = x}}
    end
  end
  return wb.runs.Runs(rs)
end

-- {==== small values keep significant digits ====

T.test("fmt_mean_std: below 0.01, 3 significant digits, the sd at the mean's place",
  function()
  T.eq(f(7.123e-4, 1.05e-4, "sharpness"), "0.000712 ± 0.000105") -- was 0.0007 ± 0.0001
  T.eq(f(0.004567, 0.00021, "sharpness"), "0.00457 ± 0.00021")
  T.eq(f(3.1e-5, 2e-6, "sharpness"), "3.10e-05 ± 0.20e-05") -- was 0.0000 ± 0.0000
  T.eq(f(-3.1e-5, 2e-6, "gap"), "-3.10e-05 ± 0.20e-05")
  T.eq(f(5e-5, nil, "sharpness"), "5.00e-05") -- a value alone
  T.eq(f(7.123e-4, 0, "sharpness", 1), "0.000712") -- one seed
  -- the sd, when larger, sets the place: the mean is 0 at its resolution
  T.eq(f(1e-6, 3e-4, "x"), "0.000001 ± 0.000300")
  T.eq(f(0, 2e-5, "x"), "0.00e-05 ± 2.00e-05")
end)

T.test("fmt_mean_std: 0.01 and above, whole numbers, percent and counts as before",
  function()
  T.eq(f(0.0123, 0.001, "val_loss"), "0.0123 ± 0.0010")
  T.eq(f(0.0099996, 0.001, "val_loss"), "0.0100 ± 0.0010") -- rounds to 0.01
  T.eq(f(0.005, 0.02, "gap"), "0.0050 ± 0.0200") -- the sd is not small
  T.eq(f(0.9812, 0.0011, "x"), "0.9812 ± 0.0011")
  T.eq(f(0, 0, "x"), "0 ± 0"); T.eq(f(0, nil, "x"), "0")
  T.eq(f(0.0007, 0.0001, "test_accuracy"), "0.07 ± 0.01 %")
  T.eq(f(2, 0, "epochs_to_target"), "2 ± 0")
  T.eq(f(123.456, 1.5, "hessian_trace"), "123.5 ± 1.5")
end)

T.test("the help of fmt_mean_std says how small values are shown", function()
  local body = table.concat(wb.help._index()["wb.runs.fmt_mean_std"].body, " ")
  T.ok(body:find("below 0.01", 1, true), body)
  T.ok(body:find("0.000712 ± 0.000105", 1, true), body)
end)

T.test("Runs:table and wb.compare show small values with the same digits", function()
  -- tryE 3's repro: both tables' cells and the sentence's means were 0.0000 / 0.0001
  local runs = runs_of("sharpness", {{"a", {3.1e-5, 3.3e-5, 2.9e-5}},
    {"b", {5.2e-5, 5.0e-5, 5.4e-5}}})
  local tab = runs:table{"sharpness"}
  T.ok(tab:find("| a | 3 | 3.10e-05 ± 0.20e-05 |", 1, true), tab)
  T.ok(tab:find("| b | 3 | 5.20e-05 ± 0.20e-05 |", 1, true), tab)
  local s = wb.compare(runs, "sharpness")
  T.ok(s:find("**a** 3.10e-05 ± 0.20e-05; next b 5.20e-05 ± 0.20e-05. Lower beyond",
    1, true), s)
  T.ok(s:find("difference -2.10e-05, 95 % CI [", 1, true), s)
  T.ok(not s:find("0.0000", 1, true), s)
  -- task 8's quick sharpness: 3 digits, not "0.0007 ± 0.0001"
  runs = runs_of("sharpness", {{"b8", {6.1e-4, 7.3e-4, 8.2e-4}}, {"b32", {4.9e-4, 5.6e-4}}})
  tab = runs:table{"sharpness"}
  T.ok(tab:find("| b8 | 3 | 0.000720 ± 0.000105 |", 1, true), tab)
  T.ok(tab:find("| b32 | 2 | 0.000525 ± 0.000049 |", 1, true), tab)
end)

-- {==== accuracy differences in percentage points ====

T.test("wb.compare: an accuracy's difference and interval are percentage points", function()
  T.eq(wb.compare.signed(-0.0242, "test_accuracy"), "-2.42 points")
  T.eq(wb.compare.signed(0.00003, "silenced_50"), "+0.003 points") -- never 0
  T.eq(wb.compare.signed(0.0176, "gap"), "+0.0176")
  local runs = runs_of("test_accuracy", {{"a", {0.981, 0.982, 0.983}},
    {"b", {0.970, 0.972, 0.971}}}, true)
  local s = wb.compare(runs, "test_accuracy")
  T.ok(s:find("**a** 98.20 ± 0.10 %; next b 97.10 ± 0.10 %.", 1, true), s) -- levels: percent
  T.ok(s:find("difference +1.10 points, 95 % CI [+0.87 points, +1.33 points]", 1, true), s)
end)

T.test("claims: an accuracy part's difference and resolution are percentage points",
  function()
  local P = require "study.claim_parts"
  local function recs(xs)
    local out = {}
    for i, x in ipairs(xs) do
      out[i] = {status = "ok", seed = i, metrics = {test_accuracy = x}}
    end
    return out
  end
  -- C3's "difference +2.42 %, 95 % CI [-0.85 %, +5.68 %]" (tryE 4)
  local a, b = recs{0.95, 0.93, 0.97, 0.90}, recs{0.94, 0.92, 0.93, 0.95}
  local p = P.part("test accuracy", a, b, "test_accuracy", false, "A", "B")
  T.ok(p.text:find("A 93.75 ± 2.99 % vs B 93.50 ± 1.29 %", 1, true), p.text)
  T.ok(p.text:find("difference +0.25 points, 95 % CI [", 1, true), p.text)
  T.ok(not p.text:find("[0-9] %%[],]"), p.text)
  P.decide({p}, "CX")
  T.ok(p.text:find("%(undecided: the seeds resolve about [0-9.]+ points%)$"), p.text)
end)

T.test("task 4's findings: restored minus last test accuracy in percentage points",
  function()
  local texts = {}
  local fake = {name = "task04_early_stopping", text = function(_, s) texts[#texts + 1] = s end,
    section = function() end, figure = function() end}
  local recs = {}
  for s, g in ipairs{0.001, 0.003, 0.002} do
    local m = {}
    for _, p in ipairs{2, 5, 10} do
      m["restore_gain_acc_" .. p], m["restore_gain_loss_" .. p] = g, 0.01 * s
      m["stopped_" .. p] = 1
      for _, k in ipairs{"stopped_epoch", "best_epoch", "test_loss", "last_test_loss",
          "test_accuracy", "last_test_accuracy"} do m[k .. "_" .. p] = 0.5 end
    end
    recs[s] = {task = "task04_early_stopping", variant = "base", seed = s, status = "ok",
      hash = "h" .. s, config = {seed = s, epochs = 3}, metrics = m,
      history = {val_loss = {0.3, 0.2, 0.25}, loss = {0.3, 0.2, 0.1}}}
  end
  dofile("scripts/task04_early_stopping.lua").report(fake, wb.runs.Runs(recs))
  local md = table.concat(texts, "\n")
  T.ok(md:find("test accuracy +0.20 points, 95 % CI [-0.05 points, +0.45 points]", 1, true), md)
  -- a loss keeps its units; a bound below 0.01 its 3 digits
  T.ok(md:find("test loss -0.0200, 95 % CI [-0.0448, +0.00484]", 1, true), md)
end)

-- 12730 read "1.273e+04" in a table (tryI): values from 100 up to a
-- million keep their digits
T.test("values from 100 to 1e6 are written out, not in an exponent", function()
  T.eq(wb.runs.fmt_mean_std(12730, 0, "examples"), "12730 ± 0")
  T.eq(wb.runs.fmt_mean_std(12730.5, 3.2, "x"), "12730.5 ± 3.2")
  T.eq(wb.runs.fmt_mean_std(-250.5, 12.25, "x"), "-250.5 ± 12.2")
  T.eq(wb.runs.fmt_mean_std(1234567.8, 3000, "x"), "1.235e+06 ± 3e+03")
end)

T.done()
