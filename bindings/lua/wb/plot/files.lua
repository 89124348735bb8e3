-- wb/plot/files.lua: the files of Plot:save (wb/plot.lua): the path it is
-- given, checked and split, and whether a figure on disk is already this
-- one's drawing (a cached report runs no gnuplot).
local _ENV = require "wb.std"
local R = require "wb.plot.run"
local args = require "wb.args"

local M = {}

-- A path as %q shows it, but on one line: a newline as \n.
function M.quoted(path)
  return (string.format("%q", path):gsub("\\\n", "\\n"))
end

function M.split_path(path)
  if type(path) ~= "string" then
    error("bad argument #1 to 'save' (string expected, got " .. args.typename(path) .. ")", 0)
  end
  -- A control character would break the generated gnuplot script's lines
  -- (and a terminal showing the path), so it is refused whatever follows.
  local c = path:match("%c")
  if c then
    error(string.format("wb.plot: save: the path contains a %s: %s",
      c == "\n" and "newline" or "control character", M.quoted(path)), 0)
  end
  if not path:find("%.png$") then
    error("wb.plot: save: expected a path ending in .png, got " .. M.quoted(path), 0)
  end
  local dir, base = path:match("^(.*)/([^/]*)$")
  if not dir then dir, base = ".", path end
  if dir == "" then dir = "/" end
  local name = base:sub(1, -5)
  if name == "" then error("wb.plot: save: empty file name in " .. path, 0) end
  return dir, name
end

-- Until its PNG is in place, a figure's script on disk ends with this line,
-- so that a render that failed or was interrupted is never taken for a
-- finished one by drawn().
M.UNDRAWN = "# (not drawn yet: wb.plot removes this line once the PNG is in place)\n"

-- Whether dir/name.png is the drawing of exactly these data files and
-- script (each equal on disk, the script without the UNDRAWN mark): saving
-- again would redraw the same picture, so a cached report runs no gnuplot.
function M.drawn(dir, name, files, gp)
  local fh = io.open(dir .. "/" .. name .. ".png", "rb")
  if not fh then return false end
  local size = fh:seek("end")
  fh:close()
  if not size or size == 0 or R.slurp(dir .. "/" .. name .. ".gp") ~= gp then return false end
  for _, f in ipairs(files) do
    if R.slurp(dir .. "/" .. f[1]) ~= f[2] then return false end
  end
  return true
end

-- Removes dir/name-k.csv for k past n, the panels an earlier save of the
-- figure had and this one has not (task 2 with a file fewer): they stayed
-- beside it, named as its panels.
function M.drop_panels(dir, name, n)
  local k = n + 1
  while os.remove(string.format("%s/%s-%d.csv", dir, name, k)) do k = k + 1 end
end

return M
