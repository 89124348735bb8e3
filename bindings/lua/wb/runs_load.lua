-- wb/runs_load.lua: reading the run records of a folder (wb.runs.load_all),
-- leaving out, each named in one line on stderr, those that cannot be
-- trusted: malformed, changed since written (checksum), or a copy under
-- another run's file name. wb.runs.find and the exports read through it.
-- Installed in wb.runs by wb/runs.lua (via wb/runs_find.lua).
local _ENV = require "wb.std"
local wb = require "wb"
local record = require "wb.record"
local group = require "wb.runs_group"
local util = require "wb.util"
local reads = require "wb.identity_reads"
local fail = require("wb.args").input_fail -- a query's mistake: no traceback

local M = {}
local argcheck = group.argcheck

-- The root a query without root or dir reads: while a task's or an
-- experiment's runs are planned, trained and reported (wb/runner.lua sets
-- it), the root they are recorded under (--root, --quick's <root>/quick,
-- an experiment's root); elsewhere $WB_PLOTS or plots. A hook that asked
-- wb.runs.find{task = "B"} in a task run with --root R read ./plots/runs
-- (or $WB_PLOTS/runs): another folder than R's, whose runs of B it took,
-- or none with allow_empty, without a word.
local run_root -- nil: none set

-- M.default_root() -> string: that root; M.default_dir(): its runs folder.
function M.default_root() return run_root or util.plots_root() end
function M.default_dir() return record.dir(M.default_root()) end

-- M.use_root(root) -> a to-be-closed value: root is the default until it
-- is closed (the one before then again).
function M.use_root(root)
  local before = run_root
  run_root = root
  return setmetatable({}, {__close = function() run_root = before end})
end

---wb.runs.load_all(dir, filter) -> table
---Every run record in folder dir (default <root>/runs: in a task's or an
---experiment's runs, their hooks and report, the root they are recorded
---under; elsewhere $WB_PLOTS or "plots") as plain tables sorted by file
---name, keeping those for which
---filter(record) is true; {} when the folder does not exist. Integral
---numbers are integers (seed 2, not 2.0). A malformed record (see
---wb.record.read), or one whose content does not match the checksum
---written with it, is skipped with a one-line warning on stderr naming the
---file and what is wrong; so is a record whose task and hash are not those
---its file name says (<task>-<hash>.json: a copy of another run's record
---under another name, which would count that run twice). Called by a hook
---while its run trains, every record it read is part of the run's identity
---(as wb.runs.find's answer is, with no key: filter is code).
---@param dir? string
---@param filter? function
---@return table
---Example: local recs = wb.runs.load_all(nil, function(r) return r.status ~= "ok" end)
function M.load_all(dir, filter)
  argcheck(dir == nil or type(dir) == "string", 1, "load_all", "string", dir)
  argcheck(filter == nil or type(filter) == "function", 2, "load_all", "function", filter)
  local default = dir == nil
  dir = dir or M.default_dir()
  local all = M.read_all(dir)
  -- a hook's: what it got is part of its run's identity (every record: its filter is code)
  reads.runs.note(dir, nil, all, "wb.runs.load_all()", default)
  if not filter then return all end
  local out = {}
  for _, r in ipairs(all) do if filter(r) then out[#out + 1] = r end end
  return out
end

-- M.read_all(dir, quiet) -> table: wb.runs.load_all(dir) without a filter,
-- and without noting it in a hook's reads (wb.runs.find notes what it
-- asked; the runner's check asks again); quiet: no line on stderr for a
-- record left out. The files it reads are not a hook's reads one by one
-- (wb/identity_reads_runs.lua).
function M.read_all(dir, quiet)
  if not wb.sys.exists(dir) then return {} end
  return reads.runs.quietly(function()
    local names = {}
    for _, n in ipairs(wb.sys.listdir(dir)) do
      if record.is_record_file(n) then names[#names + 1] = n end
    end
    table.sort(names)
    local out = {}
    for _, n in ipairs(names) do
      local path = dir .. "/" .. n
      local r, why = record.read(path)
      -- a record is written under its own task and hash (wb.record.path): one
      -- under another name is a copy (a backup, a sync conflict, cp over
      -- another run's file) and would be listed, averaged and exported twice
      local own = r and string.format("%s-%s.json", r.task, r.hash)
      if r and n ~= own then
        r, why = nil, string.format("it is the record of task %s, run %s, not of the run its "
          .. "file name says: %s", r.task, r.hash, wb.sys.exists(dir .. "/" .. own)
          and ("a copy of " .. own .. ", listed once from there")
          or ("its own file " .. own .. " is not there (renamed? named so, it is listed)"))
      end
      if not r then
        if not quiet then
          io.stderr:write(string.format("wb.runs: skipping %s: %s\n", path, why))
        end
      else
        group.files[r] = path -- a message naming a record names its file
        out[#out + 1] = r
      end
    end
    return out
  end)
end

-- M.latest(recs) -> table: recs without each record superseded by a later
-- one (finished_at) of the same task, variant and seed: what the runner
-- reuses or retrains now, not the runs an edit of a hook, a key or --epochs
-- left behind (they stay on disk; the runner names the nearest when it
-- retrains). Two finished in the same second both stay, told apart as ever.
function M.latest(recs)
  local function key(r) return util.canonical({r.task, r.variant, r.seed}) end
  local function at(r) return type(r.finished_at) == "string" and r.finished_at or "" end
  local newest, out = {}, {}
  for _, r in ipairs(recs) do
    local k = key(r)
    if not newest[k] or at(r) > newest[k] then newest[k] = at(r) end
  end
  for _, r in ipairs(recs) do
    if at(r) == newest[key(r)] then out[#out + 1] = r end
  end
  return out
end

-- " (2 --quick runs under R/quick match: root = "R/quick")" when the query
-- looks in a root R (not a dir, not a quick/ one) whose quick/ folder holds
-- runs keep(r) takes, else "": a query for quick runs in the full root named
-- only what the full runs have.
function M.quick_note(query, keep)
  local root = not query.dir and (query.root or M.default_root())
  if not root or root:match("quick/*$") then return "" end
  local qdir = record.dir(root .. "/quick")
  if not wb.sys.exists(qdir) then return "" end
  local n = 0
  for _, r in ipairs(M.read_all(qdir)) do if keep(r) then n = n + 1 end end
  if n == 0 then return "" end
  return string.format(' (%d --quick run%s under %s/quick match%s: root = "%s/quick")', n,
    n == 1 and "" or "s", root, n == 1 and "es" or "", root)
end

-- Raise (at find's caller) unless every task the query names has runs in
-- recs: naming it and the tasks that have runs there, nearest first.
function M.check_tasks(want, recs, dir, query)
  local names = type(want) == "string" and {want} or type(want) == "table" and want or {}
  local have = {}
  for _, r in ipairs(recs) do have[r.task] = (have[r.task] or 0) + 1 end
  for _, t in ipairs(names) do
    if type(t) == "string" and not have[t] then
      local list, near = require("wb.runs_stats").nearest_first(t, have)
      for i, n in ipairs(list) do
        list[i] = string.format("%s (%d run%s)", n, have[n], have[n] == 1 and "" or "s")
      end
      fail(string.format("wb.runs.find: no runs of task '%s' in %s%s%s (tasks with runs "
        .. "there: %s; allow_empty = true returns an empty list)", t, dir,
        M.quick_note(query, function(r) return r.task == t end),
        near and (" (did you mean '" .. near .. "'?)") or "",
        #list > 0 and table.concat(list, ", ") or "none"), 3)
    end
  end
end

-- Raise (at find's caller) that runs folder dir does not exist, with what
-- does: the root, and its quick/ folder, where --quick runs go.
function M.no_folder(query, dir)
  local root = query.root or (not query.dir and M.default_root() or nil)
  local why
  if root and not wb.sys.exists(root) then
    why = "root " .. root .. " does not exist"
  elseif root then
    why = "root " .. root .. " has no runs folder"
    if wb.sys.exists(record.dir(root .. "/quick")) then
      why = why .. string.format(' (--quick runs are under its quick/ folder: root = "%s/quick")',
        root)
    end
  else
    why = "no such folder"
  end
  fail(string.format("wb.runs.find: no runs folder %s: %s (allow_empty = true returns an "
    .. "empty list)", dir, why), 3)
end

return M
