-- wb/input_error.lua: the error object of a mistake in what the user wrote
-- (wb.spec.input_error, documented there; made by wb/spec_keys.lua's
-- M.input_error). Its text is e.message, its kind e.code (or nil); the
-- executable prints it alone, in one line (bindings/workbench.c).
local _ENV = require "wb.std"

local InputError = {__name = "wb.InputError"}
InputError.__tostring = function(e) return e.message end
InputError.__concat = function(a, b) return tostring(a) .. tostring(b) end
-- A string's methods on its text: a script's pcall handler written for the string a bad
-- argument raised before (e:find("out of range"), e:match(...)) reads it as it did
InputError.__index = function(_, k)
  local f = string[k]
  return f and function(e, ...) return f(e.message, ...) end or nil
end

return InputError
