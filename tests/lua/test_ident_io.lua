-- tryL 2, 7 and 3: three reads of a run's hooks that were not recorded, so
-- the run was reused after what they read had changed.
-- 2: the default input set at the script's top level (io.input("drop.txt"))
-- and read in a hook (io.read, io.lines(), io.input():read): now recorded as
-- that file (wb/identity_reads_io.lua).
-- 7: the standard input read in a hook (io.stdin:read; `echo 0.9 |
-- workbench t.lua`): a runner's child gets end of file there, and the run
-- trained on the hook's default without a word; now refused, saying so.
-- 3: a folder a wb helper lists for a hook (wb.image.png_files(dir)): wb's
-- own listings were skipped; one made on a hook's behalf is now recorded
-- (and $WB_DATA, which wb.data reads to find a set a hook loads by name).
-- tryX 3: a file a hook opened in "a+" (or "a+b") mode, seeked back and read
-- was counted as written, so editing it reused the run with the old numbers.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local task = dofile("tests/lua/ident_task.lua")(T)
local dir = T.tmpdir()

-- A script whose top level is `top` and whose build hook's first layer is
-- `width` units wide (an expression of the hook); ex:run() prints the width.
local function script(name, top, width)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, task.experiment(top, width, name, dir .. "/plots"))
  return function(pre)
    return T.sh(table.concat({pre or "", "WB_ECHO=0", T.wb, path}, " "))
  end
end

local trained = task.trained

local function paths(list)
  local out = {}
  for _, e in ipairs(list) do out[#out + 1] = e.path end
  return table.concat(out, " ")
end

-- run trains with the 16 in file, is reused as it stands, and trains again
-- with 24 once file says so, naming file as what changed
local function reread(run, file)
  trained(16, run())
  local st, _, err = run()
  task.cached(st, err)
  util.write_file(file, "24\n")
  local out
  st, out, err = run()
  trained(24, st, out, err)
  T.ok(err:find(file .. " changed since it was recorded", 1, true), err)
end

T.test("tryL 2: the default input a hook reads, set by io.input at the top, is recorded",
  function()
  local file = dir .. "/i1.txt"
  util.write_file(file, "16\n")
  local run = script("i1", string.format("io.input(%q)", file), 'io.read("n")')
  reread(run, file)
end)

T.test("tryL 2: io.lines() and io.input():read read the default input: recorded", function()
  local file = dir .. "/i2.txt"
  util.write_file(file, "1\n2\n")
  local h = io.open(file) -- io.input(handle) of a file io.open opened: that file
  for _, set in ipairs{function() io.input(file) end, function() io.input(h) end} do
    set()
    for _, read in ipairs{function() return io.lines()() end,
        function() return io.input():read("l") end, function() return io.read("l") end} do
      io.input():seek("set")
      local t = reads.track{}
      T.eq(read(), "1")
      local list = t:stop()
      T.eq(paths(list), file, util.canonical(list))
    end
  end
  io.input(io.stdin)
  h:close()
  -- a default input opened from no file: a command's output, never reused
  io.input(io.tmpfile())
  local t = reads.track{}
  io.read("a")
  local list = t:stop()
  io.input():close()
  io.input(io.stdin)
  T.eq(#list, 1, util.canonical(list))
  T.eq(reads.kind(list[1]), "command", util.canonical(list))
end)

T.test("tryL 7: the standard input read in a run is refused, saying why", function()
  for _, read in ipairs{function() return io.stdin:read("n") end,
      function() return io.read("n") end, function() return io.lines()() end,
      function() return io.stdin:lines()() end} do
    local t = reads.track{}
    local ok, err = pcall(read)
    t:stop()
    T.ok(not ok and tostring(err):find("a hook read the standard input", 1, true)
      and tostring(err):find("test_ident_io.lua:%d+:"), tostring(err))
  end
  local run = script("i3", "", 'io.stdin:read("n") or 16')
  local st, out, err = run("echo 24 |")
  T.ok(st ~= 0, "refused: " .. out .. err)
  T.ok(err:find("a hook read the standard input", 1, true), err)
end)

T.test("tryL 3: a folder wb.image.png_files lists for a hook is recorded", function()
  local pngs = dir .. "/pngs"
  T.sh("mkdir -p " .. pngs)
  util.write_file(pngs .. "/a.png", "")
  local t = reads.track{}
  local function hook() return #wb.image.png_files(pngs) + 0 end -- a frame of its own
  T.eq(hook(), 1)
  local list = t:stop()
  T.eq(#list, 1, util.canonical(list))
  T.eq(reads.kind(list[1]), "listing", util.canonical(list))
  -- $WB_DATA, which wb.data reads to find a set a hook loads by name: recorded too
  t = reads.track{}
  local function loader() return wb.data._location("mnist") .. "" end
  loader()
  list = t:stop()
  T.ok(paths(list):find("$WB_DATA", 1, true), util.canonical(list))
  local run = script("i4", string.format("local d = %q", pngs),
    "16 + 8 * (#wb.image.png_files(d) - 1)")
  trained(16, run())
  util.write_file(pngs .. "/b.png", "")
  local st, out, err = run()
  trained(24, st, out, err)
  T.ok(err:find(pngs .. " (a folder a hook listed) has other names", 1, true), err)
end)

T.test("tryX 3: a file opened in a mode that reads (a+, a+b, r+) is recorded; w+ is not",
  function()
  local file = dir .. "/m.txt"
  util.write_file(file, "16\n")
  for mode, read in pairs{r = true, rb = true, ["r+"] = true, ["r+b"] = true, ["a+"] = true,
      ["a+b"] = true, a = false, ab = false, w = false, ["w+"] = false, ["w+b"] = false} do
    local t = reads.track{}
    assert(io.open(file, mode)):close()
    local list = t:stop()
    T.eq(paths(list), read and file or "", mode .. ": " .. util.canonical(list))
    util.write_file(file, "16\n")
  end
  local run = script("i5", string.format("local p = %q", file),
    '(function() local f = io.open(p, "a+") f:seek("set", 0) return f:read("n") end)()')
  reread(run, file)
end)

T.done()
