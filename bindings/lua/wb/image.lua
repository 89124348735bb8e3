-- wb/image.lua: the Lua side of wb.image (the C side is bindings/l_image.c:
-- load, save, to_mnist, resize, invert, crop, bbox, centre_of_mass, rgb).
--
-- Adds two helpers for showing the MNIST preprocessing side by side:
--   wb.image.fit(img, h, w [, fill = 0])   --> [h, w] letterboxed copy
--   wb.image.steps_tiles(img [, size = 56]) --> [5, size, size], labels, result
-- and wb.image.png_files(dir), a folder's PNG files (.png in any case).
-- Tiles are small (a few thousand pixels), so plain get/set loops suffice.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local image = wb.image

---wb.image
---Images: PNG files, MNIST-style preprocessing of your own digits
---(to_mnist), resizing, cropping (C), and tiles of the preprocessing steps.
---Values are float32 grey [h, w] in [0, 1].
---Example: local x = wb.image.to_mnist(wb.image.load("digit.png"))
local function check_img(img, fname)
  args.check(fname, 1, img, "wb.Tensor", 4)
  local shape = img:shape()
  if #shape ~= 2 then
    args.input_fail(string.format("%s: expected a [h, w] image tensor, got [%s]", fname,
      table.concat(shape, ", ")), 3)
  end
  return shape[1], shape[2]
end

-- {==================== images that came from files ====================

-- The file each image from wb.image.load came from, so that to_mnist's
-- errors name the file (task 2 reads a folder of user digits: "img: no
-- digit found" alone does not say which). Weak keys: an image collected is
-- forgotten; a new tensor made from one (clone, crop) has no file.
local loaded_from = setmetatable({}, {__mode = "k"})
local c_load, c_to_mnist = image.load, image.to_mnist

-- f(...) for a C function f; its error is raised again from the wrapper's
-- caller (level 3), named `name` (called through pcall, f cannot know its
-- name), after fix(message) when given. A non-string error goes on as is.
local function call_c(name, fix, f, ...)
  local res = table.pack(pcall(f, ...))
  if res[1] then return table.unpack(res, 2, res.n) end
  local e = res[2]
  local obj = wb.is_error(e) and e
  local input = wb.spec.is_input_error(e) -- a bad argument (lwb_argerror): kept one
  if obj then e = tostring(obj) elseif input then e = e.message
  elseif type(e) ~= "string" then error(e, 0) end
  e = e:gsub("^bad argument (#%d+) to '%?'", "bad argument %1 to '" .. name .. "'")
  e = fix and fix(e) or e
  -- a core failure stays a wb.Error: its code decides the exit status
  if obj then
    local at = debug.getinfo(3, "Sl")
    local pos = at and at.currentline > 0 and (at.short_src .. ":" .. at.currentline .. ": ") or ""
    error(wb.Error{code = obj.code, path = obj.path, message = pos .. e}, 0)
  end
  if input then args.raise(wb.spec.input_error(e), 3) end
  error(e, 3)
end

function image.load(path, ...) -- ...: refused by C, never dropped here
  local img = call_c("load", nil, c_load, path, ...)
  loaded_from[img] = path
  return img
end

-- Whether the PNG at path has transparency: an alpha channel (colour type
-- 4 or 6) or a tRNS chunk before the image data. Read only on an error.
local function has_alpha(path)
  local f = io.open(path, "rb")
  local head = f and f:read(1 << 16)
  if f then f:close() end
  if not head or #head < 26 then return false end
  local ct = head:byte(26) -- IHDR's colour type: 8 + 8 (length, type) + 9
  local idat = head:find("IDAT", 1, true)
  local trns = head:find("tRNS", 1, true)
  return ct == 4 or ct == 6 or (trns ~= nil and (idat == nil or trns < idat))
end

function image.to_mnist(img, opts, ...)
  -- The core names the image "img"; a loaded one has a better name.
  local path = loaded_from[img]
  local function fix(e)
    if not path then return e end
    -- a file 1 px on a side is the file's fault, not an argument's: named,
    -- without the advice for a [1, 784] tensor unless it has 784 pixels
    e = e:gsub("^bad argument #1 to 'to_mnist' %((img: .*)%)$", "%1")
    if img:numel() ~= 784 then
      e = e:gsub("(1 px on a side, cannot hold a digit);.*$", "%1 (expected at least 2 px on "
        .. "each side)")
    end
    e = e:gsub("^img: ", function() return path .. ": " end)
    -- white ink on a transparent layer was "no digit found" without a word
    -- of the transparency that hid it (audit D2)
    if e:find("no digit found", 1, true) and e:find("light background", 1, true)
        and has_alpha(path) then
      e = e .. "; its transparent pixels read as white paper (wb.image.load composites "
        .. "alpha on white): light ink on a transparent background vanishes (draw in a "
        .. "dark colour, or flatten the image on black)"
    end
    return e
  end
  local x, st = call_c("to_mnist", fix, c_to_mnist, img, opts, ...) -- not a tail call: level 3
  return x, st
end

-- }====================

---wb.image.fit(img, h, w, fill) -> wb.Tensor
---img scaled to fit inside h x w keeping its aspect ratio (area when
---shrinking, bilinear when enlarging), centred; margins set to fill
---(in [0, 1]; default 0, black).
---@param img wb.Tensor
---@param h integer
---@param w integer
---@param fill? number
---@return wb.Tensor
---Example: local tile = wb.image.fit(img, 56, 56)
function image.fit(img, h, w, fill)
  args.check("fit", 1, img, "wb.Tensor")
  args.check("fit", 2, h, "integer")
  args.check("fit", 3, w, "integer")
  args.opt("fit", 4, fill, "number")
  local ih, iw = check_img(img, "fit")
  if math.type(h) ~= "integer" or math.type(w) ~= "integer" or h < 1 or w < 1 then
    args.input_fail("fit: size must be two positive integers", 2)
  end
  if fill and not (fill >= 0 and fill <= 1) then -- (NaN margins, or outside [0, 1])
    args.input_fail(string.format("fit: fill (argument #4): expected a number in [0, 1], got %s",
      fill ~= fill and "NaN" or tostring(fill)), 2)
  end
  local k = math.min(h / ih, w / iw)
  local sh = math.max(1, math.min(h, math.floor(ih * k + 0.5)))
  local sw = math.max(1, math.min(w, math.floor(iw * k + 0.5)))
  local scaled = image.resize(img, sh, sw)
  local out = wb.full({h, w}, fill or 0)
  local y0, x0 = (h - sh) // 2, (w - sw) // 2
  local rows = scaled:totable()
  for y = 1, sh do
    local row = rows[y]
    for x = 1, sw do out:set(y0 + y, x0 + x, row[x]) end
  end
  return out
end

---wb.image.png_files(dir) -> table
---The paths (dir .. "/" .. name) of the PNG files in folder dir, sorted by
---name: every name ending in .png in any case (cameras and Windows tools
---write .PNG). Raises when dir cannot be listed.
---@param dir string
---@return string[]
---Example: for _, p in ipairs(wb.image.png_files("data/custom")) do print(p) end
function image.png_files(dir)
  args.check("png_files", 1, dir, "string")
  local ok, names = pcall(wb.sys.listdir, dir)
  if not ok then -- at the caller's line, under this function's name
    error("png_files: " .. tostring(names):gsub("^.-listdir: ", ""), 2)
  end
  local out = {}
  for _, name in ipairs(names) do
    if name:lower():match("%.png$") then out[#out + 1] = dir .. "/" .. name end
  end
  return out
end

---wb.image.steps_tiles(img, size) -> wb.Tensor, table, wb.Tensor, table
---The input and the four steps of wb.image.to_mnist (inverted, cropped,
---scaled to 20 px, centred 28x28), each fitted into size x size (default
---56), as one [5, size, size] tensor for wb.plot.images; also the tile
---labels, to_mnist's [1, 784] result and its steps table. wb.plot.images
---draws high values dark, so every tile holds 1 - brightness: the input
---shows as the file looks (black on white stays black on white), margins in
---the page's colour; the steps show what the model reads, its ink (1) white
---on black, as MNIST digits are usually shown. A dark page is not inverted:
---its second label says so ("kept: dark page").
---@param img wb.Tensor
---@param size? integer
---@return wb.Tensor tiles
---@return table labels
---@return wb.Tensor x
---@return table steps
---Example: local t, l = wb.image.steps_tiles(img)
---  wb.plot.images{tiles = t, labels = l}:save("steps.png")
function image.steps_tiles(img, size)
  args.check("steps_tiles", 1, img, "wb.Tensor")
  args.opt("steps_tiles", 2, size, "integer")
  if size and not (math.tointeger(size) and size >= 1) then
    args.input_fail("steps_tiles: size (argument #2): expected a positive integer, got " .. size, 2)
  end
  check_img(img, "steps_tiles")
  size = size or 56
  local result, st = image.to_mnist(img, {steps = true})
  local tiles = wb.zeros(5, size, size)
  local parts = {img, st.inverted, st.cropped, st.scaled, st.centred}
  for i, part in ipairs(parts) do
    -- input: margins of the page's level (a cream page, a green board too;
    -- st.background is it with the ink made bright), so the frame is
    -- invisible; the steps: margins of the model's background (0). Each
    -- inverted, as wb.plot.images draws 1 black: the input as the file
    -- looks, the steps white on black. Drawn with ink dark, the inverted
    -- step looked just like a light page's input (tryV 6).
    local page = st.light_background and 1 - st.background or st.background
    local fill = i == 1 and math.min(1, math.max(0, page)) or 0
    tiles:row(i):copy(image.invert(image.fit(part, size, size, fill)))
  end
  local labels = {"input", st.light_background and "inverted" or "kept: dark page",
    "cropped", "scaled (20 px)", "centred 28x28"}
  return tiles, labels, result, st
end

return image
