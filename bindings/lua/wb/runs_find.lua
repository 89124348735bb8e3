-- wb/runs_find.lua: finding the runs a query names (wb.runs.find) among
-- the records of a folder (wb.runs.load_all, wb/runs_load.lua). Installed in wb.runs
-- by wb/runs.lua; reads records only, never trains. It never answers "no
-- runs" in silence: a missing folder, task or match is an error saying what is there.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local record = require "wb.record"
local group = require "wb.runs_group"
local as_run = require("wb.run").as_run
local args = require "wb.args"
local fail = args.input_fail -- a query's mistake: its message alone, no traceback
local reads = require "wb.identity_reads"

local M = {}
local argcheck = group.argcheck

-- Reading a folder's records, and leaving out those that cannot be
-- trusted, is wb/runs_load.lua; so are the errors that say what a folder holds.
local load = require "wb.runs_load"
M.load_all = load.load_all

-- Record fields a query may name; any other key is a config key.
local record_keys = {task = true, variant = true, seed = true, status = true, hash = true,
  group_key = true}
-- The keys that say where to look and how, not what to match.
local options = {root = true, dir = true, allow_empty = true, latest = true}

-- A value matches by equality (a table value, hidden = {256, 128}, as a
-- whole), a list by any of its items, a function by its answer. An item
-- of a list is a value (item = true): a list in a list, {{256, 128}}, is
-- the value {256, 128}, not again any of 256 and 128, which matched
-- hidden = 256 runs to a query for the two-layer ones.
-- A read file's key (read:<path>) also matches its content id shortened
-- as a label shows it ("2:8c1f03d6e2a1...").
local function matches(want, have, k, item)
  if type(want) == "function" then return want(have) and true or false end
  if type(want) == "string" and type(have) == "string" and group.is_read(k)
      and group.read_shown(have) == want then
    return true
  end
  if type(have) == "table" and type(want) == "table"
      and util.canonical(want) == util.canonical(have) then
    return true
  end
  if type(want) == "table" and not item then
    for _, w in ipairs(want) do if matches(w, have, k, true) then return true end end
    return false
  end
  return want == have
end

-- Record tables a query may name a key of as "<table>.<key>": the parts
-- of a label that sets groups apart ("base [identity.build=5602e12e...]",
-- "fit_options.batch_size=32") are keys of find, so a label names a filter.
local dotted = {config = true, fit_options = true, identity = true}
local function split_key(k)
  local t, sub = tostring(k):match("^([%a_]+)%.(.+)$")
  if t and dotted[t] then return t, sub end
end

-- Record r's value of query key k; false stays false (`x and y or nil` made
-- validation = false nil: such runs were never found).
local function field(r, k)
  if record_keys[k] then return r[k] end
  if group.is_read(k) then return group.read_id(r, k:sub(6)) end
  local t, sub = split_key(k)
  if t then
    if type(r[t]) ~= "table" then return nil end
    return r[t][sub]
  end
  if type(r.config) ~= "table" then return nil end
  return r.config[k]
end

-- M.matches_all(query, r) -> boolean: whether record r matches every key
-- of query (not its options): what find returns (wb/identity_reads_runs.lua
-- asks a folder again with it).
function M.matches_all(query, r)
  for k, want in pairs(query) do
    if not options[k] and not matches(want, field(r, k), k) then return false end
  end
  return true
end

-- The keys a query may name: record fields, the experiment's config keys
-- and every config key of the records read.
local function valid_keys(recs)
  local valid = {}
  for k in pairs(options) do valid[k] = true end
  for k in pairs(record_keys) do valid[k] = true end
  local ok_ex, ex = pcall(require, "wb.experiment")
  local ex_keys = ok_ex and type(ex) == "table" and type(ex.known_keys) == "table"
    and ex.known_keys
  for k in pairs(ex_keys or {}) do valid[k] = true end
  for _, r in ipairs(recs) do
    for k in pairs(r.config) do valid[k] = true; valid["config." .. k] = true end
    for t in pairs(dotted) do
      for k in pairs(type(r[t]) == "table" and r[t] or {}) do valid[t .. "." .. k] = true end
    end
    for _, f in ipairs(type(r.read_files) == "table" and r.read_files or {}) do
      if type(f) == "table" and f.path then valid["read:" .. tostring(f.path)] = true end
    end
  end
  for k in pairs(ex_keys or {}) do valid["config." .. k] = true end
  return valid
end

-- The distinct values of key k over records recs, as text, sorted.
local function values_text(recs, k)
  local seen, out = {}, {}
  for _, r in ipairs(recs) do
    local s = group.show_exact(field(r, k)) -- 0.001 and 0.0010000000000000002 apart
    if field(r, k) == nil then s = "none" end
    if not seen[s] then seen[s] = true; out[#out + 1] = s end
  end
  table.sort(out, function(a, b)
    local x, y = tonumber(a), tonumber(b)
    if x and y then return x < y end
    return a < b
  end)
  local more = #out > 12 and string.format(", ... (%d values)", #out) or ""
  return table.concat(out, ", ", 1, math.min(#out, 12)) .. more
end

-- A query value as written: "x" quoted, a list as {0, 0.5}.
local function show(v)
  if type(v) == "function" then return "a function" end
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" and v[1] ~= nil then
    local items = {}
    for i, x in ipairs(v) do items[i] = show(x) end
    return "{" .. table.concat(items, ", ") .. "}"
  end
  -- every digit a double needs: 0.1*3 printed as 0.3 beside runs with 0.3
  return group.show_exact(v)
end

-- " (not equal: ...)" when the float want prints, to 6 digits, like a value
-- of key k in recs that it is not: 0.1*3 is 0.30000000000000004, not 0.3.
local function float_note(want, recs, k)
  if math.type(want) ~= "float" then return "" end
  for _, r in ipairs(recs) do
    local v = field(r, k)
    if type(v) == "number" and v ~= want and util.show(v) == util.show(want) then
      return string.format(" (not equal: the query's %s is not the runs' %s, a float "
        .. "computed as 0.1*3 is not 0.3; give the value as recorded)", group.show_exact(want),
        group.show_exact(v))
    end
  end
  return ""
end

-- The query's matching keys, sorted, and its text: "task = "x", dropout = 0.5".
local function query_keys(query)
  local ks, parts = {}, {}
  for _, k in ipairs(util.sorted_keys(query)) do
    if not options[k] then
      ks[#ks + 1] = k
      parts[#parts + 1] = k .. " = " .. show(query[k])
    end
  end
  return ks, table.concat(parts, ", ")
end

-- " (numbers; the query gives a string)" when want's type is not that of
-- any value of key k in recs: seed = "1" looks like seed 1 in a message.
local function type_note(want, recs, k)
  if type(want) == "function" or type(want) == "table" then return "" end
  local types = {}
  for _, r in ipairs(recs) do
    local v = field(r, k)
    if v ~= nil then
      if type(v) == type(want) then return "" end
      types[type(v) .. "s"] = true
    end
  end
  if next(types) == nil then return "" end
  return string.format(" (%s; the query gives a %s)", table.concat(util.sorted_keys(types),
    " and "), type(want))
end

-- The records of recs that match every key of ks but k.
local function all_but(query, ks, k, recs)
  local rest = {}
  for _, r in ipairs(recs) do
    local keep = true
    for _, o in ipairs(ks) do
      if o ~= k and not matches(query[o], field(r, o), o) then keep = false; break end
    end
    if keep then rest[#rest + 1] = r end
  end
  return rest
end

-- Raise (at find's caller) that no run in dir matches query: which key
-- rules out every run the other keys keep, and the values those runs have.
local function none_match(query, recs, dir)
  local ks, text = query_keys(query)
  local parts = {}
  for _, k in ipairs(ks) do
    local rest = all_but(query, ks, k, recs)
    if #rest > 0 then
      parts[#parts + 1] = string.format("%s: the %d runs the other keys match have %s%s%s",
        k, #rest, values_text(rest, k), type_note(query[k], rest, k),
        float_note(query[k], rest, k))
    end
  end
  if #parts == 0 then -- no single key is at fault: what each key could match
    for _, k in ipairs(ks) do parts[#parts + 1] = k .. " there: " .. values_text(recs, k) end
  end
  local quick = load.quick_note(query, function(r) return #all_but(query, ks, nil, {r}) == 1 end)
  fail(string.format("wb.runs.find: no run in %s matches {%s}%s (%s; allow_empty = true "
    .. "returns an empty list)", dir, text, quick, table.concat(parts, "; ")), 3)
end

-- Raise (at find's caller) when a value in a list of the query (dropout =
-- {0, 0.5}) matches none of the runs the other keys keep: a list is a set
-- of values each meant to be there, not "any of these, if present".
local function check_lists(query, recs, dir)
  local ks, text = query_keys(query)
  for _, k in ipairs(ks) do
    local want = query[k]
    local rest = type(want) == "table" and all_but(query, ks, k, recs)
    local whole = false -- hidden = {256, 128} naming runs' value: a value, not a set
    for _, r in ipairs(rest or {}) do whole = whole or matches(want, field(r, k), k, true) end
    if rest and not whole then
      for _, w in ipairs(want) do
        local hit = false
        for _, r in ipairs(rest) do hit = hit or matches(w, field(r, k), k, true) end
        if not hit then
          fail(string.format("wb.runs.find: %s = %s, in {%s}, matches none of the %d runs "
            .. "in %s the other keys match (%s there: %s; allow_empty = true accepts it)", k,
            show(w), text, #rest, dir, k, values_text(rest, k) .. type_note(w, rest, k)
            .. float_note(w, rest, k)), 3)
        end
      end
    end
  end
end

-- Raise (at find's caller) when a list of the query matches some runs of out
-- as a whole value and others by one of its items: hidden = {256, 128}
-- returned the two-layer runs and the hidden = 128 ones in one list.
local function check_ambiguous(query, out)
  local ks = query_keys(query)
  for _, k in ipairs(ks) do
    local want = query[k]
    if type(want) == "table" and want[1] ~= nil then
      local whole, items, one = 0, 0, nil
      for _, r in ipairs(out) do
        local have = field(r, k)
        if type(have) == "table" and util.canonical(have) == util.canonical(want) then
          whole = whole + 1
        else
          items, one = items + 1, one or have
        end
      end
      if whole > 0 and items > 0 then
        fail(string.format("wb.runs.find: %s = %s matches %d run%s whose %s is %s and %d "
          .. "whose %s is one of its values (%s): say which, %s = {%s} for the list value, "
          .. "or a function(v) for the others", k, show(want), whole, whole == 1 and "" or "s",
          k, show(want), items, k, show(one), k, show(want)), 3)
      end
    end
  end
end

local warn = require "wb.runs_warn" -- what find says of the runs it returns

---wb.runs.find(query) -> wb.Runs
---The finished runs whose records match every key of `query`, read from
---the run records (`<root>/runs/*.json`); never trains. A key is a record
---field (task, variant, seed, status, hash, group_key) or a config key
---(dropout, l2, dataset, epochs, ...), or "config.<key>", "fit_options.<key>",
---"identity.<key>" (a record's config, fit options, identity: the parts of a
---label such as "base [identity.build=5602e12e0a1b2c3d]" are filters,
---{["identity.build"] = "5602e12e0a1b2c3d"}), or "read:<path>", the content
---id of a file the run's hooks read ("base [read:/d/w.txt=2:8c1f03d6e2a1...]":
---{["read:/d/w.txt"] = "2:8c1f03d6e2a1..."}, shortened as shown, or whole).
---A value matches by equality (false too), a list
---matches any of its values (or a list-valued config equal to it, hidden =
---{256, 128}; a list in the list is a value: {{256, 128}}, and a list that
---matches some runs as a value and others by an item is an error), a
---function(value) -> boolean decides. Options:
---root = the plots folder (default: in a task's or an experiment's runs,
---their hooks and report, the root they are recorded under, --root's or
-----quick's <root>/quick; elsewhere $WB_PLOTS or "plots"; --quick runs are
---under <root>/quick), dir = the runs folder itself (default <root>/runs;
---not both), latest = true to leave out each record superseded by a later
---one of the same task, variant and seed (what an edit of a hook, a key or
-----epochs left behind; a variant the script no longer has stays),
---allow_empty = true to accept an empty answer. Without it,
---each of these is an error saying what is there: a runs folder that does
---not exist, a task with no runs in it (listing the tasks that have runs,
---nearest first), a query no run matches (naming the key that rules them
---out and the values the runs have) and a value of a list that matches no
---run (dropout = {0, 0.5} without dropout 0.5 runs). An unknown key is an
---error listing the valid ones. Runs of one variant that differ in more
---than the seed (quick and full runs, say) are never pooled: each group's
---label gets what sets it apart, "base [epochs=2, subset={test=500,train=2000}]" (a Run's
---tostring too); a run whose hook cannot be identified (a closure over a tensor: its record
---cannot say which code of the hook trained it) stands alone, "base [seed 2: a hook
---unidentified]". The list is sorted by task, variant (numbers compared as numbers), seed;
---without latest, a line on stderr counts the variant/seed pairs with several records.
---Malformed records are skipped with a warning (wb.runs.load_all). Runs
---whose hooks read a file, folder or environment variable that is no
---longer as recorded (their read_files) are returned, with one line on
---stderr counting them and naming the first: running their task retrains
---them. So are runs trained by other training code than this workbench's
---or on other data files than those found now (wb.identity.code, .data):
---a line on stderr counts each kind.
---A record whose content does not match the checksum written with it (a
---number edited by hand, a partial copy, a merge) is left out, a line on
---stderr naming its file, and so is one under another file name than its
---own task and hash make (a copy of a run's record: it would count twice); runs whose records have no checksum (an older
---workbench's, or written by hand) are returned, a line on stderr counting
---them and naming the first: running their task retrains them. Seeds of
---one group trained with more than one OpenBLAS kernel (blas_core: no part
---of a run's identity) pool, a line on stderr naming the kernels per group.
---Called by a hook while its run trains, what find answered is part of the
---run's identity (read_files: the records the query matches, each by its
---file name and content; a function value's key as the records the other
---keys match; not the run's own record): the runner retrains the run when
---one of them changed, was added or removed, naming it.
---@param query? table
---@return wb.Runs
---Example: local rs = wb.runs.find{task = "task05_dropout", dropout = {0, 0.3}}
---  print(#rs, rs[1])
---  print(wb.runs.find{task = "task05_dropout", latest = true}:table{"test_accuracy"})
---  print(#wb.runs.find{task = "task05_dropout", status = "diverged", allow_empty = true})
function M.find(query)
  query = args.opt("find", 1, query, "table") or {}
  for _, k in ipairs{"root", "dir"} do
    if query[k] ~= nil and type(query[k]) ~= "string" then
      fail(string.format("wb.runs.find: %s: expected a string, got %s", k, type(query[k])), 2)
    end
  end
  if query.root and query.dir then -- one would be ignored
    fail("wb.runs.find: root and dir both given: give one (dir is the runs folder itself, "
      .. "<root>/runs)", 2)
  end
  for _, k in ipairs{"allow_empty", "latest"} do
    if query[k] ~= nil and type(query[k]) ~= "boolean" then
      fail(string.format("wb.runs.find: %s: expected a boolean, got %s", k, type(query[k])), 2)
    end
  end
  local dir = query.dir or (query.root and record.dir(query.root) or load.default_dir())
  local recs = load.read_all(dir)
  local valid = valid_keys(recs)
  for _, k in ipairs(util.sorted_keys(query)) do
    if not valid[k] then
      local near = type(k) == "string" and (require("wb.spec_keys").keras_key(k, valid)
        or wb.spec.nearest(k, util.sorted_keys(valid))) -- learning_rate: lr
      local plain = {}
      for _, v in ipairs(util.sorted_keys(valid)) do
        if not split_key(v) and not group.is_read(v) then plain[#plain + 1] = v end
      end
      fail(string.format("wb.runs.find: unknown key '%s'%s (valid: %s; and config.<key>, "
        .. "fit_options.<key>, identity.<key>, read:<path> of the records, as a run list's "
        .. "labels show them)", tostring(k), near and (" (did you mean '" .. near .. "'?)") or "",
        table.concat(plain, ", ")), 2)
    end
  end
  -- from a hook, what it finds is part of its run's identity (wb/identity_reads_runs.lua),
  -- whatever find says next (a hook may take an error for "no runs yet")
  reads.runs.note(dir, query, recs, "wb.runs.find{" .. select(2, query_keys(query)) .. "}",
    not query.dir and not query.root)
  if query.latest then recs = load.latest(recs) end
  local strict = not query.allow_empty
  if strict and not wb.sys.exists(dir) then load.no_folder(query, dir) end
  if strict then load.check_tasks(query.task, recs, dir, query) end
  local out = {}
  for _, r in ipairs(recs) do
    if M.matches_all(query, r) then out[#out + 1] = as_run(r, dir) end
  end
  if strict and #out == 0 then
    if #recs == 0 then
      fail(string.format("wb.runs.find: no runs in %s (allow_empty = true returns an empty "
        .. "list)", dir), 2)
    end
    none_match(query, recs, dir)
  end
  if strict then check_lists(query, recs, dir) end
  check_ambiguous(query, out)
  reads.runs.quietly(function() -- what it reads to warn is not what a hook got
    warn.stale(out)
    warn.other(out)
    warn.unchecked(out, dir)
  end)
  local labels = group.label_apart(out)
  warn.kernels(out, labels) -- seeds of one group trained with two kernels
  if not query.latest then warn.several(out) end -- what edits left beside the current runs
  require("wb.run").labels(labels) -- print(rs[i]) shows the label the list shows
  return setmetatable({records = out, dir = dir, labels = labels},
    require("wb.runs").RunList)
end

return M
