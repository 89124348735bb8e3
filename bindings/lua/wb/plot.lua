-- wb/plot.lua: figures through gnuplot (wb.plot), in pure Lua.
--
-- A constructor (wb.plot.lines, bars, heatmap, histogram, images, panels)
-- checks its options and data and returns a plot object; nothing is
-- written until :save(path) or :show(). :save("dir/name.png") writes
--   name.csv  the data, with a header row (RFC 4180),
--   name.gp   a gnuplot script that re-renders name.png from name.csv alone
--             (`cd dir && gnuplot name.gp`, or `gnuplot dir/name.gp`),
--   name.png  rendered by running that script (pngcairo, else png).
-- The CSV and script are kept even if gnuplot fails; the PNG goes to a temporary name and
-- is renamed, so a failed render leaves no half a file, nor an earlier PNG of other data.
-- Every piece of user text reaches gnuplot as a single-quoted string with
-- enhanced text off: it is drawn, never executed or expanded.
-- This is not an interactive plotting library: no windows, no mouse.
--
-- API (the options of each kind are documented beside it: wb/plot/lines.lua,
-- bars.lua, histogram.lua, listed in xy.lua)
-- and wb/plot/grid.lua; every kind also takes title, size = {w, h} in
-- pixels, extra = raw gnuplot commands, trusted, run before `plot`, and
-- comment = text heading the CSV and the script as "# " lines: where the
-- data came from, which the caller knows and wb.plot does not):
--   wb.plot.lines{xlabel, ylabel, series = {{label, x, y, err}}, logx, logy,
--                 xrange, yrange, points, smooth, smooth_by}
--   wb.plot.bars{xlabel, ylabel, labels, values, err | series, yrange, logy}
--   wb.plot.heatmap{z, xlabels, ylabels, xlabel, ylabel, counts, format,
--                   palette, zrange}
--   wb.plot.histogram{series = {{label, values}}, bins, range, density, logy}
--   wb.plot.images{tiles, rows, cols, labels, h, w, palette, scale}
--   wb.plot.panels{title, cols, plots = {p1, p2, ...}, size, comment}
--   p:save("dir/name.png") -> p, path     p:show{width, height} -> p
--   wb.plot.style (house style), wb.plot.gnuplot (program; else
--   $WB_GNUPLOT, else "gnuplot"), wb.plot.timeout (seconds, 60).
-- Data may be Lua tables or wb tensors. Non-finite numbers are written as
-- NaN and drawn as gaps. Errors name the constructor and the option.
local _ENV = require "wb.std"
local wb = require "wb"
local U, R = require "wb.plot.util", require "wb.plot.run"
local args = require "wb.args"

---wb.plot
---Figures through gnuplot: a constructor (lines, bars, heatmap, histogram,
---images, panels) checks its options and returns a wb.Plot; :save(path.png)
---writes the PNG with the CSV and gnuplot script that re-render it, :show()
---draws it as text in the terminal. wb.plot.style is the house style,
---wb.plot.gnuplot the program (else $WB_GNUPLOT, else "gnuplot"),
---wb.plot.timeout the seconds a render may take (60).
---Example: wb.plot.lines{series = {{label = "loss", y = {1, 0.5, 0.3}}}}:show()
local M = {}

-- ---------------------------------------------------------------- style
-- The house style, in one place. Colours are Okabe-Ito (colour-blind safe).
M.style = {
  font = "DejaVu Sans,11",
  title_font = ",13",
  panels_title_font = ",14",
  size = {900, 600},            -- single figure, pixels
  panel_size = {620, 460},      -- one cell of wb.plot.panels
  dumb_size = {100, 30},        -- :show(), characters
  colors = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
            "#E69F00", "#56B4E9", "#F0E442", "#000000"},
  line_width = 2,
  point_size = 0.8,
  band_alpha = 0.2,             -- mean +- err band of wb.plot.lines
  smooth_raw_alpha = 0.3,       -- the faint series under lines{smooth = k}
  hist_alpha = 0.3,             -- overlaid histograms
  text = "#222222", border = "#555555", grid = "#E3E3E3",
  -- (width 1: gnuplot sizes it by an average letter, cutting task 7's "0.9")
  key = "outside right top vertical Left reverse nobox samplen 2 spacing 1.2 width 1",
  -- Palettes: {position, colour} stops for `set palette defined`.
  sequential = {{0, "#440154"}, {0.25, "#3B528B"}, {0.5, "#21908C"},
                {0.75, "#5DC963"}, {1, "#FDE725"}},   -- viridis-like
  sequential_light_from = 0.55,  -- cell text turns black above this level
  diverging = {{-1, "#2166AC"}, {-0.5, "#92C5DE"}, {0, "#F7F7F7"},
               {0.5, "#F4A582"}, {1, "#B2182B"}},     -- blue-white-red
  diverging_dark_from = 0.6,     -- cell text turns white beyond +-this
  grey = {{0, "#FFFFFF"}, {1, "#000000"}},             -- ink on paper
  tile_frame = "#B0B0B0",        -- frame around grey image tiles
}

-- The gnuplot program: wb.plot.gnuplot, else $WB_GNUPLOT, else "gnuplot".
M.gnuplot = false -- not nil: a name of wb.plot, readable (wb.plot is strict)
-- Seconds before a gnuplot run is killed (coreutils `timeout`).
M.timeout = 60

local kinds = {}
for name, k in pairs(require "wb.plot.xy") do kinds[name] = k end
for name, k in pairs(require "wb.plot.grid") do kinds[name] = k end

-- ---------------------------------------------------------------- scripts

local function palette_cmd(stops)
  local parts = {}
  for i, s in ipairs(stops) do parts[i] = U.num(s[1]) .. " " .. U.q(s[2]) end
  return "set palette defined (" .. table.concat(parts, ", ") .. ")"
end

-- Settings every figure (and every panel, after `reset`) starts from.
local function preamble(style, dumb)
  local L = {"set datafile separator comma"}
  for i, c in ipairs(style.colors) do
    L[#L + 1] = string.format("set linetype %d lc rgb %s lw %s pt 7 ps %s", i,
      U.q(c), U.num(style.line_width), U.num(style.point_size))
  end
  L[#L + 1] = "set linetype cycle " .. #style.colors
  L[#L + 1] = "set border 3 lc rgb " .. U.q(style.border) .. " lw 1"
  L[#L + 1] = "set tics nomirror out scale 0.5 textcolor rgb " .. U.q(style.text)
  if not dumb then   -- in characters a grid would drown the curves
    L[#L + 1] = "set grid back lt 1 lc rgb " .. U.q(style.grid) .. " lw 1 dt 1"
  end
  L[#L + 1] = "set key " .. style.key .. " textcolor rgb " .. U.q(style.text)
  L[#L + 1] = "set title textcolor rgb " .. U.q(style.text)
  L[#L + 1] = "set style fill solid 1.0 noborder"
  L[#L + 1] = "set pointintervalbox 0"     -- no hole in error bars at the point
  return L
end

-- The option comment (where the data came from: the caller's provenance)
-- as "# " lines, heading the CSV and the script; "" without one. A control
-- character is shown as "?", and no line ends in a backslash (gnuplot
-- would read the next line as the comment's).
local function comment_of(d)
  if not d.comment then return "" end
  local out = {}
  for line in (d.comment .. "\n"):gmatch("([^\n]*)\n") do
    out[#out + 1] = "# " .. line:gsub("%c", "?"):gsub("\\$", "\\ ") .. "\n"
  end
  return table.concat(out)
end

-- Context handed to a kind's body(): names and sizes it may need. skip:
-- the lines before the CSV's first record, its comment's and the header
-- (a kind's `skip ctx.skip`): gnuplot's skip counts comment lines too, so
-- `skip 1` under a comment read the header as a record (a bar chart one
-- category off, a line plot's header a point where a label began with a
-- digit: audit T1).
local function context(csv, size, dumb, d)
  local _, comments = comment_of(d or {}):gsub("\n", "")
  return {style = M.style, csv = csv, width = size[1], height = size[2],
          dumb = dumb, q = U.q, num = U.num, palette = palette_cmd, skip = comments + 1}
end

-- A panels figure's title as a gnuplot string, wrapped to the figure's px
-- (U.title_lines, at the panels' 14 pt, not 13): one panel's 620 px cut a
-- cockpit's long title at both sides (tryM 5). One line as before.
local function panels_title(title, px, dumb)
  local parts = {}
  for i, l in ipairs(U.title_lines(title, px * 13 // 14, dumb)) do parts[i] = U.q(l) end
  return table.concat(parts, ' . "\\n" . ')
end

-- Lines of a whole script. `term` is "png" (with an `outfile` default) or
-- "dumb"; `name` is the basename without extension.
local function script(p, name, term, size)
  local safe = name:gsub("[^%w%._%-]", "?")
  local L = {
    "# " .. safe .. ".gp: written by wb.plot (workbench " .. tostring(wb.version)
      .. "), a " .. p.kind .. " figure.",
  }
  if p.d.comment then L[#L + 1] = comment_of(p.d):sub(1, -2) end
  if term == "png" then
    L[#L + 1] = "# Re-renders " .. safe .. ".png from the CSV beside it, with gnuplot alone:"
    L[#L + 1] = "#   gnuplot " .. safe .. ".gp     (from any folder)"
    L[#L + 1] = "#   gnuplot -c " .. safe .. ".gp other.png   (writes other.png)"
    L[#L + 1] = "_dir = ''"
    L[#L + 1] = "do for [_i = strlen(ARG0):1:-1] { if (_dir eq '' && ARG0[_i:_i] eq '/') "
      .. "{ _dir = ARG0[1:_i] } }"
    L[#L + 1] = "if (_dir ne '') { cd _dir }"
    L[#L + 1] = "outfile = " .. U.q(name .. ".png")
    L[#L + 1] = "if (ARGC >= 1) { outfile = ARG1 }"
    L[#L + 1] = "set encoding utf8"
    local opts = string.format("size %d,%d font %s noenhanced", size[1], size[2],
      U.q(M.style.font))
    L[#L + 1] = "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {"
    L[#L + 1] = "  set terminal pngcairo " .. opts
    L[#L + 1] = "} else {"
    L[#L + 1] = "  set terminal png " .. opts
    L[#L + 1] = "}"
    L[#L + 1] = "set output outfile"
  else
    L[#L + 1] = "set encoding utf8"
    L[#L + 1] = string.format("set terminal dumb size %d,%d noenhanced", size[1], size[2])
  end
  local ctx = context(name .. ".csv", size, term == "dumb", p.d)
  if p.kind == "panels" then
    local d = p.d
    local head = string.format("set multiplot layout %d,%d", d.rows, d.cols)
    if d.title then head = head .. " title " .. panels_title(d.title, size[1], term == "dumb")
      .. " font " .. U.q(M.style.panels_title_font) end
    L[#L + 1] = head
    for i, sub in ipairs(d.plots) do
      local sctx = context(string.format("%s-%d.csv", name, i),
        {size[1] // d.cols, size[2] // d.rows}, term == "dumb", sub.d.comment and sub.d or d)
      L[#L + 1] = "reset"
      for _, s in ipairs(preamble(M.style, term == "dumb")) do L[#L + 1] = s end
      for _, s in ipairs(kinds[sub.kind].body(sub.d, sctx)) do L[#L + 1] = s end
    end
    L[#L + 1] = "unset multiplot"
  else
    for _, s in ipairs(preamble(M.style, term == "dumb")) do L[#L + 1] = s end
    for _, s in ipairs(kinds[p.kind].body(p.d, ctx)) do L[#L + 1] = s end
  end
  if term == "png" then L[#L + 1] = "unset output" end
  L[#L + 1] = ""
  return table.concat(L, "\n")
end

-- Data files of a plot: array of {filename, text}.
local function data_files(p, name)
  if p.kind ~= "panels" then
    return {{name .. ".csv", comment_of(p.d) .. kinds[p.kind].csv(p.d)}}
  end
  local files, rows = {{name .. ".csv"}}, {}
  for i, sub in ipairs(p.d.plots) do
    local f = string.format("%s-%d.csv", name, i)
    -- a panel without its own comment takes the figure's
    files[#files + 1] = {f, comment_of(sub.d.comment and sub.d or p.d) .. kinds[sub.kind].csv(sub.d)}
    rows[i] = {i, sub.kind, sub.d.title or "", f}
  end
  files[1][2] = comment_of(p.d) .. U.csv({"panel", "kind", "title", "csv"}, rows)
  return files
end

-- ---------------------------------------------------------------- objects

local Plot = {}
Plot.__index = Plot

---wb.Plot
---A figure ready to draw: its kind and data, checked. Nothing is written
---until :save or :show; tostring gives "Plot(lines, \"title\")".
---Example: local p = wb.plot.bars{labels = {"a"}, values = {1}}; print(p)
function Plot:__tostring()
  local t = self.d.title
  return string.format("Plot(%s%s)", self.kind, t and (", " .. string.format("%q", t)) or "")
end

local files_mod = require "wb.plot.files" -- save's path, whether a figure is drawn already
local split_path, UNDRAWN, drawn = files_mod.split_path, files_mod.UNDRAWN, files_mod.drawn

local function size_of(p)
  if p.d.size then return p.d.size end
  return kinds[p.kind].size(p.d, M.style)
end

---wb.Plot:save(path) -> wb.Plot, string
---Writes dir/name.csv (the data; panels' name-1.csv ... too, an earlier save's past the
---last removed), dir/name.gp (a gnuplot script that re-renders the PNG from the CSV
---alone) and renders dir/name.png (pngcairo, else png); creates dir. Raises on any
---failure, keeping the CSV and script but no PNG (neither half of one nor an earlier
---figure's). When the PNG, CSV and script on disk are already exactly this figure's,
---nothing is rewritten or redrawn. Returns the plot and the path.
---@param path string
---@return wb.Plot
---@return string
---Example: run:plot("loss"):save("plots/lab/loss.png")
function Plot:save(path)
  local ok, dir, name = pcall(split_path, path)
  if not ok then error(dir, 2) end
  local ok2, err = pcall(function()
    local files, gp = data_files(self, name), script(self, name, "png", size_of(self))
    if self.kind == "panels" then files_mod.drop_panels(dir, name, #self.d.plots) end
    if drawn(dir, name, files, gp) then return end
    R.mkdir_p(dir)
    for _, f in ipairs(files) do R.write_file(dir .. "/" .. f[1], f[2]) end
    R.write_file(dir .. "/" .. name .. ".gp", gp .. UNDRAWN)
    os.remove(dir .. "/" .. name .. ".png") -- of other data: not beside this CSV if not drawn
    local tmp = string.format(".%s.%d.%d%06d.tmp.png", name, wb.sys.getpid(), os.time(),
      math.random(0, 999999))
    local rok, rerr = pcall(R.run, dir, name .. ".gp", tmp, nil, path, M)
    local tmppath = dir .. "/" .. tmp
    if not rok then os.remove(tmppath); error(rerr, 0) end
    -- exit 0 and a file are not a figure: text or half a PNG was renamed
    -- into place and counted drawn; the .gp keeps its "not drawn" line
    local pok, bad = pcall(R.png_problem, tmppath) -- out of memory: raised as is
    if not pok then os.remove(tmppath); error(bad, 0) end
    if bad then
      os.remove(tmppath)
      error(string.format("wb.plot: gnuplot (%s) exited 0, but the image it wrote for %s %s: "
        .. "not drawn", R.program(M), path, bad), 0)
    end
    local mok, merr = os.rename(tmppath, dir .. "/" .. name .. ".png")
    if not mok then os.remove(tmppath); error("wb.plot: " .. tostring(merr), 0) end
    R.write_file(dir .. "/" .. name .. ".gp", gp)
  end)
  if not ok2 then error(err, 2) end
  return self, path
end

---wb.Plot:show(opts) -> wb.Plot
---Draws the figure as text on stdout (gnuplot's dumb terminal), for the
---REPL. opts: width, height in characters (default wb.plot.style.dumb_size,
---100 x 30). An images figure is drawn by wb: tiles of glyphs by level, "|"
---between, a key line under them (wb.plot.images); colours only in the PNG.
---@param opts? table
---@return wb.Plot
---Example: wb.lab.weight_grid(m, {units = 8}):show{width = 120, height = 40}
function Plot:show(opts)
  args.opt("show", 1, opts, "table")
  opts = opts or {}
  local ok, err = pcall(function()
    U.check_show(opts)
    local size = {math.tointeger(opts.width) or M.style.dumb_size[1],
                  math.tointeger(opts.height) or M.style.dumb_size[2]}
    if self.kind == "images" then -- its tiles in cells of their own (wb/plot/images_text.lua)
      io.write(require("wb.plot.images_text")(self.d, size))
      io.stdout:flush()
      return
    end
    local dir = require("wb.util").tmpname("dir") -- in $TMPDIR, else /tmp
    local out = dir .. "/out.txt"
    local rok, rerr = pcall(function()
      for _, f in ipairs(data_files(self, "plot")) do R.write_file(dir .. "/" .. f[1], f[2]) end
      R.write_file(dir .. "/plot.gp", script(self, "plot", "dumb", size))
      R.run(dir, "plot.gp", nil, out, "show", M)
    end)
    local text = R.slurp(out)
    os.execute("rm -rf " .. U.sh(dir))
    if not rok then error(rerr, 0) end
    -- without the form feed gnuplot's dumb terminal starts a page with: a
    -- terminal or a pager showed it as ^L or a cleared screen (tryM 15)
    io.write((text:gsub("^\f", "")))
    io.stdout:flush()
  end)
  if not ok then error(err, 2) end
  return self
end

-- Common options every kind accepts.
local common = {"title", "size", "extra", "comment"}

local function constructor(kind_name)
  local K = kinds[kind_name]
  local keys = {}
  for _, k in ipairs(common) do keys[#keys + 1] = k end
  for _, k in ipairs(K.keys) do keys[#keys + 1] = k end
  return function(opts)
    args.check(kind_name, 1, opts, "table")
    local ok, d = pcall(function()
      U.check_keys(opts, keys)
      local dd = K.prepare(opts)
      dd.title = U.text(opts.title, "title")
      dd.size = U.size(opts.size, "size")
      dd.extra = U.extra(opts.extra, "extra")
      dd.comment = U.text(opts.comment, "comment")
      return dd
    end)
    if not ok then U.reraise("wb.plot." .. kind_name .. ": ", d, 2) end
    return setmetatable({kind = kind_name, d = d}, Plot)
  end
end

for name in pairs(kinds) do M[name] = constructor(name) end

---wb.plot.panels{title, cols, plots, size, comment} -> wb.Plot
---Several plot objects side by side in one figure (gnuplot multiplot), row
---by row: plots = {p1, p2, ...}, cols (default 2, at most #plots), title,
---size = {w, h} pixels, comment (heads the index CSV, the script and each
---panel's CSV that has none of its own, as "# " lines). Panels do not nest.
---@param opts table
---@return wb.Plot
---Example: wb.plot.panels{plots = {run:plot("loss"), run:plot("accuracy")}}:save("p.png")
function M.panels(opts)
  args.check("panels", 1, opts, "table")
  local ok, d = pcall(function()
    U.check_keys(opts, {"title", "cols", "plots", "size", "comment"})
    local plots = opts.plots
    if type(plots) ~= "table" or #plots == 0 then
      error("plots: expected a non-empty array of plot objects", 0)
    end
    for i, p in ipairs(plots) do
      if getmetatable(p) ~= Plot then
        error(string.format("plots[%d]: expected a wb.plot object, got %s", i, type(p)), 0)
      end
      if p.kind == "panels" then error(string.format("plots[%d]: panels cannot nest", i), 0) end
    end
    local cols = opts.cols or math.min(#plots, 2)
    if math.type(cols) ~= "integer" or cols < 1 then
      error("cols: expected a positive integer", 0)
    end
    cols = math.min(cols, #plots)
    local rows = (#plots + cols - 1) // cols
    return {title = U.text(opts.title, "title"), cols = cols, rows = rows,
            plots = plots, size = U.size(opts.size, "size"), comment = U.text(opts.comment, "comment")}
  end)
  if not ok then U.reraise("wb.plot.panels: ", d, 2) end
  return setmetatable({kind = "panels", d = d}, Plot)
end

kinds.panels = {
  size = function(d, style)
    local w = style.panel_size[1] * d.cols
    return {w, style.panel_size[2] * d.rows
      + (d.title and 20 + 20 * #U.title_lines(d.title, w * 13 // 14) or 0)}
  end,
}

M.Plot = Plot
wb.plot = M
return M
