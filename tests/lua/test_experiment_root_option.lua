-- tryR 3: a plain script's wb.experiment(spec, {options = wb.runner.options(arg), root =
-- "r"}) run as `workbench exp.lua --root X` trained into r; X was never made and nothing
-- said --root was ignored. Both given and different is now a usage error (exit 64) before
-- anything trains, naming both; the same folder both ways is fine. So is ex:run{fresh =
-- false} beside --fresh, which kept the records without a word.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local wbin = T.wb:sub(1, 1) == "/" and T.wb or os.getenv("PWD") .. "/" .. T.wb

util.write_file(dir .. "/exp.lua", [[
local o = wb.runner.options(arg)
local ex = wb.experiment({name = "rootopt",
  base = {epochs = 1, subset = {train = 200, test = 100}, hidden = 8}, seeds = {1}},
  {options = o, root = "own"})
local runs = os.getenv("KEEP") and ex:run{fresh = false} or ex:run()
print("runs: " .. #runs)
]])

-- runs `workbench exp.lua args` from dir: status, stdout, stderr
local function run(args, env)
  return T.sh(string.format("cd %s && %s timeout 600 %s exp.lua %s </dev/null", T.quote(dir),
    env or "", T.quote(wbin), args))
end
local function records(root)
  local n = 0
  for _, f in ipairs(wb.sys.kind(root .. "/runs") and wb.sys.listdir(root .. "/runs") or {}) do
    if f:match("^rootopt%-%x+%.json$") then n = n + 1 end
  end
  return n
end

T.test("--root beside the script's own root: exit 64 naming both, nothing trained",
  function()
  local st, out, err = run("--root other")
  T.eq(st, 64, out .. err)
  T.ok(err:find("--root other (the command line) and root = \"own\" (the script's "
    .. "wb.experiment options, at exp.lua:2)", 1, true), err)
  T.ok(err:find(dir .. "/other", 1, true) and err:find(dir .. "/own", 1, true), err)
  T.ok(err:find("Drop --root to use the script's root, or drop root = ...", 1, true), err)
  T.ok(not out:find("runs:", 1, true), out)
  T.eq(wb.sys.kind(dir .. "/other"), nil)
  T.eq(records(dir .. "/own"), 0)
end)

T.test("the same folder both ways (absolute, trailing /): trained there", function()
  local st, out, err = run("--root " .. T.quote(dir .. "/own/"))
  T.eq(st, 0, out .. err)
  T.ok(out:find("runs: 1", 1, true), out)
  T.eq(records(dir .. "/own"), 1)
  st, out, err = run("")
  T.eq(st, 0, out .. err)
  T.ok(err:find("1 cached, 0 to train", 1, true), err)
end)

T.test("ex:run{fresh = false} beside --fresh: exit 64; either alone is fine", function()
  local st, out, err = run("--fresh", "KEEP=1")
  T.eq(st, 64, out .. err)
  T.ok(err:find("ex:run{fresh = false} (the script) and --fresh (the command line)", 1,
    true), err)
  T.ok(not out:find("runs:", 1, true), out)
  st, out, err = run("", "KEEP=1")
  T.eq(st, 0, out .. err)
  T.ok(err:find("1 cached, 0 to train", 1, true), err)
  st, out, err = run("--fresh")
  T.eq(st, 0, out .. err)
  T.ok(err:find("0 cached, 1 to train", 1, true), err)
end)

T.done()
