-- test_sigx_format.lua - a ModelCheckpoint filepath's field specs are
-- Python's (audit X16k): one str.format refuses for the field's number is
-- refused when the callback is made, naming the spec and what is accepted
-- ("{epoch:%n}" saved "e%nd.safetensors"); one it takes is written as it
-- writes it (wb/pyformat.lua), checked against /usr/bin/python3's format().
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local pyformat = require "wb.pyformat"
local dir = T.tmpdir()

local SPECS = {"", "d", "03d", "02d", "5", "<5", ">5", "^5", "=5", "*^7", "+d", " d", "-d",
  "z", "zd", "#x", "#X", "#o", "#b", "x", "X", "o", "b", ",", "_", ",d", "_d", "_x", ",x",
  "_b", "n", ",n", "010,", "08,", "010_", "e", ".3e", "E", "f", ".2f", ".0f", "#.0f", "F",
  "g", ".3g", "G", "#g", "%", ".1%", ".3", ".1", "+.2f", "z.1f", "z.2e", "=+10.3f",
  "0=10.2f", "x<05", "<05", "010.2f", "12,.2f", "_.2f", "s", "c", "%n", ".", "5.", "0999999d",
  ".100f", "q", "10.4q", ".4q", "1,2", "é>8.2f", "+#012_x", " 7", "^+9.1e", ",.1%", "z", "zf",
  "#", "0", "00", "-z08.3f", "+", "n>6", ".2n", "_n", "<", "=", "+=8d", "08.3e", "_.3e",
  ",e", ",g", ",%", "#10o", "#b", "#.3", "#.0", ".0", "z.0", "#g", "#e", "0>+12,.3f",
  "#.3g", "%>9.2%", "=^6", "\t<4"}
local INTS = {"0", "7", "-7", "1234567", "255", "-1000"}
local FLOATS = {"0.0", "-0.0", "0.5", "-0.0004", "1234.5678", "1e-07", "3.14159", "1e+20",
  "2.0", "100.0", "-2.5e-05", "0.1", "123456789.125", "inf", "-inf", "nan", "1e+16",
  "999999999999999.9", "0.00012", "-1234567.891"}

-- what python3 writes for each case: the text, or "ERROR" when it refuses
local function python_results(cases)
  local py = T.python_with("json")
  if not py then T.missing("python3") end
  local input = dir .. "/cases.txt"
  local lines = {}
  for i, c in ipairs(cases) do lines[i] = c.kind .. "\t" .. c.value .. "\t" .. c.spec end
  util.write_file(input, table.concat(lines, "\n") .. "\n")
  local prog = [[
import json, sys
out = []
for line in open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]:
    kind, value, spec = line.split("\t", 2)
    v = int(value) if kind == "int" else float(value)
    try:
        out.append(format(v, spec))
    except (ValueError, TypeError, OverflowError):
        out.append("ERROR")
json.dump(out, open(sys.argv[2], "w"))
]]
  util.write_file(dir .. "/fmt.py", prog)
  local st, _, err = T.sh(py .. " " .. T.quote(dir .. "/fmt.py") .. " " .. T.quote(input) .. " "
    .. T.quote(dir .. "/want.json"))
  T.eq(st, 0, err)
  return util.read_json(dir .. "/want.json")
end

T.test("wb.pyformat against Python's format(): every spec Python refuses is refused, every "
  .. "one it takes is written alike", function()
  local cases = {}
  for _, spec in ipairs(SPECS) do
    for _, v in ipairs(INTS) do cases[#cases + 1] = {kind = "int", value = v, spec = spec} end
    for _, v in ipairs(FLOATS) do cases[#cases + 1] = {kind = "float", value = v, spec = spec} end
  end
  local want = python_results(cases)
  T.eq(#want, #cases)
  local bad, refused_here = {}, 0
  for i, c in ipairs(cases) do
    local v = c.kind == "int" and math.tointeger(tonumber(c.value))
      or c.value == "nan" and 0 / 0 or c.value == "inf" and math.huge
      or c.value == "-inf" and -math.huge or tonumber(c.value)
    local why = pyformat.check(c.spec, c.kind)
    local got = why and "ERROR" or pyformat.format(v, c.spec)
    if want[i] ~= "ERROR" and why and (why:find("here", 1, true) or why:find("255 bytes", 1, true))
    then
      refused_here = refused_here + 1 -- taken by Python, refused here with a reason ('c', sizes)
    elseif got ~= want[i] then
      bad[#bad + 1] = string.format("format(%s, %q): python %q, here %q%s", c.value, c.spec,
        want[i], got, why and (" (" .. why .. ")") or "")
    end
  end
  T.eq(#bad, 0, #bad .. " of " .. #cases .. " differ:\n" .. table.concat(bad, "\n", 1,
    math.min(#bad, 40)))
  T.ok(refused_here <= 3 * (#INTS + #FLOATS), "refused here: " .. refused_here)
end)

T.test("ModelCheckpoint: a spec Python refuses is refused when made, naming it and what is "
  .. "accepted", function()
  for _, c in ipairs{{"e{epoch:%n}.st", "{epoch:%n}: '%n' is no number format (Invalid format "
    .. "specifier '%n'"}, {"e{epoch:.2d}.st", "Precision not allowed in integer format"},
    {"e{epoch:s}.st", "Unknown format code 's' for object of type 'int'"},
    {"e{val_loss:d}.st", "Unknown format code 'd' for object of type 'float'"},
    {"e{epoch:,x}.st", "Cannot specify ',' with 'x'."}} do
    T.check_error(c[2], wb.callbacks.ModelCheckpoint, {dir .. "/" .. c[1]})
    T.check_error(pyformat.ACCEPTED, wb.callbacks.ModelCheckpoint, {dir .. "/" .. c[1]})
  end
end)

T.test("ModelCheckpoint: the fields Python takes are written as Python writes them", function()
  local x, y = wb.zeros(32, 4), wb.new_tensor({32}, "uint8")
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
  local out = dir .. "/mc"
  m:fit(wb.data.Dataset(x, y), {epochs = 2, verbose = 0, optimizer = "sgd", callbacks = {
    wb.callbacks.ModelCheckpoint{out .. "/e{epoch:#04x}-{epoch:_>3}-{loss:z.1f}.safetensors"}}})
  local names = wb.sys.listdir(out)
  table.sort(names)
  T.eq(#names, 2, table.concat(names, " "))
  T.ok(names[1]:match("^e0x01%-__1%-%d+%.%d%.safetensors$"), names[1])
  T.ok(names[2]:match("^e0x02%-__2%-%d+%.%d%.safetensors$"), names[2])
end)

T.done()
