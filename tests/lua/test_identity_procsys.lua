-- /proc and /sys were skipped whole by the tracker of a run's reads: a hook
-- that chose its width from the machine (/sys/devices/system/cpu/online,
-- /proc/cpuinfo) was reused on a machine that answers otherwise. Now a
-- hook's own read there is recorded by content, as any file's; the
-- library's reads there on a hook's behalf are not (wb/identity_reads_sys.lua).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()

T.test("a hook's read of /proc or /sys is recorded by content; the library's is not", function()
  local t = reads.track{}
  local function hook()
    local f = io.open("/proc/self/status")
    local s = f:read("a")
    f:close()
    for l in io.lines("/sys/devices/system/cpu/online") do s = s .. l end
    return s
  end
  hook()
  require("wb.util_git").low_fd_limit() -- the library reads /proc/self/limits: not the hook's
  local list = t:stop()
  local paths = {}
  for i, e in ipairs(list) do paths[i] = e.path end
  T.eq(#list, 2, util.canonical(paths))
  T.eq(paths[1], "/proc/self/status") -- as spelled: the process that checks it is another
  T.eq(paths[2], wb.sys.realpath("/sys/devices/system/cpu/online"))
  -- this process's own /proc/<pid>/status changes as it runs; the CPUs online do not
  local _, what = reads.changed({list[2]})
  T.eq(what, nil, "the CPUs online as recorded")
  T.ok(reads.changed({list[1]}) ~= nil, "a process's status is not as recorded")
end)

T.test("a run whose hook reads the machine is reused while it answers the same", function()
  local path = dir .. "/machine.lua"
  util.write_file(path, string.format([[
local ex = wb.experiment({name = "machine", base = {epochs = 1,
  subset = {train = 300, test = 100}, validation = false}, seeds = {1},
  build = function(cfg)
    local _ = io.lines("/sys/devices/system/cpu/online")() -- the same on this machine
    local w = os.getenv("MEMINFO") and #io.open("/proc/meminfo"):read("a") > 0 and 9 or 8
    return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
      wb.nn.Dense(w, 10, {activation = "softmax"})}
  end}, {root = %q})
ex:run()
]], dir .. "/plots"))
  local cmd = "WB_ECHO=0 " .. T.wb .. " " .. path
  local st, _, err = T.sh(cmd)
  T.eq(st, 0, err)
  st, _, err = T.sh(cmd)
  T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  -- /proc/meminfo changes from one read to the next: retrained, naming it
  st, _, err = T.sh("MEMINFO=1 " .. cmd)
  T.eq(st, 0, err)
  st, _, err = T.sh("MEMINFO=1 " .. cmd)
  T.ok(err:find("/proc/meminfo changed since it was recorded", 1, true), err)
  T.ok(err:find("0 cached, 1 to train", 1, true), err)
end)

T.done()
