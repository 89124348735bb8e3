-- test_audit_rec12.lua: a run's record says what hooks did (after rec11).
-- 1. history.optimizer_resets kept one row an epoch: fit compared the
--    optimizer's step count with its steps once an epoch, so a batch hook
--    resetting it twice in an epoch left the last reset only, resets by
--    on_epoch_begin and on_epoch_end of one epoch one row, an
--    on_train_begin hook's none, and a set_state's step was computed from
--    the count it set. Now each reset between two updates is a row at the
--    step it followed (with batch hooks, one compare a step).
-- 2. The guard of history.instruments took its copy after every
--    on_train_begin hook: a user's on_train_begin hook could replace or
--    edit it unseen. It now keeps the instruments' table as they set it;
--    and lr_changes, optimizer_resets or steps a hook adds where fit
--    recorded none are an error too.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

-- 3 epochs of 5 steps (tiny_data: 80 rows, batch 16).
local function fit_with(cbs, o, m)
  m = m or T.tiny_mlp(1)
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

local function rows(h)
  local r = h.optimizer_resets
  if not r then return "" end
  local out = {}
  for i = 1, #r.step do out[i] = r.step[i] .. "@" .. r.epoch[i] end
  return table.concat(out, " ")
end

-- {==== 1. every reset of the optimizer ====

T.test("every reset a hook makes is a row at the step it followed: two a batch hook makes in "
  .. "one epoch, before and after one step, by both epoch hooks, by on_train_begin", function()
  local reset = function(m) m.optimizer:reset() end
  -- on_train_batch_end at steps 2 and 4 (epoch 1); begin of step 8 (after 7) and end of 8
  local h = fit_with({hooks{
    on_train_batch_end = function(m, s) if s == 2 or s == 4 or s == 8 then reset(m) end end,
    on_train_batch_begin = function(m, s) if s == 8 then reset(m) end end}})
  T.eq(rows(h), "2@1 4@1 7@2 8@2")
  -- no batch hooks: on_epoch_begin and on_epoch_end of epoch 2 (after steps 5 and 10)
  h = fit_with({hooks{on_epoch_begin = function(m, e) if e == 2 then reset(m) end end,
    on_epoch_end = function(m, e) if e == 2 then reset(m) end end}})
  T.eq(rows(h), "5@2 10@2")
  -- on_train_begin of a second fit with the optimizer of the first (15 steps in it)
  local m = T.tiny_mlp(1)
  local opt = wb.optim.Adam{}
  fit_with({}, {optimizer = opt}, m)
  T.eq(opt.iterations, 15)
  h = fit_with({hooks{on_train_begin = reset}}, {optimizer = opt}, m)
  T.eq(rows(h), "0@1")
  -- resets between the same two updates: the state starts over once, one row
  h = fit_with({hooks{on_train_batch_end = function(m2, s) if s == 5 then reset(m2) end end,
    on_epoch_end = function(m2, e) if e == 1 then reset(m2) end end,
    on_epoch_begin = function(m2, e) if e == 2 then reset(m2) end end}})
  T.eq(rows(h), "5@1")
  -- a reset to nothing new (a fresh optimizer's on_train_begin): no row
  T.eq(fit_with({hooks{on_train_begin = reset}}).optimizer_resets, nil)
end)

T.test("a set_state a batch hook makes is a row at its step, whatever count it sets",
  function()
  -- the state after step 3, put back after step 7: its count (3) was taken
  -- for the steps since a reset, at step 10 - (3 + 3) = 4
  local saved
  local h = fit_with({hooks{on_train_batch_end = function(m, s)
    if s == 3 then saved = m.optimizer:state() end
    if s == 7 then m.optimizer:set_state(m:parameters(), saved.buffers, saved.iterations) end
  end}})
  T.eq(saved.iterations, 3)
  T.eq(rows(h), "7@2")
end)

T.test("the rows of resets before a state saved mid-epoch and after it survive the resume, "
  .. "as the straight fit's", function()
  local path = dir .. "/resets.state.safetensors"
  local function cbs()
    return {hooks{on_train_batch_end = function(m, s)
        if s == 2 or s == 4 or s == 9 then m.optimizer:reset() end
      end,
      on_train_batch_begin = function(m, s) if s == 7 then m.optimizer:reset() end end},
      wb.callbacks.ModelCheckpoint{filepath = path, save_state = true, save_freq = 7}}
  end
  local straight = fit_with(cbs())
  T.eq(rows(straight), "2@1 4@1 6@2 9@2")
  -- the killer stays in the resumed fit's callbacks (a resume gives the saved fit's), off
  local kill = {at = 9}
  local function with_killer()
    local c = cbs()
    c[3] = {on_train_batch_end = function(_, s) if s == kill.at then error("killed", 0) end end}
    return c
  end
  T.ok(not pcall(fit_with, with_killer()), "killed at step 9, saved at 7")
  kill.at = nil
  local h = fit_with(with_killer(), {resume = path})
  T.eq(rows(h), "2@1 4@1 6@2 9@2")
  T.eq(math.type(h.optimizer_resets.step[3]), "integer")
  for i = 1, 3 do T.eq(h.loss[i], straight.loss[i]) end
end)

-- }====
-- {==== 2. on_train_begin's writes are guarded ====

T.test("an on_train_begin hook that replaces or edits history.instruments: an error naming "
  .. "the hook, the field and both values", function()
  local o = {instruments = {"grad_norm"}}
  T.check_error("fit: an on_train_begin hook changed history.instruments.every from 1 to 5",
    fit_with, {hooks{on_train_begin = function(m) m.history.instruments.every = 5 end}}, o)
  T.check_error("fit: an on_train_begin hook replaced history.instruments (by table",
    fit_with, {hooks{on_train_begin = function(m)
      local t = {}
      for k, v in pairs(m.history.instruments) do t[k] = v end
      m.history.instruments = t -- their seconds table in it: was taken for theirs
    end}}, o)
  T.check_error("fit: an on_train_begin hook added history.instruments.mine (1)",
    fit_with, {hooks{on_train_begin = function(m) m.history.instruments.mine = 1 end}}, o)
  T.eq(fit_with({hooks{}}, o).instruments.every, 1) -- the instruments' own table: no error
end)

T.test("an on_train_begin hook that writes best_epoch, stopped_epoch, weights_epoch, or adds "
  .. "lr_changes, optimizer_resets or steps: an error naming the hook", function()
  for _, k in ipairs{"best_epoch", "stopped_epoch", "weights_epoch", "stopped"} do
    T.check_error("fit: an on_train_begin hook changed history." .. k .. " from nothing to 2",
      fit_with, {hooks{on_train_begin = function(m) m.history[k] = 2 end}})
  end
  for _, k in ipairs{"lr_changes", "optimizer_resets"} do
    T.check_error("fit: an on_train_begin hook added history." .. k .. " (table", fit_with,
      {hooks{on_train_begin = function(m) m.history[k] = {step = {3}, epoch = {1}} end}})
    -- later, where fit recorded none: the same
    T.check_error("fit: an on_epoch_end hook of epoch 2 added history." .. k .. " (table",
      fit_with, {hooks{on_epoch_end = function(m, e)
        if e == 2 then m.history[k] = {step = {3}, epoch = {1}} end
      end}})
  end
  T.check_error("fit: an on_train_begin hook added history.steps (table", fit_with,
    {hooks{on_train_begin = function(m) m.history.steps = {step = {1}, loss = {0}} end}})
  -- a reset fit records, and lr changes: no error
  local h = fit_with({hooks{on_train_batch_end = function(m, s)
    if s == 3 then m.optimizer:reset(); m.optimizer.lr = 0.01 end
  end}})
  T.eq(rows(h), "3@1"); T.eq(h.lr_changes.step[1], 4)
end)

T.test("a hook that edits the list of instruments measured (history.instruments.names): an "
  .. "error naming the hook and the entry", function()
  local o = {instruments = {"loss", "grad_norm"}}
  T.check_error("fit: an on_epoch_end hook of epoch 2 changed history.instruments.names[1] "
    .. "from string loss to string grad_norm", fit_with, {hooks{on_epoch_end = function(m, e)
      if e == 2 then table.remove(m.history.instruments.names, 1) end
    end}}, o)
  T.check_error("fit: an on_train_begin hook changed history.instruments.names[3] from "
    .. "nothing to string alpha", fit_with, {hooks{on_train_begin = function(m)
      table.insert(m.history.instruments.names, "alpha")
    end}}, o)
end)

-- }====

T.done()
