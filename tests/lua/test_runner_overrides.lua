-- test_runner_overrides.lua: an option that replaces a value the experiment
-- sets itself (--epochs over its epochs, --seeds over its seeds, --dataset
-- over its dataset; --quick's own note) says what it replaced, on stderr
-- and in the task's README; one equal to the experiment's own says nothing.
-- And the CSV exports' label column: the label a run is listed under
-- (wb.runs.find, printing a Runs), which the variant column alone is not.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

-- {==== what an option replaced: wb.experiment (nothing trains) ====

local function replaced(spec, options)
  local ex = wb.experiment(spec, {options = options, root = dir .. "/x"})
  local out = {}
  for _, r in ipairs(ex.replaced) do
    out[#out + 1] = r.option .. ": " .. table.concat(r.what, "; ")
  end
  return table.concat(out, " | "), ex
end

T.test("--epochs, --seeds, --dataset say what they replaced of the experiment's own",
  function()
  -- before: ex.replaced was nil; only --quick said what it replaced
  local said, ex = replaced({name = "o", base = {hidden = 8, epochs = 20},
    vary = {dropout = {0, 0.3}}, seeds = {1, 2, 5}}, {epochs = 3, seeds = 2})
  T.eq(said, "--seeds 2: seeds = {1, 2, 5} | --epochs 3: epochs = 20 (base)")
  T.eq(ex.specs[1].config.epochs, 3); T.eq(#ex.specs, 4)
  -- the experiment's defaults are its own values too, said as the default's
  said = replaced({name = "d", base = {hidden = 8}}, {epochs = 3, seeds = 2})
  T.eq(said, "--seeds 2: seeds = {1, 2, 3} (the default) | --epochs 3: epochs = 10 "
    .. "(the default)")
  said = replaced({name = "f", base = {hidden = 8, dataset = "fashion", epochs = 1}},
    {dataset = "mnist"})
  T.eq(said, "--dataset mnist: dataset = fashion (base)")
  -- an option equal to the experiment's own value replaces nothing: nothing said
  said = replaced({name = "e", base = {hidden = 8, epochs = 3}, seeds = {1, 2}},
    {epochs = 3, seeds = 2})
  T.eq(said, "")
  said = replaced({name = "m", base = {hidden = 8}}, {dataset = "mnist", seeds = 3})
  T.eq(said, "")
end)

T.test("--epochs with --quick: --epochs names the epochs, --quick the rows; runs train N",
  function()
  local said, ex = replaced({name = "qe", base = {hidden = 8, epochs = 20,
    subset = {train = 100}}}, {quick = true, epochs = 1})
  T.eq(said, "--epochs 1: epochs = 20 (base) | --quick: subset = {train=100} (base)")
  T.eq(table.concat(ex.quick_replaced, "; "), "subset = {train=100} (base)")
  -- before: a 1-epoch base stayed at 1 under --quick --epochs 2, without a word
  said, ex = replaced({name = "q1", base = {hidden = 8, epochs = 1}},
    {quick = true, epochs = 2})
  T.eq(ex.specs[1].config.epochs, 2, "--epochs 2 is every run's")
  T.eq(said, "--epochs 2: epochs = 1 (base)")
  -- --quick alone keeps a run of 1 epoch at 1 (it runs at most 2), and says the default
  said, ex = replaced({name = "q2", base = {hidden = 8}}, {quick = true})
  T.eq(said, "--quick: epochs = 10 (the default)")
  said, ex = replaced({name = "q3", base = {hidden = 8, epochs = 1}}, {quick = true})
  T.eq(said, ""); T.eq(ex.specs[1].config.epochs, 1)
end)

-- }====
-- {==== a task: stderr at the start, and the README ====

local function script(name, experiment)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
return wb.task{name = %q, title = "t", experiment = {%s},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], name, experiment))
  return path
end

local function run(path, root, extra)
  return T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 2 %s", T.wb, path, root, extra))
end

T.test("a task run with --epochs and --seeds says what they replaced: stderr, README",
  function()
  local p = script("ov", "base = {hidden = 8, epochs = 3, subset = {train = 300, "
    .. "test = 100}}, seeds = {1}")
  local root = dir .. "/ov"
  local st, _, err = run(p, root, "--epochs 1 --seeds 2")
  T.eq(st, 0, err)
  T.ok(err:find("[ov] --seeds 2 replaced what the experiment sets: seeds = {1}\n", 1, true),
    err)
  T.ok(err:find("[ov] --epochs 1 replaced what the experiment sets: epochs = 3 (base)\n", 1,
    true), err)
  -- said at the start: before the first run's progress line
  T.ok(err:find("replaced", 1, true) < (err:find("[ov 1/2]", 1, true) or 0), err)
  local md = util.read_file(root .. "/ov/README.md") or ""
  T.ok(md:find("*--seeds 2 replaced what the experiment sets: seeds = {1}.*", 1, true), md)
  T.ok(md:find("*--epochs 1 replaced what the experiment sets: epochs = 3 (base).*", 1,
    true), md)
  T.ok(md:find("replaced", 1, true) < md:find("*Produced by", 1, true), "in the header: " .. md)
  -- the experiment's own values given again: nothing replaced, nothing said
  st, _, err = run(p, root, "--epochs 3 --seeds 1")
  T.eq(st, 0, err)
  T.ok(not err:find("replaced", 1, true), err)
  md = util.read_file(root .. "/ov/README.md") or ""
  T.ok(not md:find("replaced", 1, true), md)
end)

T.test("ex:run() says what its options replaced too, as a task's plan does", function()
  local ex = wb.experiment({name = "r", base = {hidden = 8, epochs = 2, subset = {train = 300,
    test = 100}}, seeds = {1}}, {options = {epochs = 1}, root = dir .. "/r"})
  local rs, err = T.stderr_of(function() return ex:run() end)
  T.eq(#rs, 1); T.eq(#rs[1].history.loss, 1)
  T.ok(err:find("[r] --epochs 1 replaced what the experiment sets: epochs = 2 (base)\n", 1,
    true), err)
end)

-- }====
-- {==== the exports' label column ====

-- The rows of a CSV file (RFC 4180: a label holds commas, so it is quoted).
local function csv_rows(path)
  local s, rows, row, field, quoted = util.read_file(path), {}, {}, {}, false
  local i = 1
  while i <= #s do
    local c = s:sub(i, i)
    if quoted and c == '"' and s:sub(i + 1, i + 1) == '"' then field[#field + 1] = c; i = i + 1
    elseif c == '"' then quoted = not quoted
    elseif not quoted and (c == "," or c == "\n") then
      row[#row + 1] = table.concat(field); field = {}
      if c == "\n" then rows[#rows + 1] = row; row = {} end
    else field[#field + 1] = c end
    i = i + 1
  end
  return rows
end

-- A record of variant v, seed 1, with config cfg, written as the workbench writes one.
local n = 0
local function write(folder, variant, cfg)
  n = n + 1
  local c = util.copy(cfg)
  c.seed = 1
  local r = {hash = string.format("%016x", n), task = "t", variant = variant, seed = 1,
    config = c, status = "ok", history = {loss = {0.5}, val_loss = {0.6}, epochs = 1},
    metrics = {test_accuracy = 0.9}, measures = {}}
  wb.record.write(string.format("%s/t-%s.json", folder, r.hash), r)
  return r
end

T.test("export_csv's label column is the label find and printing a Runs show", function()
  local folder = dir .. "/runs"
  wb.sys.mkdir_p(folder)
  -- one variant label, two configurations (a quick and a full run): find labels them apart
  write(folder, "dropout=0", {epochs = 2, hidden = 8, subset = {train = 2000, test = 500}})
  write(folder, "dropout=0", {epochs = 20, hidden = 8})
  write(folder, "dropout=0.3", {epochs = 20, hidden = 8, dropout = 0.3})
  local rs = T.stderr_of(function() return wb.runs.find{dir = folder} end)
  local shown = {}
  for _, v in ipairs(rs:variants()) do shown[v] = true end
  local function labels(from)
    local path = dir .. "/final.csv"
    T.stderr_of(function() return wb.runs.export_csv(path, from) end)
    local rows = csv_rows(path)
    T.eq(table.concat(rows[1], ",", 1, 5), "hash,task,variant,label,seed")
    local out, seen = {}, {}
    for i = 2, #rows do
      local variant, label = rows[i][3], rows[i][4]
      T.ok(shown[label], "a label printing the Runs shows: " .. label)
      T.eq(label:sub(1, #variant), variant, "the label begins with the variant")
      T.ok(tostring(rs):find("Run t " .. label .. " seed 1", 1, true), label)
      T.ok(not seen[label], "two runs alike: " .. label); seen[label] = true
      out[#out + 1] = label
    end
    T.eq(#out, 3)
    return table.concat(out, " | ")
  end
  -- before: no label column; the variant column said dropout=0 for both
  local from_folder = labels(folder)
  T.ok(from_folder:find("dropout=0 [epochs=2", 1, true), from_folder)
  T.eq(labels(rs), from_folder, "a wb.Runs: its own labels, the same")
  -- a plain list: find's labels for it, and the list is left in its order
  local list = {rs[3], rs[1], rs[2]}
  local order = list[1].hash .. list[2].hash .. list[3].hash
  labels(list)
  T.eq(list[1].hash .. list[2].hash .. list[3].hash, order, "the list is not reordered")
end)

-- }====

T.done()
