-- test_audit_rec11.lua: a run's record says what training did (after hist8).
-- 1. A batch hook that set the lr within an epoch (a warm-up, a step
--    schedule) left no mark without log_every: history.lr holds each
--    epoch's first step's lr. Now history.lr_changes lists each change a
--    batch hook made (the step that first used it, the epoch, the lr).
--    Only lr is writable (opt.momentum = 0.5 is an error): the other
--    settings cannot change under a run; a hook's opt:reset() (moments and
--    step count dropped) is in history.optimizer_resets.
-- 2. An on_train_end hook that changed the weights left no mark, though the
--    test metrics and weights file come from them: history.weights_epoch
--    names the epoch whose weights fit leaves (nil when they are no epoch's)
--    and history.weights_changed_by the hook that set them.
-- 3. history.best_epoch, stopped_epoch and instruments were not guarded: a
--    hook could overwrite them unseen; now an error names the hook, the
--    field, old and new value.
-- 4. With restore_best_weights the record mixed epochs without saying so:
--    metrics.weights_epoch, the runner's line and tostring(run) say so.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

local function fit_with(cbs, o)
  local m = T.tiny_mlp(1)
  local train, val = T.tiny_data()
  local opts = {epochs = 3, batch_size = 16, verbose = false, validation = val,
    callbacks = cbs, seed = 1}
  for k, v in pairs(o or {}) do opts[k] = v end
  return m:fit(train, opts), m
end

-- A callback whose hooks get (model, arg, logs).
local function hooks(t)
  local cb = {on_train_begin = function(self, model) self.model = model end}
  for name, f in pairs(t) do
    local prev = cb[name]
    cb[name] = function(self, a, logs)
      if prev then prev(self, a) end
      return f(self.model, a, logs)
    end
  end
  return cb
end

-- {==== 1. the lr a batch hook sets ====

T.test("a batch hook's lr changes: history.lr_changes gives the step that first used each, "
  .. "its epoch and the lr; none without such a change", function()
  -- 5 steps an epoch: step 7 is epoch 2's second
  local h = fit_with({hooks{
    on_train_batch_end = function(m, s) if s == 7 then m.optimizer.lr = 0.01 end end,
    on_train_batch_begin = function(m, s) if s == 3 then m.optimizer.lr = 0.002 end end}})
  T.ok(h.lr_changes ~= nil, "recorded")
  T.eq(table.concat(h.lr_changes.step, " "), "3 8")
  T.eq(table.concat(h.lr_changes.epoch, " "), "1 2")
  T.eq(h.lr_changes.lr[1], 0.002); T.eq(h.lr_changes.lr[2], 0.01)
  T.eq(h.lr[1], 0.001); T.eq(h.lr[2], 0.002); T.eq(h.lr[3], 0.01) -- each epoch's first step's
  -- an epoch hook's change: history.lr says it, no lr_changes
  h = fit_with({hooks{on_epoch_end = function(m) m.optimizer.lr = m.optimizer.lr / 2 end}})
  T.eq(h.lr_changes, nil)
  T.eq(h.lr[3], 0.00025)
  -- a batch hook that leaves the lr: nothing
  h = fit_with({hooks{on_train_batch_end = function(m) m.optimizer.lr = m.optimizer.lr end}})
  T.eq(h.lr_changes, nil)
  -- the other settings cannot change under a fit
  T.check_error("cannot set field 'momentum' (only lr is writable)", fit_with,
    {hooks{on_epoch_end = function(m) m.optimizer.momentum = 0.5 end}},
    {optimizer = wb.optim.SGD{lr = 0.1, momentum = 0.9}})
end)

T.test("lr_changes survive a resume from a state saved mid-epoch, as the straight fit's",
  function()
  local path = dir .. "/mid.state.safetensors"
  local function cbs(save)
    local c = {hooks{on_train_batch_end = function(m, s)
      if s == 4 or s == 9 then m.optimizer.lr = 0.001 * s end
    end}}
    if save then c[2] = wb.callbacks.ModelCheckpoint{filepath = path, save_state = true,
      save_freq = 4} end
    return c
  end
  local straight = fit_with(cbs(true))
  local m = T.tiny_mlp(1)
  local train, val = T.tiny_data()
  -- the killer stays in the resumed fit's callbacks (a resume gives the saved fit's), off
  local kill = {at = 6}
  local function with_killer()
    local c = cbs(true)
    c[3] = {on_train_batch_end = function(_, s) if s == kill.at then error("killed", 0) end end}
    return c
  end
  local ok = pcall(m.fit, m, train, {epochs = 3, batch_size = 16, verbose = false,
    validation = val, seed = 1, callbacks = with_killer()})
  T.ok(not ok, "killed at step 6")
  kill.at = nil
  local h = T.tiny_mlp(1):fit(train, {epochs = 3, batch_size = 16, verbose = false,
    validation = val, resume = path, callbacks = with_killer()})
  T.eq(table.concat(straight.lr_changes.step, " "), "5 10")
  T.eq(table.concat(h.lr_changes.step, " "), table.concat(straight.lr_changes.step, " "))
  T.eq(math.type(h.lr_changes.step[1]), "integer")
  for i = 1, 3 do T.eq(h.loss[i], straight.loss[i]) end
end)

T.test("a hook that resets the optimizer's state: history.optimizer_resets gives the last "
  .. "step before it and its epoch, also after a resume from a state saved mid-epoch",
  function()
  local path = dir .. "/reset.state.safetensors"
  local function cbs()
    return {hooks{on_train_batch_end = function(m, s) if s == 6 then m.optimizer:reset() end end,
      on_epoch_begin = function(m, e) if e == 3 then m.optimizer:reset() end end},
      wb.callbacks.ModelCheckpoint{filepath = path, save_state = true, save_freq = 7}}
  end
  local straight = fit_with(cbs())
  T.eq(table.concat(straight.optimizer_resets.step, " "), "6 10")
  T.eq(table.concat(straight.optimizer_resets.epoch, " "), "2 3")
  T.eq(fit_with({}).optimizer_resets, nil)
  local n = 0 -- an optimizer of the user's (a table with step) has no step count
  T.eq(fit_with({}, {optimizer = {step = function() n = n + 1 end}}).optimizer_resets, nil)
  T.eq(n, 15)
  local m = T.tiny_mlp(1)
  local train, val = T.tiny_data()
  -- the killer stays in the resumed fit's callbacks (a resume gives the saved fit's), off
  local kill = {at = 9}
  local function with_killer()
    local c = cbs()
    c[3] = {on_train_batch_end = function(_, s) if s == kill.at then error("killed", 0) end end}
    return c
  end
  T.ok(not pcall(m.fit, m, train, {epochs = 3, batch_size = 16, verbose = false,
    validation = val, seed = 1, callbacks = with_killer()}), "killed at step 9, saved at 7")
  kill.at = nil
  local h = T.tiny_mlp(1):fit(train, {epochs = 3, batch_size = 16, verbose = false,
    validation = val, resume = path, callbacks = with_killer()})
  T.eq(table.concat(h.optimizer_resets.step, " "), "6 10")
  T.eq(math.type(h.optimizer_resets.step[1]), "integer")
  for i = 1, 3 do T.eq(h.loss[i], straight.loss[i]) end
end)

-- }====
-- {==== 2. which weights fit leaves ====

T.test("history.weights_epoch: the last epoch's; EarlyStopping's restored best epoch; nil "
  .. "with weights_changed_by naming the on_train_end hook that set weights of no epoch",
  function()
  local h = fit_with({})
  T.eq(h.weights_epoch, 3); T.eq(h.weights_changed_by, nil)
  -- min_delta = 10: no epoch improves on the first
  local es = wb.callbacks.EarlyStopping{min_delta = 10, patience = 10,
    restore_best_weights = true}
  h = fit_with({es})
  T.eq(h.best_epoch, 1); T.eq(h.weights_epoch, 1); T.eq(h.weights_changed_by, nil)
  local zero = hooks{on_train_end = function(m)
    for _, p in ipairs(m:parameters()) do p:fill(0) end
  end}
  h = fit_with({wb.callbacks.EarlyStopping{patience = 10}, zero})
  T.eq(h.weights_epoch, nil)
  -- named by where its hook is defined (was "table: 0x..."): here the
  -- hooks() wrapper of this file
  T.ok(tostring(h.weights_changed_by):find("^the on_train_end of callback 2 %(a table with "
    .. "on_train_end at tests/lua/test_audit_rec11.lua:%d+%)$"), tostring(h.weights_changed_by))
  local line = debug.getinfo(1, "l").currentline + 1
  local lam = wb.callbacks.Lambda{on_train_end = function() zero:on_train_end() end}
  -- a Lambda: named by the function it was given, not by callbacks.lua's wrapper
  h = fit_with({{on_train_begin = function(_, m) zero.model = m end}, lam})
  T.eq(h.weights_changed_by, "the on_train_end of callback 2 (Lambda at "
    .. "tests/lua/test_audit_rec11.lua:" .. line .. ")")
  -- changed and put back: the last epoch's
  h = fit_with({hooks{on_train_end = function(m)
    local w = m:get_weights()
    for _, p in ipairs(m:parameters()) do p:fill(0) end
    m:set_weights(w)
  end}})
  T.eq(h.weights_epoch, 3); T.eq(h.weights_changed_by, nil)
end)

-- }====
-- {==== 3. fit's fields are guarded ====

T.test("a hook that changes history.best_epoch, stopped_epoch or instruments: an error naming "
  .. "the hook, the field and both values", function()
  local clean = fit_with({})
  T.check_error("fit: an on_train_end hook changed history.best_epoch from "
    .. clean.best_epoch .. " to 99:", fit_with,
    {hooks{on_train_end = function(m) m.history.best_epoch = 99 end}})
  T.check_error("fit: an on_epoch_begin hook of epoch 2 changed history.stopped_epoch from "
    .. "nothing to 5", fit_with,
    {hooks{on_epoch_begin = function(m, e) if e == 2 then m.history.stopped_epoch = 5 end end}})
  T.check_error("fit: a batch hook (on_train_batch_begin/end) of epoch 1 changed "
    .. "history.best_epoch from nothing to 1", fit_with,
    {hooks{on_train_batch_end = function(m) m.history.best_epoch = 1 end}})
  T.check_error("fit: an on_epoch_end hook of epoch 3 changed history.stopped_epoch from "
    .. "nothing to 3", fit_with,
    {hooks{on_epoch_end = function(m, e) if e == 3 then m.history.stopped_epoch = 3 end end}})
  local o = {instruments = {"grad_norm"}}
  T.check_error("fit: an on_epoch_end hook of epoch 2 replaced history.instruments (by table",
    fit_with, {hooks{on_epoch_end = function(m, e)
      if e == 2 then m.history.instruments = {names = {}} end
    end}}, o)
  T.check_error("fit: an on_epoch_begin hook of epoch 2 changed history.instruments.every "
    .. "from 1 to 5", fit_with, {hooks{on_epoch_begin = function(m, e)
      if e == 2 then m.history.instruments.every = 5 end
    end}}, o)
  T.check_error("fit: an on_train_end hook replaced history.instruments (by nothing)",
    fit_with, {hooks{on_train_end = function(m) m.history.instruments = nil end}}, o)
  -- an EarlyStopping a hook runs on the side (scripts/study's patience rules)
  -- writes the history as the hook: put back, nothing; left, an error
  local function side(put_back)
    local rule = wb.callbacks.EarlyStopping{patience = 0, min_delta = 10}
    return {on_train_begin = function(_, m) rule:on_train_begin(m) end,
      on_epoch_end = function(_, e, logs)
        local h = rule.model.history
        local keep = {h.best_epoch, h.stopped_epoch, rule.model.stop_training}
        rule:on_epoch_end(e, logs)
        if put_back then
          h.best_epoch, h.stopped_epoch, rule.model.stop_training = keep[1], keep[2], keep[3]
        end
      end}
  end
  T.eq(fit_with({side(true)}).epochs, 3)
  T.check_error("fit: an on_epoch_end hook of epoch 2 changed history.stopped_epoch from "
    .. "nothing to 2", fit_with, {side(false)})
  -- fit's own writes and EarlyStopping's (a stop, a restore) are no change
  local h = fit_with({wb.callbacks.EarlyStopping{patience = 0, min_delta = 10,
    restore_best_weights = true}}, o)
  T.eq(h.stopped_epoch, 2); T.eq(h.best_epoch, 1); T.eq(h.weights_epoch, 1)
end)

T.test("a hook that edits history.lr_changes or optimizer_resets: an error naming the hook, "
  .. "the list, the index and both values", function()
  -- were unguarded: a hook could rewrite which lr training used, unseen
  local set = {on_train_batch_end = function(m, s) if s == 3 then m.optimizer.lr = 0.01 end end}
  local function with(f) return {hooks(set), hooks{on_epoch_end = f}} end
  T.eq(table.concat(fit_with(with(function() end)).lr_changes.step, " "), "4")
  T.check_error("fit: an on_epoch_end hook of epoch 1 changed history.lr_changes.lr[1] from "
    .. "0.01 to 0.5", fit_with,
    with(function(m, e) if e == 1 then m.history.lr_changes.lr[1] = 0.5 end end))
  T.check_error("fit: an on_epoch_end hook of epoch 2 inserted an entry into "
    .. "history.lr_changes.step (it holds 2 entries, fit recorded 1;",
    fit_with, with(function(m, e) if e == 2 then table.insert(m.history.lr_changes.step, 9) end
    end))
  T.check_error("fit: an on_epoch_end hook of epoch 1 replaced history.lr_changes, which fit "
    .. "recorded, by nothing", fit_with,
    with(function(m, e) if e == 1 then m.history.lr_changes = nil end end))
  T.check_error("fit: an on_train_end hook changed history.optimizer_resets.step[1] from 6 to "
    .. "1", fit_with, {hooks{on_train_batch_end = function(m, s)
      if s == 6 then m.optimizer:reset() end end,
      on_train_end = function(m) m.history.optimizer_resets.step[1] = 1 end}})
end)

-- }====
-- {==== 4. the run's record says which epoch's weights ====

T.test("restore_best_weights: the record's metrics.weights_epoch is the restored epoch, the "
  .. "runner's line and tostring(run) say so, run:model('best') is the final file", function()
  local ex = wb.experiment({name = "restored", seeds = {1}, base = {hidden = 4, epochs = 3,
    subset = {train = 200, test = 50},
    early_stopping = {min_delta = 10, patience = 10, restore_best_weights = true}}},
    {root = dir .. "/restored"})
  local runs, err = T.stderr_of(function() return ex:run{verbose = false} end)
  local r = runs.records[1]
  T.eq(r.metrics.epochs_run, 3); T.eq(r.metrics.best_epoch, 1)
  T.eq(r.metrics.weights_epoch, 1)
  T.ok(err:find("test accuracy [%d.]+ %% %(weights of epoch 1 of 3%)"), err)
  T.ok(tostring(r):find("(weights of epoch 1 of 3)", 1, true), tostring(r))
  local acc = r:model("best"):evaluate(wb.data.for_config{dataset = "mnist",
    subset = {test = 50}}.test).accuracy
  T.eq(acc, r.metrics.test_accuracy, "the best weights are the final ones, tested")
  -- without restore: the last epoch's, said nowhere
  ex = wb.experiment({name = "kept", seeds = {1}, base = {hidden = 4, epochs = 2,
    subset = {train = 200, test = 50}}}, {root = dir .. "/kept"})
  runs, err = T.stderr_of(function() return ex:run{verbose = false} end)
  T.eq(runs.records[1].metrics.weights_epoch, 2)
  T.ok(not err:find("weights of epoch", 1, true), err)
end)

-- }====

T.done()
