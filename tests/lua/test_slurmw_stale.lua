-- --slurm on a one-node Slurm cluster of its own (slurm_cluster.lua):
-- an element of a run its runner found recorded but stale trains it only
-- while the record is still the one the runner judged (audit W1). Before,
-- it always trained it again (--fresh): after a later runner that could
-- not ask Slurm had trained the run here, and when the element was
-- requeued after it had trained.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local C = dofile("tests/lua/slurm_cluster.lua")(T, dir)
local sh, poll, workbench = C.sh, C.poll, C.workbench

-- the task's two records (path -> bytes)
local function bytes(root)
  local out = {}
  for _, f in ipairs(wb.sys.listdir(root .. "/runs")) do
    if f:match("^envt%-%x+%.json$") then out[f] = util.read_file(root .. "/runs/" .. f) end
  end
  return out
end

-- the logs of array `job`'s elements in root, joined (job "12_1": element 1's)
local function logs_of(root, job)
  local out = {}
  for _, f in ipairs(wb.sys.listdir(root .. "/runs/logs")) do
    if f:find("-slurm-" .. job .. (job:find("_", 1, true) and "-" or "_"), 1, true) then
      out[#out + 1] = f .. ":\n" .. (util.read_file(root .. "/runs/logs/" .. f) or "")
    end
  end
  return table.concat(out, "\n")
end

local function left_queue(job)
  return poll(C.TIMEOUT * 5, function()
    local _, q = sh("squeue -h -j " .. job)
    return not q:find("%S")
  end)
end

local function same(before, after, what)
  local n = 0
  for f, b in pairs(before) do
    n = n + 1
    T.ok(after[f] == b, what .. ": " .. f .. " is the record it was")
  end
  T.eq(n, 2, "two records")
end

local function tests()
  local envt = dir .. "/envt.lua"
  util.write_file(envt, (C.TINY:gsub('name = "tiny"', 'name = "envt"')
    :gsub("return {}", 'return {x = os.getenv("ENVT_X") and 1 or 0}')))

  T.test("an element of a stale run trains nothing when a later runner, which could not ask "
    .. "Slurm, trained the run meanwhile (audit W1: it trained it again)", function()
    local root = dir .. "/later"
    local st, out, err = workbench(envt .. " --root " .. root) -- recorded, ENVT_X unset
    T.eq(st, 0, out .. err)
    st, out, err = workbench(envt .. " --slurm --sbatch --hold --detach --root " .. root,
      "ENVT_X=1")
    T.eq(st, 0, out .. err)
    local job = out:match("^(%d+)\n$")
    T.ok(job, out .. err)
    -- a later runner that cannot ask Slurm trains both runs here
    local bin = C.wrapper("scontrol", "echo 'scontrol: error: Unable to contact slurm "
      .. "controller (connect failure)' >&2\nexit 1", "noscontrol")
    st, out, err = workbench(envt .. " --root " .. root, "ENVT_X=1 PATH=" .. bin .. ":$PATH")
    T.eq(st, 0, out .. err)
    T.ok(err:find("Slurm could not be asked about 2 runs", 1, true), err)
    T.ok(err:find("2 runs: 0 cached, 2 to train", 1, true), err)
    local local_ = bytes(root)
    sh("scontrol release " .. job)
    T.ok(left_queue(job), "the array ran")
    same(local_, bytes(root), "after the array")
    local logs = logs_of(root, job)
    local _, n = logs:gsub("is not the one the runner that submitted this element found not "
      .. "reusable %(file id %x+ then, %x+ now%): written since by another process[^\n]*: "
      .. "nothing trained here\nEXIT 0", "")
    T.eq(n, 2, "each element says it trained nothing, and why: " .. logs)
    st, _, err = workbench(envt .. " --root " .. root, "ENVT_X=1")
    T.eq(st, 0, err)
    T.ok(err:find("2 runs: 2 cached, 0 to train", 1, true), err)
  end)

  T.test("the runner waiting on such an array says the records another process wrote as "
    .. "such, not as its elements' (audit W1)", function()
    local root = dir .. "/waiting"
    local st, out, err = workbench(envt .. " --root " .. root)
    T.eq(st, 0, out .. err)
    local b = C.background("waiting", string.format("env ENVT_X=1 %s %s --slurm --sbatch "
      .. "--hold --root %s", C.exe, envt, root), 300)
    local submitted = poll(C.TIMEOUT * 5, function()
      return (util.read_file(b.err) or ""):find("Slurm job array %d+: 2 runs")
    end)
    local job = (util.read_file(b.err) or ""):match("Slurm job array (%d+)")
    local bin = C.wrapper("scontrol", "echo 'scontrol: error: Unable to contact slurm "
      .. "controller (connect failure)' >&2\nexit 1", "noscontrol2")
    local lst, lout, lerr = workbench(envt .. " --root " .. root, "ENVT_X=1 PATH=" .. bin
      .. ":$PATH")
    local local_ = bytes(root)
    local seen = poll(C.TIMEOUT * 5, function()
      local _, n = (util.read_file(b.err) or ""):gsub("recorded by another process, not by "
        .. "Slurm job", "")
      return n == 2
    end)
    if job then sh("scontrol release " .. job) end
    local wst, _, werr = b.wait()
    T.ok(submitted and job, "submitted: " .. werr)
    T.eq(lst, 0, lout .. lerr)
    T.ok(seen, "both said as another process's: " .. werr)
    T.eq(wst, 0, werr)
    T.ok(werr:find("(recorded by another process, not by Slurm job " .. tostring(job) .. "_1)",
      1, true), werr)
    T.ok(not werr:find("FAILED", 1, true), werr)
    same(local_, bytes(root), "after the array")
  end)

  T.test("a requeued element of a stale run that it trained trains nothing (audit W1: it "
    .. "trained it again)", function()
    local root = dir .. "/requeued"
    local st, out, err = workbench(envt .. " --root " .. root)
    T.eq(st, 0, out .. err)
    st, out, err = workbench(envt .. " --slurm --root " .. root, "ENVT_X=1")
    T.eq(st, 0, out .. err)
    local job = err:match("Slurm job array (%d+)")
    T.ok(err:find("(Slurm job " .. tostring(job) .. "_1)", 1, true), err)
    local trained = bytes(root)
    for _, b in pairs(trained) do
      T.eq(require("cjson").decode(b).slurm.array_job, job, "retrained by the array")
    end
    local first = logs_of(root, job .. "_1")
    T.ok(first:find("\nEXIT 0\n$"), first)
    local rst, rout, rerr = sh("scontrol requeue " .. job .. "_1 && scontrol update JobId="
      .. job .. "_1 StartTime=now")
    T.eq(rst, 0, rout .. rerr)
    T.ok(left_queue(job), "the requeued element ran")
    same(trained, bytes(root), "after the requeued element")
    local logs = logs_of(root, job)
    T.ok(logs:find("written since by another process[^\n]*: nothing trained here\nEXIT 0"),
      logs)
    -- the first attempt's lines kept, the second's after a line saying so
    -- (before: the requeued attempt wrote the log over: tryK 6)
    local both = logs_of(root, job .. "_1")
    T.ok(both:sub(1, #first) == first and both:find("\n---- requeued: attempt 2, [^\n]+\n", #first)
      == #first, both)
  end)
end

C.run(tests)
T.done()
