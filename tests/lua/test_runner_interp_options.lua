-- test_runner_interp_options.lua: interpreter options before a task script
-- (`workbench -W -l mod -e stat t.lua`, wb/runner_options.lua M.interpreter).
-- The command that trains a run alone took arg[-1] for the executable, which
-- is the last option: every child ran "/dir/-W" (exit 127), and --list-runs
-- printed that command (tryL 5). The children now get the executable and
-- the options, and a global an -e or -l sets that a hook reads is part of
-- the run's identity.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local q = T.quote
local dir = T.tmpdir()
local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
local data = os.getenv("WB_DATA") or (wb.luadir:gsub("/bindings/lua$", "") .. "/data")

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- a build hook reading the global DROP (set by -e) or the module hp's drop (-l hp)
write(dir .. "/t.lua", [[
return wb.task{name = "t", experiment = {base = {epochs = 1, subset = {train = 200,
  test = 50}}, seeds = {1}, build = function()
    local d = rawget(_G, "hp") and hp.drop or DROP or 0
    return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}), wb.nn.Dropout(d),
      wb.nn.Dense(8, 10, {activation = "softmax"})}
  end}}
]])
write(dir .. "/hp.lua", "return {drop = 0.25}\n")

local function run(opts, rest)
  return T.sh(string.format("cd %s && WB_ECHO=0 WB_DATA=%s %s %s t.lua --root r %s </dev/null",
    q(dir), q(data), q(exe), opts, rest or ""))
end

T.test("--list-runs names the executable and the options before the script", function()
  local st, out, err = run("-W -e 'DROP = 0.5'", "--list-runs")
  T.eq(st, 0, err)
  local want = "cd " .. dir .. " && " .. exe .. " -W -e 'DROP = 0.5' t.lua --root "
  T.eq(out:sub(1, #want), want, out)
  local st2, out2 = run("-W -e 'DROP = 0'", "--list-runs")
  T.eq(st2, 0)
  T.ok(out:match("%-%-run (%x+)") ~= out2:match("%-%-run (%x+)"),
    "another DROP, another run: " .. out .. out2)
end)

T.test("the children of `workbench -W -l hp -e ... t.lua` train, with the options", function()
  local st, _, err = run("-W -l hp -e 'DROP = 0.5'", "--jobs 1")
  T.eq(st, 0, err)
  local rs = wb.runs.load_all(dir .. "/r/runs")
  T.eq(#rs, 1)
  T.ok(tostring(rs[1].command):find(" -W -l hp -e 'DROP = 0.5' t.lua --root ", 1, true),
    tostring(rs[1].command))
  -- cached when run again as it was; hp's drop another value: another run
  st, _, err = run("-W -l hp -e 'DROP = 0.5'", "--jobs 1")
  T.eq(st, 0, err)
  T.ok(err:find("1 cached, 0 to train", 1, true), err)
  write(dir .. "/hp.lua", "return {drop = 0.75}\n")
  st, _, err = run("-l hp", "--jobs 1")
  T.eq(st, 0, err)
  T.ok(err:find("0 cached, 1 to train", 1, true), err)
  T.eq(#wb.runs.load_all(dir .. "/r/runs"), 2)
  local md = T.slurp(dir .. "/r/t/README.md") or ""
  T.ok(md:find("workbench -l hp t.lua", 1, true), md)
end)

T.done()
