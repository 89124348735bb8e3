-- Data in and out: a new user's papercuts (notes/tryF.md sections 4 to 6;
-- section 7, little-endian IDX sizes, is tests/c/test_idx_endian.c).
local T = dofile("tests/lua/harness.lua")

local function page(h, w, paper, ink)
  local t = wb.full({h, w}, paper)
  for y = 21, h - 20 do
    for x = math.floor(w / 2) - 4, math.floor(w / 2) + 4 do t:set(y, x, ink) end
  end
  return t
end

-- {==== section 4: steps_tiles shows the input as the file looks ====

T.test("steps_tiles: a black-on-white input is drawn black on white (no negative)", function()
  -- wb.plot.images draws 0 white and 1 black (the grey palette: ink on paper)
  local img = page(100, 60, 1, 0)
  local tiles, labels = wb.image.steps_tiles(img, 32)
  T.eq(labels[1], "input")
  local input = tiles:row(1)
  T.eq(input:get(1, 1), 0, "margin: white, as the page")
  T.eq(input:get(16, 16), 1, "the pen's stroke: black")
  T.ok(input:mean() < 0.5, "mostly white paper: " .. input:mean())
  -- the input and the inverted step look alike on a light page: dark ink on white
  T.ok(tiles:row(2):get(1, 1) == 0 and tiles:row(2):max() == 1, "inverted: ink dark")
  -- a light-on-dark file stays light on dark, its margins dark too
  tiles = wb.image.steps_tiles(page(100, 60, 0, 1), 32)
  T.eq(tiles:row(1):get(1, 1), 1, "margin: black, as the board")
  T.eq(tiles:row(1):get(16, 16), 0, "chalk: white")
  -- cream paper: the margins are the paper's level, no frame around it
  tiles = wb.image.steps_tiles(page(100, 60, 0.9, 0.1), 32)
  T.near(tiles:row(1):get(1, 1), tiles:row(1):get(3, 16), 1e-5, "margin as the paper")
  T.near(tiles:row(1):get(3, 16), 0.1, 1e-5, "the paper: light")
end)

T.test("steps_tiles of data/custom/0_grey8.png (black pen on white): a white page", function()
  local tiles = wb.image.steps_tiles(wb.image.load("data/custom/0_grey8.png"))
  local input = tiles:row(1)
  T.ok(input:get(1, 1) < 0.1 and input:mean() < 0.5, "input tile corner "
    .. input:get(1, 1) .. ", mean " .. input:mean())
end)

-- }====
-- {==== section 6: .PNG, upper case, is a PNG too ====

local dir = T.tmpdir()

T.test("png_files lists .png in any case, by name, and nothing else", function()
  local src = wb.image.load("data/custom/7_grey1.png")
  local sub = dir .. "/custom"
  assert(os.execute("mkdir -p " .. T.quote(sub .. "/x.png")))
  for _, n in ipairs{"b.png", "a_upper.PNG", "c.Png"} do wb.image.save(src, sub .. "/" .. n) end
  for _, n in ipairs{"d.txt", "e.png.bak", "fpng"} do
    local f = assert(io.open(sub .. "/" .. n, "wb")); f:write("x"); f:close()
  end
  local got = wb.image.png_files(sub)
  T.eq(#got, 4, table.concat(got, " "))
  T.eq(got[1], sub .. "/a_upper.PNG"); T.eq(got[2], sub .. "/b.png")
  T.eq(got[3], sub .. "/c.Png"); T.eq(got[4], sub .. "/x.png") -- (a folder: task 2 says so)
  T.check_error("bad argument #1 to 'png_files' %(string expected, got nil%)",
    wb.image.png_files)
end)

T.test("task 2 captions a .PNG argument with its name, not 'input'", function()
  local png = dir .. "/7_upper.PNG"
  wb.image.save(wb.image.load("data/custom/7_grey1.png"), png)
  local root = dir .. "/root"
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s scripts/task02_custom_digit.lua --quick "
    .. "--seeds 1 --root %s %s data/custom/3_grey16.png", T.quote(T.wb), T.quote(root),
    T.quote(png)))
  T.eq(st, 0, err)
  local gp = T.slurp(root .. "/quick/task02_custom_digit/preprocessing.gp") or ""
  T.ok(gp:find("set label 1 '7_upper' ", 1, true), gp:match("set label 1 [^\n]*"))
  T.ok(gp:find("set label 2 '3_grey16' ", 1, true), gp:match("set label 2 [^\n]*"))
  local readme = T.slurp(root .. "/quick/task02_custom_digit/README.md") or ""
  T.ok(readme:find("| 7\\_upper.PNG | 7 |", 1, true), readme)
end)

-- }====

T.done()
