-- test_concurrency.lua - two processes writing the same checkpoint path and
-- the same run record at once leave one complete file, and a reader running
-- alongside never sees a torn one.
--
-- Writers A and B each save the same checkpoint path (model:save) and write
-- the same record path (wb.sys.write_atomic) 40 times, A with versions
-- 1001.., B with 2001.. (every value in a version is the version number). A
-- third process loads both files in a loop meanwhile. Afterwards: each file
-- is one complete version of A or B, every read the reader made was whole,
-- and no temporary file is left (both writers ended cleanly).
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()
local N = 40

local function write(path, s)
  local fh = assert(io.open(path, "wb"))
  fh:write(s)
  fh:close()
end

write(dir .. "/writer.lua", [[
local cjson = require "cjson"
local dir, base, n = arg[1], tonumber(arg[2]), tonumber(arg[3])
local m = wb.nn.Sequential{wb.nn.Dense(784, 64), wb.nn.Dense(64, 10)}
for i = 1, n do
  local k = base + i
  for j = 1, 2 do m[j].weight:fill(k); m[j].bias:fill(k) end
  m:save(dir .. "/m.safetensors")
  wb.sys.write_atomic(dir .. "/run.json", cjson.encode{iter = k, pad = string.rep("x", k)})
end
]])

-- Check both files; returns nil or why. Shared with the reader.
local check_src = [[
local cjson = require "cjson"
return function(dir)
  local ok, m = pcall(wb.load, dir .. "/m.safetensors")
  if not ok then return "checkpoint: " .. tostring(m) end
  local k = m[1].weight:get(1, 1)
  for j = 1, 2 do
    for _, t in ipairs{m[j].weight, m[j].bias} do
      if t:min() ~= k or t:max() ~= k then return "checkpoint mixes versions" end
    end
  end
  local fh = io.open(dir .. "/run.json", "rb")
  if not fh then return "record missing" end
  local s = fh:read("a")
  fh:close()
  local okj, r = pcall(cjson.decode, s)
  if not okj then return "record torn (" .. #s .. " bytes)" end
  if r.pad ~= string.rep("x", r.iter) then return "record mixes versions" end
  return nil, k, r.iter
end
]]
write(dir .. "/check.lua", check_src)
write(dir .. "/reader.lua", [[
local check = dofile(arg[1] .. "/check.lua")
local reads, bad = 0, {}
while not io.open(arg[1] .. "/done") do
  local why = check(arg[1])
  reads = reads + 1
  if why then bad[#bad + 1] = why end
  if reads == 1 then io.open(arg[1] .. "/reading", "w"):close() end
end
print(reads, #bad, bad[1] or "")
]])

T.test("two writers, one path each for checkpoint and record: one whole file", function()
  -- a first version, so that the reader always finds files
  T.eq((T.sh(T.wb .. " " .. dir .. "/writer.lua " .. dir .. " 0 1")), 0)
  -- the writers start once the reader reads (a loaded machine may start it
  -- last: the writers could end before its first read)
  local cmd = string.format("W=%s; D=%s; $W $D/reader.lua $D > $D/reader.out 2>&1 & r=$!; "
    .. "n=0; while [ ! -e $D/reading ] && [ $n -lt 6000 ] && kill -0 $r 2>/dev/null; do "
    .. "sleep 0.05; n=$((n+1)); done; "
    .. "$W $D/writer.lua $D 1000 %d & a=$!; $W $D/writer.lua $D 2000 %d & b=$!; "
    .. "wait $a; sa=$?; wait $b; sb=$?; touch $D/done; wait $r; echo $sa $sb",
    T.wb, dir, N, N)
  local st, out, err = T.sh(cmd)
  T.eq(st, 0, err)
  T.eq(out, "0 0\n", "writers' statuses; stderr: " .. err)
  local check = dofile(dir .. "/check.lua")
  local why, k, iter = check(dir)
  T.ok(not why, why)
  T.ok(k == 1000 + N or k == 2000 + N, "final checkpoint is version " .. tostring(k))
  T.ok(iter == 1000 + N or iter == 2000 + N, "final record is version " .. tostring(iter))
  local fh = assert(io.open(dir .. "/reader.out", "rb"))
  local rout = fh:read("a")
  fh:close()
  local reads, nbad, first = rout:match("^(%d+)\t(%d+)\t([^\n]*)")
  T.ok(reads, "reader output: " .. rout)
  T.eq(tonumber(nbad), 0, "torn reads: " .. tostring(first))
  T.ok(tonumber(reads) >= 5, "the reader ran only " .. reads .. " times")
  for _, f in ipairs(wb.sys.listdir(dir)) do
    T.ok(not f:find("%.tmp%."), "temporary file left: " .. f)
  end
  print(string.format("# %s concurrent reads, all whole; final versions %d, %d", reads, k, iter))
end)

T.done()
