-- test_hooks_w.lua: audit tryW, findings 3 and 4. A layer a batch hook
-- added was caught only at the epoch's end, named "on_epoch_end" (no such
-- hook ran), after the epoch's other steps had trained without it; a layer
-- replaced at its index (model[2] = ...) was not caught at all. Now each is
-- caught after the hook that made it, saying where fit was, as a hook's own
-- error does; so are fit's own step logs a batch hook changed. Finding 4:
-- options that did nothing are refused before training: ModelCheckpoint's
-- monitor, mode, initial_value_threshold and verbose = true without
-- save_best_only (a file was written every epoch, none reported); and a
-- log_every no step of the run reaches (history.steps came back empty) is
-- said on stderr before training.
-- (grad_check = false: test_hooks_h8.lua.)
local T = dofile("tests/lua/harness.lua")

local train = T.tiny_data() -- 70 rows: 5 batches of 16

-- A fit of 2 epochs with the Lambda hooks(m) gives; returns fit's error and
-- the steps on_train_batch_end saw (hooks(m, seen) may append to seen).
local function fit_with(hooks, o)
  local m, seen = T.tiny_mlp(1), {}
  o = o or {}
  o.epochs, o.batch_size, o.verbose, o.shuffle = 2, 16, false, false
  o.optimizer, o.callbacks = wb.optim.SGD{lr = 0.1}, {wb.callbacks.Lambda(hooks(m, seen))}
  local ok, err = pcall(m.fit, m, train, o)
  T.ok(not ok, "fit raised")
  return tostring(err), seen
end

local function dense() return wb.nn.Dense(3, 3, {activation = "softmax"}) end

T.test("a layer a batch hook adds is caught after that hook, naming it", function()
  local err, seen = fit_with(function(m, seen)
    return {on_train_batch_end = function(s)
      seen[#seen + 1] = s
      if s == 2 then m:add(dense()) end
    end}
  end)
  T.eq(err, "fit: epoch 1, step 2 (batch 2 of 5), on_train_batch_end: the model's layers "
    .. "changed (2 layers at fit's start, 3 now); fit trains the parameters it started with: "
    .. "change the model between fits")
  T.eq(table.concat(seen, ","), "1,2") -- no step trained after it
  err = fit_with(function(m)
    return {on_train_batch_begin = function(s) if s == 7 then m:add(dense()) end end}
  end)
  T.ok(err:find("fit: epoch 2, step 7 (batch 2 of 5), on_train_batch_begin: the model's "
    .. "layers changed (2 layers at fit's start, 3 now)", 1, true), err)
end)

T.test("a layer a hook replaces at its index is caught, naming the hook", function()
  local err = fit_with(function(m)
    return {on_train_batch_end = function(s)
      if s == 3 then m[2] = wb.nn.Dense(12, 3, {activation = "softmax"}) end
    end}
  end)
  T.ok(err:find("fit: epoch 1, step 3 (batch 3 of 5), on_train_batch_end: the model's layers "
    .. "changed (a layer is not the one fit started with at its index)", 1, true), err)
  err = fit_with(function(m)
    return {on_epoch_end = function() m[1] = wb.nn.Dense(8, 12, {activation = "relu"}) end}
  end)
  T.ok(err:find("fit: epoch 1, on_epoch_end: the model's layers changed (a layer is not",
    1, true), err)
end)

T.test("a batch hook changing fit's own step logs: the error says where fit was", function()
  for _, c in ipairs{{"loss", 0}, {"step", 99}, {"epoch", 99}, {"batch_size", 1},
      {"accuracy", 2}, {"lr", 5}} do
    local err = fit_with(function()
      return {on_train_batch_end = function(s, logs) if s == 4 then logs[c[1]] = c[2] end end}
    end)
    T.ok(err:find("fit: epoch 1, step 4 (batch 4 of 5), on_train_batch_end: a hook changed "
      .. "logs." .. c[1] .. " from ", 1, true), err)
    T.ok(err:find("(logs.my_" .. c[1] .. ")", 1, true), err)
  end
end)

-- {==== finding 4: options that did nothing ====

T.test("ModelCheckpoint: monitor, mode, initial_value_threshold need save_best_only", function()
  local dir = os.tmpname(); os.remove(dir)
  for _, c in ipairs{{"monitor", "loss"}, {"mode", "max"}, {"initial_value_threshold", 0.1}} do
    local o = {dir .. "/e{epoch}.safetensors", [c[1]] = c[2]}
    T.check_error("ModelCheckpoint: " .. c[1] .. " is given with save_best_only = true (it says "
      .. "which epoch is the best to save); without it every epoch is saved: give "
      .. "save_best_only = true, or drop " .. c[1], wb.callbacks.ModelCheckpoint, o)
    o.save_best_only = false
    T.check_error(c[1] .. " is given with save_best_only = true", wb.callbacks.ModelCheckpoint, o)
    o.save_best_only = true
    wb.callbacks.ModelCheckpoint(o) -- with it: what its best is
  end
  -- set afterwards, as the constructor checks it
  local cb = wb.callbacks.ModelCheckpoint{dir .. "/e{epoch}.safetensors"}
  T.check_error("cb.mode = \"max\": mode is given with save_best_only = true", function()
    cb.mode = "max" end)
  T.ok(not wb.sys.exists(dir), "nothing written")
end)

-- verbose reports only a new best saved (Keras also prints every save: not here)
T.test("ModelCheckpoint: verbose needs save_best_only; verbose = false does not", function()
  local dir = os.tmpname(); os.remove(dir)
  local path = dir .. "/e{epoch}.safetensors"
  for _, v in ipairs{true, 1} do
    T.check_error("ModelCheckpoint: verbose is given with save_best_only = true (it says when a "
      .. "new best is saved); without it every epoch is saved: give save_best_only = true, or "
      .. "drop verbose", wb.callbacks.ModelCheckpoint, {path, verbose = v})
    T.check_error("verbose is given with save_best_only = true", wb.callbacks.ModelCheckpoint,
      {path, verbose = v, save_best_only = false})
    wb.callbacks.ModelCheckpoint{path, verbose = v, save_best_only = true}
  end
  -- asks for the silence there is
  wb.callbacks.ModelCheckpoint{path, verbose = false}
  wb.callbacks.ModelCheckpoint{path, verbose = 0}
  local cb = wb.callbacks.ModelCheckpoint{path}
  T.check_error("cb.verbose = true: verbose is given with save_best_only = true", function()
    cb.verbose = true end)
  T.ok(not wb.sys.exists(dir), "nothing written")
end)

-- log_every is an interval meant for the full data: the same config on a
-- few hundred rows (a study's --quick) is a short run, not a mistake, so
-- this is said on stderr before training, not refused (wb/fit_args.lua).
T.test("log_every that no step of the run reaches: said before training", function()
  local m = T.tiny_mlp(1)
  local function fit(o)
    o.batch_size, o.verbose, o.seed = 16, false, 1
    return T.stderr_of(function() return m:fit(train, o) end)
  end
  local h, said = fit{epochs = 2, log_every = 1000}
  T.eq(said, "fit: log_every = 1000 but the fit has 10 steps (2 epochs of 5): no step will be "
    .. "logged in history.steps (it records the steps 1000, 2000, ...)\n")
  T.eq(#h.steps.step, 0)
  -- a fit from initial_epoch counts its steps from 1
  said = select(2, fit{epochs = 3, initial_epoch = 1, log_every = 11})
  T.ok(said:find("log_every = 11 but the fit has 10 steps (2 epochs of 5)", 1, true), said)
  h, said = fit{epochs = 2, log_every = 10}
  T.eq(said, ""); T.eq(table.concat(h.steps.step, ","), "10") -- its last step
end)

T.test("log_every on a resume: the run's last step counts, from the saved one", function()
  local dir = os.tmpname(); os.remove(dir)
  local function cbs(boom)
    return {wb.callbacks.ModelCheckpoint{dir .. "/s{step}.safetensors", save_state = true,
      save_freq = 2}, wb.callbacks.Lambda{on_train_batch_end = function(s)
        if boom and s == 3 then error("killed") end end}}
  end
  local function fit(epochs, boom)
    local m = T.tiny_mlp(1)
    return T.stderr_of(function() return m:fit(train, {epochs = epochs, batch_size = 16,
      verbose = false, seed = 1, log_every = 25, callbacks = cbs(boom),
      resume = not boom and dir .. "/s2.safetensors" or nil}) end)
  end
  T.check_error("killed", fit, 10, true) -- 50 steps planned; a state at step 2, in epoch 1
  local h, said = fit(2)
  T.eq(said, "fit: log_every = 25 but the run, resumed after step 2, ends at step 10: no step "
    .. "will be logged in history.steps (it records the steps 25, 50, ...)\n")
  T.eq(#h.steps.step, 0)
  h, said = fit(5)
  T.eq(said, ""); T.eq(table.concat(h.steps.step, ","), "25")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.done()
