-- Audit N1: a file a hook found by a computed name (require("arch_" ..
-- size), io.open(dir .. "/w.txt") with a relative dir) was recorded as the
-- absolute path it resolved to, and the reuse check re-hashed that path
-- only: run from another folder (or with a module now shadowing it on
-- package.path) the hook would read another file, yet the old run was
-- reused. A record now says how each file was found (the module name and
-- package.path, or the relative path, with the folder) and the runner
-- finds it again: another file, or none, retrains the run, naming it.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local wbin = T.wb:sub(1, 1) == "/" and T.wb or os.getenv("PWD") .. "/" .. T.wb

for _, d in ipairs{"A", "B", "lib1", "lib2"} do os.execute("mkdir -p " .. dir .. "/" .. d) end
util.write_file(dir .. "/A/cwdmod.lua", "return 16\n")
util.write_file(dir .. "/B/cwdmod.lua", "return 24\n")
util.write_file(dir .. "/A/w.txt", "16\n")
util.write_file(dir .. "/B/w.txt", "24\n")

-- a task whose build hook reads its width by `get` (Lua text)
local function script(file, name, get, top)
  util.write_file(dir .. "/" .. file, string.format([[
%s
return wb.task{name = %q, title = "t",
  experiment = {base = {epochs = 1, subset = {train = 200, test = 100}},
    build = function(cfg, data)
      local w = %s
      return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
        wb.nn.Dense(w, 10, {activation = "softmax"})}
    end,
    seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], top or "", name, get))
end

-- runs script file from folder `from` on root; status, stdout, stderr
local function run(from, file, root)
  return T.sh(string.format("cd %s && timeout 600 %s %s --root %s </dev/null", T.quote(from),
    T.quote(wbin), T.quote(dir .. "/" .. file), T.quote(dir .. "/" .. root)))
end
local function acc(s) return s:match("| base | 1 | ([%d%.]+ %%) |") end

local function two_folders(file, what)
  local st, outA, err = run(dir .. "/A", file, "r_" .. file)
  T.eq(st, 0, err)
  local outB
  st, outB, err = run(dir .. "/B", file, "r_" .. file)
  T.eq(st, 0, err)
  T.ok(not err:find("1 cached", 1, true), "reused from another folder: " .. err)
  T.ok(err:find(dir .. "/A/" .. what, 1, true) and err:find(": retraining", 1, true)
    and err:find(dir .. "/B/" .. what, 1, true), err)
  -- the plan's line first, as README says; the retraining lines after it
  T.ok(err:match("^%[[%w_]+%] 1 run: 0 cached, 1 to train"), err)
  local _, fresh = run(dir .. "/B", file, "r_fresh_" .. file)
  T.eq(acc(outB), acc(fresh), "what B's file trains")
  T.ok(acc(outA) ~= acc(outB), outA .. outB)
  -- from B again: cached; from A: retrained again
  st, _, err = run(dir .. "/B", file, "r_" .. file)
  T.ok(err:find("1 cached, 0 to train", 1, true), err)
  st, _, err = run(dir .. "/A", file, "r_" .. file)
  T.ok(err:find("0 cached, 1 to train", 1, true), err)
end

T.test("a module required by a computed name, run from another folder: retrained", function()
  script("req.lua", "n1req", 'require("cwd" .. "mod")')
  two_folders("req.lua", "cwdmod.lua")
end)

T.test("a file opened by a computed relative path, run from another folder: retrained",
  function()
  script("open.lua", "n1open", 'tonumber(io.open("w" .. ".txt"):read("l"))')
  two_folders("open.lua", "w.txt")
end)

T.test("a module now shadowed on package.path, or gone: retrained, naming it", function()
  local top = string.format('package.path = %q .. ";" .. package.path',
    dir .. "/lib1/?.lua;" .. dir .. "/lib2/?.lua")
  script("shadow.lua", "n1shadow", 'require("arch_" .. "small")', top)
  util.write_file(dir .. "/lib2/arch_small.lua", "return 16\n")
  local st, _, err = run(dir, "shadow.lua", "r_shadow")
  T.eq(st, 0, err)
  st, _, err = run(dir, "shadow.lua", "r_shadow")
  T.ok(err:find("1 cached", 1, true), err)
  util.write_file(dir .. "/lib1/arch_small.lua", "return 24\n")
  st, _, err = run(dir, "shadow.lua", "r_shadow")
  T.eq(st, 0, err)
  T.ok(err:find(dir .. "/lib2/arch_small.lua (found by require 'arch_small'", 1, true)
    and err:find("is now " .. dir .. "/lib1/arch_small.lua", 1, true), err)
  -- a record whose module is found nowhere now: stale (the run itself fails: no module)
  local rec = wb.runs.load_all(dir .. "/r_shadow/runs")[1]
  local check = require "wb.identity_reads"
  os.remove(dir .. "/lib1/arch_small.lua")
  os.remove(dir .. "/lib2/arch_small.lua")
  local saved = package.path
  package.path = dir .. "/lib1/?.lua;" .. dir .. "/lib2/?.lua"
  local path, what = check.changed(rec.read_files, {})
  package.path = saved
  T.eq(path, dir .. "/lib1/arch_small.lua")
  T.ok(what and what:find("now finds no file on package.path", 1, true), tostring(what))
end)

T.test("wb.runs.find elsewhere checks a name as the run found it, the runner as it would now",
  function()
  local rec = wb.runs.load_all(dir .. "/r_req.lua/runs")[1]
  local check = require "wb.identity_reads"
  local e = rec.read_files[1]
  T.eq(e.path, dir .. "/A/cwdmod.lua", "the last run was from A")
  T.eq(check.entry_changed(e, {}), nil, "as the run found it (from A): unchanged")
  local what = check.entry_changed(e, {}, true)
  T.ok(what and what:find("now finds no file on package.path", 1, true), tostring(what))
  -- a module now shadowing it where the run looked: said by find too
  local first = e.asked[1].search:match("^([^;]+)")
  T.ok(first and first:find("?", 1, true), tostring(first))
  local shadow = first:gsub("%?", "cwdmod")
  shadow = shadow:sub(1, 1) == "/" and shadow or dir .. "/A/" .. shadow
  if shadow ~= e.path then
    util.write_file(shadow, "return 32\n")
    what = check.entry_changed(e, {})
    os.remove(shadow)
    T.ok(what and what:find("is now " .. shadow, 1, true), tostring(what))
  end
end)

T.done()
