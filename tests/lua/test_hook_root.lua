-- A hook's wb.runs.find or load_all without a root reads the runs of the
-- root its own run is recorded under. It read $WB_PLOTS/runs or
-- ./plots/runs whatever the task's --root: a build hook that took another
-- task's runs, in a task run with --root R, got those of the folder it was
-- started from (a study of other numbers), or none with allow_empty,
-- without a word. Outside a runner the default is as before.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local wbin = T.wb:sub(1, 1) == "/" and T.wb or os.getenv("PWD") .. "/" .. T.wb

-- A finished run of task "tb" with test accuracy acc in root's runs folder.
local function put(root, h, acc)
  os.execute("mkdir -p " .. T.quote(root .. "/runs"))
  wb.record.write(string.format("%s/runs/tb-%s.json", root, h), {hash = h, task = "tb",
    variant = "base", seed = 1, config = {seed = 1}, status = "ok",
    metrics = {test_accuracy = acc}})
end
put(dir .. "/plots", "000000000000000b", 0.9) -- the folder the tasks start from: a decoy
put(dir .. "/r", "000000000000001b", 0.25)
put(dir .. "/r/quick", "000000000000002b", 0.5)
put(dir .. "/e", "000000000000003b", 0.75)

-- what tb's runs say, as a hook reads them: find's and load_all's
local HOOK = [[
local function tb()
  local acc = wb.runs.find{task = "tb"}.records[1].metrics.test_accuracy
  local n = 0
  for _, r in ipairs(wb.runs.load_all()) do if r.task == "tb" then n = n + 1 end end
  return acc, n
end]]
local EXP = [[{base = {epochs = 1, subset = {train = 200, test = 100}}, seeds = {1},
    build = function(cfg)
      local acc = tb()
      local w = acc > 0.5 and 12 or 8
      return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
        wb.nn.Dense(w, 10, {activation = "softmax"})}
    end,
    measure = function() local acc, n = tb(); return {tb_acc = acc, tb_runs = n} end}]]
util.write_file(dir .. "/tc.lua", string.format([[%s
return wb.task{name = "tc", title = "t", experiment = %s,
  report = function(task, runs)
    local acc = tb()
    print("report reads " .. acc)
  end}
]], HOOK, EXP))

-- runs `workbench tc.lua` with args from dir: status, stdout, stderr
local function task(args)
  return T.sh(string.format("cd %s && WB_ECHO=0 timeout 600 %s tc.lua %s </dev/null",
    T.quote(dir), T.quote(wbin), args))
end

-- the measures of tc's run under root
local function measures(root)
  local rs = wb.runs.find{root = root, task = "tc"}
  T.eq(#rs, 1)
  return rs.records[1].measures or {}, rs.records[1]
end

T.test("a task's hooks and report read the runs of its --root", function()
  local st, out, err = task("--root " .. T.quote(dir .. "/r"))
  T.eq(st, 0, err)
  local m, rec = measures(dir .. "/r")
  T.eq(m.tb_acc, 0.25, "find read " .. tostring(m.tb_acc) .. " (0.9: ./plots/runs)")
  T.eq(m.tb_runs, 1)
  T.ok(out:find("report reads 0.25", 1, true), out)
  local paths = {}
  for _, e in ipairs(rec.read_files or {}) do paths[#paths + 1] = e.path end
  T.ok(util.canonical(paths):find('wb.runs.find{task = \\"tb\\"} in ' .. dir .. "/r/runs", 1,
    true), util.canonical(paths))
  -- asked again as the runner checks it: the same folder, reused
  st, out, err = task("--root " .. T.quote(dir .. "/r"))
  T.eq(st, 0, err)
  T.ok(err:find("1 cached, 0 to train", 1, true), err)
  -- that run's answer changed: retrained, the runner naming the record
  put(dir .. "/r", "000000000000001b", 0.125)
  st, out, err = task("--root " .. T.quote(dir .. "/r"))
  T.eq(st, 0, err)
  T.ok(err:find(dir .. "/r/runs/tb-000000000000001b.json has other numbers", 1, true), err)
  T.eq(measures(dir .. "/r").tb_acc, 0.125)
end)

T.test("--quick runs read the quick runs of the root", function()
  local st, _, err = task("--quick --root " .. T.quote(dir .. "/r"))
  T.eq(st, 0, err)
  T.eq(measures(dir .. "/r/quick").tb_acc, 0.5)
end)

T.test("ex:run() with a root: its hooks read that root's runs, then the default is back",
  function()
  util.write_file(dir .. "/ex.lua", string.format([[%s
local ex = wb.experiment(%s, {root = %q})
ex:run()
print("after " .. tb())
]], HOOK, EXP:gsub("^{", "{name = \"tc\", "), dir .. "/e"))
  local st, out, err = T.sh(string.format("cd %s && WB_ECHO=0 timeout 600 %s ex.lua </dev/null",
    T.quote(dir), T.quote(wbin)))
  T.eq(st, 0, err)
  T.eq(measures(dir .. "/e").tb_acc, 0.75)
  T.ok(out:find("after 0.9", 1, true), "outside the run, ./plots/runs: " .. out)
end)

T.test("outside a runner a query without a root reads $WB_PLOTS, else ./plots", function()
  local code = T.quote(HOOK .. " io.write((tb()))")
  local st, out, err = T.sh(string.format("cd %s && %s -e %s", T.quote(dir), T.quote(wbin), code))
  T.eq(st, 0, err)
  T.eq(out, "0.9")
  st, out, err = T.sh(string.format("cd %s && WB_PLOTS=%s %s -e %s", T.quote(dir),
    T.quote(dir .. "/e"), T.quote(wbin), code))
  T.eq(st, 0, err)
  T.eq(out, "0.75")
end)

T.done()
