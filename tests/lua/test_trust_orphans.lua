-- A runner killed with SIGKILL leaves no run training behind it. Its children
-- run in a session of their own (so that a Ctrl-C reaches them only through
-- the runner); found by the trust audit: after `kill -9` of the runner they
-- trained on, wrote their records, and xargs started the next ones. They
-- now stop after the epoch they are in, recording nothing, and a rerun
-- resumes from the last checkpoint, bit-identical to an unbroken run.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

-- Each epoch takes a fifth of a second or so: a fixed count of work in a
-- callback that reads nothing (a file it tested, wb.sys.exists, is one of
-- the run's reads since audit W2: a state trained while it was there is not
-- resumed once it is gone; a clock read an odd number of times makes a run
-- never reused, W4). The callback has a state, so that its runs resume.
local path = dir .. "/orphans.lua"
util.write_file(path, string.format([[
return wb.task{name = "orphans", experiment = {seeds = {1, 2},
  base = {hidden = 8, epochs = 20, subset = {train = 300, test = 100}},
  callbacks = function() return {{on_epoch_end = function()
    local n = 0
    for i = 1, 5e7 do n = n + i end
  end, get_state = function() return {} end, set_state = function() end}} end},
  report = function() end}
]]))

local function records(root)
  local out = {}
  for _, r in ipairs(wb.runs.load_all(root .. "/runs")) do out[r.hash] = r end
  return out
end

local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end

-- The training children of the task under root ("--root ROOT --run HASH"),
-- counted from /proc; "[ ]" keeps the pattern from matching pgrep's shell.
local function children(root)
  local _, out = T.sh("(pgrep -f -- '--root[ ]" .. root .. " --run' || true)")
  return select(2, out:gsub("%d+", ""))
end

local function files(root, pattern)
  local ok, names = pcall(wb.sys.listdir, root)
  local out = {}
  for _, n in ipairs(ok and names or {}) do
    if n:find(pattern) then out[#out + 1] = n end
  end
  return out
end

-- What the old code left behind: the children's sessions, killed here so
-- that a failing run of this test does not go on training.
local function reap(root)
  os.execute("me=$(ps -o sid= -p $$ | tr -d ' '); for p in $(pgrep -f -- '--root[ ]"
    .. root .. "'); do s=$(ps -o sid= -p $p | tr -d ' '); if [ -n \"$s\" ] && "
    .. "[ \"$s\" != \"$me\" ]; then pkill -KILL -s $s; fi; kill -KILL $p; done 2>/dev/null")
end

T.test("reader_gone: whether anyone still reads the pipe fd writes to", function()
  local st, out, err = T.sh("(" .. T.wb .. " -e 'io.write(tostring(wb.sys.reader_gone(1)))' | cat)")
  T.eq(st, 0, err); T.eq(out, "false", "cat reads it")
  -- until `true` has exited (a loaded machine may take more than the 0.3 s
  -- once slept here), bounded by a count of polls
  st, out, err = T.sh("(" .. T.wb .. " -e 'for _ = 1, 6000 do if wb.sys.reader_gone(1) then "
    .. "break end os.execute(\"sleep 0.05\") end "
    .. "io.stderr:write(tostring(wb.sys.reader_gone(1)))' | true)")
  T.eq(err, "true", "true has exited without reading")
  st, out = T.sh(T.wb .. " -e 'io.write(tostring(select(2, wb.sys.reader_gone(1))))'")
  T.ok(out:find("fd 1 is not the write end of a pipe", 1, true), out)
  T.check_error("expected a file descriptor", wb.sys.reader_gone, -1)
end)

T.test("kill -9 of the runner: its child stops, no run starts, a rerun resumes", function()
  local ref, root = dir .. "/ref", dir .. "/killed"
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", T.wb, path, ref))
  T.eq(st, 0, err)
  -- an epoch of a fifth of a second or more: a child trains for 4 s or more
  os.execute(string.format("WB_ECHO=0 %s %s --root %s --jobs 1 "
    .. ">/dev/null 2>&1 & echo $! > %s/pid", T.wb, path, root, dir))
  local pid = util.read_file(dir .. "/pid"):match("%d+")
  T.wait_until("the first epoch's state under " .. root, 1800, function()
    return #files(root .. "/runs", "%.state%.safetensors$") > 0 or not util.pid_alive(pid)
  end)
  T.eq(children(root), 1, "one run training when the runner is killed")
  os.execute("kill -KILL " .. pid)
  -- the child stops after the epoch it is in (a second, or a loaded
  -- machine's minutes; 20 epochs would be 20 s or more)
  local left = T.poll(600, function() return children(root) == 0 end) and 0 or children(root)
  -- and none starts later (xargs would start the next run at once)
  for _ = 1, 10 do
    os.execute("sleep 0.1")
    left = math.max(left, children(root))
  end
  local logs = files(root .. "/runs/logs", "%.log$")
  local killed = records(root)
  reap(root)
  T.eq(left, 0, "no child of the killed runner trains on")
  T.eq(#logs, 1, "no other run started: " .. table.concat(logs, " "))
  T.eq(count(killed), 0, "no record written")
  T.eq(#files(root .. "/runs", "%.tmp"), 0, "no temporary file left")
  local state = files(root .. "/runs", "%.state%.safetensors$")
  T.eq(#state, 1)
  local a = state[1]:match("^orphans%-(%x+)%.state")
  local _, meta = wb.io.load_safetensors(root .. "/runs/" .. state[1])
  local k = math.tointeger(require("cjson").decode(meta["workbench.state"]).epoch)
  T.ok(k >= 1 and k < 20, "stopped mid-way, after epoch " .. tostring(k))
  -- the rerun resumes run a from its state and trains the other one
  st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 1", T.wb, path, root))
  T.eq(st, 0, err)
  T.ok(err:find("2 to train", 1, true), err)
  local recs, refs = records(root), records(ref)
  T.eq(count(recs), 2)
  T.eq(recs[a].resumed_after_epoch, k, "run a resumed")
  for h, want in pairs(refs) do
    local r = recs[h]
    T.eq(#r.history.loss, #want.history.loss, h)
    for e = 1, #want.history.loss do
      T.eq(r.history.loss[e], want.history.loss[e], h .. " loss epoch " .. e)
    end
    local wa = wb.load(wb.record.path(root, "orphans", h, "safetensors")):get_weights()
    local wr = wb.load(wb.record.path(ref, "orphans", h, "safetensors")):get_weights()
    for i = 1, #wa do
      local d = wa[i] - wr[i]
      T.ok(d:max() == 0 and d:min() == 0, h .. " weights " .. i .. " bit-identical")
    end
  end
end)

-- tryX 4: the runner's reader gone (`workbench t.lua | head`): it stops its runs, in one
-- line (it came with a traceback, saying "no record written" as if finished runs were
-- lost). The build hook waits until the reader has ended and been reaped (/proc/<pid>
-- gone: its end of the pipe closed), so the runner's next look finds it gone.
T.test("the runner's output unread any more: one line, finished runs kept, exit 1", function()
  local root, pidf, errf = dir .. "/unread", dir .. "/reader.pid", dir .. "/unread.err"
  local script = dir .. "/unread.lua"
  util.write_file(script, string.format([[
return wb.task{name = "unread", experiment = {seeds = {1},
  base = {epochs = 2, subset = {train = 100, test = 50}},
  build = function()
    for _ = 1, 12000 do
      local f = io.open(%q)
      local pid = f and f:read("n")
      if f then f:close() end
      if pid and not wb.sys.exists("/proc/" .. pid) then break end
      os.execute("sleep 0.05")
    end
    return wb.nn.Sequential{wb.nn.Dense(784, 4, {activation = "relu"}),
      wb.nn.Dense(4, 10, {activation = "softmax"})}
  end},
  report = function() end}
]], pidf))
  local st = T.sh(string.format("(WB_ECHO=0 %s %s --root %s --jobs 1 2>%s; echo $? > %s.st) "
    .. "| sh -c 'echo $$ > %s'", T.wb, script, root, errf, errf, pidf))
  T.eq(st, 0)
  local err = util.read_file(errf)
  T.eq(util.read_file(errf .. ".st"), "1\n", err)
  T.ok(err:find("\nworkbench: [unread] no one reads this task's output any more (its reader "
    .. "ended: a report killed, or `| head`): the runs training are stopped, unrecorded; "
    .. "finished runs stay recorded", 1, true), err)
  T.ok(not err:find("traceback", 1, true), err)
end)

T.done()
