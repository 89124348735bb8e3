-- `--root X/quick` without --quick put full runs and a full README among X's
-- --quick ones (README says a quick README never lands on a full one):
-- refused before anything is planned, naming the root to give.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

T.test("a full run in another root's quick folder is refused; quick runs there are not",
  function()
  local script = dir .. "/q.lua"
  util.write_file(script, [[
return wb.task{name = "q", title = "q",
  experiment = {base = {epochs = 1, hidden = 4, subset = {train = 100, test = 50}}, seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
  local X = dir .. "/X"
  local st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(X) .. " --quick")
  T.eq(st, 0, out .. err)
  local readme = util.read_file(X .. "/quick/q/README.md")
  st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(X .. "/quick"))
  T.eq(st, 64, out .. err)
  T.ok(err:find("q: the root " .. X .. "/quick holds --quick runs (the root " .. X
    .. " keeps them there): full runs there would mix with them; give --root " .. X, 1, true),
    err)
  T.eq(util.read_file(X .. "/quick/q/README.md"), readme, "the quick README as it was")
  -- a root named quick that holds full runs (or none) is any root
  st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(dir .. "/quick"))
  T.eq(st, 0, out .. err)
  st, out, err = T.run_wb(T.quote(script) .. " --root " .. T.quote(dir .. "/quick"))
  T.eq(st, 0, out .. err)
end)

T.done()
