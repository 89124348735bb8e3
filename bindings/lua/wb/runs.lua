-- wb/runs.lua: finished runs and what can be said about them.
--
-- A Runs object is a list of run records (see wb/experiment.lua) in the
-- order of the experiment's variants and seeds, with helpers that group them
-- by variant: mean and std over seeds, markdown tables, curves with a std
-- band per variant, CSV export; and wb.runs.find, which reads the records of
-- a folder and filters them. Each run is a Run object (wb/run.lua). It
-- reads records only; it never trains.
local wb = require "wb"
local util = require "wb.util"

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

-- A run list indexes like an array (list[i], ipairs) and has the methods
-- below; its records are also in .records.
function Runs.__index(self, k)
  if math.type(k) == "integer" then return rawget(self, "records")[k] end
  return Runs[k]
end
Runs.__methods = Runs -- behind an __index function: for completion and help

---wb.runs.Runs(records, ex) -> wb.Runs
---A run list over records (run records as read from JSON; each becomes a
---Run object) of experiment ex (optional: its root locates the weights).
---ex:run() and wb.runs.find return such lists.
---@param records table
---@param ex? wb.Experiment
---@return wb.Runs
---Example: local rs = wb.runs.Runs(wb.runs.load_all("plots/runs"))
function M.Runs(records, ex)
  local dir = ex and ((ex.root or util.plots_root()) .. "/runs") or nil
  for _, r in ipairs(records) do as_run(r, dir) end
  return setmetatable({records = records, experiment = ex}, Runs)
end

---wb.Runs
---A list of finished runs (Run objects) with helpers that group them by
---variant: mean and std over seeds, markdown tables, curves with a std band
---per variant. #rs, rs[i] and ipairs(rs) work as on an array; the records
---are also in rs.records. tostring lists the runs (at most 20 lines). It
---reads records only; it never trains.
---Example: local rs = wb.runs.find{task = "task05_dropout"}
---  for i, r in ipairs(rs) do print(i, r) end
function Runs:__len() return #self.records end
-- "Runs(6 runs, 3 variants)", then one line per run (at most M.max_listed).
M.max_listed = 20
function Runs:__tostring()
  local lines = {string.format("Runs(%d runs, %d variants)", #self.records, #self:variants())}
  for i, r in ipairs(self.records) do
    if i > M.max_listed then
      lines[#lines + 1] = string.format("  ... (%d more)", #self.records - M.max_listed)
      break
    end
    lines[#lines + 1] = string.format("  [%d] %s", i, tostring(r))
  end
  return table.concat(lines, "\n")
end

---wb.Runs:variants() -> table
---The variant labels of the runs, in order of first appearance (the
---experiment's order for ex:run(), sorted for wb.runs.find).
---@return string[]
---Example: for _, v in ipairs(rs:variants()) do print(v) end
function Runs:variants()
  local seen, out = {}, {}
  for _, r in ipairs(self.records) do
    if not seen[r.variant] then seen[r.variant] = true; out[#out + 1] = r.variant end
  end
  return out
end

---wb.Runs:of(variant) -> table
---The runs of one variant (a plain list, seed order).
---@param variant string
---@return table
---Example: local r0 = rs:of("dropout=0")[1]
function Runs:of(variant)
  local out = {}
  for _, r in ipairs(self.records) do
    if r.variant == variant then out[#out + 1] = r end
  end
  return out
end

---wb.runs.mean_std(xs) -> number, number
---Mean and sample standard deviation (n - 1; 0 for one value) of a list of
---numbers; nil, nil for an empty list.
---@param xs number[]
---@return number|nil mean
---@return number|nil std
---Example: print(wb.runs.mean_std{0.97, 0.98, 0.975})
function M.mean_std(xs)
  local n = #xs
  if n == 0 then return nil, nil end
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  local m = s / n
  local v = 0
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  return m, n > 1 and math.sqrt(v / (n - 1)) or 0 -- sample std over seeds
end

---wb.runs.series(r, name) -> table|nil
---A per-epoch series of a run record: history[name], else measures[name]
---when it is a list, else derived: "gap" = val_loss - loss, epoch by
---epoch. nil when the record has no such series.
---@param r table
---@param name string
---@return number[]|nil
---Example: local gap = wb.runs.series(run, "gap")
local function series(r, name)
  local h = r.history and r.history[name]
  if h == nil and name == "gap" and r.history and r.history.val_loss then
    h = {}
    for e, v in ipairs(r.history.val_loss) do h[e] = v - r.history.loss[e] end
    r.history.gap = h
  end
  if type(h) ~= "table" and r.measures then h = r.measures[name] end
  return type(h) == "table" and h or nil
end
M.series = series

---wb.runs.value(r, name) -> number|nil
---The value of a metric in one run record: metrics[name] (final metrics
---such as test_accuracy, gap, best_epoch), else a numeric measure, else
---the last entry of its series (wb.runs.series).
---@param r table
---@param name string
---@return number|nil
---Example: print(wb.runs.value(run, "val_loss"))
local function value(r, name)
  if r.metrics and r.metrics[name] ~= nil then return r.metrics[name] end
  if r.measures and type(r.measures[name]) == "number" then return r.measures[name] end
  local h = series(r, name)
  if h then return h[#h] end
  return nil
end
M.value = value

---wb.Runs:values(variant, name) -> table
---The values of a metric (wb.runs.value) over the runs of one variant,
---skipping runs without it.
---@param variant string
---@param name string
---@return number[]
---Example: print(table.concat(rs:values("dropout=0", "test_accuracy"), " "))
function Runs:values(variant, name)
  local out = {}
  for _, r in ipairs(self:of(variant)) do
    local v = value(r, name)
    if type(v) == "number" then out[#out + 1] = v end
  end
  return out
end

---wb.Runs:stat(variant, name) -> number, number
---Mean and std over seeds of a metric for one variant (wb.runs.mean_std of
---rs:values).
---@param variant string
---@param name string
---@return number|nil mean
---@return number|nil std
---Example: local m, s = rs:stat("dropout=0.3", "gap")
function Runs:stat(variant, name)
  return M.mean_std(self:values(variant, name))
end

-- Accuracies (and accuracies under perturbation) are shown in percent.
local function is_pct(name)
  return name and (name:find("accuracy") or name:find("^silenced")) ~= nil
end

---wb.runs.fmt_mean_std(m, s, name) -> string
---"m ± s" for tables: accuracies (and silenced_* measures) in percent with
---2 decimals, epoch and unit counts with 1 decimal, large or integral
---values with 4 significant digits, others
---with 4 decimals; "n/a" when m is nil.
---@param m number|nil
---@param s number
---@param name? string
---@return string
---Example: print(wb.runs.fmt_mean_std(0.9812, 0.0011, "test_accuracy"))
function M.fmt_mean_std(m, s, name)
  if m == nil then return "n/a" end
  if is_pct(name) then return string.format("%.2f ± %.2f %%", 100 * m, 100 * s) end
  if name and (name:find("epoch") and not name:find("^sec") or name:find("units")) then
    return string.format("%.1f ± %.1f", m, s)
  end
  if math.abs(m) >= 100 or m == math.floor(m) and s == 0 then
    return string.format("%.4g ± %.2g", m, s)
  end
  return string.format("%.4f ± %.4f", m, s)
end

---wb.Runs:table(names, opts) -> string
---A markdown table: one row per variant (with its number of seeds), one
---column per metric in names, cells "mean ± std" over seeds
---(wb.runs.fmt_mean_std). opts.variant_header names the first column
---(default "variant").
---@param names string[]
---@param opts? table
---@return string
---Example: print(rs:table{"test_accuracy", "val_loss", "gap"})
function Runs:table(names, o)
  o = o or {}
  local head = {o.variant_header or "variant", "seeds"}
  for _, n in ipairs(names) do head[#head + 1] = n end
  local lines = {"| " .. table.concat(head, " | ") .. " |",
    "|" .. string.rep("---|", #head)}
  for _, v in ipairs(self:variants()) do
    local row = {v, tostring(#self:of(v))}
    for _, n in ipairs(names) do
      local m, s = self:stat(v, n)
      row[#row + 1] = M.fmt_mean_std(m, s, n)
    end
    lines[#lines + 1] = "| " .. table.concat(row, " | ") .. " |"
  end
  return table.concat(lines, "\n") .. "\n"
end

---wb.Runs:curve(variant, name) -> table, table, table
---Per-epoch mean and std over the seeds of one variant of a series
---(wb.runs.series): x (epochs 1..n), mean, std. Runs of different lengths
---(early stopping) use the seeds still running at each epoch.
---@param variant string
---@param name string
---@return integer[] x
---@return number[] mean
---@return number[] std
---Example: local x, m, s = rs:curve("dropout=0.3", "val_loss")
function Runs:curve(variant, name)
  local rs = self:of(variant)
  local n = 0
  for _, r in ipairs(rs) do
    local h = series(r, name)
    if h and #h > n then n = #h end
  end
  local mean, std, x = {}, {}, {}
  for e = 1, n do
    local xs = {}
    for _, r in ipairs(rs) do
      local h = series(r, name)
      if h and h[e] then xs[#xs + 1] = h[e] end
    end
    x[e] = e
    mean[e], std[e] = M.mean_std(xs)
  end
  return x, mean, std
end

---wb.Runs:plot_curves(name, opts) -> wb.Plot
---A wb.plot.lines figure of a series: one mean line with a std band per
---variant. opts: title, xlabel, ylabel, logy, x = "epoch" (default) or
---"time" (cumulative training seconds).
---@param name string
---@param opts? table
---@return wb.Plot
---Example: rs:plot_curves("val_loss"):save("plots/lab/val_loss.png")
function Runs:plot_curves(name, o)
  o = o or {}
  local series = {}
  for _, v in ipairs(self:variants()) do
    local x, m, s = self:curve(v, name)
    if o.x == "time" then
      local _, t = self:curve(v, "epoch_time")
      local acc = 0
      for i = 1, #x do acc = acc + (t[i] or 0); x[i] = acc end
    end
    series[#series + 1] = {label = v, x = x, y = m, err = s}
  end
  return wb.plot.lines{title = o.title or (name .. " (mean ± std over seeds)"),
    xlabel = o.xlabel or (o.x == "time" and "training time (s)" or "epoch"),
    ylabel = o.ylabel or name, series = series, logy = o.logy}
end

-- JSON has one number type and cjson decodes every number as a float: give
-- back integers where the value is integral (seed 2, not 2.0; subset rows).
local function integers(v)
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = integers(x) end
  elseif math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
    return math.tointeger(v)
  end
  return v
end

---wb.runs.load_all(dir, filter) -> table
---Every run record in folder dir (default <plots>/runs, plots = $WB_PLOTS
---or "plots") as plain tables sorted by file name, keeping those for which
---filter(record) is true. Integral numbers are integers (seed 2, not 2.0).
---@param dir? string
---@param filter? function
---@return table
---Example: local recs = wb.runs.load_all(nil, function(r) return r.status ~= "ok" end)
function M.load_all(dir, filter)
  dir = dir or util.plots_root() .. "/runs"
  local names = {}
  local p = io.popen("ls -1 " .. util.shell_quote(dir) .. " 2>/dev/null")
  for l in p:lines() do
    if l:match("%.json$") then names[#names + 1] = l end
  end
  p:close()
  table.sort(names)
  local out = {}
  for _, n in ipairs(names) do
    local r = integers(util.read_json(dir .. "/" .. n))
    if r and (not filter or filter(r)) then out[#out + 1] = r end
  end
  return out
end

---wb.runs.export_csv(path, dir) -> integer
---Writes every run record of dir (default <plots>/runs) as one CSV row to
---path: hash, task, variant, seed, status, config.* columns and final
---metrics. Returns the number of runs.
---@param path string
---@param dir? string
---@return integer
---Example: wb.runs.export_csv("runs.csv")
function M.export_csv(path, dir)
  local recs = M.load_all(dir)
  local ckeys, mkeys = {}, {}
  for _, r in ipairs(recs) do
    for k in pairs(r.config or {}) do ckeys[k] = true end
    for k in pairs(r.metrics or {}) do mkeys[k] = true end
  end
  ckeys, mkeys = util.sorted_keys(ckeys), util.sorted_keys(mkeys)
  local function cell(v)
    if v == nil then return "" end
    local s = type(v) == "table" and util.show(v) or tostring(v)
    if s:find('[,"\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
    return s
  end
  local head = {"hash", "task", "variant", "seed", "status"}
  for _, k in ipairs(ckeys) do head[#head + 1] = "config." .. k end
  for _, k in ipairs(mkeys) do head[#head + 1] = k end
  local lines = {table.concat(head, ",")}
  for _, r in ipairs(recs) do
    local row = {cell(r.hash), cell(r.task), cell(r.variant), cell(r.seed), cell(r.status)}
    for _, k in ipairs(ckeys) do row[#row + 1] = cell(r.config[k]) end
    for _, k in ipairs(mkeys) do row[#row + 1] = cell(r.metrics and r.metrics[k]) end
    lines[#lines + 1] = table.concat(row, ",")
  end
  util.write_file(path, table.concat(lines, "\n") .. "\n")
  return #recs
end

-- {==================== finding runs ====================

-- Record fields a query may name; any other key is a config key.
local record_keys = {task = true, variant = true, seed = true, status = true, hash = true}

local function matches(want, have)
  if type(want) == "function" then return want(have) and true or false end
  if type(want) == "table" then
    for _, w in ipairs(want) do if matches(w, have) then return true end end
    return false
  end
  return want == have
end

-- "a=1, b=0.30" labels compare part by part, numbers as numbers, so that
-- l2=1e-05 sorts before l2=0.001.
local function label_less(a, b)
  local pa, pb = {}, {}
  for p in (a .. ","):gmatch("%s*([^,]*),") do pa[#pa + 1] = p end
  for p in (b .. ","):gmatch("%s*([^,]*),") do pb[#pb + 1] = p end
  for i = 1, math.min(#pa, #pb) do
    if pa[i] ~= pb[i] then
      local ka, va = pa[i]:match("^(.-)=(.*)$")
      local kb, vb = pb[i]:match("^(.-)=(.*)$")
      if ka and ka == kb and tonumber(va) and tonumber(vb) then
        return tonumber(va) < tonumber(vb)
      end
      return pa[i] < pb[i]
    end
  end
  return #pa < #pb
end

local function run_less(a, b)
  if a.task ~= b.task then return tostring(a.task) < tostring(b.task) end
  if a.variant ~= b.variant then return label_less(tostring(a.variant), tostring(b.variant)) end
  if a.seed ~= b.seed then return (a.seed or 0) < (b.seed or 0) end
  return tostring(a.hash) < tostring(b.hash)
end

---wb.runs.find(query) -> wb.Runs
---The finished runs whose records match every key of `query`, read from
---the run records (`<root>/runs/*.json`); never trains. A key is a record
---field (task, variant, seed, status, hash) or a config key (dropout, l2,
---dataset, epochs, ...). A value matches by equality, a list matches any of
---its values, a function(value) -> boolean decides. Options: root = the
---plots folder (default $WB_PLOTS or "plots"), dir = the runs folder itself
---(default <root>/runs). An unknown key is an error listing the valid ones.
---The list is sorted by task, variant (numbers compared as numbers), seed.
---@param query? table
---@return wb.Runs
---Example: local rs = wb.runs.find{task = "task05_dropout", dropout = {0, 0.3}}
---  print(#rs, rs[1])
function M.find(query)
  query = query or {}
  if type(query) ~= "table" then
    error("wb.runs.find: expected a table of keys, got " .. type(query), 2)
  end
  local dir = query.dir or ((query.root or util.plots_root()) .. "/runs")
  local recs = M.load_all(dir)
  local valid = {root = true, dir = true}
  for k in pairs(record_keys) do valid[k] = true end
  local ok_ex, ex = pcall(require, "wb.experiment")
  if ok_ex then for k in pairs(ex.known_keys) do valid[k] = true end end
  for _, r in ipairs(recs) do
    for k in pairs(r.config or {}) do valid[k] = true end
  end
  for k in pairs(query) do
    if not valid[k] then
      error(string.format("wb.runs.find: unknown key '%s' (valid: %s)", tostring(k),
        table.concat(util.sorted_keys(valid), ", ")), 2)
    end
  end
  local out = {}
  for _, r in ipairs(recs) do
    local keep = true
    for k, want in pairs(query) do
      if k ~= "root" and k ~= "dir" then
        local have
        if record_keys[k] then have = r[k] else have = r.config and r.config[k] end
        if not matches(want, have) then keep = false; break end
      end
    end
    if keep then out[#out + 1] = as_run(r, dir) end
  end
  table.sort(out, run_less)
  return setmetatable({records = out, dir = dir}, Runs)
end

-- }====================

M.Run = Run
M.RunList = Runs

wb.runs = M
return M
