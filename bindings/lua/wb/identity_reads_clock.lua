-- wb/identity_reads_clock.lua: which reads of a duration clock (wb.sys.time,
-- os.clock) a run's hooks made without their pair: those are values taken
-- from the clock (a seed), and the run is never reused; a pair is a hook
-- timing itself (wb/identity_reads_sys.lua installs the wrappers that call
-- M.timed; wb/identity_reads.lua lists M.unpaired with a run's reads).
-- Private to the runner.
local _ENV = require "wb.std"

local M = {}

-- A pair is two reads of one clock in one call of a function (its
-- activation), not in one function over the run: counted per function, a
-- helper reading the clock once per call (a seed from os.clock()) called
-- twice, or a callback called on each of 2 epochs, counted as paired and
-- its run was reused. Lua gives a frame no id, and a return hook would run
-- between the two reads of every pair, inside the time being measured; so a
-- call is told by its function, its height on the stack and what the frames
-- below it hold (function, line, every local and temporary): those are
-- suspended while it runs, and another call of it differs in one of them
-- (another line, a loop's counter). Not told apart: a function called again
-- from frames that hold the very same values (a `while` loop whose test
-- reads no local); and a closure that writes a local of a frame below
-- between its two reads makes them two calls (never reused: the safe side).

-- The frames from level `from` of below's caller down, as a list of
-- values (see above).
local function below(from)
  local sig, level = {}, from + 1 -- this function's own frame is level 1
  while true do
    local info = debug.getinfo(level, "fl")
    if not info then return sig end
    sig[#sig + 1], sig[#sig + 2] = info.func, info.currentline
    local n = 1
    while true do
      local name, v = debug.getlocal(level, n)
      if not name then break end
      sig[#sig + 1] = v
      n = n + 1
    end
    level = level + 1
  end
end

local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if not rawequal(a[i], b[i]) then return false end
  end
  return true
end

-- The call reading a clock, asked from the wrapper's callee (timed: the
-- reader is the first Lua frame from level 4 of this function), as
-- {f, height, below}; nil when there is no Lua frame.
local function activation()
  local level = 4
  local info = debug.getinfo(level, "Sf")
  while info and info.what == "C" do
    level = level + 1
    info = debug.getinfo(level, "Sf")
  end
  if not info then return nil end
  local total = level
  while debug.getinfo(total + 1, "S") do total = total + 1 end
  return {f = info.func, height = total - level, below = below(level + 1)}
end

-- Whether call c (from activation) is still on the stack: a frame at its
-- height runs its function over the same frames.
local function live(c)
  local total = 1
  while debug.getinfo(total + 1, "S") do total = total + 1 end
  local level = total - c.height
  local info = level >= 1 and debug.getinfo(level, "f")
  return info and rawequal(info.func, c.f) and same(below(level + 1), c.below) or false
end

-- M.timed(active, name, at): a duration clock `name` read at `at`, in each
-- tracker of list `active`: paired with a read of it in the same
-- call, else pending until one comes; a pending read whose call has
-- returned is a value taken from the clock (t.clock_unpaired[name]).
function M.timed(active, name, at)
  local c = activation()
  for _, t in ipairs(active) do
    t.clock, t.clock_unpaired = t.clock or {}, t.clock_unpaired or {}
    local pending = t.clock[name] or {}
    t.clock[name] = pending
    local paired = false
    for i = #pending, 1, -1 do
      local p = pending[i]
      if c and not paired and rawequal(p.f, c.f) and p.height == c.height
          and same(p.below, c.below) then
        table.remove(pending, i)
        paired = true
      elseif not live(p) then
        table.remove(pending, i)
        local u = t.clock_unpaired
        if not u[name] or p.at < u[name] then u[name] = p.at end
      end
    end
    if not paired then
      if c then c.at = at; pending[#pending + 1] = c
      else t.clock_unpaired[name] = t.clock_unpaired[name] or at end
    end
  end
end

-- M.unpaired(t, list, CLOCK): appends to list (what tracker t saw) each duration
-- clock a call of its hooks read without its pair (an odd number of
-- times), once a clock (the first place, by name), sorted: the same in
-- every process.
function M.unpaired(t, list, CLOCK)
  local found = {}
  for name, at in pairs(t.clock_unpaired or {}) do found[name] = at end
  for name, pending in pairs(t.clock or {}) do
    for _, p in ipairs(pending) do
      if not found[name] or p.at < found[name] then found[name] = p.at end
    end
  end
  local names = {}
  for n in pairs(found) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do
    if not t.seen[n] then list[#list + 1] = {path = n, id = CLOCK, value = found[n]} end
  end
end

return M
