-- test_image.lua: wb.image (load/save, to_mnist and its steps, resize,
-- invert, crop, bbox, centre_of_mass, rgb), the MNIST round trip through
-- PNG files, and the committed custom digits in data/custom/.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local img = wb.image

local dir = T.tmpdir()

-- A [h, w] float tensor from f(y, x) (1-based).
local function make(h, w, f)
  local t = wb.zeros(h, w)
  for y = 1, h do for x = 1, w do t:set(y, x, f(y, x)) end end
  return t
end

-- Mean absolute difference of two tensors with the same number of elements.
local function mad(a, b)
  local n = a:numel()
  a, b = a:reshape(n):totable(), b:reshape(n):totable()
  local s = 0
  for i = 1, n do s = s + math.abs(a[i] - b[i]) end
  return s / n
end

-- {==================== files ====================

T.test("save then load a grey image: 8-bit quantised", function()
  local t = make(5, 7, function(y, x) return (y * 7 + x) / 43 end) -- in [0, 1], no .5 ties
  local path = dir .. "/grey.png"
  img.save(t, path)
  local back = img.load(path)
  T.eq(back:dtype(), "float32")
  T.eq(back:shape()[1], 5); T.eq(back:shape()[2], 7)
  for y = 1, 5 do for x = 1, 7 do
    local v = t:get(y, x)
    T.near(back:get(y, x), math.floor(v * 255 + 0.5) / 255, 1e-6)
  end end
end)

T.test("save RGB [h, w, 3]: loads as BT.601 luma", function()
  local t = wb.zeros(2, 3, 3)
  local cols = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
  for x = 1, 3 do for c = 1, 3 do t:set(1, x, c, cols[x][c]); t:set(2, x, c, 0.5) end end
  img.save(t, dir .. "/rgb.png")
  local back = img.load(dir .. "/rgb.png")
  T.near(back:get(1, 1), 0.299, 1e-6)
  T.near(back:get(1, 2), 0.587, 1e-6)
  T.near(back:get(1, 3), 0.114, 1e-6)
  T.near(back:get(2, 2), 128 / 255, 1e-6)
  -- rgb() builds the same picture from three planes
  local r = make(2, 3, function(y, x) return t:get(y, x, 1) end)
  local g = make(2, 3, function(y, x) return t:get(y, x, 2) end)
  local b = make(2, 3, function(y, x) return t:get(y, x, 3) end)
  local s = img.rgb(r, g, b)
  T.eq(mad(s, t), 0)
  T.eq(img.rgb(r):get(2, 3, 2), r:get(2, 3))
end)

T.test("load errors name the file", function()
  T.check_error(dir .. "/none.png: cannot open: No such file or directory", img.load,
    dir .. "/none.png")
  local f = io.open(dir .. "/text.png", "w"); f:write("not an image"); f:close()
  T.check_error("text.png: not a PNG file", img.load, dir .. "/text.png")
  local src = io.open(dir .. "/grey.png", "rb"); local bytes = src:read("a"); src:close()
  f = io.open(dir .. "/cut.png", "wb"); f:write(bytes:sub(1, #bytes - 20)); f:close()
  T.check_error("cut.png: truncated: libpng: Read Error", img.load, dir .. "/cut.png")
  T.check_error("string expected", img.load)
end)

-- CRC-32 of string s (PNG's and zlib's: reflected polynomial 0xedb88320),
-- so that a patched header still passes libpng's CRC check.
local function crc32(s)
  local c = 0xffffffff
  for i = 1, #s do
    c = c ~ s:byte(i)
    for _ = 1, 8 do c = (c >> 1) ~ (0xedb88320 & -(c & 1)) end
  end
  return c ~ 0xffffffff
end

T.test("a header declaring 100000x100000 is bad data: EFORMAT, exit 65, file and size",
  function()
  local path = dir .. "/huge.png"
  img.save(wb.zeros(3, 3), path)
  local src = io.open(path, "rb"); local bytes = src:read("a"); src:close()
  -- IHDR: bytes 13..16 its type, 17..24 width and height, 30..33 its CRC
  local ihdr = "IHDR" .. string.pack(">I4I4", 100000, 100000) .. bytes:sub(25, 29)
  bytes = bytes:sub(1, 12) .. ihdr .. string.pack(">I4", crc32(ihdr)) .. bytes:sub(34)
  local f = io.open(path, "wb"); f:write(bytes); f:close()
  local ok, e = pcall(img.load, path)
  T.ok(not ok and wb.is_error(e), tostring(e))
  T.eq(e.code, "EFORMAT", tostring(e))
  T.ok(e.message:find(path .. ": 100000x100000 exceeds the limit", 1, true), e.message)
  local st, _, err = T.sh(T.wb .. " -e \"wb.image.load('" .. path .. "')\"")
  T.eq(st, 65, err)
  T.ok(err:find(path .. ": 100000x100000", 1, true), err)
end)

T.test("save errors: shape, NaN, folder; an existing file survives", function()
  local path = dir .. "/keep.png"
  img.save(wb.zeros(3, 3), path)
  T.check_error("bad argument #1 to .*got float32 %[3, 3, 2%]", img.save,
    wb.zeros(3, 3, 2), path)
  local bad = wb.zeros(3, 3); bad:set(2, 2, 0 / 0)
  T.check_error("element 5 of %[3, 3%] %(row 2, column 2%) is NaN", img.save, bad, path)
  T.check_error("no/such/x.png", img.save, wb.zeros(3, 3), dir .. "/no/such/x.png")
  T.check_error("wb.Tensor expected", img.save, "x", path)
  T.eq(img.load(path):max(), 0)
  local names = wb.sys.listdir(dir)
  for _, n in ipairs(names) do T.ok(not n:find("%.tmp%."), "temporary file " .. n) end
end)

-- {==================== small operations ====================

T.test("resize, invert, crop, bbox, centre_of_mass", function()
  local t = make(4, 4, function(y, x) return (y - 1) * 4 + (x - 1) end)
  local s = img.resize(t, 2, 2) -- shrinking: area by default
  T.near(s:get(1, 1), 2.5, 1e-6); T.near(s:get(2, 2), 12.5, 1e-6)
  local row = make(1, 2, function(_, x) return x - 1 end)
  local up = img.resize(row, 1, 4) -- enlarging: bilinear by default
  T.near(up:get(1, 2), 0.25, 1e-6); T.near(up:get(1, 3), 0.75, 1e-6)
  T.near(img.resize(row, 1, 4, {method = "area"}):get(1, 2), 0, 1e-6)
  T.check_error("unknown option 'mode' %(valid: method%)", img.resize, t, 2, 2, {mode = 1})
  T.check_error("method: expected 'area' or 'bilinear', got 'cubic'", img.resize, t, 2, 2,
    {method = "cubic"})
  T.check_error("got 0x2", img.resize, t, 0, 2)
  T.check_error("number has no integer representation", img.resize, t, 2.5, 2)
  T.near(img.invert(t / 15):get(2, 3), 1 - 6 / 15, 1e-6) -- values in [0, 1]: test_png_not
  local c = img.crop(t, 2, 3, 2, 2)
  T.eq(c:get(1, 1), 6); T.eq(c:get(2, 2), 11)
  T.check_error("crop: rows 3..5, columns 1..1 do not fit in a %[4, 4%] image",
    img.crop, t, 3, 1, 3, 1)
  local dot = wb.zeros(5, 6); dot:set(2, 5, 1); dot:set(4, 3, 1)
  local y, x, h, w = img.bbox(dot)
  T.eq(y, 2); T.eq(x, 3); T.eq(h, 3); T.eq(w, 3)
  local cy, cx = img.centre_of_mass(dot)
  T.near(cy, 3, 1e-9); T.near(cx, 4, 1e-9)
  T.check_error("no pixel above 0.5", img.bbox, wb.zeros(3, 3), 0.5)
  T.check_error("no positive pixel", img.centre_of_mass, wb.zeros(3, 3))
end)

-- {==================== to_mnist ====================

-- A dark bar 60 tall and 10 wide on a 100x60 white page.
local function bar_page()
  return make(100, 60, function(y, x)
    return (y > 20 and y <= 80 and x > 25 and x <= 35) and 0 or 1
  end)
end

T.test("to_mnist on a dark bar on white: centred, 20 px tall, in [0, 1]", function()
  local m, st = img.to_mnist(bar_page(), {steps = true})
  T.eq(m:shape()[1], 1); T.eq(m:shape()[2], 784)
  T.eq(m:min(), 0); T.eq(m:max(), 1)
  T.eq(st.light_background, true)
  T.eq(table.concat(st.bbox, ","), "21,26,60,10")
  T.eq(st.scaled:shape()[1], 20); T.eq(st.scaled:shape()[2], 3)
  T.eq(st.cropped:shape()[1], 60)
  T.eq(st.inverted:get(50, 30), 1); T.eq(st.inverted:get(1, 1), 0)
  local c = st.centred
  local y, x, h, w = img.bbox(c)
  T.eq(h, 20); T.eq(w, 3)
  T.eq(y, st.offset[1] + 1); T.eq(x, st.offset[2] + 1)
  local cy, cx = img.centre_of_mass(c) -- 1-based: the centre is 15
  T.ok(math.abs(cy - 15) <= 0.5 and math.abs(cx - 15) <= 0.5,
    ("centre of mass %g, %g"):format(cy, cx))
  T.eq(mad(c, m), 0)
  -- the same bar drawn light on dark gives the same digit
  T.near(mad(img.to_mnist(img.invert(bar_page())), m), 0, 1e-7)
end)

T.test("to_mnist errors", function()
  T.check_error("no digit found", img.to_mnist, wb.full({20, 20}, 0.7))
  T.check_error("bad argument #1 to .*float32 %[h, w%] image, got float32 %[2, 2, 3%]",
    img.to_mnist, wb.zeros(2, 2, 3))
  T.check_error("unknown option 'step' %(valid: steps%)", img.to_mnist, bar_page(),
    {step = true})
  local m, st = img.to_mnist(bar_page(), {steps = false})
  T.eq(st, nil)
end)

T.test("to_mnist: an all-white digit from a file names the file", function()
  local path = dir .. "/blank digit.png"
  img.save(wb.ones(28, 28), path)
  local err = T.check_error(path .. ": no digit found: ink contrast 0 against the light " ..
    "background", img.to_mnist, img.load(path), {steps = true})
  T.ok(not err:find("img:", 1, true), err)
  -- raised from the caller's line, functions named as in C
  T.check_error("^tests/lua/test_image.lua:%d+: /.*/blank digit.png: no digit", function()
    img.to_mnist(img.load(path)) end)
  T.check_error("^tests/lua/test_image.lua:%d+: bad argument #2 to 'to_mnist' %(unknown " ..
    "option 'step'", function() img.to_mnist(img.load(path), {step = true}) end)
  T.check_error("^tests/lua/test_image.lua:%d+: bad argument #1 to 'to_mnist' %(wb.Tensor " ..
    "expected, got nil%)", function() img.to_mnist() end)
  T.check_error("^tests/lua/test_image.lua:%d+: bad argument #1 to 'load' %(string " ..
    "expected, got table%)", function() img.load({}) end)
  -- not from a file: the core's own name for it
  T.check_error("img: no digit found", img.to_mnist, wb.ones(28, 28))
  -- a loaded image that has a digit goes through, with its steps
  local x, st = img.to_mnist(img.load(dir .. "/grey.png"), {steps = true})
  T.eq(x:shape()[2], 784); T.eq(type(st.bbox), "table")
end)

T.test("fit letterboxes; steps_tiles gives five tiles for wb.plot.images", function()
  local t = make(10, 4, function() return 1 end)
  local f = img.fit(t, 20, 20)
  T.eq(f:shape()[1], 20); T.eq(f:shape()[2], 20)
  local y, x, h, w = img.bbox(f, 0.5)
  T.eq(h, 20); T.eq(w, 8); T.eq(x, 7)
  T.eq(img.fit(t, 20, 20, 0.25):get(1, 1), 0.25)
  T.check_error("fit: size must be two positive integers", img.fit, t, 0, 3)
  T.check_error("fit: expected a %[h, w%] image", img.fit, wb.zeros(2, 2, 2), 3, 3)
  local tiles, labels, result, st = img.steps_tiles(bar_page(), 32)
  T.eq(table.concat(tiles:shape(), ","), "5,32,32")
  T.eq(#labels, 5); T.eq(labels[5], "centred 28x28")
  T.eq(result:shape()[2], 784); T.eq(st.scaled:shape()[1], 20)
  T.eq(tiles:row(1):get(1, 1), 0) -- the white page and margins: 0, drawn white
  T.ok(tiles:row(5):max() == 1 and tiles:row(5):min() == 0, "centred tile range")
end)

-- {==================== the MNIST round trip ====================

-- 200 MNIST test digits, enlarged to 200x200 (bilinear), inverted to dark
-- on white, saved as RGB PNG, loaded and sent through to_mnist, compared
-- with the originals. Measured: MAD 0.0296 (worst digit 0.086); enlarging
-- and shrinking alone (no to_mnist) costs 0.020 of it. Thresholds leave
-- about 50% margin; an all-black guess would score about 0.13.
T.test("MNIST round trip through 200x200 RGB PNG files", function()
  local images = wb.data.idx("data/mnist/t10k-images-idx3-ubyte")
  local n, total, worst = 200, 0, 0
  local path = dir .. "/digit.png"
  for i = 1, n do
    local orig = images:row(i):float() / 255
    local big = img.invert(img.resize(orig, 200, 200, {method = "bilinear"}))
    img.save(img.rgb(big), path)
    local back = img.load(path)
    T.eq(back:shape()[1], 200)
    local d = mad(img.to_mnist(back), orig)
    total = total + d
    worst = math.max(worst, d)
  end
  local mean = total / n
  io.write(string.format("# round trip: mean abs diff %.4f over %d digits, worst %.4f\n",
    mean, n, worst))
  T.ok(mean < 0.045, ("mean abs diff %.4f >= 0.045"):format(mean))
  T.ok(worst < 0.13, ("worst digit %.4f >= 0.13"):format(worst))
end)

-- {==================== custom digits ====================

T.test("every custom digit loads and gives a [1, 784] input in [0, 1]", function()
  local names, seen = {}, {}
  for _, n in ipairs(wb.sys.listdir("data/custom")) do
    if n:match("%.png$") then names[#names + 1] = n end
  end
  T.ok(#names >= 10, "only " .. #names .. " custom digits")
  for _, n in ipairs(names) do
    local label = tonumber(n:sub(1, 1))
    T.ok(label, n .. ": the file name must start with its label")
    seen[label] = true
    local t = img.load("data/custom/" .. n)
    T.ok(t:shape()[1] >= 28 and t:shape()[2] >= 28, n .. ": too small")
    local m, st = img.to_mnist(t, {steps = true})
    T.eq(m:shape()[1], 1, n); T.eq(m:shape()[2], 784, n)
    T.ok(m:min() >= 0 and m:max() == 1, n .. ": values outside [0, 1]")
    local _, _, h, w = img.bbox(st.centred, 0.1)
    T.ok(math.max(h, w) >= 18 and math.max(h, w) <= 21, n .. ": box " .. h .. "x" .. w)
    local ink = m:mean()
    T.ok(ink > 0.05 and ink < 0.35, ("%s: ink fraction %.3f"):format(n, ink))
  end
  for d = 0, 9 do T.ok(seen[d], "no custom digit " .. d) end
end)

T.test("to_mnist names a pixel outside [0, 1] (NaN, a 0..255 image), the file's too", function()
  local t = wb.zeros(10, 10)
  t:set(5, 5, 0 / 0)
  T.check_error("^img: pixel %[5, 5%] is nan, expected values in %[0, 1%]", img.to_mnist, t)
  t = wb.zeros(10, 10)
  t:set(3, 4, 0.5); t:set(5, 6, 255); t:set(6, 6, -1)
  T.check_error("^img: pixel %[5, 6%] is 255 %(and 1 more outside %[0, 1%]%), expected " ..
    "values in %[0, 1%] %(as wb.image.load gives; a 0..255 image: divide it by 255%)",
    img.to_mnist, t)
  local path = T.tmpdir() .. "/digit.png"
  img.save(t:clamp(0, 1), path)
  local loaded = img.load(path)
  loaded:set(1, 1, 2)
  T.check_error(path .. ": pixel %[1, 1%] is 2,", img.to_mnist, loaded)
  -- in range, with a stroke 7 px tall (3 px of ink is no digit since audit D3): goes through
  local fine = t:clamp(0, 1)
  for y = 2, 8 do fine:set(y, 2, 1) end
  T.eq(img.to_mnist(fine):numel(), 784)
end)

T.done()
