-- wb/plot/xy.lua: the x-y figure kinds of wb.plot: lines, bars, histogram,
-- one file each (wb/plot/lines.lua, bars.lua, histogram.lua), with the
-- gnuplot lines they share in wb/plot/axes.lua; this file gathers them.
--
-- Each kind is a table {keys, prepare, csv, body, size} used by wb/plot.lua:
--   prepare(opts) -> d   checks the kind's options (raising error(msg, 0))
--                        and returns the data it will draw;
--   csv(d)        -> the CSV text (header row first);
--   body(d, ctx)  -> gnuplot lines after the terminal and house preamble;
--                    ctx.csv is the CSV file name, ctx.width/height pixels;
--   size(d, style)-> default {width, height} in pixels.
-- Columns are referred to by number in the scripts, never by header name,
-- so any text can go in a header. Series k is drawn in linetype k (the
-- house colour k).
local _ENV = require "wb.std"
return {
  lines = require "wb.plot.lines",
  bars = require "wb.plot.bars",
  histogram = require "wb.plot.histogram",
}
