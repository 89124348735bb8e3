---@meta
-- bindings/lua/meta/image.lua: the C API of bindings/l_image.c, PNG files and
-- image preprocessing of wb.image.
-- Hand-written Lua language-server annotations, and the one source of
-- these names' help text: help() reads the `---` blocks as it reads the Lua
-- modules' (format: bindings/lua/wb/help.lua). Never run: bodies are empty.

---wb.image.max_side
---@type integer
---The largest side, in pixels, of an image wb.image loads, saves or
---resizes (core/png.h: a PNG whose header claims more, or more than 64
---Mpixels, is refused before anything is allocated; wb.image.save refuses
---what could not be loaded back).
---Example: print(wb.image.max_side) --> 16384
wb.image.max_side = 0

---wb.image.load(path) -> wb.Tensor
---Reads a PNG (any colour type and bit depth; alpha composited on white) as
---a float32 [h, w] grey image in [0, 1]: samples / (2^depth - 1) as stored
---(gAMA, sRGB and ICC profiles are ignored), colour as 0.299 R + 0.587 G +
---0.114 B, then a * grey + (1 - a). Errors name the file and the reason
---("x.png: truncated: ...").
---@param path string
---@return wb.Tensor
---Example: local img = wb.image.load("digit.png")
function wb.image.load(path) end

---wb.image.save(t, path)
---Writes t as an 8-bit PNG: [h, w] grey or [h, w, 3] RGB, float32 values in
---[0, 1] (uint8 as is). Non-finite or out-of-range values are an error
---naming the first one's row, column and value (never clamped: data in
---0..255 is t / 255); so is a path not ending in .png (any case).
---@param t wb.Tensor
---@param path string
---Example: wb.image.save(wb.image.invert(img), "inverted.png")
function wb.image.save(t, path) end

---wb.image.to_mnist(img, opts) -> wb.Tensor, table
---Preprocesses a grey image [h, w] the way MNIST was made: background
---removed and ink made bright (inverting a light background), cropped to
---the ink's bounding box (pixels above 0.1 of the ink's maximum; a small
---speck or noise away from the digit is left out of the box), scaled so
---the longer side is 20 pixels, centred by centre of mass in 28 x 28, and
---divided by its maximum. Returns [1, 784] ready for model:predict;
---with opts.steps = true also a table of the steps (inverted, cropped,
---scaled, centred tensors; light_background, background, bbox, offset).
---Pixels are in [0, 1], as load gives them: a NaN or one outside is an
---error naming it (a 0..255 image: divide it by 255). So is "no digit
---found": ink of too little contrast, or an ink box under 5 px on its
---longer side (a dot or one dark pixel; the smallest pixel fonts draw
---digits 3x5), which would be enlarged to a 20 px block; a loaded image's
---error names its file.
---@param img wb.Tensor
---@param opts? table
---@return wb.Tensor
---@return table steps
---Example: local x = wb.image.to_mnist(wb.image.load("digit.png"))
---   print(math.tointeger(model:predict(x):argmax(2):get(1)) - 1) -- the class: 7, not 7.0
function wb.image.to_mnist(img, opts) end

---wb.image.resize(img, h, w, opts) -> wb.Tensor
---A resized copy of a grey image [h0, w0]. opts.method: "area" (averages
---the covered pixels; the default when neither side grows) or "bilinear"
---(the default when a side grows, for both sides: give method = "area" to
---shrink one side without aliasing while the other grows).
---@param img wb.Tensor
---@param h integer
---@param w integer
---@param opts? table
---@return wb.Tensor
---Example: local small = wb.image.resize(img, 28, 28)
function wb.image.resize(img, h, w, opts) end

---wb.image.invert(img) -> wb.Tensor
---1 - img, as a new image (dark ink on light paper becomes light on dark).
---img's values must be in [0, 1], as wb.image.load gives them (a 0..255
---image is an error naming its first pixel outside: divide it by 255).
---@param img wb.Tensor
---@return wb.Tensor
---Example: local inv = wb.image.invert(img)
function wb.image.invert(img) end

---wb.image.crop(img, y, x, h, w) -> wb.Tensor
---The h x w region with top-left corner at row y, column x (1-based) as a
---new image; a region outside the image is an error giving both.
---@param img wb.Tensor
---@param y integer
---@param x integer
---@param h integer
---@param w integer
---@return wb.Tensor
---Example: local c = wb.image.crop(img, wb.image.bbox(img, 0.5))
function wb.image.crop(img, y, x, h, w) end

---wb.image.bbox(img, level) -> integer, integer, integer, integer
---The bounding box y, x, h, w (1-based top-left corner) of the pixels
---brighter than level (default 0).
---@param img wb.Tensor
---@param level? number
---@return integer y
---@return integer x
---@return integer h
---@return integer w
---Example: print(wb.image.bbox(x:reshape(28, 28)))
function wb.image.bbox(img, level) end

---wb.image.centre_of_mass(img) -> number, number
---The intensity-weighted centre y, x of an image (1-based, fractional).
---@param img wb.Tensor
---@return number y
---@return number x
---Example: print(wb.image.centre_of_mass(x:reshape(28, 28)))
function wb.image.centre_of_mass(img) end

---wb.image.rgb(r, g, b) -> wb.Tensor
---An RGB image [h, w, 3] from three grey images [h, w] (one given: used
---for all three channels), for wb.image.save.
---@param r wb.Tensor
---@param g? wb.Tensor
---@param b? wb.Tensor
---@return wb.Tensor
---Example: wb.image.save(wb.image.rgb(img, img * 0, img * 0), "red.png")
function wb.image.rgb(r, g, b) end
