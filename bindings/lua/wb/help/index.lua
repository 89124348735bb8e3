-- wb/help/index.lua: reads the `---` doc blocks of the library's Lua files
-- and indexes them by the names their signature lines give (wb.help's
-- source; the block format is described in wb/help.lua).
--
-- Files are read once, on the first lookup, and kept until reset(): help
-- costs nothing until asked. Each file also maps the line after each block
-- to its entry, so a Lua function without a name in wb is found by the
-- block right above its definition (by_position).
local _ENV = require "wb.std"
local wb = require "wb"

local M = {}

-- The API name at the start of a signature line: "wb.x.y", "wb.C:m", "wb".
local function sig_name(line)
  local name, rest = line:match("^(wb[%w_%.:]*)(.*)$")
  if not name or not (rest == "" or rest:match("^[({]") or rest:match("^%s*%->")) then
    return nil
  end
  return (name:gsub("[.:]$", ""))
end
M.sig_name = sig_name

-- What an entry documents, from its first signature and tags: "function"
-- (the signature has arguments or "-> type"), "value" (a bare name with a
-- ---@type tag: data, such as wb.instruments.economy), "class" (a bare
-- name whose last part is capitalised, wb.Run) or "module" (wb.runs).
-- A value needs the tag because names alone cannot tell wb.losses.NAMES
-- from a class.
local function kind(e)
  if e.sig:find("[({]") or e.sig:find("%->") then return "function" end
  if e.type then return "value" end
  if e.name:match("[.:]%u[%w_]*$") then return "class" end
  return "module"
end

-- An entry from the lines of one block (markers stripped): name, names,
-- sig, sigs, body, params, returns, tags, type (of a value), kind, file,
-- line.
local function entry(lines, file, line)
  local name = sig_name(lines[1] or "")
  if not name then return nil end
  local e = {name = name, sig = lines[1], names = {name}, sigs = {lines[1]}, body = {},
    params = {}, returns = {}, file = file, line = line}
  local first = 2
  while lines[first] and sig_name(lines[first]) do -- more names, same text
    e.names[#e.names + 1] = sig_name(lines[first])
    e.sigs[#e.sigs + 1] = lines[first]
    first = first + 1
  end
  for i = first, #lines do
    local l = lines[i]
    local tag, rest = l:match("^@(%w+)%s*(.*)$")
    if tag == "param" then e.params[#e.params + 1] = rest
    elseif tag == "return" then e.returns[#e.returns + 1] = rest
    elseif tag then
      if tag == "type" then e.type = rest end
      e.tags = e.tags or {}; e.tags[#e.tags + 1] = l
    else e.body[#e.body + 1] = l end
  end
  e.kind = kind(e)
  return e
end

-- The `---` blocks of a Lua source text: list of {lines, first, last}.
local function blocks_of(text)
  local out, cur, n = {}, nil, 0
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local body = l:match("^%s*%-%-%-(.*)$")
    if body and not body:match("^%-+%s*$") then -- not a ---- rule
      body = body:gsub("^ ", "")
      if not cur then cur = {lines = {}, first = n} end
      cur.lines[#cur.lines + 1] = body
      cur.last = n
    elseif cur then
      out[#out + 1] = cur
      cur = nil
    end
  end
  if cur then out[#out + 1] = cur end
  return out
end

local files = {}   -- source path -> {by_line = {[line after block] = entry}}

local function read_source(path)
  if files[path] ~= nil then return files[path] end
  local f = io.open(path, "r")
  if not f then files[path] = false; return false end
  local text = f:read("a")
  f:close()
  local info = {by_line = {}, entries = {}}
  for _, b in ipairs(blocks_of(text)) do
    local e = entry(b.lines, path, b.first)
    if e then
      info.entries[#info.entries + 1] = e
      info.by_line[b.last + 1] = e
    end
  end
  files[path] = info
  return info
end

-- Lua files of the library, recursively.
local function lua_files(dir, out)
  out = out or {}
  local ok, names = pcall(wb.sys.listdir, dir)
  if not ok then return out end
  for _, n in ipairs(names) do
    local p = dir .. "/" .. n
    if n:match("%.lua$") then out[#out + 1] = p
    elseif not n:find("%.") then lua_files(p, out) end
  end
  return out
end

local index -- name -> entry

-- Every documented name: the Lua modules' blocks, then the C API's stubs.
function M.index()
  if index then return index end
  index = {}
  for _, dir in ipairs{"/wb", "/meta"} do
    for _, p in ipairs(lua_files(wb.luadir .. dir)) do
      local info = read_source(p)
      for _, e in ipairs(info and info.entries or {}) do
        for _, n in ipairs(e.names) do index[n] = index[n] or e end
      end
    end
  end
  return index
end

-- The block right above a Lua function's definition.
function M.by_position(f)
  local info = debug.getinfo(require("wb.args").unchecked(f), "S") -- (args.at_most's checker)
  if not info or info.what ~= "Lua" or info.source:sub(1, 1) ~= "@" then return nil end
  local src = read_source(info.source:sub(2))
  return src and src.by_line[info.linedefined] or nil
end

-- Forgets the files read and the index, so that edits are seen.
function M.reset()
  index, files = nil, {}
end

return M
