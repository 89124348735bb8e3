-- wb/runner_why.lua: why runs that were recorded are trained again. A run's
-- identity (its hash) covers its config, hooks, data and the training code
-- (wb/experiment.lua); an edit to any of them gives new hashes, and the
-- runner said only "0 cached, 2 to train": a user who expected the records
-- to be reused could not tell what they had changed. Here a pending run is
-- matched with the records of the same task, variant label and seed under
-- another hash, and the parts of the identity (and config keys) that differ
-- are named in one line. The old records stay (wb.runs.find lists both,
-- told apart by what differs).
local _ENV = require "wb.std"
local wb, util, record = require "wb", require "wb.util", require "wb.record"
local reads = require "wb.identity_reads"

local M = {}

-- What each identity part is, in the user's words (run and train are
-- derived from the others).
-- a hook's identity covers what it reaches: a module it closes over
-- (local H = require "helpers") whole, a report-only function of it too
local REACH = " (its code or what it closes over: upvalues, the modules they hold)"
local PARTS = {{"code", "the training code (wb's modules or the core as built)"},
  {"data", "the data files"}, {"build", "the build hook" .. REACH},
  {"callbacks", "the callbacks hook" .. REACH}, {"fit_options", "fit_options"},
  {"measure", "the measure hook" .. REACH}}

local HOOK = {build = true, callbacks = true, fit_options = true, measure = true}

-- A config value as the line shows it: a string as it is.
local function shown(v)
  if v == nil then return "unset" end
  return type(v) == "string" and v or util.canonical(v)
end

-- The dataset a config trains on (wb.data.load's name).
local function dataset(cfg)
  local d = rawget(cfg, "dataset") or "mnist"
  return d == "fashion_mnist" and "fashion" or d
end

-- A change the script made to the library (wb.identity.library) as the line
-- names it: "wb.nn.Dense (replaced by the script at t.lua:12)".
local function library_change(name, c)
  if not c then return name .. " (as the workbench has it: the script no longer changes it)" end
  local how = type(c.how) == "string" and c.how or "changed"
  local what = c.value ~= nil and ": " .. shown(c.value) or ""
  return string.format("%s (%s by the script%s%s)", name, how, what,
    type(c.at) == "string" and " at " .. c.at or "")
end

-- A hook's identity without the script's changes to the library (in every
-- hook's identity: a change there is named as such, not as every hook).
local function own_id(id, h)
  if type(id.unpatched) ~= "table" then return id[h] end
  return id.unpatched[h] or (id[h] ~= nil and "none" or nil)
end

-- Whether the files the hooks of record r (or spec file r) come from, the script and the
-- modules it required, are all as they were: r's spec's sources (the spec file beside
-- record file `path`), else its script's files (a committed file has no id there). False
-- when not known.
local function sources_same(r, path)
  local list = type(r.sources) == "table" and r.sources
  if not list and path then
    local t = util.read_json((path:gsub("%.json$", ".spec")))
    list = type(t) == "table" and type(t.sources) == "table" and t.sources
  end
  if not list and type(r.script) == "table" and type(r.script.files) == "table" then
    list = r.script.files
  end
  if type(list) ~= "table" or #list == 0 then return false end
  for _, f in ipairs(list) do
    if type(f) ~= "table" or type(f.path) ~= "string" or type(f.id) ~= "string"
        or reads.file_id(f.path) ~= f.id then
      return false
    end
  end
  return true
end

-- What differs between spec s and record r (read from file path, when it was), into table
-- `into`: by name, the set of "old -> new" of a config key, else true. The data's identity
-- is that of the dataset's files: under another dataset it differs with no
-- file changed (--dataset fashion said "the data files changed since").
local function differences(s, r, into, path)
  local id = type(r.identity) == "table" and r.identity or {}
  local cfg = type(r.config) == "table" and r.config or {}
  local now, was = s.identity.library or {}, type(id.library) == "table" and id.library or {}
  local names = {}
  for k in pairs(now) do names[k] = true end
  for k in pairs(was) do names[k] = true end
  for k in pairs(names) do
    local a, b = was[k], now[k]
    if type(a) ~= "table" or type(b) ~= "table" or a.id ~= b.id then
      into[library_change(k, b)] = true
    end
  end
  local hooks, read = {}, false
  for _, p in ipairs(PARTS) do
    local h = HOOK[p[1]]
    local old, new = h and own_id(id, p[1]) or id[p[1]], h and own_id(s.identity, p[1])
      or s.identity[p[1]]
    if old ~= nil and old ~= new and (p[1] ~= "data" or dataset(cfg) == dataset(s.config)) then
      if h then hooks[#hooks + 1] = p[2] else into[p[2]] = true end
    end
  end
  -- what the hooks read that is not as recorded (a file a module they require read as it
  -- loaded, $VAR: its value is in the hook's identity, tryL 1), named with the hook
  if #hooks > 0 and type(r.read_files) == "table" then
    local memo = {}
    for _, e in ipairs(r.read_files) do
      local how, checked = reads.entry_changed(e, memo, true)
      if how and checked and type(e) == "table" and type(e.path) == "string" then
        into[e.path .. " (read by the hooks)"], read = true, true
      end
    end
  end
  -- a file a hook opens by name is in its identity: with the script and its modules as
  -- they were, the hook changed by that file alone, and naming it too read as if its code
  -- had changed (tryV 9)
  if not (read and sources_same(r, path)) then
    for _, name in ipairs(hooks) do into[name] = true end
  end
  -- the keys of both configs: one set before and unset now (a full run
  -- after a --quick one: subset) was never named
  local keys = {}
  for k in pairs(s.config) do keys[k] = true end
  for k in pairs(cfg) do keys[k] = true end
  for k in pairs(keys) do
    -- raw: a key only the old record has is not this experiment's, and a
    -- hook's config errs on it (a key removed from keys crashed the plan)
    local v = rawget(s.config, k)
    if util.canonical(v) ~= util.canonical(cfg[k]) then
      local name = "config key " .. k
      into[name] = type(into[name]) == "table" and into[name] or {}
      into[name][shown(cfg[k]) .. " -> " .. shown(v)] = true
    end
  end
end

-- A difference as the line names it: a config key with its old and new
-- value when the runs agree on them.
local function named(name, v)
  local pairs_ = type(v) == "table" and util.sorted_keys(v) or {}
  return #pairs_ == 1 and string.format("%s (%s)", name, pairs_[1]) or name
end

-- M.changes(s, r) -> {string}: what differs between spec s and r (a record, or the spec
-- file of a run planned before), named as the note names it, sorted.
function M.changes(s, r)
  local what = {}
  differences(s, r, what)
  local names = util.sorted_keys(what)
  for i, name in ipairs(names) do names[i] = named(name, what[name]) end
  return names
end

-- How far record r is from spec s: the config keys that differ, all the
-- differences, and those differences (differences' table: the note names
-- the nearest record's without comparing it again, which re-hashes the files
-- its hooks read).
local function distance(s, r, path)
  local d, keys, n = {}, 0, 0
  differences(s, r, d, path)
  for name in pairs(d) do
    n = n + 1
    if name:sub(1, 11) == "config key " then keys = keys + 1 end
  end
  return {r = r, keys = keys, n = n, d = d}
end

-- Whether record a.r is to be named rather than record b.r (a and b: their
-- distances from one spec): the one with fewer config keys changed (the same
-- config is this run before: a --dataset fashion run recorded after the mnist
-- one named "config key dataset (fashion -> mnist)" for a change of the mnist
-- files, tryM 3), then fewer differences, then the one that finished later
-- (to the second).
local function rather(a, b)
  if a.keys ~= b.keys then return a.keys < b.keys end
  if a.n ~= b.n then return a.n < b.n end
  return tostring(a.r.finished_at) > tostring(b.r.finished_at)
end

-- Adds differences' table d of one record to `into`, as differences(s, r,
-- into) would have: a config key's "old -> new" pairs joined, else true.
local function merge(into, d)
  for name, v in pairs(d) do
    if type(v) == "table" then
      into[name] = type(into[name]) == "table" and into[name] or {}
      for pair in pairs(v) do into[name][pair] = true end
    else
      into[name] = true
    end
  end
end

-- One line saying how many of the pending runs have a record of the same
-- task, variant and seed under another identity, and what differs from the
-- nearest such record (rather, above: the training code, a hook, a config
-- key); nil when none has.
function M.note(ex, pending)
  if #pending == 0 then return nil end
  -- not a run whose own record is there: it trains again for what its record read (a file
  -- changed since, said as it runs), and an older record under another identity was named
  -- as the reason, a measure hook edit that had not happened since (tryAB A3)
  local want = {}
  for _, s in ipairs(pending) do
    if not wb.sys.exists(record.path(ex.root, ex.name, s.hash)) then
      want[s.variant .. "\0" .. s.seed] = s
    end
  end
  local dir, prefix = record.dir(ex.root), ex.name .. "-"
  local files = wb.sys.exists(dir) and wb.sys.listdir(dir) or {}
  table.sort(files) -- one answer whatever the folder's order
  -- each pending run's nearest record under another hash, with its distance (each record
  -- compared once: a comparison re-hashes the files the record's hooks read)
  local last, n = {}, 0
  for _, f in ipairs(files) do
    if f:sub(1, #prefix) == prefix and record.is_record_file(f) then
      local r = record.read(dir .. "/" .. f) -- nil when malformed: not this run's
      -- a copy under another name (wb.runs.load_all leaves it out): no run's record
      if r and f ~= string.format("%s-%s.json", r.task, r.hash) then r = nil end
      local s = r and want[r.variant .. "\0" .. r.seed]
      if s and r.hash ~= s.hash then
        if not last[s] then n = n + 1 end
        local dr = distance(s, r, dir .. "/" .. f)
        if not last[s] or rather(dr, last[s]) then last[s] = dr end
      end
    end
  end
  if n == 0 then return nil end
  local what = {}
  for _, best in pairs(last) do merge(what, best.d) end
  local names = util.sorted_keys(what)
  for i, name in ipairs(names) do names[i] = named(name, what[name]) end
  return string.format("[%s] %d of the runs not cached %s recorded under another identity "
    .. "(same variant and seed): %s changed since; the old records stay (wb.runs.find lists "
    .. "both)", ex.name, n, n == 1 and "was" or "were",
    #names > 0 and table.concat(names, ", ") or "their identity")
end

return M
