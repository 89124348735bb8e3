-- wb/pyformat.lua: Python's format specification mini-language for one
-- number, as a ModelCheckpoint filepath's fields take it ("{epoch:03d}",
-- "{val_loss:.4f}"): parsed as str.format parses a spec, refused where it
-- refuses one (its message), rendered as it renders. ModelCheckpoint read
-- only a spec's last letter and handed the rest to string.format, so a spec
-- Python refuses was written into the file name ("{epoch:%n}" saved
-- "e%nd"), and "X" or "o" got a stray "d" (audit X16k). Private to
-- wb/callbacks_save.lua.
local _ENV = require "wb.std"

local M = {}

-- what the messages say is accepted
M.ACCEPTED = "[[fill]align][sign][z][#][0][width][,|_][.precision][type], type one of "
  .. "d b o x X n (integers), e E f F g G % n (both); e.g. 03d, .4f, .3g, e, >8.2f"

local INT_ONLY = {b = true, d = true, o = true, x = true, X = true}
local FLOAT = {e = true, E = true, f = true, F = true, g = true, G = true, ["%"] = true}

-- M.parse(spec) -> table | nil, why: spec's parts as Python's grammar has
-- them, [[fill]align][sign][z][#][0][width][grouping][.precision][type].
function M.parse(spec)
  local p, i = {}, 1
  local first = spec:match("^[%z\1-\127\194-\244][\128-\191]*") or "" -- one code point
  if spec:sub(#first + 1, #first + 1):match("^[<>=^]$") then
    p.fill, p.align, i = first, spec:sub(#first + 1, #first + 1), #first + 2
  elseif first:match("^[<>=^]$") then
    p.align, i = first, 2
  end
  local function take(pat)
    local m = spec:match("^" .. pat, i)
    if m then i = i + #m end
    return m
  end
  p.sign, p.z, p.alt, p.zero = take("[%+%- ]"), take("z"), take("#"), take("0")
  p.width, p.group = tonumber(take("%d+")), take("[,_]")
  if take("%.") then
    p.precision = tonumber(take("%d+"))
    if not p.precision then return nil, "Format specifier missing precision" end
  end
  p.type = take("[bcdeEfFgGnosxX%%]")
  if i <= #spec then return nil, "Invalid format specifier '" .. spec .. "'" end
  return p
end

-- M.check(spec, kind) -> nil | why: why Python refuses spec for a value of
-- kind ("int" or "float"), or why it is not rendered here.
function M.check(spec, kind)
  local p, why = M.parse(spec)
  if not p then return why end
  local t = p.type
  if t == "s" or (t == "c" and kind == "float") or (kind == "float" and INT_ONLY[t]) then
    return string.format("Unknown format code '%s' for object of type '%s'", t, kind)
  end
  if t == "c" then return "'c' (a character code) is not taken in a file name here" end
  local int = kind == "int" and not FLOAT[t]
  if int and p.precision then return "Precision not allowed in integer format specifier" end
  if int and p.z then
    return "Negative zero coercion (z) not allowed in integer format specifier"
  end
  if p.group and (t == "n" or (p.group == "," and INT_ONLY[t] and t ~= "d")) then
    return string.format("Cannot specify '%s' with '%s'.", p.group, t)
  end
  if (p.width or 0) > 255 then
    return "width " .. p.width .. ": a file name's part is at most 255 bytes"
  end
  if (p.precision or 0) > 99 then return "precision " .. p.precision .. ": at most 99 here" end
end

-- digits with sep every n of them, from the right
local function grouped(digits, sep, n)
  if not sep then return digits end
  local out = digits:sub(1, (#digits - 1) % n + 1)
  for k = #out + 1, #digits, n do out = out .. sep .. digits:sub(k, k + n - 1) end
  return out
end

-- Python's repr of a finite float >= 0: the shortest digits that read back
-- as it, fixed-point from 1e-4 up to 1e16 (with ".0"), else exponent.
local function repr(v)
  local s
  for r = 0, 16 do
    s = string.format("%." .. r .. "e", v)
    if tonumber(s) == v then break end
  end
  local m, e = s:match("^([%d.]+)e([-+]%d+)$")
  local digits, exp = m:gsub("%.", ""):gsub("0+$", ""), tonumber(e)
  if digits == "" then digits = "0" end
  if exp < -4 or exp >= 16 then
    return digits:sub(1, 1) .. (#digits > 1 and "." .. digits:sub(2) or "")
      .. string.format("e%s%02d", exp < 0 and "-" or "+", math.abs(exp))
  elseif exp < 0 then
    return "0." .. string.rep("0", -exp - 1) .. digits
  end
  digits = digits .. string.rep("0", math.max(0, exp + 1 - #digits))
  return digits:sub(1, exp + 1) .. "." .. (#digits > exp + 1 and digits:sub(exp + 2) or "0")
end

-- |v| as the spec's type writes it (no sign), and the prefix ("0x")
local function body(v, p, int)
  local t = p.type
  if int then
    local base = ({b = 2, o = 8, x = 16, X = 16})[t]
    local n, s = math.abs(v), ""
    if not base then return tostring(n):gsub("^%-", ""), "" end -- math.mininteger
    repeat s = ("0123456789abcdef"):sub(n % base + 1, n % base + 1) .. s; n = n // base
    until n == 0
    local pre = p.alt and ("0" .. t) or ""
    if t == "X" then s = s:upper() end
    return s, pre
  end
  local a, up = math.abs(v), t == "E" or t == "F" or t == "G"
  if a ~= a or a == math.huge then
    local s = a ~= a and "nan" or "inf"
    return (up and s:upper() or s) .. (t == "%" and "%" or ""), ""
  end
  local fl = (p.alt and "#" or "")
  local prec = p.precision
  if t == "%" then
    return string.format("%" .. fl .. "." .. (prec or 6) .. "f", a * 100) .. "%", ""
  end
  if t == nil and not prec then -- repr; # keeps a point ("1.e-07")
    local s = repr(a)
    if p.alt and not s:find(".", 1, true) then s = s:gsub("e", ".e", 1) end
    return s, ""
  end
  if t == nil then
    -- as g, but exponent from one digit earlier, and a fixed-point result
    -- keeps a digit past the point (CPython's Py_DTSF_ADD_DOT_0)
    prec = math.max(prec, 1)
    local e = string.format("%" .. fl .. "." .. (prec - 1) .. "e", a)
    local x = tonumber(e:match("e([-+]%d+)$"))
    if x < -4 or x >= prec - 1 then
      local m, ex = e:match("^(.-)(e.*)$")
      if not p.alt and m:find(".", 1, true) then m = m:gsub("0+$", ""):gsub("%.$", "") end
      return m .. ex, ""
    end
    local s = string.format("%" .. fl .. "." .. prec .. "g", a)
    return s:find(".", 1, true) and s or s .. ".0", ""
  end
  local c = t == "n" and "g" or t == "F" and "f" or t -- (no %F in Lua; finite here)
  return string.format("%" .. fl .. "." .. (prec or 6) .. c, a), ""
end

-- M.format(v, spec) -> string: number v as str.format(spec) writes it;
-- raises error(why, 0) when spec does not suit v (check it first).
function M.format(v, spec)
  local p = assert(M.parse(spec))
  local int = math.type(v) == "integer" and not FLOAT[p.type]
  if INT_ONLY[p.type] and not int then
    int, v = true, math.tointeger(v)
    if not v then error("its value is not an integer: '" .. spec .. "' is for integers", 0) end
  end
  local why = M.check(spec, int and "int" or "float")
  if why then error(why, 0) end
  local s, pre = body(v, p, int)
  local neg = v < 0 or (v == 0 and 1 / v < 0)
  -- z: a negative value that rounds to zero is written as zero
  if p.z and neg and s:find("%d") and not s:match("^[^eE]*"):find("[1-9]") then neg = false end
  local sign = neg and "-" or p.sign == "+" and "+" or p.sign == " " and " " or ""
  local fill, align = p.fill or " ", p.align or ">"
  if p.zero and not p.align then fill, align = "0", "=" elseif p.zero and not p.fill then
    fill = "0" end
  local ip, rest = s:match(int and "^(%x*)(.*)$" or "^(%d*)(.*)$")
  local n = INT_ONLY[p.type] and p.type ~= "d" and 4 or 3 -- b o x X: _ every 4 digits
  local width = p.width or 0
  -- zero padding is grouped too, as Python does: 010, of 1234 is 00,001,234
  if p.group and fill == "0" and align == "=" and ip ~= "" then
    while #sign + #pre + #grouped(ip, p.group, n) + #rest < width do ip = "0" .. ip end
  end
  s = grouped(ip, p.group, n) .. rest
  local pad = math.max(0, width - #sign - #pre - #s)
  if align == "=" then return sign .. pre .. fill:rep(pad) .. s end
  s = sign .. pre .. s
  if align == "<" then return s .. fill:rep(pad) end
  if align == "^" then return fill:rep(pad // 2) .. s .. fill:rep(pad - pad // 2) end
  return fill:rep(pad) .. s
end

return M
