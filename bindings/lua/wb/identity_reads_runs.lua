-- wb/identity_reads_runs.lua: the run records a hook reads through
-- wb.runs.find or wb.runs.load_all (wb/runs_find.lua, wb/runs_load.lua). A
-- hook that chose its width from another task's best accuracy was reused
-- after that task was retrained with other numbers, or got another run: the
-- runs folder is not recorded, and find reads every record of it, so none
-- was. Now what the hook got is, as one read_files entry per query and
-- folder:
--   {path = 'wb.runs.find{task = "B"} in /r/plots/runs', id = <its answer's id>,
--    found = {dir = "/r/plots/runs", query = {task = "B"}, own = "A-<hash>.json",
--             records = {["B-<hash>.json"] = <its numbers id>, ...}}}
-- The answer is the records of the folder (as wb.runs.load_all keeps them)
-- that match the query's keys whose values are data, each by its file name
-- and the id of its results (numbers_id: XXH3-128 of the record without
-- its provenance, timings and what its own hooks read); a key
-- whose value is a function cannot be asked again, so the records the
-- other keys match are taken (they decide what it returns). Not the run's
-- own record: the runner writes it after the hooks ran (a hook of that run
-- reads the one before, or none), and the run would never be as recorded.
-- Before it reuses the run the runner asks the folder again: a record that
-- changed (its task retrained with other numbers), was added (another run
-- the query matches) or removed retrains it, the message naming the record.
-- wb.runs.load_all(dir, filter) in a hook: every record of the folder (its
-- filter is a function). While find and load_all read the records, those
-- reads are not recorded one by one (the answer is): a folder outside the
-- runs folder (another root) had each record recorded, and a record added
-- there was not. Asked by a hook: its own code or the library on its
-- behalf (a frame of user code newer than the tracker's start, as
-- wb/identity_reads_sys.lua's hook_read; the runner's reads are its own).
-- Installed into wb.identity_reads (as reads.runs) by identity_reads_sys.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"

local R = {}
local I, S -- wb.identity_reads's state and functions, its sys part (set at install)
local ropts -- wb.runner_options (absolute paths), at the first use
local reading = 0 -- > 0 while find or load_all reads the records (R.quietly)

-- What find takes as options, not as what a record must match.
local OPTIONS = {root = true, dir = true, allow_empty = true, latest = true}

-- Whether v is data a record can keep and find ask again: no function,
-- and JSON as records are written (a finite number, a plain table).
local function data(v)
  if type(v) == "function" then return false end
  if type(v) == "table" then
    for k, x in pairs(v) do
      if type(k) ~= "string" and math.type(k) ~= "integer" or not data(x) then return false end
    end
  end
  return (pcall(util.encode_json, {v}))
end

-- R.plain(query) -> table: the keys of a find query a record must match
-- whose values are data (not root, dir, allow_empty; not a function).
function R.plain(query)
  local out = {}
  for k, v in pairs(type(query) == "table" and query or {}) do
    if type(k) == "string" and not OPTIONS[k] and data(v) then out[k] = v end
  end
  return out
end

-- The id of record r's results: what a hook can take from it. Not the
-- file's content id: two runs of one task whose hooks each asked for the
-- task's runs never settled. A retrained with B's record new, which gave
-- A's record another finished_at, pid and epoch_time; B then found A's
-- record changed and retrained, and so on at every invocation, the message
-- saying "another runner on this root?". The timings and provenance
-- (wb/runner_gather_same.lua's results) and the record's own read_files
-- (the other's id: each record would hold the other's, for ever new) are
-- left out; a retraining that gives the same numbers keeps the id. (A
-- hook that takes a run's seconds from it is not retrained when only
-- they changed: they are not reproducible numbers.)
local function numbers_id(r)
  local c = require("wb.runner_gather_same").results(r)
  c.read_files = nil
  return wb.sys.hash_string(util.canonical(c))
end

-- The answer to plain query q among records recs of folder dir (each with
-- its file: wb.runs_group.files), without the file named own: file name ->
-- the id of its results (numbers_id), and the answer's id (XXH3-128 of
-- them, sorted). latest: as find{latest = true} answers (wb.runs_load.latest).
local function answer(recs, q, own, latest)
  local matches = require("wb.runs_find").matches_all
  local files = require("wb.runs_group").files
  local function name_of(r) return files[r] and files[r]:match("[^/]*$") end
  if latest then -- among the others: the run's own record, written after, supersedes none
    local others = {}
    for _, r in ipairs(recs) do
      if name_of(r) ~= own then others[#others + 1] = r end
    end
    recs = require("wb.runs_load").latest(others)
  end
  local out, names = {}, {}
  for _, r in ipairs(recs) do
    local name = name_of(r)
    if name and name ~= own and not out[name] and matches(q, r) then
      out[name], names[#names + 1] = numbers_id(r), name
    end
  end
  table.sort(names)
  local text = {}
  for i, n in ipairs(names) do text[i] = n .. "\0" .. out[n] end
  return out, wb.sys.hash_string(table.concat(text, "\n"))
end

-- R.note(dir, query, recs, text, default): a hook asked folder dir query
-- (text: as the path names it, 'wb.runs.find{task = "B"}'), whose records
-- are recs: noted in every running tracker whose hook asked. default: dir
-- is the one a query without root or dir reads (wb/runs_load.lua's default_root:
-- the task's or experiment's root while its runs train, else $WB_PLOTS or plots).
function R.note(dir, query, recs, text, default)
  if #I.active == 0 or type(dir) ~= "string" then return end
  ropts = ropts or require "wb.runner_options"
  local abs = ropts.absolute(dir)
  local key, q = text .. " in " .. abs, R.plain(query)
  for _, t in ipairs(I.active) do
    if not t.seen[key] and S.by_hook(t) then -- a hook's, not the runner's
      -- the run's own record, when this is its folder
      local own = t.own and S.real(abs) .. "/" .. t.own:match("[^/]*$") == t.own
        and t.own:match("[^/]*$") or nil
      local latest = type(query) == "table" and query.latest == true -- load_all: nil
      local records, id = answer(recs, q, own, latest)
      t.seen[key], t.ids[key], t.order[#t.order + 1] = true, id, key
      t.found[key] = {dir = abs, query = q, own = own, records = records,
        latest = latest or nil, -- asked again the same way (R.changed)
        asked = (default or dir:sub(1, 1) ~= "/") and {dir = dir, cwd = ropts.cwd(),
          default = default or nil} or nil}
    end
  end
end

-- R.quietly(f, ...) -> f(...): the files read meanwhile (find's records, one
-- by one) are not recorded; the answer is (R.note).
function R.quietly(f, ...)
  reading = reading + 1
  local res = table.pack(pcall(f, ...))
  reading = reading - 1
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- R.reading() -> boolean: whether find or load_all is reading records now.
function R.reading() return reading > 0 end

-- R.changed(e, memo, here) -> string|nil, or false when read_files entry
-- e is not an answer's: what differs from the answer recorded, naming the
-- record. memo (path -> content id) is shared with the files' checks, and
-- keeps each folder's records once. here: a folder asked by a relative
-- name is asked again from this process's folder.
function R.changed(e, memo, here)
  local f = type(e) == "table" and e.found
  if f == nil then return false end
  if type(f) ~= "table" or type(f.dir) ~= "string" or type(f.query) ~= "table"
      or type(f.records) ~= "table" or f.own ~= nil and type(f.own) ~= "string" then
    return "has a malformed entry in the record"
  end
  ropts = ropts or require "wb.runner_options"
  local a = f.asked
  if here and type(a) == "table" and type(a.dir) == "string" then
    -- asked without a root: the default folder as this process has it (the
    -- task's root while the runner checks its runs, else $WB_PLOTS)
    local ok, now = true, a.dir
    if a.default then ok, now = pcall(require("wb.runs_load").default_dir) end
    now = ok and ropts.absolute(now)
    if now ~= f.dir then
      return string.format("(the runs a hook found, in '%s' from %s) would be looked for in %s "
        .. "from here (%s), another folder", a.dir, tostring(a.cwd), tostring(now or
        "no folder ($WB_PLOTS is set but empty)"), ropts.cwd())
    end
  end
  local key = "\0runs\0" .. f.dir
  memo[key] = memo[key] or R.quietly(require("wb.runs_load").read_all, f.dir, true)
  local now, id = answer(memo[key], f.query, f.own, f.latest == true)
  if id == e.id then return nil end
  local names, n_then, n_now = {}, 0, 0
  for n in pairs(f.records) do names[n] = true; n_then = n_then + 1 end
  for n in pairs(now) do names[n] = true; n_now = n_now + 1 end
  local what = "are not as they were"
  for _, n in ipairs(util.sorted_keys(names)) do
    local was, is = f.records[n], now[n]
    local how = not is and "is gone (removed, or no longer as the query asks)"
      or not was and "is new" or was ~= is and "has other numbers than when it was recorded"
    if how then
      what = string.format("are not as they were: %s/%s %s", f.dir, n, how)
      break
    end
  end
  return string.format("(the runs a hook found) %s (%d record%s then, %d now)", what, n_then,
    n_then == 1 and "" or "s", n_now)
end

-- Installs into wb.identity_reads (r.runs); i: its state and functions
-- (active, file_id, OWN), s: its sys part (height, real).
return function(r, i, s)
  I, S = i, s
  r.runs = R
end
