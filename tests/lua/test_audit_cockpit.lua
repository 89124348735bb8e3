-- test_audit_cockpit.lua: defects found auditing the instruments and the
-- live cockpit (wb/instruments*.lua, wb/cockpit*.lua), one test each (the
-- values against numpy: test_audit_cockpit_values.lua).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local text = require "wb.cockpit_text"

-- A tiny run in a child process (frames go to its stdout): 60 synthetic
-- rows, 10 -> 8 -> 3, SGD lr 0.1, batch 10, 2 epochs = 12 steps; arg[1]
-- is fit's extra options as Lua source. On an error it prints the error
-- on stderr and exits 3.
local RUN = [[
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local data = T.synthetic(5, 60, 10)
wb.seed(5)
local m = wb.nn.Sequential{wb.nn.Dense(10, 8, {activation = "relu"}),
  wb.nn.Dense(8, 3, {activation = "softmax"})}
local o = {epochs = 2, batch_size = 10, optimizer = wb.optim.SGD{lr = 0.1}, seed = 1,
  verbose = false}
for key, v in pairs(load("return " .. arg[1], "opts", "t", {wb = wb, io = io})()) do o[key] = v end
local ok, e = pcall(m.fit, m, data, o)
if not ok then io.stderr:write(tostring(e), "\n"); os.exit(3) end
]]

local dir = T.tmpdir()
local script = dir .. "/run.lua"
assert(io.open(script, "w")):write(RUN):close()

-- stdout, stderr and status of the tiny run with options opts, under
-- environment env (e.g. "COLUMNS=50"), stdout piped.
local function run(opts, env)
  local st, out, err = T.sh("env -u COLUMNS " .. (env or "") .. " OPENBLAS_NUM_THREADS=1 "
    .. T.quote(T.wb) .. " " .. T.quote(script) .. " " .. T.quote(opts))
  return out, err, st
end

-- stdout of the tiny run on a pseudo-terminal (script(1)) cols characters
-- wide, TERM=xterm; nil without script(1).
local function run_tty(cols, opts)
  local inner = string.format("stty cols %d rows 60; env -u COLUMNS TERM=xterm "
    .. "OPENBLAS_NUM_THREADS=1 %s %s %s", cols, T.quote(T.wb), T.quote(script), T.quote(opts))
  local st, out = T.sh("script -qec " .. T.quote(inner) .. " /dev/null </dev/null")
  if st ~= 0 and not out:find("cockpit: step", 1, true) then return nil end
  return (out:gsub("\r\n", "\n"))
end

local function widest(s)
  local w = 0
  for line in s:gmatch("[^\n]*") do w = math.max(w, #line) end
  return w
end

-- {==================== the frame's width ====================

-- The frames were 71 columns wide, but a panel's head held its title, its
-- numbers and its key on one line of up to 87 characters (alpha's, lambda_max's):
-- on an 80-column terminal those wrapped, and the redraw (cursor up by the
-- frame's newlines) fell short by a row per wrapped line, leaving old lines
-- on screen frame after frame; on a narrower one every line wrapped.
T.test("frames fit an 80-column terminal: no line of 80 characters or more", function()
  local out = run("{cockpit = 4, instruments = wb.instruments.full, every = 2}")
  T.ok(out:find("lambda_max vs 2/lr", 1, true) and out:find("alpha (0", 1, true), out)
  T.ok(widest(out) < 80, "a line of " .. widest(out) .. " characters")
  T.ok(out:find("\n   last [%d.e+-]+  min "), "the numbers under a long title")
end)

T.test("COLUMNS narrows the frames of a pipe too", function()
  local out = run("{cockpit = 4}", "COLUMNS=50")
  T.ok(widest(out) < 50, "a line of " .. widest(out) .. " characters")
  T.eq(text.width(50), 32); T.eq(text.width(200), text.WIDTH); T.eq(text.width(10),
    text.MIN_WIDTH)
end)

-- gnuplot's frames were wb.plot.style.dumb_size wide (101 characters)
-- whatever the terminal: on 80 columns every line wrapped.
T.test("renderer = gnuplot fits COLUMNS too", function()
  if not os.execute("command -v gnuplot >/dev/null 2>&1") then
    T.skip("gnuplot renderer's width", "no gnuplot")
    return
  end
  local out = run("{cockpit = {every = 12, renderer = 'gnuplot'}}", "COLUMNS=80")
  T.ok(out:find("gradient norm", 1, true), out)
  T.ok(widest(out) < 80, "a line of " .. widest(out) .. " characters")
end)

-- A series measured as NaN at every step (alpha and gsnr at batch size 1)
-- read "(not measured yet)" for the whole fit.
T.test("a panel whose values are all NaN says so, not 'not measured yet'", function()
  local out = run("{cockpit = 30, batch_size = 1, epochs = 1}")
  T.ok(out:find("%-%- gradient signal%-to%-noise ratio %-+\n +| %(30 values, none finite%)"),
    out)
  T.ok(not out:find("not measured yet", 1, true), out)
end)

-- After fit{resume}, history.steps holds the saved fit's rows: the figure's
-- alpha panel drew steps 1 .. 18, its other panels this fit's 13 .. 18.
T.test("a resumed fit's cockpit figure draws alpha over this fit's steps only", function()
  if not os.execute("command -v gnuplot >/dev/null 2>&1") then
    T.skip("resumed cockpit figure", "no gnuplot")
    return
  end
  local png = dir .. "/resume/cockpit.png"
  os.execute("mkdir -p " .. T.quote(dir .. "/resume"))
  local child = dir .. "/resume.lua"
  assert(io.open(child, "w")):write([=[
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local data = T.synthetic(5, 60, 6)
local function model()
  wb.seed(3)
  return wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = "tanh"}),
    wb.nn.Dense(5, 3, {activation = "softmax"})}
end
local m = model()
m:fit(data, {epochs = 2, batch_size = 10, verbose = false, optimizer = "sgd",
  instruments = wb.cockpit.DEFAULT})
m:save_state(arg[1] .. ".safetensors")
local h = model():fit(data, {epochs = 3, batch_size = 10, verbose = false, optimizer = "sgd",
  resume = arg[1] .. ".safetensors", cockpit = {every = 100, save = arg[1]}})
assert(#h.steps.step == 18)
]=]):close()
  local st, _, err = T.sh(T.quote(T.wb) .. " " .. T.quote(child) .. " " .. T.quote(png))
  T.eq(st, 0, err)
  local function rows(p)
    local n = -1 -- the header
    for _ in io.lines(p) do n = n + 1 end
    return n
  end
  T.eq(rows(dir .. "/resume/cockpit-1.csv"), 6, "loss: steps 13 .. 18")
  T.eq(rows(dir .. "/resume/cockpit-3.csv"), 6, "alpha: steps 13 .. 18")
end)

T.test("text.rows counts the rows of wrapped lines", function()
  T.eq(text.rows("abc\n\n" .. string.rep("x", 40) .. "\n" .. string.rep("x", 41) .. "\n", 40),
    1 + 1 + 1 + 2)
end)

-- On a terminal 40 columns wide each redraw moves up by exactly the rows
-- the previous frame took there.
T.test("on a narrow terminal the redraw moves up by the rows the last frame took", function()
  local out = run_tty(40, "{cockpit = 4, epochs = 1, batch_size = 5}")
  if not out then
    T.skip("narrow terminal", "no script(1) to make a pseudo-terminal")
    return
  end
  T.eq(wb.sys.term_columns(1) == nil or math.type(wb.sys.term_columns(1)) == "integer", true)
  local frames, ups = {}, {}
  out = out .. "\r\27[K" -- the end of the last frame
  for up, frame in out:gmatch("\27%[(%d+)A\27%[J(cockpit: step.-)\r?\27%[K") do
    ups[#ups + 1] = tonumber(up); frames[#frames + 1] = frame
  end
  local first = out:match("^\r?\27%[K(cockpit: step.-)\r?\27%[K")
  T.ok(first and #ups == 2, "three frames: " .. out:sub(1, 400):gsub("\27", "^["))
  local prev = first
  for i = 1, #ups do
    T.eq(ups[i], text.rows(prev, 40), "frame " .. (i + 1) .. " moves up by the rows of " .. i)
    prev = frames[i]
  end
  T.ok(widest(out) < 60, "the frame narrowed to the terminal: " .. widest(out))
end)

-- With verbose = false no epoch line is printed, yet each epoch's end kept
-- the frame above as if one were: one stale frame left per epoch.
T.test("with verbose = false a frame replaces the last one across epochs", function()
  local out = run_tty(80, "{cockpit = 4, epochs = 3}")
  if not out then
    T.skip("frames across epochs", "no script(1) to make a pseudo-terminal")
    return
  end
  local _, frames = out:gsub("cockpit: step", "")
  local _, ups = out:gsub("\27%[%d+A\27%[J", "")
  T.eq(frames, 5, "frames at steps 4, 8, 12, 16 and the last"); T.eq(ups, 4)
  local shown = run_tty(80, "{cockpit = 4, epochs = 3, verbose = true}")
  T.ok(shown:find("epoch 1/3  loss", 1, true), "fit's epoch line")
  local _, kept = shown:gsub("\27%[%d+A\27%[J", "")
  T.eq(kept, 1, "the frame before an epoch line stays: only 12 replaces 8")
end)

-- plot_curves(name, {x = "step"}) for an instrument's series a variant
-- lacks said "set log_every", which records loss and accuracy, not it.
T.test("a variant without an instrument's step series is told about instruments", function()
  local function rec(v, st)
    return {task = "t", hash = v, variant = v, seed = 1, status = "ok", config = {epochs = 1},
      history = {loss = {1}, steps = st}}
  end
  local rs = wb.runs.Runs{rec("a", {step = {1, 2}, grad_norm = {1, 2}, loss = {1, 1}}),
    rec("b", {step = {1, 2}, loss = {1, 1}})}
  T.check_error("variant 'b' has no step series 'grad_norm' (history.steps: set log_every, "
    .. "or instruments measuring it, in the config)", function()
      rs:plot_curves("grad_norm", {x = "step"}) end)
end)

-- fit's live bar was 81-82 characters at 1875 steps an epoch (MNIST at
-- batch 32) and 10 epochs: on 80 columns it wrapped, and as "\r" goes back
-- to a wrapped line's last row only, each redraw (10 a second) added a row,
-- under the cockpit's frame too.
T.test("fit's live bar fits the terminal: the bar shrinks, then the line is cut", function()
  local progress = require "wb.progress"
  local real = wb.sys.term_columns
  local p = {epoch = 10, epochs = 10, steps = 1875, t0 = 0}
  local function at(cols)
    wb.sys.term_columns = function() return cols end
    local ok, s = pcall(progress.bar_line, p, 1875, 100, 1800, 1875, 100)
    wb.sys.term_columns = real
    assert(ok, s)
    return s
  end
  T.eq(#at(200) - 1, 82, "the full line") -- the leading \r prints nothing
  local s80 = at(80)
  T.ok(#s80 - 1 <= 79 and s80:find("acc 0.9600", 1, true), s80)
  T.ok(s80:find("%[=+%]"), "a shorter bar: " .. s80)
  local s40 = at(40)
  T.eq(#s40 - 1, 39, s40)
end)

-- wb.cockpit.figure, public, said "attempt to index a nil value" of a
-- missing argument or a panel without series.
T.test("wb.cockpit.figure checks its arguments, naming them", function()
  local f = wb.cockpit.figure
  T.check_error("bad argument #1 to 'wb.cockpit.figure' (table expected, got nil)", f)
  T.check_error("(a non-empty list of panels expected)", f, {})
  T.check_error("(panel 1: expected {title, key, series", f, {{title = "x"}})
  T.check_error("bad argument #2 to 'wb.cockpit.figure' (table expected, got number)", f,
    {{title = "x", series = {{x = {1}, y = {2}}}}}, 5)
  T.eq(tostring(f({{title = "x", series = {{x = {1}, y = {2}, label = "y"}}}})),
    'Plot(panels, "cockpit")')
end)

-- }====================
-- {==================== a fit that raises ====================

-- A divergence, Ctrl-C or a hook's error ended fit without on_train_end:
-- the cockpit drew no last frame and wrote no figure, though the series up
-- to the failure is what one wants to see then.
local function exists(p) local f = io.open(p, "rb"); if f then f:close() end; return f ~= nil end

T.test("a diverged fit ends with a frame saying so and the figure of save", function()
  local png = dir .. "/div/cockpit.png"
  os.execute("mkdir -p " .. T.quote(dir .. "/div"))
  local out, err, st = run("{optimizer = wb.optim.SGD{lr = 1e25}, cockpit = {every = 50, "
    .. "save = " .. string.format("%q", png) .. "}}")
  T.ok(st ~= 0 and err:find("training diverged", 1, true), err)
  T.ok(out:find("cockpit: step %d+, epoch 1, lr 1e%+25, stopped: training diverged: loss is "),
    out)
  T.ok(err:find("fit: cockpit: the series up to step %d+ written to " .. png:gsub("%p", "%%%0")
    .. " %(training stopped: training diverged"), err)
  T.ok(exists(png) and exists(dir .. "/div/cockpit.csv"), "the figure and its CSV")
end)

-- On a terminal, with fit's live bar: fit ends the bar's line first, so the
-- last frame goes up one row more than the frame before it took.
T.test("on a terminal the failure's frame replaces the last one, the bar's row too", function()
  local out = run_tty(80, "{verbose = true, cockpit = 1, optimizer = wb.optim.SGD{lr = 1e25}}")
  if not out then
    T.skip("failure frame on a terminal", "no script(1) to make a pseudo-terminal")
    return
  end
  local first = out:match("\27%[K(cockpit: step 1.-  step\n)") -- the frame, not the bar
  local up = out:match("\27%[(%d+)A\27%[Jcockpit: step %d+, epoch 1, lr 1e%+25, stopped")
  T.ok(first and up, (out:gsub("\27", "^[")))
  T.eq(tonumber(up), text.rows(first, 80) + 1, "the frame's rows and the bar's")
end)

T.test("Ctrl-C in fit ends with the cockpit's last frame and figure", function()
  local png = dir .. "/int/cockpit.png"
  os.execute("mkdir -p " .. T.quote(dir .. "/int"))
  local out, err, st = run("{cockpit = {every = 4, save = " .. string.format("%q", png)
    .. "}, callbacks = {wb.callbacks.Lambda{on_train_batch_end = function(step) "
    .. "if step == 6 then io.popen('kill -INT ' .. wb.sys.getpid()):close() end end}}}")
  T.ok(st ~= 0 and err:find("interrupted!", 1, true), err)
  T.ok(out:find("cockpit: step 5, epoch 1, lr 0.1, stopped: interrupted (Ctrl-C or SIGTERM)", 1,
    true), out)
  T.ok(err:find("the series up to step 5 written to", 1, true), err)
  T.ok(exists(png), "the figure")
end)

-- A gnuplot renderer without gnuplot raised at its first frame (at fit's end
-- when that was the last: the trained model lost, no CSV); a save folder
-- that cannot be made was said only after training.
T.test("a cockpit's outputs are checked before training: no gnuplot draws text frames",
  function()
  local out, err, st = run("{cockpit = {every = 4, renderer = 'gnuplot'}}",
    "WB_GNUPLOT=/nonexistent/gnuplot")
  T.eq(st, 0, err)
  T.ok(err:find('fit: cockpit: renderer "gnuplot": gnuplot not found', 1, true), err)
  T.ok(err:find("drawing the frames as text", 1, true), err)
  T.ok(out:find("cockpit: step 12, epoch 2", 1, true), out)
  local afile = dir .. "/afile"
  assert(io.open(afile, "w")):close()
  out, err, st = run("{cockpit = {every = 4, save = " .. string.format("%q", afile
    .. "/c.png") .. "}}")
  T.eq(st, 3, err)
  T.ok(err:find("fit: cockpit: save: " .. afile .. "/c.png: mkdir_p: " .. afile
    .. " exists and is not a directory", 1, true), err)
  T.ok(not out:find("cockpit: step", 1, true), "refused before a step: " .. out)
end)

-- {==================== messages ====================

-- A loss function of one's own was named by its address ("not for loss
-- function: 0x55..."), and the Hessian "are computed".
T.test("an instrument a loss function does not support is refused in words", function()
  local data = T.synthetic(5, 20, 4)
  local function fit(instr, loss)
    wb.seed(1)
    local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
    return function() m:fit(data, {instruments = {instr}, loss = loss, verbose = false}) end
  end
  local own = function(out) return 0, wb.zeros(out:size(1), out:size(2)) end
  T.check_error("fit: instrument alpha needs per-sample losses, which are computed for the "
    .. "default cross-entropy only, not for a loss function of one's own", fit("alpha", own))
  T.check_error("fit: instrument tic needs the Hessian, which is computed for the default "
    .. "cross-entropy and mse only, not for loss hinge", fit("tic", "hinge"))
end)

-- gsnr divided by Cockpit's biased variance, 0 for one row: g^2 / 1e-5,
-- a spike of thousands where the other steps read 0.1 .. 1 (a last batch
-- of one row), where the tests and alpha are NaN.
T.test("gsnr is NaN at a batch of one row, as the tests are", function()
  local data = T.synthetic(5, 21, 6)
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(6, 3, {activation = "softmax"})}
  local h = m:fit(data, {batch_size = 4, shuffle = false, verbose = false, optimizer = "sgd",
    instruments = {"gsnr", "norm_test"}})
  local st = h.steps
  T.eq(#st.step, 6)
  for i = 1, 5 do T.ok(st.gsnr[i] > 0 and st.gsnr[i] < 10, "gsnr " .. i .. ": " .. st.gsnr[i]) end
  T.eq(st.batch_size[6], 1)
  T.ok(st.gsnr[6] ~= st.gsnr[6], "gsnr at one row: " .. st.gsnr[6])
  T.ok(st.norm_test[6] ~= st.norm_test[6])
end)

-- }====================

T.test("--cockpit: a foreground run stopped by an error still writes its dashboard", function()
  -- the figure was written only when the run ended well: an error in a hook
  -- (or Ctrl-C) drew the last frame and lost the series
  local task = dir .. "/failing.lua"
  local f = assert(io.open(task, "w"))
  f:write([[
return wb.task{name = "failing", experiment = {base = {hidden = 8, epochs = 3,
  batch_size = 50, subset = {train = 200, test = 100}}, seeds = {1},
  callbacks = function() return {wb.callbacks.Lambda{on_epoch_end = function(e)
    if e == 2 then error("boom at epoch 2") end end}} end},
  report = function(task, runs) end}
]])
  f:close()
  local root = dir .. "/failing-root"
  local st, out, err = T.sh(string.format("%s %s --root %s --jobs 1 --cockpit", T.quote(T.wb),
    T.quote(task), T.quote(root)))
  T.ok(st ~= 0, "the task failed")
  T.ok(err:find("boom at epoch 2", 1, true), err)
  T.ok(out:find("stopped: ", 1, true), "a last frame saying why: " .. out)
  local png = root .. "/failing/cockpit/base-seed1.png"
  T.ok(err:find("the series up to step 8 written to " .. png, 1, true), err)
  local fh = io.open(png, "rb")
  T.ok(fh and #fh:read("a") > 1000, "a PNG at " .. png)
  if fh then fh:close() end
end)

T.done()
