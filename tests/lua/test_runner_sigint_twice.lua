-- tryI: a second Ctrl-C (SIGINT twice, 0.01 to 0.2 s apart) took the
-- default action the first had put back and killed the runner in the middle
-- of its stop: status 130 and no "[task] interrupted: D of N runs done"
-- line, which one Ctrl-C prints. Now the first signal holds the next ones
-- while the runner waits on its children (wb.sys.hold_after_signal): the
-- same line, 130, its children stopped and their state saved, no partial
-- record.
local T = dofile("tests/lua/harness.lua")
local util, cjson = require "wb.util", require "cjson"
local dir = T.tmpdir()
local background = dofile("tests/lua/background_runner.lua")(T)

-- two jobs: run "short" is recorded while "long" trains
local script = dir .. "/twice.lua"
util.write_file(script, [[
return wb.task{name = "twice", title = "twice",
  experiment = {base = {hidden = 8, subset = {train = 1000, test = 100}}, seeds = {1},
    variants = {{label = "short", epochs = 1}, {label = "long", epochs = 3000}}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

-- the short run counted done by the runner itself (its progress line), not
-- only its record on disk: a signal between the two said "0 of 2 runs done"
-- (a fresh-clone CI under load), which is true of the runner's count
local function short_done_long_going(root)
  local rec, epoch = (util.read_file(root .. ".out") or ""):find("] short seed 1: ", 1, true)
    ~= nil, false
  local ok, names = pcall(wb.sys.listdir, root .. "/runs/logs")
  for _, f in ipairs(ok and names or {}) do
    local log = util.read_file(root .. "/runs/logs/" .. f) or ""
    epoch = epoch or log:find("epoch 2/3000", 1, true) ~= nil
  end
  return rec and epoch
end

for _, gap in ipairs{"0.01", "0.2"} do
  T.test("SIGINT twice " .. gap .. " s apart: the runner says what is done, ends with 130, "
    .. "no partial record", function()
    local root = dir .. "/r" .. gap
    local pidf, stf, outf = background(script, root, 2)
    T.wait_until("the short run's record, the long one's second epoch", 600,
      function() return short_done_long_going(root) end)
    local pid = T.wait_line(pidf, 60):match("%d+")
    os.execute(string.format("kill -INT %s; sleep %s; kill -INT %s", pid, gap, pid))
    local status = T.wait_status(stf, 600)
    local out = util.read_file(outf)
    T.eq(status, 130, out)
    T.ok(out:find("[twice] interrupted: 1 of 2 runs done (1 trained now, 0 recorded before)",
      1, true), out)
    T.ok(not out:find("traceback", 1, true), out)
    local p = io.popen("pgrep -f -- '--root[ ]" .. root .. "' | wc -l")
    local left = tonumber(p:read("a")); p:close()
    T.eq(left, 0, "no child left training")
    local state, records = false, 0
    for _, f in ipairs(wb.sys.listdir(root .. "/runs")) do
      T.ok(not f:find(".tmp.", 1, true), "a temporary left: " .. f)
      state = state or f:match("%.state%.safetensors$") ~= nil
      if f:match("%.json$") then
        records = records + 1
        T.ok(pcall(cjson.decode, util.read_file(root .. "/runs/" .. f)), f .. " is whole")
      end
    end
    T.ok(state, "the stopped run saved its state")
    T.eq(records, 1, "the short run's record, only")
  end)
end

T.test("SIGINT after a --fresh run was retrained: the advice keeps it (without --fresh), "
  .. "not 'the same command again', which retrains it again", function()
  -- before: "run the same command again to continue" after --fresh, and the
  -- same --fresh retrained the runs it had just retrained (tryK)
  local root = dir .. "/fresh"
  local pidf, stf = background(script .. " --fresh", root, 2)
  T.wait_until("the short run's record, the long one's second epoch", 600,
    function() return short_done_long_going(root) end)
  os.execute("kill -INT " .. T.wait_line(pidf, 60):match("%d+"))
  T.eq(T.wait_status(stf, 600), 130)
  local out = util.read_file(root .. ".out")
  T.ok(out:find("[twice] interrupted: 1 of 2 runs done (1 trained now, 0 recorded before); "
    .. "run the same command without --fresh to keep the 1 run retrained now (the 1 other "
    .. "then trains only if not recorded); with --fresh again, it is retrained again too",
    1, true), out)
  T.ok(not out:find("run the same command again", 1, true), out)
end)

T.done()
