-- test_papers_digit.lua - wb.image.to_mnist says when the ink is too small
-- to be a digit (audit D3): a 2x2 PNG with one black pixel on white was
-- enlarged to a solid 20x20 square and read as some class without a word.
-- Now an ink box under 5 px on its longer side (the smallest pixel fonts
-- draw digits 3x5) is "no digit found", naming the box and the file, as ink
-- of too little contrast is; task 2 refuses such a file before training.
-- Its 14 custom digits give the same inputs, bit for bit, as before.
local T = dofile("tests/lua/harness.lua")
local img = wb.image
local dir = T.tmpdir()
local q = T.quote

-- A white page h x w with black pixels where ink(y, x).
local function page(h, w, ink)
  local t = wb.ones(h, w)
  for y = 1, h do
    for x = 1, w do
      if ink(y, x) then t:set(y, x, 0) end
    end
  end
  return t
end

T.test("one black pixel in a 2x2 PNG: no digit, the file and the box named", function()
  local path = dir .. "/speck.png"
  img.save(page(2, 2, function(y, x) return y == 1 and x == 1 end), path)
  local ok, e = pcall(img.to_mnist, img.load(path))
  T.ok(not ok, "refused")
  T.ok(tostring(e):find(path .. ": no digit found: the ink's box is 1x1 px (rows x columns, "
    .. "from pixel [1, 1]), too small to be a digit: it needs 5 px on its longer side", 1,
    true), tostring(e))
end)

T.test("the least box: 5 px on the longer side goes through, 4 does not", function()
  -- a 4x4 blot in a 40x40 page, then a stroke 5 tall and 1 wide (a small "1")
  T.check_error("^img: no digit found: the ink's box is 4x4 px %(rows x columns, from "
    .. "pixel %[11, 21%]%)", img.to_mnist, page(40, 40, function(y, x)
      return y >= 11 and y <= 14 and x >= 21 and x <= 24 end))
  T.check_error("the ink's box is 2x4 px", img.to_mnist, page(40, 40, function(y, x)
    return y >= 11 and y <= 12 and x >= 21 and x <= 24 end))
  local x, st = img.to_mnist(page(40, 40, function(y, x)
    return y >= 11 and y <= 15 and x == 21 end), {steps = true})
  T.eq(x:numel(), 784)
  T.eq(table.concat(st.bbox, ","), "11,21,5,1")
  x = img.to_mnist(page(40, 40, function(y, x) -- 3x5: a pixel font's digit
    return y >= 11 and y <= 15 and x >= 21 and x <= 23 and not (y == 13 and x == 22) end))
  T.eq(x:numel(), 784)
end)

T.test("task 2 refuses a one-pixel 'digit' before training, naming the file", function()
  local path = dir .. "/7_dot.png"
  img.save(page(28, 28, function(y, x) return y == 14 and x == 14 end), path)
  local st, _, err = T.run_wb("scripts/task02_custom_digit.lua --root " .. q(dir .. "/root")
    .. " " .. q(path))
  T.eq(st, 1, err)
  T.ok(err:find("task02_custom_digit: " .. path .. ": no digit found: the ink's box is 1x1 px",
    1, true), err)
  T.ok(not wb.sys.exists(dir .. "/root"), "nothing trained or written")
end)

-- x = to_mnist(load(file)) of each of task 2's digits, hashed (wb.io._hash),
-- as the code before D3 made them (commit b384ae2)
local BEFORE = {
  ["0_grey8.png"] = "7d23c751c8e82f4a71aad4122713b5d0",
  ["0_rgb16_dark.png"] = "3ed7b9424973082440472ee0e68d82cc",
  ["1_rgb_white.png"] = "f5e8a9d20dc333c33dc89c8ba726c4b4",
  ["2_rgba.png"] = "baefd5fa42f84ebb2dfd92656661c830",
  ["2_rgba16_interlaced.png"] = "e6f00b240f1fbc119942d3a3ec814a4c",
  ["3_grey16.png"] = "0f8477a3f5b3d974ce824439c03144f7",
  ["4_palette.png"] = "554b1eb4686322e5e98a8b27cf84d179",
  ["4_rgb_chalk.png"] = "6fd7371d24c50cbe8980fbe15351f3cd",
  ["5_rgb_interlaced.png"] = "f332c961f9c6186b60d65d84e63fe6b2",
  ["6_grey8_dark.png"] = "cceca71c5167ab502268eb4c2c42cab4",
  ["7_grey1.png"] = "39e8a7c440964900cbd24b1bcd3f5d4b",
  ["7_grey_alpha.png"] = "4519e4e25da44bfd66e3da1e39d35550",
  ["8_palette_trns.png"] = "2315f09afc3d815770192b53a2843b3d",
  ["9_rgb_paper.png"] = "5bb57336c3637ec75ea041ca60792f3d",
}

T.test("task 2's 14 custom digits: the same inputs, bit for bit", function()
  local n = 0
  for _, f in ipairs(wb.sys.listdir("data/custom")) do
    if f:match("%.png$") then
      n = n + 1
      T.eq(wb.io._hash(img.to_mnist(img.load("data/custom/" .. f))), BEFORE[f], f)
    end
  end
  T.eq(n, 14)
end)

T.done()
