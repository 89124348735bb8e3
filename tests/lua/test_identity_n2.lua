-- Audit N2: a global a hook reads by a name its code does not spell
-- (`_G[name]`, `_ENV[name]`, `rawget(_G, name)`, an alias `local g = _G`,
-- a chunk it compiles with `load("return WIDTH")`) was not in its identity
-- (only globals named by its constants are hashed): editing the global
-- reused the old run without a word. Such a hook now cannot be identified:
-- its runs are not cached, said once, as a hook closing over a tensor.
-- Hooks that read globals by constant names stay identified (and cached).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local id = wb.identity.hook
local dir = T.tmpdir()

AUDN2_WIDTH = 16
local name = "AUDN2_" .. "WIDTH"
local g = _G
-- a hook compiled from text, with _G as its environment (as a script's)
local function hook(src)
  return assert(load("local name, g = ...; return " .. src, "=hook", "t", _G))(name, g)
end

T.test("a hook reading globals by computed names cannot be identified", function()
  for _, src in ipairs{"function() return _G[name] end", "function() return _ENV[name] end",
      "function() return rawget(_G, name) end", "function() return g[name] end",
      "function() local e = _G; return e.AUDN2_WIDTH end",
      "function() for k in pairs(_G) do end end",
      "function() return load('return AUDN2_WIDTH')() end",
      "function() return _G.load('return AUDN2_WIDTH')() end",
      "function() local f = function() return _G[name] end; return f() end",
      -- review S1: other roads to the global table and to load
      "function() return package.loaded._G[name] end",
      "function() return package.loaded['_G'][name] end",
      "function() return require('_G')[name] end",
      "function() return rawget(_G, 'load')('return AUDN2_WIDTH')() end",
      "function() return debug.getregistry()[2][name] end",
      "function() local d = debug; return d.getregistry()[2][name] end",
      "function(f) return select(2, debug.getupvalue(f, 1))[name] end"} do
    local h, why = id(hook(src))
    T.ok(h == nil, src .. " was identified")
    T.ok(why and (why:find("global", 1, true) or why:find("load", 1, true)), tostring(why))
  end
  local L = load
  T.eq(id(function() return L("x") end), nil, "load kept in an upvalue")
end)

T.test("a hook reading globals by constant names keeps its identity and sees edits", function()
  for _, src in ipairs{"function() return AUDN2_WIDTH end", "function() return _G.AUDN2_WIDTH end",
      "function() return rawget(_G, 'AUDN2_WIDTH') end", "function() return g.AUDN2_WIDTH end",
      "function(cfg) if cfg.mode == 'load' then return 1 end end",
      "function() local f = function() return AUDN2_WIDTH end; return f() end",
      "function() return debug.traceback('x'), AUDN2_WIDTH end",
      "function() return debug.getinfo(1, 'S').source, AUDN2_WIDTH end"} do
    AUDN2_WIDTH = 16
    local h = id(hook(src))
    T.ok(h ~= nil, src .. " was not identified")
    AUDN2_WIDTH = 24
    if src:find("WIDTH", 1, true) then T.ok(id(hook(src)) ~= h, src .. ": the edit is seen") end
  end
end)

-- the auditor's script: trained with WIDTH = 16, edited to 24, run again
local function script(width)
  util.write_file(dir .. "/t.lua", string.format([[
WIDTH = %d
local name = "WID" .. "TH"
return wb.task{name = "audn2", title = "t",
  experiment = {base = {epochs = 1, subset = {train = 200, test = 100}},
    build = function(cfg, data)
      local w = _G[name]
      return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
        wb.nn.Dense(w, 10, {activation = "softmax"})}
    end,
    seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], width))
end

T.test("the runner: a build hook reading _G[name] is retrained after the global is edited",
  function()
  script(16)
  local st, out16, err = T.run_wb(dir .. "/t.lua --root " .. dir .. "/r")
  T.eq(st, 0, err)
  T.ok(err:find("not cached: the build hook cannot be identified", 1, true), err)
  script(24)
  local out24
  st, out24, err = T.run_wb(dir .. "/t.lua --root " .. dir .. "/r")
  T.eq(st, 0, err)
  T.ok(not err:find("1 cached", 1, true), err)
  -- what a fresh root trains with width 24
  local _, fresh = T.run_wb(dir .. "/t.lua --root " .. dir .. "/r24")
  local acc = function(s) return s:match("| base | 1 | ([%d%.]+ %%) |") end
  T.ok(acc(out16) and acc(out24) and acc(out16) ~= acc(out24), out16 .. out24)
  T.eq(acc(out24), acc(fresh), "width 24's numbers")
end)

T.done()
