-- wb/task.lua: the frame of a task script (one ablation of the study).
--
--   local task = wb.task{name = "task05_dropout", title = "Dropout"}
--   local runs = task:experiment{base = {epochs = 20},
--     vary = {dropout = {0, 0.1, 0.3}}}:run()
--   task:figure("val_loss", runs:plot_curves("val_loss"))
--   task:text(runs:table{"val_accuracy", "gap"})
--   task:finish()
--
-- Figures go to <plots>/<name>/ (<plots>/fashion/<name>/ for Fashion-MNIST)
-- and task:finish() writes README.md there: what was varied, the tables,
-- findings computed from the numbers, and the figures. In --run and
-- --list-runs modes nothing is drawn or written: the script only trains or
-- lists, and finish() exits.
local wb = require "wb"
local util = require "wb.util"
local runs_mod = require "wb.runs"

local M = {}
local Task = {}
Task.__index = Task

function M.new(spec)
  if type(spec) ~= "table" or type(spec.name) ~= "string" then
    error("wb.task: expected a table with a 'name'", 2)
  end
  local ok, opts = pcall(util.task_options, spec.args or rawget(_G, "arg"))
  if not ok then
    io.stderr:write(spec.name, ": ", tostring(opts), "\n")
    os.exit(64) -- EX_USAGE
  end
  local t = setmetatable({name = spec.name, title = spec.title or spec.name,
    opts = opts, blocks = {}, figures = {}}, Task)
  t.quiet = opts.run ~= nil or opts.list_runs
  local root = opts.root or util.plots_root()
  if opts.dataset == "fashion" then root = root .. "/fashion" end
  t.dir = root .. "/" .. spec.name
  t.dataset = opts.dataset or "mnist"
  if spec.intro then t:text(spec.intro) end
  return t
end

function Task:path(file) return self.dir .. "/" .. file end

-- An experiment named after the task, with the task's command line.
function Task:experiment(spec)
  spec.name = spec.name or self.name
  spec.options = self.opts
  return wb.experiment(spec)
end

-- The trained datasets for this task (subset in --quick mode).
function Task:data()
  local cfg = {dataset = self.dataset}
  if self.opts.quick then cfg.subset = {train = 2000, test = 500} end
  return wb.experiment.data_for(cfg)
end

-- Save a plot as <dir>/<name>.png (+ .csv, .gp) and list it in the README.
function Task:figure(name, plot, caption)
  if self.quiet then return end
  local path = self:path(name .. ".png")
  local ok, err = pcall(plot.save, plot, path)
  if not ok then
    io.stderr:write(string.format("%s: figure %s not drawn: %s\n", self.name, name,
      tostring(err)))
    self.blocks[#self.blocks + 1] = string.format("*Figure %s could not be drawn: %s*\n",
      name, tostring(err):match("[^\n]*"))
    return
  end
  self.figures[#self.figures + 1] = name .. ".png"
  self.blocks[#self.blocks + 1] = string.format("![%s](%s.png)\n%s\n", caption or name,
    name, caption and ("*" .. caption .. "*\n") or "")
end

function Task:text(s)
  self.blocks[#self.blocks + 1] = s .. "\n"
  if not self.quiet and os.getenv("WB_ECHO") ~= "0" then io.stdout:write(s, "\n") end
end

function Task:section(title) self:text("## " .. title) end

-- A sentence comparing variants on a metric, computed from the numbers:
-- which variant is best, by how much, and whether the difference is larger
-- than the spread over seeds (the rule every "finding" uses).
function M.compare(runs, metric, o)
  o = o or {}
  local lower = o.better ~= "higher"
  local stats = {}
  for _, v in ipairs(runs:variants()) do
    local m, s = runs:stat(v, metric)
    if m then stats[#stats + 1] = {v = v, m = m, s = s} end
  end
  if #stats < 2 then return "" end
  table.sort(stats, function(a, b)
    if lower then return a.m < b.m end
    return a.m > b.m
  end)
  local best, second = stats[1], stats[2]
  local fmt = function(x) return runs_mod.fmt_mean_std(x.m, x.s, metric) end
  local margin = math.abs(best.m - second.m)
  local spread = math.max(best.s, second.s)
  local verdict = margin > spread and "larger than" or "within"
  local out = string.format("- Best %s (%s is better): **%s** with %s; next %s with %s. "
    .. "The difference (%.4g) is %s the spread over seeds (largest std %.4g).",
    metric, lower and "lower" or "higher", best.v, fmt(best), second.v, fmt(second),
    margin, verdict, spread)
  local worst = stats[#stats]
  if #stats > 2 then
    out = out .. string.format(" Worst: %s with %s.", worst.v, fmt(worst))
  end
  return out, best, stats
end

function Task:compare(runs, metric, o)
  local s = M.compare(runs, metric, o)
  if s ~= "" then self:text(s) end
  return s
end

-- Write README.md; exit non-zero when any run failed (after writing what
-- could be written). In --list-runs / --run modes only exit.
function Task:finish()
  local failures = wb.experiment.failures or {}
  if self.opts.list_runs then os.exit(0) end
  if self.opts.run then
    if not wb.experiment.matched_run then
      io.stderr:write(self.name, ": no run with hash ", self.opts.run, "\n")
      os.exit(64)
    end
    os.exit(0)
  end
  local head = {"# " .. self.title, ""}
  if #failures > 0 then
    head[#head + 1] = string.format("**%d run(s) failed**:", #failures)
    for _, f in ipairs(failures) do
      head[#head + 1] = string.format("- %s seed %d: `%s`", f.spec.variant, f.spec.seed,
        tostring(f.error):match("[^\n]*"))
    end
    head[#head + 1] = ""
  end
  local body = table.concat(head, "\n") .. "\n" .. table.concat(self.blocks, "\n")
  util.write_file(self:path("README.md"), body)
  io.stderr:write(string.format("%s: wrote %s (%d figures)\n", self.name,
    self:path("README.md"), #self.figures))
  if #failures > 0 then os.exit(1) end
end

wb.task = M.new
wb.compare = M.compare
return M
