-- test_crash.lua - SIGKILL at random moments never leaves a torn file.
--
-- A child workbench saves a checkpoint (model:save, ~400 KB) and a run
-- record (wb.sys.write_atomic, JSON) in a loop, each version k holding k
-- everywhere (every weight, the record's "iter" and its padding). It is
-- killed with SIGKILL after a seeded random delay counted from its first
-- complete save (so that a slow, loaded machine still saves in every round:
-- the test must not depend on how fast the child starts), 30 times, each
-- child continuing from the version on disk. After every kill both files must
-- parse and be one complete version (all values equal, record consistent),
-- versions never go back, and stale temporary files (*.tmp.<pid>) from the
-- killed writer are counted and reported: core/fsutil.c names them by pid
-- and removes them on clean failures only, so a SIGKILL leaves them (the
-- next save of the same path by another process does not clean them).
local T = dofile("tests/lua/harness.lua")
local cjson = require "cjson"
local dir = T.tmpdir()
local KILLS = tonumber(os.getenv("WB_CRASH_KILLS")) or 30

local child = dir .. "/child.lua"
do
  local fh = assert(io.open(child, "wb"))
  fh:write([[
local cjson = require "cjson"
local dir = arg[1]
local ck, rec = dir .. "/m.safetensors", dir .. "/run.json"
local m = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu"}),
                           wb.nn.Dense(128, 10, {activation = "softmax"})}
local k, said = 0, false
local ok, old = pcall(wb.load, ck)
if ok then k = math.tointeger(old[1].weight:get(1, 1)) end
while true do
  k = k + 1
  for i = 1, 2 do m[i].weight:fill(k); m[i].bias:fill(k) end
  m:save(ck)
  wb.sys.write_atomic(rec, cjson.encode{iter = k,
    pad = string.rep(string.char(65 + k % 26), 1000 + (k * 7919) % 20000)})
  if not said then -- tell the parent this round has saved once
    said = true
    assert(io.open(dir .. "/alive", "wb")):close()
  end
end
]])
  fh:close()
end

-- The version in each file, or nil and why.
local function ckpt_version(path)
  local ok, m = pcall(wb.load, path)
  if not ok then return nil, "checkpoint does not load: " .. tostring(m) end
  local k
  for i = 1, 2 do
    for _, t in ipairs{m[i].weight, m[i].bias} do
      local lo, hi = t:min(), t:max()
      if lo ~= hi or (k and lo ~= k) then
        return nil, string.format("checkpoint mixes versions: layer %d holds %g..%g (k %s)",
          i, lo, hi, tostring(k))
      end
      k = lo
    end
  end
  return k
end

local function record_version(path)
  local fh = io.open(path, "rb")
  if not fh then return nil, "record missing" end
  local s = fh:read("a")
  fh:close()
  local ok, r = pcall(cjson.decode, s)
  if not ok then return nil, "record does not parse (" .. #s .. " bytes): " .. tostring(r) end
  local k = r.iter
  local want = string.rep(string.char(65 + k % 26), 1000 + (k * 7919) % 20000)
  if r.pad ~= want then return nil, "record " .. k .. " has the wrong padding" end
  return k
end

local function temporaries()
  local names = {}
  for _, f in ipairs(wb.sys.listdir(dir)) do
    if f:find("%.tmp%.") then names[#names + 1] = f end
  end
  return names
end

T.test("SIGKILL at " .. KILLS .. " seeded random moments: files are always whole", function()
  math.randomseed(20261125)
  local last_ck, last_rec, stale, mid_write = 0, 0, 0, 0
  for round = 1, KILLS do
    -- 0..280 ms after the child's first complete save (a save takes a few
    -- ms); the wait for it is bounded by a count of polls, and ends early if
    -- the child died (then the checks below report what it left)
    local delay = math.random(0, 280) / 1000
    local ok = os.execute(string.format("%s %s %s >/dev/null 2>%s/err & p=$!; n=0; "
      .. "while [ ! -e %s/alive ] && [ $n -lt 60000 ] && kill -0 $p 2>/dev/null; do "
      .. "sleep 0.01; n=$((n+1)); done; sleep %.3f; kill -KILL $p; wait $p 2>/dev/null; "
      .. "rm -f %s/alive; true", T.wb, child, dir, dir, dir, delay, dir))
    T.ok(ok, "round " .. round .. ": shell failed")
    if wb.sys.exists(dir .. "/m.safetensors") then
      local k, why = ckpt_version(dir .. "/m.safetensors")
      T.ok(k, "round " .. round .. ": " .. tostring(why))
      T.ok(k >= last_ck, string.format("round %d: checkpoint went back from %d to %d",
        round, last_ck, k))
      last_ck = k
    end
    if wb.sys.exists(dir .. "/run.json") then
      local k, why = record_version(dir .. "/run.json")
      T.ok(k, "round " .. round .. ": " .. tostring(why))
      T.ok(k >= last_rec, "round " .. round .. ": record went back")
      last_rec = k
    end
    local tmps = temporaries()
    if #tmps > 0 then mid_write = mid_write + 1 end
    stale = stale + #tmps
    for _, f in ipairs(tmps) do os.remove(dir .. "/" .. f) end
  end
  T.ok(last_ck >= KILLS, "only " .. last_ck .. " versions saved in " .. KILLS .. " runs")
  print(string.format("# %d kills: %d checkpoint versions, %d record versions; %d kills "
    .. "landed mid-write and left %d stale temporary files (removed by the test)",
    KILLS, last_ck, last_rec, mid_write, stale))
end)

T.done()
