-- test_cockpit.lua: fit{cockpit = ...} (wb/cockpit.lua): the frames of a
-- fixed tiny run against stored text (tests/fixtures/cockpit_*.txt; rewrite
-- them with WB_UPDATE_GOLDEN=1 after a deliberate change, and read the
-- diff), cockpit = false leaving fit's output and history unchanged and
-- adding no per-step work, the figure written by save, the option errors,
-- plain frames and no cursor codes on a TERM=dumb terminal, the gnuplot
-- renderer's layout, and the runner's --cockpit (its dashboard files, its
-- notice when nothing is trained).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- {==================== fixtures ====================

-- The tiny run, as a script for a child process (frames go to stdout):
-- 120 synthetic rows (own LCG), 20 -> 16 -> 3, SGD lr 0.1, batch 10, 2
-- epochs = 24 steps. arg[1] is fit's extra options, as Lua source.
local RUN = [[
local wb = require "wb"
local s = 11
local function rnd() s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 end
local n, d, k = 120, 20, 3
local proj = {}
for j = 1, d * k do proj[j] = rnd() - 0.5 end
local rows, labels = {}, wb.new_tensor({n}, "uint8")
for i = 1, n do
  local r, best, arg_ = {}, -math.huge, 0
  for j = 1, d do r[j] = rnd() end
  for c = 1, k do
    local z = 0
    for j = 1, d do z = z + r[j] * proj[(c - 1) * d + j] end
    if z > best then best, arg_ = z, c - 1 end
  end
  rows[i] = r
  labels:set(i, arg_)
end
local data = wb.data.Dataset(wb.tensor(rows), labels, "synthetic")
wb.seed(5)
local m = wb.nn.Sequential{wb.nn.Dense(20, 16, {activation = "relu"}),
  wb.nn.Dense(16, 3, {activation = "softmax"})}
local o = {epochs = 2, batch_size = 10, optimizer = wb.optim.SGD{lr = 0.1}, seed = 1}
for key, v in pairs(load("return " .. arg[1], "opts", "t", {wb = wb})()) do o[key] = v end
local h = m:fit(data, o)
if arg[2] then
  local f = assert(io.open(arg[2], "w"))
  f:write(string.format("%.17g %.17g\n", h.loss[1], h.loss[2]))
  local st = h.steps
  for i = 1, st and #st.step or 0 do f:write(string.format("%.17g ", st.loss[i])) end
  f:close()
end
]]

local dir = T.tmpdir()
local script = dir .. "/run.lua"
do
  local f = assert(io.open(script, "w")); f:write(RUN); f:close()
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- stdout of the tiny run with extra fit options (Lua source); out: a file
-- for the losses, to compare histories.
local function run(opts, out)
  local st, stdout, stderr = T.sh("env -u COLUMNS OPENBLAS_NUM_THREADS=1 " .. q(T.wb) .. " "
    .. q(script) .. " " .. q(opts) .. (out and " " .. q(out) or ""))
  T.ok(st == 0, "the run failed: " .. stderr)
  return stdout
end

local slurp = require("wb.util").read_file -- nil when the file is not there

-- Compares text with tests/fixtures/cockpit_<name>.txt, or writes it there
-- when WB_UPDATE_GOLDEN=1. With version (a line naming the program that
-- drew the text), the file starts with it, and a file written by another
-- version is not compared: returns false.
local function golden(name, text, version)
  local path = "tests/fixtures/cockpit_" .. name .. ".txt"
  if version then text = "# " .. version .. "\n" .. text end
  if os.getenv("WB_UPDATE_GOLDEN") == "1" then
    local f = assert(io.open(path, "w")); f:write(text); f:close()
  end
  local want = slurp(path)
  T.ok(want, "missing " .. path .. " (run with WB_UPDATE_GOLDEN=1 to write it)")
  if version and want:match("^[^\n]*") ~= text:match("^[^\n]*") then return false end
  if text ~= want then
    local function lines(s)
      local t = {}
      for l in (s .. "\n"):gmatch("([^\n]*)\n") do t[#t + 1] = l end
      return t
    end
    local a, b, i = lines(text), lines(want), 1
    while a[i] == b[i] do i = i + 1 end
    error(string.format("%s differs at line %d:\n got: %s\nwant: %s", path, i,
      tostring(a[i]), tostring(b[i])))
  end
  return true
end

local function have_gnuplot() return os.execute("command -v gnuplot >/dev/null 2>&1") end

-- stdout of the tiny run on a pseudo-terminal (script(1)) with environment
-- env (e.g. "TERM=dumb", "-u TERM"), "\r\n" read as "\n"; nil without
-- script(1).
local function run_tty(env, opts)
  local inner = "env -u COLUMNS " .. env .. " OPENBLAS_NUM_THREADS=1 " .. q(T.wb) .. " "
    .. q(script) .. " " .. q(opts)
  local st, out = T.sh("script -qec " .. q(inner) .. " /dev/null </dev/null")
  if st ~= 0 and not out:find("cockpit: step", 1, true) then return nil end
  return (out:gsub("\r\n", "\n"))
end

-- }====================
-- {==================== frames ====================

T.test("frames of the tiny run with the default instruments equal the stored text", function()
  local out = run("{verbose = false, cockpit = 8}")
  local _, frames = out:gsub("cockpit: step", "")
  T.eq(frames, 3, "a frame every 8 of 24 steps")
  T.ok(out:find("-- gsnr", 1, true) == nil and out:find("gradient signal-to-noise", 1, true),
    "the default instruments include gsnr")
  T.ok(not out:find("lambda_max", 1, true), "no lambda_max panel without hess_max")
  golden("default", out)
end)

T.test("with hess_max measured, lambda_max is drawn against 2/lr (stored text)", function()
  local out = run("{verbose = false, instruments = wb.instruments.full, every = 2, "
    .. "cockpit = {every = 10}}")
  local _, frames = out:gsub("cockpit: step", "")
  T.eq(frames, 3, "frames at steps 10, 20 and the last, 24")
  T.ok(out:find("cockpit: step 24,", 1, true), "a last frame at the end")
  T.ok(out:find("lambda_max vs 2/lr", 1, true), "the lambda_max panel")
  T.ok(out:find("\n       20 |%-"), "2/lr = 20 at lr 0.1 tops the panel")
  T.ok(not out:find("gradient signal-to-noise", 1, true), "gsnr is not in full")
  golden("full", out)
end)

T.test("frames hold no terminal codes and no timings off a terminal", function()
  local out = run("{verbose = false, cockpit = 12}")
  T.ok(not out:find("\27", 1, true), "no escape codes")
  T.ok(not out:find("%d+%.%ds") and not out:find("%d+ms"), "no seconds")
end)

T.test("on a TERM=dumb terminal (or no TERM) frames and fit's lines are plain", function()
  local probe = run_tty("TERM=xterm", "{verbose = true, cockpit = 8}")
  if not probe then
    T.skip("TERM=dumb", "no script(1) to make a pseudo-terminal")
    return
  end
  T.ok(probe:find("\27[", 1, true), "a real terminal gets cursor codes (the test can fail)")
  for _, env in ipairs{"TERM=dumb", "-u TERM", "TERM="} do
    local out = run_tty(env, "{verbose = true, cockpit = 8}")
    T.ok(not out:find("\27", 1, true), env .. ": no escape codes")
    T.ok(not out:find("\r", 1, true), env .. ": no live bar (its \\r)")
    T.ok(out:find("\nepoch 2/2  loss", 1, true), env .. ": fit's epoch lines")
    local gp = run_tty(env, "{verbose = false, cockpit = {every = 12, renderer = 'gnuplot'}}")
    T.ok(not gp:find("\27", 1, true), env .. ": the gnuplot renderer clears no screen")
  end
  -- the frames themselves are those of a file, one after another
  T.eq(run_tty("TERM=dumb", "{verbose = false, cockpit = 8}"),
    slurp("tests/fixtures/cockpit_default.txt"))
end)

T.test("renderer = gnuplot: readable panels (no key, own marks, spaced tics)", function()
  if not have_gnuplot() then
    T.skip("gnuplot renderer", "no gnuplot")
    return
  end
  local out = run("{verbose = false, instruments = wb.instruments.full, every = 2, "
    .. "cockpit = {every = 10, renderer = 'gnuplot'}}")
  local _, frames = out:gsub("cockpit: step", "")
  T.eq(frames, 3, "frames at steps 10, 20 and 24")
  -- a key beside each panel left ~12 columns for the curve: now none, the
  -- title names each series by its mark
  T.ok(not out:find("%*%*%*%*%*[%a_]"), "no key samples (*****loss)")
  T.ok(out:find("lambda_max vs 2/lr  (* hess_max, # 2/lr)", 1, true), "marks in the title")
  T.ok(out:find("\n 20 +|########", 1, true), "2/lr drawn with #, at 20")
  T.ok(out:find("alpha (0 = ideal step)  (* alpha, . 0)", 1, true))
  T.ok(out:find("0 +|.........", 1, true), "y = 0 is dotted, not drawn with alpha's *")
  local tic_rows = 0
  for line in out:gmatch("[^\n]+") do
    if line:find("^[%d%s]+$") and line:find("%d%s+%d") then
      tic_rows = tic_rows + 1
      T.ok(not line:find("%d %d") and not line:find("%d  %d"), "x tics collide: " .. line)
      local n = 0
      for _ in line:gmatch("%d+") do n = n + 1 end
      T.ok(n <= 12, "at most about 5 x tics a panel: " .. line)
    end
  end
  T.eq(tic_rows, 6, "two rows of x tics per frame")
  local p = io.popen("gnuplot --version")
  local version = p:read("l"); p:close()
  if not golden("gnuplot", out, version) then
    T.skip("gnuplot renderer's stored text", "drawn by another gnuplot than " .. version)
  end
end)

-- }====================
-- {==================== off ====================

T.test("cockpit = false leaves fit's output and history unchanged", function()
  local h1, h2, h3 = dir .. "/h1", dir .. "/h2", dir .. "/h3"
  local plain = run("{verbose = true}", h1)
  local off = run("{verbose = true, cockpit = false}", h2)
  -- epoch lines end with the epoch's seconds, the one thing that may differ
  local function untimed(s) return (s:gsub("%d+%.%ds\n", "Ts\n"):gsub("%d+ms\n", "Ts\n")) end
  T.ok(plain:find("epoch 2/2", 1, true), "fit printed its epoch lines")
  T.eq(untimed(off), untimed(plain))
  T.eq(slurp(h2), slurp(h1), "the same history")
  -- on, with the same instruments: the same training
  run("{verbose = false, instruments = wb.cockpit.DEFAULT, cockpit = 8}", h3)
  T.eq(slurp(h3):match("^[^\n]*"), slurp(h1):match("^[^\n]*"), "the cockpit changes no loss")
end)

T.test("cockpit = false: a steady-state step still makes no garbage", function()
  local rows = {}
  for i = 1, 120 do rows[i] = {i % 3 / 3, i % 5 / 5, i % 7 / 7, 0.5} end
  local labels = wb.new_tensor({120}, "uint8")
  for i = 1, 120 do labels:set(i, i % 2) end
  local ds = wb.data.Dataset(wb.tensor(rows), labels, "synthetic")
  wb.seed(2)
  local m = wb.nn.Sequential{wb.nn.Dense(4, 8, {activation = "relu"}),
    wb.nn.Dense(8, 2, {activation = "softmax"})}
  local opt = wb.optim.SGD{lr = 0.05}
  local function garbage(bs)
    m:fit(ds, {epochs = 1, batch_size = bs, verbose = false, optimizer = opt, cockpit = false})
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    local h = m:fit(ds, {epochs = 1, batch_size = bs, verbose = false, optimizer = opt,
      cockpit = false})
    local used = collectgarbage("count") - before
    collectgarbage("restart")
    T.eq(h.steps, nil, "cockpit = false turns on no instrument")
    return used
  end
  -- the least of three: a one-time growth inside Lua (2.5 KB once, seen
  -- after the pseudo-terminal and gnuplot tests above) lands in one pair
  -- only, while garbage made per step shows in every pair
  local extra = math.huge
  for _ = 1, 3 do
    local few, many = garbage(60), garbage(2) -- 2 steps vs 60 steps
    extra = math.min(extra, many - few)
  end
  T.ok(extra < 1.0, string.format("%.2f KB more for 58 more steps", extra))
end)

-- }====================
-- {==================== save and errors ====================

T.test("save writes the series as CSV, a gnuplot script and a PNG", function()
  if not os.execute("command -v gnuplot >/dev/null 2>&1") then
    T.skip("save", "no gnuplot")
    return
  end
  local png = dir .. "/fig/cockpit.png"
  run(string.format("{verbose = false, cockpit = {every = 100, save = %q}}", png))
  T.ok(slurp(png) and #slurp(png) > 1000, "a PNG")
  T.ok(slurp(dir .. "/fig/cockpit.gp"):find("multiplot", 1, true), "a panels script")
  local loss = slurp(dir .. "/fig/cockpit-1.csv")
  local _, rows = loss:gsub("\n", "")
  T.eq(rows, 1 + 24, "the loss panel's CSV: a header and 24 steps")
end)

T.test("a cockpit figure that cannot be drawn costs the figure, not the fit", function()
  local png = dir .. "/nognuplot/cockpit.png"
  local out = dir .. "/nognuplot.txt"
  local st, _, stderr = T.sh("WB_GNUPLOT=/nonexistent/gnuplot OPENBLAS_NUM_THREADS=1 "
    .. q(T.wb) .. " " .. q(script) .. " " .. q(string.format(
    "{verbose = false, cockpit = {every = 100, save = %q}}", png)) .. " " .. q(out))
  T.eq(st, 0, "fit returned its history: " .. stderr)
  T.ok((slurp(out) or ""):find("^%d"), "the script wrote the history fit returned")
  T.ok(stderr:find("fit: cockpit: " .. png .. " not drawn: ", 1, true), stderr)
  T.ok(not slurp(png), "no PNG")
end)

T.test("a bad cockpit option is an error naming it", function()
  local x = wb.tensor({{0.1, 0.2}, {0.3, 0.4}})
  local y = wb.new_tensor({2}, "uint8")
  local m = wb.nn.Sequential{wb.nn.Dense(2, 2, {activation = "softmax"})}
  local function fit(c) return m:fit(x, y, {verbose = false, cockpit = c}) end
  T.check_error("fit: cockpit: unknown option 'evry' (valid: every, save, renderer)", fit,
    {evry = 3})
  T.check_error("fit: cockpit: every must be a positive integer (steps), got 0", fit, 0)
  T.check_error("every must be a positive integer (steps), got 2.5", fit, {every = 2.5})
  -- a whole float is its integer, as fit's every takes it (1e3 is 1000)
  T.ok(pcall(fit, {every = 2.0}), "every = 2.0 is taken")
  T.ok(pcall(fit, 3.0), "cockpit = 3.0 is taken")
  T.check_error("fit: cockpit: save must be a path ending in .png, got x.jpg", fit,
    {save = "x.jpg"})
  T.check_error('renderer must be "text" or "gnuplot", got ascii', fit, {renderer = "ascii"})
  T.check_error("fit: cockpit must be true, false, a number of steps or a table", fit, "on")
end)

-- }====================
-- {==================== the runner's --cockpit ====================

T.test("--cockpit trains the first run in the foreground, with the same record", function()
  local task = dir .. "/small.lua"
  local f = assert(io.open(task, "w"))
  f:write([[
return wb.task{name = "small", experiment = {base = {hidden = 8, epochs = 1,
  batch_size = 50, subset = {train = 200, test = 100}, instruments = "economy"},
  seeds = {1, 2}}, report = function(task, runs) end}
]])
  f:close()
  local function task_run(root, extra)
    local st, out, err = T.sh(string.format("%s %s --root %s --jobs 1 %s", q(T.wb), q(task),
      q(root), extra))
    T.eq(st, 0, err)
    local by = {}
    for _, r in ipairs(wb.runs.load_all(root .. "/runs")) do by[r.hash] = r end
    return out, err, by
  end
  local out, err, fg = task_run(dir .. "/fg", "--cockpit")
  T.ok(err:find("seed 1: in the foreground (--cockpit)", 1, true), err)
  local _, frames = out:gsub("cockpit: step", "")
  T.eq(frames, 1, "one frame: 4 steps, drawn at the end")
  T.ok(out:find("-- gradient norm", 1, true), "economy's gradient norm is drawn")
  local _, _, plain = task_run(dir .. "/plain", "")
  local n = 0
  for h, r in pairs(plain) do
    n = n + 1
    T.ok(fg[h], "the same runs")
    T.eq(#fg[h].history.steps.step, #r.history.steps.step)
    for i, v in ipairs(r.history.steps.grad_norm) do
      T.eq(fg[h].history.steps.grad_norm[i], v, "the same step series")
    end
    T.eq(fg[h].metrics.test_accuracy, r.metrics.test_accuracy)
    -- each trained alone (--jobs 1; the foreground one before the others): its times' conditions
    T.eq(fg[h].concurrent_jobs, 1, "recorded for the foreground run too")
  end
  T.eq(n, 2)
  local st, _, e2 = T.sh(string.format("%s %s --cockpit --slurm", q(T.wb), q(task)))
  T.eq(st, 64)
  T.ok(e2:find("--cockpit trains the first run here: not with --slurm", 1, true), e2)
end)

T.test("--cockpit writes its run's dashboard, trains a run it could adopt, says when "
    .. "nothing trains", function()
  -- a task whose run has the training of another task's: it adopts that record
  -- (two variants of one task with one config are an error)
  local function task_file(path, name, label)
    local f = assert(io.open(path, "w"))
    f:write(string.format([[
return wb.task{name = %q, experiment = {base = {hidden = 8, epochs = 1,
  batch_size = 50, subset = {train = 200, test = 100}, instruments = "economy"},
  seeds = {1}, variants = {{label = %q}}},
  report = function(task, runs) end}
]], name, label))
    f:close()
  end
  local task, first = dir .. "/twins.lua", dir .. "/twin_a.lua"
  task_file(first, "twin_a", "a")
  task_file(task, "twins", "b/2")
  local root = dir .. "/twins"
  local function task_run(extra, script)
    local st, out, err = T.sh(string.format("%s %s --root %s --jobs 1 %s", q(T.wb),
      q(script or task), q(root), extra))
    T.eq(st, 0, err)
    local _, frames = out:gsub("cockpit: step", "")
    return frames, err
  end
  task_run("", first)
  local frames, err = task_run("")
  T.eq(frames, 0)
  T.ok(err:find("same training as", 1, true), "it adopts twin_a's: " .. err)
  -- every run cached: one line says why nothing is drawn
  frames, err = task_run("--cockpit")
  T.eq(frames, 0)
  T.ok(err:find("[twins] --cockpit: its one run is cached and none is trained, so no "
    .. "cockpit is shown (add --fresh to train it again)", 1, true), err)
  T.ok(not err:find("foreground", 1, true), err)
  -- --fresh: the foreground run trains (and draws) though a record could be adopted
  frames, err = task_run("--cockpit --fresh")
  T.eq(frames, 1, "one frame: 4 steps, drawn at the end")
  local fg = err:match("%[twins%] (%S+) seed 1: in the foreground")
  T.ok(fg, err)
  local done = err:match("\n%[twins%] [^\n]- seed 1: test accuracy[^\n]*")
  T.ok(done and not done:find("same training as", 1, true),
    "the foreground run was trained, not adopted: " .. err)
  -- its dashboard, beside the task's figures ('/' in a variant name kept out of the path)
  local png = root .. "/twins/cockpit/" .. fg:gsub("/", "_") .. "-seed1.png"
  if not have_gnuplot() then
    T.ok(err:find("cockpit figure not drawn", 1, true), err)
    T.skip("--cockpit's dashboard", "no gnuplot")
    return
  end
  T.ok(err:find("cockpit figure " .. png .. " (with its .csv and .gp)", 1, true), err)
  T.ok(slurp(png) and #slurp(png) > 1000, "a PNG at " .. png)
  local gp = slurp(png:gsub("%.png$", ".gp"))
  T.ok(gp and gp:find("multiplot", 1, true), "a panels script")
  T.ok(gp:find("cockpit: twins, " .. fg .. " seed 1", 1, true), "the run in the title")
  local _, rows = slurp(png:gsub("%.png$", "-1.csv")):gsub("\n", "")
  T.eq(rows, 1 + 4, "the loss panel's CSV: a header and 4 steps")
  T.ok(slurp(png:gsub("%.png$", "-3.csv")), "economy's three panels: loss, grad_norm, alpha")
end)

-- }====================

T.done()
