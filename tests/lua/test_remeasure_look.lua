-- test_remeasure_look.lua: the re-measure refusal's look-up (wb/train_remeasure.lua look_up)
-- walks each global a record names once for all of the look-up's records. Records of one
-- look-up naming other globals are each walked, and a new look-up sees the globals as they
-- are now: a look kept past a training would miss what its hooks put in a global.
local T = dofile("tests/lua/harness.lua")
local remeasure = require "wb.train_remeasure"

local S = {} -- the measure hook's upvalue
local ex = {_hooks = {measure = function() return S.scale end}}
local function naming(...)
  local globals = {}
  for _, g in ipairs({...}) do globals[g] = true end
  return {remeasure = {callbacks = {}, globals = globals}}
end

T.test("one look-up: each record's globals, walked once per name", function()
  _G._LOOK_A, _G._LOOK_B = {}, {inner = {S}}
  local look = remeasure.look_up(ex)
  T.eq(remeasure.refusal(ex, naming("_LOOK_A"), look), nil)
  local why = remeasure.refusal(ex, naming("_LOOK_B"), look)
  T.ok(why and why:find("upvalue 'S' holds the global _LOOK_B", 1, true), tostring(why))
  T.eq(remeasure.refusal(ex, naming("_LOOK_A", "_LOOK_B"), look), why)
  T.ok(look.inside._LOOK_A and look.inside._LOOK_B, "both walked, kept for the next record")
  _G._LOOK_A, _G._LOOK_B = nil, nil
end)

T.test("a new look-up sees what a training put in a global since", function()
  _G._LOOK_C = {}
  local before = remeasure.look_up(ex)
  T.eq(remeasure.refusal(ex, naming("_LOOK_C"), before), nil)
  _G._LOOK_C.s = S -- as a build hook filling the global would
  local why = remeasure.refusal(ex, naming("_LOOK_C"), remeasure.look_up(ex))
  T.ok(why and why:find("holds the global _LOOK_C", 1, true), tostring(why))
  T.eq(remeasure.refusal(ex, naming("_LOOK_C")), why) -- no look given: looked up now
  _G._LOOK_C = nil
end)

T.done()
