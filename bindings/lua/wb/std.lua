-- wb/std.lua: the environment of every wb module (each starts with
-- `local _ENV = require "wb.std"`).
--
-- All Lua code shares one global table, so a script's or a REPL user's
-- global that happens to share a standard name (`type = "relu"`,
-- `table = runs:table()`) used to break the library in the middle of a fit
-- or a print ("attempt to call a string value (global 'type')"). Here the
-- standard functions and libraries are the ones wb found when it loaded
-- (before any user code runs); every other name (wb, arg, print, and
-- require, dofile and loadfile, which wb/identity_reads.lua wraps on
-- purpose) is read from _G when used. Library code has no globals of its
-- own: assigning one is an error naming it (a missing `local`).
-- Private: not part of wb's API.
-- The table a module sees is empty, its names behind __index: Lua's
-- tracebacks name a C function by the loaded module holding it, and
-- "in function 'wb.std.error'" in a user's traceback would read as ours.
local G = _G
local std = G.setmetatable({}, {__index = G})
for _, k in G.ipairs{"assert", "collectgarbage", "error", "getmetatable", "ipairs", "load",
  "next", "pairs", "pcall", "rawequal", "rawget", "rawlen", "rawset", "select",
  "setmetatable", "tonumber", "tostring", "type", "xpcall", "coroutine", "debug", "io",
  "math", "os", "package", "string", "table", "utf8"} do
  std[k] = G[k]
end
return G.setmetatable({}, {
  __index = std,
  __newindex = function(_, k)
    G.error("wb: library code assigns the global '" .. G.tostring(k) .. "' (missing local?)", 2)
  end,
})
