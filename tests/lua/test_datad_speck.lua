-- test_datad_speck.lua: wb.image.to_mnist crops to the digit's ink, not to
-- every pixel above the crop level (audit D1: one dust speck in a corner
-- stretched the box to the corner, the digit shrank into a fraction of the
-- 20 px and moved off-centre; a 3 was read as 9). Also what must still
-- count: a second large stroke, a faint part touching the digit, and a
-- digit drawn only in small dots.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local img = wb.image

-- A 100x60 white page where ink(y, x) is true is black.
local function page(ink)
  local t = wb.ones(100, 60)
  for y = 1, 100 do for x = 1, 60 do if ink(y, x) then t:set(y, x, 0) end end end
  return t
end

local function bar(y, x) return y > 20 and y <= 80 and x > 25 and x <= 35 end

local function box(st) return table.concat(st.bbox, ",") end

T.test("a dust speck in the corner does not move the crop box", function()
  local clean, s0 = img.to_mnist(page(bar), {steps = true})
  T.eq(box(s0), "21,26,60,10")
  for _, at in ipairs{{3, 3}, {98, 58}, {2, 50}} do
    local dirty, s1 = img.to_mnist(page(function(y, x)
      return bar(y, x) or (y == at[1] and x == at[2]) end), {steps = true})
    T.eq(box(s1), "21,26,60,10", "speck at " .. at[1] .. "," .. at[2])
    T.eq((dirty - clean):abs():max(), 0)
  end
end)

T.test("scattered specks (a dusty scan) are left out of the box", function()
  local specks = {{2, 2}, {5, 55}, {95, 4}, {99, 59}, {50, 5}, {10, 40}}
  local _, st = img.to_mnist(page(function(y, x)
    if bar(y, x) then return true end
    for _, s in ipairs(specks) do if s[1] == y and s[2] == x then return true end end
    return false
  end), {steps = true})
  T.eq(box(st), "21,26,60,10")
end)

T.test("still counted: a second large stroke, a small part touching the digit", function()
  -- two bars far apart, each half the ink: both are the digit
  local _, st = img.to_mnist(page(function(y, x)
    return bar(y, x) or (y > 20 and y <= 80 and x > 45 and x <= 55) end), {steps = true})
  T.eq(box(st), "21,26,60,30")
  -- a 2x2 dot (under 2 % of the ink) 3 px above the bar: within the margin
  _, st = img.to_mnist(page(function(y, x)
    return bar(y, x) or (y >= 16 and y <= 17 and x >= 29 and x <= 30) end), {steps = true})
  T.eq(box(st), "16,26,65,10")
end)

T.test("a digit of small dots only: every dot counts", function()
  -- 200 one-pixel dots on a grid 2 px apart (not 8-connected), each 0.5 % of the ink
  local _, st = img.to_mnist(page(function(y, x) return y % 2 == 0 and x % 2 == 0
    and y > 20 and x > 25 and x <= 35 end), {steps = true})
  T.eq(box(st), "22,26,79,9")
end)

T.test("a black speck on a page of faint ink does not become the digit", function()
  -- pencil-grey bar (contrast 0.08) and one black pixel: the speck set the
  -- scale, the bar fell under the crop level, and the box was the speck
  local function faint(speck)
    local t = wb.ones(100, 60)
    for y = 21, 80 do for x = 26, 35 do t:set(y, x, 0.92) end end
    if speck then t:set(5, 5, 0.0) end
    return t
  end
  local clean, s0 = img.to_mnist(faint(false), {steps = true})
  local dirty, s1 = img.to_mnist(faint(true), {steps = true})
  T.eq(box(s0), "21,26,60,10")
  T.eq(box(s1), "21,26,60,10")
  T.near((dirty - clean):abs():max(), 0, 1e-6)
  T.eq(s1.inverted:get(50, 30), 1) -- the ink, not the speck, is the scale
end)

T.test("a speck alone on a page is its own box, and no digit (audit D3)", function()
  -- it was enlarged to a 20x20 block without a word; now to_mnist says the box
  local t = wb.ones(100, 60); t:set(50, 30, 0)
  T.check_error("no digit found: the ink's box is 1x1 px %(rows x columns, from pixel "
    .. "%[50, 30%]%), too small to be a digit", img.to_mnist, t, {steps = true})
end)

T.done()
