-- ident_task.lua: the small task test_ident_io and test_ident_loaded write, and their
-- checks of how it ran. Its build hook's first layer is as wide as a Lua expression of
-- the hook (what the hook reads: a file, a module's field), and the script prints that
-- width, so a run reused after what the hook read changed shows the old width. Not in
-- harness.lua: that file is at the 400-line limit (test_file_sizes); not test_*.lua, so
-- tests/run.sh does not run it as a test.
--
--   local task = dofile("tests/lua/ident_task.lua")(T)
--   util.write_file(path, task.experiment(top, "io.read('n')", name, root))
--   task.trained(16, T.sh(command)); task.cached(st, err)
return function(T)
  local M = {}

  local HOOK = [[
%s
local function build()
  local w = %s
  return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
    wb.nn.Dense(w, 10, {activation = "softmax"})}
end
]]
  local FIELDS = [[base = {epochs = 1, subset = {train = 300, test = 100},
  validation = false}, seeds = {1}, build = build,
  measure = function(model) return {width = model:get_weights()[1]:size(2)} end]]

  -- A script whose top level is `top`, the build hook's width `width` (Lua text), and
  -- whose experiment `name` runs by ex:run() under root, printing the width.
  function M.experiment(top, width, name, root)
    return HOOK:format(top, width) .. string.format([[
local ex = wb.experiment({name = %q, %s}, {root = %q})
for _, r in ipairs(ex:run()) do print("width", r.measures.width) end
]], name, FIELDS, root)
  end

  -- The same as a task `name` (wb.task; --root on the command line), whose report
  -- prints the width.
  function M.task(top, width, name)
    return HOOK:format(top, width) .. string.format([[
return wb.task{name = %q, title = "t", experiment = {%s},
  report = function(task, runs) print("width", runs[1].measures.width) end}
]], name, FIELDS)
  end

  -- The script ran (status st, stdout out, stderr err) and trained width w: a
  -- reused run prints the width it was recorded with.
  function M.trained(w, st, out, err)
    T.eq(st, 0, err)
    T.ok(out:find("width\t" .. w, 1, true), "stale: " .. out .. err)
  end

  -- The script ran and reused its one run.
  function M.cached(st, err)
    T.eq(st, 0, err)
    T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  end

  return M
end
