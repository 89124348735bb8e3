-- test_direction_names.lua: what the library infers from a series' name is
-- only for its own names, never a measure of one's own that merely looks
-- like one (tryAB A1, A2): silenced_loss came out "higher is better" and
-- was shown in percent (35.00 % for 0.35); val_minus_train_loss, whose
-- means are below 0, had its band drawn from 0, above its line, "band
-- clipped at 0". On a log axis a band edge below 0 is said cut (tryAB D3).
local T = dofile("tests/lua/harness.lua")
local dir_of = require("wb.runs_direction").of

T.test("a direction only from the library's names", function()
  T.eq(dir_of("silenced_50"), "higher")
  T.eq(dir_of("silenced_loss"), nil, "a measure of one's own")
  T.eq(dir_of("test_accuracy"), "higher")
  T.eq(dir_of("epochs_to_target"), "lower")
  T.eq(dir_of("val_loss"), "lower")
  T.eq(dir_of("w1_norm"), nil)
end)

-- A record of variant v, seed s, with history h and measures m.
local function rec(v, s, h, m)
  local n = 0
  for _, l in pairs(h) do n = #l end
  h.epochs, h.epoch_time = n, {}
  for j = 1, n do h.epoch_time[j] = 1 end
  return {hash = string.format("%s%015d", v:gsub("%W", ""), s), task = "t", variant = v,
    seed = s, config = {seed = s}, status = "ok", metrics = {test_accuracy = 0.9},
    history = h, measures = m}
end

T.test("silenced_loss is no accuracy: not in percent, no direction", function()
  local rs = {}
  for s = 1, 3 do
    rs[#rs + 1] = rec("a", s, {loss = {1, 0.5}}, {silenced_loss = 0.35 + s / 1000})
    rs[#rs + 1] = rec("b", s, {loss = {1, 0.4}}, {silenced_loss = 0.55 + s / 1000})
  end
  local runs = wb.runs.Runs(rs)
  local t = runs:table{"silenced_loss"}
  T.ok(t:find("0.352", 1, true) and not t:find("35.20", 1, true), t)
  local c = wb.compare(runs, "silenced_loss")
  T.ok(c:find("no direction given", 1, true) and not c:find("higher is better", 1, true), c)
end)

if os.execute("command -v gnuplot >/dev/null 2>&1") ~= true then
  T.skip("the band of a negative measure", "gnuplot is not installed")
  T.done()
  return
end

T.test("a measure named like a loss with means below 0: its band is not clipped", function()
  local dir = T.tmpdir()
  local rs = {}
  local v = {{-1e6, -2e6}, {-3e6, 1e6}, {-2e6, -4e6}}
  for s = 1, 3 do rs[#rs + 1] = rec("a", s, {val_minus_train_loss = v[s], loss = {1, 1}}) end
  local p = wb.runs.Runs(rs):plot_curves("val_minus_train_loss")
  p:save(dir .. "/vmt.png")
  local gp = require("wb.util").read_file(dir .. "/vmt.gp")
  T.ok(not gp:find("clipped at 0", 1, true), gp)
  T.ok(not gp:find("set logscale y", 1, true), gp)
end)

T.test("on a log axis a band edge below 0 is said cut, not drawn to the foot unsaid", function()
  local dir = T.tmpdir()
  local rs, big = {}, {{2e8, 40, 30}, {1e3, 20, 10}, {5e2, 10, 50}}
  for s = 1, 3 do
    rs[#rs + 1] = rec("small", s, {loss = {0.9 + s / 100, 0.6, 0.5}})
    rs[#rs + 1] = rec("big", s, {loss = big[s]})
  end
  wb.runs.Runs(rs):plot_curves("loss"):save(dir .. "/l.png")
  local gp = require("wb.util").read_file(dir .. "/l.gp")
  T.ok(gp:find("set logscale y", 1, true), gp)
  T.ok(gp:find("band edges at or below 0 cut at the axis", 1, true), gp)
end)

T.done()
