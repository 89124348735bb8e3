-- test_measure_reuse.lua: a measure hook gets the same inputs when its run's
-- training is reused (measured again after a measure-only edit, or adopted
-- by another task) as when it is trained: model.history was nil and
-- model.optimizer nil, so a guarded measure recorded other numbers (has_opt
-- 1 -> 0, hist_len 2 -> 0) and an unguarded one failed with "attempt to
-- index a nil value" (tryI 2). The optimizer is not kept: reading it trains
-- the run again, said (tryR 1).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local function task(v, body)
  util.write_file(dir .. "/mo.lua", string.format([[
local V = %d
return wb.task{name = "mo", experiment = {base = {epochs = 2, hidden = 8,
    subset = {train = 200, test = 50}}, seeds = {1},
    measure = function(model, cfg, data, history) return {%s, v = V} end},
  report = function(task, runs) end}
]], v, body))
  return T.sh(string.format("WB_ECHO=0 %s %s --root %s", T.quote(T.wb),
    T.quote(dir .. "/mo.lua"), T.quote(dir .. "/root")))
end

-- The measures of the record whose measure hook had V = v (after an edit the
-- old record stays beside the new one, and which the folder lists first
-- depends on their hashes: the first listed was read, and the test failed
-- when the code's identity gave the old one the first name).
local function measures(v)
  for _, f in ipairs(wb.sys.listdir(dir .. "/root/runs")) do
    local m = f:match("^mo%-%x+%.json$") and util.read_json(dir .. "/root/runs/" .. f).measures
    if m and m.v == v then return m end
  end
end

T.test("a measure-only edit measures on the recorded training with what training gave",
    function()
  local body = "has_opt = model.optimizer and 1 or 0, hist_len = model.history and "
    .. "#model.history.loss or 0, hl = #history.loss, n_ep = model.history.epochs"
  local st, _, err = task(1, body)
  T.eq(st, 0, err)
  local fresh = measures(1)
  T.eq(fresh.has_opt, 1); T.eq(fresh.hist_len, 2)
  st, _, err = task(2, body) -- the measure hook edited: measured again, not trained
  T.eq(st, 0, err)
  local again = measures(2)
  T.ok(again, "measured again: a record of V = 2")
  for _, k in ipairs{"has_opt", "hist_len", "hl", "n_ep"} do
    T.eq(again[k], fresh[k], k)
  end
end)

T.test("reading the optimizer of a reused training trains it again, saying why", function()
  -- it was an error naming why (tryI 2); a training gives the number a fresh one does (tryR 1)
  local st, _, err = task(3, "final_lr = model.optimizer.lr")
  T.eq(st, 0, err)
  T.ok(err:find("not measured on the recorded training mo%-%x+: its measure hook read "
    .. "model.optimizer.lr, which the record does not keep; trained again"), err)
  local m = measures(3)
  T.ok(m and type(m.final_lr) == "number", "trained: the optimizer's lr measured")
end)

T.done()
