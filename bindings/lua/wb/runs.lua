-- wb/runs.lua: finished runs and what can be said about them.
--
-- A Runs object is a list of run records (see wb/experiment.lua) in the
-- order of the experiment's variants and seeds, with helpers that group them
-- by variant: mean and std over seeds, markdown tables, curves with a std
-- band per variant, CSV export. It reads records only; it never trains.
local wb = require "wb"
local util = require "wb.util"

local M = {}
local Runs = {}
Runs.__index = Runs

function M.Runs(records, ex)
  return setmetatable({records = records, experiment = ex}, Runs)
end

function Runs:__len() return #self.records end
function Runs:__tostring()
  return string.format("Runs(%d runs, %d variants)", #self.records, #self:variants())
end

-- Variant labels in experiment order.
function Runs:variants()
  local seen, out = {}, {}
  for _, r in ipairs(self.records) do
    if not seen[r.variant] then seen[r.variant] = true; out[#out + 1] = r.variant end
  end
  return out
end

function Runs:of(variant)
  local out = {}
  for _, r in ipairs(self.records) do
    if r.variant == variant then out[#out + 1] = r end
  end
  return out
end

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

-- Value of a metric in one record: a final metric, or the last entry of a
-- history series.
-- A per-epoch series of a record: from its history, its measures, or
-- derived ("gap" = val_loss - loss, epoch by epoch).
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

local function value(r, name)
  if r.metrics and r.metrics[name] ~= nil then return r.metrics[name] end
  if r.measures and type(r.measures[name]) == "number" then return r.measures[name] end
  local h = series(r, name)
  if h then return h[#h] end
  return nil
end
M.value = value

-- Values of a metric over the seeds of one variant.
function Runs:values(variant, name)
  local out = {}
  for _, r in ipairs(self:of(variant)) do
    local v = value(r, name)
    if type(v) == "number" then out[#out + 1] = v end
  end
  return out
end

function Runs:stat(variant, name)
  return M.mean_std(self:values(variant, name))
end

-- Accuracies (and accuracies under perturbation) are shown in percent.
local function is_pct(name)
  return name and (name:find("accuracy") or name:find("^silenced")) ~= nil
end

function M.fmt_mean_std(m, s, name)
  if m == nil then return "n/a" end
  if is_pct(name) then return string.format("%.2f ± %.2f %%", 100 * m, 100 * s) end
  if math.abs(m) >= 100 or m == math.floor(m) and s == 0 then
    return string.format("%.4g ± %.2g", m, s)
  end
  return string.format("%.4f ± %.4f", m, s)
end

-- Markdown table: one row per variant, mean ± std over seeds per metric.
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

-- Per-epoch mean and std over seeds of a history series for one variant
-- (runs of different lengths, e.g. early stopping, use the seeds still
-- running at each epoch).
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

-- runs:plot_curves(metric, {title, ylabel, x = "epoch" | "time"}): mean
-- line and a std band per variant.
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

-- All records in a folder (default <plots>/runs), optionally filtered.
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
    local r = util.read_json(dir .. "/" .. n)
    if r and (not filter or filter(r)) then out[#out + 1] = r end
  end
  return out
end

-- Every run's config and final metrics as one CSV.
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

wb.runs = M
return M
