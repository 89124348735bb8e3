-- test_datad_msgs.lua: errors that name what is wrong (audit D6, D7).
-- D7: an IDX file with a type byte 07 was "bad magic 0x00000703, expected
-- 0x000008NN", as if only ubyte files were read.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local dir = T.tmpdir()

local function write(path, bytes)
  local f = assert(io.open(path, "wb")); f:write(bytes); f:close()
  return path
end

T.test("IDX: a bad type byte is named, with the types that are read", function()
  local p = write(dir .. "/t7.idx", "\0\0\7\1" .. string.pack(">I4", 2) .. "\1\2")
  T.check_error("t7.idx: bad magic 0x00000701: the type byte is not an IDX type %(IDX: "
    .. "0x0000TTNN, 2 zero bytes, a type byte TT of 08 ubyte, 09 byte, 0B short, 0C int, "
    .. "0D float, 0E double", wb.data.idx, p)
  local q = write(dir .. "/lead.idx", "\1\0\8\1" .. string.pack(">I4", 2) .. "\1\2")
  T.check_error("lead.idx: bad magic 0x01000801: expected 2 zero bytes first", wb.data.idx, q)
  -- every type byte the message lists is read
  for _, ty in ipairs{8, 9, 11, 12, 13, 14} do
    local size = ({[8] = 1, [9] = 1, [11] = 2, [12] = 4, [13] = 4, [14] = 8})[ty]
    local r = write(dir .. "/ok" .. ty .. ".idx", string.char(0, 0, ty, 1)
      .. string.pack(">I4", 1) .. string.rep("\0", size))
    T.eq(wb.data.idx(r):numel(), 1)
  end
end)

-- {==================== D2: light ink on a transparent layer ====================

-- CRC-32 (PNG's chunk checksum) and Adler-32 (zlib's), bit by bit: tiny files.
local function crc32(str)
  local c = 0xffffffff
  for i = 1, #str do
    c = c ~ str:byte(i)
    for _ = 1, 8 do c = (c & 1 == 1) and (0xedb88320 ~ (c >> 1)) or (c >> 1) end
  end
  return c ~ 0xffffffff
end
local function adler32(str)
  local a, b = 1, 0
  for i = 1, #str do a = (a + str:byte(i)) % 65521; b = (b + a) % 65521 end
  return (b << 16) | a
end
local function chunk(ty, data)
  return string.pack(">I4", #data) .. ty .. data .. string.pack(">I4", crc32(ty .. data))
end
-- A PNG of w x h pixels of colour type ct (8-bit), rows of raw sample bytes,
-- extra chunks before IDAT; zlib with one stored block.
local function png(w, h, ct, rows, extra)
  local raw = ""
  for _, r in ipairs(rows) do raw = raw .. "\0" .. r end
  local z = "\x78\x01\x01" .. string.pack("<I2I2", #raw, ~#raw & 0xffff) .. raw
    .. string.pack(">I4", adler32(raw))
  return "\x89PNG\r\n\x1a\n" .. chunk("IHDR", string.pack(">I4I4BBBBB", w, h, 8, ct, 0, 0, 0))
    .. (extra or "") .. chunk("IDAT", z) .. chunk("IEND", "")
end

T.test("light ink on a transparent background: the error says the transparency hid it", function()
  local T0, INK = "\255\255\255\0", "\255\255\255\255" -- RGBA: transparent, white ink
  local rows = {}
  for y = 1, 6 do rows[y] = T0 .. (y > 1 and y < 6 and INK or T0) .. T0 .. T0 end
  local p = write(dir .. "/white_ink.png", png(4, 6, 6, rows))
  T.eq(wb.image.load(p):min(), 1) -- composited on white, as documented: all paper
  T.check_error("white_ink.png: no digit found: .*; its transparent pixels read as white "
    .. "paper %(wb.image.load composites alpha on white%): light ink on a transparent "
    .. "background vanishes", wb.image.to_mnist, wb.image.load(p))
  -- grey with tRNS (0 transparent), ink 255
  local g = {}
  for y = 1, 6 do g[y] = "\0" .. (y > 1 and y < 6 and "\255" or "\0") .. "\0\0" end
  local q = write(dir .. "/grey_trns.png", png(4, 6, 0, g, chunk("tRNS", "\0\0")))
  T.check_error("grey_trns.png: no digit found: .*; its transparent pixels", wb.image.to_mnist,
    wb.image.load(q))
  -- an opaque white page keeps the plain message
  local w = {}
  for y = 1, 6 do w[y] = "\255\255\255\255" end
  local r = write(dir .. "/white.png", png(4, 6, 0, w))
  local ok, e = pcall(wb.image.to_mnist, wb.image.load(r))
  T.ok(not ok and tostring(e):find("no digit found", 1, true)
    and not tostring(e):find("transparent", 1, true), tostring(e))
end)

T.done()
