-- Audit N4: `kill -INT <runner pid>` (or SIGTERM) stopped the children, but
-- the runner then waited 10 s for its process group to be gone: the xargs it
-- had started was a zombie in that group (not reaped until the runner
-- closed its pipe, after the wait), so `kill -0 -PGID` kept finding it. All
-- that time the runner held the task's lock, and the rerun it suggests was
-- refused, naming it. Now xargs is reaped first: the runner ends as soon as
-- its children have saved their state, and the rerun resumes.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local background = dofile("tests/lua/background_runner.lua")(T)

local script = dir .. "/long.lua"
util.write_file(script, [[
return wb.task{name = "long", title = "long",
  experiment = {base = {epochs = 3000, hidden = 16, subset = {train = 2000, test = 100}},
    seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

local function log_has_epoch(root)
  local ok, names = pcall(wb.sys.listdir, root .. "/runs/logs")
  for _, f in ipairs(ok and names or {}) do
    if (util.read_file(root .. "/runs/logs/" .. f) or ""):find("epoch 2/", 1, true) then
      return true
    end
  end
end

for _, sig in ipairs{"INT", "TERM"} do
  T.test("SIG" .. sig .. " to the runner alone: it ends as its children stop, and the rerun "
    .. "it suggests is not refused", function()
    local root = dir .. "/r_" .. sig
    local pidf, stf, outf = background(script, root, 1)
    T.wait_until("the run's second epoch", 600, function() return log_has_epoch(root) end)
    local pid = T.wait_line(pidf, 60):match("%d+")
    os.execute("kill -" .. sig .. " " .. pid)
    local status = T.wait_status(stf, 600)
    local out = util.read_file(outf)
    T.eq(status, sig == "INT" and 130 or 143, out)
    -- the group gone before the wait ran out, not killed at its end (a count
    -- of the wait's polls, said by the runner when they run out; not a clock)
    T.ok(not out:find("did not stop within", 1, true), out)
    T.ok(wb.sys.exists(root .. "/runs") and #wb.sys.listdir(root .. "/runs") > 0)
    local p = io.popen("pgrep -f -- '--root[ ]" .. root .. "' | wc -l")
    local left = tonumber(p:read("a")); p:close()
    T.eq(left, 0, "no child left training")
    -- the rerun at once: the task's lock is free (the runner that was interrupted has ended)
    local st = T.sh("flock -n " .. T.quote(root .. "/runs/slurm/long.lock") .. " true")
    T.eq(st, 0, "the task's lock is free")
    local state = false
    for _, f in ipairs(wb.sys.listdir(root .. "/runs")) do
      state = state or f:match("%.state%.safetensors$") ~= nil
    end
    T.ok(state, "the stopped run saved its state")
  end)
end

T.done()
