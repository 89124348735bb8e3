-- wb/train_modules.lua: the user's modules a training changed, for the record of what a
-- re-measure cannot give back (wb/train_remeasure.lua). A re-measure runs the measure hook
-- in a process whose modules are as its script's top loaded them: a module the training's
-- hooks filled (local S = require "state_mod"; the build hook setting S.n = 12730, the
-- measure hook reading S.n: -2 re-measured where training gives 25460, cached; tryX 1), or
-- one they loaded themselves (require inside a hook's body, filled there), is not there.
-- The library's modules and Lua's (wb/identity_lib.lua names them) are code, not state.
-- Private to wb.train.
local _ENV = require "wb.std"
local util = require "wb.util"
local lib = require "wb.identity_lib"

local M = {}

local digest = util.state_text

-- module name -> its content as text when a training first found it loaded (as a fresh
-- process has it after its script's top), or false: loaded during a training (a fresh
-- process re-measuring loads it anew, without what that training put in it).
local first = {}

-- The user's modules now, name -> table: only a table holds state in itself (a module that
-- returns nothing is `true` there, as many of the library's, loaded as a fit needs them).
local function users()
  local out = {}
  for name, m in pairs(package.loaded) do
    if type(name) == "string" and type(m) == "table" and not lib.name(m) then out[name] = m end
  end
  return out
end

-- M.before(): notes the user's modules loaded since the last training (by a script's top, as
-- a fresh process has them), before a training's hooks run.
function M.before()
  for name, m in pairs(users()) do
    if first[name] == nil then first[name] = digest(m) end
  end
end

-- M.after() -> sorted names | nil: the user's modules that differ from when a training first
-- found them, or that a training loaded (this one: noted so for the trainings after it).
function M.after()
  local names = {}
  for name, m in pairs(users()) do
    if first[name] == nil then first[name] = false end
    if first[name] == false or digest(m) ~= first[name] then names[#names + 1] = name end
  end
  table.sort(names)
  return #names > 0 and names or nil
end

return M
