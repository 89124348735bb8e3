-- test_audit_trust6.lua: two ways a number could be silently wrong.
-- 1. wb.runner.run_experiment (ex:run(): a user's script, the REPL) took no
--    lock: two of them, or one and a `workbench task.lua` runner, on the
--    same root trained the same runs at once, over each other's records and
--    weights. It now holds the root's lock shared and each run's own while
--    training it, as a --run does (wb/root_lock.lua): the second is refused,
--    naming the lock and its holder's pid, in one line (an input error, exit
--    1: it came with a traceback, tryX 5).
-- 2. A killed run's resume state (<task>-<hash>.state.safetensors) was
--    checked for its tag and architecture, not its content: a bit flipped,
--    a field edited (still well-formed), or a state copied from another run
--    with its tag made this run's was resumed silently. save_state now
--    writes a checksum of the content in the metadata (workbench.checksum);
--    the runner does not resume from a state that does not match it or has
--    none: it warns naming the file and trains from scratch.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local cjson = require "cjson"
local dir = T.tmpdir()
local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
local q = T.quote

-- A measure hook that notes its run's start in $STARTS (when set) and with
-- $HOLD waits (bounded) until the file $HOLD exists, having made $HOLD.in.
local MEASURE = [[
  measure = function(_, cfg)
    local starts = os.getenv("STARTS")
    if starts then
      local f = assert(io.open(starts, "a")); f:write(cfg.seed, "\n"); f:close()
    end
    local go = os.getenv("HOLD")
    if go then
      local held = io.open(go .. ".in", "w"); held:close()
      for _ = 1, 6000 do
        if io.open(go) then return {} end
        os.execute("sleep 0.1")
      end
      error("never released")
    end
    return {}
  end]]

-- a user's script: run_experiment (ex:run) on $ROOT; and the same runs as a task
local script, task = dir .. "/mine.lua", dir .. "/held.lua"
util.write_file(script, [[
local ex = wb.experiment({name = "held", base = {hidden = 4, epochs = 1,
  subset = {train = 100, test = 50}}, seeds = {1, 2},
]] .. MEASURE .. [[}, {root = os.getenv("ROOT")})
local runs = ex:run()
print("recorded " .. #runs.records)
]])
util.write_file(task, [[
return wb.task{name = "held", experiment = {base = {hidden = 4, epochs = 1,
  subset = {train = 100, test = 50}}, seeds = {1, 2},
]] .. MEASURE .. [[},
  report = function(t, runs) t:text(runs:table{"test_accuracy"}) end}
]])

local function lines(path)
  local n = 0
  for _ in (util.read_file(path) or ""):gmatch("[^\n]+") do n = n + 1 end
  return n
end

-- `file` (a script) with `env` in the background: its pid, and wait() ->
-- status, stderr
local function background(name, file, env, args)
  local f = dir .. "/" .. name
  os.execute(string.format("cd / && env %s %s %s %s >%s.out 2>%s.err </dev/null & echo $! > "
    .. "%s.pid", env, q(exe), q(file), args or "", f, f, f))
  local pid = util.read_file(f .. ".pid"):match("%d+")
  return pid, function()
    T.wait_gone(pid, 600, name)
    local out = util.read_file(f .. ".out") or ""
    return out:match("recorded %d+") or "", util.read_file(f .. ".err") or ""
  end
end

local function workbench(file, env, args)
  return T.sh(string.format("cd / && env %s timeout 600 %s %s %s </dev/null", env, q(exe),
    q(file), args or ""))
end

-- {==== 1. run_experiment's locks ====

T.test("run_experiment training: a second run_experiment on the same root is refused, "
  .. "naming the run, its lock and the holder's pid; each run trained once", function()
  local root, go, starts = dir .. "/two", dir .. "/two.go", dir .. "/two.starts"
  local pid, wait = background("first", script, string.format("ROOT=%s HOLD=%s STARTS=%s",
    q(root), q(go), q(starts)))
  T.wait_until("the first run_experiment in its first run", 600, function()
    return wb.sys.exists(go .. ".in")
  end)
  local locks = {}
  for _, n in ipairs(wb.sys.listdir(root .. "/runs/slurm")) do
    if n:match("^held%-%x+%.lock$") then locks[#locks + 1] = n end
  end
  T.eq(#locks, 1, "one run's lock: " .. table.concat(locks, " "))
  local lock = root .. "/runs/slurm/" .. locks[1]
  local who = (util.read_file(lock) or "?"):gsub("%s+$", "")
  T.ok(who:find("^workbench pid " .. pid .. " on %S+, training run %x+ %(base seed 1%) in "
    .. "process %(run_experiment%) since "), who)
  local st, out, err = workbench(script, string.format("ROOT=%s STARTS=%s", q(root), q(starts)))
  T.eq(st, 1, "refused: " .. out .. err)
  -- one line, as the runner's refusals: it came with a traceback (tryX 5)
  T.ok(not err:find("traceback", 1, true), err)
  T.ok(err:find("\nworkbench: run_experiment: [held] run " .. locks[1]:match("held%-(%x+)")
    .. " (base seed 1) is being trained by another process (" .. who .. "; it holds " .. lock
    .. "): not trained here twice at once", 1, true), err)
  T.eq(lines(starts), 1, "nothing trained by the second")
  util.write_file(go, "")
  local rec1, err1 = wait()
  T.eq(rec1, "recorded 2", err1)
  T.eq(lines(starts), 2, "each run trained once")
  -- the locks are free once it has ended
  st, out, err = workbench(script, string.format("ROOT=%s STARTS=%s", q(root), q(starts)))
  T.eq(st, 0, err)
  T.ok(out:find("recorded 2", 1, true), out)
end)

T.test("run_experiment training: the task's runner on the same root is refused (exit 1) "
  .. "naming it; a runner training: run_experiment is refused naming it", function()
  local root, go, starts = dir .. "/mixed", dir .. "/mixed.go", dir .. "/mixed.starts"
  local lock = root .. "/runs/slurm/held.lock"
  local pid, wait = background("mine", script, string.format("ROOT=%s HOLD=%s STARTS=%s",
    q(root), q(go), q(starts)))
  T.wait_until("run_experiment in its first run", 600, function()
    return wb.sys.exists(go .. ".in")
  end)
  local st, _, err = workbench(task, "STARTS=" .. q(starts), "--jobs 1 --root " .. q(root))
  T.eq(st, 1, err)
  T.ok(err:find("[held] another runner of this sweep is using this root (workbench pid " .. pid
    .. " on " .. wb.sys.hostname() .. ", training in process (run_experiment) since ", 1, true)
    and err:find("; it holds " .. lock .. "): nothing trained or submitted here", 1, true), err)
  T.eq(lines(starts), 1, "nothing trained by the runner")
  util.write_file(go, "")
  local rec, err1 = wait()
  T.eq(rec, "recorded 2", err1)
  -- the other way round: a runner training, on a root of its own
  local root2, go2 = dir .. "/mixed2", dir .. "/mixed2.go"
  local rpid, rwait = background("runner", task, string.format("HOLD=%s STARTS=%s", q(go2),
    q(starts)), "--jobs 1 --root " .. q(root2))
  T.wait_until("the runner's first run", 600, function() return wb.sys.exists(go2 .. ".in") end)
  local st2, out2, err2 = workbench(script, string.format("ROOT=%s STARTS=%s", q(root2),
    q(starts)))
  T.eq(st2, 1, "refused: " .. out2 .. err2)
  T.ok(not err2:find("traceback", 1, true), err2)
  T.ok(err2:find("run_experiment: [held] a runner of this sweep is using this root (workbench "
    .. "pid " .. rpid .. " on " .. wb.sys.hostname() .. ", training locally since ", 1, true)
    and err2:find("; it holds " .. root2 .. "/runs/slurm/held.lock): nothing trained here",
    1, true), err2)
  T.eq(lines(starts), 3, "nothing trained by run_experiment")
  util.write_file(go2, "")
  T.eq((rwait()), "")
  T.eq(lines(starts), 4, "the runner trained both")
end)

T.test("run_experiment whose run fails: its locks are held while it trains and released "
  .. "with the error", function()
  local root_lock = require "wb.root_lock"
  local root = dir .. "/fails"
  local probe = {root = root, name = "fails"}
  -- the run trains in a child (wb/runner_fork.lua): what the hook found
  -- comes back in its error
  local ex = wb.experiment({name = "fails", base = {hidden = 4, epochs = 1,
    subset = {train = 100, test = 50}}, measure = function()
      local release, why = root_lock.take(probe, "probing")
      if release then release() end
      error("measure failed on purpose; the lock: " .. (release and "taken" or why), 0)
    end}, {root = root})
  local ok, e = pcall(ex.run, ex, {verbose = false})
  T.ok(not ok and tostring(e):find("measure failed on purpose", 1, true), tostring(e))
  T.ok(tostring(e):find("another runner of this sweep is using this root (workbench pid "
    .. wb.sys.getpid(), 1, true), tostring(e))
  local release, why = root_lock.take(probe, "probing")
  T.ok(release, "free after the error: " .. tostring(why))
  if release then release() end
  local run_release, held = root_lock.take_one(probe, ex.specs[1], "probing")
  T.ok(run_release, "the run's lock is free after the error: " .. tostring(held))
  if run_release then run_release() end
end)

-- }====
-- {==== 2. a killed run's state: its content ====

-- two runs of 2 epochs; with $HOLD, measure waits (the state of both epochs is written)
local sscript = dir .. "/state.lua"
util.write_file(sscript, [[
local ex = wb.experiment({name = "st", base = {hidden = 4, epochs = 2,
  subset = {train = 100, test = 50}}, seeds = {1, 2},
]] .. MEASURE .. [[}, {root = os.getenv("ROOT")})
local runs = ex:run{verbose = false}
print("recorded " .. #runs.records)
]])

-- the records in root by seed
local function records(root)
  local out = {}
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    if wb.record.is_record_file(n) then
      local r = assert(wb.record.read(root .. "/runs/" .. n))
      out[r.seed] = r
    end
  end
  return out
end

-- reference records: trained straight, never killed
local ref_root = dir .. "/ref"
do
  local st, _, err = workbench(sscript, "ROOT=" .. q(ref_root))
  assert(st == 0, err)
end
local refs = records(ref_root)

-- A root where seed 1's run was killed (SIGKILL) in its measure hook, after
-- its last epoch's state was written: its state's path and the two runs' hashes.
local function killed(name)
  local root, go = dir .. "/" .. name, dir .. "/" .. name .. ".go"
  local pid = background(name, sscript, string.format("ROOT=%s HOLD=%s", q(root), q(go)))
  T.wait_until("seed 1 in its measure hook", 600, function() return wb.sys.exists(go .. ".in") end)
  os.execute("kill -KILL " .. pid)
  T.wait_gone(pid, 600, "the killed run")
  local state
  for _, n in ipairs(wb.sys.listdir(root .. "/runs")) do
    if n:match("%.state%.safetensors$") then state = root .. "/runs/" .. n end
  end
  assert(state, "no state file in " .. root .. "/runs")
  local h1 = state:match("st%-(%x+)%.state%.safetensors$")
  local h2
  for _, s in ipairs{refs[1], refs[2]} do if s.hash ~= h1 then h2 = s.hash end end
  return root, state, h1, h2
end

-- Trains root's runs again: the records, and stderr
local function again(root)
  local st, _, err = workbench(sscript, "ROOT=" .. q(root))
  T.eq(st, 0, err)
  return records(root), err
end

local function same_as_ref(recs, what)
  for seed = 1, 2 do
    T.eq(#recs[seed].history.loss, 2, what)
    for e = 1, 2 do
      T.eq(recs[seed].history.loss[e], refs[seed].history.loss[e], what .. " seed " .. seed
        .. " loss epoch " .. e)
    end
    T.eq(recs[seed].metrics.test_accuracy, refs[seed].metrics.test_accuracy, what)
  end
end

T.test("a killed run's state as written: resumed (the control)", function()
  local root, state = killed("intact")
  local _, meta = wb.io.load_safetensors(state)
  T.ok(type(meta["workbench.checksum"]) == "string" and #meta["workbench.checksum"] == 32,
    tostring(meta["workbench.checksum"]))
  local recs, err = again(root)
  T.eq(recs[1].resumed_after_epoch, 2, err)
  T.ok(not err:find("warning", 1, true), err)
  same_as_ref(recs, "resumed")
end)

-- The warning of a state refused: file, run and why
local function refused(err, state, h, why)
  T.ok(err:find("warning: " .. state .. " is not a training state of run st-" .. h .. " ("
    .. why, 1, true) and err:find("); training from scratch", 1, true), err)
end

T.test("a killed run's state with a bit flipped in a tensor: not resumed, warned naming "
  .. "the file and the checksum; trained from scratch", function()
  local root, state, h1 = killed("flipped")
  local bytes = util.read_file(state)
  local at = #bytes - 1 -- inside the last tensor's elements: still parses
  util.write_file(state, bytes:sub(1, at - 1) .. string.char(bytes:byte(at) ~ 1)
    .. bytes:sub(at + 1))
  T.ok(pcall(wb.io.load_safetensors, state), "still a well-formed file")
  local recs, err = again(root)
  refused(err, state, h1, "its content does not match the checksum written with it (")
  T.eq(recs[1].resumed_after_epoch, nil, "not resumed")
  same_as_ref(recs, "from scratch")
end)

T.test("a killed run's state with a number edited in its metadata, or without a checksum: "
  .. "not resumed, warned", function()
  local root, state, h1 = killed("edited")
  local tensors, meta = wb.io.load_safetensors(state)
  local hist = cjson.decode(meta["workbench.history"])
  hist.loss[1] = hist.loss[1] / 2
  meta["workbench.history"] = require("wb.checkpoint").exact_json(hist)
  wb.io.save_safetensors(state, tensors, meta)
  local recs, err = again(root)
  refused(err, state, h1, "its content does not match the checksum written with it (")
  T.eq(recs[1].resumed_after_epoch, nil, "not resumed")
  same_as_ref(recs, "from scratch")
  -- the checksum taken out: nothing vouches for it
  root, state, h1 = killed("unsummed")
  tensors, meta = wb.io.load_safetensors(state)
  meta["workbench.checksum"] = nil
  wb.io.save_safetensors(state, tensors, meta)
  recs, err = again(root)
  refused(err, state, h1, "it has no checksum (written by a workbench from before state files "
    .. "had one, or by hand)")
  T.eq(recs[1].resumed_after_epoch, nil, "not resumed")
end)

T.test("a killed run's state copied over another run's, its tag made that run's: not "
  .. "resumed, warned", function()
  local root, state, h1, h2 = killed("copied")
  local tensors, meta = wb.io.load_safetensors(state)
  local kernel = "+kernel:" .. wb.sys.blas_core() -- the kernel it trained with
  T.eq(meta["workbench.tag"], "st-" .. h1 .. kernel)
  meta["workbench.tag"] = "st-" .. h2 .. kernel
  local other = wb.record.path(root, "st", h2, "state.safetensors")
  wb.io.save_safetensors(other, tensors, meta)
  os.remove(state)
  local recs, err = again(root)
  refused(err, other, h2, "its content does not match the checksum written with it (")
  T.eq(recs[2].resumed_after_epoch, nil, "not resumed from seed 1's state")
  same_as_ref(recs, "from scratch")
end)

T.test("a killed run's state from before states named their kernel: not resumed, said so "
  .. "(not 'not a training state of run')", function()
  local root, state, h1 = killed("oldtag")
  local tensors, meta = wb.io.load_safetensors(state)
  meta["workbench.tag"] = meta["workbench.tag"]:gsub("%+kernel:[^+]*", "")
  local fitstate = require "wb.state_fit"
  meta["workbench.checksum"] = fitstate.checksum(tensors, meta) -- as an older one wrote it
  wb.io.save_safetensors(state, tensors, meta)
  local recs, err = again(root)
  T.ok(err:find("warning: " .. state .. ", a training state of run st-" .. h1 .. ", was saved "
    .. "by an older workbench, which did not record its OpenBLAS kernel: not resumed", 1, true),
    err)
  T.eq(recs[1].resumed_after_epoch, nil, "not resumed")
  same_as_ref(recs, "from scratch")
end)

T.test("a killed run's state truncated: not resumed, warned; trained from scratch", function()
  local root, state, h1 = killed("truncated")
  local bytes = util.read_file(state)
  util.write_file(state, bytes:sub(1, #bytes - 100))
  local recs, err = again(root)
  refused(err, state, h1, "")
  T.eq(recs[1].resumed_after_epoch, nil, "not resumed")
  same_as_ref(recs, "from scratch")
end)

T.test("fit{resume} by hand of a state not as written: EFORMAT naming the file, nothing "
    .. "restored", function()
  local m = T.tiny_mlp(1)
  local data = T.tiny_data()
  m:fit(data, {epochs = 1, batch_size = 16, verbose = false})
  local path = dir .. "/hand.safetensors"
  m:save_state(path)
  local tensors, meta = wb.io.load_safetensors(path)
  local w = tensors["layers.1.weight"]
  w:set(1, 1, w:get(1, 1) + 1)
  wb.io.save_safetensors(path, tensors, meta)
  local m2 = T.tiny_mlp(1)
  local before = m2[1].weight:clone()
  local ok, e = pcall(m2.fit, m2, data, {epochs = 2, batch_size = 16, verbose = false,
    resume = path})
  T.ok(not ok and wb.is_error(e) and e.code == "EFORMAT", tostring(e))
  T.ok(tostring(e):find("fit: resume: " .. path .. ": its content does not match the "
    .. "checksum written with it (", 1, true), tostring(e))
  T.eq((m2[1].weight - before):abs():max(), 0, "nothing restored")
  -- without a checksum (a state an older workbench wrote): taken as it is
  meta["workbench.checksum"] = nil
  wb.io.save_safetensors(path, tensors, meta)
  local m3 = T.tiny_mlp(1)
  local _, err = T.stderr_of(function()
    T.eq(m3:fit(data, {epochs = 2, batch_size = 16, verbose = false, resume = path}).epochs, 2)
  end)
  -- and said (it was taken without a word: a new user's Python edit, tryD 8)
  T.ok(err:find("fit: resume: " .. path .. ": it has no checksum (written by a workbench from "
    .. "before state files had one, or by hand): nothing vouches for its content; resumed "
    .. "from all the same", 1, true), err)
end)

-- }====

T.done()
