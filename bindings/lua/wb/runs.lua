-- wb/runs.lua: finished runs and what can be said about them. A Runs object
-- is a list of run records (wb/record.lua) in the order of the experiment's
-- variants and seeds, with helpers that group them by variant label: mean
-- and std over seeds, markdown tables, curves with a band per variant.
-- wb.runs.find is in wb/runs_find.lua, Run objects in wb/run.lua, the CSV
-- exports in wb/runs_export.lua. It reads records only; it never trains.
--
-- A name that is not there is an error listing those that are, nearest
-- first: a variant label, a column or metric, a series (wb/runs_stats.lua
-- knows the names of a list's runs).
--
-- Nothing is averaged that differs: runs pool only when their group keys
-- (wb.record.group_key: everything but the seed) are equal. A list whose
-- label holds more than one configuration refuses to average it, naming
-- what differs; wb.runs.find labels such groups apart.
local _ENV = require "wb.std"
local args = require "wb.args"
local wb = require "wb"
local util = require "wb.util"
local record = require "wb.record"
local group = require "wb.runs_group"
local stats = require "wb.runs_stats"
local kernels = require "wb.runs_kernels"
local cnote = require "wb.runs_curve_note" -- the title's note, the n columns, provenance

---wb.runs
---Finished runs and what can be said about them: find runs by their
---records (wb.runs.find), Run objects that load their trained model, and
---run lists (wb.Runs) with mean ± std over seeds, tables and curves.
---Everything here reads run records (<plots>/runs/*.json and the weights
---beside them); nothing trains.
---Example: local rs = wb.runs.find{task = "task05_dropout", dropout = 0.3}
---  print(rs); print(rs[1]:evaluate().accuracy)
local M = {}
local Runs = {__name = "wb.Runs"}
local run_mod = require "wb.run"
local Run, as_run = run_mod.Run, run_mod.as_run
local argcheck = group.argcheck
local series, numbers = stats.raw.series, stats.raw.numbers
for _, k in ipairs{"mean_std", "series", "value", "fmt_mean_std"} do M[k] = stats[k] end

-- The label a run is listed under: its variant, or the label wb.runs.find
-- gave its group when runs of one variant differ in more than the seed.
local function label(self, r)
  local labels = rawget(self, "labels")
  return labels and labels[r] or r.variant
end
M._label = label -- the exports' label column (wb/runs_export.lua): the same text

-- A run list indexes like an array (list[i], ipairs) and has the methods
-- below; its records are also in .records. Its other fields, each set by
-- what made the list (when it has them: else nil): experiment (ex:run()),
-- failures (a task's runs that left no record), labels and dir (find).
-- Any other name is an error naming the nearest (rs:tabel{...} was
-- "attempt to call a nil value (method 'tabel')", rs.record nil).
Runs.__fields = {records = true, experiment = true, failures = true, labels = true,
  dir = true}
function Runs.__index(self, k)
  if math.type(k) == "integer" then return rawget(self, "records")[k] end
  local m = Runs[k]
  if m ~= nil then return m end
  if math.type(k) == "float" then return nil end -- rs[1.5]: no such run, as a list
  local why = require("wb.spec_keys").no_field("wb.Runs", k, Runs)
  if why then error(why, 2) end
end
Runs.__methods = Runs -- behind an __index function: for completion and help

---wb.runs.Runs(records, ex) -> wb.Runs
---A run list over records (run records as read from JSON; each becomes a
---Run object) of experiment ex (optional: its root locates the weights).
---ex:run() and wb.runs.find return such lists.
---@param records table
---@param ex? wb.Experiment
---@return wb.Runs
---Example: local rs = wb.runs.Runs(wb.runs.load_all()) -- every run under $WB_PLOTS or plots
function M.Runs(records, ex)
  argcheck(type(records) == "table", 1, "Runs", "table", records)
  for i, r in ipairs(records) do
    argcheck(type(r) == "table", 1, "Runs", "list of run records", r, i)
  end
  argcheck(ex == nil or type(ex) == "table", 2, "Runs", "table", ex)
  local dir = ex and record.dir(ex.root) or nil
  for _, r in ipairs(records) do as_run(r, dir) end
  return setmetatable({records = records, experiment = ex}, Runs)
end

---wb.Runs
---A list of finished runs (Run objects) with helpers that group them by
---variant: mean and std over seeds, markdown tables, curves with a std band
---per variant. #rs, rs[i] and ipairs(rs) work as on an array; the records
---are also in rs.records. tostring lists the runs (at most 20 lines). It
---reads records only; it never trains. Runs of one variant label are
---averaged only when they are seeds of one configuration (equal
---wb.record.group_key); otherwise stat, values, curve, table and
---plot_curves raise, naming the label and what differs. A name it lacks
---(rs:tabel{...}, rs.record) is an error naming the nearest.
---Example: local rs = wb.runs.find{task = "task05_dropout"}
---  for i, r in ipairs(rs) do print(i, r) end
function Runs:__len() return #self.records end
-- "Runs(6 runs, 3 variants)", then one line per run (at most M.max_listed).
M.max_listed = 20
function Runs:__tostring()
  local lines = {run_mod.list_head(self.records, #self:variants())}
  for i, r in ipairs(self.records) do
    if i > M.max_listed then
      lines[#lines + 1] = string.format("  ... (%d more)", #self.records - M.max_listed)
      break
    end
    lines[#lines + 1] = string.format("  [%d] %s", i, run_mod.describe(r, label(self, r)))
  end
  return table.concat(lines, "\n")
end

---wb.Runs:variants() -> table
---The variant labels of the runs, in order of first appearance (the
---experiment's order for ex:run(), sorted for wb.runs.find). wb.runs.find
---suffixes the label of runs that differ in more than the seed, e.g.
---"base [epochs=2, subset={test=500,train=2000}]".
---@return string[]
---Example: for _, v in ipairs(rs:variants()) do print(v) end
function Runs:variants()
  args.self(Runs, self, "variants", "rs")
  local seen, out = {}, {}
  for _, r in ipairs(self.records) do
    local v = label(self, r)
    if not seen[v] then seen[v] = true; out[#out + 1] = v end
  end
  return out
end

-- Raise at `level` (seen from the caller) unless v is a variant label of
-- the list: naming it and the labels there, nearest first.
local function check_variant(self, v, fname, level)
  local set = {}
  for _, l in ipairs(self:variants()) do set[l] = true end
  if set[v] then return end
  local _, none, failed = cnote.variants(self, stats.raw) -- all its runs failed (audit A11)
  if none[v] then error(string.format("wb.Runs:%s: variant '%s' has no run to use: its %d "
    .. "run(s) failed, none recorded (their FAILED lines say why)", fname, v, failed[v]),
    level + 1) end
  local list, near = stats.nearest_first(v, set)
  error(string.format("wb.Runs:%s: unknown variant '%s'%s (variants of these runs%s: %s)",
    fname, v, near and (" (did you mean '" .. near .. "'?)") or "",
    near and ", nearest first" or "",
    #list > 0 and table.concat(list, ", ") or "none"), level + 1)
end

---wb.Runs:of(variant) -> table
---The runs of one variant label (a plain list, seed order). A label the
---list does not have is an error listing those it has. In a list made
---by hand (wb.runs.Runs) they may differ in more than the seed: stat,
---values, curve and table refuse to average those.
---@param variant string
---@return table
---Example: local r0 = rs:of("dropout=0")[1]
function Runs:of(variant)
  args.self(Runs, self, "of", "rs")
  argcheck(type(variant) == "string", 1, "of", "string", variant)
  check_variant(self, variant, "of", 2)
  local out = {}
  for _, r in ipairs(self.records) do
    if label(self, r) == variant then out[#out + 1] = r end
  end
  return out
end

-- The runs of label v, which must be seeds of one configuration, each seed
-- once: else an error (at the caller of the method fname) naming v and what
-- differs or the seed listed twice.
local function seeds(self, v, fname)
  check_variant(self, v, fname, 3)
  local rs = self:of(v)
  local why = group.not_seeds(rs)
  if why then error(string.format("wb.Runs:%s: variant '%s': %s", fname, tostring(v), why), 3) end
  if fname ~= "table" then kernels.say(self, v, rs, fname) end -- a table's note says it
  return rs
end

---wb.Runs:values(variant, name) -> table
---The values of a metric (wb.runs.value) over the finished runs of one
---variant (status "ok": a diverged run is left out), skipping runs without
---it. Raises when the variant's runs are not seeds of one configuration,
---for a variant the list does not have and for a misspelt metric (see
---wb.Runs:table).
---@param variant string
---@param name string
---@return number[]
---Example: print(table.concat(rs:values("dropout=0", "test_accuracy"), " "))
function Runs:values(variant, name)
  args.self(Runs, self, "values", "rs")
  argcheck(type(variant) == "string", 1, "values", "string", variant)
  argcheck(type(name) == "string", 2, "values", "string", name)
  local rs = seeds(self, variant, "values")
  stats.raw.check_name(self.records, name, "values", "wb.Runs:values", "metric", 2)
  return numbers(rs, name)
end

---wb.Runs:stat(variant, name) -> number, number
---Mean and std over seeds of a metric for one variant (wb.runs.mean_std of
---rs:values). Raises when the variant's runs are not seeds of one
---configuration, for a variant the list does not have and for a misspelt
---metric (see wb.Runs:table).
---@param variant string
---@param name string
---@return number|nil mean
---@return number|nil std
---Example: local m, s = rs:stat("dropout=0.3", "gap")
function Runs:stat(variant, name)
  args.self(Runs, self, "stat", "rs")
  argcheck(type(variant) == "string", 1, "stat", "string", variant)
  argcheck(type(name) == "string", 2, "stat", "string", name)
  local rs = seeds(self, variant, "stat")
  stats.raw.check_name(self.records, name, "values", "wb.Runs:stat", "metric", 2)
  return M.mean_std(numbers(rs, name))
end

---wb.Runs:table(names, opts) -> string
---A markdown table: one row per variant (with its number of seeds), one
---column per metric in names (default {"test_accuracy", "test_loss"}),
---cells "mean ± std" over seeds
---(wb.runs.fmt_mean_std) over the finished runs; the seeds cell says
---"2 of 3 (1 diverged)" when some did not finish, "5 (1 distinct training)"
---when seeds trained the same to the bit (a note names them), a cell
---"(n = 2)" when fewer finished runs have the metric. opts.variant_header names the
---first column (default "variant"; in opts, not names: a names key that is
---no list index is an error). Raises when a variant's runs are not seeds of one
---configuration, naming the variant and what differs, and for a column no
---run of the list has that is close to one they have (a misspelling:
---test_acuracy), listing theirs, nearest first. A final metric they lack
---(gap without validation) or a measure no run recorded (a hook's nil) is
---n/a. Rows whose seeds were trained with more than one OpenBLAS kernel
---(blas_core) are named, with the kernels' counts, in a note under the table.
---@param names? string[]
---@param opts? table
---@return string
---Example: print(rs:table{"test_accuracy", "val_loss", "gap"})
function Runs:table(names, o)
  args.self(Runs, self, "table", "rs")
  names = names or {"test_accuracy", "test_loss"}
  argcheck(type(names) == "table", 1, "table", "table", names)
  group.list_only(names, "wb.Runs:table", "rs:table({...}, {variant_header = ...})", 2)
  for i, n in ipairs(names) do
    argcheck(type(n) == "string", 1, "table", "list of strings", n, i)
  end
  argcheck(o == nil or type(o) == "table", 2, "table", "table", o)
  o = o or {}
  util.check_options(o, {"variant_header"}, "wb.Runs:table", 2)
  for _, v in ipairs(self:variants()) do seeds(self, v, "table") end -- refuse first
  for _, n in ipairs(names) do
    stats.raw.check_name(self.records, n, "values", "wb.Runs:table", "column", 2)
  end
  local head = {o.variant_header or "variant", "seeds"}
  for _, n in ipairs(names) do head[#head + 1] = n end
  local lines = {"| " .. table.concat(head, " | ") .. " |",
    "|" .. string.rep("---|", #head)}
  local vs, none, failed = cnote.variants(self, stats.raw) -- and those that left no record
  for _, v in ipairs(vs) do
    local rs = none[v] and {} or seeds(self, v, "table")
    -- a label's "|" ("sgd|mom") ended the cell: the row's values under other
    -- headers; the seeds cell: "2 of 3 (1 diverged)"
    local row = {(v:gsub("|", "\\|")), stats.raw.seeds_cell(rs, failed[v])}
    for _, n in ipairs(names) do row[#row + 1] = stats.raw.cell(numbers(rs, n), n, rs) end
    lines[#lines + 1] = "| " .. table.concat(row, " | ") .. " |"
  end
  return table.concat(lines, "\n") .. "\n" -- and which rows mix OpenBLAS kernels
    .. kernels.note(kernels.groups(self.records, function(r) return label(self, r) end))
    .. require("wb.runs_copies").note(self) -- and which seeds trained the same (tryX 2)
end

local curve = stats.raw.curve

---wb.Runs:curve(variant, name) -> table, table, table
---Per-epoch mean and std over the seeds of one variant of a series
---(wb.runs.series): x (epochs 1..n), mean, std. Only finished runs: a
---diverged run is in no mean, as in a table. Runs of different lengths
---(early stopping) use the seeds still running at each epoch; an epoch no
---seed has a value for (NaN, stored as null) is NaN. Raises when
---the variant's runs are not seeds of one configuration, and for a variant
---or series name no run of the list has.
---@param variant string
---@param name string
---@return integer[] x
---@return number[] mean
---@return number[] std
---Example: local x, m, s = rs:curve("dropout=0.3", "val_loss")
function Runs:curve(variant, name)
  args.self(Runs, self, "curve", "rs")
  argcheck(type(variant) == "string", 1, "curve", "string", variant)
  argcheck(type(name) == "string", 2, "curve", "string", name)
  local rs = seeds(self, variant, "curve")
  stats.raw.check_name(self.records, name, "series", "wb.Runs:curve", "series", 2)
  return curve(rs, name)
end

---wb.Runs:plot_curves(name, opts) -> wb.Plot
---A wb.plot.lines figure of a series: one mean line per variant with a band of the 95 %
---confidence interval of the mean over seeds (for step series the sd over seeds, or with
---logy the seeds' min to max, which a log axis can show; the title says which). opts:
---title, xlabel, ylabel, logx, logy, x = "epoch" (default), "time" (training seconds) or "step"
---(history.steps of configs with log_every), yrange = {lo, hi}, refs = {{label =, y =,
---like =}, ...} horizontal reference lines across the curves' steps (like = a variant
---label: dashed, in that variant's colour), smooth = k (wb.plot.lines: each mean faint, and
---bold its running mean over k points, band too; the title says so), smooth_by = "median"
---(its running median instead), steps = true (wb.plot.lines: a staircase, for a piecewise-
---constant series such as an lr schedule's). x = "time": epoch k is drawn at the sum of the mean
---epoch_time of epochs 1 to k, each epoch's mean over the seeds that ran it; after early
---stopping those are fewer seeds than the earlier epochs', so it is not the mean of the
---seeds' own cumulative times (the two agree when every seed runs every epoch).
---Curves are of finished runs only (wb.Runs:curve): the title counts the seeds drawn ("1
---to 3 seeds" when variants have fewer), how many runs that diverged are not shown and how
---many failed (no record); a variant none of whose runs finished is in the legend ("v
---(none finished)", or "v (no s recorded)" when they did without series s), with no line;
---an epoch (or a step) only one seed reached (the others stopped early) has no band (NaN
---in the CSV), not one of width 0. The CSV has per variant "<variant> n", the seeds each
---point is the mean of, and "<variant> ci95", the t-based 95 % half-width of that mean (x =
---"step": "sd"; logy: "lo", "hi"); the title says where points have fewer seeds than its
---count ("mean over 3 seeds, fewer after epoch 2 (n in the CSV)"). The CSV and .gp begin
---with "# " lines: the command, commit, records (hashes, task, epochs, data), columns. Raises
---when a variant's runs are not seeds of one configuration, and for a series (step series
---with x = "step") no run of the list has, listing those they have, nearest first.
---An accuracy (a name the tables show in percent) is drawn in percent, in the CSV too, its
---y label ending "(%)" (added to an ylabel without "%"); refs' y and yrange are in percent:
---a fraction (a ref y in (0, 1), a yrange in [0, 1] with one) is an error ("did you mean 97?").
---A measure that cannot be negative (by its name: a loss, an accuracy, a norm, lr, a time;
---and by what is drawn: no mean or seed minimum below 0) whose means span over 3 decades gets a log y axis ("log y" in the title) unless logy =
---false or a yrange is given (then one stderr line suggests logy = true); on a linear axis
---its band starts at 0 (the title: "band clipped at 0"; the CSV keeps the interval). Runs
---of one epoch draw error bars ("error bars: ..."); fit's loss and metrics (those with a
---val_ twin) are titled "training loss (running mean over the epoch; ...)".
---@param name string
---@param opts? table
---@return wb.Plot
---Example: rs:plot_curves("val_loss"):save("plots/lab/val_loss.png")
function Runs:plot_curves(name, o)
  args.self(Runs, self, "plot_curves", "rs")
  argcheck(type(name) == "string", 1, "plot_curves", "string", name)
  argcheck(o == nil or type(o) == "table", 2, "plot_curves", "table", o)
  o = o or {}
  util.check_options(o, {"title", "xlabel", "ylabel", "logx", "logy", "x", "refs", "yrange",
    "smooth", "smooth_by", "steps"},
    "wb.Runs:plot_curves", 2)
  cnote.check_opts(name, o) -- x, and an accuracy's refs and yrange in percent
  argcheck(o.refs == nil or type(o.refs) == "table", 2, "plot_curves", "refs table", o.refs)
  for _, v in ipairs(self:variants()) do seeds(self, v, "plot_curves") end -- refuse first
  if #self.records == 0 then error(cnote.no_run(self, name), 2) end -- (every run failed)
  if o.x == "step" then
    stats.raw.check_name(self.records, name, "steps", "wb.Runs:plot_curves", "step series", 2,
      string.format("wb.Runs:plot_curves: the list has no step series '%s'", name))
  else
    stats.raw.check_name(self.records, name, "series", "wb.Runs:plot_curves", "series", 2)
  end
  local ss, x0, x1 = {}, nil, nil
  local vs, none = cnote.variants(self, stats.raw)
  for _, v in ipairs(vs) do
    local rs = none[v] and {} or seeds(self, v, "plot_curves")
    local x, m, ci, lo, hi, _
    if o.x == "step" then -- sd and min-max both: which one waits for the y scale
      x, m, ci, lo, hi = require("wb.runs_steps").curve(rs, name, v)
    else x, m, _, ci = curve(rs, name) end
    local n = cnote.counts(rs, name, o, x, stats.raw) -- (by epoch, before x is time)
    if o.x == "time" then
      local _, t = curve(rs, "epoch_time")
      local acc = 0
      for i = 1, #x do acc = acc + (t[i] or 0); x[i] = acc end
    end
    local label = v
    if #x == 0 then -- none of its runs finished or has the series: in the legend, no line
      x, m, ci, lo, hi, label = {1}, {0 / 0}, {0 / 0}, nil, nil, cnote.empty_label(rs, v, name)
      n = {0}
    end
    ss[#ss + 1] = cnote.in_unit(name, {label = label, x = x, y = m, err = ci, lo = lo, hi = hi,
      n = n})
    if #x > 0 then x0, x1 = math.min(x0 or x[1], x[1]), math.max(x1 or x[#x], x[#x]) end
  end
  local e, head, first = cnote.scale(self, name, o, ss) -- o, its logy and band chosen
  cnote.refs(self, o, ss, x0, x1, check_variant)
  local band = cnote.note(self, e, stats.raw, ss)
  return wb.plot.lines{title = cnote.quick_title(self.records, (o.title or head) .. " ("
    .. (first and first .. "; " or "") .. band .. ")"),
    comment = cnote.provenance(self, name, nil, e), ylabel = cnote.ylabel(name, o.ylabel),
    steps = o.steps, band_floor = e.band_floor,
    xlabel = o.xlabel or (o.x == "time" and "training time (s)" or o.x or "epoch"),
    series = ss, logx = o.logx, logy = e.logy, yrange = o.yrange,
    smooth = o.smooth, smooth_by = o.smooth_by, err_is = o.x ~= "step" and "ci95" or "sd"}
end

local find = require "wb.runs_find"
M.load_all, M.find = find.load_all, find.find

M.Run = Run
M.RunList = Runs
M.kernels_mixed, M.same_histories = kernels.mixed, require("wb.runs_same").same_histories

wb.runs = M
return M
