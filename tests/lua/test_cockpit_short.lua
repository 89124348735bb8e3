-- test_cockpit_short.lua: the live cockpit's gnuplot renderer (fit{cockpit =
-- {renderer = "gnuplot"}}, wb/cockpit_dumb.lua) marks the steps of a short
-- batch (an epoch's last, of fewer rows: its gradient numbers jump there)
-- as the text frame does (wb/cockpit_text.lua: a "^" on the x axis under
-- each, and one line saying what "^" means); it marked none. The commands
-- are read from a fake gnuplot that keeps each script it is given (no
-- gnuplot, no clock needed); what a real gnuplot draws from them is
-- checked when it is installed. test_cockpit.lua has the frames' stored
-- text; test_audit_present.lua the text frame's and the figure's marks.
local T = dofile("tests/lua/harness.lua")
local text = require "wb.cockpit_text"
local dir = T.tmpdir()

local NOTE = "^ a short batch (6 rows, not 16): gradient numbers noisier"

-- Fits T.tiny_mlp on T.tiny_data's 70 rows (batch 16: 5 steps an epoch,
-- the 5th of 6 rows) for `epochs` with the gnuplot renderer, drawing with
-- gnuplot program prog. Returns what the cockpit wrote on stdout.
local function fit(epochs, prog, batch)
  local m, train = T.tiny_mlp(1), T.tiny_data()
  local saved, real = wb.plot.gnuplot, io.stdout
  local out = {}
  wb.plot.gnuplot = prog
  io.stdout = {write = function(self, ...)
    for _, v in ipairs{...} do out[#out + 1] = v end
    return self
  end, flush = function() end}
  local ok, err = pcall(m.fit, m, train, {epochs = epochs, batch_size = batch or 16,
    verbose = false, optimizer = "sgd", cockpit = {every = 10, renderer = "gnuplot"}})
  io.stdout, wb.plot.gnuplot = real, saved
  T.ok(ok, tostring(err))
  return table.concat(out)
end

-- A fake gnuplot appending each script it runs (`gnuplot -c plot.gp`) to
-- log, one "#frame" line before each; it draws nothing.
local function fake(log)
  local path = dir .. "/gnuplot"
  local f = assert(io.open(path, "w"))
  f:write("#!/bin/sh\n{ echo '#frame'; cat \"$2\"; } >> " .. T.quote(log) .. "\n")
  f:close()
  assert(os.execute("chmod +x " .. T.quote(path)))
  return path
end

-- The `set label` lines of each frame's script in log.
local function labels(log)
  local frames = {}
  for line in io.lines(log) do
    if line == "#frame" then frames[#frames + 1] = {}
    elseif line:find("^set label") then table.insert(frames[#frames], line) end
  end
  return frames
end

T.test("gnuplot frames put a '^' on each panel's x axis at a short batch's step", function()
  local log = dir .. "/short.log"
  local out = fit(3, fake(log)) -- frames at steps 10 and 15; short batches 5, 10 and 15
  local got = labels(log)
  T.eq(#got, 2, "two frames")
  local function want(steps)
    local w = {}
    for _ = 1, 4 do -- every panel: loss, grad_norm, alpha, gsnr
      for _, x in ipairs(steps) do
        w[#w + 1] = string.format("set label '^' at %d, graph 0 center front", x)
      end
    end
    return table.concat(w, "\n")
  end
  T.eq(table.concat(got[1], "\n"), want{5, 10})
  T.eq(table.concat(got[2], "\n"), want{5, 10, 15})
  -- the text frame's line, after each frame's figure
  T.eq(out, "cockpit: step 10, epoch 2, lr 0.01\n" .. NOTE .. "\n"
    .. "cockpit: step 15, epoch 3, lr 0.01\n" .. NOTE .. "\n")
  -- one source: the steps and the line are the text frame's
  T.eq(table.concat(text.short_in({steps = {5, 10, 15}}, 1, 10), " "), "5 10")
  T.eq(text.short_note({steps = {5}, rows = 6, full = 16}), NOTE)
end)

T.test("no short batch: no '^' and no line", function()
  local log = dir .. "/full.log"
  local out = fit(2, fake(log), 10) -- 70 rows, batch 10: every batch full
  local got = labels(log)
  T.eq(#got, 2, "frames at steps 10 and 14")
  T.eq(#got[1] + #got[2], 0, table.concat(got[1], "\n"))
  T.eq(out, "cockpit: step 10, epoch 2, lr 0.01\ncockpit: step 14, epoch 2, lr 0.01\n")
end)

if not os.execute("command -v gnuplot >/dev/null 2>&1") then
  T.skip("gnuplot draws the marks", "no gnuplot")
else
  T.test("gnuplot draws the marks on the x axes, as the text frame does", function()
    -- fig:show writes gnuplot's drawing with io.write (io.output), not io.stdout
    local path = dir .. "/drawn.txt"
    io.output(path)
    local ok, err = pcall(fit, 2, nil)
    io.output():close()
    io.output(io.stdout)
    T.ok(ok, tostring(err))
    local drawn = T.slurp(path)
    -- two rows of two panels; each panel's x axis (a run of "-") has a "^"
    -- at steps 5 and 10 (the last, its corner)
    local axes = {}
    for line in drawn:gmatch("[^\n]+") do
      if line:find("%-%-%-%-") then
        local _, n = line:gsub("%^", "")
        axes[#axes + 1] = n
      end
    end
    T.eq(table.concat(axes, " "), "4 4", drawn)
  end)
end

T.done()
