-- test_audit_present.lua: what a new user saw (audit B).
-- 1. fit{resume} with epochs equal to the saved epochs trained nothing and
--    returned the saved history, where "a fit that trains nothing" is an
--    error otherwise; a stopped state, and a run rerun onto the file its
--    own ModelCheckpoint{save_state} writes (killed after its last save),
--    still resume to nothing.
-- 2. A --quick run's figures had the real results' titles.
-- 3. The cockpit's header (raw min/max, raw last) described other numbers
--    than its plot (column means); no zero line; no word on short batches.
-- 4. wb.hessian on a softmax head with loss = "mse" said softmax is
--    supported only on the last Dense, which it was.
-- 5. Ctrl-C in the REPL during fit read "layer 1 (Dense ...): interrupted!".
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

-- {==================== 1. resume that trains nothing ====================

local function fit2(path, cbs)
  local m = T.tiny_mlp(1)
  local train = T.tiny_data()
  local h = m:fit(train, {epochs = 2, batch_size = 16, verbose = false, callbacks = cbs})
  if path then m:save_state(path) end
  return h, train
end

T.test("resume with epochs equal to the saved ones is refused, naming them", function()
  local path = dir .. "/s2.safetensors"
  local _, train = fit2(path)
  local m = T.tiny_mlp(1)
  local ok, err = pcall(m.fit, m, train, {epochs = 2, batch_size = 16, verbose = false,
    resume = path})
  T.ok(not ok, "trained nothing and returned")
  T.ok(tostring(err):find("fit: epochs = 2 equals the 2 epochs already done in " .. path
    .. ": epochs is the number of the last epoch (Keras), so epochs = 3 trains one more; "
    .. "a fit that trains nothing is refused", 1, true), tostring(err))
  T.eq(m.history, nil, "nothing restored")
  local h = m:fit(train, {epochs = 3, batch_size = 16, verbose = false, resume = path})
  T.eq(#h.loss, 3)
end)

T.test("a stopped state, or the fit's own ModelCheckpoint{save_state} file, resumes to "
  .. "nothing as before", function()
  local path = dir .. "/stopped.safetensors"
  local stop = wb.callbacks.Lambda{on_epoch_end = function(epoch)
    if epoch == 2 then return true end end}
  local _, train = fit2(path, {stop})
  local m = T.tiny_mlp(1)
  local h = m:fit(train, {epochs = 2, batch_size = 16, verbose = false, resume = path,
    callbacks = {stop}}) -- the saved fit's
  T.eq(#h.loss, 2, "a stopped fit stays stopped")
  local own = dir .. "/own.safetensors"
  local function ckpt() return wb.callbacks.ModelCheckpoint{own, save_state = true} end
  local first = fit2(nil, {ckpt()})
  m = T.tiny_mlp(1)
  h = m:fit(train, {epochs = 2, batch_size = 16, verbose = false, resume = own,
    callbacks = {ckpt()}})
  T.eq(#h.loss, 2, "killed after its last save: rerun as is")
  T.eq(h.loss[2], first.loss[2])
  -- another ModelCheckpoint's file is no backup of this fit
  m = T.tiny_mlp(1)
  T.ok(not pcall(m.fit, m, train, {epochs = 2, batch_size = 16, verbose = false,
    resume = own, callbacks = {wb.callbacks.ModelCheckpoint{dir .. "/other.safetensors",
      save_state = true}}}))
end)

-- }====================

-- {==================== 2. --quick figures ====================

T.test("a --quick task's figures say so in their title; the plot given is left as it is",
  function()
  local task = wb.task{name = "qk", experiment = {base = {hidden = 4, epochs = 1}}}
  local p = wb.plot.bars{title = "Accuracy", labels = {"a", "b"}, values = {1, 2}}
  task.dir, task.quick = dir .. "/quick", true
  T.stderr_of(function() task:figure("acc", p) end)
  local gp = T.slurp(dir .. "/quick/acc.gp")
  T.ok(gp:find("QUICK (smoke test, not the results): Accuracy", 1, true), gp)
  T.eq(p.d.title, "Accuracy")
  task.dir, task.quick = dir .. "/full", false
  T.stderr_of(function() task:figure("acc", p) end)
  gp = T.slurp(dir .. "/full/acc.gp")
  T.ok(gp:find("Accuracy", 1, true) and not gp:find("QUICK", 1, true), gp)
end)

-- }====================

-- {==================== 3. the cockpit's header and plot ====================

T.test("the cockpit's header gives the plotted numbers (column means), the axis's range; "
  .. "the zero line when that range crosses 0", function()
  local text = require "wb.cockpit_text"
  -- 4 steps a column: each column's mean is below 0, single steps above it
  local x, y = {}, {}
  for i = 1, 40 do x[i], y[i] = i, (i % 4 == 0) and 0.5 or -1 end
  local f = text.frame("h", {{title = "alpha", zero = true,
    series = {{x = x, y = y, label = "alpha"}}}}, 1, 40, 10, 5)
  local last, lo, hi = f:match("last (%S+)  min (%S+) .. max (%S+) %(column means of <= %d steps%)")
  T.ok(last, f)
  T.eq(tonumber(hi) < 0 and tonumber(last) < 0, true, "the raw 0.5 is no column's: " .. f)
  T.eq(f:match("\n +(%S+) |"), hi, "the header's max is the axis's top: " .. f)
  T.eq(f:match("\n +(%S+) |[^\n]*\n +%+"), lo, "its min the axis's bottom: " .. f)
  T.ok(not f:find(". 0", 1, true) and not f:find("%.%.%."), "0 is not in the plotted range: " .. f)
  -- means that cross 0: the dotted line, and its key
  for i = 1, 40 do y[i] = i <= 20 and -1 or 1 end
  f = text.frame("h", {{title = "alpha", zero = true, series = {{x = x, y = y, label = "alpha"}}}},
    1, 40, 10, 5)
  T.ok(f:find("(* alpha, . 0)", 1, true) and f:find("|....", 1, true), f)
  T.ok(f:find("last 1  min -1 .. max 1 (column means", 1, true), f)
end)

T.test("the cockpit marks the steps of a short batch, in its frames and its figure", function()
  local m, train = T.tiny_mlp(1), T.tiny_data() -- 70 rows, batch 16: steps 5 and 10 of 6 rows
  local frames, real = {}, io.stdout
  io.stdout = {write = function(self, ...) for _, v in ipairs{...} do frames[#frames + 1] = v
    end return self end, flush = function() end}
  local ok, err = pcall(m.fit, m, train, {epochs = 2, batch_size = 16, verbose = false,
    optimizer = "sgd", cockpit = {every = 10, save = dir .. "/cp/cockpit.png"}})
  io.stdout = real
  T.ok(ok, tostring(err))
  local out = table.concat(frames)
  T.ok(out:find("^ a short batch (6 rows, not 16): gradient numbers noisier", 1, true), out)
  T.ok(out:find("\n +%+%-+%^%-+%^\n"), out) -- under steps 5 and 10 (the last column)
  local gp = T.slurp(dir .. "/cp/cockpit.gp")
  T.ok(gp:find("set arrow from 5, graph 0 to 5, graph 1", 1, true)
    and gp:find("set arrow from 10, graph 0", 1, true), gp)
  T.ok(gp:find("dashed: a short batch (6 rows, not 16)", 1, true), gp)
  local panels = {{title = "loss", series = {{x = {1, 2}, y = {2, 1}}}}}
  T.check_error("bad argument #4 to 'wb.cockpit.figure' (short: unknown key step)",
    wb.cockpit.figure, panels, nil, nil, {step = {1}})
  T.check_error("(short: rows and full: expected integers", wb.cockpit.figure, panels, nil,
    nil, {steps = {2}})
end)

-- }====================

-- {==================== 4. Hessian of softmax + mse ====================

T.test("wb.hessian on a softmax head under mse says softmax with mse is the reason", function()
  local m = T.tiny_mlp(1)
  local _, _, all = T.tiny_data()
  local ok, err = pcall(wb.hessian.eigs, m, all, {k = 1, loss = "mse"})
  T.ok(not ok)
  err = tostring(err)
  T.ok(err:find("layer 2: a softmax last Dense is supported with cross-entropy only, not "
    .. "with mse", 1, true), err)
  T.ok(not err:find("supported only on the last Dense", 1, true), err)
  T.ok(T.slurp("README.md"):find("softmax followed by MSE is refused", 1, true))
end)

-- }====================

-- {==================== 5. Ctrl-C in the REPL during fit ====================

T.test("wb.repl.interrupted: where the fit stopped, read once", function()
  local R, hooks = require "wb.repl", require "wb.fit_hooks"
  T.eq(R.interrupted(), "interrupted!")
  hooks.interrupted = {step = 37, done = 1}
  T.eq(R.interrupted(), "interrupted! fit stopped in epoch 2, at step 37 of the fit; "
    .. "model.history holds the 1 completed epoch")
  T.eq(R.interrupted(), "interrupted!")
end)

if T.sh("command -v tmux") ~= 0 then
  T.skip("Ctrl-C during fit in the REPL", "tmux is not installed")
else
  T.test("Ctrl-C during fit in the REPL names the epoch and step, no layer, no file",
    function()
    local sock, mark = dir .. "/tmux.sock", dir .. "/epoch2"
    local function tmux(a) return T.sh("tmux -S " .. sock .. " -f /dev/null " .. a) end
    local cmd = string.format("env HOME=%s INPUTRC=/dev/null WB_HISTORY=%s/hist TERM=xterm %s",
      dir, dir, T.wb)
    T.eq(tmux("new-session -d -s a -x 200 -y 40 '" .. cmd .. "'"), 0)
    -- the REPL's fit runs until interrupted: its server goes however the test ends
    local _ <close> = setmetatable({}, {__close = function() tmux("kill-server") end})
    local _, screen
    local line = "d = wb.data.mnist().train:subset(1, 600); m = wb.nn.Sequential{wb.nn.Dense(784, 256, {activation = 'relu'}), "
      .. "wb.nn.Dense(256, 10, {activation = 'softmax'})}; m:fit(d, {epochs = 100000, "
      .. "verbose = false, callbacks = {wb.callbacks.Lambda{on_epoch_end = function(e) "
      .. "if e == 2 then io.open('" .. mark .. "', 'w'):close() end end}}})"
    T.wait_until("the REPL's prompt", 60, function()
      _, screen = tmux("capture-pane -p -J -t a"); return screen:find(">") end)
    tmux("send-keys -t a -l " .. T.quote(line)); tmux("send-keys -t a Enter")
    T.wait_until("epoch 2", 120, function() return wb.sys.exists(mark) end)
    tmux("send-keys -t a C-c")
    T.wait_until("the interrupt's message", 60, function()
      _, screen = tmux("capture-pane -p -J -S -200 -t a")
      return screen:find("interrupted!", 1, true)
    end)
    local msg = screen:match("[^\n]*interrupted![^\n]*")
    T.ok(msg:find("interrupted! fit stopped in epoch %d+, at step %d+ of the fit; "
      .. "model.history holds the %d+ completed epochs$"), msg)
    T.ok(not screen:find("layer 1", 1, true) and not screen:find("%.lua:%d+:"), screen)
  end)
end

-- }====================

T.done()
