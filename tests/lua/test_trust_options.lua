-- Numbers you can trust, option by option: each task option changes what it
-- says, in the parent, the children and the records, or is refused (64)
-- before anything trains. Each test here failed before its fix.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local function script(name, experiment, extra)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
return wb.task{name = %q, title = "t", %s
  experiment = {%s},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], name, extra or "", experiment))
  return path
end
local SMALL = "hidden = 8, subset = {train = 300, test = 100}"
local function run(path, root, extra)
  extra = extra or ""
  -- --jobs 2 unless extra says how many (an option given twice is an error)
  return T.sh(string.format("WB_ECHO=0 %s %s --root %s %s %s", T.wb, path, root,
    extra:find("--jobs", 1, true) and "" or "--jobs 2", extra))
end
local function configs(root)
  local out = {}
  for _, r in ipairs(wb.runs.load_all(root .. "/runs")) do out[#out + 1] = r.config end
  return out
end

-- A value option followed by another option took it as its value: `--root
-- --quick` trained full runs into a folder named --quick.
for _, argv in ipairs{{"--root", "--quick"}, {"--gather", "--fresh"}, {"--dataset", "--quick"},
  {"--slurm", "--sbatch", "--detach"}, {"--run", "--help"}} do
  T.test("refused before training: " .. table.concat(argv, " "), function()
    local work = dir .. "/v" .. #argv .. argv[#argv]:gsub("%W", "")
    wb.sys.mkdir_p(work)
    local p = script("vv", "base = {" .. SMALL .. ", epochs = 1}, seeds = {1}")
    local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
    -- a fake sbatch (never the real one): it would leave a mark if called
    local bin = dir .. "/bin"
    wb.sys.mkdir_p(bin)
    util.write_file(bin .. "/sbatch", "#!/bin/sh\ntouch " .. work .. "/SUBMITTED\nexit 1\n")
    os.execute("chmod +x " .. bin .. "/sbatch")
    local st, out, err = T.sh(string.format("cd %s && PATH=%s:$PATH WB_ECHO=0 %s %s %s", work,
      bin, exe, p, table.concat(argv, " ")))
    T.eq(st, 64, out .. err)
    local name = argv[#argv - 1]
    T.ok(err:find("option " .. name .. " needs a value, got option " .. argv[#argv], 1, true),
      err)
    T.eq(#wb.sys.listdir(work), 0, "nothing written in " .. work)
  end)
end

T.test("a stray argument is refused unless the task takes arguments (`quick` for --quick)",
  function()
  local root = dir .. "/stray"
  local p = script("st", "base = {" .. SMALL .. ", epochs = 1}, seeds = {1}")
  local st, _, err = run(p, root, "quick")
  T.eq(st, 64, err)
  T.ok(err:find("unexpected argument 'quick': this task takes no arguments (did you mean "
    .. "--quick?)", 1, true), err)
  T.ok(not wb.sys.exists(root), "nothing trained or written")
  st, _, err = run(p, root, "--seeds 1 foo.png")
  T.eq(st, 64, err); T.ok(err:find("unexpected argument 'foo.png'", 1, true), err)
  -- a task that declares args takes them, and its children get them too
  local pa = script("sa", "base = {" .. SMALL .. ", epochs = 1}, seeds = {1}",
    "args = '[files]',")
  st, _, err = run(pa, root, "extra.png")
  T.eq(st, 0, err)
  local rec = wb.runs.find{root = root, task = "sa"}[1]
  T.ok(rec.command:find("extra.png", 1, true), rec.command)
  local _, out = T.sh(T.wb .. " " .. pa .. " --help")
  T.ok(out:find("[options] [files]", 1, true), out)
  T.check_error("task.args: expected a string", wb.task, {name = "x", args = 1,
    experiment = {base = {hidden = 8}}})
end)

T.test("a stale $PWD: the children still run this folder's script into this root", function()
  local work = dir .. "/pwd"
  wb.sys.mkdir_p(work .. "/elsewhere")
  util.write_file(work .. "/p.lua", util.read_file(script("pw", "base = {" .. SMALL
    .. ", epochs = 1}, seeds = {1}")))
  local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
  -- a parent that changed folder without updating PWD (Python's cwd=, make -C)
  local st, _, err = T.sh(string.format("cd %s && WB_ECHO=0 PWD=%s/elsewhere %s p.lua "
    .. "--root r --jobs 1", work, work, exe))
  T.eq(st, 0, err)
  T.ok(err:find("test accuracy", 1, true), err)
  local rec = wb.runs.find{root = work .. "/r", task = "pw"}[1]
  -- this folder, and the script as this command line named it
  T.ok(rec and rec.command:find("cd " .. work .. " && ", 1, true)
    and rec.command:find(" p.lua ", 1, true), rec and rec.command)
  T.ok(rec.command:find("--root " .. work .. "/r ", 1, true), rec.command)
end)

T.test("--jobs 1 and --jobs 2 and in process: the same weights and metrics", function()
  local p = script("jj", "base = {" .. SMALL .. ", epochs = 1}, seeds = {1, 2, 3}")
  local st, _, err = run(p, dir .. "/j1", "--jobs 1")
  T.eq(st, 0, err)
  st, _, err = run(p, dir .. "/j2", "--jobs 2")
  T.eq(st, 0, err)
  local task = dofile(p)
  T.eq(wb.runner.main(task, {"--root", dir .. "/j3"}), 0)
  local n = 0
  for _, a in ipairs(wb.runs.load_all(dir .. "/j1/runs")) do
    for _, other in ipairs{"j2", "j3"} do
      local b = util.read_json(dir .. "/" .. other .. "/runs/jj-" .. a.hash .. ".json")
      T.eq(b.metrics.test_loss, a.metrics.test_loss, other)
      T.eq(util.canonical(b.history.loss), util.canonical(a.history.loss))
      local wa = wb.io.load_safetensors(dir .. "/j1/runs/" .. a.weights)
      local wb2 = wb.io.load_safetensors(dir .. "/" .. other .. "/runs/" .. b.weights)
      for k, t in pairs(wa) do T.eq((t - wb2[k]):abs():max(), 0, other .. " " .. k) end
      n = n + 1
    end
  end
  T.eq(n, 6)
end)

T.test("changed options never reuse a record made under another value; seeds pool", function()
  local root = dir .. "/cache"
  local p = script("cc", "base = {" .. SMALL .. ", epochs = 1}, seeds = {1, 2}")
  local function to_train(extra)
    local st, _, err = run(p, root, extra)
    T.eq(st, 0, err)
    return tonumber(err:match("(%d+) to train")), err
  end
  T.eq(to_train(""), 2)
  T.eq(to_train("--epochs 2"), 2, "another epoch count")
  T.eq(to_train("--dataset fashion"), 2, "another dataset")
  T.eq(to_train("--seeds 5"), 3, "seeds 1 and 2 are reused, 3 to 5 trained")
  local n, err = to_train("--seeds 1 --fresh")
  T.eq(n, 1, err)
  local md = util.read_file(root .. "/cc/README.md")
  T.ok(md:find("`workbench " .. p .. " --root " .. root .. " --jobs 2 --seeds 1 --fresh`", 1,
    true), md)
  T.ok(md:find("Seeds: 1. 1 run: 1 trained by this command, 0 from records", 1, true), md)
  local by = {}
  for _, r in ipairs(wb.runs.load_all(root .. "/runs")) do
    local k = r.config.dataset .. r.config.epochs
    by[k] = (by[k] or 0) + 1
  end
  T.eq(by.mnist1, 5); T.eq(by.mnist2, 2); T.eq(by.fashion1, 2)
end)

T.test("--epochs or --dataset over a key the experiment varies is refused before training",
  function()
  local root = dir .. "/varied"
  local varied = script("varied", "base = {" .. SMALL .. "}, seeds = {1}, vary = {epochs = {1, 2}}")
  local st, out, err = run(varied, root, "--epochs 3")
  T.ok(st ~= 0, "refused: " .. out .. err)
  T.ok(err:find("--epochs 3 would replace the epochs the experiment varies (variant epochs=1: 1)",
    1, true), err)
  T.eq(#configs(root), 0, "nothing trained")
  local p = script("varied_ds", "base = {" .. SMALL .. ", epochs = 1}, seeds = {1}, "
    .. "vary = {dataset = {\"mnist\", \"fashion\"}}")
  st, out, err = run(p, root, "--dataset fashion")
  T.ok(st ~= 0 and err:find("--dataset fashion would replace the dataset", 1, true), out .. err)
  st, _, err = run(varied, root, "--dataset mnist")
  T.eq(st, 0, "a key the experiment does not vary may be set: " .. err)
  T.eq(#configs(root), 2)
end)

T.done()
