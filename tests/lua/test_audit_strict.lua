-- test_audit_strict.lua: input that was silently ignored or misreported
-- (the strictness audit): one test per defect found.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"

-- {==================== unknown names in wb and its modules ====================

-- wb.nn.Dens, wb.data.mnst, wb.runs.fnd read as nil: a typo gave Lua's bare
-- "attempt to call a nil value (field 'Dens')", or nil passed on silently
-- (wb.nn.Dens given as a layer, wb.plot.stlye as a style).
T.test("an unknown name in wb or a module is an error naming the path and the nearest",
  function()
  local err = T.check_error("wb.nn.Dens: no such name in wb.nn; did you mean wb.nn.Dense?",
    function() return wb.nn.Dens end)
  -- said where the typo is, not inside the library
  T.ok(err:find("test_audit_strict.lua:%d+: wb%.nn%.Dens"), err)
  T.check_error("wb.data.mnst: no such name in wb.data; did you mean wb.data.mnist?",
    function() return wb.data.mnst end)
  T.check_error("wb.runs.fnd: no such name in wb.runs; did you mean wb.runs.find?",
    function() return wb.runs.fnd end)
  T.check_error("wb.optim.adam: no such name in wb.optim; did you mean wb.optim.Adam?",
    function() return wb.optim.adam end)
  -- a name of another module: that one named
  T.check_error("wb.Sequentil: no such name in wb; did you mean wb.nn.Sequential?",
    function() return wb.Sequentil end)
  T.check_error("wb.data.Dense: no such name in wb.data; did you mean wb.nn.Dense?",
    function() return wb.data.Dense end)
  -- a class the docs name as wb.X: help's name for it (and the constructor)
  T.check_error('wb.Tensor is a class, not a value (help("wb.Tensor") says what it is)',
    function() return wb.Tensor end)
  T.check_error('wb.Sequential: no such name in wb; wb.Sequential is a class, not a value '
    .. '(help("wb.Sequential") says what it is); did you mean wb.nn.Sequential?',
    function() return wb.Sequential end)
  -- nothing near: where to look
  T.check_error("wb.nn.qqqqqq: no such name in wb.nn; help(wb.nn) lists its names",
    function() return wb.nn.qqqqqq end)
  T.check_error("wb[1]: no such key in wb", function() return wb[1] end)
  -- every module wb has, C's and Lua's
  local n = 0
  for k, v in pairs(wb) do
    if type(v) == "table" and k ~= "Error" then
      n = n + 1
      T.check_error("wb." .. k .. ".no_such_name: no such name in wb." .. k,
        function() return v.no_such_name end)
    end
  end
  T.ok(n >= 20, "modules checked: " .. n)
  T.check_error("wb.no_such_name: no such name in wb", function() return wb.no_such_name end)
end)

T.test("strict modules: pairs, assignment, completion, help and callable modules still work",
  function()
  local seen = {}
  for k in pairs(wb.nn) do seen[k] = true end
  T.ok(seen.Dense and seen.Sequential, "pairs(wb.nn)")
  -- a user's own name: assigned, then read back
  wb.nn.MyLayer = 42
  T.eq(wb.nn.MyLayer, 42)
  wb.nn.MyLayer = nil
  T.check_error("wb.nn.MyLayer: no such name", function() return wb.nn.MyLayer end)
  local c = require("wb.repl").complete("wb.nn.De")
  T.ok(table.concat(c, " "):find("wb.nn.Dense", 1, true), table.concat(c, " "))
  T.ok(wb.help.find(wb.nn.Dense) ~= nil, "help(wb.nn.Dense)")
  -- modules that are also functions (wb.compare, wb.experiment, wb.help, wb.task)
  T.eq(type(getmetatable(wb.experiment).__call), "function")
  T.check_error("wb.experiment.neww: no such name in wb.experiment; did you mean "
    .. "wb.experiment.new?", function() return wb.experiment.neww end)
end)

-- }====================
-- {==================== fit{epochs = 0} ====================

-- fit{epochs = 0} (or epochs equal to initial_epoch) trained nothing and
-- returned an empty History without a word, as Keras's: evaluate then gave
-- an untrained model's accuracy as the result.
T.test("fit that would train nothing (epochs = 0, epochs = initial_epoch) is an error",
  function()
  local tr = T.tiny_data()
  local m = T.tiny_mlp(1)
  local w0 = m:parameters()[1]:clone()
  T.check_error("fit: epochs = 0 trains nothing: epochs is the number of the last epoch "
    .. "(Keras), so epochs = 1 trains one more", m.fit, m, tr, {epochs = 0, verbose = false})
  T.check_error("fit: epochs = 2 equals initial_epoch = 2", m.fit, m, tr,
    {epochs = 2, initial_epoch = 2, verbose = false})
  T.check_error("fit: epochs = 1 is below initial_epoch = 2", m.fit, m, tr,
    {epochs = 1, initial_epoch = 2, verbose = false})
  T.eq((m:parameters()[1] - w0):abs():max(), 0, "weights untouched")
  local h = m:fit(tr, {epochs = 3, initial_epoch = 2, verbose = false})
  T.eq(#h.loss, 1, "epochs = 3 after 2: one epoch")
end)

-- }====================
-- {==================== runs.json's command ====================

local dir = T.tmpdir()

-- A task script in a folder whose name needs quoting.
local function task_script(name, experiment)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
return wb.task{name = %q, title = "t", experiment = {%s},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], name, experiment))
  return path
end

-- runs.json's command held README's italic provenance sentence ("*Produced
-- by `workbench ...` (workbench 0.1.0, commit ...) on ... Data: ...*"), not
-- the command that ran.
T.test("runs.json's command is the command line as run, shell-quoted", function()
  local p = task_script("cmd", "base = {hidden = 8, epochs = 1, subset = {train = 100, "
    .. "test = 50}}, seeds = {1}")
  local root = dir .. "/a root"
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", T.wb,
    util.shell_quote(p), util.shell_quote(root)))
  T.eq(st, 0, err)
  local j = util.read_json(root .. "/cmd/runs.json")
  T.eq(j.command, string.format("workbench %s --root '%s' --jobs 1", p, root))
  -- README says the same command
  local md = util.read_file(root .. "/cmd/README.md")
  T.ok(md:find("`" .. j.command .. "`", 1, true), md)
end)

-- }====================

T.done()
