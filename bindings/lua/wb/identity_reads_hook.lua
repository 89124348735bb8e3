-- wb/identity_reads_hook.lua: where an error from a hook's tail call is
-- placed. wb/identity_reads_sys.lua's as_hook calls a hook (build,
-- callbacks, fit_options, measure) through call. A hook whose body ends in
-- a tail call (`return wb.nn.Sequential{...}`) leaves no frame of its own,
-- so the library's error(msg, 2) named the line of the library that called
-- the hook ("FAILED (exit 1): workbench: .../wb/identity_reads_sys.lua:201:
-- Sequential: layer 2 ..."; tryM 7). placed names the hook's place instead
-- ("plots/bad.lua:2 (the build hook): Sequential: ..."; wb/train_hooks.lua
-- place). An error naming a line of the user's (a call that is not a tail
-- call, a frame of the user's on the stack) stays as it is.
-- In its own file, an identity_reads one: S.by_hook skips this frame.
local _ENV = require "wb.std"
local wb = require "wb"

local M = {}
local OWN = debug.getinfo(1, "S").source:match("^(@.*/)[^/]*$") or "@wb/"

-- f(...)'s results packed. Not a tail call: its frame is where such an error lands.
function M.call(f, ...) return table.pack(f(...)) end

-- The error e (a message handler's: the stack is still there) with its
-- position replaced by place when that position is the frame a tail call
-- left (the caller of a frame called by one: call, or a wrapper of the
-- library's around the hook) between the error and call, with no frame of
-- the user's among them. A library's error at a line of its own (a bug
-- there) keeps that line. Its kind stays: a wb.Error becomes a copy (as
-- wb/fit_hooks.lua located does), any other value is left as it is.
function M.placed(e, place)
  local msg = wb.is_error(e) and e.message or e
  if type(msg) ~= "string" then return e end
  local at, level, info, tail = {}, 1, debug.getinfo(1, "Slft"), false
  while info do
    if info.what ~= "C" then
      if info.source:sub(1, #OWN) ~= OWN then return e end -- the user's line is named
      if tail then at[info.short_src .. ":" .. info.currentline .. ": "] = true end
    end
    if info.func == M.call then break end
    tail = info.istailcall
    level = level + 1
    info = debug.getinfo(level, "Slft")
  end
  local pos = msg:match("^.-:%d+: ")
  if not (info and pos and at[pos]) then return e end
  msg = place .. ": " .. msg:sub(#pos + 1)
  if type(e) == "string" then return msg end
  local c = {}
  for k, v in pairs(e) do c[k] = v end
  c.message = msg
  return setmetatable(c, getmetatable(e))
end

return M
