-- wb.Runs:table escapes a variant label's "|" (audit A15): "sgd|mom" ended
-- its cell, and Markdown showed the row's seeds under test_accuracy.
local T = dofile("tests/lua/harness.lua")
local md = dofile("tests/lua/mdtables.lua")

local function rec(v, seed)
  return {hash = string.format("%015d%d", #v, seed), task = "t", variant = v, seed = seed,
    config = {seed = seed, hidden = 16, epochs = 2}, status = "ok",
    group_key = "g" .. v, history = {loss = {1, 0.5}, val_loss = {1, 0.6}, epochs = 2},
    metrics = {test_accuracy = 0.5 + seed / 100, epochs_run = 2}, measures = {}}
end

T.test("a variant label holding '|' stays one cell", function()
  local rs = wb.runs.Runs{rec("sgd|mom", 1), rec("sgd|mom", 2), rec("adam", 1), rec("adam", 2)}
  local text = rs:table{"test_accuracy"}
  local problems = md.check(text, "table")
  T.eq(#problems, 0, table.concat(problems, "\n") .. "\n" .. text)
  T.ok(text:find("| sgd\\|mom | 2 | 51.50 ± 0.71 % |", 1, true), text)
end)

T.done()
