-- wb/task.lua: a task script's declaration. A task script returns
--
--   return wb.task{name = "my_width", title = "Hidden width",
--     experiment = {base = {epochs = 10}, vary = {hidden = {32, 128, 512}}},
--     report = function(task, runs)
--       task:text(runs:table{"test_accuracy", "gap"})
--       task:figure("val_loss", runs:plot_curves("val_loss"))
--     end}
--
-- Loading the script has no side effect: wb.task checks the declaration
-- and returns it. The workbench executable then hands it to the runner
-- (wb/runner.lua), which trains what is missing and calls `report` once;
-- report's text blocks and figures make <plots>/<name>/README.md
-- (<plots>/fashion/<name>/ for Fashion-MNIST, <plots>/quick/... for --quick,
-- whatever the root: --root DIR --quick writes DIR/quick/...).
local _ENV = require "wb.std"
local wb = require "wb"
local spec_mod = require "wb.spec"
local args = require "wb.args"

-- "file:line" of the declaration; a script's `return wb.task{...}` is a
-- tail call, whose frame is gone: then the running script's file.
local function where_declared(level)
  local info = debug.getinfo(level + 1, "Sl")
  if info and info.what ~= "C" and info.currentline > 0 then
    return info.short_src .. ":" .. info.currentline
  end
  local a = rawget(_G, "arg")
  return a and a[0] or "?"
end

-- f(...) for the declaration made at `where`: an error wb.experiment raises
-- with the declaration's prefix (where .. ": ", as its checks say it) is in
-- what the script declares or the command line asks, raised again as an
-- input error: its message alone, no traceback. Any other error (a bug, an
-- interrupt) goes on as the same object.
local function declared(where, f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  local e = r[2]
  if type(e) == "string" and e:sub(1, #where + 2) == where .. ": " then
    error(spec_mod.input_error(e), 0)
  end
  error(e, 0)
end

local M = {}
local Task = {__name = "wb.Task"}
-- Its fields (some nil until the runner sets them); reading another name
-- (task:txt) is an error naming the nearest, as setting one near them is.
Task.__fields = {name = true, title = true, intro = true, args = true, experiment = true,
  report = true, where = true, blocks = true, figures = true, dir = true, dataset = true,
  quick = true, opts = true, ex = true, script = true, problems = true}
require("wb.spec_keys").strict("wb.Task", Task, "task")
M._Task = Task -- for wb/init.lua: its methods refuse extra arguments (wb/args.lua at_most)

---wb.task(spec) -> wb.Task
---Declares a task; a task script returns it. spec: name (letters, digits,
---_ and -: the figure folder and the experiment's name), title, intro (a
---first paragraph), args (what the command line's other arguments are, as
---"[PNG files]": a task without it refuses them), experiment (a
---wb.experiment spec: base, vary or
---variants, seeds, hooks), report = function(task, runs) (tables, figures
---and findings from the runs; runs once, after training). Every key is
---checked now. `workbench SCRIPT [options]` then runs it (SCRIPT --help
---lists the options).
---@param spec table
---@return wb.Task
---Example: return wb.task{name = "w", experiment = {base = {hidden = 32, epochs = 1}}}
function M.new(spec, where)
  where = where or where_declared(2)
  if type(spec) ~= "table" then
    error(where .. ": wb.task: expected a table {name, experiment, report}", 0)
  end
  spec_mod.check_task(spec, where .. (type(spec) == "table" and spec.name ~= nil
    and ": " .. tostring(spec.name) or ""))
  -- the experiment is checked now too (without the command line's options)
  declared(where, wb.experiment.new, spec.experiment, {name = spec.name, where = where})
  return setmetatable({name = spec.name, title = spec.title or spec.name,
    intro = spec.intro, args = spec.args, experiment = spec.experiment, report = spec.report,
    where = where, blocks = {}, figures = {}, tried = {}, drawn_at = {}, problems = {}}, Task)
end

---wb.Task
---A declared task. Inside report(task, runs): task.dir (its figure folder),
---task.dataset, task.args (the command line's other arguments), task.quick,
---task.opts, and the methods text, section, figure, compare, path, data, problem.
---Example: report = function(task, runs) task:text(runs:table{"test_accuracy"}) end

function Task:__tostring() return string.format("Task(%s)", self.name) end

-- The executable runs a script that returns a task through this.
function Task.__main(t, argv)
  local a = {}
  for i = 1, #(argv or {}) do a[i] = argv[i] end
  t.script = argv and argv[0] -- whose README folder it is (Task:_setup)
  return require("wb.runner").main(t, a, argv and argv[0])
end

-- Called by the runner once the options are known: the task's folder and
-- its experiment under them (self.ex); command(hash) is a run's command.
function Task:_setup(opts, root, command)
  self.opts, self.quick, self.args = opts, opts.quick == true, opts.rest
  self.dataset = opts.dataset or (self.experiment.base or {}).dataset or "mnist"
  self.dir = root .. (self.dataset == "fashion" and "/fashion/" or "/") .. self.name
  self:_check_owner(root)
  self.ex = declared(self.where, wb.experiment.new, self.experiment, {name = self.name,
    options = opts, root = root, where = self.where, command = command})
  return self.ex
end

---wb.Task:path(file) -> string
---The path of file in the task's folder.
---@param file string
---@return string
---Example: print(task:path("README.md"))
function Task:path(file) return self.dir .. "/" .. file end

---wb.Task:data() -> table
---The datasets {train, test} the task's runs used (their dataset and, for
-----quick, the same first rows).
---@return table
---Example: local d = task:data(); print(#d.test)
function Task:data()
  local cfg = self.ex and self.ex.specs[1] and self.ex.specs[1].config
    or {dataset = self.dataset}
  return wb.data.for_config(cfg)
end

-- A --quick run's figure with its title marked (a copy: plot is left as it
-- is): its README says it is a smoke test, a figure copied out of it did not.
local QUICK_MARK = require("wb.runs_curve_note").QUICK_MARK
M.QUICK_MARK = QUICK_MARK -- --cockpit's figure too (wb/cockpit_run.lua)
-- A figure a report draws itself (not plot_curves', which name their run
-- records) gets a comment saying where it came from, heading its CSV and
-- .gp: copied out of its folder, neither said which task, script or commit
-- made it. Both are copies: plot is left as it is.
-- The comment's line saying what a figure d of a report shows: its title and
-- axes, and what its error columns are (the scripts' "sd" is wb.runs.mean_std's
-- over seeds). A CSV alone did not say robustness.csv's numbers were percent,
-- weights_hist.csv's seed 1's first layer, what '<label> sd' was (tryO F5).
local function shows(d)
  local t = {d.title and ("figure: " .. d.title), d.xlabel and ("x: " .. d.xlabel),
    d.ylabel and ("y: " .. d.ylabel)}
  local any_err = false
  for _, s in ipairs(d.series or {}) do any_err = any_err or s.err ~= nil end
  if any_err then
    t[#t + 1] = string.format("a column '<label> %s': %s; the band or error bar is the value ± "
      .. "it", d.err_is, d.err_is == "sd" and "the standard deviation over seeds (n - 1)"
      or "the error's half-length")
  end
  local out = {}
  for i = 1, 4 do out[#out + 1] = t[i] end -- (the nils left out)
  return #out > 0 and "\n" .. table.concat(out, "; ") or ""
end

local function marked(self, plot, name)
  local quick = self.quick
  if not (quick or plot.d.comment == nil) then return plot end
  local d = {}
  for k, v in pairs(plot.d) do d[k] = v end
  -- (once: a figure of the runs alone, plot_curves', is marked already)
  if quick then d.title = require("wb.runs_curve_note").quick_mark(d.title or name) end
  local made = d.comment == nil -- the task's provenance, made here
  if made then
    local ropt = require "wb.runner_options"
    d.comment = string.format("%s.png: drawn by task %s's report (script %s; workbench %s, "
      .. "commit %s) in `%s`\nthe runs behind it: runs.json beside this file (their "
      .. "hashes), described in README.md%s", name, self.name, self.script and
      ropt.absolute(self.script) or "?", tostring(wb.version), require("wb.util").commit_text(),
      ropt.this_command(), quick and "\nQUICK (smoke test, not the results)" or "")
  end
  if plot.kind == "panels" and d.plots then
    -- each panel's CSV: its own comment first (which file it is: task 2's), then
    -- the figure's (its provenance; a panel's CSV alone had lost it) and what the
    -- panel shows
    local plots = {}
    for i, sub in ipairs(d.plots) do
      local own, c = sub.d.comment, nil
      if made then
        c = (own and own .. "\n" or "") .. d.comment .. shows(sub.d)
      elseif own and own ~= d.comment then
        c = own .. "\n" .. d.comment
      end
      plots[i] = sub
      if c then
        local sd = {}
        for k, v in pairs(sub.d) do sd[k] = v end
        sd.comment = c
        plots[i] = setmetatable({kind = sub.kind, d = sd}, getmetatable(sub))
      end
    end
    d.plots = plots
  end
  if made then d.comment = d.comment .. shows(d) end
  return setmetatable({kind = plot.kind, d = d}, getmetatable(plot))
end

---wb.Task:figure(name, plot, caption)
---Saves plot as <dir>/<name>.png (with .csv and .gp) and lists it in the
---README with an optional caption. A figure that cannot be drawn is
---reported in the README and on stderr; the task goes on. runs.json lists
---the figures drawn (under --quick, each title begins "QUICK (smoke test, not the
---results): "). A plot without a comment of its own (wb.plot's comment
---option; runs:plot_curves sets one) gets one naming the task, script,
---commit and command, and runs.json for its runs, heading its CSV and .gp
---(and each panel's CSV, under the panel's own comment if it has one). One
---the task's last report drew and this one does not (a figure renamed) is
---deleted with its .csv and .gp, and another PNG in the folder is named on
---stderr and left; so is a file the last report
---exported into the folder (wb.runs.export_*: runs.json's exports).
---name is a plain file name: letters, digits, _, - and . (not first, never
---".."), so the files stay in the folder and the README's link shows. A
---name given twice in one report is an error (the files would be one).
---@param name string
---@param plot wb.Plot
---@param caption? string
---Example: task:figure("val_loss", runs:plot_curves("val_loss"))
function Task:figure(name, plot, caption)
  args.check("figure", 1, name, "string")
  -- the name is a file in the task's folder and a Markdown link target:
  -- "../x" was written where the clean-up of renamed figures never looks,
  -- "Val Loss (%)" made a link no viewer shows (tryZ B1, B2)
  if not name:match("^[%w_%-][%w_%-%.]*$") or name:find("..", 1, true) then
    args.input_fail(string.format("task:figure: name '%s': expected a plain file name "
      .. "(letters, digits, _, - and ., not beginning with . nor holding ..)",
      (name:gsub("%c", "?"))), 2)
  end
  -- a second figure of one name replaced the first's files, and the README
  -- showed it twice (tryZ A1); by file: a figure of that name elsewhere is another
  local path = self:path(name .. ".png")
  local first = self.drawn_at[path]
  if first then
    args.input_fail(string.format("task:figure: figure '%s' was given already by this report "
      .. "(at %s): two figures cannot share one file, %s.png; give this one another name",
      name, first, name), 2)
  end
  local at = debug.getinfo(2, "Sl")
  at = at and at.currentline > 0 and at.short_src .. ":" .. at.currentline or "?"
  if type(plot) == "table" and type(plot.d) == "table" then plot = marked(self, plot, name) end
  self.tried[name .. ".png"], self.drawn_at[path] = at, at -- drawn or not: this report's
  local ok, err = pcall(plot.save, plot, path)
  if not ok then
    -- a SIGINT or SIGTERM during the render is not a figure's failure: the
    -- report stops (Task:_report says so), not "not drawn" and exit 0
    wb.sys.check_interrupt()
    io.stderr:write(string.format("%s: figure %s not drawn: %s\n", self.name, name,
      tostring(err)))
    self.blocks[#self.blocks + 1] = string.format("*Figure %s could not be drawn: %s*\n",
      name, tostring(err):match("[^\n]*"))
    return
  end
  self.figures[#self.figures + 1] = name .. ".png"
  self.blocks[#self.blocks + 1] = string.format("![%s](%s.png)\n%s", caption or name,
    name, caption and ("\n*" .. caption .. "*\n") or "")
end

-- What "±" in a table's cells is (wb.Runs:table: mean ± sd over seeds),
-- said under each markdown table whose cells have one: the figures' bands
-- are 95 % confidence intervals, and a bare "± 0.42" was read as one.
local PM_NOTE = "*±: the standard deviation over seeds (n - 1 in its denominator), not a "
  .. "confidence interval.*"
local function pm_noted(s)
  if not s:find("±", 1, true) then return s end
  local out, pm, lines = {}, false, {}
  for l in (s .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  for i, l in ipairs(lines) do
    out[#out + 1] = l
    local row = l:match("^%s*|") ~= nil
    pm = row and (pm or l:find("±", 1, true) ~= nil)
    -- after a table's last row (a blank line first: a line right under a
    -- table is one of its rows in GitHub's markdown)
    if pm and not (lines[i + 1] or ""):match("^%s*|") and lines[i + 2] ~= PM_NOTE then
      out[#out + 1] = ""
      out[#out + 1] = PM_NOTE
      pm = false
    end
  end
  return table.concat(out, "\n")
end

---wb.Task:problem(msg)
---Notes a problem the report went on past (an input it left out, such as
---task 2's unreadable PNG file): msg (one line) is written on stderr now,
---after the task's name, and once README.md and the figures are written
---the task exits 1 (its last line on stderr counts them, naming the
---first), as when a run failed while the others finished. The README does not list
---problems itself: say them there with task:text, next to what they concern.
---@param msg string
---Example: task:problem("data/custom/x.png: not a PNG file (left out)")
function Task:problem(msg)
  args.check("problem", 1, msg, "string")
  msg = msg:gsub("\r?\n", " ")
  self.problems[#self.problems + 1] = msg
  io.stderr:write(self.name, ": ", msg, "\n")
end

-- After the report (the runner): the count of Task:problem's problems,
-- said with the first as stderr's last line (the line report.lua quotes in
-- REPORT.md for a task that exits 1: "wrote README.md" said nothing of it).
function Task:_end_problems()
  local p = self.problems
  if #p > 0 then
    io.stderr:write(string.format("%s: finished with %d problem%s: %s%s\n", self.name, #p,
      #p == 1 and "" or "s", p[1], #p > 1 and " (the others above)" or ""))
  end
  return #p
end

---wb.Task:text(s)
---Adds a paragraph (markdown) to the README; also printed unless WB_ECHO=0.
---Under a markdown table with "±" in its cells (wb.Runs:table's mean ± sd),
---a line says what ± is: the standard deviation over seeds (n - 1).
---@param s string
---Example: task:text(runs:table{"test_accuracy", "gap"})
function Task:text(s)
  s = pm_noted(s)
  self.blocks[#self.blocks + 1] = s .. "\n"
  if os.getenv("WB_ECHO") ~= "0" then io.stdout:write(s, "\n") end
end

---wb.Task:section(title)
---Adds a "## title" heading to the README.
---@param title string
---Example: task:section("Findings (computed)")
function Task:section(title) self:text("## " .. title) end

---wb.Task:compare(runs, metric, opts) -> string
---wb.compare's sentence, added to the README as a paragraph.
---@param runs wb.Runs
---@param metric string
---@param opts? table
---@return string
---Example: task:compare(runs, "gap")
function Task:compare(runs, metric, o)
  local s = require("wb.compare")._compare(runs, metric, o) -- errors at the script's line
  if s ~= "" then self:text(s) end
  return s
end

-- The README (Task:_provenance, Task:_report): wb/task_readme.lua.
require("wb.task_readme")(Task)


-- The task a file declared at its top level without returning it (a
-- `return` left out: `return wb.task{...}` is a tail call, never here), by
-- the file's name as run.
local top_level = {}

-- The executable calls this with a script's result when it is no task: a
-- script that declared one at its top level and returned nothing, or that
-- returned an experiment, ran nothing and said nothing (exit 0).
function M._check_result(v)
  local a = rawget(_G, "arg")
  local script = a and a[0] or "?"
  if args.typename(v) == "wb.Experiment" then
    error(spec_mod.input_error(script .. ": the script returned an experiment, which "
      .. "nothing runs: return wb.task{name = ..., experiment = {base = ..., vary = ...}, "
      .. "report = ...} (workbench then trains what is missing and reports), or call "
      .. "ex:run()"), 0)
  end
  local t = top_level[script]
  if v == nil and t then
    error(spec_mod.input_error(string.format("%s: declares task '%s' but returns nothing, "
      .. "so nothing was trained: write return wb.task{...}", t.where, t.name)), 0)
  end
end

require "wb.compare"
wb.task = setmetatable(M, {__call = function(_, spec)
  local t = M.new(spec, where_declared(2))
  local info = debug.getinfo(2, "S")
  if info and info.what == "main" and info.source:sub(1, 1) == "@" then
    top_level[info.source:sub(2)] = t
  end
  return t
end})
return M
