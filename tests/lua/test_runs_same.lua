-- test_runs_same.lua: variants whose configs differ but whose runs trained
-- the same, seed for seed, are said so: a key declared for a build hook and
-- applied by no hook changed nothing, and a new user's vary = {dropout = {0,
-- 0.5}} got two identical rows ranked by wb.compare ("not decided by the
-- seeds: difference +0.00") without a word (tryI 1).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

-- A record of variant v, seed s, with losses ls and config cfg.
local function rec(v, s, ls, cfg)
  cfg = cfg or {}
  cfg.seed = s
  return {task = "t", variant = v, seed = s, hash = v .. s, status = "ok", config = cfg,
    history = {loss = ls, val_loss = {ls[#ls] + 1}}, metrics = {test_loss = ls[#ls],
      epochs_run = #ls}}
end

T.test("same_histories names the keys that changed nothing; a real difference is none",
    function()
  local runs = wb.runs.Runs{rec("dropout=0", 1, {2, 1}, {dropout = 0}),
    rec("dropout=0", 2, {3, 1.5}, {dropout = 0}), rec("dropout=0.5", 1, {2, 1}, {dropout = 0.5}),
    rec("dropout=0.5", 2, {3, 1.5}, {dropout = 0.5}), rec("dropout=0.9", 1, {2, 1.1},
    {dropout = 0.9}), rec("dropout=0.9", 2, {3, 1.5}, {dropout = 0.9})}
  T.eq(table.concat(wb.runs.same_histories(runs, "dropout=0", "dropout=0.5"), ","), "dropout")
  T.eq(wb.runs.same_histories(runs, "dropout=0", "dropout=0.9"), nil, "seed 1 differs")
  -- keys that watch a training and never change it (task 11's instruments)
  local watch = wb.runs.Runs{rec("plain", 1, {2, 1}, {}), rec("full/16", 1, {2, 1},
    {instruments = {"loss"}, every = 16, log_every = 4})}
  T.eq(wb.runs.same_histories(watch, "plain", "full/16"), nil, "instruments change nothing")
  local s = wb.compare(runs, "test_loss")
  T.ok(s:find("are not compared: they trained the same, seed for seed (bit-identical "
    .. "losses), though their configs differ in dropout", 1, true), s)
end)

T.test("a task whose build hook ignores a declared key: README and stderr say so", function()
  local dir = T.tmpdir()
  util.write_file(dir .. "/ign.lua", [[
return wb.task{name = "ign", experiment = {base = {epochs = 1, hidden = 8,
    subset = {train = 200, test = 50}}, seeds = {1}, vary = {dropout = {0, 0.5}},
    keys = {"hidden", "dropout"},
    build = function(cfg) return wb.nn.Sequential{wb.nn.Dense(784, cfg.hidden),
      wb.nn.Dense(cfg.hidden, 10, {activation = "softmax"})} end},
  report = function(task, runs) task:text(runs:table{"test_loss"}) end}
]])
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s", T.quote(T.wb),
    T.quote(dir .. "/ign.lua"), T.quote(dir .. "/root")))
  T.eq(st, 0, err)
  T.ok(err:find("[ign] warning: dropout=0 and dropout=0.5 trained the same, seed for seed", 1,
    true), err)
  local md = util.read_file(dir .. "/root/ign/README.md")
  T.ok(md:find("**Variants that trained the same:**", 1, true), md)
end)

-- a task named runs wrote its README and figures into the records folder,
-- and every wb.runs.find on that root then said "skipping" (tryI 5)
T.test("a task may not be named runs or quick, the root's own folders", function()
  for _, n in ipairs{"runs", "quick"} do
    T.check_error("task.name: '" .. n .. "' is the name of the root's", wb.task,
      {name = n, experiment = {base = {epochs = 1}}})
  end
end)

T.done()
