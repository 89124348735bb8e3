-- test_plot_steps.lua: wb.plot.lines{steps = true} and wb.Runs:plot_curves'
-- steps option: a piecewise-constant series (an lr logged every 10 steps)
-- drawn as a staircase; joined by lines, each drop looked like a ramp over
-- the 10 steps between two logged points (tryV 7).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local P = wb.plot
local slurp = require("wb.util").read_file

if os.execute("command -v gnuplot >/dev/null 2>&1") ~= true then
  T.skip("steps", "gnuplot not installed")
  T.done()
end
local dir = T.tmpdir()

T.test("lines steps = true: each series with steps, its markers apart; like lines as they "
    .. "were; without it, lines", function()
  local series = {{label = "lr", x = {10, 20, 30, 40}, y = {0.1, 0.1, 0.01, 0.01}},
    {label = "floor", x = {10, 40}, y = {0.005, 0.005}, like = 1}}
  P.lines{steps = true, series = series}:save(dir .. "/s.png")
  local gp = slurp(dir .. "/s.gp")
  T.ok(gp:find("using 1:2 with steps lt 1 title 'lr'", 1, true), "staircase: " .. gp)
  T.ok(gp:find("using 1:2 with points lt 1 notitle", 1, true), "its markers: " .. gp)
  T.ok(gp:find("using 3:4 with lines lt 1 dt 2 title 'floor'", 1, true), "like: " .. gp)
  T.ok(not gp:find("linespoints", 1, true), "no line between logged points: " .. gp)
  P.lines{steps = true, points = false, series = series}:save(dir .. "/n.png")
  T.ok(not slurp(dir .. "/n.gp"):find("with points", 1, true), "points = false: no markers")
  P.lines{series = series}:save(dir .. "/l.png")
  gp = slurp(dir .. "/l.gp")
  T.ok(gp:find("using 1:2 with linespoints lt 1 title 'lr'", 1, true), "default: " .. gp)
  T.ok(not gp:find("with steps", 1, true), "default: no steps")
  T.check_error("steps: expected true or false, got yes", P.lines,
    {steps = "yes", series = {{y = {1, 2}}}})
end)

T.test("plot_curves steps = true: the step series' mean drawn as a staircase", function()
  local function rec(seed)
    local st = {step = {}, epoch = {}, lr = {}}
    for i = 1, 6 do st.step[i] = 10 * i; st.epoch[i] = 1; st.lr[i] = i <= 3 and 0.1 or 0.01 end
    return {hash = string.format("%016x", seed), task = "t", variant = "a", seed = seed,
      config = {seed = seed}, status = "ok", history = {loss = {0.5}, epochs = 1, steps = st},
      metrics = {test_accuracy = 0.9}}
  end
  local rs = wb.runs.Runs{rec(1), rec(2)}
  rs:plot_curves("lr", {x = "step", logy = true, steps = true}):save(dir .. "/c.png")
  local gp = slurp(dir .. "/c.gp")
  T.ok(gp:find("with steps lt 1 title 'a'", 1, true), gp)
  rs:plot_curves("lr", {x = "step"}):save(dir .. "/d.png")
  T.ok(not slurp(dir .. "/d.gp"):find("with steps", 1, true), "not asked: lines")
end)

T.done()
