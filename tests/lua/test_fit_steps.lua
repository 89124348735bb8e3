-- test_fit_steps.lua: the training loop step by step: per-step hooks
-- (Keras order, logs, stopping), the hook-name check, the step series of
-- log_every, and the no-garbage step loop with a per-step callback.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cb = wb.callbacks

-- {==================== fixtures ====================

-- harness.lua's synthetic problem and tiny MLP
local function tiny_model(seed, l2) return T.linear_mlp(seed, {l2 = l2}) end

local data = T.linear_data(120, 20, 3, 11)

-- A callback that logs every hook call as "name:arg" and copies the logs.
local function tracer()
  local t = {calls = {}, steps = {}}
  local function add(name, a) t.calls[#t.calls + 1] = name .. ":" .. tostring(a) end
  function t:on_train_begin() add("train_begin", "") end
  function t:on_epoch_begin(e) add("epoch_begin", e) end
  function t:on_train_batch_begin(s, logs)
    add("batch_begin", s)
    T.eq(logs.loss, nil, "no loss before the step")
  end
  function t:on_train_batch_end(s, logs)
    add("batch_end", s)
    local c = {}
    for k, v in pairs(logs) do c[k] = v end
    self.steps[#self.steps + 1] = c
  end
  function t:on_epoch_end(e) add("epoch_end", e) end
  function t:on_train_end() add("train_end", "") end
  return t
end

-- }====================
-- {==================== per-step hooks ====================

T.test("per-step hooks: called once per step, Keras order, the step's logs", function()
  local m, tr = tiny_model(1, 1e-3), tracer()
  local h = m:fit(data, {epochs = 2, batch_size = 50, verbose = false, seed = 3,
    optimizer = wb.optim.SGD{lr = 0.1}, callbacks = {tr}})
  local want = {"train_begin:"}
  for e = 1, 2 do
    want[#want + 1] = "epoch_begin:" .. e
    for s = 1, 3 do
      local g = (e - 1) * 3 + s
      want[#want + 1] = "batch_begin:" .. g
      want[#want + 1] = "batch_end:" .. g
    end
    want[#want + 1] = "epoch_end:" .. e
  end
  want[#want + 1] = "train_end:"
  T.eq(table.concat(tr.calls, " "), table.concat(want, " "))
  T.eq(#tr.steps, 6)
  for i, s in ipairs(tr.steps) do
    T.eq(s.step, i); T.eq(s.epoch, (i - 1) // 3 + 1)
    T.eq(s.batch_size, i % 3 == 0 and 20 or 50)
    T.near(s.lr, 0.1, 1e-7)
    T.ok(s.accuracy >= 0 and s.accuracy <= 1 and s.accuracy * s.batch_size
      == math.floor(s.accuracy * s.batch_size + 0.5), "accuracy " .. s.accuracy)
  end
  -- the epoch's loss is the batch-size-weighted mean of its steps' losses
  for e = 1, 2 do
    local sum = 0
    for i = (e - 1) * 3 + 1, e * 3 do sum = sum + tr.steps[i].loss * tr.steps[i].batch_size end
    T.near(sum / 120, h.loss[e], 1e-12, "epoch " .. e)
  end
end)

T.test("Lambda takes the per-step hooks; the lr a begin hook sets is used", function()
  local m, seen = tiny_model(2), {}
  local lam = cb.Lambda{
    on_train_batch_begin = function(step) m.optimizer.lr = 0.01 * step end,
    on_train_batch_end = function(step, logs) seen[step] = logs.lr end}
  local before = m:get_weights()
  m:fit(data, {epochs = 1, batch_size = 60, verbose = false, callbacks = {lam},
    optimizer = wb.optim.SGD{lr = 1}})
  T.eq(#seen, 2)
  T.near(seen[1], 0.01, 1e-7); T.near(seen[2], 0.02, 1e-7)
  -- lr 0 at every step: the weights do not move
  local frozen = cb.Lambda{on_train_batch_begin = function() m.optimizer.lr = 0 end}
  m:set_weights(before)
  m:fit(data, {epochs = 1, batch_size = 60, verbose = false, callbacks = {frozen},
    optimizer = wb.optim.SGD{lr = 1}})
  local after = m:get_weights()
  for i = 1, #before do
    local d = after[i] - before[i]
    T.eq(d:max(), 0); T.eq(d:min(), 0)
  end
end)

T.test("a per-step hook that returns true ends the epoch there (Keras 3)", function()
  local m, ends = tiny_model(3), 0
  local stopper = cb.Lambda{
    on_train_batch_end = function(step) return step == 2 end,
    on_epoch_end = function() ends = ends + 1 end}
  local tr = tracer()
  local h = m:fit(data, {epochs = 3, batch_size = 30, verbose = false,
    callbacks = {stopper, tr}})
  T.eq(h.epochs, 1); T.eq(ends, 1); T.eq(#tr.steps, 2)
  T.eq(h.stopped_epoch, 1)
  T.near(h.loss[1], (tr.steps[1].loss + tr.steps[2].loss) / 2, 1e-12)
end)

T.test("a hook name that fit does not call is an error naming it", function()
  local m = tiny_model(4)
  -- Keras 2's name: the hook it means (test_callback_self)
  T.check_error("callbacks%[1%].*'on_batch_end', which is no callback hook %(did you mean "
    .. "'on_train_batch_end'%? hooks: on_train_begin, on_epoch_begin, on_train_batch_begin, "
    .. "on_train_batch_end",
    function() m:fit(data, {verbose = false, callbacks = {{on_batch_end = function() end}}}) end)
  local Cls = {}
  Cls.__index = Cls
  function Cls:on_epoch_ends() end
  T.check_error("'on_epoch_ends', which is no callback hook", function()
    m:fit(data, {verbose = false, callbacks = {setmetatable({}, Cls)}}) end)
  T.check_error("callbacks%[1%] must be a table", function()
    m:fit(data, {verbose = false, callbacks = {function() end}}) end)
  T.check_error("on_epoch_end must be a function, got number", function()
    m:fit(data, {verbose = false, callbacks = {{on_epoch_end = 1}}}) end)
  T.check_error("Lambda: unknown option 'on_test_batch_end'", function()
    cb.Lambda{on_test_batch_end = function() end} end)
  T.check_error("Lambda: on_train_batch_end must be a function", function()
    cb.Lambda{on_train_batch_end = 3} end)
  -- the library's callbacks pass the check
  m:fit(data, {verbose = false, callbacks = {cb.EarlyStopping{monitor = "loss"},
    cb.ReduceLROnPlateau{monitor = "loss"}}})
end)

T.test("with a per-step callback a steady-state step still makes no garbage", function()
  local ds = data:subset(1, 120)
  local m = tiny_model(7)
  local opt = wb.optim.Adam{}
  local counter = {n = 0, sum = 0}
  function counter:on_train_batch_begin(_, logs) self.sum = self.sum + logs.lr end
  function counter:on_train_batch_end(_, logs) self.n = self.n + 1; self.sum = self.sum + logs.loss end
  local function garbage(bs)
    m:fit(ds, {epochs = 1, batch_size = bs, verbose = false, optimizer = opt,
      callbacks = {counter}})
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    m:fit(ds, {epochs = 1, batch_size = bs, verbose = false, optimizer = opt,
      callbacks = {counter}})
    local used = collectgarbage("count") - before
    collectgarbage("restart")
    return used
  end
  local n0 = counter.n
  local few, many = garbage(60), garbage(2) -- 2 steps vs 60 steps
  T.eq(counter.n - n0, 2 * 2 + 2 * 60, "the hook ran at every step")
  T.ok(many - few < 1.0, string.format("%.2f KB more for 58 more steps", many - few))
end)

-- }====================
-- {==================== step series ====================

T.test("log_every: history.steps equals what a per-step callback sees", function()
  local m, seen = tiny_model(5, 1e-3), {}
  local lam = cb.Lambda{on_train_batch_end = function(step, logs)
    T.eq(logs.gnorm, nil, "a key written at the previous step is gone")
    seen[step] = {loss = logs.loss, accuracy = logs.accuracy, lr = logs.lr,
      epoch = logs.epoch, batch_size = logs.batch_size}
    if step % 4 == 0 then logs.gnorm = step * 1.5 end -- recorded in history.steps
  end}
  local h = m:fit(data, {epochs = 2, batch_size = 25, log_every = 2, verbose = false,
    callbacks = {lam}, optimizer = wb.optim.SGD{lr = 0.05}})
  -- 5 steps per epoch (120 / 25), 10 in all: logged at 2, 4, 6, 8, 10
  local st = h.steps
  T.eq(table.concat(st.step, ","), "2,4,6,8,10")
  for i, step in ipairs(st.step) do
    for _, k in ipairs{"loss", "accuracy", "lr", "epoch", "batch_size"} do
      T.eq(st[k][i], seen[step][k], k .. " at step " .. step)
    end
    if step % 4 == 0 then T.eq(st.gnorm[i], step * 1.5)
    else T.ok(st.gnorm[i] ~= st.gnorm[i], "NaN where the hook wrote nothing") end
  end
  T.eq(table.concat(st.batch_size, ","), "25,25,25,25,20", "step 10: the partial batch")
  T.eq(table.concat(st.epoch, ","), "1,1,2,2,2")
  -- without a callback the same series (same seeds)
  local m2 = tiny_model(5, 1e-3)
  local h2 = m2:fit(data, {epochs = 2, batch_size = 25, log_every = 2, verbose = false,
    optimizer = wb.optim.SGD{lr = 0.05}})
  T.eq(table.concat(h2.steps.loss, ","), table.concat(st.loss, ","))
  T.eq(h2.steps.gnorm, nil)
  T.eq(m2:fit(data, {verbose = false}).steps, nil, "no step series without log_every")
  T.check_error("log_every must be >= 1, got 0", function()
    m2:fit(data, {log_every = 0}) end)
  T.check_error("log_every must be an integer, got 1.5", function()
    m2:fit(data, {log_every = 1.5}) end)
end)

T.test("step series stay aligned when hooks write different keys at different steps", function()
  -- keys that come and go with the count of series written unchanged:
  -- every series has one row per record, NaN where its key was absent
  local m = tiny_model(5, 1e-3)
  local lam = cb.Lambda{on_train_batch_end = function(step, logs)
    if step % 2 == 1 then logs.odd = step else logs.even = step end
    if step >= 7 then logs.late = -step end
  end}
  local st = m:fit(data, {epochs = 2, batch_size = 25, log_every = 1, verbose = false,
    callbacks = {lam}, optimizer = wb.optim.SGD{lr = 0.05}}).steps
  T.eq(#st.step, 10)
  for _, k in ipairs{"odd", "even", "late", "loss"} do T.eq(#st[k], 10, "rows of " .. k) end
  for i, step in ipairs(st.step) do
    local odd, even, late = st.odd[i], st.even[i], st.late[i]
    if step % 2 == 1 then T.eq(odd, step); T.ok(even ~= even, "even NaN at " .. step)
    else T.eq(even, step); T.ok(odd ~= odd, "odd NaN at " .. step) end
    if step >= 7 then T.eq(late, -step) else T.ok(late ~= late, "late NaN at " .. step) end
  end
end)

T.test("a step's record: NaN padding as Lua's 0/0, numbers only, integers kept", function()
  -- the walk is C (l_instruments.c _record_step): its NaN is Lua's 0 / 0
  -- bit for bit ("%a": -nan on x86), a non-number is an error naming it
  -- (it was dropped without a word), and a key outside the step keys
  -- leaves the logs in the same walk
  local m = tiny_model(5)
  local lam = cb.Lambda{on_train_batch_end = function(step, logs)
    T.eq(logs.late, nil, "the last step's key was removed")
    if step >= 3 then logs.late, logs.int = step / 4, step end
  end}
  local st = m:fit(data, {epochs = 1, batch_size = 25, log_every = 1, verbose = false,
    callbacks = {lam}, optimizer = wb.optim.SGD{lr = 0.05}}).steps
  for i = 1, 2 do T.eq(string.format("%a", st.late[i]), string.format("%a", 0 / 0)) end
  T.eq(st.late[3], 0.75)
  T.eq(math.type(st.int[3]), "integer", "an integer stays one")
  -- where fit was, as a hook's other errors say (it had no place); written by
  -- on_train_batch_begin, it is seen after the step too
  for _, every in ipairs{1, 2} do -- a recorded step (C's walk) and one that is not
    for _, hook in ipairs{"on_train_batch_end", "on_train_batch_begin"} do
      T.check_error("fit: epoch 2, step 7 (batch 2 of 5): a batch hook wrote logs.text, which "
        .. "is not a number: history.steps records numbers only", m.fit, m, data, {epochs = 2,
        batch_size = 25, verbose = false, log_every = every, callbacks = {cb.Lambda{
          [hook] = function(step, logs) if step == 7 then logs.text = "x" end end}}})
    end
  end
  local steps, logs = {step = {1}}, {step = 2, loss = 0.5, extra = 3, name = "n"}
  local written, bad = wb.instruments._record_step(steps, logs, 2, {step = true, loss = true})
  T.eq(written, -1, "a new series: -1 (the caller pads)")
  T.eq(bad, "name", "the key that is not a number")
  T.eq(logs.extra, nil); T.eq(logs.name, nil); T.eq(logs.loss, 0.5)
  T.eq(string.format("%a", steps.extra[1]), string.format("%a", 0 / 0))
  T.eq(steps.extra[2], 3); T.eq(steps.loss[2], 0.5); T.eq(steps.step[2], 2)
  logs = {step = 3, loss = 0.25, extra = 4}
  T.eq(wb.instruments._record_step(steps, logs, 3), 3, "no new series: the count")
  T.eq(logs.extra, 4, "no keep set: nothing removed")
end)

T.test("an experiment config with log_every keeps the step series; plot_curves x = step",
    function()
  local dir = T.tmpdir()
  local script = dir .. "/steps.lua"
  local f = assert(io.open(script, "w"))
  f:write([[
return wb.task{name = "steps", title = "steps",
  experiment = {base = {hidden = 8, epochs = 1, batch_size = 50, log_every = 2,
    subset = {train = 300, test = 100}}, seeds = {1, 2}},
  report = function(task, runs) task:text("ok") end}
]])
  f:close()
  local st, out, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", T.wb, script,
    dir .. "/root"))
  T.eq(st, 0, tostring(out) .. tostring(err))
  local recs = wb.runs.load_all(dir .. "/root/runs")
  T.eq(#recs, 2)
  for _, r in ipairs(recs) do
    -- validation 0.1 of 300 leaves 270 rows: 6 steps of 50 (last 20)
    T.eq(table.concat(r.history.steps.step, ","), "2,4,6")
    T.eq(#r.history.steps.loss, 3)
    T.eq(r.config.log_every, 2)
  end
  local p = wb.runs.Runs(recs):plot_curves("loss", {x = "step"})
  local s = p.d.series[1]
  T.eq(table.concat(s.x, ","), "2,4,6")
  local a, b = recs[1].history.steps.loss[2], recs[2].history.steps.loss[2]
  T.near(s.y[2], (a + b) / 2, 1e-12)
  T.near(s.err[2], math.abs(a - b) / math.sqrt(2), 1e-12, "sample std of two seeds")
  T.ok(p.d.title:find("band: sd over seeds", 1, true), p.d.title)
  -- on a log axis the band is the seeds' min to max, which a log axis can show
  local lg = wb.runs.Runs(recs):plot_curves("loss", {x = "step", logy = true,
    refs = {{label = "two", y = 2}}})
  local ls = lg.d.series[1]
  T.ok(lg.d.title:find("band: min-max over seeds", 1, true), lg.d.title)
  T.ok(ls.err == nil, "no sd band on a log axis")
  T.eq(ls.lo[2], math.min(a, b)); T.eq(ls.hi[2], math.max(a, b))
  local ref = lg.d.series[2]
  T.eq(ref.label, "two")
  T.eq(table.concat(ref.x, ","), "2,6", "a reference line spans the curves' steps")
  T.eq(table.concat(ref.y, ","), "2,2")
  -- like = a variant: the line is drawn dashed in that variant's colour
  -- (task 11's 2/lr lines had colours of their own, matching other rates')
  local lk = wb.runs.Runs(recs):plot_curves("loss", {x = "step", logy = true,
    refs = {{label = "two", y = 2, like = ls.label}}})
  T.eq(lk.d.series[2].like, 1, "the reference line is not the variant's")
  -- logx: task 8's batch 6,000 ran 50 epochs, the others 5 or 10, squeezed
  -- into the first fifth of a linear axis
  T.ok(wb.runs.Runs(recs):plot_curves("loss", {x = "step", logx = true}).d.logx, "not logx")
  T.check_error("unknown variant 'nope'", function()
    wb.runs.Runs(recs):plot_curves("loss", {x = "step", refs = {{y = 2, like = "nope"}}}) end)
  T.check_error("refs[1]: expected {label =, y = number}", function()
    wb.runs.Runs(recs):plot_curves("loss", {x = "step", refs = {{y = "2"}}}) end)
  T.check_error("has no step series 'val_loss'", function()
    wb.runs.Runs(recs):plot_curves("val_loss", {x = "step"}) end)
  T.check_error('x must be "epoch", "time" or "step", got steps', function()
    wb.runs.Runs(recs):plot_curves("loss", {x = "steps"}) end)
end)

-- }====================

T.done()
