-- test_fmt_small.lua: the text of small numbers (a statistician's finding,
-- tryE 3). wb.runs.fmt_mean_std printed every non-whole |m| < 100 with 4
-- decimals: a sharpness (C6's measure) of 7e-4 showed one digit ("0.0007 ±
-- 0.0001"), and 3e-5 read "0.0000 ± 0.0000" beside "Better beyond the
-- seeds' uncertainty". Nothing trains.
local T = dofile("tests/lua/harness.lua")

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
  T.ok(s:find("**a** 3.10e-05 ± 0.20e-05; next b 5.20e-05 ± 0.20e-05. Better beyond",
    1, true), s)
  T.ok(s:find("difference -2.10e-05, 95 % CI [", 1, true), s)
  T.ok(not s:find("0.0000", 1, true), s)
  -- task 8's quick sharpness: 3 digits, not "0.0007 ± 0.0001"
  runs = runs_of("sharpness", {{"b8", {6.1e-4, 7.3e-4, 8.2e-4}}, {"b32", {4.9e-4, 5.6e-4}}})
  tab = runs:table{"sharpness"}
  T.ok(tab:find("| b8 | 3 | 0.000720 ± 0.000105 |", 1, true), tab)
  T.ok(tab:find("| b32 | 2 | 0.000525 ± 0.000049 |", 1, true), tab)
end)

T.done()
