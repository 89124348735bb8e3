-- wb/identity_reads_hook.lua: the frame a hook is called from, compiled at
-- the hook's own place. wb/identity_reads_sys.lua's as_hook calls a hook
-- (build, callbacks, fit_options, measure) through it. A hook whose body
-- ends in a tail call (`return wb.nn.Sequential{...}`) leaves no frame of
-- its own, so the library's error(msg, 2) named the line of the library
-- that called the hook ("FAILED (exit 1): workbench: .../wb/identity_reads_sys.lua:201:
-- Sequential: layer 2 ..."; tryM 7). The call is made from a function
-- compiled under the hook's file name with the call on the hook's first
-- line, so such an error reads "plots/bad.lua:2: Sequential: ...". Nothing
-- is caught: an error at a line of the hook's own, and the traceback
-- through the hook's frames, stay as they are (a message handler that
-- rewrote the position unwound the stack first, and the log's traceback
-- lost the frames inside the hook).
-- In its own file, an identity_reads one (wb/identity_reads_sys.lua's by_hook
-- takes the frame for the hook's: a tail call's read is the hook's).
local _ENV = require "wb.std"

local M = {}
local made = {} -- "src\0line" -> the caller compiled there

local OWN = debug.getinfo(1, "S").source:match("^(@.*/)[^/]*$") or "@wb/"

-- M.place(f) -> {src = its short_src, as Lua names it in a message, line =
-- its first line}, or nil for a function of the library's (its own line is
-- the place) or not Lua's.
function M.place(f)
  local info = type(f) == "function" and debug.getinfo(f, "S")
  if not info or info.linedefined <= 0 or info.source:sub(1, #OWN) == OWN then return nil end
  return {src = info.short_src, line = info.linedefined}
end

-- M.caller(place) -> function(f, ...) -> table.pack(f(...)), its call at
-- place ({src = a hook's short_src, line = its first line}).
function M.caller(place)
  local key = place.src .. "\0" .. place.line
  if not made[key] then
    local chunk = string.rep("\n", place.line - 1)
      .. "local pack = ...; return function(f, ...) return pack(f(...)) end"
    made[key] = assert(load(chunk, "=" .. place.src, "t", {}))(table.pack)
  end
  return made[key]
end

-- M.caller_of(f) -> function(f, ...) -> table.pack(f(...)): M.caller at
-- f's place, or a plain call for the library's own.
local function plain(f, ...) return table.pack(f(...)) end
function M.caller_of(f)
  local place = M.place(f)
  return place and M.caller(place) or plain
end

return M
