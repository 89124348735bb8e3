-- test_args_input.lua: a mistake in a call's arguments (wb/args.lua's
-- checks, fit's options, Dense's options, a ModelCheckpoint's) is an input
-- error: a script and -e print its one line at the caller's line, with no
-- traceback into the library that only checked it, and exit 1; pcall gets an object whose
-- tostring is that line and whose kind wb.spec.is_input_error tells.
local T = dofile("tests/lua/harness.lua")

local FIT = 'local m = wb.nn.Sequential{wb.nn.Dense(4, 2)}; '
  .. 'm:fit(wb.zeros(8, 4), wb.new_tensor({8}, "uint8"), %s)'

-- -e code's status and stderr, stdout checked empty.
local function run_e(code)
  local st, out, err = T.run_wb("-e " .. T.quote(code))
  T.eq(out, "", code)
  return st, err
end

-- err is one line, at (command line):1, holding every text of wants.
local function one_line(err, wants)
  T.eq(select(2, err:gsub("\n", "")), 1, "one line: " .. err)
  T.ok(not err:find("stack traceback", 1, true), err)
  T.ok(err:find("^workbench: %(command line%):1: "), err)
  for _, w in ipairs(wants) do T.ok(err:find(w, 1, true), w .. " in " .. err) end
end

T.test("an unknown fit option: its one line, the key and the valid ones, exit 1", function()
  local st, err = run_e(string.format(FIT, "{epohcs = 1}"))
  T.eq(st, 1, err)
  one_line(err, {"fit: unknown option 'epohcs' (valid: batch_size, ", "epochs"})
  st, err = run_e(string.format(FIT, '{epochs = "x"}'))
  T.eq(st, 1, err)
  one_line(err, {'fit: epochs must be an integer, got string "x"'})
  st, err = run_e(string.format(FIT, "5")) -- args.check: a positional argument's type
  T.eq(st, 1, err)
  one_line(err, {"bad argument #2 to 'fit' (table expected, got number)"})
end)

T.test("a bad Dense option, Activation name, Dropout rate: its one line, exit 1", function()
  local st, err = run_e("wb.nn.Dense(4, 2, {bais = false})")
  T.eq(st, 1, err)
  one_line(err, {"bad argument #3 to 'Dense' (unknown option 'bais' (valid: activation, "
    .. "bias, init, l2))"})
  st, err = run_e('wb.nn.Dense(4, 2, {bias = "no"})')
  T.eq(st, 1, err)
  one_line(err, {"bad argument #3 to 'Dense' (option 'bias': expected a boolean, got string)"})
  -- an option's value the core refuses (it was a wb.Error with a traceback)
  st, err = run_e('wb.nn.Dense(2, 2, {activation = "nope"})')
  T.eq(st, 1, err)
  one_line(err, {"bad argument #3 to 'Dense' (activation: unknown 'nope' (valid: linear, relu, "
    .. "tanh, softsign, gelu, gelu_tanh, sigmoid, elu, selu, swish, softmax))"})
  st, err = run_e('wb.nn.Dense(2, 2, {init = "xavier"})')
  T.eq(st, 1, err)
  one_line(err, {"bad argument #3 to 'Dense' (init: unknown 'xavier' (valid: glorot_uniform, "})
  st, err = run_e('wb.nn.Activation("gleu")') -- the same names
  T.eq(st, 1, err)
  one_line(err, {"bad argument #1 to 'Activation' (activation: unknown 'gleu' (valid: linear, "})
  st, err = run_e("wb.nn.Dropout(2)")
  T.eq(st, 1, err)
  one_line(err, {"bad argument #1 to 'Dropout' (rate: expected a number in [0, 1), got 2)"})
  local ok, e = pcall(function() return wb.nn.Dense(2, 2, {activation = "nope"}) end)
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  T.ok(tostring(e):find("^tests/lua/test_args_input.lua:%d+: bad argument #3 to 'Dense' "
    .. "%(activation: unknown 'nope'"), tostring(e))
end)

T.test("a bad instruments or every option of fit: its one line, exit 1", function()
  local st, err = run_e(string.format(FIT, '{instruments = {"grad_nrom"}}'))
  T.eq(st, 1, err)
  one_line(err, {"fit: instruments: unknown instrument grad_nrom (did you mean grad_norm?)"})
  st, err = run_e(string.format(FIT, '{instruments = print}')) -- not a name nor a list
  T.eq(st, 1, err)
  one_line(err, {'fit: instruments must be "economy", "full" or a list of names'})
  st, err = run_e(string.format(FIT, '{instruments = {"grad_norm"}, every = 0}'))
  T.eq(st, 1, err)
  one_line(err, {'fit: every must be a positive integer or "log", got 0'})
  st, err = run_e(string.format(FIT, '{instruments = {"alpha"}, loss = "mse"}'))
  T.eq(st, 1, err)
  one_line(err, {"fit: instrument alpha needs per-sample losses, which are computed for the "})
end)

T.test("one argument too many to a Lua function: its one line, exit 1", function()
  local st, err = run_e("wb.welch({1, 2}, {3, 4}, {}, 5)") -- (args.at_most)
  T.eq(st, 1, err)
  one_line(err, {"wb.welch: takes at most 3 arguments (a, b, opts), got 4"})
end)

-- ModelCheckpoint's refusals were plain errors with a traceback into the library
T.test("a ModelCheckpoint option it refuses: its one line, exit 1; set afterwards too", function()
  local MC = "wb.callbacks.ModelCheckpoint"
  for _, c in ipairs{
    {MC .. '{"e.safetensors", mode = "max"}', "ModelCheckpoint: mode is given with "
      .. "save_best_only = true (it says which epoch is the best to save); without it every "
      .. "epoch is saved: give save_best_only = true, or drop mode"},
    {MC .. '{"e.safetensors", verbose = true}', "ModelCheckpoint: verbose is given with "
      .. "save_best_only = true (it says when a new best is saved)"},
    {MC .. '{"e.safetensors", save_best_only = true, mode = "maxx"}',
      "ModelCheckpoint: mode must be 'auto', 'min' or 'max', got maxx"},
    {MC .. '{"e.safetensors", save_best_only = "yes"}',
      "ModelCheckpoint: save_best_only must be true or false, got string yes"},
    {MC .. '{"e{a.safetensors"}', 'ModelCheckpoint: filepath "e{a.safetensors" has a brace '
      .. "outside a field {name} or {name:spec}"},
    {MC .. "{}", "ModelCheckpoint: filepath (a string) is required"},
    {MC .. '("e.safetensors", {filepath = "f"})', "ModelCheckpoint: filepath given twice"},
    {MC .. '{"e.safetensors", save_freq = 0}', "ModelCheckpoint: save_freq must be 'epoch' or "
      .. "a number of steps (an integer > 0), got 0"},
    {MC .. '{"e.safetensors", save_state = true, save_weights_only = true}',
      "ModelCheckpoint: save_state and save_weights_only exclude each other"},
    {MC .. '{"e.safetensors", tag = "t"}',
      "ModelCheckpoint: tag must be a string, given with save_state = true"},
    {"local cb = " .. MC .. '{"e.safetensors"}; cb.mode = "max"',
      'wb.callbacks.ModelCheckpoint: cb.mode = "max": mode is given with save_best_only = true'},
  } do
    local st, err = run_e(c[1])
    T.eq(st, 1, err)
    one_line(err, {c[2]})
  end
  local ok, e = pcall(function() wb.callbacks.ModelCheckpoint{"e.safetensors", mode = "max"} end)
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  T.ok(tostring(e):find("^tests/lua/test_args_input.lua:%d+: ModelCheckpoint: mode is given"),
    tostring(e))
end)

T.test("the other callbacks' refusals when made: one line each, exit 1", function()
  local CB = "wb.callbacks."
  for _, c in ipairs{
    {CB .. "ReduceLROnPlateau{factor = 3}", "ReduceLROnPlateau: factor must be in [0, 1), got 3"},
    {CB .. "ReduceLROnPlateau{min_lr = -1}", "ReduceLROnPlateau: min_lr must be >= 0, got -1"},
    {CB .. "EarlyStopping{patience = -1}", "EarlyStopping: patience must be an integer >= 0"},
    {CB .. "EarlyStopping({}, {})", "EarlyStopping: takes one options table, got a second"},
    {CB .. "LearningRateScheduler({function() end}, {})", "LearningRateScheduler: give "
      .. "LearningRateScheduler(schedule, opts) or LearningRateScheduler{schedule, verbose = "
      .. "...}, not both"},
    {CB .. "LearningRateScheduler{3}", "LearningRateScheduler: the schedule, a function(epoch, "
      .. "lr) -> lr, is required (its first element), got number"},
    {CB .. "CSVLogger{append = true}", "CSVLogger: filename (a string) is required"},
    {CB .. "Lambda{on_epoch_end = 3}", "Lambda: on_epoch_end must be a function, got number"},
    {CB .. "TerminateOnNaN()", "TerminateOnNaN: fit always stops when the loss becomes NaN"},
    {"local cb = " .. CB .. 'EarlyStopping{}; cb.patience = "x"',
      'wb.callbacks.EarlyStopping: cb.patience = "x": patience must be an integer >= 0'},
  } do
    local st, err = run_e(c[1])
    T.eq(st, 1, err)
    one_line(err, {c[2]})
  end
end)

T.test("pcall gets the input error: its text at the caller's line, its kind", function()
  local m = wb.nn.Sequential{wb.nn.Dense(4, 2)}
  local x, y = wb.zeros(8, 4), wb.new_tensor({8}, "uint8")
  local ok, e = pcall(function() m:fit(x, y, {epohcs = 1}) end)
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  T.ok(tostring(e):find("^tests/lua/test_args_input.lua:%d+: fit: unknown option 'epohcs'"),
    tostring(e))
  ok, e = pcall(wb.nn.Dense, 4, 2, {bais = false})
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  T.ok(tostring(e):find("unknown option 'bais'", 1, true), tostring(e))
  -- a failure is no input error: it keeps its traceback
  ok, e = pcall(function() local t = nil; return t.x end)
  T.ok(not ok and not wb.spec.is_input_error(e), tostring(e))
end)

-- tryZ C2: each printed its good message and then a traceback into the
-- library, where the mistake was in the call.
T.test("a mistyped column or series, save's metadata or missing folder, ex:run() refusing "
    .. "--seeds: one line each at the caller's line", function()
  local dir = T.tmpdir()
  local st, err = run_e("local m = wb.nn.Sequential{wb.nn.Dense(4, 2)}; m:save("
    .. string.format("%q", dir .. "/m.st") .. ", {metadata = {n = 3}})")
  T.eq(st, 1, err)
  one_line(err, {"save: metadata 'n': expected a string value (safetensors metadata is "
    .. "string -> string), got a number"})
  st, err = run_e("local m = wb.nn.Sequential{wb.nn.Dense(4, 2)}; m:save_weights("
    .. string.format("%q", dir .. "/nodir/m.st") .. ")")
  T.eq(st, 73, err) -- ECREATE's status kept
  one_line(err, {dir .. "/nodir/m.st: cannot create temporary file", "(folder " .. dir
    .. "/nodir does not exist)"})
  local script = dir .. "/ex.lua"
  local f = assert(io.open(script, "w"))
  f:write(string.format([[
local ex = wb.experiment({name = "c2", base = {epochs = 1, hidden = 8,
  subset = {train = 200, test = 100}}, seeds = {1}}, {root = %q})
local runs = ex:run()
if arg[1] == "table" then print(runs:table{"test_acuracy"}) end
if arg[1] == "curves" then runs:plot_curves("val_acc") end
]], dir .. "/root"))
  f:close()
  for _, c in ipairs{
    {"table", 4, "wb.Runs:table: unknown column 'test_acuracy' (did you mean 'test_accuracy'?)"},
    {"curves", 5, "wb.Runs:plot_curves: unknown series 'val_acc' (did you mean "
      .. "'val_accuracy'?)"},
    {"--seeds 3", 3, "c2: ex:run(): the command line gives --seeds, which ex:run() does not "
      .. "read"},
  } do
    local out
    st, out, err = T.run_wb(T.quote(script) .. " " .. c[1])
    T.eq(st, 1, c[1] .. ": " .. out .. err)
    T.ok(not err:find("stack traceback", 1, true), err)
    local last = err:match("([^\n]*)\n?$")
    T.ok(last:find("workbench: " .. script .. ":" .. c[2] .. ": " .. c[3], 1, true), c[1] .. ": "
      .. err)
  end
end)

T.done()
