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

---wb.task(spec) -> wb.Task
---The frame of a task script (one ablation of the study): a Task runs its
---experiment with the script's command line, collects text, tables and
---figures, and writes <plots>/<name>/README.md. spec: name (required;
---also the experiment's name and the figure folder <plots>/<name>,
---<plots>/fashion/<name> for --dataset fashion), title, intro (a first
---paragraph), args (the command line; default the global arg: options
---(--quick, --seeds N, --epochs N, --dataset, --jobs N, --fresh, --run
---HASH, --list-runs, --root DIR). A bad option exits with status 64.
---@param spec table
---@return wb.Task
---Example: local task = wb.task{name = "task06_l2", title = "L2 regularization"}
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
  if not t.quiet then util.sweep_stale(t.dir) end
  if spec.intro then t:text(spec.intro) end
  return t
end

---wb.Task
---One task script's output: its folder (task.dir), options (task.opts),
---the text blocks and figures of its README. In --run and --list-runs
---modes nothing is drawn or written.
---Example: local runs = task:experiment{vary = {l2 = {0, 1e-4}}}:run()

---wb.Task:path(file) -> string
---The path of file in the task's folder.
---@param file string
---@return string
---Example: print(task:path("README.md"))
function Task:path(file) return self.dir .. "/" .. file end

---wb.Task:experiment(spec) -> wb.Experiment
---wb.experiment(spec) named after the task (unless spec.name) and driven
---by the task's command line.
---@param spec table
---@return wb.Experiment
---Example: local runs = task:experiment{base = {epochs = 20},
---  vary = {dropout = {0, 0.1, 0.3}}}:run()
function Task:experiment(spec)
  spec.name = spec.name or self.name
  spec.options = self.opts
  return wb.experiment(spec)
end

---wb.Task:data() -> table
---The task's datasets {train, test} (its --dataset; the --quick subset).
---@return table
---Example: local d = task:data()
function Task:data()
  local cfg = {dataset = self.dataset}
  if self.opts.quick then cfg.subset = wb.experiment.quick_subset end
  return wb.experiment.data_for(cfg)
end

---wb.Task:figure(name, plot, caption)
---Saves plot as <dir>/<name>.png (with .csv and .gp) and lists it in the
---README with an optional caption. A figure that cannot be drawn is
---reported in the README and on stderr; the task goes on.
---@param name string
---@param plot wb.Plot
---@param caption? string
---Example: task:figure("val_loss", runs:plot_curves("val_loss"))
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

---wb.Task:text(s)
---Adds a paragraph (markdown) to the README; also printed unless
---WB_ECHO=0 or in --run/--list-runs mode.
---@param s string
---Example: task:text(runs:table{"test_accuracy", "gap"})
function Task:text(s)
  self.blocks[#self.blocks + 1] = s .. "\n"
  if not self.quiet and os.getenv("WB_ECHO") ~= "0" then io.stdout:write(s, "\n") end
end

---wb.Task:section(title)
---Adds a "## title" heading to the README.
---@param title string
---Example: task:section("Findings (computed)")
function Task:section(title) self:text("## " .. title) end

---wb.compare(runs, metric, opts) -> string, table, table
---A sentence comparing the variants of a run list on a metric, computed
---from the numbers: the best variant, the next, the difference and whether
---it is larger than the spread over seeds (the rule every finding uses);
---"" with fewer than two variants. opts.better = "lower" (default) or
---"higher". Also returns the best and all {v, m, s}, sorted.
---@param runs wb.Runs
---@param metric string
---@param opts? table
---@return string
---Example: print(wb.compare(runs, "test_accuracy", {better = "higher"}))
function M.compare(runs, metric, o)
  o = o or {}
  local lower = o.better ~= "higher"
  local stats, missing = {}, {}
  for _, v in ipairs(runs:variants()) do
    local m, s = runs:stat(v, metric)
    local n, all = #runs:values(v, metric), #runs:of(v)
    if m then stats[#stats + 1] = {v = v, m = m, s = s} end
    if n < all then missing[#missing + 1] = string.format("%s (%d of %d seeds)", v, all - n, all) end
  end
  local note = #missing > 0 and string.format(" No value (e.g. target never reached) for %s.",
    table.concat(missing, ", ")) or ""
  if #stats < 2 then return #missing > 0 and ("- " .. metric .. ":" .. note) or "" end
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
  return out .. note, best, stats
end

---wb.Task:compare(runs, metric, opts) -> string
---wb.compare's sentence, added to the README as a paragraph.
---@param runs wb.Runs
---@param metric string
---@param opts? table
---@return string
---Example: task:compare(runs, "gap")
function Task:compare(runs, metric, o)
  local s = M.compare(runs, metric, o)
  if s ~= "" then self:text(s) end
  return s
end

---wb.Task:finish()
---Writes <dir>/README.md (failed runs listed first) and exits non-zero
---when any run failed; in --list-runs and --run modes only exits (64 when
-----run's hash matched no run).
---Example: task:finish()
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
