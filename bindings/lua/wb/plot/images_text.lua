-- wb/plot/images_text.lua: an images figure (wb.plot.images, wb.lab.weight_grid)
-- as text, for Plot:show.
--
-- gnuplot's dumb terminal drew each tile in whatever cells its pixels fell
-- in: the 4-pixel gaps between 28x28 tiles took less than a character, the
-- last pixel in a cell won, and two rows of tiles read as one block of
-- characters (tryM 15). Here each tile gets whole cells of its own, its
-- aspect kept (a terminal cell is about twice as tall as wide: a 28x28 tile
-- is twice as many columns as rows), a column of "|" (in neither ramp:
-- a blank one was lost among a tile of weights' own blanks, the ramp's 0)
-- and a blank row between tiles, and each cell is the scaled pixel at its middle (a mean
-- of a tile of random weights was all 0, blank; a non-finite one: blank),
-- as a smaller PNG would be sampled. The ramps are those the
-- help names: " .:-=+*#%@" from 0 to 1, "=- +#" from -1 to 1 (diverging),
-- said in a key line under the tiles (without it the glyphs read as noise:
-- tryV 8). The PNG (:save) is gnuplot's, unchanged.
local _ENV = require "wb.std"
local U = require "wb.plot.util"

-- The character for a scaled value v: the ramp's, by level.
local function char(d, v)
  local ramp = d.palette == "diverging" and "=- +#" or " .:-=+*#%@"
  local lo = d.palette == "diverging" and -1 or 0
  local k = math.floor((v - lo) / (1 - lo) * (#ramp - 0.001)) + 1
  k = math.max(1, math.min(#ramp, k))
  return ramp:sub(k, k)
end

-- Tile size in cells (tw columns, th rows) for a figure width x height
-- characters of which `head` rows are taken: the largest th whose tiles,
-- 2 * th * w / h columns wide, fit with their gaps (and a caption row under
-- each row of tiles when labelled); at least one cell each way.
local function tile_size(d, width, height, head)
  local cap = d.labels and 1 or 0
  local best_w, best_h = math.max(1, math.floor(2 * d.w / d.h + 0.5)), 1
  for th = 1, 2 * d.h do
    local tw = math.max(1, math.floor(2 * th * d.w / d.h + 0.5))
    if d.cols * (tw + 1) - 1 > width or d.rows * (th + cap + 1) - 1 > height - head then break end
    best_w, best_h = tw, th
  end
  return best_w, best_h
end

-- Tile t's scaled pixel at the middle of a cell: (cy, cx) in pixels from
-- the top left; nil when not finite.
local function pixel(d, t, cy, cx)
  local y, x = math.min(d.h - 1, math.floor(cy)), math.min(d.w - 1, math.floor(cx))
  local v = t[y * d.w + x + 1]
  if v and v == v and v > -math.huge and v < math.huge then return v end
  return nil
end

-- The key line: what each glyph stands for, and what it is scaled to.
local function key(d)
  local each = d.scale == "tile" -- (no "|" in it: that is the tiles' separator)
  if d.palette == "diverging" then
    -- the ramp's cut points: -1 + 2 k / 5 (char's levels)
    return string.format('key: "=" -1 to -0.6, "-" to -0.2, " " to 0.2, "+" to 0.6, "#" to 1 '
      .. "(of %s max abs value)", each and "each tile's" or "all tiles'")
  end
  return string.format('key: " .:-=+*#%%@" from low to high (in the PNG white to black), '
    .. "%s", each and "each tile from its own min to max" or "one scale for all tiles")
end

-- The figure's text (lines ending in "\n") for size {width, height} in characters.
return function(d, size)
  local width, height = size[1], size[2]
  local out = {}
  if d.title then
    for _, l in ipairs(U.title_lines(d.title, width * 9 + 20)) do
      out[#out + 1] = string.rep(" ", math.max(0, (width - #l) // 2)) .. l
    end
    out[#out + 1] = ""
  end
  local tw, th = tile_size(d, width, height, #out + 2) -- (+ the key and a blank above it)
  for r = 0, d.rows - 1 do
    if r > 0 then out[#out + 1] = "" end
    for y = 0, th - 1 do
      local line = {}
      for c = 0, d.cols - 1 do
        local t = d.scaled[r * d.cols + c + 1]
        local cells = {}
        for x = 0, tw - 1 do
          local v = t and pixel(d, t, (y + 0.5) * d.h / th, (x + 0.5) * d.w / tw)
          cells[x + 1] = v and char(d, v) or " "
        end
        line[c + 1] = table.concat(cells)
      end
      out[#out + 1] = (table.concat(line, "|"):gsub("%s+$", ""))
    end
    if d.labels then
      local caps = {}
      for c = 0, d.cols - 1 do
        local l = (d.labels[r * d.cols + c + 1] or ""):gsub("%c", " "):sub(1, tw)
        local left = (tw - #l) // 2
        caps[c + 1] = string.rep(" ", left) .. l .. string.rep(" ", tw - #l - left)
      end
      out[#out + 1] = (table.concat(caps, " "):gsub("%s+$", ""))
    end
  end
  out[#out + 1] = ""
  out[#out + 1] = key(d)
  return table.concat(out, "\n") .. "\n"
end
