-- A duration clock read (wb.sys.time, os.clock) counts as timing only when
-- its pair is read in the same call of a function (wb/identity_reads_sys.lua).
-- Counted per function over the run, a helper taking a seed from the clock
-- once per call, called twice (or a callback on each of 2 epochs), counted as
-- paired: its run was reused with the numbers of another seed.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()

-- The clock entries tracker-run f leaves in its list ("os.clock()" -> where).
local function clocks(f)
  local t = reads.track{}
  f()
  local out = {}
  for _, e in ipairs(t:stop()) do
    if e.id == reads.sys.CLOCK then out[e.path] = e.value end
  end
  return out
end

-- the clock is the subject: nothing below asserts how long anything took
local function reseed() wb.seed(math.floor(os.clock() * 1e6) % 1000) end

T.test("a helper reading the clock once per call, called twice, is a value of the clock",
  function()
  local c = clocks(function()
    reseed()
    reseed()
  end)
  T.ok(c["os.clock()"], "two calls on two lines: " .. util.canonical(c))
  c = clocks(function() for _ = 1, 2 do reseed() end end)
  T.ok(c["os.clock()"], "two calls in a loop: " .. util.canonical(c))
  -- a callback called on each of 2 epochs (not a tail call: its own frame reads)
  local cb = function() local s = wb.sys.time(); return s end
  c = clocks(function() for _ = 1, 2 do cb() end end)
  T.ok(c["wb.sys.time()"], "a callback per epoch: " .. util.canonical(c))
end)

T.test("two reads in one call are timing, nested or in one statement", function()
  local c = clocks(function()
    local t0 = os.clock()
    local inner = (function() local a = wb.sys.time(); return wb.sys.time() - a end)()
    local a, b = wb.sys.time(), wb.sys.time()
    return os.clock() - t0 + inner + b - a
  end)
  T.eq(next(c), nil, util.canonical(c))
  -- a third read in the call is one without its pair
  c = clocks(function() local t0 = os.clock(); local _ = pcall(os.clock); return os.clock() - t0 end)
  T.ok(c["os.clock()"], util.canonical(c))
  -- a call ended by an error after one read
  c = clocks(function()
    pcall(function() local _ = os.clock(); error("x") end)
    local t = os.clock()
    return os.clock() - t
  end)
  T.ok(c["os.clock()"], util.canonical(c))
end)

T.test("a run whose helper seeds from the clock twice is never reused, said each time",
  function()
  local path = dir .. "/twice.lua"
  util.write_file(path, string.format([[
local function reseed() wb.seed(math.floor(os.clock() * 1e6) %% 1000) end
local ex = wb.experiment({name = "twice", base = {epochs = 1,
  subset = {train = 300, test = 100}, validation = false}, seeds = {1},
  build = function(cfg)
    reseed()
    local m = wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
      wb.nn.Dense(16, 10, {activation = "softmax"})}
    reseed()
    return m
  end}, {root = %q})
ex:run()
]], dir .. "/plots"))
  local cmd = "WB_ECHO=0 " .. T.wb .. " " .. path
  local st, _, err = T.sh(cmd)
  T.eq(st, 0, err)
  st, _, err = T.sh(cmd)
  T.eq(st, 0, err)
  T.ok(err:find("0 cached, 1 to train", 1, true), "cached: " .. err)
  T.ok(err:find("os.clock() was read by a hook (", 1, true), err)
end)

T.done()
