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

T.done()
