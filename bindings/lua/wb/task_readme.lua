-- wb/task_readme.lua: a task's README.md and runs.json (wb/task.lua's
-- Task:_report, after the report function ran): the title, what the
-- command line replaced, the provenance paragraph (command, workbench and
-- script commits, OpenBLAS kernels, data, epochs, seeds, what the hooks read,
-- timings), the runs that failed or diverged, warnings, then the report's
-- blocks. A report that fails leaves a README that says so on top
-- (Task:_failed).
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local prov = require "wb.runner_provenance"

local Task = {}

local function list_of(specs, get)
  local seen, out = {}, {}
  for _, s in ipairs(specs) do
    local v = util.show(get(s))
    if not seen[v] then seen[v] = true; out[#out + 1] = v end
  end
  return table.concat(out, ", ")
end

-- The command line as run ("workbench scripts/x.lua --quick"), each
-- argument shell-quoted: for README's provenance line and runs.json.
local function command_line(info) -- as a record's (one source: wb.runner_options)
  return require("wb.runner_options").command_line(info.script, info.argv)
end

-- " OpenBLAS kernel: SkylakeX (2)." for records recs ("" for none), the
-- variants whose seeds were trained with more than one (their means mix
-- them: the kernel is no part of a run's identity) named with their counts.
local function kernels_text(recs)
  if #recs == 0 then return "" end
  local kernels = require "wb.runs_kernels"
  local mixed = kernels.groups(recs, function(r) return r.variant end)
  local all = wb.record.tally(recs, "blas_core")
  return string.format(" OpenBLAS kernel%s: %s.%s", all:find("), ", 1, true) and "s" or "",
    all, #mixed > 0 and string.format(" **Seeds averaged across kernels** (%s): %s.",
    table.concat(mixed, "; "), kernels.WHY) or "")
end

-- One paragraph: which command, data, validation, epochs, seeds, commit and
-- date produced the README, the commits its runs (records) were trained at
-- and the OpenBLAS kernels,
-- which of them are copies, and how many ran at once when timed.
function Task:_provenance(info, records)
  local specs = self.ex.specs
  -- every dataset and subset the runs use (a task may vary them), not the first's
  local seen, data, files = {}, {}, {}
  for _, sp in ipairs(specs) do
    local c = sp.config
    local d = tostring(c.dataset) .. ", " .. (c.subset and string.format("first %s training / "
      .. "%s test rows", tostring(c.subset.train or "all"), tostring(c.subset.test or "all"))
      or "full training and test sets")
    if not seen[d] then seen[d] = true; data[#data + 1] = d end
    -- which files: $WB_DATA may point at another copy, edited (the records' identity.data)
    local f = string.format("%s in %s, identity %s%s", tostring(c.dataset),
      (wb.data._location(c.dataset)), tostring(sp.identity.data),
      require("wb.data_cache").files_note(c.dataset, sp.identity.data)) -- audit X13
    if not seen[f] then seen[f] = true; files[#files + 1] = f end
  end
  local val = list_of(specs, function(s)
    local v = s.config.validation
    if v == "test" then return "the test set (validation = \"test\")" end
    if not v then return "none" end
    return string.format("the last %g %% of the training rows, held out (the test set "
      .. "only gives the final test metrics)", 100 * v)
  end)
  local now, before = {}, {} -- this command's records (its pending runs), the others
  local fresh = {}
  for _, s in ipairs(info.pending or {}) do fresh[s.hash] = true end
  for _, r in ipairs(records or {}) do table.insert(fresh[r.hash] and now or before, r) end
  -- the study script's own repository and commit (the workbench's is not its)
  local script = require("wb.runner_script").info(info.script)
  return string.format("*Produced by `%s` (workbench %s, commit %s) on %s.%s Data: %s. "
    .. "Data files: %s. Validation: %s. Epochs: %s. Seeds: %s. %d run%s: %d trained by this "
    .. "command%s, %d from records%s%s%s.%s%s%s*\n", command_line(info), wb.version,
    util.commit_text(), os.date("!%Y-%m-%d %H:%M UTC"), script and (" Script: "
    .. require("wb.runner_script").text(script) .. ".") or "", table.concat(data, "; ")
    .. require("wb.train_hooks").readme_note(records or {}), -- a hook's rows (audit W15)
    table.concat(files, "; "), val, list_of(specs, function(s) return s.config.epochs end),
    table.concat(self.ex.seeds, ", "), #specs, #specs == 1 and "" or "s", info.trained,
    prov.copies(now) .. prov.resumed(now), info.cached, prov.copies(before),
    -- the runs that left no record: "9 runs: 8 trained, 0 from records" left one unsaid
    #(info.failures or {}) > 0 and string.format(", %d failed (no record)", #info.failures) or "",
    records and #records > 0 and ("; trained at commit " .. wb.record.commits(records)) or "",
    kernels_text(records or {}), prov.timing(records or {}),
    -- files and variables the hooks read besides the config ($SCALE=2, a
    -- file's content id): numbers that depend on them say so
    prov.hooks_read(records or {}))
end

-- A figure an earlier report of this task drew (its runs.json's figures)
-- that this one did not (renamed, removed from the script) is deleted with
-- its CSV and gnuplot script: left, it looked like this report's (task 1's
-- per_class_accuracy.png beside per_class_error.png). Another PNG in the
-- folder, not listed (a report older than the list, a file of the user's),
-- is named on stderr and left.
function Task:_drop_old_figures()
  local old = util.read_json(self:path("runs.json"))
  local tried = self.tried
  for _, f in ipairs(type(old) == "table" and type(old.figures) == "table" and old.figures
      or {}) do
    if type(f) == "string" and f:match("^[^/]+%.png$") and not tried[f] then
      for _, ext in ipairs{".png", ".csv", ".gp"} do os.remove(self:path(f:sub(1, -5) .. ext)) end
      io.stderr:write(string.format("%s: removed %s (and its .csv, .gp): an earlier report "
        .. "drew it, this one does not\n", self.name, self:path(f)))
      tried[f] = true
    end
  end
  -- so is a file an earlier report exported here (wb.runs.export_*) and this
  -- one did not: a runs.csv of 3 seeds stayed beside a README of 2
  local now = {}
  for _, f in ipairs(self.exports or {}) do now[f] = true end
  for _, f in ipairs(type(old) == "table" and type(old.exports) == "table" and old.exports
      or {}) do
    if type(f) == "string" and f:match("^[^/]+$") and not now[f] and not tried[f] then
      os.remove(self:path(f))
      io.stderr:write(string.format("%s: removed %s: an earlier report exported it, this one "
        .. "does not\n", self.name, self:path(f)))
    end
  end
  local ok, names = pcall(wb.sys.listdir, self.dir)
  for _, f in ipairs(ok and names or {}) do
    if f:match("%.png$") and not tried[f] then
      io.stderr:write(string.format("%s: %s was not drawn by this report (an older "
        .. "version's figure, or a file of yours?); left as it is\n", self.name, self:path(f)))
    end
  end
end

-- What the hooks of records `recs` read, each entry once (path and id), for
-- runs.json: {{path, id, value}, ...} (wb/identity_reads.lua).
local function hooks_read(recs)
  local seen, out = {}, util.array()
  for _, r in ipairs(recs) do
    for _, e in ipairs(type(r.read_files) == "table" and r.read_files or {}) do
      local k = type(e) == "table" and tostring(e.path) .. "\0" .. tostring(e.id)
      if k and not seen[k] then seen[k] = true; out[#out + 1] = e end
    end
  end
  return out
end

-- The line that ends a failed report's notice (Task:_failed): what follows
-- is an earlier report's README; another failure replaces the notice only.
local EARLIER = "<!-- wb: below, the README of an earlier report, as it was -->"

-- Task:_failed's stopped for a report that has begun (Task:_report): a
-- process killed outright (SIGKILL, a lost node) runs no closing method, so
-- the earlier README is marked before the report draws anything; the end of
-- the report, written or failed, replaces the mark.
local STARTED = {}

-- After a report that raised err (the report function, a figure's data, the
-- README's writing) or that a signal stopped (stopped: "interrupted by
-- SIGINT"): README.md says so on top (when, the error's first line, the
-- command), and that what follows is an earlier report's README, not of
-- these runs. It was left as it was, and read as this command's (its
-- "Epochs: 1" over a run with 2), beside the figures the stopped report had
-- already redrawn. runs.json is left: it lists that README's runs.
function Task:_failed(err, info, runs, stopped)
  local path = self:path("README.md")
  local old = util.read_file(path)
  local at = old and old:find(EARLIER, 1, true)
  if at then old = old:sub(at + #EARLIER):gsub("^\n+", "") end
  -- a failed report's README with no earlier one under its line: none (a
  -- second failure said an earlier README followed, and none did)
  if old and not old:find("%S") then old = nil end
  local drawn = #self.figures > 0 and string.format(" Figures it drew before %s, "
    .. "from these runs (they replace the earlier ones of that name): %s.", stopped
    and "it was stopped" or "the error", table.concat(self.figures, ", ")) or ""
  local what = stopped == STARTED and string.format("**A report of this task was started** "
    .. "(%s, `%s`) and has not ended: it is running, or it was killed (kill -9, a lost "
    .. "machine) before it could say so; the figures it draws replace the earlier ones as "
    .. "it goes.", os.date("!%Y-%m-%d %H:%M UTC"), command_line(info))
    or stopped and string.format("**The last report of this task was interrupted** "
    .. "(%s, `%s`): %s, before it ended.", os.date("!%Y-%m-%d %H:%M UTC"), command_line(info),
    stopped) or string.format("**The last report of this task failed** (%s, `%s`): `%s`.",
    os.date("!%Y-%m-%d %H:%M UTC"), command_line(info), tostring(err):match("[^\n]*"))
  local note = string.format("%s Its %d run%s recorded; no README was written from them.%s %s",
    what, #runs.records, #runs.records == 1 and " is" or "s are", drawn, old and "**What "
    .. "follows is the README of an earlier report**, kept as it was: not of these runs, nor "
    .. "of this command." or "There is no earlier README.")
  util.write_file(path, table.concat({"# " .. self.title .. (self.quick and " (--quick)"
    or ""), "", note, "", EARLIER, "", old or ""}, "\n"))
  if not stopped then -- (STARTED is said by the report's end, whichever it is)
    io.stderr:write(string.format("%s: the report failed; %s says so on top%s\n", self.name,
      path, old and " (an earlier report's README below it)" or " (there was no earlier report)"))
  end
end

-- The one line a report stopped by a signal ends with (as a task stopped
-- while training says wb/runner_stop.lua's): the exit status stays 130 /
-- 143, read from the signal, not from this error.
local function stopped_line(self, marked, why)
  return require("wb.spec").input_error(string.format("[%s] interrupted: the report was "
    .. "stopped before it ended; %s; its finished runs stay recorded: run the same command "
    .. "again to report", self.name, marked and (self:path("README.md") .. " says so on top")
    or why and ("marking " .. self:path("README.md") .. " failed too: "
    .. util.error_line(why)) or "nothing was written (no figure yet, no earlier README)"))
end

-- Runs the report (once) and writes README.md; when that fails, README.md
-- says so (Task:_failed) and the error goes on with its own traceback. A
-- signal (SIGINT, SIGTERM) marks README.md as well (the figures drawn by
-- then are this report's, the README below the mark an earlier one's), and
-- ends in one line, not a traceback: the closing method's error replaces
-- the interrupt's (Lua 5.4), the status stays the signal's.
function Task:_report(runs, info)
  local written -- the README of this report is whole: nothing to mark
  local _ <close> = setmetatable({}, {__close = function(_, err)
    if err == nil or written then return end
    local signal = not pcall(wb.sys.check_interrupt)
    -- stopped with no figure drawn and no earlier README: nothing to mark
    -- (no README is written from partial data); else the mark
    local mark = not signal or #self.figures > 0 or wb.sys.exists(self:path("README.md"))
    local ok, why = true, nil
    if mark then
      ok, why = pcall(self._failed, self, err, info, runs, signal and "stopped by a "
        .. "signal (SIGINT or SIGTERM)")
    end
    if signal then error(stopped_line(self, mark and ok, mark and why), 0) end
    if not ok then
      io.stderr:write(string.format("%s: the report failed, and so did marking %s: %s\n",
        self.name, self:path("README.md"), util.error_line(why)))
    end
  end})
  -- a file that could not be written (a full disk, a folder in its place)
  -- is the user's situation, not a bug: one line, its status (73 / 74). Here,
  -- where it is raised: the closing method above sees what the traceback
  -- handler made of it, text.
  local function write(f, ...)
    local ok, e = pcall(f, ...)
    if ok then return end
    if wb.is_error(e) and (e.code == "EIO" or e.code == "ECREATE") then
      e = require("wb.spec").input_error(string.format("[%s] the report could not write its "
        .. "files: %s", self.name, util.error_line(e)), e.code)
    end
    error(e, 0)
  end
  -- an earlier README beside figures this report redraws, should it be
  -- killed: marked first (audit X1: kill -9 left it unmarked)
  if wb.sys.exists(self:path("README.md")) then
    write(self._failed, self, nil, info, runs, STARTED)
  end
  if self.intro then self:text(self.intro) end
  -- the files the report exports into its folder (wb.runs.export_*: runs.json lists them)
  local exported = {}
  rawset(require("wb.runs"), "_exported", exported)
  -- every run failed, none recorded: a report function that fails on no
  -- data failed with a traceback ("no run to draw 'val_loss' from ... their
  -- logs say why", where no log was written: ulimit -n 12); its README says
  -- where it stopped under the failures listed (what it drew stays: a
  -- table of "0 of 1 (1 failed)"). A signal still stops it.
  if self.report and #runs.records == 0 and #info.failures > 0 then
    local ok, e = pcall(self.report, self, runs)
    if not ok and not pcall(wb.sys.check_interrupt) then error(e, 0) end
    if not ok then
      self:text(string.format("No run has a record (%d failed, listed above): the report "
        .. "stopped there (%s).", #info.failures, util.error_line(e)))
    end
  elseif self.report then self.report(self, runs) end
  self.exports = {}
  for path in pairs(exported) do
    local f = path:sub(1, #self.dir + 1) == self.dir .. "/" and path:sub(#self.dir + 2)
    if f and not f:find("/", 1, true) then self.exports[#self.exports + 1] = f end
  end
  table.sort(self.exports)
  local head = {"# " .. self.title .. (self.quick and " (--quick)" or ""), ""}
  if self.quick then
    -- a smoke test's numbers, never to be taken for the task's own
    head[#head + 1] = "**--quick: a smoke test (the first rows, at most 2 epochs: "
      .. "see below), not the task's results.**\n"
  end
  -- what --epochs, --seeds, --dataset or --quick replaced of the experiment's own values
  for _, line in ipairs(require("wb.runner_overrides").readme(self.ex)) do
    head[#head + 1] = line
  end
  head[#head + 1] = self:_provenance(info, runs.records)
  if #info.failures > 0 then
    head[#head + 1] = string.format("**%d run(s) failed**:\n", #info.failures)
    for _, f in ipairs(info.failures) do
      head[#head + 1] = string.format("- %s seed %d: `%s`", f.spec.variant, f.spec.seed,
        tostring(f.error):match("[^\n]*"))
    end
    head[#head + 1] = ""
  end
  -- runs recorded as not finished (diverged): named here, in no mean
  local by = {}
  for _, r in ipairs(runs.records) do
    if r.status ~= "ok" then
      by[r.status] = by[r.status] or {}
      table.insert(by[r.status], string.format("- %s seed %d: after %d epoch(s)", r.variant,
        r.seed, type(r.history) == "table" and #(r.history.loss or {}) or 0))
    end
  end
  for _, k in ipairs(util.sorted_keys(by)) do
    head[#head + 1] = string.format("**%d run(s) %s** (recorded; in no mean, table or "
      .. "comparison):\n\n%s\n", #by[k], k, table.concat(by[k], "\n"))
  end
  -- what the runs warned of as they ran (a measure's NaN): their records keep it
  local warned = {}
  for _, r in ipairs(runs.records) do
    for _, w in ipairs(type(r.warnings) == "table" and r.warnings or {}) do
      warned[#warned + 1] = string.format("- %s seed %s (run %s): %s", tostring(r.variant),
        tostring(r.seed), tostring(r.hash), tostring(w))
    end
  end
  if #warned > 0 then
    head[#head + 1] = string.format("**Warnings** (%d, from the runs' records):\n\n%s\n",
      #warned, table.concat(warned, "\n"))
  end
  local same = require("wb.runs_same").lines(runs) -- a key nothing applied (tryI 1)
  if #same > 0 then
    head[#head + 1] = "**Variants that trained the same:**\n\n" .. table.concat(same, "\n") .. "\n"
    for _, l in ipairs(same) do io.stderr:write("[", self.name, "] warning: ", l:sub(3), "\n") end
  end
  -- seeds of one variant that trained the same: copies, no samples (tryX 2)
  local copies = require("wb.runs_copies").lines(runs)
  if #copies > 0 then
    head[#head + 1] = "**Seeds that trained the same:**\n\n" .. table.concat(copies, "\n") .. "\n"
    for _, l in ipairs(copies) do io.stderr:write("[", self.name, "] warning: ", l:sub(3), "\n") end
  end
  local shared = require("wb.runs_copies").init_lines(runs) -- one start for every seed
  if #shared > 0 then
    head[#head + 1] = "**Seeds that started from the same weights:**\n\n"
      .. table.concat(shared, "\n") .. "\n"
    for _, l in ipairs(shared) do io.stderr:write("[", self.name, "] warning: ", l:sub(3), "\n") end
  end
  local body = table.concat(head, "\n") .. "\n" .. table.concat(self.blocks, "\n")
  -- which records made this README (the report gathers exactly these)
  local hashes = {}
  for i, r in ipairs(runs.records) do hashes[i] = r.hash end
  -- and the runs that left no record: a report counts them, never just has fewer seeds
  local failed = {}
  for i, f in ipairs(info.failures) do
    failed[i] = {hash = f.spec.hash, variant = f.spec.variant, seed = f.spec.seed,
      group_key = f.spec.group_key}
  end
  self:_drop_old_figures()
  write(util.write_json, self:path("runs.json"), {task = self.name, runs = hashes,
    failed = #failed > 0 and failed or nil, command = command_line(info),
    figures = util.array(self.figures), exports = #self.exports > 0 and self.exports or nil,
    hooks_read = hooks_read(runs.records),
    script = info.script and require("wb.runner_options").absolute(info.script)})
  write(util.write_file, self:path("README.md"), body)
  written = true
  io.stderr:write(string.format("%s: wrote %s (%d figure%s)\n", self.name,
    self:path("README.md"), #self.figures, #self.figures == 1 and "" or "s"))
end


-- Refuses (an input error: exit 64, before anything is trained) a script
-- whose task has the name and root of another script's: the two overwrote
-- each other's README and figures, and their runs were listed as one task's.
-- Which script owns the name, and which others are let through (said on
-- stderr), is wb.runner_checks.owner's rule. root: the task's.
function Task:_check_owner(root)
  local checks = require "wb.runner_checks"
  local was, let, this, from = checks.owner(root, self.name, self.dir, self.script)
  if not was then return end
  if let then
    return io.stderr:write(string.format("%s: %s was last written by %s (%s), %s: %s writes it "
      .. "now\n", self.name, self.dir, was, from, let, this))
  end
  local said, advice = checks.owner_said(was, from, root, self.name, self.dir)
  error(require("wb.spec").input_error(string.format("%s: task '%s' would write %s, the "
    .. "README folder of another script's task of the same name, %s %s: the two would "
    .. "overwrite each other's README and figures (a task's), and wb.runs.find{task = %q} "
    .. "would list both scripts' runs as one task's; give one of them another name "
    .. "(wb.task{name = ...}) or another --root, %s", this, self.name, self.dir, was, said, self.name, advice)), 0)
end

-- Installs these methods into wb.Task's metatable T.
return function(T)
  for k, f in pairs(Task) do T[k] = f end
end
