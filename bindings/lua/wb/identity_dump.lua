-- wb/identity_dump.lua: what wb/identity.lua reads in a hook's stripped
-- bytecode (string.dump(f, true), Lua 5.4's lundump.c layout): its string
-- constants (the names it reaches: globals, modules, files), the chunk with
-- each function's first and last line set to 0 (moving a hook keeps its
-- identity), and whether it reads globals by names its constants do not
-- spell: `_G[name]`, `_ENV[name]`, `rawget(_G, name)`, `local g = _G`, a
-- chunk compiled by `load` (`load("return WIDTH")()`), or reads the global
-- `arg` (the command line: not hashed, see ARG). The globals named by
-- constants are hashed into the hook's identity; those are not, so such a
-- hook cannot be identified (its runs are not cached, said once): editing
-- the global it reads reused its old runs without a word (audit N2).
-- Private to wb.identity.
local _ENV = require "wb.std"

local M = {}

-- Lua 5.4's opcodes this reads (lopcodes.h)
local OP_LOADK, OP_GETUPVAL, OP_GETTABUP, OP_GETFIELD, OP_CALL, OP_TAILCALL = 3, 9, 11, 14,
  68, 69
local OP_SETFIELD, OP_SELF = 18, 20
-- what of debug a hook may use and stay identified: neither reaches a value
-- (debug.getregistry()[2] is the global table, debug.getupvalue an _ENV)
local DEBUG_OK = {traceback = true, getinfo = true}

-- M.parse(code) -> strings, lineless, proto | nil
-- Every string constant of stripped chunk code, its nested functions'
-- included; the chunk with each function's first and last line (which
-- stripping keeps) set to 0; and its functions as a tree: proto =
-- {code = {instructions}, k = {constants, strings as such}, up = {{instack,
-- idx}, ...}, protos = {nested}}. nil when the chunk is not one.
function M.parse(code)
  local pos, out, lines = 1, {}, {}
  local function byte()
    local b = code:byte(pos)
    if not b then error("truncated chunk", 0) end
    pos = pos + 1
    return b
  end
  local function skip(n)
    pos = pos + n
    if pos > #code + 1 then error("truncated chunk", 0) end
  end
  local function size() -- MSB first, 7 bits a byte, the last one flagged
    local x, b = 0, 0
    repeat b = byte(); x = x * 128 + (b & 0x7f) until b & 0x80 ~= 0
    return x
  end
  local function str()
    local n = size()
    if n == 0 then return nil end
    local v = code:sub(pos, pos + n - 2)
    skip(n - 1)
    return v
  end
  local function func()
    local p = {code = {}, k = {}, up = {}, protos = {}}
    str()                                        -- source
    local at = pos
    size(); size()                               -- first and last line
    lines[#lines + 1] = {at, pos - 1}
    skip(3)                                      -- params, vararg, stack
    for i = 1, size() do                         -- code
      skip(4)
      p.code[i] = string.unpack("<I4", code, pos - 4)
    end
    for i = 1, size() do                         -- constants
      local t = byte()
      if t == 3 or t == 19 then skip(8); p.k[i] = false -- integer, float
      elseif t == 4 or t == 20 then
        local s = str()
        out[#out + 1] = s
        p.k[i] = s or false
      else p.k[i] = false end
    end
    for i = 1, size() do                         -- upvalues: in stack, index, kind
      p.up[i] = {byte(), byte()}
      byte()
    end
    for i = 1, size() do p.protos[i] = func() end -- nested functions
    skip(size())                                 -- line info
    for _ = 1, size() do size(); size() end      -- absolute line info
    for _ = 1, size() do str(); size(); size() end -- local names
    for _ = 1, size() do str() end               -- upvalue names
    return p
  end
  local ok, top = pcall(function()
    if code:sub(1, 5) ~= "\27Lua\x54" then error("not a Lua 5.4 chunk", 0) end
    skip(31 + 1)                                 -- header, number of upvalues
    return func()
  end)
  if not ok then return nil end
  local pieces, from = {}, 1
  for _, span in ipairs(lines) do
    pieces[#pieces + 1] = code:sub(from, span[1] - 1)
    pieces[#pieces + 1] = "\x80\x80" -- two sizes of 0 (the last byte flagged)
    from = span[2] + 1
  end
  pieces[#pieces + 1] = code:sub(from)
  return out, table.concat(pieces), top
end

local function fields(i)
  return i & 0x7f, (i >> 7) & 0xff, (i >> 16) & 0xff, (i >> 24) & 0xff
end

-- Whether the _G that instruction n of p put into register a is only read
-- from by a constant name (`_G.WIDTH`, in place: the name is a constant,
-- hashed) or by `rawget(_G, "WIDTH")`. Anything else (`_G[name]`, `local g
-- = _G`, `pairs(_G)`, `_G.X = v` too: a kept alias cannot be told from a
-- temporary in stripped code) is not.
local function constant_use(p, n, a, env)
  local op, ra, rb, rc = fields(p.code[n + 1] or 0)
  if op == OP_GETFIELD and rb == a and ra == a then return p.k[rc + 1] ~= "load" end
  -- rawget(_G, "name"): rawget in a - 1, the name a constant in a + 1, a call of 2 arguments
  local pop, pa, pb, pc = fields(p.code[n - 1] or 0)
  local cop, ca, cb = fields(p.code[n + 2] or 0)
  local key = op == OP_LOADK and p.k[(p.code[n + 1] >> 15) + 1]
  return pop == OP_GETTABUP and pa == a - 1 and env[pb] == true and p.k[pc + 1] == "rawget"
    and op == OP_LOADK and ra == a + 1 and type(key) == "string" and key ~= "load"
    and key ~= "_G" and (cop == OP_CALL or cop == OP_TAILCALL) and ca == a - 1 and cb == 3
end

-- Why a hook reading the global `arg` cannot be identified (audit P2): the
-- command line is not hashed (the runner's children, a --run, are given
-- other arguments than the script), so a hook reading arg[1] reused the run
-- trained with another argument. A value the script's top level takes from
-- it is an upvalue of the hook, hashed by value. `rawget(_G, "arg")` is
-- not refused here: code that reads the command line outside runs (the
-- study module's S.grid_runs, which every study hook reaches through its
-- upvalue S) uses it; a hook that calls it while its run trains is seen
-- then (wb/identity_require.lua), and that run never reused.
local ARG = "it reads the global arg (the script's command line, which the runner's "
  .. "processes see otherwise, so it is not part of a run's identity): read the command line "
  .. "at the script's top level into a local (local width = tonumber(wb.runner.options(arg)"
  .. ".rest[1]): the task's own first argument wherever it stands among the options, which "
  .. "arg[1] is not; the task declares it with args = \"WIDTH\") and use that in the hook: an "
  .. "upvalue, whose value is identified"

-- Whether instruction n of p (op, a, b, c) reads arg through _G: `_G.arg`.
local function reads_arg(p, n, a, env, op, b, c)
  if not (op == OP_GETTABUP and env[b] and p.k[c + 1] == "_G") then return false end
  local nop, na, nb, nc = fields(p.code[n + 1] or 0)
  return nop == OP_GETFIELD and na == a and nb == a and p.k[nc + 1] == "arg"
end

-- Whether instruction i names the string "_G" as a field or a constant
-- other than as the global (`package.loaded._G`, `package.loaded["_G"]`,
-- `require "_G"`, `t:_G()`): other roads to the global table.
local function names_G(p, i)
  local op, _, b, c = fields(i)
  return op == OP_GETFIELD and p.k[c + 1] == "_G" or op == OP_SETFIELD and p.k[b + 1] == "_G"
    or op == OP_LOADK and p.k[(i >> 15) + 1] == "_G"
    or op == OP_SELF and (i >> 15) & 1 == 1 and p.k[c + 1] == "_G"
end

-- The reason proto p (and those nested in it) reads globals by names its
-- constants do not spell, or nil. env: the indexes (0-based) of its
-- upvalues that hold the global table; G: that table.
local function dynamic(p, env, G)
  for n, i in ipairs(p.code) do
    local op, a, b, c = fields(i)
    if op == OP_GETUPVAL and env[b] then
      return "it uses the global table as a value (_ENV[name], a local alias of it): "
        .. "the globals it reads by computed names cannot be identified"
    elseif op == OP_GETTABUP and env[b] and p.k[c + 1] == "arg" or reads_arg(p, n, a, env, op,
        b, c) then
      return ARG
    elseif op == OP_GETTABUP and env[b] and p.k[c + 1] == "load" then
      return "it calls load: what a chunk compiled at run time reads cannot be identified"
    elseif op == OP_GETTABUP and env[b] and p.k[c + 1] == "_G" and rawget(G, "_G") == G
        and not constant_use(p, n, a, env) then
      return "it uses _G other than to read a global by a constant name (_G[name], "
        .. "rawget(_G, name), an alias of _G): the globals it reads so cannot be identified"
    elseif names_G(p, i) then
      return "it reaches the global table by the name _G (package.loaded._G, require '_G'): "
        .. "the globals it reads so cannot be identified"
    elseif op == OP_GETTABUP and env[b] and p.k[c + 1] == "debug" then
      local nop, na, nb, nc = fields(p.code[n + 1] or 0)
      if not (nop == OP_GETFIELD and na == a and nb == a and DEBUG_OK[p.k[nc + 1]]) then
        return "it uses debug (other than debug.traceback and debug.getinfo): the globals it "
          .. "reads through the registry, upvalues or locals cannot be identified"
      end
    end
  end
  for _, q in ipairs(p.protos) do
    local inner = {}
    for j, u in ipairs(q.up) do
      if u[1] == 0 and env[u[2]] then inner[j - 1] = true end
    end
    local why = dynamic(q, inner, G)
    if why then return why end
  end
  return nil
end

-- M.dynamic_globals(f, top, G) -> string|nil
-- Why function f (parsed as top by M.parse) reads globals its identity
-- cannot see, or nil: G is the global table.
function M.dynamic_globals(f, top, G)
  local env, i = {}, 1
  while true do
    local name, v = debug.getupvalue(f, i)
    if not name then break end
    if rawequal(v, G) then env[i - 1] = true end
    i = i + 1
  end
  return dynamic(top, env, G)
end

return M
