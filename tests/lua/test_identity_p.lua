-- Audit P: three ways a run's identity missed what its hooks read.
-- P1: a hook's require of a module that no file holds (a package.preload
-- entry, a table the script put in package.loaded, a loader it added to
-- package.searchers) was in no identity: editing it reused the old run.
-- Such a module is now recorded as such and its run never reused, saying
-- why (wb/identity_require.lua); a module from a file keeps being recorded
-- as its file (cached while unchanged, retrained when edited).
-- P2: a hook reading the global `arg` (the command line, not hashed: the
-- runner's children see other arguments) reused a run made with other
-- arguments. Such a hook cannot be identified now, the notice saying to
-- read the command line at the script's top level (wb/identity_dump.lua).
-- P3: ex:run() of a plain script said "its hooks cannot be identified (see
-- 'not cached')" but never printed the "not cached: <reason>" line.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()
package.path = dir .. "/?.lua;" .. package.path

local function tracked(f)
  local t = reads.track{}
  f()
  return t:stop()
end
local function module_entry(list, name)
  for _, e in ipairs(list) do
    if e.path == string.format("require %q", name) then return e end
  end
end

T.test("P1: a module from package.preload is recorded, and its run never reused", function()
  package.preload.p_pre = function() return {w = 16} end
  local list = tracked(function() return require("p_pre").w end)
  local e = module_entry(list, "p_pre")
  T.ok(e and reads.kind(e) == "module", "recorded: " .. util.canonical(list))
  local path, what = reads.changed(list)
  T.eq(path, 'require "p_pre"')
  T.ok(what and what:find("package.preload", 1, true) and what:find("never reused", 1, true),
    tostring(what))
  T.ok(require("wb.runner_provenance").read_text(e):find("p_pre", 1, true), "shown")
  package.loaded.p_pre, package.preload.p_pre = nil, nil
end)

T.test("P1: a table the script put in package.loaded is recorded, also over a file module",
  function()
  package.loaded.p_tab = {w = 16}
  local list = tracked(function() return require("p_tab").w end)
  T.ok(module_entry(list, "p_tab"), "recorded: " .. util.canonical(list))
  T.ok(select(2, reads.changed(list)):find("package.loaded", 1, true), "why")
  package.loaded.p_tab = nil
  -- loaded from its file (at the script's top), then replaced by the script
  util.write_file(dir .. "/p_over.lua", "return {w = 16}\n")
  require("p_over")
  package.loaded.p_over = {w = 24}
  list = tracked(function() return require("p_over").w end)
  T.ok(module_entry(list, "p_over"), "replaced: " .. util.canonical(list))
  package.loaded.p_over = nil
end)

T.test("P1: a module a loader in package.searchers returned is recorded", function()
  local function searcher(name)
    if name == "p_srch" then return function() return {w = 16} end end
    return "\n\tno p_srch"
  end
  table.insert(package.searchers, 2, searcher)
  local list = tracked(function() return require("p_srch").w end)
  table.remove(package.searchers, 2)
  T.ok(module_entry(list, "p_srch"), "recorded: " .. util.canonical(list))
  T.ok(select(2, reads.changed(list)):find("package.searchers", 1, true), "why")
  package.loaded.p_srch = nil
end)

T.test("P1: file modules (also required at the top first) and standard ones stay as they were",
  function()
  util.write_file(dir .. "/p_file.lua", "return {w = 16}\n")
  util.write_file(dir .. "/p_top.lua", "return {w = 8}\n")
  require("p_top") -- the script's top level
  local list = tracked(function()
    return require("p_file").w + require("p_top").w + #require("string").rep("x", 2)
      + #require("cjson").encode({})
  end)
  T.eq(#list, 2, util.canonical(list))
  for _, e in ipairs(list) do T.eq(reads.kind(e), "file", e.path) end
  T.eq(reads.changed(list), nil, "unchanged")
  util.write_file(dir .. "/p_top.lua", "return {w = 24}\n")
  T.eq(reads.changed(list), dir .. "/p_top.lua", "edited")
end)

-- a script with an experiment made from `body` (its hooks), run twice
local function script(name, body)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
%s
local ex = wb.experiment({name = %q, base = {epochs = 1, subset = {train = 300, test = 100},
  validation = false}, seeds = {1}, build = BUILD, measure = MEASURE}, {root = %q})
for _, r in ipairs(ex:run()) do print("width", r.measures.width) end
]], body, name, dir .. "/plots"))
  return function(...)
    return T.sh(table.concat({"WB_ECHO=0", T.wb, path, ...}, " "))
  end
end
local HOOKS = [[
MEASURE = function(model) return {width = model[2].weight:size(2)} end
local function mlp(w) return wb.nn.Sequential{wb.nn.Flatten(), wb.nn.Dense(784, w,
  {activation = "relu"}), wb.nn.Dense(w, 10, {activation = "softmax"})} end
]]

T.test("P1: a script's preloaded module edited retrains (it reused the old run)", function()
  local run = script("p1_pre", HOOKS .. [[
local W = tonumber(arg[1])
package.preload.p1_width = function() return {w = W} end
BUILD = function() return mlp(require("p1_width").w) end
]])
  local st, out, err = run(16)
  T.eq(st, 0, err); T.ok(out:find("width\t16"), out)
  st, out, err = run(24)
  T.eq(st, 0, err); T.ok(out:find("width\t24"), "stale: " .. out .. err)
  T.ok(err:find('require "p1_width"', 1, true) and err:find("package.preload", 1, true), err)
end)

T.test("P1: a file module (also at the script's top) stays cached, retrains when edited",
  function()
  util.write_file(dir .. "/p1_fw.lua", "return {w = 16}\n")
  local run = script("p1_file", HOOKS .. [[
package.path = ]] .. string.format("%q", dir .. "/?.lua;") .. [[ .. package.path
local top = require("p1_fw")
BUILD = function() return mlp(require("p1_fw").w) end
]])
  local st, out, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 to train", 1, true), err)
  st, out, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 cached, 0 to train", 1, true), "cached: " .. err)
  T.ok(not err:find("not cached", 1, true), err)
  util.write_file(dir .. "/p1_fw.lua", "return {w = 24}\n")
  st, out, err = run()
  T.eq(st, 0, err); T.ok(out:find("width\t24"), "edited: " .. out .. err)
end)

T.test("P1: a plain experiment (README's) stays cached, with no notice", function()
  local path = dir .. "/p1_plain.lua"
  util.write_file(path, string.format([[
local ex = wb.experiment({name = "p1_plain", base = {hidden = 16, epochs = 1,
  subset = {train = 300, test = 100}}, seeds = {1}}, {root = %q})
ex:run()
]], dir .. "/plots"))
  local cmd = string.format("WB_ECHO=0 %s %s", T.wb, path)
  local st, _, err = T.sh(cmd)
  T.eq(st, 0, err)
  st, _, err = T.sh(cmd)
  T.eq(st, 0, err); T.ok(err:find("1 cached, 0 to train", 1, true), err)
  T.ok(not err:find("not cached", 1, true), err)
end)

T.test("P2: a hook reading the global arg cannot be identified, the notice says what to do",
  function()
  local hooks = {function() return arg[1] end, function() return _G.arg[1] end,
    function() return _ENV.arg end, function() return function() return #arg end end}
  for i, f in ipairs(hooks) do
    local id, why = wb.identity.hook(f)
    T.eq(id, nil, "hook " .. i)
    T.ok(why and why:find("global arg", 1, true) and why:find("top level", 1, true),
      tostring(why))
  end
  local A = arg -- an upvalue: its value is identified
  local n = #(A or {})
  T.ok(wb.identity.hook(function() return n end), "upvalue")
  T.ok(wb.identity.hook(function(cfg) return cfg.arg end), "a field named arg")
  -- Lua code a hook loads that reads arg: never reused either
  util.write_file(dir .. "/p2_mod.lua", "return {w = tonumber(arg[1])}\n")
  local names, why = reads.chunk.names(dir .. "/p2_mod.lua")
  T.eq(names, nil); T.ok(why and why:find("global arg", 1, true), tostring(why))
end)

T.test("P2: rawget(_G, 'arg') called while a run trains is recorded, the run never reused",
  function()
  -- the study module's way: a function of a table the hook closes over reads the
  -- command line with rawget; the hook stays identified while it does not call it
  local S = {options = function() return rawget(_G, "arg") or {} end, w = function() return 8 end}
  T.ok(wb.identity.hook(function() return S.w() end), "identified")
  T.eq(#tracked(function() return S.w() end), 0)
  local list = tracked(function() return #S.options() end)
  T.eq(#list, 1, util.canonical(list))
  T.eq(reads.kind(list[1]), "arg")
  local path, what = reads.changed(list)
  T.eq(path, "arg")
  T.ok(what and what:find("never reused", 1, true) and what:find("top level", 1, true),
    tostring(what))
  T.eq(require("wb.runner_provenance").read_text(list[1]), "the command line (arg)")
  -- rawget's errors are as they were, at the caller's line
  T.check_error("^[^:]*test_identity_p.lua:%d+: bad argument #1 to 'rawget' %(table expected, "
    .. "got nil%)", function() local x = rawget(nil, "x") return x end)
end)

T.test("P2: a script run with other arguments retrains a hook reading arg, saying why",
  function()
  local run = script("p2_arg", HOOKS .. "BUILD = function() return mlp(tonumber(arg[1])) end\n")
  local st, out, err = run(16)
  T.eq(st, 0, err)
  st, out, err = run(24)
  T.eq(st, 0, err); T.ok(out:find("width\t24"), "stale: " .. out .. err)
  T.ok(err:find("not cached: the build hook cannot be identified (it reads the global arg", 1,
    true), err)
end)

T.test("P3: ex:run() of a plain script says why its runs are not cached, once", function()
  local run = script("p3_nc", HOOKS .. [[
P3_WIDTH = 16
BUILD = function() local n = "P3_WID" .. "TH"; return mlp(_ENV[n]) end
]])
  local st, _, err = run()
  T.eq(st, 0, err)
  local _, count = err:gsub("not cached: ", "")
  T.eq(count, 1, err)
  T.ok(err:find("[p3_nc] not cached: the build hook cannot be identified (it uses the global "
    .. "table as a value", 1, true), err)
end)

T.done()
