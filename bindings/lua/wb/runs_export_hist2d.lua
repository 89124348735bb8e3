-- wb/runs_export_hist2d.lua: wb.runs.export_grad_hist_2d, the runs'
-- history.instruments.grad_hist_2d (Cockpit's GradHist2d: per measured step,
-- per-sample gradient entries against their parameter's value) as a long
-- CSV of its non-empty bins. The conventions and helpers are
-- wb/runs_export.lua's and wb/runs_export_steps.lua's (a run without the
-- data named on stderr and its hash returned; none with any: an error and
-- nothing written). Reads records only.
local _ENV = require "wb.std"
local runs = require "wb.runs"
local argcheck = require("wb.runs_group").argcheck
local csv = runs._csv
local records_of, cell, configs, write = csv.records_of, csv.cell, csv.configs, csv.write
local id_head, id_cells, maxn = csv.id_head, csv.id_cells, csv.maxn
local with_rows, hist_of, hist_steps = csv.with_rows, csv.hist_of, csv.hist_steps

local M = runs
local KEYS = {"x_lo", "x_hi", "x_bins", "y_lo", "y_hi", "y_bins"}
local WHAT = "grad_hist_2d (history.instruments.grad_hist_2d: instruments with "
  .. "grad_hist_2d, or full, in the config)"

-- The measured steps of r's grad_hist_2d (0 without one; a malformed one
-- an error, wb/runs_export_steps.lua's hist_steps).
local function n_hist2d(r)
  return hist_steps(r, "grad_hist_2d", "export_grad_hist_2d", KEYS, {"x_bins", "y_bins"})
end

---wb.runs.export_grad_hist_2d(path, runs_or_dir) -> integer, table
---Writes the runs' grad_hist_2d (history.instruments.grad_hist_2d:
---Cockpit's GradHist2d, per measured step the counts of the per-sample
---gradient entries, x, against their parameter's value at the step's
---start, y: x_bins = 40 equal bins over [x_lo, x_hi) = [-1, 1) by y_bins =
---50 over [y_lo, y_hi) = [-2, 2), the outside in the end bins) to path as a
---long CSV that pandas reads as it is: one row per run, measured step and
---non-empty bin (a step's 2000 bins are mostly empty). Columns: hash, task,
---variant, label, seed, group_key, status and the config flattened to
---columns (as export_grad_hist's), step, x_lo, x_hi, x_bins, y_lo, y_hi,
---y_bins, x, y (1-based bin numbers: x covers [x_lo + (x-1) w, x_lo + x w)
---with w = (x_hi - x_lo) / x_bins, y likewise), count. A step's image:
---d[d.step == s].pivot(index = "y", columns = "x", values = "count"),
---empty bins NaN (fillna(0)). Runs without grad_hist_2d have no rows: they
---are named on stderr and their hashes returned second; when no run has
---any, it is an error and nothing is written (so is a malformed
---grad_hist_2d). runs_or_dir: a runs folder (default <plots>/runs; an
---error if it does not exist), a wb.Runs or a list of records. Returns the
---number of rows written and the list of skipped runs' hashes.
---@param path string
---@param runs_or_dir? string|wb.Runs|table
---@return integer
---@return string[]
---Example: wb.runs.export_grad_hist_2d("hist2d.csv", wb.runs.find{task = "task11_cockpit"})
function M.export_grad_hist_2d(path, runs_or_dir)
  argcheck(type(path) == "string", 1, "export_grad_hist_2d", "string", path)
  local recs, where, label = records_of(runs_or_dir, "export_grad_hist_2d")
  local keep, _, skipped = with_rows(recs, where, "export_grad_hist_2d", n_hist2d, WHAT)
  local flat, ckeys = configs(keep)
  local head = {"step"}
  for _, k in ipairs(KEYS) do head[#head + 1] = k end
  for _, k in ipairs{"x", "y", "count"} do head[#head + 1] = k end
  local lines, n = {id_head(ckeys, head)}, 0
  for i, r in ipairs(keep) do
    local prefix, g = id_cells(r, flat[i], ckeys, label), hist_of(r, "grad_hist_2d")
    local bins = {}
    for q, k in ipairs(KEYS) do bins[q] = cell(g[k]) end
    bins = table.concat(bins, ",")
    local ny = math.tointeger(g.y_bins)
    for j = 1, maxn(g.counts) do
      local c, step = g.counts[j], cell(g.step[j])
      for b = 1, #c do
        if c[b] ~= 0 then
          lines[#lines + 1] = string.format("%s,%s,%s,%d,%d,%s", prefix, step, bins,
            (b - 1) // ny + 1, (b - 1) % ny + 1, cell(c[b]))
          n = n + 1
        end
      end
    end
  end
  write(path, lines, "export_grad_hist_2d")
  return n, skipped
end

-- no return value: package.loaded keeps true, so a traceback names the
-- functions after the module they extend, not after this file
