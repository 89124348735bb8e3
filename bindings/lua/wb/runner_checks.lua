-- wb/runner_checks.lua: what a task's runner refuses or says before anything
-- starts (wb/runner.lua), rather than after every run has trained or
-- failed: a command its children cannot run again (a script read from
-- stdin), a root the figures cannot be saved in (a newline in its path),
-- one that cannot be written or has no room, and a gnuplot that is missing
-- (the runs train, no figure is drawn: said first, not only in the README);
-- and, for a task and ex:run() alike, a task name and root of another script's.
local _ENV = require "wb.std"
local wb, util, record = require "wb", require "wb.util", require "wb.record"

local M = {}

-- The task's command line (parsed options opts, its root): the reason it
-- cannot run, nil when it can.
function M.command(task, opts, root)
  -- set by the executable for `workbench -` and a program piped on stdin:
  -- each child ran `workbench - ... --run HASH` on an empty stdin (exit 0,
  -- "FAILED (exit 0)"), or the executable itself as the script
  if debug.getregistry()["wb.script_from_stdin"] then
    return string.format("%s: a task read from stdin cannot be run: its runs train in child "
      .. "processes, which read the script again, and stdin is read once; save it to a file "
      .. "and run that (workbench task.lua)", task.name)
  end
  -- --root X/quick without --quick: its full runs and README went in among
  -- X's --quick ones (a quick README replaced by a full one)
  local parent = not opts.quick and (root:match("^(.*)/quick/*$") or root:match("^quick/*$")
    and ".")
  if parent and M.holds_quick(root) then
    return string.format("%s: the root %s holds --quick runs (the root %s keeps them there): "
      .. "full runs there would mix with them; give --root %s, with --quick or without",
      task.name, root, parent ~= "" and parent or "/", parent ~= "" and parent or "/")
  end
  local c = root:match("%c")
  if c then -- every figure was refused after all the runs had trained
    return string.format("%s: the root %s (%s) holds a %s: figures cannot be saved there "
      .. "(wb.plot refuses such paths); choose a folder without one", task.name,
      require("wb.plot.files").quoted(root), opts.root and "--root" or "$WB_PLOTS",
      c == "\n" and "newline" or "control character")
  end
end

-- Whether root's runs folder holds a --quick run's record (its first record read)
function M.holds_quick(root)
  local ok, names = pcall(wb.sys.listdir, record.dir(root))
  for _, n in ipairs(ok and names or {}) do
    if record.is_record_file(n) then
      local rec = record.read(record.dir(root) .. "/" .. n)
      if rec and rec.quick ~= nil then return rec.quick == true end
    end
  end
  return false
end

-- The root can be written, before anything is (73 / 74 now, naming the
-- folder, rather than a traceback from the first record or spec written).
-- base: the root the command line names (--root, $WB_PLOTS or plots).
function M.writable_root(name, root, opts, base)
  local dir = record.dir(root)
  local ok, err = pcall(function()
    wb.sys.mkdir_p(dir .. "/logs")
    local probe = string.format("%s/.probe-%d", dir, wb.sys.getpid())
    wb.sys.write_atomic(probe, string.rep("\0", 65536))
    os.remove(probe)
  end)
  if not ok then
    if not wb.is_error(err) then error(err, 0) end
    error(wb.spec.input_error(string.format("[%s] %s: cannot write its runs folder %s: %s",
      name, opts.root and ("--root " .. opts.root) or ("the root " .. base
      .. " ($WB_PLOTS, else plots)"), dir, err.message:gsub("^[^:]*%.lua:%d+: ", "")),
      err.code), 0)
  end
end

-- ... and has room, before the first run (74 now rather than every run
-- failing one after another), in one line.
function M.room(root, n_runs)
  local dir = record.dir(root)
  local p = io.popen("df -Pk " .. util.shell_quote(dir) .. " 2>/dev/null")
  local out = p and p:read("a") or ""
  if p then p:close() end
  local avail = tonumber(out:match("\n%S+%s+%d+%s+%d+%s+(%d+)"))
  local need = n_runs * 2048 -- KiB: weights, best weights, record, log
  if avail and avail < need then
    error(wb.spec.input_error(string.format("%s: %d KiB free, %d runs need about %d KiB",
      dir, avail, n_runs, need), "EIO"), 0)
  end
end

-- Before runs train: a gnuplot that cannot be found is said now (the whole
-- task trained, then "figure val_loss not drawn: gnuplot not found"); an
-- empty $WB_GNUPLOT is refused, naming it.
function M.gnuplot(ex, pending)
  util.git_found() -- and git (its warning, once): before the runs, not in the report
  if #pending == 0 then return end
  local ok, missing = pcall(require("wb.plot.run").missing, require("wb.plot"))
  if not ok then error(wb.spec.input_error(string.format("[%s] %s", ex.name,
    tostring(missing):gsub("^wb%.plot: ", ""))), 0) end
  if missing then
    io.stderr:write(string.format("[%s] no figure will be drawn: %s; the runs train and are "
      .. "recorded, and the same command draws them once it is there\n", ex.name,
      missing:gsub("^wb%.plot: ", "")))
  end
end

-- Run s resumes the saved state of run h (spec old), the same training.
local function renamed(ex, s, h, old)
  local what = {}
  if old.variant ~= s.variant then
    what[1] = string.format("its variant's label (%s -> %s)", tostring(old.variant), s.variant)
  end
  if old.identity.measure ~= s.identity.measure then what[#what + 1] = "its measure hook" end
  return string.format("[%s] run %s (%s seed %d) resumes the saved state of run %s (%s seed "
    .. "%d): the same training, only %s changed", ex.name, s.hash, s.variant, s.seed, h,
    tostring(old.variant), s.seed, table.concat(what, " and "))
end

-- Saved training states of this task's runs that the plan does not hold (a
-- run interrupted, then its config edited: audit Z7; or a run of another
-- --dataset or option): kept, as such a run planned again resumes from its
-- state, but said with their size, what changed since (from the run's spec
-- file: wb/runner_why.lua) and how to free it, once a plan, rather than
-- left in the runs folder unseen. One of a run renamed since (its label or
-- measure hook changed: the same training) is a pending run's to resume
-- (wb/train_resume.lua), said so: it was "(interrupted, then the config or
-- options changed)", and the run restarted (tryI). nil when there are none.
function M.other_states(ex, pending)
  local dir, resume = record.dir(ex.root), require("wb.train_resume")
  local states = resume.unplanned(ex) -- listed once, for every pending run
  if not states then return nil end
  local by_run, lines, takes = {}, {}, {}
  for _, s in ipairs(ex.specs) do by_run[s.variant .. "\0" .. s.seed] = s end
  for _, s in ipairs(pending) do
    local h, old = resume.renamed(ex, s, states)
    if h and not takes[h] then
      takes[h] = true
      lines[#lines + 1] = renamed(ex, s, h, old)
    end
  end
  local names, bytes, changed, gone, unknown = {}, 0, {}, {}, false
  for _, st in ipairs(states) do
    if not takes[st.hash] then
      names[#names + 1] = st.file
      local fh = io.open(dir .. "/" .. st.file, "rb")
      bytes = bytes + (fh and fh:seek("end") or 0)
      if fh then fh:close() end
      local old = st.spec
      local seed = type(old) == "table" and (math.tointeger(old.seed) or old.seed)
      local s = seed and by_run[tostring(old.variant) .. "\0" .. tostring(seed)]
      for _, n in ipairs(s and require("wb.runner_why").changes(s, old) or {}) do
        changed[n] = true
      end
      if type(old) == "table" and not s then
        gone[#gone + 1] = string.format("%s seed %s", tostring(old.variant), tostring(seed))
      end
      unknown = unknown or type(old) ~= "table"
    end
  end
  if #names == 0 then return lines[1] and table.concat(lines, "\n") end
  local why = util.sorted_keys(changed)
  why = {#why > 0 and ("then " .. table.concat(why, ", ") .. " changed") or nil}
  if #gone > 0 then why[#why + 1] = "not planned now: " .. table.concat(gone, ", ") end
  if unknown then why[#why + 1] = "what changed is not known (no spec file)" end
  if #why == 0 then why[1] = "then its identity changed" end
  lines[#lines + 1] = string.format("[%s] %d saved training state%s (%.1f MB) of runs this plan "
    .. "does not hold (interrupted, %s) kept: such a run planned again resumes from its state; "
    .. "to free the space delete, in %s, %s", ex.name, #names, #names == 1 and "" or "s",
    bytes / 1e6, table.concat(why, "; "), dir, #names <= 4 and table.concat(names, ", ")
    or (table.concat(names, ", ", 1, 3) .. " and " .. (#names - 3) .. " more (--list-runs "
      .. "names the runs planned)"))
  return table.concat(lines, "\n")
end

-- Saved training states of planned runs that are not to train (recorded:
-- an interrupted --fresh retraining left one beside the record it did not
-- replace), removed and said: they stayed unseen (3 MB a run), and a later
-- --fresh went on from that training without a word.
function M.cached_states(ex, pending)
  local todo, removed = {}, 0
  for _, s in ipairs(pending) do todo[s.hash] = true end
  for _, s in ipairs(ex.specs) do
    local path = record.path(ex.root, ex.name, s.hash, "state.safetensors")
    if not todo[s.hash] and wb.sys.exists(path) and os.remove(path) then removed = removed + 1 end
  end
  if removed == 0 then return nil end
  return string.format("[%s] removed the saved training state%s of %d recorded run%s (an "
    .. "interrupted retraining, --fresh; the records stay, as trained before)", ex.name,
    removed == 1 and "" or "s", removed, removed == 1 and "" or "s")
end

-- {==================== a task name and root owned by one script ====================
-- A task name on a root is one script's: the script whose task last wrote the README folder,
-- <root>/<name> (<root>/fashion/<name> for Fashion-MNIST; its runs.json names it: script),
-- or, when no runs.json names one, the script whose run records of that name are there
-- (<root>/runs/<name>-<hash>.json: their field script). A second script with the same name
-- and root overwrote that README and figures (a task), or recorded its runs as that task's
-- (wb.runs.find{task = name} listed both scripts' runs as one task's, tryR 4): a task and a
-- plain script's ex:run() alike, whichever came first. All are refused from this one rule.

-- Why this (an absolute path) may use what script file was owns: "" for the same file (by
-- another path, a copy, a link: equal content); for the caller to say, when was is gone
-- (moved, renamed) or the same file of another clone of its repository (a worktree's
-- scripts/x.lua); nil: refused.
local function let_through(was, this)
  if was == this then return "" end
  if not wb.sys.exists(was) then return "which is gone (moved or renamed?)" end
  local reads = require "wb.identity_reads"
  if reads.file_id(was) == reads.file_id(this) then return "" end -- a copy, a link
  local sc = require "wb.runner_script"
  local a, b = sc.info(was), sc.info(this)
  local function in_repo(i) return i.repo and i.path:sub(#i.repo + 2) end
  if in_repo(a) and in_repo(a) == in_repo(b) and a.repo ~= b.repo then
    return "the same script of another clone (" .. in_repo(a) .. ")"
  end
end

-- The owner of name on root by its run records, for this: nil when a record names this (the
-- usual case: read until one does, not every record, which can be megabytes each), or none
-- names a script (-e, the REPL, an older workbench's); else the first (by file name) naming
-- a script that is there, else one that is gone: was, let (let_through) and that record.
local function recorded(root, name, this)
  local dir = record.dir(root)
  local ok, names = pcall(wb.sys.listdir, dir)
  if not ok then return nil end
  table.sort(names)
  local pat, seen, found = "^" .. name:gsub("%p", "%%%0") .. "%-%x+%.json$", {}, {}
  for _, n in ipairs(names) do
    local r = n:find(pat) and util.read_json(dir .. "/" .. n)
    local p = type(r) == "table" and r.task == name and require("wb.runner_script").named(
      r.script)
    if p and not seen[p] then
      seen[p] = true
      local let = let_through(p, this)
      if let == "" then return nil end
      local rank = not let and 1 or wb.sys.exists(p) and 2 or 3 -- refused, a clone's, gone
      if not found[rank] then found[rank] = {p, let, dir .. "/" .. n} end
    end
  end
  local f = found[1] or found[2] or found[3]
  if f then return f[1], f[2], f[3] end
end

-- M.owner(root, name, dir, script) -> was, let, this, from: nil when script may use task
-- name on root (dir: its README folder there): it is no script (-e, the REPL), or the name
-- has no owner yet (no runs.json naming one, no record naming one), or its owner is this
-- script (by another path, or a copy of it: equal content). Else was, the owner; this,
-- script's absolute path; from, the file that names was (runs.json or a run record); let:
-- why it is let through all the same (for the caller to say): was is gone (moved, renamed)
-- or is the same file of another clone of its repository; nil when it is refused.
function M.owner(root, name, dir, script)
  local this = type(script) == "string" and wb.sys.exists(script)
    and require("wb.runner_options").absolute(script)
  if not this then return nil end
  local old, from = util.read_json(dir .. "/runs.json"), dir .. "/runs.json"
  local was = type(old) == "table" and type(old.script) == "string" and old.script
  local let
  if was then let = let_through(was, this) else was, let, from = recorded(root, name, this) end
  if not was or let == "" then return nil end
  return was, let, this, from
end

-- M.owner_said(was, from, root, name, dir) -> said, advice: where M.owner found owner was
-- ("(its run record <file> says so)") and how to go on all the same ("or, if <was> is no
-- longer that task, move away ..."), for the task's refusal and ex:run()'s: the README
-- folder's runs.json and the run records both name the owner, so moving one alone is not
-- enough.
function M.owner_said(was, from, root, name, dir)
  return string.format("(%s %s says so)", from:match("/runs%.json$") and "its task's README "
    .. "folder's" or "its run record", from), string.format("or, if %s is no longer that "
    .. "task, move away %sits runs' records, %s/%s-<hash>.json", was, wb.sys.exists(dir
    .. "/runs.json") and (dir .. "/runs.json and ") or "", record.dir(root), name)
end

-- M.experiment_owner(ex): ex:run()'s (wb.runner.run_experiment's) check, before anything
-- trains, of the task name and root of its runs (its README folders: one a dataset), against
-- the running script (wb.runner_script.running: -e and the REPL have none): another
-- script's is an input error.
function M.experiment_owner(ex)
  local script, seen = require("wb.runner_script").running(), {}
  for _, s in ipairs(ex.specs) do
    local dir = ex.root .. (s.config.dataset == "fashion" and "/fashion/" or "/") .. ex.name
    local was, let, this, from
    if not seen[dir] then was, let, this, from = M.owner(ex.root, ex.name, dir, script) end
    seen[dir] = true
    if let then
      io.stderr:write(string.format("[%s] task '%s' on the root %s was %s's (%s), %s: %s "
        .. "records its runs under its name now\n", ex.name, ex.name, ex.root, was, from, let,
        this))
    elseif was then
      local said, advice = M.owner_said(was, from, ex.root, ex.name, dir)
      error(wb.spec.input_error(string.format("%s: experiment '%s' (ex:run()) would record its "
        .. "runs under the task name and root of another script, %s %s, under the root %s: "
        .. "wb.runs.find{task = %q} would list both scripts' runs as that task's; nothing "
        .. "trained. Give the experiment another name (wb.experiment{name = ...}) or another "
        .. "root (wb.experiment(spec, {root = ...}), or --root with options = "
        .. "wb.runner.options(arg)), %s", this, ex.name, was, said, ex.root, ex.name, advice),
        "EUSAGE"), 0) -- exit 64, as the task's refusal (wb.Task:_check_owner)
    end
  end
end

-- }====================

-- {==================== a script's own settings beside the command line ====================
-- A plain script's wb.experiment(spec, {options = wb.runner.options(arg), root = "r"}):
-- `workbench exp.lua --root /tmp/x` trained into r, /tmp/x never made, nothing said (tryR
-- 3). What the command line and the script both set, differently, is a usage error (exit
-- 64: code EUSAGE) before anything trains; the same value given both ways is fine.

local function usage(msg) return wb.spec.input_error(msg, "EUSAGE") end

-- A path as the folder it names: absolute, without a trailing /, links and ".." resolved
-- when it exists.
local function resolved(p)
  local abs = require("wb.runner_options").absolute(p):gsub("(.)/+$", "%1")
  return wb.sys.realpath(abs) or abs
end

-- M.one_root(own, opts, name, where) -> string|nil: experiment name's root: own (the
-- script's root = ...) or opts.root (--root); an error when both are given and their runs
-- go to two folders (with --quick, <root>/quick: a task's runner hands over both so).
function M.one_root(own, opts, name, where)
  local given = opts and opts.root
  local function runs_in(r)
    r = resolved(r)
    return (opts.quick and not ("/" .. r):find("/quick$")) and r .. "/quick" or r
  end
  if own == nil or given == nil or runs_in(own) == runs_in(given) then return own or given end
  error(usage(string.format("%s: --root %s (the command line) and root = %q (the script's "
    .. "wb.experiment options, at %s) are two folders (%s, %s): the runs would go to the "
    .. "script's and --root would be ignored; nothing trained. Drop --root to use the "
    .. "script's root, or drop root = ... from wb.experiment's options (its options = "
    .. "wb.runner.options(arg) then takes --root, default $WB_PLOTS, else plots)", name,
    given, own, where, resolved(given), resolved(own))), 0)
end

-- M.one_fresh(own, opts, name) -> boolean|nil: ex:run{fresh = own}'s fresh beside the
-- command line's --fresh (opts.fresh, handed over as options): fresh = false with --fresh
-- kept the records without a word; an error. fresh = 1 (a number, true to Lua) is refused,
-- at ex:run's caller: a boolean is what it takes.
function M.one_fresh(own, opts, name)
  require("wb.args").option("run", "fresh", own, "boolean", 4)
  if own == false and opts and opts.fresh then
    error(usage(string.format("%s: ex:run{fresh = false} (the script) and --fresh (the "
      .. "command line) ask for opposite things; nothing trained. Drop one of them", name)), 0)
  end
  if own == nil and opts and opts.fresh then return true end
  return own
end

-- }====================

return M
