-- test_png_not.lua: a JPEG or GIF renamed .png says what it is: a new user's
-- photo renamed .png got "not a PNG file" alone. And invert's range.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

T.test("a JPEG's or GIF's first bytes are named; other bytes are 'not a PNG file'", function()
  for _, c in ipairs{{"\xff\xd8\xff\xe0\0\16JFIF\0", " (a JPEG file: convert it to PNG)"},
      {"GIF89a\1\0\1\0", " (a GIF file: convert it to PNG)"}, {"hello, world", ""},
      {"", " (empty)"}} do
    local path = dir .. "/x.png"
    local f = assert(io.open(path, "wb")); f:write(c[1]); f:close()
    local err = T.check_error(path .. ": not a PNG file", wb.image.load, path)
    T.ok(err:sub(-#(path .. ": not a PNG file" .. c[2])) == path .. ": not a PNG file" .. c[2],
      err)
  end
end)

-- wb.image.invert of a 0..255 image went down to -254 without a word (tryF 8)
T.test("invert refuses values outside [0, 1], naming the first", function()
  T.check_error("img: pixel [1, 1] is 200 (and 8 more outside [0, 1]), expected values in "
    .. "[0, 1] (as wb.image.load gives; a 0..255 image: divide it by 255)", wb.image.invert,
    wb.full({3, 3}, 200))
  T.eq(wb.image.invert(wb.full({2, 2}, 0.25)):sum(), 3)
end)

T.done()
