-- test_json_clean.lua: wb.io._json_clean, the C walk that turns what
-- cjson.decode gives back into plain data (JSON null removed; with
-- integers, integral floats below 2^53 as integers), against the Lua walks
-- it replaced (util.denull, record.lua's integers) on known cases and on
-- random nested JSON.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"
local util = require "wb.util"

-- The Lua walks as they were (the reference).
local function denull(v)
  if type(v) ~= "table" then
    if v == cjson.null then return nil end
    return v
  end
  for k, x in pairs(v) do v[k] = denull(x) end
  return v
end
local function integers(v)
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = integers(x) end
  elseif math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
    return math.tointeger(v)
  end
  return v
end

-- Equal as data, number subtypes included (2 is not 2.0 here).
local function same(a, b, path)
  path = path or "v"
  if type(a) ~= type(b) then return false, path .. ": " .. type(a) .. " vs " .. type(b) end
  if type(a) == "number" then
    if math.type(a) ~= math.type(b) then
      return false, path .. ": " .. math.type(a) .. " vs " .. math.type(b)
    end
    if a ~= b and (a == a or b == b) then return false, path .. ": " .. a .. " vs " .. b end
    return true
  end
  if type(a) ~= "table" then return a == b, path end
  for k, x in pairs(a) do
    local ok, where = same(x, b[k], path .. "." .. tostring(k))
    if not ok then return false, where end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) .. ": missing" end
  end
  return true
end

T.test("null goes, integral floats become integers, the rest stays", function()
  local text = '{"seed":2,"lr":0.1,"n":1e3,"big":9007199254740992,"below":9007199254740991,'
    .. '"neg":-0.0,"inf":1e999,"s":"2","list":[1,null,2.5,null],"deep":{"a":[{"b":null,'
    .. '"c":[3.0]}]},"gone":null}'
  local v = cjson.decode(text)
  local r = wb.io._json_clean(v, cjson.null, true)
  T.ok(r == v, "cleaned in place: the same table")
  T.eq(math.type(r.seed), "integer", "seed 2")
  T.eq(math.type(r.lr), "float", "0.1 stays a float")
  T.eq(math.type(r.n), "integer", "1e3")
  T.eq(math.type(r.big), "float", "2^53 stays a float (not exact beyond)")
  T.eq(math.type(r.below), "integer", "2^53 - 1")
  T.eq(math.type(r.neg), "integer", "-0.0 is integral")
  T.eq(r.inf, math.huge, "infinity stays")
  T.eq(r.s, "2", "a string stays a string")
  T.eq(r.list[2], nil, "a null in a list is a hole")
  T.eq(r.list[3], 2.5, "after the hole")
  T.eq(r.deep.a[1].b, nil, "a null two tables down")
  T.eq(math.type(r.deep.a[1].c[1]), "integer", "a number three tables down")
  T.eq(r.gone, nil, "a null field")
  -- without integers: nulls only
  local w = wb.io._json_clean(cjson.decode(text), cjson.null)
  T.eq(math.type(w.seed), "float", "without integers 2.0 stays 2.0")
  T.eq(w.gone, nil, "null removed all the same")
  -- not a table
  T.eq(wb.io._json_clean(cjson.null, cjson.null), nil, "null alone is nil")
  T.eq(math.type(wb.io._json_clean(4.0, cjson.null, true)), "integer", "a number alone")
  T.eq(wb.io._json_clean("x", cjson.null, true), "x", "a string alone")
end)

T.test("equal to the Lua walks it replaced on 300 random JSON documents", function()
  local rng = 12345
  local function rand(n) -- a small LCG: the test draws nothing from wb's generator
    rng = (rng * 1103515245 + 12345) % 2147483648
    return rng % n
  end
  local numbers = {"0", "-0.0", "1", "2.0", "-7", "1e3", "0.5", "1e-300", "123456789012",
    "9007199254740991", "9007199254740993", "1e300", "-3.25", "1e999", "-1e999"}
  local function gen(depth)
    local r = rand(depth > 3 and 4 or 6)
    if r == 0 then return "null" end
    if r == 1 then return numbers[rand(#numbers) + 1] end
    if r == 2 then return '"s' .. rand(100) .. '"' end
    if r == 3 then return rand(2) == 0 and "true" or "false" end
    local parts = {}
    for i = 1, rand(6) do
      parts[i] = r == 4 and gen(depth + 1) or ('"k' .. i .. '":' .. gen(depth + 1))
    end
    return r == 4 and "[" .. table.concat(parts, ",") .. "]" or "{" .. table.concat(parts, ",") .. "}"
  end
  local bad = 0
  for i = 1, 300 do
    local text = "{\"doc\":" .. gen(0) .. "}"
    local ok1, where1 = same(wb.io._json_clean(cjson.decode(text), cjson.null, true),
      integers(denull(cjson.decode(text))))
    local ok2, where2 = same(util.denull(cjson.decode(text)), denull(cjson.decode(text)))
    if not (ok1 and ok2) then
      bad = bad + 1
      if bad <= 3 then T.ok(false, text .. ": " .. tostring(where1 or where2)) end
    end
  end
  T.eq(bad, 0, "documents that differ")
end)

T.done()
