-- test_audit_lead8.lua: papercuts met writing a first ablation from README
-- ("Writing an ablation") and "The training loop, step by step": a key of
-- the experiment put in its base config, Keras's Dense(64, "relu"), a
-- report whose runs all failed, fit{lr = ...}, evaluate's result misread, a
-- runs:table typed at the REPL, a hook that rewrites fit's numbers.
local T = dofile("tests/lua/harness.lua")

T.test("seeds (or vary, build) in base: said to be the experiment's, not 'did you mean eps'",
  function()
  -- (before: "unknown config key 'seeds' (did you mean 'eps'?) ... (a build
  -- hook reads only the keys it declares)")
  T.check_error("x.lua:1: t: experiment.base.seeds: a key of the experiment itself, beside "
    .. "base, not a config's", wb.spec.check_experiment,
    {base = {hidden = 4, seeds = {1, 2}}}, "x.lua:1: t")
  T.check_error("experiment.variants[1].vary: a key of the experiment itself",
    wb.spec.check_experiment, {base = {hidden = 4}, variants = {{label = "a", vary = 1}}},
    "x.lua:1: t")
  T.check_error("experiment.base.seed: seeds are set by the experiment's `seeds` list",
    wb.spec.check_experiment, {base = {hidden = 4, seed = 1}}, "x.lua:1: t")
end)

T.test("Dense's options given as Keras's positional string: said how to write them", function()
  -- (before: "bad argument #3 to 'wb.nn.Dense' (table expected, got string)")
  T.check_error([[bad argument #3 to 'wb.nn.Dense' (options go in a table: {activation = "relu"})]],
    wb.nn.Dense, 784, 64, "relu")
  T.check_error("bad argument #3 to 'wb.nn.Dense' (expected a table of options {activation, bias, "
    .. "init, l2}, got number)", wb.nn.Dense, 784, 64, 5)
  T.eq(wb.nn.Dense(4, 2, {activation = "relu"}).activation, "relu")
end)

T.test("plot_curves of runs that all failed: says so, not 'expected a non-empty array'",
  function()
  local rs = wb.runs.Runs{}
  rs.failures = {{spec = {variant = "depth=1", seed = 1}}, {spec = {variant = "depth=1",
    seed = 2}}}
  T.check_error("wb.Runs:plot_curves: no run to draw 'val_loss' from (2 failed, none "
    .. "recorded: their FAILED lines say why)", function() return rs:plot_curves("val_loss") end)
  T.check_error("wb.Runs:plot_curves: no run to draw 'loss' from",
    function() return wb.runs.Runs{}:plot_curves("loss") end)
end)

local function tiny()
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
  return m, wb.rand(6, 4), wb.tensor({0, 1, 2, 0, 1, 2}, "uint8")
end

T.test("fit{lr = ...}: the error says lr is the optimizer's and how to give it", function()
  -- (before: the list of fit's options, none of which takes a learning rate)
  local m, x, y = tiny()
  T.check_error("fit: unknown option 'lr' (valid: ", m.fit, m, x, y, {lr = 0.1})
  T.check_error("(lr is the optimizer's: optimizer = wb.optim.SGD{lr = ...})", m.fit, m, x, y,
    {lr = 0.1})
  T.check_error("(beta1 is the optimizer's: optimizer = wb.optim.Adam{beta1 = ...})", m.fit, m,
    x, y, {beta1 = 0.8})
  T.check_error("fit: unknown option 'epoch' (valid: ", m.fit, m, x, y, {epoch = 1})
end)

T.test("evaluate's result: a misread key is an error, print shows its numbers", function()
  -- (before: r.acc and Keras's r[2] were nil, a score read as missing; print(r)
  -- was "table: 0x...")
  local m, x, y = tiny()
  local r = m:evaluate(x, y)
  T.ok(r.accuracy >= 0 and r.loss > 0)
  T.check_error("evaluate's result has no field 'acc'; its fields and methods: accuracy, loss",
    function() return r.acc end)
  T.check_error("evaluate's result has no key 2", function() return r[2] end)
  T.eq(tostring(r), string.format("{loss = %.4f, accuracy = %.4f}", r.loss, r.accuracy))
  local keys = {}
  for k in pairs(r) do keys[#keys + 1] = k end
  table.sort(keys)
  T.eq(table.concat(keys, " "), "accuracy loss") -- still a plain table to pairs and JSON
end)

T.test("the REPL prints text of several lines (a runs:table) as its lines, as print does",
  function()
  -- (before: one line, "| variant | seeds |\n|---|---|\n| a | 2 |\n", unreadable; then a
  -- Lua long string "[[\n| variant | ...]]", read as code, not as a table: tryM 13)
  local R = require "wb.repl"
  local P = require "wb.pretty"
  local md = "| variant | seeds |\n|---|---|\n| a | 2 |\n"
  T.eq(R.format(md), md:sub(1, -2)) -- its last newline is the printer's
  T.eq(R.format("a\nb"), "a\nb")
  T.eq(R.format("x]]y\nz"), "x]]y\nz")
  T.eq(R.format("a\tb\nc"), '"a\\9b\\nc"') -- other control bytes: quoted, seen
  T.eq(R.format("one line"), '"one line"')
  T.eq(R.format("one line\n"), '"one line\\n"') -- a line and its end: quoted, shorter
  -- longer than pretty.max_string: the lines that fit, and how many more
  local rows = {}
  for i = 1, 400 do rows[i] = string.format("| run %03d | 0.9 |", i) end
  local big = table.concat(rows, "\n") .. "\n"
  local shown = R.format(big)
  T.ok(#shown <= P.max_string + 80, #shown)
  local n = select(2, shown:gsub("\n", ""))
  T.eq(shown:match("[^\n]*$"), string.format("... (%d more lines: print it to see all %d bytes)",
    400 - n, #big))
  T.eq(shown:sub(1, #shown - #shown:match("[^\n]*$")), table.concat(rows, "\n", 1, n) .. "\n")
  local st, out, err = T.run_wb("-i", "'| a |\\n|---|\\n'\n")
  T.eq(st, 0, err)
  T.eq(out, "| a |\n|---|\n")
end)

T.test("a hook that changes fit's loss, accuracy or lr in logs is an error; its own names pass",
  function()
  -- (before: logs.loss = 5 in on_train_batch_end was history.steps.loss, and
  -- in on_epoch_end h.loss: the history said what fit never measured)
  local m, x, y = tiny()
  local function with(hooks, o)
    o = o or {}
    o.epochs, o.verbose, o.batch_size, o.callbacks = 2, false, 2, {wb.callbacks.Lambda(hooks)}
    return m:fit(x, y, o)
  end
  T.check_error("on_train_batch_end: a hook changed logs.loss from ", with,
    {on_train_batch_end = function(_, logs) logs.loss = 5 end}, {log_every = 1})
  T.check_error("to 5: fit's own numbers are recorded as it computed them; put a number of "
    .. "yours under a name of its own (logs.my_loss)", with,
    {on_train_batch_end = function(_, logs) logs.loss = 5 end}) -- not recorded: still one
  T.check_error("on_train_batch_end: a hook changed logs.lr from ", with,
    {on_train_batch_end = function(_, logs) logs.lr = 1 end}, {log_every = 1})
  -- where fit was, as a hook's other errors say
  T.check_error("fit: epoch 1, on_epoch_end: a hook changed logs.accuracy from ", with,
    {on_epoch_end = function(_, logs) logs.accuracy = 1 end})
  T.check_error("fit: epoch 2, on_epoch_end: a hook changed logs.val_loss from ", with,
    {on_epoch_end = function(epoch, logs) if epoch == 2 then logs.val_loss = 0 end end},
    {validation = {x, y}})
  T.check_error("fit: epoch 2, on_epoch_end: a hook wrote logs.note, which is not a number: "
    .. "the history records numbers only", with, {on_epoch_end = function(epoch, logs)
      if epoch == 2 then logs.note = "fine" end end})
  local h = with({on_epoch_end = function(_, logs) logs.my_loss = logs.loss * 2 end,
    on_train_batch_end = function(_, logs) logs.half = logs.loss / 2 end}, {log_every = 1})
  T.eq(h.my_loss[2], h.loss[2] * 2)
  T.eq(h.steps.half[3], h.steps.loss[3] / 2)
end)

T.test("ds[1] says how to get a row (it was 'no key 1, named by strings')", function()
  local ds = wb.data.Dataset(wb.zeros(3, 4), wb.tensor({0, 1, 2}, "uint8"))
  T.check_error("wb.Dataset has no key 1: row i is ds.images:row(i) with label "
    .. "ds.labels:get(i), or the dataset ds:subset(i, i) (rows count from 1)",
    function() return ds[1] end)
  T.check_error("wb.Dataset has no key 0", function() return ds[0] end)
  T.eq(ds.labels:get(2), 1)
  T.eq(#ds:subset(2, 2), 1)
end)

T.test("a piped -i goes on after a line's error and exits 0; a piped program exits 1", function()
  -- (README says so; as python3 -i and lua5.4 -i)
  local st, out, err = T.run_wb("-i", "error('first')\n'second'\n")
  T.eq(st, 0, err)
  T.eq(out, '"second"\n')
  T.ok(err:find("stdin:1: first", 1, true), err)
  st, out, err = T.run_wb("", "error('first')\nprint('second')\n")
  T.eq(st, 1, err)
  T.eq(out, "")
end)

T.test("wb.sys.fail with a kind it lacks names the kinds (was 'invalid option')", function()
  T.check_error("bad argument #1 to '?' (kind: unknown 'bogus', expected one of EINVAL, "
    .. "ESHAPE, ERANGE, ENOMEM, EIO, EFORMAT, ESTATE, ENONFINITE, ENOENT, ECREATE)",
    wb.sys.fail, "bogus", "x")
  local ok, e = pcall(wb.sys.fail, "EIO", "disk full")
  T.ok(not ok and wb.is_error(e) and e.code == "EIO", tostring(e))
end)

T.done()
