-- Every task script runs with --quick and leaves its figures (valid, not
-- blank PNGs) and its README.md; the report gathers them with the claims.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local S = require "study"
local B = require "study.beyond"
local base = T.tmpdir() -- given as --root: the --quick runs are in <base>/quick
local root = base .. "/quick"

local tasks = {"task01_predictions", "task02_custom_digit", "task03_epochs",
  "task04_early_stopping", "task05_dropout", "task06_l2", "task07_optimizers",
  "task07b_lr_grid", "task07c_tuned_optimizers",
  "task08_batch_size", "task09_activations", "task10_weights", "task11_cockpit",
  "task12_edge_of_stability", "task13_weight_spectra", "task14_noise_scale",
  "task15_landscape", "task16_keras_mnist_mlp"}

T.test("report --quick runs every task and writes REPORT.md", function()
  local st, out, err = T.sh(string.format("%s scripts/report.lua --quick --seeds 2 --root %s",
    T.wb, base))
  T.eq(st, 0, err)
  -- every study hook is identified (cached): a rule of the identity (debug.getinfo in the
  -- study's module) once made tasks 5-10's hooks unidentified, retrained at every report
  local nc = (out .. err):match("[^\n]*not cached[^\n]*")
  T.eq(nc, nil, "a study hook that cannot be identified")
  local md = util.read_file(root .. "/REPORT.md")
  T.ok(md, "REPORT.md written")
  T.ok(md:find("## Claims of the original study, tested", 1, true), "claims section")
  for _, c in ipairs{"C1", "C2", "C3", "C4", "C5", "C5 tuned", "C6", "C7"} do
    T.ok(md:find("| " .. c .. " |", 1, true), "claim row " .. c)
  end
  T.ok(md:find("Summary of every variant", 1, true))
  for _, t in ipairs(tasks) do T.ok(md:find(t .. "/", 1, true), "links into " .. t) end
  -- the "Beyond the study" table, with task 13's row from its beyond.json
  T.ok(md:find("## Beyond the study\n", 1, true), "beyond section")
  T.ok(md:find("| weight spectra of the trained 784x128 kernel | alpha ", 1, true), md)
  T.ok(md:find("Martin and Mahoney 2021", 1, true), "the row names its source")
  -- one row per experiment beyond the study, each from its task's beyond.json
  for _, t in ipairs{"task11_cockpit", "task12_edge_of_stability", "task13_weight_spectra",
    "task14_noise_scale", "task15_landscape", "task16_keras_mnist_mlp"} do
    local row = T.ok(B.read(root .. "/" .. t .. "/beyond.json"))
    T.ok(row and md:find("| **" .. row.verdict .. "** | [" .. t .. "]", 1, true),
      t .. ": " .. tostring(row and row.verdict))
    -- written by B.write (the contract checked, keys sorted: the same bytes
    -- from one report to the next; task 15's came from cjson in hash order)
    local text = io.open(root .. "/" .. t .. "/beyond.json"):read("a")
    local keys = {}
    for k in text:gmatch('"(%w+)":') do keys[#keys + 1] = k end
    -- (quick: this is a --quick report's, whose verdicts are no results)
    T.eq(table.concat(keys, " "), "experiment ours published quick source verdict",
      t .. ": beyond.json's keys in order")
  end
end)

T.test("task 12: an lr has one colour in both panels (its curve before the 2/lr lines)",
  function()
  -- (interleaved, lr = 0.3's sharpness was green and its loss orange)
  local csv = util.read_file(root .. "/task12_edge_of_stability/sharpness-1.csv") or ""
  local head
  for line in csv:gmatch("[^\n]+") do -- the first past the provenance's "# " lines
    if not line:match("^# ") then head = line; break end
  end
  head = head or ""
  -- a threshold above the y range (1.3x the highest lambda_max) draws
  -- nothing, and its key says so; one inside it says nothing more
  T.ok(head:find("^lr = 0.1 x,lr = 0.1,lr = 0.3 x,lr = 0.3,lr = 0.5 x,lr = 0.5,"
    .. "2/lr = 20 %(above the plot%) x,.*,2/lr = 4 x,2/lr = 4$"), head)
end)

T.test("task 11's row: Cockpit's alpha at the best rate, its verdict from its numbers",
  function()
  local row = T.ok(B.read(root .. "/task11_cockpit/beyond.json"))
  T.ok(row.source:find("Schneider", 1, true), row.source)
  -- "per-seed medians m, 95 % CI [lo, hi] over n seeds": three seeds, not the report's two
  local m, lo, _, n = row.ours:match("per%-seed medians (%S+), 95 %% CI %[(%S+), (%S+)%] "
    .. "over (%d+) seeds")
  T.ok(m, row.ours)
  T.eq(tonumber(n), 3, "task 11 keeps its own three seeds")
  m, lo = tonumber(m), tonumber(lo)
  T.eq(row.verdict, lo > 0 and "agree" or m > 0 and "partly" or "differ", row.ours)
  local md = util.read_file(root .. "/REPORT.md")
  T.ok(md:find("| " .. row.ours .. " |", 1, true), "the row's numbers reach REPORT.md")
  -- every comparison with Cockpit in the README says its verdict
  local readme = util.read_file(root .. "/task11_cockpit/README.md")
  for _, rate in ipairs{"best", "too small", "too large"} do
    T.ok(readme:match("\n| " .. rate .. " | [%d.e-]+ | [^|]+ | [^|]+ | %*%*(%a+)%*%* |"),
      "verdict for the " .. rate .. " rate")
  end
  T.ok(readme:find("ours **" .. ({agree = "agrees", partly = "partly agrees",
    differ = "disagrees"})[row.verdict] .. "**", 1, true), "the finding says the verdict")
end)

T.test("task 4 trains nothing: each patience's stop is read off task 3's runs", function()
  local md = util.read_file(root .. "/task04_early_stopping/README.md") or ""
  local listed = util.read_json(root .. "/task04_early_stopping/runs.json").runs
  T.eq(#listed, 2, "one run per seed")
  for _, h in ipairs(listed) do
    local r = util.read_json(root .. "/runs/task04_early_stopping-" .. h .. ".json")
    T.ok(r.reused_from and r.reused_from:find("^task03_epochs%-"), "adopted from task 3: "
      .. tostring(r.reused_from))
  end
  for _, p in ipairs(S.PATIENCES) do
    T.ok(md:find("| patience=" .. p .. " | ", 1, true), "row for patience " .. p)
  end
  -- and its README says so: it said "2 trained by this command", as if trained again
  T.ok(md:find("2 runs: 2 trained by this command (2 of them copies of an identical training "
    .. "in task03_epochs: same numbers, not trained again)", 1, true), md)
end)

T.test("S.patience_track equals one early-stopped run per patience, and leaves the run "
  .. "as it was", function()
  local r = T.tmpdir()
  wb.sys.mkdir_p(r .. "/runs")
  local base = {hidden = 16, epochs = 12, lr = 0.01, subset = {train = 1000, test = 500}}
  local function ex(name, spec)
    spec.base, spec.seeds = base, {1}
    return wb.experiment.new(spec, {name = name, root = r, command = function() end})
  end
  local a = ex("a", {callbacks = S.patience_track, measure = S.patience_measure})
  local reca = wb.train.run(a, a.specs[1])
  local ra = reca.measures
  local plain = ex("plain", {})
  local rp = wb.train.run(plain, plain.specs[1])
  T.eq(table.concat(reca.history.val_loss, " "), table.concat(rp.history.val_loss, " "),
    "the tracked run trains as a plain one")
  T.eq(reca.metrics.test_loss, rp.metrics.test_loss, "and ends with the same weights")
  local variants, fired = {}, 0
  for _, p in ipairs(S.PATIENCES) do
    variants[#variants + 1] = {label = "p" .. p,
      early_stopping = {patience = p, restore_best_weights = true}}
  end
  local b = ex("b", {variants = variants,
    measure = function(_, _, _, h) return {stopped = #h.loss} end})
  for i, s in ipairs(b.specs) do
    local p, rb = S.PATIENCES[i], wb.train.run(b, s)
    fired = fired + ra["stopped_" .. p]
    T.eq(ra["stopped_epoch_" .. p], rb.measures.stopped, "stop, patience " .. p)
    T.eq(ra["best_epoch_" .. p], rb.metrics.best_epoch, "best epoch, patience " .. p)
    T.eq(ra["test_loss_" .. p], rb.metrics.test_loss, "restored test loss, patience " .. p)
    T.eq(ra["test_accuracy_" .. p], rb.metrics.test_accuracy, "accuracy, patience " .. p)
  end
  T.ok(fired >= 1, "at least one patience fired within 12 epochs")
end)

-- The cached report runs no gnuplot: a figure whose PNG, CSV and script on
-- disk are already its own is left alone, anything else is drawn again.
T.test("a figure is drawn again exactly when its data, script or last drawing changed",
  function()
  local d = T.tmpdir()
  local path = d .. "/f.png"
  local function fig(y) return wb.plot.lines{title = "t", series = {{y = y}}} end
  local function png() return util.read_file(path) or "" end
  fig{1, 2}:save(path)
  T.ok(png():sub(2, 4) == "PNG", "drawn")
  util.write_file(path, "stand-in")
  fig{1, 2}:save(path)
  T.eq(png(), "stand-in", "same data and script: not drawn again")
  fig{1, 3}:save(path)
  T.ok(png():sub(2, 4) == "PNG", "changed data: drawn again")
  util.write_file(path, "stand-in")
  wb.plot.lines{title = "u", series = {{y = {1, 3}}}}:save(path)
  T.ok(png():sub(2, 4) == "PNG", "changed script: drawn again")
  -- a render that was interrupted leaves the script marked as not drawn
  util.write_file(path, "stand-in")
  util.write_file(d .. "/f.gp", util.read_file(d .. "/f.gp") .. "# (not drawn yet: wb.plot "
    .. "removes this line once the PNG is in place)\n")
  wb.plot.lines{title = "u", series = {{y = {1, 3}}}}:save(path)
  T.ok(png():sub(2, 4) == "PNG", "interrupted drawing: drawn again")
  os.remove(path)
  wb.plot.lines{title = "u", series = {{y = {1, 3}}}}:save(path)
  T.ok(png():sub(2, 4) == "PNG", "missing PNG: drawn again")
end)

T.test("beyond.json: the contract between a beyond task and the report", function()
  local d = T.tmpdir()
  local good = {experiment = "e", ours = "1", published = "2", source = "s", verdict = "agree"}
  local task = {name = "t", path = function(_, f) return d .. "/" .. f end}
  B.write(task, good)
  local row = T.ok(B.read(d .. "/beyond.json"))
  T.eq(row.verdict, "agree")
  local _, why = B.read(d .. "/none.json")
  T.ok(why:find("none.json: no such file", 1, true), why)
  util.write_file(d .. "/bad.json", "{not json")
  _, why = B.read(d .. "/bad.json")
  T.ok(why:find("bad.json: not JSON", 1, true), why)
  for key, value in pairs{ours = false, verdict = "maybe", extra = "x"} do
    local t = {}
    for k, v in pairs(good) do t[k] = v end
    t[key] = value or nil
    util.write_json(d .. "/k.json", t)
    _, why = B.read(d .. "/k.json")
    T.ok(why and why:find(key, 1, true), key .. ": " .. tostring(why))
    T.check_error(key, B.write, task, t)
  end
  T.eq(B.verdict(2, 2), "agree"); T.eq(B.verdict(0, 2), "differ")
  T.eq(B.verdict(1, 2), "partly")
end)

for _, t in ipairs(tasks) do
  T.test(t .. ": figures are valid non-blank PNGs, README.md written", function()
    local dir = root .. "/" .. t
    local md = util.read_file(dir .. "/README.md")
    T.ok(md and #md > 100, "README.md for " .. t)
    T.ok(not md:find("could not be drawn", 1, true), md)
    local pngs = 0
    for _, f in ipairs(wb.sys.listdir(dir)) do
      if f:match("%.png$") then
        pngs = pngs + 1
        local img = wb.image.load(dir .. "/" .. f)
        T.ok(#img >= 200 and img:shape()[2] >= 200, f .. " size")
        T.ok(img:std() > 0.01, f .. " is not blank")
        T.ok(md:find(f, 1, true), f .. " is in the README")
        local base = f:gsub("%.png$", "")
        T.ok(wb.sys.exists(dir .. "/" .. base .. ".csv"), base .. ".csv")
        T.ok(wb.sys.exists(dir .. "/" .. base .. ".gp"), base .. ".gp")
      end
    end
    T.ok(pngs >= 1, "at least one figure")
  end)
end

T.test("every table of REPORT.md and of each task README renders whole", function()
  local md = dofile("tests/lua/mdtables.lua")
  local files, total = {root .. "/REPORT.md"}, 0
  for _, t in ipairs(tasks) do files[#files + 1] = root .. "/" .. t .. "/README.md" end
  for _, f in ipairs(files) do
    local problems, n = md.check(util.read_file(f) or "", f)
    T.eq(#problems, 0, table.concat(problems, "\n"))
    total = total + n
  end
  T.ok(total >= 20, "tables found: " .. total)
  -- the checker itself finds the defect it exists for
  local bad = md.check("| a | b |\n\n|---|---|\n\n| 1 | 2 |\n", "bad")
  T.ok(#bad >= 2, "a table cut by blank lines is found")
end)

T.test("task 2 checks its files before training; unlabelled digits are left out", function()
  local r2 = T.tmpdir()
  local st, _, err = T.sh(string.format("%s scripts/task02_custom_digit.lua --quick --root %s "
    .. "nothere.png", T.wb, r2))
  T.eq(st, 66, err)
  T.ok(err:find("nothere.png", 1, true), err)
  T.ok(not wb.sys.exists(r2 .. "/runs") and not wb.sys.exists(r2 .. "/quick/runs"),
    "nothing trained")
  local png = r2 .. "/scribble.png"
  wb.image.save(wb.image.load("data/custom/" .. wb.sys.listdir("data/custom")[1]), png)
  st, _, err = T.sh(string.format("WB_ECHO=0 %s scripts/task02_custom_digit.lua --quick "
    .. "--seeds 2 --root %s %s data/custom/3_grey16.png", T.wb, base, png))
  T.eq(st, 0, err)
  local readme = util.read_file(root .. "/task02_custom_digit/README.md")
  T.ok(readme:find("| scribble.png | none |", 1, true), readme)
  T.ok(readme:find("of 1 labelled custom digits", 1, true), readme)
  T.ok(readme:find("1 unlabelled", 1, true), readme)
end)

T.test("the gap figures say why the gap starts negative (dropout active in training loss)",
  function()
  for _, t in ipairs{"task03_epochs", "task05_dropout"} do
    local md = util.read_file(root .. "/" .. t .. "/README.md") or ""
    T.ok(md:find("the gap of epoch 1 is therefore negative", 1, true), t)
  end
end)

T.test("a second report reuses every run (nothing retrained)", function()
  local st, _, err = T.sh(string.format("%s scripts/report.lua --quick --seeds 2 --root %s",
    T.wb, base))
  T.eq(st, 0, err)
  T.ok(not err:find("test accuracy", 1, true), "no run trained again: " .. err:sub(1, 400))
  T.ok(err:find("0 to train", 1, true), err:sub(1, 400))
end)

T.done()
