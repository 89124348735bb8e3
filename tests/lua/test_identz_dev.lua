-- /dev was skipped whole by the tracker of a run's reads, and /dev/shm with
-- it: a file system (tmpfs) users keep data on. A hook's params there,
-- edited, reused the run with stale numbers; and a hook that seeded from
-- /dev/urandom was reused as if its numbers were reproducible. Now a file
-- or folder under /dev is recorded as any other, /dev/null and /dev/zero
-- are not, and any other device makes the run never reused
-- (wb/identity_reads_sys.lua).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()
local shm = "/dev/shm/identz_" .. wb.sys.getpid()
T.sh("mkdir -p " .. shm)

T.test("a file under /dev/shm is recorded by content; /dev/urandom as never the same", function()
  util.write_file(shm .. "/p.lua", "return 1\n")
  util.write_file(shm .. "/v.txt", "8\n")
  local t = reads.track{}
  local function hook()
    dofile(shm .. "/p.lua")
    for l in io.lines(shm .. "/v.txt") do local _ = l end
    local names = wb.sys.listdir(shm)
    io.open("/dev/null"):close() -- the same bytes every time: not recorded
    local ok = wb.sys.exists("/dev/urandom") -- a test for a device: nothing read
    return names, ok
  end
  hook()
  local list = t:stop()
  local paths = {}
  for i, e in ipairs(list) do paths[i] = e.path end
  T.eq(util.canonical(paths), util.canonical{shm .. "/p.lua", shm .. "/v.txt", shm})
  T.eq(reads.changed(list), nil, "as recorded")
  util.write_file(shm .. "/v.txt", "16\n")
  local path, what = reads.changed(list)
  T.eq(path, shm .. "/v.txt")
  T.eq(what, "changed since it was recorded")
  util.write_file(shm .. "/v.txt", "8\n")
  util.write_file(shm .. "/new.txt", "")
  T.eq(reads.changed(list), shm, "a file added to the folder it listed")
  os.remove(shm .. "/new.txt")
  -- a seed from /dev/urandom: other bytes each time
  t = reads.track{}
  local f = io.open("/dev/urandom", "rb")
  f:read(8)
  f:close()
  list = t:stop()
  T.eq(#list, 1, util.canonical(list))
  T.eq(reads.kind(list[1]), "device")
  local what2, checkable = reads.entry_changed(list[1], {})
  T.ok(what2:find("never reused", 1, true), what2)
  T.eq(checkable, false)
end)

T.test("a run whose hook reads params from /dev/shm retrains when they change", function()
  util.write_file(shm .. "/width.txt", "8\n")
  local path = dir .. "/shm.lua"
  util.write_file(path, string.format([[
local ex = wb.experiment({name = "shm", base = {epochs = 1,
  subset = {train = 300, test = 100}, validation = false}, seeds = {1},
  build = function(cfg)
    local w = tonumber(io.lines(%q .. "/width.txt")())
    if os.getenv("URANDOM") then local f = io.open("/dev/urandom", "rb"); f:read(4); f:close() end
    return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
      wb.nn.Dense(w, 10, {activation = "softmax"})}
  end,
  measure = function(model) return {width = model:get_weights()[1]:size(2)} end}, {root = %q})
for _, r in ipairs(ex:run()) do print("width", r.measures.width) end
]], shm, dir .. "/plots"))
  local cmd = "WB_ECHO=0 " .. T.wb .. " " .. path
  local st, out, err = T.sh(cmd)
  T.eq(st, 0, err); T.ok(out:find("width\t8", 1, true), out .. err)
  st, out, err = T.sh(cmd)
  T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  util.write_file(shm .. "/width.txt", "12\n")
  st, out, err = T.sh(cmd)
  T.eq(st, 0, err)
  T.ok(out:find("width\t12", 1, true), "stale: " .. out .. err)
  T.ok(err:find(shm .. "/width.txt changed since it was recorded: retraining", 1, true), err)
  -- a hook that reads /dev/urandom: never reused, said each time
  for i = 1, 3 do -- the first: $URANDOM was unset
    st, out, err = T.sh("URANDOM=1 " .. cmd)
    T.ok(i == 1 or err:find("/dev/urandom (a device) was read by a hook", 1, true), err)
    T.ok(err:find("0 cached, 1 to train", 1, true), err)
  end
end)

T.sh("rm -rf " .. shm)
T.done()
