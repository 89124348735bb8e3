-- tryR 2: a file a hook reads during training, edited between epochs (a schedule's lr.txt
-- read by a callback each epoch): the record listed the file with the content of its last
-- read only, and the next plain run reused the mixed numbers as that content's. A file's
-- id is now its first read's; a later read with other content fails the run, naming the
-- file and both ids, and no record is written. Unchanged, the run is cached as before.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local lr, root, script = dir .. "/lr.txt", dir .. "/r", dir .. "/sched.lua"

-- The callback reads lr.txt as each epoch begins; when it said 0.001, the end of epoch 2
-- has a command replace it with 0.01 (as an editor would: the run's own io.open(.., "w") or
-- os.rename would make it the run's output). The script is the same in every run: one
-- identity, one record's path.
util.write_file(script, string.format([[
local lr = %q
return wb.task{name = "sched", title = "lr from a file each epoch",
  experiment = {base = {epochs = 3, subset = {train = 200, test = 100}, hidden = 8},
    seeds = {1},
    callbacks = function(cfg, model)
      return {wb.callbacks.Lambda{
        on_epoch_begin = function()
          for l in io.lines(lr) do model.optimizer.lr = tonumber(l) end
        end,
        on_epoch_end = function(epoch)
          if epoch == 2 and model.optimizer.lr == 0.001 then
            assert(os.execute("echo 0.01 > '" .. lr .. ".new' && mv '" .. lr .. ".new' '"
              .. lr .. "'"))
          end
        end}}
    end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], lr))

local function run()
  return T.run_wb(T.quote(script) .. " --root " .. T.quote(root))
end
local function records()
  local n = 0
  for _, f in ipairs(wb.sys.listdir(root .. "/runs")) do
    if f:match("^sched%-%x+%.json$") then n = n + 1 end
  end
  return n
end
local ID_OLD, ID_NEW = "0.001\n", "0.01\n"
util.write_file(dir .. "/old.txt", ID_OLD)
util.write_file(dir .. "/new.txt", ID_NEW)
ID_OLD, ID_NEW = wb.sys.hash_file(dir .. "/old.txt"), wb.sys.hash_file(dir .. "/new.txt")

T.test("the file replaced between epochs 2 and 3: the run fails naming it, no record",
  function()
  util.write_file(lr, "0.001\n")
  local st, out, err = run()
  T.ok(st ~= 0, out .. err)
  local all = out .. err
  T.ok(all:find(lr .. " changed during the run", 1, true), all)
  T.ok(all:find("first with content id " .. ID_OLD .. ", then again with content id "
    .. ID_NEW, 1, true), all)
  T.ok(all:find(script .. ":%d+:") or all:find("sched.lua:%d+:"), all) -- the hook's line
  T.eq(records(), 0, all)
  T.eq(util.read_file(lr), "0.01\n")
  -- the file as it is now, throughout: trained, not a reuse of the mixed run
  st, out, err = run()
  T.eq(st, 0, out .. err)
  T.ok((out .. err):find("1 to train", 1, true), out .. err)
  T.eq(records(), 1)
end)

T.test("unchanged, read each epoch: recorded with its content id, cached on rerun",
  function()
  local st, out, err = run()
  T.eq(st, 0, out .. err)
  T.ok((out .. err):find("1 cached, 0 to train", 1, true), out .. err)
  local rs = wb.runs.find{root = root, task = "sched"}
  local ids = {}
  for _, e in ipairs(rs.records[1].read_files or {}) do ids[e.path] = e.id end
  T.eq(ids[wb.sys.realpath(lr)] or ids[lr], ID_NEW)
end)

T.done()
