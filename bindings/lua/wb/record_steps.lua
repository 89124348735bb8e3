-- wb/record_steps.lua: a record's step series (history.steps) read back as the History had
-- them. An instrument measured every k steps, or a series only log_every keeps, is NaN at
-- the other steps of a live History (and alpha at a fit's last step); JSON has no NaN, so
-- the record holds null there, which decoded to nil: a list with holes, whose # and ipairs
-- stopped at the first (2 of 7 values of grad_norm, every 3 with log_every 5: tryAA B1).
-- Private to wb/record.lua.
local _ENV = require "wb.std"

local M = {}

local NAN = -(0 / 0) -- printed "nan": 0 / 0 has the sign bit on x86 ("-nan": tryAB E2)

-- M.nan(r, null) -> r: record r as cjson decoded it (null: cjson.null, the mark of a JSON
-- null), each null in a list of r.history.steps made NaN (an infinity, also written null,
-- comes back NaN too: not a number either way), before nulls elsewhere become nil.
function M.nan(r, null)
  local st = type(r) == "table" and type(r.history) == "table" and r.history.steps
  if type(st) ~= "table" then return r end
  for _, s in pairs(st) do
    if type(s) == "table" then
      for i = 1, #s do if s[i] == null then s[i] = NAN end end
    end
  end
  return r
end

return M
