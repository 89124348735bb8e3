-- wb/identity_chunk.lua: the globals read by Lua code a run loaded from a
-- file (a module its hook required, a file it ran with dofile or compiled
-- with loadfile). wb/identity_reads.lua records such a file with its content
-- id, which covers its source only: a module `return {w = WIDTH}`, or a
-- function of it reading WIDTH when the hook calls it, read a global set by
-- the task's script, and editing WIDTH = 16 to 24 there reused the run
-- trained with 16 without a word. So, as for a hook's own code
-- (wb/identity.lua: the globals among its constants), the names among the
-- chunk's constants (its nested functions' too, wb/identity_dump.lua) that
-- are globals when the run starts are kept in its read_files entry with the
-- identity of their values (code = true, globals = {NAME = id}), and the
-- runner reuses the run only while each is as recorded (a name unset then
-- and set now too), naming the global and the file. Values at the run's
-- start: what the script (or the REPL) set, which the runner sees as it
-- checks; what the run's own hooks set after is their code's doing. A chunk
-- that reads globals by computed names (_G[name], load: the rule for hooks,
-- audit N2) or names a global whose value cannot be identified (a tensor)
-- is recorded with the reason (globals_why), and its run is never reused.
-- Installed into wb.identity_reads by it; private to the runner.
local _ENV = require "wb.std"
local util = require "wb.util"
local dump = require "wb.identity_dump"

local M = {}
local reads -- wb.identity_reads (secret_name), set when it installs this

-- The names among the constants of the Lua file at path that may be
-- globals, sorted: not `arg` (the command line, other in the runner's
-- children) nor `load` (a chunk calling it is refused); none when it cannot
-- be read or compiled (no code of it ran: its content id says what it was);
-- nil and the reason when it reads globals by computed names.
function M.names(path)
  local src = util.read_file(path)
  if src and src:sub(1, 1) == "#" then src = src:gsub("^[^\n]*", "", 1) end -- a #! line
  local f = src and load(src, "=" .. path, "bt")
  if not f then return {} end
  local names, _, top = dump.parse(string.dump(f, true))
  if not names then return nil, "its bytecode cannot be read" end
  local why = dump.dynamic_globals(f, top, _G)
  if why then return nil, why end
  local set, out = {}, {}
  for _, k in ipairs(names) do
    if k:match("^[%a_][%w_]*$") and k ~= "arg" and k ~= "load" and not set[k] then
      set[k], out[#out + 1] = true, k
    end
  end
  table.sort(out)
  return out
end

-- The id of global name's value v (not nil) as a record keeps it: its text
-- when a number, a boolean or a short string (not a secret's: the hash),
-- which the reason shows ("16 then, 24 now"), else "hash:" and 16 hex
-- digits over its identity (wb.identity: a function by its code and
-- upvalues, a table by its content); nil and the reason when it cannot be
-- identified.
function M.value_id(name, v)
  local t = type(v)
  if (t == "number" or t == "boolean" or (t == "string" and #v <= 40))
      and not reads.secret_name(name) then
    return util.canonical(v)
  end
  local text, why = require("wb.identity")._value_text(v)
  if not text then return nil, why end
  return "hash:" .. util.fnv1a64(text)
end

-- M.read(path, G) -> table: what entry of Lua file path keeps of the
-- globals in table G (a snapshot of _G as the run started):
-- {globals = {NAME = id} | nil} or {why = reason}.
function M.read(path, G)
  local names, why = M.names(path)
  if not names then return {why = why} end
  local ids, any = {}, false
  for _, k in ipairs(names) do
    local v = rawget(G, k)
    if v ~= nil then
      local id, w = M.value_id(k, v)
      if not id then return {why = string.format("global '%s': %s", k, w)} end
      ids[k], any = id, true
    end
  end
  return {globals = any and ids or nil}
end

-- M.snapshot() -> table: the globals as they are (a shallow copy of _G).
function M.snapshot()
  local g = {}
  for k, v in next, _G do g[k] = v end
  return g
end

-- M.entry(e, c): read_files entry e of Lua code, with what M.read gave (c).
function M.entry(e, c)
  e.code, e.globals, e.globals_why = true, c.globals, c.why
  return e
end

-- A recorded id as the reason shows it: a value's text, else nothing.
local function shown(id)
  if id == nil then return "unset" end
  return id:sub(1, 5) ~= "hash:" and id or nil
end

-- M.changed(e, memo, here) -> string|nil, boolean
-- Whether the globals that Lua code entry e (its file as recorded: its
-- content is checked first) reads are as they were when its run started, in
-- this process's _G: what differs, or nil; then whether that could be
-- checked (false when the code cannot be identified: never reused). here
-- false (wb.runs.find, in a REPL or another script than the task's): only
-- a global set both then and now is compared, one unset here is this
-- process's, not the task script's. memo saves work over many runs.
function M.changed(e, memo, here)
  if e.code ~= true then return nil, true end -- not Lua code, or recorded before globals were
  if type(e.globals_why) == "string" then
    return "(Lua code a hook loaded) reads globals that cannot be identified: "
      .. e.globals_why .. "; so the run is never reused", false
  end
  local rec = type(e.globals) == "table" and e.globals or {}
  local key = "\0names\0" .. e.path
  if memo[key] == nil then
    local names, why = M.names(e.path)
    memo[key] = names or {why = why}
  end
  local names = memo[key]
  if names.why then return "(Lua code a hook loaded): " .. names.why, true end
  for _, k in ipairs(names) do
    local now, was = rawget(_G, k), rec[k]
    if here or (now ~= nil and was ~= nil) then
      local gkey = "\0global\0" .. k
      if memo[gkey] == nil then
        local id, why = now ~= nil and M.value_id(k, now)
        memo[gkey] = now == nil and {} or {id = id, why = why}
      end
      local id, why = memo[gkey].id, memo[gkey].why
      if why then
        return string.format("(Lua code a hook loaded) reads global %s, which now cannot be "
          .. "identified: %s", k, why), true
      end
      if id ~= was then
        local a, b = shown(was), shown(id)
        return string.format("(Lua code a hook loaded) reads global %s, which is not as it was "
          .. "when the run started%s", k, a and b and string.format(" (%s then, %s now)", a, b)
          or ""), true
      end
    end
  end
  return nil, true
end

-- Installs this into wb.identity_reads (r) as r.chunk.
return function(r)
  reads, r.chunk = r, M
end
