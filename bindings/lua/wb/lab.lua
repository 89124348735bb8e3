-- wb/lab.lua: looking at trained weights from the REPL (the "lab bench").
--
--   local r0 = wb.runs.find{task = "task05_dropout", dropout = 0, seed = 1}[1]
--   wb.stats(r0:model())                       per-layer weight statistics
--   wb.lab.weight_grid(r0:model()):show()      first-layer weights as images
--   wb.lab.compare_weights(wb.runs.find{task = "task05_dropout"}, 1):save(..)
--
-- Layer numbers here count the layers that have weights (Dense layers):
-- layer 1 is the first Dense layer whatever comes before it, so models with
-- and without a Dropout layer compare like for like. Everything reads the
-- weights only; nothing here changes a model. A Run object (wb.runs.find)
-- is accepted wherever a model is and stands for its final weights.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local args = require "wb.args"
-- a mistake in the call: printed alone, at the caller's line, no traceback
local fail = args.input_fail
local pretty = require "wb.pretty"

---wb.lab
---Looking at trained weights from the REPL: per-layer statistics
---(wb.stats), dead ReLU units, the first layer's weights as a grid of
---images, and histograms of a layer's weights across runs. Layer numbers
---count Dense layers (1 = the first), so models with and without Dropout
---compare like for like. A Run (wb.runs.find) stands for its model.
---Example: local r = wb.runs.find{task = "task05_dropout", dropout = 0.3}[1]
---  print(wb.stats(r)); wb.lab.weight_grid(r, {units = 16}):show()
local M = {}

local U = require "wb.lab_util" -- the argument checks and helpers
local check_model, model_of, dense_layers, dense = U.check_model, U.model_of, U.dense_layers,
  U.dense
local check_opts, positive_int, check_width = U.check_opts, U.positive_int, U.check_width
local is_dataset, is_list, flat = U.is_dataset, U.is_list, U.flat

-- {==================== per-layer statistics ====================

---wb.Stats
---The result of wb.stats: an array of rows, one per parameter tensor, each
---{layer, index, name, param, shape, n, mean, std, min, max, near_zero,
---norm [, dead, units]}, plus threshold; tostring is an aligned table.
---Example: local s = wb.stats(m); for _, r in ipairs(s) do print(r.param, r.norm) end
local Stats = {__name = "wb.Stats"}
Stats.__index = Stats

M.near_zero = 1e-3 -- default threshold of the near-zero fraction

local function tensor_stats(t, eps)
  local xs = flat(t)
  local small = 0
  for _, x in ipairs(xs) do if math.abs(x) < eps then small = small + 1 end end
  return {n = #xs, mean = t:mean(), std = t:std(), min = t:min(), max = t:max(),
    near_zero = #xs > 0 and small / #xs or 0, norm = t:norm(), shape = t:shape()}
end

---wb.stats(model, opts) -> wb.Stats
---Per-layer statistics of a model's weights: one row per parameter tensor
---(each Dense layer's weight, then its bias) with mean, std (population),
---min, max, near_zero (the fraction of entries with |w| < threshold,
---default 1e-3: about 1/50 of the typical Glorot scale of 784 -> 128, so
---"pruned-looking" weights) and norm (L2). Rows also carry layer (1 = first
---Dense layer), index (position in the Sequential), name and param. With
---opts.data (a dataset), a ReLU layer's weight row also gets dead: the
---number of its units that never activate on the first opts.n (10000)
---samples (wb.lab.dead_units; not counted when a weight is NaN or
---infinite, which the rows show). tostring gives an aligned table; the
---result indexes like an array of rows. `model` may also be a Run.
---@param model wb.Sequential|wb.Run
---@param opts? table
---@return wb.Stats
---Example: local s = wb.stats(m, {data = wb.data.mnist().test})
---  print(s); print(s[1].near_zero)
function wb.stats(model, opts)
  check_model(model, "stats")
  args.opt("stats", 2, opts, "table")
  opts = opts or {}
  opts = check_opts("wb.stats", 2, opts, {"data", "n", "threshold"},
    {data = {is_dataset, "wb.Dataset"},
    n = {positive_int, "a positive integer"},
    threshold = {function(v) return type(v) == "number" and v >= 0 end, "a number >= 0"}})
  if opts.data and #opts.data == 0 then -- no rows: every unit would count dead
    fail("wb.stats: opts.data: expected at least 1 row, got an empty dataset", 2)
  end
  if opts.n and not opts.data then -- n counts rows of data: alone it did nothing
    fail("wb.stats: opts.n: the rows of opts.data the dead units are counted on; give "
      .. "opts.data too", 2)
  end
  local m, label = model_of(model, "stats")
  if opts.data then check_width("wb.stats", "opts.data", m, opts.data) end
  local eps = opts.threshold or M.near_zero
  -- NaN weights show as NaN rows; dead units are not counted through them
  local finite = true
  for _, p in ipairs((m:parameters())) do finite = finite and args.finite(p:sum()) end
  local st = setmetatable({threshold = eps, label = label, has_dead = opts.data ~= nil},
    Stats)
  for k, d in ipairs(dense_layers(m)) do
    local ps = d.layer:parameters()
    for p, t in ipairs(ps) do
      local row = tensor_stats(t, eps)
      row.layer, row.index, row.name = k, d.index, tostring(d.layer)
      row.param = p == 1 and "weight" or p == 2 and "bias" or ("param" .. p)
      if p == 1 and opts.data and finite and d.layer.activation == "relu" then
        row.dead = M.dead_units(m, opts.data, k, opts.n)
        row.units = d.layer.n_out
      end
      st[#st + 1] = row
    end
  end
  return st
end

---wb.Stats:__tostring() -> string
---The statistics as an aligned text table, one line per parameter tensor.
---Example: print(wb.stats(m))
function Stats:__tostring()
  local head = {"layer", "param", "shape", "mean", "std", "min", "max",
    string.format("|w|<%g", self.threshold), "L2 norm"}
  if self.has_dead then head[#head + 1] = "dead" end
  local rows = {head}
  for _, r in ipairs(self) do
    local row = {string.format("%d %s", r.layer, r.name), r.param,
      "[" .. table.concat(r.shape, ", ") .. "]",
      string.format("%.4g", r.mean), string.format("%.4g", r.std),
      string.format("%.4g", r.min), string.format("%.4g", r.max),
      string.format("%.1f%%", 100 * r.near_zero), string.format("%.4g", r.norm)}
    if self.has_dead then row[#row + 1] = r.dead and (r.dead .. "/" .. r.units) or "" end
    rows[#rows + 1] = row
  end
  local width = {}
  for _, row in ipairs(rows) do
    for j, c in ipairs(row) do width[j] = math.max(width[j] or 0, utf8.len(c) or #c) end
  end
  local lines = {}
  if self.label then lines[1] = self.label end
  for _, row in ipairs(rows) do
    local cells = {}
    for j, c in ipairs(row) do
      local pad = string.rep(" ", width[j] - (utf8.len(c) or #c))
      cells[j] = j <= 3 and c .. pad or pad .. c -- text left, numbers right
    end
    lines[#lines + 1] = table.concat(cells, "  "):gsub("%s+$", "")
  end
  return table.concat(lines, "\n")
end

-- }====================

-- {==================== dead units ====================

---wb.lab.dead_units(model, ds, layer, n) -> integer|nil
---The number of units of a ReLU Dense layer (layer = 1 for the first Dense
---layer, the default) whose output is zero for every one of the first n
---samples of ds (default 10000): units that no longer learn. nil when the
---layer's activation is not relu. For the first layer this is
---wb.measures.dead_units; deeper layers see the outputs of the layers
---before them (inference mode: Dropout off).
---@param model wb.Sequential|wb.Run
---@param ds wb.Dataset
---@param layer? integer
---@param n? integer
---@return integer|nil
---Example: print(wb.lab.dead_units(m, wb.data.mnist().test))
function M.dead_units(model, ds, layer, n)
  check_model(model, "dead_units")
  args.check("dead_units", 2, ds, "wb.Dataset")
  args.opt("dead_units", 3, layer, "integer")
  args.opt("dead_units", 4, n, "integer")
  if n ~= nil and n < 1 then -- 0 rows would count every unit dead
    fail("wb.lab.dead_units: n: expected an integer >= 1, got " .. n, 2)
  end
  local m = model_of(model, "dead_units")
  dense(m, layer or 1, "wb.lab.dead_units")
  check_width("wb.lab.dead_units", "ds", m, ds)
  return wb.measures._dead_units("wb.lab.dead_units", m, ds, layer or 1, n)
end

-- }====================

-- {==================== pictures ====================

---wb.lab.weight_grid(model, opts) -> wb.Plot
---The first Dense layer's weights as a grid of images, one tile per hidden
---unit: unit j's 784 incoming weights drawn as a 28x28 picture (in the PNG
---blue negative, white 0, red positive; each tile scaled to its own largest
---|w|). opts: units (how many, default all), cols (default 16), rows,
---title, layer (which Dense layer, default 1; its inputs must form a
---square image). :save(path.png) writes the PNG; :show() draws it
---in the terminal, signs as glyphs ("=" most negative, "-", blank near 0,
---"+", "#" most positive; a key line under the tiles says so). `model` may
---also be a Run.
---@param model wb.Sequential|wb.Run
---@param opts? table
---@return wb.Plot
---Example: wb.lab.weight_grid(m, {units = 32}):save("plots/lab/w1.png")
function M.weight_grid(model, opts)
  check_model(model, "weight_grid")
  args.opt("weight_grid", 2, opts, "table")
  opts = opts or {}
  local count = {positive_int, "a positive integer"}
  opts = check_opts("wb.lab.weight_grid", 2, opts, {"units", "cols", "rows", "title", "layer"},
    {units = count, cols = count, rows = count, layer = count,
    title = {function(v) return type(v) == "string" end, "string"}})
  local m, label = model_of(model, "weight_grid")
  local d = dense(m, opts.layer or 1, "wb.lab.weight_grid")
  local n_in, n_out = d.layer.n_in, d.layer.n_out
  local side = math.floor(math.sqrt(n_in) + 0.5)
  if side * side ~= n_in then
    fail(string.format("wb.lab.weight_grid: %d inputs do not form a square image", n_in), 2)
  end
  local units = math.min(opts.units or n_out, n_out)
  local w = d.layer.weight:totable() -- [n_in][n_out]
  local tiles = {}
  for j = 1, units do
    local t = {}
    for i = 1, n_in do t[i] = w[i][j] end
    tiles[j] = t
  end
  local cols = math.min(opts.cols or 16, units)
  local rows = opts.rows or math.ceil(units / cols)
  if rows * cols < units then -- wb.plot.images's "16 tiles do not fit" named none of these
    fail(string.format("wb.lab.weight_grid: opts.rows: %d rows x %d cols hold %d tiles, "
      .. "expected room for the %d units drawn (opts.units)", rows, cols, rows * cols, units), 2)
  end
  local is_run = getmetatable(model) == wb.runs.Run
  return wb.plot.images{tiles = tiles, rows = rows, cols = cols, palette = "diverging",
    title = require("wb.runs_curve_note").quick_title(is_run and {model} or {}, opts.title
      or string.format("%sweights into %d of %d units of %s",
      label and (label:match("^Run (.-):") or label) .. ": " or "", units, n_out,
      tostring(d.layer)))}
end

-- The key of the seeds a run pools with: its group key, split as
-- wb.runs.find split it (a shared file read as other contents, a hook that
-- cannot be identified), also when its runs are handed over in a plain list.
local key_of = require("wb.runs_group").key_of

-- Label of a run for a legend: its label in the list (wb.runs.find labels
-- runs of one variant that differ in more than the seed apart), else its
-- variant; plus the seed when by run.
local function run_label(r, by_run, label)
  label = label or tostring(r.variant)
  if by_run then return string.format("%s seed %s", label, tostring(r.seed)) end
  return label
end

---wb.lab.compare_weights(runs, layer, opts) -> wb.Plot
---Histograms of one layer's weights across runs, overlaid on common bins
---(wb.plot.histogram). runs: a run list (wb.runs.find), a list of Run
---objects, or a list of models. layer: which Dense layer (default 1, the
---first; Dropout layers are not counted). opts: by = "variant" (default
---for runs: the seeds of a variant pooled into one histogram; runs of one
---variant that differ in more than the seed are labelled apart as
---wb.runs.find lists them, and in a plain list are an error; the title says
---"pooled over N seeds", the y axis counting all their weights) or "run"
---(one per run), param = "weight" (default) or "bias", bins (60), density
---(default false: counts; true when the histograms pool different numbers
---of values, layers of other widths or variants of fewer seeds, where the
---larger would look taller only by its size: the title then says so and
---density = false keeps counts), labels (legend for a list of models), title.
---@param runs wb.Runs|table
---@param layer? integer
---@param opts? table
---@return wb.Plot
---Example: wb.lab.compare_weights(wb.runs.find{task = "task05_dropout",
---  dropout = {0, 0.3}}, 1):save("plots/lab/hist.png")
function M.compare_weights(runs, layer, opts)
  args.check("compare_weights", 1, runs, "table")
  args.opt("compare_weights", 2, layer, "integer")
  args.opt("compare_weights", 3, opts, "table")
  opts = opts or {}
  local function one_of(...)
    local set = {}
    for _, v in ipairs{...} do set[v] = true end
    return function(v) return set[v] == true end
  end
  opts = check_opts("wb.lab.compare_weights", 3, opts,
    {"by", "param", "bins", "density", "labels", "title"},
    {by = {one_of("variant", "run"), "'variant' or 'run'"},
    param = {one_of("weight", "bias"), "'weight' or 'bias'"},
    bins = {positive_int, "a positive integer"}, labels = {is_list, "a list of strings"},
    density = {function(v) return type(v) == "boolean" end, "a boolean"},
    title = {function(v) return type(v) == "string" end, "string"}})
  layer = layer or 1
  if type(runs) ~= "table" or #runs == 0 then
    fail("wb.lab.compare_weights: runs: expected a non-empty list of runs or models, got an "
      .. "empty list (did wb.runs.find match no run? check its task name and root)", 2)
  end
  local p = opts.param == "bias" and 2 or 1
  local by_run = opts.by == "run"
  for i = 1, opts.labels and #runs or 0 do -- a run's legend is its label: labels went unused
    if getmetatable(runs[i]) == wb.runs.Run then
      fail(string.format("wb.lab.compare_weights: opts.labels: legend of a list of models; "
        .. "runs[%d] is a run, labelled by its variant", i), 2)
    end
  end
  local series, index, keys = {}, {}, {} -- keys: label -> group key of its runs
  local recs, hashes, pooled = {}, {}, {} -- the runs drawn; series -> its runs' hashes, count
  for i = 1, #runs do
    local item = runs[i]
    local is_run = getmetatable(item) == wb.runs.Run
    -- both raise at level 3: the caller of compare_weights
    local m = model_of(item, "wb.lab.compare_weights", "runs[" .. i .. "]")
    local d = dense(m, layer, "wb.lab.compare_weights")
    local t = d.layer:parameters()[p]
    if not t then fail("wb.lab.compare_weights: layer " .. layer .. " has no bias", 2) end
    local label = is_run and run_label(item, by_run, (rawget(runs, "labels") or {})[item])
      or (opts.labels and opts.labels[i]) or ("model " .. i)
    local s = index[label]
    if not s then
      s = {label = label, values = {}}
      index[label], keys[label] = s, is_run and key_of(item)
      series[#series + 1] = s
    elseif is_run and keys[label] ~= key_of(item) then -- seeds of one config
      fail(string.format("wb.lab.compare_weights: runs[%d] (%s) is not a seed of the "
        .. "configuration of the runs before it labelled '%s' (another group key); give "
        .. "wb.runs.find's list, which labels them apart", i, tostring(item),
        label), 2)
    end
    table.move(flat(t), 1, t:numel(), #s.values + 1, s.values)
    if is_run then -- which runs each histogram pools, for its CSV's head
      recs[#recs + 1] = item
      hashes[s] = (hashes[s] and hashes[s] .. " " or "") .. tostring(item.hash)
      pooled[s] = (pooled[s] or 0) + 1
    end
  end
  local title = opts.title or string.format("Layer %d %s", layer, p == 1 and "weights"
    or "biases")
  -- the CSV and script say which runs (hashes, commit, command) they pooled, as
  -- plot_curves's do: a histogram of pooled seeds was not traceable to its runs
  local comment
  if #recs > 0 then
    local head = require("wb.runs_curve_note").provenance({records = recs,
      dir = rawget(runs, "dir")}, title, "wb.lab.compare_weights")
    local lines = {head:match("^(.*)\n[^\n]*$")} -- its last line, pandas', stays last
    for _, sr in ipairs(series) do
      lines[#lines + 1] = string.format("%s: %s", sr.label, hashes[sr] or "a model, no run")
    end
    lines[#lines + 1] = head:match("[^\n]*$")
    comment = table.concat(lines, "\n")
  end
  local note = opts.density == nil and U.size_note(series, p == 1 and "weights" or "biases")
  local notes = {U.pooled_note(series, pooled) or nil}
  notes[#notes + 1] = note or nil
  if #notes > 0 then title = title .. " (" .. table.concat(notes, "; ") .. ")" end
  local density = opts.density or (note and true)
  return wb.plot.histogram{series = series, bins = opts.bins or 60, density = density,
    xlabel = p == 1 and "weight" or "bias", ylabel = density and "density" or "count",
    title = require("wb.runs_curve_note").quick_title(#recs == #runs and recs or {}, title),
    comment = comment}
end

-- }====================

---wb.show(x, opts)
---Prints x as the REPL shows it: a table one level deep, sorted, up to a
---screenful (the terminal's height, else about 40 lines; the last line
---says how many entries are left out); {all = true} prints every entry.
---Whole floats print as integers (run records come from JSON: seed 1, not
---1.0); anything else through tostring.
---@param x any
---@param opts? table
---Example: wb.show(wb.runs.find{task = "task03_epochs"}[1].metrics, {all = true})
function wb.show(x, opts)
  if opts ~= nil and type(opts) ~= "table" then
    fail(string.format("bad argument #2 to 'show' (table expected, got %s)", type(opts)), 2)
  end
  opts = opts or {}
  util.check_options(opts, {"all"}, "wb.show", 2)
  io.stdout:write(pretty.format(x, opts.all), "\n")
  io.stdout:flush()
end

M.Stats = Stats
wb.lab = M
return M
