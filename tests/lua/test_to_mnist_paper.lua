-- test_to_mnist_paper.lua: wb.image.to_mnist finds the ink on either side of
-- the paper's level. It took the paper for light only above 0.5: a black
-- digit on grey paper of 0.45 with a little noise was read with the noise as
-- ink and the digit as a hole, its box the whole image, and predicted
-- confidently wrong (a new user's 8 % of 300 digits, no error). And a
-- [1, 784] row went through as an image 1 px tall.
local T = dofile("tests/lua/harness.lua")

-- A 7 (a bar and a slanted stroke, 3 px thick) of level ink on paper of
-- level paper, 60 x 60, with noise of +-noise from a fixed LCG.
local function seven(paper, ink, noise)
  local img, state = wb.full({60, 60}, paper), 12345
  for y = 1, 60 do
    for x = 1, 60 do
      state = (state * 1103515245 + 12345) % 2147483648
      local v = paper + (state / 2147483648 - 0.5) * 2 * noise
      local bar = y >= 15 and y <= 17 and x >= 20 and x <= 42
      local cx = 42 - (y - 15) * 0.45
      local stroke = y >= 15 and y <= 48 and math.abs(x - cx) <= 1.5
      if bar or stroke then v = ink end
      img:set(y, x, math.min(1, math.max(0, v)))
    end
  end
  return img
end

T.test("dark ink on grey paper either side of 0.5, and light ink on grey: the digit's box", function()
  for _, c in ipairs{{0.55, 0.08, true}, {0.45, 0.08, true}, {0.35, 0.02, true},
      {0.55, 0.95, false}, {0.45, 0.95, false}, {0.9, 0.1, true}, {0.0, 1.0, false}} do
    local paper, ink, light = c[1], c[2], c[3]
    local _, st = wb.image.to_mnist(seven(paper, ink, 0.03), {steps = true})
    local what = string.format("paper %.2f, ink %.2f", paper, ink)
    T.eq(st.light_background, light, what)
    -- the 7's box: rows 15..48, columns about 20..42 (1-based {y, x, h, w})
    T.ok(st.bbox[1] >= 14 and st.bbox[1] <= 16 and st.bbox[3] >= 33 and st.bbox[3] <= 35,
      what .. ": rows " .. table.concat(st.bbox, ","))
    T.ok(st.bbox[2] >= 19 and st.bbox[2] + st.bbox[4] - 1 <= 43, what .. ": columns "
      .. table.concat(st.bbox, ","))
  end
end)

T.test("a [1, 784] row, or any side of 1 px, is refused naming its shape", function()
  local x = wb.image.to_mnist(seven(0.9, 0.1, 0))
  T.eq(table.concat(x:shape(), "x"), "1x784")
  T.check_error("img: a [1, 784] image, 1 px on a side, cannot hold a digit; a [1, 784] "
    .. "row (an MNIST row, to_mnist's own result) is already MNIST's: img:reshape(28, 28)",
    wb.image.to_mnist, x)
  T.check_error("a [60, 1] image, 1 px on a side", wb.image.to_mnist, wb.full({60, 1}, 0.5))
  T.ok(wb.image.to_mnist(x:reshape(28, 28)), "the row as a 28 x 28 image")
end)

T.done()
