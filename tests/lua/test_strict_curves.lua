-- test_strict_curves.lua: curves averaged over seeds that stopped early
-- (audit I 3) and the provenance of a figure's files (audit I 7d).
-- The title said "mean over 3 seeds" where later epochs were means of 2 or 1
-- (the line jumped where a seed dropped out); the CSV had no count. Now each
-- variant has a column "<variant> n" and the title says where n falls. A
-- figure's CSV and gnuplot script said nothing of where their data came from:
-- now "# " lines name the command, commit, records (hashes, task, epochs,
-- data); plot.lua stays generic (its comment option).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"
local q = T.quote

-- A run of variant v stopped after #val epochs.
local n_made = 0
local function rec(v, seed, val)
  n_made = n_made + 1
  return {hash = string.format("%016x", n_made), task = "es", variant = v, seed = seed,
    status = "ok", config = {seed = seed, epochs = 8, subset = {train = 2000, test = 500}},
    history = {loss = val, val_loss = val, epochs = #val}, metrics = {test_accuracy = 0.9}}
end

T.test("seeds that stopped early: an n column, and the title says where n falls", function()
  local dir = T.tmpdir()
  local rs = wb.runs.Runs{rec("bs=16", 1, {0.4, 0.3, 0.3, 0.4}), rec("bs=16", 2, {0.4, 0.3, 0.3}),
    rec("bs=16", 3, {0.4, 0.3}), rec("bs=64", 1, {0.5, 0.4, 0.3}),
    rec("bs=64", 2, {0.5, 0.4, 0.3}), rec("bs=64", 3, {0.5, 0.4, 0.3})}
  local p = rs:plot_curves("val_loss")
  T.ok(p.d.title:find("val_loss (mean over 3 seeds, fewer after epoch 2 (n in the CSV), band: "
    .. "95 % CI of the mean)", 1, true), p.d.title)
  p:save(dir .. "/v.png")
  local rows = T.csv_rows(dir .. "/v.csv")
  T.eq(table.concat(rows[1], ","), "bs=16 x,bs=16,bs=16 ci95,bs=16 n,bs=64 x,bs=64,bs=64 ci95,"
    .. "bs=64 n")
  local n16, n64 = {}, {}
  for i = 2, #rows do n16[#n16 + 1] = rows[i][4]; n64[#n64 + 1] = rows[i][8] end
  T.eq(table.concat(n16, " "), "3 3 2 1")
  T.eq(table.concat(n64, " "), "3 3 3 NaN", "bs=64 has no 4th epoch: no point, NaN")
  -- all seeds to the end: the title as before
  local full = wb.runs.Runs{rec("a", 1, {1, 0.5}), rec("a", 2, {0.9, 0.4})}
  T.ok(full:plot_curves("val_loss").d.title:find("(mean over 2 seeds, band:", 1, true))
  -- step curves count the values at each step the same way
  local function steps(seed, k)
    local st = {step = {}, epoch = {}, loss = {}}
    for i = 1, k do st.step[i] = 10 * i; st.epoch[i] = 1; st.loss[i] = 1 / i + seed end
    local r = rec("s", seed, {0.5})
    r.history.steps = st
    return r
  end
  local sp = wb.runs.Runs{steps(1, 4), steps(2, 3)}:plot_curves("loss", {x = "step"})
  T.ok(sp.d.title:find("mean over 2 seeds, fewer after step 30 (n in the CSV)", 1, true),
    sp.d.title)
end)

T.test("a figure's CSV and gnuplot script name the command, commit and records", function()
  local dir = T.tmpdir()
  local rs = wb.runs.Runs{rec("a", 1, {1, 0.5}), rec("a", 2, {0.9, 0.4})}
  rs:plot_curves("val_loss"):save(dir .. "/p.png")
  local csv, gp = util.read_file(dir .. "/p.csv"), util.read_file(dir .. "/p.gp")
  for _, text in ipairs{csv, gp} do
    T.ok(text:find("# val_loss: drawn by wb.Runs:plot_curves (workbench " .. wb.version
      .. ", commit ", 1, true), text)
    T.ok(text:find("in `workbench tests/lua/test_strict_curves.lua`", 1, true), text)
    T.ok(text:find("# from 2 run records: task es; epochs 8; data mnist first 2000 training "
      .. "/ 500 test rows", 1, true), text)
    T.ok(text:find("# run hashes: " .. rs[1].hash .. " " .. rs[2].hash, 1, true), text)
  end
  T.ok(csv:find("^# "), "the comment heads the CSV")
  -- one run's figure too
  rs[2]:plot("val_loss"):save(dir .. "/r.png")
  local rcsv = util.read_file(dir .. "/r.csv")
  T.ok(rcsv:find("^# val_loss: drawn by wb.Run:plot %(workbench"), rcsv)
  T.ok(rcsv:find("# run hashes: " .. rs[2].hash .. "\n", 1, true), rcsv)
  -- a plain wb.plot figure is as before: no comment unless given
  wb.plot.lines{series = {{label = "v", y = {1, 2}}}}:save(dir .. "/plain.png")
  T.eq(util.read_file(dir .. "/plain.csv"), "x,v\n1,1\n2,2\n")
  T.check_error("comment: expected a string, got table", wb.plot.lines,
    {series = {{y = {1}}}, comment = {}})
  local py = T.python_with("pandas")
  if py then
    local st, out, err = T.sh(string.format("%s -c %s %s", py, q("import pandas, sys; "
      .. "d = pandas.read_csv(sys.argv[1], comment='#'); print(list(d.columns), len(d))"),
      q(dir .. "/p.csv")))
    T.eq(st, 0, err)
    T.ok(out:find("['epoch', 'a', 'a ci95', 'a n'] 2", 1, true), out)
  end
end)

T.test("a task's figure names its command and its runs", function()
  local dir = T.tmpdir()
  local path = dir .. "/fig.lua"
  util.write_file(path, [[
return wb.task{name = "fig", experiment = {base = {hidden = 8, epochs = 2,
  subset = {train = 200, test = 50}}, seeds = {1, 2}},
  report = function(task, runs) task:figure("val_loss", runs:plot_curves("val_loss")) end}
]])
  local root = dir .. "/root"
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", q(T.wb), q(path),
    q(root)))
  T.eq(st, 0, err)
  local csv = util.read_file(root .. "/fig/val_loss.csv")
  T.ok(csv:find("in `workbench " .. path .. " --root " .. root .. " --jobs 1`", 1, true), csv)
  local rs = wb.runs.find{root = root, task = "fig"}
  T.ok(csv:find("# run hashes: " .. rs[1].hash .. " " .. rs[2].hash, 1, true), csv)
  T.ok(csv:find("task fig; epochs 2; data mnist first 200 training / 50 test rows", 1, true),
    csv)
  T.ok(util.read_file(root .. "/fig/val_loss.gp"):find("# run hashes: ", 1, true))
end)

T.done()
