-- test_papers_interrupt.lua - a SIGINT once fit's training has ended (the
-- cockpit drawing its last figure, a user's on_train_end hook) says what it
-- stopped, not an epoch (audit sigX): the message read "interrupted! fit
-- stopped in epoch 2, at step 2 of the fit (1 epoch completed)" for a fit of
-- one epoch whose training was over. The runner's --cockpit counted the run
-- trained in the foreground, its record written, as "recorded before" and
-- said "figure not drawn: .../cockpit_run.lua:100: interrupted!".
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local WB = T.wb
local dir = T.tmpdir()

local function write(path, s)
  local fh = assert(io.open(path, "wb"))
  fh:write(s)
  fh:close()
end

local st, gp = T.sh("command -v gnuplot")
if st ~= 0 then T.missing("gnuplot-nox") end
local real = gp:match("[^\n]+")

-- A gnuplot that writes a line in `mark` as it starts, then sleeps 30 s (the
-- signal comes meanwhile), then renders.
local SLEEP = T.sleep_mark(30)
local function fake_gnuplot(mark)
  local path = dir .. "/gnuplot-" .. mark:match("[^/]*$")
  write(path, string.format("#!/bin/sh\necho started >> %s\nsleep %s\nexec %s \"$@\"\n",
    T.quote(mark), SLEEP, T.quote(real)))
  assert(os.execute("chmod +x " .. T.quote(path)))
  return path
end

-- Runs `workbench args` in the background (WB_GNUPLOT the fake one), sends
-- SIGINT once `mark_of(base)` exists, and returns the exit status, stdout
-- and stderr.
local n = 0
local function interrupted(args, started)
  n = n + 1
  local base = string.format("%s/r%d", dir, n)
  local mark = base .. ".started"
  local prog = fake_gnuplot(mark)
  os.execute(string.format("sh -c 'WB_GNUPLOT=%s %s %s </dev/null >%s.out 2>%s.err & "
    .. "echo $! >%s.pid; wait $!; echo $? >%s.st' >/dev/null 2>&1 &", prog, WB, args, base,
    base, base, base))
  local pid = T.wait_line(base .. ".pid", 600):match("%d+")
  local ready = started or function() return wb.sys.exists(mark) end
  T.wait_until("the moment to interrupt", 600, function()
    return ready(base) or T.wait_status(base .. ".st", 0)
  end)
  if not ready(base) then
    error("ended before the signal: " .. (util.read_file(base .. ".err") or ""))
  end
  os.execute("kill -INT " .. pid)
  local status = T.wait_status(base .. ".st", 600)
  T.wait_until("the fake gnuplot's sleep to end", 600, function()
    local _, ps = T.sh("ps -eo args")
    return not ps:find("sleep " .. SLEEP, 1, true)
  end)
  return status, util.read_file(base .. ".out") or "", util.read_file(base .. ".err") or ""
end

T.test("fit's cockpit: SIGINT while its last figure is drawn says so, not an epoch", function()
  local script, png = dir .. "/cockpit.lua", dir .. "/ck/c.png"
  write(script, string.format([[
local x, y = wb.zeros(64, 4), wb.new_tensor({64}, "uint8")
local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
m:fit(wb.data.Dataset(x, y), {epochs = 1, verbose = 0, optimizer = "sgd",
  cockpit = {every = 2, save = %q}})
]], png))
  local status, _, err = interrupted(T.quote(script))
  T.eq(status, 130, "exit status (stderr: " .. err .. ")")
  T.ok(not err:find("in epoch 2", 1, true), "no epoch was running: " .. err)
  T.ok(err:find("workbench: interrupted! fit had ended its training, at step 2 of the fit, "
    .. "while drawing the cockpit's figure " .. png .. " (1 epoch completed)", 1, true), err)
  local gpf = dir .. "/ck/c.gp"
  T.ok(err:find("fit: cockpit: interrupted while drawing the cockpit's figure " .. png
    .. ", after training ended: the PNG is not written; its CSVs and " .. gpf .. " are "
    .. "(gnuplot " .. gpf .. " draws it)", 1, true), err)
  T.ok(not wb.sys.exists(png), "no PNG")
  T.ok(wb.sys.exists(gpf) and wb.sys.exists(dir .. "/ck/c-1.csv"), "its script and data")
end)

T.test("a user's on_train_end hook interrupted: named, after training", function()
  local script, mark = dir .. "/hook.lua", dir .. "/hook.mark"
  write(script, string.format([[
local x, y = wb.zeros(64, 4), wb.new_tensor({64}, "uint8")
local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
m:fit(wb.data.Dataset(x, y), {epochs = 2, batch_size = 32, verbose = 0, optimizer = "sgd",
  callbacks = {wb.callbacks.Lambda{on_train_end = function()
    local f = io.open(%q, "w") f:write("x\n") f:close()
    wb.sys.sleep(30)
  end}}})
]], mark))
  local status, _, err = interrupted(T.quote(script), function() return wb.sys.exists(mark) end)
  T.eq(status, 130, err)
  T.ok(err:find("interrupted! fit had ended its training, at step 4 of the fit, in the "
    .. "on_train_end hook of Lambda at " .. script .. ":4 (2 epochs completed)", 1, true), err)
end)

T.test("--cockpit: SIGINT while the foreground run's figure is drawn: its record counted", function()
  local task, root = dir .. "/small.lua", dir .. "/root"
  write(task, [[
return wb.task{name = "small", experiment = {base = {hidden = 8, epochs = 1,
  batch_size = 50, subset = {train = 200, test = 100}}, seeds = {1, 2}},
  report = function(task, runs) end}
]])
  local status, _, err = interrupted(string.format("%s --root %s --jobs 1 --cockpit",
    T.quote(task), T.quote(root)))
  T.eq(status, 130, err)
  local png = root .. "/small/cockpit/base-seed1.png"
  local gpf = png:gsub("png$", "gp")
  T.ok(err:find("[small] base seed 1: its record is written; interrupted while drawing its "
    .. "cockpit figure " .. png .. ": the PNG is not written; its CSVs and " .. gpf .. " are",
    1, true), err)
  T.ok(not err:find("cockpit_run.lua", 1, true), "no Lua source line: " .. err)
  T.ok(err:find("[small] interrupted: 1 of 2 runs done (1 trained now, 0 recorded before)",
    1, true), err)
  T.eq(#wb.runs.load_all(root .. "/runs"), 1, "the foreground run's record")
end)

T.done()
