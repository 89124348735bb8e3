-- test_audit_audit7.lua: a new researcher with README.md alone (audit7):
-- runs read back from a folder (wb.runs.find, the exports), the lab bench,
-- checkpoints in Python, a new ablation in Lua. Each test is a defect found
-- there, as a user meets it.
local T = dofile("tests/lua/harness.lua")

local function q(s) return T.quote(s) end

-- {==== runs whose hook cannot be identified ====

-- A task whose build hook closes over a tensor (so it cannot be identified:
-- its runs retrain every time) and builds `width` hidden units.
local function uh_task(path, width)
  local f = assert(io.open(path, "w"))
  f:write(string.format([[
local t = wb.zeros(1)
return wb.task{name = "a7_uh", title = "unidentified hook",
  experiment = {base = {epochs = 1, subset = {train = 300, test = 100}},
    vary = {lr = {0.001}},
    build = function(cfg, data)
      local _ = t
      return wb.nn.Sequential{wb.nn.Dense(784, %d, {activation = "relu"}),
        wb.nn.Dense(%d, 10, {activation = "softmax"})}
    end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], width, width))
  f:close()
end

T.test("find: runs of a hook that cannot be identified, its code edited between two "
    .. "runs of the task, are not pooled as seeds", function()
  local dir = T.tmpdir()
  local script, root = dir .. "/uh.lua", dir .. "/root"
  uh_task(script, 8)
  local st, out, err = T.run_wb(q(script) .. " --root " .. q(root) .. " --seeds 2")
  T.eq(st, 0, out .. err)
  uh_task(script, 32) -- the hook edited; seed 2's record stays, of 8 units
  st, out, err = T.run_wb(q(script) .. " --root " .. q(root) .. " --seeds 1")
  T.eq(st, 0, out .. err)
  -- its own report pools the seeds it trained together
  T.ok(out:find("| lr=0.001 | 1 |", 1, true), out)
  local rs = wb.runs.find{root = root, task = "a7_uh"}
  T.eq(#rs, 2)
  local widths = {}
  for i = 1, 2 do widths[i] = rs[i]:model()[1].n_out end
  table.sort(widths)
  T.eq(table.concat(widths, " "), "8 32") -- two trainings of other code
  -- was "| lr=0.001 | 2 | ... ± ... |": an 8-unit and a 32-unit model averaged
  local tab = rs:table{"test_accuracy"}
  T.ok(not tab:find("| lr=0.001 | 2 |", 1, true), tab)
  T.ok(tab:find("| lr=0.001 [seed 1: a hook unidentified] | 1 |", 1, true), tab)
  T.ok(tab:find("| lr=0.001 [seed 2: a hook unidentified] | 1 |", 1, true), tab)
  -- their weights are not pooled as one variant's seeds either, in a plain list too
  T.check_error("is not a seed of the configuration of the runs before it",
    wb.lab.compare_weights, {rs[1], rs[2]}, 1)
  T.ok(wb.lab.compare_weights(rs, 1)) -- find's list: labelled apart
  -- the export's group_key keeps them apart too (pandas groups by it)
  local csv = dir .. "/runs.csv"
  wb.runs.export_csv(csv, root .. "/runs")
  local rows = T.csv_rows(csv)
  T.eq(#rows, 3) -- the header, two runs
  T.eq(rows[1][6], "group_key")
  T.ok(rows[2][6] ~= rows[3][6], rows[2][6])
  -- a task's own report pools the seeds its runner trained together (both retrain)
  st, out, err = T.run_wb(q(script) .. " --root " .. q(root) .. " --seeds 2")
  T.eq(st, 0, out .. err)
  T.ok(out:find("| lr=0.001 | 2 |", 1, true), out)
end)

-- }====

-- {==== step curves ====

T.test("plot_curves x = step: a step only one seed reached has no band (NaN), as an "
    .. "epoch has, not an sd or a min-max range of width 0", function()
  local function rec(seed, n)
    local st = {step = {}, epoch = {}, loss = {}}
    for i = 1, n do st.step[i] = 10 * i; st.epoch[i] = 1; st.loss[i] = 1 / i + seed / 100 end
    return {hash = string.format("%016x", seed), task = "t", variant = "a", seed = seed,
      config = {seed = seed}, status = "ok", history = {loss = {0.5}, epochs = 1, steps = st},
      metrics = {test_accuracy = 0.9}}
  end
  local dir = T.tmpdir()
  for _, logy in ipairs{false, true} do
    local rs = wb.runs.Runs{rec(1, 3), rec(2, 5)} -- seed 1 stopped at step 30
    rs:plot_curves("loss", {x = "step", logy = logy}):save(dir .. "/s.png")
    local rows = T.csv_rows(dir .. "/s.csv")
    T.eq(rows[1][3], logy and "a lo" or "a sd")
    T.eq(#rows, 6)
    T.ok(tonumber(rows[2][3]) and tonumber(rows[2][3]) > 0, rows[2][3]) -- two seeds: a band
    for i = 5, 6 do -- steps 40 and 50: seed 2 alone; was 0 (sd) or lo = hi
      T.eq(rows[i][3], "NaN", "step " .. rows[i][1])
      if logy then T.eq(rows[i][4], "NaN", "step " .. rows[i][1]) end
    end
  end
end)

-- }====

-- {==== export_steps' pandas example ====

T.test("export_steps: the pandas line of its help, run on an export of two learning "
    .. "rates, gives each rate's mean over its seeds, not the mean over both rates", function()
  local py = T.python_with("pandas")
  if not py then return T.missing("python3-pandas") end
  local recs = {}
  for _, lr in ipairs{0.1, 1} do
    for seed = 1, 2 do
      recs[#recs + 1] = {hash = string.format("%016x", #recs + 1), task = "t",
        variant = "lr=" .. lr, seed = seed, config = {lr = lr, seed = seed}, status = "ok",
        group_key = "g" .. lr, history = {loss = {0.5}, epochs = 1,
          steps = {step = {1, 2}, epoch = {1, 1}, grad_norm = {lr * seed, lr * seed * 2}}}}
    end
  end
  local dir = T.tmpdir()
  wb.runs.export_steps(dir .. "/steps.csv", wb.runs.Runs(recs))
  local line = wb.help.text(wb.runs.export_steps):match("%-%- (d%[[^\n]*)")
    or wb.help.text(wb.runs.export_steps):match("; (d%.groupby[^\n]*)")
  T.ok(line, wb.help.text(wb.runs.export_steps))
  local f = assert(io.open(dir .. "/m.py", "w"))
  f:write("import pandas\n", "d = pandas.read_csv('steps.csv', float_precision='round_trip')\n",
    "m = ", line, "\n", "print(' '.join('%g' % v for v in m.values))\n")
  f:close()
  local st, out, err = T.sh("cd " .. q(dir) .. " && " .. py .. " m.py")
  T.eq(st, 0, err)
  -- lr 0.1: seeds 0.1, 0.2 at step 1 -> 0.15; step 2 -> 0.3; lr 1: 1.5, 3
  -- (was step 1 -> 0.825, step 2 -> 1.65: both rates averaged)
  T.eq(out, "0.15 0.3 1.5 3\n")
end)

-- }====

-- {==== a curve's title: the seeds of every variant ====

T.test("plot_curves: a title says the range of seeds when variants have fewer (a failed "
    .. "or diverged seed), and counts failed runs", function()
  local function rec(v, seed, status)
    return {hash = string.format("%016x", seed + (v == "a" and 0 or 100)), task = "t",
      variant = v, seed = seed, config = {seed = seed, v = v}, status = status or "ok",
      group_key = "g" .. v, history = {loss = {1, 0.5}, val_loss = {1, 0.6}, epochs = 2},
      metrics = {val_loss = 0.6, epochs_run = 2}}
  end
  -- variant a: 3 seeds; b: 1 of 3 (one diverged, one left no record)
  local rs = wb.runs.Runs{rec("a", 1), rec("a", 2), rec("a", 3), rec("b", 1),
    rec("b", 2, "diverged")}
  rawset(rs, "failures", {{spec = {variant = "b", seed = 3, hash = "f"}}})
  local title = rs:plot_curves("val_loss").d.title
  -- was "mean over 3 seeds, ...; 1 run that diverged not shown": b's line is one seed
  T.ok(title:find("mean over 1 to 3 seeds", 1, true), title)
  T.ok(title:find("1 run that diverged not shown", 1, true), title)
  T.ok(title:find("1 run failed (no record)", 1, true), title)
  local even = wb.runs.Runs{rec("a", 1), rec("a", 2), rec("b", 1), rec("b", 2)}
  title = even:plot_curves("val_loss").d.title
  T.ok(title:find("mean over 2 seeds, band", 1, true), title)
end)

-- }====

-- {==== a misspelt name of a run list ====

T.test("Runs: a misspelt method or field is an error naming it and the nearest, not a "
    .. "call of nil or a silent nil", function()
  local rs = wb.runs.Runs{{hash = "0000000000000001", task = "t", variant = "a", seed = 1,
    config = {seed = 1}, status = "ok", history = {loss = {1}, epochs = 1},
    metrics = {test_accuracy = 0.5}}}
  -- was "attempt to call a nil value (method 'tabel')"
  T.check_error("wb.Runs has no field 'tabel'; did you mean table%?", -- a swap: one slip
    function() return rs:tabel{"test_accuracy"} end)
  -- was nil: `for _, r in ipairs(rs.record or {})` counted no run
  T.check_error("wb.Runs has no field 'record'; did you mean records%?",
    function() return rs.record end)
  T.check_error("did you mean variants%?", function() return rs:variant() end)
  -- the fields a list may lack are nil, as are runs past its end
  T.eq(rs.experiment, nil)
  T.eq(rs.failures, nil)
  T.eq(rs.labels, nil)
  T.eq(rs[2], nil)
  T.eq(#rs.records, 1)
  T.ok(rs:table():find("| a | 1 |", 1, true))
end)

-- }====

-- {==== a checkpoint written by hand: its architecture's keys ====

-- path's safetensors header rewritten by edit(arch), the list of layer
-- configs of its workbench.architecture, into out (as a Python script would).
local function edit_arch(path, out, edit)
  local b = T.slurp(path)
  local n = string.unpack("<I8", b)
  local cjson = require "cjson"
  local head = cjson.decode(b:sub(9, 8 + n))
  local arch = cjson.decode(head.__metadata__["workbench.architecture"])
  edit(arch)
  head.__metadata__["workbench.architecture"] = cjson.encode(arch)
  head.__metadata__["workbench.checksum"] = nil -- written by hand: no checksum of ours
  local h = cjson.encode(head)
  local f = assert(io.open(out, "wb"))
  f:write(string.pack("<I8", #h), h, b:sub(9 + n))
  f:close()
end

T.test("wb.load: a layer's key it does not take (misspelt in a file written by hand) is "
    .. "an error naming it, not a default (a linear layer)", function()
  local dir = T.tmpdir()
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(6, 4, {activation = "relu"}), wb.nn.Dropout(0.1),
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  m:save(dir .. "/m.safetensors")
  -- unchanged, the copy loads as the model
  edit_arch(dir .. "/m.safetensors", dir .. "/same.safetensors", function() end)
  T.eq(tostring(wb.load(dir .. "/same.safetensors")[1]), "Dense(6 -> 4, relu)")
  edit_arch(dir .. "/m.safetensors", dir .. "/typo.safetensors", function(a)
    a[1].activaton, a[1].activation = a[1].activation, nil
  end)
  -- was Dense(6 -> 4, linear): another model, silently
  local err = T.check_error("typo.safetensors: bad workbench.architecture metadata: layer 1 "
    .. "(Dense): unknown key 'activaton' (did you mean 'activation'?)", wb.load,
    dir .. "/typo.safetensors")
  T.ok(wb.is_error(select(2, pcall(wb.load, dir .. "/typo.safetensors"))), err)
  edit_arch(dir .. "/m.safetensors", dir .. "/drop.safetensors", function(a)
    a[2].dropout = 0.5
  end)
  T.check_error("layer 2 (Dropout): unknown key 'dropout'", wb.load, dir .. "/drop.safetensors")
end)

-- }====

-- {==== wb.compare's default direction ====

T.test("compare: silenced_* (an accuracy, in percent in the tables) is higher-is-better "
    .. "by default, as the README's rule for accuracies says", function()
  local recs = {}
  for _, v in ipairs{{"dropout=0", 0.74}, {"dropout=0.3", 0.90}} do
    for seed = 1, 3 do
      recs[#recs + 1] = {hash = string.format("%016x", #recs + 1), task = "t", variant = v[1],
        seed = seed, config = {seed = seed, v = v[1]}, status = "ok", group_key = v[1],
        history = {loss = {1}, epochs = 1},
        metrics = {silenced_50 = v[2] + seed / 1000, acc_gap = v[2] / 10 + seed / 1000}}
    end
  end
  local rs = wb.runs.Runs(recs)
  local text, best = wb.compare(rs, "silenced_50")
  -- was "(lower is better): **dropout=0** 74.20 %": the least robust called best
  T.ok(text:find("silenced_50 (higher is better): **dropout=0.3**", 1, true), text)
  T.eq(best.v, "dropout=0.3")
  -- a gap of accuracies is no accuracy: ranked from the lowest, no direction
  -- given (tryZ E3); better = "lower" still decides
  T.ok(wb.compare(rs, "acc_gap"):find("(lowest first; no direction given", 1, true))
  T.ok(wb.compare(rs, "silenced_50", {better = "lower"}):find("**dropout=0**", 1, true))
end)

-- }====

-- {==== a table's cell of epoch_time ====

T.test("fmt_mean_std: epoch_time is seconds, not an epoch count (0.04 s was \"0.0\")",
    function()
  T.eq(wb.runs.fmt_mean_std(0.0423, 0.0011, "epoch_time"), "0.0423 ± 0.0011")
  T.eq(wb.runs.fmt_mean_std(0.0423, nil, "epoch_time"), "0.0423")
  -- epoch counts keep their one decimal
  T.eq(wb.runs.fmt_mean_std(5.25, 1.5, "best_epoch"), "5.2 ± 1.5")
  T.eq(wb.runs.fmt_mean_std(3, 0, "epochs_run", 3), "3 ± 0")
end)

-- }====

T.done()
