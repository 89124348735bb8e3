-- test_audit_hist8.lua: what a run records is what training did.
-- 1. A hook that replaced a number the history had recorded with another
--    number (model.history.loss[1] = 0.5, h.val_accuracy[2] = 1), removed
--    or inserted an entry (table.remove / table.insert), or changed a row
--    of history.steps, went unseen: type checks only look for non-numbers,
--    so the run's record held a number training never produced. fit now
--    keeps its own copy of what it recorded (wb/history_guard.lua) and
--    compares after each kind of hook, naming the hook, the series, the
--    index and both values. A hook's own series still join the history.
-- 2. An error raised in a hook said nothing of where fit was: now its
--    message begins with it ("fit: epoch 2, step 7 (batch 2 of 5),
--    on_train_batch_end: "), the error keeping its kind (a wb.Error stays
--    one, with its code and path; a table of the user's is left as it is).
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

-- {==== 1. recorded values stay as recorded ====

-- A callback with the hooks given, each called as hook(history, arg, logs).
local function editing(hooks)
  local cb = {on_train_begin = function(self, model) self.model = model end}
  for name, f in pairs(hooks) do
    local prev = cb[name]
    cb[name] = function(self, a, logs)
      if prev then prev(self, a) end
      return f(self.model.history, a, logs, self.model)
    end
  end
  return cb
end

local function fit_with(hooks, o)
  local m = T.tiny_mlp(1)
  local train, val = T.tiny_data()
  local opts = {epochs = 3, batch_size = 16, verbose = false, validation = val,
    callbacks = {editing(hooks)}}
  for k, v in pairs(o or {}) do opts[k] = v end
  return m:fit(train, opts), m
end

-- The values fit recorded, from a fit without the edit.
local clean = fit_with({}, {log_every = 1})

local function shown(v) -- as the error message shows it: the shortest that reads back
  for p = 15, 17 do
    local s = string.format("%." .. p .. "g", v)
    if tonumber(s) == v then return s end
  end
end

T.test("a hook that replaces a recorded epoch value with another number: fit fails naming "
  .. "the hook, the series, the index and both values", function()
  T.check_error("fit: an on_epoch_end hook of epoch 2 changed history.loss[1] from "
    .. shown(clean.loss[1]) .. " to 0.5: the history holds what training measured",
    fit_with, {on_epoch_end = function(h, e) if e == 2 then h.loss[1] = 0.5 end end})
  T.check_error("fit: an on_epoch_end hook of epoch 3 changed history.val_accuracy[2] from "
    .. shown(clean.val_accuracy[2]) .. " to 1:", fit_with,
    {on_epoch_end = function(h, e) if e == 3 then h.val_accuracy[2] = 1 end end})
  T.check_error("fit: an on_epoch_begin hook of epoch 2 changed history.lr[1] from ",
    fit_with, {on_epoch_begin = function(h, e) if e == 2 then h.lr[1] = 1 end end})
  T.check_error("fit: a batch hook (on_train_batch_begin/end) of epoch 3 changed "
    .. "history.val_loss[2] from", fit_with,
    {on_train_batch_end = function(h, s) if s == 11 then h.val_loss[2] = 0 end end})
  -- NaN in place of a number, and a number in place of a NaN, are changes too
  T.check_error("changed history.accuracy[1] from " .. shown(clean.accuracy[1]) .. " to nan",
    fit_with, {on_epoch_end = function(h, e) if e == 2 then h.accuracy[1] = 0 / 0 end end})
end)

T.test("a hook that removes or inserts an entry of a recorded series: an error saying so",
  function()
  T.check_error("fit: an on_epoch_end hook of epoch 3 removed an entry of history.val_loss "
    .. "(it holds 1 entries, fit recorded 2; at [1] fit recorded " .. shown(clean.val_loss[1])
    .. ", it holds " .. shown(clean.val_loss[2]) .. ")", fit_with,
    {on_epoch_end = function(h, e) if e == 3 then table.remove(h.val_loss, 1) end end})
  T.check_error("fit: an on_epoch_begin hook of epoch 2 inserted an entry into "
    .. "history.accuracy (it holds 2 entries, fit recorded 1; at [2] fit recorded nothing, "
    .. "it holds 0.25)", fit_with,
    {on_epoch_begin = function(h, e) if e == 2 then table.insert(h.accuracy, 0.25) end end})
  T.check_error("fit: an on_train_end hook removed an entry of history.loss", fit_with,
    {on_train_end = function(h) table.remove(h.loss) end})
  T.check_error("fit: an on_epoch_begin hook of epoch 2 replaced model.history (by History(0 "
    .. "epochs)): fit records into the history it started with", fit_with, {on_epoch_begin =
    function(_, e, _, m) if e == 2 then m.history = wb.fit.new_history() end end})
  T.check_error("fit: a batch hook (on_train_batch_begin/end) of epoch 1 replaced "
    .. "model.history", fit_with, {on_train_batch_end =
    function(_, _, _, m) m.history = wb.fit.new_history() end})
  T.check_error("fit: an on_epoch_end hook of epoch 2 changed history.epochs from 1 to 5",
    fit_with, {on_epoch_end = function(h, e) if e == 2 then rawset(h, "epochs", 5) end end})
end)

T.test("a hook that changes a row of history.steps: its epoch's batch hooks, a later "
  .. "epoch's, on_train_end: each an error naming the row", function()
  local o = {log_every = 1}
  T.check_error("fit: a batch hook (on_train_batch_begin/end) of epoch 2 changed "
    .. "history.steps.loss[6] from " .. shown(clean.steps.loss[6]) .. " to 1:", fit_with,
    {on_train_batch_end = function(h, s) if s == 7 then h.steps.loss[6] = 1 end end}, o)
  -- a row of an earlier epoch: seen at the end of training (each row is
  -- compared in full once then, not at every epoch)
  T.check_error("fit: a hook of this fit (a batch or epoch hook) changed "
    .. "history.steps.accuracy[2] from " .. shown(clean.steps.accuracy[2]) .. " to 1",
    fit_with, {on_epoch_end = function(h, e) if e == 3 then h.steps.accuracy[2] = 1 end end},
    o)
  T.check_error("fit: an on_train_end hook removed an entry of history.steps.step", fit_with,
    {on_train_end = function(h) table.remove(h.steps.step, 1) end}, o)
  T.check_error("fit: an on_epoch_end hook of epoch 1 replaced history.steps, which fit "
    .. "recorded, by nothing", fit_with,
    {on_epoch_end = function(h) rawset(h, "steps", nil) end}, o)
  -- a NaN row (a series a hook's logs lacked at that step) stays a NaN
  T.check_error("changed history.steps.mine[1] from nan to 3", fit_with,
    {on_train_batch_end = function(h, s, logs)
      if s >= 2 then logs.mine = s end
      if s == 4 then h.steps.mine[1] = 3 end
    end}, o)
end)

T.test("a hook's own series (its logs' numbers, a list it sets) join the history as before; "
  .. "values it wrote in its logs stay as recorded", function()
  local h = fit_with({on_epoch_end = function(hist, e, logs)
    logs.my_metric = e * 2
    if e == 2 then hist.my_list = {1, 2} end
    if e == 3 then hist.my_list[3] = 3 end -- a list of its own: its to change
  end}, {log_every = 2})
  T.eq(table.concat(h.my_metric, " "), "2 4 6")
  T.eq(table.concat(h.my_list, " "), "1 2 3")
  for i = 1, 3 do T.eq(h.loss[i], clean.loss[i]) end
  T.eq(#h.steps.step, math.floor(#clean.steps.step / 2))
  T.check_error("fit: an on_epoch_end hook of epoch 3 changed history.my_metric[1] from 2 to 0",
    fit_with, {on_epoch_end = function(hist, e, logs)
      logs.my_metric = e * 2
      if e == 3 then hist.my_metric[1] = 0 end
    end})
end)

T.test("instruments that fill a row later (alpha) and a resumed fit: no false alarm",
  function()
  local m = T.tiny_mlp(1)
  local train = T.tiny_data()
  local h = m:fit(train, {epochs = 2, batch_size = 16, verbose = false,
    instruments = {"alpha", "grad_norm"}, every = 1})
  local n = 0
  for _, v in ipairs(h.steps.alpha) do if v == v then n = n + 1 end end
  T.ok(n > 0, "alpha measured")
  local path = dir .. "/state.safetensors"
  local m2 = T.tiny_mlp(1)
  m2:fit(train, {epochs = 1, batch_size = 16, verbose = false, log_every = 1, seed = 3})
  m2:save_state(path)
  local h2 = m2:fit(train, {epochs = 2, batch_size = 16, verbose = false, log_every = 1,
    resume = path})
  T.eq(h2.epochs, 2)
end)

T.test("run_experiment: a callback that replaces a recorded number fails its run naming it; "
  .. "no record", function()
  local root = dir .. "/replaced"
  local ex = wb.experiment({name = "replaced", base = {hidden = 4, epochs = 2,
    subset = {train = 100, test = 50}},
    callbacks = function()
      return {editing({on_epoch_end = function(h, e) if e == 2 then h.loss[1] = 0.1 end end})}
    end}, {root = root})
  local ok, err
  T.stderr_of(function() ok, err = pcall(ex.run, ex, {verbose = false}) end)
  T.ok(not ok, "the run fails")
  T.ok(tostring(err):find("an on_epoch_end hook of epoch 2 changed history.loss[1] from ", 1,
    true), tostring(err))
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    T.ok(not wb.record.is_record_file(n), "no record: " .. n)
  end
end)

-- }====
-- {==== 2. a hook's error says where fit was ====

local function fails_with(cb, o)
  local m = T.tiny_mlp(1)
  local opts = {epochs = 3, batch_size = 16, verbose = false, callbacks = {cb}}
  for k, v in pairs(o or {}) do opts[k] = v end
  local ok, e = pcall(m.fit, m, T.tiny_data(), opts)
  T.ok(not ok, "fit fails")
  return e
end

T.test("a hook's string error begins with the epoch, step, batch and hook; the rest as raised",
  function()
  local e = fails_with({on_train_batch_end = function(_, s) if s == 7 then error("boom") end end})
  T.eq(type(e), "string")
  T.ok(e:find("^fit: epoch 2, step 7 %(batch 2 of 5%), on_train_batch_end: [^:]*"
    .. "test_audit_hist8.lua:%d+: boom$"), e)
  e = fails_with({on_train_batch_begin = function(_, s) if s == 11 then error("x", 0) end end})
  T.eq(e, "fit: epoch 3, step 11 (batch 1 of 5), on_train_batch_begin: x")
  T.eq(fails_with({on_epoch_end = function(_, ep) if ep == 2 then error("y", 0) end end}),
    "fit: epoch 2, on_epoch_end: y")
  T.eq(fails_with({on_train_begin = function() error("z", 0) end}), "fit: on_train_begin: z")
  T.eq(fails_with({on_train_end = function() error("w", 0) end}),
    "fit: on_train_end (after epoch 3): w")
end)

T.test("a hook's wb.Error stays a wb.Error with its code and path; a table of the user's is "
  .. "left as raised", function()
  local e = fails_with({on_epoch_begin = function(_, ep)
    if ep == 2 then error(wb.Error{code = "EIO", path = "/x/y", message = "cannot read"}) end
  end})
  T.ok(wb.is_error(e), tostring(e))
  T.eq(e.code, "EIO"); T.eq(e.path, "/x/y")
  T.eq(e.message, "fit: epoch 2, on_epoch_begin: cannot read")
  local mine = {why = "mine"}
  T.ok(rawequal(fails_with({on_epoch_end = function() error(mine) end}), mine), "the same table")
end)

T.test("a fit of another model inside a hook: its hook's error gives both places", function()
  local e = fails_with({on_epoch_end = function(_, ep)
    if ep == 2 then
      local inner = T.tiny_mlp(2)
      inner:fit(T.tiny_data(), {epochs = 1, batch_size = 32, verbose = false,
        callbacks = {{on_train_batch_end = function(_, s) if s == 2 then error("in", 0) end end}}})
    end
  end})
  T.eq(e, "fit: epoch 2, on_epoch_end: fit: epoch 1, step 2 (batch 2 of 3), "
    .. "on_train_batch_end: in")
  -- the outer fit's place is its own again after the inner fit
  e = fails_with({on_epoch_end = function(_, ep)
    if ep == 1 then T.tiny_mlp(2):fit(T.tiny_data(), {epochs = 1, verbose = false}) end
    if ep == 2 then error("after", 0) end
  end})
  T.eq(e, "fit: epoch 2, on_epoch_end: after")
end)

-- }====
-- {==== 3. what a run records matches what it trained ====

T.test("run_experiment: a measure hook that leaves the model's weights changed fails its run "
  .. "(the weights file would not be those its test metrics were measured on); put back, "
  .. "they are saved as trained", function()
  local function ex_with(name, restore)
    return wb.experiment({name = name, base = {hidden = 4, epochs = 1,
      subset = {train = 100, test = 50}},
      measure = function(model, _, d)
        local w = model:get_weights()
        for _, p in ipairs(model:parameters()) do p:fill(0) end
        local acc = model:evaluate(d.test).accuracy
        if restore then model:set_weights(w) end
        return {zeroed_accuracy = acc}
      end}, {root = dir .. "/" .. name})
  end
  local ex = ex_with("left", false)
  local ok, err
  T.stderr_of(function() ok, err = pcall(ex.run, ex, {verbose = false}) end)
  T.ok(not ok, "the run fails")
  T.ok(tostring(err):find("measure changed the model's weights (parameter 1 of 4) and left "
    .. "them changed", 1, true), tostring(err))
  ex = ex_with("restored", true)
  T.stderr_of(function() ex:run({verbose = false}) end)
  local r = wb.runs.load_all(dir .. "/restored/runs")[1]
  local m = wb.load(dir .. "/restored/runs/" .. r.weights)
  local acc = m:evaluate(wb.data.for_config{dataset = "mnist", subset = {test = 50}}.test)
  T.eq(acc.accuracy, r.metrics.test_accuracy, "the saved weights give the recorded accuracy")
end)

-- }====

T.done()
